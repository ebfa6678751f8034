"""Generate a benchmark corpus: N sending domains with a realistic mix of mail-auth records.

The corpus is pure data (no server, no I/O except the key cache and ``write_corpus``): the
benchmark loads it into a loopback zone server. Every domain carries ``kinds`` labels saying
what the generator meant to publish (``spf:over_limit``, ``dmarc:inherited``...) so that
disagreements between checkers can be grouped by the situation that caused them.

Names live under real public suffixes (``.com``, ``.net``, ``.org``, ``.co.uk``, ``.com.au``)
rather than ``.test``: the RFC 7489 organisational domain comes from the Public Suffix List, and
a special-use TLD is only a public suffix by the list's implicit ``*`` rule, which libraries
may or may not apply; multi-label suffixes (``co.uk``) also exercise the org-domain logic. No
name is ever asked outside the loopback server, so using real suffixes sends nothing anywhere.

Run ``python -m benchmarks.gen_domains --domains 1000 --out benchmarks/results/corpus`` to
write ``domains.txt``, ``zone.json`` and ``domains.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

DEFAULT_DOMAINS = 1000
DEFAULT_SEED = 20240601
SELECTOR = "s1"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
KEY_CACHE = RESULTS_DIR / "dkim_keys.json"

# Reports sent to a third party need that party's consent (RFC 7489 7.1).
REPORT_RECEIVER = "dmarc-reports.net"
UNAUTHORISED_RECEIVER = "agg-collector.com"


@dataclass(frozen=True, slots=True)
class ZoneRecord:
    """One resource record. TXT values are the character-strings as published (each <= 255
    bytes); MX values are ``"<preference> <host>"``; A/AAAA/CNAME values are plain text."""

    name: str
    rtype: str
    value: str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BenchDomain:
    """A domain of the corpus and what the generator meant it to show.

    ``expect_*`` is the generator's own reading of the published records against RFC 7208
    and RFC 7489/9989; the benchmark uses it only to label disagreements, never as a verdict.
    """

    name: str
    kinds: tuple[str, ...]
    expect_spf: str  # valid | invalid | missing
    expect_dmarc: str  # valid | invalid | missing
    expect_policy: str | None = None
    expect_dmarc_source: str | None = None


@dataclass(slots=True)
class Corpus:
    domains: list[BenchDomain]
    records: list[ZoneRecord]
    selector: str = SELECTOR
    seed: int = DEFAULT_SEED

    def kind_counts(self) -> Counter[str]:
        return Counter(k for d in self.domains for k in d.kinds)


@dataclass(frozen=True, slots=True)
class DkimKeys:
    """Base64 SubjectPublicKeyInfo (RSA) or raw public key (Ed25519), as ``p=`` carries them."""

    rsa2048: tuple[str, ...]
    rsa1024: str
    ed25519: str


def split_txt(value: str, size: int = 255) -> tuple[str, ...]:
    """Cut a value into character-strings of at most ``size`` bytes, as DNS providers do:
    at the byte limit, regardless of term boundaries (readers join them with no separator)."""
    raw = value.encode("utf-8")
    if not raw:
        return ("",)
    return tuple(raw[i : i + size].decode("utf-8") for i in range(0, len(raw), size))


def _rsa_public_b64(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def _ed25519_public_b64() -> str:
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.b64encode(raw).decode("ascii")


def load_or_make_keys(path: Path = KEY_CACHE, count: int = 4) -> DkimKeys:
    """Keys are slow to generate and only their public halves are published: make a handful
    once, cache them, and reuse them across domains and runs (so runs are reproducible)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        keys = DkimKeys(tuple(data["rsa2048"]), data["rsa1024"], data["ed25519"])
        if len(keys.rsa2048) >= count:
            return keys
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache or an unreadable one: make new keys below
    keys = DkimKeys(
        rsa2048=tuple(_rsa_public_b64(2048) for _ in range(count)),
        rsa1024=_rsa_public_b64(1024),
        ed25519=_ed25519_public_b64(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(keys), indent=1), encoding="utf-8")
    return keys


# --- shared infrastructure: mail providers' SPF include trees, report receivers -------------

