"""The mail that carries an ownership verification code."""

from __future__ import annotations

import email.policy
import textwrap
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from mailauth_tui.core.errors import InvalidDomainError
from mailauth_tui.core.names import normalize_domain
from mailauth_tui.registry.codes import CODE_TTL, format_code


def _check_header_text(label: str, value: str) -> None:
    # EmailMessage refuses CR/LF itself; say which argument was wrong before it does, and
    # also refuse the other control characters some mail servers would pass on.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"the {label} contains a line break or control character")


def _one_address(label: str, text: str) -> Address:
    """Parse ``text`` as exactly one mailbox; its domain in ASCII (IDNA) form."""
    _check_header_text(label, text)
    probe = EmailMessage()
    try:
        probe["To"] = text
        header = probe["To"]
        addresses = header.addresses
    except (AttributeError, IndexError, TypeError, ValueError, HeaderParseError):
        # The stdlib parser raises IndexError on some truncated input ("admin@") and
        # AttributeError on an empty group after a dot (".:"): both are bad addresses.
        raise ValueError(f"the {label} {text!r} is not an email address") from None
    if len(addresses) != 1 or header.defects:
        raise ValueError(f"the {label} {text!r} is not one email address")
    addr = addresses[0]
    if not addr.username or not addr.domain:
        raise ValueError(f"the {label} {text!r} is not one email address")
    try:
        domain = normalize_domain(addr.domain).ascii
    except InvalidDomainError as exc:
        raise ValueError(f"the {label} {text!r} has an invalid domain: {exc}") from None
    return Address(display_name=addr.display_name, username=addr.username, domain=domain)


def _utc_text(moment: datetime) -> str:
    # A naive datetime is taken as UTC: the registry's clock is UTC.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def code_message(
    *,
    sender: str,
    to: str,
    domain_display: str,
    code: str,
    expires_at: datetime,
    organisation: str | None = None,
    requested_by: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """A plain-text message carrying ``code`` to ``to``.

    Raises ValueError before anything is sent when an address is not exactly one mailbox or
    any header text holds a line break (header injection). ``now`` sets the Date header
    (default: the current time); ``requested_by`` names the admin who asked, when known.
    """
    sender_addr = _one_address("sender address", sender)
    to_addr = _one_address("recipient address", to)
    _check_header_text("domain", domain_display)
    # A non-ASCII local part needs SMTPUTF8: let the generator write UTF-8 headers then, and
    # aiosmtplib will ask the server for SMTPUTF8 (or fail with a clear refusal).
    needs_utf8 = not (sender_addr.username.isascii() and to_addr.username.isascii())
    policy = email.policy.default.clone(utf8=True) if needs_utf8 else email.policy.default

    msg = EmailMessage(policy=policy)
    msg["From"] = sender_addr
    msg["To"] = to_addr
    msg["Subject"] = f"Verification code for the sending domain {domain_display}"
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender_addr.domain)
    # RFC 3834: an automatic message, so vacation responders do not answer it.
    msg["Auto-Submitted"] = "auto-generated"

    who = f"the organisation {organisation}" if organisation else "your organisation"
    asker = f" (requested by {requested_by})" if requested_by else ""
    days = CODE_TTL.days
    body = "Hello,\n\n" + _paragraphs(
        f"Someone asked to add the sending domain {domain_display} to the mail "
        f"authentication registry of {who}{asker}, and gave this address "
        f"({to_addr.addr_spec}) as the domain's organisation email address.",
        "To prove that this address belongs to you, enter this verification code "
        "in mailauth-tui (or with its `code` command):",
        f"    {format_code(code)}",
        f"The code is valid for {days} days, until {_utc_text(expires_at)}. "
        "Asking for a new code makes this one stop working. The request and who made "
        "it are recorded in the registry's journal.",
        "If you did not ask for this, ignore this message: nothing changes unless the "
        "code is entered.",
    )
    # Quoted-printable keeps non-ASCII text (a Unicode domain, an organisation name) 7-bit,
    # so servers without 8BITMIME still take it.
    msg.set_content(body, cte="7bit" if body.isascii() else "quoted-printable")
    return msg


def _paragraphs(*paragraphs: str) -> str:
    """Wrap each paragraph at 72 columns, the width mail readers (and the demo outbox at 80
    columns) show without wrapping again; an indented line (the code) is kept as it is."""
    return (
        "\n\n".join(
            p if p.startswith(" ") else textwrap.fill(p, width=72, break_on_hyphens=False)
            for p in paragraphs
        )
        + "\n"
    )
