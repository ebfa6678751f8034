"""The RFC 2136 update that publishes a domain's records in its zone, planned from what the
zone's primary holds now. Pure: the services layer turns the plan into a signed message.

One update per zone, all of it or nothing (RFC 2136 3.7). Each name it touches carries a
prerequisite that its TXT RRset is exactly what was read (or that there is none), so a change
made meanwhile by someone else fails the whole update instead of being overwritten.
- DKIM: the selector's record, replacing a different key at that name.
- SPF: the merged record replaces the SPF record(s) at the name, never a second one; the
  other TXT records there (site verifications, ...) are untouched.
- DMARC: added only when the name has no DMARC record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mailauth_tui.core.propagation import dkim_key, normalized, of_kind
from mailauth_tui.core.publish import quote_string
from mailauth_tui.core.results import PublishRecord

Chunks = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Prerequisite:
    name: str
    values: tuple[Chunks, ...]  # the TXT RRset required, exactly; () for "no TXT RRset"


@dataclass(frozen=True, slots=True)
class Operation:
    action: str  # "add" | "delete"
    name: str
    chunks: Chunks
    ttl: int = 0


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    zone: str
    prerequisites: tuple[Prerequisite, ...]
    operations: tuple[Operation, ...]
    notes: tuple[str, ...]  # what is left as it is, and why

    @property
    def empty(self) -> bool:
        return not self.operations

    def lines(self) -> list[str]:
        """The exact update, in nsupdate's words (``--dry-run``)."""
        out = [f"zone {self.zone}."]
        for p in self.prerequisites:
            if not p.values:
                out.append(f"prereq nxrrset {p.name}. TXT")
            for chunks in p.values:
                out.append(f"prereq yxrrset {p.name}. TXT {_txt(chunks)}")
        for op in self.operations:
            ttl = f" {op.ttl}" if op.action == "add" else ""
            out.append(f"update {op.action} {op.name}.{ttl} TXT {_txt(op.chunks)}")
        out.append("send")
        return out


def _txt(chunks: Chunks) -> str:
    return " ".join(quote_string(c) for c in chunks)


def in_zone(host: str, zone: str) -> bool:
    return host == zone or host.endswith("." + zone)


def plan_update(
    zone: str,
    records: Sequence[PublishRecord],
    current: Mapping[str, tuple[Chunks, ...]],
    ttl: int,
    retired: Sequence[PublishRecord] = (),
) -> UpdatePlan:
    """The update for ``records`` (DKIM, SPF, DMARC) given ``current``: the TXT values, as
    character-strings, at each record's host on the primary (absent: none). ``retired``: DKIM
    records of keys past their overlap after a rotation, removed when still there."""
    prerequisites: dict[str, Prerequisite] = {}
    operations: list[Operation] = []
    notes: list[str] = []
    for record in retired:
        have = current.get(record.host, ())
        key = dkim_key(record.value)
        old = [c for c in have if dkim_key("".join(c)) == key]
        if not in_zone(record.host, zone) or not old:
            continue
        prerequisites[record.host] = Prerequisite(record.host, tuple(have))
        operations.extend(Operation("delete", record.host, c) for c in old)
        notes.append(f"DKIM at {record.host}: the retired key is removed (its overlap is over)")
    for record in records:
        host = record.host
        if not in_zone(host, zone):
            notes.append(f"{record.kind} at {host}: outside the zone {zone}, left as it is")
            continue
        have = current.get(host, ())
        values = ["".join(c) for c in have]
        found = set(of_kind(record.kind, values))
        same_kind = [c for c, v in zip(have, values, strict=True) if v in found]
        if record.kind == "DKIM":
            key = dkim_key(record.value)
            if any(dkim_key(v) == key for v in found):
                notes.append(f"DKIM at {host}: already published")
                continue
            remove = same_kind
        elif record.kind == "SPF":
            if len(found) == 1 and normalized(next(iter(found))) == normalized(record.value):
                notes.append(f"SPF at {host}: already published")
                continue
            remove = same_kind
        elif record.kind == "DMARC":
            if found:
                notes.append(f"DMARC at {host}: a DMARC record is there, left as it is")
                continue
            remove = []
        else:
            notes.append(f"{record.kind} at {host}: not published automatically")
            continue
        prerequisites[host] = Prerequisite(host, tuple(have))
        operations.extend(Operation("delete", host, c) for c in remove)
        operations.append(Operation("add", host, record.chunks, ttl))
    return UpdatePlan(zone, tuple(prerequisites.values()), tuple(operations), tuple(notes))
