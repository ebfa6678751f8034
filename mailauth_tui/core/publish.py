"""The DNS records an admin must publish: DKIM key, SPF (merged into an existing record), DMARC.

Pure: the caller supplies what DNS currently holds (and, for SPF, the lookup counts it
measured with the evaluator); nothing here resolves a name.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.names import normalize_domain
from mailauth_tui.core.psl import org_domain
from mailauth_tui.core.results import PublishRecord
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
from mailauth_tui.core.spf_types import MAX_LOOKUPS

DEFAULT_TTL = 3600
TXT_STRING_MAX = 255  # RFC 1035 3.3: one character-string holds at most 255 octets
SPF_SIZE_ADVICE = 450  # RFC 7208 3.4: keep the answer within a 512-octet UDP message
DKIM_KEY_TYPES = ("rsa", "ed25519")

_SELECTOR_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")
# A term's qualifier, name, and what follows the name (":", "/" or "=" and the argument).
_TERM = re.compile(r"^([+\-~?]?)([a-z][a-z0-9_.-]*)(.*)$", re.IGNORECASE)
_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# --- TXT presentation ----------------------------------------------------------------------


def split_txt(value: str, size: int = TXT_STRING_MAX) -> tuple[str, ...]:
    """Cut ``value`` into character-strings of at most ``size`` UTF-8 bytes each.

    A multi-byte character is never split; readers join the strings with nothing in between
    (RFC 7208 3.3, RFC 6376 3.6.2.2), so the cut points carry no meaning. An empty value is one
    empty string: a TXT record has at least one.
    """
    if not 1 <= size <= TXT_STRING_MAX:
        raise ValueError(f"a TXT character-string holds 1 to {TXT_STRING_MAX} bytes, not {size}")
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for char in value:
        width = len(char.encode("utf-8"))
        if used + width > size:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += width
    if current or not chunks:
        chunks.append("".join(current))
    return tuple(chunks)


def quote_string(chunk: str) -> str:
    # RFC 1035 5.1: inside quotes, \" and \\ stand for themselves and \DDD for any octet; the
    # octets outside printable ASCII are written as \DDD so the line survives any editor.
    out: list[str] = []
    for byte in chunk.encode("utf-8"):
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def zone_line(host: str, chunks: Sequence[str], ttl: int = DEFAULT_TTL) -> str:
    """A zone-file line: ``host. 3600 IN TXT "chunk1" "chunk2"``."""
    if not 0 <= ttl <= 2**31 - 1:
        raise ValueError(f"invalid TTL {ttl}")
    owner = host if host.endswith(".") else host + "."
    strings = " ".join(quote_string(c) for c in chunks) if chunks else '""'
    return f"{owner} {ttl} IN TXT {strings}"


def provider_host(host: str, zone: str | None = None) -> str:
    """``host`` relative to ``zone`` as DNS providers' forms want it: ``@`` for the apex,
    ``mt202612._domainkey`` below it. Without a zone, the registered domain (Public Suffix
    List): what a provider hosts a zone for. A host outside the zone stays whole."""
    name = host.rstrip(".").lower()
    base = (zone or org_domain(name) or name).rstrip(".").lower()
    if name == base:
        return "@"
    if name.endswith("." + base):
        return name[: -len(base) - 1]
    return name


def txt_record(
    kind: str, host: str, value: str, *, required: bool, note: str, already: bool = False
) -> PublishRecord:
    chunks = split_txt(value)
    return PublishRecord(
        kind=kind,
        host=host,
        rtype="TXT",
        value=value,
        chunks=chunks,
        zone_line=zone_line(host, chunks),
        required=required,
        note=note,
        already_published=already,
        short_host=provider_host(host),
    )


def _form_host_hint(host: str) -> str:
    return f"in a DNS provider's form the host is usually just '{provider_host(host)}'"


# --- DKIM ----------------------------------------------------------------------------------


def dkim_publish(domain: str, selector: str, key_type: str, public_key: str) -> PublishRecord:
    """The DKIM key record ``<selector>._domainkey.<domain>`` (RFC 6376 3.6.1, RFC 8463)."""
    name = normalize_domain(domain).ascii
    labels = selector.strip().lower().split(".")
    if not all(_SELECTOR_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"invalid DKIM selector {selector!r}")
    kind = key_type.strip().lower()
    if kind not in DKIM_KEY_TYPES:
        raise ValueError(f"unsupported DKIM key type {key_type!r}: rsa or ed25519")
    key = "".join(public_key.split())
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the DKIM public key is not valid base64") from None
    if not raw:
        raise ValueError("the DKIM public key is empty")
    if kind == "ed25519" and len(raw) != 32:
        raise ValueError(f"an Ed25519 DKIM key is 32 raw bytes (RFC 8463), not {len(raw)}")

    host = f"{'.'.join(labels)}._domainkey.{name}"
    value = f"v=DKIM1; k={kind}; p={key}"
    note = f"DKIM key ({'Ed25519' if kind == 'ed25519' else 'RSA'}); " + _form_host_hint(host)
    if len(split_txt(value)) > 1:
        note += (
            "; the value is longer than 255 bytes: web forms take it whole, zone files need "
            "the quoted strings of the zone line"
        )
    return txt_record("DKIM", host, value, required=True, note=note)


# --- SPF -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Term:
    text: str  # as written in the record
    qualifier: str  # "" when none was written
    name: str  # lower case: include, ip4, all, redirect, ...
    arg: str  # after ":" or "=" ("" when none); a "/cidr" stays in it for ip4/ip6

    @property
    def passes(self) -> bool:
        return self.qualifier in ("", "+")


def _parsed_terms(record: SpfRecord) -> list[_Term]:
    terms: list[_Term] = []
    for term in record.terms:
        if isinstance(term, Modifier):
            terms.append(_Term(str(term), "", term.name, term.value))
            continue
        qualifier = "" if term.qualifier is Qualifier.PASS else term.qualifier.value
        arg = str(term.network) if term.network is not None else term.domain_spec or ""
        terms.append(_Term(str(term), qualifier, term.kind.value, arg))
    return terms


def _split_terms(record: str) -> list[_Term]:
    """A plain split on spaces, for a record the parser refuses: the merge still works on it
    (its unparsable terms are kept as they are) and the note reports the syntax error."""
    terms: list[_Term] = []
    for text in record.split()[1:]:
        match = _TERM.match(text)
        if match is None:  # kept as it is: the merge must not lose what it does not grasp
            terms.append(_Term(text, "", "", ""))
            continue
        qualifier, name, rest = match.groups()
        arg = rest[1:] if rest[:1] in (":", "=") else rest
        terms.append(_Term(text, qualifier, name.lower(), arg))
    return terms


# Misspelt mechanism names whose meaning is certain: "ipv4:192.0.2.1" can only be ip4.
_TERM_SPELLINGS = (("ipv4:", "ip4:"), ("ipv6:", "ip6:"), ("ip4=", "ip4:"), ("ip6=", "ip6:"))


def repaired_spf(text: str) -> tuple[str, list[str]]:
    """A record with a syntax error made valid: each term that does not parse is respelt
    when its meaning is certain (``ipv4:`` is ``ip4:``), else left out. Returns the record
    and what was done to each term, in words."""
    words = text.split()
    kept: list[str] = []
    said: list[str] = []
    for word in words[1:]:
        try:
            parse_term(word)
        except RecordSyntaxError as exc:
            fixed = _respelt(word)
            if fixed is not None:
                kept.append(fixed)
                said.append(f"{word!r} is written {fixed!r}")
            else:
                said.append(f"{word!r} is left out ({exc.message})")
            continue
        kept.append(word)
    return " ".join([words[0], *kept]), said


def _respelt(word: str) -> str | None:
    for wrong, right in _TERM_SPELLINGS:
        at = word.lower().find(wrong)
        if 0 <= at <= 1:  # after an optional qualifier
            candidate = word[:at] + right + word[at + len(wrong) :]
            try:
                parse_term(candidate)
            except RecordSyntaxError:
                return None
            return candidate
    return None


def _network(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _source_network(source: str) -> Network:
    try:
        return ipaddress.ip_network(source.strip(), strict=True)
    except ValueError:
        raise ValueError(
            f"{source!r} is not an IP address or network (e.g. 192.0.2.10, 2001:db8::/32)"
        ) from None


def _network_term(net: Network) -> str:
    mech = "ip4" if net.version == 4 else "ip6"
    whole = net.prefixlen == net.max_prefixlen
    return f"{mech}:{net.network_address}" if whole else f"{mech}:{net}"


def _within(inner: Network, outer: Network) -> bool:
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def _covers(terms: Sequence[_Term], net: Network) -> bool:
    """Whether a passing ip4/ip6 term already covers ``net`` (e.g. a /24 holding the IP)."""
    mech = "ip4" if net.version == 4 else "ip6"
    for term in terms:
        if term.name == mech and term.passes:
            have = _network(term.arg)
            if have is not None and _within(net, have):
                return True
    return False


def _top_level_lookups(terms: Sequence[_Term]) -> int:
    return sum(1 for t in terms if t.name in _LOOKUP_TERMS)


def _lookup_note(before: int | None, after: int, exact: bool) -> str:
    prefix = "" if exact else "at least "
    counts = f"{after}" if before is None else f"{before} -> {after}"
    text = f"{prefix}{counts} DNS lookup{'' if after == 1 else 's'}"
    if after > MAX_LOOKUPS:
        text += (
            f"; WARNING: over SPF's limit of {MAX_LOOKUPS} (RFC 7208 4.6.4), receivers "
            "will answer permerror and SPF fails for all mail: replace an include by its "
            "ip4/ip6 ranges or remove services that no longer send"
        )
    if not exact:
        text += ", counted on the top-level terms; verify counts the nested ones"
    return text


def spf_publish(
    domain: str,
    existing: str | None,
    include: str | None,
    ips: Sequence[str],
    lookups_before: int | None = None,
    lookups_after: int | None = None,
    authorised: Collection[str] = (),
) -> PublishRecord:
    """The one SPF record to publish at ``domain`` so it authorises the sending sources.

    With an ``existing`` record the sources are merged into it (a domain must have only one
    SPF record, RFC 7208 3.2): new terms go just before ``all`` (terms after it are never
    reached) or before ``redirect=``, terms already there are not repeated, and the existing
    ``all`` keeps its qualifier. ``lookups_before`` / ``lookups_after`` are the counts the
    evaluator measured, nested includes included; without them the note gives the top-level
    count as a lower bound. ``authorised``: configured sources (the include domain, single
    addresses) that evaluating the existing record showed authorised already, through one
    of its includes: they are not added again. Raises ValueError for an invalid include, IP
    or existing record.
    """
    name = normalize_domain(domain).ascii
    host = name
    include_name = normalize_domain(include).ascii if include else None
    networks = [_source_network(ip) for ip in ips]
    if include_name is None and not networks:
        return sources_needed(host, existing)

    if existing is None or not existing.strip():
        return _new_spf(host, include_name, networks, lookups_after)

    text = " ".join(existing.split())
    if not is_spf_record(text):
        raise ValueError(f"the existing record is not an SPF record: {existing!r}")
    problems: list[str] = []
    repaired = False
    try:
        terms = _parsed_terms(parse_spf(text))
    except RecordSyntaxError as exc:
        text, repairs = repaired_spf(text)
        try:
            terms = _parsed_terms(parse_spf(text))
            repaired = True
            problems.append(f"{_REPAIRED} ({'; '.join(repairs)})")
        except RecordSyntaxError:
            terms = _split_terms(text)
            problems.append(f"your existing record has an error {exc}: fix it in the merged record")
    additions: list[str] = []
    if include_name is not None:
        matches = [t for t in terms if t.name == "include" and _same_name(t.arg, include_name)]
        if not matches and include not in authorised:
            additions.append(f"include:{include_name}")
        elif matches and not any(t.passes for t in matches):
            problems.append(
                f"'{matches[0].text}' does not authorise {include_name}: write it "
                f"'include:{include_name}'"
            )
    for ip, net in zip(ips, networks, strict=True):
        term = _network_term(net)
        if not _covers(terms, net) and term not in additions and ip not in authorised:
            additions.append(term)

    if not additions and not repaired:
        note = "your existing SPF record already authorises the sending sources"
        if problems:
            note = "; ".join(problems)
        return txt_record("SPF", host, text, required=False, note=note, already=not problems)

    at = next(
        (i for i, t in enumerate(terms) if t.name == "all"),
        next((i for i, t in enumerate(terms) if t.name == "redirect"), len(terms)),
    )
    merged_terms = [t.text for t in terms]
    merged_terms[at:at] = additions
    merged = " ".join(["v=spf1", *merged_terms])

    exact = lookups_before is not None and lookups_after is not None
    before = lookups_before if lookups_before is not None else _top_level_lookups(terms)
    added = sum(1 for a in additions if a.startswith("include:"))
    after = lookups_after if lookups_after is not None else before + added
    note = (
        f"merged with your existing SPF record: replace it, do not add a second one "
        f"({_lookup_note(before, after, exact)})"
    )
    if repaired:
        note = "; ".join(problems) + "; " + note
        problems = []
    if len(merged.encode("utf-8")) > SPF_SIZE_ADVICE:
        note += (
            f"; the record is over {SPF_SIZE_ADVICE} bytes and may not fit a UDP answer "
            "(RFC 7208 3.4)"
        )
    if problems:
        note += "; " + "; ".join(problems)
    return txt_record("SPF", host, merged, required=False, note=note)


_REPAIRED = (
    "your SPF record has a syntax error, so receivers ignore it (permerror for all mail): this "
    "replacement corrects it"
)
SOURCES_NEEDED = (
    "no sending source is configured, so no SPF record can authorise your servers (a record "
    "without them authorises no server at all): name them in the settings file under "
    '[sending]: include = "<your provider\'s SPF domain>" and/or ips = ["<your server\'s '
    'address>"], then show the records again'
)


def sources_needed(host: str, existing: str | None) -> PublishRecord:
    """The SPF entry when no sending source is configured: nothing to publish (the value is
    empty), the published record (if any) kept as it is, and what the settings need."""
    if existing is not None and is_spf_record(" ".join(existing.split())):
        text = " ".join(existing.split())
        note = f"your SPF record is kept as it is; {SOURCES_NEEDED}"
        try:
            parse_spf(text)
        except RecordSyntaxError:
            text, said = repaired_spf(text)
            note = f"{_REPAIRED} ({'; '.join(said)}); {SOURCES_NEEDED}"
        return txt_record("SPF", host, text, required=False, note=note)
    return PublishRecord(
        kind="SPF",
        host=host,
        rtype="TXT",
        value="",
        chunks=(),
        zone_line="",
        required=False,
        note=SOURCES_NEEDED,
        short_host=provider_host(host),
    )


# --- SPF records built for a diagnostic's fix ---------------------------------------------


def source_term(source: str) -> str | None:
    """``ip4:...`` / ``ip6:...`` for a configured source address or network, None if neither."""
    net = _network(source.strip())
    return _network_term(net) if net is not None else None


def starting_record(include: str | None, ips: Sequence[str]) -> str:
    """A first SPF record authorising the configured sources (the domain's MX hosts when none
    is configured). ``~all`` like the record the console publishes: a first record cannot know
    every service already sending for the domain; DMARC's policy does the enforcing."""
    terms = [t for t in (source_term(ip) for ip in ips) if t]
    if include:
        terms.insert(0, f"include:{include}")
    if not terms:
        terms = ["mx"]
    return " ".join(["v=spf1", *dict.fromkeys(terms), "~all"])


