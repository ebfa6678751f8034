"""A failed call as one line for the user.

A RegistryError's text is that line, and so is a StoreError's (a registry that cannot be read,
"registry damaged: ..."); anything else is a bug, logged with its traceback (never
drawn on screen) and summarised as "internal error: ...".
"""

from __future__ import annotations

import logging

from mailauth_tui.registry.errors import RegistryError, StoreError

log = logging.getLogger(__name__)


def failure_text(error: BaseException | None) -> str:
    """The line to show for a failed registry call or DNS worker."""
    if isinstance(error, RegistryError | StoreError):
        return str(error)
    log.error("internal error in a console worker", exc_info=error)
    kind = type(error).__name__ if error is not None else "unknown"
    return f"internal error: {kind}: {error} (details in the log)"
