"""What check_spf() tells an admin: every SPF problem with its stable code, message and fix.

Pure functions over what the traversal found (:mod:`mailauth_tui.core.spf_walk`) and over the
TXT values as published; nothing here asks DNS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise

from mailauth_tui.core.dns_types import Answer, AnswerStatus
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.publish import merge_records, starting_record
from mailauth_tui.core.results import (
    Problem,
    Severity,
)
from mailauth_tui.core.spf import (
    Mechanism,
    MechanismKind,
    Modifier,
    Qualifier,
    SpfRecord,
    is_spf_record,
    parse_spf,
    parse_term,
)
from mailauth_tui.core.spf_types import (
    MAX_LOOKUPS,
    MAX_VOID_LOOKUPS,
    WALK_LOOKUP_CAP,
    Finding,
    SpfOutcome,
    Visit,
)
from mailauth_tui.core.spf_walk import Traversal
from mailauth_tui.core.txt_diagnostics import glued_chunks, literal_quotes, without_quotes

SIZE_ADVICE = 450  # RFC 7208 3.4: keep the answer within a 512-octet UDP message

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


# --- top-level answers ---------------------------------------------------------------------


def missing(domain: str, answer: Answer, include: str | None, ips: Sequence[str]) -> Problem:
    if answer.status is AnswerStatus.NXDOMAIN:
        why = "the name does not exist (NXDOMAIN)"
    elif not answer.records:
        why = "there is no TXT record at all"
    else:
        why = "none of its TXT records starts with v=spf1"
    return Problem(
        code="spf.missing",
        severity=ERR,
        message=f"{domain} has no SPF record: {why}; receivers get SPF 'none' and cannot tell your "
        "servers from forgers",
        fix=f"publish a TXT record at {domain} with the value: {starting_record(include, ips)}",
    )


def unknown(domain: str, detail: str) -> Problem:
    return Problem(
        code="spf.unknown",
        severity=WARN,
        message=(
            f"the SPF check of {domain} could not finish: {detail}; this is a DNS failure, not a "
            "missing record, so the previous verdict stands"
        ),
        fix="check again later; if it persists, check that every nameserver of the zone answers "
        "(a SERVFAIL, REFUSED or a timeout is on the DNS side)",
    )


def multiple(domain: str, texts: Sequence[str]) -> Problem:
    listed = "; ".join(repr(t) for t in texts)
    merged = merge_records(texts)
    fix = f"delete all but one and publish a single TXT record at {domain}"
    fix += f" that keeps every sender, e.g.: {merged}" if merged else " listing every sender"
    return Problem(
        code="spf.multiple_records",
        severity=ERR,
        message=(
            f"{domain} publishes {len(texts)} SPF records ({listed}); RFC 7208 allows exactly one, "
            "so receivers answer permerror and SPF fails for all mail"
        ),
        fix=fix,
    )


_SYNTAX_HINTS = {
    "spf.unknown_mechanism": (
        "mechanisms are all, include, a, mx, ptr, ip4, ip6 and exists (with an optional +, -, "
        "~ or ? before them); modifiers are written name=value, like redirect=example.com"
    ),
    "spf.bad_ip": "write an address as ip4:192.0.2.10 or ip4:192.0.2.0/24 (ip6:2001:db8::/32)",
    "spf.bad_cidr": "a prefix length is /0 to /32 for IPv4 and //0 to //128 for IPv6, no leading "
    "zeros",
    "spf.bad_domain": "give a full domain name such as _spf.example.com",
    "spf.missing_domain": "give the domain after the colon, e.g. include:_spf.example.com",
    "spf.bad_macro": "write macros as %{d}, %{i}, %{ir}.%{v} ... and a literal % as %%",
    "spf.bad_char": "retype the term: it holds a character DNS text should not (a control "
    "character, a tab or a non-ASCII letter from a copy and paste)",
    "spf.duplicate_modifier": "keep only one redirect= and one exp=",
    "spf.unexpected_argument": "remove what follows the mechanism's name",
}


def syntax(domain: str, text: str, err: RecordSyntaxError) -> Problem:
    term = _word_at(text, err.pos)
    hint = _SYNTAX_HINTS.get(err.code, "correct the term")
    return Problem(
        code="spf.syntax",
        severity=ERR,
        message=f"the SPF record of {domain} has a syntax error at position {err.pos} ({term!r}): "
        f"{err.message}; receivers answer permerror for the whole record",
        fix=f"fix the term {term!r}: {hint}",
    )


def _word_at(text: str, pos: int) -> str:
    end = text.find(" ", pos)
    return text[pos : end if end >= 0 else len(text)]


# --- how the TXT value was published ---------------------------------------------------------

_VERSIONISH = re.compile(r"v\s*[=:]\s*spf\s*([0-9.]*)", re.IGNORECASE)
_GLUE_WORD_MAX = 512  # two real terms glued together are far shorter
_GLUE_CANDIDATES = 4
_TERM_START_TEXT = r"(?:include:|ip4:|ip6:|exists:|redirect=|exp=|a:|mx:|ptr:|[-~?+]all$)"
# Searched in the lower-cased word: a case-sensitive alternation of literals lets the regex
# engine skip every position whose character starts none of them, twice as fast as re.I.
_TERM_START = re.compile(_TERM_START_TEXT)
_TERM_START_ANY_CASE = re.compile(_TERM_START_TEXT, re.I)  # lower() may change a length
# The same starts inside a word of the whole value (after a character other than a space, and
# "all" at a word's end), which is where a glued pair can be: one search of the value rules out
# nearly every record, whose words (twenty address terms, some) are then not searched each.
_INNER_TERM_START_TEXT = (
    r"(?<=[^ ])(?:include:|ip4:|ip6:|exists:|redirect=|exp=|a:|mx:|ptr:|[-~?+]all(?=\n?(?: |\Z)))"
)
_INNER_TERM_START = re.compile(_INNER_TERM_START_TEXT)
_INNER_TERM_START_ANY_CASE = re.compile(_INNER_TERM_START_TEXT, re.I)


def published_form(domain: str, answer: Answer, index: int, *, chosen: bool) -> list[Problem]:
    """Mistakes in how the TXT value number ``index`` was entered: literal quotes, whitespace
    around it, a version typo, two terms glued together. ``chosen`` is False for a value that
    is not the domain's SPF record (an ignored look-alike), which makes errors warnings."""
    text = answer.records[index]
    chunks = answer.chunks[index] if index < len(answer.chunks) else ()
    problems: list[Problem] = []
    glued = glued_chunks(chunks, "spf") if len(chunks) > 1 else None
    if glued is not None:
        problems.append(glued)
    split = split_in_strings(domain, chunks) if len(chunks) > 1 else None
    if split is not None:
        problems.append(split)
    quoted = literal_quotes(text, "spf") if '"' in text else None
    if quoted is not None:
        problems.append(quoted)
    cleaned = without_quotes(text) if quoted else text
    stripped = cleaned.strip()
    is_record = is_spf_record(stripped)
    if stripped != cleaned.rstrip(" ") or (cleaned != stripped and not is_spf_record(cleaned)):
        problems.append(
            Problem(
                code="txt.whitespace",
                severity=ERR,
                message=(
                    f"the SPF record of {domain} has whitespace (space, tab or line break) before "
                    "or after the value, so receivers do not see a record starting with 'v=spf1 '"
                ),
                fix=f"edit the record and enter the value without it: {stripped}",
            )
        )
    if not is_record and glued is None:
        typo = _version_typo(domain, stripped)
        if typo is not None:
            problems.append(typo)
    if glued is None and is_record:
        inner = glued_term(stripped)
        if inner is not None:
            problems.append(inner)
    if not chosen:
        problems = [_demote(p, domain) for p in problems]
    return problems


