"""Records, verification and re-checks over a loopback DNS server serving a real zone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

import pytest

from mailauth_tui.core.results import PublishRecord
from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.errors import InvalidInput, NotFound
from mailauth_tui.registry.models import (
    DmarcState,
    DomainRow,
    Ownership,
    RecordState,
    VerifyOutcome,
)
from mailauth_tui.registry.service import Registry
from mailauth_tui.registry.transitions import RETRY_SOON
from mailauth_tui.services.settings import Settings
from tests.fixtures.registry import (
    SENDING_INCLUDE,
    FakeClock,
    MakeRegistry,
    code_from_delivery,
)

ADDRESS = "admin@mail.example.com"
DOMAIN = "mail.example.com"
INTERVAL_H = 48


@pytest.fixture(autouse=True)
def provider(zone: Zone) -> None:
    """The sending provider's SPF record, which the include points to."""
    zone.set(SENDING_INCLUDE, "TXT", "v=spf1 ip4:192.0.2.0/24 -all")


async def owned(registry: Registry, address: str = ADDRESS) -> DomainRow:
    sent = await registry.add(address)
    check = await registry.submit_code(sent.domain.domain, code_from_delivery(sent.delivered_to))
    assert check.ok
    return check.domain


def publish(zone: Zone, records: Sequence[PublishRecord]) -> None:
    for record in records:
        zone.set(record.host, "TXT", list(record.chunks))


async def verified(registry: Registry, zone: Zone) -> DomainRow:
    await owned(registry)
    publish(zone, await registry.records(DOMAIN))
    outcome = await registry.verify(DOMAIN)
    assert outcome.domain.verified
    return outcome.domain


def _hours(n: int) -> timedelta:
    return timedelta(hours=n)


def _states(row: DomainRow) -> tuple[str, str, str]:
    return (row.dkim_state.value, row.spf_state.value, row.dmarc_state.value)


async def test_records_need_proven_ownership(registry: Registry) -> None:
    await registry.add(ADDRESS)
    with pytest.raises(InvalidInput, match=r"prove ownership of mail\.example\.com first"):
        await registry.records(DOMAIN)
    with pytest.raises(NotFound):
        await registry.records("other.example.com")
    with pytest.raises(InvalidInput):
        await registry.records("not a domain")


async def test_records_to_publish(registry: Registry) -> None:
    row = await owned(registry)
    dkim, spf, dmarc = await registry.records(DOMAIN)
    key = row.dkim_keys[0]

    assert (dkim.kind, dkim.required, dkim.rtype) == ("DKIM", True, "TXT")
    assert dkim.host == f"{key.selector}._domainkey.{DOMAIN}"
    assert dkim.value == f"v=DKIM1; k=ed25519; p={key.public_key}"
    assert not dkim.already_published
    assert (spf.kind, spf.required, spf.host) == ("SPF", False, DOMAIN)
    assert spf.value == f"v=spf1 include:{SENDING_INCLUDE} ~all"
    assert (dmarc.kind, dmarc.host) == ("DMARC", f"_dmarc.{DOMAIN}")
    assert dmarc.value == f"v=DMARC1; p=none; rua=mailto:{ADDRESS}"


async def test_existing_spf_is_merged_with_lookup_counts(registry: Registry, zone: Zone) -> None:
    zone.set("mx.example.com", "A", "192.0.2.25")
    zone.set(DOMAIN, "MX", "10 mx.example.com")
    zone.set(DOMAIN, "TXT", "v=spf1 mx -all")
    await owned(registry)
    _, spf, _ = await registry.records(DOMAIN)
    assert spf.value == f"v=spf1 mx include:{SENDING_INCLUDE} -all"
    assert "1 -> 2 DNS lookups" in spf.note


