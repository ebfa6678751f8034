"""The signing relay between a client and a loopback aiosmtpd sink (the upstream); every
captured message is verified with dkimpy against the loopback DNS zone."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from email.message import EmailMessage

import aiosmtplib
import dkim
import dns.exception
import dns.resolver
import pytest

from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.registry.relay_policy import RelayPolicy
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.relay_server import (
    RelayConfig,
    Upstream,
    make_controller,
    parse_networks,
)
from mailauth_tui.services.store import StoreError
from tests.fixtures.registry import MakeRegistry, code_from_delivery
from tests.fixtures.smtp import CollectingController, free_port
from tests.integration.test_registry_checks import DOMAIN, owned, publish, verified

SYSTEM = "noreply@corp.example"


_SERVER: list[ZoneServer] = []


@pytest.fixture(autouse=True)
def _loopback_dns(dns_server: ZoneServer) -> Iterator[None]:
    _SERVER.append(dns_server)
    yield
    _SERVER.clear()


def dkim_ok(raw: bytes, zone: Zone) -> bool:
    """dkimpy's verdict, its key looked up in the loopback DNS server serving ``zone``."""
    server = _SERVER[0]
    resolver = dns.resolver.Resolver(configure=False)
    host, port = server.address.rsplit(":", 1)
    resolver.nameservers = [host]
    resolver.port = int(port)

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        try:
            answer = resolver.resolve(name.decode(), "TXT", lifetime=timeout)
        except dns.exception.DNSException:
            return None
        return b"".join(answer[0].strings)

    return bool(dkim.verify(raw, dnsfunc=dnsfunc))


def message(sender: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "someone@elsewhere.example"
    msg["Subject"] = "hello"
    msg["Message-ID"] = f"<m{free_port()}@test>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Body line.\n")
    return msg


class Relay:
    def __init__(
        self,
        registry: Registry,
        upstream_port: int,
        *,
        networks: tuple[str, ...] = ("127.0.0.0/8",),
        credentials: dict[str, str] | None = None,
        bulk_header: str | None = None,
    ) -> None:
        self.port = free_port()
        self.policy = RelayPolicy(registry, bulk_header=bulk_header)
        config = RelayConfig(
            "127.0.0.1",
            self.port,
            parse_networks(networks),
            Upstream("127.0.0.1", upstream_port, tls="none", timeout=5),
            credentials=credentials,
        )
        self.controller = make_controller(config, self.policy.decide)

    def __enter__(self) -> Relay:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    async def send(
        self, msg: EmailMessage, username: str | None = None, password: str | None = None
    ) -> None:
        await aiosmtplib.send(
            msg,
            hostname="127.0.0.1",
            port=self.port,
            timeout=10,
            username=username,
            password=password,
        )


@pytest.fixture
def relay(registry: Registry, smtp_server: CollectingController) -> Iterator[Relay]:
    with Relay(registry, smtp_server.port, bulk_header="X-Campaign") as r:
        yield r


async def test_a_verified_domain_is_signed_with_its_key(
    registry: Registry, zone: Zone, relay: Relay, smtp_server: CollectingController
) -> None:
    row = await verified(registry, zone)
    await relay.send(message(f"news@{DOMAIN}"))
    [raw] = smtp_server.handler.raw
    assert dkim_ok(raw, zone)
    key = row.active_key
    assert key is not None
    assert f"d={DOMAIN}".encode() in raw and f"s={key.selector}".encode() in raw
    assert smtp_server.messages[0]["From"] == f"news@{DOMAIN}"


async def test_an_unverified_domain_goes_out_as_the_system_sender(
    registry: Registry, zone: Zone, relay: Relay, smtp_server: CollectingController
) -> None:
    await owned(registry)  # ownership proven, DKIM not published: not verified
    await relay.send(message(f"Ann <ann@{DOMAIN}>"))
    [captured] = smtp_server.messages
    assert captured["From"] == SYSTEM
    assert captured["Reply-To"] == f"Ann <ann@{DOMAIN}>"
    assert smtp_server.handler.envelopes[0].mail_from == SYSTEM
    assert b"DKIM-Signature" not in smtp_server.handler.raw[0]  # corp.example not verified

    # Once the system sender's domain is verified, rewritten mail is signed for it.
    sent = await registry.add("admin@corp.example")
    await registry.submit_code("corp.example", code_from_delivery(sent.delivered_to))
    publish(zone, await registry.records("corp.example"))
    assert (await registry.verify("corp.example")).domain.verified
    await relay.send(message(f"ann@{DOMAIN}"))
    raw = smtp_server.handler.raw[1]
    assert dkim_ok(raw, zone) and b"d=corp.example" in raw