def _split_problem(domain: str, left: str, right: str, where: str, joined: str) -> Problem:
    return Problem(
        code="spf.split_value",
        severity=ERR,
        message=(f"the SPF record of {domain} is split inside the term {left + right!r}: {where}"),
        fix=f"publish the value as one record, joined where it was cut: {joined}",
    )


def split_in_strings(domain: str, chunks: tuple[str, ...]) -> Problem | None:
    """A value a DNS provider cut into strings inside a term, with white space at the cut
    (``"v=spf1 include:_spf.goo "`` ``"gle.com -all"``): DNS joins the strings as they are,
    so the term falls in two."""
    for i, (left, right) in enumerate(pairwise(chunks)):
        if left.rstrip() == left and right.lstrip() == right:
            continue  # no space at the cut: DNS joins the term back whole
        head, tail = left.rstrip().rsplit(" ", 1), right.lstrip().split(" ", 1)
        last, first = head[-1], tail[0]
        if not last or not first or _is_term(first) or not _is_term(last + first):
            continue
        joined = "".join(chunks[:i]) + left.rstrip() + right.lstrip() + "".join(chunks[i + 2 :])
        where = (
            "the DNS provider cut the value into strings there and a space came in at the "
            f"cut, so receivers read {last!r} and {first!r} as two terms"
        )
        return _split_problem(domain, last, first, where, " ".join(joined.split()))
    return None