PROVIDERS: dict[str, tuple[str, int]] = {
    # include target -> (its SPF record, DNS lookups it costs including the include itself)
    "_spf.provider-a.net": (
        "v=spf1 include:_spf1.provider-a.net include:_spf2.provider-a.net ~all",
        3,
    ),
    "spf.provider-b.com": ("v=spf1 ip4:192.0.2.0/24 a:relay.provider-b.com -all", 2),
    "_spf.crm-c.co.uk": (
        "v=spf1 include:_nb1.crm-c.co.uk include:_nb2.crm-c.co.uk include:_nb3.crm-c.co.uk ~all",
        4,
    ),
    "spf.bulk-d.net": (
        "v=spf1 include:a.bulk-d.net include:b.bulk-d.net include:c.bulk-d.net "
        "include:d.bulk-d.net -all",
        5,
    ),
    "_spf.provider-e.com": ("v=spf1 mx:provider-e.com -all", 2),
}


def _infrastructure() -> list[ZoneRecord]:
    recs: list[ZoneRecord] = []

    def txt(name: str, value: str) -> None:
        recs.append(ZoneRecord(name, "TXT", split_txt(value)))

    for name, (record, _) in PROVIDERS.items():
        txt(name, record)
    txt("_spf1.provider-a.net", "v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.0/25 -all")
    txt("_spf2.provider-a.net", "v=spf1 ip6:2001:db8:a::/48 ip4:203.0.113.128/25 -all")
    recs.append(ZoneRecord("relay.provider-b.com", "A", "192.0.2.10"))
    for i, net in enumerate(("198.18.0.0/20", "198.18.16.0/20", "198.18.32.0/20"), 1):
        txt(f"_nb{i}.crm-c.co.uk", f"v=spf1 ip4:{net} ~all")
    for i, part in enumerate("abcd"):
        txt(f"{part}.bulk-d.net", f"v=spf1 ip4:100.64.{i}.0/24 ip6:2001:db8:d{i}::/48 -all")
    recs.append(ZoneRecord("provider-e.com", "MX", "10 mx1.provider-e.com"))
    recs.append(ZoneRecord("provider-e.com", "MX", "20 mx2.provider-e.com"))
    recs.append(ZoneRecord("mx1.provider-e.com", "A", "192.0.2.25"))
    recs.append(ZoneRecord("mx2.provider-e.com", "A", "192.0.2.26"))
    # Shared inbound MX hosts, so that every domain can have MX records like a real one.
    for host, addr in (
        ("mx1.provider-a.net", "198.51.100.25"),
        ("mx2.provider-a.net", "198.51.100.26"),
    ):
        recs.append(ZoneRecord(host, "A", addr))
    for host, addr in (("ns1.dns-host.net", "192.0.2.53"), ("ns2.dns-host.net", "198.51.100.53")):
        recs.append(ZoneRecord(host, "A", addr))
    txt(REPORT_RECEIVER, "v=spf1 -all")
    txt(f"_dmarc.{REPORT_RECEIVER}", "v=DMARC1; p=reject")
    return recs


# --- names ---------------------------------------------------------------------------------

_WORDS_A = (
    "north", "blue", "swift", "bright", "cedar", "silver", "harbor", "maple", "river", "stone",
    "summit", "golden", "urban", "prime", "coastal", "alpine", "lunar", "solar", "iron", "oak",
)  # fmt: skip
_WORDS_B = (
    "wind", "labs", "works", "mail", "trade", "goods", "media", "health", "bank", "travel",
    "foods", "tech", "craft", "press", "logistics", "studio", "energy", "legal", "farm", "shop",
)  # fmt: skip
_SUFFIXES = (("com", 60), ("co.uk", 14), ("net", 10), ("org", 10), ("com.au", 6))
_SUBLABELS = ("mail", "news", "marketing", "billing", "notify", "campaigns")


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


# --- per-domain choices --------------------------------------------------------------------

SPF_KINDS: tuple[tuple[str, int], ...] = (
    ("provider", 33),  # one provider include
    ("multi", 14),  # two or three includes plus an ip4
    ("ip_only", 12),
    ("a_mx", 7),
    ("redirect", 3),
    ("long_split", 3),  # > 255 bytes, cut mid-term into two strings: valid once joined
    ("plus_all", 1),
    ("over_limit", 3),
    ("two_records", 2),
    ("syntax_error", 4),
    ("glued_split", 1),  # split so that two terms are glued: "...net" + "~all"
    ("void_limit", 1),
    ("include_missing", 1),
    ("quoted", 1),  # literal quotes inside the value
    ("spf10", 1),  # v=spf10 is not an SPF record
    ("missing", 13),
)

