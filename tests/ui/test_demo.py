"""Demo mode: the sample world (every state), its hooks (publish into the zone, read the
outbox), the command line, and the two-minute walk a new user takes."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Input

from mailauth_tui.cli import tui_cmd
from mailauth_tui.cli.main import build_parser
from mailauth_tui.core.results import PublishRecord
from mailauth_tui.demo.hooks import read_maildir
from mailauth_tui.demo.session import DemoSession
from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.models import DmarcState, Ownership, RecordState
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.enter_code import EnterCodeScreen
from mailauth_tui.ui.screens.outbox import OutboxScreen
from mailauth_tui.ui.screens.records import RecordsScreen
from mailauth_tui.ui.screens.verify_result import VerifyResultScreen
from mailauth_tui.ui.widgets.outbox_panel import OutboxPanel
from tests.ui.domains_helpers import cell, domains_screen, plain, table_of, wait_until


def _record(kind: str, host: str, value: str) -> PublishRecord:
    return PublishRecord(kind, host, "TXT", value, (value,), "", required=kind == "DKIM")


def test_the_sample_world_has_every_state(ui_demo: DemoSession) -> None:
    rows = {r.domain_unicode: r for r in ui_demo.registry.list_domains()}
    assert rows["acme.example"].verified
    assert rows["acme.example"].dmarc_policy == "reject"
    assert rows["bücher.example"].domain == "xn--bcher-kva.example"
    assert rows["bücher.example"].dmarc_policy == "quarantine"
    assert rows["shop.example"].spf_state is RecordState.PENDING
    assert rows["shop.example"].dmarc_policy == "none"
    assert rows["blog.example"].dmarc_state is DmarcState.NOT_CONFIGURED
    assert rows["newsletter.example"].ownership is Ownership.PENDING
    assert rows["oldshop.example"].ownership is Ownership.EXPIRED
    assert rows["typo.example"].ownership is Ownership.LOCKED
    assert rows["legacy.example"].dkim_state is RecordState.FAILING
    assert rows["flaky.example"].dkim_state is RecordState.UNKNOWN
    assert rows["flaky.example"].dmarc_state is DmarcState.UNKNOWN
    # Re-checks are due for some, so the console's timer has something to show; the failing
    # domain is retried sooner than 48 h.
    due = {r.domain for r in ui_demo.registry.due_domains()}
    assert due == {"flaky.example", "shop.example", "legacy.example"}
    # The outbox keeps the one code still worth entering.
    mails = ui_demo.hooks.outbox()
    assert [m.to for m in mails] == ["marketing@newsletter.example"]


def test_publish_replaces_the_record_of_the_same_kind(tmp_path: Path) -> None:
    from mailauth_tui.demo.hooks import ZoneDemo

    zone = Zone()
    zone.add("a.example", "TXT", "v=spf1 -all")
    zone.add("a.example", "TXT", "site-verification=abc")
    demo = ZoneDemo(zone, tmp_path / "outbox")
    demo.publish(
        [
            _record("SPF", "a.example", "v=spf1 include:_spf.esp.example -all"),
            _record("DMARC", "_dmarc.a.example", "v=DMARC1; p=none"),
            _record("DKIM", "s1._domainkey.a.example", "v=DKIM1; k=ed25519; p=AAAA"),
        ]
    )
    assert sorted(zone.records("a.example", "TXT")) == [
        "site-verification=abc",
        "v=spf1 include:_spf.esp.example -all",
    ]
    assert zone.records("_dmarc.a.example", "TXT") == ["v=DMARC1; p=none"]
    demo.publish([_record("DMARC", "_dmarc.a.example", "v=DMARC1; p=reject")])
    assert zone.records("_dmarc.a.example", "TXT") == ["v=DMARC1; p=reject"]
    assert demo.outbox() == []  # no Maildir yet: an empty outbox, not an error


def test_outbox_reads_the_maildir_newest_first(ui_demo: DemoSession) -> None:
    mails = read_maildir(ui_demo.settings.maildir)
    assert len(mails) == 1
    assert "newsletter.example" in mails[0].subject
    assert re.search(r"^ {4}[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{2}$", mails[0].body, re.M)


def test_command_line_takes_demo() -> None:
    args = build_parser().parse_args(["--demo"])
    assert args.demo is True
    assert args.func is tui_cmd.run
    args = build_parser().parse_args([])
    assert args.demo is False


async def test_a_new_user_walks_the_demo(ui_demo: DemoSession) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "DEMO" in str(domains_screen(app).sub_title)
        await pilot.press("a")
        app.screen.query_one("#address", Input).value = "me@mycompany.example"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EnterCodeScreen))
        assert cell(app, "mycompany.example", "dmarc") == "DMARC unchecked"
        assert cell(app, "mycompany.example", "verified") == "… code"

        # Read the code in the outbox, over the code dialog.
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, OutboxScreen)
        mail = plain(app.screen.query_one(OutboxPanel).content, width=80)
        assert mail.index("me@mycompany.example") < mail.index("marketing@newsletter.example")
        code = re.search(r"^ {4}([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{2})", mail, re.M)
        assert code is not None
        await pilot.press("escape")
        assert isinstance(app.screen, EnterCodeScreen)

        app.screen.query_one("#code", Input).value = code[1]
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordsScreen))
        records = app.screen
        await wait_until(pilot, lambda: records.check_action("publish", ()) is True)
        await pilot.press("p", "v")
        await wait_until(pilot, lambda: isinstance(app.screen, VerifyResultScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is domains_screen(app))
        # At 80 columns the Verified cell stands for the Ownership column (left out).
        assert not table_of(app).shows("owner")
        assert cell(app, "mycompany.example", "verified") == "✔ yes"
        assert cell(app, "mycompany.example", "dkim") == "✔ verified"
        assert cell(app, "mycompany.example", "dmarc") == "DMARC configured"
        assert table_of(app).tooltip is not None
        assert "p=none" in str(table_of(app).tooltip)
    assert ui_demo.zone.records("_dmarc.mycompany.example", "TXT")
