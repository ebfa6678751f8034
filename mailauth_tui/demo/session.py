"""Everything ``--demo`` runs on: an in-process loopback DNS server over the sample zone, a
temporary registry, key directory and Maildir, settings that accept ``.example`` addresses,
and the seeded sample domains. ``close()`` stops the server and removes the directory."""

from __future__ import annotations

import mailbox
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mailauth_tui.demo.hooks import ZoneDemo, read_maildir
from mailauth_tui.demo.samples import (
    BASE_ZONE,
    ESP_INCLUDE,
    PENDING_ADDRESS,
    SYSTEM_SENDER,
    seed,
)
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.dns import DnsResolver
from mailauth_tui.services.keys import FileKeyStore, KeyStore
from mailauth_tui.services.mailer import MaildirMailer, Mailer
from mailauth_tui.services.settings import DkimSettings, SendingSettings, Settings
from mailauth_tui.services.store import Store

Clock = Callable[[], datetime]


def _real_now() -> datetime:
    return datetime.now(UTC)


def demo_settings(directory: Path) -> Settings:
    return Settings(
        system_sender=SYSTEM_SENDER,
        organisation="Demo Ltd",
        sending=SendingSettings(include=ESP_INCLUDE),
        # Ed25519 keys: made at once, and their records are short enough to read at 80 columns.
        dkim=DkimSettings(key_type="ed25519", key_bits=256),
        test_environment=True,
        data_dir=directory,
    )


@dataclass
class DemoSession:
    directory: Path
    zone: Zone
    server: ZoneServer
    resolver: DnsResolver
    settings: Settings
    store: Store
    registry: Registry
    hooks: ZoneDemo
    clock: Clock
    _owns_directory: bool = field(default=True, repr=False)

    def close(self) -> None:
        self.resolver.close()
        self.server.stop()
        self.store.close()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def _keep_only_pending_mail(maildir: Path) -> None:
    """Seeding mailed a code per sample; the outbox keeps the one still worth entering."""
    if not maildir.is_dir():
        return
    box = mailbox.Maildir(maildir, factory=None, create=False)
    try:
        for key in list(box.keys()):
            message = box.get_message(key)
            if PENDING_ADDRESS.split("@")[1] not in str(message.get("To", "")):
                box.remove(key)
    finally:
        box.close()


async def open_demo(
    *,
    actor: str,
    clock: Clock = _real_now,
    keys: KeyStore | None = None,
    directory: Path | None = None,
    with_samples: bool = True,
    delay: float = 0.0,
) -> DemoSession:
    """Start the demo world. ``clock``, ``keys`` and ``directory`` let tests make it
    deterministic; ``delay`` slows every DNS answer (seconds) to show live workers."""
    owns = directory is None
    root = Path(tempfile.mkdtemp(prefix="mailauth-demo-")) if directory is None else directory
    zone = Zone.from_text(BASE_ZONE)
    server = ZoneServer(zone, "127.0.0.1", 0).start()
    resolver = DnsResolver([server.address], timeout=1.0, retries=1)
    settings = demo_settings(root)
    store = Store(settings.db)
    key_store: KeyStore = keys if keys is not None else FileKeyStore(settings.keys_dir)
    maildir = MaildirMailer(settings.maildir)

    def make(registry_clock: Clock, mailer: Mailer) -> Registry:
        return Registry(
            store, settings, mailer, key_store, resolver, clock=registry_clock, actor=actor
        )

    try:
        make(clock, maildir).init()  # whoever runs the demo is its registry's first admin
        if with_samples:
            await seed(make, clock, maildir, zone)
            _keep_only_pending_mail(settings.maildir)
        server.delay = delay
    except BaseException:
        resolver.close()
        server.stop()
        store.close()
        if owns:
            shutil.rmtree(root, ignore_errors=True)
        raise
    return DemoSession(
        directory=root,
        zone=zone,
        server=server,
        resolver=resolver,
        settings=settings,
        store=store,
        registry=make(clock, maildir),
        hooks=ZoneDemo(zone, settings.maildir),
        clock=clock,
        _owns_directory=owns,
    )


__all__ = ["DemoSession", "demo_settings", "open_demo", "read_maildir"]
