"""The evidence of a domain's last check, read back typed.

``transitions.assess`` writes it as JSON in the store (``DomainRow.evidence``); everything that
shows it (the detail panel, the detail screen, ``list --json``, the report's rules) reads it
here. It is data we wrote, but it holds DNS text and may be an older shape or a hand edit:
anything not shaped as expected is left out, never trusted, and text that is not JSON at all
is kept as it is (``raw``) so that nothing is hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Evidence", "RecordNote", "read_evidence"]

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
