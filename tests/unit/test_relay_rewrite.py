"""The relay's header surgery: From replaced (folded lines too), the body byte for byte."""

from __future__ import annotations

from mailauth_tui.registry.relay_policy import header_fields, is_bulk, rewrite_from

RAW = (
    b"Subject: hi\r\n"
    b"From: =?utf-8?q?Ann?=\r\n"
    b" <ann@mail.example.com>\r\n"
    b"To: b@x.example\r\n"
    b"\r\n"
    b"From: this body line stays\r\n"
    b"  indented too\r\n"
)


def test_from_is_replaced_and_the_original_kept_as_reply_to() -> None:
    out = rewrite_from(RAW, "noreply@corp.example", "=?utf-8?q?Ann?= <ann@mail.example.com>")
    head, body = out.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n") == [
        b"From: noreply@corp.example",
        b"Reply-To: =?utf-8?q?Ann?= <ann@mail.example.com>",
        b"Subject: hi",
        b"To: b@x.example",
    ]
    assert body == RAW.split(b"\r\n\r\n", 1)[1]


def test_without_reply_to_nothing_is_added() -> None:
    out = rewrite_from(RAW, "noreply@corp.example", None)
    assert b"Reply-To" not in out and out.startswith(b"From: noreply@corp.example\r\n")


def test_bulk_markers() -> None:
    assert is_bulk({"precedence": " Bulk "}, None)
    assert is_bulk({"precedence": "list"}, None)
    assert is_bulk({"list-unsubscribe": "<mailto:u@x>"}, None)
    assert is_bulk({"x-campaign": "7"}, "X-Campaign")
    assert not is_bulk({"precedence": "first-class", "x-campaign": "7"}, None)


def test_header_fields_unfolds_and_keeps_the_order() -> None:
    raw = (
        b"From: Ann\r\n <ann@mail.example.com>\r\n"
        b"no colon on this line\r\n"
        b"Precedence:  Bulk \r\n"
        b"Subject: caf\xc3\xa9\r\n"
        b"\r\n"
        b"From: body@not.a.header\r\n"
    )
    assert header_fields(raw) == [
        ("from", "Ann <ann@mail.example.com>"),
        ("precedence", "Bulk"),
        ("subject", "café"),
    ]
    assert header_fields(b"From: a@b.example") == [("from", "a@b.example")]  # no body at all
