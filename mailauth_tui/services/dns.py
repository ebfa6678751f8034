"""The async DNS resolver behind the record engine (implements ``core.dns_types.Resolver``).

A stub resolver that speaks plain DNS over UDP to configured (or the system's) recursive
nameservers, parses with dnspython and falls back to TCP (``dns.asyncquery.tcp``) on truncation.

Why not ``dns.asyncresolver.Resolver.resolve``: it opens a new socket and builds a resolution
object for every query, which caps it near a thousand queries per second on loopback, and it
turns outcomes into exceptions that must be mapped back. Here a small pool of long-lived UDP
sockets (random source ports, random 16-bit ids, source address and question checked) carries
every query, so a run of thousands of domains is bounded by the nameserver, not by us.

Every outcome comes back as an :class:`Answer`; nothing DNS-related raises. Answers are cached
for the life of the instance (one instance per run), negative and transient ones included, and
identical concurrent queries share one exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import re
import secrets
import socket
import struct
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import idna

from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType
from mailauth_tui.services.dnswire import (
    HEADER,
    OPT_RR,
    QTAIL,
    QUERY_FLAGS,
    TYPE_CODES,
    read_answer,
)

__all__ = ["DnsResolver", "ResolverStats", "ascii_query_name", "parse_nameserver"]

_MAX_IDS_PER_SOCKET = 8192  # keeps random ids cheap to draw and hard to guess
_SIMPLE_NAME = re.compile(r"(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?", re.ASCII)
_IDNA_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def parse_nameserver(text: str) -> tuple[str, int]:
    """``HOST[:PORT]``, ``[V6]:PORT`` or a bare IPv6 address -> ``(ip, port)``.

    HOST must be an IP address (or ``localhost``): a name would itself need resolving.
    Raises ValueError with a message fit for the user.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("empty nameserver: give HOST[:PORT], for example 127.0.0.1:5353")
    host, port_text = raw, ""
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise ValueError(f"nameserver {text!r}: missing ']' after the IPv6 address")
        host, rest = raw[1:end], raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"nameserver {text!r}: expected ':PORT' after ']'")
            port_text = rest[1:]
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    if host.lower() == "localhost":
        host = "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"nameserver {text!r}: {host!r} is not an IP address (give HOST[:PORT] with an "
            "IPv4 address, or [IPv6]:PORT)"
        ) from None
    port = 53
    if port_text or raw.endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"nameserver {text!r}: port {port_text!r} is not in 1-65535")
        port = int(port_text)
    return str(address), port


def _format_server(server: tuple[str, int]) -> str:
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def ascii_query_name(name: str) -> str:
    """The name as asked in DNS: lower case, IDNA (UTS 46) A-labels, no trailing dot.

    Unlike ``core.names.normalize_domain`` this accepts any DNS name (single labels, ``_dmarc``,
    ``*``), since it serves names found in records too. Raises ValueError.
    """
    if _SIMPLE_NAME.fullmatch(name) and len(name) <= 254:
        return name.lower().removesuffix(".")
    text = name.strip().translate(_IDNA_DOTS)
    if text in ("", "."):
        return "."
    text = text.removesuffix(".")
    labels = []
    for label in text.split("."):
        if not label:
            raise ValueError(f"{name!r} has an empty label")
        if label.isascii():
            ascii_label = label.lower()
        else:
            try:
                ascii_label = idna.alabel(idna.uts46_remap(label, std3_rules=False)).decode()
            except (idna.IDNAError, UnicodeError) as exc:
                raise ValueError(f"{name!r}: label {label!r} is not valid IDNA: {exc}") from None
        if len(ascii_label) > 63:
            raise ValueError(f"{name!r}: label {ascii_label[:20]!r}... is over 63 characters")
        if any(c <= " " or c == "\x7f" for c in ascii_label):
            raise ValueError(f"{name!r} contains spaces or control characters")
        labels.append(ascii_label)
    out = ".".join(labels)
    if len(out) > 253:
        raise ValueError(f"{name!r} is over 253 characters")
    return out


def _question_wire(qname: str, qtype: int) -> bytes:
    """Question section (name, type, class IN) followed by the EDNS0 OPT record."""
    if qname == ".":
        wire = b"\x00"
    else:
        parts = []
        for label in qname.split("."):
            raw = label.encode("ascii")
            parts.append(bytes((len(raw),)) + raw)
        wire = b"".join(parts) + b"\x00"
    return wire + QTAIL.pack(qtype, 1)


@dataclass(slots=True)
class ResolverStats:
    """Counters for benchmarks and the UI: questions asked, answered from cache, sent."""

    queries: int = 0
    cache_hits: int = 0
    sent: int = 0  # datagrams (retries included) and TCP exchanges
    tcp: int = 0