def split_across_records(domain: str, spf_text: str, other: str) -> Problem | None:
    """An SPF record without ``all`` or ``redirect=`` whose rest was published as a second TXT
    record (``v=spf1 include:_spf.goo`` and ``gle.com -all``): receivers use the first alone."""
    words = other.split()
    if not words or not spf_text.split()[1:]:
        return None
    last, first = spf_text.split()[-1], words[0]
    if _is_term(first) or not _is_term(last + first):
        return None
    if not all(_is_term(w) for w in words[1:]):
        return None
    joined = f"{spf_text.rstrip()}{' '.join(words)}"
    where = (
        "the value was cut there and published as two TXT records, so receivers use the "
        f"first alone ({spf_text!r}) and ignore {other!r}"
    )
    return _split_problem(domain, last, first, where, joined)


def _demote(p: Problem, domain: str) -> Problem:
    return Problem(
        code=p.code,
        severity=WARN,
        message=f"an extra TXT record at {domain} looks like a broken SPF record and is ignored: "
        f"{p.message}",
        fix=f"delete it, or: {p.fix}",
    )


def looks_like_spf(text: str) -> bool:
    """A TXT value that was meant as an SPF record but is not one (quotes, spaces, typos)."""
    if is_spf_record(text):
        return False
    stripped = without_quotes(text).strip()
    if is_spf_record(stripped):
        return True
    low = stripped.lower()
    if low.startswith("spf2.0/"):
        return False  # Sender ID (RFC 4406), another protocol
    return _VERSIONISH.match(stripped) is not None or low.startswith("spf1 ")


def _version_typo(domain: str, text: str) -> Problem | None:
    match = _VERSIONISH.match(text)
    if match is not None:
        version, rest = text[: match.end()], text[match.end() :].lstrip()
    elif text.lower().startswith("spf1"):
        version, rest = text[:4], text[4:].lstrip()
    else:
        return None
    fixed = f"v=spf1 {rest}".rstrip()
    return Problem(
        code="spf.version_typo",
        severity=ERR,
        message=(
            f"the TXT record of {domain} starts with {version!r} instead of 'v=spf1 ' (lower-case "
            "version, then a space), so receivers discard it (RFC 7208 4.5) and see no SPF record"
        ),
        fix=f"edit the record to read: {fixed}",
    )


@lru_cache(maxsize=4096)
def glued_term(text: str) -> Problem | None:
    """Two terms written with no space between them inside one string, like
    ``include:a.exampleinclude:b.example`` (a lost space when the value was assembled)."""
    if text.isascii():
        inner = _INNER_TERM_START.search(text.lower())
    else:
        inner = _INNER_TERM_START_ANY_CASE.search(text)
    if inner is None:
        return None
    for word in text.split(" "):
        if len(word) > _GLUE_WORD_MAX:
            continue
        if word.isascii():
            starts = _TERM_START.finditer(word.lower(), 1)
        else:
            starts = _TERM_START_ANY_CASE.finditer(word, 1)
        for n, match in enumerate(starts):
            if n == _GLUE_CANDIDATES:
                break  # each candidate parses both halves: a hostile word must stay cheap
            i = match.start()
            left, right = word[:i], word[i:]
            if _is_term(left) and _is_term(right):
                return Problem(
                    code="txt.glued_terms",
                    severity=ERR,
                    message=(
                        f"the SPF record holds {word!r}, which reads as the two terms {left!r} and "
                        f"{right!r} with the space between them missing"
                    ),
                    fix=f"insert a space: replace {word!r} by '{left} {right}'",
                )
    return None


def _is_term(word: str) -> bool:
    try:
        parse_term(word)
    except RecordSyntaxError:
        return False
    return True


