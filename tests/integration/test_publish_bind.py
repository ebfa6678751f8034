"""Publishing by RFC 2136 and following the records to every nameserver, against a real BIND 9
primary and secondary (tests/fixtures/bind.py: ``bind_pair``), the headless commands run in
their network namespace (issue 19)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.bind import DELEGATED_ZONE, REFUSING_ZONE, BindPair
from tests.fixtures.registry import code_from_delivery

DOMAIN = "example.com"
SITE_VERIFICATION = "google-site-verification=abc123"
NAMES = (DOMAIN, f"_dmarc.{DOMAIN}")


@dataclass
class Admin:
    """An admin running ``mailauth-tui`` in the namespace, the resolver pointed at the
    primary (names outside its zones go to the loopback zone server)."""

    pair: BindPair
    folder: Path
    config: Path
    env: dict[str, str] | None = None

    def __call__(self, *args: str, at: str = "") -> tuple[int, str, str]:
        """``at``: the nameserver to resolve through, the primary by default."""
        argv = [sys.executable, "-m", "mailauth_tui", *args]
        argv += ["--db", str(self.folder / "registry.sqlite3"), "--config", str(self.config)]
        # The zone's server alone: a pool with another would spread the zone's own names over
        # both. Names outside the zone go to the system's resolver (none in the namespace).
        argv += ["--nameserver", at or self.pair.primary]
        argv += ["--timeout", "1"]
        return self.pair.run(argv, env=self.env)

    def owned(self, address: str = f"admin@{DOMAIN}") -> None:
        """Added and ownership proven."""
        code, out, err = self("add", address)
        assert code == 0, err
        delivered = next(line for line in out.splitlines() if "Maildir " in line)
        secret = code_from_delivery(delivered[delivered.index("Maildir ") :])
        domain = address.partition("@")[2]
        code, _, err = self("code", domain, secret)
        assert code == 0, err


def _config(pair: BindPair, folder: Path, secret_line: str, *, zone: str = DOMAIN) -> Path:
    config = folder / "config.toml"
    config.write_text(
        f"""
test_environment = true
system_sender = "noreply@corp.example"

[sending]
ips = ["192.0.2.10"]

[dkim]
key_type = "ed25519"

