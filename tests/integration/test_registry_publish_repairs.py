"""Records to publish when DNS holds a record receivers discard or only half understand."""

from __future__ import annotations

from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.service import Registry
from tests.integration.test_registry_checks import DOMAIN, owned


async def test_dmarc_with_ignored_tags_offers_the_corrected_record(
    registry: Registry, zone: Zone
) -> None:
    zone.set(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=quarantine; pct=150; adkim=x")
    await owned(registry)
    _, _, dmarc = await registry.records(DOMAIN)
    assert not dmarc.already_published
    assert dmarc.value == "v=DMARC1; p=quarantine; pct=100"  # bad values replaced or dropped
    assert dmarc.note.startswith("replace the current record:")
    assert "pct" in dmarc.note and "adkim" in dmarc.note


async def test_a_good_dmarc_record_is_already_published(registry: Registry, zone: Zone) -> None:
    zone.set(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=reject; rua=mailto:d@mail.example.com")
    await owned(registry)
    _, _, dmarc = await registry.records(DOMAIN)
    assert dmarc.already_published
    assert dmarc.value == "v=DMARC1; p=reject; rua=mailto:d@mail.example.com"


async def test_a_look_alike_spf_record_is_to_be_replaced_not_joined(
    registry: Registry, zone: Zone
) -> None:
    zone.set(DOMAIN, "TXT", "v=spf10 mx -all")
    await owned(registry)
    _, spf, _ = await registry.records(DOMAIN)
    assert spf.value.startswith("v=spf1 ")
    assert "replace it with this one rather than adding a second" in spf.note
    assert "v=spf10" in spf.note
