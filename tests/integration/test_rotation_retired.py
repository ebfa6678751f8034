"""Rotation, finished: the old selector's record stays until "safe to remove after DATE"
(at least 7 days after the new key took over, configurable), then the report says to go."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from mailauth_tui.cli.json_out import to_jsonable
from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.errors import RegistryError
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.settings import DkimSettings, Settings
from tests.fixtures.registry import FakeClock, MakeRegistry
from tests.integration.test_registry_checks import DOMAIN, publish, verified


async def _rotate(registry: Registry, zone: Zone, clock: FakeClock) -> tuple[str, str]:
    old = (await verified(registry, zone)).dkim_keys[0].selector
    clock.advance(days=40)
    await registry.rotate_dkim(DOMAIN)
    dkim, _, _ = await registry.records(DOMAIN)
    publish(zone, [dkim])
    outcome = await registry.verify(DOMAIN)  # the new key is seen: it signs from now on
    new = outcome.domain.active_key
    assert new is not None and new.selector != old
    assert "safe to remove after" in outcome.transitions[0]
    return old, new.selector


def _codes(registry: Registry) -> list[str]:
    return [a.code for a in registry.report()]


async def test_the_old_selector_is_safe_to_remove_a_week_after_the_switch(
    registry: Registry, zone: Zone, fake_clock: FakeClock
) -> None:
    old, _ = await _rotate(registry, zone, fake_clock)
    switched = fake_clock.now
    [retired] = [k for k in registry.get(DOMAIN).dkim_keys if k.selector == old]
    assert retired.retired_at == switched
    assert retired.remove_after == switched + timedelta(days=7)
    [shown] = [k for k in to_jsonable(registry.get(DOMAIN))["dkim_keys"] if k["selector"] == old]
    assert shown["remove_after"] == (switched + timedelta(days=7)).isoformat()  # list --json
    fake_clock.advance(days=6)
    assert "retired_selector" not in _codes(registry)  # mail signed with it still verifies
    fake_clock.advance(days=1, seconds=1)
    [action] = [a for a in registry.report() if a.code == "retired_selector"]
    assert action.domains == (DOMAIN,)
    assert "safe to remove from DNS" in action.title


async def test_the_keeping_time_is_configurable(
    make_registry: MakeRegistry,
    registry_settings: Settings,
    zone: Zone,
    fake_clock: FakeClock,
) -> None:
    settings = replace(
        registry_settings, dkim=replace(registry_settings.dkim, keep_retired_days=30)
    )
    assert isinstance(settings.dkim, DkimSettings)
    registry = make_registry(settings=settings)
    old, _ = await _rotate(registry, zone, fake_clock)
    [retired] = [k for k in registry.get(DOMAIN).dkim_keys if k.selector == old]
    assert retired.remove_after == fake_clock.now + timedelta(days=30)


async def test_once_the_old_record_is_gone_from_dns_the_report_stops_asking(
    registry: Registry, zone: Zone, fake_clock: FakeClock
) -> None:
    old, new = await _rotate(registry, zone, fake_clock)
    fake_clock.advance(days=7, seconds=1)
    old_host = f"{old}._domainkey.{DOMAIN}"
    [retired] = [k for k in registry.get(DOMAIN).dkim_keys if k.selector == old]
    await registry.verify(DOMAIN)  # still published: still recommended
    assert "retired_selector" in _codes(registry)
    zone.servfail(old_host)
    await registry.recheck(due_only=False)  # a failed look-up proves nothing
    assert "retired_selector" in _codes(registry)
    assert old in {k.selector for k in registry.get(DOMAIN).dkim_keys}
    zone.servfail(old_host, enabled=False)
    zone.remove(old_host)
    await registry.recheck(due_only=False)
    assert "retired_selector" not in _codes(registry)
    assert [k.selector for k in registry.get(DOMAIN).dkim_keys] == [new]
    with pytest.raises(RegistryError, match="cannot read the key"):  # its private half too
        registry.private_key_pem(retired)
    [entry] = [e for e in registry.journal(DOMAIN) if e.event == "dkim_removed"]
    assert old in entry.detail and "no longer in DNS" in entry.detail
