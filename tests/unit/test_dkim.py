"""DKIM key records: the parser, key sizes read from the key, and check_dkim over a fake DNS."""

from __future__ import annotations

import base64
from functools import cache

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailauth_tui.core.dkim import check_dkim, key_info, parse_dkim
from mailauth_tui.core.dns_types import AnswerStatus
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.results import Severity, Status
from mailauth_tui.core.txt_diagnostics import glued_chunks
from tests.unit.dns_fakes import FakeResolver

# RFC 6376 Appendix C ("brisbane" selector, 1024-bit RSA).
RFC6376_KEY = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG"
    "9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNB"
    "cWToIMmPSPDdQPNUYckcQ2QIDAQAB"
)
# RFC 8463 Appendix A: the Ed25519 and RSA records of football.example.com.
RFC8463_ED25519 = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
RFC8463_RSA = (
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6w"
    "y5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9"
    "PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
)
HOST = "s1._domainkey.example.com"


@cache
def rsa_key(
    bits: int, fmt: serialization.PublicFormat = serialization.PublicFormat.SubjectPublicKeyInfo
) -> str:
    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    der = public.public_bytes(serialization.Encoding.DER, fmt)
    return base64.b64encode(der).decode("ascii")


def short_rsa_key() -> str:
    # cryptography will not generate a 512-bit key, but it loads one: build it from numbers.
    public = rsa.RSAPublicNumbers(65537, (1 << 511) | 12345).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def codes(result: object) -> list[str]:
    return [p.code for p in getattr(result, "problems")]  # noqa: B009


def split255(text: str) -> tuple[str, ...]:
    return tuple(text[i : i + 255] for i in range(0, len(text), 255))


# ---------------------------------------------------------------------------- parser


def test_rfc6376_appendix_c_record() -> None:
    rec = parse_dkim(f"v=DKIM1; p={RFC6376_KEY}")
    assert rec.v == "DKIM1" and rec.k == "rsa" and rec.p == RFC6376_KEY
    assert rec.s == ("*",) and rec.h == () and rec.t == () and not rec.revoked
    assert key_info(rec) == ("rsa", 1024)


def test_rfc8463_records() -> None:
    ed = parse_dkim(RFC8463_ED25519)
    assert ed.k == "ed25519" and ed.p == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    assert key_info(ed) == ("ed25519", 256)
    assert key_info(parse_dkim(RFC8463_RSA)) == ("rsa", 1024)


@pytest.mark.parametrize("bits", [1024, 2048, 4096])
def test_rsa_key_size_is_read_from_the_modulus(bits: int) -> None:
    assert key_info(parse_dkim(f"v=DKIM1; k=rsa; p={rsa_key(bits)}")) == ("rsa", bits)


def test_bare_pkcs1_rsa_public_key_is_accepted() -> None:
    key = rsa_key(2048, serialization.PublicFormat.PKCS1)
    assert key_info(parse_dkim(f"p={key}")) == ("rsa", 2048)


def test_whitespace_inside_p_is_removed() -> None:
    key = rsa_key(2048)
    spread = " ".join(key[i : i + 60] for i in range(0, len(key), 60))
    rec = parse_dkim(f"v=DKIM1; k=rsa; p= {spread}\r\n\t ; t=y")
    assert rec.p == key
    assert rec.t == ("y",) and rec.testing


def test_empty_p_is_a_revoked_key() -> None:
    rec = parse_dkim("v=DKIM1; k=rsa; p=")
    assert rec.revoked and rec.p == ""
    assert key_info(rec) == ("rsa", None)


def test_optional_tags() -> None:
    rec = parse_dkim("v=DKIM1; h=sha1 : sha256; k=RSA; n=see docs; s=email:*; t=y:s; x=1; p=")
    assert rec.h == ("sha1", "sha256") and rec.k == "rsa" and rec.n == "see docs"
    assert rec.s == ("email", "*") and rec.t == ("y", "s") and rec.unknown_tags == ("x",)


