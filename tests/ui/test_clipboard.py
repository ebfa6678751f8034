"""ui/clipboard.py: OSC 52 always, pyperclip when a local clipboard exists, never an error."""

from __future__ import annotations

import pyperclip
import pytest
from textual.app import App

from mailauth_tui.ui import clipboard
from mailauth_tui.ui.clipboard import copy_local, copy_text

VALUE = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


@pytest.fixture
def local_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.delenv("SSH_TTY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")


def _fail(exc: BaseException):  # type: ignore[no-untyped-def]
    def copy(text: str) -> None:
        raise exc

    return copy


async def test_osc52_sets_app_clipboard_when_pyperclip_has_no_clipboard(
    local_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pyperclip, "copy", _fail(pyperclip.PyperclipException("no xclip")))
    app: App[None] = App()
    async with app.run_test():
        message = copy_text(app, VALUE, "DKIM value")
    assert app.clipboard == VALUE
    assert message == f"Copied DKIM value ({len(VALUE)} characters) through the terminal (OSC 52)"


async def test_local_clipboard_gets_the_same_text(
    local_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", copied.append)
    app: App[None] = App()
    async with app.run_test():
        message = copy_text(app, VALUE, "DKIM value")
    assert copied == [VALUE]
    assert app.clipboard == VALUE
    assert message == f"Copied DKIM value ({len(VALUE)} characters) to the clipboard"


@pytest.mark.parametrize("error", [pyperclip.PyperclipException("x"), OSError("no display")])
def test_pyperclip_failure_is_not_an_error(
    local_session: None, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    monkeypatch.setattr(pyperclip, "copy", _fail(error))
    assert copy_local(VALUE) is False


def test_over_ssh_without_display_the_server_clipboard_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.1 50000 192.0.2.2 22")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    copied: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", copied.append)
    assert copy_local(VALUE) is False
    assert copied == []
    assert clipboard._local_clipboard_reachable() is False
