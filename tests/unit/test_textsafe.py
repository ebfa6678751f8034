"""Terminal-safe text: controls become visible escapes, the rest stays literal."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth_tui.core.textsafe import printable


def test_escape_sequences_become_visible() -> None:
    assert printable("v=spf1 \x1b[31mred\x1b[0m -all") == "v=spf1 \\x1b[31mred\\x1b[0m -all"
    assert printable("a\tb\nc\rd\x00\x7f") == "a\\x09b\\x0ac\\x0dd\\x00\\x7f"
    assert printable("\x9b2J") == "\\x9b2J"  # the 8-bit CSI


def test_bidi_overrides_and_line_separators_become_visible() -> None:
    assert printable("abc\u202eevil\u2028x") == "abc\\u202eevil\\u2028x"


def test_ordinary_text_is_kept_literally() -> None:
    for text in ("v=DKIM1; p=MIIB", "[bold]markup[/]", "bücher.example", "a\\;b", '"quoted"'):
        assert printable(text) == text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_output_has_no_control_characters(text: str) -> None:
    out = printable(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in out)
