"""What check_dmarc() tells an admin: every DMARC problem with its stable code, message and fix.

Pure functions over the TXT values as published and the parsed record; nothing here asks DNS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from mailauth_tui.core.dmarc_record import (
    DmarcRecord,
    IgnoredTag,
    corrected_record,
    starts_with_dmarc1,
    text_before_version,
)
from mailauth_tui.core.results import (
    Problem,
    Severity,
)
from mailauth_tui.core.txt_diagnostics import (
    entry_problems,
    reglued,
    repaired_value,
)

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
_VERSION_FIRST = re.compile(r"[ \t\r\n]*v[ \t]*=", re.IGNORECASE)


def problem(code: str, severity: Severity, message: str, fix: str = "") -> Problem:
    return Problem(code=f"dmarc.{code}", severity=severity, message=message, fix=fix)


def starting_record(org: str) -> str:
    return f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{org}"


def lookalike(host: str, text: str, chunks: tuple[str, ...]) -> list[Problem]:
    """Why a TXT value meant as DMARC is not a DMARC record (receivers discard it: RFC 7489
    6.6.3, RFC 9989 4.10) and the exact record to publish instead. Errors: a caller for whom
    another record applies demotes them with :func:`demoted`."""
    corrected = corrected_record(reglued(chunks, "dmarc") if len(chunks) > 1 else text)
    exact = f": {corrected}" if corrected is not None else ""
    problems = [
        replace(p, fix=f"edit the record at {host} to read{exact}") if corrected else p
        for p in entry_problems(text, chunks, "dmarc")
    ]
    repaired = repaired_value(text)
    if starts_with_dmarc1(repaired) and problems:
        return problems  # the publishing mistakes alone hide the record
    before = text_before_version(repaired)
    if before is not None:
        what = "white space" if not before.strip(" \t\r\n") else repr(before.strip(" \t\r\n"))
        problems.append(
            problem(
                "text_before_version",
                ERR,
                f"the TXT record at {host} has {what} before v=DMARC1 ({text!r}): receivers "
                "discard a record that does not start with v=DMARC1 (RFC 7489 6.6.3), so it is "
                "no DMARC record at all",
                f"edit the record so that it starts with v=DMARC1, nothing before it{exact}",
            )
        )
    elif _VERSION_FIRST.match(repaired) is None:
        problems.append(
            problem(
                "version_not_first",
                ERR,
                f"the TXT record at {host} looks like a DMARC record but does not start with "
                f"v=DMARC1 ({text!r}): receivers discard it, so it is no DMARC record at all",
                f"replace it with the same tags, v=DMARC1 first{exact}",
            )
        )
    else:
        problems.append(
            problem(
                "version",
                ERR,
                f"the TXT record at {host} starts with a version tag other than exactly "
                f"'v=DMARC1;' ({text!r}): receivers discard it, so it is no DMARC record at all",
                f"write the version as v=DMARC1 (upper case, then ';'){exact}",
            )
        )
    return problems


def demoted(p: Problem, host: str) -> Problem:
    """A look-alike's problem when a real record applies all the same."""
    return Problem(
        code=p.code,
        severity=WARN,
        message=f"an extra TXT value at {host} looks like a broken DMARC record and is ignored: "
        f"{p.message}",
        fix=f"delete it, or: {p.fix}",
    )


def multiple(host: str, count: int) -> Problem:
    return problem(
        "multiple_records",
        ERR,
        f"{count} DMARC records are published at {host}; receivers ignore them all",
        f"delete all but one v=DMARC1 TXT record at {host}",
    )


def unusable(host: str, reason: str, org: str) -> Problem:
    """A record whose tag list as a whole is invalid (a tag given twice)."""
    return problem(
        "duplicate_tag",
        ERR,
        f"the DMARC record at {host} is not valid: {reason}; a tag given twice makes the whole "
        "record invalid (RFC 6376 3.2), so receivers apply no DMARC policy",
        "keep each tag once; a valid starting point is: " + starting_record(org),
    )


