"""``check --json`` lines: orjson's fast path and the standard library's fallback write the same
JSON, always ASCII, with every control character escaped."""

from __future__ import annotations

import gc
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailauth_tui.cli import check_cmd
from mailauth_tui.cli.check_cmd import report_line
from mailauth_tui.cli.gc_policy import batch_gc
from mailauth_tui.cli.main import main
from mailauth_tui.core.report_json import report_to_dict
from mailauth_tui.core.results import (
    BimiResult,
    DkimResult,
    DmarcResult,
    DomainReport,
    Problem,
    Severity,
    SpfResult,
    Status,
)


def _report(
    domain: str = "example.com", unicode: str = "example.com", record: str = "v=spf1 -all"
) -> DomainReport:
    problem = Problem("spf.x", Severity.WARNING, f"about {record}", "fix it")
    return DomainReport(
        domain=domain,
        domain_unicode=unicode,
        spf=SpfResult(Status.VALID, record, 1, 0, (problem,)),
        dmarc=DmarcResult(Status.VALID, "v=DMARC1; p=none", "none", "none", "none", 100),
        bimi=BimiResult(Status.MISSING),
        dkim=(DkimResult("s1", Status.VALID, "s1._domainkey.example.com", key_bits=2048),),
    )


def test_line_is_the_report_as_json() -> None:
    report = _report()
    line = report_line(report)
    assert "\n" not in line
    assert json.loads(line) == report_to_dict(report)
    assert line.startswith('{"domain":"example.com","domain_unicode":"example.com","valid":')


def test_top_level_problems_are_every_record_s_in_report_order() -> None:
    def problem(code: str) -> Problem:
        return Problem(code, Severity.WARNING, f"about {code}", "fix it")

    report = DomainReport(
        domain="example.com",
        domain_unicode="example.com",
        spf=SpfResult(Status.INVALID, problems=(problem("spf.a"), problem("spf.b"))),
        dmarc=DmarcResult(Status.MISSING, problems=(problem("dmarc.a"),)),
        bimi=BimiResult(Status.MISSING, problems=(problem("bimi.a"),)),
        dkim=(
            DkimResult("s1", Status.MISSING, problems=(problem("dkim.s1"),)),
            DkimResult("s2", Status.VALID),
            DkimResult("s3", Status.MISSING, problems=(problem("dkim.s3"),)),
        ),
        problems=(problem("domain.a"),),
    )
    data = json.loads(report_line(report))
    codes = ["domain.a", "spf.a", "spf.b", "dmarc.a", "dkim.s1", "dkim.s3", "bimi.a"]
    assert [p["code"] for p in data["problems"]] == [p.code for p in report.all_problems] == codes
    assert [p["code"] for p in data["spf"]["problems"]] == ["spf.a", "spf.b"]
    assert [[p["code"] for p in d["problems"]] for d in data["dkim"]] == [
        ["dkim.s1"],
        [],
        ["dkim.s3"],
    ]
    assert [p["code"] for p in data["dmarc"]["problems"]] == ["dmarc.a"]
    assert [p["code"] for p in data["bimi"]["problems"]] == ["bimi.a"]


def test_idn_and_c1_controls_leave_as_escapes() -> None:
    report = _report("xn--bcher-kva.example", "bücher.example", "v=spf1 \x9b31m\x1b[2J -all")
    line = report_line(report)
    assert line.isascii()
    assert "\\u00fc" in line and "\\u009b" in line and "\\u001b" in line
    assert json.loads(line) == report_to_dict(report)


def test_a_lone_surrogate_from_the_command_line_is_escaped_not_fatal() -> None:
    report = _report("bad\udcff.example", "bad\udcff.example")
    line = report_line(report)
    assert line.isascii() and "\\udcff" in line


@given(st.text())
def test_any_text_gives_the_same_json_by_either_path(text: str) -> None:
    report = _report(record=text)
    assert json.loads(report_line(report)) == report_to_dict(report)
    assert report_line(report).isascii()


def test_batch_gc_collects_rarely_then_puts_everything_back() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with batch_gc():
        assert gc.get_threshold()[0] > before[0]
        assert gc.get_freeze_count() >= max(frozen, 1)
    assert gc.get_threshold() == before
    assert (gc.get_freeze_count() > 0) == (frozen > 0)


def test_a_check_that_fails_inside_gives_an_unknown_report_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(*args: object, **kwargs: object) -> DomainReport:
        raise KeyError("bug")

    monkeypatch.setattr(check_cmd, "check_domain", broken)
    code = main(["check", "--json", "--selector", "s1", "--nameserver", "127.0.0.1:9", "a.example"])
    (line,) = capsys.readouterr().out.splitlines()
    data = json.loads(line)
    assert code == 1
    assert data["spf"]["status"] == data["dmarc"]["status"] == "unknown"
    assert [(d["selector"], d["status"]) for d in data["dkim"]] == [("s1", "unknown")]
    assert [p["code"] for p in data["problems"]] == ["check.internal_error"]
    assert "KeyError" in data["problems"][0]["message"]


@pytest.mark.parametrize(
    ("encoding", "binary"), [("utf-8", True), ("ascii", True), ("utf-16", False)]
)
def test_the_json_writer_writes_the_same_lines_through_bytes_or_text(
    encoding: str, binary: bool
) -> None:
    reports = [_report(), _report("b\u00fccher.example", record="v=spf1 \x1b[31m -all")]
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, newline="")
    stream.write("")  # nothing pending, but the writer must flush text before bytes anyway
    writer = check_cmd._JsonWriter(stream)
    assert (writer.binary is not None) is binary
    for report in reports:
        writer.write(report)
    writer.flush()
    expected = "".join(report_line(r) + "\n" for r in reports)
    assert raw.getvalue().decode(encoding) == expected
    text = io.StringIO()  # no bytes underneath: text
    text_writer = check_cmd._JsonWriter(text)
    assert text_writer.binary is None
    for report in reports:
        text_writer.write(report)
    assert text.getvalue() == expected


def test_the_json_writer_writes_the_lines_ready_at_a_flush_as_one() -> None:
    # A stream's buffer holds two or three lines: written one by one, nearly every domain
    # cost a system call.
    class Counting(io.BytesIO):
        writes = 0

        def write(self, data: Any) -> int:
            self.writes += 1
            return super().write(data)

    raw = Counting()
    writer = check_cmd._JsonWriter(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
    reports = [_report(f"d{i}.example", f"d{i}.example") for i in range(5)]
    for report in reports[:3]:
        writer.write(report)
    assert raw.writes == 0  # nothing before the flush
    writer.flush()
    for report in reports[3:]:
        writer.write(report)
    writer.flush()
    writer.flush()  # nothing pending: nothing written
    assert raw.writes == 2
    assert raw.getvalue().decode() == "".join(report_line(r) + "\n" for r in reports)
