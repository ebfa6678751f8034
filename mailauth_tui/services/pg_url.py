"""PostgreSQL registry URLs: recognised, checked and shown without their password.

The password never comes from the settings file: libpq reads it from ``PGPASSWORD`` or
``~/.pgpass`` (mode 0600) by itself. A URL given with ``--db`` may still carry one; every
message shows the URL through :func:`redact`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql", "postgres")
_PASSWORD_PARAM = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def is_postgres_url(text: str) -> bool:
    return text.split("://", 1)[0].lower() in SCHEMES and "://" in text


def redact(url: str) -> str:
    """The URL with any password (in the user part or a ``password=`` parameter) hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unreadable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = _PASSWORD_PARAM.sub(r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def has_password(url: str) -> bool:
    return redact(url) != url


def check_url(url: str) -> str:
    """The URL, or ValueError saying what is wrong with it (the message redacts it)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError(f"{redact(url)} is not a URL") from None
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"{redact(url)}: the URL must start with postgresql://")
    if not parts.path.strip("/"):
        raise ValueError(f"{redact(url)} names no database: give postgresql://USER@HOST/DATABASE")
    return url
