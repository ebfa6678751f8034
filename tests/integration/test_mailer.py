"""Mail delivery over a loopback SMTP server and into a Maildir; every failure is a MailError."""

from __future__ import annotations

import asyncio
import mailbox
import socket
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailauth_tui.registry.codes import format_code, generate_code
from mailauth_tui.registry.messages import code_message
from mailauth_tui.services.mailer import (
    MaildirMailer,
    MailError,
    SmtpMailer,
    mailer_from_settings,
)
from tests.fixtures.smtp import SMTP_PASSWORD, SMTP_USER, CollectingController, free_port


def _code_mail(code: str, to: str = "admin@mail.example.com") -> EmailMessage:
    return code_message(
        sender="Registry <noreply@example.com>",
        to=to,
        domain_display="mail.example.com",
        code=code,
        expires_at=datetime(2026, 12, 12, 10, 0, tzinfo=UTC),
        organisation="Example Ltd",
    )


async def test_smtp_delivers_the_code(smtp_server: CollectingController) -> None:
    code = generate_code()
    mailer = SmtpMailer(smtp_server.hostname, smtp_server.port, "none", timeout=5)
    where = await mailer.send(_code_mail(code))

    assert where == f"SMTP 127.0.0.1:{smtp_server.port} (no TLS)"
    [received] = smtp_server.messages
    assert received["To"] == "admin@mail.example.com"
    body = received.get_body(("plain",))
    assert body is not None and format_code(code) in body.get_content()
    [envelope] = smtp_server.handler.envelopes
    assert envelope.mail_from == "noreply@example.com"
    assert envelope.rcpt_tos == ("admin@mail.example.com",)


async def test_smtp_unicode_domain_arrives_intact(smtp_server: CollectingController) -> None:
    mailer = SmtpMailer("127.0.0.1", smtp_server.port, "none", timeout=5)
    msg = code_message(
        sender="noreply@example.com",
        to="admin@bücher.example",
        domain_display="bücher.example (xn--bcher-kva.example)",
        code="ABCDEFGHJK",
        expires_at=datetime(2026, 12, 12, tzinfo=UTC),
    )
    await mailer.send(msg)
    [received] = smtp_server.messages
    assert "bücher.example" in received.get_content()
    assert smtp_server.handler.envelopes[0].rcpt_tos == ("admin@xn--bcher-kva.example",)


async def test_connection_refused_is_a_mail_error() -> None:
    port = free_port()  # nothing listens there once the probe socket is closed
    mailer = SmtpMailer("127.0.0.1", port, "none", timeout=5)
    with pytest.raises(
        MailError, match=f"cannot connect to SMTP 127.0.0.1:{port} .*: Connection refused"
    ):
        await mailer.send(_code_mail("ABCDEFGHJK"))


async def test_refused_recipient_is_a_mail_error(smtp_server: CollectingController) -> None:
    smtp_server.handler.refuse.add("nobody@mail.example.com")
    mailer = SmtpMailer("127.0.0.1", smtp_server.port, "none", timeout=5)
    with pytest.raises(MailError, match=r"refused the recipient \(nobody@mail.example.com: 550"):
        await mailer.send(_code_mail("ABCDEFGHJK", to="nobody@mail.example.com"))
    assert smtp_server.messages == []


async def test_login_accepted(smtp_auth_server: CollectingController) -> None:
    mailer = SmtpMailer(
        "127.0.0.1", smtp_auth_server.port, "none", SMTP_USER, SMTP_PASSWORD, timeout=5
    )
    await mailer.send(_code_mail("ABCDEFGHJK"))
    assert len(smtp_auth_server.messages) == 1


async def test_login_refused_is_a_mail_error(smtp_auth_server: CollectingController) -> None:
    mailer = SmtpMailer("127.0.0.1", smtp_auth_server.port, "none", SMTP_USER, "wrong", timeout=5)
    with pytest.raises(MailError, match="refused the login of user 'mailer': 535"):
        await mailer.send(_code_mail("ABCDEFGHJK"))
    assert "wrong" not in repr(mailer)
    assert smtp_auth_server.messages == []


async def test_starttls_required_but_not_offered(smtp_server: CollectingController) -> None:
    mailer = SmtpMailer("127.0.0.1", smtp_server.port, "starttls", timeout=5)
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        await mailer.send(_code_mail("ABCDEFGHJK"))
    assert smtp_server.messages == []


async def test_implicit_tls_against_a_plain_server_fails_cleanly(
    smtp_server: CollectingController,
) -> None:
    mailer = SmtpMailer("127.0.0.1", smtp_server.port, "tls", timeout=5)
    with pytest.raises(MailError, match=r"\(TLS\): the TLS handshake failed"):
        await mailer.send(_code_mail("ABCDEFGHJK"))


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield sock.getsockname()[1]


