"""Quick reads of enum members in the engine's hot paths.

On Python 3.11 ``EnumType`` defines ``__getattr__``, which puts every attribute read on an enum
class (``Status.VALID``) through CPython's slow attribute hook: about 0.12 µs, nearly five times
a plain class attribute. The engine reads some seventy members per domain checked (``kind is
MechanismKind.ALL``, ``Status.VALID``...), about 6 % of its instructions. :func:`members` returns
a plain class holding the same members, for the modules that read them often:
``_Kind = members(MechanismKind)`` then ``_Kind.ALL`` is the member itself, read at the normal
speed. (Python 3.12 dropped ``EnumType.__getattr__``; there this changes nothing.)
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar, cast

__all__ = ["members"]

E = TypeVar("E", bound=Enum)


def members(enum_cls: type[E]) -> type[E]:
    """A plain class whose attributes are ``enum_cls``'s members, typed as the enum class so
    that type checkers see ``_Kind.ALL`` as ``MechanismKind.ALL``. Only for reading members:
    iterate, call or ``isinstance`` against the enum class itself."""
    holder = type(f"{enum_cls.__name__}Members", (), dict(enum_cls.__members__))
    return cast("type[E]", holder)
