"""``harness nightly`` twice on a one-cell matrix (the second run's report has the first as baseline, and
reports/index.html lists both), and ``harness run`` ending with the report's path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.report.render import ROOT

HARNESS = [sys.executable, "-m", "harness.cli"]
TINY = [
    "--scenarios",
    str(ROOT / "scenarios" / "core-create-branch.yaml"),
    "--frameworks",
    "pydantic-ai",
    "--paths",
    "rovo",
    "--concurrency",
    "1",
]


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*HARNESS, *args], cwd=cwd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_nightly_twice_keeps_an_index_and_a_baseline(tmp_path: Path) -> None:
    options = ["--runs-dir", "runs", "--reports-dir", "reports", "--controls", "", *TINY]
    first = harness("nightly", *options, cwd=tmp_path)
    assert "baseline: none (first run)" in first.stderr
    second = harness("nightly", *options, cwd=tmp_path)
    first_id, second_id = (Path(p.stdout.splitlines()[-1]).parent.name for p in (first, second))
    assert first_id != second_id and f"baseline: {first_id}" in second.stderr
    page = tmp_path / second.stdout.splitlines()[-1]
    assert page == tmp_path / "reports" / second_id / "report.html" and page.is_file()
    headline = json.loads((page.parent / "headline.json").read_text())
    assert (headline["cells"], headline["pass_rate"], headline["baseline"], headline["regressions"]) == (
        1,
        1.0,
        first_id,
        0,
    )
    text = page.read_text()
    assert f"Against {first_id}: pass rate 100% [21%-100%] → 100% [21%-100%]" in text  # 1/1 says little
    assert "p = 1: within noise" in text and "1 flaky cell" not in text
    index = (tmp_path / "reports" / "index.html").read_text()
    assert index.count('/report.html">') == 2
    assert index.index(f'href="{second_id}/report.html"') < index.index(f'href="{first_id}/report.html"')


def test_run_ends_with_the_report_path_and_no_report_skips_it(tmp_path: Path) -> None:
    replay = ["--world", "replay", "--cassettes", str(ROOT / "cassettes"), "--new-run-id", "replayed", *TINY]
    skipped = CliRunner().invoke(
        app,
        [
            "run",
            *replay,
            "--no-report",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--reports-dir",
            str(tmp_path / "reports"),
        ],
    )  # in-process: one start-up less
    assert skipped.exit_code == 0, skipped.output
    assert (tmp_path / "runs" / "replayed" / "results.jsonl").is_file() and not (tmp_path / "reports").exists()
    resume = ["--run-id" if arg == "--new-run-id" else arg for arg in replay]  # the same options: accepted
    resumed = harness("run", *resume, cwd=tmp_path)  # ./runs, ./reports; every cell is done: only the report is new
    assert resumed.stdout.splitlines()[-1] == "reports/replayed/report.html"
    assert (tmp_path / "reports" / "replayed" / "report.html").is_file()
