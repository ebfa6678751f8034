"""What the relay does with one message, decided from the registry as it is now.

- From domain verified -> DKIM-signed with its active key (during a rotation the new key once
  verified: the registry makes it the active one then).
- Not verified or unknown -> From becomes the system sender, the original From is kept as
  Reply-To (unless the message has one), signed for the system sender's domain when that is
  verified, sent unsigned otherwise.
- Bulk (``Precedence: bulk``/``list``/``junk``, ``List-Unsubscribe``, or the configured header)
  from a domain that may not send bulk (no DMARC, or not verified) -> refused, 5.7.x.

The registry is read for every message (a verify or a demotion anywhere counts within the
next message). When it cannot be read, the last state read for that domain is used and the
log says so; a domain never read before is deferred (4xx). Keys are read from the row being
used, so a removed or revoked key is never used once the registry says so.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from email.utils import getaddresses, parseaddr
from enum import StrEnum

from mailauth_tui.core.names import normalize_domain
from mailauth_tui.registry.errors import InvalidInput, NotFound, RegistryError
from mailauth_tui.registry.models import DkimKey, DomainRow
from mailauth_tui.registry.sender import bulk_decision, parse_address
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.dkim_sign import SigningError, SigningKey, load_signing_key
from mailauth_tui.services.store import StoreError

BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})

log = logging.getLogger("mailauth_tui.relay")


class Action(StrEnum):
    SIGN = "sign"  # own verified domain, signed with its key
    REWRITE = "rewrite"  # From replaced by the system sender
    REFUSE = "refuse"  # 5xx: the client must not retry
    DEFER = "defer"  # 4xx: the client retries later


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    message: bytes  # what to send upstream (signed, rewritten); b"" when refused/deferred
    mail_from: str | None  # envelope sender to use upstream (None: the client's)
    reply: str  # the SMTP reply for refuse/defer ("" otherwise)
    log: str  # one line for the log (the message id is added by the caller)


class RegistryUnavailable(Exception):
    """The registry cannot be read and nothing is known about the domain yet."""


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _split(raw: bytes) -> tuple[bytes, bytes]:
    found = _HEADER_END.search(raw)
    if found is None:
        return raw, b""
    return raw[: found.start()], raw[found.start() :]


def _header_lines(head: bytes) -> list[bytes]:
    """Header fields, each with its continuation lines, without line ends."""
    fields: list[bytes] = []
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return fields


def header_fields(raw: bytes) -> list[tuple[str, str]]:
    """The header's fields in order: (name in lower case, value unfolded and stripped). One
    pass over the header (the body is never looked at); the decision needs only a few fields
    and the email package's parser costs several times this per message. A line without a
    colon is no field and is skipped, as receivers do."""
    fields: list[tuple[str, str]] = []
    for field in _header_lines(_split(raw)[0]):
        name, colon, value = field.partition(b":")
        if not colon:
            continue
        text = value.replace(b"\r\n", b"").decode("utf-8", "replace").strip()
        fields.append((name.strip().decode("ascii", "replace").lower(), text))
    return fields


def rewrite_from(raw: bytes, new_from: str, reply_to: str | None) -> bytes:
    """Replace the From field (every instance) and add Reply-To, leaving the body untouched."""
    head, body = _split(raw)
    kept = [f for f in _header_lines(head) if not f.lower().startswith(b"from:")]
    added = [b"From: " + new_from.encode("utf-8")]
    if reply_to is not None:
        added.append(b"Reply-To: " + reply_to.encode("utf-8"))
    return b"\r\n".join(added + kept) + body


def is_bulk(headers: dict[str, str], extra_header: str | None) -> bool:
    if headers.get("precedence", "").strip().lower() in BULK_PRECEDENCE:
        return True
    if "list-unsubscribe" in headers:
        return True
    return extra_header is not None and extra_header.lower() in headers


class RelayPolicy:
    """Decides for each message; keeps the last state read per domain and the loaded keys."""

    def __init__(self, registry: Registry, *, bulk_header: str | None = None) -> None:
        self._registry = registry
        self._bulk_header = bulk_header
        self._last: dict[str, DomainRow | None] = {}
        self._signers: dict[tuple[str, str], SigningKey] = {}
        self._domains: dict[str, str | None] = {}  # From field -> its domain (validated)

    @property
    def system_sender(self) -> str:
        return self._registry.settings.system_sender

    def _row(self, domain: str) -> DomainRow | None:
        try:
            row: DomainRow | None = self._registry.get(domain)
        except NotFound:
            row = None
        except (StoreError, OSError) as exc:
            if domain in self._last:
                log.warning(
                    "registry unreachable (%s): using the last known state of %s", exc, domain
                )
                return self._last[domain]
            raise RegistryUnavailable(f"registry unreachable ({exc})") from None
        self._last[domain] = row
        return row

    def _signer(self, row: DomainRow) -> SigningKey | None:
        key: DkimKey | None = row.active_key
        if key is None:
            return None
        cache_key = (key.key_ref, key.public_key)
        signer = self._signers.get(cache_key)
        if signer is None:
            pem = self._registry.private_key_pem(key)
            signer = load_signing_key(row.domain, key.selector, pem)
            if signer.public_key != key.public_key:
                raise SigningError(
                    f"the key file of selector {key.selector} of {row.domain} is not the key "
                    "the registry published: not signing with it"
                )
            self._signers[cache_key] = signer
        return signer

    def _from_domain(self, from_field: list[str]) -> str | None:
        """The ASCII domain of the one From address, or None when there is not exactly one
        valid address. Services send from a few From values: each is parsed once."""
        value = "\n".join(from_field)
        if value in self._domains:
            return self._domains[value]
        addresses = [a for _, a in getaddresses(from_field) if a]
        domain: str | None = None
        if len(addresses) == 1:
            try:
                _, name = parse_address(
                    addresses[0], test_environment=self._registry.settings.test_environment
                )
                domain = name.ascii
            except InvalidInput:
                domain = None
        if len(self._domains) > 10_000:
            self._domains.clear()
        self._domains[value] = domain
        return domain

    async def decide(self, raw: bytes) -> Decision:
        """The decision for one message, signed, on the event loop for both key types.
        Ed25519 signs in well under a millisecond. dkimpy's RSA is Python's own ``pow``,
        which holds the GIL for the whole ~7 ms of an RSA-2048 signature: a thread would
        run no other session meanwhile and only add the hand-over (measured in
        benchmarks/README.md, bench_relay)."""
        try:
            decision, signer = self._plan(raw)
            if signer is None:
                return decision
            signature = signer.sign(decision.message)
        except RegistryUnavailable as exc:
            return Decision(
                Action.DEFER, b"", None, f"451 4.3.0 {exc}: try again later", f"deferred: {exc}"
            )
        except (SigningError, RegistryError) as exc:
            return Decision(
                Action.DEFER,
                b"",
                None,
                f"451 4.3.5 cannot sign: {exc}",
                f"deferred, cannot sign: {exc}",
            )
        return replace(decision, message=signature + decision.message)

    def _plan(self, raw: bytes) -> tuple[Decision, SigningKey | None]:
        """The decision with the message still unsigned, and the key to sign it with."""
        fields = header_fields(raw)
        headers = dict(fields)  # the last of a repeated field, as the email package's get
        from_field = [value for name, value in fields if name == "from"]
        domain = self._from_domain(from_field)
        row = self._row(domain) if domain is not None else None
        if domain is not None and is_bulk(headers, self._bulk_header):
            bulk = bulk_decision_for(domain, row)
            if bulk is not None:
                return bulk, None
        if row is not None and row.verified:
            signer = self._signer(row)
            if signer is not None:
                why = (
                    f"From domain {domain} verified: signed as {signer.selector}._domainkey."
                    f"{signer.domain}"
                )
                return Decision(Action.SIGN, raw, None, "", why), signer
        return self._rewrite(raw, from_field, "reply-to" in headers, domain, row)

    def _rewrite(
        self,
        raw: bytes,
        from_field: list[str],
        has_reply_to: bool,
        domain: str | None,
        row: DomainRow | None,
    ) -> tuple[Decision, SigningKey | None]:
        original = ", ".join(from_field).strip()
        rewritten = rewrite_from(
            raw, self.system_sender, original if original and not has_reply_to else None
        )
        why = f"From domain {domain} not verified" if domain else "no usable From address"
        if domain is not None and row is None:
            why = f"From domain {domain} not in the registry"
        system_domain = parseaddr(self.system_sender)[1].rpartition("@")[2].lower()
        system_row = self._row(system_domain)
        signer = (
            self._signer(system_row) if system_row is not None and system_row.verified else None
        )
        if signer is None:
            unsigned = (
                f"{why}: From replaced by {self.system_sender}; unsigned ({system_domain} is "
                "not verified)"
            )
            return Decision(Action.REWRITE, rewritten, self.system_sender, "", unsigned), None
        signed = (
            f"{why}: From replaced by {self.system_sender}, original kept as Reply-To; signed "
            f"as {signer.selector}._domainkey.{signer.domain}"
        )
        return Decision(Action.REWRITE, rewritten, self.system_sender, "", signed), signer


def bulk_decision_for(domain: str, row: DomainRow | None) -> Decision | None:
    """The refusal of a bulk message, or None when the domain may send bulk."""
    verdict = bulk_decision(normalize_domain(domain), row)
    if verdict.allowed:
        return None
    fix = f"; fix: {verdict.action}" if verdict.action else ""
    reply = f"550 5.7.1 bulk mail from {domain} refused: {verdict.reason}{fix}"
    return Decision(Action.REFUSE, b"", None, reply, f"refused bulk mail: {verdict.reason}")
