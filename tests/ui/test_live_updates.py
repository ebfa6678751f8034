"""An open console shows what another process (or host) commits, within 2 s and without a
re-check: SQLite's ``PRAGMA data_version``, PostgreSQL's LISTEN/NOTIFY. The change is made by
a separate Python process writing through its own store, as a second admin's CLI would."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from textual.pilot import Pilot

from mailauth_tui.registry.models import RecordState
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.mailer import MaildirMailer
from mailauth_tui.ui.app import MailauthApp
from tests.fixtures.postgres import PgDatabase
from tests.fixtures.ui import UiWorld
from tests.ui.domains_helpers import table_of

# What the other process does: mark a.example.org's DKIM failing, add b.example.org.
_CHANGE = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from mailauth_tui.services.pg_store import PgStore
from mailauth_tui.services.store import Store
target = sys.argv[1]
store = PgStore(target) if target.startswith("postgresql://") else Store(Path(target))
with store.transaction() as tx:
    tx.update_domain("a.example.org", {"dkim_state": "failing"})
    tx.insert_domain(domain="b.example.org", domain_unicode="b.example.org",
                     address="postmaster@b.example.org", added_by="bob",
                     added_at=datetime.now(UTC), ownership="pending")
store.close()
"""

WITHIN_S = 2.0


def _change_elsewhere(target: str) -> None:
    subprocess.run([sys.executable, "-c", _CHANGE, target], check=True, timeout=60)


async def _seen_within(pilot: Pilot[None], app: MailauthApp, limit: float) -> float:
    """Seconds until the table shows the other process's change (fails past ``limit``)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    table = table_of(app)

    def shown() -> bool:
        a = table.domains.get("a.example.org")
        return (
            "b.example.org" in table.domains
            and a is not None
            and a.dkim_state == RecordState.FAILING
        )

    while not shown():
        assert loop.time() - start < limit, "the console did not show the change in time"
        await pilot.pause(0.05)
    return loop.time() - start


async def test_sqlite_a_change_by_another_process_shows_within_two_seconds(
    ui_world: UiWorld,
) -> None:
    ui_world.add_verified("a.example.org")
    app = MailauthApp(ui_world.registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert set(table_of(app).domains) == {"a.example.org"}
        _change_elsewhere(str(ui_world.settings.db))
        await _seen_within(pilot, app, WITHIN_S)


async def test_postgresql_a_change_by_another_host_shows_within_two_seconds(
    pg_database: PgDatabase, ui_world: UiWorld, tmp_path: Path
) -> None:
    pg_database.login("alice", pg_database.roles.admin)
    store = pg_database.store("alice")
    with store.transaction() as tx:
        tx.add_admin("alice", "alice", ui_world.clock())
        tx.insert_domain(
            domain="a.example.org",
            domain_unicode="a.example.org",
            address="postmaster@a.example.org",
            added_by="alice",
            added_at=ui_world.clock(),
            ownership="verified",
        )
    registry = Registry(
        store,
        ui_world.settings,
        MaildirMailer(tmp_path / "outbox"),
        ui_world.keys,
        ui_world.resolver,
        clock=ui_world.clock,
        actor="alice",
    )
    app = MailauthApp(registry, clock=ui_world.clock, recheck_every=None)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert set(table_of(app).domains) == {"a.example.org"}
            await pilot.pause(0.3)  # the listener's connection is up
            _change_elsewhere(pg_database.url("alice"))
            await _seen_within(pilot, app, WITHIN_S)
    finally:
        store.close()
