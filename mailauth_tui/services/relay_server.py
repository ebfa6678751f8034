"""The SMTP side of the signing relay: aiosmtpd in, aiosmtplib out.

Never an open relay: a client outside the allowed networks is refused at MAIL FROM (5.7.1),
and with credentials configured every client must authenticate first. What to do with a
message is asked of a ``Decide`` callable (the registry's relay policy); the message is handed
to the upstream smarthost before the client is answered, so a 250 means the upstream took it.
Upstream down or failing: 451, so the client keeps the message and retries, never a 250 for
a message that is then lost. A refusal (the sender, any recipient, the message) is passed
on with the upstream's code, and nothing is sent (``relay_upstream``).
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

from mailauth_tui.services.relay_upstream import Upstream, UpstreamPool

__all__ = ["Decide", "RelayConfig", "Upstream", "make_controller", "parse_networks"]

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
            refused = await self._pool.send(verdict.message, sender, envelope.rcpt_tos)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.warning(
                "%s: %s; upstream %s:%s failed: %s", msgid, verdict.log, up.host, up.port, exc
            )
            return "451 4.4.1 upstream unavailable or failing: try again later"
        if refused is not None:
            log.warning("%s: %s; %s; nothing sent", msgid, verdict.log, refused.log)
            return refused.reply
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
