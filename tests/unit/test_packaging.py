"""The wheel ships the stylesheets, and the console finds them installed or in a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from mailauth_tui.ui.styles_path import styles_dir

ROOT = Path(__file__).resolve().parents[2]


def test_styles_dir_resolves_in_a_source_checkout() -> None:
    found = styles_dir()
    assert (found / "app.tcss").is_file()
    assert (found / "modals.tcss").is_file()
    # In a checkout (the editable install) that is the repository's own styles/ directory.
    assert found.resolve() == (ROOT / "styles").resolve()


def test_wheel_contains_the_stylesheets(tmp_path: Path) -> None:
    out = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = out.glob("mailauth_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mailauth_tui/styles/app.tcss" in names
    assert "mailauth_tui/styles/modals.tcss" in names
    assert "mailauth_tui/ui/app.py" in names
    assert "mailauth_tui/demo/session.py" in names
