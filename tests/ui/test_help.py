"""The help screen and the command palette list every action of the domain screen, from the
same catalogue as the key bindings."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.commands import DOMAIN_ACTIONS, DomainCommands, key_label
from mailauth_tui.ui.screens.domains import DomainsScreen
from mailauth_tui.ui.screens.help import HelpScreen
from tests.fixtures.ui import UiWorld
from tests.ui.domains_helpers import collect_notifications, domains_screen, plain, wait_until


def test_every_action_has_a_binding_and_a_method() -> None:
    keys = {b.key: b.action for b in DomainsScreen.BINDINGS if not isinstance(b, tuple)}
    for info in DOMAIN_ACTIONS:
        assert keys[info.key] == info.action
        assert callable(getattr(DomainsScreen, f"action_{info.action}"))


async def test_help_lists_every_key(ui_demo: DemoSession) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = plain(app.screen.query_one("#keys").content, width=100)  # type: ignore[attr-defined]
        for info in DOMAIN_ACTIONS:
            if info.zones_only:  # the demo asks no nameserver directly: not offered
                assert info.description[:40] not in keys
                continue
            assert f"{key_label(info)} " in keys
            assert info.description[:40] in keys
        assert "ctrl+o" in keys  # demo mode
        await pilot.press("escape")
        assert isinstance(app.screen, DomainsScreen)


async def test_palette_lists_every_action_and_runs_it(ui_world: UiWorld) -> None:
    ui_world.add_verified("shop.example")
    app = MailauthApp(ui_world.registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = domains_screen(app)
        provider = DomainCommands(screen)
        hits = [hit async for hit in provider.discover()]
        labels = {str(hit.prompt) for hit in hits}
        # Nor the nameservers' table: this session cannot ask them directly.
        expected = {
            info.label for info in DOMAIN_ACTIONS if not (info.demo_only or info.zones_only)
        }
        assert labels == expected
        # A disabled action is listed with its reason.
        code = next(h for h in hits if str(h.prompt) == "Code")
        assert "ownership of shop.example is already proven" in (code.help or "")

        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"sort")

        def sort_listed_first() -> bool:
            options = app.screen.query_one(CommandList)
            return options.option_count > 0 and "Sort" in str(options.get_option_at_index(0).prompt)

        await wait_until(pilot, sort_listed_first)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.pause()
        assert screen.table.sort_key.value == "status"


async def test_palette_refuses_a_read_only_action_with_the_reason(ui_world: UiWorld) -> None:
    ui_world.add_verified("shop.example")
    app = MailauthApp(ui_world.registry_for("bob"), clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        seen = collect_notifications(app)
        screen = domains_screen(app)
        hits = [hit async for hit in DomainCommands(screen).discover()]
        add = next(h for h in hits if str(h.prompt) == "Add")
        reason = (
            "read-only: bob is not an admin; admins are: alice; one of them gives you rights "
            "with: mailauth-tui admin add bob"
        )
        assert reason in (add.help or "")
        add.command()
        await pilot.pause()
        assert app.screen is screen
        assert seen == [reason]
