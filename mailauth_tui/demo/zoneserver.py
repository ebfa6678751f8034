"""A loopback authoritative DNS server over an in-memory zone (dnslib on the wire).

It serves the integration tests, the benchmarks and ``--demo``; the zone it serves is
:class:`~mailauth_tui.demo.zone.Zone`. Shape, for speed (measured):
one thread receives UDP serially and answers from a cache of packed replies keyed by the query
bytes (dnslib's threaded server starts a thread per datagram and caps near 2.5k queries/s); a
per-query ``delay`` is served by the same thread from a timer heap, sending each answer when it
is due between reads, so a delayed answer never holds up the next query; TCP (for truncated
answers) runs beside it on the same port.
"""

from __future__ import annotations

import contextlib
import heapq
import selectors
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from dnslib import EDNS0, QTYPE, RCODE, DNSError, DNSHeader, DNSRecord

from mailauth_tui.demo.zone import Zone
from mailauth_tui.demo.zonefile import host_name
from mailauth_tui.services.dnswire import COUNTS, OPT_RR, UDP_PAYLOAD, read_question

__all__ = ["Zone", "ZoneServer"]

_CACHE_LIMIT = 200_000
# A read that does not wait, on a socket that otherwise does (Linux, the BSDs, macOS). Without
# it (Windows) one query is read per wake-up, which select() has said is there.
_DONT_WAIT: int = getattr(socket, "MSG_DONTWAIT", 0)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class ZoneServer:
    """Serve a :class:`Zone` on ``host:port`` over UDP and TCP (port 0 picks a free one).

    ``delay`` (seconds, changeable while running) postpones every answer without holding up
    the others. ``queries`` counts queries received; :meth:`count` per name and type.
    ``recursion=False`` clears RA in every answer, as an authoritative-only server does (its
    REFUSED then means "outside my zones"); by default it passes for a recursive resolver.
    """

    def __init__(
        self,
        zone: Zone,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        *,
        recursion: bool = True,
    ) -> None:
        self.zone = zone
        self.host = host
        self.delay = delay
        self.recursion = recursion
        self._requested_port = port
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._counts: Counter[tuple[str, str]] = Counter()
        self._count_lock = threading.Lock()
        self.queries = 0
        self.tcp_queries = 0
        self.peak_delayed = 0  # most UDP answers waiting out the delay at once: queries in flight
        self._cache: dict[tuple[bool, bytes], tuple[bytes | None, tuple[str, str]]] = {}
        self._cache_generation = -1
        self._heap: list[tuple[float, int, bytes, Any]] = []
        self._seq = 0

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._udp is None:
            raise RuntimeError("the zone server is not started")
        port: int = self._udp.getsockname()[1]
        return port

    @property
    def address(self) -> str:
        """``HOST:PORT`` (``[V6]:PORT``), as ``--nameserver`` takes it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def start(self) -> ZoneServer:
        if self._udp is not None:
            return self
        self._stopping = False
        for _ in range(20):  # the UDP port picked may be taken for TCP: pick again
            udp = socket.socket(self._family, socket.SOCK_DGRAM)
            with contextlib.suppress(OSError):  # absorbs bursts of thousands of queries
                udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            udp.bind((self.host, self._requested_port))
            tcp = socket.socket(self._family, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.host, udp.getsockname()[1]))
                tcp.listen(64)
            except OSError:
                udp.close()
                tcp.close()
                if self._requested_port:
                    raise
                continue
            break
        else:
            raise OSError("no port free for both UDP and TCP")
        self._udp, self._tcp = udp, tcp
        self._threads = [
            threading.Thread(target=self._serve_udp, name="zoneserver-udp", daemon=True),
            threading.Thread(target=self._serve_tcp, name="zoneserver-tcp", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        udp, tcp = self._udp, self._tcp
        if udp is None or tcp is None:
            return
        self._stopping = True
        # Blocked recvfrom() and accept() wake for a datagram / connection to themselves.
        wake = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            wake.sendto(b"", udp.getsockname())
        finally:
            wake.close()
        with contextlib.suppress(OSError):
            socket.create_connection(tcp.getsockname()[:2], timeout=1).close()
        for thread in self._threads:
            thread.join(timeout=5)
        udp.close()
        tcp.close()
        self._udp = self._tcp = None
        self._threads = []

    def __enter__(self) -> ZoneServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- counters --------------------------------------------------------------------------

    def count(self, name: str | None = None, rtype: str | None = None) -> int:
        """Queries received for ``name`` (and ``rtype``); all queries when both are None."""
        with self._count_lock:
            if name is None and rtype is None:
                return self.queries
            key_name = None if name is None else host_name(name)
            key_type = None if rtype is None else str(rtype).upper()
            return sum(
                n
                for (qn, qt), n in self._counts.items()
                if (key_name is None or qn == key_name) and (key_type is None or qt == key_type)
            )

    def reset_counts(self) -> None:
        with self._count_lock:
            self._counts.clear()
            self.queries = 0
            self.tcp_queries = 0
            self.peak_delayed = 0

    # -- serving ---------------------------------------------------------------------------

    def _serve_udp(self) -> None:
        """One thread both reads queries and sends the delayed answers when they are due: with
        a second thread for the sending, woken per query, the two handed the GIL back and forth
        and answers came later than their delay (at 128 queries in flight and 5 ms, a median of
        8.7 - 11.1 ms against 6.7 - 9.4 ms now). With nothing waiting to be sent, it blocks in
        ``recvfrom`` (one system call per query, as an undelayed server needs); otherwise it
        waits for a query or the next answer due."""
        sock = self._udp
        assert sock is not None
        delayed = self._heap
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            while not self._stopping:
                if not delayed:
                    try:
                        data, addr = sock.recvfrom(65535)
                    except OSError:
                        return
                    if not self._handle_udp(sock, data, addr):
                        return
                    continue
                wait = max(0.0, delayed[0][0] - time.monotonic())
                if selector.select(wait) and not self._read_waiting(sock):
                    return
                self._send_due(sock)

    def _read_waiting(self, sock: socket.socket) -> bool:
        """Handle every query already received; False once stopped."""
        while True:
            try:
                data, addr = sock.recvfrom(65535, _DONT_WAIT)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not self._handle_udp(sock, data, addr):
                return False
            if not _DONT_WAIT:
                return True

    def _handle_udp(self, sock: socket.socket, data: bytes, addr: Any) -> bool:
        """Answer one query, now or when its delay is over; False once stopped."""
        if self._stopping:
            return False
        reply = self._respond(data, udp=True)
        if reply is None:
            return True
        delay = self.delay
        if delay > 0:
            self._seq += 1
            heapq.heappush(self._heap, (time.monotonic() + delay, self._seq, reply, addr))
            self.peak_delayed = max(self.peak_delayed, len(self._heap))
            return True
        with contextlib.suppress(OSError):  # the client went away: nothing to tell it
            sock.sendto(reply, addr)
        return True

    def _send_due(self, sock: socket.socket) -> None:
        delayed = self._heap
        now = time.monotonic()
        while delayed and delayed[0][0] <= now:
            _, _, reply, addr = heapq.heappop(delayed)
            with contextlib.suppress(OSError):
                sock.sendto(reply, addr)

    def _serve_tcp(self) -> None:
        listener = self._tcp
        assert listener is not None
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if self._stopping:
                conn.close()
                return
            threading.Thread(target=self._handle_tcp, args=(conn,), daemon=True).start()

    def _handle_tcp(self, conn: socket.socket) -> None:
        """Length-prefixed queries on one connection, answered in order (RFC 7766)."""
        with conn:
            conn.settimeout(10)
            try:
                while not self._stopping:
                    head = _recv_exact(conn, 2)
                    if head is None:
                        return
                    data = _recv_exact(conn, struct.unpack("!H", head)[0])
                    if data is None:
                        return
                    reply = self._respond(data, udp=False)
                    if reply is None:
                        continue
                    if self.delay > 0:
                        time.sleep(self.delay)
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    def _respond(self, data: bytes, udp: bool) -> bytes | None:
        """The reply to one query (None: no reply), from the cache of packed replies."""
        if len(data) < 12:
            return None
        generation = self.zone.generation
        if generation != self._cache_generation or len(self._cache) > _CACHE_LIMIT:
            self._cache = {}
            self._cache_generation = generation
        key = (udp, data[2:])
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._compute(data, udp)
        body, counted = hit
        with self._count_lock:
            self.queries += 1
            if not udp:
                self.tcp_queries += 1
            self._counts[counted] += 1
        if body is None:
            return None
        return data[:2] + body

    def _compute(self, data: bytes, udp: bool) -> tuple[bytes | None, tuple[str, str]]:
        """The reply without its 2-byte id, and the (name, type) it counts under.

        An ordinary query (one IN question, an optional EDNS0 OPT) is answered from the wire
        and the records' pre-packed forms, about 5x faster than through dnslib's objects;
        anything else goes through dnslib.
        """
        question = read_question(data)
        if question is None:
            return self._compute_dnslib(data, udp)
        qname, qtype_code, end, payload = question
        qtype = QTYPE.get(qtype_code, str(qtype_code))
        counted = (qname, str(qtype))
        if qtype == "ANY":
            return self._compute_dnslib(data, udp)
        found = self.zone.lookup(qname, str(qtype))
        if found.action == "drop":
            return None, counted
        opt = OPT_RR if payload else b""
        # QR, AA (not on a refusal), the query's RD, RA (when recursion is offered); the rcode.
        flags = 0x8000 | ((data[2] & 0x01) << 8) | found.rcode
        if found.action != "refused":
            flags |= 0x0400
        if self.recursion:
            flags |= 0x0080
        records = found.records
        body = (
            COUNTS.pack(flags, 1, len(records), 0, 1 if opt else 0)
            + data[12:end]
            + b"".join(r.wire for r in records)
            + opt
        )
        if udp and len(body) + 2 > (payload or 512):
            body = COUNTS.pack(flags | 0x0200, 1, 0, 0, 1 if opt else 0) + data[12:end] + opt
        return body, counted

    def _compute_dnslib(self, data: bytes, udp: bool) -> tuple[bytes | None, tuple[str, str]]:
        try:
            query = DNSRecord.parse(data)
        except (DNSError, ValueError, IndexError, struct.error):
            # FORMERR: header with QR set, the query's opcode/RD, no sections.
            return bytes((0x80 | (data[2] & 0x79), 0x01)) + bytes(8), ("", "")
        if not query.questions:
            return _pack_rcode(query, RCODE.FORMERR), ("", "")
        question = query.q
        qname = str(question.qname).lower().removesuffix(".") or "."
        qtype = QTYPE.get(question.qtype, str(question.qtype))
        counted = (qname, str(qtype))
        if query.header.opcode != 0 or question.qclass != 1 or qtype == "ANY":
            rcode = RCODE.NOTIMP if query.header.opcode != 0 or qtype == "ANY" else RCODE.REFUSED
            return _pack_rcode(query, rcode), counted
        found = self.zone.lookup(qname, str(qtype))
        if found.action == "drop":
            return None, counted
        aa, ra = int(found.action != "refused"), int(self.recursion)
        reply = query.reply(ra=ra, aa=aa)
        reply.header.rcode = found.rcode
        if found.records:
            reply.add_answer(*found.answers)
        edns = next((rr for rr in query.ar if rr.rtype == QTYPE.OPT), None)
        if edns is not None:
            reply.add_ar(EDNS0(udp_len=UDP_PAYLOAD))
        packed: bytes = reply.pack()
        limit = max(512, min(int(edns.rclass), UDP_PAYLOAD)) if edns is not None else 512
        if udp and len(packed) > limit:
            truncated = DNSRecord(
                DNSHeader(id=query.header.id, bitmap=query.header.bitmap, qr=1, aa=aa, ra=ra, tc=1),
                q=question,
            )
            truncated.header.rcode = found.rcode
            if edns is not None:
                truncated.add_ar(EDNS0(udp_len=UDP_PAYLOAD))
            packed = truncated.pack()
        return packed[2:], counted


def _pack_rcode(query: DNSRecord, rcode: int) -> bytes:
    reply = query.reply(ra=1, aa=0)
    reply.header.rcode = rcode
    packed: bytes = reply.pack()
    return packed[2:]


def serve_forever(zone: Zone, host: str, port: int, delay: float) -> None:
    """Run a server until interrupted (for benchmarks: ``python -m ...zoneserver ZONEFILE``)."""
    with ZoneServer(zone, host, port, delay) as server:
        print(f"serving {len(zone.names())} names on {server.address}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return


def _main(argv: Iterable[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description="Serve a zone file on loopback (tests, benchmarks)."
    )
    parser.add_argument("zonefile")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--origin", default=None)
    args = parser.parse_args(list(argv) if argv is not None else None)
    with open(args.zonefile, encoding="utf-8") as fh:
        zone = Zone.from_text(fh.read(), origin=args.origin)
    serve_forever(zone, args.host, args.port, args.delay)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
