"""Where a zone's TSIG secret comes from: a file only its owner can read (0600, owned by
whoever runs mailauth-tui), or an environment variable. Never the settings file, never
printed: only the key's name and algorithm appear in messages.

The file holds the base64 secret alone, or the key clause ``tsig-keygen`` writes
(``key "name" { algorithm hmac-sha256; secret "..."; };``), whose secret is taken.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from mailauth_tui.services.dnsupdate import TsigKey

_SECRET_CLAUSE = re.compile(r'secret\s+"([^"]+)"')


class SecretError(Exception):
    """The secret cannot be read safely; ``str(err)`` says what and how to fix it."""


@dataclass(frozen=True, slots=True)
class ZonePublish:
    """``[publish."ZONE"]``: how to update ZONE by RFC 2136."""

    zone: str
    server: str  # HOST[:PORT] of the primary
    key_name: str
    algorithm: str = "hmac-sha256"
    secret_file: Path | None = None
    secret_env: str | None = None
    ttl: int = 3600

    def key(self) -> TsigKey:
        return TsigKey(self.key_name, self.algorithm, read_secret(self))


def read_secret(conf: ZonePublish) -> str:
    where = f'[publish."{conf.zone}"]'
    if conf.secret_env:
        value = os.environ.get(conf.secret_env, "").strip()
        if not value:
            raise SecretError(
                f"{where}: the environment variable {conf.secret_env} holding the TSIG secret "
                "is not set"
            )
        return value
    if conf.secret_file is None:
        raise SecretError(f"{where}: give secret_file (a 0600 file) or secret_env")
    path = conf.secret_file
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise SecretError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if info.st_mode & 0o077:
            raise SecretError(
                f"{where}: {path} can be read by others (mode "
                f"{stat.S_IMODE(info.st_mode):04o}): chmod 600 {path}"
            )
        if info.st_uid != os.geteuid():
            raise SecretError(f"{where}: {path} belongs to another user: it must be yours")
        text = handle.read(65536).decode("utf-8", "replace")
    match = _SECRET_CLAUSE.search(text)
    secret = match.group(1) if match else text.strip()
    if not secret or any(c.isspace() for c in secret):
        raise SecretError(f"{where}: {path} holds no TSIG secret (base64, or a key clause)")
    return secret
