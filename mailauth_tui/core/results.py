"""Result types shared by every check: statuses, problems and per-record results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Status(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    REVOKED = "revoked"
    MISSING = "missing"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Problem:
    """A diagnostic: a stable ``code`` (for scripts and docs), what is wrong and the exact fix."""

    code: str
    severity: Severity
    message: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class SourceVerdict:
    """SPF check_host() result for one configured sending source (an IP address)."""

    source: str
    result: str  # pass | fail | softfail | neutral | none | permerror | temperror
    mechanism: str | None = None  # the top-level term that decided, when one matched
    reason: str = ""  # why, in words (the term matched, the default, the error)


@dataclass(frozen=True, slots=True)
class SpfResult:
    status: Status
    record: str | None = None
    lookups: int = 0
    void_lookups: int = 0
    problems: tuple[Problem, ...] = ()
    sources: tuple[SourceVerdict, ...] = ()
    include_authorized: bool | None = None  # None when no include domain was asked for


@dataclass(frozen=True, slots=True)
class DkimResult:
    selector: str
    status: Status
    host: str = ""
    record: str | None = None
    key_type: str | None = None
    key_bits: int | None = None
    public_key: str | None = None  # the p= value with whitespace removed
    cname_chain: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class DmarcResult:
    status: Status
    record: str | None = None
    policy: str | None = None
    subdomain_policy: str | None = None
    effective_policy: str | None = None
    pct: int | None = None
    source_domain: str | None = None  # where the record was found
    org_domain: str | None = None  # RFC 7489 organisational domain (Public Suffix List)
    treewalk_org_domain: str | None = None  # RFC 9989 organisational domain (DNS tree walk)
    rua: tuple[str, ...] = ()
    ruf: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class BimiResult:
    status: Status
    record: str | None = None
    logo_url: str | None = None
    authority_url: str | None = None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class DomainReport:
    """Everything the engine found for one domain."""

    domain: str  # ASCII (punycode) form
    domain_unicode: str
    spf: SpfResult
    dmarc: DmarcResult
    bimi: BimiResult
    dkim: tuple[DkimResult, ...] = ()
    problems: tuple[Problem, ...] = field(default=())  # domain-level problems (not per record)
    # (host, server) for each record's look-up when asked for (core.check.with_servers): SPF at
    # the domain, DMARC where the policy was found, each DKIM key.
    servers: tuple[tuple[str, str], ...] = ()

    def problem_groups(self) -> tuple[tuple[Problem, ...], ...]:
        """The domain's own problems, then SPF's, DMARC's, each DKIM selector's, BIMI's: the
        order of :attr:`all_problems`."""
        return (
            self.problems,
            self.spf.problems,
            self.dmarc.problems,
            *(d.problems for d in self.dkim),
            self.bimi.problems,
        )

    @property
    def all_problems(self) -> tuple[Problem, ...]:
        return tuple(p for group in self.problem_groups() for p in group)

    @property
    def valid(self) -> bool:
        """SPF and DMARC valid, every asked DKIM selector valid, BIMI absent or valid."""
        return (
            self.spf.status is Status.VALID
            and self.dmarc.status is Status.VALID
            and all(d.status is Status.VALID for d in self.dkim)
            and self.bimi.status in (Status.VALID, Status.MISSING)
        )


@dataclass(frozen=True, slots=True)
class PublishRecord:
    kind: str  # DKIM | SPF | DMARC
    host: str  # full owner name, ASCII, no trailing dot
    rtype: str  # TXT
    value: str  # the value as one string (what DNS providers' web forms take)
    chunks: tuple[str, ...]  # the value cut into <= 255-byte character-strings
    zone_line: str  # `host. 3600 IN TXT "chunk" "chunk"`
    required: bool
    note: str = ""  # e.g. "merged with your existing SPF record (4 -> 5 lookups)"
    already_published: bool = False
    # The host as DNS providers' forms want it, relative to the registered domain's zone:
    # "mt202612._domainkey", "_dmarc", "@" for the apex.
    short_host: str = ""
