"""Ownership by emailed code over real parts: a store file, loopback SMTP or a Maildir, keys on
disk, and a clock the tests move."""

from __future__ import annotations

import stat
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from mailauth_tui.registry.codes import CODE_TTL, MAX_ATTEMPTS
from mailauth_tui.registry.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    RegistryError,
)
from mailauth_tui.registry.models import Ownership
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.settings import Settings
from tests.fixtures.registry import (
    REGISTRY_T0,
    FakeClock,
    MakeRegistry,
    code_from_delivery,
    code_from_message,
    smtp_mailer_for,
)
from tests.fixtures.smtp import CollectingController

ADDRESS = "admin@mail.example.com"
DOMAIN = "mail.example.com"


def _wrong(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return ("3" if code[0] != "3" else "4") + code[1:]


async def test_add_mails_a_code_over_smtp(
    make_registry: MakeRegistry, smtp_server: CollectingController, registry_settings: Settings
) -> None:
    registry = make_registry("alice", mailer=smtp_mailer_for(smtp_server))
    sent = await registry.add(ADDRESS)

    assert sent.delivered_to == f"SMTP 127.0.0.1:{smtp_server.port} (no TLS)"
    [mail] = smtp_server.messages
    assert mail["To"] == ADDRESS
    assert mail["From"] == "noreply@corp.example"
    code = code_from_message(mail)
    row = sent.domain
    assert (row.domain, row.address, row.added_by) == (DOMAIN, ADDRESS, "alice")
    assert row.ownership is Ownership.PENDING
    assert row.code_expires_at == REGISTRY_T0 + CODE_TTL
    assert row.code_sent_at == REGISTRY_T0
    # only a salted hash is stored: the code is nowhere in the database files
    for path in registry_settings.db.parent.glob("registry.sqlite3*"):
        data = path.read_bytes()
        assert code.replace("-", "").encode() not in data
        assert code.encode() not in data
    events = [e.event for e in registry.journal(DOMAIN)]
    assert events == ["code_sent", "added"]


async def test_code_verifies_ownership_and_makes_the_first_key(
    registry: Registry, registry_settings: Settings
) -> None:
    sent = await registry.add(ADDRESS)
    assert sent.delivered_to.startswith(f"Maildir {registry_settings.maildir}")
    code = code_from_delivery(sent.delivered_to)

    check = await registry.submit_code(DOMAIN, f"  {code.lower()}  ")  # as people type it
    assert check.ok
    assert "ownership of mail.example.com is verified" in check.message
    assert "DKIM key made (selector mt202503)" in check.message
    row = check.domain
    assert row.ownership is Ownership.VERIFIED
    assert row.code_expires_at is None
    [key] = row.dkim_keys
    assert (key.selector, key.key_type, key.active) == ("mt202503", "ed25519", True)
    key_file = registry_settings.keys_dir / key.key_ref
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert registry.get(DOMAIN) == row
    events = [e.event for e in registry.journal(DOMAIN)]
    assert events[:2] == ["dkim_key", "code_ok"]
    with pytest.raises(InvalidInput, match="already verified"):
        await registry.submit_code(DOMAIN, code)


async def test_code_expires_after_15_days(registry: Registry, fake_clock: FakeClock) -> None:
    sent = await registry.add(ADDRESS)
    code = code_from_delivery(sent.delivered_to)
    fake_clock.advance(days=15)
    assert registry.get(DOMAIN).ownership is Ownership.EXPIRED  # shown before any try

    check = await registry.submit_code(DOMAIN, code)
    assert not check.ok
    assert "expired on 2025-03-16 09:00 UTC" in check.message
    assert check.domain.ownership is Ownership.EXPIRED
    assert registry.journal(DOMAIN)[0].event == "expired"

    fresh = await registry.resend(DOMAIN)
    assert fresh.domain.ownership is Ownership.PENDING
    assert (await registry.submit_code(DOMAIN, code_from_delivery(fresh.delivered_to))).ok


async def test_code_still_works_just_before_expiry(
    registry: Registry, fake_clock: FakeClock
) -> None:
    sent = await registry.add(ADDRESS)
    fake_clock.advance(days=15, seconds=-1)
    assert (await registry.submit_code(DOMAIN, code_from_delivery(sent.delivered_to))).ok


async def test_five_wrong_codes_lock_it(registry: Registry, fake_clock: FakeClock) -> None:
    sent = await registry.add(ADDRESS)
    code = code_from_delivery(sent.delivered_to)
    for attempt in range(1, MAX_ATTEMPTS):
        check = await registry.submit_code(DOMAIN, _wrong(code))
        assert not check.ok
        assert check.message == "wrong code"
        assert check.attempts_left == MAX_ATTEMPTS - attempt
    check = await registry.submit_code(DOMAIN, _wrong(code))
    assert (check.ok, check.attempts_left) == (False, 0)
    assert check.domain.ownership is Ownership.LOCKED
    # the right code no longer helps
    check = await registry.submit_code(DOMAIN, code)
    assert not check.ok
    assert "no longer works" in check.message
    assert registry.get(DOMAIN).ownership is Ownership.LOCKED

    fake_clock.advance(minutes=1)
    fresh = await registry.resend(DOMAIN)
    assert (fresh.domain.ownership, fresh.domain.code_attempts) == (Ownership.PENDING, 0)
    assert (await registry.submit_code(DOMAIN, code_from_delivery(fresh.delivered_to))).ok


async def test_text_that_is_not_a_code_costs_no_try(registry: Registry) -> None:
    await registry.add(ADDRESS)
    for text in ("", "hello", "0000-0000-00", "ABCD\x1b[2JEFGH", "x" * 10_000):
        check = await registry.submit_code(DOMAIN, text)
        assert not check.ok
        assert "not a verification code" in check.message
        assert check.attempts_left == MAX_ATTEMPTS
    assert registry.get(DOMAIN).code_attempts == 0


async def test_resend_replaces_the_code_at_most_once_a_minute(
    registry: Registry, fake_clock: FakeClock
) -> None:
    sent = await registry.add(ADDRESS)
    old = code_from_delivery(sent.delivered_to)
    fake_clock.advance(seconds=20)
    with pytest.raises(RateLimited, match="wait 40 s"):
        await registry.resend(DOMAIN)
    fake_clock.advance(seconds=40)
    fresh = await registry.resend(DOMAIN)
    new = code_from_delivery(fresh.delivered_to)
    assert new != old
    assert fresh.domain.code_expires_at == fake_clock.now + CODE_TTL

    check = await registry.submit_code(DOMAIN, old)
    assert not check.ok and check.message == "wrong code"  # the old code stopped working
    assert (await registry.submit_code(DOMAIN, new)).ok
    with pytest.raises(InvalidInput, match="already verified"):
        await registry.resend(DOMAIN)
    assert "code_reissued" in [e.event for e in registry.journal(DOMAIN)]


async def test_a_failed_send_adds_nothing(
    make_registry: MakeRegistry, smtp_server: CollectingController
) -> None:
    registry = make_registry("alice", mailer=smtp_mailer_for(smtp_server))
    smtp_server.handler.refuse.add(ADDRESS)
    with pytest.raises(RegistryError, match="could not send the verification code") as err:
        await registry.add(ADDRESS)
    assert "mail.example.com was not added" in str(err.value)
    assert registry.list_domains() == []
    assert registry.journal(DOMAIN)[0].event == "add_failed"
    smtp_server.handler.refuse.clear()
    await registry.add(ADDRESS)  # and it can be added once mail works


async def test_a_failed_resend_can_be_retried_at_once(
    make_registry: MakeRegistry, smtp_server: CollectingController, fake_clock: FakeClock
) -> None:
    registry = make_registry("alice", mailer=smtp_mailer_for(smtp_server))
    await registry.add(ADDRESS)
    fake_clock.advance(minutes=2)
    smtp_server.handler.refuse.add(ADDRESS)
    with pytest.raises(RegistryError, match="could not send the new code"):
        await registry.resend(DOMAIN)
    smtp_server.handler.refuse.clear()
    sent = await registry.resend(DOMAIN)  # no rate limit: the failed one was not delivered
    assert (await registry.submit_code(DOMAIN, code_from_message(smtp_server.messages[-1]))).ok
    assert sent.domain.domain == DOMAIN


async def test_unicode_domain_is_stored_in_both_forms(registry: Registry) -> None:
    sent = await registry.add("info@bücher.example")
    row = sent.domain
    assert (row.domain, row.domain_unicode) == ("xn--bcher-kva.example", "bücher.example")
    assert registry.get("BÜCHER.example").domain == "xn--bcher-kva.example"
    code = code_from_delivery(sent.delivered_to)
    assert (await registry.submit_code("bücher.example", code)).ok


async def test_duplicates_are_refused(registry: Registry) -> None:
    await registry.add(ADDRESS)
    with pytest.raises(AlreadyExists, match=r"already in the registry \(added by alice"):
        await registry.add("other@MAIL.example.com")


@pytest.mark.parametrize(
    "address",
    [
        "",
        "   ",
        "admin",
        "admin@",
        "@mail.example.com",
        "admin@mail",
        "a@b@mail.example.com",
        "admin@mail..example.com",
        "admin@-mail.example.com",
        "admin@192.0.2.1",
        "adm in@mail.example.com",
        "admin@mail.example.com\r\nBcc: x@evil.example",
        "admin\x1b[31m@mail.example.com",
        "x" * 5000 + "@mail.example.com",
    ],
)
async def test_bad_addresses_are_refused(registry: Registry, address: str) -> None:
    with pytest.raises(InvalidInput):
        await registry.add(address)
    assert registry.list_domains() == []


async def test_special_use_domains_need_the_test_environment(
    make_registry: MakeRegistry, registry_settings: Settings
) -> None:
    strict = make_registry("alice", settings=replace(registry_settings, test_environment=False))
    with pytest.raises(InvalidInput, match="not a valid email address"):
        await strict.add("admin@mail.test")
    relaxed = make_registry("alice")
    assert (await relaxed.add("admin@mail.test")).domain.domain == "mail.test"


async def test_unknown_and_malformed_domains(registry: Registry) -> None:
    with pytest.raises(NotFound, match=r"nosuch\.example is not in the registry"):
        registry.get("nosuch.example")
    with pytest.raises(NotFound):
        await registry.submit_code("nosuch.example", "ABCD-EFGH-JK")
    with pytest.raises(NotFound):
        await registry.resend("nosuch.example")
    with pytest.raises(NotFound):
        registry.remove("nosuch.example")
    with pytest.raises(NotFound):
        await registry.rotate_dkim("nosuch.example")
    for bad in ("", "not a domain", "exa mple.com", "nodot", "a\x1b.example", "x" * 300):
        with pytest.raises(InvalidInput):
            registry.get(bad)
        with pytest.raises(InvalidInput):
            await registry.submit_code(bad, "ABCD-EFGH-JK")


async def test_only_admins_change_things(make_registry: MakeRegistry) -> None:
    alice = make_registry("alice")
    sent = await alice.add(ADDRESS)
    bob = make_registry("bob")
    assert alice.is_admin and not bob.is_admin

    with pytest.raises(PermissionDenied, match="only admins can add domains; you are bob"):
        await bob.add("x@other.example")
    with pytest.raises(PermissionDenied, match="only admins can enter verification codes"):
        await bob.submit_code(DOMAIN, code_from_delivery(sent.delivered_to))
    with pytest.raises(PermissionDenied, match="only admins can resend codes"):
        await bob.resend(DOMAIN)
    with pytest.raises(PermissionDenied, match="only admins can remove domains"):
        bob.remove(DOMAIN)
    with pytest.raises(PermissionDenied, match="only admins can rotate DKIM keys"):
        await bob.rotate_dkim(DOMAIN)
    # reading is for everyone, and sees the admin's changes
    assert [r.domain for r in bob.list_domains()] == [DOMAIN]
    assert bob.get(DOMAIN).ownership is Ownership.PENDING
    assert bob.journal(DOMAIN)
    assert not bob.sender("news@mail.example.com").own_domain
    assert bob.report()


@pytest.mark.sqlite_only  # a second, new registry file (PostgreSQL: tests/integration/test_pg_*)
async def test_the_creator_of_a_new_registry_is_its_first_admin(
    make_registry: MakeRegistry, registry_settings: Settings, tmp_path: Path
) -> None:
    settings = replace(registry_settings, db_path=tmp_path / "new" / "registry.sqlite3")
    zoe = make_registry("zoe", settings=settings)
    yann = make_registry("yann", settings=settings)
    assert not zoe.is_admin and zoe.creator is None  # opening makes nobody an admin
    assert zoe.init() is True
    assert yann.init() is False  # one creator; a second init changes nothing
    yann.refresh_access()
    assert zoe.creator == yann.creator == "zoe"
    assert zoe.is_admin and not yann.is_admin
    assert zoe.admins == {"zoe"}
    # a settings file (per user, untrusted) grants nothing, and says so
    with_yann = make_registry("yann", settings=replace(settings, admins=("yann",)))
    assert with_yann.admins == {"zoe"} and not with_yann.is_admin
    assert with_yann.notices == [
        "the admins key in the settings is ignored: admins are kept in the registry now "
        "(mailauth-tui admin list); remove the key"
    ]


async def test_verification_is_shared_by_every_registry_on_the_file(
    make_registry: MakeRegistry,
) -> None:
    alice, other_service = make_registry("alice"), make_registry("svc")
    sent = await alice.add(ADDRESS)
    assert other_service.get(DOMAIN).ownership is Ownership.PENDING
    await alice.submit_code(DOMAIN, code_from_delivery(sent.delivered_to))
    assert other_service.get(DOMAIN).ownership is Ownership.VERIFIED


async def test_remove_deletes_keys_and_keeps_the_journal(
    registry: Registry, registry_settings: Settings, fake_clock: FakeClock
) -> None:
    sent = await registry.add(ADDRESS)
    check = await registry.submit_code(DOMAIN, code_from_delivery(sent.delivered_to))
    key_file = registry_settings.keys_dir / check.domain.dkim_keys[0].key_ref
    assert key_file.exists()
    registry.remove(DOMAIN)
    assert not key_file.exists()
    assert registry.list_domains() == []
    assert registry.journal(DOMAIN)[0].event == "removed"
    # the same domain can come back, with fresh keys
    fake_clock.advance(minutes=5)
    again = await registry.add(ADDRESS)
    check = await registry.submit_code(DOMAIN, code_from_delivery(again.delivered_to))
    assert check.ok and len(check.domain.dkim_keys) == 1


async def test_code_mail_with_a_bad_system_sender_is_refused_before_anything(
    make_registry: MakeRegistry, registry_settings: Settings
) -> None:
    registry = make_registry("alice", settings=replace(registry_settings, system_sender="x@y"))
    with pytest.raises(InvalidInput, match="cannot write the verification mail"):
        await registry.add(ADDRESS)
    assert registry.list_domains() == []


async def test_registry_needs_an_aware_clock(make_registry: MakeRegistry) -> None:
    registry = make_registry("alice", clock=lambda: datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        registry.list_domains()