def with_terms(record: SpfRecord, new_terms: Sequence[str]) -> str:
    """The record text with ``new_terms`` added where evaluation reaches them: before ``all``
    (terms after it are never evaluated), else before ``redirect=``, else at the end. Terms
    already present (compared case-insensitively) are not repeated."""
    have = {str(t).lower() for t in record.terms}
    adding = [t for t in dict.fromkeys(new_terms) if t.lower() not in have]
    words = [str(t) for t in record.terms]
    at = next(
        (
            i
            for i, t in enumerate(record.terms)
            if isinstance(t, Mechanism) and t.kind is MechanismKind.ALL
        ),
        next(
            (
                i
                for i, t in enumerate(record.terms)
                if isinstance(t, Modifier) and t.name == "redirect"
            ),
            len(words),
        ),
    )
    words[at:at] = adding
    return " ".join(["v=spf1", *words])


def merge_records(texts: Sequence[str]) -> str | None:
    """One record holding the mechanisms of several; None when one of them does not parse."""
    try:
        records = [parse_spf(t) for t in texts]
    except RecordSyntaxError:
        return None
    first = records[0]
    extra = [
        str(t)
        for r in records[1:]
        for t in r.terms
        if isinstance(t, Mechanism) and t.kind is not MechanismKind.ALL
    ]
    if first.all is None and first.redirect is None:
        tail = next((r.all for r in records[1:] if r.all is not None), None)
        text = with_terms(first, extra)
        return f"{text} {tail}" if tail is not None else text
    return with_terms(first, extra)


