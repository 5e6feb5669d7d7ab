"""Every section of the report renders for unusual runs too (no kernel here: the notebook calls these methods)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from harness.report import Report
from harness.report.index import HEADLINE, write_index
from tests.harness.report import synth

SECTIONS = (
    "headline",
    "matrix",
    "controls",
    "models",
    "pass_rates",
    "flaky",
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
    assert "No cell of the real matrix" in shown["matrix"]
    assert "3 of 5 control cells failed in at least one attempt" in shown["controls"]
    assert "0 cell(s) of the real matrix and 1 control cell(s) had mixed outcomes" in shown["flaky"]
    assert report.headline_numbers()["cells"] == 0 and ">n/a ok<" in shown["headline"]
    if with_baseline:
        assert report.trend is not None and report.trend.count("removed") == 6 and len(report.trend.flips) == 0
        assert "pass rate 96% [87%-99%] &rarr; n/a" in shown["trend_section"]


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
    assert shown["matrix"].split("<table", 1)[1].count(">error<") == 2  # the table, not the legend
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


def test_where_the_numbers_come_from_and_replay_times(tmp_path: Path) -> None:
    live = [r | {"world": "sandbox"} for r in synth.current("live")]
    synth.write_run(tmp_path, "live", live)
    shown = render_all(Report("live", runs_dir=tmp_path))
    assert "world sandbox; real and scripted models:" in shown["headline"]
    assert f"{synth.REAL} (real, via 127.0.0.1:8089)" in shown["headline"]
    assert "times are measured latency" in shown["headline"] and "replay" not in shown["distributions"]
    replayed = [r | {"world": "replay"} for r in synth.current("replayed")]
    synth.write_run(tmp_path, "replayed", replayed)
    report = Report("replayed", runs_dir=tmp_path)
    shown = render_all(report)
    assert "world replay" in shown["headline"] and "times are replay times, not latency" in shown["headline"]
    assert "no latency is shown" in shown["distributions"] and "latency (ms) median" in shown["distributions"]
    assert report.headline_numbers()["replayed"] is True
    summary = shown["distributions"].split("<table", 1)[1]
    assert "200" not in summary  # the replayed rows' 100-300 ms are not shown as latency


def test_costs_unknown_and_without_a_pass(tmp_path: Path) -> None:
    rows = [synth.row("core-create-branch", "autogen", "rovo", "fail", model=synth.REAL, attempt=k) for k in (1, 2)]
    rows += [synth.row("core-create-branch", "autogen", "composio", "fail", attempt=k) for k in (1, 2)]
    synth.write_run(tmp_path, "costly", rows)
    shown = render_all(Report("costly", runs_dir=tmp_path))["cost"]
    assert shown.count(">unknown<") == 3  # the real model is not in the price table: cost, per attempt, per pass
    assert ">0.0009<" in shown and ">no passing attempt<" in shown  # priced, but nothing passed: not a number


def test_the_index_lists_intervals_and_older_headlines(tmp_path: Path) -> None:
    newer = {"run_id": "new", "started_at": "2", "pass_rate": 0.8, "pass_rate_low": 0.67, "pass_rate_high": 0.88}
    older = {"run_id": "old", "started_at": "1", "pass_rate": 0.92, "regressions": 2}  # written before intervals
    for headline in (newer, older):
        (tmp_path / headline["run_id"]).mkdir()
        (tmp_path / headline["run_id"] / HEADLINE).write_text(json.dumps(headline | {"flaky_cells": 1}))
    page = write_index(tmp_path).read_text()
    assert "<td>80% [67%-88%]</td><td>1</td>" in page and "<td>92%</td><td>1</td>" in page
    assert page.index("new/report.html") < page.index("old/report.html")


def test_a_run_without_controls_says_so(tmp_path: Path) -> None:
    rows = [r for r in synth.current() if not r["control"]]
    synth.write_run(tmp_path / "runs", "plain", rows)
    report = Report("plain", runs_dir=tmp_path / "runs", output_dir=tmp_path / "reports" / "plain")
    headline = str(report.headline())
    assert "no controls in this run" in headline and "0/0" not in headline
    report.save_headline()
    assert "<td>none</td>" in write_index(tmp_path / "reports").read_text()
    synth.write_run(tmp_path / "runs", "controlled", synth.current())
    assert "3/5 controls caught" in str(Report("controlled", runs_dir=tmp_path / "runs").headline())


def cell_styles(page: str, table: str) -> dict[str, tuple[str, str]]:
    """Each styled cell of the Styler table ``table``: its text and its CSS (Styler groups the cells by style)."""
    css: dict[str, str] = {}
    for selectors, body in re.findall(r"([^{}<>]+)\{([^{}]*)\}", page):
        for selector in selectors.split(","):
            if selector.strip().startswith(f"#T_{table}_"):
                css[selector.strip()[len(f"#T_{table}_") :]] = (
                    css.get(selector.strip()[len(f"#T_{table}_") :], "") + body
                )
    texts = dict(re.findall(rf'<td id="T_{table}_(\w+)"[^>]*>([^<]*)<', page))
    return {cell: (texts[cell], style.strip()) for cell, style in css.items() if cell in texts}


def test_the_verdict_matrix_is_one_coloured_table_with_a_legend(tmp_path: Path) -> None:
    rows = [
        synth.row("core-create-branch", "autogen", "rovo", "pass"),
        synth.row("core-create-branch", "autogen", "composio", "expected-unsupported"),
        synth.row("core-fetch-readme", "autogen", "rovo", "fail"),
    ]
    synth.write_run(tmp_path, "colours", rows)
    matrix = str(Report("colours", runs_dir=tmp_path).matrix())
    assert "<img" not in matrix  # no heat map repeating the table
    colour = {text: style for text, style in cell_styles(matrix, "verdict-matrix").values()}
    assert set(colour) == {"pass", "unsupported (ok)", "fail"}
    assert len(set(colour.values())) == 3  # "unsupported (ok)" is not the green of "pass"
    legend = re.search(r'<div class="report-legend" id="verdict-legend">(.*?)</div>', matrix)
    assert legend is not None
    for word in ("pass", "unsupported (ok)", "k/n ok", "fail", "error", "-"):
        assert f"<b>{html.escape(word)}</b>" in legend.group(1)
    for text, style in colour.items():  # each colour of the table is explained beside its word
        assert f'<span style="{style.rstrip(";")}"><b>{html.escape(text)}</b>' in legend.group(1)


def test_metrics_in_their_units_and_calm_zeros(tmp_path: Path) -> None:
    synth.write_run(tmp_path, "baseline", synth.baseline())
    synth.write_run(tmp_path, "current", synth.current())
    report = Report("current", baseline="baseline", runs_dir=tmp_path)
    trend = str(report.trend_section())
    metrics = re.findall(r'<td id="T_trend-metrics_\w+"[^>]*>([^<]*)<', trend)
    assert metrics and all(re.fullmatch(r"[\d,]+(\.\d)?( ms)?|-", c) for c in metrics), metrics
    assert {"200 ms", "1,500", "1"} <= set(metrics)  # latency, tokens (in + out), tool calls; never "1.00"
    assert all(style == "text-align: right;" for _, style in cell_styles(trend, "trend-metrics").values())
    assert '<span class="regression">1 regression(s)</span>' in trend
    assert '<span class="report-calm">0 improvement(s)</span>' in trend  # zero is not shouted
    stacks = cell_styles(trend, "trend-stacks")  # text only: left-aligned, coloured by call
    assert stacks and not any("text-align" in style for _, style in stacks.values())
    summary = re.findall(r'<td id="T_distributions_\w+"[^>]*>([^<]*)<', str(report.distributions()))
    assert summary and all(re.fullmatch(r"[\d,]+(\.\d)?( ms)?|-", c) for c in summary), summary


def test_the_environment_shows_no_local_paths_and_the_composio_version(tmp_path: Path) -> None:
    rows = synth.current()
    rows[0]["versions"] = rows[0]["versions"] | {"composio": "0.29.0"}
    synth.write_run(tmp_path, "env", rows)
    shown = str(Report("env", runs_dir=tmp_path).environment())
    assert str(tmp_path) not in shown and "…/" + tmp_path.name + "/env" in shown
    assert ">harness/report/prices.yaml<" in shown  # the price table, relative to the project
    assert re.search(r">composio</th>\s*<td[^>]*>0\.29\.0<", shown)
    synth.write_run(tmp_path, "no-composio", synth.current())
    shown = str(Report("no-composio", runs_dir=tmp_path).environment())
    assert "(installed; no cell of this run used it)" in shown