@pytest.mark.parametrize(
    "bulk",
    [{"Precedence": "bulk"}, {"List_Unsubscribe": "<mailto:u@x.example>"}, {"X_Campaign": "7"}],
)
async def test_bulk_without_dmarc_is_refused(
    registry: Registry,
    zone: Zone,
    relay: Relay,
    smtp_server: CollectingController,
    bulk: dict[str, str],
) -> None:
    await owned(registry)
    records = await registry.records(DOMAIN)
    publish(zone, [r for r in records if not r.host.startswith("_dmarc.")])
    assert (await registry.verify(DOMAIN)).domain.verified
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await relay.send(message(f"news@{DOMAIN}", **bulk))
    assert refused.value.code == 550
    assert "5.7.1 bulk mail from mail.example.com refused" in refused.value.message
    assert "publish a DMARC record" in refused.value.message
    assert smtp_server.messages == []
    await relay.send(message(f"news@{DOMAIN}"))  # the same domain's ordinary mail goes out
    assert dkim_ok(smtp_server.handler.raw[0], zone)


async def test_decisions_follow_the_registry_live(
    registry: Registry,
    make_registry: MakeRegistry,
    zone: Zone,
    relay: Relay,
    smtp_server: CollectingController,
) -> None:
    await verified(registry, zone)
    await relay.send(message(f"news@{DOMAIN}"))
    make_registry("alice").remove(DOMAIN)  # another session removes it (and its keys)
    await relay.send(message(f"news@{DOMAIN}"))
    first, second = smtp_server.messages
    assert first["From"] == f"news@{DOMAIN}" and second["From"] == SYSTEM
    assert b"DKIM-Signature" not in smtp_server.handler.raw[1]


async def test_last_known_state_when_the_registry_is_unreachable(
    registry: Registry,
    zone: Zone,
    relay: Relay,
    smtp_server: CollectingController,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await verified(registry, zone)
    await relay.send(message(f"news@{DOMAIN}"))

    def unreachable(domain: str) -> None:
        raise StoreError("database is locked")

    monkeypatch.setattr(registry, "get", unreachable)
    await relay.send(message(f"news@{DOMAIN}"))
    assert dkim_ok(smtp_server.handler.raw[1], zone)
    notes = [r.getMessage() for r in caplog.records if r.name == "mailauth_tui.relay"]
    assert any("using the last known state of mail.example.com" in n for n in notes)
    with pytest.raises(aiosmtplib.SMTPDataError) as deferred:  # never read: deferred
        await relay.send(message("x@other.example.com"))
    assert deferred.value.code == 451


async def test_upstream_down_is_a_4xx(registry: Registry, zone: Zone) -> None:
    await verified(registry, zone)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]  # bound, never listening: connections refused
        with (
            Relay(registry, dead_port) as relay,
            pytest.raises(aiosmtplib.SMTPDataError) as deferred,
        ):
            await relay.send(message(f"news@{DOMAIN}"))
    assert deferred.value.code == 451 and "4.4.1" in deferred.value.message


async def test_clients_outside_the_allowed_networks_are_refused(
    registry: Registry, smtp_server: CollectingController
) -> None:
    with (
        Relay(registry, smtp_server.port, networks=("192.0.2.0/24",)) as relay,
        pytest.raises(aiosmtplib.SMTPSenderRefused) as refused,
    ):
        await relay.send(message(f"news@{DOMAIN}"))
    assert refused.value.code == 550 and "5.7.1 relaying denied" in refused.value.message
    assert smtp_server.messages == []