@pytest.mark.parametrize(
    ("text", "code", "fragment"),
    [
        ("k=rsa; v=DKIM1; p=", "syntax", "first tag"),
        ("v=DKIM2; p=", "syntax", "DKIM1"),
        ("v=DKIM1; k=rsa", "syntax", "no p="),
        ("v=DKIM1; p=!!!!", "bad_key", "base64"),
        ("v=DKIM1; p=abcde", "bad_key", "base64"),
        ("v=DKIM1; h=sha256:; p=", "syntax", "h="),
        ("v=DKIM1; p=; p=", "duplicate_tag", "twice"),
    ],
)
def test_parse_errors(text: str, code: str, fragment: str) -> None:
    with pytest.raises(RecordSyntaxError) as info:
        parse_dkim(text)
    assert info.value.code == code
    assert fragment in info.value.message


def test_ed25519_key_must_be_the_raw_32_bytes() -> None:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(RecordSyntaxError) as info:
        key_info(parse_dkim(f"k=ed25519; p={base64.b64encode(spki).decode()}"))
    assert info.value.code == "bad_key"
    assert f"p={base64.b64encode(raw).decode()}" in info.value.message
    with pytest.raises(RecordSyntaxError, match="32 bytes"):
        key_info(parse_dkim(f"k=ed25519; p={base64.b64encode(raw[:31]).decode()}"))


def test_rsa_tag_with_a_non_rsa_key_or_garbage_is_bad_key() -> None:
    spki = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(RecordSyntaxError, match="k=rsa") as info:
        key_info(parse_dkim(f"k=rsa; p={base64.b64encode(spki).decode()}"))
    assert info.value.code == "bad_key"
    with pytest.raises(RecordSyntaxError) as info:
        key_info(parse_dkim(f"p={base64.b64encode(b'not a key at all').decode()}"))
    assert info.value.code == "bad_key"


def test_unknown_key_type_has_no_size() -> None:
    assert key_info(parse_dkim("k=dsa; p=AAAA")) == ("dsa", None)


def test_no_split_of_a_correct_record_looks_glued() -> None:
    record = f"v=DKIM1; k=rsa; h=sha256; p={rsa_key(2048)}"
    for i in range(1, len(record)):
        assert glued_chunks((record[:i], record[i:]), "dkim") is None, i


# ---------------------------------------------------------------------------- check_dkim


async def test_valid_2048_bit_key_split_into_255_byte_strings() -> None:
    key = rsa_key(2048)
    record = f"v=DKIM1; k=rsa; p={key}"
    dns = FakeResolver().txt(HOST, split255(record), cname_chain=(HOST, "s1.dkim.esp.example"))
    result = await check_dkim(dns, "example.com", "s1", expected_public_key=key)
    assert result.status is Status.VALID
    assert (result.selector, result.host, result.record) == ("s1", HOST, record)
    assert (result.key_type, result.key_bits, result.public_key) == ("rsa", 2048, key)
    assert result.cname_chain == (HOST, "s1.dkim.esp.example")
    assert result.problems == ()


async def test_ed25519_record_is_valid() -> None:
    result = await check_dkim(FakeResolver().txt(HOST, RFC8463_ED25519), "example.com", "s1")
    assert result.status is Status.VALID
    assert (result.key_type, result.key_bits) == ("ed25519", 256)


async def test_1024_bit_key_is_valid_with_a_warning() -> None:
    result = await check_dkim(FakeResolver().txt(HOST, f"p={rsa_key(1024)}"), "example.com", "s1")
    assert result.status is Status.VALID and result.key_bits == 1024
    assert codes(result) == ["dkim.key_weak"]
    assert result.problems[0].severity is Severity.WARNING


async def test_key_under_1024_bits_is_invalid() -> None:
    result = await check_dkim(FakeResolver().txt(HOST, f"p={short_rsa_key()}"), "example.com", "s1")
    assert result.status is Status.INVALID and result.key_bits == 512
    assert codes(result) == ["dkim.key_too_short"]
    assert "2048" in result.problems[0].fix


