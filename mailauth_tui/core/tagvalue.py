"""The tag=value list of RFC 6376 section 3.2, shared by DKIM key, DMARC and BIMI records.

Grammar (RFC 6376 3.2)::

    tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
    tag-spec  = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
    tag-name  = ALPHA *ALNUMPUNC                 ; ALNUMPUNC = ALPHA / DIGIT / "_"
    tag-value = [ tval *( 1*(WSP / FWS) tval ) ] ; no whitespace at either end
    tval      = 1*VALCHAR                        ; VALCHAR = %x21-3A / %x3C-7E

One left-to-right pass: the text comes from DNS and must not cost more than its length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailauth_tui.core.errors import RecordSyntaxError

# FWS is folding white space; in a TXT value a pasted CR/LF is folding too, so all four count.
_WS = " \t\r\n"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Anything that is neither VALCHAR nor whitespace, i.e. control characters and non-ASCII.
_BAD_VALUE_CHAR = re.compile(r"[^\x21-\x3a\x3c-\x7e \t\r\n]")


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag-spec. ``pos`` is the offset of the tag name, ``value_pos`` of its value."""

    name: str
    value: str
    pos: int
    value_pos: int = 0


def _skip_ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _WS:
        i += 1
    return i


def parse_tag_list(text: str) -> tuple[Tag, ...]:
    """Split ``text`` into tags in order; raise RecordSyntaxError with the offending position.

    Tag names keep their case (DKIM tag names are case-sensitive, RFC 6376 3.2); callers that
    compare case-insensitively (DMARC) fold themselves. A duplicate tag name is an error.
    """
    n = len(text)
    tags: list[Tag] = []
    seen: set[str] = set()
    i = _skip_ws(text, 0)
    if i == n:
        raise RecordSyntaxError(0, "the record is empty")
    while True:
        match = _NAME.match(text, i)
        if match is None:
            if i < n and text[i] == ";":
                raise RecordSyntaxError(i, "an empty tag between two ';': remove one ';'")
            shown = text[i : i + 10]
            raise RecordSyntaxError(i, f"expected a tag name (a letter first), found {shown!r}")
        name = match.group()
        name_pos = i
        i = _skip_ws(text, match.end())
        if i >= n or text[i] != "=":
            raise RecordSyntaxError(i, f"expected '=' after the tag name {name!r}")
        i = _skip_ws(text, i + 1)
        end = text.find(";", i)
        if end < 0:
            end = n
        value = text[i:end].rstrip(_WS)
        bad = _BAD_VALUE_CHAR.search(text, i, end)
        if bad is not None:
            raise RecordSyntaxError(
                bad.start(),
                f"the value of {name!r} contains the character {bad.group()!r}, "
                "which a tag value may not hold (printable ASCII only)",
            )
        if name in seen:
            raise RecordSyntaxError(
                name_pos, f"the tag {name!r} appears twice: keep one", code="duplicate_tag"
            )
        seen.add(name)
        tags.append(Tag(name=name, value=value, pos=name_pos, value_pos=i))
        if end == n:
            break
        # A trailing ";" (optionally followed by whitespace) ends the list.
        i = _skip_ws(text, end + 1)
        if i == n:
            break
    return tuple(tags)


def tags_by_name(tags: tuple[Tag, ...], *, fold_case: bool = False) -> dict[str, Tag]:
    """Index tags by name, lower-cased when ``fold_case`` (DMARC and BIMI names are
    case-insensitive ABNF strings, so ``P=`` and ``p=`` are the same tag twice)."""
    if not fold_case:
        return {t.name: t for t in tags}
    out: dict[str, Tag] = {}
    for tag in tags:
        key = tag.name.lower()
        if key in out:
            raise RecordSyntaxError(
                tag.pos, f"the tag {key!r} appears twice: keep one", code="duplicate_tag"
            )
        out[key] = tag
    return out
