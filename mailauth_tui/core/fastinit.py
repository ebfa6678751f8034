"""A quicker constructor for the engine's frozen, slotted dataclasses.

The ``__init__`` that ``dataclasses`` writes for a frozen class sets each field through
``object.__setattr__``: a slot-wrapper call that builds an argument tuple and re-checks the
type's ``__setattr__`` chain, about 0.3 µs per field. The engine makes some twenty such objects
per domain checked (problems, parsed terms, per-record results), so construction alone was
about 5 % of a ``check`` run. :func:`fast_init` swaps in an ``__init__`` with the same signature
that stores each field through its slot's member descriptor instead, about twice as fast. The
class stays the dataclass it was: frozen (assignment still raises), with the same fields,
defaults, ``__post_init__``, equality, hash, ``replace`` and pickling.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["fast_init"]

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass ``cls`` the quicker ``__init__``. Apply it above
    ``@dataclass(frozen=True, slots=True)``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    names: dict[str, Any] = {}
    signature: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.default_factory is not dataclasses.MISSING or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: default_factory / kw_only not supported")
        # The slot's member descriptor, on this class or the dataclass it extends.
        names[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
        if not f.init:
            # As dataclasses does: a default is stored, otherwise __post_init__ sets the field.
            if f.default is not dataclasses.MISSING:
                body.append(f"    _set_{f.name}(self, _default_{f.name})")
            continue
        if f.default is dataclasses.MISSING:
            signature.append(f.name)
        else:
            signature.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(signature)}):\n" + ("\n".join(body) or "    pass")
    exec(source, names)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
