"""The relay's header surgery: From replaced (folded lines too), the body byte for byte."""

from __future__ import annotations

from mailauth_tui.registry.relay_policy import is_bulk, rewrite_from

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
