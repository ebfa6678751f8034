"""Sending the registry's mail: SMTP (aiosmtplib) or, with no server configured, a local Maildir.

Every failure of delivery comes out as :class:`MailError` with a message fit for the user;
server replies are untrusted text, so control characters are removed from them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import mailbox
import os
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol, cast, get_args

import aiosmtplib

Security = Literal["starttls", "tls", "none"]
SECURITY_CHOICES: tuple[str, ...] = get_args(Security)
_SECURITY_LABEL = {"starttls": "STARTTLS", "tls": "TLS", "none": "no TLS"}


class MailError(Exception):
    """The message could not be delivered; ``str(err)`` says why, for the user."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> str:
        """Deliver ``message``; return where it went, for the user. Raises MailError."""
        ...


def _printable(text: str, limit: int = 300) -> str:
    # Server replies and OS error texts reach the screen: no escape sequences, no line breaks.
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def _os_reason(exc: OSError) -> str:
    # asyncio words a refused connection "Connect call failed ('h', p)": say what happened.
    if isinstance(exc.errno, int) and exc.errno > 0:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc)


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SmtpMailer:
    """Mail through an SMTP submission server.

    ``security``: ``starttls`` (port 587: STARTTLS is required, not opportunistic), ``tls``
    (port 465, implicit TLS) or ``none``, which sends the code and any password in clear and is
    therefore allowed to a loopback host only (a local relay, tests). Certificates are verified
    against the system trust store.
    """

    __slots__ = ("_host", "_password", "_password_env", "_port", "_security", "_timeout", "_user")

    def __init__(
        self,
        host: str,
        port: int,
        security: Security,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 15,
        *,
        password_env: str | None = None,
    ) -> None:
        if not host or any(c.isspace() or not c.isprintable() for c in host):
            raise ValueError(f"invalid SMTP host name {host!r}")
        if not 0 < port < 65536:
            raise ValueError(f"invalid SMTP port {port}: give 1 to 65535 (587, 465 or 25)")
        if security not in SECURITY_CHOICES:
            raise ValueError(
                f"invalid SMTP security {security!r}: choose {', '.join(SECURITY_CHOICES)}"
            )
        if security == "none" and not _is_loopback(host):
            raise ValueError(
                f"SMTP security 'none' would send codes and passwords in clear to {host}: "
                "it is allowed only to localhost; use 'starttls' (port 587) or 'tls' (465)"
            )
        if timeout <= 0:
            raise ValueError("the SMTP timeout must be positive")
        self._host = host
        self._port = port
        self._security: Security = security
        self._user = username or None
        self._password = password
        self._password_env = password_env  # only to name it when the password is missing
        self._timeout = timeout

    def __repr__(self) -> str:  # never the password
        return f"SmtpMailer({self.description!r}, user={self._user!r})"

    @property
    def description(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"SMTP {host}:{self._port} ({_SECURITY_LABEL[self._security]})"

    async def send(self, message: EmailMessage) -> str:
        if self._user and self._password is None:
            where = (
                f"set the environment variable {self._password_env}"
                if self._password_env
                else "configure the password's environment variable"
            )
            raise MailError(f"no password for the SMTP user {self._user!r}: {where}")
        try:
            errors, _ = await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._user,
                password=self._password if self._user else None,
                timeout=self._timeout,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
            )
        except aiosmtplib.SMTPException as exc:
            raise MailError(self._explain(exc)) from None
        except ssl.SSLError as exc:
            raise MailError(self._tls_failure(exc)) from None
        except TimeoutError:
            raise MailError(f"{self.description}: no answer within {self._timeout:g} s") from None
        except OSError as exc:
            reason = _printable(_os_reason(exc))
            raise MailError(f"cannot connect to {self.description}: {reason}") from None
        if errors:  # some recipients taken, others refused: the caller must know
            refused = "; ".join(
                f"{_printable(rcpt)}: {resp.code} {_printable(resp.message)}"
                for rcpt, resp in errors.items()
            )
            raise MailError(f"{self.description} refused some recipients ({refused})")
        return self.description

    def _tls_failure(self, exc: ssl.SSLError) -> str:
        where = self.description
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or exc.reason or str(exc)
            return f"{where}: the server's certificate was not accepted ({_printable(reason)})"
        reason = _printable(str(exc.reason or exc))
        return (
            f"{where}: the TLS handshake failed ({reason}); port 465 usually takes 'tls', "
            "port 587 'starttls'"
        )

    def _explain(self, exc: aiosmtplib.SMTPException) -> str:
        where = self.description
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            refused = "; ".join(
                f"{_printable(r.recipient)}: {r.code} {_printable(r.message)}"
                for r in exc.recipients
            )
            return f"{where} refused the recipient ({refused})"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return (
                f"{where} refused the login of user {self._user!r}: "
                f"{exc.code} {_printable(exc.message)}"
            )
        if isinstance(exc, aiosmtplib.SMTPSenderRefused):
            return (
                f"{where} refused the sender {_printable(exc.sender)}: "
                f"{exc.code} {_printable(exc.message)}"
            )
        if isinstance(exc, aiosmtplib.SMTPTimeoutError):
            return f"{where}: no answer within {self._timeout:g} s"
        if isinstance(exc, aiosmtplib.SMTPConnectError):
            cause = exc.__cause__
            if isinstance(cause, ssl.SSLError):
                return self._tls_failure(cause)
            if isinstance(cause, OSError):
                return f"cannot connect to {where}: {_printable(_os_reason(cause))}"
            return f"cannot connect to {where}: {_printable(exc.message)}"
        if self._security == "starttls" and "STARTTLS" in exc.message:
            # aiosmtplib raises a bare SMTPException when the server lacks the extension.
            return (
                f"{where}: the server does not offer STARTTLS; check the port "
                "(587 for 'starttls', 465 for 'tls')"
            )
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return f"{where} refused the message: {exc.code} {_printable(exc.message)}"
        return f"{where}: {_printable(exc.message)}"


