"""The console's publish key (p on the records screen) against the real BIND pair: run by
tests/integration/test_publish_bind.py inside the servers' network namespace (a Textual app
cannot join it from the test process). Prints one JSON line: what the screen showed."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from textual.app import App

from mailauth_tui.cli.wiring import build_registry
from mailauth_tui.registry.models import VerifyOutcome
from mailauth_tui.ui.screens.records import RecordsScreen
from mailauth_tui.ui.widgets.propagation_badges import PropagationBadges


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.results: list[Any] = []


async def main(db: str, config: str, nameservers: list[str], domain: str) -> dict[str, Any]:
    args = argparse.Namespace(db=Path(db), config=Path(config), nameserver=nameservers, timeout=1.0)
    registry = build_registry(args)
    app = Host()
    seen: dict[str, Any] = {}
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            app.push_screen(RecordsScreen(registry, domain), app.results.append)
            for _ in range(100):  # the records and the first badges round
                await pilot.pause(0.05)
                badges = app.screen.query(PropagationBadges)
                if badges and badges.first().report is not None:
                    break
            screen = app.screen
            seen["before"] = str(screen.query_one(PropagationBadges).content)
            seen["publish_offered"] = screen.check_action("publish", ())
            await pilot.press("p")
            for _ in range(400):  # publish, follow, verify: the screen closes with the outcome
                await pilot.pause(0.05)
                if app.results:
                    break
            outcome = app.results[0] if app.results else None
            seen["verified"] = isinstance(outcome, VerifyOutcome) and outcome.domain.verified
    finally:
        registry.close()
    return seen


if __name__ == "__main__":
    db, config, *rest = sys.argv[1:]
    print(json.dumps(asyncio.run(main(db, config, rest[:-1], rest[-1]))))
