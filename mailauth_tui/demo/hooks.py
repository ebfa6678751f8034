"""The demo's stand-ins for the outside world: "publishing" records into the demo zone (what
the admin would do at a DNS provider) and reading the demo Maildir (their mailbox)."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from mailauth_tui.core.results import PublishRecord
from mailauth_tui.demo.zoneserver import Zone

# A published record replaces the record of the same kind at its name, as a DNS provider's
# form would: the value prefix says which record is which.
_PREFIX = {"SPF": "v=spf1", "DMARC": "v=dmarc1", "DKIM": ""}


@dataclass(frozen=True, slots=True)
class DemoMail:
    at: datetime
    to: str
    subject: str
    body: str


def _same_kind(kind: str, text: str) -> bool:
    prefix = _PREFIX.get(kind, "")
    if not prefix:
        return True  # a DKIM name holds one key record
    return re.match(rf"{re.escape(prefix)}(?:[\s;]|$)", text.strip(), re.IGNORECASE) is not None


def publish_records(zone: Zone, records: Sequence[PublishRecord]) -> list[str]:
    """Put ``records`` into ``zone``; return the host names changed."""
    changed = []
    for record in records:
        if record.rtype.upper() != "TXT":
            continue
        keep = [
            strings
            for strings in zone.txt_strings(record.host)
            if not _same_kind(record.kind, "".join(strings))
        ]
        zone.remove(record.host, "TXT")
        for strings in keep:
            zone.add(record.host, "TXT", list(strings))
        zone.add(record.host, "TXT", list(record.chunks) or [record.value])
        changed.append(record.host)
    return changed


def _text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        return "(this message's text cannot be decoded)"
    return content if isinstance(content, str) else ""


def read_maildir(path: Path) -> list[DemoMail]:
    """The Maildir's messages, newest first (an absent Maildir is an empty outbox)."""
    if not path.is_dir():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    mails = []
    try:
        for key in box.iterkeys():
            try:
                raw = box.get_bytes(key)
            except (KeyError, OSError):
                continue  # removed meanwhile
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            try:
                at = parsedate_to_datetime(str(message["Date"]))
            except (TypeError, ValueError):
                at = datetime.fromtimestamp(0, UTC)
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            mails.append(
                DemoMail(
                    at=at,
                    to=str(message["To"] or ""),
                    subject=str(message["Subject"] or ""),
                    body=_text_body(message),
                )
            )
    finally:
        box.close()
    mails.sort(key=lambda m: m.at, reverse=True)
    return mails


class ZoneDemo:
    """Implements the console's DemoHooks Protocol (structurally: no import of the ui)."""

    def __init__(self, zone: Zone, maildir: Path) -> None:
        self.zone = zone
        self.maildir = maildir

    def publish(self, records: Sequence[PublishRecord]) -> None:
        publish_records(self.zone, records)

    def outbox(self) -> list[DemoMail]:
        return read_maildir(self.maildir)
