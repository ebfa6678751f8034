"""Read-only mode on the records screen: a reader (not an admin) is not told to verify (v is
only a dry run for them); an admin is."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.records import RecordCard, RecordsScreen
from tests.fixtures.ui import UiWorld
from tests.ui.domains_helpers import wait_until


@pytest.mark.parametrize("actor", ["alice", "bob"])
async def test_the_records_status_line_fits_who_reads_it(ui_world: UiWorld, actor: str) -> None:
    ui_world.add_verified("shop.example")
    registry = ui_world.registry if actor == "alice" else ui_world.registry_for(actor)
    app = MailauthApp(registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordsScreen))
        await wait_until(pilot, lambda: bool(app.screen.query(RecordCard)))
        status = str(app.screen.query_one("#status", Static).content)
        if actor == "alice":
            assert "then verify (v)" in status
        else:
            assert "verify" not in status
            assert status.startswith("Read-only: give these to an admin to publish")
            assert len(status) <= 76  # one line in the dialog at 80 columns
