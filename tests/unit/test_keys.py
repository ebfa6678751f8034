"""DKIM key generation and storage: sizes, file modes, passphrases, and a real sign/verify."""

from __future__ import annotations

import base64
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailauth_tui.core.dkim import key_info, parse_dkim
from mailauth_tui.core.publish import dkim_publish
from mailauth_tui.services.keys import FileKeyStore, GeneratedKey, make_selector

MESSAGE = (
    b"From: Admin <admin@mail.example.com>\r\n"
    b"To: someone@example.org\r\n"
    b"Subject: signed by a generated key\r\n"
    b"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <1@mail.example.com>\r\n"
    b"\r\n"
    b"Hello.\r\n"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def rsa_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[FileKeyStore, GeneratedKey]:
    # One RSA 2048 key shared by the tests that only read it: each one costs 50-200 ms.
    store = FileKeyStore(tmp_path_factory.mktemp("keys") / "dkim")
    return store, store.generate("mail.example.com", "mt202611")


def test_rsa_2048_is_the_default(rsa_store: tuple[FileKeyStore, GeneratedKey]) -> None:
    store, key = rsa_store
    assert (key.key_type, key.key_bits) == ("rsa", 2048)
    assert key.key_ref == "mail.example.com+mt202611.pem"
    pem = store.private_key_pem(key.key_ref)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048


def test_rsa_public_key_is_the_dkim_p_value(rsa_store: tuple[FileKeyStore, GeneratedKey]) -> None:
    _, key = rsa_store
    record = parse_dkim(f"v=DKIM1; k=rsa; p={key.public_key}")
    assert key_info(record) == ("rsa", 2048)
    public = serialization.load_der_public_key(base64.b64decode(key.public_key))
    assert isinstance(public, rsa.RSAPublicKey)


def test_files_are_owner_only(rsa_store: tuple[FileKeyStore, GeneratedKey]) -> None:
    store, key = rsa_store
    assert _mode(store.directory) == 0o700
    assert _mode(store.directory / key.key_ref) == 0o600


def test_owner_only_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = FileKeyStore(tmp_path / "keys")
        key = store.generate("example.com", "s1", key_type="ed25519")
    finally:
        os.umask(old)
    assert _mode(store.directory) == 0o700
    assert _mode(store.directory / key.key_ref) == 0o600


@pytest.mark.parametrize(
    ("before", "after"),
    [(0o755, 0o750), (0o777, 0o770), (0o2775, 0o2770), (0o2770, 0o2770), (0o700, 0o700)],
)
def test_an_existing_directory_loses_world_access_only(
    tmp_path: Path, before: int, after: int
) -> None:
    # Group access is a shared registry's choice (README, "Sharing a registry").
    directory = tmp_path / "keys"
    directory.mkdir()
    os.chmod(directory, before)
    key = FileKeyStore(directory).generate("example.com", "s1", key_type="ed25519")
    assert _mode(directory) == after
    assert _mode(directory / key.key_ref) == 0o600


def test_rsa_signs_and_dkimpy_verifies_with_the_published_record(
    rsa_store: tuple[FileKeyStore, GeneratedKey],
) -> None:
    store, key = rsa_store
    record = dkim_publish("mail.example.com", "mt202611", key.key_type, key.public_key)
    signed = dkim.sign(
        MESSAGE, b"mt202611", b"mail.example.com", store.private_key_pem(key.key_ref)
    )

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mt202611._domainkey.mail.example.com."
        return "".join(record.chunks).encode()

    assert dkim.verify(signed + MESSAGE, dnsfunc=dnsfunc)


def test_ed25519_signs_and_dkimpy_verifies(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    key = store.generate("example.com", "mt20261127", key_type="Ed25519")
    assert (key.key_type, key.key_bits) == ("ed25519", None)
    assert len(base64.b64decode(key.public_key)) == 32  # raw key, RFC 8463
    assert key_info(parse_dkim(f"v=DKIM1; k=ed25519; p={key.public_key}")) == ("ed25519", 256)

    private = serialization.load_pem_private_key(store.private_key_pem(key.key_ref), None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    # dkimpy takes an Ed25519 private key as the base64 of its 32-byte seed.
    seed = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    signed = dkim.sign(
        MESSAGE,
        b"mt20261127",
        b"example.com",
        base64.b64encode(seed),
        signature_algorithm=b"ed25519-sha256",
    )
    record = dkim_publish("example.com", "mt20261127", key.key_type, key.public_key)
    assert dkim.verify(signed + MESSAGE, dnsfunc=lambda name, timeout=5: record.value.encode())
    assert not dkim.verify(
        signed + MESSAGE.replace(b"Hello.", b"Hullo."),
        dnsfunc=lambda name, timeout=5: record.value.encode(),
    )


@pytest.mark.parametrize("bits", [512, 1024, 2047])
def test_rsa_below_2048_is_refused(tmp_path: Path, bits: int) -> None:
    store = FileKeyStore(tmp_path / "keys")
    with pytest.raises(ValueError, match="too weak"):
        store.generate("example.com", "s1", bits=bits)
    assert list(tmp_path.rglob("*.pem")) == []


def test_odd_rsa_sizes_and_types_are_refused(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    with pytest.raises(ValueError, match="unsupported RSA key size"):
        store.generate("example.com", "s1", bits=8192)
    with pytest.raises(ValueError, match="unsupported DKIM key type"):
        store.generate("example.com", "s1", key_type="dsa")


def test_passphrase_round_trip(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    key = store.generate("example.com", "s1", key_type="ed25519", passphrase=b"open sesame")
    on_disk = (store.directory / key.key_ref).read_bytes()
    assert on_disk.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")

    pem = store.private_key_pem(key.key_ref, passphrase=b"open sesame")
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert base64.b64encode(raw).decode() == key.public_key

    with pytest.raises(ValueError, match="wrong passphrase"):
        store.private_key_pem(key.key_ref, passphrase=b"guess")
    with pytest.raises(ValueError, match="needs a passphrase"):
        store.private_key_pem(key.key_ref)
    with pytest.raises(ValueError, match="empty"):
        store.generate("example.com", "s2", key_type="ed25519", passphrase=b"")


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    first = store.generate("example.com", "s1", key_type="ed25519")
    before = (store.directory / first.key_ref).read_bytes()
    with pytest.raises(ValueError, match="already exists"):
        store.generate("EXAMPLE.com", "S1", key_type="ed25519")
    assert (store.directory / first.key_ref).read_bytes() == before


def test_delete_removes_and_is_idempotent(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    key = store.generate("example.com", "s1", key_type="ed25519")
    store.delete(key.key_ref)
    assert not (store.directory / key.key_ref).exists()
    store.delete(key.key_ref)
    with pytest.raises(ValueError, match="no private key"):
        store.private_key_pem(key.key_ref)


def test_unicode_domain_is_stored_under_its_punycode(tmp_path: Path) -> None:
    key = FileKeyStore(tmp_path).generate("bücher.example", "s1", key_type="ed25519")
    assert key.key_ref == "xn--bcher-kva.example+s1.pem"


@pytest.mark.parametrize(
    ("domain", "selector"),
    [
        ("../etc", "s1"),
        ("example.com/../../x", "s1"),
        ("example.com", "../s1"),
        ("example.com", "a/b"),
        ("example.com", "a.b"),
        ("example.com", ""),
        ("example.com", "-bad"),
        ("", "s1"),
        ("exam\nple.com", "s1"),
        ("example.com", "s\n1"),
    ],
)
def test_names_that_could_escape_the_directory_are_refused(
    tmp_path: Path, domain: str, selector: str
) -> None:
    store = FileKeyStore(tmp_path / "keys")
    with pytest.raises(ValueError):
        store.generate(domain, selector, key_type="ed25519")
    assert list(tmp_path.rglob("*.pem")) == []


@pytest.mark.parametrize(
    "ref",
    ["../x+s1.pem", "x+s1.pem\n", "/etc/passwd", "a/b+s1.pem", "example.com+s1", "..+s1.pem", ""],
)
def test_bad_key_refs_are_refused(tmp_path: Path, ref: str) -> None:
    store = FileKeyStore(tmp_path)
    with pytest.raises(ValueError, match="invalid key reference"):
        store.private_key_pem(ref)
    with pytest.raises(ValueError, match="invalid key reference"):
        store.delete(ref)


def test_make_selector_is_dated_and_unique() -> None:
    now = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    assert make_selector(now, []) == "mt202611"
    assert make_selector(now, ["mt202611"]) == "mt20261127"
    assert make_selector(now, ["MT202611", "mt20261127"]) == "mt20261127a"
    taken = ["mt202611", "mt20261127", *(f"mt20261127{c}" for c in "abcdefghijklmnopqrstuvwxyz")]
    assert make_selector(now, taken) == "mt20261127aa"


def test_make_selector_uses_the_utc_date() -> None:
    tokyo = timezone(timedelta(hours=9))
    now = datetime(2026, 12, 1, 8, 0, tzinfo=tokyo)  # still 30 November in UTC
    assert make_selector(now, ["mt202611"]) == "mt20261130"