async def test_revoked_key() -> None:
    result = await check_dkim(FakeResolver().txt(HOST, "v=DKIM1; p="), "example.com", "s1")
    assert result.status is Status.REVOKED
    assert codes(result) == ["dkim.revoked"]
    assert result.public_key == ""


@pytest.mark.parametrize("present", [False, True])
async def test_missing_key(present: bool) -> None:
    dns = FakeResolver()
    if present:
        dns.txt(HOST, "google-site-verification=abc")  # a TXT there, but not a key
    result = await check_dkim(dns, "example.com", "s1")
    assert result.status is Status.MISSING
    assert codes(result) == ["dkim.missing"]
    assert HOST in result.problems[0].fix
    assert result.problems[0].severity is Severity.ERROR


async def test_nodata_is_missing() -> None:
    result = await check_dkim(FakeResolver().txt(HOST), "example.com", "s1")
    assert result.status is Status.MISSING


@pytest.mark.parametrize("status", [AnswerStatus.SERVFAIL, AnswerStatus.TIMEOUT])
async def test_transient_failure_is_unknown_never_missing(status: AnswerStatus) -> None:
    result = await check_dkim(FakeResolver().fail(HOST, status), "example.com", "s1")
    assert result.status is Status.UNKNOWN
    assert codes(result) == ["dkim.unknown"]


async def test_several_records_at_one_name() -> None:
    dns = FakeResolver().txt(HOST, f"v=DKIM1; p={RFC6376_KEY}", RFC8463_ED25519, "other=1")
    result = await check_dkim(dns, "example.com", "s1")
    assert result.status is Status.INVALID
    assert codes(result) == ["dkim.multiple_records"]


async def test_expected_key_compared_ignoring_whitespace() -> None:
    key = rsa_key(2048)
    dns = FakeResolver().txt(HOST, f"v=DKIM1; p={key[:100]} {key[100:]}")
    same = await check_dkim(dns, "example.com", "s1", expected_public_key=key)
    assert same.status is Status.VALID
    other = await check_dkim(dns, "example.com", "s1", expected_public_key=rsa_key(4096))
    assert other.status is Status.INVALID
    assert codes(other) == ["dkim.key_mismatch"]
    assert other.key_bits == 2048


async def test_warnings_for_testing_sha1_and_error_for_unknown_key_type() -> None:
    key = rsa_key(2048)
    dns = FakeResolver().txt(HOST, f"v=DKIM1; t=y; h=sha1; p={key}")
    result = await check_dkim(dns, "example.com", "s1")
    assert result.status is Status.VALID
    assert codes(result) == ["dkim.testing", "dkim.sha1_only"]
    odd = await check_dkim(FakeResolver().txt(HOST, "v=DKIM1; k=gost; p=AAAA"), "example.com", "s1")
    assert odd.status is Status.INVALID and codes(odd) == ["dkim.unknown_key_type"]


async def test_service_type_without_email_is_invalid() -> None:
    dns = FakeResolver().txt(HOST, f"v=DKIM1; s=tlsrpt; p={rsa_key(2048)}")
    result = await check_dkim(dns, "example.com", "s1")
    assert result.status is Status.INVALID and codes(result) == ["dkim.service_type"]


async def test_syntax_error_and_bad_key_data() -> None:
    broken = await check_dkim(FakeResolver().txt(HOST, "v=DKIM1; p"), "example.com", "s1")
    assert broken.status is Status.INVALID and codes(broken) == ["dkim.syntax"]
    assert "position" in broken.problems[0].message
    garbage = base64.b64encode(b"\x30\x03\x02\x01\x01").decode()
    bad = await check_dkim(FakeResolver().txt(HOST, f"v=DKIM1; p={garbage}"), "example.com", "s1")
    assert bad.status is Status.INVALID and codes(bad) == ["dkim.bad_key"]


