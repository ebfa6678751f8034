"""RFC 6376 3.2 tag=value lists."""

from __future__ import annotations

import pytest

from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.tagvalue import Tag, parse_tag_list, tags_by_name


def test_tags_in_order_with_positions() -> None:
    text = "v=DKIM1; k=rsa; p=abc"
    assert parse_tag_list(text) == (
        Tag("v", "DKIM1", 0, 2),
        Tag("k", "rsa", 9, 11),
        Tag("p", "abc", 16, 18),
    )


def test_whitespace_around_names_equals_and_values_is_dropped() -> None:
    tags = parse_tag_list("  v = DKIM1 ;\tk =\trsa\t; p= a b \r\n\tc  ")
    assert [(t.name, t.value) for t in tags] == [("v", "DKIM1"), ("k", "rsa"), ("p", "a b \r\n\tc")]


def test_trailing_semicolon_is_allowed_with_or_without_whitespace() -> None:
    assert [t.name for t in parse_tag_list("a=1;")] == ["a"]
    assert [t.name for t in parse_tag_list("a=1; b=2 ;  ")] == ["a", "b"]


def test_empty_values_and_equals_inside_values() -> None:
    tags = tags_by_name(parse_tag_list("p=; n=x=y==; t="))
    assert tags["p"].value == ""
    assert tags["n"].value == "x=y=="
    assert tags["t"].value == ""


def test_tag_names_allow_digits_and_underscore_after_a_letter() -> None:
    assert parse_tag_list("x_1=2")[0].name == "x_1"


@pytest.mark.parametrize(
    ("text", "pos", "fragment"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("v=DKIM1;; p=x", 8, "empty tag"),
        ("v=DKIM1; p", 10, "expected '='"),
        ("1a=b", 0, "tag name"),
        ("=b", 0, "tag name"),
        ("a=b; ;", 5, "empty tag"),
        ("a=\x01b", 2, "character"),
        ("a=caf\u00e9", 5, "character"),
    ],
)
def test_syntax_errors_carry_the_position(text: str, pos: int, fragment: str) -> None:
    with pytest.raises(RecordSyntaxError) as info:
        parse_tag_list(text)
    assert info.value.pos == pos
    assert fragment in info.value.message


def test_duplicate_tag_is_an_error_at_the_second_occurrence() -> None:
    with pytest.raises(RecordSyntaxError) as info:
        parse_tag_list("p=a; k=rsa; p=b")
    assert info.value.code == "duplicate_tag"
    assert info.value.pos == 12


def test_tag_names_are_case_sensitive_unless_folded() -> None:
    tags = parse_tag_list("p=reject; P=none")  # two different DKIM tags
    assert len(tags) == 2
    with pytest.raises(RecordSyntaxError) as info:
        tags_by_name(tags, fold_case=True)  # one DMARC tag twice
    assert info.value.code == "duplicate_tag"
    assert info.value.pos == 10


def test_rfc6376_folded_key_record() -> None:
    # The shape of RFC 6376 Appendix C's record once the zone file's strings are joined.
    text = "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/\r\n zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"  # noqa: E501
    tags = tags_by_name(parse_tag_list(text))
    assert tags["p"].value.startswith("MIGfMA0G") and "\r\n " in tags["p"].value


def test_long_input_is_parsed_in_linear_time() -> None:
    text = "; ".join(f"t{i}=v" for i in range(20000))
    assert len(parse_tag_list(text)) == 20000
