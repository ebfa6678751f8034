"""The sender rule and the bulk-sending rule, from a domain's row.

- A From address may be used once its own domain (exactly that domain) is verified: ownership
  proven and DKIM verified. Otherwise the organisation's system sender is used instead.
- Bulk sending needs verified DKIM and a DMARC record (Gmail and Yahoo require at least
  ``p=none`` from bulk senders).
"""

from __future__ import annotations

from mailauth_tui.core.errors import InvalidDomainError
from mailauth_tui.core.names import DomainName, normalize_domain
from mailauth_tui.core.publish import dmarc_publish
from mailauth_tui.registry.errors import InvalidInput
from mailauth_tui.registry.models import (
    BulkDecision,
    DmarcState,
    DomainRow,
    Ownership,
    PublishRecord,
    RecordState,
    SenderDecision,
)

MAX_INPUT = 1000  # longer text is not an address or a domain; do not echo it back whole


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


MAX_LOCAL_PART = 64  # octets (RFC 5321 4.5.3.1.1)


def parse_address(text: str, *, test_environment: bool = False) -> tuple[str, DomainName]:
    """Validate an email address (no DNS look-up): its normalised form and its domain."""
    if len(text) > MAX_INPUT:
        raise InvalidInput("that is not an email address: it is too long")
    value = text.strip()
    if not value:
        raise InvalidInput("give an email address, e.g. admin@mail.example.com")
    # Imported here: it compiles its grammar at import (~45 ms), which every command paid,
    # a re-check of thousands of domains too, though only the commands taking an address
    # need it. Later calls find it loaded.
    from email_validator import EmailNotValidError, validate_email

    try:
        valid = validate_email(value, check_deliverability=False, test_environment=test_environment)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{_shown(value)} is not a valid email address: {exc}") from None
    octets = len(valid.local_part.encode("utf-8"))
    if octets > MAX_LOCAL_PART:
        # RFC 5321 4.5.3.1.1: servers may refuse it, and the code would never arrive.
        raise InvalidInput(
            f"{_shown(value)} is not a valid email address: the part before the @ is "
            f"{octets} octets long, and mail servers accept at most {MAX_LOCAL_PART}"
        )
    try:
        domain = normalize_domain(valid.ascii_domain or valid.domain)
    except InvalidDomainError as exc:
        raise InvalidInput(f"{_shown(value)} has an invalid domain: {exc}") from None
    return valid.normalized, domain


def parse_domain(text: str) -> DomainName:
    if len(text) > MAX_INPUT:
        raise InvalidInput("that is not a domain name: it is too long")
    try:
        return normalize_domain(text)
    except InvalidDomainError as exc:
        raise InvalidInput(str(exc)) from None


def parse_address_or_domain(text: str, *, test_environment: bool = False) -> DomainName:
    if "@" in text:
        return parse_address(text, test_environment=test_environment)[1]
    return parse_domain(text)


def _not_verified_reason(domain: DomainName, row: DomainRow | None) -> str:
    name = domain.display
    if row is None:
        return f"{name} is not in the registry: add it and prove ownership"
    if row.ownership is not Ownership.VERIFIED:
        return f"ownership of {name} is not proven ({row.ownership.value}): enter the emailed code"
    if row.dkim_state is RecordState.FAILING:
        return f"the DKIM record of {name} is failing: publish it again and verify"
    return f"DKIM of {name} is not verified ({row.dkim_state.value}): publish the key and verify"


def sender_decision(
    address: str, domain: DomainName, row: DomainRow | None, system_sender: str
) -> SenderDecision:
    if row is not None and row.verified:
        return SenderDecision(address, True, f"{domain.display} is verified")
    reason = _not_verified_reason(domain, row)
    return SenderDecision(system_sender, False, f"{reason}; using the system sender instead")


def starting_dmarc(row: DomainRow, rua: str | None) -> PublishRecord:
    """The DMARC record that lets ``row`` send bulk mail: ``p=none`` with aggregate reports to
    ``rua`` (the settings' ``dmarc_rua``) or else the domain's registered address."""
    try:
        return dmarc_publish(row.domain, rua or f"mailto:{row.address}", None)
    except ValueError:  # an address DMARC cannot carry: a record without reports still helps
        return dmarc_publish(row.domain, None, None)


def bulk_decision(
    domain: DomainName, row: DomainRow | None, dmarc_rua: str | None = None
) -> BulkDecision:
    """May ``domain`` send bulk mail; when a DMARC record is what is missing, the record to
    publish comes with the refusal (``dmarc_rua``: where its reports go, see
    :func:`starting_dmarc`)."""
    name = domain.display
    if row is None:
        return BulkDecision(
            False, _not_verified_reason(domain, row), "add the domain and prove ownership first"
        )
    if row.ownership is not Ownership.VERIFIED:
        # Already added: what is left is the code (a new one when expired or locked).
        return BulkDecision(False, _not_verified_reason(domain, row), "prove ownership first")
    if row.dkim_state is not RecordState.VERIFIED:
        return BulkDecision(False, _not_verified_reason(domain, row), "verify DKIM first")
    if row.dmarc_state is DmarcState.CONFIGURED:
        policy = f" (p={row.dmarc_policy})" if row.dmarc_policy else ""
        return BulkDecision(True, f"{name} has verified DKIM and a DMARC record{policy}")
    if row.dmarc_state is DmarcState.UNKNOWN:
        reason = f"the DMARC record of {name} could not be read (DNS failure)"
        return BulkDecision(False, reason, "verify the records again")
    if row.dmarc_state is DmarcState.NOT_CHECKED:
        reason = f"the DMARC record of {name} has not been checked"
        return BulkDecision(False, reason, "verify the records to read the DMARC policy")
    reason = f"{name} has no DMARC record: bulk senders need at least p=none"
    return BulkDecision(False, reason, "publish a DMARC record", starting_dmarc(row, dmarc_rua))
