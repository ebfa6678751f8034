"""The registry's subcommands: the whole flow headless, exit codes, bad input, several
processes on one database (concurrent code attempts, a re-check killed with SIGKILL), and
re-checks through an authoritative-only --nameserver."""

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
from typing import Any

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.registry.codes import MAX_ATTEMPTS
from mailauth_tui.services.dns import parse_nameserver
from mailauth_tui.services.identity import os_login
from mailauth_tui.services.store import Store
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
    return make_cli(tmp_path, dns_server, zone, capsys)


def make_cli(
    tmp_path: Path, dns_server: ZoneServer, zone: Zone, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """A registry made by ``init`` for the commands to run on (the ``cli`` fixture)."""
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
    assert f"  host:  _dmarc.{DOMAIN}  (at a DNS provider: _dmarc.mail)" in out
    code, out, _ = run(capsys, cli, "records", DOMAIN, "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(r["kind"], r["short_host"]) for r in listed][1:] == [
        ("SPF", "mail"),
        ("DMARC", "_dmarc.mail"),
    ]
    assert listed[0]["short_host"].endswith("._domainkey.mail")
    assert listed[0]["host"] == listed[0]["short_host"] + ".example.com"
    code, _, _ = run(capsys, cli, "verify", DOMAIN)
    assert code == 1  # nothing published yet

    code, zone_text, _ = run(capsys, cli, "records", DOMAIN, "--zone-file")
    assert code == 0
    assert zone_text.count(" IN TXT ") == 3
    assert "; SPF (recommended), host at a DNS provider: mail\n" in zone_text
    zone.load_text(zone_text)  # what the admin pastes into the zone file
    code, out, _ = run(capsys, cli, "verify", DOMAIN)
    assert code == 0, out
    assert out.startswith(f"{DOMAIN}: verified")
    assert "  DKIM self-test (mt" in out and "): passed" in out
    code, out, _ = run(capsys, cli, "verify", DOMAIN, "--json")
    [selftest] = json.loads(out)["selftests"]
    assert selftest["status"] == "passed" and selftest["fix"] == ""

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
    # The record to publish, the same starting record as `records` offers.
    assert f"  _dmarc.{DOMAIN} TXT v=DMARC1; p=none; rua=mailto:" in err
    code, out, _ = run(capsys, cli, "bulk-check", DOMAIN, "--json")
    record = json.loads(out)["record"]
    assert record["host"] == f"_dmarc.{DOMAIN}" and record["value"].startswith("v=DMARC1; p=none")
    records_out = json.loads(run(capsys, cli, "records", DOMAIN, "--json")[1])
    assert record["value"] == next(r["value"] for r in records_out if r["kind"] == "DMARC")
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

    proc = cli.spawn("recheck", "--due", "--concurrency", "4")  # a few results at a time
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


@pytest.mark.parametrize("args", [("list", "--json"), ("admin", "list", "--json"), ("--version",)])
def test_output_into_a_closed_pipe_ends_quietly(cli: Cli, args: tuple[str, ...]) -> None:
    assert into_a_closed_pipe(cli, *args) == (0, "")


def into_a_closed_pipe(cli: Cli, *args: str) -> tuple[int, str]:
    """The command's exit code and stderr, its stdout a pipe whose reader has gone."""
    read, write = os.pipe()
    os.close(read)  # as `mailauth-tui list --json | head -0` leaves it
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mailauth_tui", *cli.argv(*args)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    return proc.returncode, proc.stderr


def _dead_nameserver() -> str:
    """A loopback port where no DNS server listens: every look-up fails."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def test_a_recheck_without_any_answer_is_an_outage_not_a_pass(
    capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone
) -> None:
    with Store(cli.db) as store:
        seed_verified(store, zone, ["a.example.org", "b.example.org"], datetime.now(UTC))
    dead = Cli(cli.db, cli.config, _dead_nameserver())
    code, _, err = run(capsys, dead, "recheck", "--all")
    assert code == 3
    assert "re-checked 2 domains: 2 verified, 0 failing, 2 without any DNS answer" in err
    assert "no DNS look-up got an answer" in err and "Nothing was demoted" in err
    code, _, err = run(capsys, cli, "recheck", "--all")  # the real server answers again
    assert code == 0
    assert "re-checked 2 domains: 2 verified, 0 failing, 0 without any DNS answer" in err


def test_the_next_step_printed_keeps_the_registry_and_settings_given(
    capsys: pytest.CaptureFixture[str], cli: Cli, tmp_path: Path
) -> None:
    spaced = tmp_path / "my registry" / "r.sqlite3"
    assert main(["init", "--db", str(spaced), "--config", str(cli.config)]) == 0
    out = capsys.readouterr().out
    assert f"mailauth-tui add ADDRESS --db '{spaced}' --config {cli.config}" in out
    assert main(["add", ADDRESS, "--db", str(spaced), "--config", str(cli.config)]) == 0
    out = capsys.readouterr().out
    line = next(x.strip() for x in out.splitlines() if x.strip().startswith("mailauth-tui code"))
    assert line == f"mailauth-tui code {DOMAIN} CODE --db '{spaced}' --config {cli.config}"


def test_the_journal_says_who_changed_what_and_why(
    capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone
) -> None:
    with Store(cli.db) as store:
        seed_verified(store, zone, ["a.example.org"], datetime.now(UTC))
    zone.clear()  # the records are gone: the re-check says so in the journal
    assert run(capsys, cli, "recheck", "--all")[0] == 0
    code, out, _ = run(capsys, cli, "journal", "a.example.org")
    assert code == 0
    lines = out.splitlines()
    assert lines and all(f" UTC  {os_login()}  " in x for x in lines)  # who, when
    assert any("check: DKIM bad, SPF bad, DMARC bad" in x for x in lines)
    assert any("state: DKIM no DKIM record at" in x and "seen once" in x for x in lines)
    code, out, _ = run(capsys, cli, "journal", "--json", "--limit", "2")
    newest = json.loads(out)
    assert len(newest) == 2 and {e["domain"] for e in newest} == {"a.example.org"}
    code, out, _ = run(capsys, cli, "journal")
    assert f"(registry)  {os_login()}  admin_added: creator of the registry" in out
    with pytest.raises(SystemExit):
        main(cli.argv("journal", "--limit", "0"))


def _json(capsys: pytest.CaptureFixture[str], cli: Cli, *args: str) -> tuple[int, Any]:
    code, out, _ = run(capsys, cli, *args, "--json")
    return code, json.loads(out)


def test_every_step_speaks_json(capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone) -> None:
    code, init = _json(capsys, cli, "init")  # exists already (the fixture made it)
    assert (code, init["created"], init["admins"]) == (1, False, [os_login()])
    code, sent = _json(capsys, cli, "add", ADDRESS)
    assert code == 0 and sent["domain"]["ownership"] == "pending"
    assert sent["delivered_to"].startswith("Maildir ")
    code, wrong = _json(capsys, cli, "code", DOMAIN, "2222-2222-22")
    assert (code, wrong["ok"], wrong["attempts_left"]) == (1, False, MAX_ATTEMPTS - 1)
    code, right = _json(capsys, cli, "code", DOMAIN, code_from_delivery(sent["delivered_to"]))
    assert (code, right["ok"], right["domain"]["ownership"]) == (0, True, "verified")
    code, records = _json(capsys, cli, "records", DOMAIN)
    assert [(r["kind"], r["required"]) for r in records] == [
        ("DKIM", True),
        ("SPF", False),
        ("DMARC", False),
    ]
    assert {"host", "rtype", "value", "chunks", "zone_line", "note"} <= set(records[0])
    zone.load_text("\n".join(r["zone_line"] for r in records))
    code, verified = _json(capsys, cli, "verify", DOMAIN)
    assert (code, verified["dry_run"], verified["domain"]["verified"]) == (0, False, True)
    code, sender = _json(capsys, cli, "sender", f"news@{DOMAIN}")
    assert (code, sender["address"], sender["own_domain"]) == (0, f"news@{DOMAIN}", True)
    code, bulk = _json(capsys, cli, "bulk-check", DOMAIN)
    assert (code, bulk["allowed"]) == (0, True)
    code, rotated = _json(capsys, cli, "rotate", DOMAIN)
    assert code == 0 and len(rotated["dkim_keys"]) == 2
    code, removed = _json(capsys, cli, "remove", DOMAIN, "--yes")
    assert (code, removed) == (0, {"removed": DOMAIN})
    code, sent = _json(capsys, cli, "add", ADDRESS)
    # A refusal stays one line on stderr, with nothing on stdout for a script to misread.
    code, out, err = run(capsys, cli, "resend", DOMAIN, "--json")
    assert (code, out) == (1, "") and "wait" in err and len(err.splitlines()) == 1


@pytest.fixture
def authoritative_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ZoneServer, ZoneServer]]:
    """An authoritative-only server for the domain's zone (empty), and the resolver that knows
    every zone (empty), standing in for the system's (what /etc/resolv.conf names)."""
    with (
        ZoneServer(Zone(), recursion=False) as authoritative,
        ZoneServer(Zone()) as resolver,
    ):
        found = [parse_nameserver(resolver.address)]
        monkeypatch.setattr("mailauth_tui.services.dns._system_nameservers", lambda: found)
        yield authoritative, resolver


def test_recheck_and_verify_through_an_authoritative_only_nameserver(
    tmp_path: Path,
    authoritative_only: tuple[ZoneServer, ZoneServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Review of issue 17, finding 4: the registry's commands build the same resolver as
    # `check` (wiring.build_resolver): names outside the zone of an authoritative-only
    # --nameserver (the sending include, _dmarc.com) are asked of the system's resolver.
    authoritative, resolver = authoritative_only
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    db = tmp_path / "registry.sqlite3"
    common = Cli(db, config, authoritative.address).common
    assert main(["init", *common]) == 0
    with Store(db) as store:
        seed_verified(store, authoritative.zone, [DOMAIN], datetime.now(UTC) - timedelta(hours=1))
    # The sending service's include is in its own zone: the domain's server refuses it, as it
    # refuses _dmarc.com; the resolver has it.
    [include] = authoritative.zone.records(SENDING_INCLUDE, "TXT")
    authoritative.zone.clear_name(SENDING_INCLUDE)
    for name in (SENDING_INCLUDE, "_dmarc.com"):
        authoritative.zone.refuse(name)
    resolver.zone.set(SENDING_INCLUDE, "TXT", include)
    capsys.readouterr()

    code = main(["recheck", "--all", "--json", *common])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    [outcome] = json.loads(out)
    domain = outcome["domain"]
    assert (domain["dkim_state"], domain["spf_state"], domain["dmarc_state"]) == (
        "verified",
        "verified",
        "configured",
    )
    assert domain["evidence"]["unknown"] == []
    assert resolver.count(SENDING_INCLUDE) >= 1  # sent on, not judged on the refusal

    code = main(["verify", DOMAIN, *common])
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith(f"{DOMAIN}: verified"), out + err
