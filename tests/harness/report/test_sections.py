"""Every section of the report renders for unusual runs too (no kernel here: the notebook calls these methods)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.report import Report
from tests.harness.report import synth

SECTIONS = (
    "headline",
    "matrix",
    "controls",
    "pass_rates",
    "distributions",
    "cost",
    "failures",
    "safety",
    "trend_section",
    "environment",
)


def render_all(report: Report) -> dict[str, str]:
    return {name: str(getattr(report, name)()) for name in SECTIONS}


@pytest.mark.parametrize("with_baseline", [False, True])
def test_a_run_of_negative_controls_only(tmp_path: Path, with_baseline: bool) -> None:
    rows = [r for r in synth.current() if r["control"]]
    synth.write_run(tmp_path, "controls", rows)
    synth.write_run(tmp_path, "baseline", synth.baseline())
    report = Report("controls", baseline="baseline" if with_baseline else None, runs_dir=tmp_path)
    shown = render_all(report)
    assert "No cell of the real matrix" in shown["matrix"] and "2 of 3 control cells failed" in shown["controls"]
    assert report.headline_numbers()["cells"] == 0
    if with_baseline:
        assert report.trend is not None and report.trend.count("removed") == 12


def test_a_run_that_only_broke(tmp_path: Path) -> None:
    rows = [
        synth.row(
            "core-create-branch",
            "autogen",
            p,
            "error",
            reasons=["TimeoutError: timed out after 1 s"],
            transcript=None,
            input_tokens=None,
            output_tokens=None,
            wall_ms=None,
        )
        for p in synth.PATHS
    ]
    synth.write_run(tmp_path, "broken", rows)
    shown = render_all(Report("broken", runs_dir=tmp_path, output_dir=tmp_path / "out"))
    assert shown["matrix"].count(">error<") == 2
    assert "stack error" in shown["failures"] and "transcript missing" not in shown["failures"]
    assert ">unknown<" in shown["cost"]  # no token counts: no cost


def test_an_older_run_renders_with_notes(tmp_path: Path) -> None:
    rows = synth.current()
    for r in rows:
        for name in ("tags", "control", "tools", "destructive_calls"):
            r.pop(name)
    synth.write_run(tmp_path, "old", rows)
    shown = render_all(Report("old", runs_dir=tmp_path))
    assert "predate the fields" in shown["headline"]
    assert "file://" in shown["failures"]  # no output directory: links point at the run's own transcripts


def test_run_data_is_shown_as_text_and_secrets_are_redacted(tmp_path: Path) -> None:
    reasons = ["the answer does not match /<script>alert(1)</script>/", f"Bearer {synth.SECRET} was refused"]
    synth.write_run(tmp_path, "odd", [synth.row("core-create-branch", "autogen", "rovo", "fail", reasons=reasons)])
    shown = render_all(Report("odd", runs_dir=tmp_path, output_dir=tmp_path / "out"))
    assert "<script>" not in shown["failures"] and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown["failures"]
    assert synth.SECRET not in shown["failures"] and "Bearer REDACTED was refused" in shown["failures"]
