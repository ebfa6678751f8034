"""The relay's side towards the smarthost: pooled aiosmtplib sessions and one mail
transaction per message, answered the way the upstream answered.

The transaction is written out (MAIL, each RCPT, then DATA only when every recipient was
taken) instead of ``sendmail``, for two reasons:

- ``sendmail`` sends DATA as soon as one recipient is taken, so the client would hear 250
  for a message some recipients never get. Here a recipient the upstream refuses stops the
  transaction (RSET, nothing sent) and the client hears which one and the upstream's code:
  nothing is ever accepted and then lost.
- The envelope's addresses were parsed and checked by aiosmtpd already; ``sendmail`` parses
  each again (twice) for every message. Here each distinct address is quoted once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache

import aiosmtplib


@dataclass(frozen=True, slots=True)
class Upstream:
    host: str
    port: int
    tls: str = "starttls"  # starttls (required) | tls | none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Refusal:
    """What the upstream said no to: the SMTP reply to give the client (its code kept)."""

    reply: str
    log: str


_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}\b")


@lru_cache(maxsize=4096)
def _path(address: str) -> bytes:
    """``<address>`` for MAIL/RCPT (``<>`` for the null sender). Services send from and to a
    few addresses: each is worked out once. The relay's own server takes ASCII addresses
    only (no SMTPUTF8); a non-ASCII system sender goes as UTF-8, for the upstream to judge."""
    bare = parseaddr(address)[1] if ("<" in address or " " in address) else address
    return b"<" + bare.encode("utf-8") + b">"


def _reply(code: int, enhanced: str, text: str, upstream: str) -> str:
    """Our reply with the upstream's code; its enhanced status code when it gave one."""
    found = _ENHANCED.match(upstream)
    status = found.group(0) if found else enhanced
    said = upstream[found.end() :].strip() if found else upstream.strip()
    return f"{code} {status} {text}: {said}"[:500]


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
        if client.last_ehlo_response is None:  # connect() says EHLO only for TLS or AUTH
            await client.ehlo()
        return client

    async def send(self, message: bytes, sender: str, recipients: list[str]) -> Refusal | None:
        """Hand the message over; None once the upstream took it for every recipient, or
        what it refused (nothing was sent then). Connection trouble raises (aiosmtplib's
        errors, OSError): the caller answers 4xx."""
        reused = bool(self._idle)
        client = self._idle.pop() if reused else await self._connect()
        try:
            refused = await self._transaction(client, message, sender, recipients)
        except aiosmtplib.SMTPServerDisconnected:
            client.close()
            if not reused:
                raise
            return await self.send(message, sender, recipients)  # it timed out while idle
        except BaseException:
            client.close()
            raise
        await self._keep(client)
        return refused

    async def _transaction(
        self, client: aiosmtplib.SMTP, message: bytes, sender: str, recipients: list[str]
    ) -> Refusal | None:
        options: list[bytes] = []
        if client.supports_extension("size"):
            options.append(b"SIZE=%d" % len(message))
        said = await client.execute_command(b"MAIL", b"FROM:" + _path(sender), *options)
        if said.code != 250:
            await self._reset(client)
            text = f"upstream refused the sender {sender}"
            return Refusal(_reply(said.code, f"{said.code // 100}.1.7", text, said.message), text)
        refused: list[tuple[str, aiosmtplib.SMTPResponse]] = []
        for address in recipients:
            said = await client.execute_command(b"RCPT", b"TO:" + _path(address))
            if said.code not in (250, 251):
                refused.append((address, said))
        if refused:
            await self._reset(client)
            return _recipients_refused(refused, len(recipients))
        try:
            await client.data(message)
        except aiosmtplib.SMTPDataError as exc:
            await self._reset(client)  # refused at DATA itself, the envelope is still open
            text = "upstream refused the message"
            code = exc.code if 400 <= exc.code < 600 else 451
            return Refusal(_reply(code, f"{code // 100}.6.0", text, exc.message), text)
        return None

    @staticmethod
    async def _reset(client: aiosmtplib.SMTP) -> None:
        said = await client.rset()
        if said.code != 250:
            raise aiosmtplib.SMTPResponseException(said.code, said.message)

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


def _recipients_refused(refused: list[tuple[str, aiosmtplib.SMTPResponse]], total: int) -> Refusal:
    """The reply for refused recipients. A temporary refusal of any of them is a 4xx (the
    client retries the message); otherwise the upstream's own permanent code. Some refused:
    nothing was sent to anyone, and the reply names the refused ones, so the client can send
    again without them."""
    temporary = [(a, r) for a, r in refused if 400 <= r.code < 500]
    said = (temporary or refused)[0][1]
    code = said.code if 400 <= said.code < 600 else 451
    names = ", ".join(a for a, _ in refused)
    if len(refused) == total:
        text = f"upstream refused every recipient ({names})"
    else:
        text = (
            f"upstream refused {len(refused)} of {total} recipients ({names}); nothing was "
            "sent: send again without them"
        )
    reply = _reply(code, f"{code // 100}.1.1", text, said.message)
    detail = "; ".join(f"{a}: {r.code} {r.message}" for a, r in refused)
    return Refusal(reply, f"upstream refused recipients: {detail}")
