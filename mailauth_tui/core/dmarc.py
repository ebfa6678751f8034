"""DMARC policy discovery (RFC 9989 4.10 DNS tree walk, RFC 7489 organisational domain beside
it) and check_dmarc(). The record grammar is in :mod:`mailauth_tui.core.dmarc_record`, the
diagnostics in :mod:`mailauth_tui.core.dmarc_problems`.

Statuses, as receivers see the domain:

- ``missing``: no DMARC record applies. A TXT value that only looks like one (``v=`` not
  first, literal quotes, ``\\;``, ``v=dmarc1``) is discarded by receivers (RFC 7489 6.6.3,
  RFC 9989 4.10), so it counts as none; its diagnostics say what is wrong and give the record
  to publish.
- ``valid``: a record applies. Values receivers discard (RFC 9989 4.8) leave it valid with the
  defaults applied and a warning per bad tag; a missing or invalid ``p`` is ``none``.
- ``invalid``: receivers find DMARC records they must ignore: several at one name, or one whose
  tag list is invalid as a whole (a tag given twice).
- ``unknown``: a look-up failed (timeout, SERVFAIL, REFUSED) where its answer could change the
  policy.

A failed level of the walk (timeout, SERVFAIL, REFUSED), when there is no record at the domain
itself, is tolerated only above the PSL organisational domain: at a public suffix
(``_dmarc.com`` for ``mail.example.com``, ``_dmarc.co.uk`` for ``mail.example.co.uk``), which
holds a record only to take part in PSD DMARC. It is taken as empty and the policy is worked out
from the whole walk, the levels above it included; when no level below it holds a record, the
failed one could hold the public suffix record that applies: ``unknown``. A failure at or below
the PSL organisational domain is ``unknown``: a record there is the organisational domain's
under RFC 9989 4.10.2 (the fewest labels), and RFC 7489 6.6.3 asks no other parent. A failed
level above a record at the domain itself leaves that record standing. Either way the RFC 9989
organisational domain is undetermined (``dmarc.org_domain_unknown``, info).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial

from mailauth_tui.core import dmarc_problems as diag
from mailauth_tui.core.dmarc_record import (
    KNOWN_TAGS,
    POLICIES,
    DmarcRecord,
    IgnoredTag,
    ReportUri,
    corrected_record,
    looks_like_dmarc,
    parse_dmarc,
    starts_with_dmarc1,
)
from mailauth_tui.core.dns_types import Answer, AnswerStatus, Resolver, RType
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.psl import org_domain, public_suffix
from mailauth_tui.core.results import (
    DmarcResult,
    Problem,
    Status,
)
from mailauth_tui.core.txt_diagnostics import find_zone_doubled, zone_doubled_problem

__all__ = [
    "KNOWN_TAGS",
    "MAX_EXTERNAL_DESTINATIONS",
    "POLICIES",
    "DmarcRecord",
    "IgnoredTag",
    "ReportUri",
    "check_dmarc",
    "corrected_record",
    "looks_like_dmarc",
    "parse_dmarc",
    "starts_with_dmarc1",
    "tree_walk_targets",
]


def tree_walk_targets(domain: str) -> tuple[str, ...]:
    """The names whose ``_dmarc`` record the RFC 9989 4.10 DNS tree walk asks, in order.

    The domain itself, then (x < 8 labels) its parent, or (x >= 8) its last 7 labels, then one
    label less each time down to the top-level domain: never more than 8 queries.
    """
    labels = domain.split(".")
    rest = labels[-7:] if len(labels) >= 8 else labels[1:]
    targets = [domain]
    while rest:
        targets.append(".".join(rest))
        rest = rest[1:]
    return tuple(targets)


@dataclass(frozen=True, slots=True)
class _Level:
    """What ``_dmarc.<name>`` holds, as the walk sees it."""

    name: str
    answer: Answer
    records: tuple[int, ...]  # indexes of the values receivers take as DMARC (v=DMARC1 first)
    lookalikes: tuple[int, ...]  # values meant as DMARC that receivers discard
    record: DmarcRecord | None = None  # parsed, when exactly one record is there
    error: RecordSyntaxError | None = None
    # Read for every level of every walk, so stored rather than properties:
    present: bool = False  # a single record (RFC 9989 4.10 steps 2 and 6)
    psd: str = "u"  # its psd= ("u" when there is no parsed record)

    @property
    def host(self) -> str:
        return f"_dmarc.{self.name}"

    @property
    def text(self) -> str | None:
        return self.answer.records[self.records[0]] if self.present else None

    def chunks(self, index: int) -> tuple[str, ...]:
        chunks = self.answer.chunks
        return chunks[index] if index < len(chunks) else (self.answer.records[index],)

    def lookalike_problems(self) -> list[Problem]:
        out: list[Problem] = []
        for i in self.lookalikes:
            out.extend(diag.lookalike(self.host, self.answer.records[i], self.chunks(i)))
        return out


def _level(name: str, answer: Answer) -> _Level:
    records: list[int] = []
    lookalikes: list[int] = []
    for i, text in enumerate(answer.records):
        if starts_with_dmarc1(text):
            records.append(i)
        elif looks_like_dmarc(text):
            lookalikes.append(i)
    level = partial(
        _Level, name=name, answer=answer, records=tuple(records), lookalikes=tuple(lookalikes)
    )
    if len(records) != 1:
        return level()
    try:
        record = parse_dmarc(answer.records[records[0]])
    except RecordSyntaxError as err:
        return level(error=err, present=True)
    return level(record=record, present=True, psd=record.psd)


def _one_label_below(upper: str, domain: str) -> str:
    labels = domain.split(".")
    return ".".join(labels[-(upper.count(".") + 2) :])


def _treewalk_org(levels: list[_Level], domain: str) -> str:
    """RFC 9989 4.10.2: choose the organisational domain among the records found, longest
    name first."""
    found = [level for level in levels if level.present]
    for level in found:
        if level.psd == "n":
            return level.name
        if level.psd == "y" and level.name != domain:
            return _one_label_below(level.name, domain)
    return found[-1].name if found else domain


# RFC 7489 6.2 lets receivers limit the report destinations they use (to no fewer than two):
# a record naming more external domains than this has its first ones checked, the rest
# reported as an excess, so one record cannot make the check ask thousands of names.
MAX_EXTERNAL_DESTINATIONS = 10


async def _external_destinations(
    resolver: Resolver, rec: DmarcRecord, policy_domain: str
) -> list[Problem]:
    """RFC 7489 7.1: a report address of another organisation must be authorised by a
    ``<policy domain>._report._dmarc.<destination>`` record."""
    own_org = org_domain(policy_domain)
    destinations = list(
        dict.fromkeys(
            uri.domain
            for uri in rec.rua + rec.ruf
            if uri.domain is not None and org_domain(uri.domain) != own_org
        )
    )
    if not destinations:
        return []
    excess: list[Problem] = []
    if len(destinations) > MAX_EXTERNAL_DESTINATIONS:
        excess.append(
            diag.too_many_destinations(len(destinations), MAX_EXTERNAL_DESTINATIONS, own_org)
        )
        destinations = destinations[:MAX_EXTERNAL_DESTINATIONS]
    names = [f"{policy_domain}._report._dmarc.{dest}" for dest in destinations]
    if len(names) == 1:
        answers = [await resolver.query(names[0], RType.TXT)]
    else:
        answers = await asyncio.gather(*(resolver.query(name, RType.TXT) for name in names))
    problems: list[Problem] = []
    for dest, name, answer in zip(destinations, names, answers, strict=True):
        if answer.unknown:
            problems.append(diag.destination_unknown(dest, policy_domain, name, answer.status))
        elif not any(starts_with_dmarc1(text) for text in answer.records):
            problems.append(diag.destination_unauthorized(dest, own_org, name))
    return problems + excess


async def _domain_missing(resolver: Resolver, domain: str) -> bool:
    # NXDOMAIN is about the name whatever the type asked; TXT at the domain is also what the
    # SPF check asks, so the answer is usually in the resolver's cache already.
    answer = await resolver.query(domain, RType.TXT)
    return answer.status is AnswerStatus.NXDOMAIN


def _named(levels: list[_Level], name: str) -> _Level | None:
    """The level of ``name`` among those asked (a walk asks each name once)."""
    for level in levels:
        if level.name == name:
            return level
    return None


def _disagreement(
    domain: str, psl_org: str, walk_org: str, levels: list[_Level], source: str
) -> Problem:
    author = _named(levels, domain)
    if author is not None and author.present:
        legacy_source: str | None = domain
    else:
        legacy = _named(levels, psl_org)
        legacy_source = psl_org if legacy is not None and legacy.present else None
    return diag.disagreement(domain, psl_org, walk_org, legacy_source, source)


def _unknown(domain: str, psl_org: str, failed: _Level) -> DmarcResult:
    answer = failed.answer
    return DmarcResult(
        status=Status.UNKNOWN,
        org_domain=psl_org,
        problems=(diag.unknown(domain, failed.name, answer.status, answer.detail),),
    )


async def check_dmarc(resolver: Resolver, domain: str) -> DmarcResult:
    """Find the DMARC policy that applies to ``domain`` and judge it."""
    domain = domain.strip().rstrip(".").lower()
    targets = tree_walk_targets(domain)

    # Every level, the domain's first, until a psd= tag stops the walk. One after the other, as
    # the RFC's walk goes: the parents are mostly in the resolver's cache already (_dmarc.com,
    # _dmarc.co.uk, asked for every domain under them) and come back without a pause, where
    # asking them side by side would cost a task each.
    walk: list[_Level] = []
    for target in targets:
        level = _level(target, await resolver.query(f"_dmarc.{target}", RType.TXT))
        walk.append(level)
        if level.present and level.psd in ("y", "n"):
            break
    # Only now: the first use in a run reads the Public Suffix List (~6 ms), which must not
    # hold back the walk's first question (`check` reads it while its first questions wait).
    psl_org = org_domain(domain)
    author = walk[0]
    if author.answer.unknown:
        return _unknown(domain, psl_org, author)
    # A failed level (see the module docstring): tolerated only above the PSL organisational
    # domain, where it holds no record that could apply in its stead. ``blocking`` is the
    # first failed level at or below it.
    failed = blocking = None
    found_below = False  # a record on the walk below the first failed level
    for level in walk:  # a loop, not next(): this runs for every domain
        if level.answer.unknown:
            if failed is None:
                failed = level
            if blocking is None and not psl_org.endswith(f".{level.name}"):
                blocking = level
        elif failed is None and level.present:
            found_below = True
    walk_org = _treewalk_org(walk, domain) if failed is None else None
    jumped: _Level | None = None  # the organisational domain's level, when the walk skipped it
    # Look-alikes are no records, but they are what the admin meant: they explain a missing
    # policy, or sit beside the record that applies. Those at the domain and at the
    # organisational domain (whose record a subdomain falls back to) are the ones that count.
    meant = [author]

    source: _Level | None
    if author.records:
        source = author
    elif blocking is not None:
        return _unknown(domain, psl_org, blocking)  # it may hold the record that applies
    elif failed is not None and not found_below:
        return _unknown(domain, psl_org, failed)  # it may hold a public suffix's record
    else:
        # No record at the domain: RFC 9989 4.10.1 applies the organisational domain's record,
        # or failing that the public suffix operator's (psd=y). A failed level (above the PSL
        # organisational domain) counts as empty: it holds no record.
        org = _treewalk_org(walk, domain)
        source = _named(walk, org)
        if source is None:
            # Only after the 8-label shortcut: the organisational domain was jumped over.
            source = jumped = _level(org, await resolver.query(f"_dmarc.{org}", RType.TXT))
        if source is not author:
            meant.append(source)
        if not source.present:
            source = next((lv for lv in reversed(walk) if lv.present and lv.psd == "y"), None)
        if source is None:
            # Several records somewhere on the path explain a "missing" policy better.
            source = next((lv for lv in walk if lv.records), None)
    lookalikes: list[tuple[str, Problem]] = []
    for level in meant:  # nearly always none: no comprehension's frame for nothing
        if level.lookalikes:
            lookalikes.extend((level.host, p) for p in level.lookalike_problems())
    if source is None:
        return await _missing(resolver, domain, psl_org, walk_org, [p for _, p in lookalikes])
    stray = [diag.demoted(p, host) for host, p in lookalikes] if lookalikes else []
    undetermined = (
        [
            diag.org_domain_unknown(
                domain,
                failed.name,
                failed.answer.status,
                failed.answer.detail,
                outside_zones=failed.answer.outside_zones,
            )
        ]
        if failed is not None
        else []
    )

    rec = source.record
    if rec is None:
        if len(source.records) > 1:
            problem = diag.multiple(source.host, len(source.records))
        else:
            reason = str(source.error) if source.error is not None else "it cannot be read"
            problem = diag.unusable(source.host, reason, psl_org)
        return DmarcResult(
            status=Status.INVALID,
            record=source.text,
            source_domain=source.name,
            org_domain=psl_org,
            treewalk_org_domain=walk_org,
            problems=diag.unique([problem, *stray, *undetermined]),
        )

    index = source.records[0]
    problems = diag.record_warnings(
        source.host, source.answer.records[index], source.chunks(index), rec, psl_org
    )
    problems.extend(stray)
    is_self = source.name == domain
    nonexistent = False
    if not is_self and rec.nonexistent_policy is not None:
        external, nonexistent = await asyncio.gather(
            _external_destinations(resolver, rec, source.name), _domain_missing(resolver, domain)
        )
    else:
        external = await _external_destinations(resolver, rec, source.name)
    if is_self:
        effective = rec.policy
    elif nonexistent and rec.nonexistent_policy is not None:
        effective = rec.nonexistent_policy
    else:
        effective = rec.subdomain_policy or rec.policy
    pct = rec.pct if rec.pct is not None else 100
    if not is_self:
        if nonexistent and rec.nonexistent_policy is not None:
            applied = f"np={effective}, as {domain} does not exist"
        elif rec.subdomain_policy is not None:
            applied = f"sp={effective}"
        else:
            applied = f"p={effective}"
        problems.append(diag.inherited(domain, source.name, applied, source.psd == "y"))
    if rec.psd == "y" and is_self and public_suffix(domain) != domain:
        problems.append(diag.psd_misused(domain))
    problems.extend(diag.policy_warnings(rec, effective, pct, psl_org))
    problems.extend(external)
    problems.extend(undetermined)
    # After a failure above the PSL organisational domain, the walk's organisational domain
    # as if that level were empty: still worth comparing with the PSL's.
    compared = walk_org if failed is None or blocking is not None else _treewalk_org(walk, domain)
    if compared is not None and compared != psl_org:
        asked = walk if jumped is None else [*walk, jumped]
        problems.append(_disagreement(domain, psl_org, compared, asked, source.name))
    return DmarcResult(
        status=Status.VALID,
        record=source.text,
        source_domain=source.name,
        org_domain=psl_org,
        treewalk_org_domain=walk_org,
        policy=rec.policy,
        subdomain_policy=rec.subdomain_policy or rec.policy,
        effective_policy=effective,
        pct=pct,
        rua=tuple([uri.uri for uri in rec.rua]) if rec.rua else (),
        ruf=tuple([uri.uri for uri in rec.ruf]) if rec.ruf else (),
        problems=diag.unique(problems),
    )


async def _missing(
    resolver: Resolver,
    domain: str,
    psl_org: str,
    walk_org: str | None,
    lookalikes: list[Problem],
) -> DmarcResult:
    host = f"_dmarc.{domain}"
    if lookalikes:
        problems = diag.unique(lookalikes)
    else:
        doubled = await find_zone_doubled(resolver, host, (domain, psl_org), looks_like_dmarc)
        if doubled is not None:
            problems = (zone_doubled_problem("dmarc", host, doubled[0], doubled[1]),)
        else:
            problems = (diag.missing(domain, host, psl_org),)
    return DmarcResult(
        status=Status.MISSING,
        org_domain=psl_org,
        treewalk_org_domain=walk_org,
        problems=problems,
    )
