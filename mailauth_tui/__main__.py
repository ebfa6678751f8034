"""Console script entry point: ``mailauth-tui``."""

from __future__ import annotations

import sys

from mailauth_tui.cli.main import main as _main


def main() -> None:
    sys.exit(_main())


if __name__ == "__main__":
    main()
