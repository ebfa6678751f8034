"""DKIM key records (RFC 6376 3.6.1, RFC 8463): parsing, key size and the DNS check."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from mailauth_tui.core.dns_types import Answer, Resolver, RType
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.psl import org_domain
from mailauth_tui.core.results import (
    DkimResult,
    Problem,
    Severity,
    Status,
)
from mailauth_tui.core.rsa_der import NotRsaKey, rsa_modulus_bits
from mailauth_tui.core.tagvalue import parse_tag_list, tags_by_name
from mailauth_tui.core.txt_diagnostics import (
    entry_problems,
    find_zone_doubled,
    repaired_value,
    zone_doubled_problem,
)

_WS = re.compile(r"[ \t\r\n]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_WORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?|\*")
# A value that is nothing but a long base64 string: the key pasted without "p=".
_BARE_KEY = re.compile(r"[A-Za-z0-9+/ \t]{40,}={0,2}")
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")

MIN_RSA_BITS = 1024  # RFC 8301 3.2: verifiers MUST NOT accept smaller keys
GOOD_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class DkimRecord:
    """A parsed DKIM key record. Tag names follow RFC 6376 3.6.1."""

    p: str  # base64 public key, whitespace removed; "" = revoked
    v: str | None = None  # "DKIM1" when given
    k: str = "rsa"  # key type, lower case
    h: tuple[str, ...] = ()  # acceptable hash algorithms; empty = all
    s: tuple[str, ...] = ("*",)  # service types
    t: tuple[str, ...] = ()  # flags: y (testing), s (strict i=/d=)
    n: str | None = None  # notes for humans
    unknown_tags: tuple[str, ...] = ()

    @property
    def revoked(self) -> bool:
        return self.p == ""

    @property
    def testing(self) -> bool:
        return "y" in self.t


def _colon_list(value: str, pos: int, tag: str) -> tuple[str, ...]:
    items = tuple(item.strip(" \t\r\n").lower() for item in value.split(":"))
    for item in items:
        if not _WORD.fullmatch(item):
            raise RecordSyntaxError(pos, f"{tag}= must be a ':'-separated list of words: {value!r}")
    return items


def parse_dkim(text: str) -> DkimRecord:
    """Parse a DKIM key record; raise RecordSyntaxError (``code`` "syntax" or "bad_key")."""
    return _parse_cached(text)


# Pure functions of the text returning frozen records: a provider's key published (through
# CNAMEs) for many domains is parsed, and its DER read, once per run.
@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> DkimRecord:
    tags = parse_tag_list(text)
    by_name = tags_by_name(tags)
    v = by_name.get("v")
    if v is not None:
        if tags[0].name != "v":
            raise RecordSyntaxError(v.pos, "v= must be the first tag of a DKIM key record")
        if v.value != "DKIM1":
            raise RecordSyntaxError(v.value_pos, f"v= must be exactly DKIM1, not {v.value!r}")
    p = by_name.get("p")
    if p is None:
        raise RecordSyntaxError(len(text), "the record has no p= tag (the public key)")
    key = _WS.sub("", p.value)
    if not _BASE64.fullmatch(key) or len(key) % 4:
        raise RecordSyntaxError(p.value_pos, "p= is not valid base64", code="bad_key")
    k = by_name.get("k")
    key_type = k.value.lower() if k is not None else "rsa"
    if k is not None and not _WORD.fullmatch(key_type):
        raise RecordSyntaxError(k.value_pos, f"k= must be a key type such as rsa: {k.value!r}")
    h = by_name.get("h")
    s = by_name.get("s")
    t = by_name.get("t")
    n = by_name.get("n")
    known = {"v", "p", "k", "h", "s", "t", "n"}
    return DkimRecord(
        p=key,
        v=v.value if v is not None else None,
        k=key_type,
        h=_colon_list(h.value, h.value_pos, "h") if h is not None else (),
        s=_colon_list(s.value, s.value_pos, "s") if s is not None else ("*",),
        t=_colon_list(t.value, t.value_pos, "t") if t is not None and t.value else (),
        n=n.value if n is not None else None,
        unknown_tags=tuple(tag.name for tag in tags if tag.name not in known),
    )


def _decode(key: str) -> bytes:
    try:
        return binascii.a2b_base64(key, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise RecordSyntaxError(0, f"p= is not valid base64 ({exc})", code="bad_key") from None


def key_info(rec: DkimRecord) -> tuple[str, int | None]:
    """``(key type, bits)``: the RSA modulus size read from the key itself, 256 for Ed25519,
    None for a revoked key or a key type this code does not know.

    Raise RecordSyntaxError(code="bad_key") when the key data does not hold such a key.
    """
    # Keyed by the two tags the answer depends on: hashing the whole record costs a call.
    return _key_info_cached(rec.k, rec.p)


@lru_cache(maxsize=4096)
def _key_info_cached(k: str, p: str) -> tuple[str, int | None]:
    if not p:  # revoked
        return k, None
    if k == "rsa":
        der = _decode(p)
        try:
            return "rsa", rsa_modulus_bits(der)
        except NotRsaKey as exc:
            raise RecordSyntaxError(
                0, f"p= holds a {exc.kind} key but k=rsa", code="bad_key"
            ) from None
        except ValueError:
            raise RecordSyntaxError(
                0, "p= does not hold an RSA public key (DER SubjectPublicKeyInfo)", code="bad_key"
            ) from None
    if k == "ed25519":
        raw = _decode(p)
        if len(raw) == 44 and raw.startswith(_ED25519_SPKI_PREFIX):
            fixed = binascii.b2a_base64(raw[-32:], newline=False).decode("ascii")
            raise RecordSyntaxError(
                0,
                "p= holds the Ed25519 key wrapped in SubjectPublicKeyInfo; RFC 8463 wants the "
                f"raw 32-byte key: p={fixed}",
                code="bad_key",
            )
        if len(raw) != 32:
            raise RecordSyntaxError(
                0, f"an Ed25519 key is 32 bytes (RFC 8463), p= holds {len(raw)}", code="bad_key"
            )
        return "ed25519", 256
    return k, None


@lru_cache(maxsize=4096)
def _looks_like_dkim(text: str) -> bool:
    """Whether a TXT value at a ``_domainkey`` name is meant as a key record (so that a
    verification token published there does not count, and a broken key record does)."""
    cleaned = repaired_value(text).strip()
    if cleaned.startswith("v=DKIM") or _BARE_KEY.fullmatch(cleaned):
        return True
    return re.search(r"(?:^|;)\s*p\s*=", cleaned) is not None


def _same_key(a: str, b: str) -> bool:
    a, b = _WS.sub("", a), _WS.sub("", b)
    if a == b:
        return True
    try:
        return binascii.a2b_base64(a) == binascii.a2b_base64(b)
    except (binascii.Error, ValueError):
        return False


def _problem(code: str, severity: Severity, message: str, fix: str = "") -> Problem:
    return Problem(code=f"dkim.{code}", severity=severity, message=message, fix=fix)


def _syntax_problem(err: RecordSyntaxError, host: str) -> Problem:
    code = "bad_key" if err.code == "bad_key" else "syntax"
    return _problem(
        code,
        Severity.ERROR,
        f"the DKIM record at {host} is not valid: {err}",
        "correct the record so that it reads: v=DKIM1; k=rsa; p=<base64 public key> "
        "(copy the value shown by the console exactly)",
    )


_P_TAG = re.compile(r"(?:^|;)[ \t\r\n]*p[ \t\r\n]*=([^;]*)")
_K_TAG = re.compile(r"(?:^|;)[ \t\r\n]*k[ \t\r\n]*=[ \t\r\n]*([A-Za-z0-9]+)")


def _held_and_needed(key: str, key_type: str) -> tuple[int, int] | None:
    """(bytes held, bytes the key needs) when the base64 key is cut short: fewer than the 32
    bytes of an Ed25519 key, or fewer than the length an RSA key's DER header declares."""
    key = key[: len(key) - len(key) % 4] if len(key) % 4 != 1 else key[:-1]
    try:
        raw = binascii.a2b_base64(key + "=" * (-len(key) % 4))
    except (binascii.Error, ValueError):
        return None
    if key_type == "ed25519":
        return (len(raw), 32) if 0 < len(raw) < 32 else None
    if key_type != "rsa" or len(raw) < 4 or raw[0] != 0x30:
        return None
    if raw[1] & 0x80:
        size = raw[1] & 0x7F
        if not 0 < size <= 4 or len(raw) < 2 + size:
            return None
        needed = 2 + size + int.from_bytes(raw[2 : 2 + size], "big")
    else:
        needed = 2 + raw[1]
    return (len(raw), needed) if len(raw) < needed else None


