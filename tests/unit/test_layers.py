"""Import hygiene: the layers point one way, and the record engine never loads Textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "mailauth_tui"

# package -> the first-party packages it may import
ALLOWED = {
    "core": {"core"},
    "services": {"core", "services"},
    "registry": {"core", "services", "registry"},
    "cli": {"core", "services", "registry", "cli", "ui", "demo"},
    "ui": {"core", "services", "registry", "ui"},
    # Demo mode implements the ui's DemoHooks Protocol structurally, without importing the ui.
    "demo": {"core", "services", "registry", "demo"},
}
FORBIDDEN_THIRD_PARTY = {
    "core": {"textual", "rich", "sqlite3", "dns", "aiosmtplib", "smtplib", "socket", "dnslib"},
    "services": {"textual"},
    "registry": {"textual", "dns", "sqlite3", "aiosmtplib", "dnslib"},
    "demo": {"textual"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layers_import_one_way() -> None:
    bad: list[str] = []
    for layer, allowed in ALLOWED.items():
        for path in (PKG / layer).rglob("*.py"):
            for name in _imports(path):
                parts = name.split(".")
                if parts[0] == "mailauth_tui" and len(parts) > 1 and parts[1] in ALLOWED:
                    if parts[1] not in allowed:
                        bad.append(f"{path.relative_to(PKG)} imports {name}")
                elif parts[0] in FORBIDDEN_THIRD_PARTY.get(layer, set()):
                    bad.append(f"{path.relative_to(PKG)} imports {name}")
    assert not bad, "layering violations:\n" + "\n".join(bad)


def test_record_engine_does_not_load_textual() -> None:
    code = (
        "import sys, pkgutil, importlib, mailauth_tui.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'mailauth_tui.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "import mailauth_tui.services.dns\n"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
