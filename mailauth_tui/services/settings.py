"""Settings: a TOML file in the user's config directory, with defaults that work.

Every key is optional. A missing file gives the defaults: mail goes to a Maildir beside the
database (no mail server needed), DKIM keys are RSA 2048, records are re-checked every 48 hours.

```toml
system_sender = "noreply@example.com"   # From of mail whose own domain is not verified
organisation = "Example Ltd"            # named in the verification mail
recheck_interval_hours = 48
recheck_lease_seconds = 120             # a killed `recheck --due` worker's domains wait this long
dmarc_rua = "mailto:dmarc@example.com"  # default: the domain's own registered address
admins = ["alice"]                      # no longer grants anything: admins are kept in the
                                        # registry (imported once from an older registry)
test_environment = false                # accept special-use domains (.test) in addresses

[smtp]                                  # no host: mail is written to the Maildir
host = "smtp.example.com"
port = 587                              # default by security: 587 starttls, 465 tls, 25 none
security = "starttls"                   # starttls | tls | none
username = "mailer"
password_env = "MAILAUTH_SMTP_PASSWORD" # the password is read from this variable, never here

[sending]                               # the sources SPF must authorise
include = "_spf.provider.example"
ips = ["192.0.2.10", "2001:db8::10"]

[dkim]
key_type = "rsa"                        # rsa | ed25519
key_bits = 2048                         # rsa only: 2048, 3072 or 4096
passphrase_env = "MAILAUTH_KEY_PASSPHRASE"  # encrypt private keys with this variable's value
keep_retired_days = 7                   # a rotated-out key's record stays this long (>= 7)

[publish."example.com"]                 # RFC 2136 updates of this zone (mailauth-tui publish)
server = "192.0.2.53"                   # the zone's primary, HOST[:PORT]
key_name = "mailauth-update"            # the TSIG key the server allows to update the zone
algorithm = "hmac-sha256"               # the default
secret_file = "/etc/mailauth-tui/example.com.key"  # 0600: the base64 secret or a key clause
# secret_env = "MAILAUTH_TSIG_SECRET"   # or the secret in this variable; never in this file
ttl = 3600

[registry]                              # a PostgreSQL registry shared by every host
url = "postgresql://alice@db.example.com/mailauth"  # no password here: PGPASSWORD or ~/.pgpass
admin_role = "mailauth_admin"           # the roles the migration creates (these defaults)
reader_role = "mailauth_reader"
signer_role = "mailauth_signer"

[paths]                                 # defaults: the platform's user data directory
data_dir = "~/.local/share/mailauth-tui"
db = "~/.local/share/mailauth-tui/registry.sqlite3"
keys = "~/.local/share/mailauth-tui/keys"        # default: beside the database
maildir = "~/.local/share/mailauth-tui/outbox"   # default: beside the database
```

The default ``system_sender`` is ``noreply@mailauth-tui.invalid``: ``.invalid`` can never exist
(RFC 2606), so no mail goes out in a guessed domain's name and the address itself says that it
was not set; set it to your organisation's address.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from mailauth_tui.services.dnsupdate import ALGORITHMS
from mailauth_tui.services.pg_url import check_url, has_password, is_postgres_url, redact
from mailauth_tui.services.tsig_secret import ZonePublish

APP_NAME = "mailauth-tui"
CONFIG_FILE = "config.toml"
DB_FILE = "registry.sqlite3"
DEFAULT_SYSTEM_SENDER = "noreply@mailauth-tui.invalid"
SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
KEY_TYPES = ("rsa", "ed25519")
RSA_SIZES = (2048, 3072, 4096)
MIN_KEEP_RETIRED_DAYS = 7


class SettingsError(ValueError):
    """The settings file cannot be read or holds a bad value; the message names both."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str | None = None  # None: deliver to the Maildir
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password_env: str | None = None


@dataclass(frozen=True, slots=True)
class SendingSettings:
    include: str | None = None  # the provider's SPF include domain
    ips: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    url: str | None = None  # None: the SQLite file (paths.db)
    admin_role: str = "mailauth_admin"
    reader_role: str = "mailauth_reader"
    signer_role: str = "mailauth_signer"


@dataclass(frozen=True, slots=True)
class DkimSettings:
    key_type: str = "rsa"
    key_bits: int = 2048
    passphrase_env: str | None = None
    keep_retired_days: int = 7  # days a retired key's DNS record stays published


def default_data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME)


def default_config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME) / CONFIG_FILE


