"""The whole workflow, modal by modal, against loopback DNS and SMTP with a real registry:
add an address, read the code the SMTP server received, a wrong code then the right one, the
records, copy, publish, verify, and the result."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Input, Static

from mailauth_tui.registry.codes import MAX_ATTEMPTS, format_code
from mailauth_tui.registry.models import (
    CodeCheck,
    CodeSent,
    DmarcState,
    Ownership,
    RecordState,
    VerifyOutcome,
)
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.add_domain import AddDomainScreen
from mailauth_tui.ui.screens.domains import DomainsScreen
from mailauth_tui.ui.screens.enter_code import EnterCodeScreen
from mailauth_tui.ui.screens.records import RecordCard, RecordsScreen
from mailauth_tui.ui.screens.verify_result import VerifyResultScreen
from mailauth_tui.ui.widgets.domain_table import DomainTable
from tests.fixtures.registry import code_from_message
from tests.fixtures.ui_modals import FlowWorld, screen_text

ADDRESS = "admin@mail.example.com"
DOMAIN = "mail.example.com"


class Host(App[None]):
    """Stands in for the console under the modals; collects each modal's result."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[Any] = []

    def open(self, screen: Any) -> None:
        self.push_screen(screen, self.results.append)


async def settle(app: App[Any], pilot: Any) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def type_text(pilot: Any, text: str) -> None:
    """Key by key, as a user types (about 60 ms a key under Pilot)."""
    await pilot.press(*text)


async def fill(app: App[Any], pilot: Any, text: str) -> None:
    """Put ``text`` in the focused Input at once: for tests not about typing itself."""
    focused = app.focused
    assert isinstance(focused, Input)
    focused.value = text
    await pilot.pause()


def problem_of(app: App[Any]) -> str:
    return str(app.screen.query_one("#code-problem", Static).content)


def text_of(app: App[Any]) -> str:
    return "\n".join(screen_text(app))


@pytest.fixture(autouse=True)
def _no_local_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's own clipboard stays out of the tests: OSC 52 (app.clipboard) only.
    monkeypatch.setattr("mailauth_tui.ui.clipboard.copy_local", lambda text: False)


