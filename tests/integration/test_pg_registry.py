"""A PostgreSQL registry through the real entry point, on the session's throwaway server:
the migration's roles enforced by the server (a reader cannot read a code hash or a private
key with any SQL), the actor is the session's role, the read-only mode comes from the
server's privileges, code attempts from several processes counted atomically, a newer schema
refused, a server that is down refused in one line, and passwords never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.registry.models import VerifyOutcome
from mailauth_tui.services.keys import FileKeyStore
from mailauth_tui.services.migrations import MIGRATIONS
from mailauth_tui.services.pg_keys import PgKeyStore
from mailauth_tui.services.settings import Settings
from mailauth_tui.services.store import KeyRecord, Store, StoreError
from mailauth_tui.services.store_api import RegistryStore
from tests.fixtures.postgres import PgDatabase, _free_port
from tests.fixtures.registry import REGISTRY_T0, MakeRegistry, seed_verified

ADDRESS = "admin@mail.example.org"
DOMAIN = "mail.example.org"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config(tmp_path: Path, pg_database: PgDatabase) -> Path:
    """Settings naming this database's roles (role names are configurable)."""
    roles = pg_database.roles
    path = tmp_path / "config.toml"
    path.write_text(
        "test_environment = true\n"
        f'[paths]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[registry]\nadmin_role = "{roles.admin}"\nreader_role = "{roles.reader}"\n'
        f'signer_role = "{roles.signer}"\n',
        encoding="utf-8",
    )
    return path


def _cli(url: str, config: Path, *args: str) -> list[str]:
    return [*args, "--db", url, "--config", str(config), "--timeout", "0.5"]


