"""Copy a SQLite registry into an empty PostgreSQL one (``mailauth-tui registry copy``).

Everything goes in one transaction on the target: domains (with their code hashes, states,
schedule and evidence), DKIM keys and their private halves (read from the key files), the
journal in its order, the admins and the registry's meta. A target that holds anything is
refused before a row is written, so a copy is never merged into a registry in use.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailauth_tui.services.keys import KeyStore
from mailauth_tui.services.pg_store import PgStore
from mailauth_tui.services.store import Store
from mailauth_tui.services.store_api import StoreError

JOURNAL_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Copied:
    domains: int
    keys: int
    journal: int
    admins: int


def copy_registry(source: Store, source_keys: KeyStore, target: PgStore) -> Copied:
    """Raises StoreError (target not empty, a key file missing, the server refusing)."""
    with source.reading() as src:
        domains = src.list_domains()
        admins = src.admins()
        meta = src.all_meta()
    pems: dict[str, bytes] = {}
    for rec in domains:
        for key in rec.keys:
            try:
                pems[key.key_ref] = source_keys.private_key_pem(key.key_ref)
            except ValueError as exc:
                raise StoreError(f"cannot copy the private key of {rec.domain}: {exc}") from None
    journal = 0
    with target.transaction() as tx:
        if not tx.is_empty():
            raise StoreError(
                f"the registry {target.where} is not empty: copy into a new database; "
                "nothing was written"
            )
        for rec in domains:
            tx.insert_domain(
                domain=rec.domain,
                domain_unicode=rec.domain_unicode,
                address=rec.address,
                added_by=rec.added_by,
                added_at=rec.added_at,
                ownership=rec.ownership,
                code_hash=rec.code_hash,
                code_expires_at=rec.code_expires_at,
                code_sent_at=rec.code_sent_at,
            )
            tx.update_domain(
                rec.domain,
                {
                    "code_attempts": rec.code_attempts,
                    "dkim_state": rec.dkim_state,
                    "spf_state": rec.spf_state,
                    "dmarc_state": rec.dmarc_state,
                    "dmarc_policy": rec.dmarc_policy,
                    "last_check_at": rec.last_check_at,
                    "next_check_at": rec.next_check_at,
                    "evidence": rec.evidence,
                    "dkim_streak": rec.dkim_streak,
                    "spf_streak": rec.spf_streak,
                    "dmarc_streak": rec.dmarc_streak,
                },
            )
            for key in rec.keys:
                tx.put_private_key(key.key_ref, pems[key.key_ref])
                tx.add_key(rec.domain, key)
        after = 0
        while True:
            with source.reading() as src:
                batch = src.journal_in_order(after, JOURNAL_BATCH)
            if not batch:
                break
            for _, e in batch:
                tx.add_journal(e.at, e.domain, e.actor, e.event, e.detail)
            after = batch[-1][0]
            journal += len(batch)
        for admin in admins:
            tx.add_admin(admin.login, admin.added_by, admin.added_at)
        for name, value in meta.items():
            tx.set_meta(name, value)
    return Copied(len(domains), len(pems), journal, len(admins))