def _same_name(a: str, b: str) -> bool:
    return a.strip().rstrip(".").lower() == b.strip().rstrip(".").lower()


def _new_spf(
    host: str, include_name: str | None, networks: Sequence[Network], lookups: int | None
) -> PublishRecord:
    terms: list[str] = []
    if include_name is not None:
        terms.append(f"include:{include_name}")
    for net in networks:
        term = _network_term(net)
        if term not in terms:
            terms.append(term)
    # ~all, not -all: a first record cannot know every service that already sends for the
    # domain (a newsletter tool, a ticket system), and -all makes some receivers reject that
    # mail before DMARC is even evaluated. Softfail is what sending providers (SendGrid, Zoho,
    # Google) give for a first record; DMARC's policy does the enforcing. Tighten to -all once
    # DMARC reports show every legitimate source passing.
    value = " ".join(["v=spf1", *terms, "~all"])
    exact = lookups is not None
    count = lookups if lookups is not None else (1 if include_name else 0)
    note = f"new SPF record ({_lookup_note(None, count, exact)})"
    return txt_record("SPF", host, value, required=False, note=note)


# --- DMARC ---------------------------------------------------------------------------------


def _report_address(rua: str) -> str:
    address = rua.strip()
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    # ';' ends the tag, ',' separates URIs, '!' starts a size limit (RFC 7489 6.4).
    if (
        not address
        or address.count("@") != 1
        or any(c in ";,!" or c.isspace() or not c.isprintable() for c in address)
    ):
        raise ValueError(f"{rua!r} is not an address for DMARC aggregate reports")
    local, _, domain = address.partition("@")
    if not local:
        raise ValueError(f"{rua!r} is not an address for DMARC aggregate reports")
    return f"{local}@{normalize_domain(domain).ascii}"


