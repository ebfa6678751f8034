"""The registry's commands through ``--nameserver`` naming a zone's authoritative-only server
(review of issue 17, finding 4): ``recheck`` and ``verify`` send the names outside the zone (the
SPF include, ``_dmarc.com``) on to the recursive resolver, as ``check`` does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.services.dns import parse_nameserver
from mailauth_tui.services.store import Store
from mailauth_tui.services.zoneserver import Zone, ZoneServer
from tests.fixtures.registry import SENDING_INCLUDE, seed_verified

DOMAIN = "mail.example.com"
CONFIG = f"""
system_sender = "noreply@corp.example"
test_environment = true

[sending]
include = "{SENDING_INCLUDE}"

[dkim]
key_type = "ed25519"
"""


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ZoneServer, ZoneServer]]:
    """An authoritative-only server for the domain's zone, and the resolver that knows every
    zone, standing in for the system's (what /etc/resolv.conf names)."""
    with (
        ZoneServer(Zone(), recursion=False) as authoritative,
        ZoneServer(Zone()) as resolver,
    ):
        found = [parse_nameserver(resolver.address)]
        monkeypatch.setattr("mailauth_tui.services.dns._system_nameservers", lambda: found)
        yield authoritative, resolver


def test_recheck_and_verify_through_an_authoritative_only_nameserver(
    tmp_path: Path,
    servers: tuple[ZoneServer, ZoneServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    authoritative, resolver = servers
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    db = tmp_path / "registry.sqlite3"
    common = ["--db", str(db), "--config", str(config), "--timeout", "2"]
    common += ["--nameserver", authoritative.address]
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
