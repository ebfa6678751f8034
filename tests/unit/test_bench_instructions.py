"""The instruction-count benchmark's reading of valgrind and its fraction (no valgrind run: a
real one takes minutes)."""

from __future__ import annotations

import shutil

import pytest

from benchmarks import bench_instructions as bench

# The tail of a real report: valgrind-3.19.0 --tool=cachegrind --cache-sim=no.
_REPORT = """\
==27753== Command: /work/venv/bin/python -c pass
==27753==
--27753-- warning: L3 cache found, using its data for the LL simulation.
==27753==
==27753== I   refs:      40,111,029
"""


def test_the_count_is_read_from_valgrinds_report() -> None:
    assert bench.instructions(_REPORT) == 40_111_029


def test_a_report_without_a_count_is_an_error_that_shows_the_report() -> None:
    with pytest.raises(RuntimeError, match="Command: /work/venv"):
        bench.instructions(_REPORT.replace("I   refs", "D   refs"))


def test_the_fraction_is_the_resolvers_share_of_a_domains_instructions() -> None:
    # 5 queries at 100,000 each, in a check costing 1,000,000 a domain: half is the resolver.
    assert bench.fraction(100_000, 5.0, 1_000_000) == pytest.approx(0.5)


def test_without_valgrind_it_says_so_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert bench.main(["--domains", "1"]) == 2
    assert "valgrind is not installed" in capsys.readouterr().err