def record_warnings(
    host: str, text: str, chunks: tuple[str, ...], rec: DmarcRecord, org: str
) -> list[Problem]:
    """A record receivers use, but not as published: publishing mistakes, values they discard
    (RFC 9989 4.8), no usable p=. Warnings: the record applies, with the defaults."""
    publishing = entry_problems(text, chunks, "dmarc")
    # The record once every mistake is undone: quotes and "\;" first, and a glued boundary
    # gets its ';' back, so that the values they spoil are kept rather than dropped.
    best = rec.corrected
    if publishing:
        meant = reglued(chunks, "dmarc") if len(chunks) > 1 else text
        best = corrected_record(meant) or best
    problems = [
        replace(
            p,
            severity=WARN,
            message=_IN_A_RECORD.get(p.code, p.message).format(host=host),
            fix=f"edit the record at {host} to read: {best}",
        )
        for p in publishing
    ]
    problems.extend(_ignored(host, tag, best) for tag in rec.ignored)
    p_ignored = any(tag.name == "p" for tag in rec.ignored)
    if not rec.policy_explicit and not p_ignored:
        with_p = rec.corrected.replace("v=DMARC1", "v=DMARC1; p=none", 1)
        if rec.rua:
            problems.append(
                problem(
                    "no_policy_tag",
                    WARN,
                    "the record has no p= tag: receivers read it as p=none (RFC 9989, and RFC "
                    "7489 6.6.3 as rua= is valid); some older receivers ignore the record",
                    f"add p=none (or quarantine / reject) right after v=DMARC1: {with_p}",
                )
            )
        else:
            problems.append(
                problem(
                    "no_policy",
                    WARN,
                    "the record has no p= tag and no valid rua=: RFC 9989 receivers read it as "
                    "p=none, but receivers still on RFC 7489 apply no DMARC at all",
                    f"publish a policy and a report address: {with_p}; rua=mailto:"
                    f"dmarc-reports@{org}",
                )
            )
    return problems


# The generic messages say receivers do not see the record; inside a record receivers use,
# the mistake only spoils the values that hold it.
_IN_A_RECORD = {
    "txt.literal_quotes": 'the DMARC record at {host} contains quote characters ("), stored as '
    "part of the text: receivers ignore the tag values that hold them",
}


def _ignored(host: str, tag: IgnoredTag, corrected: str) -> Problem:
    shown = tag.text if len(tag.text) <= 80 else tag.text[:77] + "..."
    if tag.name:
        message = (
            f"{shown!r} in the DMARC record at {host} is not valid ({tag.reason}): receivers "
            f"ignore it and apply {tag.default}"
        )
    else:
        message = f"{shown!r} in the DMARC record at {host} is not a tag=value pair: ignored"
    if tag.replacement is not None:
        change = f"replace {shown!r} with {tag.replacement!r}"
    else:
        change = f"remove {shown!r}"
    return problem(
        "invalid_tag_value",
        WARN,
        message,
        f"{change}; the corrected record: {corrected}",
    )


def policy_warnings(rec: DmarcRecord, effective: str, pct: int, org: str) -> list[Problem]:
    """What a valid record leaves to be desired."""
    problems: list[Problem] = []
    if effective == "none":
        problems.append(
            problem(
                "policy_none",
                WARN,
                "the policy is none: monitoring only, receivers take no action on failing mail. "
                "Gmail and Yahoo accept p=none from bulk senders, but quarantine or reject is "
                "recommended",
                "once the aggregate reports show that all your mail passes, change p=none to "
                "p=quarantine, then p=reject",
            )
        )
    if pct < 100:
        problems.append(
            problem(
                "pct_partial",
                WARN,
                f"pct={pct}: receivers still on RFC 7489 apply the policy to {pct}% of failing "
                "mail only (RFC 9989 removed pct; t=y is its test mode)",
                "raise pct to 100 (or remove pct=) once reports are clean",
            )
        )
    if not rec.rua and not any(tag.name == "rua" for tag in rec.ignored):
        problems.append(
            problem(
                "no_rua",
                WARN,
                "the record has no valid rua= tag: nobody receives aggregate reports, so you "
                "cannot see who sends mail as your domain",
                f"add rua=mailto:dmarc-reports@{org} to the record",
            )
        )
    if rec.testing:
        problems.append(
            problem(
                "testing",
                WARN,
                "t=y: the domain asks receivers not to apply the policy yet (test mode)",
                "remove t=y when you are ready for the policy to apply",
            )
        )
    if rec.unknown_tags:
        names = ", ".join(rec.unknown_tags)
        problems.append(
            problem(
                "unknown_tag",
                WARN,
                f"unknown tag(s) {names}: receivers ignore them (a typo of a known tag?)",
                f"remove or correct {names}",
            )
        )
    for uri in rec.rua + rec.ruf:
        if uri.scheme != "mailto":
            problems.append(
                problem(
                    "uri_scheme",
                    WARN,
                    f"report destination {uri.uri!r} is not a mailto: URI; receivers are only "
                    "required to support mailto:",
                    "use a mailto: address for reports",
                )
            )
    return problems


def missing(domain: str, host: str, org: str) -> Problem:
    return problem(
        "missing",
        ERR,
        f"no DMARC record applies to {domain}: none at {host} nor at a parent domain",
        f"publish a TXT record at {host} with the value: {starting_record(org)}",
    )


