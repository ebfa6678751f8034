"""Settings: defaults that work, the TOML file, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailauth_tui.services.settings import (
    DEFAULT_SYSTEM_SENDER,
    Settings,
    SettingsError,
    load_settings,
)

FULL = """
system_sender = "noreply@corp.example"
organisation = "Corp"
recheck_interval_hours = 24
dmarc_rua = "mailto:dmarc@corp.example"
admins = ["alice", " bob "]
test_environment = true

[smtp]
host = "smtp.corp.example"
security = "tls"
username = "mailer"
password_env = "CORP_SMTP_PASSWORD"

[sending]
include = "_spf.provider.example"
ips = ["192.0.2.10", "2001:db8::/32"]

[dkim]
key_type = "ed25519"

[paths]
data_dir = "{tmp}/data"
"""


def test_missing_file_gives_working_defaults(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "absent.toml")
    assert s.source is None
    assert s.system_sender == DEFAULT_SYSTEM_SENDER
    assert s.smtp.host is None  # the Maildir, so the flow works without a mail server
    assert (s.dkim.key_type, s.dkim.key_bits) == ("rsa", 2048)
    assert s.recheck_interval_hours == 48
    assert s.admins == ()
    assert s.db.name == "registry.sqlite3"
    assert s.keys_dir == s.db.parent / "keys"
    assert s.maildir == s.db.parent / "outbox"


def test_full_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(FULL.format(tmp=tmp_path), encoding="utf-8")
    s = load_settings(path)
    assert s.source == path
    assert s.system_sender == "noreply@corp.example"
    assert s.organisation == "Corp"
    assert s.recheck_interval_hours == 24
    assert s.admins == ("alice", "bob")
    assert s.test_environment is True
    assert s.smtp.host == "smtp.corp.example"
    assert (s.smtp.security, s.smtp.port) == ("tls", 465)  # port follows the security mode
    assert s.smtp.password_env == "CORP_SMTP_PASSWORD"
    assert s.sending.include == "_spf.provider.example"
    assert s.sending.ips == ("192.0.2.10", "2001:db8::/32")
    assert s.dkim.key_type == "ed25519"
    assert s.db == tmp_path / "data" / "registry.sqlite3"


def test_db_override_takes_keys_and_outbox_along(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "absent.toml", db=tmp_path / "elsewhere" / "r.db")
    assert s.db == tmp_path / "elsewhere" / "r.db"
    assert s.keys_dir == tmp_path / "elsewhere" / "keys"
    assert s.maildir == tmp_path / "elsewhere" / "outbox"


def test_explicit_paths_win(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[paths]\nkeys = "{tmp_path}/k"\nmaildir = "{tmp_path}/m"\n')
    s = load_settings(path, db=tmp_path / "r.db")
    assert (s.keys_dir, s.maildir) == (tmp_path / "k", tmp_path / "m")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("system_sender = ", "not valid TOML"),
        ("smtp = 3", "[smtp] must be a table"),
        ("admins = 'alice'", "admins must be a list of strings"),
        ("smpt_host = 'x'", "unknown setting(s) smpt_host"),
        ("[smtp]\nsecurity = 'ssl'", "security must be one of starttls, tls, none"),
        ("[smtp]\nport = 70000", "port must be between 1 and 65535"),
        ("[smtp]\nport = 'x'", "port must be a whole number"),
        ("[dkim]\nkey_bits = 1024", "RSA keys below 2048 bits are refused"),
        ("[dkim]\nkey_type = 'dsa'", "key_type must be one of rsa, ed25519"),
        ("[sending]\nips = ['mail.example']", "'mail.example' is not an IP address"),
        ("system_sender = 'nobody'", "is not an email address"),
        ("recheck_interval_hours = 0", "recheck_interval_hours must be between"),
        ("test_environment = 'yes'", "test_environment must be true or false"),
        ("[dkim]\nkeep_retired_days = 2", "keep_retired_days must be at least 7"),
    ],
)
def test_bad_files_say_what_and_where(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert needle in str(err.value)
    assert str(path) in str(err.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"admins = ['\xff']")
    with pytest.raises(SettingsError, match="not UTF-8"):
        load_settings(path)


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path)  # a directory


def test_defaults_are_a_plain_dataclass() -> None:
    s = Settings()
    assert s.smtp.port == 587
    with pytest.raises(AttributeError):
        s.admins = ("x",)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x = " + "[" * 5000 + "]" * 5000, "nests arrays or tables too deeply"),
        ("x = " + "{a = " * 3000 + "1" + "}" * 3000, "nests arrays or tables too deeply"),
        ('system_sender = "noreply\\u0000@corp.example"', "system_sender must not contain"),
        ('[paths]\ndb = "/srv/a\\u0000b"', "[paths]: db must not contain control"),
        ('organisation = "Corp\\r\\nBcc: x@y"', "organisation must not contain control"),
    ],
)
def test_hostile_files_are_refused_in_one_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert str(err.value).startswith(str(path)) and says in str(err.value)
    assert "\n" not in str(err.value)
