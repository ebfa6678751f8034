"""The one traversal of an SPF record tree (RFC 7208 sections 4 and 5).

:class:`Traversal` runs check_host() in one of two modes that share every line of the
evaluation:

* **check** (an IP is given): the RFC's algorithm; the first matching mechanism decides, and
  errors end the evaluation with permerror / temperror.
* **walk** (no IP): the path of a client that no mechanism matches -- the worst case a receiver
  meets, and the one that makes every DNS-querying term count. Nothing but ``all`` (and a
  static ``exists``) can match, errors are recorded as :class:`Finding` and the walk goes on,
  so that one pass reports the whole tree: its lookup and void-lookup totals, loops, missing
  include targets, MX sets over the limit, the records seen on the way.

A :class:`DnsSession` is shared by the traversals of one check: each (name, type) is asked
once and each SPF record fetched and parsed once.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from functools import lru_cache

from mailauth_tui.core.dns_types import Answer, AnswerStatus, Resolver, RType
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.spf import Mechanism, MechanismKind, SpfRecord, is_spf_record, parse_spf
from mailauth_tui.core.spf_macros import MacroContext, MacroString, expand, parse_macro_string
from mailauth_tui.core.spf_memo import SpfMemo, Subtree, rebased, relative
from mailauth_tui.core.spf_types import (
    MAX_LOOKUPS,
    MAX_MX_NAMES,
    MAX_PTR_NAMES,
    MAX_VOID_LOOKUPS,
    WALK_LOOKUP_CAP,
    Address,
    FetchedRecord,
    Finding,
    Match,
    RecordState,
    SpfOutcome,
    Visit,
)


class DnsSession:
    """The DNS memory of one check: every (name, type) asked once, every record parsed once."""

    __slots__ = ("_answers", "_records", "_resolver")

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._answers: dict[tuple[str, RType], Answer] = {}
        self._records: dict[str, FetchedRecord] = {}

    async def ask(self, name: str, rtype: RType) -> Answer:
        key = (name, rtype)
        answer = self._answers.get(key)
        if answer is None:
            answer = await self._resolver.query(name, rtype)
            self._answers[key] = answer
        return answer

    @property
    def queries(self) -> int:
        return len(self._answers)

    def preset(self, domain: str, record: SpfRecord) -> None:
        """Evaluate ``record`` as if it were published at ``domain`` (what-if counting)."""
        answer = Answer(domain, RType.TXT, AnswerStatus.RECORDS, (record.text,))
        self._records[domain] = FetchedRecord(
            state=RecordState.OK, answer=answer, record=record, error=None, spf_texts=(record.text,)
        )

    async def record(self, domain: str) -> FetchedRecord:
        hit = self._records.get(domain)
        if hit is not None:
            return hit
        # ask() inline: a coroutine level less for the TXT query every check makes.
        key = (domain, RType.TXT)
        answer = self._answers.get(key)
        if answer is None:
            answer = await self._resolver.query(domain, RType.TXT)
            self._answers[key] = answer
        fetched = _select(answer)
        self._records[domain] = fetched
        return fetched


# A pure function of the answer, which the resolver hands out once per name and run: the
# include trees that many domains share (a provider's _spf records) are selected once.
@lru_cache(maxsize=4096)
def _select(answer: Answer) -> FetchedRecord:
    """RFC 7208 4.4 / 4.5: keep the TXT values that are SPF records; exactly one must remain."""
    if answer.unknown:
        return FetchedRecord(state=RecordState.UNKNOWN, answer=answer)
    if not answer.records:
        return FetchedRecord(state=RecordState.VOID, answer=answer)
    texts = tuple(t for t in answer.records if is_spf_record(t))
    if not texts:
        return FetchedRecord(state=RecordState.NONE, answer=answer)
    if len(texts) > 1:
        return FetchedRecord(state=RecordState.MULTIPLE, answer=answer, spf_texts=texts)
    try:
        record = parse_spf(texts[0])
    except RecordSyntaxError as exc:
        return FetchedRecord(state=RecordState.SYNTAX, answer=answer, error=exc, spf_texts=texts)
    return FetchedRecord(state=RecordState.OK, answer=answer, record=record, spf_texts=texts)


# Both are pure functions of a name, asked for every include target on every walk; the names
# repeat across domains (a provider's include tree), so they are cached.
@lru_cache(maxsize=8192)
def normalize_name(name: str) -> str:
    """Lower case, no trailing dot; over 253 characters the left-most labels are dropped
    (RFC 7208 7.3: truncation of an expanded name)."""
    name = name.lower()
    if name.endswith("."):
        name = name[:-1]
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name


@lru_cache(maxsize=8192)
def valid_name(name: str) -> bool:
    """RFC 7208 4.3: a multi-label name of non-empty labels of at most 63 octets."""
    if not name or len(name) > 253 or not name.isascii():
        return False
    labels = name.split(".")
    return len(labels) >= 2 and all(0 < len(label) <= 63 for label in labels)


class _Stop(Exception):
    """Ends a check-mode evaluation with permerror or temperror."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.detail)
        self.finding = finding


