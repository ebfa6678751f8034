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
    # The console reaches DNS, the store and the mailer only through the registry.
    "ui": {"core", "registry", "ui"},
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


def _module(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle in ``graph`` (one path per cycle found by a depth-first search)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycles_inside_a_package() -> None:
    # Imports made only for annotations (under TYPE_CHECKING) count too: a circle of types is
    # a sign that the shared ones belong in a module of their own.
    graph: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        name = _module(path)
        graph[name] = {
            imported
            for imported in _imports(path)
            if imported.startswith("mailauth_tui.") and imported != name
        }
    modules = set(graph)
    for name, edges in graph.items():
        # "from mailauth_tui.core import x" names the package; keep edges to modules only.
        graph[name] = {
            e
            for e in edges
            if e in modules and not (PKG / "/".join(e.split(".")[1:]) / "__init__.py").exists()
        }
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


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