def dmarc_publish(domain: str, rua: str | None, existing: str | None) -> PublishRecord:
    """A starting DMARC record (``p=none`` with aggregate reports) at ``_dmarc.<domain>``,
    or the existing record, marked as already published."""
    name = normalize_domain(domain).ascii
    host = f"_dmarc.{name}"
    if existing is not None and existing.strip():
        return txt_record(
            "DMARC",
            host,
            existing.strip(),
            required=False,
            note="a DMARC record is already published",
            already=True,
        )
    value = "v=DMARC1; p=none"
    note = (
        "starting policy: p=none only monitors (Gmail and Yahoo require at least this from bulk "
        "senders); move to p=quarantine, then p=reject, once the reports show your mail passing"
    )
    if rua:
        address = _report_address(rua)
        value += f"; rua=mailto:{address}"
        report_domain = address.rpartition("@")[2]
        if org_domain(report_domain) != org_domain(name):
            note += (
                f"; reports go to another domain: {report_domain} must publish TXT "
                f'"v=DMARC1" at {name}._report._dmarc.{report_domain} to accept them '
                "(RFC 7489 7.1)"
            )
    else:
        note += "; no report address is configured, so you will receive no reports"
    note += "; " + _form_host_hint(host)
    return txt_record("DMARC", host, value, required=False, note=note)