async def test_bare_key_without_tags() -> None:
    key = rsa_key(2048)
    result = await check_dkim(FakeResolver().txt(HOST, key), "example.com", "s1")
    assert result.status is Status.INVALID and codes(result) == ["dkim.syntax"]
    assert result.problems[0].fix == f"enter the value as: v=DKIM1; k=rsa; p={key}"


@pytest.mark.parametrize(
    ("domain", "doubled", "relative"),
    [
        ("example.com", "s1._domainkey.example.com.example.com", "s1._domainkey"),
        ("mail.example.com", "s1._domainkey.mail.example.com.example.com", "s1._domainkey.mail"),
        ("mail.example.com", "s1._domainkey.mail.example.com.mail.example.com", "s1._domainkey"),
    ],
)
async def test_zone_appended_twice(domain: str, doubled: str, relative: str) -> None:
    dns = FakeResolver().txt(doubled, f"v=DKIM1; p={rsa_key(2048)}")
    result = await check_dkim(dns, domain, "s1")
    assert result.status is Status.MISSING
    assert codes(result) == ["dkim.zone_doubled"]
    problem = result.problems[0]
    assert problem.severity is Severity.ERROR
    assert doubled in problem.message
    assert f"your DNS provider appends the zone: enter the host as `{relative}` only" in problem.fix


async def test_literal_quotes_are_diagnosed_and_the_key_still_read() -> None:
    key = rsa_key(2048)
    dns = FakeResolver().txt(HOST, f'"v=DKIM1; k=rsa; " "p={key}"')
    result = await check_dkim(dns, "example.com", "s1")
    assert result.status is Status.INVALID
    assert codes(result) == ["txt.literal_quotes"]
    assert result.problems[0].fix.endswith(f"without quotes: v=DKIM1; k=rsa; p={key}")
    assert result.key_bits == 2048


async def test_escaped_semicolons() -> None:
    dns = FakeResolver().txt(HOST, f"v=DKIM1\\; k=rsa\\; p={rsa_key(2048)}")
    result = await check_dkim(dns, "example.com", "s1")
    assert result.status is Status.INVALID
    assert codes(result) == ["txt.escaped_semicolon"]


async def test_glued_strings() -> None:
    dns = FakeResolver().txt(HOST, ("v=DKIM1; k=rsa", f"p={rsa_key(2048)}"))
    result = await check_dkim(dns, "example.com", "s1")
    assert result.status is Status.INVALID
    assert codes(result)[0] == "txt.glued_terms"
    assert "string 1" in result.problems[0].fix


async def test_domain_is_normalised_for_the_query() -> None:
    dns = FakeResolver().txt(HOST, RFC8463_ED25519)
    result = await check_dkim(dns, "Example.COM.", "s1")
    assert result.status is Status.VALID and dns.asked() == [HOST]


async def test_the_same_record_at_two_domains_gives_each_its_own_host() -> None:
    key = rsa_key(2048)
    clean, weak = split255(f"v=DKIM1; k=rsa; p={key}"), f"v=DKIM1; p={rsa_key(1024)}"
    dns = FakeResolver()
    for name in ("a.example", "b.example"):
        dns.txt(f"s1._domainkey.{name}", clean).txt(f"s2._domainkey.{name}", weak)
    a, b = [await check_dkim(dns, name, "s1") for name in ("a.example", "b.example")]
    assert (b.status, b.key_bits, b.record, b.problems) == (a.status, a.key_bits, a.record, ())
    assert b.host == "s1._domainkey.b.example"
    other = await check_dkim(dns, "b.example", "s1", expected_public_key=rsa_key(4096))
    assert codes(other) == ["dkim.key_mismatch"]
    weak_a, weak_b = [await check_dkim(dns, name, "s2") for name in ("a.example", "b.example")]
    assert "s2._domainkey.b.example" in weak_b.problems[0].message
    assert "s2._domainkey.a.example" in weak_a.problems[0].message