async def wait_for(pilot: Any, condition: Any, seconds: float = 10) -> None:
    """Let the app run until ``condition()`` holds: the console's step flow is a worker that
    waits on each modal, so waiting for all workers to finish would wait forever."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not condition():
        assert loop.time() < end, "timed out waiting for the console"
        await pilot.pause(0.02)


def table_cell(app: MailauthApp, domain: str, column: str) -> str:
    screen = next(s for s in app.screen_stack if isinstance(s, DomainsScreen))
    return screen.query_one(DomainTable).get_cell(domain, column).plain


async def test_whole_flow_through_the_console(flow_world: FlowWorld) -> None:
    registry = flow_world.registry
    app = MailauthApp(registry, demo=flow_world.demo, clock=flow_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        # 1. Add: `a` on the domain table; the sending domain is previewed while typing.
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AddDomainScreen))
        assert isinstance(app.focused, Input) and app.focused.id == "address"
        await type_text(pilot, ADDRESS)
        assert "Sending domain: mail.example.com" in text_of(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EnterCodeScreen))
        assert table_cell(app, DOMAIN, "owner") == "… pending"

        # The code arrived at the SMTP server, addressed to the organisation address.
        assert len(flow_world.smtp.messages) == 1
        mail = flow_world.smtp.messages[0]
        assert mail["To"] == ADDRESS
        code = code_from_message(mail)
        assert code == format_code(flow_world.codes[0])

        # 2. Enter code: a wrong code costs a try and stays; the right one goes on.
        assert app.focused is not None and app.focused.id == "code"
        assert f"Tries left    {MAX_ATTEMPTS} of {MAX_ATTEMPTS}" in text_of(app)
        await fill(app, pilot, format_code(flow_world.codes[1]))
        await pilot.press("enter")
        await wait_for(pilot, lambda: registry.get(DOMAIN).code_attempts == 1)
        await wait_for(pilot, lambda: "✘ wrong code" in problem_of(app))
        assert isinstance(app.screen, EnterCodeScreen)
        assert problem_of(app) == f"✘ wrong code ({MAX_ATTEMPTS - 1} tries left)"
        assert f"Tries left    {MAX_ATTEMPTS - 1} of {MAX_ATTEMPTS}" in text_of(app)

        # Typed in lower case with spaces: still the code.
        await fill(app, pilot, code.lower().replace("-", " "))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordsScreen))
        assert registry.get(DOMAIN).ownership is Ownership.VERIFIED

        # 3. Records: DKIM, SPF, DMARC; copy the DKIM value with one key; publish; verify.
        await wait_for(pilot, lambda: len(app.screen.query(RecordCard)) == 3)
        cards = list(app.screen.query(RecordCard))
        assert [c.record.kind for c in cards] == ["DKIM", "SPF", "DMARC"]
        dkim = cards[0].record
        assert dkim.required and dkim.host.endswith(f"._domainkey.{DOMAIN}")
        await pilot.press("1")
        assert app.clipboard == dkim.value
        await pilot.press("3", "H")
        assert app.clipboard == f"_dmarc.{DOMAIN}"
        await pilot.press("p")
        await pilot.pause()
        assert flow_world.zone.records(dkim.host, "TXT") == [dkim.value]
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyResultScreen))

        # 4. Result: DKIM verified, the domain verified; the table and the registry agree.
        shown = text_of(app)
        assert "DKIM  ✔ verified" in shown
        assert "✔ domain verified" in shown
        row = registry.get(DOMAIN)
        assert row.verified
        assert row.dkim_state is RecordState.VERIFIED
        assert row.spf_state is RecordState.VERIFIED
        assert row.dmarc_state is DmarcState.CONFIGURED
        events = [entry.event for entry in registry.journal(DOMAIN)]
        assert {"added", "code_sent", "code_wrong", "code_ok", "check"} <= set(events)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen))
        assert table_cell(app, DOMAIN, "dkim") == "✔ verified"
        assert table_cell(app, DOMAIN, "spf") == "✔ verified"


async def test_each_modal_returns_its_result(flow_world: FlowWorld) -> None:
    """The same steps with the modals pushed one by one: each gives its typed result."""
    registry = flow_world.registry
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open(AddDomainScreen(registry))
        await pilot.pause()
        await fill(app, pilot, ADDRESS)
        await pilot.press("enter")
        await settle(app, pilot)
        sent = app.results.pop()
        assert isinstance(sent, CodeSent) and sent.domain.domain == DOMAIN
        assert "127.0.0.1" in sent.delivered_to
        code = code_from_message(flow_world.smtp.messages[-1])

        app.open(EnterCodeScreen(registry, DOMAIN))
        await pilot.pause()
        await fill(app, pilot, code)
        await pilot.press("enter")
        await settle(app, pilot)
        check = app.results.pop()
        assert isinstance(check, CodeCheck) and check.ok and check.attempts_left == 0

        app.open(RecordsScreen(registry, DOMAIN, demo=flow_world.demo))
        await settle(app, pilot)
        await pilot.press("p", "v")
        await settle(app, pilot)
        outcome = app.results.pop()
        assert isinstance(outcome, VerifyOutcome) and outcome.domain.verified

        app.open(VerifyResultScreen(outcome))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.results.pop() is None


async def test_add_refusal_is_shown_inline_and_the_input_kept(flow_world: FlowWorld) -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(AddDomainScreen(flow_world.registry))
        await pilot.pause()
        await fill(app, pilot, ADDRESS)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.results.pop(), CodeSent)

        app.open(AddDomainScreen(flow_world.registry))
        await pilot.pause()
        await fill(app, pilot, "other@mail.example.com")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.results == []
        screen = app.screen
        assert isinstance(screen, AddDomainScreen)
        problem = screen.query_one("#address-problem", Static)
        assert str(problem.content).startswith("✘ mail.example.com is already in the registry")
        address = screen.query_one("#address", Input)
        assert address.value == "other@mail.example.com" and not address.disabled
        assert app.focused is address


async def test_invalid_address_is_not_sent(flow_world: FlowWorld) -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open(AddDomainScreen(flow_world.registry))
        await pilot.pause()
        await fill(app, pilot, "admin@localhost")
        assert "✘ domain has no dot" in text_of(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.results == []
        assert flow_world.smtp.messages == []
        assert flow_world.registry.list_domains() == []


async def test_locked_code_says_resend_and_resend_is_rate_limited(flow_world: FlowWorld) -> None:
    registry = flow_world.registry
    await registry.add(ADDRESS)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open(EnterCodeScreen(registry, DOMAIN))
        await pilot.pause()
        for _ in range(MAX_ATTEMPTS):
            await fill(app, pilot, format_code(flow_world.codes[1]))
            await pilot.press("enter")
            await settle(app, pilot)
        assert registry.get(DOMAIN).ownership is Ownership.LOCKED
        assert problem_of(app) == (
            f"✘ wrong code; {MAX_ATTEMPTS} wrong tries: this code no longer works. "
            "Send a new code with ctrl+r."
        )

        # The first code was mailed just now (the clock has not moved): one a minute.
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert problem_of(app).startswith(
            "✘ a code was sent to admin@mail.example.com less than a minute ago: wait 60 s"
        )
        assert len(flow_world.smtp.messages) == 1

        flow_world.clock.advance(minutes=2)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert len(flow_world.smtp.messages) == 2
        assert "✔ a new code was sent to admin@mail.example.com" in text_of(app)
        assert f"Tries left    {MAX_ATTEMPTS} of {MAX_ATTEMPTS}" in text_of(app)
        new_code = code_from_message(flow_world.smtp.messages[1])
        await fill(app, pilot, new_code)
        await pilot.press("enter")
        await settle(app, pilot)
        check = app.results.pop()
        assert isinstance(check, CodeCheck) and check.ok
