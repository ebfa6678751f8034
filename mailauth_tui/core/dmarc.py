"""DMARC policy records (RFC 7489, RFC 9989): the parser and the record grammar."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace

from mailauth_tui.core.dns_types import Answer, AnswerStatus, Resolver, RType
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.psl import org_domain, public_suffix
from mailauth_tui.core.results import DmarcResult, Problem, Severity, Status
from mailauth_tui.core.tagvalue import Tag, parse_tag_list, tags_by_name
from mailauth_tui.core.txt_diagnostics import (
    escaped_semicolons,
    find_zone_doubled,
    glued_chunks,
    literal_quotes,
    repaired_value,
    zone_doubled_problem,
)

POLICIES = ("none", "quarantine", "reject")
KNOWN_TAGS = frozenset(
    {"v", "p", "sp", "np", "psd", "t", "pct", "rua", "ruf", "adkim", "aspf", "fo", "rf", "ri"}
)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST = re.compile(
    r"(?=.{1,253}$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}"
)
_SIZE = re.compile(r"[0-9]+[kmgtKMGT]?")
_LOOKS_DMARC = re.compile(r"\s*v\s*=\s*dmarc", re.IGNORECASE)
# RFC 7489 6.3 / RFC 9989: the record must start with v=DMARC1, exactly (case-sensitive value).
_STARTS_DMARC1 = re.compile(r"\s*[vV]\s*=\s*DMARC1\s*(?:;|$)")
_MAX_RI = 2**32 - 1


@dataclass(frozen=True, slots=True)
class ReportUri:
    """One rua= / ruf= destination. ``domain`` is set for mailto: URIs."""

    uri: str
    scheme: str
    address: str | None = None
    domain: str | None = None
    max_size: str | None = None  # the RFC 7489 "!size" suffix (ignored by RFC 9989 reporters)


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    policy: str  # p=, or "none" when p= is absent and rua= is valid (RFC 9989)
    policy_explicit: bool = True
    subdomain_policy: str | None = None  # sp=
    nonexistent_policy: str | None = None  # np= (RFC 9091, RFC 9989)
    psd: str = "u"  # y | n | u (RFC 9989)
    testing: bool = False  # t=y (RFC 9989)
    pct: int | None = None  # RFC 7489 only; None when absent (= 100)
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()
    adkim: str = "r"
    aspf: str = "r"
    fo: tuple[str, ...] = ("0",)
    rf: tuple[str, ...] = ("afrf",)
    ri: int | None = None
    unknown_tags: tuple[str, ...] = ()


def looks_like_dmarc(text: str) -> bool:
    """Whether a TXT value is meant as a DMARC record, even a broken one (quotes, case)."""
    return _LOOKS_DMARC.match(repaired_value(text)) is not None


def starts_with_dmarc1(text: str) -> bool:
    """Whether receivers take the TXT value as a DMARC record at all (its first tag is
    exactly ``v=DMARC1``); they discard anything else."""
    return _STARTS_DMARC1.match(text) is not None


def _choice(tag: Tag, allowed: tuple[str, ...], what: str, code: str = "syntax") -> str:
    value = tag.value.lower()
    if value not in allowed:
        shown = " / ".join(allowed)
        raise RecordSyntaxError(
            tag.value_pos, f"{tag.name}= must be {shown} ({what}), not {tag.value!r}", code=code
        )
    return value


def _uri_list(tag: Tag) -> tuple[ReportUri, ...]:
    out: list[ReportUri] = []
    offset = 0
    for raw in tag.value.split(","):
        pos = tag.value_pos + offset
        offset += len(raw) + 1
        uri = raw.strip(" \t\r\n")
        if not uri:
            raise RecordSyntaxError(pos, f"{tag.name}= has an empty entry: remove the extra ','")
        out.append(_uri(uri, pos, tag.name))
    return tuple(out)


def _uri(uri: str, pos: int, name: str) -> ReportUri:
    scheme_match = _SCHEME.match(uri)
    if scheme_match is None:
        hint = f": write mailto:{uri}" if "@" in uri else ""
        raise RecordSyntaxError(
            pos, f"{name}= entry {uri!r} is not a URI (no scheme){hint}", code="bad_uri"
        )
    scheme = scheme_match.group(1).lower()
    if scheme != "mailto":
        return ReportUri(uri=uri, scheme=scheme)
    rest = uri[scheme_match.end() :]
    size: str | None = None
    if "!" in rest:
        rest, size = rest.split("!", 1)
        if not _SIZE.fullmatch(size):
            raise RecordSyntaxError(
                pos,
                f"{name}= entry {uri!r}: the size after '!' must be digits and k/m/g/t",
                code="bad_uri",
            )
    address = rest.split("?", 1)[0]
    local, at, host = address.rpartition("@")
    if not at or not local or not _HOST.fullmatch(host):
        raise RecordSyntaxError(
            pos, f"{name}= entry {uri!r} is not a valid mailto: address", code="bad_uri"
        )
    return ReportUri(uri=uri, scheme="mailto", address=address, domain=host.lower(), max_size=size)


def _colon_choice(tag: Tag, allowed: frozenset[str]) -> tuple[str, ...]:
    items = tuple(item.strip(" \t").lower() for item in tag.value.split(":"))
    for item in items:
        if item not in allowed:
            shown = ", ".join(sorted(allowed))
            raise RecordSyntaxError(
                tag.value_pos, f"{tag.name}= takes a ':'-separated list of {shown}: {tag.value!r}"
            )
    return items


def _integer(tag: Tag, low: int, high: int) -> int:
    if not tag.value.isascii() or not tag.value.isdigit() or not low <= int(tag.value) <= high:
        raise RecordSyntaxError(
            tag.value_pos, f"{tag.name}= must be a whole number from {low} to {high}: {tag.value!r}"
        )
    return int(tag.value)


def parse_dmarc(text: str) -> DmarcRecord:
    """Parse and validate a DMARC record; raise RecordSyntaxError.

    ``err.code``: "version" (not a v=DMARC1 record), "bad_policy" (p/sp/np value),
    "bad_uri" (rua/ruf), "no_policy" (neither p= nor a valid rua=), "duplicate_tag",
    "syntax". Unknown tags are kept in ``unknown_tags``, not refused (RFC 9989: ignored).
    """
    tags = parse_tag_list(text)
    first = tags[0]
    if first.name.lower() != "v":
        raise RecordSyntaxError(first.pos, "the record must start with v=DMARC1", code="version")
    if first.value != "DMARC1":
        raise RecordSyntaxError(
            first.value_pos, f"v= must be exactly DMARC1, not {first.value!r}", code="version"
        )
    by = tags_by_name(tags, fold_case=True)
    rua = _uri_list(by["rua"]) if "rua" in by else ()
    ruf = _uri_list(by["ruf"]) if "ruf" in by else ()
    if "p" in by:
        policy = _choice(by["p"], POLICIES, "the policy", code="bad_policy")
    elif rua:
        policy = "none"  # RFC 9989 4.10.1: no p= but a valid rua= acts as p=none
    else:
        raise RecordSyntaxError(
            len(text),
            "the record has no p= tag (and no rua=): receivers ignore it",
            code="no_policy",
        )

    def opt_choice(
        name: str, allowed: tuple[str, ...], what: str, code: str = "syntax"
    ) -> str | None:
        return _choice(by[name], allowed, what, code) if name in by else None

    return DmarcRecord(
        policy=policy,
        policy_explicit="p" in by,
        subdomain_policy=opt_choice("sp", POLICIES, "the subdomain policy", "bad_policy"),
        nonexistent_policy=opt_choice(
            "np", POLICIES, "the non-existent domain policy", "bad_policy"
        ),
        psd=opt_choice("psd", ("y", "n", "u"), "public suffix domain flag") or "u",
        testing=(opt_choice("t", ("y", "n"), "test mode flag") or "n") == "y",
        pct=_integer(by["pct"], 0, 100) if "pct" in by else None,
        rua=rua,
        ruf=ruf,
        adkim=opt_choice("adkim", ("r", "s"), "DKIM alignment") or "r",
        aspf=opt_choice("aspf", ("r", "s"), "SPF alignment") or "r",
        fo=_colon_choice(by["fo"], frozenset({"0", "1", "d", "s"})) if "fo" in by else ("0",),
        rf=_colon_choice(by["rf"], frozenset({"afrf"})) if "rf" in by else ("afrf",),
        ri=_integer(by["ri"], 0, _MAX_RI) if "ri" in by else None,
        unknown_tags=tuple(t.name for t in tags if t.name.lower() not in KNOWN_TAGS),
    )


# --------------------------------------------------------------------------------------------
# Policy discovery and evaluation


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
    texts: tuple[tuple[int, str], ...]  # (index in answer, text) of values meant as DMARC
    record: DmarcRecord | None = None  # parsed, when exactly one value starts with v=DMARC1
    error: RecordSyntaxError | None = None

    @property
    def present(self) -> bool:
        """A single record receivers take as DMARC (RFC 9989 4.10 steps 2 and 6)."""
        return len(self.texts) == 1 and starts_with_dmarc1(self.texts[0][1])

    @property
    def psd(self) -> str:
        return self.record.psd if self.record is not None else "u"

    @property
    def text(self) -> str | None:
        return self.texts[0][1] if len(self.texts) == 1 else None

    @property
    def chunks(self) -> tuple[str, ...]:
        index, text = self.texts[0]
        chunks = self.answer.chunks
        return chunks[index] if index < len(chunks) else (text,)


def _level(name: str, answer: Answer) -> _Level:
    texts = tuple((i, t) for i, t in enumerate(answer.records) if looks_like_dmarc(t))
    if len(texts) != 1 or not starts_with_dmarc1(texts[0][1]):
        return _Level(name, answer, texts)
    try:
        return _Level(name, answer, texts, record=parse_dmarc(texts[0][1]))
    except RecordSyntaxError as err:
        return _Level(name, answer, texts, error=err)


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


def _problem(code: str, severity: Severity, message: str, fix: str = "") -> Problem:
    return Problem(f"dmarc.{code}", severity, message, fix)


def _starting_record(org: str) -> str:
    return f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{org}"


def _record_problems(level: _Level, domain: str) -> list[Problem]:
    """Publishing mistakes and parse errors of one level's DMARC values. Never empty when the
    level has no usable record: an invalid status always says why."""
    host = f"_dmarc.{level.name}"
    if len(level.texts) > 1:
        return [
            _problem(
                "multiple_records",
                Severity.ERROR,
                f"{len(level.texts)} DMARC records are published at {host}; receivers ignore "
                "them all",
                f"delete all but one v=DMARC1 TXT record at {host}",
            )
        ]
    text = level.texts[0][1]
    problems = [
        p
        for p in (
            literal_quotes(text, "dmarc"),
            escaped_semicolons(text, "dmarc"),
            glued_chunks(level.chunks, "dmarc"),
        )
        if p is not None
    ]
    error = level.error
    if error is None and (problems or level.record is None):
        # Say what else is wrong once the publishing mistakes are undone.
        try:
            parse_dmarc(repaired_value(text))
        except RecordSyntaxError as err:
            error = err
    if error is not None or (level.record is None and not problems):
        code = error.code if error is not None else "syntax"
        reason = str(error) if error is not None else "it does not start with v=DMARC1"
        problems.append(
            _problem(
                code if code in ("bad_policy", "bad_uri", "no_policy", "version") else "syntax",
                Severity.ERROR,
                f"the DMARC record at {host} is not valid: {reason}",
                "correct the record; a valid starting point is: "
                + _starting_record(org_domain(domain)),
            )
        )
    return problems


def _policy_problems(rec: DmarcRecord, effective: str, pct: int, org: str) -> list[Problem]:
    problems: list[Problem] = []
    if not rec.policy_explicit:
        problems.append(
            _problem(
                "no_policy_tag",
                Severity.WARNING,
                "the record has no p= tag: RFC 9989 receivers read it as p=none, but receivers "
                "still on RFC 7489 ignore the whole record",
                "add p=none (or quarantine / reject) right after v=DMARC1",
            )
        )
    if effective == "none":
        problems.append(
            _problem(
                "policy_none",
                Severity.WARNING,
                "the policy is none: monitoring only, receivers take no action on failing mail. "
                "Gmail and Yahoo accept p=none from bulk senders, but quarantine or reject is "
                "recommended",
                "once the aggregate reports show that all your mail passes, change p=none to "
                "p=quarantine, then p=reject",
            )
        )
    if pct < 100:
        problems.append(
            _problem(
                "pct_partial",
                Severity.WARNING,
                f"pct={pct}: the policy applies to {pct}% of failing mail only",
                "raise pct to 100 (or remove pct=) once reports are clean",
            )
        )
    if not rec.rua:
        problems.append(
            _problem(
                "no_rua",
                Severity.WARNING,
                "the record has no rua= tag: nobody receives aggregate reports, so you cannot "
                "see who sends mail as your domain",
                f"add rua=mailto:dmarc-reports@{org} to the record",
            )
        )
    if rec.testing:
        problems.append(
            _problem(
                "testing",
                Severity.WARNING,
                "t=y: the domain asks receivers not to apply the policy yet (test mode)",
                "remove t=y when you are ready for the policy to apply",
            )
        )
    if rec.unknown_tags:
        names = ", ".join(rec.unknown_tags)
        problems.append(
            _problem(
                "unknown_tag",
                Severity.WARNING,
                f"unknown tag(s) {names}: receivers ignore them (a typo of a known tag?)",
                f"remove or correct {names}",
            )
        )
    for uri in rec.rua + rec.ruf:
        if uri.scheme != "mailto":
            problems.append(
                _problem(
                    "uri_scheme",
                    Severity.WARNING,
                    f"report destination {uri.uri!r} is not a mailto: URI; receivers are only "
                    "required to support mailto:",
                    "use a mailto: address for reports",
                )
            )
    return problems


async def _external_destinations(
    resolver: Resolver, rec: DmarcRecord, policy_domain: str
) -> list[Problem]:
    """RFC 7489 7.1: a report address of another organisation must be authorised by a
    ``<policy domain>._report._dmarc.<destination>`` record."""
    own_org = org_domain(policy_domain)
    destinations = dict.fromkeys(
        uri.domain
        for uri in rec.rua + rec.ruf
        if uri.domain is not None and org_domain(uri.domain) != own_org
    )
    names = [f"{policy_domain}._report._dmarc.{dest}" for dest in destinations]
    answers = await asyncio.gather(*(resolver.query(name, RType.TXT) for name in names))
    problems: list[Problem] = []
    for dest, name, answer in zip(destinations, names, answers, strict=True):
        if answer.unknown:
            problems.append(
                _problem(
                    "external_destination_unknown",
                    Severity.INFO,
                    f"could not check that {dest} accepts DMARC reports for {policy_domain}: "
                    f"the lookup of {name} failed ({answer.status})",
                    "nothing to change; check again later",
                )
            )
        elif not any(starts_with_dmarc1(text) for text in answer.records):
            problems.append(
                _problem(
                    "external_destination_unauthorized",
                    Severity.WARNING,
                    f"reports go to {dest}, outside {own_org}, which has not authorised them: "
                    f"receivers will not send reports there (no v=DMARC1 record at {name})",
                    f"ask the operator of {dest} to publish a TXT record v=DMARC1 at {name}, or "
                    f"send reports to an address within {own_org}",
                )
            )
    return problems


async def _domain_missing(resolver: Resolver, domain: str) -> bool:
    # NXDOMAIN is about the name whatever the type asked; TXT at the domain is also what the
    # SPF check asks, so the answer is usually in the resolver's cache already.
    answer = await resolver.query(domain, RType.TXT)
    return answer.status is AnswerStatus.NXDOMAIN


def _disagreement(
    domain: str,
    psl_org: str,
    walk_org: str,
    levels: dict[str, _Level],
    source: str,
) -> Problem:
    author = levels.get(domain)
    if author is not None and author.present:
        legacy_source: str | None = domain
    else:
        legacy = levels.get(psl_org)
        legacy_source = psl_org if legacy is not None and legacy.present else None
    both = (
        f"receivers following RFC 7489 (Public Suffix List) take {psl_org} as the "
        f"organisational domain of {domain}; receivers following RFC 9989 (DNS tree walk) take "
        f"{walk_org}"
    )
    if legacy_source != source:
        legacy_text = f"the record at _dmarc.{legacy_source}" if legacy_source else "no record"
        return _problem(
            "org_domain_disagree",
            Severity.WARNING,
            f"{both}, so RFC 7489 receivers apply {legacy_text} while RFC 9989 receivers apply "
            f"the record at _dmarc.{source}",
            f"publish a DMARC record at _dmarc.{domain} itself so every receiver applies the "
            "same policy",
        )
    deeper = max(psl_org, walk_org, key=lambda name: name.count("."))
    return _problem(
        "org_domain_disagree",
        Severity.INFO,
        f"{both}; both apply the record at _dmarc.{source}, but relaxed alignment differs",
        f"sign with a DKIM d= and use a MAIL FROM domain within {deeper} so that alignment "
        "holds for both kinds of receivers",
    )


def _unknown(domain: str, psl_org: str, failed: _Level) -> DmarcResult:
    detail = f" ({failed.answer.detail})" if failed.answer.detail else ""
    return DmarcResult(
        status=Status.UNKNOWN,
        org_domain=psl_org,
        problems=(
            _problem(
                "unknown",
                Severity.WARNING,
                f"the DNS lookup of _dmarc.{failed.name} failed ({failed.answer.status}){detail}: "
                f"the DMARC policy of {domain} could not be determined",
                "nothing to change in DNS; check again later",
            ),
        ),
    )


async def check_dmarc(resolver: Resolver, domain: str) -> DmarcResult:
    """Find the DMARC policy that applies to ``domain`` and judge it."""
    domain = domain.strip().rstrip(".").lower()
    psl_org = org_domain(domain)
    targets = tree_walk_targets(domain)
    # Ask every level at once: the walk nearly always runs to the top-level domain anyway
    # (only a psd= tag stops it early), and parents such as _dmarc.com are cached per run.
    answers = await asyncio.gather(*(resolver.query(f"_dmarc.{t}", RType.TXT) for t in targets))
    walk: list[_Level] = []
    for target, answer in zip(targets, answers, strict=True):
        level = _level(target, answer)
        walk.append(level)
        if level.present and level.psd in ("y", "n"):
            break
    author = walk[0]
    if author.answer.unknown:
        return _unknown(domain, psl_org, author)
    failed = next((level for level in walk if level.answer.unknown), None)
    walk_org = _treewalk_org(walk, domain) if failed is None else None
    levels = {level.name: level for level in walk}

    source: _Level | None
    if author.texts:
        source = author
    elif failed is not None:
        return _unknown(domain, psl_org, failed)
    else:
        # No record at the domain: RFC 9989 4.10.1 applies the organisational domain's record,
        # or failing that the public suffix operator's (psd=y).
        org = _treewalk_org(walk, domain)
        source = levels.get(org)
        if source is None:
            # Only after the 8-label shortcut: the organisational domain was jumped over.
            source = _level(org, await resolver.query(f"_dmarc.{org}", RType.TXT))
            levels[org] = source
        if not source.present:
            source = next((lv for lv in reversed(walk) if lv.present and lv.psd == "y"), None)
        if source is None:
            # A broken record somewhere on the path explains a "missing" policy better.
            source = next((lv for lv in walk if lv.texts), None)
    if source is None:
        return await _missing(resolver, domain, psl_org, walk_org)

    problems = _record_problems(source, domain)
    rec = source.record
    base = DmarcResult(
        status=Status.INVALID,
        record=source.text,
        source_domain=source.name,
        org_domain=psl_org,
        treewalk_org_domain=walk_org,
    )
    if rec is None or any(p.severity is Severity.ERROR for p in problems):
        return replace(base, problems=tuple(problems))

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
        owner = "the public suffix operator's record" if source.psd == "y" else "the record"
        problems.append(
            _problem(
                "inherited",
                Severity.INFO,
                f"there is no record at _dmarc.{domain}; {owner} at _dmarc.{source.name} "
                f"applies ({applied})",
                f"publish a record at _dmarc.{domain} only if {domain} needs its own policy",
            )
        )
    if rec.psd == "y" and is_self and public_suffix(domain) != domain:
        problems.append(
            _problem(
                "psd_misused",
                Severity.WARNING,
                f"psd=y declares {domain} a public suffix (a registry): each of its "
                "subdomains becomes an organisation of its own",
                "remove psd=y unless you run a public suffix",
            )
        )
    problems.extend(_policy_problems(rec, effective, pct, psl_org))
    problems.extend(external)
    if walk_org is not None and walk_org != psl_org:
        problems.append(_disagreement(domain, psl_org, walk_org, levels, source.name))
    return replace(
        base,
        status=Status.VALID,
        policy=rec.policy,
        subdomain_policy=rec.subdomain_policy or rec.policy,
        effective_policy=effective,
        pct=pct,
        rua=tuple(uri.uri for uri in rec.rua),
        ruf=tuple(uri.uri for uri in rec.ruf),
        problems=tuple(problems),
    )


async def _missing(
    resolver: Resolver, domain: str, psl_org: str, walk_org: str | None
) -> DmarcResult:
    host = f"_dmarc.{domain}"
    doubled = await find_zone_doubled(resolver, host, (domain, psl_org), looks_like_dmarc)
    if doubled is not None:
        problem = zone_doubled_problem("dmarc", host, doubled[0], doubled[1])
    else:
        problem = _problem(
            "missing",
            Severity.ERROR,
            f"no DMARC record applies to {domain}: none at {host} nor at a parent domain",
            f"publish a TXT record at {host} with the value: {_starting_record(psl_org)}",
        )
    return DmarcResult(
        status=Status.MISSING,
        org_domain=psl_org,
        treewalk_org_domain=walk_org,
        problems=(problem,),
    )
