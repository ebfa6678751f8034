"""The end-to-end DKIM self-test of verify: a probe signed with the stored private key,
verified by dkimpy against what the loopback DNS server publishes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry import selftest
from mailauth_tui.registry.models import RecordState
from mailauth_tui.registry.selftest import SelfTestStatus
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.keys import FileKeyStore
from mailauth_tui.services.settings import Settings
from tests.fixtures.registry import MakeRegistry
from tests.integration.test_registry_checks import DOMAIN, owned, publish, verified


def _remembered(registry: Registry) -> str | None:
    """The fingerprint the active key's row keeps of its last pass."""
    with registry._store.reading() as tx:
        rec = tx.get_domain(DOMAIN)
    assert rec is not None
    [key] = [k for k in rec.keys if k.active]
    return key.selftest_passed


def _count_signings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The domains signed for from now on (the real signing still runs)."""
    signed: list[str] = []
    real = selftest._sign_and_verify

    def counted(domain: str, *args: object) -> tuple[bool, str, str]:
        signed.append(domain)
        return real(domain, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(selftest, "_sign_and_verify", counted)
    return signed


def _dkim_host(registry: Registry) -> tuple[str, str]:
    key = registry.get(DOMAIN).active_key
    assert key is not None
    return f"{key.selector}._domainkey.{DOMAIN}", key.public_key


async def test_a_published_key_that_matches_passes(registry: Registry, zone: Zone) -> None:
    await owned(registry)
    publish(zone, await registry.records(DOMAIN))
    outcome = await registry.verify(DOMAIN)
    [test] = outcome.selftests
    assert test.status is SelfTestStatus.PASSED
    assert "verified against the key published" in test.reason
    assert outcome.domain.verified
    assert '"selftest"' in outcome.domain.evidence and '"passed"' in outcome.domain.evidence


async def test_a_private_key_that_does_not_match_the_record_fails(
    registry: Registry, zone: Zone, registry_settings: Settings, tmp_path: Path
) -> None:
    await verified(registry, zone)
    key = registry.get(DOMAIN).active_key
    assert key is not None
    # The key file replaced (restored from another backup): the record still matches the
    # public key stored in the registry, so only signing shows the break.
    other = FileKeyStore(tmp_path / "other")
    other.generate(DOMAIN, key.selector, "ed25519")
    assert _remembered(registry) is not None  # the pass that must not be reused now
    stored = registry_settings.keys_dir / key.key_ref
    stored.write_bytes((tmp_path / "other" / key.key_ref).read_bytes())
    for _ in range(2):  # a verified record must look bad twice in a row
        outcome = await registry.verify(DOMAIN)
    [test] = outcome.selftests
    assert test.status is SelfTestStatus.FAILED
    assert "is not the public half of selector" in test.reason
    assert f"mailauth-tui records {DOMAIN}" in test.fix
    assert outcome.domain.dkim_state is RecordState.FAILING
    [dkim] = [v for v in outcome.verdicts if v.kind == "DKIM"]
    assert any(p.code == "dkim.selftest_failed" for p in dkim.problems)


async def test_a_truncated_key_fails_with_its_length(registry: Registry, zone: Zone) -> None:
    await owned(registry)
    publish(zone, await registry.records(DOMAIN))
    host, public = _dkim_host(registry)
    zone.set(host, "TXT", f"v=DKIM1; k=ed25519; p={public[:30]}")
    outcome = await registry.verify(DOMAIN)
    [test] = outcome.selftests
    assert test.status is SelfTestStatus.FAILED
    assert f"truncated: 30 of its {len(public)} characters" in test.reason
    assert not outcome.domain.verified


async def test_a_cname_to_someone_elses_key_fails(
    registry: Registry, zone: Zone, tmp_path: Path
) -> None:
    await owned(registry)
    publish(zone, await registry.records(DOMAIN))
    host, _ = _dkim_host(registry)
    theirs = FileKeyStore(tmp_path / "esp").generate("esp.example.net", "s1", "ed25519")
    zone.remove(host)
    zone.set(host, "CNAME", "s1._domainkey.esp.example.net")
    zone.set("s1._domainkey.esp.example.net", "TXT", f"v=DKIM1; k=ed25519; p={theirs.public_key}")
    outcome = await registry.verify(DOMAIN)
    [test] = outcome.selftests
    assert test.status is SelfTestStatus.FAILED
    assert "is an alias (CNAME) of s1._domainkey.esp.example.net" in test.reason
    assert "someone else's key" in test.reason
    assert test.fix.startswith(f"remove the CNAME at {host}")
    assert not outcome.domain.verified


async def test_a_failed_lookup_is_unknown_never_failed(registry: Registry, zone: Zone) -> None:
    await verified(registry, zone)
    host, _ = _dkim_host(registry)
    zone.servfail(host)
    outcome = await registry.verify(DOMAIN)
    [test] = outcome.selftests
    assert test.status is SelfTestStatus.UNKNOWN
    assert outcome.domain.dkim_state is RecordState.VERIFIED


async def test_an_unchanged_key_and_record_are_not_signed_again(
    registry: Registry, zone: Zone, monkeypatch: pytest.MonkeyPatch
) -> None:
    await verified(registry, zone)
    remembered = _remembered(registry)
    assert remembered is not None
    signed = _count_signings(monkeypatch)
    outcome = await registry.verify(DOMAIN)
    [test] = outcome.selftests
    assert test.status is SelfTestStatus.PASSED and test.fingerprint == remembered
    assert signed == []
    await registry.recheck(due_only=False)
    assert signed == []


@pytest.mark.parametrize(
    ("published", "passes"),
    [
        ("v=DKIM1; k=ed25519; n=republished; p={public}", True),  # edited, still the key
        ("v=DKIM1; k=ed25519; p={cut}", False),  # cut short: fails, diagnosed every time
    ],
)
async def test_a_changed_record_is_signed_and_verified_again(
    registry: Registry,
    zone: Zone,
    monkeypatch: pytest.MonkeyPatch,
    published: str,
    passes: bool,
) -> None:
    await verified(registry, zone)
    before = _remembered(registry)
    host, public = _dkim_host(registry)
    zone.set(host, "TXT", published.format(public=public, cut=public[:30]))
    signed = _count_signings(monkeypatch)
    for _ in range(2):
        [test] = (await registry.verify(DOMAIN)).selftests
    after = _remembered(registry)
    if passes:  # signed once, then remembered anew
        assert test.status is SelfTestStatus.PASSED and signed == [DOMAIN]
        assert after is not None and after != before
    else:  # a failure is never remembered
        assert test.status is SelfTestStatus.FAILED and test.fingerprint == ""
        assert signed == [DOMAIN, DOMAIN] and after == before


async def test_another_passphrase_is_tested_again(
    make_registry: MakeRegistry,
    registry_settings: Settings,
    zone: Zone,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dkim = replace(registry_settings.dkim, key_type="ed25519", passphrase_env="MT_TEST_PASS")
    registry = make_registry(settings=replace(registry_settings, dkim=dkim))
    monkeypatch.setenv("MT_TEST_PASS", "the right one")
    await verified(registry, zone)
    assert _remembered(registry) is not None
    monkeypatch.setenv("MT_TEST_PASS", "a wrong one")
    [test] = (await registry.verify(DOMAIN)).selftests
    assert test.status is SelfTestStatus.FAILED
    assert "wrong passphrase" in test.reason
