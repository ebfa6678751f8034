"""From one DNS check to the domain's new record states: the re-check rules.

- A failed look-up (timeout, SERVFAIL, REFUSED) is "unknown": it never demotes a verified record;
  it is written to the evidence and the journal and the domain is looked at again sooner.
- A verified record found gone or different must be seen so twice in a row (two checks, unknowns
  in between do not break the run) before it becomes failing. The first bad look also brings
  the next check forward, so a real loss shows within about an hour.
- DKIM rotation: the newest key, while not yet active, is waiting to be published; the first
  check that finds it valid in DNS makes it the active key and retires the previous one.

Pure: takes the stored record, the report and the time; returns what to write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from mailauth_tui.core.results import DkimResult, DomainReport, Problem, Severity, Status
from mailauth_tui.registry.evidence import write_evidence
from mailauth_tui.registry.models import DmarcState, RecordState, RecordVerdict
from mailauth_tui.registry.selftest import SelfTest
from mailauth_tui.services.store import DomainRecord, KeyRecord

CONFIRM_LOOKS = 2  # bad looks in a row before a verified record is failing
RETRY_SOON = timedelta(hours=1)  # after an unknown or a first bad look


class Look(StrEnum):
    GOOD = "good"
    BAD = "bad"
    UNKNOWN = "unknown"
    NONE = "none"  # nothing to look for (no DKIM key yet)


@dataclass(frozen=True, slots=True)
class Observation:
    kind: str  # DKIM | SPF | DMARC
    look: Look
    found: str | None
    problems: tuple[Problem, ...] = ()
    why: str = ""  # a short reason for the journal when the look is bad or unknown
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Assessment:
    changes: dict[str, object]  # columns of the domains row to update
    verdicts: tuple[RecordVerdict, ...]
    transitions: tuple[str, ...]  # human lines, one journal entry each
    summary: str  # the journal line of the check itself
    promote: str | None = None  # selector of the waiting key that becomes active
    retire: str | None = None  # selector of the key it replaces


def key_roles(keys: Sequence[KeyRecord]) -> tuple[KeyRecord | None, KeyRecord | None]:
    """(active, waiting): the signing key and a newer rotated key not yet seen in DNS."""
    active = next((k for k in reversed(keys) if k.active), None)
    newest = keys[-1] if keys else None
    waiting = newest if newest is not None and not newest.active else None
    if waiting is not None and active is not None and waiting.created_at < active.created_at:
        waiting = None  # an older retired key, not a rotation in progress
    return active, waiting


def checked_keys(keys: Sequence[KeyRecord]) -> tuple[KeyRecord, ...]:
    active, waiting = key_roles(keys)
    return tuple(k for k in (active, waiting) if k is not None)


def removable_keys(keys: Sequence[KeyRecord], now: datetime) -> tuple[KeyRecord, ...]:
    """Keys a rotation retired whose overlap is over: their records may leave DNS. A key
    without ``remove_after`` is kept: nothing says it is safe."""
    in_use = {k.selector for k in checked_keys(keys)}
    return tuple(
        k
        for k in keys
        if k.selector not in in_use and k.remove_after is not None and now >= k.remove_after
    )


def _find(report: DomainReport, selector: str) -> DkimResult | None:
    return next((d for d in report.dkim if d.selector == selector), None)


SelfTests = Mapping[str, SelfTest]  # selector -> its end-to-end self-test


def _key_look(result: DkimResult | None, key: KeyRecord, tests: SelfTests) -> tuple[Look, str]:
    look, why = _record_look(result, key)
    test = tests.get(key.selector)
    if look is Look.GOOD and test is not None and test.failed:
        # The record parses and matches the stored public key, but mail signed with the
        # private key on disk would not verify: that is a failing key, not a verified one.
        return Look.BAD, test.reason
    return look, why


def _record_look(result: DkimResult | None, key: KeyRecord) -> tuple[Look, str]:
    if result is None:
        return Look.UNKNOWN, f"selector {key.selector} was not looked up"
    if result.status is Status.UNKNOWN:
        return Look.UNKNOWN, f"the lookup of {result.host} failed"
    if result.status is Status.MISSING:
        return Look.BAD, f"no DKIM record at {result.host}"
    if result.status is Status.VALID:
        # check_dkim compares with the expected key already; this guards a report made
        # without it: a different key in DNS is a failure, never a pass.
        if result.public_key is not None and "".join(result.public_key.split()) != key.public_key:
            return Look.BAD, f"the key at {result.host} differs from the generated key"
        return Look.GOOD, ""
    first = next((p.message for p in result.problems if p.severity is Severity.ERROR), "")
    return Look.BAD, first or f"the DKIM record at {result.host} is {result.status}"


def observe_dkim(
    report: DomainReport, keys: Sequence[KeyRecord], tests: SelfTests | None = None
) -> tuple[Observation, KeyRecord | None]:
    """The DKIM observation, and the waiting key to promote when DNS now holds it."""
    tests = tests or {}
    active, waiting = key_roles(keys)
    promote: KeyRecord | None = None
    if waiting is not None:
        result = _find(report, waiting.selector)
        look, why = _key_look(result, waiting, tests)
        if look is Look.GOOD or active is None:
            promote = waiting if look is Look.GOOD else None
            return _dkim_observation(result, waiting, look, why, tests), promote
    if active is None:
        problem = Problem(
            "registry.no_dkim_key",
            Severity.INFO,
            "no DKIM key has been made for this domain yet",
            "prove ownership with the emailed code: the key is made then",
        )
        return Observation("DKIM", Look.NONE, None, (problem,)), None
    result = _find(report, active.selector)
    look, why = _key_look(result, active, tests)
    observation = _dkim_observation(result, active, look, why, tests)
    if waiting is not None:
        wait_result = _find(report, waiting.selector)
        note = Problem(
            "registry.rotation_waiting",
            Severity.INFO,
            f"the new key (selector {waiting.selector}) is not valid in DNS yet; the current "
            f"key (selector {active.selector}) signs until it is",
            f"publish the new DKIM record at {waiting.selector}._domainkey.{report.domain} "
            "and verify again",
        )
        extra_problems = wait_result.problems if wait_result is not None else ()
        observation = Observation(
            observation.kind,
            observation.look,
            observation.found,
            (*observation.problems, note, *extra_problems),
            observation.why,
            observation.extra | {"waiting_selector": waiting.selector},
        )
    return observation, promote


def _dkim_observation(
    result: DkimResult | None, key: KeyRecord, look: Look, why: str, tests: SelfTests
) -> Observation:
    problems = result.problems if result is not None else ()
    found = result.record if result is not None else None
    extra: dict[str, Any] = {"selector": key.selector}
    test = tests.get(key.selector)
    if test is not None:
        extra["selftest"] = test.as_json()
        # A truncated key is named by the record's own check, with the whole value: the
        # self-test's failure would say it twice.
        if test.failed and not any(p.code == "dkim.truncated" for p in problems):
            failed = Problem("dkim.selftest_failed", Severity.ERROR, test.reason, test.fix)
            problems = (*problems, failed)
    return Observation("DKIM", look, found, problems, why, extra)


def observe_spf(report: DomainReport, include: str | None) -> Observation:
    """SPF is good when the record is valid and authorises the configured sources: the
    include domain, and each configured IP (the engine evaluated each as a source)."""
    spf = report.spf
    extra: dict[str, Any] = {"lookups": spf.lookups, "void_lookups": spf.void_lookups}
    if spf.status is Status.UNKNOWN:
        return Observation(
            "SPF", Look.UNKNOWN, spf.record, spf.problems, "the lookup failed", extra
        )
    if spf.status is not Status.VALID:
        why = "no SPF record" if spf.status is Status.MISSING else f"the SPF record is {spf.status}"
        return Observation("SPF", Look.BAD, spf.record, spf.problems, why, extra)
    if include and spf.include_authorized is False:
        why = f"the SPF record does not include {include}"
        return Observation("SPF", Look.BAD, spf.record, spf.problems, why, extra)
    failing = [s for s in spf.sources if s.result != "pass"]
    if failing:
        if all(s.result == "temperror" for s in failing):
            why = "a lookup failed while evaluating the sending IPs"
            return Observation("SPF", Look.UNKNOWN, spf.record, spf.problems, why, extra)
        why = "; ".join(f"{s.source} gets {s.result}" for s in failing)
        return Observation("SPF", Look.BAD, spf.record, spf.problems, why, extra)
    return Observation("SPF", Look.GOOD, spf.record, spf.problems, "", extra)


# A BIMI record's state in the registry's words (shown, never stored in a column: BIMI is
# optional and decides nothing about the domain).
_BIMI_STATE = {
    Status.VALID: ("configured", Look.GOOD),
    Status.INVALID: ("invalid", Look.BAD),
    Status.UNKNOWN: ("unknown", Look.UNKNOWN),
}


def observe_bimi(report: DomainReport) -> tuple[Observation, str] | None:
    """BIMI's observation and state when a record exists (or its look-up failed); None when
    the domain publishes none, which is no fault (BIMI is optional)."""
    bimi = report.bimi
    shown = _BIMI_STATE.get(bimi.status)
    if shown is None:
        return None
    state, look = shown
    extra: dict[str, Any] = {
        "status": bimi.status.value,
        "logo_url": bimi.logo_url,
        "authority_url": bimi.authority_url,
    }
    why = "" if look is Look.GOOD else f"the BIMI record is {bimi.status.value}"
    return Observation("BIMI", look, bimi.record, bimi.problems, why, extra), state


def observe_dmarc(report: DomainReport) -> Observation:
    dmarc = report.dmarc
    extra: dict[str, Any] = {
        "policy": dmarc.policy,
        "effective_policy": dmarc.effective_policy,
        "source_domain": dmarc.source_domain,
    }
    if dmarc.status is Status.UNKNOWN:
        why = "the lookup failed"
        return Observation("DMARC", Look.UNKNOWN, dmarc.record, dmarc.problems, why, extra)
    if dmarc.status is Status.VALID:
        return Observation("DMARC", Look.GOOD, dmarc.record, dmarc.problems, "", extra)
    why = "no DMARC record" if dmarc.status is Status.MISSING else "the DMARC record is not valid"
    return Observation("DMARC", Look.BAD, dmarc.record, dmarc.problems, why, extra)


@dataclass(frozen=True, slots=True)
class Step:
    state: str
    streak: int
    soon: bool  # look again sooner than the interval
    note: str  # a transition line, "" when nothing worth a journal entry happened


def step_record(kind: str, current: RecordState, streak: int, obs: Observation) -> Step:
    """One look at a DKIM or SPF record."""
    look = obs.look
    if look is Look.NONE:
        return Step(current.value, 0, False, "")
    if look is Look.GOOD:
        new = RecordState.VERIFIED
        note = "" if current is new else f"{kind} {current.value} -> verified"
        return Step(new.value, 0, False, note)
    if look is Look.UNKNOWN:
        if current in (RecordState.VERIFIED, RecordState.FAILING):
            # Never demote on a transient failure: keep the state, look again soon.
            note = f"{kind} check unknown ({obs.why}): stays {current.value}, retried soon"
            return Step(current.value, streak, True, note)
        note = "" if current is RecordState.UNKNOWN else f"{kind} {current.value} -> unknown"
        return Step(RecordState.UNKNOWN.value, 0, True, note)
    # a bad look
    if current is RecordState.VERIFIED:
        streak += 1
        if streak >= CONFIRM_LOOKS:
            note = f"{kind} verified -> failing ({obs.why}; seen {streak} times in a row)"
            return Step(RecordState.FAILING.value, streak, False, note)
        note = (
            f"{kind} {obs.why}: seen once, stays verified until the next check confirms it "
            "(retried soon)"
        )
        return Step(current.value, streak, True, note)
    if current is RecordState.FAILING:
        return Step(current.value, streak + 1, False, "")
    note = "" if current is RecordState.PENDING else f"{kind} {current.value} -> pending"
    return Step(RecordState.PENDING.value, 0, False, note)


def step_dmarc(current: DmarcState, streak: int, obs: Observation) -> Step:
    look = obs.look
    if look is Look.GOOD:
        new = DmarcState.CONFIGURED
        note = "" if current is new else f"DMARC {current.value} -> configured"
        return Step(new.value, 0, False, note)
    if look is Look.UNKNOWN:
        if current is DmarcState.CONFIGURED:
            note = f"DMARC check unknown ({obs.why}): stays configured, retried soon"
            return Step(current.value, streak, True, note)
        note = "" if current is DmarcState.UNKNOWN else f"DMARC {current.value} -> unknown"
        return Step(DmarcState.UNKNOWN.value, 0, True, note)
    if current is DmarcState.CONFIGURED:
        streak += 1
        if streak >= CONFIRM_LOOKS:
            note = f"DMARC configured -> not configured ({obs.why}; seen {streak} times in a row)"
            return Step(DmarcState.NOT_CONFIGURED.value, streak, False, note)
        note = f"DMARC {obs.why}: seen once, stays configured until confirmed (retried soon)"
        return Step(current.value, streak, True, note)
    note = (
        "" if current is DmarcState.NOT_CONFIGURED else f"DMARC {current.value} -> not configured"
    )
    return Step(DmarcState.NOT_CONFIGURED.value, 0, False, note)


def _problem_json(p: Problem) -> dict[str, str]:
    return {"code": p.code, "severity": p.severity.value, "message": p.message, "fix": p.fix}


def _state(kind: type[RecordState] | type[DmarcState], value: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        return kind("unknown")


def _retry_gap(rec: DomainRecord, dkim: str, spf: str, interval: timedelta) -> timedelta | None:
    """How soon a domain whose records are not right is looked at again, so that a fix shows
    without a manual verify: an hour after the first such check, then twice the previous wait
    each time, up to the regular interval. None for a domain that is right."""
    if not _broken(dkim, spf):
        return None
    previous = None
    if rec.last_check_at is not None and rec.next_check_at is not None:
        previous = rec.next_check_at - rec.last_check_at
    if not _broken(rec.dkim_state, rec.spf_state) or previous is None or previous < RETRY_SOON:
        return min(RETRY_SOON, interval)  # newly not right (or never checked): soon
    return min(previous * 2, interval)


def _broken(dkim: str, spf: str) -> bool:
    """Not right: DKIM (which decides "verified") not published yet or lost, or SPF lost."""
    return dkim in _NOT_RIGHT or spf == RecordState.FAILING.value


_NOT_RIGHT = frozenset({RecordState.PENDING.value, RecordState.FAILING.value})


def _hours(gap: timedelta) -> str:
    return f"{gap.total_seconds() / 3600:g}h"


def assess(
    rec: DomainRecord,
    report: DomainReport,
    *,
    include: str | None,
    now: datetime,
    interval: timedelta,
    selftests: Sequence[SelfTest] = (),
) -> Assessment:
    """The new states, evidence and schedule of ``rec`` after ``report`` (and the DKIM
    self-tests run beside it: a failed one fails the key it tested)."""
    dkim_obs, promote = observe_dkim(report, rec.keys, {t.selector: t for t in selftests})
    spf_obs = observe_spf(report, include)
    dmarc_obs = observe_dmarc(report)

    dkim = step_record("DKIM", _state(RecordState, rec.dkim_state), rec.dkim_streak, dkim_obs)
    spf = step_record("SPF", _state(RecordState, rec.spf_state), rec.spf_streak, spf_obs)
    dmarc = step_dmarc(_state(DmarcState, rec.dmarc_state), rec.dmarc_streak, dmarc_obs)

    transitions = [s.note for s in (dkim, spf, dmarc) if s.note]
    active, _ = key_roles(rec.keys)
    if promote is not None:
        old = (
            f"; the previous key (selector {active.selector}) is retired: keep its record "
            "published until the date shown (safe to remove after)"
            if active
            else ""
        )
        transitions.insert(0, f"DKIM key {promote.selector} is published and now signs{old}")

    policy = rec.dmarc_policy
    if dmarc.state == DmarcState.CONFIGURED.value and dmarc_obs.look is Look.GOOD:
        # What applies to this domain (sp= / np= of an inherited record), as `check` says.
        policy = report.dmarc.effective_policy or report.dmarc.policy
        if policy != rec.dmarc_policy and rec.dmarc_policy is not None:
            transitions.append(f"DMARC policy p={rec.dmarc_policy} -> p={policy}")
    elif dmarc.state == DmarcState.NOT_CONFIGURED.value:
        policy = None

    observations: tuple[Observation, ...] = (dkim_obs, spf_obs, dmarc_obs)
    states: tuple[str, ...] = (dkim.state, spf.state, dmarc.state)
    unknown = [o.kind for o in observations if o.look is Look.UNKNOWN]
    bimi = observe_bimi(report)
    if bimi is not None:  # shown beside the others, deciding nothing
        observations, states = (*observations, bimi[0]), (*states, bimi[1])
    evidence = {
        "checked_at": now.isoformat(),
        "unknown": unknown,
        "records": {
            o.kind: {
                "look": o.look.value,
                "state": state,
                "found": o.found,
                "why": o.why,
                "problems": [_problem_json(p) for p in o.problems],
                **o.extra,
            }
            for o, state in zip(observations, states, strict=True)
        },
    }
    soon = dkim.soon or spf.soon or dmarc.soon
    gap = min(RETRY_SOON, interval) if soon else interval
    retry = _retry_gap(rec, dkim.state, spf.state, interval)
    if retry is not None and retry < gap:
        gap = retry
    next_at = now + gap
    changes: dict[str, object] = {
        "dkim_state": dkim.state,
        "spf_state": spf.state,
        "dmarc_state": dmarc.state,
        "dmarc_policy": policy,
        "dkim_streak": dkim.streak,
        "spf_streak": spf.streak,
        "dmarc_streak": dmarc.streak,
        "evidence": write_evidence(evidence),
        "last_check_at": now,
        "next_check_at": next_at,
    }
    verdicts = tuple(
        RecordVerdict(
            kind=o.kind, state=state, found=o.found, problems=o.problems, look=o.look.value
        )
        for o, state in zip(observations, states, strict=True)
    )
    looks = ", ".join(f"{o.kind} {o.look.value}" for o in observations)
    summary = f"{looks}; next check {next_at:%Y-%m-%d %H:%M} UTC"
    if retry is not None and gap == retry < interval:
        summary += f" (not verified: retried in {_hours(gap)}, backing off to {_hours(interval)})"
    return Assessment(
        changes=changes,
        verdicts=verdicts,
        transitions=tuple(transitions),
        summary=summary,
        promote=promote.selector if promote else None,
        retire=active.selector if promote is not None and active is not None else None,
    )
