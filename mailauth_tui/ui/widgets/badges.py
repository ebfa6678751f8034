"""State badges in words and symbols, so that nothing is told by colour alone.

The registry's states (Ownership, RecordState, DmarcState values) and the console's own
"checking" share one vocabulary. Badges are ``rich.text.Text`` built without markup, with a
style name per meaning that the theme colours (``$success`` and friends are not reachable from
Rich styles, so plain colour names stand in and the words carry the meaning).
"""

from __future__ import annotations

from rich.text import Text

CHECKING = "checking"

# state -> (symbol and words, style)
_BADGES: dict[str, tuple[str, str]] = {
    "verified": ("✔ verified", "bold green"),
    "configured": ("✔ configured", "bold green"),
    "pending": ("… pending", "yellow"),
    "failing": ("✘ failing", "bold red"),
    "unknown": ("? unknown", "magenta"),
    CHECKING: ("⟳ checking", "cyan"),
    "not_checked": ("\u2013 unchecked", "dim"),
    "expired": ("⚠ expired", "bold red"),
    "locked": ("⚠ locked", "bold red"),
    "not_configured": ("✘ not configured", "yellow"),
    "invalid": ("✘ invalid", "bold red"),  # a BIMI record receivers ignore
}

# The widest badge a state column can hold: the table fixes its badge columns to this width
# so that a row changing state does not make every column jump sideways.
BADGE_WIDTH = max(len(text) for state, (text, _) in _BADGES.items() if "configured" not in state)

_DMARC_TAGS: dict[str, tuple[str, str, str]] = {
    # state -> (tag, short tag for narrow tables, style)
    "configured": ("DMARC configured", "✔ configured", "bold green"),
    "not_configured": ("DMARC not configured", "✘ not configured", "yellow"),
    "unknown": ("DMARC unknown", "? unknown", "magenta"),
    "not_checked": ("DMARC unchecked", "\u2013 unchecked", "dim"),
    CHECKING: ("⟳ checking", "⟳ checking", "cyan"),
}
DMARC_TAG_WIDTH = max(len(tag) for tag, _, _ in _DMARC_TAGS.values())
DMARC_SHORT_WIDTH = max(len(short) for _, short, _ in _DMARC_TAGS.values())

POLICY_MEANING = {
    "reject": "receivers reject mail that fails DMARC",
    "quarantine": "receivers put mail that fails DMARC in spam",
    "none": "monitoring only: receivers report but deliver failing mail",
}


def badge(state: str) -> Text:
    """The badge of a registry state (or ``"checking"``); an unexpected state is shown as is."""
    text, style = _BADGES.get(str(state), (f"? {state}", "magenta"))
    return Text(text, style=style, no_wrap=True, end="")


def dmarc_tag(state: str, policy: str | None = None, *, short: bool = False) -> Text:
    """The DMARC tag shown next to a domain: "DMARC configured" / "DMARC not configured".

    The policy is deliberately not in the tag (the table keeps a fixed width); it is shown on
    hover and in the detail panel, see :func:`policy_text`. ``short`` drops the word "DMARC"
    for narrow tables whose column header already says it.
    """
    tag, short_tag, style = _DMARC_TAGS.get(str(state), (f"DMARC {state}", f"? {state}", "magenta"))
    return Text(short_tag if short else tag, style=style, no_wrap=True, end="")


def policy_text(state: str, policy: str | None) -> str:
    """What the DMARC tag means, for its tooltip and the detail panel: ``p=reject`` and why."""
    if str(state) == "configured":
        if policy:
            meaning = POLICY_MEANING.get(policy, "")
            return f"p={policy}" + (f" ({meaning})" if meaning else "")
        return "configured, policy not read yet"
    if str(state) == "not_configured":
        return "no DMARC record: publish one starting at p=none (Gmail and Yahoo require it)"
    if str(state) == "unknown":
        return "the last DMARC look-up failed (timeout, SERVFAIL, REFUSED): unknown, retried soon"
    if str(state) == CHECKING:
        return "checking DNS…"
    return "not checked yet"


# The overall state of a domain, the one the summary line counts ("4 verified"): the sender rule
# holds when ownership and DKIM are verified. Not verified, the cell names what holds it back.
# state key -> (cell, style, why in words)
_OVERALL: dict[str, tuple[str, str, str]] = {
    "yes": ("✔ yes", "bold green", "verified: ownership and DKIM"),
    "dkim": ("✘ DKIM", "bold red", "not verified: DKIM is {dkim}"),
    "pending": ("… code", "yellow", "not verified: the ownership code is not entered yet"),
    "expired": ("⚠ code", "bold red", "not verified: the ownership code expired (resend: s)"),
    "locked": ("⚠ locked", "bold red", "not verified: too many wrong codes (resend: s)"),
}
OVERALL_WIDTH = max(len("Verified"), *(len(cell) for cell, _, _ in _OVERALL.values()))
_DKIM_WORDS = {"not_checked": "not checked yet", "failing": "failing", "pending": "pending"}


def _overall_key(ownership: str, dkim: str) -> str:
    if ownership != "verified":
        return ownership if ownership in _OVERALL else "pending"
    return "yes" if dkim == "verified" else "dkim"


def overall_badge(ownership: str, dkim: str) -> Text:
    """The Verified column's cell: "✔ yes", or what keeps the domain from being verified."""
    cell, style, _ = _OVERALL[_overall_key(str(ownership), str(dkim))]
    return Text(cell, style=style, no_wrap=True, end="")


def overall_why(ownership: str, dkim: str) -> str:
    """The overall state in words: "verified: ..." or "not verified: DKIM is failing"."""
    _, _, why = _OVERALL[_overall_key(str(ownership), str(dkim))]
    return why.format(dkim=_DKIM_WORDS.get(str(dkim), str(dkim)))
