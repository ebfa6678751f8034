"""``recheck --json`` writes each outcome by a fast path (json_out.outcome_line): the bytes
must be those of the generic conversion (json.dumps(outcome_json(...), ensure_ascii=True)),
for real outcomes of a re-check over loopback DNS whose records hold control characters and
text beyond ASCII, and for evidence that is not json.dumps' own text, or no JSON at all."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailauth_tui.cli import registry_cmds
from mailauth_tui.cli.json_out import outcome_json, outcome_line
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.registry import evidence
from mailauth_tui.registry.models import VerifyOutcome
from mailauth_tui.services.store import Store
from tests.fixtures.registry import seed_verified
from tests.integration.test_registry_cli import into_a_closed_pipe, make_cli, run

NAMES = ["plain.example.org", "odd.example.org", "del.example.org"]
# DNS text as a hostile or careless zone holds it: an escape sequence, C0 and C1 controls, DEL,
# a line separator, accents and a character beyond the BMP (a surrogate pair in JSON).
ODD = "\x1b[2J\x00\x07\t\n\x7f\x85\u2028 é 😀"
ASCII_ODD = "\x1b[31m\x01\x7f"  # ASCII only, but for DEL ensure_ascii escapes it too


def _generic(outcome: VerifyOutcome) -> str:
    return json.dumps(outcome_json(outcome), ensure_ascii=True)


@pytest.fixture
def outcomes(
    tmp_path: Path,
    dns_server: ZoneServer,
    zone: Zone,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[tuple[VerifyOutcome, str]], str]:
    """The outcomes of a real ``recheck --all --json``, each with the line written for it,
    and the whole output."""
    cli = make_cli(tmp_path, dns_server, zone, capsys)
    with Store(cli.db) as store:
        seed_verified(store, zone, NAMES, datetime.now(UTC) - timedelta(minutes=5))
    zone.set("odd.example.org", "TXT", f"v=spf1 include:{ODD} -all")
    zone.set("_dmarc.odd.example.org", "TXT", f"v=DMARC1; p=none; rua=mailto:{ODD}")
    zone.set("_dmarc.del.example.org", "TXT", f"v=DMARC1; p=none; rua=mailto:{ASCII_ODD}")
    seen: list[tuple[VerifyOutcome, str]] = []

    def recorded(outcome: VerifyOutcome) -> str:
        line = outcome_line(outcome)
        seen.append((outcome, line))
        return line

    monkeypatch.setattr(registry_cmds, "outcome_line", recorded)
    code, out, err = run(capsys, cli, "recheck", "--all", "--json")
    assert code == 0, err  # a first bad look at a verified record: stays verified
    return seen, out


def test_each_line_is_the_generic_encoding_of_its_outcome(
    outcomes: tuple[list[tuple[VerifyOutcome, str]], str],
) -> None:
    seen, out = outcomes
    assert sorted(o.domain.domain for o, _ in seen) == sorted(NAMES)
    for outcome, line in seen:
        assert line == _generic(outcome)
    assert out == "[\n" + ",\n".join(line for _, line in seen) + "\n]\n"
    assert out.isascii() and "\x7f" not in out
    odd = next(line for o, line in seen if o.domain.domain == "odd.example.org")
    # the odd text reached the output, escaped, in the verdicts and in the evidence alike
    assert odd.count(json.dumps(ODD)[1:-1]) >= 4
    dele = next(line for o, line in seen if o.domain.domain == "del.example.org")
    assert dele.count(json.dumps(ASCII_ODD)[1:-1]) >= 2


def test_evidence_not_written_by_this_process_gives_the_same_bytes(
    outcomes: tuple[list[tuple[VerifyOutcome, str]], str],
) -> None:
    seen, _ = outcomes
    outcome = next(o for o, _ in seen if o.domain.domain == "odd.example.org")
    raw = outcome.domain.evidence
    data = json.loads(raw)
    others = [
        raw,  # as assess wrote it, but forgotten (another process, or long ago)
        json.dumps(data, ensure_ascii=True, indent=1),  # another layout of the same JSON
        json.dumps(dict(reversed(data.items()))),  # unsorted keys (a hand edit)
        f"not JSON {ODD}",  # shown as the string it is
        "",  # none: null
        "   ",  # blank: the string
        "null",  # JSON null: the string
        "[1, 2.5, true]",  # JSON, not an object
        '{"a": 1e400}',  # a number json reads as infinity
    ]
    evidence._written.clear()
    for raw in others:
        row = replace(outcome.domain, evidence=raw, domain_unicode="bücher.example")
        other = replace(outcome, domain=row)
        assert outcome_line(other) == _generic(other), raw


def test_times_in_any_zone_give_the_same_bytes(
    outcomes: tuple[list[tuple[VerifyOutcome, str]], str],
) -> None:
    seen, _ = outcomes
    outcome = seen[0][0]
    india = timezone(timedelta(hours=5, minutes=30))
    at = datetime(2026, 12, 8, 3, 4, 5, tzinfo=india)
    for when in (
        at,
        at.astimezone(UTC),
        at.replace(microsecond=7, tzinfo=UTC),
        at.replace(tzinfo=None),
    ):
        keys = tuple(replace(k, created_at=when, retired_at=when) for k in outcome.domain.dkim_keys)
        row = replace(outcome.domain, added_at=when, code_sent_at=when, dkim_keys=keys)
        other = replace(outcome, domain=row, verdicts=(), transitions=("a -> b",))
        assert outcome_line(other) == _generic(other), when


@given(
    st.dictionaries(
        st.text(),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=4,
    )
)
def test_written_evidence_reads_back_as_its_ascii_json(data: dict[str, object]) -> None:
    raw = evidence.write_evidence(data)
    assert evidence.written_ascii(raw) == json.dumps(json.loads(raw), ensure_ascii=True)


def test_recheck_into_a_closed_pipe_ends_quietly(
    tmp_path: Path, dns_server: ZoneServer, zone: Zone, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reader went away (``recheck --json | head -0``): the timed flush finds the pipe
    # closed and the command ends quietly, as a write per item did.
    cli = make_cli(tmp_path, dns_server, zone, capsys)
    with Store(cli.db) as store:
        seed_verified(store, zone, NAMES, datetime.now(UTC) - timedelta(minutes=5))
    assert into_a_closed_pipe(cli, "recheck", "--all", "--json") == (0, "")
