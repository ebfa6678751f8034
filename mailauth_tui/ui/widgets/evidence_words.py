# ruff: noqa: RUF001 - the information sign is meant
"""The evidence of a check and the journal, in words for the detail screen.

The registry stores both in its own vocabulary (``look: bad``, ``not_checked -> pending``,
``code_ok``, problem codes such as ``dkim.key_mismatch``): that is for scripts (``list
--json``, ``journal --json``). A person reads what was looked up, what DNS returned, whether it
passed, why not and the fix. Everything from DNS or a user stays literal (``printable`` text,
never markup); a shape this module does not know is still shown, its keys made readable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mailauth_tui.core.textsafe import printable
from mailauth_tui.core.when import when
from mailauth_tui.registry.evidence import read_evidence
from mailauth_tui.registry.models import JournalEntry
from mailauth_tui.ui.widgets.badges import badge

LOOK_WORDS = {
    "good": "passed",
    "bad": "did not pass",
    "unknown": "no answer from DNS",
    "none": "nothing to look for yet",
}
SEVERITY_WORDS = {
    "error": ("✘ error", "bold red"),
    "warning": ("⚠ warning", "yellow"),
    "info": ("ℹ note", "cyan"),
}
STATE_WORDS = {
    "not_checked": "not checked",
    "not_configured": "not configured",
}
EVENT_WORDS = {
    "added": "domain added",
    "add_failed": "add failed",
    "code_sent": "code sent",
    "code_ok": "code accepted",
    "code_wrong": "wrong code",
    "code_reissued": "new code",
    "code_not_sent": "code not sent",
    "locked": "code locked",
    "check": "check",
    "state": "state changed",
    "dkim_key": "new DKIM key",
    "dkim_rotate": "DKIM key rotated",
    "key_left": "key file left",
    "published": "published",
    "removed": "removed",
    "admin_added": "admin added",
    "admin_removed": "admin removed",
}
# Record fields, in the order shown, with their labels (the rest follow, keys made readable).
_FIELDS = (
    ("found", "DNS returned"),
    ("selector", "Selector"),
    ("policy", "Policy"),
    ("source_domain", "Record of"),
    ("lookups", "DNS look-ups"),
    ("void_lookups", "Void look-ups"),
    ("selftest", "Self-test"),
)
_SKIP = {"look", "state", "problems", "why"}
_KINDS = ("DKIM", "SPF", "DMARC", "BIMI")


def readable(key: str) -> str:
    """A stored key as words: ``void_lookups`` -> ``void lookups``."""
    return key.replace("_", " ")


def _scalar(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return STATE_WORDS.get(value, value)
    if isinstance(value, list):
        return ", ".join(_scalar(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{readable(str(k))}: {_scalar(v)}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False)


def _literal(text: str, style: str = "") -> Text:
    return Text(printable(text), style=style)


def _selftest(value: Any) -> Text:
    if not isinstance(value, dict):
        return _literal(_scalar(value))
    status = str(value.get("status", ""))
    words = {"passed": "✔ passed", "failed": "✘ failed", "unknown": "? could not run"}
    text = Text(words.get(status, readable(status) or "?"), style="bold")
    if value.get("reason"):
        text.append(": ").append_text(_literal(str(value["reason"])))
    return text


def problems_in_words(problems: Any) -> list[tuple[Text, Text]]:
    """Severity in words, the message, and the fix under it; never the problem's code."""
    rows: list[tuple[Text, Text]] = []
    for problem in problems if isinstance(problems, list) else []:
        if not isinstance(problem, dict) or not problem.get("message"):
            continue
        label, style = SEVERITY_WORDS.get(str(problem.get("severity")), SEVERITY_WORDS["error"])
        body = _literal(str(problem["message"]))
        if problem.get("fix"):
            body.append("\nfix: ", style="bold").append_text(_literal(str(problem["fix"])))
        rows.append((Text(label, style=style), body))
    return rows


