"""Ownership verification codes: generation, the form users type, salted hashes.

A code proves that whoever enters it can read the organisation address it was mailed to. Only
its scrypt hash is stored; comparison is constant time; the registry limits attempts
(:data:`MAX_ATTEMPTS`), lifetime (:data:`CODE_TTL`) and resends (:data:`RESEND_INTERVAL`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from datetime import timedelta

# Digits and capitals without the look-alikes 0/O, 1/I/L: a code read from a phone screen and
# typed by hand must not be ambiguous. 31 symbols: a 10-symbol code carries ~49.5 bits.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MIN_CODE_LENGTH = 8
DEFAULT_CODE_LENGTH = 10
GROUP_SIZE = 4

CODE_TTL = timedelta(days=15)
MAX_ATTEMPTS = 5
RESEND_INTERVAL = timedelta(minutes=1)

# scrypt cost. Measured on the 2-core CI machine: n=2**14, r=8, p=1 takes ~65 ms and 16 MiB,
# n=2**13 ~33 ms. A code is random (~50 bits), short-lived and limited to 5 tries, so the hash
# only has to make a stolen database expensive to brute-force within 15 days, not to protect
# a human password; 2**14 does that while a test suite hashing dozens of codes stays fast.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32

# Bounds on parameters read back from storage: a corrupt or hostile row must not make
# verify_code allocate gigabytes or spin for minutes.
_MAX_N = 2**16
_MAX_R = 16
_MAX_P = 4
_MAX_CODE_CHARS = 64

# Dashes people (and input methods) type between groups; all are dropped by normalize_code.
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d_.")


def generate_code(
    length: int = DEFAULT_CODE_LENGTH,
    rand: Callable[[Sequence[str]], str] = secrets.choice,
) -> str:
    """A new code of ``length`` symbols from :data:`ALPHABET`, ungrouped.

    ``rand`` picks one symbol; tests pass a seeded chooser to freeze codes.
    """
    if length < MIN_CODE_LENGTH:
        raise ValueError(f"a verification code needs at least {MIN_CODE_LENGTH} characters")
    return "".join(rand(ALPHABET) for _ in range(length))


def format_code(code: str, group: int = GROUP_SIZE) -> str:
    """The code as shown in mail: ``ABCD-EFGH-JK``."""
    plain = normalize_code(code)
    return "-".join(plain[i : i + group] for i in range(0, len(plain), group))


def normalize_code(text: str) -> str:
    """What the user typed, reduced to the symbols compared: case, spaces and dashes ignored.

    NFKC first, so full-width letters and dashes from an East Asian input method count as the
    ASCII ones. Other characters are kept: they make the comparison fail rather than vanish.
    """
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c for c in folded if not c.isspace() and c not in _DASHES).upper()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(code: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # OpenSSL refuses when 128*r*(n+2) + 128*r*p exceeds maxmem (32 MiB by default).
    maxmem = 128 * r * (n + 2 + p) + (1 << 20)
    return hashlib.scrypt(
        code.encode("ascii"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=maxmem
    )


def hash_code(code: str) -> str:
    """The salted hash to store: ``scrypt$n$r$p$salt_b64$hash_b64``.

    The code is normalised first, so any way of typing it verifies. Raises ValueError for a
    code that :func:`generate_code` could not have produced (a caller bug, not user input).
    """
    plain = normalize_code(code)
    if len(plain) < MIN_CODE_LENGTH or any(c not in ALPHABET for c in plain):
        raise ValueError("not a verification code: expected symbols from the code alphabet")
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(plain, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, _HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _parse_stored(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        return None
    if n < 2 or n > _MAX_N or n & (n - 1):
        return None
    if not (1 <= r <= _MAX_R and 1 <= p <= _MAX_P):
        return None
    if not (8 <= len(salt) <= 64 and 16 <= len(digest) <= 64):
        return None
    return n, r, p, salt, digest


def verify_code(code: str, stored: str) -> bool:
    """Whether ``code`` (as typed) matches the ``stored`` hash. Never raises.

    The final comparison is constant time. Input that cannot be a code is refused before
    hashing: that reveals only the public alphabet, not anything about the secret.
    """
    if not isinstance(code, str) or not isinstance(stored, str):
        return False
    parsed = _parse_stored(stored)
    if parsed is None:
        return False
    plain = normalize_code(code[: _MAX_CODE_CHARS * 4])
    if not MIN_CODE_LENGTH <= len(plain) <= _MAX_CODE_CHARS:
        return False
    if any(c not in ALPHABET for c in plain):
        return False
    n, r, p, salt, digest = parsed
    try:
        candidate = _scrypt(plain, salt, n, r, p, len(digest))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, digest)