async def test_verify_before_publishing_says_what_is_missing(registry: Registry) -> None:
    await owned(registry)
    outcome = await registry.verify(DOMAIN)
    assert not outcome.domain.verified
    assert _states(outcome.domain) == ("pending", "pending", "not_configured")
    dkim = outcome.verdicts[0]
    assert (dkim.kind, dkim.state, dkim.found) == ("DKIM", "pending", None)
    assert dkim.problems and all(p.fix for p in dkim.problems)
    checked = outcome.domain.last_check_at
    assert checked is not None
    assert outcome.domain.next_check_at == checked + RETRY_SOON  # not right yet: soon again
    assert registry.journal(DOMAIN)[0].event == "state"


async def test_publish_then_verify(registry: Registry, zone: Zone) -> None:
    row = await verified(registry, zone)
    assert _states(row) == ("verified", "verified", "configured")
    assert row.dmarc_policy == "none"
    evidence = json.loads(row.evidence)
    assert evidence["records"]["DKIM"]["found"].startswith("v=DKIM1; k=ed25519; p=")

    # the records now say they are published
    dkim, spf, dmarc = await registry.records(DOMAIN)
    assert dkim.already_published and spf.already_published and dmarc.already_published

    decision = registry.sender("news@mail.example.com")
    assert (decision.address, decision.own_domain) == ("news@mail.example.com", True)
    sub = registry.sender("news@sub.mail.example.com")  # exactly the verified domain only
    assert (sub.address, sub.own_domain) == ("noreply@corp.example", False)
    assert registry.bulk_check(DOMAIN).allowed
    assert registry.bulk_check("news@mail.example.com").allowed
    assert [a.code for a in registry.report()] == ["dmarc_monitoring"]


async def test_a_different_key_in_dns_is_a_failure(registry: Registry, zone: Zone) -> None:
    row = await owned(registry)
    selector = row.dkim_keys[0].selector
    other = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="  # RFC 8463's example key
    zone.set(f"{selector}._domainkey.{DOMAIN}", "TXT", f"v=DKIM1; k=ed25519; p={other}")
    outcome = await registry.verify(DOMAIN)
    assert outcome.domain.dkim_state is RecordState.PENDING
    assert "dkim.key_mismatch" in [p.code for p in outcome.verdicts[0].problems]


async def test_dmarc_of_the_organisational_domain_applies(registry: Registry, zone: Zone) -> None:
    zone.set("_dmarc.example.com", "TXT", "v=DMARC1; p=reject")
    await owned(registry)
    outcome = await registry.verify(DOMAIN)
    assert (outcome.domain.dmarc_state, outcome.domain.dmarc_policy) == (
        DmarcState.CONFIGURED,
        "reject",
    )
    _, _, dmarc = await registry.records(DOMAIN)
    assert dmarc.already_published
    assert dmarc.host == "_dmarc.example.com"


@pytest.mark.parametrize("failure", ["servfail", "refuse"])
async def test_a_failed_tld_level_keeps_dmarc_configured(
    registry: Registry, zone: Zone, fake_clock: FakeClock, failure: str
) -> None:
    # Issue 17: mail.example.com inherits _dmarc.example.com; _dmarc.com, above it, fails.
    zone.set("_dmarc.example.com", "TXT", "v=DMARC1; p=quarantine")
    getattr(zone, failure)("_dmarc.com")
    await owned(registry)
    dkim, spf, _ = await registry.records(DOMAIN)
    publish(zone, [dkim, spf])
    outcome = await registry.verify(DOMAIN)
    assert (outcome.domain.dmarc_state, outcome.domain.dmarc_policy) == (
        DmarcState.CONFIGURED,
        "quarantine",
    )
    assert "dmarc.org_domain_unknown" in [p.code for v in outcome.verdicts for p in v.problems]
    assert registry.bulk_check(DOMAIN).allowed

    fake_clock.advance(hours=INTERVAL_H)
    [outcome] = await registry.recheck()
    assert _states(outcome.domain) == ("verified", "verified", "configured")
    assert json.loads(outcome.domain.evidence)["unknown"] == []
    assert registry.bulk_check(DOMAIN).allowed