# --- what the walk found ----------------------------------------------------------------------

_FINDING_FIX = {
    "spf.include_missing": "remove {term!r} or correct the name: the sending service's "
    "documentation gives the exact include domain",
    "spf.redirect_missing": "point {term!r} at a domain that publishes an SPF record, or "
    "replace it with the mechanisms themselves",
    "spf.include_invalid": "the record behind {term!r} is broken; ask its owner to fix it, or "
    "remove the include",
    "spf.loop": "remove {term!r}: it leads back to a record already being evaluated",
    "spf.mx_too_many": "replace {term!r} with ip4:/ip6: terms for the servers that really send "
    "mail (receivers stop at 10 MX names)",
    "spf.multiple_records": "publish exactly one v=spf1 record",
    "spf.syntax": "correct the record",
}


def from_findings(domain: str, findings: Iterable[Finding]) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    unknown_parts: list[str] = []
    for f in findings:
        key = (f.code, f.domain, f.term)
        if key in seen:
            continue
        seen.add(key)
        if f.outcome is SpfOutcome.TEMPERROR:
            unknown_parts.append(f.detail)
            continue
        where = f"in the record of {f.domain}" if f.domain != domain else "in your record"
        via = f" (reached through {' -> '.join(f.chain)})" if len(f.chain) > 2 else ""
        fix = _FINDING_FIX.get(f.code, "correct the term {term!r}").format(term=f.term)
        out.append(
            Problem(
                code=f.code,
                severity=ERR,
                message=f"{f.term!r} {where}{via}: {f.detail}; receivers answer permerror",
                fix=fix,
            )
        )
    if unknown_parts:
        out.append(unknown(domain, "; ".join(dict.fromkeys(unknown_parts))))
    return out


def _breakdown(walk: Traversal) -> str:
    """The lookups of each top-level term, costliest first."""
    costs = sorted(walk.top_costs, key=lambda c: -c[1])
    return ", ".join(f"{term} ({n})" for term, n in costs if n)


def limits(domain: str, walk: Traversal) -> list[Problem]:
    out: list[Problem] = []
    if walk.lookups > MAX_LOOKUPS:
        count = f"at least {walk.lookups}" if walk.lookups > WALK_LOOKUP_CAP else str(walk.lookups)
        out.append(
            Problem(
                code="spf.too_many_lookups",
                severity=ERR,
                message=(
                    f"the SPF record of {domain} needs {count} DNS lookups (include, a, mx, ptr, "
                    f"exists, redirect, nested includes counted); the limit is {MAX_LOOKUPS}, past "
                    f"it receivers answer permerror. Per term: {_breakdown(walk)}"
                ),
                fix="bring it to 10 or fewer: remove includes of services that no longer send, "
                "replace a, mx and ptr by ip4:/ip6: ranges, and replace an include by the "
                "ip4:/ip6: ranges it lists (keep those up to date)",
            )
        )
    elif walk.lookups >= MAX_LOOKUPS - 1:
        out.append(
            Problem(
                code="spf.lookups_near_limit",
                severity=INFO,
                message=(
                    f"the SPF record of {domain} needs {walk.lookups} of the {MAX_LOOKUPS} allowed "
                    f"DNS lookups ({_breakdown(walk)}); one more include will break it"
                ),
                fix=(
                    "before adding a sending service, replace an a/mx term or an include by "
                    "ip4:/ip6: "
                    "ranges"
                ),
            )
        )
    if walk.void_lookups > MAX_VOID_LOOKUPS:
        names = ", ".join(f"{term} -> {name}" for _, term, name in walk.voids)
        out.append(
            Problem(
                code="spf.too_many_void_lookups",
                severity=ERR,
                message=f"{walk.void_lookups} lookups of the SPF record of {domain} find nothing "
                f"(NXDOMAIN or no record: {names}); past {MAX_VOID_LOOKUPS} receivers answer "
                "permerror",
                fix=(
                    "remove the terms that point at names without records, or publish those records"
                ),
            )
        )
    return out


