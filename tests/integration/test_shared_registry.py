"""One registry shared by several real Unix users, as README's "Sharing a registry" sets it up:
the file's modes are the guard. A reader (another uid, no write permission) opens the console's
data and lists, with or without a writer's WAL beside the file, and cannot change anything
however it edits its environment, its settings or the client itself. An admin with the
group's write permission changes it, and is journaled under the OS name.

The second user is made by forking and dropping to ``nobody`` (the tests run as root in CI):
the child runs the real entry point with the modules its parent already imported, so it needs
no read access to the virtual environment.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import sqlite3
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.services.store import Store
from tests.fixtures.registry import seed_verified

NAMES = ["a.example.org", "b.example.org"]
SPOOFED = {"LOGNAME": "root", "USER": "root", "LNAME": "root", "USERNAME": "root"}


def _second_user() -> tuple[int, int]:
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root: these tests act as a second Unix user and must run")
        pytest.skip("acting as a second Unix user needs root")
    user = pwd.getpwnam("nobody")
    return user.pw_uid, user.pw_gid


def _free_gid() -> int:
    gid = 4242
    while True:
        try:
            grp.getgrgid(gid)
        except KeyError:
            return gid
        gid += 1


def as_user(uid: int, gid: int, groups: list[int], fn: Callable[[], int]) -> tuple[int, str, str]:
    """Run ``fn`` in a forked child that has become ``uid``; its exit code, stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 99
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the child's own
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                os.setgroups(groups)
                os.setgid(gid)
                os.setuid(uid)
                code = fn()
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return os.waitstatus_to_exitcode(status), out.read().decode(), err.read().decode()


class Shared:
    """A registry in a directory other users can reach, made by root."""

    def __init__(self, root: Path, nameserver: str) -> None:
        self.dir = root
        self.db = root / "registry.sqlite3"
        self.nameserver = nameserver
        self.config = root / "config.toml"
        self.config.write_text("test_environment = true\n", encoding="utf-8")
        self.config.chmod(0o644)

    def argv(self, *args: str, config: Path | None = None) -> list[str]:
        return [
            *args,
            "--db",
            str(self.db),
            "--config",
            str(config or self.config),
            "--nameserver",
            self.nameserver,
            "--timeout",
            "0.5",
        ]

    def cli(self, *args: str, env: dict[str, str] | None = None, **kw: Path) -> Callable[[], int]:
        def run() -> int:
            os.environ.update(env or {})
            return main(self.argv(*args, **kw))

        return run

    def rows(self) -> str:
        with Store(self.db) as store:
            return repr(store.list_domains())

    def journal(self) -> list[tuple[str, str]]:
        with Store(self.db) as store:
            return [(e.actor, e.event) for e in store.journal(limit=1000)]


@pytest.fixture
def shared(zone: Zone, dns_server: ZoneServer) -> Iterator[Shared]:
    _second_user()
    root = Path(tempfile.mkdtemp(prefix="mailauth-shared-", dir="/tmp"))
    root.chmod(0o755)
    world = Shared(root, dns_server.address)
    assert main(world.argv("init")) == 0
    with Store(world.db) as store:
        seed_verified(store, zone, NAMES, datetime.now(UTC) - timedelta(hours=1))
    # Everything the child will run, run once here: its imports and data files are loaded.
    assert main(world.argv("list", "--json")) == 0
    assert main(world.argv("recheck", "--all")) == 0
    try:
        yield world
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_reader_reads_and_cannot_change_anything(
    shared: Shared, capsys: pytest.CaptureFixture[str]
) -> None:
    uid, gid = _second_user()
    shared.db.chmod(0o644)  # readable by everyone, writable by its owner only
    assert not Path(f"{shared.db}-wal").exists()  # no writer open: no WAL beside the file
    before, journal = shared.rows(), shared.journal()

    code, out, err = as_user(uid, gid, [], shared.cli("list", "--json"))
    assert code == 0, err
    assert [(r["domain"], r["verified"]) for r in json.loads(out)] == [(n, True) for n in NAMES]

    # The client and its settings, bent every way a user can: still read-only.
    mine = shared.dir / "mine.toml"
    mine.write_text('test_environment = true\nadmins = ["nobody", "root"]\n', encoding="utf-8")
    mine.chmod(0o644)
    for args in (
        ("add", "admin@mail.example.com"),
        ("remove", NAMES[0], "--yes"),
        ("rotate", NAMES[0]),
        ("admin", "add", "nobody"),
    ):
        code, _, err = as_user(uid, gid, [], shared.cli(*args, env=SPOOFED, config=mine))
        assert code == 1, (args, err)
        assert "is ignored: admins are kept in the registry" in err
        assert "you are nobody, with read-only access; admins are: root" in err, err
        assert "Traceback" not in err
    code, out, err = as_user(uid, gid, [], shared.cli("recheck", "--all", "--json", env=SPOOFED))
    assert [o["dry_run"] for o in json.loads(out)] == [True, True], err
    # ... and a hand-written client gets the file system's answer.
    code, _, err = as_user(uid, gid, [], _raw_write(shared.db))
    assert code == 0, err

    assert (shared.rows(), shared.journal()) == (before, journal)
    capsys.readouterr()


