"""[publish."ZONE"] settings and where the TSIG secret may come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailauth_tui.services.settings import SettingsError, load_settings
from mailauth_tui.services.tsig_secret import SecretError, ZonePublish, read_secret

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="


def _load(tmp_path: Path, body: str) -> tuple[ZonePublish, ...]:
    path = tmp_path / "config.toml"
    path.write_text(body)
    return load_settings(path).publish


def test_a_zone_with_a_secret_file(tmp_path: Path) -> None:
    (conf,) = _load(
        tmp_path,
        '[publish."Example.COM."]\nserver = "192.0.2.53:5353"\nkey_name = "k"\n'
        'secret_file = "/etc/k.key"\n',
    )
    assert conf == ZonePublish(
        "example.com", "192.0.2.53:5353", "k", secret_file=Path("/etc/k.key")
    )


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('server = "a"\nkey_name = "k"\nsecret = "abc"\n', "never put the TSIG secret in"),
        ('server = "a"\nkey_name = "k"\n', "give one of secret_file or secret_env"),
        ('key_name = "k"\nsecret_env = "X"\n', "server and key_name are required"),
        ('server = "a"\nkey_name = "k"\nsecret_env = "X"\nalgorithm = "md5"\n', "algorithm"),
    ],
)
def test_bad_publish_settings(tmp_path: Path, body: str, needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        _load(tmp_path, '[publish."example.com"]\n' + body)


def test_the_secret_from_a_0600_key_clause_never_from_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    path.write_text(f'key "k" {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n')
    path.chmod(0o600)
    conf = ZonePublish("example.com", "a", "k", secret_file=path)
    assert read_secret(conf) == SECRET
    assert SECRET not in repr(conf.key())
    path.chmod(0o640)
    with pytest.raises(SecretError, match=r"can be read by others \(mode 0640\): chmod 600"):
        read_secret(conf)


def test_the_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = ZonePublish("example.com", "a", "k", secret_env="MAILAUTH_TEST_TSIG")
    monkeypatch.delenv("MAILAUTH_TEST_TSIG", raising=False)
    with pytest.raises(SecretError, match="MAILAUTH_TEST_TSIG holding the TSIG secret is not set"):
        read_secret(conf)
    monkeypatch.setenv("MAILAUTH_TEST_TSIG", SECRET)
    assert read_secret(conf) == SECRET
