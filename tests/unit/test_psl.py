"""The organisational domain lookup against publicsuffixlist's own and the PSL test data."""

from __future__ import annotations

import re
from pathlib import Path

import publicsuffixlist
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth_tui.core import psl
from mailauth_tui.core.psl import org_domain, public_suffix

_LIBRARY = publicsuffixlist.PublicSuffixList()
_TEST_DATA = Path(publicsuffixlist.__file__).with_name("test_psl.txt")
_CHECK = re.compile(r"checkPublicSuffix\('([^']*)', (?:'([^']*)'|null)\);")


def _library_org(name: str) -> str:
    clean = name.strip().rstrip(".").lower()
    found = _LIBRARY.privatesuffix(clean)
    return found if found is not None else clean


def _library_suffix(name: str) -> str:
    clean = name.strip().rstrip(".").lower()
    found = _LIBRARY.publicsuffix(clean)
    return found if found is not None else clean


def _official_cases() -> list[tuple[str, str | None]]:
    cases = []
    for line in _TEST_DATA.read_text(encoding="utf-8").splitlines():
        match = _CHECK.match(line)
        if match is not None:
            cases.append((match.group(1), match.group(2)))
    return cases


def test_the_official_test_data_is_there() -> None:
    assert len(_official_cases()) > 60


@pytest.mark.parametrize(("domain", "expected"), _official_cases())
def test_official_psl_test_data(domain: str, expected: str | None) -> None:
    # The PSL's test file: the registrable domain, or null for a suffix (ours: the name).
    want = expected if expected is not None else domain.lower().rstrip(".")
    got = org_domain(domain)
    if expected is not None:
        assert got == want
    assert got == _library_org(domain)
    assert public_suffix(domain) == _library_suffix(domain)


def test_rules_read_here_are_the_packages_rules() -> None:
    rules = psl._rules()
    assert rules.idn() == _LIBRARY._publicsuffix


_SAMPLE_RULES = sorted(psl._rules().ascii | set(psl._rules().unicode))[::7]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_SAMPLE_RULES),
    st.lists(st.sampled_from(["a", "b", "www", "xn--bcher-kva", "bücher", "city"]), max_size=3),
    st.booleans(),
)
def test_same_answers_as_publicsuffixlist(rule: str, prefix: list[str], encode: bool) -> None:
    base = rule.lstrip("!").replace("*", "x")
    if encode and not base.isascii():
        base = base.encode("idna").decode("ascii")
    name = ".".join([*prefix, base])
    assert org_domain(name) == _library_org(name)
    assert public_suffix(name) == _library_suffix(name)
