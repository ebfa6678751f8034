"""Text from DNS or from users, made safe to print on a terminal, still shown literally."""

from __future__ import annotations

__all__ = ["printable"]


# Every format character (Unicode category Cf: the bidirectional controls such as U+061C and
# U+202E, the zero-width space, joiners and BOM, the soft hyphen, tag characters...) and the line
# and paragraph separators (Zl, Zp): invisible, or reordering and breaking text, they make it
# look other than it is. As of Unicode 14.0 (Python 3.11); test_textsafe checks this list
# against the running Python's unicodedata, so a newer Unicode shows up as a failing test.
# Written out because deriving it at import scans 1.1 million code points (~170 ms).
INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)


def _table() -> dict[int, str]:
    table = {c: f"\\x{c:02x}" for c in range(0x20)}  # C0 controls, ESC (0x1b) among them
    table[0x7F] = "\\x7f"
    table.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})  # C1 controls (0x9b is CSI)
    for first, last in INVISIBLE_RANGES:
        for c in range(first, last + 1):
            table[c] = f"\\u{c:04x}" if c <= 0xFFFF else f"\\U{c:08x}"
    return table


_TABLE = _table()


def printable(text: str) -> str:
    """``text`` with terminal control characters as visible ``\\xNN`` escapes.

    C0 controls (tab and newline included: one record stays on one line), DEL and the C1
    controls become ``\\xNN``; format characters (bidirectional controls, zero-width
    characters, ...) and Unicode line separators become ``\\uNNNN`` (``\\UNNNNNNNN`` above
    the BMP). Everything else, backslashes included, is kept as it is.
    """
    return text.translate(_TABLE)
