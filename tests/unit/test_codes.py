"""Verification codes and the mail that carries them."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailauth_tui.registry import codes
from mailauth_tui.registry.codes import (
    ALPHABET,
    CODE_TTL,
    MAX_ATTEMPTS,
    RESEND_INTERVAL,
    format_code,
    generate_code,
    hash_code,
    normalize_code,
    verify_code,
)
from mailauth_tui.registry.messages import code_message

EXPIRES = datetime(2026, 12, 12, 10, 0, tzinfo=UTC)


def test_constants_follow_the_help_page() -> None:
    assert (
        timedelta(days=15),
        5,
        timedelta(minutes=1),
    ) == (CODE_TTL, MAX_ATTEMPTS, RESEND_INTERVAL)


def test_alphabet_has_no_look_alikes() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31


def test_generated_codes_use_the_alphabet_and_differ() -> None:
    seen = {generate_code() for _ in range(200)}
    assert len(seen) == 200
    assert all(len(c) == 10 and set(c) <= set(ALPHABET) for c in seen)


def test_generation_is_injectable_for_frozen_tests() -> None:
    rng = random.Random(7)
    first = generate_code(rand=rng.choice)
    assert first == generate_code(rand=random.Random(7).choice)
    assert generate_code(length=8, rand=lambda s: s[0]) == "22222222"


def test_short_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        generate_code(length=7)


@pytest.mark.parametrize(
    "typed",
    [
        "ABCD-EFGH-JK",
        "abcdefghjk",
        " abcd efgh jk ",
        "\uff21\uff22\uff23\uff24\uff0d\uff25\uff26\uff27\uff28\uff0d\uff2a\uff2b",  # full width
        "ab\tcd\u3000efgh\u2013jk",
    ],
)
def test_normalize_accepts_any_way_of_typing(typed: str) -> None:
    assert normalize_code(typed) == "ABCDEFGHJK"


def test_format_groups_by_four() -> None:
    assert format_code("ABCDEFGHJK") == "ABCD-EFGH-JK"
    assert format_code("abcd-efgh") == "ABCD-EFGH"


def test_hash_round_trip_and_format() -> None:
    code = generate_code()
    stored = hash_code(code)
    assert stored.split("$")[:4] == ["scrypt", str(2**14), "8", "1"]
    assert code not in stored
    assert verify_code(code, stored)
    assert verify_code(format_code(code).lower(), stored)
    other = ("2" if code[0] != "2" else "3") + code[1:]
    assert not verify_code(other, stored)


def test_hash_is_salted() -> None:
    assert hash_code("ABCDEFGHJK") != hash_code("ABCDEFGHJK")


def test_hash_refuses_what_is_not_a_code() -> None:
    with pytest.raises(ValueError):
        hash_code("IOLO0101")
    with pytest.raises(ValueError):
        hash_code("ABC")


def test_hash_cost_is_modest() -> None:
    # Measured ~65 ms on the 2-core CI machine; a generous bound catches a cost raised by 8x.
    start = time.perf_counter()
    stored = hash_code("ABCDEFGHJK")
    assert verify_code("ABCDEFGHJK", stored)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "scrypt",
        "bcrypt$16384$8$1$AAAA$AAAA",
        "scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$3$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        # a cost that would allocate 128 GiB must be refused, not attempted
        "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$16384$8$1$not base64!$AAAA",
        "scrypt$16384$8$1$AAAA$AAAA",
    ],
)
def test_verify_never_raises_for_a_damaged_hash(stored: str) -> None:
    assert verify_code("ABCDEFGHJK", stored) is False


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_verify_never_raises_for_garbage_input(typed: str) -> None:
    # A hash with n=2 keeps each example cheap; the parsing path is the one exercised.
    stored = "scrypt$2$1$1$" + "A" * 22 + "==$" + "A" * 43 + "="
    assert verify_code(typed, stored) in (True, False)


def test_verify_refuses_non_strings() -> None:
    stored = hash_code("ABCDEFGHJK")
    assert verify_code(None, stored) is False  # type: ignore[arg-type]
    assert verify_code("ABCDEFGHJK", None) is False  # type: ignore[arg-type]


def test_stored_parameters_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hash made with another cost (an older release) still verifies.
    monkeypatch.setattr(codes, "SCRYPT_N", 2**10)
    stored = hash_code("ABCDEFGHJK")
    monkeypatch.undo()
    assert stored.startswith("scrypt$1024$")
    assert verify_code("abcd-efgh-jk", stored)


# --- the message ---------------------------------------------------------------------------


def _message(**overrides: object) -> EmailMessage:
    args: dict[str, object] = {
        "sender": "Registry <noreply@example.com>",
        "to": "admin@mail.example.com",
        "domain_display": "mail.example.com",
        "code": "ABCDEFGHJK",
        "expires_at": EXPIRES,
        "organisation": "Example Ltd",
    }
    args.update(overrides)
    return code_message(**args)  # type: ignore[arg-type]


def test_code_message_says_what_when_and_what_if_not_you() -> None:
    msg = _message(requested_by="alice", now=datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    body = msg.get_content()
    assert msg["To"] == "admin@mail.example.com"
    assert msg["From"].addresses[0].addr_spec == "noreply@example.com"
    assert "mail.example.com" in msg["Subject"]
    assert "ABCD" not in msg["Subject"]  # the code is not shown in inbox previews
    assert "ABCD-EFGH-JK" in body
    assert "2026-12-12 10:00 UTC" in body
    assert "15 days" in body
    assert "Example Ltd" in body and "alice" in body
    assert "did not ask for this, ignore" in body
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"].endswith("@example.com>")
    assert msg["Date"] == "Fri, 27 Nov 2026 10:00:00 +0000"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to", "admin@example.com\nBcc: victim@example.org"),
        ("to", "admin@example.com\r\nBcc: victim@example.org"),
        ("sender", "noreply@example.com\nBcc: victim@example.org"),
        ("domain_display", "example.com\nBcc: victim@example.org"),
        ("to", "admin@example.com, victim@example.org"),
        ("to", "not an address"),
        ("to", "admin@"),
    ],
)
def test_header_injection_and_bad_addresses_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        _message(**{field: value})


def test_unicode_domain_goes_out_as_punycode() -> None:
    msg = _message(
        to="admin@bücher.example",
        domain_display="bücher.example (xn--bcher-kva.example)",
        expires_at=EXPIRES.replace(tzinfo=None),  # naive: taken as UTC
    )
    assert msg["To"] == "admin@xn--bcher-kva.example"
    body = msg.get_content()
    assert "bücher.example" in body and "2026-12-12 10:00 UTC" in body
    assert msg.as_bytes().isascii()  # quoted-printable: servers without 8BITMIME take it


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
@example(".:")  # the stdlib header parser raised AttributeError on this one
def test_any_recipient_text_gives_a_message_or_a_value_error(to: str) -> None:
    try:
        msg = _message(to=to)
    except ValueError:
        return
    # What was accepted is one address, with no way to smuggle a header in.
    header = msg["To"]
    assert len(header.addresses) == 1
    assert "\n" not in str(header) and "\r" not in str(header)
