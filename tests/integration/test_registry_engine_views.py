"""What the registry keeps of the record engine's findings for the console and the command
line (issue 16): a failing DKIM look, BIMI, the records offered. Over the loopback zone."""

from __future__ import annotations

from dataclasses import replace

from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.settings import SendingSettings, Settings
from tests.fixtures.registry import SENDING_INCLUDE, MakeRegistry
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


def _with_sources(settings: Settings, include: str | None, ips: tuple[str, ...] = ()) -> Settings:
    return replace(settings, sending=SendingSettings(include=include, ips=ips))


async def test_the_spf_merge_leaves_out_what_an_include_authorises(
    make_registry: MakeRegistry, registry_settings: Settings, zone: Zone
) -> None:
    settings = _with_sources(registry_settings, SENDING_INCLUDE, ("192.0.2.10", "198.51.100.7"))
    registry = make_registry(settings=settings)
    await owned(registry)
    zone.set(DOMAIN, "TXT", "v=spf1 include:_spf.esp.example -all")
    # The ESP's record already authorises 192.0.2.10 and nests the sending include.
    zone.set("_spf.esp.example", "TXT", f"v=spf1 ip4:192.0.2.0/24 include:{SENDING_INCLUDE} -all")
    spf = (await registry.records(DOMAIN))[1]
    assert spf.value == "v=spf1 include:_spf.esp.example ip4:198.51.100.7 -all"


async def test_the_spf_merge_keeps_adding_when_an_include_cannot_be_read(
    make_registry: MakeRegistry, registry_settings: Settings, zone: Zone
) -> None:
    settings = _with_sources(registry_settings, SENDING_INCLUDE, ("192.0.2.10",))
    registry = make_registry(settings=settings)
    await owned(registry)
    zone.set(DOMAIN, "TXT", "v=spf1 include:_spf.esp.example -all")
    zone.set("_spf.esp.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    zone.servfail("_spf.esp.example")  # unknown: not proof that the include covers them
    spf = (await registry.records(DOMAIN))[1]
    assert spf.value == (
        f"v=spf1 include:_spf.esp.example include:{SENDING_INCLUDE} ip4:192.0.2.10 -all"
    )


async def test_records_without_sending_sources_ask_for_them(
    make_registry: MakeRegistry, registry_settings: Settings, zone: Zone
) -> None:
    registry = make_registry(settings=_with_sources(registry_settings, None))
    await owned(registry)
    dkim, spf, dmarc = await registry.records(DOMAIN)
    # "v=spf1 ~all" authorises no server and would then show as "SPF verified".
    assert spf.value == "" and spf.chunks == () and spf.zone_line == ""
    assert "no sending source is configured" in spf.note
    assert "[sending]" in spf.note and "include" in spf.note and "ips" in spf.note
    assert dkim.value.startswith("v=DKIM1") and dmarc.value.startswith("v=DMARC1")


async def test_records_flag_a_published_spf_that_authorises_no_source(
    make_registry: MakeRegistry, registry_settings: Settings, zone: Zone
) -> None:
    settings = _with_sources(registry_settings, SENDING_INCLUDE, ("198.51.100.7",))
    registry = make_registry(settings=settings)
    await owned(registry)
    zone.set(DOMAIN, "TXT", "v=spf1 ip4:192.0.2.1 -all")
    spf = (await registry.records(DOMAIN))[1]
    assert spf.value == f"v=spf1 ip4:192.0.2.1 include:{SENDING_INCLUDE} ip4:198.51.100.7 -all"
    assert spf.note.startswith(
        "the published SPF record authorises none of the configured sending sources "
        f"(include:{SENDING_INCLUDE}, 198.51.100.7)"
    )
    # With no sources configured, the published record is kept and no source is claimed.
    bare = make_registry(settings=_with_sources(registry_settings, None))
    kept = (await bare.records(DOMAIN))[1]
    assert kept.value == "v=spf1 ip4:192.0.2.1 -all"
    assert "no sending source is configured" in kept.note
    assert "already authorises" not in kept.note