async def test_a_silent_server_times_out(silent_listener: int) -> None:
    mailer = SmtpMailer("127.0.0.1", silent_listener, "none", timeout=0.5)
    with pytest.raises(MailError, match=r"no answer within 0\.5 s"):
        await mailer.send(_code_mail("ABCDEFGHJK"))


@pytest.mark.parametrize(
    ("host", "port", "security"),
    [
        ("smtp.example.com", 25, "none"),  # clear text off the machine
        ("192.0.2.1", 25, "none"),
        ("smtp.example.com", 0, "starttls"),
        ("smtp.example.com", 587, "ssl"),
        ("smtp example.com", 587, "starttls"),
        ("", 587, "starttls"),
    ],
)
def test_unsafe_or_invalid_smtp_settings_are_refused(host: str, port: int, security: str) -> None:
    with pytest.raises(ValueError):
        SmtpMailer(host, port, security)  # type: ignore[arg-type]


def test_description_names_the_server() -> None:
    assert SmtpMailer("smtp.example.com", 587, "starttls").description == (
        "SMTP smtp.example.com:587 (STARTTLS)"
    )
    assert SmtpMailer("::1", 25, "none").description == "SMTP [::1]:25 (no TLS)"


async def test_maildir_writes_a_readable_message(tmp_path: Path) -> None:
    box_path = tmp_path / "data" / "mail"
    mailer = MaildirMailer(box_path)
    where = await mailer.send(_code_mail("ABCDEFGHJK"))

    assert where.startswith(f"Maildir {box_path}/new/")
    _check_maildir(box_path, Path(where.removeprefix("Maildir ")))


def _check_maildir(box_path: Path, written: Path) -> None:
    assert written.is_file()
    assert stat.S_IMODE(box_path.stat().st_mode) == 0o700
    box = mailbox.Maildir(box_path, create=False)
    [stored] = list(box)
    assert stored["To"] == "admin@mail.example.com"
    assert "ABCD-EFGH-JK" in written.read_text()


async def test_maildir_that_cannot_be_written_is_a_mail_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(MailError, match="cannot write to the Maildir"):
        await MaildirMailer(blocker / "mail").send(_code_mail("ABCDEFGHJK"))


def test_no_host_means_the_maildir(tmp_path: Path) -> None:
    mailer = mailer_from_settings(None, 587, "starttls", None, None, tmp_path / "mail")
    assert isinstance(mailer, MaildirMailer)


async def test_password_comes_from_the_environment(
    smtp_auth_server: CollectingController, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MAILAUTH_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    mailer = mailer_from_settings(
        "127.0.0.1",
        smtp_auth_server.port,
        "none",
        SMTP_USER,
        "MAILAUTH_TEST_SMTP_PASSWORD",
        tmp_path / "mail",
    )
    assert isinstance(mailer, SmtpMailer)
    await mailer.send(_code_mail("ABCDEFGHJK"))
    assert len(smtp_auth_server.messages) == 1


async def test_missing_password_variable_is_named_when_sending(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MAILAUTH_TEST_SMTP_PASSWORD", raising=False)
    mailer = mailer_from_settings(
        "localhost", 587, "none", "mailer", "MAILAUTH_TEST_SMTP_PASSWORD", tmp_path / "mail"
    )
    with pytest.raises(MailError, match="set the environment variable MAILAUTH_TEST_SMTP_PASSWORD"):
        await mailer.send(_code_mail("ABCDEFGHJK"))


def test_unknown_security_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid SMTP security"):
        mailer_from_settings("smtp.example.com", 587, "ssl", None, None, tmp_path)


async def test_parallel_first_deliveries_to_a_new_maildir_all_arrive(tmp_path: Path) -> None:
    # Regression: the second of two first deliveries saw the new top folder and assumed
    # tmp/new/cur existed, failing with "No such file or directory". The race is narrow, so
    # try it on many fresh Maildirs.
    message = code_message(
        sender="noreply@mailauth-tui.invalid",
        to="admin@d.example",
        domain_display="d.example",
        code="ABCDEFGHJK",
        expires_at=datetime(2026, 12, 12, tzinfo=UTC),
    )
    for attempt in range(30):
        box_path = tmp_path / f"fresh{attempt}" / "outbox"
        mailer = MaildirMailer(box_path)
        await asyncio.gather(*(mailer.send(message) for _ in range(6)))
        assert len(mailbox.Maildir(box_path, create=False)) == 6
