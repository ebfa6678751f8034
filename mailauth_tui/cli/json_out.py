"""The registry's results as JSON: the generic conversion every ``--json`` uses, and the fast
one ``recheck --json`` writes a line per domain with (the same bytes, a third of the time).

A re-check of many domains spent about a tenth of its time here: the generic walk asks
``is_dataclass``/``isinstance`` of every value, and the evidence (~3 KB of a ~5 KB item) that
``transitions.assess`` had just encoded was parsed, its notes built, and encoded again. The
fast path lets json's C encoder walk the outcome (calling :func:`_plain` only for what it does
not know: dataclasses, times) and splices the evidence's text in as ``assess`` wrote it.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from mailauth_tui.registry.evidence import read_evidence, written_ascii
from mailauth_tui.registry.models import DomainRow, VerifyOutcome


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums and times as JSON values. Evidence (a JSON string) is inlined."""
    if value is None or isinstance(value, str | int | float):  # the most of them: done
        return value
    if is_dataclass(value) and not isinstance(value, type):
        out = {name: to_jsonable(getattr(value, name)) for name in _field_names(type(value))}
        if isinstance(value, DomainRow):
            out["verified"] = value.verified
            evidence = value.last_check
            if evidence.is_json or not value.evidence:  # not JSON: the string it is
                out["evidence"] = evidence.data
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def _outcome_rest(outcome: VerifyOutcome) -> dict[str, Any]:
    """An outcome's JSON but its "domain", before conversion (verdicts are dataclasses)."""
    dmarc = outcome.report.dmarc
    return {
        "dmarc": {
            "effective_policy": dmarc.effective_policy,
            "source_domain": dmarc.source_domain,
            "policy": dmarc.policy,
            "subdomain_policy": dmarc.subdomain_policy,
        },
        "verdicts": outcome.verdicts,
        "transitions": list(outcome.transitions),
        "dry_run": outcome.dry_run,
        "propagation": outcome.propagation,
        "selftests": [t.as_json() for t in outcome.selftests],
    }


def outcome_json(outcome: VerifyOutcome) -> dict[str, Any]:
    """A verify or re-check outcome as JSON values (``verify --json``, ``publish --json``)."""
    rest: dict[str, Any] = to_jsonable(_outcome_rest(outcome))
    return {"domain": to_jsonable(outcome.domain), **rest}


class _Converters(dict[type, Callable[[Any], object]]):
    """A converter for each type json's encoder does not know, made at its first value:
    asking is_dataclass/isinstance of every value took the most of the generic walk."""

    def __missing__(self, kind: type) -> Callable[[Any], object]:
        convert = self[kind] = _converter(kind)
        return convert


def _converter(kind: type) -> Callable[[Any], object]:
    if issubclass(kind, datetime):
        return _utc_iso
    if issubclass(kind, DomainRow):  # evidence inlined: the generic way (not met below)
        return to_jsonable
    if is_dataclass(kind):
        return _fields_to_dict(_field_names(kind))
    if issubclass(kind, Enum):
        return operator.attrgetter("value")
    raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")


def _fields_to_dict(names: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """``lambda v: {"a": v.a, "b": v.b, ...}`` for these field names, compiled (as dataclasses
    makes __init__): four times faster than building the dict from zip() or getattr()."""
    items = ", ".join(f"{name!r}: v.{name}" for name in names)  # names are identifiers
    scope: dict[str, Any] = {}
    exec(f"def to_dict(v):\n    return {{{items}}}", scope)
    convert: Callable[[Any], dict[str, Any]] = scope["to_dict"]
    return convert


_converters = _Converters()


def _plain(value: object) -> object:
    """What json's encoder does not know, as :func:`to_jsonable` makes it. Enums of str (all
    of ours), tuples and numbers it encodes itself, as to_jsonable leaves them."""
    return _converters[type(value)](value)


# The few times of a re-check (its start, the next check, keys' dates) recur in every
# outcome: isoformat() was the dearest call of the conversion.
_iso_cache: dict[datetime, str] = {}


def _utc_iso(value: datetime) -> str:
    if value.tzinfo is not UTC:  # naive (local) or another zone: not worth remembering
        return value.astimezone(UTC).isoformat()
    text = _iso_cache.get(value)
    if text is None:
        if len(_iso_cache) >= 4096:
            _iso_cache.clear()
        text = _iso_cache[value] = value.isoformat()
    return text


# ensure_ascii: every control character and every non-ASCII one comes out as \uXXXX, so
# nothing from DNS reaches a terminal raw. No cycle check: frozen dataclasses hold none.
_ENCODER = json.JSONEncoder(ensure_ascii=True, check_circular=False, default=_plain)


@functools.cache
def _row_split() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """DomainRow's fields before "evidence", and after it."""
    names = _field_names(DomainRow)
    at = names.index("evidence")
    return names[:at], names[at + 1 :]


def _evidence_text(raw: str) -> str:
    """The row's evidence as to_jsonable shows it, encoded: its JSON inlined, text that is not
    JSON as a string, none as null."""
    text = written_ascii(raw)
    if text is not None:
        return text
    evidence = read_evidence(raw)
    return _ENCODER.encode(evidence.data if evidence.is_json or not raw else raw)


def outcome_line(outcome: VerifyOutcome) -> str:
    """``json.dumps(outcome_json(outcome), ensure_ascii=True)``: the same text, made faster
    (a line of ``recheck --json`` per domain)."""
    row = outcome.domain
    before, after = _row_split()
    head = _ENCODER.encode({name: getattr(row, name) for name in before})
    tail = {name: getattr(row, name) for name in after}
    tail["verified"] = row.verified  # as to_jsonable adds it: after the fields
    rest = _ENCODER.encode(_outcome_rest(outcome))
    evidence = _evidence_text(row.evidence)
    end = _ENCODER.encode(tail)
    # head without its "}", end and rest without their "{": one object each
    return f'{{"domain": {head[:-1]}, "evidence": {evidence}, {end[1:]}, {rest[1:]}'