async def test_bulk_sending_needs_dmarc(registry: Registry, zone: Zone) -> None:
    await owned(registry)
    dkim, spf, _ = await registry.records(DOMAIN)
    publish(zone, [dkim, spf])
    await registry.verify(DOMAIN)
    decision = registry.bulk_check(DOMAIN)
    assert (decision.allowed, decision.action) == (False, "publish a DMARC record")
    assert registry.sender("x@mail.example.com").own_domain  # normal mail is fine
    titles = [a.title for a in registry.report()]
    assert "1 domain waiting for DMARC setup" in titles


async def test_a_non_admin_verify_is_a_dry_run(make_registry: MakeRegistry, zone: Zone) -> None:
    alice = make_registry("alice")
    await owned(alice)
    publish(zone, await alice.records(DOMAIN))
    bob = make_registry("bob")
    before = bob.get(DOMAIN)
    journal = bob.journal(DOMAIN)
    outcome = await bob.verify(DOMAIN)
    assert outcome.dry_run
    assert outcome.domain.verified  # what would be stored: DNS holds every record
    assert bob.get(DOMAIN) == before  # ... and nothing was
    assert bob.journal(DOMAIN) == journal
    assert len(await bob.records(DOMAIN)) == 3  # reading the records is allowed
    done = await alice.verify(DOMAIN)
    assert not done.dry_run and alice.get(DOMAIN).verified


async def test_recheck_runs_only_when_due(
    registry: Registry, zone: Zone, fake_clock: FakeClock
) -> None:
    await verified(registry, zone)
    assert await registry.recheck() == []
    assert registry.due_domains() == []
    fake_clock.advance(hours=INTERVAL_H)
    assert [r.domain for r in registry.due_domains()] == [DOMAIN]
    seen: list[VerifyOutcome] = []
    outcomes = await registry.recheck(on_result=seen.append)
    assert [o.domain.domain for o in outcomes] == [DOMAIN]
    assert seen == outcomes
    assert outcomes[0].domain.next_check_at == fake_clock.now + _hours(INTERVAL_H)
    assert await registry.recheck() == []
    assert len(await registry.recheck(due_only=False)) == 1


async def test_a_domain_never_checked_is_not_due(registry: Registry, fake_clock: FakeClock) -> None:
    await owned(registry)
    fake_clock.advance(days=30)
    assert registry.due_domains() == []


async def test_transient_dns_failure_does_not_demote(
    registry: Registry, zone: Zone, fake_clock: FakeClock
) -> None:
    row = await verified(registry, zone)
    dkim_host = f"{row.dkim_keys[0].selector}._domainkey.{DOMAIN}"
    zone.servfail(dkim_host)
    zone.servfail(f"_dmarc.{DOMAIN}")
    fake_clock.advance(hours=INTERVAL_H)

    [outcome] = await registry.recheck()
    after = outcome.domain
    assert after.verified
    assert _states(after) == ("verified", "verified", "configured")
    assert after.next_check_at == fake_clock.now + RETRY_SOON  # retried sooner
    assert json.loads(after.evidence)["unknown"] == ["DKIM", "DMARC"]
    assert any("DKIM check unknown" in t for t in outcome.transitions)
    assert registry.sender("x@mail.example.com").own_domain
    assert "unknown" in [a.code for a in registry.report()]
    details = [e.detail for e in registry.journal(DOMAIN, limit=5)]
    assert any("stays verified" in d for d in details)

    zone.servfail(dkim_host, enabled=False)
    zone.servfail(f"_dmarc.{DOMAIN}", enabled=False)
    fake_clock.advance(hours=1)
    [outcome] = await registry.recheck()
    assert json.loads(outcome.domain.evidence)["unknown"] == []
    assert outcome.domain.next_check_at == fake_clock.now + _hours(INTERVAL_H)


