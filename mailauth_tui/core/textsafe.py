"""Text from DNS or from users, made safe to print on a terminal, still shown literally."""

from __future__ import annotations

__all__ = ["printable"]


def _table() -> dict[int, str]:
    table = {c: f"\\x{c:02x}" for c in range(0x20)}  # C0 controls, ESC (0x1b) among them
    table[0x7F] = "\\x7f"
    table.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})  # C1 controls (0x9b is CSI)
    # Invisible reordering and line breaking: they make text look other than it is.
    for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x2028, 0x2029):
        table[c] = f"\\u{c:04x}"
    return table


_TABLE = _table()


def printable(text: str) -> str:
    """``text`` with terminal control characters as visible ``\\xNN`` escapes.

    C0 controls (tab and newline included: one record stays on one line), DEL and the C1
    controls become ``\\xNN``; bidirectional overrides and Unicode line separators become
    ``\\uNNNN``. Everything else, backslashes included, is kept as it is.
    """
    return text.translate(_TABLE)
