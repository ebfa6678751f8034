"""Making DKIM keys for the registry: dated selectors, settings' key type and size, the
optional passphrase from the environment, generation off the event loop; which retired keys
are gone from DNS."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection, Sequence
from datetime import datetime

from mailauth_tui.core.dns_types import Resolver, RType
from mailauth_tui.registry.errors import InvalidInput, RegistryError
from mailauth_tui.services.keys import KeyStore, make_selector
from mailauth_tui.services.settings import DkimSettings
from mailauth_tui.services.store import KeyRecord


def passphrase(settings: DkimSettings) -> bytes | None:
    env = settings.passphrase_env
    if not env:
        return None
    value = os.environ.get(env)
    if not value:
        raise InvalidInput(
            f"DKIM keys are to be encrypted but the passphrase variable {env} is not set"
        )
    return value.encode("utf-8")


async def make_key(
    keys: KeyStore,
    settings: DkimSettings,
    domain: str,
    taken: Collection[str],
    now: datetime,
    *,
    active: bool,
) -> KeyRecord:
    """A new key under a dated selector not in ``taken``; its private half is in ``keys``."""
    secret = passphrase(settings)
    used = set(taken)
    last = ""
    for _ in range(3):
        selector = make_selector(now, used)
        try:
            # RSA generation is CPU-bound (~0.1 s for 2048 bits, ~1 s for 4096).
            generated = await asyncio.to_thread(
                keys.generate, domain, selector, settings.key_type, settings.key_bits, secret
            )
        except ValueError as exc:
            # Most likely a key file left by an earlier registry of the same name: move on to
            # the next selector of the day. Anything else fails the same way three times.
            used.add(selector)
            last = str(exc)
            continue
        except OSError as exc:
            raise RegistryError(f"cannot write the DKIM key: {exc.strerror or exc}") from None
        return KeyRecord(
            selector=selector,
            key_type=generated.key_type,
            key_bits=generated.key_bits,
            public_key=generated.public_key,
            key_ref=generated.key_ref,
            created_at=now,
            active=active,
        )
    raise InvalidInput(f"cannot make a DKIM key for {domain}: {last}")


def describe(key: KeyRecord) -> str:
    size = f" {key.key_bits} bits" if key.key_bits else ""
    return f"new DKIM key, selector {key.selector} ({key.key_type}{size})"


async def gone_from_dns(
    resolver: Resolver, domain: str, keys: Sequence[KeyRecord]
) -> tuple[KeyRecord, ...]:
    """The keys among ``keys`` whose record DNS no longer has (NXDOMAIN or NODATA at
    ``<selector>._domainkey.<domain>``). A failed look-up proves nothing: that key stays."""
    answers = await asyncio.gather(
        *(resolver.query(f"{k.selector}._domainkey.{domain}", RType.TXT) for k in keys)
    )
    return tuple(k for k, answer in zip(keys, answers, strict=True) if answer.missing)
