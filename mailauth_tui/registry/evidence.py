"""The evidence of a domain's last check, read back typed.

``transitions.assess`` writes it as JSON in the store (``DomainRow.evidence``); everything that
shows it (the detail panel, the detail screen, ``list --json``, the report's rules) reads it
here. It is data we wrote, but it holds DNS text and may be an older shape or a hand edit:
anything not shaped as expected is left out, never trusted, and text that is not JSON at all
is kept as it is (``raw``) so that nothing is hidden.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Evidence", "RecordNote", "read_evidence", "write_evidence", "written_ascii"]

KINDS = ("DKIM", "SPF", "DMARC", "BIMI")  # BIMI only when the domain publishes a record


@dataclass(frozen=True, slots=True)
class RecordNote:
    """What the last check said about one record: found text and problem messages."""

    kind: str
    found: str | None
    problems: tuple[tuple[str, str], ...]  # (severity, message)
    look: str = ""  # good | bad | unknown | none, as the check saw it


@dataclass(frozen=True, slots=True)
class Evidence:
    raw: str
    data: Any  # the JSON as read; None when there is none or it is not JSON
    unknown: tuple[str, ...]  # record kinds whose last look-up failed (timeout, SERVFAIL ...)
    notes: tuple[RecordNote, ...]

    @property
    def is_json(self) -> bool:
        return self.data is not None


@lru_cache(maxsize=1024)
def read_evidence(raw: str) -> Evidence:
    """The evidence held in ``raw`` (a row's ``evidence``); never raises."""
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Evidence(raw, data, (), ())
    unknown = data.get("unknown")
    kinds = tuple(str(k) for k in unknown) if isinstance(unknown, list) else ()
    records = data.get("records")
    notes = tuple(_notes(records)) if isinstance(records, dict) else ()
    return Evidence(raw, data, kinds, notes)


def _notes(records: dict[str, Any]) -> list[RecordNote]:
    notes = []
    for kind in KINDS:
        entry = records.get(kind)
        if not isinstance(entry, dict):
            continue
        found = entry.get("found")
        problems = entry.get("problems")
        messages = tuple(
            (str(p.get("severity", "error")), str(p.get("message", "")))
            for p in (problems if isinstance(problems, list) else [])
            if isinstance(p, dict) and p.get("message")
        )
        why = entry.get("why")
        if not messages and isinstance(why, str) and why and entry.get("look") != "good":
            messages = (("error", why),)
        look = entry.get("look")
        notes.append(
            RecordNote(
                kind,
                found if isinstance(found, str) else None,
                messages,
                look if isinstance(look, str) else "",
            )
        )
    return notes


# Evidence this process has just encoded (``write_evidence``), remembered so that what shows an
# outcome as JSON (``recheck --json``, ~3 KB of its ~5 KB) need not parse it and encode it
# again: its text is known to be json.dumps' own. Bounded and first-in first-out: an outcome
# is shown right after its write group (at most 64) commits, before 256 others are written; one
# forgotten is shown the slow way, with the same bytes. The writer thread adds, the event loop
# reads: hence the lock.
_WRITTEN_MAX = 256
_written: OrderedDict[str, None] = OrderedDict()
_written_lock = threading.Lock()
# json.dumps(data, ensure_ascii=False, sort_keys=True), without making an encoder per call
# (json.dumps does for any option given). No cycle check: assess builds a tree of plain values.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, check_circular=False)


def write_evidence(data: dict[str, Any]) -> str:
    """``data`` as the evidence text stored in a row (sorted keys, UTF-8 kept as it is)."""
    raw = _ENCODER.encode(data)
    with _written_lock:
        _written[raw] = None
        if len(_written) > _WRITTEN_MAX:
            _written.popitem(last=False)
    return raw


def written_ascii(raw: str) -> str | None:
    """``json.dumps(json.loads(raw), ensure_ascii=True)``, cheaply, for evidence that
    :func:`write_evidence` made lately; None for any other text (read it the usual way).

    json.dumps' text of a value, parsed and encoded again, is the same text but for what
    ensure_ascii escapes: characters beyond ASCII and DEL (control characters below U+0020 are
    escaped alike by both). So text of ASCII only, without DEL, is its own ASCII form."""
    with _written_lock:
        if raw not in _written:
            return None
    if raw.isascii() and "\x7f" not in raw:
        return raw
    return json.dumps(json.loads(raw), ensure_ascii=True)  # DNS text beyond ASCII: rare