def _truncation(text: str, host: str, expected: str | None) -> Problem | None:
    """A key record whose key was cut short (a provider's 255-character field, a partial
    copy): named as truncated, with the exact whole value when the expected key is known."""
    p_tag = _P_TAG.search(text)
    if p_tag is None:
        return None
    published = _WS.sub("", p_tag.group(1))
    k_tag = _K_TAG.search(text)
    key_type = k_tag.group(1).lower() if k_tag is not None else "rsa"
    if not published:
        return None
    if expected is not None:
        whole = _WS.sub("", expected)
        if len(published) < len(whole) and whole.startswith(published):
            value = f"v=DKIM1; k={key_type}; p={whole}"
            return _problem(
                "truncated",
                Severity.ERROR,
                f"the DKIM key at {host} is truncated: it holds the first {len(published)} of "
                f"the key's {len(whole)} characters, so receivers cannot verify signatures",
                f"publish the whole value at {host}: {value}",
            )
        return None
    cut = _held_and_needed(published, key_type)
    if cut is None:
        return None
    return _problem(
        "truncated",
        Severity.ERROR,
        f"the DKIM key at {host} is truncated: it holds {cut[0]} bytes of the {cut[1]} the "
        "key needs, so receivers cannot verify signatures",
        f"publish the whole key at {host}: copy the value again from where the key was made "
        "(a DNS provider's field may cut it at 255 characters: enter it whole, or as several "
        "strings)",
    )


