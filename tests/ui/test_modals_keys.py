"""Keyboard behaviour of each modal: escape, confirm, report choice, record keys, and errors
turned into messages."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Input, Static

from mailauth_tui.registry.models import Ownership
from mailauth_tui.ui.screens.add_domain import AddDomainScreen
from mailauth_tui.ui.screens.confirm import ConfirmScreen
from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen
from mailauth_tui.ui.screens.enter_code import EnterCodeScreen
from mailauth_tui.ui.screens.records import RecordCard, RecordsScreen
from mailauth_tui.ui.screens.report import EMPTY, ReportScreen
from mailauth_tui.ui.screens.verify_result import VerifyResultScreen
from tests.fixtures.registry import code_from_message
from tests.fixtures.ui_modals import FlowWorld, screen_text

DOMAIN = "mail.example.com"

UNSET = object()


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.result: Any = UNSET

    def open(self, screen: Any) -> None:
        self.result = UNSET

        def keep(result: Any) -> None:
            self.result = result

        self.push_screen(screen, keep)


@pytest.fixture(autouse=True)
def _no_local_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mailauth_tui.ui.clipboard.copy_local", lambda text: False)


async def _owned(world: FlowWorld) -> None:
    await world.registry.add(f"admin@{DOMAIN}")
    code = code_from_message(world.smtp.messages[-1])
    assert (await world.registry.submit_code(DOMAIN, code)).ok


async def test_escape_dismisses_every_modal_with_none(flow_world: FlowWorld) -> None:
    registry = flow_world.registry
    await _owned(flow_world)
    outcome = await registry.verify(DOMAIN)
    await registry.add("admin@pending.example.org")
    screens = [
        AddDomainScreen(registry),
        EnterCodeScreen(registry, "pending.example.org"),
        RecordsScreen(registry, DOMAIN),
        VerifyResultScreen(outcome),
        DomainDetailScreen(registry, DOMAIN),
        ReportScreen(registry),
    ]
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        for screen in screens:
            app.open(screen)
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen is screen
            await pilot.press("escape")
            await pilot.pause()
            assert app.result is None, type(screen).__name__
            assert app.screen is not screen


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["escape"], False),
        (["n"], False),
        (["y"], True),
        (["enter"], False),  # focus starts on Cancel
        (["tab", "enter"], True),
        (["shift+tab", "enter"], True),
    ],
)
async def test_confirm(keys: list[str], expected: bool) -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(ConfirmScreen("Delete mail.example.com?", "Its keys go too.", "Delete"))
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        assert app.result is expected


async def test_report_enter_gives_the_domains_of_the_action(flow_world: FlowWorld) -> None:
    await flow_world.registry.add(f"admin@{DOMAIN}")
    actions = flow_world.registry.report()
    assert actions
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(ReportScreen(flow_world.registry))
        await pilot.pause()
        assert "waiting for ownership proof" in "\n".join(screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == actions[0].domains
        assert DOMAIN in app.result


async def test_report_when_nothing_to_do(flow_world: FlowWorld) -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(ReportScreen(flow_world.registry))
        await pilot.pause()
        assert EMPTY in "\n".join(screen_text(app))
        await pilot.press("enter", "escape")
        await pilot.pause()
        assert app.result is None


async def test_records_keys_copy_zone_form_and_no_publish_outside_demo(
    flow_world: FlowWorld,
) -> None:
    await _owned(flow_world)
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(RecordsScreen(flow_world.registry, DOMAIN))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RecordsScreen)
        cards = list(screen.query(RecordCard))
        assert app.focused is cards[0]

        await pilot.press("2")
        assert app.clipboard == cards[1].record.value
        assert app.focused is cards[1]
        await pilot.press("H")
        assert app.clipboard == DOMAIN

        await pilot.press("down", "c")
        assert app.clipboard == cards[2].record.value

        await pilot.press("z", "1")
        assert app.clipboard == cards[0].record.zone_line
        assert f"Zone line  {cards[0].record.host}. 3600 IN TXT" in "\n".join(screen_text(app))
        await pilot.press("z")
        assert "Zone line" not in "\n".join(screen_text(app))

        # Publishing into a zone is a demo stand-in: without demo hooks it is not offered.
        assert screen.check_action("publish", ()) is False
        await pilot.press("p")
        assert flow_world.zone.records(cards[0].record.host, "TXT") == []


async def test_records_short_host_key_copies_the_providers_host_and_says_which(
    flow_world: FlowWorld,
) -> None:
    await _owned(flow_world)
    app = Host()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.open(RecordsScreen(flow_world.registry, DOMAIN))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        cards = list(app.screen.query(RecordCard))
        await pilot.press("h")  # the DKIM record, focused first
        assert app.clipboard == cards[0].record.short_host
        assert app.clipboard.endswith("._domainkey.mail")  # mail.example.com in example.com
        await pilot.press("down", "down", "h")
        assert app.clipboard == "_dmarc.mail"
        # Said in the dialog's status line, not in a toast over the dialog.
        status = app.screen.query_one("#status", Static)
        assert str(status.content).startswith(
            "✔ Copied DMARC host '_dmarc.mail' (relative to example.com; "
            f"full name _dmarc.{DOMAIN}) (11 characters)"
        )
        assert not app._notifications
        assert "Host       _dmarc.mail" in "\n".join(screen_text(app))
        await pilot.press("H")
        assert app.clipboard == f"_dmarc.{DOMAIN}"
        assert str(status.content).startswith(
            f"✔ Copied DMARC full name ({len(DOMAIN) + 7} characters)"
        )


async def test_records_refused_before_ownership(flow_world: FlowWorld) -> None:
    await flow_world.registry.add(f"admin@{DOMAIN}")
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(RecordsScreen(flow_world.registry, DOMAIN))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = app.screen.query_one("#status", Static)
        assert str(status.content) == (
            f"✘ prove ownership of {DOMAIN} first: enter the code mailed to admin@{DOMAIN}"
        )
        assert app.screen.check_action("verify", ()) is None  # greyed out in the footer


async def test_unexpected_error_is_a_message_not_a_traceback(
    flow_world: FlowWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(address: str) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(flow_world.registry, "add", broken)
    app = Host()
    with caplog.at_level(logging.ERROR):
        async with app.run_test(size=(80, 24)) as pilot:
            app.open(AddDomainScreen(flow_world.registry))
            await pilot.pause()
            app.screen.query_one("#address", Input).value = f"admin@{DOMAIN}"
            await pilot.press("enter")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            problem = app.screen.query_one("#address-problem", Static)
            assert str(problem.content) == (
                "✘ internal error: RuntimeError: disk on fire (details in the log)"
            )
            assert "Traceback" not in "\n".join(screen_text(app))
            assert app.screen.query_one("#address", Input).disabled is False
            assert app.is_running
    assert any(record.exc_info for record in caplog.records)


async def test_enter_code_on_a_verified_domain_says_so(flow_world: FlowWorld) -> None:
    await _owned(flow_world)
    assert flow_world.registry.get(DOMAIN).ownership is Ownership.VERIFIED
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(EnterCodeScreen(flow_world.registry, DOMAIN))
        await pilot.pause()
        status = app.screen.query_one("#status", Static)
        assert str(status.content) == "✔ Ownership is already verified: no code is needed."
