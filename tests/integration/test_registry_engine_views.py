"""What the registry keeps of the record engine's findings for the console and the command
line (issue 16): a failing DKIM look, BIMI, the records offered. Over the loopback zone."""

from __future__ import annotations

from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.service import Registry
from tests.integration.test_registry_checks import DOMAIN, owned, publish


async def test_a_failing_dkim_look_is_shown_as_failing(registry: Registry, zone: Zone) -> None:
    await owned(registry)
    records = await registry.records(DOMAIN)
    publish(zone, records)
    assert (await registry.verify(DOMAIN)).domain.verified
    dkim = records[0]
    zone.set(dkim.host, "TXT", dkim.value[:-8])
    outcome = await registry.verify(DOMAIN)
    (verdict,) = [v for v in outcome.verdicts if v.kind == "DKIM"]
    assert (verdict.state, verdict.look, verdict.shown_state) == ("verified", "bad", "failing")
    row = registry.get(DOMAIN)
    assert row.dkim_state.value == "verified"  # a second look confirms before demoting
    assert row.dkim_shown_state == "failing"  # what the detail panel and screen show
    (problem,) = [p for p in verdict.problems if p.code == "dkim.truncated"]
    assert problem.fix == f"publish the whole value at {dkim.host}: {dkim.value}"
    assert not [p for p in verdict.problems if p.code == "dkim.selftest_failed"]
