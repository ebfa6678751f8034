"""The RSA key size read from DER, against what cryptography reads from the same bytes."""

from __future__ import annotations

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth_tui.core.rsa_der import NotRsaKey, rsa_modulus_bits

SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
PKCS1 = serialization.PublicFormat.PKCS1
DER = serialization.Encoding.DER


def _rsa(bits: int, fmt: serialization.PublicFormat, exponent: int = 65537) -> bytes:
    key = rsa.generate_private_key(public_exponent=exponent, key_size=bits)
    return key.public_key().public_bytes(DER, fmt)


def _library_bits(der: bytes) -> int | None:
    """cryptography's reading: the size for an RSA key, None when it refuses the bytes."""
    try:
        key = load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        return None
    return key.key_size if isinstance(key, rsa.RSAPublicKey) else None


@pytest.fixture(scope="module")
def keys() -> list[bytes]:
    out = [_rsa(bits, fmt) for bits in (1024, 1536, 2048, 4096) for fmt in (SPKI, PKCS1)]
    out += [_rsa(1027, SPKI), _rsa(2048, SPKI, exponent=3)]
    return out


def test_same_sizes_as_cryptography(keys: list[bytes]) -> None:
    for der in keys:
        assert rsa_modulus_bits(der) == _library_bits(der)


def test_other_key_types_are_named() -> None:
    ed = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(DER, SPKI)
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(DER, SPKI)
    for der, kind in ((ed, "Ed25519PublicKey"), (p256, "EllipticCurvePublicKey")):
        with pytest.raises(NotRsaKey) as info:
            rsa_modulus_bits(der)
        assert info.value.kind == kind


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"not a key at all",
        b"\x30\x00",
        b"\x30\x81\x05\x02\x01\x01\x02\x01\x03",  # a long length form for a short length
        b"\x30\x06\x02\x01\x81\x02\x01\x03",  # a negative modulus
        b"\x30\x07\x02\x02\x00\x01\x02\x01\x03",  # a modulus with a superfluous 0x00
        b"\x30\x08\x02\x03\x01\x00\x01\x02\x01\x04",  # an even exponent
        b"\x30\x08\x02\x03\x01\x00\x01\x02\x01\x01",  # exponent 1
    ],
)
def test_malformed_der_is_refused(der: bytes) -> None:
    with pytest.raises(ValueError):
        rsa_modulus_bits(der)


def _mutations(der: bytes) -> st.SearchStrategy[bytes]:
    cut = st.integers(0, len(der) - 1).map(lambda i: der[:i])
    flip = st.tuples(st.integers(0, len(der) - 1), st.integers(0, 255)).map(
        lambda t: der[: t[0]] + bytes((t[1],)) + der[t[0] + 1 :]
    )
    extra = st.binary(min_size=1, max_size=4).map(lambda b: der + b)
    return st.one_of(cut, flip, extra)


_BASE = _rsa(1024, SPKI)
_BASE_PKCS1 = _rsa(1024, PKCS1)


@pytest.mark.parametrize("exponent", [1, 2, 3, 4, 65537, 65536])
def test_exponents_as_openssl_takes_them(exponent: int) -> None:
    modulus = (1 << 1023) | 0xF1  # odd, 1024 bits
    body = b"\x02\x81\x81\x00" + modulus.to_bytes(128, "big")
    e = exponent.to_bytes((exponent.bit_length() + 8) // 8, "big")
    body += b"\x02" + bytes((len(e),)) + e
    der = b"\x30\x81" + bytes((len(body),)) + body
    expected = _library_bits(der)
    if expected is None:
        with pytest.raises(ValueError):
            rsa_modulus_bits(der)
    else:
        assert rsa_modulus_bits(der) == expected == 1024


@settings(max_examples=200, deadline=None)
@given(st.one_of(_mutations(_BASE), _mutations(_BASE_PKCS1)))
def test_damaged_keys_read_like_cryptography_reads_them(der: bytes) -> None:
    """Truncated, extended or altered keys: a size only where cryptography finds the same
    size (this reader may be stricter, never more lenient about what it reports)."""
    try:
        ours: int | None = rsa_modulus_bits(der)
    except ValueError:
        ours = None
    if ours is not None:
        assert ours == _library_bits(der)
