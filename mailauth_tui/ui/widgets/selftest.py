"""The DKIM self-test (sign a probe with the stored key, verify it against DNS) as shown by
the verification screen and the detail panel."""

from __future__ import annotations

import json

from rich.text import Text

from mailauth_tui.core.textsafe import printable
from mailauth_tui.registry.selftest import SelfTest, SelfTestStatus

_LOOK = {
    SelfTestStatus.PASSED.value: ("✔ self-test passed", "green"),
    SelfTestStatus.FAILED.value: ("✘ self-test failed", "bold red"),
    SelfTestStatus.UNKNOWN.value: ("? self-test unknown", "yellow"),
}


def status_text(status: str, *, compact: bool = False) -> Text:
    """``compact``: the symbol alone tells the outcome (the detail panel's line is full)."""
    label, style = _LOOK.get(status, _LOOK[SelfTestStatus.UNKNOWN.value])
    if compact:
        label = label.split(" ", 1)[0] + " self-test"
    return Text(label, style=style)


def selftest_view(test: SelfTest) -> Text:
    """One self-test for the verification screen: status, selector, reason, fix."""
    text = Text("DKIM  ", style="bold")
    text.append_text(status_text(test.status.value))
    text.append(f" (selector {printable(test.selector)})\n", style="dim")
    text.append(printable(test.reason))
    if test.fix:
        text.append("\nfix: ", style="bold").append(printable(test.fix))
    return text


def evidence_selftest(raw: str) -> str | None:
    """The status of the DKIM self-test in a row's evidence JSON (see
    registry.transitions.assess), or None when the last check ran none."""
    try:
        data = json.loads(raw) if raw else {}
        test = data["records"]["DKIM"]["selftest"]
    except (ValueError, KeyError, TypeError):
        return None
    status = test.get("status") if isinstance(test, dict) else None
    return status if isinstance(status, str) else None