def _evaluate(
    text: str, chunks: tuple[str, ...], host: str, expected: str | None
) -> tuple[Status, DkimRecord | None, str | None, int | None, list[Problem]]:
    problems = entry_problems(text, chunks, "dkim")
    broken = bool(problems)
    candidate = repaired_value(text) if broken else text
    if _BARE_KEY.fullmatch(candidate.strip()):
        problems.append(
            _problem(
                "syntax",
                Severity.ERROR,
                f"the record at {host} is a bare key: the tags are missing",
                f"enter the value as: v=DKIM1; k=rsa; p={_WS.sub('', candidate)}",
            )
        )
        return Status.INVALID, None, None, None, problems
    try:
        rec = parse_dkim(candidate)
    except RecordSyntaxError as err:
        problems.append(_truncation(candidate, host, expected) or _syntax_problem(err, host))
        return Status.INVALID, None, None, None, problems
    if rec.revoked:
        problems.append(
            _problem(
                "revoked",
                Severity.ERROR,
                f"the DKIM key at {host} is revoked (empty p=): mail signed with it fails",
                "publish the current public key in p=, or sign with another selector",
            )
        )
        return Status.REVOKED, rec, rec.k, None, problems
    status = Status.INVALID if broken else Status.VALID
    try:
        key_type, bits = key_info(rec)
    except RecordSyntaxError as err:
        problems.append(_truncation(candidate, host, expected) or _syntax_problem(err, host))
        return Status.INVALID, rec, rec.k, None, problems
    if key_type == "rsa" and bits is not None:
        if bits < MIN_RSA_BITS:
            status = Status.INVALID
            problems.append(
                _problem(
                    "key_too_short",
                    Severity.ERROR,
                    f"the RSA key at {host} has {bits} bits; receivers reject keys under "
                    f"{MIN_RSA_BITS} bits (RFC 8301)",
                    "generate a 2048-bit key (rotate the DKIM key) and publish it",
                )
            )
        elif bits < GOOD_RSA_BITS:
            problems.append(
                _problem(
                    "key_weak",
                    Severity.WARNING,
                    f"the RSA key at {host} has {bits} bits; 2048 bits is the current minimum "
                    "recommendation",
                    "rotate to a 2048-bit key",
                )
            )
    elif key_type not in ("rsa", "ed25519"):
        # RFC 6376 3.6.1 / 6.1.2: a verifier ignores a key record of an unknown type, so no
        # signature made with this selector verifies: the record is unusable.
        status = Status.INVALID
        problems.append(
            _problem(
                "unknown_key_type",
                Severity.ERROR,
                f"k={rec.k} is not a key type receivers know (rsa, ed25519): they ignore this "
                "key record, so no signature made with it verifies (RFC 6376 3.6.1)",
                "publish an rsa (or ed25519) key: v=DKIM1; k=rsa; p=<base64 public key>",
            )
        )
    if not ({"email", "*"} & set(rec.s)):
        status = Status.INVALID
        problems.append(
            _problem(
                "service_type",
                Severity.ERROR,
                f"s={':'.join(rec.s)} excludes email: receivers may not use this key for mail",
                "remove the s= tag (or set s=email)",
            )
        )
    if rec.testing:
        problems.append(
            _problem(
                "testing",
                Severity.WARNING,
                "t=y: the domain says it is testing DKIM, so receivers may treat failures as "
                "if the mail were unsigned",
                "remove t=y once signing works",
            )
        )
    if rec.h and "sha256" not in rec.h:
        problems.append(
            _problem(
                "sha1_only",
                Severity.WARNING,
                f"h={':'.join(rec.h)} does not allow sha256; receivers no longer accept sha1 "
                "signatures (RFC 8301)",
                "remove the h= tag (or set h=sha256)",
            )
        )
    if expected is not None and not _same_key(rec.p, expected):
        status = Status.INVALID
        problems.append(
            _problem(
                "key_mismatch",
                Severity.ERROR,
                f"the key published at {host} is not the key this console signs with",
                f"replace the value at {host} with the DKIM record shown by the console "
                "(p= must match exactly)",
            )
        )
    return status, rec, key_type, bits, problems


