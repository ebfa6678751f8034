"""The records an admin must publish for a domain, from what DNS holds now: DKIM (required),
SPF (recommended, merged into an existing record) and DMARC (a starting ``p=none``)."""

from __future__ import annotations

from dataclasses import replace

from mailauth_tui.core.check import check_domain
from mailauth_tui.core.dmarc_problems import starting_record
from mailauth_tui.core.dmarc_record import corrected_record
from mailauth_tui.core.dns_types import Resolver
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.publish import dkim_publish, dmarc_publish, provider_host, spf_publish
from mailauth_tui.core.results import DomainReport, PublishRecord, SpfResult, Status
from mailauth_tui.core.spf_eval import spf_lookup_count
from mailauth_tui.registry.errors import InvalidInput
from mailauth_tui.registry.transitions import key_roles
from mailauth_tui.services.settings import SendingSettings
from mailauth_tui.services.store import DomainRecord

# Problems of a TXT record that looks like SPF but is not one (RFC 7208 4.5 discards it).
_SPF_LOOKALIKE_CODES = frozenset(
    {"spf.version_typo", "txt.literal_quotes", "txt.escaped_semicolon", "txt.glued_terms"}
)


async def records_to_publish(
    resolver: Resolver, rec: DomainRecord, sending: SendingSettings, dmarc_rua: str | None
) -> list[PublishRecord]:
    """[DKIM, SPF, DMARC] for ``rec``, which has at least one DKIM key. During a rotation the
    DKIM record is the new key's. Raises InvalidInput when the settings make a record
    impossible (a bad include domain or IP)."""
    active, waiting = key_roles(rec.keys)
    key = waiting or active
    if key is None:
        raise InvalidInput(f"{rec.domain} has no DKIM key yet")
    name = rec.domain
    report = await check_domain(
        resolver,
        name,
        selectors=(key.selector,),
        ips=sending.ips,
        include=sending.include,
        expected_keys={key.selector: key.public_key},
    )
    dkim = dkim_publish(name, key.selector, key.key_type, key.public_key)
    found = next((d for d in report.dkim if d.selector == key.selector), None)
    if found is not None and found.status is Status.VALID:
        dkim = replace(dkim, already_published=True)
    if waiting is not None and active is not None:
        dkim = replace(
            dkim,
            note=(
                f"new key (rotation): publish it beside the current one (selector "
                f"{active.selector}), which signs until this one is verified; " + dkim.note
            ),
        )
    spf = await _spf_record(resolver, name, report, sending)
    dmarc = _dmarc_record(name, report, dmarc_rua_for(rec.address, dmarc_rua))
    return [dkim, spf, dmarc]


def dmarc_rua_for(address: str, dmarc_rua: str | None) -> str:
    """The aggregate-report address every DMARC record the registry offers carries: the
    settings' ``dmarc_rua``, else the domain's registered address."""
    return dmarc_rua or f"mailto:{address}"


def _starting_dmarc(name: str, rua: str) -> PublishRecord:
    try:
        return dmarc_publish(name, rua, None)
    except ValueError:  # an address DMARC cannot carry: a record without reports still helps
        return dmarc_publish(name, None, None)


def with_registry_dmarc(report: DomainReport, address: str, dmarc_rua: str | None) -> DomainReport:
    """``report`` with its DMARC fixes offering the record ``records`` offers (the registry's
    rua), not the engine's generic starting record, so that the records screen and the fix
    after a failed verify say the same."""
    dmarc = report.dmarc
    generic = starting_record(dmarc.org_domain or report.domain)
    if not any(generic in p.fix for p in dmarc.problems):
        return report
    ours = _starting_dmarc(report.domain, dmarc_rua_for(address, dmarc_rua)).value
    problems = tuple(
        replace(p, fix=p.fix.replace(generic, ours)) if generic in p.fix else p
        for p in dmarc.problems
    )
    return replace(report, dmarc=replace(dmarc, problems=problems))


