"""RFC 2136 dynamic updates signed with TSIG (RFC 8945), over TCP to the zone's primary.

:class:`Rfc2136Updater` reads a name's TXT RRset on the server and sends one planned update
(:class:`core.zone_update.UpdatePlan`) as one message: the server applies all of it or none.
Every refusal becomes an :class:`UpdateRefused` whose message is one line for people; the TSIG
secret is never part of any message or repr.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from mailauth_tui.core.zone_update import Chunks, UpdatePlan
from mailauth_tui.services.authoritative import split_hostport

__all__ = ["ALGORITHMS", "Rfc2136Updater", "TsigKey", "UpdateRefused", "ZoneUpdater"]

ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1")
# An update is small and the primary answers at once; a slow one is a network problem.
_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class TsigKey:
    name: str
    algorithm: str
    secret: str = field(repr=False)  # base64, as BIND's key clause holds it

    def keyring(self) -> dns.tsig.Key:
        try:
            raw = base64.b64decode(self.secret, validate=True)
        except (binascii.Error, ValueError):
            raise UpdateRefused("the TSIG secret is not base64", "badsecret") from None
        return dns.tsig.Key(self.name, raw, self.algorithm)


class UpdateRefused(Exception):
    """The update was not applied. ``kind``: badkey, badsig, badtime, refused, notauth,
    prerequisite, timeout, failed, badsecret."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class ZoneUpdater(Protocol):
    async def read(self, server: str, names: Sequence[str]) -> dict[str, tuple[Chunks, ...]]: ...

    async def send(self, server: str, plan: UpdatePlan, key: TsigKey) -> None: ...


def _txt(chunks: Chunks) -> dns.rdata.Rdata:
    # Built from wire strings, not parsed from presentation text: nothing in a value is
    # interpreted (a backslash or quote stays what it is).
    from dns.rdtypes.ANY.TXT import TXT

    return TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [c.encode("utf-8") for c in chunks])


def build_message(plan: UpdatePlan, key: TsigKey) -> dns.update.UpdateMessage:
    update = dns.update.UpdateMessage(plan.zone, keyring=key.keyring())
    for prereq in plan.prerequisites:
        if not prereq.values:
            update.absent(prereq.name + ".", "TXT")
            continue
        rdataset = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
        for chunks in prereq.values:
            rdataset.add(_txt(chunks))
        update.present(prereq.name + ".", rdataset)
    for op in plan.operations:
        if op.action == "add":
            update.add(op.name + ".", op.ttl, _txt(op.chunks))
        else:
            update.delete(op.name + ".", _txt(op.chunks))
    return update


async def _address(server: str) -> tuple[str, int]:
    host, port = split_hostport(server)
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        message = f"the update server {server} cannot be found: {exc}"
        raise UpdateRefused(message, "failed") from None
    return str(infos[0][4][0]), port


class Rfc2136Updater:
    """:class:`ZoneUpdater` over dnspython, TCP."""

    def __init__(self, timeout: float = _TIMEOUT) -> None:
        self._timeout = timeout

    async def read(self, server: str, names: Sequence[str]) -> dict[str, tuple[Chunks, ...]]:
        address, port = await _address(server)
        out: dict[str, tuple[Chunks, ...]] = {}
        for name in names:
            query = dns.message.make_query(name, "TXT")
            query.flags &= ~dns.flags.RD
            try:
                reply = await dns.asyncquery.tcp(query, address, timeout=self._timeout, port=port)
            except (OSError, dns.exception.DNSException) as exc:
                raise UpdateRefused(f"cannot read {name} on {server}: {exc}", "timeout") from None
            rcode = reply.rcode()
            if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                raise UpdateRefused(
                    f"{server} will not answer for {name} ({dns.rcode.to_text(rcode)}): is it "
                    "the zone's primary?",
                    "refused",
                )
            qname = dns.name.from_text(name)
            out[name] = tuple(
                tuple(s.decode("utf-8", "replace") for s in rdata.strings)
                for rrset in reply.answer
                if rrset.rdtype == dns.rdatatype.TXT and rrset.name == qname
                for rdata in rrset
            )
        return out

    async def send(self, server: str, plan: UpdatePlan, key: TsigKey) -> None:
        address, port = await _address(server)
        message = build_message(plan, key)
        zone = plan.zone
        try:
            reply = await dns.asyncquery.tcp(message, address, timeout=self._timeout, port=port)
        except dns.tsig.PeerBadKey:
            raise UpdateRefused(
                f"{server} does not know the TSIG key {key.name} ({key.algorithm}) (BADKEY): "
                "check the key name and algorithm in the [publish] settings",
                "badkey",
            ) from None
        except dns.tsig.PeerBadSignature:
            raise UpdateRefused(
                f"{server} rejects the signature of TSIG key {key.name} (BADSIG): the secret is "
                "wrong; copy it again from the server's key file",
                "badsig",
            ) from None
        except dns.tsig.PeerBadTime:
            raise UpdateRefused(
                f"{server} rejects the TSIG time (BADTIME): this machine's clock is off",
                "badtime",
            ) from None
        except dns.exception.Timeout:
            raise UpdateRefused(f"{server} did not answer the update in time", "timeout") from None
        except (OSError, dns.exception.DNSException) as exc:
            raise UpdateRefused(f"the update to {server} failed: {exc}", "failed") from None
        rcode = reply.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        name = dns.rcode.to_text(rcode)
        if rcode == dns.rcode.REFUSED:
            raise UpdateRefused(
                f"{server} refuses updates to {zone} (REFUSED): allow the key {key.name} in the "
                "zone's allow-update or update-policy",
                "refused",
            )
        if rcode == dns.rcode.NOTAUTH:
            raise UpdateRefused(
                f"{server} is not the primary of {zone}, or does not accept the key {key.name} "
                "(NOTAUTH): point [publish] server at the zone's primary",
                "notauth",
            )
        if rcode in (dns.rcode.NXRRSET, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN):
            raise UpdateRefused(f"a prerequisite failed ({name})", "prerequisite")
        raise UpdateRefused(f"{server} did not apply the update ({name})", "failed")
