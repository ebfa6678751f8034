"""Where the TCSS files live: inside the installed package, or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

import mailauth_tui

_PACKAGE_DIR = Path(mailauth_tui.__file__).resolve().parent


def styles_dir() -> Path:
    """The directory holding ``app.tcss`` and the screens' stylesheets.

    The wheel ships ``styles/`` as ``mailauth_tui/styles`` (pyproject force-include); an
    editable install or a source checkout keeps it at the repository's top level.
    """
    packaged = _PACKAGE_DIR / "styles"
    if packaged.is_dir():
        return packaged
    return _PACKAGE_DIR.parent / "styles"
