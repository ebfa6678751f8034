"""core.fastinit: the quicker constructor behaves as the one dataclasses writes."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
import pkgutil
from dataclasses import dataclass, field
from typing import Any

import pytest

import mailauth_tui.core
from mailauth_tui.core.fastinit import constructor, fast_init


@dataclass(frozen=True, slots=True)
class _Reference:
    """Built by dataclasses alone: the constructor to compare with."""

    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    doubled: int = field(init=False, compare=False, repr=False)
    fixed: str = field(init=False, default="set")

    def __post_init__(self) -> None:
        object.__setattr__(self, "doubled", self.count * 2)


@fast_init
@dataclass(frozen=True, slots=True)
class _Sample(_Reference):
    """The same fields, with the quicker constructor (the slots are _Reference's)."""


@dataclass(frozen=True, slots=True)
class _SmallReference:
    name: str
    count: int = 0


@fast_init
@dataclass(frozen=True, slots=True)
class _Small(_SmallReference):
    """Too few fields for the twin-class swap: stored through the slot descriptors."""


def _is_fast(cls: type) -> bool:
    """The constructor is fast_init's."""
    init = cls.__dict__.get("__init__")
    return init is not None and getattr(init, "fast_init", False)


def _swaps(cls: type) -> bool:
    """fast_init's constructor stores through a twin class (else through slot descriptors)."""
    return "_Twin" in cls.__dict__["__init__"].__code__.co_names


def test_both_ways_of_storing() -> None:
    assert _is_fast(_Small) and not _swaps(_Small)
    assert _is_fast(_Sample) and _swaps(_Sample)
    small = _Small("a", 2)
    assert type(small) is _Small and dataclasses.astuple(small) == ("a", 2)
    assert small == _Small("a", 2) != _SmallReference("a", 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        small.count = 3  # type: ignore[misc]
    # The twin class is only worn inside __init__, and only by the class's own instances.
    assert type(_Sample("a")) is _Sample and isinstance(_Sample("a"), _Reference)

    class Sub(_Sample):
        __slots__ = ()

    sub = Sub("b", 1)
    assert type(sub) is Sub and (sub.name, sub.count, sub.doubled) == ("b", 1, 2)


def test_same_values_as_the_generated_init() -> None:
    assert _is_fast(_Sample) and not _is_fast(_Reference)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (("a",), {}),
        (("a", 3), {}),
        (("a",), {"tags": ("x",)}),
        ((), {"name": "b", "count": 2}),
    ]
    for args, kwargs in calls:
        fast, ref = _Sample(*args, **kwargs), _Reference(*args, **kwargs)
        assert dataclasses.astuple(fast) == dataclasses.astuple(ref)
        assert fast.doubled == ref.doubled and fast.fixed == ref.fixed == "set"
    assert repr(_Sample("a", 1)) == "_Sample(name='a', count=1, tags=(), fixed='set')"


def test_same_argument_errors() -> None:
    with pytest.raises(TypeError):
        _Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _Sample("a", nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _Sample("a", 1, (), 4)  # type: ignore[call-arg]


def test_still_frozen_and_a_dataclass() -> None:
    sample = _Sample("a", 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.name = "b"  # type: ignore[misc]
    assert sample == _Sample("a", 2) and hash(sample) == hash(_Sample("a", 2))
    changed = dataclasses.replace(sample, count=5)
    assert changed.count == 5 and changed.doubled == 10
    assert pickle.loads(pickle.dumps(sample)) == sample


def test_the_constructor_function_builds_what_the_class_builds() -> None:
    for cls, args, kwargs in (
        (_Sample, ("a",), {}),
        (_Sample, ("a", 3), {"tags": ("x",)}),
        (_Small, ("b",), {"count": 4}),
    ):
        new = constructor(cls)
        made, called = new(*args, **kwargs), cls(*args, **kwargs)
        assert type(made) is cls and made == called and hash(made) == hash(called)
        assert dataclasses.astuple(made) == dataclasses.astuple(called)
        assert repr(made) == repr(called)
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.name = "z"  # type: ignore[misc]
    assert constructor(_Sample)("a", 3).doubled == 6  # __post_init__ ran
    with pytest.raises(TypeError):
        constructor(_Sample)()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        constructor(_Reference)


def test_refuses_what_it_cannot_speed_up() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    for cls in (Mutable, NoSlots, Factory):
        with pytest.raises(TypeError):
            fast_init(cls)


def _engine_classes() -> list[type]:
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(mailauth_tui.core.__path__):
        module = importlib.import_module(f"mailauth_tui.core.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and dataclasses.is_dataclass(obj)
                and obj.__init__.__module__ == obj.__module__
                and _is_fast(obj)
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def test_engine_classes_keep_their_signatures() -> None:
    classes = _engine_classes()
    assert len(classes) >= 15  # the hot result and record types
    for cls in classes:
        expected = [
            (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
            for f in dataclasses.fields(cls)
            if f.init
        ]
        for build in (cls, constructor(cls)):
            params = list(inspect.signature(build).parameters.values())
            assert [(p.name, p.default) for p in params] == expected, build
