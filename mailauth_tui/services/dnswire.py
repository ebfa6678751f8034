"""DNS on the wire: the constants every part of mailauth-tui that packs or reads a message
uses (the resolver, its dnspython fallback, the loopback zone server), and the fast readers
of an answer (the resolver's side) and of a plain query (the loopback server's side).

The answer reader handles what the record engine asks for (A, AAAA, MX, TXT, PTR, CNAME).

dnspython's ``dns.message.from_wire`` plus ``resolve_chaining`` costs a few hundred
microseconds per message (measured: ~250 us on the CI machine), which alone would cap a run
near 3k queries/s. Answers to our six question types are simple, so this reader handles them
directly and returns None for anything unusual (other opcodes, extended rcodes, names with
characters that dnspython would escape, malformed data): the caller then parses with dnspython.
``tests/unit/test_dnswire.py`` checks that both give the same Answer on generated messages.
"""

from __future__ import annotations

import socket
import struct

from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType

__all__ = [
    "HEADER",
    "MAX_CHAIN",
    "OPT_RR",
    "QTAIL",
    "QUERY_FLAGS",
    "TYPE_CODES",
    "UDP_PAYLOAD",
    "read_answer",
    "read_question",
]

HEADER = struct.Struct("!HHHHHH")  # id, flags, the four section counts
COUNTS = struct.Struct("!HHHHH")  # flags and the four section counts: a header without its id
QTAIL = struct.Struct("!HH")  # a question's type and class
_RR = struct.Struct("!HHIH")
MAX_CHAIN = 16  # CNAMEs followed in one answer, as dnspython's resolve_chaining
UDP_PAYLOAD = 1232  # EDNS0 buffer size of DNS flag day 2020: no IP fragmentation
# Header flags of a query: RD. One EDNS0 OPT record (root owner, our payload size, no options).
QUERY_FLAGS = 0x0100
OPT_RR = b"\x00" + struct.pack("!HHIH", 41, UDP_PAYLOAD, 0, 0)
_CNAME, _OPT = 5, 41
TYPE_CODES = {
    RType.A: 1,
    RType.CNAME: 5,
    RType.PTR: 12,
    RType.MX: 15,
    RType.TXT: 16,
    RType.AAAA: 28,
}
# Label bytes dnspython prints unescaped and we accept here; anything else -> dnspython path.
_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*")


class _Unusual(Exception):
    """Something this reader leaves to dnspython."""


def _name(data: bytes, pos: int) -> tuple[str, int]:
    """(lower-case name without trailing dot, "." for the root; position after it)."""
    labels: list[bytes] = []
    end = -1
    limit = pos
    while True:
        if pos >= len(data):
            raise _Unusual
        length = data[pos]
        if length == 0:
            pos += 1
            break
        if length >= 0xC0:
            if pos + 1 >= len(data):
                raise _Unusual
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if end < 0:
                end = pos + 2
            if target >= limit:  # pointers go backwards only: no loops
                raise _Unusual
            pos = limit = target
            continue
        if length > 63:
            raise _Unusual
        label = data[pos + 1 : pos + 1 + length]
        if len(label) != length or not _PLAIN.issuperset(label):
            raise _Unusual
        labels.append(label)
        pos += 1 + length
    if end < 0:
        end = pos
    if not labels:
        return ".", end
    text = b".".join(labels).lower().decode("ascii")
    if len(text) > 253:
        raise _Unusual
    return text, end


def _skip_name(data: bytes, pos: int) -> int:
    """The position after the name at ``pos``, which is not read: the owners of authority and
    additional records (an NXDOMAIN's SOA) only have to be stepped over."""
    while True:
        length = data[pos]
        if length == 0:
            return pos + 1
        if length >= 0xC0:
            return pos + 2
        if length > 63:
            raise _Unusual
        pos += 1 + length


def read_answer(
    qname: str, rtype: RType, data: bytes, where: str = "", question_len: int | None = None
) -> Answer | None:
    """Classify a response to (qname, rtype) like ``services.dns.classify``; None: use dnspython.

    The caller has checked the id, the source and the echoed question; ``question_len``, when
    given, is the length of that question (name, type, class), which is then not read again.
    """
    try:
        return _read(qname, rtype, data, where, question_len)
    except (_Unusual, struct.error, IndexError, UnicodeDecodeError, ValueError, OSError):
        return None