DMARC_KINDS: tuple[tuple[str, int], ...] = (
    ("own_rua", 44),
    ("external_authorised", 10),
    ("external_unauthorised", 5),
    ("no_rua", 8),
    ("bis_tags", 3),  # np= t= psd= of RFC 9989
    ("no_p_with_rua", 2),  # p missing, rua valid: policy none
    ("bad_value", 7),  # a tag value receivers discard (RFC 9989 4.8): valid, default applied
    ("two_records", 1),
    ("lookalike", 2),  # meant as DMARC but not starting with v=DMARC1: receivers discard it
    ("missing", 18),
)

# A share of listed domains are subdomains of an organisation that is not itself listed.
SUBDOMAIN_KINDS: tuple[tuple[str, int], ...] = (
    ("sub_own", 3),  # the subdomain publishes its own DMARC
    ("inherited", 4),  # only the org domain has DMARC (sp= applies)
    ("inherited_missing", 1),  # neither has
    ("intermediate", 1),  # a.b.org: record at b.org only (RFC 9989 finds it, RFC 7489 not)
)

_SPF_INVALID = {
    "over_limit", "two_records", "syntax_error", "glued_split", "void_limit",
    "include_missing",
}  # fmt: skip
_SPF_MISSING = {"missing", "quoted", "spf10"}


def _spf_records(rng: random.Random, domain: str, kind: str, labels: list[str]) -> list[ZoneRecord]:
    """The SPF TXT record(s) at ``domain`` for an SPF kind, plus any records they need.
    A finer label (which syntax error) is appended to ``labels``."""
    providers = list(PROVIDERS)
    extra: list[ZoneRecord] = []
    values: list[tuple[str, ...]] = []
    ip = f"203.0.113.{rng.randrange(1, 250)}"
    qual = rng.choice(("-all", "~all", "~all", "-all", "?all"))
    match kind:
        case "provider":
            inc = rng.choice(providers[:3] + providers[4:])
            values.append(split_txt(f"v=spf1 include:{inc} {qual}"))
        case "multi":
            # At most 9 lookups: never bulk-d (5) with crm-c (4) plus anything else.
            pool = ["_spf.provider-a.net", "spf.provider-b.com", "_spf.crm-c.co.uk"]
            incs = rng.sample(pool, rng.choice((2, 2, 3)))
            included = " ".join(f"include:{i}" for i in incs)
            values.append(split_txt(f"v=spf1 ip4:{ip} {included} {qual}"))
        case "ip_only":
            terms = [f"ip4:{ip}"]
            if rng.random() < 0.5:
                terms.append(f"ip6:2001:db8:{rng.randrange(1, 0xFFFF):x}::/64")
            if rng.random() < 0.3:
                terms.append(f"ip4:198.51.100.{rng.randrange(0, 255)}/32")
            values.append(split_txt("v=spf1 " + " ".join(terms) + " -all"))
        case "a_mx":
            extra.append(ZoneRecord(domain, "A", ip))
            values.append(split_txt(f"v=spf1 a mx include:_spf.provider-a.net {qual}"))
        case "redirect":
            extra.append(ZoneRecord(f"_spf.{domain}", "TXT", split_txt(f"v=spf1 ip4:{ip} -all")))
            values.append(split_txt(f"v=spf1 redirect=_spf.{domain}"))
        case "long_split":
            nets = [
                f"ip4:198.51.{rng.randrange(0, 255)}.{rng.randrange(0, 255)}" for _ in range(20)
            ]
            values.append(
                split_txt("v=spf1 " + " ".join(nets) + " include:spf.provider-b.com -all")
            )
        case "plus_all":
            values.append(split_txt("v=spf1 include:spf.provider-b.com +all"))
        case "over_limit":
            values.append(
                split_txt(
                    "v=spf1 include:_spf.crm-c.co.uk include:spf.bulk-d.net "
                    "include:_spf.provider-a.net ~all"
                )
            )  # 4 + 5 + 3 = 12 lookups
        case "two_records":
            values.append(split_txt("v=spf1 include:_spf.provider-a.net ~all"))
            values.append(split_txt(f"v=spf1 ip4:{ip} -all"))
        case "syntax_error":
            variant, bad = rng.choice(
                (
                    ("ip4_octet", "v=spf1 ip4:192.0.2.300 -all"),
                    ("unknown_mechanism", "v=spf1 inclde:_spf.provider-a.net ~all"),
                    ("ip4_prefix", "v=spf1 ip4:192.0.2.0/33 -all"),
                    ("ip6_prefix", "v=spf1 ip6:2001:db8::/129 -all"),
                    (
                        "two_redirects",
                        "v=spf1 redirect=_spf.provider-a.net redirect=spf.provider-b.com",
                    ),
                    ("empty_include", "v=spf1 include: -all"),
                )
            )
            labels.append(f"spf:bad_{variant}")
            values.append(split_txt(bad))
        case "glued_split":
            values.append(("v=spf1 include:_spf.provider-a.net", "~all"))
        case "void_limit":
            values.append(
                split_txt(f"v=spf1 a:gone1.{domain} a:gone2.{domain} a:gone3.{domain} -all")
            )
        case "include_missing":
            values.append(split_txt(f"v=spf1 include:_spf.retired-{domain} -all"))
        case "quoted":
            values.append(split_txt('"v=spf1 include:_spf.provider-a.net ~all"'))
        case "spf10":
            values.append(split_txt("v=spf10 include:_spf.provider-a.net -all"))
        case "missing":
            pass
        case _:
            raise ValueError(kind)
    recs = [ZoneRecord(domain, "TXT", v) for v in values]
    # Real apexes hold other TXT records beside SPF; a checker must pick SPF out of them.
    if rng.random() < 0.4:
        token = f"{rng.getrandbits(64):016x}"
        recs.append(ZoneRecord(domain, "TXT", (f"site-verification={token}",)))
    return recs + extra


