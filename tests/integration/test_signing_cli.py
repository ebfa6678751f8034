"""export and relay through the real entry point."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import aiosmtplib
import pytest

from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from tests.fixtures.registry import code_from_delivery
from tests.fixtures.smtp import CollectingController, free_port
from tests.integration.test_registry_cli import ADDRESS, DOMAIN, Cli, _delivery, make_cli, run
from tests.integration.test_relay import message


@pytest.fixture
def cli(
    tmp_path: Path, dns_server: ZoneServer, zone: Zone, capsys: pytest.CaptureFixture[str]
) -> Cli:
    return make_cli(tmp_path, dns_server, zone, capsys)


async def _send(port: int) -> None:
    await aiosmtplib.send(message(f"news@{DOMAIN}"), hostname="127.0.0.1", port=port)


def _verified(capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone) -> None:
    code, out, _ = run(capsys, cli, "add", ADDRESS)
    assert code == 0
    assert run(capsys, cli, "code", DOMAIN, code_from_delivery(_delivery(out)))[0] == 0
    code, zone_text, _ = run(capsys, cli, "records", DOMAIN, "--zone-file")
    zone.load_text(zone_text)
    assert run(capsys, cli, "verify", DOMAIN)[0] == 0


def test_export_writes_the_signers_files(
    capsys: pytest.CaptureFixture[str], cli: Cli, zone: Zone, tmp_path: Path
) -> None:
    _verified(capsys, cli, zone)
    code, _, err = run(capsys, cli, "export")
    assert code == 2 and "give --opendkim DIR or --rspamd FILE" in err
    out_dir, conf = tmp_path / "opendkim", tmp_path / "rspamd" / "dkim_signing.conf"
    code, out, err = run(capsys, cli, "export", "--opendkim", str(out_dir), "--rspamd", str(conf))
    assert code == 0, err
    assert out.startswith(f"exported 1 signing key(s): {DOMAIN} (mt")
    assert f"  wrote {out_dir / 'KeyTable'}" in out and f"  wrote {conf}" in out
    assert DOMAIN in (out_dir / "SigningTable").read_text()
    code, out, _ = run(capsys, cli, "export", "--opendkim", str(out_dir), "--json")
    shown = json.loads(out)
    assert code == 0 and [e["domain"] for e in shown["exported"]] == [DOMAIN]
    assert shown["written"] == [str(out_dir / "KeyTable"), str(out_dir / "SigningTable")]


def test_relay_command_signs_and_stops_on_interrupt(
    capsys: pytest.CaptureFixture[str],
    cli: Cli,
    zone: Zone,
    smtp_server: CollectingController,
) -> None:
    _verified(capsys, cli, zone)
    port = free_port()
    proc = cli.spawn(
        "relay",
        "--listen",
        f"127.0.0.1:{port}",
        "--upstream",
        f"127.0.0.1:{smtp_server.port}",
        "--upstream-tls",
        "none",
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the relay listens
        assert line.startswith(f"relaying from 127.0.0.1:{port}"), (line, proc.stderr)

        asyncio.run(_send(port))
    finally:
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    [captured] = smtp_server.messages
    assert captured["From"] == f"news@{DOMAIN}"
    assert captured["DKIM-Signature"] is not None and f"d={DOMAIN}" in captured["DKIM-Signature"]
    assert "signed as" in err and "relayed to" in err  # the decision log
