"""The code dialog says where the code went when no SMTP server is configured (a local
Maildir), and warns that whoever can read that folder can read the code; mailed codes get no
such warning."""

from __future__ import annotations

from textual.widgets import Static

from mailauth_tui.registry.service import Registry
from mailauth_tui.services.mailer import SmtpMailer
from mailauth_tui.services.store import Store
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.enter_code import EnterCodeScreen
from tests.fixtures.ui import UiWorld
from tests.fixtures.ui_modals import screen_text
from tests.ui.domains_helpers import wait_until


async def test_maildir_delivery_is_shown_in_the_code_dialog(ui_world: UiWorld) -> None:
    await ui_world.registry.add("admin@mail.example.com")
    app = MailauthApp(ui_world.registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, EnterCodeScreen))
        await pilot.pause()
        warning = app.screen.query_one("#maildir", Static)
        assert warning.display
        text = str(warning.content)
        assert str(ui_world.settings.maildir) in text
        assert text.endswith("Whoever can read that folder can read the code.")
        drawn = " ".join(line.strip("│ ") for line in screen_text(app))
        assert "Whoever can read that folder can read the code." in drawn


async def test_mailed_codes_get_no_maildir_warning(ui_world: UiWorld) -> None:
    await ui_world.registry.add("admin@mail.example.com")
    store = Store(ui_world.settings.db)
    registry = Registry(
        store,
        ui_world.settings,
        SmtpMailer("smtp.example.com", 587, "starttls"),
        ui_world.keys,
        ui_world.resolver,
        clock=ui_world.clock,
        actor="alice",
    )
    assert registry.code_folder is None
    assert ui_world.registry.code_folder == ui_world.settings.maildir
    app = MailauthApp(registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, EnterCodeScreen))
        await pilot.pause()
        assert not app.screen.query_one("#maildir", Static).display
    store.close()
