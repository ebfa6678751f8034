"""DKIM private keys kept in the PostgreSQL registry, so every host that signs reads the same.

They live in ``mailauth.dkim_private_keys``: the admin role (which owns it) writes and reads
them; the signer role reads the active ones through the view ``signing_keys``; the reader role
has no grant on either, so a reader's session cannot read one with any SQL (the server refuses
it). A passphrase (``[dkim] passphrase_env``) encrypts them as it does the key files.
"""

from __future__ import annotations

import psycopg

from mailauth_tui.services.keys import (
    DEFAULT_RSA_BITS,
    GeneratedKey,
    key_ref_for,
    new_private_key,
    unencrypted_pem,
)
from mailauth_tui.services.pg_store import PgStore


class PgKeyStore:
    """The :class:`KeyStore` of a PostgreSQL registry (one short transaction per call)."""

    def __init__(self, store: PgStore) -> None:
        self._store = store

    def generate(
        self,
        domain: str,
        selector: str,
        key_type: str = "rsa",
        bits: int = DEFAULT_RSA_BITS,
        passphrase: bytes | None = None,
    ) -> GeneratedKey:
        key_ref = key_ref_for(domain, selector)
        pem, made = new_private_key(key_ref, key_type, bits, passphrase)
        try:
            with self._store.connection() as conn, conn.transaction():
                conn.execute(
                    "INSERT INTO dkim_private_keys (key_ref, pem) VALUES (%s, %s)", (key_ref, pem)
                )
        except psycopg.errors.UniqueViolation:
            raise ValueError(
                f"a key for selector {selector!r} of {domain} already exists"
            ) from None
        return made

    def private_key_pem(self, key_ref: str, passphrase: bytes | None = None) -> bytes:
        return unencrypted_pem(key_ref, self.stored_key(key_ref), passphrase)

    def stored_key(self, key_ref: str) -> bytes:
        with self._store.connection() as conn:
            row = conn.execute(
                "SELECT pem FROM dkim_private_keys WHERE key_ref = %s", (key_ref,)
            ).fetchone()
        if row is None:
            raise ValueError(f"no private key {key_ref!r} in {self._store.where}")
        return bytes(row["pem"])

    def delete(self, key_ref: str) -> None:
        with self._store.connection() as conn:
            conn.execute("DELETE FROM dkim_private_keys WHERE key_ref = %s", (key_ref,))