class Traversal:
    """One check_host() evaluation; see the module docstring for the two modes.

    (A plain class: one is made per domain checked, and a dataclass's list fields cost a
    factory call each.)"""

    __slots__ = (
        "_contexts",
        "_ip_int",
        "_ip_version",
        "_ptr",
        "findings",
        "helo",
        "ip",
        "lookups",
        "matched",
        "memo",
        "sender",
        "session",
        "stop",
        "targets",
        "top_costs",
        "unchecked",
        "visits",
        "void_lookups",
        "voids",
    )

    def __init__(
        self,
        session: DnsSession,
        ip: Address | None = None,
        sender: str = "",
        helo: str = "",
        memo: SpfMemo | None = None,
    ) -> None:
        self.session = session
        self.ip = ip
        self.sender = sender
        self.helo = helo
        self.memo = memo  # include trees of earlier walks in the run (spf_memo.py)
        self.lookups = 0
        self.void_lookups = 0
        self.findings: list[Finding] = []
        self.visits: list[Visit] = []
        self.targets: list[str] = []  # include / redirect targets met
        self.voids: list[tuple[str, str, str]] = []  # (domain, term, name)
        self.unchecked: list[tuple[str, str]] = []  # terms a walk cannot follow
        self.top_costs: list[tuple[str, int]] = []  # lookups per top-level term
        self.matched: Match | None = None
        self.stop: Finding | None = None
        self._contexts: dict[str, MacroContext] = {}
        self._ptr: Answer | None = None
        self._ip_int = int(ip) if ip is not None else 0
        self._ip_version = ip.version if ip is not None else 0

    @property
    def walk(self) -> bool:
        return self.ip is None

    async def run(self, domain: str) -> SpfOutcome:
        try:
            return await self._check_host(domain, (domain,), "top", domain, True)
        except _Stop as stop:
            self.stop = stop.finding
            return stop.finding.outcome

    # --- errors and limits --------------------------------------------------------------

    def _fail(self, finding: Finding) -> None:
        """A permerror / temperror: ends a check, is recorded by a walk that then goes on."""
        if not self.walk:
            raise _Stop(finding)
        self.findings.append(finding)

    def _permerror(
        self, code: str, domain: str, term: str, detail: str, chain: tuple[str, ...]
    ) -> SpfOutcome:
        """Record a permerror found at ``domain`` evaluating ``term`` (see :meth:`_fail`)."""
        self._fail(
            Finding(
                code=code,
                outcome=SpfOutcome.PERMERROR,
                domain=domain,
                term=term,
                detail=detail,
                chain=chain,
            )
        )
        return SpfOutcome.PERMERROR

    def _count(self, domain: str, term: str) -> bool:
        """Count one DNS-querying term; False when a walk is past its safety cap."""
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS and not self.walk:
            raise _Stop(
                Finding(
                    code="spf.too_many_lookups",
                    outcome=SpfOutcome.PERMERROR,
                    domain=domain,
                    term=term,
                    detail=f"more than {MAX_LOOKUPS} DNS-querying terms (at {term!r} in {domain})",
                )
            )
        return self.lookups <= WALK_LOOKUP_CAP

    def _void(self, domain: str, term: str, name: str) -> None:
        self.void_lookups += 1
        self.voids.append((domain, term, name))
        if self.void_lookups > MAX_VOID_LOOKUPS and not self.walk:
            raise _Stop(
                Finding(
                    code="spf.too_many_void_lookups",
                    outcome=SpfOutcome.PERMERROR,
                    domain=domain,
                    term=term,
                    detail=f"more than {MAX_VOID_LOOKUPS} lookups found nothing (the last: {name})",
                )
            )

    def _unknown(self, domain: str, term: str, answer: Answer) -> None:
        why = answer.detail or answer.status.value
        self._fail(
            Finding(
                code="spf.unknown",
                outcome=SpfOutcome.TEMPERROR,
                domain=domain,
                term=term,
                detail=f"the {answer.rtype.value} query for {answer.name} failed ({why})",
            )
        )

    # --- records --------------------------------------------------------------------------

    async def _check_host(
        self, domain: str, chain: tuple[str, ...], role: str, term: str, effective: bool
    ) -> SpfOutcome:
        fetched = await self.session.record(domain)
        record = fetched.record  # set exactly when the state is OK: nearly always
        if record is None:
            return self._without_record(fetched, domain, chain, role, term)
        self.visits.append(Visit(role, domain, record, chain, effective))
        if self.memo is not None and role == "include" and self.ip is None:
            return await self._evaluate_include(self.memo, record, domain, chain)
        return await self._evaluate(record, domain, chain, effective)

    def _without_record(
        self, fetched: FetchedRecord, domain: str, chain: tuple[str, ...], role: str, term: str
    ) -> SpfOutcome:
        """check_host() at a name without one usable record: a DNS failure, none, several, or
        one with a syntax error."""
        state = fetched.state
        if state is RecordState.UNKNOWN:
            self._unknown(domain, term, fetched.answer)
            return SpfOutcome.TEMPERROR
        if state is RecordState.VOID or state is RecordState.NONE:
            if state is RecordState.VOID and role != "top":
                self._void(chain[-2], term, domain)
            return SpfOutcome.NONE
        if state is RecordState.MULTIPLE:
            return self._permerror(
                "spf.multiple_records" if role == "top" else "spf.include_invalid",
                domain,
                term,
                (
                    f"{domain} publishes {len(fetched.spf_texts)} SPF records; exactly one is "
                    "allowed"
                ),
                chain,
            )
        assert state is RecordState.SYNTAX and fetched.error is not None
        return self._permerror(
            "spf.syntax" if role == "top" else "spf.include_invalid",
            domain,
            term,
            f"the SPF record of {domain} has a syntax error at position "
            f"{fetched.error.pos}: {fetched.error.message}",
            chain,
        )

    async def _evaluate_include(
        self, memo: SpfMemo, record: SpfRecord, domain: str, chain: tuple[str, ...]
    ) -> SpfOutcome:
        """``_evaluate`` of an include target's record, replayed from ``memo`` when an earlier
        walk of the run evaluated it, and recorded there otherwise."""
        base = chain[:-1]
        tree = memo.get(domain, record)
        if (
            tree is not None
            and self.lookups + tree.lookups <= WALK_LOOKUP_CAP
            and tree.names.isdisjoint(base)
        ):
            self.lookups += tree.lookups
            self.void_lookups += tree.void_lookups
            if tree.findings:
                self.findings.extend(
                    dataclasses.replace(f, chain=rebased(f.chain, base)) for f in tree.findings
                )
            # Built directly: a named tuple's _replace costs four times as much.
            self.visits.extend(
                Visit(role, name, rec, rebased(path, base), effective)
                for role, name, rec, path, effective in tree.visits
            )
            self.targets.extend(tree.targets)
            self.voids.extend(tree.voids)
            self.unchecked.extend(tree.unchecked)
            if tree.sets_match:
                self.matched = tree.matched
            return tree.result
        lookups, voids, matched = self.lookups, self.void_lookups, self.matched
        n_findings, n_visits, n_targets = len(self.findings), len(self.visits), len(self.targets)
        n_voids, n_unchecked = len(self.voids), len(self.unchecked)
        result = await self._evaluate(record, domain, chain, False)
        targets = tuple(self.targets[n_targets:])
        names = frozenset((domain, *targets))
        found = self.findings[n_findings:]
        if (
            self.lookups <= WALK_LOOKUP_CAP
            and names.isdisjoint(base)
            # A loop's message spells the whole path, the part above the target included.
            and not any(f.code == "spf.loop" for f in found)
        ):
            at = len(base)
            memo.put(
                domain,
                Subtree(
                    record=record,
                    result=result,
                    lookups=self.lookups - lookups,
                    void_lookups=self.void_lookups - voids,
                    names=names,
                    findings=tuple(
                        dataclasses.replace(f, chain=relative(f.chain, at)) for f in found
                    ),
                    visits=tuple(
                        v._replace(chain=relative(v.chain, at)) for v in self.visits[n_visits:]
                    ),
                    targets=targets,
                    voids=tuple(self.voids[n_voids:]),
                    unchecked=tuple(self.unchecked[n_unchecked:]),
                    matched=self.matched,
                    sets_match=self.matched is not matched,
                ),
            )
        return result

    async def _evaluate(
        self, record: SpfRecord, domain: str, chain: tuple[str, ...], effective: bool
    ) -> SpfOutcome:
        top = len(chain) == 1
        walk = self.ip is None
        for term in record.mechanisms:
            if walk and term.prefix_key is not None:
                continue  # an address term matches no client of a walk and costs nothing
            before = self.lookups
            matched = await self._mechanism(term, domain, chain)
            if top and term.queries_dns:
                self.top_costs.append((term.text, self.lookups - before))
            if matched:
                # Unwinding sets this at each level: the outermost (top-level) term remains.
                self.matched = Match(domain, term.text)
                return SpfOutcome(term.qualifier.result)
        if record.redirect is None:
            return SpfOutcome.NEUTRAL
        text = f"redirect={record.redirect}"
        before = self.lookups
        result = await self._follow(record.redirect, domain, chain, text, "redirect", effective)
        if top:
            self.top_costs.append((text, self.lookups - before))
        return result

    async def _follow(
        self, spec: str, domain: str, chain: tuple[str, ...], text: str, role: str, effective: bool
    ) -> SpfOutcome:
        """include:<spec> or redirect=<spec>: check_host() on the target (RFC 7208 5.2, 6.1)."""
        if not self._count(domain, text):
            return SpfOutcome.NEUTRAL
        target = await self._target(spec, domain, text)
        if target is None:
            return SpfOutcome.NEUTRAL
        missing = "spf.include_missing" if role == "include" else "spf.redirect_missing"
        if not valid_name(target):
            return self._permerror(
                missing, domain, text, f"{target!r} is not a valid domain name", chain
            )
        self.targets.append(target)
        if target in chain:
            path = " -> ".join((*chain, target))
            return self._permerror("spf.loop", domain, text, f"loop: {path}", chain)
        result = await self._check_host(target, (*chain, target), role, text, effective)
        if result is SpfOutcome.NONE:
            return self._permerror(missing, domain, text, f"{target} has no SPF record", chain)
        return result

    # --- mechanisms ---------------------------------------------------------------------------

    async def _mechanism(self, m: Mechanism, domain: str, chain: tuple[str, ...]) -> bool:
        kind = m.kind
        if kind is MechanismKind.ALL:
            return True
        if kind is MechanismKind.IP4 or kind is MechanismKind.IP6:
            return self._in_network(m)
        if kind is MechanismKind.INCLUDE:
            assert m.domain_spec is not None
            result = await self._follow(m.domain_spec, domain, chain, m.text, "include", False)
            # RFC 7208 5.2: pass matches; fail, softfail and neutral do not; errors propagate
            # (in a walk they were recorded and the walk goes on).
            return result is SpfOutcome.PASS
        if not self._count(domain, m.text):
            return False
        target = await self._target(m.domain_spec, domain, m.text)
        if target is None or not valid_name(target):
            # RFC 7208 4.3/4.8: a malformed target name does not match.
            return False
        if kind is MechanismKind.A:
            return await self._a(m, domain, target)
        if kind is MechanismKind.MX:
            return await self._mx(m, domain, chain, target)
        if kind is MechanismKind.EXISTS:
            return await self._exists(m, domain, target)
        return await self._ptr_match(m, domain, target)

    def _in_network(self, m: Mechanism) -> bool:
        key = m.prefix_key
        if key is None or key[0] != self._ip_version:
            return False
        return self._ip_int >> key[2] == key[1]

    def _addresses_match(self, records: tuple[str, ...], cidr: int | None) -> bool:
        ip = self.ip
        assert ip is not None
        bits = ip.max_prefixlen
        shift = bits - (bits if cidr is None else cidr)
        mine = int(ip) >> shift
        for text in records:
            try:
                addr = ipaddress.ip_address(text)
            except ValueError:
                continue
            if addr.version == ip.version and int(addr) >> shift == mine:
                return True
        return False

    def _address_type(self) -> RType:
        return RType.AAAA if self.ip is not None and self.ip.version == 6 else RType.A

    async def _a(self, m: Mechanism, domain: str, target: str) -> bool:
        if self.walk:
            # Either family may be asked by a receiver: the term is void only if both are empty.
            answer = await self.session.ask(target, RType.A)
            if answer.unknown:
                self._unknown(domain, m.text, answer)
            elif not answer.records:
                answer6 = await self.session.ask(target, RType.AAAA)
                if answer6.unknown:
                    self._unknown(domain, m.text, answer6)
                elif not answer6.records:
                    self._void(domain, m.text, target)
            return False
        found = await self._ask_term(m, domain, target, self._address_type())
        return found is not None and self._addresses_match(found.records, self._cidr(m))

    async def _ask_term(
        self, m: Mechanism, domain: str, target: str, rtype: RType
    ) -> Answer | None:
        """The answer to a DNS-querying term's own question, or None when it is unknown or
        void (each recorded, RFC 7208 4.6.4): the term then does not match."""
        answer = await self.session.ask(target, rtype)
        if answer.unknown:
            self._unknown(domain, m.text, answer)
            return None
        if not answer.records:
            self._void(domain, m.text, target)
            return None
        return answer

    def _cidr(self, m: Mechanism) -> int | None:
        assert self.ip is not None
        return m.cidr6 if self.ip.version == 6 else m.cidr4

    async def _mx(self, m: Mechanism, domain: str, chain: tuple[str, ...], target: str) -> bool:
        answer = await self._ask_term(m, domain, target, RType.MX)
        if answer is None:
            return False
        if len(answer.records) > MAX_MX_NAMES:
            self._fail(
                Finding(
                    code="spf.mx_too_many",
                    outcome=SpfOutcome.PERMERROR,
                    domain=domain,
                    term=m.text,
                    detail=(
                        f"{target} has {len(answer.records)} MX names; at most {MAX_MX_NAMES} are "
                        "allowed"
                    ),
                    chain=chain,
                )
            )
            return False
        if self.walk:
            return False
        rtype = self._address_type()
        cidr = self._cidr(m)
        for name in answer.records:
            if not name or name == ".":
                continue  # null MX (RFC 7505): no host to compare
            addresses = await self.session.ask(normalize_name(name), rtype)
            if addresses.unknown:
                self._unknown(domain, m.text, addresses)
                return False
            if self._addresses_match(addresses.records, cidr):
                return True
        return False

    async def _exists(self, m: Mechanism, domain: str, target: str) -> bool:
        # RFC 7208 5.7: always an A query, whatever the client's address family.
        return await self._ask_term(m, domain, target, RType.A) is not None

    async def _ptr_answer(self) -> Answer:
        if self._ptr is None:
            assert self.ip is not None
            self._ptr = await self.session.ask(self.ip.reverse_pointer, RType.PTR)
        return self._ptr

    async def _validated_names(self, suffix: str | None) -> list[str]:
        """RFC 7208 5.5: the client's PTR names whose forward lookup leads back to the client
        (the first 10 only), keeping those equal to or under ``suffix`` when one is given."""
        answer = await self._ptr_answer()
        out: list[str] = []
        rtype = self._address_type()
        for raw in answer.records[:MAX_PTR_NAMES]:
            name = normalize_name(raw)
            if suffix is not None and name != suffix and not name.endswith("." + suffix):
                continue
            if not valid_name(name):
                continue
            forward = await self.session.ask(name, rtype)
            if not forward.unknown and self._addresses_match(forward.records, None):
                out.append(name)
        return out

    async def _ptr_match(self, m: Mechanism, domain: str, target: str) -> bool:
        if self.walk:
            return False
        answer = await self._ptr_answer()
        if answer.unknown:
            return False  # RFC 7208 5.5: a DNS error on the PTR lookup means no match
        if not answer.records:
            self._void(domain, m.text, self.ip.reverse_pointer if self.ip else "")
            return False
        return bool(await self._validated_names(target))

    # --- macros ---------------------------------------------------------------------------------

    async def _target(self, spec: str | None, domain: str, term: str) -> str | None:
        """The name a term asks about; None when a walk cannot know it (it depends on the
        client's address or the sender)."""
        if spec is None:
            return domain
        parsed = parse_macro_string(spec)
        literal = parsed.literal
        if literal is not None:
            return normalize_name(literal)
        if self.walk and not parsed.letters <= {"d"}:
            self.unchecked.append((domain, term))
            return None
        return normalize_name(expand(parsed, await self._context(domain, parsed)))

    async def _context(self, domain: str, parsed: MacroString) -> MacroContext:
        ctx = self._contexts.get(domain)
        if ctx is None:
            ip = "" if self.ip is None else str(self.ip)
            ctx = MacroContext.build(sender=self.sender, domain=domain, ip=ip, helo=self.helo)
            self._contexts[domain] = ctx
        if "p" in parsed.letters and ctx.validated == "unknown" and self.ip is not None:
            # RFC 7208 7.3: prefer a validated name under <domain>, else any validated name.
            names = await self._validated_names(domain) or await self._validated_names(None)
            if names:
                ctx = dataclasses.replace(ctx, validated=names[0])
                self._contexts[domain] = ctx
        return ctx
