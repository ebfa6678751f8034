"""The BIND fixture itself (tests/fixtures/bind.py): its servers' logs reach the report of the
test that failed, and a failed namespace check leaves no process behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import bind

ROOT = Path(__file__).resolve().parents[2]

INNER_TESTS = """
def test_first(bind_world):
    pass


def test_fails(bind_world):
    assert False, "the inner test failed"


def test_last(bind_world):  # passes after the failure: the logs must not wait for it
    pass
"""


def _needs_bind() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        bind._unavailable("the BIND fixture needs root and unshare")
    bind._named()


def test_a_failed_test_shows_what_the_servers_logged_during_it(tmp_path: Path) -> None:
    _needs_bind()
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text("from tests.fixtures.bind import *  # noqa: F403\n")
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rN", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "2 passed" in out and "1 failed" in out, out
    failure = out[out.index("_ test_fails _") :]
    # named's own lines (it logs as it loads the zone and serves), under the failed test.
    assert "named.log (during test_fails)" in failure, out
    assert "zoneserver.log (during test_fails)" in failure, out
    assert "during test_first" not in out and "during test_last" not in out


def test_a_failed_namespace_check_stops_the_holder(monkeypatch: pytest.MonkeyPatch) -> None:
    _needs_bind()
    started: list[subprocess.Popen[Any]] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr("tests.fixtures.bind.subprocess.Popen", recording_popen)
    monkeypatch.setattr("tests.fixtures.bind.os.readlink", lambda path: "net:[the same]")
    try:
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            bind._make_netns(())
        monkeypatch.undo()
        [holder] = started
        assert holder.poll() is not None, "the namespace holder was left running"
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