def _dmarc_value(
    rng: random.Random, domain: str, kind: str, policy: str, org: str, labels: list[str]
) -> tuple[list[str], str, str | None]:
    """DMARC record values for ``_dmarc.<domain>``, the expected status and policy. A finer
    label (which invalid value) is appended to ``labels``."""
    own = f"mailto:dmarc@{org}"
    pct = " pct=50;" if rng.random() < 0.05 else ""
    adkim = " adkim=s;" if rng.random() < 0.2 else ""
    match kind:
        case "own_rua":
            return [f"v=DMARC1; p={policy};{pct}{adkim} rua={own}"], "valid", policy
        case "external_authorised" | "external_unauthorised":
            host = REPORT_RECEIVER if kind == "external_authorised" else UNAUTHORISED_RECEIVER
            return [f"v=DMARC1; p={policy}; rua=mailto:agg@{host},{own}"], "valid", policy
        case "no_rua":
            return [f"v=DMARC1; p={policy}"], "valid", policy
        case "bis_tags":
            return [f"v=DMARC1; p={policy}; np=reject; t=n; psd=n; rua={own}"], "valid", policy
        case "no_p_with_rua":
            return [f"v=DMARC1; rua={own}"], "valid", "none"
        case "bad_value":
            # The record applies with the bad tag's default (a bad or missing p is none).
            variant, bad, effective = rng.choice(
                (
                    ("p_value", f"v=DMARC1; p=rejected; rua={own}", "none"),
                    ("pct_over_100", "v=DMARC1; p=reject; pct=150", "reject"),
                    ("rua_no_scheme", f"v=DMARC1; p=none; rua=dmarc@{org}", "none"),
                    ("adkim_value", "v=DMARC1; p=quarantine; adkim=x", "quarantine"),
                    ("no_p_no_rua", "v=DMARC1", "none"),
                    ("escaped_semicolon", f"v=DMARC1; p=none; rua={own}\\;", "none"),
                    ("fo_value", "v=DMARC1; p=quarantine; fo=2", "quarantine"),
                )
            )
            labels.append(f"dmarc:bad_{variant}")
            return [bad], "valid", effective
        case "two_records":
            return [f"v=DMARC1; p={policy}; rua={own}", "v=DMARC1; p=none"], "invalid", None
        case "lookalike":
            variant, bad = rng.choice(
                (
                    ("v_not_first", f"p={policy}; v=DMARC1; rua={own}"),
                    ("quoted", f'"v=DMARC1; p={policy}; rua={own}"'),
                    ("v_lowercase", f"v=dmarc1; p={policy}; rua={own}"),
                )
            )
            labels.append(f"dmarc:lookalike_{variant}")
            return [bad], "missing", None
        case "missing":
            return [], "missing", None
    raise ValueError(kind)


