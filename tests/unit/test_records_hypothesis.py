"""Untrusted text never escapes as anything but RecordSyntaxError (parsers) or a result
(evaluators): no traceback for whatever DNS or a user hands us."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth_tui.core.bimi import check_bimi, parse_bimi
from mailauth_tui.core.dkim import check_dkim, key_info, parse_dkim
from mailauth_tui.core.dmarc import (
    check_dmarc,
    corrected_record,
    parse_dmarc,
    starts_with_dmarc1,
)
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.results import DmarcResult, Status
from mailauth_tui.core.tagvalue import parse_tag_list
from mailauth_tui.core.txt_diagnostics import (
    escaped_semicolons,
    glued_chunks,
    literal_quotes,
    repaired_value,
)
from tests.unit.dns_fakes import FakeResolver

FRAGMENTS = [
    "v=DKIM1",
    "v=DMARC1",
    "v=BIMI1",
    "v=spf1",
    "p=",
    "k=",
    "rsa",
    "ed25519",
    "h=",
    "sha1",
    "s=",
    "t=",
    "y",
    "n",
    "u",
    "email",
    "sp=",
    "np=",
    "psd=",
    "pct=",
    "101",
    "50",
    "rua=",
    "ruf=",
    "mailto:",
    "https://",
    "http://",
    "@",
    "example.com",
    "a",
    ",",
    "!",
    "10m",
    "fo=",
    "1:d",
    "rf=",
    "afrf",
    "ri=",
    "-1",
    "adkim=",
    "s",
    "l=",
    "a=",
    "avp=",
    "brand",
    "none",
    "reject",
    "quarantine",
    ";",
    " ",
    "\t",
    "\r\n",
    "=",
    ":",
    '"',
    "\\;",
    "MIIBIjAN",
    "AQAB",
    "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    "==",
    "\x00",
    "\u00e9",
    "[",
    "]",
    "?",
]
record_like = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)
texts = st.one_of(st.text(max_size=200), record_like)
SETTINGS = settings(max_examples=200, deadline=None)


def only_syntax_errors(parse: Callable[[str], object], text: str) -> None:
    try:
        parse(text)
    except RecordSyntaxError as err:
        assert 0 <= err.pos <= len(text)


@SETTINGS
@given(texts)
def test_tag_list_parser(text: str) -> None:
    only_syntax_errors(parse_tag_list, text)


@SETTINGS
@given(texts)
def test_dkim_parser_and_key_info(text: str) -> None:
    with contextlib.suppress(RecordSyntaxError):
        key_info(parse_dkim(text))


@SETTINGS
@given(texts)
def test_dmarc_parser(text: str) -> None:
    only_syntax_errors(parse_dmarc, text)


@SETTINGS
@given(st.one_of(texts, texts.map(lambda t: "v=DMARC1; " + t)))
def test_dmarc_corrected_record_is_clean(text: str) -> None:
    """Whatever is published, the record the diagnostics offer instead reads without a
    discarded value, and correcting it again changes nothing."""
    corrected = corrected_record(text)
    if corrected is None:
        return
    rec = parse_dmarc(corrected)
    assert rec.ignored == () and rec.corrected == corrected
    with contextlib.suppress(RecordSyntaxError):
        for tag in parse_dmarc(text).ignored if starts_with_dmarc1(text) else ():
            assert 0 <= tag.pos < len(text)


@SETTINGS
@given(texts)
def test_bimi_parser(text: str) -> None:
    only_syntax_errors(parse_bimi, text)


@SETTINGS
@given(texts, st.lists(st.text(max_size=40), max_size=4))
def test_diagnostics_never_raise(text: str, chunks: list[str]) -> None:
    literal_quotes(text)
    escaped_semicolons(text)
    repaired_value(text)
    for kind in ("spf", "dkim", "dmarc", "bimi", "other"):
        glued_chunks(tuple(chunks), kind)


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=3), st.lists(texts, max_size=2))
def test_evaluators_turn_any_txt_into_a_result(here: list[str], parent: list[str]) -> None:
    dns = FakeResolver()
    dns.txt("s1._domainkey.mail.example.com", *here)
    dns.txt("_dmarc.mail.example.com", *here)
    dns.txt("_dmarc.example.com", *parent)
    dns.txt("default._bimi.mail.example.com", *here)

    async def run() -> None:
        dkim = await check_dkim(dns, "mail.example.com", "s1")
        dmarc = await check_dmarc(dns, "mail.example.com")
        bimi = await check_bimi(dns, "mail.example.com", dmarc)
        for result in (dkim, dmarc, bimi):
            assert isinstance(result.status, Status)
            if result.status is not Status.VALID:
                assert result.problems, result
        assert isinstance(dmarc, DmarcResult)

    asyncio.run(run())
