"""Copying a DNS record to the user's clipboard, over SSH as well as on a desktop.

Two routes, both tried: OSC 52 through the terminal (``App.copy_to_clipboard``), which reaches
the clipboard of the machine the user sits at even through SSH and tmux
(``set -g set-clipboard on``); and pyperclip, for a local desktop session where a clipboard
tool exists. pyperclip failing only means there is no local clipboard: not an error.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pyperclip
from textual.app import App

log = logging.getLogger(__name__)


def _local_clipboard_reachable() -> bool:
    # Over SSH without X forwarding pyperclip would write the *server's* clipboard (or fail
    # slowly probing for one); OSC 52 is the route that reaches the user there.
    over_ssh = bool(os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"))
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return has_display or not over_ssh


def copy_local(text: str) -> bool:
    """Copy with pyperclip; False when there is no local clipboard to copy to."""
    if not _local_clipboard_reachable():
        return False
    try:
        pyperclip.copy(text)
    except (pyperclip.PyperclipException, OSError) as exc:
        # No xclip/xsel/wl-copy, or it could not reach a display: expected on servers.
        log.debug("no local clipboard: %s", exc)
        return False
    return True


def copy_text(app: App[Any], text: str, what: str = "text") -> str:
    """Copy ``text`` by every route available; return the line to show in a notification."""
    app.copy_to_clipboard(text)
    size = f"{len(text)} characters"
    if copy_local(text):
        return f"Copied {what} ({size}) to the clipboard"
    return f"Copied {what} ({size}) through the terminal (OSC 52)"
