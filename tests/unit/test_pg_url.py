"""PostgreSQL URLs: recognised, checked, and never shown with a password; the settings'
``[registry]`` table refuses a password and bad role names."""

from __future__ import annotations

import pytest

from mailauth_tui.services.pg_url import check_url, has_password, is_postgres_url, redact
from mailauth_tui.services.settings import SettingsError, settings_from_mapping


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://alice@db.example/reg", "postgresql://alice@db.example/reg"),
        (
            "postgresql://alice:s3cret@db.example:5433/reg",
            "postgresql://alice:***@db.example:5433/reg",
        ),
        ("postgres://a:p%40ss@h/reg?sslmode=require", "postgres://a:***@h/reg?sslmode=require"),
        ("postgresql://h/reg?user=a&password=s3cret", "postgresql://h/reg?user=a&password=***"),
    ],
)
def test_redact_hides_every_password(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert has_password(url) == (url != shown)


def test_urls_are_told_from_paths_and_need_a_database() -> None:
    assert is_postgres_url("postgresql://h/db") and is_postgres_url("POSTGRES://h/db")
    assert not is_postgres_url("/var/lib/registry.sqlite3")
    assert not is_postgres_url("postgresql.sqlite3")
    with pytest.raises(ValueError, match="names no database"):
        check_url("postgresql://alice:s3cret@h")
    with pytest.raises(ValueError) as err:
        check_url("postgresql://alice:s3cret@h/")
    assert "s3cret" not in str(err.value)


def test_settings_take_a_url_without_password_and_role_names() -> None:
    s = settings_from_mapping(
        {"registry": {"url": "postgresql://a@h/reg", "reader_role": "svc_read"}}
    )
    assert s.registry.url == "postgresql://a@h/reg"
    assert (s.registry.admin_role, s.registry.reader_role) == ("mailauth_admin", "svc_read")
    with pytest.raises(SettingsError, match="holds a password") as err:
        settings_from_mapping({"registry": {"url": "postgresql://a:s3cret@h/reg"}})
    assert "s3cret" not in str(err.value)
    with pytest.raises(SettingsError, match="is not a role name"):
        settings_from_mapping({"registry": {"admin_role": "x; DROP TABLE"}})
    with pytest.raises(SettingsError, match="must be a postgresql:// URL"):
        settings_from_mapping({"registry": {"url": "mysql://h/db"}})
