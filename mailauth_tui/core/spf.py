"""SPF records (RFC 7208): recognising, parsing into frozen dataclasses, and macro expansion.

The parser follows the ABNF of RFC 7208 section 12 and never resolves a name. It is linear in
the length of the record (one split on spaces, then a left-to-right scan of each term) and
caches its results, since the same provider records are met across thousands of domains.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.spf_macros import (
    MacroContext,
    MacroString,
    expand_macros,
    parse_macro_string,
)

__all__ = [
    "DNS_MECHANISMS",
    "MacroContext",
    "Mechanism",
    "MechanismKind",
    "Modifier",
    "Qualifier",
    "SpfRecord",
    "expand_macros",
    "is_spf_record",
    "parse_spf",
    "parse_term",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Qualifier(StrEnum):
    PASS = "+"
    FAIL = "-"
    SOFTFAIL = "~"
    NEUTRAL = "?"

    @property
    def result(self) -> str:
        """The check_host() result a match gives (RFC 7208 4.6.2)."""
        return _QUALIFIER_RESULT[self]


_QUALIFIER_RESULT = {
    Qualifier.PASS: "pass",
    Qualifier.FAIL: "fail",
    Qualifier.SOFTFAIL: "softfail",
    Qualifier.NEUTRAL: "neutral",
}


class MechanismKind(StrEnum):
    ALL = "all"
    INCLUDE = "include"
    A = "a"
    MX = "mx"
    PTR = "ptr"
    IP4 = "ip4"
    IP6 = "ip6"
    EXISTS = "exists"


# The mechanisms that cost one of the 10 DNS lookups (RFC 7208 4.6.4); redirect= is the
# modifier that does too.
DNS_MECHANISMS = frozenset(
    {
        MechanismKind.INCLUDE,
        MechanismKind.A,
        MechanismKind.MX,
        MechanismKind.PTR,
        MechanismKind.EXISTS,
    }
)


@dataclass(frozen=True, slots=True)
class Mechanism:
    """One directive. ``domain_spec`` is the raw (unexpanded) domain-spec or None; ``ip`` is
    (IP version, address as an integer, prefix length) for ip4/ip6, whose :attr:`network` has the
    host bits cleared; ``cidr4``/``cidr6`` for a and mx; ``pos`` is the 0-based offset of the
    term in the record and ``text`` the term as written."""

    qualifier: Qualifier
    kind: MechanismKind
    domain_spec: str | None = None
    ip: tuple[int, int, int] | None = None
    cidr4: int | None = None
    cidr6: int | None = None
    pos: int = 0
    text: str = ""
    # (IP version, network >> host bits, host bits) of an ip4/ip6 term: matching a client is
    # then one shift and one comparison, done for every address term of every record walked.
    prefix_key: tuple[int, int, int] | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        key = None
        if self.ip is not None:
            version, value, prefix = self.ip
            shift = (32 if version == 4 else 128) - prefix
            key = (version, value >> shift, shift)
        object.__setattr__(self, "prefix_key", key)

    @property
    def network(self) -> Network | None:
        """The ip4/ip6 range (host bits cleared); None for other mechanisms. Built on demand:
        an ``ipaddress`` network costs more to make than the rest of parsing the term."""
        return None if self.ip is None else _network(self.ip)

    @property
    def host_bits_set(self) -> bool:
        """An ip4/ip6 address written with bits beyond its prefix length (``192.0.2.1/24``)."""
        key = self.prefix_key
        return self.ip is not None and key is not None and key[1] << key[2] != self.ip[1]

    def __str__(self) -> str:
        return self.text or self._canonical()

    def _canonical(self) -> str:
        q = "" if self.qualifier is Qualifier.PASS else self.qualifier.value
        out = q + self.kind.value
        if self.network is not None:
            out += f":{self.network}"
        if self.domain_spec is not None:
            out += f":{self.domain_spec}"
        if self.cidr4 is not None:
            out += f"/{self.cidr4}"
        if self.cidr6 is not None:
            out += f"//{self.cidr6}"
        return out

    @property
    def queries_dns(self) -> bool:
        return self.kind in DNS_MECHANISMS

    @property
    def uses_p_macro(self) -> bool:
        """A domain-spec with the ``%{p}`` macro, which RFC 7208 7.3 says not to use."""
        spec = self.domain_spec
        return spec is not None and "%" in spec and "p" in parse_macro_string(spec).letters


@dataclass(frozen=True, slots=True)
class Modifier:
    """A ``name=value`` term; ``name`` is lower case."""

    name: str
    value: str
    pos: int = 0

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


Term = Mechanism | Modifier


@dataclass(frozen=True, slots=True)
class SpfRecord:
    terms: tuple[Term, ...]
    redirect: str | None = None  # the redirect= domain-spec
    exp: str | None = None  # the exp= domain-spec
    text: str = ""
    # Derived once: evaluation reads these for every record of every domain checked.
    mechanisms: tuple[Mechanism, ...] = field(init=False, compare=False, repr=False)
    all: Mechanism | None = field(init=False, compare=False, repr=False)
    """The first ``all`` mechanism: evaluation never goes past it."""
    discouraged: tuple[Mechanism, ...] = field(init=False, compare=False, repr=False)
    """``ptr`` terms and terms using the ``%{p}`` macro (RFC 7208 5.5, 7.3): found once per
    record, not on every walk that meets it."""

    def __post_init__(self) -> None:
        # One pass (records of many ip4 terms are common): the p macro needs a '%' first.
        mechanisms: list[Mechanism] = []
        discouraged: list[Mechanism] = []
        first_all = None
        for t in self.terms:
            if not isinstance(t, Mechanism):
                continue
            mechanisms.append(t)
            kind = t.kind
            if kind is MechanismKind.ALL:
                if first_all is None:
                    first_all = t
            elif kind is MechanismKind.PTR or (
                t.domain_spec is not None and "%" in t.domain_spec and t.uses_p_macro
            ):
                discouraged.append(t)
        object.__setattr__(self, "mechanisms", tuple(mechanisms))
        object.__setattr__(self, "all", first_all)
        object.__setattr__(self, "discouraged", tuple(discouraged))

    def __str__(self) -> str:
        return self.text

    @property
    def modifiers(self) -> tuple[Modifier, ...]:
        return tuple(t for t in self.terms if isinstance(t, Modifier))


def is_spf_record(text: str) -> bool:
    """True for a TXT value whose version section is exactly ``v=spf1`` (RFC 7208 4.5):
    followed by a space or the end, so ``v=spf10`` is not one; case-insensitive."""
    return text[:6].lower() == "v=spf1" and (len(text) == 6 or text[6] == " ")


def parse_spf(text: str) -> SpfRecord:
    """Parse an SPF record; raise RecordSyntaxError(pos, message, code) at the bad term."""
    return _parse_cached(text)


@lru_cache(maxsize=8192)
def _parse_cached(text: str) -> SpfRecord:
    if not is_spf_record(text):
        raise RecordSyntaxError(
            0, "not an SPF record: it must start with 'v=spf1' followed by a space", "spf.version"
        )
    terms: list[Term] = []
    redirect: Modifier | None = None
    exp: Modifier | None = None
    pos = 6
    for word in text[6:].split(" "):
        if word:
            term = _parse_term(word, pos)
            if isinstance(term, Modifier):
                if term.name == "redirect":
                    if redirect is not None:
                        raise _err(
                            pos, f"second redirect= modifier {word!r}", "spf.duplicate_modifier"
                        )
                    redirect = term
                elif term.name == "exp":
                    if exp is not None:
                        raise _err(pos, f"second exp= modifier {word!r}", "spf.duplicate_modifier")
                    exp = term
            terms.append(term)
        pos += len(word) + 1
    return SpfRecord(
        terms=tuple(terms),
        redirect=redirect.value if redirect else None,
        exp=exp.value if exp else None,
        text=text,
    )


def parse_term(word: str) -> Term:
    """Parse one term (no spaces); raise RecordSyntaxError. Not cached, unlike parse_spf, so
    diagnostics can probe fragments without filling the record and term caches."""
    if not word or " " in word:
        raise _err(0, f"{word!r} is not a single term")
    return _parse_term.__wrapped__(word, 0)


def _err(pos: int, message: str, code: str = "spf.syntax") -> RecordSyntaxError:
    return RecordSyntaxError(pos, message, code)


_QUALIFIERS = {
    "+": Qualifier.PASS,
    "-": Qualifier.FAIL,
    "~": Qualifier.SOFTFAIL,
    "?": Qualifier.NEUTRAL,
}
_KINDS = {k.value: k for k in MechanismKind}
# modifier = name "=" ...; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
_MODIFIER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*=")
# A mechanism's name runs up to its ":" argument or "/" prefix length.
_MECHANISM_NAME = re.compile(r"[^:/]*")
_IP4_CHARS = frozenset("0123456789.")
_IP6_CHARS = frozenset("0123456789abcdefABCDEF:.")


# Records share terms at the same offset (the include of a provider, right after v=spf1):
# about a third of the terms of a run's distinct records are parsed once for several.
@lru_cache(maxsize=8192)
def _parse_term(word: str, pos: int) -> Term:
    ip4 = _IP4_TERM.fullmatch(word)
    if ip4 is not None:
        # A valid ip4 term, the commonest of all: one match instead of the general path's
        # steps (which any other spelling, and every mistake, still takes).
        q, a, b, c, d, prefix = ip4.groups()
        address = int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)
        return Mechanism(
            qualifier=_QUALIFIERS[q] if q else Qualifier.PASS,
            kind=MechanismKind.IP4,
            ip=(4, address, int(prefix) if prefix else 32),
            pos=pos,
            text=word,
        )
    if not (word.isascii() and word.isprintable()):
        bad = next(c for c in word if not ("!" <= c <= "~"))
        raise _err(pos, f"term {word!r} contains the character {bad!r}", "spf.bad_char")
    modifier = _MODIFIER_NAME.match(word)
    if modifier is not None:
        i = modifier.end()
        return _parse_modifier(word[: i - 1].lower(), word[i:], pos, word)
    qualifier = _QUALIFIERS.get(word[0])
    rest = word[1:] if qualifier is not None else word
    head = _MECHANISM_NAME.match(rest)  # matches always, if only the empty string
    k = head.end() if head is not None else 0
    name = rest[:k]
    kind = _KINDS.get(name.lower())
    if kind is None:
        if not name:
            raise _err(pos, f"term {word!r} has no mechanism name", "spf.unknown_mechanism")
        raise _err(pos, f"unknown mechanism {name!r} in {word!r}", "spf.unknown_mechanism")
    return _parse_mechanism(qualifier or Qualifier.PASS, kind, rest[k:], pos, word)


def _parse_modifier(name: str, value: str, pos: int, word: str) -> Modifier:
    if name in ("redirect", "exp"):
        if not value:
            raise _err(pos, f"{name}= needs a domain name", "spf.missing_domain")
        _check_domain_spec(value, pos, word)
    else:
        try:
            parse_macro_string(value, exp=True)
        except RecordSyntaxError as exc:
            raise _err(pos, f"modifier {word!r}: {exc.message}", exc.code) from None
    return Modifier(name=name, value=value, pos=pos)


def _parse_mechanism(q: Qualifier, kind: MechanismKind, arg: str, pos: int, word: str) -> Mechanism:
    if kind is MechanismKind.ALL:
        if arg:
            raise _err(pos, f"'all' takes no argument: {word!r}", "spf.unexpected_argument")
        return Mechanism(qualifier=q, kind=kind, pos=pos, text=word)
    if kind is MechanismKind.IP4 or kind is MechanismKind.IP6:
        return Mechanism(
            qualifier=q, kind=kind, ip=_parse_network(kind, arg, pos, word), pos=pos, text=word
        )
    cidr4 = cidr6 = None
    if kind is MechanismKind.A or kind is MechanismKind.MX:
        arg, cidr4, cidr6 = _split_dual_cidr(arg, pos, word)
    required = kind is MechanismKind.INCLUDE or kind is MechanismKind.EXISTS
    if not arg:
        if required:
            raise _err(
                pos, f"{kind.value} needs ':' and a domain name: {word!r}", "spf.missing_domain"
            )
        return Mechanism(qualifier=q, kind=kind, cidr4=cidr4, cidr6=cidr6, pos=pos, text=word)
    if arg[0] != ":":
        raise _err(
            pos, f"unexpected {arg!r} after {kind.value!r} in {word!r}", "spf.unexpected_argument"
        )
    spec = arg[1:]
    if not spec:
        raise _err(pos, f"empty domain after ':' in {word!r}", "spf.missing_domain")
    _check_domain_spec(spec, pos, word)
    return Mechanism(
        qualifier=q, kind=kind, domain_spec=spec, cidr4=cidr4, cidr6=cidr6, pos=pos, text=word
    )


def _cidr(digits: str, maximum: int, pos: int, word: str) -> int:
    # ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT); ip6 allows up to three digits.
    width = 2 if maximum == 32 else 3
    if (
        not digits.isdigit()
        or len(digits) > width
        or (len(digits) > 1 and digits[0] == "0")
        or int(digits) > maximum
    ):
        raise _err(pos, f"bad prefix length /{digits} in {word!r} (0-{maximum})", "spf.bad_cidr")
    return int(digits)


def _split_dual_cidr(arg: str, pos: int, word: str) -> tuple[str, int | None, int | None]:
    """Take ``[/cidr4][//cidr6]`` off the end of an a/mx argument. A domain-spec cannot end
    in ``/digits`` (its last label is a toplabel or a macro), so a trailing ``/digits`` is
    always a prefix length."""
    cidr4 = cidr6 = None
    j = arg.rfind("/")
    if j < 0 or not arg[j + 1 :].isdigit():
        return arg, None, None
    if j > 0 and arg[j - 1] == "/":
        cidr6 = _cidr(arg[j + 1 :], 128, pos, word)
        arg = arg[: j - 1]
        j = arg.rfind("/")
        if j < 0 or not arg[j + 1 :].isdigit():
            return arg, None, cidr6
    if j > 0 and arg[j - 1] == "/":
        raise _err(pos, f"two IPv6 prefix lengths in {word!r}", "spf.bad_cidr")
    cidr4 = _cidr(arg[j + 1 :], 32, pos, word)
    return arg[:j], cidr4, cidr6


def _parse_network(kind: MechanismKind, arg: str, pos: int, word: str) -> tuple[int, int, int]:
    v4 = kind is MechanismKind.IP4
    if not arg.startswith(":") or len(arg) == 1:
        example = "ip4:192.0.2.0/24" if v4 else "ip6:2001:db8::/32"
        raise _err(pos, f"{kind.value} needs an address, e.g. {example}: {word!r}", "spf.bad_ip")
    address, slash, digits = arg[1:].partition("/")
    prefix = _cidr(digits, 32 if v4 else 128, pos, word) if slash else (32 if v4 else 128)
    allowed = _IP4_CHARS if v4 else _IP6_CHARS
    try:
        if not address or not allowed.issuperset(address):
            raise ValueError(address)
        if v4:
            return 4, _ip4_int(address), prefix
        return 6, int(ipaddress.IPv6Address(address)), prefix
    except ValueError:
        what = "IPv4" if v4 else "IPv6"
        raise _err(pos, f"{address!r} is not an {what} address in {word!r}", "spf.bad_ip") from None


# qnum = DIGIT / %x31-39 DIGIT / "1" 2DIGIT / "2" %x30-34 DIGIT / "25" %x30-35 (RFC 7208 5.6)
_QNUM = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IP4 = re.compile(rf"(?:{_QNUM}\.){{3}}{_QNUM}")
# A whole valid ip4 term: qualifier, name (any case), four octets, a prefix length of 0-32
# without leading zeros (ip4-cidr-length).
_IP4_TERM = re.compile(
    rf"([+\-~?]?)(?i:ip4):({_QNUM})\.({_QNUM})\.({_QNUM})\.({_QNUM})(?:/(3[0-2]|[12]?[0-9]))?"
)


def _ip4_int(address: str) -> int:
    """ip4-network = qnum "." qnum "." qnum "." qnum: four decimal octets of 0-255 without
    leading zeros, as ``ipaddress`` reads them; one regex match instead of a loop per octet."""
    if _IP4.fullmatch(address) is None:
        raise ValueError(address)
    a, b, c, d = address.split(".")
    return int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)


@lru_cache(maxsize=1024)
def _network(ip: tuple[int, int, int]) -> Network:
    version, value, prefix = ip
    if version == 4:
        return ipaddress.IPv4Network((value, prefix), strict=False)
    return ipaddress.IPv6Network((value, prefix), strict=False)


def _is_toplabel(label: str) -> bool:
    # toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
    if not label or not label.replace("-", "").isalnum():
        return False
    if "-" in label:
        return label[0] != "-" and label[-1] != "-"
    return not label.isdigit()


def _check_domain_spec(spec: str, pos: int, word: str) -> MacroString:
    """domain-spec = macro-string domain-end
    domain-end = ( "." toplabel [ "." ] ) / macro-expand"""
    try:
        parsed = parse_macro_string(spec)
    except RecordSyntaxError as exc:
        raise _err(pos, f"{word!r}: {exc.message}", exc.code) from None
    if not parsed.ends_with_macro:
        body = spec[:-1] if spec.endswith(".") else spec
        dot = body.rfind(".")
        if dot < 0 or not _is_toplabel(body[dot + 1 :]):
            raise _err(
                pos,
                f"{spec!r} in {word!r} is not a domain name: it must end with a dot and a "
                "top-level label such as .com (or with a macro)",
                "spf.bad_domain",
            )
    return parsed
