"""Each benchmark, run in-process at a tiny size, so `make bench` cannot rot between runs.

The figures are not checked (a loaded CI machine makes them meaningless);
what is checked is that every benchmark completes, reports its figures with
same-run baselines, and that the report writer keeps hand-written text.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import breach_latency, public_figures, referrals, report, scale, sla_throughput
from benchmarks.common import REPO_ROOT, Context, Engines, Figure, Report, machine


def context(tmp_path: Path, **engines: object) -> Context:
    workdir = tmp_path / "bench"
    workdir.mkdir()
    return Context(workdir, Engines(tmp_path / "engines", **engines), quick=True)


def assert_complete(result: Report, figures: int) -> None:
    assert len(result.figures) == figures, result.figures
    for figure in result.figures:
        assert figure.value > 0, figure
        if figure.baseline is not None:
            assert figure.ratio is not None and figure.ratio > 0, figure


def test_scale_runs_each_size_in_its_own_process(tmp_path: Path) -> None:
    result = scale.run(context(tmp_path), {"open clocks": [200, 400], "due at each size": 10})
    assert_complete(result, figures=10)
    assert result.figures[5].name.startswith("due scan, 10 due of 400")


def test_public_figures_times_a_first_and_a_kept_answer(tmp_path: Path) -> None:
    result = public_figures.run(
        context(tmp_path), {"contacts in the year": 120, "areas": 2, "centres per area": 3}
    )
    assert_complete(result, figures=2)


@pytest.mark.kafka
def test_sla_throughput_drains_and_processes_every_event(tmp_path: Path, kafka) -> None:  # noqa: ANN001
    size = {"events (SQLite store)": 40, "events (FerretDB store)": 0, "partitions": 6}
    result = sla_throughput.run(context(tmp_path, kafka=kafka), size)
    assert_complete(result, figures=2)


@pytest.mark.kafka
def test_breach_latency_sees_every_breach_mailed(tmp_path: Path, kafka) -> None:  # noqa: ANN001
    size = {
        "clocks falling due": 10,
        "window seconds": 2,
        "lead seconds": 6,
        "Kafka round trips": 20,
        "bare SMTP sends": 5,
    }
    result = breach_latency.run(context(tmp_path, kafka=kafka), size)
    assert_complete(result, figures=6)
    assert "breach events seen 10 of 10; notices carried by an accepted e-mail 20 of 20" in result.notes[0]


@pytest.mark.mongo
def test_referrals_through_gunicorn_on_ferretdb_and_sqlite(tmp_path: Path, mongo) -> None:  # noqa: ANN001
    size = {
        "requests": 12,
        "warm-up requests": 2,
        "concurrency": 2,
        "gunicorn workers": 1,
        "partner agencies": 2,
        "stored referrals": 40,
    }
    result = referrals.run(context(tmp_path, ferretdb=mongo), size)
    assert_complete(result, figures=10)
    assert result.figures[4].name == "referral POST throughput at 40 stored"
    assert result.figures[8].name == "referral POST throughput, SQLite store"
    assert any(
        "referrals {201: 12} fresh, {201: 12} at 40 stored, {201: 12} on SQLite" in n for n in result.notes
    )
    peaks = [note for note in result.notes if note.startswith("peak RSS, contacts (gunicorn): ")]
    assert peaks and "MiB" in peaks[0], result.notes


def test_compare_prints_old_and_new_figures_side_by_side(tmp_path: Path) -> None:
    old = tmp_path / "old.md"
    before = Report("one", "First", {"n": 1})
    before.figures += [Figure("speed", 10.0, "req/s", "bare", 100.0), Figure("gone", 1.0, "s")]
    report.write(old, [before], machine(), quick=True)
    after = Report("one", "First", {"n": 1}, figures=[Figure("speed", 30.0, "req/s", "bare", 100.0)])
    after.figures.append(Figure("new", 2.0, "s"))

    lines = report.compare(old.read_text(), [after]).splitlines()

    assert lines[0] == "| benchmark | figure | old | new | old ratio | new ratio |"
    assert "| one | speed | 10.00 req/s | 30.00 req/s | 0.10x | 0.30x |" in lines
    assert "| one | new | - | 2.00 s | - | - |" in lines
    assert "| one | gone | 1.00 s | - | - | - |" in lines


def test_report_replaces_only_the_sections_that_ran(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.md"
    path.write_text(
        "# Benchmarks\n\nHand-written intro.\n\n<!-- bench:results-end -->\n\n## Fixed\n\nKept.\n"
    )
    first = Report("one", "First", {"n": 1000})
    second = Report("two", "Second", {"n": 2})
    report.write(path, [first, second], machine(), quick=True)
    report.write(path, [Report("one", "First again", {"n": 5})], machine(), quick=False)
    text = path.read_text()
    assert "Hand-written intro." in text and "## Fixed\n\nKept." in text
    assert "First again" in text and "### First\n" not in text and "### Second" in text
    assert text.index("First again") < text.index("Second") < text.index("## Fixed")


@pytest.mark.parametrize(("work", "unit"), [("referral", "request"), ("scan", "clock")])
def test_profile_lists_its_top_entries_per_unit_of_work(work: str, unit: str) -> None:
    """Its own process: the referral profile sets up the app as gunicorn's workers do (JSON
    logs, multiprocess metrics), which must not leak into the test process."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.profile",
            work,
            "--count",
            "3",
            "--warm-up",
            "2",
            "--top",
            "5",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ms CPU" in result.stdout and f"by cumulative, per {unit}" in result.stdout, result.stdout
    assert len([line for line in result.stdout.splitlines() if line.startswith("| `")]) == 10, result.stdout
