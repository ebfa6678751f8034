"""The registry's subcommands: the whole flow headless, exit codes, bad input, and several
processes on one database (concurrent code attempts, a re-check killed with SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.registry.codes import MAX_ATTEMPTS
from mailauth_tui.services.identity import os_login
from mailauth_tui.services.store import Store
from mailauth_tui.services.zoneserver import Zone, ZoneServer
from tests.fixtures.registry import (
    SENDING_INCLUDE,
    code_from_delivery,
    grant_admin,
    seed_verified,
)

DOMAIN = "mail.example.com"
ADDRESS = f"admin@{DOMAIN}"

CONFIG = f"""
system_sender = "noreply@corp.example"
test_environment = true
recheck_lease_seconds = 2   # a killed re-check's domains are taken over after 2 s

[sending]
include = "{SENDING_INCLUDE}"

[dkim]
key_type = "ed25519"
"""


@dataclass
class Cli:
    db: Path
    config: Path
    nameserver: str

    @property
    def common(self) -> list[str]:
        return [
            "--db",
            str(self.db),
            "--config",
            str(self.config),
            "--nameserver",
            self.nameserver,
            "--timeout",
            "2",
        ]

    def argv(self, *args: str) -> list[str]:
        return [*args, *self.common]

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """The real entry point in another process."""
        return subprocess.Popen(
            [sys.executable, "-m", "mailauth_tui", *self.argv(*args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


@pytest.fixture
def cli(
    tmp_path: Path, dns_server: ZoneServer, zone: Zone, capsys: pytest.CaptureFixture[str]
) -> Cli:
    zone.set(SENDING_INCLUDE, "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    cli = Cli(tmp_path / "reg" / "registry.sqlite3", config, dns_server.address)
    assert main(["init", *cli.common]) == 0  # whoever runs the tests is its admin
    capsys.readouterr()
    return cli


def run(capsys: pytest.CaptureFixture[str], cli: Cli, *args: str) -> tuple[int, str, str]:
    code = main(cli.argv(*args))
    out, err = capsys.readouterr()
    return code, out, err


def _delivery(out: str) -> str:
    line = next(line for line in out.splitlines() if "Maildir " in line)
    return line[line.index("Maildir ") :]


def test_the_whole_flow_headless(capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone) -> None:
    code, out, _ = run(capsys, cli, "add", ADDRESS)
    assert code == 0
    assert f"added {DOMAIN}" in out
    delivered = _delivery(out)
    assert str(cli.db.parent / "outbox") in delivered  # the user is told where the mail is
    secret = code_from_delivery(delivered)

    code, _, err = run(capsys, cli, "code", DOMAIN, "2222-2222-22")
    assert code == 1
    assert "wrong code (4 tries left)" in err
    code, out, _ = run(capsys, cli, "code", DOMAIN, secret)
    assert code == 0
    assert "ownership of mail.example.com is verified" in out

    code, out, _ = run(capsys, cli, "records", DOMAIN)
    assert code == 0
    assert "DKIM (required)" in out and "SPF (recommended)" in out
    assert f"  host:  _dmarc.{DOMAIN}" in out
    code, _, _ = run(capsys, cli, "verify", DOMAIN)
    assert code == 1  # nothing published yet

    code, zone_text, _ = run(capsys, cli, "records", DOMAIN, "--zone-file")
    assert code == 0
    assert zone_text.count(" IN TXT ") == 3
    zone.load_text(zone_text)  # what the admin pastes into the zone file
    code, out, _ = run(capsys, cli, "verify", DOMAIN)
    assert code == 0, out
    assert out.startswith(f"{DOMAIN}: verified")

    code, out, _ = run(capsys, cli, "list", "--json")
    [row] = json.loads(out)
    assert (row["domain"], row["ownership"], row["verified"]) == (DOMAIN, "verified", True)
    assert row["added_by"] == os_login()
    assert row["evidence"]["records"]["DKIM"]["state"] == "verified"
    code, out, _ = run(capsys, cli, "list")
    assert out.splitlines()[0].split() == [
        "DOMAIN",
        "OWNERSHIP",
        "DKIM",
        "SPF",
        "DMARC",
        "NEXT",
        "CHECK",
    ]

    code, out, err = run(capsys, cli, "sender", f"news@{DOMAIN}")
    assert (code, out.strip()) == (0, f"news@{DOMAIN}")
    assert "is verified" in err
    code, out, err = run(capsys, cli, "sender", "news@elsewhere.example")
    assert (code, out.strip()) == (0, "noreply@corp.example")
    assert "not in the registry" in err
    code, out, _ = run(capsys, cli, "bulk-check", DOMAIN)
    assert code == 0 and "bulk sending allowed" in out

    code, out, _ = run(capsys, cli, "report", "--json")
    assert [a["code"] for a in json.loads(out)] == ["dmarc_monitoring"]
    code, out, _ = run(capsys, cli, "recheck", "--all", "--json")
    assert code == 0
    assert json.loads(out)[0]["domain"]["domain"] == DOMAIN

    code, out, _ = run(capsys, cli, "rotate", DOMAIN)
    assert code == 0 and "keeps signing until the new key is verified" in out

    code, _, err = run(capsys, cli, "remove", DOMAIN)  # stdin is not a terminal here
    assert code == 2 and "confirm with --yes" in err
    code, out, _ = run(capsys, cli, "remove", DOMAIN, "--yes")
    assert code == 0
    code, out, err = run(capsys, cli, "list")
    assert out == "" and "no domains yet" in err


def test_bulk_check_refuses_without_dmarc(
    capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone
) -> None:
    _, out, _ = run(capsys, cli, "add", ADDRESS)
    run(capsys, cli, "code", DOMAIN, code_from_delivery(_delivery(out)))
    _, zone_text, _ = run(capsys, cli, "records", DOMAIN, "--zone-file")
    zone.load_text("\n".join(line for line in zone_text.splitlines() if "_dmarc" not in line))
    assert run(capsys, cli, "verify", DOMAIN)[0] == 0
    code, out, err = run(capsys, cli, "bulk-check", f"news@{DOMAIN}")
    assert code == 1
    assert "bulk sending refused" in err and "to do: publish a DMARC record" in err
    code, out, _ = run(capsys, cli, "report")
    assert "1 domain waiting for DMARC setup" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "nobody"), "is not a valid email address"),
        (("add", "admin@bad..example"), "is not a valid email address"),
        (("code", "nosuch.example", "ABCD-EFGH-JK"), "nosuch.example is not in the registry"),
        (("code", "not a domain", "ABCD-EFGH-JK"), "contains spaces"),
        (("resend", "nosuch.example"), "not in the registry"),
        (("records", "nosuch.example"), "not in the registry"),
        (("verify", "x.-bad-.example"), "invalid label"),
        (("remove", "nosuch.example", "--yes"), "not in the registry"),
        (("rotate", "nosuch.example"), "not in the registry"),
        (("sender", "x@@y"), "not a valid email address"),
        (("bulk-check", "exa mple"), "contains spaces"),
    ],
)
def test_bad_input_exits_1_with_a_message(
    capsys: pytest.CaptureFixture[str], cli: Cli, args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, cli, *args)
    assert code == 1
    assert message in err
    assert err.startswith("mailauth-tui: ")
    assert "Traceback" not in err


def test_control_characters_are_escaped_in_messages(
    capsys: pytest.CaptureFixture[str], cli: Cli
) -> None:
    code, _, err = run(capsys, cli, "add", "evil\x1b]0;pwned\x07@mail.example.com")
    assert code == 1
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b" in err


@pytest.mark.parametrize(
    "args",
    [
        ("code", DOMAIN),  # missing CODE
        ("recheck", "--due", "--all"),
        ("list", "--timeout", "abc"),
        ("list", "--timeout", "0"),
        ("frobnicate",),
    ],
)
def test_bad_usage_exits_2(cli: Cli, args: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(cli.argv(*args))
    assert exit_.value.code == 2


def test_bad_settings_and_paths(
    capsys: pytest.CaptureFixture[str], cli: Cli, tmp_path: Path
) -> None:
    assert main(["list", "--db", str(cli.db), "--config", str(tmp_path / "none.toml")]) == 2
    assert "no settings file at" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[smtp\nhost = 1", encoding="utf-8")
    assert main(["list", "--db", str(cli.db), "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "is not valid TOML" in err and "Traceback" not in err
    (tmp_path / "file").write_text("x")
    assert main(["add", ADDRESS, "--db", str(tmp_path / "file" / "r.db"), *cli.common[2:4]]) == 1
    assert "is a file, not a directory" in capsys.readouterr().err
    assert main(["list", "--nameserver", "not a server", *cli.argv()[:4]]) == 2
    assert "bad --nameserver" in capsys.readouterr().err


def test_options_before_the_command_are_kept(capsys: pytest.CaptureFixture[str], cli: Cli) -> None:
    assert main([*cli.common, "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli.db.exists()


def test_non_admins_are_refused(capsys: pytest.CaptureFixture[str], cli: Cli) -> None:
    with Store(cli.db) as store:
        grant_admin(store, "alice")
        with store.transaction() as tx:
            tx.remove_admin(os_login())  # someone else runs this registry
    code, _, err = run(capsys, cli, "add", ADDRESS)
    assert code == 1
    assert "only admins can add domains" in err and "admins are: alice" in err
    assert run(capsys, cli, "list")[0] == 0  # reading is allowed


# -- several processes --------------------------------------------------------------------


def _wait_all(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=60)
        out.append((p.returncode, stdout, stderr))
    return out


def test_one_process_adds_another_sees_it(cli: Cli) -> None:
    [(code, out, err)] = _wait_all([cli.spawn("add", ADDRESS)])
    assert code == 0, err
    [(code, out, err)] = _wait_all([cli.spawn("list", "--json")])
    assert code == 0, err
    assert [r["domain"] for r in json.loads(out)] == [DOMAIN]


def test_concurrent_wrong_codes_are_all_counted(
    capsys: pytest.CaptureFixture[str], cli: Cli
) -> None:
    assert run(capsys, cli, "add", ADDRESS)[0] == 0
    tries = MAX_ATTEMPTS + 1
    results = _wait_all([cli.spawn("code", DOMAIN, "2222-3333-44") for _ in range(tries)])
    assert all(code == 1 for code, _, _ in results), results
    assert sum("wrong code" in err for _, _, err in results) == MAX_ATTEMPTS
    assert sum("no longer works" in err for _, _, err in results) >= 1
    with Store(cli.db) as store:
        rec = store.get_domain(DOMAIN)
        events = [e.event for e in store.journal(DOMAIN)]
    assert rec is not None
    assert (rec.code_attempts, rec.ownership) == (MAX_ATTEMPTS, "locked")
    assert events.count("code_wrong") == MAX_ATTEMPTS - 1
    assert events.count("locked") == 1


def _checked(db: Path) -> int:
    conn = sqlite3.connect(db, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM journal WHERE event = 'check'").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def slow_dns(dns_server: ZoneServer) -> Iterator[ZoneServer]:
    dns_server.delay = 0.15
    yield dns_server
    dns_server.delay = 0.0


def test_a_recheck_killed_midway_keeps_what_it_committed(
    cli: Cli, zone: Zone, slow_dns: ZoneServer
) -> None:
    names = [f"d{i:02d}.example.org" for i in range(40)]
    before = datetime.now(UTC) - timedelta(minutes=5)
    with Store(cli.db) as store:
        seed_verified(store, zone, names, before)

    proc = cli.spawn("recheck", "--due")
    deadline = time.monotonic() + 30
    while _checked(cli.db) == 0:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no result committed in time"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(cli.db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Store(cli.db) as store:
        rows = store.list_domains()
        journal_checks = [e for e in store.journal(limit=1000) if e.event == "check"]
    done = [r for r in rows if r.last_check_at is not None and r.last_check_at > before]
    assert 1 <= len(done) < len(names)  # killed midway
    assert len(done) == len(journal_checks)  # every committed result is whole
    for row in done:
        assert json.loads(row.evidence)["records"]["DKIM"]["look"] == "good"
        assert row.next_check_at is not None and row.next_check_at > before + timedelta(hours=47)
    for row in rows:
        assert (row.dkim_state, row.ownership) == ("verified", "verified")

    # the next run finishes the rest, once the killed one's leases expired (2 s)
    slow_dns.delay = 0.0
    [(code, out, err)] = _wait_all([cli.spawn("recheck", "--due", "--json")])
    assert code == 0, err
    rest = json.loads(out)
    assert sorted(o["domain"]["domain"] for o in rest) == sorted(
        set(names) - {r.domain for r in done}
    )