def record_warnings(domain: str, visits: Sequence[Visit], walk: Traversal) -> list[Problem]:
    """Legal but risky or odd things in the records a receiver evaluates."""
    out: list[Problem] = []
    top_text = visits[0].record.text if visits else ""
    for visit in visits:
        record = visit.record
        if visit.effective:
            out.extend(_effective_warnings(domain, _where(visit), record))
        elif record.all is not None and record.all.qualifier is Qualifier.PASS:
            where = _where(visit)
            out.append(
                Problem(
                    code="spf.plus_all",
                    severity=WARN,
                    message=(
                        f"{where} (included from {visit.chain[-2]}) ends with {record.all.text!r}: "
                        "the include matches every server on the internet"
                    ),
                    fix=(
                        f"remove the include of {visit.domain} or ask its owner to end it with "
                        "~all "
                        "or -all"
                    ),
                )
            )
        for m in record.discouraged:
            where = _where(visit)
            if m.kind is MechanismKind.PTR:
                fix = (
                    f"replace {m.text!r} by ip4:/ip6: ranges or a:/mx terms for your servers"
                    if visit.role == "top"
                    else f"ask the owner of {visit.domain} to drop ptr"
                )
                out.append(
                    Problem(
                        code="spf.ptr",
                        severity=WARN,
                        message=(
                            f"{where} uses {m.text!r}: RFC 7208 5.5 says not to (slow, unreliable, "
                            "and some receivers ignore it)"
                        ),
                        fix=fix,
                    )
                )
            if m.uses_p_macro:
                out.append(
                    Problem(
                        code="spf.p_macro",
                        severity=INFO,
                        message=(
                            f"{where} uses the %{{p}} macro in {m.text!r}, which RFC 7208 7.3 says "
                            "not to use"
                        ),
                        fix="use %{i} based names instead",
                    )
                )
    for d, term in dict.fromkeys(walk.unchecked):
        out.append(
            Problem(
                code="spf.macro_unchecked",
                severity=INFO,
                message=(
                    f"{term!r} in the record of {d} depends on the sending address or sender, so "
                    "it was not followed; its lookups count once"
                ),
                fix="",
            )
        )
    if len(top_text.encode()) > SIZE_ADVICE:
        out.append(
            Problem(
                code="spf.long_record",
                severity=INFO,
                message=(
                    f"the SPF record of {domain} is {len(top_text.encode())} bytes; "
                    f"over {SIZE_ADVICE} "
                    "the DNS answer may not fit in UDP (RFC 7208 3.4) and some receivers fail it"
                ),
                fix="shorten it: merge ip4 ranges, move a group of terms to an include of your own",
            )
        )
    return out


def _where(visit: Visit) -> str:
    return "your record" if visit.role == "top" else f"the record of {visit.domain}"


def _effective_warnings(domain: str, where: str, record: SpfRecord) -> list[Problem]:
    out: list[Problem] = []
    all_ = record.all
    if all_ is not None and all_.qualifier is Qualifier.PASS:
        out.append(
            Problem(
                code="spf.plus_all",
                severity=WARN,
                message=(
                    f"{where} ends with {all_.text!r}: every server on the internet may send as "
                    f"{domain}; SPF then proves nothing"
                ),
                fix=f"replace {all_.text!r} by -all (or ~all while you are checking your senders)",
            )
        )
    out.extend(_record_advice(where, record))
    return out


def _record_advice(where: str, record: SpfRecord) -> tuple[Problem, ...]:
    return _advice_for_text(where, record.text)


# Most domains of a run publish one of a few records ("v=spf1 include:<provider> ~all"): the
# advice on a record is a function of where it is and its text.
@lru_cache(maxsize=4096)
def _advice_for_text(where: str, text: str) -> tuple[Problem, ...]:
    return tuple(_advice(where, parse_spf(text)))