[publish."{zone}"]
server = "{pair.primary}"
key_name = "{pair.key_name}"
{secret_line}
"""
    )
    return config


def _secret_file(folder: Path, secret: str, mode: int = 0o600) -> Path:
    path = folder / "tsig.key"
    path.write_text(
        f'key "mailauth-update" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n'
    )
    path.chmod(mode)
    return path


@pytest.fixture
def admin(bind_pair: BindPair, tmp_path: Path) -> Admin:
    folder = tmp_path / "admin"
    folder.mkdir()
    secret = _secret_file(folder, bind_pair.secret)
    return Admin(bind_pair, folder, _config(bind_pair, folder, f'secret_file = "{secret}"'))


def test_add_code_publish_propagate_verify(admin: Admin, bind_pair: BindPair) -> None:
    admin.owned()
    code, out, _ = admin("propagation", DOMAIN, "--json")
    assert code == 1  # nothing published yet
    before = json.loads(out)
    assert before["zone"] == DOMAIN and not before["complete"]
    assert before["badges"]["DKIM"] == "DKIM at 0 of 2 nameservers"
    servers = {s["name"]: s for s in before["servers"]}
    assert set(servers) == {"ns1.example.com", "ns2.example.com"}
    assert {s["serial"] for s in servers.values()} == {2026120601}
    states = {r["kind"]: r["state"] for r in servers["ns2.example.com"]["records"]}
    assert states == {"DKIM": "absent", "SPF": "absent", "DMARC": "absent"}

    code, out, err = admin("publish", DOMAIN, "--dry-run")
    assert code == 0, err
    assert "prereq nxrrset _dmarc.example.com. TXT" in out
    assert f'prereq yxrrset example.com. TXT "{SITE_VERIFICATION}"' in out
    assert 'update add example.com. 3600 TXT "v=spf1 ip4:192.0.2.10 ~all"' in out
    assert bind_pair.txt(bind_pair.primary, *NAMES)[DOMAIN] == [SITE_VERIFICATION]

    code, out, err = admin("publish", DOMAIN, "--json")
    assert code == 0, (out, err)
    outcome = json.loads(out)
    assert outcome["applied"] and outcome["propagation"]["complete"]
    assert outcome["verify"]["domain"]["verified"] is True
    for server in (bind_pair.primary, bind_pair.secondary):
        zone = bind_pair.txt(server, *NAMES)
        assert zone[DOMAIN] == sorted([SITE_VERIFICATION, "v=spf1 ip4:192.0.2.10 ~all"])
        assert zone[f"_dmarc.{DOMAIN}"] == [f"v=DMARC1; p=none; rua=mailto:admin@{DOMAIN}"]

    code, out, _ = admin("propagation", DOMAIN)
    assert code == 0, out
    assert "DKIM at 2 of 2 nameservers; SPF at 2 of 2 nameservers" in out
    assert "published at every nameserver (ns1, ns2)" in out
    code, out, _ = admin("publish", DOMAIN, "--dry-run")  # nothing left to do
    assert out.startswith(f"nothing to update in zone {DOMAIN} at {bind_pair.primary}")
    assert "already published" in out

    # Rotation: the new selector is published beside the current one, which stays.
    code, _, err = admin("rotate", DOMAIN)
    assert code == 0, err
    code, out, err = admin("publish", DOMAIN, "--json")
    assert code == 0, (out, err)
    outcome = json.loads(out)
    old, new = [r["host"] for r in outcome["propagation"]["expected"] if r["kind"] == "DKIM"][::-1]
    assert outcome["update"][1:] == [f"prereq nxrrset {new}. TXT", *outcome["update"][2:]]
    assert outcome["propagation"]["badges"]["DKIM"] == "DKIM at 2 of 2 nameservers"
    zone = bind_pair.txt(bind_pair.secondary, old, new)
    assert len(zone[old]) == len(zone[new]) == 1 and zone[old] != zone[new]
    assert any("now signs" in t for t in outcome["verify"]["transitions"])


def test_the_console_publishes_with_p_and_the_badges_follow(
    admin: Admin, bind_pair: BindPair
) -> None:
    admin.owned()
    script = Path(__file__).with_name("console_publish_script.py")
    argv = [sys.executable, str(script), str(admin.folder / "registry.sqlite3")]
    argv += [str(admin.config), bind_pair.primary, DOMAIN]
    code, out, err = bind_pair.run(argv)
    assert code == 0, err
    seen = json.loads(out)
    assert seen["before"] == (
        "Nameservers: DKIM at 0 of 2 · SPF at 0 of 2 · DMARC at 0 of 2 nameservers"
    )
    assert seen["publish_offered"] is True
    assert seen["verified"] is True
    zone = bind_pair.txt(bind_pair.secondary, *NAMES)
    assert zone[DOMAIN] == sorted([SITE_VERIFICATION, "v=spf1 ip4:192.0.2.10 ~all"])


def test_a_secondary_that_missed_the_update_shows_at_1_of_2(
    admin: Admin, bind_pair: BindPair
) -> None:
    admin.owned()
    bind_pair.cut_off_secondary()
    # Follows 2 s, then gives up; verified through the late secondary, the records are not
    # there: verify says where they are instead of a bare failure.
    code, out, err = admin("publish", DOMAIN, "--wait", "2", at=bind_pair.secondary)
    assert code == 1
    assert "DKIM at 1 of 2 nameservers" in out
    assert out.strip().splitlines()[-1] == (
        "  nameservers: published at ns1, not yet at ns2 (serial 2026120602 vs 2026120601)"
    )
    assert "published at ns1, not yet at ns2 (serial 2026120602 vs 2026120601)" in err
    code, out, _ = admin("propagation", DOMAIN, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["summary"] == "published at ns1, not yet at ns2 (serial 2026120602 vs 2026120601)"
    ns2 = next(s for s in report["servers"] if s["name"] == "ns2.example.com")
    assert [r["state"] for r in ns2["records"]] == ["absent", "absent", "absent"]

    bind_pair.pause_secondary()  # it answers nothing now: unknown, never "absent"
    code, out, _ = admin("propagation", DOMAIN, "--json")
    ns2 = next(s for s in json.loads(out)["servers"] if s["name"] == "ns2.example.com")
    assert [r["state"] for r in ns2["records"]] == ["unknown"] * 3
    assert ns2["records"][0]["detail"] == "timed out" and ns2["serial"] is None
    bind_pair.resume_secondary()


def test_the_console_verify_says_where_the_records_are(admin: Admin, bind_pair: BindPair) -> None:
    """v on the main table, resolving through the secondary that missed the update: the
    result says the records are at ns1 and not yet at ns2, with both serials."""
    admin.owned()
    bind_pair.cut_off_secondary()
    code, out, err = admin("publish", DOMAIN, "--wait", "1", at=bind_pair.secondary)
    assert code == 1, (out, err)  # applied at the primary; the secondary never hears of it
    script = Path(__file__).with_name("console_verify_script.py")
    argv = [sys.executable, str(script), str(admin.folder / "registry.sqlite3")]
    argv += [str(admin.config), bind_pair.secondary]
    code, out, err = bind_pair.run(argv)
    assert code == 0, err
    seen = json.loads(out)
    assert seen["screen"] == "VerifyResultScreen"
    assert "not verified" in seen["overall"].lower(), seen
    assert seen["where"] == (
        "Nameservers: published at ns1, not yet at ns2 (serial 2026120602 vs 2026120601)"
    )


def _unchanged(pair: BindPair) -> None:
    for server in (pair.primary, pair.secondary):
        assert pair.txt(server, *NAMES) == {DOMAIN: [SITE_VERIFICATION], f"_dmarc.{DOMAIN}": []}


def test_a_wrong_tsig_secret_is_refused_and_changes_nothing(
    bind_pair: BindPair, tmp_path: Path
) -> None:
    wrong = "A" * 43 + "="
    admin = Admin(bind_pair, tmp_path, _config(bind_pair, tmp_path, 'secret_env = "TSIG"'))
    admin.env = {"TSIG": wrong}
    admin.owned()
    code, out, err = admin("publish", DOMAIN)
    assert code == 1, out
    assert err.strip().splitlines()[-1] == (
        f"mailauth-tui: nothing was changed: {bind_pair.primary} rejects the signature of TSIG "
        "key mailauth-update (BADSIG): the secret is wrong; copy it again from the server's "
        "key file"
    )
    assert wrong not in out + err
    _unchanged(bind_pair)


def test_an_unknown_tsig_key_is_badkey(bind_pair: BindPair, tmp_path: Path) -> None:
    config = _config(bind_pair, tmp_path, 'secret_env = "TSIG"')
    config.write_text(config.read_text().replace('"mailauth-update"', '"other-key"'))
    admin = Admin(bind_pair, tmp_path, config, env={"TSIG": bind_pair.secret})
    admin.owned()
    code, _, err = admin("publish", DOMAIN)
    assert code == 1
    assert "does not know the TSIG key other-key (hmac-sha256) (BADKEY)" in err
    _unchanged(bind_pair)


def test_a_zone_that_refuses_updates(bind_pair: BindPair, tmp_path: Path) -> None:
    secret = _secret_file(tmp_path, bind_pair.secret)
    admin = Admin(
        bind_pair,
        tmp_path,
        _config(bind_pair, tmp_path, f'secret_file = "{secret}"', zone=REFUSING_ZONE),
    )
    admin.owned(f"admin@{REFUSING_ZONE}")
    code, _, err = admin("publish", REFUSING_ZONE)
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"mailauth-tui: nothing was changed: {bind_pair.primary} refuses updates to "
        f"{REFUSING_ZONE} (REFUSED): allow the key mailauth-update in the zone's allow-update "
        "or update-policy"
    )
    assert bind_pair.txt(bind_pair.primary, REFUSING_ZONE) == {REFUSING_ZONE: []}


def _refused(admin: Admin, domain: str, at: str = "") -> str:
    """``publish DOMAIN``'s refusal: exit 1, nothing on stdout, one line on stderr."""
    code, out, err = admin("publish", domain, at=at)
    assert code == 1 and out == "", (out, err)
    [line] = err.strip().splitlines()
    return line


