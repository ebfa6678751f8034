"""The end-to-end DKIM self-test: sign a probe with the stored private key, verify it with
dkimpy against the key that DNS publishes, looked up through the registry's own resolver.

The record check compares the published p= with the public key stored beside the private one;
only this test proves the private half on disk and the record in DNS belong together (a key
file replaced or restored from another backup, a record edited by hand, a CNAME to another
party's key, a key cut short by a DNS provider). A failure says which of these it is.

A pass is remembered as a fingerprint of exactly what passed (the private key as stored, the
record as published, the host and the test's version: :func:`fingerprint`), kept in the key's
row. A re-check that finds the same pair knows the outcome without signing again (dkimpy's
verification of the same key against the same record is deterministic); a changed key file or
record gives another fingerprint and is tested anew. DNS is asked every time, so a lookup
that fails is still "unknown", and a failure is never remembered (it is diagnosed each time).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from enum import StrEnum

from mailauth_tui.core.dns_types import Resolver, RType
from mailauth_tui.core.publish import dkim_publish
from mailauth_tui.services.keys import KeyStore, unencrypted_pem
from mailauth_tui.services.store import KeyRecord


class SelfTestStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNKNOWN = "unknown"  # DNS did not answer: nothing can be concluded


@dataclass(frozen=True, slots=True)
class SelfTest:
    selector: str
    status: SelfTestStatus
    reason: str  # one line: what happened
    fix: str = ""  # what to do, when it failed
    # When it passed: the pair's fingerprint, stored with the key so the next re-check of the
    # same pair need not sign again ("" otherwise).
    fingerprint: str = ""

    @property
    def failed(self) -> bool:
        return self.status is SelfTestStatus.FAILED

    def as_json(self) -> dict[str, str]:
        return {
            "selector": self.selector,
            "status": self.status.value,
            "reason": self.reason,
            "fix": self.fix,
        }


def probe_message(domain: str, now: datetime) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"mailauth-tui self-test <dkim-selftest@{domain}>"
    msg["To"] = f"dkim-selftest@{domain}"
    msg["Subject"] = f"DKIM self-test for {domain}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("dkim-selftest", domain=domain)
    msg.set_content("This message is signed and verified locally; it is never sent.\n")
    return msg.as_bytes()


def _sign_and_verify(
    domain: str,
    key: KeyRecord,
    stored: bytes,
    passphrase: bytes | None,
    record: str,
    host: str,
    now: datetime,
) -> tuple[bool, str, str]:
    """(verified, dkimpy's reason, p= of the private key). CPU-bound (reading an RSA key
    alone takes ~50 ms): run in a thread. Raises ValueError or SigningError for a key that
    cannot be read or cannot sign."""
    from mailauth_tui.services.dkim_sign import load_signing_key, verify_with

    pem = unencrypted_pem(key.key_ref, stored, passphrase)
    signer = load_signing_key(domain, key.selector, pem)
    message = probe_message(domain, now)
    signed = signer.sign(message) + message
    result = verify_with(signed, {host: record})
    return result.ok, result.detail, signer.public_key


# Part of every fingerprint: changed when what the test checks changes, so passes remembered
# by an older version are tested again.
_TEST_VERSION = b"mailauth-tui dkim self-test 1"


def fingerprint(host: str, stored: bytes, passphrase: bytes | None, record: str) -> str:
    """SHA-256 of what a pass depends on: the key as stored (and the passphrase that opens
    it), the record as published and the name it was found at. Only a hash is kept (beside
    the public key): it does not reveal the key, and the passphrase is mixed with the key,
    which a reader of the registry cannot see."""
    digest = hashlib.sha256(_TEST_VERSION)
    for part in (host.encode("utf-8"), stored, passphrase or b"", record.encode("utf-8")):
        digest.update(len(part).to_bytes(4, "big"))  # length-prefixed: parts cannot run together
        digest.update(part)
    return digest.hexdigest()


_P_TAG = re.compile(r"(?:^|;)\s*p\s*=([^;]*)")


def _published_key(record: str) -> str | None:
    """The p= value, read leniently: a cut key is not valid base64 but still says how much
    of it arrived."""
    found = _P_TAG.search(record)
    return "".join(found.group(1).split()) if found else None


def _diagnose(
    host: str, record: str, chain: tuple[str, ...], ours: str, detail: str, key: KeyRecord
) -> tuple[str, str]:
    """(reason, fix) of a signature that did not verify."""
    domain = host.split("._domainkey.", 1)[-1]
    selector = key.selector
    publish = f"publish the DKIM record shown by: mailauth-tui records {domain}"
    theirs = _published_key(record)
    if theirs and theirs != ours and ours.startswith(theirs):
        whole = dkim_publish(domain, selector, key.key_type, ours).value
        return (
            f"the key at {host} is truncated: {len(theirs)} of its {len(ours)} characters are "
            "published (a DNS form cut the value)",
            f"publish the whole value at {host}: {whole} (a value over 255 characters goes in "
            "as several quoted strings)",
        )
    if theirs is None:
        return (
            f"the record at {host} cannot be read as a DKIM key ({detail or 'syntax error'})",
            publish,
        )
    if theirs == ours:
        why = detail or "dkimpy rejected the signature"
        return (f"the signature made with the stored key did not verify: {why}", publish)
    if chain:
        target = chain[-1]
        return (
            f"{host} is an alias (CNAME) of {target}, which publishes a key that is not the "
            f"public half of selector {selector}'s private key (someone else's key)",
            f"remove the CNAME at {host} and {publish.removeprefix('publish ')}",
        )
    if not theirs:
        return (f"the key at {host} is revoked (empty p=)", publish)
    return (
        f"the key at {host} is not the public half of selector {selector}'s private key "
        "(the record or the key file was replaced)",
        publish,
    )


async def dkim_selftest(
    resolver: Resolver,
    keys: KeyStore,
    passphrase: bytes | None,
    domain: str,
    key: KeyRecord,
    now: datetime,
) -> SelfTest:
    """Sign a probe as ``key.selector._domainkey.domain`` and verify it against DNS."""
    host = f"{key.selector}._domainkey.{domain}"
    answer = await resolver.query(host, RType.TXT)
    if answer.unknown:
        return SelfTest(
            key.selector,
            SelfTestStatus.UNKNOWN,
            f"the lookup of {host} failed ({answer.status}): the self-test could not run",
            "nothing to change; verify again later",
        )
    records = [r for r in answer.records if "p=" in r]
    if not records:
        return SelfTest(
            key.selector,
            SelfTestStatus.FAILED,
            f"no DKIM key is published at {host}: mail signed with selector {key.selector} "
            "fails DKIM",
            f"publish the DKIM record shown by: mailauth-tui records {domain}",
        )
    if len(records) > 1:
        return SelfTest(
            key.selector,
            SelfTestStatus.FAILED,
            f"{len(records)} DKIM records at {host}: receivers cannot tell which to use",
            f"delete all but one TXT record at {host}",
        )
    try:
        stored = keys.stored_key(key.key_ref)
    except PermissionError:
        # Another login's 0600 key (a dry run by a non-admin): nothing is known about the key.
        return SelfTest(
            key.selector,
            SelfTestStatus.UNKNOWN,
            f"the self-test did not run: you cannot read the private key of selector "
            f"{key.selector} (owner-only file)",
            "run the check as the registry's admin to include the self-test",
        )
    except (ValueError, OSError) as exc:
        return _cannot_sign(domain, key.selector, exc)
    known = fingerprint(host, stored, passphrase, records[0])
    if key.selftest_passed == known:
        return _passed(key.selector, host, known)
    # Signing needs dkimpy (and dnspython, PyNaCl under it): ~50 ms of imports a re-check
    # whose keys all passed before never needs.
    from mailauth_tui.services.dkim_sign import SigningError

    try:
        ok, detail, ours = await asyncio.to_thread(
            _sign_and_verify, domain, key, stored, passphrase, records[0], host, now
        )
    except (SigningError, ValueError) as exc:
        return _cannot_sign(domain, key.selector, exc)
    if ok:
        return _passed(key.selector, host, known)
    reason, fix = _diagnose(host, records[0], answer.cname_chain, ours, detail, key)
    return SelfTest(key.selector, SelfTestStatus.FAILED, reason, fix)


def _passed(selector: str, host: str, known: str) -> SelfTest:
    return SelfTest(
        selector,
        SelfTestStatus.PASSED,
        f"a probe signed with the stored key of selector {selector} verified against the key "
        f"published at {host}",
        fingerprint=known,
    )


def _cannot_sign(domain: str, selector: str, exc: Exception) -> SelfTest:
    return SelfTest(
        selector,
        SelfTestStatus.FAILED,
        f"the stored private key of selector {selector} cannot sign: {exc}",
        f"rotate the key (mailauth-tui rotate {domain}) and publish the new record",
    )