def _record(kind: str, entry: dict[str, Any]) -> RenderableType:
    head = Text(f"{kind:<6}", style="bold")
    state = entry.get("state")
    if isinstance(state, str):
        head.append_text(badge(state))
    look = entry.get("look")
    if isinstance(look, str):
        head.append(f"  this check: {LOOK_WORDS.get(look, readable(look))}", style="italic")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    keys = [k for k, _ in _FIELDS] + sorted(
        k for k in entry if k not in _SKIP and k not in dict(_FIELDS)
    )
    labels = dict(_FIELDS)
    for key in keys:
        if key not in entry:
            continue
        value = entry[key]
        if key == "found" and value is None:
            shown = Text("nothing", style="italic")
        elif key == "selftest":
            shown = _selftest(value)
        elif key == "policy" and isinstance(value, str):
            shown = _literal(f"p={value}")
        elif value is None:
            continue
        else:
            shown = _literal(_scalar(value))
        grid.add_row(Text(labels.get(key, readable(key).capitalize())), shown)
    problems = problems_in_words(entry.get("problems"))
    why = entry.get("why")
    if not problems and isinstance(why, str) and why:
        grid.add_row(Text("Why"), _literal(why))
    for label, body in problems:
        grid.add_row(label, body)
    return Group(head, grid)


def evidence_in_words(raw: str) -> RenderableType:
    """The last check, record by record, in words; not JSON: the raw text, literally."""
    if not raw.strip():
        return Text("no check yet", style="italic")
    evidence = read_evidence(raw)
    if not isinstance(evidence.data, dict):
        return _literal(raw)
    data: dict[str, Any] = evidence.data
    records = data.get("records")
    parts: list[RenderableType] = []
    if isinstance(records, dict):
        kinds = [k for k in _KINDS if k in records] + sorted(k for k in records if k not in _KINDS)
        for kind in kinds:
            entry = records[kind]
            if isinstance(entry, dict):
                parts.append(_record(str(kind), entry))
    if evidence.unknown:
        failed = ", ".join(printable(k) for k in evidence.unknown)
        parts.append(Text(f"No answer from DNS for: {failed} (checked again soon)"))
    rest = {k: v for k, v in data.items() if k not in {"records", "unknown", "checked_at"}}
    for key, value in rest.items():
        parts.append(_literal(f"{readable(str(key)).capitalize()}: {_scalar(value)}"))
    return Group(*parts) if parts else _literal(raw)


_STATE_TOKEN = re.compile(r"\b(not_checked|not_configured)\b")
_LOOK_TOKEN = re.compile(r"\b(DKIM|SPF|DMARC|BIMI) (good|bad|unknown|none)\b")


def detail_in_words(detail: str) -> str:
    """A journal line in words: ``DKIM not_checked -> pending`` -> ``DKIM not checked →
    pending``; ``DKIM bad, SPF good`` -> ``DKIM did not pass, SPF passed``."""
    text = _STATE_TOKEN.sub(lambda m: STATE_WORDS[m.group(1)], detail)
    text = _LOOK_TOKEN.sub(lambda m: f"{m.group(1)} {LOOK_WORDS[m.group(2)]}", text)
    return text.replace(" -> ", " → ")


def journal_in_words(journal: Sequence[JournalEntry]) -> Table | Text:
    """The journal, newest first, every reason whole (wrapped, never cut)."""
    if not journal:
        return Text("nothing recorded yet", style="italic")
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold", expand=True)
    table.add_column("When", no_wrap=True)
    table.add_column("Who", overflow="fold", max_width=16)
    table.add_column("Event", overflow="fold", max_width=16)
    table.add_column("Detail", overflow="fold", ratio=1)
    for entry in sorted(journal, key=lambda e: e.at, reverse=True):
        table.add_row(
            Text(when(entry.at)),
            _literal(entry.actor),
            Text(EVENT_WORDS.get(entry.event, readable(printable(entry.event)))),
            _literal(detail_in_words(entry.detail)),
        )
    return table
