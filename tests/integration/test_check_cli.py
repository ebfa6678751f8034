"""`mailauth-tui check` end to end against the loopback zone server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailauth_tui.cli.main import build_check_parser, build_parser, command_name, main
from mailauth_tui.demo.zoneserver import Zone, ZoneServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(zone: Zone, dns_server: ZoneServer, dkim_2048: str) -> ZoneServer:
    """good.example is valid; weak.example has no DMARC and a revoked key."""
    zone.load_text(
        f"""
        $ORIGIN good.example.
        @              TXT "v=spf1 ip4:192.0.2.0/24 -all"
        _dmarc         TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@good.example"
        s1._domainkey  TXT "v=DKIM1; k=rsa; p={dkim_2048}"
        $ORIGIN weak.example.
        @              TXT "v=spf1 ip4:192.0.2.0/24 ~all"
        s1._domainkey  TXT "v=DKIM1; k=rsa; p="
        """
    )
    return dns_server


def run_check(server: ZoneServer, *args: str) -> int:
    return main(["check", "--nameserver", server.address, "--selector", "s1", *args])


def test_all_valid_exits_0_with_a_table(
    world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_check(world, "good.example") == 0
    out = capsys.readouterr().out
    head, row = out.splitlines()[:2]
    assert head.split() == ["DOMAIN", "SPF", "DKIM", "DMARC", "BIMI", "PROBLEMS"]
    assert row.split()[:5] == ["good.example", "valid", "valid", "p=quarantine", "missing"]
    assert "1 of 1 domains valid." in out


def test_any_invalid_exits_1_and_lists_problems_with_fixes(
    world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_check(world, "good.example", "weak.example") == 1
    out = capsys.readouterr().out
    assert "dkim.revoked" in out and "dmarc.missing" in out
    assert "fix: publish a TXT record at _dmarc.weak.example" in out
    assert out.index("good.example") < out.index("weak.example")


def test_without_a_selector_the_table_says_dkim_was_not_checked(
    world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--nameserver", world.address, "good.example"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split()[:3] == ["good.example", "valid", "-"]
    assert "DKIM was not checked: give --selector S" in out
    assert run_check(world, "good.example") == 0
    assert "DKIM was not checked" not in capsys.readouterr().out


def test_json_lines_have_the_documented_shape(
    world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_check(world, "--json", "weak.example", "good.example", "bad..example")
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    docs = [json.loads(line) for line in lines]
    assert [d["domain"] for d in docs] == ["weak.example", "good.example", "bad..example"]
    weak, good, bad = docs
    assert set(good) >= {"domain", "domain_unicode", "valid", "spf", "dkim", "dmarc", "bimi"}
    assert set(good["spf"]) >= {"status", "record", "lookups", "void_lookups", "problems"}
    assert set(good["dkim"][0]) >= {"selector", "status", "key_type", "key_bits", "problems"}
    assert set(good["dmarc"]) >= {
        "status",
        "record",
        "policy",
        "subdomain_policy",
        "effective_policy",
        "pct",
        "source_domain",
        "problems",
    }
    assert set(good["bimi"]) >= {"status", "record"}
    assert good["valid"] is True
    assert good["dkim"][0] | {"problems": []} == {
        "selector": "s1",
        "status": "valid",
        "host": "s1._domainkey.good.example",
        "record": good["dkim"][0]["record"],
        "key_type": "rsa",
        "key_bits": 2048,
        "cname_chain": [],
        "problems": [],
    }
    assert (good["dmarc"]["policy"], good["dmarc"]["pct"]) == ("quarantine", 100)
    assert weak["dkim"][0]["status"] == "revoked"
    assert weak["dmarc"]["status"] == "missing"
    for problem in weak["problems"]:
        assert set(problem) == {"code", "severity", "message", "fix"}
    assert {p["code"] for p in weak["problems"]} >= {"dkim.revoked", "dmarc.missing"}
    assert bad["valid"] is False
    assert [p["code"] for p in bad["problems"]] == ["domain.invalid"]
    assert bad["spf"]["status"] == "invalid"


def test_bad_domain_name_is_reported_not_a_traceback(
    world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # "--": a name starting with "-" would otherwise be read as an option.
    assert run_check(world, "not a domain", "192.0.2.1", "--", "-1.example") == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.out.count("domain.invalid") == 3


@pytest.mark.parametrize(
    "args",
    [
        ["check"],  # no domain at all
        ["check", "--concurrency", "0", "good.example"],
        ["check", "--timeout", "-1", "good.example"],
        ["check", "--nameserver", "dns.example.com", "good.example"],
        ["check", "--selector", "bad selector", "good.example"],
        ["check", "--file", "/nonexistent/domains.txt"],
        ["check", "--bogus", "good.example"],
    ],
)
def test_bad_usage_exits_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    assert code == 2
    captured = capsys.readouterr()
    assert captured.err and "Traceback" not in captured.err


def test_domains_from_a_file_and_stdin(
    world: ZoneServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("# our domains\ngood.example  # main\n\n  weak.example\n", encoding="utf-8")
    assert run_check(world, "--json", "--file", str(listing)) == 1
    assert [json.loads(x)["domain"] for x in capsys.readouterr().out.splitlines()] == [
        "good.example",
        "weak.example",
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("good.example\n"))
    assert run_check(world, "--json", "--file", "-") == 0


def test_dns_text_is_printed_with_controls_escaped(
    zone: Zone, world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    zone.add("evil.example", "TXT", "v=spf1 \x1b]52;c;cm0gLXJmIH4=\x07 -all")
    run_check(world, "evil.example")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]52" in out


def test_nameserver_and_timeout_given_before_the_subcommand(
    world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--nameserver", world.address, "--timeout", "1", "check", "good.example"])
    assert code == 0


def test_a_dns_timeout_is_unknown_and_quick(
    zone: Zone, world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    zone.drop("_dmarc.good.example")
    started = time.monotonic()
    code = run_check(world, "--json", "--timeout", "0.2", "good.example")
    elapsed = time.monotonic() - started
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["dmarc"]["status"] == "unknown"
    assert doc["spf"]["status"] == "valid"
    assert elapsed < 2.0  # 3 attempts of 0.2 s


def test_many_domains_concurrently(
    zone: Zone, world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(40):
        zone.add(f"d{i}.example", "TXT", "v=spf1 -all")
    world.delay = 0.05
    started = time.monotonic()
    code = run_check(world, "--json", "--concurrency", "50", *(f"d{i}.example" for i in range(40)))
    elapsed = time.monotonic() - started
    docs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 1  # no DMARC, no DKIM
    assert [d["domain"] for d in docs] == [f"d{i}.example" for i in range(40)]
    assert {d["spf"]["status"] for d in docs} == {"valid"}
    assert elapsed < 40 * 0.05  # far less than one domain after another


def test_wide_runs_report_as_narrow_ones(
    zone: Zone, world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every domain in flight at once, or 10 at a time: the same reports in the same order.
    names = [f"w{i}.example" for i in range(66)]
    zone.add("_spf.esp.example", "TXT", "v=spf1 ip4:198.51.100.0/24 -all")
    for i, name in enumerate(names):
        zone.add(name, "TXT", "v=spf1 include:_spf.esp.example ~all" if i % 2 else "v=spf1 -all")
        if i % 3:
            zone.add(f"_dmarc.{name}", "TXT", f"v=DMARC1; p=reject; rua=mailto:d@{name}")
        if i % 5 == 0:
            zone.add(f"default._bimi.{name}", "TXT", "v=BIMI1; l=https://x.example/l.svg")
    outputs = []
    for concurrency in (str(len(names)), "10"):
        assert run_check(world, "--json", "--concurrency", concurrency, *names) == 1
        outputs.append(capsys.readouterr().out)
    wide, narrow = outputs
    assert wide == narrow
    assert len(wide.splitlines()) == len(names)


def test_console_script_entry_point(world: ZoneServer) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailauth_tui",
            "check",
            "--json",
            "--nameserver",
            world.address,
            "--selector",
            "s1",
            "good.example",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["valid"] is True
    bad = subprocess.run(
        [sys.executable, "-m", "mailauth_tui", "check", "--concurrency", "x", "a.example"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "usage:" in bad.stderr


# --- a light start: `check` parses without the registry, the mailer or Textual -----------------


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["check", "a.example"], "check"),
        (["--nameserver", "127.0.0.1:53", "--timeout", "1", "check"], "check"),
        (["--nameserver=127.0.0.1:53", "--db", "x.db", "--demo", "check"], "check"),
        (["list", "--json"], "list"),
        (["--help", "check"], None),  # the full parser answers --help
        (["--name", "127.0.0.1", "check"], None),  # an abbreviation: let argparse read it
        (["--demo"], None),
        ([], None),
    ],
)
def test_command_name(argv: list[str], command: str | None) -> None:
    assert command_name(argv) == command


_CHECK_FIELDS = ("domains", "json", "selector", "file", "concurrency", "nameserver", "timeout")


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "a.example", "b.example"],
        ["check", "--json", "--selector", "s1", "--selector", "s2", "--file", "-", "x.example"],
        ["check", "--concurrency", "7", "--timeout", "2.5", "--nameserver", "127.0.0.1:5353"],
        ["--nameserver", "127.0.0.1:5353", "--timeout", "1", "check", "a.example"],
        ["--nameserver", "127.0.0.1", "check", "--nameserver", "127.0.0.2", "a.example"],
        ["--db", "r.db", "--config", "c.toml", "--demo", "check", "a.example"],
    ],
)
def test_the_check_parser_reads_a_command_line_as_the_full_parser_does(argv: list[str]) -> None:
    light = build_check_parser().parse_args(argv)
    full = build_parser().parse_args(argv)
    for name in _CHECK_FIELDS:
        assert getattr(light, name, None) == getattr(full, name, None), name
    assert light.func is full.func


def test_check_starts_without_the_registry_mailer_keys_or_textual() -> None:
    code = (
        "import sys\n"
        "from mailauth_tui.cli.main import main\n"
        "main(['check', '--json', '--nameserver', '127.0.0.1:9', 'not a domain'])\n"
        "heavy = ('mailauth_tui.registry', 'mailauth_tui.services.store', 'textual', "
        "'mailauth_tui.services.mailer', 'mailauth_tui.services.keys', 'email_validator', "
        "'sqlite3', 'aiosmtplib', 'cryptography', 'dns.resolver')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    lines = proc.stdout.splitlines()
    assert json.loads(lines[0])["problems"][0]["code"] == "domain.invalid"
    assert lines[-1] == "[]", proc.stderr
