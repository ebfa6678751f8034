"""A quicker constructor for the engine's frozen, slotted dataclasses.

The ``__init__`` that ``dataclasses`` writes for a frozen class sets each field through
``object.__setattr__``: a slot-wrapper call that builds an argument tuple and re-checks the
type's ``__setattr__`` chain, about 0.3 µs per field. The engine makes some twenty such objects
per domain checked (problems, parsed terms, per-record results), so construction alone was
about 5 % of a ``check`` run. :func:`fast_init` swaps in an ``__init__`` with the same signature
that stores the fields more directly:

* a class with a few fields stores each through its slot's member descriptor (a call, but no
  ``__setattr__`` chain): about twice as fast;
* a class with more gives the new object, for the length of ``__init__``, a twin class with the
  same slots and the plain ``object.__setattr__``: each field is then a plain attribute store,
  the interpreter's quickest (~150 instructions against ~690 through the descriptor), for a
  fixed cost of two ``__class__`` assignments (about two descriptor stores). Eight fields then
  cost 5,000 instructions instead of 7,400, and ``__post_init__`` runs with the real class back
  in place.

The class stays the dataclass it was: frozen (assignment still raises), with the same fields,
defaults, ``__post_init__``, equality, hash, ``replace`` and pickling.

Calling the class costs more than its ``__init__``: CPython 3.11 packs the arguments into a
tuple, and keywords into a dict, for ``type.__call__``, which unpacks them again for
``__init__``. :func:`constructor` gives the function that fast_init also writes for each
class, with the class's signature (the type checker sees exactly that), which builds the
object as its twin and assigns the class once: no packing, and keywords passed as cheaply
as to any function. The engine's hot paths build their objects with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

__all__ = ["constructor", "fast_init"]

T = TypeVar("T")
P = ParamSpec("P")

_CONSTRUCTORS: dict[object, Callable[..., object]] = {}


# From this many stored fields on, the twin-class swap is cheaper than descriptor stores.
_SWAP_FROM = 4


def fast_init(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass ``cls`` the quicker ``__init__``. Apply it above
    ``@dataclass(frozen=True, slots=True)``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    names: dict[str, Any] = {}
    signature: list[str] = []
    stores: list[tuple[str, str]] = []  # (field, the expression stored in it)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.default_factory is not dataclasses.MISSING or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: default_factory / kw_only not supported")
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
        if not f.init:
            # As dataclasses does: a default is stored, otherwise __post_init__ sets the field.
            if f.default is not dataclasses.MISSING:
                stores.append((f.name, f"_default_{f.name}"))
            continue
        if f.default is dataclasses.MISSING:
            signature.append(f.name)
        else:
            signature.append(f"{f.name}=_default_{f.name}")
        stores.append((f.name, f.name))
    setters: list[str] = []
    for name, value in stores:
        # The slot's member descriptor, on this class or the dataclass it extends.
        names[f"_set_{name}"] = getattr(cls, name).__set__
        setters.append(f"_set_{name}(self, {value})")
    # Same base and same slots: what ``__class__`` assignment asks of the two classes.
    names["_Twin"] = type(
        cls.__name__,
        cls.__bases__,
        {"__slots__": cls.__dict__["__slots__"], "__setattr__": object.__setattr__},
    )
    names["_Class"] = cls
    names["_type_of"] = type  # a field may be called "type"
    names["_set_class"] = object.__dict__["__class__"].__set__
    names["_new"] = object.__new__
    if len(stores) < _SWAP_FROM:
        body = [f"    {line}" for line in setters]
    else:
        body = [
            # An instance of a subclass that kept this __init__ must stay of its own class.
            "    if _type_of(self) is _Class:",
            "        _set_class(self, _Twin)",
            *(f"        self.{name} = {value}" for name, value in stores),
            "        self.__class__ = _Class",
            "    else:",
            *(f"        {line}" for line in setters),
        ]
    # The constructor function: made as the twin from the start, so one __class__ assignment.
    made = [
        "    self = _new(_Twin)",
        *(f"    self.{name} = {value}" for name, value in stores),
        "    self.__class__ = _Class",
    ]
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
        made.append("    self.__post_init__()")
    params = ", ".join(signature)
    source = (
        f"def __init__(self, {params}):\n" + ("\n".join(body) or "    pass") + "\n\n"
        "def new(" + params + "):\n" + "\n".join(made) + "\n    return self\n"
    )
    exec(source, names)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.fast_init = True  # what the tests look for
    cls.__init__ = init  # type: ignore[method-assign]
    new = names["new"]
    new.__qualname__ = new.__name__ = f"new_{cls.__name__}"
    new.__module__ = cls.__module__
    _CONSTRUCTORS[cls] = new
    return cls


def constructor(cls: Callable[P, T]) -> Callable[P, T]:
    """A function that builds ``cls`` (a :func:`fast_init` class) with the class's own signature,
    without the class call: in CPython 3.11 calling a class packs the arguments into a tuple,
    and keywords into a dict, for ``type.__call__``, which unpacks them again for ``__init__``
    (about a quarter of building a four-field object, and ~500 instructions per keyword more).
    For the engine's hot paths, bound once per module: ``new_problem = constructor(Problem)``."""
    try:
        return cast("Callable[P, T]", _CONSTRUCTORS[cls])
    except KeyError:
        raise TypeError(f"{cls!r} is not a fast_init class") from None
