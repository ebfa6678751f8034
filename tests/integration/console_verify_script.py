"""The console's verify key (v on the main table) against the real BIND pair: run by
tests/integration/test_publish_bind.py inside the servers' network namespace (a Textual app
cannot join it from the test process). Prints one JSON line: what the result screen showed."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from textual.widgets import Static

from mailauth_tui.cli.wiring import build_registry
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.verify_result import VerifyResultScreen


async def main(db: str, config: str, nameservers: list[str]) -> dict[str, Any]:
    args = argparse.Namespace(db=Path(db), config=Path(config), nameserver=nameservers, timeout=1.0)
    registry = build_registry(args)
    app = MailauthApp(registry)
    seen: dict[str, Any] = {}
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("v")
            for _ in range(400):  # the check, then the nameservers asked: the result opens
                await pilot.pause(0.05)
                if isinstance(app.screen, VerifyResultScreen):
                    break
            screen = app.screen
            seen["screen"] = type(screen).__name__
            seen["overall"] = str(screen.query_one("#overall", Static).content)
            where = screen.query("#where-published")
            seen["where"] = str(where.first(Static).content) if where else None
    finally:
        registry.close()
    return seen


if __name__ == "__main__":
    db, config, *nameservers = sys.argv[1:]
    print(json.dumps(asyncio.run(main(db, config, nameservers))))