def test_a_server_not_authoritative_for_the_zone_is_notauth(
    bind_pair: BindPair, tmp_path: Path
) -> None:
    """sub.example.com is delegated to ns2; the settings point at example.com's primary,
    which does not serve it: BIND answers the update NOTAUTH."""
    secret = _secret_file(tmp_path, bind_pair.secret)
    config = _config(bind_pair, tmp_path, f'secret_file = "{secret}"', zone=DELEGATED_ZONE)
    admin = Admin(bind_pair, tmp_path, config)
    domain = f"mail.{DELEGATED_ZONE}"
    admin.owned(f"admin@{domain}")
    names = (domain, f"_dmarc.{domain}")
    before = bind_pair.txt(bind_pair.secondary, *names)
    assert _refused(admin, domain, at=bind_pair.secondary) == (
        f"mailauth-tui: nothing was changed: {bind_pair.primary} is not the primary of "
        f"{DELEGATED_ZONE}, or does not accept the key mailauth-update (NOTAUTH): point "
        "[publish] server at the zone's primary"
    )
    assert bind_pair.txt(bind_pair.secondary, *names) == before == {n: [] for n in names}
    _unchanged(bind_pair)


def test_a_zone_no_server_knows_is_not_found(admin: Admin, bind_pair: BindPair) -> None:
    """BIND serves no zone for example.net and offers no recursion: the zone cannot be
    found, and nothing is sent."""
    domain = "mail.example.net"
    admin.owned(f"admin@{domain}")
    assert _refused(admin, domain) == (
        f"mailauth-tui: the zone of {domain} could not be found: Server "
        f"Do53:{bind_pair.primary}@53 answered REFUSED; check the name, or give --nameserver "
        "a server that answers for its zone"
    )
    _unchanged(bind_pair)


