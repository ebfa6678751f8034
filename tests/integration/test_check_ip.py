"""`mailauth-tui check --ip ADDR [--helo NAME]`: check_host for sending addresses, in the
table and per address in --json, over the loopback zone server."""

from __future__ import annotations

import json

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from tests.integration.test_check_cli import run_check, world

__all__ = ["world"]  # the zone fixture, used by name


def reports(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_check_ip_evaluates_check_host_per_address(
    world: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ips = ("--ip", "192.0.2.7", "--ip", "198.51.100.1")
    assert run_check(world, "good.example", *ips, "--json") == 1  # one is not authorised
    (report,) = reports(capsys.readouterr().out)
    spf = report["spf"]
    assert isinstance(spf, dict)
    sources = {s["source"]: s for s in spf["sources"]}
    assert (sources["192.0.2.7"]["result"], sources["192.0.2.7"]["mechanism"]) == (
        "pass",
        "ip4:192.0.2.0/24",
    )
    assert (sources["198.51.100.1"]["result"], sources["198.51.100.1"]["mechanism"]) == (
        "fail",
        "-all",
    )
    problems = report["problems"]
    assert isinstance(problems, list)
    assert "spf.source_not_authorized" in {p["code"] for p in problems}

    assert run_check(world, "good.example", "--ip", "192.0.2.7") == 0
    out = capsys.readouterr().out
    assert "check_host(192.0.2.7): pass: matched 'ip4:192.0.2.0/24'" in out


def test_check_helo_reaches_the_macros(
    world: ZoneServer, zone: Zone, capsys: pytest.CaptureFixture[str]
) -> None:
    # Authorised only when the HELO name has an A record under allowed.helo.example.
    zone.add("helo.example", "TXT", "v=spf1 exists:%{h}.allowed.helo.example -all")
    zone.add("mx.helo.example.allowed.helo.example", "A", "192.0.2.1")
    args = ("helo.example", "--ip", "192.0.2.9", "--json")
    run_check(world, *args, "--helo", "mx.helo.example")
    (report,) = reports(capsys.readouterr().out)
    assert report["spf"]["sources"][0]["result"] == "pass"  # type: ignore[index]
    run_check(world, *args)
    (report,) = reports(capsys.readouterr().out)
    assert report["spf"]["sources"][0]["result"] == "fail"  # type: ignore[index]


def test_check_ip_refuses_what_is_no_address(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["check", "--ip", "300.1.1.1", "example.com"])
    assert stop.value.code == 2
    assert "'300.1.1.1' is not an IP address" in capsys.readouterr().err
