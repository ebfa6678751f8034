import pytest

from tests.fixtures.bind import *  # noqa: F403
from tests.fixtures.dns import *  # noqa: F403
from tests.fixtures.postgres import *  # noqa: F403
from tests.fixtures.registry import *  # noqa: F403
from tests.fixtures.smtp import *  # noqa: F403
from tests.fixtures.ui import *  # noqa: F403
from tests.fixtures.ui_modals import *  # noqa: F403


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: looks into the SQLite file itself: no PostgreSQL variant"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the PostgreSQL variant of a registry test that is about SQLite's file."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("backend") == "postgresql"
        (dropped if on_pg and item.get_closest_marker("sqlite_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