@dataclass(frozen=True, slots=True)
class Settings:
    system_sender: str = DEFAULT_SYSTEM_SENDER
    organisation: str | None = None
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sending: SendingSettings = field(default_factory=SendingSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    recheck_interval_hours: float = 48.0
    recheck_lease_seconds: float = 120.0  # a re-check worker's hold on a batch of due domains
    dmarc_rua: str | None = None
    admins: tuple[str, ...] = ()
    test_environment: bool = False
    data_dir: Path = field(default_factory=default_data_dir)
    db_path: Path | None = None  # None: data_dir / registry.sqlite3
    keys_path: Path | None = None  # None: beside the database
    maildir_path: Path | None = None  # None: beside the database
    source: Path | None = None  # the file these came from, None for pure defaults
    publish: tuple[ZonePublish, ...] = ()  # zones updated by RFC 2136

    @property
    def db(self) -> Path:
        return self.db_path if self.db_path is not None else self.data_dir / DB_FILE

    @property
    def keys_dir(self) -> Path:
        # Keys live beside the database they belong to, so `--db` elsewhere takes its keys along.
        return self.keys_path if self.keys_path is not None else self.db.parent / "keys"

    @property
    def maildir(self) -> Path:
        return self.maildir_path if self.maildir_path is not None else self.db.parent / "outbox"

    def with_db(self, db: Path) -> Settings:
        return replace(self, db_path=db, registry=replace(self.registry, url=None))

    def with_url(self, url: str) -> Settings:
        return replace(self, registry=replace(self.registry, url=url))


def load_settings(path: Path | None = None, *, db: Path | None = None) -> Settings:
    """Read the settings file (the default location when ``path`` is None).

    A missing file gives the defaults; unreadable or invalid TOML and bad values raise
    :class:`SettingsError` with the file and the key concerned. ``db`` overrides the
    database path (``--db``).
    """
    file = path if path is not None else default_config_path()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        data: dict[str, Any] = {}
        source: Path | None = None
    except OSError as exc:
        raise SettingsError(f"cannot read {file}: {exc.strerror or exc}") from None
    else:
        source = file
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise SettingsError(f"{file} is not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{file} is not valid TOML: {exc}") from None
        except RecursionError:  # tomllib parses nested arrays and tables recursively
            raise SettingsError(
                f"{file} nests arrays or tables too deeply: no setting needs more than two levels"
            ) from None
    settings = settings_from_mapping(data, where=str(file), source=source)
    return settings.with_db(db) if db is not None else settings


def settings_from_mapping(
    data: Mapping[str, Any], *, where: str = "settings", source: Path | None = None
) -> Settings:
    """Build Settings from parsed TOML; raise SettingsError naming the bad key."""
    r = _Reader(data, where)
    smtp = _smtp(r.table("smtp"))
    sending = _sending(r.table("sending"))
    dkim = _dkim(r.table("dkim"))
    publish = _publish(r.table("publish"))
    registry = _registry(r.table("registry"))
    paths = r.table("paths")
    data_dir = paths.path("data_dir") or default_data_dir()
    db_path, keys_path, maildir_path = paths.path("db"), paths.path("keys"), paths.path("maildir")
    paths.done()

    system_sender = r.string("system_sender") or DEFAULT_SYSTEM_SENDER
    if "@" not in system_sender or any(c.isspace() for c in system_sender):
        raise SettingsError(f"{where}: system_sender {system_sender!r} is not an email address")
    interval = r.number("recheck_interval_hours", 48.0)
    if not 1 <= interval <= 24 * 365:
        raise SettingsError(f"{where}: recheck_interval_hours must be between 1 and 8760")
    lease = r.number("recheck_lease_seconds", 120.0)
    if not 1 <= lease <= 3600:
        raise SettingsError(f"{where}: recheck_lease_seconds must be between 1 and 3600")
    admins = r.strings("admins")
    settings = Settings(
        system_sender=system_sender,
        organisation=r.string("organisation"),
        smtp=smtp,
        sending=sending,
        dkim=dkim,
        registry=registry,
        recheck_interval_hours=interval,
        recheck_lease_seconds=lease,
        dmarc_rua=r.string("dmarc_rua"),
        admins=tuple(a.strip() for a in admins if a.strip()),
        test_environment=r.boolean("test_environment", False),
        data_dir=data_dir,
        db_path=db_path,
        keys_path=keys_path,
        maildir_path=maildir_path,
        source=source,
        publish=publish,
    )
    r.done()
    return settings


def _smtp(r: _Reader) -> SmtpSettings:
    security = (r.string("security") or "starttls").lower()
    if security not in SECURITY_MODES:
        raise SettingsError(f"{r.where}.security must be one of {', '.join(SECURITY_MODES)}")
    port = r.integer("port", DEFAULT_PORTS[security])
    if not 0 < port < 65536:
        raise SettingsError(f"{r.where}.port must be between 1 and 65535")
    out = SmtpSettings(
        host=r.string("host") or None,
        port=port,
        security=security,
        username=r.string("username") or None,
        password_env=r.string("password_env") or None,
    )
    r.done()
    return out


def _sending(r: _Reader) -> SendingSettings:
    include = r.string("include") or None
    ips = r.strings("ips")
    for ip in ips:
        try:
            ipaddress.ip_network(ip, strict=False)
        except ValueError:
            raise SettingsError(f"{r.where}.ips: {ip!r} is not an IP address or network") from None
    r.done()
    return SendingSettings(include=include, ips=tuple(ips))


_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _registry(r: _Reader) -> RegistrySettings:
    url = r.string("url") or None
    if url is not None:
        if not is_postgres_url(url):
            raise SettingsError(f"{r.where}.url must be a postgresql:// URL")
        if has_password(url):
            raise SettingsError(
                f"{r.where}.url holds a password ({redact(url)}): remove it; put it in "
                "~/.pgpass (mode 0600) or the PGPASSWORD variable"
            )
        try:
            check_url(url)
        except ValueError as exc:
            raise SettingsError(f"{r.where}.url: {exc}") from None
    roles = {}
    for key, default in (
        ("admin_role", "mailauth_admin"),
        ("reader_role", "mailauth_reader"),
        ("signer_role", "mailauth_signer"),
    ):
        name = r.string(key) or default
        if not _ROLE.fullmatch(name):
            raise SettingsError(
                f"{r.where}.{key} {name!r} is not a role name: lower-case letters, digits, '_'"
            )
        roles[key] = name
    r.done()
    return RegistrySettings(url=url, **roles)


def _dkim(r: _Reader) -> DkimSettings:
    key_type = (r.string("key_type") or "rsa").lower()
    if key_type not in KEY_TYPES:
        raise SettingsError(f"{r.where}.key_type must be one of {', '.join(KEY_TYPES)}")
    bits = r.integer("key_bits", 2048)
    if key_type == "rsa" and bits not in RSA_SIZES:
        raise SettingsError(
            f"{r.where}.key_bits must be one of {', '.join(map(str, RSA_SIZES))} "
            "(RSA keys below 2048 bits are refused)"
        )
    keep = r.integer("keep_retired_days", MIN_KEEP_RETIRED_DAYS)
    if keep < MIN_KEEP_RETIRED_DAYS:
        raise SettingsError(
            f"{r.where}.keep_retired_days must be at least {MIN_KEEP_RETIRED_DAYS}: mail "
            "signed with a retired key is still verified (delayed, forwarded) for days"
        )
    out = DkimSettings(
        key_type=key_type,
        key_bits=bits if key_type == "rsa" else 256,
        passphrase_env=r.string("passphrase_env") or None,
        keep_retired_days=keep,
    )
    r.done()
    return out


def _publish(r: _Reader) -> tuple[ZonePublish, ...]:
    zones = []
    for zone in sorted(r.data):
        t = r.table(zone)
        name = zone.strip().rstrip(".").lower()
        server, key_name = t.string("server"), t.string("key_name")
        if not server or not key_name:
            raise SettingsError(f"{t.where}: server and key_name are required")
        algorithm = (t.string("algorithm") or "hmac-sha256").lower()
        if algorithm not in ALGORITHMS:
            raise SettingsError(f"{t.where}.algorithm must be one of {', '.join(ALGORITHMS)}")
        if "secret" in t.data:
            raise SettingsError(
                f"{t.where}: never put the TSIG secret in the settings file: use secret_file "
                "(a 0600 file) or secret_env"
            )
        secret_file, secret_env = t.path("secret_file"), t.string("secret_env") or None
        if (secret_file is None) == (secret_env is None):
            raise SettingsError(f"{t.where}: give one of secret_file or secret_env")
        ttl = t.integer("ttl", 3600)
        if not 60 <= ttl <= 86400 * 7:
            raise SettingsError(f"{t.where}.ttl must be between 60 and 604800")
        t.done()
        zones.append(ZonePublish(name, server, key_name, algorithm, secret_file, secret_env, ttl))
    return tuple(zones)


class _Reader:
    """Typed access to one TOML table that remembers which keys were read, so that a
    misspelt key is an error instead of a silently ignored setting."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where
        self.seen: set[str] = set()

    def _get(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def table(self, key: str) -> _Reader:
        value = self._get(key)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise SettingsError(f"{self.where}: [{key}] must be a table")
        return _Reader(value, f"{self.where} [{key}]")

    def string(self, key: str) -> str | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise SettingsError(f"{self.where}: {key} must be a string")
        return self._clean(key, value)

    def strings(self, key: str) -> list[str]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{self.where}: {key} must be a list of strings")
        return [self._clean(key, v) for v in value]

    def _clean(self, key: str, value: str) -> str:
        # TOML escapes allow "\u0000": a NUL in a path fails only when the file is opened, one in
        # an address only when mail is sent (a domain left pending with a code never sent).
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise SettingsError(f"{self.where}: {key} must not contain control characters")
        return value.strip()

    def number(self, key: str, default: float) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"{self.where}: {key} must be a number")
        return float(value)

    def integer(self, key: str, default: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{self.where}: {key} must be a whole number")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise SettingsError(f"{self.where}: {key} must be true or false")
        return value

    def path(self, key: str) -> Path | None:
        value = self.string(key)
        return Path(value).expanduser() if value else None

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise SettingsError(f"{self.where}: unknown setting(s) {', '.join(unknown)}")
