"""Snapshots of every step modal over the real console (the demo world on a fixed clock, with
seeded keys and frozen codes), at 100x30 and at the 80x24 an SSH session starts with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from mailauth_tui.core.publish import dkim_publish
from mailauth_tui.core.results import PublishRecord
from mailauth_tui.registry.service import Registry
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.add_domain import AddDomainScreen
from mailauth_tui.ui.screens.confirm import ConfirmScreen
from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen
from mailauth_tui.ui.screens.enter_code import EnterCodeScreen
from mailauth_tui.ui.screens.records import RecordsScreen
from mailauth_tui.ui.screens.report import ReportScreen
from mailauth_tui.ui.screens.verify_result import VerifyResultScreen
from mailauth_tui.ui.widgets.domain_table import DomainTable
from tests.fixtures.ui_modals import RSA_2048_PUBLIC, ModalDemo

SIZES = [pytest.param((100, 30), id="100x30"), pytest.param((80, 24), id="80x24")]

Make = Callable[[MailauthApp], Screen[Any]]
Then = Callable[[Pilot[None]], Awaitable[None]]


def _app(demo: ModalDemo) -> MailauthApp:
    session = demo.session
    return MailauthApp(
        session.registry, demo=session.hooks, clock=session.clock, recheck_every=None
    )


def _open(make: Make, then: Then | None = None) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, MailauthApp)
        await pilot.pause()
        await app.workers.wait_for_complete()
        # The table under the modal picks its column widths from its size and rows; redraw
        # it once both are settled so the background does not depend on which came first.
        app.screen.query_one(DomainTable).rebuild()
        await pilot.pause()
        app.push_screen(make(app))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if then is not None:
            await then(pilot)
        for box in app.screen.query(Input):
            box.cursor_blink = False  # a blinking cursor would make the snapshot flicker
        await pilot.pause()

    return run_before


def _type(value: str) -> Then:
    async def then(pilot: Pilot[None]) -> None:
        pilot.app.screen.query_one(Input).value = value
        await pilot.pause()

    return then


@pytest.mark.parametrize("size", SIZES)
def test_add_domain_previews_the_idn_sending_domain(
    snap_compare: Any, modal_demo: ModalDemo, size: tuple[int, int]
) -> None:
    run = _open(lambda app: AddDomainScreen(app.registry), _type("ops@mail.bücher.example"))
    assert snap_compare(_app(modal_demo), terminal_size=size, run_before=run)


def test_add_domain_inline_error(snap_compare: Any, modal_demo: ModalDemo) -> None:
    run = _open(lambda app: AddDomainScreen(app.registry), _type("admin@localhost"))
    assert snap_compare(_app(modal_demo), terminal_size=(80, 24), run_before=run)


@pytest.fixture
def fixed_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """The code dialog names the Maildir, a temporary directory here: a fixed one instead."""
    from pathlib import Path

    from mailauth_tui.registry.service import Registry

    folder = Path("/var/lib/mailauth-tui/outbox")
    monkeypatch.setattr(Registry, "code_folder", property(lambda _self: folder))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.usefixtures("fixed_outbox")
def test_enter_code_pending(
    snap_compare: Any, modal_demo: ModalDemo, size: tuple[int, int]
) -> None:
    run = _open(lambda app: EnterCodeScreen(app.registry, "newsletter.example"))
    assert snap_compare(_app(modal_demo), terminal_size=size, run_before=run)


@pytest.mark.usefixtures("fixed_outbox")
def test_enter_code_locked(snap_compare: Any, modal_demo: ModalDemo) -> None:
    run = _open(lambda app: EnterCodeScreen(app.registry, "typo.example"))
    assert snap_compare(_app(modal_demo), terminal_size=(80, 24), run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_records(snap_compare: Any, modal_demo: ModalDemo, size: tuple[int, int]) -> None:
    run = _open(lambda app: RecordsScreen(app.registry, "shop.example", app.demo))
    assert snap_compare(_app(modal_demo), terminal_size=size, run_before=run)


def test_records_zone_form(snap_compare: Any, modal_demo: ModalDemo) -> None:
    async def zone_form(pilot: Pilot[None]) -> None:
        await pilot.press("z")

    run = _open(lambda app: RecordsScreen(app.registry, "shop.example", app.demo), zone_form)
    assert snap_compare(_app(modal_demo), terminal_size=(80, 24), run_before=run)


class _RsaRecords:
    """shop.example's records as the registry gives them, with a 2048-bit RSA DKIM key in
    place of the demo's short Ed25519 one: the longest value the screen has to hold."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    async def records(self, domain: str) -> list[PublishRecord]:
        records = await self._registry.records(domain)
        dkim = dkim_publish(domain, "mt202505", "rsa", RSA_2048_PUBLIC)
        return [dkim, *records[1:]]


@pytest.mark.parametrize("size", SIZES)
def test_records_rsa_2048(snap_compare: Any, modal_demo: ModalDemo, size: tuple[int, int]) -> None:
    def make(app: MailauthApp) -> Screen[Any]:
        return RecordsScreen(cast(Registry, _RsaRecords(app.registry)), "shop.example", app.demo)

    assert snap_compare(_app(modal_demo), terminal_size=size, run_before=_open(make))


@pytest.mark.parametrize("size", SIZES)
def test_verify_result_failing_dkim(
    snap_compare: Any, modal_demo: ModalDemo, size: tuple[int, int]
) -> None:
    run = _open(lambda app: VerifyResultScreen(modal_demo.failing_outcome))
    assert snap_compare(_app(modal_demo), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_domain_detail(snap_compare: Any, modal_demo: ModalDemo, size: tuple[int, int]) -> None:
    run = _open(lambda app: DomainDetailScreen(app.registry, "xn--bcher-kva.example"))
    assert snap_compare(_app(modal_demo), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_confirm_delete(snap_compare: Any, modal_demo: ModalDemo, size: tuple[int, int]) -> None:
    message = (
        "Remove acme.example from the registry? Its DKIM private keys are deleted; "
        "the journal is kept."
    )
    run = _open(lambda app: ConfirmScreen("Delete acme.example", message, "Delete"))
    assert snap_compare(_app(modal_demo), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_report(snap_compare: Any, modal_demo: ModalDemo, size: tuple[int, int]) -> None:
    run = _open(lambda app: ReportScreen(app.registry))
    assert snap_compare(_app(modal_demo), terminal_size=size, run_before=run)
