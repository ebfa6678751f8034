"""Sample domains in every state, made through the registry's own workflow (add, the mailed
code, records, publishing into the demo zone, verify) with the clock set back, so every row,
its evidence and its journal are what real use would have produced."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from mailauth_tui.demo.clock import ShiftedClock
from mailauth_tui.demo.hooks import publish_records
from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.codes import ALPHABET
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.mailer import Mailer

ESP_INCLUDE = "_spf.esp.example"
SYSTEM_SENDER = "noreply@esp.example"

# Records that exist before anyone uses the console: the provider's SPF include, and an
# organisation that already had SPF and mail servers.
BASE_ZONE = f"""
{ESP_INCLUDE}.            TXT  "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8:25::/48 -all"
acme.example.             MX   10 mx.acme.example.
mx.acme.example.          A    192.0.2.25
acme.example.             TXT  "v=spf1 mx -all"
acme.example.             TXT  "google-site-verification=demo-not-a-real-token"
"""

_CODE_LINE = re.compile(rf"^\s+([{ALPHABET}]{{1,8}}(?:-[{ALPHABET}]{{1,8}})+)\s*$", re.M)

# A well-formed Ed25519 key that no demo domain owns: published over a domain's real key,
# it makes that domain's DKIM fail as a stale record at the provider would.
STALE_DKIM = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


class CapturingMailer:
    """Delivers through the demo's Maildir and keeps the last message, so seeding can read
    the code as the user would read it."""

    def __init__(self, inner: Mailer) -> None:
        self._inner = inner
        self.last: EmailMessage | None = None

    async def send(self, message: EmailMessage) -> str:
        self.last = message
        return await self._inner.send(message)

    def last_code(self) -> str:
        if self.last is None:
            raise RuntimeError("no verification mail was sent")
        part = self.last.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
        found = _CODE_LINE.search(text if isinstance(text, str) else "")
        if found is None:
            raise RuntimeError("no verification code in the mail")
        return found[1]


@dataclass(frozen=True, slots=True)
class Sample:
    address: str
    story: Callable[[Step], Awaitable[None]]


class Step:
    """One sample's registry, clock and mailer (each sample has its own, so they run at once)."""

    def __init__(
        self,
        make: Callable[[Callable[[], datetime], Mailer], Registry],
        base: Callable[[], datetime],
        mailer: Mailer,
        zone: Zone,
        address: str,
    ) -> None:
        self.clock = ShiftedClock(base)
        self.mailer = CapturingMailer(mailer)
        self.registry = make(self.clock, self.mailer)
        self.zone = zone
        self.address = address
        self.domain = ""

    def at(self, hours_ago: float) -> None:
        self.clock.offset = -timedelta(hours=hours_ago)

    async def add(self) -> None:
        sent = await self.registry.add(self.address)
        self.domain = sent.domain.domain

    async def prove(self) -> None:
        check = await self.registry.submit_code(self.domain, self.mailer.last_code())
        if not check.ok:
            raise RuntimeError(f"demo seeding: the code for {self.domain} failed: {check.message}")

    async def publish(self, *kinds: str, dmarc: str | None = None) -> None:
        records = await self.registry.records(self.domain)
        publish_records(self.zone, [r for r in records if r.kind in kinds])
        if dmarc is not None:
            self.zone.set(f"_dmarc.{self.domain}", "TXT", dmarc)

    async def verify(self) -> None:
        await self.registry.verify(self.domain)


async def _verified(step: Step, *kinds: str, dmarc: str | None = None, checked: float) -> None:
    step.at(24 * 30)
    await step.add()
    await step.prove()
    await step.publish(*kinds, dmarc=dmarc)
    step.at(checked)
    await step.verify()


async def _acme(step: Step) -> None:
    await _verified(
        step, "DKIM", "SPF", dmarc="v=DMARC1; p=reject; rua=mailto:dmarc@acme.example", checked=20
    )


async def _buecher(step: Step) -> None:
    await _verified(step, "DKIM", "SPF", dmarc="v=DMARC1; p=quarantine; pct=100", checked=5)


async def _shop(step: Step) -> None:
    # SPF left unpublished; checked 49 hours ago, so the console's re-check timer takes it
    # up as soon as the demo opens.
    await _verified(step, "DKIM", "DMARC", checked=49)


async def _blog(step: Step) -> None:
    await _verified(step, "DKIM", "SPF", checked=10)


async def _pending(step: Step) -> None:
    step.at(30)
    await step.add()


async def _expired(step: Step) -> None:
    step.at(24 * 16)
    await step.add()


async def _locked(step: Step) -> None:
    step.at(3)
    await step.add()
    for wrong in ("AAAA-AAAA-AA", "BBBB-BBBB-BB", "CCCC-CCCC-CC", "DDDD-DDDD-DD", "EEEE-EEEE-EE"):
        await step.registry.submit_code(step.domain, wrong)


async def _failing(step: Step) -> None:
    await _verified(step, "DKIM", "SPF", "DMARC", checked=30)
    row = step.registry.get(step.domain)
    key = row.active_key
    assert key is not None
    step.zone.set(f"{key.selector}._domainkey.{step.domain}", "TXT", STALE_DKIM)
    # A verified record must be seen wrong twice in a row before it counts as failing.
    step.at(8)
    await step.verify()
    step.at(2)
    await step.verify()


async def _flaky(step: Step) -> None:
    # Its DNS provider fails (SERVFAIL) since before the first check: nothing can be known.
    # (A verified record is never demoted by such a failure: see legacy.example for a real
    # failure, and the evidence of any domain after "R" with the provider failing.)
    step.at(24 * 30)
    await step.add()
    await step.prove()
    await step.publish("DKIM", "SPF", "DMARC")
    key = step.registry.get(step.domain).active_key
    assert key is not None
    for name in (step.domain, f"_dmarc.{step.domain}", f"{key.selector}._domainkey.{step.domain}"):
        step.zone.servfail(name)
    step.at(1)
    await step.verify()


SAMPLES: tuple[Sample, ...] = (
    Sample("postmaster@acme.example", _acme),
    Sample("admin@bücher.example", _buecher),
    Sample("it@shop.example", _shop),
    Sample("editor@blog.example", _blog),
    Sample("marketing@newsletter.example", _pending),
    Sample("owner@oldshop.example", _expired),
    Sample("ops@typo.example", _locked),
    Sample("hostmaster@legacy.example", _failing),
    Sample("admin@flaky.example", _flaky),
)

PENDING_ADDRESS = "marketing@newsletter.example"


async def seed(
    make: Callable[[Callable[[], datetime], Mailer], Registry],
    base: Callable[[], datetime],
    mailer: Mailer,
    zone: Zone,
) -> None:
    """Run every sample's story at once (each on its own clock)."""
    steps = [Step(make, base, mailer, zone, s.address) for s in SAMPLES]
    await asyncio.gather(*(s.story(step) for s, step in zip(SAMPLES, steps, strict=True)))
