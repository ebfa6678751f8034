"""Who may change the registry, through the real entry point: identity from the OS, settings
that grant nothing, dry runs for non-admins, commands that only read creating nothing, and a
damaged registry refused in one line."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.services.identity import os_login
from mailauth_tui.services.store import Store
from tests.fixtures.registry import grant_admin, seed_verified

NAMES = ["a.example.org", "b.example.org"]
SPOOF_VARS = ("LOGNAME", "USER", "LNAME", "USERNAME")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reg" / "registry.sqlite3"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("test_environment = true\n", encoding="utf-8")
    return path


def _common(db: Path, config: Path, *more: str) -> list[str]:
    return ["--db", str(db), "--config", str(config), "--timeout", "0.5", *more]


def _someone_else_admin(db: Path) -> None:
    """The registry belongs to alice: whoever runs the tests only reads it."""
    with Store(db) as store:
        grant_admin(store, "alice")
        with store.transaction() as tx:
            tx.remove_admin(os_login())


def test_the_actor_is_the_os_user_whatever_the_environment_says(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path, config: Path
) -> None:
    for var in SPOOF_VARS:
        monkeypatch.setenv(var, "mallory")
    code, out, _ = _run(capsys, "init", *_common(db, config))
    assert code == 0
    assert f"you ({os_login()}) are its admin" in out
    assert _run(capsys, "add", "admin@mail.example.com", *_common(db, config))[0] == 0
    with Store(db) as store:
        actors = {e.actor for e in store.journal(limit=100)}
        admins = {a.login for a in store.admins()}
    assert actors == admins == {os_login()}


def test_a_spoofed_login_does_not_make_an_admin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path, config: Path
) -> None:
    assert _run(capsys, "init", *_common(db, config))[0] == 0
    _someone_else_admin(db)
    for var in SPOOF_VARS:
        monkeypatch.setenv(var, "alice")
    code, _, err = _run(capsys, "add", "admin@mail.example.com", *_common(db, config))
    assert code == 1
    assert f"only admins can add domains; you are {os_login()}" in err
    assert "admins are: alice" in err and "mailauth-tui admin add" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_settings_file_grants_nothing(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(f'test_environment = true\nadmins = ["{os_login()}"]\n', encoding="utf-8")
    assert _run(capsys, "init", *_common(db, mine))[0] == 0
    _someone_else_admin(db)
    code, _, err = _run(capsys, "add", "admin@mail.example.com", *_common(db, mine))
    assert code == 1
    lines = err.strip().splitlines()
    assert f"the admins key in {mine} is ignored" in lines[0]
    assert f"only admins can add domains; you are {os_login()}" in lines[1]
    with Store(db) as store:
        assert store.list_domains() == []


@pytest.fixture
def empty_dns() -> Iterator[ZoneServer]:
    """A DNS server with an empty zone: every record looks gone."""
    with ZoneServer(Zone()) as server:
        yield server


def test_a_non_admin_recheck_demotes_nothing(
    capsys: pytest.CaptureFixture[str],
    db: Path,
    config: Path,
    zone: Zone,
    empty_dns: ZoneServer,
) -> None:
    assert _run(capsys, "init", *_common(db, config))[0] == 0
    with Store(db) as store:
        seed_verified(store, zone, NAMES, datetime.now(UTC) - timedelta(hours=1))
    _someone_else_admin(db)
    args = _common(db, config, "--nameserver", empty_dns.address)
    before = _run(capsys, "list", "--json", *args)[1]
    for _ in range(2):  # a record seen gone twice in a row would be failing
        code, out, err = _run(capsys, "recheck", "--all", "--json", *args)
        outcomes = json.loads(out)
        assert [o["dry_run"] for o in outcomes] == [True, True]
        assert "dry run:" in err and "nothing is recorded" in err
    code, out, err = _run(capsys, "verify", NAMES[0], "--json", *args)
    shown = json.loads(out)
    assert code == 0  # one bad look would not demote it either
    assert shown["dry_run"] is True and "seen once" in shown["transitions"][0]
    assert _run(capsys, "list", "--json", *args)[1] == before
    _code, out, _ = _run(capsys, "sender", f"news@{NAMES[0]}", *args)
    assert out.strip() == f"news@{NAMES[0]}"  # still verified: its own address
    with Store(db) as store:
        assert [e for e in store.journal(limit=100) if e.event in ("check", "state")] == []


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["list", "--json"],
        ["report"],
        ["recheck", "--due"],
        ["verify", "mail.example.com"],
        ["records", "mail.example.com"],
        ["sender", "a@mail.example.com"],
        ["bulk-check", "mail.example.com"],
        ["admin", "list"],
        ["code", "mail.example.com", "ABCD-EFGH-JK"],
        ["remove", "mail.example.com", "--yes"],
        [],  # the console
    ],
)
def test_commands_that_do_not_create_say_there_is_no_registry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path, argv: list[str]
) -> None:
    db = tmp_path / "nothing-here" / "registry.sqlite3"
    code, _out, err = _run(capsys, *argv, *_common(db, config))
    assert code == 1
    assert err.strip() == (
        f"mailauth-tui: no registry at {db}: create one with: mailauth-tui init --db {db} "
        "(or give the --db of an existing one)"
    )
    assert not db.parent.exists()


def test_an_empty_file_is_no_registry_and_stays_empty(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "registry.sqlite3"
    db.touch()
    for argv in (["list"], ["admin", "list"], []):
        code, _, err = _run(capsys, *argv, *_common(db, config))
        assert code == 1 and err.startswith(f"mailauth-tui: no registry at {db}")
        assert db.stat().st_size == 0


def test_a_refused_add_creates_no_registry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "new" / "registry.sqlite3"
    code, _, err = _run(capsys, "add", "not-an-address", *_common(db, config))
    assert code == 1 and "is not a valid email address" in err
    assert not db.parent.exists()


def test_init_creates_owner_only_and_refuses_an_existing_registry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "data" / "registry.sqlite3"
    assert _run(capsys, "init", *_common(db, config))[0] == 0
    assert (db.parent.stat().st_mode & 0o777, db.stat().st_mode & 0o777) == (0o700, 0o600)
    code, _, err = _run(capsys, "init", *_common(db, config))
    assert code == 1
    assert f"a registry exists at {db} already; its admins: {os_login()}" in err
    code, out, err = _run(capsys, "admin", "list", "--json", *_common(db, config))
    listed = json.loads(out)
    assert (listed["you"], listed["admin"]) == (os_login(), True)
    assert [a["login"] for a in listed["admins"]] == [os_login()]


def test_the_first_add_creates_the_registry_and_its_keys_owner_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "data" / "registry.sqlite3"
    code, out, _ = _run(capsys, "add", "admin@mail.example.com", *_common(db, config))
    assert code == 0
    line = next(x for x in out.splitlines() if "Maildir " in x)
    from tests.fixtures.registry import code_from_delivery

    secret = code_from_delivery(line[line.index("Maildir ") :])
    assert _run(capsys, "code", "mail.example.com", secret, *_common(db, config))[0] == 0
    keys = db.parent / "keys"
    [key] = list(keys.iterdir())
    assert (keys.stat().st_mode & 0o777, key.stat().st_mode & 0o777) == (0o700, 0o600)
    with Store(db) as store:
        assert [a.login for a in store.admins()] == [os_login()]


def _damage(db: Path, how: str) -> None:
    if how == "not sqlite":
        db.write_bytes(b"\x00garbage" * 512)
    elif how == "other program":
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE photos (id INTEGER)")
        conn.commit()
        conn.close()
    elif how in ("newer schema", "negative schema"):
        Store(db).close()
        conn = sqlite3.connect(db)
        conn.execute(f"PRAGMA user_version = {99 if how == 'newer schema' else -3}")
        conn.commit()
        conn.close()


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("not sqlite", "registry damaged: {db} (file is not a database)"),
        ("other program", "{db} is another program's database, not a mailauth-tui registry"),
        ("newer schema", "{db} was written by a newer mailauth-tui (schema 99"),
        ("negative schema", "registry damaged: {db} (schema version -3)"),
    ],
)
@pytest.mark.parametrize("argv", [["list"], ["add", "a@mail.example.com"], ["init"], []])
def test_a_damaged_registry_is_refused_in_one_line_and_left_alone(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    config: Path,
    how: str,
    says: str,
    argv: list[str],
) -> None:
    db = tmp_path / "registry.sqlite3"
    _damage(db, how)
    before = db.read_bytes()
    code, _out, err = _run(capsys, *argv, *_common(db, config))
    assert code == 1
    assert err.startswith("mailauth-tui: " + says.format(db=db))
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert db.read_bytes() == before
