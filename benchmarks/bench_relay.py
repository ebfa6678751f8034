"""The signing relay end to end: SMTP in, a registry decision, DKIM-signed, SMTP out to a
loopback aiosmtpd sink. Also dkimpy's bare signing rate (Ed25519, RSA-2048) in the same run,
and the registry decision alone (the row read per message).

    python -m benchmarks.bench_relay [--messages 600] [--clients 8]

Targets (issue 20): relay >= 500 messages/s with Ed25519 keys; with RSA-2048 keys >= 80 % of
dkimpy's bare RSA-2048 signing rate; the registry decision < 1 ms per message.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import multiprocessing
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

from mailauth_tui.registry.relay_policy import RelayPolicy
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.dkim_sign import load_signing_key
from mailauth_tui.services.keys import FileKeyStore
from mailauth_tui.services.mailer import MaildirMailer
from mailauth_tui.services.relay_server import RelayConfig, Upstream, make_controller
from mailauth_tui.services.settings import Settings
from mailauth_tui.services.store import KeyRecord, Store

DOMAIN = "bench.example.com"
LOGIN = "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def _message(i: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"news@{DOMAIN}"
    msg["To"] = "someone@elsewhere.example"
    msg["Subject"] = f"message {i}"
    msg["Message-ID"] = f"<bench{i}@{DOMAIN}>"
    msg.set_content("A short body.\n" * 20)
    return msg.as_bytes()


def _registry(root: Path, key_type: str) -> Registry:
    settings = Settings(
        system_sender=f"noreply@{DOMAIN}", data_dir=root, db_path=root / "registry.sqlite3"
    )
    store = Store(settings.db, create=True)
    keys = FileKeyStore(settings.keys_dir)
    gen = keys.generate(DOMAIN, "bench", key_type, 2048)
    now = datetime.now(UTC)
    with store.transaction() as tx:
        tx.add_admin(LOGIN, LOGIN, now)
        tx.insert_domain(
            domain=DOMAIN,
            domain_unicode=DOMAIN,
            address=f"admin@{DOMAIN}",
            added_by=LOGIN,
            added_at=now,
            ownership="verified",
        )
        key = KeyRecord("bench", gen.key_type, gen.key_bits, gen.public_key, gen.key_ref, now, True)
        tx.add_key(DOMAIN, key)
        tx.update_domain(DOMAIN, {"dkim_state": "verified", "dmarc_state": "configured"})
    return Registry(store, settings, MaildirMailer(root / "outbox"), keys, _NoDns(), actor=LOGIN)


class _NoDns:
    async def query(self, name: str, rtype: Any) -> Any:
        raise AssertionError("the relay does not look DNS up")


def bare_sign_rate(registry: Registry, n: int) -> float:
    row = registry.get(DOMAIN)
    key = row.active_key
    assert key is not None
    signer = load_signing_key(DOMAIN, key.selector, registry.private_key_pem(key))
    raw = _message(0)
    start = time.process_time()  # CPU time: other work on the machine does not count
    for _ in range(n):
        signer.sign(raw)
    return n / (time.process_time() - start)


def decision_ms(registry: Registry, n: int = 2000) -> float:
    start = time.perf_counter()
    for _ in range(n):
        registry.get(DOMAIN)
    return (time.perf_counter() - start) / n * 1000


def _sink_process(port: int, ready: Any, stop: Any, count: Any) -> None:
    """The upstream: an aiosmtpd sink in its own process, so it takes no CPU from the relay's
    interpreter (the GIL would otherwise be shared by all three parts)."""
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    count.value = sink.count


async def _clients(
    port: int, bodies: list[bytes], clients: int, warm: Any = None, go: Any = None
) -> float:
    """Each client connects and sends one warm-up message (the relay's first message with a
    key loads it: ~0.1 s for RSA-2048, once per key in a relay that runs for days); then
    ``warm`` is set and, once ``go`` is, the timed messages follow."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    sessions = [
        aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60) for _ in range(clients)
    ]
    for i, smtp in enumerate(sessions):
        await smtp.connect()
        await smtp.sendmail(f"news@{DOMAIN}", ["someone@elsewhere.example"], _message(-1 - i))
    if warm is not None:
        warm.set()
        await asyncio.to_thread(go.wait)

    async def client(smtp: aiosmtplib.SMTP) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            await smtp.sendmail(f"news@{DOMAIN}", ["someone@elsewhere.example"], body)
        await smtp.quit()

    start = time.perf_counter()
    await asyncio.gather(*(client(smtp) for smtp in sessions))
    return time.perf_counter() - start


