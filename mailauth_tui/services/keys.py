"""DKIM signing keys: generation with ``cryptography`` and owner-only storage on disk.

Generating an RSA key is CPU-bound (~50-200 ms for 2048 bits, about a second for 4096): the
caller runs :meth:`KeyStore.generate` in a thread (``asyncio.to_thread`` or a Textual thread
worker). The store keeps no state besides its directory, so concurrent calls are safe.
"""

from __future__ import annotations

import base64
import os
import re
import stat
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailauth_tui.core.names import normalize_domain

KEY_TYPES = ("rsa", "ed25519")
# 1024-bit RSA is breakable and receivers ignore it (RFC 8301); above 4096 the p= value no
# longer fits many DNS providers' forms or a plain UDP answer.
RSA_SIZES = (2048, 3072, 4096)
DEFAULT_RSA_BITS = 2048

_SELECTOR = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# "<domain>+<selector>.pem": '+' occurs in neither part, so the name is unambiguous, and no
# part may be '..' or hold a '/', so a key_ref never leaves the directory.
_KEY_REF = re.compile(r"^[a-z0-9_][a-z0-9_.-]*\+[a-z0-9-]+\.pem$")


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    key_ref: str  # the private key's file name inside the store's directory
    key_type: str  # rsa | ed25519
    key_bits: int | None  # None for Ed25519 (fixed size)
    public_key: str  # exactly the DKIM p= value (RFC 6376 3.6.1, RFC 8463 4.2)


class KeyStore(Protocol):
    def generate(
        self,
        domain: str,
        selector: str,
        key_type: str = "rsa",
        bits: int = DEFAULT_RSA_BITS,
        passphrase: bytes | None = None,
    ) -> GeneratedKey: ...

    def private_key_pem(self, key_ref: str, passphrase: bytes | None = None) -> bytes: ...

    # The key as stored (PEM, encrypted when a passphrase protects it), not parsed: reading an
    # RSA key costs ~50 ms of CPU, which the self-test spends only on a key it has not seen.
    def stored_key(self, key_ref: str) -> bytes: ...

    def delete(self, key_ref: str) -> None: ...


