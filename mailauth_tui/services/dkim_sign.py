"""DKIM signing and verifying with dkimpy, from the key store's PEM files.

The key store keeps PKCS#8 PEM (both key types). dkimpy wants an RSA key as PKCS#1 PEM and an
Ed25519 key as the base64 of its 32-byte seed, so :func:`load_signing_key` converts once and
the result is kept by the caller (the relay caches it per key file).

Verification takes the TXT text the caller already looked up (through the registry's own
resolver) and hands it to dkimpy as its ``dnsfunc``: the self-test and the relay's tests judge
exactly what the check saw, never a second look-up through another resolver.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailauth_tui.services.keys import public_key_value

# What the relay and the self-test sign: the headers RFC 6376 5.4.1 recommends, once each,
# plus the ones this relay adds or rewrites (Reply-To), so none can be added unnoticed later.
SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from",
    b"reply-to",
    b"subject",
    b"date",
    b"to",
    b"cc",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


class SigningError(Exception):
    """A key cannot be used to sign; the message says which and why."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One private key in the form dkimpy signs with."""

    domain: str  # d=
    selector: str  # s=
    algorithm: bytes  # b"rsa-sha256" | b"ed25519-sha256"
    private: bytes  # PKCS#1 PEM (RSA) or base64 seed (Ed25519)
    public_key: str  # the p= value of its public half

    def sign(self, message: bytes) -> bytes:
        """The DKIM-Signature header line (ending in CRLF) for ``message``."""
        try:
            return bytes(
                dkim.sign(
                    message,
                    self.selector.encode("ascii"),
                    self.domain.encode("ascii"),
                    self.private,
                    include_headers=_present(message),
                    signature_algorithm=self.algorithm,
                    linesep=b"\r\n",
                )
            )
        except dkim.DKIMException as exc:
            where = f"{self.selector}._domainkey.{self.domain}"
            raise SigningError(f"cannot sign as {where}: {exc}") from None


def _present(message: bytes) -> list[bytes]:
    """The SIGNED_HEADERS the message has (one pass over its header): signing an absent
    field would keep a relay further on from adding it, which is not ours to forbid."""
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    names = {
        line.split(b":", 1)[0].strip().lower()
        for line in head.splitlines()
        if line[:1] not in (b" ", b"\t")
    }
    return [h for h in SIGNED_HEADERS if h in names] or [b"from"]


def load_signing_key(domain: str, selector: str, pem: bytes) -> SigningKey:
    """Convert a PKCS#8 PEM private key (unencrypted) for dkimpy."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (TypeError, ValueError) as exc:
        where = f"{selector}._domainkey.{domain}"
        raise SigningError(f"cannot read the private key of {where}: {exc}") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return SigningKey(
            domain, selector, b"ed25519-sha256", base64.b64encode(seed), public_key_value(key)
        )
    if isinstance(key, rsa.RSAPrivateKey):
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        return SigningKey(domain, selector, b"rsa-sha256", private, public_key_value(key))
    raise SigningError(
        f"the private key of {selector}._domainkey.{domain} is neither RSA nor Ed25519"
    )


class _Log:
    """The logger dkimpy is given: it reports why a signature failed only through
    ``logger.error``; this keeps those lines for the caller (one per verification, so
    concurrent verifications never mix their reasons)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, msg: object, *args: object) -> None:
        self.errors.append(str(msg) % args if args else str(msg))

    def debug(self, msg: object, *args: object) -> None:
        pass

    info = warning = debug


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    detail: str  # dkimpy's reason when not ok ("" when it gave none)


def verify_with(message: bytes, txt_by_name: dict[str, str]) -> Verification:
    """Verify the first DKIM signature of ``message`` with dkimpy, answering its key look-up
    from ``txt_by_name`` (host name without the trailing dot -> the TXT text)."""

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        host = (name.decode("ascii") if isinstance(name, bytes) else name).rstrip(".").lower()
        text = txt_by_name.get(host)
        return text.encode("utf-8") if text is not None else None

    log = _Log()
    try:
        ok = bool(dkim.verify(message, logger=log, dnsfunc=dnsfunc))
    except dkim.DKIMException as exc:
        return Verification(False, str(exc))
    return Verification(ok, "; ".join(log.errors))