def inherited(domain: str, source: str, applied: str, psd: bool) -> Problem:
    owner = "the public suffix operator's record" if psd else "the record"
    return problem(
        "inherited",
        INFO,
        f"there is no record at _dmarc.{domain}; {owner} at _dmarc.{source} applies ({applied})",
        f"publish a record at _dmarc.{domain} only if {domain} needs its own policy",
    )


def psd_misused(domain: str) -> Problem:
    return problem(
        "psd_misused",
        WARN,
        f"psd=y declares {domain} a public suffix (a registry): each of its subdomains becomes "
        "an organisation of its own",
        "remove psd=y unless you run a public suffix",
    )


def unknown(domain: str, name: str, status: str, detail: str) -> Problem:
    shown = f" ({detail})" if detail else ""
    return problem(
        "unknown",
        WARN,
        f"the DNS lookup of _dmarc.{name} failed ({status}){shown}: the DMARC policy of "
        f"{domain} could not be determined",
        "nothing to change in DNS; check again later",
    )


def org_domain_unknown(
    domain: str, name: str, status: str, detail: str, *, outside_zones: bool = False
) -> Problem:
    """A level above the record that applies failed: the policy stands, the RFC 9989
    organisational domain (used for alignment) is not known. ``outside_zones``: the answer
    is the REFUSED of a server that answers only for its own zones (no resolver took it up)."""
    if outside_zones:
        # Still the refusal of a server answering only for its own zones: no resolver was
        # there to ask instead, and asking again later changes nothing.
        fix = (
            "nothing to change in DNS; give a recursive resolver as a further --nameserver "
            "(the server asked answers only for its own zones)"
        )
    else:
        fix = "nothing to change in DNS; check again later"
    return problem(
        "org_domain_unknown",
        INFO,
        f"the DNS lookup of _dmarc.{name} failed ({detail or status}): the policy "
        f"found below it applies to {domain}, but its RFC 9989 organisational domain (DNS tree "
        "walk, used for alignment) could not be determined",
        fix,
    )


def destination_unknown(dest: str, policy_domain: str, name: str, status: str) -> Problem:
    return problem(
        "external_destination_unknown",
        INFO,
        f"could not check that {dest} accepts DMARC reports for {policy_domain}: the lookup of "
        f"{name} failed ({status})",
        "nothing to change; check again later",
    )


def too_many_destinations(count: int, limit: int, own_org: str) -> Problem:
    return problem(
        "too_many_destinations",
        WARN,
        f"the record names {count} report destinations outside {own_org}; receivers may use "
        f"only the first few (RFC 7489 6.2), and this check asked the first {limit}: "
        f"{count - limit} were not checked",
        "name no more than two report destinations in rua= and in ruf=",
    )


def destination_unauthorized(dest: str, own_org: str, name: str) -> Problem:
    return problem(
        "external_destination_unauthorized",
        WARN,
        f"reports go to {dest}, outside {own_org}, which has not authorised them: receivers will "
        f"not send reports there (no v=DMARC1 record at {name})",
        f"ask the operator of {dest} to publish a TXT record v=DMARC1 at {name}, or send reports "
        f"to an address within {own_org}",
    )


def disagreement(
    domain: str, psl_org: str, walk_org: str, legacy_source: str | None, source: str
) -> Problem:
    """RFC 7489 (Public Suffix List) and RFC 9989 (tree walk) organisational domains differ."""
    both = (
        f"receivers following RFC 7489 (Public Suffix List) take {psl_org} as the "
        f"organisational domain of {domain}; receivers following RFC 9989 (DNS tree walk) take "
        f"{walk_org}"
    )
    if legacy_source != source:
        legacy_text = f"the record at _dmarc.{legacy_source}" if legacy_source else "no record"
        return problem(
            "org_domain_disagree",
            WARN,
            f"{both}, so RFC 7489 receivers apply {legacy_text} while RFC 9989 receivers apply "
            f"the record at _dmarc.{source}",
            f"publish a DMARC record at _dmarc.{domain} itself so every receiver applies the "
            "same policy",
        )
    deeper = max(psl_org, walk_org, key=lambda name: name.count("."))
    return problem(
        "org_domain_disagree",
        INFO,
        f"{both}; both apply the record at _dmarc.{source}, but relaxed alignment differs",
        f"sign with a DKIM d= and use a MAIL FROM domain within {deeper} so that alignment "
        "holds for both kinds of receivers",
    )


def unique(problems: Sequence[Problem]) -> tuple[Problem, ...]:
    # Most domains have one problem or none: nothing to hash then.
    return tuple(problems) if len(problems) < 2 else tuple(dict.fromkeys(problems))
