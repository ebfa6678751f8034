"""export --opendkim / --rspamd, loaded by the real tools: ``opendkim -n`` and
``rspamadm configtest`` (Debian's opendkim and rspamd, installed by .ci/run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.errors import PermissionDenied
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.signer_export import export_opendkim, export_rspamd
from tests.fixtures.registry import MakeRegistry
from tests.integration.test_registry_checks import DOMAIN, owned, publish, verified


def _tool(name: str) -> str:
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        reason = f"{name} is not installed (Debian: apt-get install opendkim rspamd)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the export tests must run)")
        pytest.skip(reason)
    return path


def _opendkim_check(directory: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "opendkim.conf"
    conf.write_text(
        "Syslog no\n"
        f"KeyTable file:{directory / 'KeyTable'}\n"
        f"SigningTable refile:{directory / 'SigningTable'}\n"
        "Socket inet:8891@127.0.0.1\n"
    )
    return subprocess.run(
        [_tool("opendkim"), "-n", "-x", str(conf)], capture_output=True, text=True, timeout=30
    )


def _rspamd_check(config: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    main = tmp_path / "rspamd.conf"
    main.write_text(f'dkim_signing {{\n  .include "{config}"\n}}\n')
    return subprocess.run(
        [_tool("rspamadm"), "configtest", "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_exports_load_in_opendkim_and_rspamd(
    registry: Registry, zone: Zone, tmp_path: Path
) -> None:
    await verified(registry, zone)
    await owned(registry, "admin@pending.example.com")  # not verified: never exported
    keys = registry.export_keys()
    assert [(k.domain, k.selector) for k in keys] == [(DOMAIN, keys[0].selector)]

    out = tmp_path / "opendkim"
    export_opendkim(out, keys)
    checked = _opendkim_check(out, tmp_path)
    assert checked.returncode == 0, checked.stderr
    key_file = out / "keys" / f"{DOMAIN}.{keys[0].selector}.private"
    name = f"{keys[0].selector}._domainkey.{DOMAIN}"
    table = (out / "KeyTable").read_text().splitlines()
    assert f"{name} {DOMAIN}:{keys[0].selector}:{key_file}" in table
    assert f"*@{DOMAIN} {name}" in (out / "SigningTable").read_text().splitlines()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (out / "keys").stat().st_mode & 0o777 == 0o700
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert sorted(p.name for p in out.iterdir()) == ["KeyTable", "SigningTable", "keys"]

    conf = tmp_path / "rspamd" / "dkim_signing.conf"
    export_rspamd(conf, keys)
    checked = _rspamd_check(conf, tmp_path)
    assert checked.returncode == 0 and "syntax OK" in checked.stdout, checked.stderr
    text = conf.read_text()
    assert f'"{DOMAIN}" {{' in text and f'selector = "{keys[0].selector}";' in text
    rspamd_key = conf.parent / "dkim_signing.conf.keys" / f"{DOMAIN}.{keys[0].selector}.private"
    assert f'path = "{rspamd_key}";' in text
    assert rspamd_key.stat().st_mode & 0o777 == 0o600


def test_a_broken_table_is_caught_by_opendkim(tmp_path: Path) -> None:
    """The check the export test relies on does fail: a KeyTable that is not there."""
    out = tmp_path / "opendkim"
    export_opendkim(out, [])
    (out / "KeyTable").unlink()
    checked = _opendkim_check(out, tmp_path)
    assert checked.returncode != 0 and "KeyTable" in checked.stderr


async def test_export_follows_a_rotation(registry: Registry, zone: Zone, tmp_path: Path) -> None:
    row = await verified(registry, zone)
    old = row.dkim_keys[0].selector
    out = tmp_path / "opendkim"
    export_opendkim(out, registry.export_keys())
    await registry.rotate_dkim(DOMAIN)
    # Not yet verified: the old key still signs.
    assert [k.selector for k in registry.export_keys()] == [old]
    dkim, _, _ = await registry.records(DOMAIN)
    publish(zone, [dkim])
    await registry.verify(DOMAIN)
    [new] = registry.export_keys()
    assert new.selector != old
    export_opendkim(out, [new])
    assert [p.name for p in (out / "keys").iterdir()] == [f"{DOMAIN}.{new.selector}.private"]
    assert f"{old}._domainkey" not in (out / "KeyTable").read_text()
    assert _opendkim_check(out, tmp_path).returncode == 0


async def test_only_admins_export(
    make_registry: MakeRegistry, registry: Registry, zone: Zone
) -> None:
    await verified(registry, zone)
    bob = make_registry("bob")
    with pytest.raises(PermissionDenied, match="only admins can export signing keys"):
        bob.export_keys()
