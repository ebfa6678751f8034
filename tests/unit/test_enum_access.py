"""core.enum_access: the plain holder gives back the very enum members."""

from __future__ import annotations

import importlib
import pkgutil
from enum import Enum

import mailauth_tui.core
from mailauth_tui.core.enum_access import members
from mailauth_tui.core.results import Status


def test_members_are_the_enum_members() -> None:
    holder = members(Status)
    for name, member in Status.__members__.items():
        assert getattr(holder, name) is member
    assert holder.VALID is Status.VALID and str(holder.VALID) == "valid"


def test_every_engine_alias_matches_its_enum() -> None:
    checked = 0
    for info in pkgutil.iter_modules(mailauth_tui.core.__path__):
        module = importlib.import_module(f"mailauth_tui.core.{info.name}")
        for name, value in vars(module).items():
            enum_cls = vars(module).get(name[1:]) if name.startswith("_") else None
            if (
                isinstance(value, type)
                and isinstance(enum_cls, type)
                and issubclass(enum_cls, Enum)
            ):
                if value is enum_cls:
                    continue
                assert dict(enum_cls.__members__) == {
                    k: getattr(value, k) for k in enum_cls.__members__
                }, f"{module.__name__}.{name}"
                checked += 1
    assert checked >= 20
