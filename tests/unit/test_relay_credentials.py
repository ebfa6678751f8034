"""Where the relay's client credentials come from: an owner-only file or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailauth_tui.cli.signing_cmds import RELAY_CREDENTIALS_ENV, _credentials


def test_an_owner_only_file(tmp_path: Path) -> None:
    path = tmp_path / "relay-users"
    path.write_text("# services\napp:s3cret:with:colons\nbilling: pw\n")
    path.chmod(0o600)
    assert _credentials(str(path)) == {"app": "s3cret:with:colons", "billing": " pw"}
    path.chmod(0o640)
    with pytest.raises(ValueError, match="must be readable by its owner only: chmod 600"):
        _credentials(str(path))


def test_the_environment_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RELAY_CREDENTIALS_ENV, raising=False)
    assert _credentials(None) is None  # no AUTH: the allowed networks alone
    monkeypatch.setenv(RELAY_CREDENTIALS_ENV, "app:pw")
    assert _credentials(None) == {"app": "pw"}
    monkeypatch.setenv(RELAY_CREDENTIALS_ENV, "no-colon")
    with pytest.raises(ValueError, match="each line is login:password"):
        _credentials(None)
