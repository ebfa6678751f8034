"""What `list`, `verify` and `records` show of the record engine's findings (issue 16): the
effective DMARC policy, truncated DKIM keys, BIMI, the DMARC rua, the SPF sources, a broken
SPF record. The real entry point over a registry made by `init` and the loopback zone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from tests.fixtures.registry import SENDING_INCLUDE, code_from_delivery
from tests.integration.test_registry_cli import ADDRESS, CONFIG, DOMAIN, Cli, make_cli, run

# The test registry's settings without a [sending] table: no source SPF must authorise.
NO_SOURCES = CONFIG.replace(f'[sending]\ninclude = "{SENDING_INCLUDE}"\n', "")


@pytest.fixture
def cli(
    tmp_path: Path, dns_server: ZoneServer, zone: Zone, capsys: pytest.CaptureFixture[str]
) -> Cli:
    return make_cli(tmp_path, dns_server, zone, capsys)


def owned(capsys: pytest.CaptureFixture[str], cli: Cli, address: str = ADDRESS) -> None:
    code, out, _ = run(capsys, cli, "add", address)
    assert code == 0, out
    delivered = next(line for line in out.splitlines() if "Maildir " in line)
    secret = code_from_delivery(delivered[delivered.index("Maildir ") :])
    domain = address.partition("@")[2]
    assert run(capsys, cli, "code", domain, secret)[0] == 0


def publish_records(
    capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone
) -> list[dict[str, Any]]:
    code, out, _ = run(capsys, cli, "records", DOMAIN, "--json")
    assert code == 0, out
    records: list[dict[str, Any]] = json.loads(out)
    for rec in records:
        if rec["kind"] != "DMARC":
            zone.set(rec["host"], "TXT", list(rec["chunks"]))
    return records


def test_list_and_verify_show_the_effective_dmarc_policy(
    capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone
) -> None:
    owned(capsys, cli)
    publish_records(capsys, cli, zone)
    # mail.example.com inherits the organisational domain's record: sp= applies to it.
    zone.set("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; sp=quarantine")
    code, out, _ = run(capsys, cli, "verify", DOMAIN)
    assert code == 0, out
    assert "  DMARC: configured, policy quarantine (sp= of _dmarc.example.com)" in out
    code, out, _ = run(capsys, cli, "verify", DOMAIN, "--json")
    shown = json.loads(out)
    assert shown["domain"]["dmarc_policy"] == "quarantine"
    assert shown["dmarc"] == {
        "effective_policy": "quarantine",
        "source_domain": "example.com",
        "policy": "reject",
        "subdomain_policy": "quarantine",
    }
    code, out, _ = run(capsys, cli, "list")
    (row,) = out.splitlines()[1:]
    assert "configured p=quarantine" in row and "reject" not in row
    code, out, _ = run(capsys, cli, "list", "--json")
    (listed,) = json.loads(out)
    assert listed["dmarc_policy"] == "quarantine"
    assert listed["evidence"]["records"]["DMARC"]["effective_policy"] == "quarantine"


def test_verify_names_a_truncated_key_and_gives_the_whole_value(
    capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone
) -> None:
    owned(capsys, cli)
    records = publish_records(capsys, cli, zone)
    dkim = records[0]
    assert run(capsys, cli, "verify", DOMAIN)[0] == 0
    cut = dkim["value"][:-12]  # the provider kept only part of the key
    zone.set(dkim["host"], "TXT", cut)
    code, out, _ = run(capsys, cli, "verify", DOMAIN)
    assert code == 0, out  # verified until a second look confirms: a change may be in flight
    assert out.startswith(f"{DOMAIN}: verified until the next check confirms a failing DKIM")
    assert "DKIM: verified" not in out and "  DKIM: failing" in out
    assert "truncated" in out
    assert f"fix: publish the whole value at {dkim['host']}: {dkim['value']}" in out
    code, out, _ = run(capsys, cli, "verify", DOMAIN, "--json")
    (verdict,) = [v for v in json.loads(out)["verdicts"] if v["kind"] == "DKIM"]
    (problem,) = [p for p in verdict["problems"] if p["code"] == "dkim.truncated"]
    assert problem["fix"].endswith(dkim["value"])


@pytest.fixture
def bare_cli(
    tmp_path: Path, dns_server: ZoneServer, zone: Zone, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """A registry whose settings name no sending source."""
    config = tmp_path / "bare.toml"
    config.write_text(NO_SOURCES, encoding="utf-8")
    cli = Cli(tmp_path / "bare" / "registry.sqlite3", config, dns_server.address)
    assert main(["init", *cli.common]) == 0
    capsys.readouterr()
    return cli


def test_records_without_sending_sources_recommend_no_spf(
    capsys: pytest.CaptureFixture[str], bare_cli: Cli
) -> None:
    assert "[sending]" not in NO_SOURCES and "[dkim]" in NO_SOURCES
    owned(capsys, bare_cli)
    code, out, _ = run(capsys, bare_cli, "records", DOMAIN)
    assert code == 0
    assert "v=spf1" not in out
    assert "SPF (recommended) - nothing to publish yet" in out
    assert "no sending source is configured" in out and "[sending]" in out
    assert "DKIM (required)" in out and "v=DMARC1" in out
    code, out, _ = run(capsys, bare_cli, "records", DOMAIN, "--zone-file")
    assert out.count(" IN TXT ") == 2 and "v=spf1" not in out
    code, out, _ = run(capsys, bare_cli, "records", DOMAIN, "--json")
    (spf,) = [r for r in json.loads(out) if r["kind"] == "SPF"]
    assert (spf["value"], spf["chunks"], spf["zone_line"]) == ("", [], "")


def test_records_and_the_verify_fix_offer_the_same_dmarc_record(
    capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone
) -> None:
    owned(capsys, cli)
    records = publish_records(capsys, cli, zone)  # everything but DMARC
    (dmarc,) = [r for r in records if r["kind"] == "DMARC"]
    assert dmarc["value"] == f"v=DMARC1; p=none; rua=mailto:{ADDRESS}"
    _, out, _ = run(capsys, cli, "verify", DOMAIN, "--json")
    (verdict,) = [v for v in json.loads(out)["verdicts"] if v["kind"] == "DMARC"]
    (missing,) = [p for p in verdict["problems"] if p["code"] == "dmarc.missing"]
    assert (
        missing["fix"]
        == f"publish a TXT record at {dmarc['host']} with the value: " + (dmarc["value"])
    )
    _, out, _ = run(capsys, cli, "verify", DOMAIN)
    assert f"with the value: {dmarc['value']}" in out
    assert "dmarc-reports@" not in out


@pytest.mark.parametrize(
    ("broken", "replacement", "said"),
    [
        (
            "v=spf1 ipv4:192.0.2.1 -all",
            f"v=spf1 ip4:192.0.2.1 include:{SENDING_INCLUDE} -all",
            "'ipv4:192.0.2.1' is written 'ip4:192.0.2.1'",
        ),
        (
            "v=spf1 ip4:192.0.2.0/33 mx -all",
            f"v=spf1 mx include:{SENDING_INCLUDE} -all",
            "'ip4:192.0.2.0/33' is left out",
        ),
        (
            "v=spf1 include: a -all",
            f"v=spf1 a include:{SENDING_INCLUDE} -all",
            "'include:' is left out",
        ),
    ],
)
def test_records_replace_an_spf_record_with_a_syntax_error(
    capsys: pytest.CaptureFixture[str],
    cli: Cli,
    zone: Zone,
    broken: str,
    replacement: str,
    said: str,
) -> None:
    owned(capsys, cli)
    zone.set(DOMAIN, "TXT", broken)
    code, out, err = run(capsys, cli, "records", DOMAIN)
    assert code == 0, err
    assert "DKIM (required)" in out and "v=DMARC1" in out
    assert f"  value: {replacement}\n" in out
    assert "your SPF record has a syntax error, so receivers ignore it" in out
    assert said in out
    code, out, _ = run(capsys, cli, "records", DOMAIN, "--json")
    (spf,) = [r for r in json.loads(out) if r["kind"] == "SPF"]
    assert spf["value"] == replacement and not spf["already_published"]


BIMI = "v=BIMI1; l=https://mail.example.com/logo.svg"


def test_verify_and_list_show_bimi_when_a_record_exists(
    capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone
) -> None:
    owned(capsys, cli)
    publish_records(capsys, cli, zone)
    zone.set(f"_dmarc.{DOMAIN}", "TXT", f"v=DMARC1; p=reject; rua=mailto:{ADDRESS}")
    code, out, _ = run(capsys, cli, "verify", DOMAIN, "--json")
    assert "BIMI" not in [v["kind"] for v in json.loads(out)["verdicts"]]  # none published

    zone.set(f"default._bimi.{DOMAIN}", "TXT", BIMI)
    code, out, _ = run(capsys, cli, "verify", DOMAIN)
    assert code == 0, out
    assert f"  BIMI: configured\n    found: {BIMI}\n" in out
    code, out, _ = run(capsys, cli, "verify", DOMAIN, "--json")
    (bimi,) = [v for v in json.loads(out)["verdicts"] if v["kind"] == "BIMI"]
    assert (bimi["state"], bimi["found"], bimi["look"]) == ("configured", BIMI, "good")
    code, out, _ = run(capsys, cli, "list", "--json")
    (row,) = json.loads(out)
    evidence = row["evidence"]["records"]["BIMI"]
    assert (evidence["state"], evidence["found"]) == ("configured", BIMI)
    assert evidence["logo_url"] == "https://mail.example.com/logo.svg"

    # A BIMI record mail clients ignore (a logo over plain HTTP): shown as invalid, with why.
    zone.set(f"default._bimi.{DOMAIN}", "TXT", BIMI.replace("https:", "http:"))
    code, out, _ = run(capsys, cli, "verify", DOMAIN)
    assert code == 0  # BIMI is optional: the domain stays verified
    assert "  BIMI: invalid\n" in out and "error: " in out.split("  BIMI: invalid\n")[1]


def test_records_without_sources_beside_a_broken_spf_record(
    capsys: pytest.CaptureFixture[str], bare_cli: Cli, zone: Zone
) -> None:
    owned(capsys, bare_cli)
    zone.set(DOMAIN, "TXT", "v=spf1 ipv4:192.0.2.1 -all")
    code, out, err = run(capsys, bare_cli, "records", DOMAIN)
    assert code == 0, err
    assert "  value: v=spf1 ip4:192.0.2.1 -all\n" in out
    assert "'ipv4:192.0.2.1' is written 'ip4:192.0.2.1'" in out
    assert "no sending source is configured" in out and "DKIM (required)" in out
