"""Publishing a domain's records by RFC 2136 and following them to every nameserver.

The steps the Registry runs (:meth:`Registry.publish`, :meth:`Registry.propagation`), on the
service Protocols it is given: the zone and its nameservers (``AuthoritativeDns``), the zone's
primary (``ZoneUpdater``). The records are those ``records`` shows, with the SPF record merged
again into what the primary holds at this moment, so the update replaces exactly that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from mailauth_tui.core.dns_types import Answer, AnswerStatus, Resolver, RType
from mailauth_tui.core.propagation import PropagationReport, build_report, of_kind
from mailauth_tui.core.publish import dkim_publish, spf_publish, txt_record
from mailauth_tui.core.results import PublishRecord
from mailauth_tui.core.zone_update import UpdatePlan, in_zone, plan_update
from mailauth_tui.registry.errors import InvalidInput, RegistryError
from mailauth_tui.registry.models import VerifyOutcome
from mailauth_tui.registry.transitions import checked_keys, key_roles
from mailauth_tui.services.authoritative import AuthoritativeDns, ZoneLookupError
from mailauth_tui.services.dnsupdate import UpdateRefused, ZoneUpdater
from mailauth_tui.services.settings import Settings
from mailauth_tui.services.store import DomainRecord
from mailauth_tui.services.tsig_secret import SecretError, ZonePublish

FOLLOW_TIMEOUT = 120.0  # seconds the propagation is followed after publishing
FOLLOW_INTERVAL = 1.0

OnReport = Callable[[PropagationReport], object]


class PublishRefused(RegistryError):
    """The update was not applied (the zone is as it was); ``str(err)`` says why in a line."""


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    domain: str
    zone: str
    server: str
    update: tuple[str, ...]  # the exact update, nsupdate's words
    changes: int  # the update's operations: 0 when every record is there already
    notes: tuple[str, ...]  # records left as they are, and why
    applied: bool
    dry_run: bool
    propagation: PropagationReport | None = None
    verify: VerifyOutcome | None = None


def with_other_keys(records: list[PublishRecord], rec: DomainRecord) -> list[PublishRecord]:
    """During a rotation both selectors must be served: the current key's record too."""
    active, waiting = key_roles(rec.keys)
    if active is None or waiting is None:
        return records
    current = dkim_publish(rec.domain, active.selector, active.key_type, active.public_key)
    return [records[0], current, *records[1:]]


def retired_keys(rec: DomainRecord, now: datetime) -> list[PublishRecord]:
    """The DKIM records of keys a rotation retired whose overlap is over: the registry records
    when each may go (``remove_after``, set when the new key took over). A key without that
    date is kept: nothing says it is safe."""
    in_use = {k.selector for k in checked_keys(rec.keys)}
    return [
        dkim_publish(rec.domain, key.selector, key.key_type, key.public_key)
        for key in rec.keys
        if key.selector not in in_use and key.remove_after is not None and now >= key.remove_after
    ]


async def with_bimi(
    resolver: Resolver, domain: str, records: list[PublishRecord]
) -> list[PublishRecord]:
    """A BIMI record, when the domain publishes one, must be at every nameserver too: the one
    the resolver sees is the one expected (mailauth-tui does not write BIMI records)."""
    host = f"default._bimi.{domain}"
    answer = await resolver.query(host, RType.TXT)
    found = of_kind("BIMI", answer.records) if answer.status is AnswerStatus.RECORDS else []
    if not found:
        return records
    note = "published by you: followed to every nameserver, never changed here"
    bimi = txt_record("BIMI", host, found[0], required=False, note=note, already=True)
    return [*records, bimi]