def _read(
    qname: str, rtype: RType, data: bytes, where: str, question_len: int | None
) -> Answer | None:
    _, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    if flags & 0x7800 or qdcount != 1:  # opcode not QUERY, or not one question
        return None
    rcode = flags & 0x000F
    name = "." if qname == "." else qname.lower()
    pos = 12 + question_len if question_len is not None else _name(data, 12)[1] + 4
    rrsets: dict[tuple[str, int], list[object]] = {}
    for _ in range(ancount):
        if data[pos] == 0xC0 and data[pos + 1] == 12:
            # A pointer to the question's name (the caller checked it is ours): the common
            # owner of every answer record, not read again.
            owner = name
            pos += 2
        else:
            owner, pos = _name(data, pos)
        rr_type, rr_class, _ttl, rdlen = _RR.unpack_from(data, pos)
        pos += 10
        end = pos + rdlen
        if end > len(data):
            return None
        if rr_class == 1:
            value = _rdata(rr_type, data, pos, end)
            if value is not None:
                values = rrsets.setdefault((owner, rr_type), [])
                if value not in values:  # an RRset is a set, as dnspython makes it
                    values.append(value)
        pos = end
    for _ in range(nscount + arcount):
        pos = _skip_name(data, pos)
        rr_type, _cls, ttl, rdlen = _RR.unpack_from(data, pos)
        if rr_type == _OPT and ttl >> 24:  # extended rcode: leave to dnspython
            return None
        pos += 10 + rdlen
        if pos > len(data):
            return None
    origin = f" from {where}" if where else ""
    if rcode not in (0, 3):
        return None  # SERVFAIL, REFUSED, NOTAUTH...: dnspython names the rcode
    qtype = TYPE_CODES[rtype]
    chain: list[str] = []
    found: list[object] | None = None
    for _ in range(MAX_CHAIN):
        found = rrsets.get((name, qtype))
        if found is not None or qtype == _CNAME:
            break
        cname = rrsets.get((name, _CNAME))
        if cname is None:
            break
        name = str(cname[0])
        chain.append(name)
    else:
        detail = f"CNAME chain too long{origin}"
        return Answer(qname, rtype, AnswerStatus.SERVFAIL, detail=detail, server=where)
    if rcode == 3:
        if found is not None:
            return Answer(
                qname,
                rtype,
                AnswerStatus.SERVFAIL,
                detail=f"NXDOMAIN with an answer{origin}",
                server=where,
            )
        return Answer(qname, rtype, AnswerStatus.NXDOMAIN, cname_chain=tuple(chain), server=where)
    if not found:
        if not flags & 0x0480:  # neither AA nor RA: a referral, which dnspython's path names
            return None
        return Answer(qname, rtype, AnswerStatus.NODATA, cname_chain=tuple(chain), server=where)
    if rtype is RType.TXT:
        texts: list[str] = []
        chunks: list[tuple[str, ...]] = []
        for value in found:
            if isinstance(value, tuple):
                text, pieces = _txt(value)
                texts.append(text)
                chunks.append(pieces)
        return Answer(
            qname,
            rtype,
            AnswerStatus.RECORDS,
            records=tuple(texts),
            chunks=tuple(chunks),
            cname_chain=tuple(chain),
            server=where,
        )
    if rtype is RType.MX:
        ordered = sorted(v for v in found if isinstance(v, tuple))
        records: tuple[str, ...] = tuple(host for _, host in ordered)
    else:
        records = tuple(str(v) for v in found)
    return Answer(
        qname, rtype, AnswerStatus.RECORDS, records=records, cname_chain=tuple(chain), server=where
    )


def _txt(strings: tuple[bytes, ...]) -> tuple[str, tuple[str, ...]]:
    """A TXT record's text (its strings joined, then decoded: a character may straddle two
    strings) and its strings as published."""
    joined = b"".join(strings)
    if not joined.isascii():
        return joined.decode("utf-8", errors="replace"), tuple(
            s.decode("utf-8", errors="replace") for s in strings
        )
    text = joined.decode("ascii")
    if len(strings) == 1:
        return text, (text,)
    pieces = []
    start = 0
    for piece in strings:  # one byte, one character: cut the decoded text where they were
        end = start + len(piece)
        pieces.append(text[start:end])
        start = end
    return text, tuple(pieces)


def _rdata(rr_type: int, data: bytes, pos: int, end: int) -> object | None:
    """The value of one record of a type we read; None for other types (skipped)."""
    if rr_type == 16:  # TXT: one or more <character-string>
        strings = []
        while pos < end:
            length = data[pos]
            if pos + 1 + length > end:
                raise _Unusual
            strings.append(data[pos + 1 : pos + 1 + length])
            pos += 1 + length
        if not strings:
            raise _Unusual
        return tuple(strings)
    if rr_type == 1:
        if end - pos != 4:
            raise _Unusual
        return socket.inet_ntop(socket.AF_INET, data[pos:end])
    if rr_type == 28:
        if end - pos != 16:
            raise _Unusual
        return socket.inet_ntop(socket.AF_INET6, data[pos:end])
    if rr_type in (5, 12):  # CNAME, PTR
        target, after = _name(data, pos)
        if after != end:
            raise _Unusual
        return target
    if rr_type == 15:  # MX
        if end - pos < 3:
            raise _Unusual
        exchange, after = _name(data, pos + 2)
        if after != end:
            raise _Unusual
        return ((data[pos] << 8) | data[pos + 1], exchange)
    return None


def read_question(data: bytes) -> tuple[str, int, int, int] | None:
    """(name, type, end of question, EDNS payload or 0) of an ordinary query (one IN question,
    an optional EDNS0 OPT), else None: the loopback server then parses it with dnslib."""
    if len(data) < 17 or data[2] & 0xF8 or data[4:10] != b"\x00\x01\x00\x00\x00\x00":
        return None  # a response, another opcode, or not exactly one question and no answers
    arcount = (data[10] << 8) | data[11]
    labels: list[bytes] = []
    pos = 12
    while True:
        length = data[pos]
        if length == 0:
            break
        label = data[pos + 1 : pos + 1 + length]
        if length > 63 or len(label) != length or not _PLAIN.issuperset(label):
            return None
        labels.append(label)
        pos += 1 + length
    if pos > 12 + 254 or len(data) < pos + 5:
        return None
    qtype, qclass = struct.unpack_from("!HH", data, pos + 1)
    end = pos + 5
    if qclass != 1:
        return None
    payload = 0
    if arcount == 1:
        if data[end : end + 3] != b"\x00\x00\x29" or len(data) < end + 11:
            return None
        payload = max(512, min(struct.unpack_from("!H", data, end + 3)[0], UDP_PAYLOAD))
        if end + 11 + struct.unpack_from("!H", data, end + 9)[0] != len(data):
            return None
    elif arcount or end != len(data):
        return None
    name = b".".join(labels).lower().decode("ascii") or "."
    return name, qtype, end, payload
