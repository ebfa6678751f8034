"""The SMTP side of the signing relay: aiosmtpd in, aiosmtplib out.

Never an open relay: a client outside the allowed networks is refused at MAIL FROM (5.7.1),
and with credentials configured every client must authenticate first. What to do with a
message is asked of a ``Decide`` callable (the registry's relay policy); the message is handed
to the upstream smarthost before the client is answered, so a 250 means the upstream took it.
Upstream down or refusing (the whole message): 451, so the client keeps the message and
retries, never a 250 for a message that is then lost. Recipients the upstream refuses while
it takes the message for others are logged (they would bounce from any relay).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any, Protocol

import aiosmtplib
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

log = logging.getLogger("mailauth_tui.relay")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Verdict(Protocol):
    @property
    def action(self) -> str: ...  # sign | rewrite | refuse | defer
    @property
    def message(self) -> bytes: ...
    @property
    def mail_from(self) -> str | None: ...
    @property
    def reply(self) -> str: ...
    @property
    def log(self) -> str: ...


Decide = Callable[[bytes], Awaitable[Verdict]]


@dataclass(frozen=True, slots=True)
class Upstream:
    host: str
    port: int
    tls: str = "starttls"  # starttls (required) | tls | none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class RelayConfig:
    host: str
    port: int
    allowed: tuple[Network, ...]
    upstream: Upstream
    credentials: Mapping[str, str] | None = None  # login -> password; None: no AUTH


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """``127.0.0.0/8``, ``::1``...; ValueError names the bad one."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not a network: use e.g. 127.0.0.0/8 or ::1") from None
    return tuple(out)


def _allowed(peer: Any, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(peer[0] if isinstance(peer, tuple) else str(peer))
    except (ValueError, IndexError):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in networks)


class UpstreamPool:
    """Connections to the smarthost kept open between messages (a new SMTP session per
    message costs the connect, the greeting, EHLO, STARTTLS and AUTH again). Used from the
    relay's event loop only. A connection that fails is closed, never reused; one the upstream
    closed while idle is replaced once."""

    def __init__(self, upstream: Upstream, size: int = 8) -> None:
        self._up = upstream
        self._idle: list[aiosmtplib.SMTP] = []
        self._size = size

    async def _connect(self) -> aiosmtplib.SMTP:
        up = self._up
        client = aiosmtplib.SMTP(
            hostname=up.host,
            port=up.port,
            use_tls=up.tls == "tls",
            # Configured STARTTLS is required, not opportunistic: a server that stops offering
            # it gets no mail (451) rather than mail in clear text.
            start_tls=up.tls == "starttls",
            username=up.username,
            password=up.password,
            timeout=up.timeout,
        )
        await client.connect()
        return client

    async def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        reused = bool(self._idle)
        client = self._idle.pop() if reused else await self._connect()
        try:
            errors, _ = await client.sendmail(sender, recipients, message)
        except aiosmtplib.SMTPServerDisconnected:
            client.close()
            if not reused:
                raise
            return await self.send(message, sender, recipients)  # it timed out while idle
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPSenderRefused):
            await self._keep(client)  # the session itself is fine
            raise
        except BaseException:
            client.close()
            raise
        await self._keep(client)
        if errors:
            # Some recipients refused, the others took it: the refused ones would bounce
            # from any relay; they are logged (the caller answers 250 for the message).
            log.warning("upstream refused some recipients: %s", errors)

    async def _keep(self, client: aiosmtplib.SMTP) -> None:
        if len(self._idle) < self._size and client.is_connected:
            self._idle.append(client)
        else:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()

    async def close(self) -> None:
        while self._idle:
            client = self._idle.pop()
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def _message_id(raw: bytes) -> str:
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    for line in head.splitlines():
        if line.lower().startswith(b"message-id:"):
            return line[11:].strip().decode("ascii", "replace")[:200]
    return f"(no Message-ID; relay id {make_msgid('relay')})"


class RelayHandler:
    def __init__(self, config: RelayConfig, decide: Decide) -> None:
        self._config = config
        self._decide = decide
        self._pool: UpstreamPool | None = None  # made on the relay's own loop

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not _allowed(session.peer, self._config.allowed):
            log.warning("refused %s: not in the allowed networks", session.peer)
            return "550 5.7.1 relaying denied: your address is not in the allowed networks"
        if self._config.credentials is not None and not session.authenticated:
            return "530 5.7.0 authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        msgid = _message_id(raw)
        verdict = await self._decide(raw)
        if verdict.action in ("refuse", "defer"):
            log.info("%s: %s", msgid, verdict.log)
            return verdict.reply
        up = self._config.upstream
        if self._pool is None:
            self._pool = UpstreamPool(up)
        sender = verdict.mail_from or envelope.mail_from
        try:
            await self._pool.send(verdict.message, sender, list(envelope.rcpt_tos))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.warning(
                "%s: %s; upstream %s:%s failed: %s", msgid, verdict.log, up.host, up.port, exc
            )
            return "451 4.4.1 upstream unavailable or refused the message: try again later"
        log.info("%s: %s; relayed to %s:%s", msgid, verdict.log, up.host, up.port)
        return "250 2.0.0 relayed"


def _authenticator(credentials: Mapping[str, str]) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8", "replace")
        expected = credentials.get(login)
        given = data.password.decode("utf-8", "replace")
        ok = expected is not None and hmac.compare_digest(expected.encode(), given.encode())
        return AuthResult(success=ok, handled=False)  # handled=True would send no reply

    return check


def make_controller(config: RelayConfig, decide: Decide) -> Controller:
    kwargs: dict[str, Any] = {}
    if config.credentials is not None:
        # Loopback or a private network: TLS on the client side is the deployment's choice.
        kwargs.update(
            authenticator=_authenticator(config.credentials),
            auth_required=True,
            auth_require_tls=False,
        )
    return Controller(
        RelayHandler(config, decide),
        hostname=config.host,
        port=config.port,
        server_hostname="mailauth-tui-relay",
        **kwargs,
    )