def _without_key(
    selector: str, host: str, chain: tuple[str, ...], status: Status, problem: Problem
) -> DkimResult:
    return DkimResult(
        selector=selector, status=status, host=host, cname_chain=chain, problems=(problem,)
    )


async def check_dkim(
    resolver: Resolver, domain: str, selector: str, expected_public_key: str | None = None
) -> DkimResult:
    """Look up ``<selector>._domainkey.<domain>`` and judge the key published there."""
    domain = domain.strip().rstrip(".").lower()
    host = f"{selector}._domainkey.{domain}"
    answer = await resolver.query(host, RType.TXT)
    chain = answer.cname_chain
    if answer.unknown:
        detail = f" ({answer.detail})" if answer.detail else ""
        problem = _problem(
            "unknown",
            Severity.WARNING,
            f"the DNS lookup of {host} failed ({answer.status}){detail}: the key could not be "
            "checked",
            "nothing to change in DNS; check again later",
        )
        return _without_key(selector, host, chain, Status.UNKNOWN, problem)
    found = [i for i, text in enumerate(answer.records) if _looks_like_dkim(text)]
    if not found:
        problem = await _missing_problem(resolver, domain, host, answer)
        return _without_key(selector, host, chain, Status.MISSING, problem)
    if len(found) > 1:
        problem = _problem(
            "multiple_records",
            Severity.ERROR,
            f"{len(found)} DKIM records are published at {host}; receivers cannot tell which "
            "key to use",
            f"delete all but one TXT record at {host} (keep the one shown by the console)",
        )
        return _without_key(selector, host, chain, Status.INVALID, problem)
    index = found[0]
    text = answer.records[index]
    chunks = answer.chunks[index] if index < len(answer.chunks) else (text,)
    status, rec, key_type, bits, problems = _evaluate(text, chunks, host, expected_public_key)
    return DkimResult(
        selector=selector,
        status=status,
        host=host,
        record=text,
        key_type=key_type,
        key_bits=bits,
        public_key=rec.p if rec is not None else None,
        cname_chain=chain,
        problems=tuple(problems),
    )


async def _missing_problem(resolver: Resolver, domain: str, host: str, answer: Answer) -> Problem:
    # The commonest cause of a "missing" key that the admin did publish: the provider's form
    # wanted a relative host and appended the zone to the full name typed in.
    doubled = await find_zone_doubled(
        resolver, host, (domain, org_domain(domain)), _looks_like_dkim
    )
    if doubled is not None:
        return zone_doubled_problem("dkim", host, doubled[0], doubled[1])
    other = ""
    if answer.records:
        other = f" (the TXT record there is not a DKIM key: {answer.records[0]!r})"
    return _problem(
        "missing",
        Severity.ERROR,
        f"no DKIM key is published at {host}{other}",
        f"publish the DKIM TXT record shown by the console at {host}",
    )