class _Pending:
    """One question on the wire; every attempt's id points here so a late answer still counts."""

    __slots__ = ("future", "question", "server")

    def __init__(self, question: bytes, server: tuple[str, int]) -> None:
        self.question = question
        self.server = server
        self.future: asyncio.Future[bytes | None] | None = None


class _UdpEndpoint(asyncio.DatagramProtocol):
    """A long-lived UDP socket: matches datagrams to pending queries by id, source and question.

    On selector event loops (Linux, macOS, uvloop) the socket is read with ``add_reader``, a
    batch of datagrams per wake-up and no transport object; elsewhere (Windows' proactor loop)
    it falls back to a datagram transport with this class as its protocol.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, _Pending] = {}
        self._ids: list[int] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def send(self, data: bytes, server: tuple[str, int]) -> OSError | None:
        """Send one query; the error (network unreachable...) when it could not leave."""
        if self.transport is not None:
            self.transport.sendto(data, server)
            return None
        try:
            self.sock.sendto(data, server)
        except (BlockingIOError, InterruptedError):
            return None  # send buffer full: treated as a lost datagram, the retry covers it
        except OSError as exc:
            return exc
        return None

    def readable(self) -> None:
        for _ in range(256):  # a bounded batch, so one busy socket cannot starve the loop
            try:
                data, addr = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # ICMP errors on an unconnected socket do not say which query failed: that
                # query times out, which is the honest outcome ("no answer").
                continue
            self.datagram_received(data, addr)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(data) < 12 or not data[2] & 0x80:  # too short, or not a response (QR)
            return
        pending = self.pending.get((data[0] << 8) | data[1])
        if pending is None or pending.future is None or pending.future.done():
            return
        if (addr[0], addr[1]) != pending.server:
            return  # not from the server asked: ignore (spoofing or a stray reply)
        question = pending.question
        qdcount = (data[4] << 8) | data[5]
        echoed = data[12 : 12 + len(question)].lower()
        truncated_bare = data[2] & 0x02 and qdcount == 0
        if not truncated_bare and (qdcount != 1 or echoed != question):
            return
        pending.future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        pass  # as in readable(): the query concerned times out

    def new_id(self) -> int:
        while True:
            if not self._ids:
                # Unpredictable ids from the OS, drawn in bulk: a syscall per query costs more
                # than the rest of sending it.
                raw = secrets.token_bytes(2048)
                self._ids = list(struct.unpack(f"!{len(raw) // 2}H", raw))
            qid = self._ids.pop()
            if qid not in self.pending:
                return qid


class _Deadlines:
    """When each attempt in flight gives up. Every attempt of a resolver waits the same time,
    so deadlines come in the order attempts are sent: a queue and one timer for its head
    replace a timer per attempt (a TimerHandle, a heap push and a cancel, for every query)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self.queue: deque[tuple[float, asyncio.Future[bytes | None]]] = deque()
        self.timer: asyncio.TimerHandle | None = None

    def add(self, fut: asyncio.Future[bytes | None]) -> None:
        when = self.loop.time() + self.timeout
        queue = self.queue
        # Answers come back about in the order asked: drop the answered attempts at the head
        # now, or every future (and its datagram) of the last few seconds stays referenced here.
        while queue and queue[0][1].done():
            queue.popleft()
        queue.append((when, fut))
        if self.timer is None:
            self.timer = self.loop.call_at(when, self._expire)

    def _expire(self) -> None:
        self.timer = None
        now = self.loop.time()
        queue = self.queue
        while queue:
            when, fut = queue[0]
            if not fut.done():
                if when > now:
                    self.timer = self.loop.call_at(when, self._expire)
                    return
                fut.set_result(None)  # no answer in time: the attempt is lost
            queue.popleft()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.queue.clear()


