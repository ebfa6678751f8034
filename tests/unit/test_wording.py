"""Counts and lists in messages: singular for one, commas and "and" for lists."""

from __future__ import annotations

from mailauth_tui.core.wording import plural, word_list


def test_plural() -> None:
    assert plural(0, "domain") == "0 domains"
    assert plural(1, "domain") == "1 domain"
    assert plural(2, "record") == "2 records"
    assert plural(2, "entry", "entries") == "2 entries"


def test_word_list() -> None:
    assert word_list([]) == ""
    assert word_list(["DKIM"]) == "DKIM"
    assert word_list(["DKIM", "SPF"]) == "DKIM and SPF"
    assert word_list(["DKIM", "SPF", "DMARC"]) == "DKIM, SPF and DMARC"
    assert word_list(["a", "b"], "or") == "a or b"
