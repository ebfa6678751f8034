"""User-given domain names: validation, and the plain-ASCII fast path against IDNA."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth_tui.core import names
from mailauth_tui.core.errors import InvalidDomainError
from mailauth_tui.core.names import DomainName, normalize_domain


@pytest.mark.parametrize(
    ("text", "ascii_name", "unicode_name"),
    [
        ("Example.COM.", "example.com", "example.com"),
        ("  mail.example.co.uk ", "mail.example.co.uk", "mail.example.co.uk"),
        ("_dmarc.example.com", "_dmarc.example.com", "_dmarc.example.com"),
        ("s1._domainkey.example.com", "s1._domainkey.example.com", "s1._domainkey.example.com"),
        ("bücher.example", "xn--bcher-kva.example", "bücher.example"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example", "bücher.example"),
        ("ab--cd.example", "ab--cd.example", "ab--cd.example"),
    ],
)
def test_both_forms(text: str, ascii_name: str, unicode_name: str) -> None:
    assert normalize_domain(text) == DomainName(ascii_name, unicode_name)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("example", "no dot"),
        ("a..example.com", "invalid label ''"),
        ("-a.example.com", "invalid label '-a'"),
        ("a" * 64 + ".example", "invalid label"),
        ("192.0.2.1", "IP address"),
        ("exa mple.com", "spaces"),
        ("http://example.com", "invalid label"),
        ("a@example.com", "invalid label"),
        (("a" * 60 + ".") * 5 + "com", "longer than 253"),
    ],
)
def test_refused(text: str, fragment: str) -> None:
    with pytest.raises(InvalidDomainError) as info:
        normalize_domain(text)
    assert fragment in str(info.value)


def _outcome(fn: Callable[[str], DomainName], text: str) -> object:
    try:
        return fn(text)
    except InvalidDomainError as exc:
        return ("error", str(exc))


_ASCII_NAMES = st.lists(
    st.one_of(
        st.text(alphabet="abcXYZ019-_", min_size=0, max_size=8),
        st.sampled_from(["xn--bcher-kva", "XN--Bcher-kva", "xn--", "a--b", "com", "co.uk"]),
    ),
    min_size=1,
    max_size=5,
).map(".".join)


@settings(max_examples=300, deadline=None)
@given(_ASCII_NAMES)
def test_ascii_fast_path_agrees_with_idna(text: str) -> None:
    """The fast path gives what the IDNA path gives for every plain ASCII name."""
    name = text.strip().rstrip(".")
    if not name:
        return
    assert _outcome(normalize_domain, text) == _outcome(names._via_idna, name)
