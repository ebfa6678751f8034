"""The in-memory zone served by the loopback server (``zoneserver``): records by name and
type, with names that answer SERVFAIL, REFUSED or nothing at all, for the tests, the
benchmarks and ``--demo``."""

from __future__ import annotations

import ipaddress
import threading
from collections import Counter
from collections.abc import Iterator, MutableSet, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dnslib import AAAA, CNAME, MX, NS, PTR, QTYPE, RCODE, RR, SOA, TXT, A
from dnslib.label import DNSBuffer

from mailauth_tui.demo.zonefile import host_name, read_zone_text, record_type
from mailauth_tui.services.dnswire import MAX_CHAIN

__all__ = ["Lookup", "MxValue", "TxtValue", "Zone", "ZoneRecord"]

TxtValue = str | Sequence[str]
MxValue = str | tuple[int, str]


@dataclass(frozen=True, slots=True)
class ZoneRecord:
    rtype: str
    ttl: int
    rdata: Any  # a dnslib RD
    text: str  # the value as a user would write it (TXT: strings joined)
    rr: RR | None = None  # with its owner, once added to a name
    wire: bytes = b""  # the RR packed without name compression: placed anywhere in a reply


class _FlatBuffer(DNSBuffer):  # type: ignore[misc]  # dnslib is untyped
    """Packs names in full, so a packed record does not depend on where it lands."""

    def encode_name(self, name: Any) -> None:
        self.encode_name_nocompress(name)


def _placed(owner: str, record: ZoneRecord) -> ZoneRecord:
    rr = RR(owner, getattr(QTYPE, record.rtype), 1, record.ttl, record.rdata)
    buffer = _FlatBuffer()
    rr.pack(buffer)
    return replace(record, rr=rr, wire=bytes(buffer.data))


@dataclass(frozen=True, slots=True)
class Lookup:
    action: str  # answer | servfail | refused | drop
    rcode: int = 0
    records: tuple[ZoneRecord, ...] = ()

    @property
    def answers(self) -> tuple[RR, ...]:
        return tuple(r.rr for r in self.records if r.rr is not None)


def _txt_strings(value: TxtValue) -> tuple[bytes, ...]:
    """One TXT record's character-strings: a str is cut at 255 bytes, a sequence kept as given."""
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return tuple(raw[i : i + 255] for i in range(0, len(raw), 255)) or (b"",)
    strings = tuple(s.encode("utf-8") for s in value)
    for s in strings:
        if len(s) > 255:
            raise ValueError(f"a TXT character-string is over 255 bytes ({len(s)})")
    return strings or (b"",)


def _make(rtype: str, value: Any, ttl: int) -> ZoneRecord:
    if rtype == "TXT":
        strings = _txt_strings(value)
        text = b"".join(strings).decode("utf-8", errors="replace")
        return ZoneRecord(rtype, ttl, TXT(list(strings)), text)
    if not isinstance(value, str | tuple):
        raise ValueError(f"{rtype} value must be a string, got {value!r}")
    if rtype == "MX":
        if isinstance(value, tuple):
            pref, host = int(value[0]), str(value[1])
        else:
            pref_text, _, host = value.strip().partition(" ")
            if not pref_text.isdigit():
                raise ValueError(f"MX value {value!r}: expected 'PREFERENCE HOST'")
            pref = int(pref_text)
        target = host_name(host.strip())
        return ZoneRecord(rtype, ttl, MX(target, pref), f"{pref} {target}")
    if isinstance(value, tuple):
        raise ValueError(f"{rtype} value must be a string, got {value!r}")
    value = value.strip()
    if rtype == "A":
        return ZoneRecord(rtype, ttl, A(str(ipaddress.IPv4Address(value))), value)
    if rtype == "AAAA":
        address = str(ipaddress.IPv6Address(value))
        return ZoneRecord(rtype, ttl, AAAA(address), address)
    if rtype in ("CNAME", "PTR", "NS"):
        target = host_name(value)
        cls = {"CNAME": CNAME, "PTR": PTR, "NS": NS}[rtype]
        return ZoneRecord(rtype, ttl, cls(target), target)
    fields = value.split()  # SOA
    if len(fields) != 7 or not all(f.isdigit() for f in fields[2:]):
        raise ValueError(f"SOA value {value!r}: expected 'MNAME RNAME SERIAL REFRESH RETRY ...'")
    times = tuple(int(f) for f in fields[2:])
    return ZoneRecord(rtype, ttl, SOA(host_name(fields[0]), host_name(fields[1]), times), value)


