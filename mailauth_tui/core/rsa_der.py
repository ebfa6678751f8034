"""The size of an RSA public key, read from its DER encoding (RFC 5280 4.1.2.7 / RFC 8017 A.1.1).

A DKIM check needs one number from a key: the modulus size. Loading the key with
``cryptography`` to read it costs an import of tens of milliseconds in every ``check`` run;
the two DER structures a DKIM ``p=`` holds are simple enough to read here, strictly (definite
minimal lengths, no trailing bytes, positive minimal integers, the exponent OpenSSL accepts).
``tests/unit/test_rsa_der.py`` checks the results against ``cryptography``.
"""

from __future__ import annotations

__all__ = ["NotRsaKey", "rsa_modulus_bits"]

_SEQUENCE, _INTEGER, _BIT_STRING, _NULL, _OID = 0x30, 0x02, 0x03, 0x05, 0x06
_RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1
# Other key types a p= may hold by mistake, named as cryptography names them.
_OTHER_KEYS = {
    bytes.fromhex("2a8648ce3d0201"): "EllipticCurvePublicKey",  # 1.2.840.10045.2.1
    bytes.fromhex("2b6570"): "Ed25519PublicKey",  # 1.3.101.112
    bytes.fromhex("2b6571"): "Ed448PublicKey",  # 1.3.101.113
    bytes.fromhex("2a8648ce380401"): "DSAPublicKey",  # 1.2.840.10040.4.1
}


class NotRsaKey(ValueError):
    """DER that holds a public key of another type: ``kind`` names it."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"a {kind} key, not RSA")
        self.kind = kind


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the element at ``pos``; ValueError for
    anything that is not strict DER within ``end``."""
    if pos + 2 > end:
        raise ValueError("truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > end or data[pos] == 0:
            raise ValueError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80:
            raise ValueError("length not minimal")
        pos += count
    if pos + length > end:
        raise ValueError("truncated")
    return tag, pos, pos + length


def _positive_integer(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag, start, stop = _tlv(data, pos, end)
    if tag != _INTEGER or start == stop or data[start] & 0x80:
        raise ValueError("not a positive INTEGER")
    if data[start] == 0 and (stop - start == 1 or not data[start + 1] & 0x80):
        raise ValueError("INTEGER not minimal")
    return int.from_bytes(data[start:stop], "big"), stop


def _rsa_public_key(data: bytes, pos: int, end: int) -> int:
    """RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }, filling
    ``data[pos:end]``: the modulus size in bits."""
    tag, start, stop = _tlv(data, pos, end)
    if tag != _SEQUENCE or stop != end:
        raise ValueError("not an RSAPublicKey")
    modulus, after = _positive_integer(data, start, stop)
    exponent, after = _positive_integer(data, after, stop)
    if after != stop:
        raise ValueError("trailing data in RSAPublicKey")
    if exponent < 3 or not exponent & 1 or exponent >= modulus:
        # What OpenSSL (behind cryptography) refuses: no verifier could use such a key.
        raise ValueError("the public exponent must be odd, at least 3 and below the modulus")
    return modulus.bit_length()


def rsa_modulus_bits(der: bytes) -> int:
    """The modulus size of an RSA public key given as SubjectPublicKeyInfo (what RFC 6376
    asks for) or as a bare PKCS#1 RSAPublicKey (which some signers publish and verifiers
    accept). Raise NotRsaKey for another key type, ValueError for anything else."""
    end = len(der)
    tag, start, stop = _tlv(der, 0, end)
    if tag != _SEQUENCE or stop != end:
        raise ValueError("not a DER SEQUENCE")
    first, inner, inner_end = _tlv(der, start, stop)
    if first == _INTEGER:
        return _rsa_public_key(der, 0, end)
    if first != _SEQUENCE:
        raise ValueError("not a SubjectPublicKeyInfo")
    oid_tag, oid_start, oid_end = _tlv(der, inner, inner_end)
    if oid_tag != _OID:
        raise ValueError("no algorithm identifier")
    oid = der[oid_start:oid_end]
    if oid != _RSA_ENCRYPTION:
        raise NotRsaKey(_OTHER_KEYS.get(oid, "non-RSA"))
    if oid_end != inner_end:  # parameters: NULL for rsaEncryption (RFC 3279 2.3.1)
        null, null_start, null_end = _tlv(der, oid_end, inner_end)
        if null != _NULL or null_start != null_end or null_end != inner_end:
            raise ValueError("bad rsaEncryption parameters")
    bits_tag, bits_start, bits_end = _tlv(der, inner_end, stop)
    if bits_tag != _BIT_STRING or bits_end != stop or bits_start == bits_end:
        raise ValueError("no subjectPublicKey")
    if der[bits_start] != 0:
        raise ValueError("subjectPublicKey has unused bits")
    return _rsa_public_key(der, bits_start + 1, bits_end)
