"""Records to publish: TXT splitting and zone lines, DKIM, the SPF merge, DMARC."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth_tui.core.dkim import parse_dkim
from mailauth_tui.core.publish import (
    dkim_publish,
    dmarc_publish,
    provider_host,
    spf_publish,
    split_txt,
    zone_line,
)

ED25519_KEY = base64.b64encode(bytes(range(32))).decode()
# An RSA 2048 SubjectPublicKeyInfo is 294 bytes: its base64 (392 chars) needs two strings.
RSA_LIKE_KEY = base64.b64encode(bytes(294)).decode()


# --- split_txt / zone_line -----------------------------------------------------------------


def test_split_at_255_bytes() -> None:
    value = "a" * 600
    assert [len(c) for c in split_txt(value)] == [255, 255, 90]
    assert split_txt("short") == ("short",)
    assert split_txt("") == ("",)
    assert split_txt("abcdef", size=4) == ("abcd", "ef")


def test_split_never_cuts_a_multibyte_character() -> None:
    chunks = split_txt("é" * 200)  # 400 bytes
    assert [len(c.encode()) for c in chunks] == [254, 146]
    assert "".join(chunks) == "é" * 200


@pytest.mark.parametrize("size", [0, 256, -1])
def test_split_size_must_fit_a_character_string(size: int) -> None:
    with pytest.raises(ValueError):
        split_txt("x", size=size)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=1200), st.integers(min_value=4, max_value=255))
def test_split_joins_back_and_respects_the_size(value: str, size: int) -> None:
    chunks = split_txt(value, size)
    assert "".join(chunks) == value
    assert all(len(c.encode("utf-8")) <= size for c in chunks)
    assert all(chunks) or chunks == ("",)


def test_zone_line_quotes_and_escapes() -> None:
    assert zone_line("example.com", ("v=spf1 -all",)) == 'example.com. 3600 IN TXT "v=spf1 -all"'
    assert (
        zone_line("a.example.com.", ('say "hi"', "back\\slash"), ttl=300)
        == 'a.example.com. 300 IN TXT "say \\"hi\\"" "back\\\\slash"'
    )
    # Outside printable ASCII: \DDD octets, so no raw control or UTF-8 bytes in the line.
    assert zone_line("x.example", ("é\n",)) == 'x.example. 3600 IN TXT "\\195\\169\\010"'
    with pytest.raises(ValueError):
        zone_line("x.example", ("a",), ttl=-1)


# --- DKIM ----------------------------------------------------------------------------------


def test_dkim_record_for_rsa() -> None:
    rec = dkim_publish("Mail.Example.com", "mt202611", "rsa", RSA_LIKE_KEY)
    assert rec.kind == "DKIM" and rec.rtype == "TXT" and rec.required
    assert rec.host == "mt202611._domainkey.mail.example.com"
    assert rec.value == f"v=DKIM1; k=rsa; p={RSA_LIKE_KEY}"
    assert len(rec.chunks) == 2 and "".join(rec.chunks) == rec.value
    assert rec.zone_line.startswith('mt202611._domainkey.mail.example.com. 3600 IN TXT "v=DKIM1;')
    assert rec.zone_line.count('"') == 4
    assert "'mt202611._domainkey.mail'" in rec.note
    assert rec.short_host == "mt202611._domainkey.mail"
    assert parse_dkim(rec.value).p == RSA_LIKE_KEY
    assert not rec.already_published


def test_dkim_record_for_ed25519_and_unicode_domain() -> None:
    rec = dkim_publish(
        "bücher.example", "s1", "ed25519", ED25519_KEY[:20] + "\n" + ED25519_KEY[20:]
    )
    assert rec.host == "s1._domainkey.xn--bcher-kva.example"
    assert rec.value == f"v=DKIM1; k=ed25519; p={ED25519_KEY}"
    assert rec.chunks == (rec.value,)


@pytest.mark.parametrize(
    ("selector", "key_type", "key"),
    [
        ("s1", "ed25519", base64.b64encode(bytes(44)).decode()),  # SPKI-wrapped, not raw
        ("s1", "rsa", "not base64!"),
        ("s1", "rsa", ""),
        ("s1", "dsa", ED25519_KEY),
        ("bad selector", "rsa", RSA_LIKE_KEY),
        ("s1;p=x", "rsa", RSA_LIKE_KEY),
        ("", "rsa", RSA_LIKE_KEY),
    ],
)
def test_dkim_bad_input_is_refused(selector: str, key_type: str, key: str) -> None:
    with pytest.raises(ValueError):
        dkim_publish("example.com", selector, key_type, key)


# --- SPF -----------------------------------------------------------------------------------


def test_spf_new_record_softfails_the_rest() -> None:
    rec = spf_publish("example.com", None, "sendgrid.net", ["192.0.2.10", "2001:db8::/32"])
    assert rec.value == "v=spf1 include:sendgrid.net ip4:192.0.2.10 ip6:2001:db8::/32 ~all"
    assert rec.host == "example.com" and rec.kind == "SPF"
    assert not rec.required and not rec.already_published
    assert "at least 1 DNS lookup," in rec.note
    measured = spf_publish("example.com", None, "sendgrid.net", [], lookups_after=3)
    assert "(3 DNS lookups)" in measured.note


def test_spf_new_record_without_sources_says_so() -> None:
    # "v=spf1 ~all" would authorise no server: nothing is offered, the note says why.
    rec = spf_publish("example.com", None, None, [])
    assert (rec.value, rec.chunks, rec.zone_line) == ("", (), "")
    assert "no sending source is configured" in rec.note and "[sending]" in rec.note


def test_spf_merge_inserts_before_all_and_keeps_its_qualifier() -> None:
    existing = "v=spf1 mx include:_spf.google.com include:mailgun.org a -all"
    rec = spf_publish("example.com", existing, "sendgrid.net", ["192.0.2.10"], 4, 5)
    assert rec.value == (
        "v=spf1 mx include:_spf.google.com include:mailgun.org a "
        "include:sendgrid.net ip4:192.0.2.10 -all"
    )
    assert "4 -> 5 DNS lookups" in rec.note
    assert "WARNING" not in rec.note
    assert "do not add a second one" in rec.note
    assert not rec.already_published


def test_spf_merge_inserts_before_redirect() -> None:
    rec = spf_publish(
        "example.com", "v=spf1 ip4:198.51.100.0/24 redirect=_spf.example.net", "x.example", []
    )
    assert rec.value == "v=spf1 ip4:198.51.100.0/24 include:x.example redirect=_spf.example.net"


def test_spf_merge_appends_when_there_is_no_all() -> None:
    rec = spf_publish("example.com", "v=spf1 mx", "sendgrid.net", [])
    assert rec.value == "v=spf1 mx include:sendgrid.net"


def test_spf_merge_counts_top_level_lookups_when_not_measured() -> None:
    rec = spf_publish("example.com", "v=spf1 a mx include:x.example ~all", "y.example", [])
    assert "at least 3 -> 4 DNS lookups, counted on the top-level terms" in rec.note


def test_spf_merge_reads_the_record_with_the_parser() -> None:
    # Case-insensitive mechanism names; a network written with host bits still covers the IP.
    existing = "v=spf1 Include:sendgrid.net ip4:192.0.2.5/24 a:mail.example.com/24 ~all"
    rec = spf_publish("example.com", existing, "sendgrid.net", ["192.0.2.10"])
    assert rec.already_published and rec.value == existing


def test_spf_merge_of_a_broken_record_replaces_it_and_says_what_was_wrong() -> None:
    rec = spf_publish("example.com", "v=spf1 ip4:300.1.1.1 ~all", "sendgrid.net", [])
    assert rec.value == "v=spf1 include:sendgrid.net ~all"
    assert "'ip4:300.1.1.1' is left out" in rec.note and "syntax error" in rec.note


def test_spf_merge_warns_over_ten_lookups() -> None:
    rec = spf_publish("example.com", "v=spf1 include:a.example ~all", "b.example", [], 10, 11)
    assert "10 -> 11 DNS lookups" in rec.note
    assert "WARNING" in rec.note and "limit of 10" in rec.note


def test_spf_nothing_to_add_is_already_published() -> None:
    existing = "v=spf1 include:SendGrid.net. ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all"
    rec = spf_publish("example.com", existing, "sendgrid.net", ["192.0.2.10", "2001:db8::1"])
    assert rec.already_published
    assert rec.value == existing
    assert "already authorises" in rec.note


def test_spf_terms_are_never_duplicated() -> None:
    existing = "v=spf1 include:sendgrid.net ~all"
    rec = spf_publish("example.com", existing, "sendgrid.net", ["192.0.2.10", "192.0.2.10"])
    assert rec.value == "v=spf1 include:sendgrid.net ip4:192.0.2.10 ~all"


def test_spf_a_failing_include_is_not_counted_as_authorising() -> None:
    rec = spf_publish("example.com", "v=spf1 -include:sendgrid.net ~all", "sendgrid.net", [])
    assert not rec.already_published
    assert "'-include:sendgrid.net' does not authorise" in rec.note


def test_spf_merge_keeps_terms_it_does_not_understand() -> None:
    existing = "v=spf1 exists:%{i}._spf.example.com ptr exp=explain.example.com ?all"
    rec = spf_publish("example.com", existing, None, ["192.0.2.1"])
    assert rec.value == (
        "v=spf1 exists:%{i}._spf.example.com ptr exp=explain.example.com ip4:192.0.2.1 ?all"
    )


def test_spf_long_merge_is_chunked_and_flagged() -> None:
    ips = [f"ip4:198.51.100.{i}" for i in range(1, 40)]
    rec = spf_publish("example.com", "v=spf1 " + " ".join(ips) + " -all", "x.example", [])
    assert len(rec.chunks) >= 2 and "".join(rec.chunks) == rec.value
    assert "over 450 bytes" in rec.note


@pytest.mark.parametrize(
    ("existing", "include", "ips"),
    [
        ("v=DMARC1; p=none", "x.example", []),
        ("v=spf10 -all", "x.example", []),
        (None, "not a domain!", []),
        (None, None, ["300.1.1.1"]),
        (None, None, ["192.0.2.1/24"]),  # host bits set: a typo more often than intended
    ],
)
def test_spf_bad_input_is_refused(
    existing: str | None, include: str | None, ips: list[str]
) -> None:
    with pytest.raises(ValueError):
        spf_publish("example.com", existing, include, ips)


# --- DMARC ---------------------------------------------------------------------------------


def test_dmarc_starting_record() -> None:
    rec = dmarc_publish("mail.example.com", "dmarc@example.com", None)
    assert rec.host == "_dmarc.mail.example.com"
    assert rec.value == "v=DMARC1; p=none; rua=mailto:dmarc@example.com"
    assert not rec.required and not rec.already_published
    assert "p=none" in rec.note and "another domain" not in rec.note


def test_dmarc_accepts_a_mailto_uri_and_flags_external_reports() -> None:
    rec = dmarc_publish("example.com", "mailto:reports@dmarc.example.net", None)
    assert rec.value == "v=DMARC1; p=none; rua=mailto:reports@dmarc.example.net"
    assert "example.com._report._dmarc.dmarc.example.net" in rec.note


def test_dmarc_without_report_address() -> None:
    rec = dmarc_publish("example.com", None, None)
    assert rec.value == "v=DMARC1; p=none"
    assert "no report address" in rec.note


def test_dmarc_existing_record_is_already_published() -> None:
    rec = dmarc_publish("example.com", "dmarc@example.com", "v=DMARC1; p=reject")
    assert rec.already_published and rec.value == "v=DMARC1; p=reject"


@pytest.mark.parametrize(
    "rua",
    ["a@b.example; p=reject", "a@b.example,b@c.example", "nobody", "@example.com", "a b@c.example"],
)
def test_dmarc_report_addresses_cannot_inject_tags(rua: str) -> None:
    with pytest.raises(ValueError):
        dmarc_publish("example.com", rua, None)


def test_provider_host_is_relative_to_the_registered_domain() -> None:
    assert provider_host("example.com") == "@"
    assert provider_host("_dmarc.example.com") == "_dmarc"
    assert provider_host("mt202612._domainkey.example.com.") == "mt202612._domainkey"
    assert provider_host("mail.example.co.uk") == "mail"  # the PSL's registered domain
    # A zone given (a delegated subdomain hosted on its own): relative to it.
    assert provider_host("_dmarc.mail.example.com", "mail.example.com") == "_dmarc"
    assert provider_host("_dmarc.other.net", "example.com") == "_dmarc.other.net"
    spf = spf_publish("example.com", None, "_spf.provider.net", ())
    dmarc = dmarc_publish("example.com", None, None)
    assert (spf.short_host, dmarc.short_host) == ("@", "_dmarc")