class MaildirMailer:
    """Delivery into a local Maildir: the embedded default, so the whole flow works on a
    machine without a mail server. Any mail client (mutt -f, a file viewer) reads it."""

    __slots__ = ("_path",)

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    def __repr__(self) -> str:
        return f"MaildirMailer({str(self._path)!r})"

    @property
    def description(self) -> str:
        return f"Maildir {self._path}"

    @property
    def folder(self) -> Path:
        return self._path

    def _deliver(self, message: EmailMessage) -> str:
        # Create the Maildir's three folders ourselves, each tolerating the others: two first
        # deliveries in parallel threads otherwise race inside mailbox.Maildir(create=True),
        # where the second sees the top folder and assumes tmp/new/cur exist too.
        for sub in ("tmp", "new", "cur"):
            (self._path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        # Maildir creates its directories 0700; an existing one made looser by hand would let
        # other local users read codes, so tighten it (it is ours: the registry's own mail).
        box = mailbox.Maildir(self._path, create=True)
        try:
            if self._path.stat().st_mode & 0o077:
                os.chmod(self._path, 0o700)
            key = box.add(message)
        finally:
            box.close()
        return str(self._path / "new" / key)

    async def send(self, message: EmailMessage) -> str:
        try:
            written = await asyncio.to_thread(self._deliver, message)
        except (OSError, mailbox.Error) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise MailError(
                f"cannot write to the Maildir {self._path}: {_printable(detail)}"
            ) from None
        return f"Maildir {written}"


def mailer_from_settings(
    host: str | None,
    port: int,
    security: str,
    username: str | None,
    password_env: str | None,
    maildir: Path,
) -> Mailer:
    """The mailer the settings ask for: SMTP when a host is set, else the Maildir.

    The password is read from the environment variable named ``password_env`` (it is never in
    the settings file). A missing variable is reported when mail is sent, not here, so that a
    read-only session still starts. Invalid settings raise ValueError with the reason.
    """
    if not host:
        return MaildirMailer(maildir)
    if security not in SECURITY_CHOICES:
        raise ValueError(
            f"invalid SMTP security {security!r}: choose {', '.join(SECURITY_CHOICES)}"
        )
    password = os.environ.get(password_env) if password_env else None
    return SmtpMailer(
        host,
        port,
        cast(Security, security),  # checked against SECURITY_CHOICES above
        username=username,
        password=password or None,
        password_env=password_env,
    )