async def test_refused_recipients_get_the_upstreams_code_and_every_decision_is_logged(
    registry: Registry,
    zone: Zone,
    relay: Relay,
    smtp_server: CollectingController,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await verified(registry, zone)
    smtp_server.handler.refuse.add("someone@elsewhere.example")
    caplog.set_level(logging.INFO, logger="mailauth_tui.relay")
    msg = message(f"news@{DOMAIN}")
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await relay.send(msg)
    # Permanent at the upstream, permanent here: the client bounces it, never retries.
    assert refused.value.code == 550
    assert refused.value.message.startswith("5.1.1 upstream refused every recipient")
    assert "someone@elsewhere.example" in refused.value.message
    assert smtp_server.messages == []
    smtp_server.handler.refuse.clear()
    await relay.send(msg)  # the same message, sent again, on the same pooled connection
    assert len(smtp_server.messages) == 1 and dkim_ok(smtp_server.handler.raw[0], zone)
    lines = [r.getMessage() for r in caplog.records if msg["Message-ID"] in r.getMessage()]
    assert len(lines) == 2
    assert "upstream refused recipients: someone@elsewhere.example: 550" in lines[0]
    assert f"From domain {DOMAIN} verified: signed as" in lines[1] and "relayed" in lines[1]


async def test_some_recipients_refused_nothing_is_sent_and_the_reply_names_them(
    registry: Registry, zone: Zone, relay: Relay, smtp_server: CollectingController
) -> None:
    """A 250 would tell the client every recipient has it while the refused ones never
    will: the relay sends nothing and says which recipients the upstream refused."""
    await verified(registry, zone)
    smtp_server.handler.refuse.add("gone@elsewhere.example")
    msg = message(f"news@{DOMAIN}")
    to = ["someone@elsewhere.example", "gone@elsewhere.example", "third@elsewhere.example"]
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await aiosmtplib.send(msg, recipients=to, hostname="127.0.0.1", port=relay.port, timeout=10)
    assert refused.value.code == 550
    assert "refused 1 of 3 recipients (gone@elsewhere.example); nothing was sent" in (
        refused.value.message
    )
    assert smtp_server.messages == []
    await aiosmtplib.send(
        msg, recipients=[to[0], to[2]], hostname="127.0.0.1", port=relay.port, timeout=10
    )
    assert [e.rcpt_tos for e in smtp_server.handler.envelopes] == [(to[0], to[2])]


async def test_a_refused_message_gets_the_upstreams_reply(
    registry: Registry, zone: Zone, relay: Relay, smtp_server: CollectingController
) -> None:
    await verified(registry, zone)
    smtp_server.handler.data_reply = "554 5.7.1 Message rejected as spam"
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await relay.send(message(f"news@{DOMAIN}"))
    assert refused.value.code == 554
    assert refused.value.message == "5.7.1 upstream refused the message: Message rejected as spam"
    smtp_server.handler.data_reply = None
    await relay.send(message(f"news@{DOMAIN}"))  # the pooled session is clean for the next
    assert len(smtp_server.messages) == 1


async def test_a_temporary_refusal_stays_temporary(
    registry: Registry, zone: Zone, relay: Relay, smtp_server: CollectingController
) -> None:
    await verified(registry, zone)
    smtp_server.handler.refuse.add("gone@elsewhere.example")
    smtp_server.handler.busy.add("someone@elsewhere.example")
    msg = message(f"news@{DOMAIN}")
    with pytest.raises(aiosmtplib.SMTPDataError) as deferred:
        await aiosmtplib.send(
            msg,
            recipients=["gone@elsewhere.example", "someone@elsewhere.example"],
            hostname="127.0.0.1",
            port=relay.port,
            timeout=10,
        )
    # One recipient could take it later: the client keeps the message and retries.
    assert deferred.value.code == 450 and deferred.value.message.startswith("4.2.1 ")
    assert smtp_server.messages == []


async def test_with_credentials_a_client_must_log_in(
    registry: Registry, zone: Zone, smtp_server: CollectingController
) -> None:
    await verified(registry, zone)
    with Relay(registry, smtp_server.port, credentials={"app": "s3cret"}) as relay:
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await relay.send(message(f"news@{DOMAIN}"))
        assert refused.value.code == 530
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await relay.send(message(f"news@{DOMAIN}"), username="app", password="wrong")
        await relay.send(message(f"news@{DOMAIN}"), username="app", password="s3cret")
    assert len(smtp_server.messages) == 1 and dkim_ok(smtp_server.handler.raw[0], zone)