def _dmarc_records(
    rng: random.Random, domain: str, kind: str, org: str, labels: list[str]
) -> tuple[list[ZoneRecord], str, str | None]:
    policy = rng.choice(("none", "none", "quarantine", "reject", "reject"))
    values, status, pol = _dmarc_value(rng, domain, kind, policy, org, labels)
    recs = [ZoneRecord(f"_dmarc.{domain}", "TXT", split_txt(v)) for v in values]
    if kind == "external_authorised":
        recs.append(ZoneRecord(f"{domain}._report._dmarc.{REPORT_RECEIVER}", "TXT", ("v=DMARC1",)))
    return recs, status, pol


def _dkim_records(rng: random.Random, domain: str, keys: DkimKeys) -> tuple[list[ZoneRecord], str]:
    host = f"{SELECTOR}._domainkey.{domain}"
    kind = _weighted(
        rng,
        (("rsa2048", 62), ("rsa2048_cname", 6), ("rsa1024", 3), ("ed25519", 3),
         ("revoked", 3), ("missing", 23)),
    )  # fmt: skip
    match kind:
        case "rsa2048":
            value = f"v=DKIM1; k=rsa; p={rng.choice(keys.rsa2048)}"
            return [ZoneRecord(host, "TXT", split_txt(value))], kind
        case "rsa2048_cname":
            target = f"{SELECTOR}.{domain.replace('.', '-')}.dkim.provider-a.net"
            value = f"v=DKIM1; k=rsa; p={rng.choice(keys.rsa2048)}"
            return [
                ZoneRecord(host, "CNAME", target),
                ZoneRecord(target, "TXT", split_txt(value)),
            ], kind
        case "rsa1024":
            return [ZoneRecord(host, "TXT", split_txt(f"v=DKIM1; k=rsa; p={keys.rsa1024}"))], kind
        case "ed25519":
            value = f"v=DKIM1; k=ed25519; p={keys.ed25519}"
            return [ZoneRecord(host, "TXT", split_txt(value))], kind
        case "revoked":
            return [ZoneRecord(host, "TXT", ("v=DKIM1; k=rsa; p=",))], kind
    return [], "missing"


def _bimi_records(
    rng: random.Random, domain: str, policy: str | None
) -> tuple[list[ZoneRecord], str]:
    enforced = policy in ("quarantine", "reject")
    roll = rng.random()
    if (enforced and roll < 0.25) or roll < 0.03:
        value = f"v=BIMI1; l=https://bimi.{domain}/logo.svg; a=;"
        if rng.random() < 0.1:
            value = f"v=BIMI1; l=http://bimi.{domain}/logo.svg;"
            return [ZoneRecord(f"default._bimi.{domain}", "TXT", (value,))], "bimi:http_logo"
        return [ZoneRecord(f"default._bimi.{domain}", "TXT", (value,))], "bimi:valid"
    return [], "bimi:missing"


def _mx_records(rng: random.Random, domain: str, *, always: bool) -> list[ZoneRecord]:
    if rng.random() < 0.15 and not always:
        return []
    return [
        ZoneRecord(domain, "MX", "10 mx1.provider-a.net"),
        ZoneRecord(domain, "MX", "20 mx2.provider-a.net"),
    ]


def _apex_records(org: str) -> list[ZoneRecord]:
    """NS and SOA at an organisation's apex, as every delegated zone has (checkdmarc asks)."""
    return [
        ZoneRecord(org, "NS", "ns1.dns-host.net"),
        ZoneRecord(org, "NS", "ns2.dns-host.net"),
        ZoneRecord(
            org, "SOA", "ns1.dns-host.net hostmaster.dns-host.net 2024060101 3600 600 1209600 300"
        ),
    ]


def _org_name(rng: random.Random, index: int) -> str:
    suffix = _weighted(rng, _SUFFIXES)
    return f"{rng.choice(_WORDS_A)}{rng.choice(_WORDS_B)}-{index:05d}.{suffix}"