def _raw_write(db: Path) -> Callable[[], int]:
    def write() -> int:
        conn = sqlite3.connect(db)
        try:
            conn.execute("UPDATE domains SET ownership = 'verified', added_by = 'nobody'")
            conn.commit()
        except sqlite3.OperationalError as exc:
            print(exc, file=sys.stderr)
            return 0 if "readonly" in str(exc) else 3
        return 4  # the write went through

    return write


def test_a_reader_sees_what_an_open_writer_committed(shared: Shared) -> None:
    uid, gid = _second_user()
    shared.db.chmod(0o644)
    with Store(shared.db) as store:  # an admin's console, open meanwhile
        with store.transaction() as tx:
            tx.delete_domain(NAMES[1])
        assert Path(f"{shared.db}-wal").exists()
        code, out, err = as_user(uid, gid, [], shared.cli("list", "--json"))
        assert code == 0, err
        assert [r["domain"] for r in json.loads(out)] == [NAMES[0]]


def test_an_admin_with_group_write_access_changes_it(shared: Shared, tmp_path: Path) -> None:
    uid, gid = _second_user()
    admins_gid = _free_gid()
    # README "Sharing a registry": the admins' group owns the directory (setgid, so new files
    # keep the group) and may write the database; others may read.
    os.chown(shared.dir, -1, admins_gid)
    shared.dir.chmod(0o2775)
    os.chown(shared.db, -1, admins_gid)
    shared.db.chmod(0o664)
    assert main(shared.argv("admin", "add", "nobody")) == 0
    outbox = shared.dir / "nobody-outbox"
    outbox.mkdir()
    os.chown(outbox, uid, gid)
    mine = shared.dir / "nobody.toml"
    mine.write_text(f'test_environment = true\n[paths]\nmaildir = "{outbox}"\n', encoding="utf-8")
    mine.chmod(0o644)

    # An admin outside the group: the file system says no, and the refusal says so.
    code, _, err = as_user(uid, gid, [], shared.cli("add", "a@shop.example", config=mine))
    assert code == 1
    assert "you (nobody) are an admin but cannot write the registry" in err
    # In the group: the change is made and journaled under the OS name.
    code, _out, err = as_user(
        uid, gid, [admins_gid], shared.cli("add", "a@shop.example", env=SPOOFED, config=mine)
    )
    assert code == 0, err
    assert ("nobody", "added") in shared.journal()
    # Someone in the group but not an admin: the client refuses.
    other = 65533
    try:
        name = pwd.getpwuid(other).pw_name
    except KeyError:
        name = f"uid{other}"
    code, _, err = as_user(
        other, gid, [admins_gid], shared.cli("add", "b@shop.example", env=SPOOFED, config=mine)
    )
    assert code == 1 and f"only admins can add domains; you are {name}," in err


def test_a_user_without_read_access_is_told_whom_to_ask(shared: Shared) -> None:
    uid, gid = _second_user()
    assert shared.db.stat().st_mode & 0o777 == 0o600  # as init made it: private
    code, out, err = as_user(uid, gid, [], shared.cli("list"))
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"mailauth-tui: cannot read the registry {shared.db} (owned by root, mode 0600): ask "
        'its admins for read access (README, "Sharing a registry")'
    )