async def test_a_record_gone_demotes_on_the_second_look(
    registry: Registry, zone: Zone, fake_clock: FakeClock
) -> None:
    row = await verified(registry, zone)
    zone.remove(f"{row.dkim_keys[0].selector}._domainkey.{DOMAIN}")
    fake_clock.advance(hours=INTERVAL_H)

    [first] = await registry.recheck()
    assert first.domain.dkim_state is RecordState.VERIFIED  # one look is not enough
    assert first.domain.verified
    assert first.domain.next_check_at == fake_clock.now + RETRY_SOON
    assert any("seen once" in t for t in first.transitions)

    fake_clock.advance(hours=1)
    [second] = await registry.recheck()
    assert second.domain.dkim_state is RecordState.FAILING
    assert not second.domain.verified
    assert "DKIM verified -> failing" in second.transitions[0]
    decision = registry.sender("x@mail.example.com")
    assert decision.address == "noreply@corp.example"
    assert "failing" in decision.reason
    assert [a.domains for a in registry.report() if a.code == "failing"] == [(DOMAIN,)]

    # published again: verified again
    publish(zone, (await registry.records(DOMAIN))[:1])
    outcome = await registry.verify(DOMAIN)
    assert outcome.domain.dkim_state is RecordState.VERIFIED
    assert "DKIM failing -> verified" in outcome.transitions


async def test_dkim_rotation(registry: Registry, zone: Zone, fake_clock: FakeClock) -> None:
    row = await verified(registry, zone)
    old = row.dkim_keys[0]
    fake_clock.advance(days=40)
    rotated = await registry.rotate_dkim(DOMAIN)
    new = rotated.dkim_keys[-1]
    assert new.selector != old.selector and not new.active
    assert rotated.active_key == old
    with pytest.raises(InvalidInput, match="already waiting"):
        await registry.rotate_dkim(DOMAIN)

    dkim, _, _ = await registry.records(DOMAIN)
    assert dkim.host == f"{new.selector}._domainkey.{DOMAIN}"
    assert "new key (rotation)" in dkim.note

    outcome = await registry.verify(DOMAIN)  # the new key is not published yet
    assert outcome.domain.verified
    assert outcome.domain.active_key == old
    assert outcome.domain == registry.get(DOMAIN)  # what is shown is what was stored

    publish(zone, [dkim])
    outcome = await registry.verify(DOMAIN)
    assert outcome.domain.verified
    assert outcome.domain.active_key is not None
    assert outcome.domain.active_key.selector == new.selector
    assert [k.active for k in outcome.domain.dkim_keys] == [False, True]
    assert "now signs" in outcome.transitions[0]
    assert outcome.domain == registry.get(DOMAIN)  # the promotion as stored


async def test_rotation_needs_ownership(registry: Registry) -> None:
    await registry.add(ADDRESS)
    with pytest.raises(InvalidInput, match="prove ownership"):
        await registry.rotate_dkim(DOMAIN)


async def test_recheck_keeps_going_over_many_domains(
    registry: Registry, zone: Zone, fake_clock: FakeClock, registry_settings: Settings
) -> None:
    names = [f"d{i}.example.net" for i in range(6)]
    for name in names:
        await owned(registry, f"admin@{name}")
        publish(zone, await registry.records(name))
        await registry.verify(name)
        fake_clock.advance(minutes=2)  # resend-free: one add per domain
    fake_clock.advance(hours=INTERVAL_H)
    zone.remove("_dmarc.d3.example.net")
    outcomes = await registry.recheck()
    assert sorted(o.domain.domain for o in outcomes) == sorted(names)
    assert all(o.domain.verified for o in outcomes)
    d3 = next(o for o in outcomes if o.domain.domain == "d3.example.net")
    assert d3.domain.dmarc_state is DmarcState.CONFIGURED  # gone once: not yet believed
    assert [o.domain for o in outcomes] == [registry.get(o.domain.domain) for o in outcomes]
    assert registry_settings.recheck_interval_hours == INTERVAL_H


async def test_unicode_domain_end_to_end(registry: Registry, zone: Zone) -> None:
    row = await owned(registry, "info@bücher.example")
    assert row.ownership is Ownership.VERIFIED
    publish(zone, await registry.records("bücher.example"))
    outcome = await registry.verify("bücher.example")
    assert outcome.domain.verified
    assert outcome.report.domain == "xn--bcher-kva.example"