async def _spf_record(
    resolver: Resolver, name: str, report: DomainReport, sending: SendingSettings
) -> PublishRecord:
    spf = report.spf
    # An UNKNOWN status with a record: a look-up inside its tree failed, the record itself
    # was read, so the sources are merged into it rather than offered as a second record.
    existing = spf.record if spf.status is not Status.MISSING else None
    authorised = _authorised_sources(spf, sending)
    try:
        record = spf_publish(name, existing, sending.include, sending.ips, authorised=authorised)
        if not record.already_published and record.value:
            # Count what the new record would cost, nested includes and all.
            try:
                after, _ = await spf_lookup_count(resolver, name, record.value)
            except RecordSyntaxError:  # a broken record no repair could save: offered as is
                return record
            before = spf.lookups if existing is not None else None
            record = spf_publish(
                name,
                existing,
                sending.include,
                sending.ips,
                lookups_before=before,
                lookups_after=after,
                authorised=authorised,
            )
    except ValueError as exc:
        raise InvalidInput(f"cannot build the SPF record for {name}: {exc}") from None
    if existing is not None and _authorises_none(spf, sending):
        sources = [f"include:{sending.include}"] if sending.include else []
        sources.extend(sending.ips)
        record = replace(
            record,
            note=(
                "the published SPF record authorises none of the configured sending sources "
                f"({', '.join(sources)}): mail from them fails SPF; " + record.note
            ),
        )
    lookalike = [p for p in spf.problems if p.code in _SPF_LOOKALIKE_CODES]
    if spf.status is Status.MISSING and lookalike:
        record = replace(
            record,
            note=(
                "a record that receivers discard is published at this name: replace it with "
                "this one rather than adding a second ("
                + lookalike[0].message
                + "); "
                + record.note
            ),
        )
    if spf.status is Status.UNKNOWN and existing is not None:
        record = replace(
            record,
            note=(
                "a look-up inside the current SPF record failed (DNS failure), so whether its "
                "includes already authorise the sending sources is unknown: they are added; "
                + record.note
            ),
        )
    elif spf.status is Status.UNKNOWN:
        record = replace(
            record,
            note=(
                "the current SPF record could not be read (DNS failure): if the domain has "
                "one, merge these sources into it instead of adding a second; " + record.note
            ),
        )
    return record


def _authorises_none(spf: SpfResult, sending: SendingSettings) -> bool:
    """Sources are configured and the published record, evaluated, authorises none of them
    (a failed look-up is not taken as a "no")."""
    if not (sending.include or sending.ips) or spf.status is not Status.VALID:
        return False
    if sending.include and spf.include_authorized is not False:
        return False
    return all(v.result in ("fail", "softfail", "neutral", "none") for v in spf.sources)


def _authorised_sources(spf: SpfResult, sending: SendingSettings) -> frozenset[str]:
    """The configured sources the published record already authorises through its includes,
    as the check evaluated them (check_host per address, the include tree's targets): a pass
    only. A look-up that failed (temperror) proves nothing, so that source is still added. A
    network is probed at one address only, so it is never taken as covered this way."""
    found = {v.source for v in spf.sources if v.result == "pass" and "/" not in v.source.strip()}
    if sending.include and spf.include_authorized:
        found.add(sending.include)
    return frozenset(found)


def _dmarc_record(name: str, report: DomainReport, rua: str) -> PublishRecord:
    dmarc = report.dmarc
    if dmarc.status is Status.VALID and dmarc.record:
        source = dmarc.source_domain or name
        record = dmarc_publish(name, None, dmarc.record)
        bad_tags = [p for p in dmarc.problems if p.code == "dmarc.invalid_tag_value"]
        corrected = corrected_record(dmarc.record) if bad_tags and source == name else None
        if corrected is not None and corrected != dmarc.record:
            # Receivers ignore the bad tags (RFC 9989), so the record works, but what was meant
            # is not what applies: offer the corrected record rather than "already published".
            return replace(
                dmarc_publish(name, None, corrected),
                already_published=False,
                note="replace the current record: " + "; ".join(p.message for p in bad_tags),
            )
        if source != name:
            policy = f" (p={dmarc.policy})" if dmarc.policy else ""
            record = replace(
                record,
                host=f"_dmarc.{source}",
                short_host=provider_host(f"_dmarc.{source}"),
                note=(
                    f"the DMARC record of the organisational domain {source} applies to "
                    f"{name}{policy}; publish one at _dmarc.{name} only for a different policy"
                ),
            )
        return record
    record = _starting_dmarc(name, rua)
    if dmarc.status is Status.INVALID and dmarc.record:
        record = replace(
            record, note="replace the invalid DMARC record with this one; " + record.note
        )
    elif dmarc.status is Status.UNKNOWN:
        record = replace(
            record,
            note="the current DMARC record could not be read (DNS failure): check before "
            "publishing; " + record.note,
        )
    return record