def test_a_zone_without_publish_settings(admin: Admin, bind_pair: BindPair) -> None:
    admin.owned(f"admin@{REFUSING_ZONE}")
    code, _, err = admin("publish", REFUSING_ZONE)
    assert code == 1
    assert (
        f'{REFUSING_ZONE} is in the zone {REFUSING_ZONE}, which has no [publish."{REFUSING_ZONE}"]'
        f" settings (zones set up: {DOMAIN})"
    ) in err


def test_a_secret_file_others_can_read_is_refused(admin: Admin, bind_pair: BindPair) -> None:
    admin.owned()
    secret = admin.folder / "tsig.key"
    secret.chmod(0o644)
    code, out, err = admin("publish", DOMAIN)
    assert code == 1
    assert f"{secret} can be read by others (mode 0644): chmod 600 {secret}" in err
    assert bind_pair.secret not in out + err
    _unchanged(bind_pair)


def test_a_concurrent_change_fails_the_prerequisite(admin: Admin, bind_pair: BindPair) -> None:
    """Someone edits the SPF between the plan and the update: the update fails whole, and the
    message shows what is there now."""
    admin.owned()
    # The plan is read; then a manual change lands; then the planned update is sent. The
    # test runs the registry in-process in the namespace for that interleaving.
    script = f"""
import asyncio, sys
from mailauth_tui.registry import zone_publish
from mailauth_tui.services import dnsupdate

class Racing(dnsupdate.Rfc2136Updater):
    async def send(self, server, plan, key):
        import dns.update, dns.query
        u = dns.update.UpdateMessage("{DOMAIN}", keyring=key.keyring())
        u.add("{DOMAIN}.", 300, "TXT", '"v=spf1 mx -all"')
        assert dns.query.tcp(u, "{bind_pair.primary}", timeout=5).rcode() == 0
        await super().send(server, plan, key)

orig = zone_publish.send
async def send(updater, conf, update):
    return await orig(Racing(), conf, update)
zone_publish.send = send
from mailauth_tui.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
    argv = [sys.executable, "-c", script, "publish", DOMAIN]
    argv += ["--db", str(admin.folder / "registry.sqlite3"), "--config", str(admin.config)]
    argv += ["--nameserver", bind_pair.primary]
    code, out, err = bind_pair.run(argv)
    assert code == 1, (out, err)
    assert err.strip().splitlines()[-1] == (
        "mailauth-tui: someone changed the records meanwhile, so nothing was changed; the zone "
        f"now has {DOMAIN}: '{SITE_VERIFICATION}', 'v=spf1 mx -all'; look, then publish again"
    )
    zone = bind_pair.txt(bind_pair.primary, *NAMES)
    assert zone == {DOMAIN: sorted([SITE_VERIFICATION, "v=spf1 mx -all"]), f"_dmarc.{DOMAIN}": []}