class Zone:
    """A mutable, thread-safe set of records served by :class:`ZoneServer`.

    Names are given in Unicode or ASCII, with or without the trailing dot. A TXT value is one
    record: a str longer than 255 bytes is split into 255-byte strings, a list/tuple of str gives
    the record's strings explicitly (to publish badly split values). For other types a list
    or tuple gives several records. MX values are ``"10 mx.example.com"`` or
    ``(10, "mx.example.com")``.
    """

    def __init__(self, ttl: int = 300) -> None:
        self.ttl = ttl
        self._lock = threading.RLock()
        self._names: dict[str, dict[str, list[ZoneRecord]]] = {}
        self._ancestors: Counter[str] = Counter()  # name -> how many stored names are below it
        self._servfail: set[str] = set()
        self._refused: set[str] = set()
        self._drop: set[str] = set()
        self._generation = 0

    @property
    def generation(self) -> int:
        """Bumped by every change: servers drop their reply cache when it moves."""
        return self._generation

    # -- changes ---------------------------------------------------------------------------

    def add(self, name: str, rtype: str, value: Any, ttl: int | None = None) -> None:
        """Add record(s) to ``name``; an identical record is not added twice."""
        key, rtype = host_name(name), record_type(rtype)
        records = [
            _placed(key, r) for r in self._build(rtype, value, self.ttl if ttl is None else ttl)
        ]
        with self._lock:
            node = self._names.get(key, {})
            others = set(node) - {"CNAME"}
            if (rtype == "CNAME" and others) or (rtype != "CNAME" and "CNAME" in node):
                raise ValueError(f"{key}: a CNAME cannot share its name with other records")
            if rtype == "CNAME" and len({r.text for r in [*node.get("CNAME", []), *records]}) > 1:
                raise ValueError(f"{key}: a name has at most one CNAME")
            if key not in self._names:
                self._names[key] = node
                for parent in _parents(key):
                    self._ancestors[parent] += 1
            rrset = node.setdefault(rtype, [])
            seen = {_identity(r) for r in rrset}
            for record in records:
                if _identity(record) not in seen:
                    rrset.append(record)
                    seen.add(_identity(record))
            self._generation += 1

    def set(self, name: str, rtype: str, value: Any, ttl: int | None = None) -> None:
        """Replace the records of that type at ``name``."""
        with self._lock:
            self.remove(name, rtype)
            self.add(name, rtype, value, ttl)

    def remove(self, name: str, rtype: str | None = None) -> None:
        """Remove the records of one type at ``name``, or all of them when rtype is None."""
        key = host_name(name)
        with self._lock:
            node = self._names.get(key)
            if node is None:
                return
            if rtype is None:
                node.clear()
            else:
                node.pop(record_type(rtype), None)
            if not node:
                del self._names[key]
                for parent in _parents(key):
                    self._ancestors[parent] -= 1
                    if self._ancestors[parent] <= 0:
                        del self._ancestors[parent]
            self._generation += 1

    def clear_name(self, name: str) -> None:
        """Remove every record at ``name`` and its servfail / refuse / drop control."""
        key = host_name(name)
        with self._lock:
            self.remove(key)
            self._servfail.discard(key)
            self._refused.discard(key)
            self._drop.discard(key)
            self._generation += 1

    def clear(self) -> None:
        with self._lock:
            self._names.clear()
            self._ancestors.clear()
            self._servfail.clear()
            self._refused.clear()
            self._drop.clear()
            self._generation += 1

    def servfail(self, name: str, enabled: bool = True) -> None:
        """Answer SERVFAIL for ``name`` (any type) until disabled."""
        self._control(self._servfail, name, enabled)

    def refuse(self, name: str, enabled: bool = True) -> None:
        """Answer REFUSED for ``name`` (any type) until disabled, as a server does for a name
        outside its zones."""
        self._control(self._refused, name, enabled)

    def drop(self, name: str, enabled: bool = True) -> None:
        """Never answer a query for ``name``: the client times out."""
        self._control(self._drop, name, enabled)

    def _control(self, bucket: MutableSet[str], name: str, enabled: bool) -> None:
        key = host_name(name)
        with self._lock:
            if enabled:
                bucket.add(key)
            else:
                bucket.discard(key)
            self._generation += 1

    # -- reading ---------------------------------------------------------------------------

    def records(self, name: str, rtype: str) -> list[str]:
        """The values at ``name`` of that type, as text (TXT strings joined)."""
        with self._lock:
            node = self._names.get(host_name(name), {})
            return [r.text for r in node.get(record_type(rtype), [])]

    def txt_strings(self, name: str) -> list[tuple[str, ...]]:
        """Each TXT record at ``name`` as its character-strings."""
        with self._lock:
            node = self._names.get(host_name(name), {})
            return [
                tuple(s.decode("utf-8", errors="replace") for s in r.rdata.data)
                for r in node.get("TXT", [])
            ]

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._names)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        with self._lock:
            return host_name(name) in self._names

    def lookup(self, qname: str, qtype: str) -> Lookup:
        """What an authoritative server answers: CNAME chain then records, or the negative."""
        name = qname.lower().removesuffix(".") or "."
        answers: list[ZoneRecord] = []
        with self._lock:
            for _ in range(MAX_CHAIN):
                if name in self._drop:
                    return Lookup("drop")
                if name in self._servfail:
                    return Lookup("servfail", RCODE.SERVFAIL)
                if name in self._refused:
                    if answers:  # an alias out of the zone: the CNAME alone, as authoritative
                        return Lookup("answer", RCODE.NOERROR, tuple(answers))
                    return Lookup("refused", RCODE.REFUSED)
                node = self._names.get(name)
                if node is None:
                    exists = name in self._ancestors  # an empty non-terminal exists
                    rcode = RCODE.NOERROR if exists else RCODE.NXDOMAIN
                    return Lookup("answer", rcode, tuple(answers))
                rrset = node.get(qtype)
                if rrset:
                    answers.extend(rrset)
                    return Lookup("answer", RCODE.NOERROR, tuple(answers))
                cname = node.get("CNAME")
                if not cname or qtype == "CNAME":
                    return Lookup("answer", RCODE.NOERROR, tuple(answers))
                answers.append(cname[0])
                name = cname[0].text
        return Lookup("servfail", RCODE.SERVFAIL)  # a CNAME loop

    # -- building --------------------------------------------------------------------------

    @staticmethod
    def _build(rtype: str, value: Any, ttl: int) -> list[ZoneRecord]:
        if rtype == "TXT":
            return [_make(rtype, value, ttl)]
        is_mx_pair = isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int)
        if isinstance(value, list | tuple) and not is_mx_pair:
            return [_make(rtype, v, ttl) for v in value]
        return [_make(rtype, value, ttl)]

    @classmethod
    def from_text(cls, text: str, origin: str | None = None, ttl: int = 300) -> Zone:
        """A zone from zone-file-like text (see :meth:`load_text`)."""
        zone = cls(ttl=ttl)
        zone.load_text(text, origin)
        return zone

    def load_text(self, text: str, origin: str | None = None) -> None:
        """Add records written like a zone file (see :func:`zonefile.read_zone_text`)."""
        for owner, rtype, value, ttl in read_zone_text(text, origin, self.ttl):
            self.add(owner, rtype, value, ttl)


def _identity(record: ZoneRecord) -> object:
    # TXT records differing only in how they are split are different records.
    return tuple(record.rdata.data) if record.rtype == "TXT" else record.text


def _parents(name: str) -> Iterator[str]:
    labels = name.split(".")
    for i in range(1, len(labels)):
        yield ".".join(labels[i:])