@pytest.fixture
def alice(pg_database: PgDatabase, config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """alice: a login with the admin role, the registry's first admin (``init``)."""
    url = pg_database.login("alice", pg_database.roles.admin)
    code, out, _ = _run(capsys, *_cli(url, config, "init"))
    assert code == 0 and "you (alice) are its admin" in out
    return url


def test_the_actor_is_the_session_role_and_a_reader_only_reads(
    pg_database: PgDatabase, config: Path, alice: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, *_cli(alice, config, "add", ADDRESS))[0] == 0
    bob = pg_database.login("bob", pg_database.roles.reader)
    code, out, _ = _run(capsys, *_cli(bob, config, "list"))
    assert code == 0 and DOMAIN in out
    code, _, err = _run(capsys, *_cli(bob, config, "add", "admin@other.example.org"))
    assert code == 1 and "only admins can add domains; you are bob" in err
    # Made an admin of the registry, bob still cannot write: the server decides.
    assert _run(capsys, *_cli(alice, config, "admin", "add", "bob"))[0] == 0
    code, _, err = _run(capsys, *_cli(bob, config, "remove", DOMAIN, "--yes"))
    assert code == 1 and "you (bob) are an admin but cannot write the registry" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with pg_database.store("alice") as store:
        assert {e.actor for e in store.journal(limit=100)} == {"alice"}
        assert store.get_domain(DOMAIN) is not None


def _seed_secrets(pg_database: PgDatabase) -> None:
    """A domain with a code hash, an active key and a retired one, their private halves in
    the database."""
    with pg_database.store("alice") as store:
        keys = PgKeyStore(store)
        with store.transaction() as tx:
            tx.insert_domain(
                domain=DOMAIN,
                domain_unicode=DOMAIN,
                address=ADDRESS,
                added_by="alice",
                added_at=REGISTRY_T0,
                ownership="pending",
                code_hash="scrypt$secret-hash",
            )
        for selector, active in (("s1", True), ("s0", False)):
            made = keys.generate(DOMAIN, selector, key_type="ed25519")
            key = KeyRecord(
                selector, made.key_type, None, made.public_key, made.key_ref, REGISTRY_T0, active
            )
            with store.transaction() as tx:
                tx.add_key(DOMAIN, key)


def test_a_reader_cannot_read_code_hashes_or_private_keys_with_any_sql(
    pg_database: PgDatabase, alice: str
) -> None:
    _seed_secrets(pg_database)
    bob = pg_database.login("bob", pg_database.roles.reader)
    with psycopg.connect(bob, autocommit=True) as conn:
        row = conn.execute("SELECT domain, ownership FROM mailauth.domains").fetchone()
        assert row == (DOMAIN, "pending")
        assert conn.execute("SELECT count(*) FROM mailauth.dkim_keys").fetchone() == (2,)
        for query in (
            "SELECT code_hash FROM mailauth.domains",
            "SELECT * FROM mailauth.domains",
            "SELECT pem FROM mailauth.dkim_private_keys",
            "SELECT pem FROM mailauth.signing_keys",
            "UPDATE mailauth.domains SET ownership = 'verified'",
            "INSERT INTO mailauth.admins VALUES ('bob', 'bob', 'now')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(query.encode())
    # Through the client: the row without its hash, and no transaction at all.
    with pg_database.store("bob") as store:
        assert not store.writable and store.session_role == "bob"
        rec = store.get_domain(DOMAIN)
        assert rec is not None and rec.code_hash is None and len(rec.keys) == 2
        with pytest.raises(StoreError, match="gives bob no write privilege"):
            store.transaction().__enter__()


def test_a_signer_reads_the_active_private_keys_only(pg_database: PgDatabase, alice: str) -> None:
    _seed_secrets(pg_database)
    sam = pg_database.login("sam", pg_database.roles.signer)
    with psycopg.connect(sam, autocommit=True) as conn:
        rows = conn.execute("SELECT domain, selector, pem FROM mailauth.signing_keys").fetchall()
        assert [(d, s) for d, s, _ in rows] == [(DOMAIN, "s1")]
        assert bytes(rows[0][2]).startswith(b"-----BEGIN PRIVATE KEY-----")
        for query in (
            "SELECT pem FROM mailauth.dkim_private_keys",
            "SELECT domain FROM mailauth.domains",
            "SELECT * FROM mailauth.journal",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(query.encode())


def test_only_the_admin_role_migrates_and_a_newer_schema_is_refused(
    pg_database: PgDatabase, config: Path, alice: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = pg_database.login("bob", pg_database.roles.reader)
    code, _, err = _run(capsys, *_cli(bob, config, "migrate"))
    assert code == 1 and f"only the admin role {pg_database.roles.admin} may migrate" in err
    latest = len(MIGRATIONS)
    code, out, _ = _run(capsys, *_cli(alice, config, "migrate"))
    assert code == 0 and f"is at schema {latest}" in out
    # A registry left by the previous version: refused until an admin migrates it.
    with pg_database.server.superuser(pg_database.name) as conn:
        conn.execute("ALTER TABLE mailauth.dkim_keys DROP COLUMN selftest_passed")
        conn.execute(f"UPDATE mailauth.schema_version SET version = {latest - 1}")
    code, _, err = _run(capsys, *_cli(alice, config, "list"))
    assert (
        code == 1
        and f"has schema {latest - 1}, older than" in err
        and "mailauth-tui migrate" in err
    )
    assert _run(capsys, *_cli(bob, config, "migrate"))[0] == 1
    assert _run(capsys, *_cli(alice, config, "migrate"))[0] == 0
    assert _run(capsys, *_cli(bob, config, "list"))[0] == 0
    with pg_database.server.superuser(pg_database.name) as conn:
        conn.execute("UPDATE mailauth.schema_version SET version = 99")
    code, _, err = _run(capsys, *_cli(alice, config, "list"))
    assert code == 1 and f"by a newer mailauth-tui (schema 99, this one knows {latest})" in err
    assert len(err.strip().splitlines()) == 1


def test_a_server_that_is_down_is_one_line_and_the_password_is_never_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://alice:s3cret@127.0.0.1:{_free_port()}/registry"
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    code, out, err = _run(capsys, "list", "--db", url, "--config", str(empty))
    assert code == 1 and out == ""
    assert err.startswith("mailauth-tui: cannot connect to the registry postgresql://alice:***@")
    assert "s3cret" not in err and len(err.strip().splitlines()) == 1
    config = tmp_path / "config.toml"
    config.write_text(f'[registry]\nurl = "{url}"\n', encoding="utf-8")
    code, _, err = _run(capsys, "list", "--config", str(config))
    assert code == 1 and "holds a password" in err and "PGPASSWORD" in err
    assert "s3cret" not in err


def test_wrong_codes_from_several_hosts_lock_the_code_after_five_in_total(
    pg_database: PgDatabase, config: Path, alice: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, *_cli(alice, config, "add", ADDRESS))[0] == 0
    carol = pg_database.login("carol", pg_database.roles.admin)
    assert _run(capsys, *_cli(alice, config, "admin", "add", "carol"))[0] == 0
    # Eight wrong codes at once from two "hosts" (processes of two roles): five count.
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailauth_tui",
                *_cli(url, config, "code", DOMAIN, "ZZZZ-ZZZZ-ZZ"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        for url in [alice, carol] * 4
    ]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert all(p.returncode == 1 for p in procs), errors
    with pg_database.store("alice") as store:
        rec = store.get_domain(DOMAIN)
        events = [e.event for e in store.journal(DOMAIN, limit=100)]
    assert rec is not None and rec.ownership == "locked" and rec.code_attempts == 5
    assert events.count("code_wrong") == 4 and events.count("locked") == 1
    assert all(len(e.strip().splitlines()) == 1 and "Traceback" not in e for e in errors)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_connections_dropped_mid_recheck_are_reopened_and_the_round_completes(
    pg_database: PgDatabase,
    zone: Zone,
    dns_server: ZoneServer,
    registry_store: RegistryStore,
    registry_settings: Settings,
    make_registry: MakeRegistry,
) -> None:
    """The server ends every session of alice's (a restart, a failover) while her re-check
    runs: the store takes new connections, retries what was cut, and every domain is done."""
    names = [f"d{i:02d}.example.org" for i in range(30)]
    registry = make_registry("alice")
    seed_verified(
        registry_store,
        zone,
        names,
        REGISTRY_T0 - timedelta(minutes=1),
        keys_dir=registry_settings.keys_dir,
    )
    dns_server.delay = 0.02
    seen: list[str] = []

    def cut_after_five(outcome: VerifyOutcome) -> None:
        seen.append(outcome.domain.domain)
        if len(seen) == 5:
            with pg_database.server.superuser() as conn:
                cut = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE usename = 'alice'"
                ).fetchone()
                assert cut is not None and isinstance(cut[0], int) and cut[0] >= 1

    try:
        outcomes = await registry.recheck(on_result=cut_after_five)
    finally:
        dns_server.delay = 0.0
    assert sorted(o.domain.domain for o in outcomes) == names
    with pg_database.store("alice") as store:
        rows = store.list_domains()
    assert all(r.last_check_at is not None and r.last_check_at >= REGISTRY_T0 for r in rows)


def test_registry_copy_moves_a_sqlite_registry_in_one_go_and_refuses_a_non_empty_target(
    pg_database: PgDatabase, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "old" / "registry.sqlite3"
    local = ["--db", str(db), "--config", str(config)]
    assert _run(capsys, "init", *local)[0] == 0
    assert _run(capsys, "add", ADDRESS, *local)[0] == 0
    assert _run(capsys, "code", DOMAIN, "ZZZZ-ZZZZ-ZZ", *local)[0] == 1  # one wrong try
    keys = FileKeyStore(tmp_path / "old" / "keys")
    made = keys.generate("other.example.org", "s1", key_type="ed25519")
    with Store(db) as store, store.transaction() as tx:
        tx.insert_domain(
            domain="other.example.org",
            domain_unicode="other.example.org",
            address="admin@other.example.org",
            added_by="alice",
            added_at=REGISTRY_T0,
            ownership="verified",
        )
        tx.add_key(
            "other.example.org",
            KeyRecord("s1", "ed25519", None, made.public_key, made.key_ref, REGISTRY_T0, True),
        )
        before = (tx.list_domains(), tx.journal(limit=1000), tx.admins())
    target = pg_database.login("alice", pg_database.roles.admin)
    code, out, err = _run(capsys, "registry", "copy", "--to", target, *local)
    assert code == 0, err
    assert "2 domains, 1 DKIM keys" in out
    with pg_database.store("alice") as copied, copied.reading() as tx:
        assert (tx.list_domains(), tx.journal(limit=1000), tx.admins()) == before
    sam = pg_database.login("sam", pg_database.roles.signer)
    with psycopg.connect(sam) as conn:
        rows = conn.execute("SELECT pem FROM mailauth.signing_keys").fetchall()
    assert [bytes(r[0]) for r in rows] == [keys.private_key_pem(made.key_ref)]
    code, _, err = _run(capsys, "registry", "copy", "--to", target, *local)
    assert code == 1 and "is not empty: copy into a new database; nothing was written" in err
