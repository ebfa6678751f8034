"""Publishing is a change: someone who is not an admin gets the dry run, which reads the
zone's primary but never the TSIG secret (issue 19). On the loopback servers of
tests/fixtures/nameservers.py; the primary (ns1) answers the reads over TCP."""

from __future__ import annotations

from dataclasses import replace

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.authoritative import DirectDns
from mailauth_tui.services.dnsupdate import Rfc2136Updater
from mailauth_tui.services.tsig_secret import ZonePublish
from tests.fixtures.nameservers import DOMAIN
from tests.fixtures.ui import registry_as


def _registry(session: DemoSession, port: int, actor: str) -> Registry:
    zone = ZonePublish(DOMAIN, f"127.0.0.1:{port}", "k", secret_env="MAILAUTH_UNSET_SECRET")
    return registry_as(
        session,
        actor,
        settings=replace(session.settings, publish=(zone,)),
        authoritative=DirectDns([f"127.0.0.1:{port}"], timeout=1.0, port=port),
        updater=Rfc2136Updater(timeout=2.0),
    )


async def test_a_non_admin_gets_the_dry_run_without_the_secret(
    two_servers: tuple[DemoSession, int],
) -> None:
    session, port = two_servers
    bob = _registry(session, port, "bob")
    assert not bob.may_change and bob.can_publish
    outcome = await bob.publish(DOMAIN)
    assert outcome.dry_run and not outcome.applied and outcome.verify is None
    assert outcome.zone == DOMAIN and outcome.update[0] == f"zone {DOMAIN}."
    # ns1 serves every record already: nothing to change, and nothing was sent.
    assert outcome.changes == 0
    assert outcome.notes[0].endswith("already published")


async def test_an_admins_dry_run_and_the_propagation_view(
    two_servers: tuple[DemoSession, int],
) -> None:
    session, port = two_servers
    alice = _registry(session, port, "alice")
    report = await alice.propagation(DOMAIN)
    assert report.badge("DKIM") == "DKIM at 1 of 2 nameservers"
    outcome = await alice.publish(DOMAIN, dry_run=True)
    assert outcome.dry_run and outcome.changes == 0


async def test_verify_says_nothing_of_nameservers_it_could_not_find(
    two_servers: tuple[DemoSession, int],
) -> None:
    session, _ = two_servers
    nowhere = DirectDns(["127.0.0.1:9"], timeout=0.2, port=9)  # nothing answers there
    bob = registry_as(session, "bob", authoritative=nowhere)
    outcome = await bob.verify("legacy.example")  # its DKIM record is stale: not verified
    assert outcome.dry_run and not outcome.domain.verified
    assert outcome.propagation == ""