async def probe(
    dns: AuthoritativeDns, domain: str, expected: Sequence[PublishRecord]
) -> PropagationReport:
    """Ask every nameserver of the domain's zone for every record in it."""
    try:
        zone = await dns.zone_servers(domain)
    except ZoneLookupError as exc:
        return PropagationReport(domain, "", tuple(expected), (), error=str(exc))
    inside = [r for r in expected if in_zone(r.host, zone.zone)]

    async def one(name: str, address: str) -> tuple[str, str, int | None, str, list[Answer]]:
        serial, error = await dns.serial(address, zone.zone)
        answers = await asyncio.gather(*(dns.txt(address, r.host) for r in inside))
        return name, address, serial, error, list(answers)

    servers = await asyncio.gather(*(one(n, a) for n, a in zone.servers))
    return build_report(domain, zone.zone, inside, servers)


async def follow(
    dns: AuthoritativeDns,
    domain: str,
    expected: Sequence[PublishRecord],
    *,
    within: float = FOLLOW_TIMEOUT,
    interval: float = FOLLOW_INTERVAL,
    on_report: OnReport | None = None,
) -> PropagationReport:
    """Probe until every nameserver serves every record, or ``within`` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        report = await probe(dns, domain, expected)
        if on_report is not None:
            on_report(report)
        if report.complete or report.error or loop.time() + interval > deadline:
            return report
        await asyncio.sleep(interval)  # the secondaries transfer the zone in their own time


def zone_settings(settings: Settings, zone: str, domain: str) -> ZonePublish:
    for conf in settings.publish:
        if conf.zone == zone:
            return conf
    known = ", ".join(c.zone for c in settings.publish) or "none"
    raise PublishRefused(
        f'{domain} is in the zone {zone}, which has no [publish."{zone}"] settings '
        f'(zones set up: {known}): see "Publishing automatically" in the README'
    )


async def plan(
    updater: ZoneUpdater,
    conf: ZonePublish,
    domain: str,
    records: Sequence[PublishRecord],
    settings: Settings,
    retired: Sequence[PublishRecord] = (),
) -> UpdatePlan:
    """The update against what the primary holds now."""
    hosts = [r.host for r in (*records, *retired) if in_zone(r.host, conf.zone)]
    try:
        current = await updater.read(conf.server, hosts)
    except UpdateRefused as exc:
        raise PublishRefused(str(exc)) from None
    merged: list[PublishRecord] = []
    for record in records:
        if record.kind == "SPF":
            values = ["".join(c) for c in current.get(record.host, ())]
            spf = of_kind("SPF", values)
            sending = settings.sending
            try:
                record = spf_publish(domain, spf[0] if spf else None, sending.include, sending.ips)
            except ValueError as exc:
                raise InvalidInput(f"cannot build the SPF record for {domain}: {exc}") from None
            if not record.value:
                continue  # no sending source configured: no SPF record to write
        merged.append(record)
    return plan_update(conf.zone, merged, current, conf.ttl, retired)


async def send(updater: ZoneUpdater, conf: ZonePublish, update: UpdatePlan) -> None:
    """Apply ``update``; a refusal says why in one line, and for a failed prerequisite what the
    zone holds now."""
    try:
        key = conf.key()
    except SecretError as exc:
        raise PublishRefused(str(exc)) from None
    try:
        await updater.send(conf.server, update, key)
    except UpdateRefused as exc:
        if exc.kind != "prerequisite":
            raise PublishRefused(f"nothing was changed: {exc}") from None
        names = [p.name for p in update.prerequisites]
        try:
            now = await updater.read(conf.server, names)
        except UpdateRefused:
            now = {}
        # Only the names whose records are no longer what the plan read.
        changed = [
            p.name for p in update.prerequisites if sorted(now.get(p.name, ())) != sorted(p.values)
        ]
        there = "; ".join(
            f"{name}: "
            + (
                ", ".join(repr(v) for v in sorted("".join(c) for c in now.get(name, ())))
                or "nothing"
            )
            for name in changed or names
        )
        raise PublishRefused(
            f"someone changed the records meanwhile, so nothing was changed; the zone now has "
            f"{there}; look, then publish again"
        ) from None