def public_key_value(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    """The p= value of a private key's public half.

    RSA: base64 of the DER SubjectPublicKeyInfo (RFC 6376 3.6.1). Ed25519: base64 of the raw
    32-byte key (RFC 8463 4.2), not wrapped in SubjectPublicKeyInfo.
    """
    pub = key.public_key()
    if isinstance(pub, ed25519.Ed25519PublicKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        raw = pub.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return base64.b64encode(raw).decode("ascii")


def _check_selector(selector: str) -> str:
    name = selector.strip().lower()
    if not _SELECTOR.fullmatch(name):
        raise ValueError(
            f"invalid DKIM selector {selector!r}: use letters, digits and inner hyphens "
            "(one DNS label, at most 63 characters)"
        )
    return name


def _new_key(key_type: str, bits: int) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if bits not in RSA_SIZES:
        if bits < DEFAULT_RSA_BITS:
            raise ValueError(
                f"an RSA key of {bits} bits is too weak for DKIM: use 2048 (default) or 4096"
            )
        raise ValueError(f"unsupported RSA key size {bits}: use 2048 (default), 3072 or 4096")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def key_ref_for(domain: str, selector: str) -> str:
    """The reference of a key: ``<ascii domain>+<selector>.pem``. Raises ValueError."""
    return f"{normalize_domain(domain).ascii}+{_check_selector(selector)}.pem"


def new_private_key(
    key_ref: str, key_type: str, bits: int, passphrase: bytes | None
) -> tuple[bytes, GeneratedKey]:
    """A new key as PKCS#8 PEM (encrypted with ``passphrase`` when given) and what the
    registry keeps of it. CPU-bound. Raises ValueError for a bad type, size or passphrase."""
    kind = key_type.strip().lower()
    if kind not in KEY_TYPES:
        raise ValueError(f"unsupported DKIM key type {key_type!r}: use rsa or ed25519")
    if passphrase is not None and not passphrase:
        raise ValueError("the passphrase is empty: give one or none")
    key = _new_key(kind, bits)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return pem, GeneratedKey(
        key_ref=key_ref,
        key_type=kind,
        key_bits=bits if kind == "rsa" else None,
        public_key=public_key_value(key),
    )


def unencrypted_pem(key_ref: str, data: bytes, passphrase: bytes | None) -> bytes:
    """A stored key as unencrypted PKCS#8 PEM, for a signer. Raises ValueError for a wrong
    or missing passphrase or damaged data."""
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError:
        # cryptography says TypeError for "encrypted but no password" and the reverse.
        need = "needs a passphrase" if not passphrase else "is not encrypted"
        raise ValueError(f"the private key {key_ref!r} {need}") from None
    except ValueError:
        raise ValueError(
            f"cannot read the private key {key_ref!r}: wrong passphrase or damaged file"
        ) from None
    if not passphrase:
        return data
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` owner-only and write ``data``; refuse to overwrite anything.

    The mode is given to open() itself: a write-then-chmod leaves a moment where another user
    could open the file, and that open descriptor would keep working after the chmod.
    """
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def fsync_dir(directory: Path) -> None:
    # The registry commits the key_ref right after: the file's name must be durable too.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the file itself is synced
    finally:
        os.close(fd)


class FileKeyStore:
    """Private keys as PKCS#8 PEM files, mode 0600, in a directory of mode 0700."""

    __slots__ = ("_dir",)

    def __init__(self, directory: Path) -> None:
        self._dir = Path(directory)

    def __repr__(self) -> str:
        return f"FileKeyStore({str(self._dir)!r})"

    @property
    def directory(self) -> Path:
        return self._dir

    def _ensure_dir(self) -> None:
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode does not apply to a directory that already existed: take away any world
        # access. Group access stays: a shared registry gives its admins' group the directory
        # (README, "Sharing a registry"); each key file is still 0600.
        mode = stat.S_IMODE(self._dir.stat().st_mode)
        if mode & 0o007:
            os.chmod(self._dir, mode & ~0o007)

    def _path(self, key_ref: str) -> Path:
        if not isinstance(key_ref, str) or not _KEY_REF.fullmatch(key_ref) or ".." in key_ref:
            raise ValueError(f"invalid key reference {key_ref!r}")
        return self._dir / key_ref

    def generate(
        self,
        domain: str,
        selector: str,
        key_type: str = "rsa",
        bits: int = DEFAULT_RSA_BITS,
        passphrase: bytes | None = None,
    ) -> GeneratedKey:
        """Generate and store a key for ``selector._domainkey.domain``. CPU-bound: call it
        from a thread. Raises ValueError for a bad name, type, size or an existing key."""
        ascii_domain = normalize_domain(domain).ascii
        name = _check_selector(selector)
        key_ref = f"{ascii_domain}+{name}.pem"
        path = self._path(key_ref)
        if path.exists():  # checked before the slow part; O_EXCL below is the real guard
            raise ValueError(f"a key for selector {name!r} of {ascii_domain} already exists")
        pem, made = new_private_key(key_ref, key_type, bits, passphrase)
        self._ensure_dir()
        try:
            _write_new(path, pem)
        except FileExistsError:
            raise ValueError(
                f"a key for selector {name!r} of {ascii_domain} already exists"
            ) from None
        fsync_dir(self._dir)
        return made

    def private_key_pem(self, key_ref: str, passphrase: bytes | None = None) -> bytes:
        """The key as unencrypted PKCS#8 PEM, for a signer. Handle the result with care.

        Raises ValueError for a bad reference, a missing key, or a wrong or missing passphrase.
        """
        return unencrypted_pem(key_ref, self.stored_key(key_ref), passphrase)

    def stored_key(self, key_ref: str) -> bytes:
        """The file's bytes. Raises ValueError for a bad reference or a missing key,
        PermissionError for another login's key."""
        try:
            return self._path(key_ref).read_bytes()
        except FileNotFoundError:
            raise ValueError(f"no private key {key_ref!r} in {self._dir}") from None

    def delete(self, key_ref: str) -> None:
        """Remove the key file; a key already gone is not an error (deletion is retried)."""
        self._path(key_ref).unlink(missing_ok=True)


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# a..z then aa..zz: 702 keys a day is beyond any real rotation.
_SUFFIXES: tuple[str, ...] = (*_LETTERS, *(a + b for a in _LETTERS for b in _LETTERS))


def make_selector(now: datetime, existing: Collection[str]) -> str:
    """A dated selector not in ``existing``: ``mt202611``, then ``mt20261127``, then
    ``mt20261127a``, ``b``... A date in the name tells admins at a glance which key is older
    when rotating. ``now`` is taken in UTC when it carries a time zone."""
    day = now.astimezone(UTC) if now.tzinfo is not None else now
    taken = {s.strip().lower() for s in existing}
    month = f"mt{day:%Y%m}"
    if month not in taken:
        return month
    date = f"mt{day:%Y%m%d}"
    if date not in taken:
        return date
    for suffix in _SUFFIXES:
        if date + suffix not in taken:
            return date + suffix
    raise ValueError(f"more than {len(_SUFFIXES)} selectors made on {day:%Y-%m-%d}")
