# ruff: noqa: RUF001 - the badges are words with symbols, one of them an en dash
"""The domain screen driven by keys, against the loopback DNS server: cells after a verify,
badges changing in place, a bulk re-check that keeps answering keys, read-only refusals,
filter and sort, the DMARC tooltip, and DNS text shown literally."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from textual.widgets import Input, ProgressBar, Static

from mailauth_tui.core.dns_types import Answer, RType
from mailauth_tui.demo.session import DemoSession
from mailauth_tui.registry.models import VerifyOutcome
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.domains import EMPTY_ADMIN
from mailauth_tui.ui.screens.help import HelpScreen
from mailauth_tui.ui.screens.verify_result import VerifyResultScreen
from mailauth_tui.ui.widgets.domain_table import SortKey
from tests.fixtures.ui import UI_T0, UiWorld
from tests.ui.domains_helpers import (
    cell,
    collect_notifications,
    detail_text,
    domains_screen,
    table_of,
    wait_until,
)


def _app(world: UiWorld, actor: str = "alice") -> MailauthApp:
    registry = world.registry if actor == "alice" else world.registry_for(actor)
    return MailauthApp(registry, clock=world.clock, recheck_every=None)


def _select(app: MailauthApp, domain: str) -> None:
    table = table_of(app)
    table.move_cursor(row=table.get_row_index(domain), animate=False)


async def test_verify_shows_checking_then_the_answer(ui_world: UiWorld) -> None:
    ui_world.add_verified("shop.example", dmarc="v=DMARC1; p=quarantine")
    # DNS answers only once the test has looked at the row while it is being checked.
    answer = asyncio.Event()
    verify = ui_world.registry.verify

    async def held_verify(domain: str) -> VerifyOutcome:
        await answer.wait()
        return await verify(domain)

    ui_world.registry.verify = held_verify  # type: ignore[method-assign]
    app = _app(ui_world)
    async with app.run_test(size=(100, 30)) as pilot:
        assert cell(app, "shop.example", "dkim") == "– unchecked"
        await pilot.press("v")
        assert cell(app, "shop.example", "dkim") == "⟳ checking"
        assert cell(app, "shop.example", "spf") == "⟳ checking"
        assert cell(app, "shop.example", "dmarc") == "⟳ checking"
        assert cell(app, "shop.example", "owner") == "✔ verified"  # not a DNS state
        answer.set()
        await wait_until(pilot, lambda: cell(app, "shop.example", "dkim") != "⟳ checking")
        assert cell(app, "shop.example", "owner") == "✔ verified"
        assert cell(app, "shop.example", "dkim") == "✔ verified"
        assert cell(app, "shop.example", "spf") == "✔ verified"
        assert cell(app, "shop.example", "dmarc") == "DMARC configured"
        assert cell(app, "shop.example", "next") == "in 48h"
        # A verify the user asked for opens the result with the evidence.
        await wait_until(pilot, lambda: isinstance(app.screen, VerifyResultScreen))
        await pilot.press("escape")
        assert "p=quarantine" in detail_text(app)
    row = ui_world.registry.get("shop.example")
    assert row.verified
    assert row.dmarc_policy == "quarantine"


async def test_a_missing_record_is_pending_and_servfail_is_unknown(ui_world: UiWorld) -> None:
    ui_world.add_verified("nospf.example", spf=None, dmarc=None)
    ui_world.add_verified("flaky.example")
    ui_world.zone.servfail("flaky.example")
    ui_world.zone.servfail("_dmarc.flaky.example")
    app = _app(ui_world)
    async with app.run_test(size=(100, 30)) as pilot:
        for domain in ("nospf.example", "flaky.example"):
            _select(app, domain)
            await pilot.press("v")
            await wait_until(pilot, lambda: isinstance(app.screen, VerifyResultScreen))
            await pilot.press("escape")
        assert cell(app, "nospf.example", "dkim") == "✔ verified"
        assert cell(app, "nospf.example", "spf") == "… pending"
        assert cell(app, "nospf.example", "dmarc") == "DMARC not configured"
        assert cell(app, "flaky.example", "spf") == "? unknown"
        assert cell(app, "flaky.example", "dmarc") == "DMARC unknown"


async def test_bulk_recheck_changes_rows_in_place_and_keeps_answering_keys(
    ui_world: UiWorld,
) -> None:
    names = [f"d{i:02d}.example" for i in range(12)]
    for name in names:
        ui_world.add_verified(name, checked=UI_T0 - timedelta(hours=50), state="verified")
    # One domain at a time, and no answer before the test has seen the start.
    registry = ui_world.registry_for("alice", concurrency=1)
    ui_world.server.delay = 0.02
    answer = asyncio.Event()
    query = ui_world.resolver.query

    async def held_query(name: str, rtype: RType) -> Answer:
        await answer.wait()
        return await query(name, rtype)

    ui_world.resolver.query = held_query  # type: ignore[method-assign]
    app = MailauthApp(registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = domains_screen(app)
        table = table_of(app)
        rebuilds = 0
        original_rebuild = table.rebuild

        def counting_rebuild() -> None:
            nonlocal rebuilds
            rebuilds += 1
            original_rebuild()

        table.rebuild = counting_rebuild  # type: ignore[method-assign]
        await pilot.press("R")
        status = screen.query_one("#status", Static)
        bar = screen.query_one("#progress", ProgressBar)
        assert bar.display
        assert "re-checking 0/12" in str(status.content)
        assert {cell(app, n, "dkim") for n in names} == {"⟳ checking"}
        answer.set()

        # Some answers in, not all: the row badges change one by one, the rest still check.
        await wait_until(pilot, lambda: 0 < (bar.progress or 0) < 12, limit=20)
        done = int(bar.progress or 0)
        assert f"re-checking {done}/12" in str(status.content) or (bar.progress or 0) > done
        states = {cell(app, n, "dkim") for n in names}
        assert "⟳ checking" in states

        # Meanwhile keys are answered: the cursor moves and the filter opens.
        before = table.cursor_row
        await pilot.press("down")
        assert table.cursor_row == before + 1
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")

        await wait_until(pilot, lambda: not screen.recheck.running, limit=30)
        assert not bar.display
        assert "re-checking" not in str(status.content)
        assert {cell(app, n, "dkim") for n in names} == {"✔ verified"}
        assert {cell(app, n, "next") for n in names} == {"in 48h"}
        assert table.visible_domains() == names  # same rows, same order: changed in place
        assert rebuilds == 0
    assert all(r.last_check_at == UI_T0 for r in ui_world.registry.list_domains())


async def test_due_domains_are_rechecked_by_the_timer(ui_world: UiWorld) -> None:
    ui_world.add_verified("due.example", checked=UI_T0 - timedelta(hours=49), state="verified")
    ui_world.add_verified("fresh.example", checked=UI_T0 - timedelta(hours=2), state="verified")
    app = MailauthApp(ui_world.registry, clock=ui_world.clock, recheck_every=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        assert cell(app, "due.example", "next") == "due now"
        await wait_until(pilot, lambda: cell(app, "due.example", "next") == "in 48h")
        assert cell(app, "fresh.example", "next") == "in 46h"
    assert ui_world.registry.get("fresh.example").last_check_at == UI_T0 - timedelta(hours=2)


async def test_a_failed_bulk_recheck_ends_cleanly_and_says_why(
    ui_world: UiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    ui_world.add_verified("a.example", state="verified")

    async def broken(**_: object) -> list[VerifyOutcome]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ui_world.registry, "recheck", broken)
    app = _app(ui_world)
    async with app.run_test(size=(100, 30)) as pilot:
        seen = collect_notifications(app)
        screen = domains_screen(app)
        await pilot.press("R")
        await wait_until(pilot, lambda: not screen.recheck.running)
        await pilot.pause()
        assert not screen.query_one("#progress", ProgressBar).display
        assert cell(app, "a.example", "dkim") != "⟳ checking"
        assert any("internal error: RuntimeError: disk on fire" in m for m in seen)


async def test_read_only_mode_hides_changes_and_says_why(ui_world: UiWorld) -> None:
    ui_world.add_verified("shop.example")
    app = _app(ui_world, actor="bob")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        seen = collect_notifications(app)
        screen = domains_screen(app)
        assert str(screen.sub_title) == "read-only: bob is not an admin"
        reason = (
            "read-only: bob is not an admin; admins are: alice; one of them gives you rights "
            "with: mailauth-tui admin add bob"
        )
        # The write actions leave the footer (hidden, not greyed out).
        for action in ("add", "delete", "resend", "rotate", "code", "recheck_all"):
            assert screen.check_action(action, ()) is False, action
        # Reading stays possible: details, records, help, filter, and verify as a dry run.
        for action in ("detail", "records", "help", "filter", "sort", "verify"):
            assert screen.check_action(action, ()) is True, action
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show}
        assert "add" not in shown and "code" not in shown and "records" in shown
        await pilot.press("a")
        await pilot.pause()
        assert app.screen is screen  # no dialog opened: the key says why instead
        assert seen.count(reason) == 1
        # The command palette's entry refuses with the same reason.
        screen.palette_action("delete")
        assert seen.count(reason) == 2
        # verify: what DNS says now, in a dialog that says nothing was recorded
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, VerifyResultScreen))
        assert "Dry run" in str(app.screen.query_one("#dialog").border_title)
        assert cell(app, "shop.example", "dkim") == "– unchecked"
    assert ui_world.registry.get("shop.example").last_check_at is None
    assert [e.event for e in ui_world.registry.journal("shop.example")] == []


async def test_empty_state_says_how_to_start(ui_world: UiWorld) -> None:
    app = _app(ui_world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = domains_screen(app)
        empty = screen.query_one("#empty", Static)
        assert empty.display
        assert not table_of(app).display
        assert EMPTY_ADMIN in str(empty.content)
        assert screen.check_action("verify", ()) is None  # no row to verify
        await pilot.press("a")
        assert type(app.screen).__name__ == "AddDomainScreen"


async def test_filter_as_you_type_and_escape_clears(ui_demo: DemoSession) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        table = table_of(app)
        total = table.row_count
        await pilot.press("slash")
        box = domains_screen(app).query_one("#filter", Input)
        assert box.has_focus
        await pilot.press(*"acm")
        assert table.visible_domains() == ["acme.example"]
        box.value = "pending"  # a state word matches too
        await pilot.pause()
        assert set(table.visible_domains()) == {"newsletter.example", "shop.example"}
        box.value = "p=reject"
        await pilot.pause()
        assert table.visible_domains() == ["acme.example"]
        box.value = "nothing-like-this"
        await pilot.pause()
        empty = domains_screen(app).query_one("#empty", Static)
        assert empty.display
        assert "No domain matches" in str(empty.content)
        await pilot.press("escape")
        assert table.row_count == total
        assert not domains_screen(app).query_one("#filter-bar").display
        assert table.has_focus


async def test_sort_cycles_domain_status_next_check(ui_demo: DemoSession) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        table = table_of(app)
        by_domain = table.visible_domains()
        assert by_domain == sorted(by_domain, key=lambda d: table.domains[d].domain_unicode)
        await pilot.press("o")
        assert table.sort_key is SortKey.STATUS
        first = table.visible_domains()[0]
        assert table.domains[first].dkim_state.value == "failing"  # worst first
        assert table.visible_domains()[-1] in {
            "acme.example",
            "xn--bcher-kva.example",
            "blog.example",
        }
        await pilot.press("o")
        assert str(table.sort_key) == "next check"
        order = [table.domains[d].next_check_at for d in table.visible_domains()]
        scheduled = [t for t in order if t is not None]
        assert scheduled == sorted(scheduled)
        assert order[len(scheduled) :] == [None] * (len(order) - len(scheduled))
        await pilot.press("o")
        assert table.visible_domains() == by_domain


async def test_tooltip_and_detail_show_the_dmarc_policy(ui_demo: DemoSession) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    async with app.run_test(size=(100, 30), tooltips=True) as pilot:
        table = table_of(app)
        # Keyboard: the cursor row's policy, in the tooltip and in the detail panel.
        await pilot.press("home")
        assert table.current_domain() == "acme.example"
        assert table.tooltip is not None
        assert "DMARC configured: p=reject" in str(table.tooltip)
        assert "p=reject" in detail_text(app)
        _select(app, "xn--bcher-kva.example")
        await pilot.pause()
        assert "p=quarantine" in str(table.tooltip)
        text = detail_text(app)
        assert "bücher.example" in text and "xn--bcher-kva.example" in text
        assert "p=quarantine" in text
        # Mouse: the hovered row's policy, whatever the cursor row.
        row = table.get_row_index("shop.example")
        await pilot.hover(table, offset=(5, row + 1))
        await pilot.pause()
        assert "p=none" in str(table.tooltip)


async def test_dns_text_with_markup_and_control_characters_is_shown_literally(
    ui_world: UiWorld,
) -> None:
    ui_world.add_verified("evil.example")
    hostile = "v=DKIM1; k=ed25519; p=[bold red]x[/] [@click=app.quit]q[/] \x1b[31mred\x07"
    ui_world.zone.set("mt202506._domainkey.evil.example", "TXT", hostile)
    app = _app(ui_world)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, VerifyResultScreen))
        await pilot.press("escape")
        assert app.is_running  # [@click=app.quit] was not an action
        assert cell(app, "evil.example", "dkim") in {"… pending", "✘ failing"}
        text = detail_text(app)
        assert "[bold red]x[/]" in text
        assert "[@click=app.quit]q[/]" in text
        assert "\x1b" not in text and "\x07" not in text


async def test_rights_given_or_taken_meanwhile_show_at_once(ui_world: UiWorld) -> None:
    ui_world.add_verified("shop.example")
    app = _app(ui_world, actor="bob")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = domains_screen(app)
        assert screen.check_action("add", ()) is False
        ui_world.registry.admin_add("bob")  # alice, in her own console
        screen.refresh_rights()  # what the screen's timer does every couple of seconds
        await pilot.pause()
        assert screen.check_action("add", ()) is True
        assert str(screen.sub_title) == ""
        ui_world.registry.admin_remove("bob")
        await pilot.press("a")  # refused with the rights as they are now, not as they were
        await pilot.pause()
        assert app.screen is screen
        assert str(screen.sub_title) == "read-only: bob is not an admin"