def generate(
    n: int = DEFAULT_DOMAINS, seed: int = DEFAULT_SEED, keys: DkimKeys | None = None
) -> Corpus:
    """N domains and every record they need, deterministic for a given seed and key set."""
    rng = random.Random(seed)
    keys = keys if keys is not None else load_or_make_keys()
    records = _infrastructure()
    domains: list[BenchDomain] = []
    sub_share = sum(w for _, w in SUBDOMAIN_KINDS)
    for i in range(n):
        org = _org_name(rng, i)
        kinds: list[str] = []
        sub_kind = _weighted(rng, SUBDOMAIN_KINDS) if rng.randrange(100) < sub_share else None
        if sub_kind is None:
            name = org
        elif sub_kind == "intermediate":
            name = f"{rng.choice(_SUBLABELS)}.{rng.choice(_SUBLABELS)}-eu.{org}"
        else:
            name = f"{rng.choice(_SUBLABELS)}.{org}"

        spf_kind = _weighted(rng, SPF_KINDS)
        kinds.append(f"spf:{spf_kind}")
        records += _spf_records(rng, name, spf_kind, kinds)
        expect_spf = (
            "invalid" if spf_kind in _SPF_INVALID else "missing" if spf_kind in _SPF_MISSING
            else "valid"
        )  # fmt: skip

        source: str | None = None
        if sub_kind is None:
            dmarc_kind = _weighted(rng, DMARC_KINDS)
            kinds.append(f"dmarc:{dmarc_kind}")
            recs, expect_dmarc, policy = _dmarc_records(rng, name, dmarc_kind, org, kinds)
            records += recs
            source = name if expect_dmarc != "missing" else None
        else:
            kinds.append(f"dmarc:{sub_kind}")
            policy = None
            expect_dmarc = "missing"
            if sub_kind == "sub_own":
                # Reports to the organisational domain need no authorisation.
                recs, expect_dmarc, policy = _dmarc_records(rng, name, "own_rua", org, kinds)
                records += recs
                source = name
            elif sub_kind == "inherited":
                p = rng.choice(("quarantine", "reject"))
                sp = rng.choice(("none", "quarantine", "reject", None))
                sp_tag = f" sp={sp};" if sp else ""
                value = f"v=DMARC1; p={p};{sp_tag} rua=mailto:dmarc@{org}"
                records.append(ZoneRecord(f"_dmarc.{org}", "TXT", split_txt(value)))
                expect_dmarc, policy, source = "valid", p, org
                kinds.append(f"dmarc:sp_{sp or 'absent'}")
            elif sub_kind == "intermediate":
                middle = name.split(".", 1)[1]
                value = f"v=DMARC1; p=reject; rua=mailto:dmarc@{org}"
                records.append(ZoneRecord(f"_dmarc.{middle}", "TXT", split_txt(value)))
                expect_dmarc, policy, source = "valid", "reject", middle
            # The organisation's own apex exists (a subdomain's parent is not an empty name).
            records.append(ZoneRecord(org, "TXT", ("v=spf1 include:_spf.provider-a.net -all",)))

        dkim_recs, dkim_kind = _dkim_records(rng, name, keys)
        records += dkim_recs
        kinds.append(f"dkim:{dkim_kind}")
        bimi_recs, bimi_kind = _bimi_records(rng, name, policy)
        records += bimi_recs
        kinds.append(bimi_kind)
        # `mx` in SPF needs MX records; elsewhere most domains have them, as real ones do.
        records += _mx_records(rng, name, always=spf_kind == "a_mx")
        records += _apex_records(org)
        domains.append(
            BenchDomain(
                name=name,
                kinds=tuple(kinds),
                expect_spf=expect_spf,
                expect_dmarc=expect_dmarc,
                expect_policy=policy,
                expect_dmarc_source=source,
            )
        )
    return Corpus(domains=domains, records=records, seed=seed)


def write_corpus(corpus: Corpus, out_dir: Path) -> dict[str, Path]:
    """Write ``domains.txt`` (one name a line), ``zone.json`` and ``domains.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "domains": out_dir / "domains.txt",
        "zone": out_dir / "zone.json",
        "meta": out_dir / "domains.json",
    }
    paths["domains"].write_text("".join(d.name + "\n" for d in corpus.domains), encoding="utf-8")
    zone = [
        [r.name, r.rtype, list(r.value) if isinstance(r.value, tuple) else r.value]
        for r in corpus.records
    ]
    paths["zone"].write_text(json.dumps(zone, indent=0), encoding="utf-8")
    meta = {
        "seed": corpus.seed,
        "selector": corpus.selector,
        "domains": [asdict(d) for d in corpus.domains],
    }
    paths["meta"].write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=DEFAULT_DOMAINS, help="how many domains")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "corpus")
    args = parser.parse_args(argv)
    if args.domains < 1:
        parser.error("--domains must be at least 1")
    corpus = generate(args.domains, args.seed)
    paths = write_corpus(corpus, args.out)
    print(
        f"{len(corpus.domains)} domains, {len(corpus.records)} records -> {paths['domains'].parent}"
    )
    for kind, count in sorted(corpus.kind_counts().items()):
        print(f"  {kind:32} {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