def _advice(where: str, record: SpfRecord) -> list[Problem]:
    out: list[Problem] = []
    all_ = record.all
    if all_ is not None:
        q = all_.qualifier
        if q is Qualifier.NEUTRAL:
            out.append(
                Problem(
                    code="spf.softfail_neutral_all",
                    severity=WARN,
                    message=(
                        f"{where} ends with '?all': mail from servers not listed gets 'neutral', "
                        "as if there were no SPF record"
                    ),
                    fix="replace '?all' by '~all' (softfail) or '-all' (fail) once every sender is "
                    "listed",
                )
            )
        elif q is Qualifier.SOFTFAIL:
            out.append(
                Problem(
                    code="spf.softfail_neutral_all",
                    severity=INFO,
                    message=(
                        f"{where} ends with '~all': unlisted servers only softfail; DMARC's policy "
                        "does the enforcing"
                    ),
                    fix=(
                        "once DMARC reports show every legitimate sender passing, "
                        "'-all' is stricter"
                    ),
                )
            )
        # By identity: tuple.index would compare each term before it field by field.
        index = next(i for i, t in enumerate(record.terms) if t is all_)
        after = [
            str(t)
            for t in record.terms[index + 1 :]
            if not isinstance(t, Modifier) or t.name == "redirect"
        ]
        if record.redirect is not None:
            out.append(
                Problem(
                    code="spf.redirect_ignored",
                    severity=WARN,
                    message=(
                        f"{where} has both {all_.text!r} and redirect=: "
                        "redirect is never used (RFC "
                        "7208 6.1)"
                    ),
                    fix=f"remove redirect={record.redirect} or remove {all_.text!r}",
                )
            )
        elif after:
            out.append(
                Problem(
                    code="spf.terms_after_all",
                    severity=WARN,
                    message=(
                        f"{where} has terms after {all_.text!r} ({' '.join(after)}); "
                        "evaluation stops "
                        "at all, so they are never used"
                    ),
                    fix=f"move them before {all_.text!r}",
                )
            )
    elif record.redirect is None:
        out.append(
            Problem(
                code="spf.no_all",
                severity=WARN,
                message=f"{where} has no 'all' and no redirect=: mail from servers not listed gets "
                "'neutral' (the default), as if there were no SPF record",
                fix=f"end the record with ~all or -all: {record.text} ~all",
            )
        )
    seen: set[str] = set()
    for t in record.terms:
        # A parsed mechanism's text is its str(); read directly, as this runs for every term
        # of every record a run meets for the first time.
        word = (t.text or str(t)) if isinstance(t, Mechanism) else str(t)
        low = word.lower()
        if low in seen and not (isinstance(t, Mechanism) and t.kind is MechanismKind.ALL):
            out.append(
                Problem(
                    code="spf.duplicate_term",
                    severity=INFO,
                    message=f"{where} lists {word!r} twice"
                    + (
                        " (each costs a DNS lookup)"
                        if isinstance(t, Mechanism) and t.queries_dns
                        else ""
                    ),
                    fix=f"remove the second {word!r}",
                )
            )
        seen.add(low)
        if not isinstance(t, Mechanism):
            if t.name not in ("redirect", "exp"):
                out.append(
                    Problem(
                        code="spf.unknown_modifier",
                        severity=INFO,
                        message=f"{where} has the modifier {word!r}, which SPF does not define; "
                        "receivers ignore it",
                        fix=f"remove {word!r} unless a tool of yours reads it",
                    )
                )
        elif t.ip is not None and _network_notable(t):
            out.extend(_network_warnings(where, t))
    return out


def _network_notable(m: Mechanism) -> bool:
    """Whether :func:`_network_warnings` has anything to say (mostly not), from the integers."""
    ip, key = m.ip, m.prefix_key
    if ip is None or key is None:
        return False
    version, value, prefix = ip
    if key[1] << key[2] != value:  # host bits set
        return True
    return prefix <= (8 if version == 4 else 16) and m.qualifier is Qualifier.PASS


def _network_warnings(where: str, m: Mechanism) -> list[Problem]:
    ip, key = m.ip, m.prefix_key
    assert ip is not None and key is not None
    version, _, prefix = ip
    out: list[Problem] = []
    # Read from the integers: the ipaddress network is built only for a message that shows it.
    if m.host_bits_set:
        net = m.network
        written = m.text.split(":", 1)[1].split("/", 1)[0]
        out.append(
            Problem(
                code="spf.ip_host_bits",
                severity=INFO,
                message=f"{where} has {m.text!r}: the address has host bits set, so it means {net}",
                fix=f"write ip{version}:{net} if the whole range is meant, or "
                f"ip{version}:{written} for one host",
            )
        )
    wide = 8 if version == 4 else 16
    if prefix <= wide and m.qualifier is Qualifier.PASS:
        addresses = 1 << key[2]  # 2 ** host bits
        out.append(
            Problem(
                code="spf.wide_range",
                severity=WARN,
                message=f"{where} authorises {m.text!r}, {addresses:,} addresses",
                fix="list only the ranges your mail servers use",
            )
        )
    return out