def _client_process(port: int, messages: int, clients: int, out: Any, warm: Any, go: Any) -> None:
    bodies = [_message(i) for i in range(messages)]
    out.value = asyncio.run(_clients(port, bodies, clients, warm, go))


def relay_rate(registry: Registry, messages: int, clients: int) -> tuple[float, float]:
    """Messages per second through the relay: clients (one process) -> relay (this one) ->
    sink (a third); the relay's threads are the only Python work in this process. Returns
    (per wall-clock second, per CPU second of this process): on a shared machine the second
    is what the relay itself costs."""
    ctx = multiprocessing.get_context("spawn")
    sink_port, port = _free_port(), _free_port()
    ready, stop, count = ctx.Event(), ctx.Event(), ctx.Value("i", 0)
    sink = ctx.Process(target=_sink_process, args=(sink_port, ready, stop, count))
    sink.start()
    if not ready.wait(30):
        raise RuntimeError("the sink did not start")
    config = RelayConfig(
        "127.0.0.1",
        port,
        (ipaddress.ip_network("127.0.0.0/8"),),
        Upstream("127.0.0.1", sink_port, tls="none"),
    )
    relay = make_controller(config, RelayPolicy(registry).decide)
    relay.start()
    elapsed = ctx.Value("d", 0.0)
    warm, go = ctx.Event(), ctx.Event()
    try:
        client = ctx.Process(
            target=_client_process, args=(port, messages, clients, elapsed, warm, go)
        )
        client.start()
        if not warm.wait(120):
            raise RuntimeError("the warm-up messages did not go through")
        cpu = time.process_time()
        go.set()
        client.join(600)
        cpu = time.process_time() - cpu
    finally:
        relay.stop()
        stop.set()
        sink.join(30)
    if count.value != messages + clients:
        raise RuntimeError(f"the sink got {count.value} of {messages + clients} messages")
    return messages / float(elapsed.value), messages / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for key_type in ("ed25519", "rsa"):
        rates, cpu_rates, bare, decisions = [], [], [], []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                registry = _registry(Path(tmp), key_type)
                try:
                    n = args.messages if key_type == "ed25519" else max(50, args.messages // 2)
                    bare.append(bare_sign_rate(registry, n))
                    decisions.append(decision_ms(registry))
                    wall, cpu = relay_rate(registry, n, args.clients)
                    rates.append(wall)
                    cpu_rates.append(cpu)
                finally:
                    registry.close()
        relay = statistics.median(rates)
        relay_cpu = statistics.median(cpu_rates)
        sign = statistics.median(bare)
        # What a message costs the relay besides its signature, in CPU milliseconds.
        beyond = 1000 / relay_cpu - 1000 / sign
        print(
            f"{key_type:8} relay {relay:5.0f} msg/s wall, {relay_cpu:5.0f} msg per CPU-s   "
            f"dkimpy bare {sign:5.0f} msg per CPU-s   relay/bare {relay_cpu / sign:4.0%}   "
            f"beyond signing {beyond:.2f} ms   "
            f"registry decision {statistics.median(decisions):.3f} ms   (median of {args.runs})"
        )


if __name__ == "__main__":
    main()
