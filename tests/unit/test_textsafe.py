"""Terminal-safe text: controls become visible escapes, the rest stays literal."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth_tui.core.textsafe import INVISIBLE_RANGES, printable


def test_escape_sequences_become_visible() -> None:
    assert printable("v=spf1 \x1b[31mred\x1b[0m -all") == "v=spf1 \\x1b[31mred\\x1b[0m -all"
    assert printable("a\tb\nc\rd\x00\x7f") == "a\\x09b\\x0ac\\x0dd\\x00\\x7f"
    assert printable("\x9b2J") == "\\x9b2J"  # the 8-bit CSI


def test_bidi_overrides_and_line_separators_become_visible() -> None:
    assert printable("abc\u202eevil\u2028x") == "abc\\u202eevil\\u2028x"


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\u061c", "\\u061c"),  # ARABIC LETTER MARK, a bidi control
        ("\u200b", "\\u200b"),  # zero-width space
        ("\u200d", "\\u200d"),  # zero-width joiner
        ("\ufeff", "\\ufeff"),  # BOM / zero-width no-break space
        ("\u2066", "\\u2066"),  # LEFT-TO-RIGHT ISOLATE
        ("\u00ad", "\\u00ad"),  # soft hyphen
        ("\U000e0041", "\\U000e0041"),  # TAG LATIN CAPITAL LETTER A
    ],
)
def test_invisible_and_reordering_characters_become_visible(char: str, shown: str) -> None:
    assert printable(f"pay{char}pal.example") == f"pay{shown}pal.example"


def test_every_format_character_and_separator_is_escaped() -> None:
    # The written-out list is Unicode's own: a newer Unicode in a newer Python fails here.
    wanted = {
        c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Cf", "Zl", "Zp")
    }
    listed = {c for first, last in INVISIBLE_RANGES for c in range(first, last + 1)}
    assert listed == wanted, f"update INVISIBLE_RANGES for Unicode {unicodedata.unidata_version}"


def test_ordinary_text_is_kept_literally() -> None:
    for text in ("v=DKIM1; p=MIIB", "[bold]markup[/]", "bücher.example", "a\\;b", '"quoted"'):
        assert printable(text) == text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_output_has_no_control_characters(text: str) -> None:
    out = printable(text)
    assert not any(
        ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or unicodedata.category(c) in ("Cf", "Zl", "Zp")
        for c in out
    )