class _LoopState:
    """What belongs to one event loop: sockets, the in-flight bound, the deadlines."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, concurrency: int, sockets: int, timeout: float
    ) -> None:
        self.loop = loop
        # The bound on exchanges in flight: a counter, and a queue only when it is full. (An
        # asyncio.Semaphore in `async with` costs two coroutines per query even when free.)
        self.limit = concurrency
        self.in_flight = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.deadlines = _Deadlines(loop, timeout)
        self.n_sockets = sockets
        self.endpoints: dict[int, list[_UdpEndpoint]] = {}
        self.readers: list[int] = []  # file descriptors watched with add_reader
        self.opening = asyncio.Lock()
        self.turn = 0

    async def wait_for_slot(self) -> None:
        """Queue for a slot; :meth:`release` hands one over (first come, first served)."""
        fut: asyncio.Future[None] = self.loop.create_future()
        self.waiting.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # handed a slot, then cancelled: pass it on
            raise

    def release(self) -> None:
        while self.waiting:
            fut = self.waiting.popleft()
            if not fut.done():  # a waiter cancelled meanwhile gives its turn up
                fut.set_result(None)
                return
        self.in_flight -= 1

    async def endpoint(self, family: int) -> _UdpEndpoint:
        pool = self.endpoints.get(family)
        if pool is None:
            async with self.opening:
                pool = self.endpoints.get(family)
                if pool is None:
                    pool = []
                    try:
                        for _ in range(self.n_sockets):
                            pool.append(await self._open(family))
                    except BaseException:
                        for endpoint in pool:
                            self._close(endpoint)
                        raise
                    self.endpoints[family] = pool
        self.turn += 1
        return pool[self.turn % len(pool)]

    async def _open(self, family: int) -> _UdpEndpoint:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(OSError):  # a bigger buffer absorbs bursts; optional
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            sock.setblocking(False)
            endpoint = _UdpEndpoint(sock)
            try:
                self.loop.add_reader(sock.fileno(), endpoint.readable)
                self.readers.append(sock.fileno())
            except NotImplementedError:
                await self.loop.create_datagram_endpoint(lambda: endpoint, sock=sock)
        except BaseException:
            sock.close()
            raise
        return endpoint

    def _close(self, endpoint: _UdpEndpoint) -> None:
        if endpoint.transport is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: the socket closes below
                endpoint.transport.close()
                return
        fd = endpoint.sock.fileno()
        if fd in self.readers and not self.loop.is_closed():
            self.loop.remove_reader(fd)
        endpoint.sock.close()

    def close(self) -> None:
        self.deadlines.close()
        for pool in self.endpoints.values():
            for endpoint in pool:
                self._close(endpoint)
        self.endpoints.clear()
        self.readers.clear()


class _Abandoned(Exception):
    """The task leading a shared query was cancelled before the answer came."""


class DnsResolver:
    """Async stub resolver with a per-instance cache and a bound on queries in flight.

    ``timeout`` is the wait for each attempt, ``retries`` the extra attempts after a timeout
    (each to the next nameserver): a name that never answers costs ``timeout * (retries + 1)``.
    """

    def __init__(
        self,
        nameservers: Sequence[str] = (),
        timeout: float = 3.0,
        retries: int = 2,
        concurrency: int = 64,
    ) -> None:
        if not timeout > 0:
            raise ValueError("timeout must be a positive number of seconds")
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if isinstance(nameservers, str):
            nameservers = (nameservers,)
        servers = [parse_nameserver(ns) for ns in nameservers] or _system_nameservers()
        self._servers: tuple[tuple[str, int], ...] = tuple(servers)
        # (address, as shown in messages, socket family) of each server, made once.
        self._targets = tuple(
            (s, _format_server(s), socket.AF_INET6 if ":" in s[0] else socket.AF_INET)
            for s in servers
        )
        self._timeout = float(timeout)
        self._retries = int(retries)
        self._concurrency = int(concurrency)
        self._n_sockets = max(2, math.ceil(concurrency * (retries + 1) / _MAX_IDS_PER_SOCKET))
        self._cache: dict[tuple[str, RType], Answer | asyncio.Future[Answer]] = {}
        self._state: _LoopState | None = None
        self._next_server = 0
        self.stats = ResolverStats()

    @property
    def nameservers(self) -> tuple[str, ...]:
        return tuple(_format_server(s) for s in self._servers)

    @property
    def timeout(self) -> float:
        return self._timeout

    def clear_cache(self) -> None:
        """Forget finished answers (a long-running console re-checks with fresh data)."""
        self._cache = {k: v for k, v in self._cache.items() if not isinstance(v, Answer)}

    def close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None

    async def query(self, name: str, rtype: RType) -> Answer:
        self.stats.queries += 1
        # The record engine asks in the normalised form (lower case, no trailing dot) and asks
        # most names more than once (_dmarc.com, shared include trees): a finished answer is
        # found under the name as given, before any normalising.
        cached = self._cache.get((name, rtype))
        if cached is not None and cached.__class__ is Answer:
            self.stats.cache_hits += 1
            return cached
        if rtype.__class__ is not RType:
            rtype = RType(rtype)
        try:
            qname = ascii_query_name(name)
        except ValueError as exc:
            # A name that cannot exist in DNS does not exist: what RFC 7208 4.3 does too.
            return Answer(name, rtype, AnswerStatus.NXDOMAIN, detail=f"not a DNS name: {exc}")
        key = (qname, rtype)
        state = self._loop_state()
        while True:
            cached = self._cache.get(key)
            if cached is None:
                break
            self.stats.cache_hits += 1
            if isinstance(cached, Answer):
                return cached
            try:
                # shield: a cancelled follower must not cancel the leader's exchange.
                return await asyncio.shield(cached)
            except _Abandoned:
                continue  # the leader was cancelled: ask again
        # The first asker leads the exchange in its own task (no extra Task per query: that
        # costs as much as parsing the answer); followers await its future.
        shared: asyncio.Future[Answer] = state.loop.create_future()
        self._cache[key] = shared
        try:
            if state.in_flight < state.limit and not state.waiting:
                state.in_flight += 1
            else:
                await state.wait_for_slot()
            try:
                answer = await self._exchange(state, qname, rtype)
            finally:
                state.release()
        except BaseException as exc:
            if self._cache.get(key) is shared:
                del self._cache[key]
            shared.set_exception(_Abandoned() if isinstance(exc, asyncio.CancelledError) else exc)
            shared.exception()  # retrieved here: followers, if any, see it too
            raise
        if self._cache.get(key) is shared:
            self._cache[key] = answer
        shared.set_result(answer)
        return answer

    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._state
        if state is None or state.loop is not loop:
            if state is not None:  # used from a new event loop: the old loop's work is gone
                state.close()
                self._cache = {k: v for k, v in self._cache.items() if isinstance(v, Answer)}
            state = self._state = _LoopState(
                loop, self._concurrency, self._n_sockets, self._timeout
            )
        return state

    async def _exchange(self, state: _LoopState, qname: str, rtype: RType) -> Answer:
        question = _question_wire(qname, TYPE_CODES[rtype])
        tried: list[str] = []
        failures: list[str] = []
        registered: list[tuple[_UdpEndpoint, int]] = []
        start = self._next_server
        self._next_server = (start + 1) % len(self._servers)
        try:
            for attempt in range(self._retries + 1):
                server, where, family = self._targets[(start + attempt) % len(self._servers)]
                tried.append(where)
                pool = state.endpoints.get(family)
                if pool is None:
                    endpoint = await state.endpoint(family)
                else:
                    state.turn += 1
                    endpoint = pool[state.turn % len(pool)]
                pending = _Pending(question.lower(), server)
                fut: asyncio.Future[bytes | None] = state.loop.create_future()
                pending.future = fut
                qid = endpoint.new_id()
                endpoint.pending[qid] = pending
                registered.append((endpoint, qid))
                # Earlier attempts' ids now also resolve this attempt: a late answer counts.
                for other, other_id in registered:
                    held = other.pending.get(other_id)
                    if held is not None:
                        held.future = fut
                wire = HEADER.pack(qid, QUERY_FLAGS, 1, 0, 0, 1) + question + OPT_RR
                error = endpoint.send(wire, server)
                self.stats.sent += 1
                if error is not None:
                    failures.append(f"cannot send to {where}: {error}")
                    continue
                state.deadlines.add(fut)
                data = await fut
                if data is None:
                    continue
                if data[2] & 0x02:  # TC: the answer did not fit, ask again over TCP
                    return await self._tcp(qname, rtype, server)
                return self._parse(qname, rtype, data, where, len(question))
        finally:
            for endpoint, qid in registered:
                endpoint.pending.pop(qid, None)
        tries = len(tried)
        if len(failures) == tries:
            return Answer(qname, rtype, AnswerStatus.SERVFAIL, detail="; ".join(failures))
        return Answer(
            qname,
            rtype,
            AnswerStatus.TIMEOUT,
            detail=(
                f"no answer from {', '.join(dict.fromkeys(tried))} "
                f"({tries} {'try' if tries == 1 else 'tries'} of {self._timeout:g} s)"
            ),
        )

    def _parse(
        self, qname: str, rtype: RType, data: bytes, where: str, question_len: int
    ) -> Answer:
        # datagram_received checked that the response echoes our question.
        fast = read_answer(qname, rtype, data, where, question_len)
        if fast is not None:
            return fast
        from mailauth_tui.services.dnsmsg import classify_wire  # dnspython: the rare path

        return classify_wire(qname, rtype, data, where)

    async def _tcp(self, qname: str, rtype: RType, server: tuple[str, int]) -> Answer:
        from mailauth_tui.services.dnsmsg import tcp_query  # dnspython: the rare path

        self.stats.sent += 1
        self.stats.tcp += 1
        return await tcp_query(qname, rtype, TYPE_CODES[rtype], server, self._timeout)


def _system_nameservers() -> list[tuple[str, int]]:
    """The system's nameservers (/etc/resolv.conf), read when a resolver is made."""
    import dns.resolver  # here: it loads dnspython's DoH/HTTP stack (~0.25 s at import)

    try:
        system = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError) as exc:
        raise ValueError(f"no system nameserver found ({exc}); give --nameserver") from None
    servers = []
    for ns in system.nameservers:
        text = str(ns)
        with contextlib.suppress(ValueError):  # DoH/DoT entries: not for this stub
            servers.append((str(ipaddress.ip_address(text)), int(system.port)))
    if not servers:
        raise ValueError("no system nameserver found; give --nameserver HOST[:PORT]")
    return servers
