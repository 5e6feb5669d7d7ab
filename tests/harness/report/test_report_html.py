"""The report notebook executed with papermill on a small synthetic run with a baseline, its standalone HTML,
and the same HTML opened in headless Chromium (matrix, charts and transcript links, with a screenshot kept)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.report import Rendered, ReportError, render_report
from harness.report.render import ROOT, export_html
from tests.harness.report import synth
from tests.harness.report.browser import Browser, require_chromium

ARTIFACTS = ROOT / "test-artifacts"
MISSING = "core-fetch-readme--autogen--composio--sandbox-reference--2.json"  # the regression's transcript


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    tmp = tmp_path_factory.mktemp("report")
    synth.write_run(tmp / "runs", "baseline", synth.baseline())
    run_dir = synth.write_run(tmp / "runs", "current", synth.current())
    (run_dir / "transcripts" / MISSING).unlink()
    return render_report("current", baseline="baseline", runs_dir=tmp / "runs", reports_dir=tmp / "reports")


def test_the_notebook_ran_every_cell_without_error(rendered: Rendered) -> None:
    notebook = nbformat.read(rendered.notebook, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    parameters = next(c for c in code if "injected-parameters" in c.metadata.get("tags", []))
    assert "baseline = " in parameters.source and "current" in parameters.source


def test_the_html_is_standalone_with_code_hidden(rendered: Rendered) -> None:
    page = rendered.html.read_text()
    assert rendered.html == rendered.notebook.parent / "report.html"
    assert "<title>Report current</title>" in page
    assert not re.search(r"<script[^>]+src=", page), "a report must not load remote scripts"
    assert "report.matrix()" not in page and "hl-ipython3" not in page
    assert "Report(run, baseline=baseline" not in page
    assert "load_results(report.data.dir)" not in page  # the notebook's own-analysis cells are left out
    for section in (
        "headline",
        "matrix",
        "controls",
        "models",
        "pass-rates",
        "flaky",
        "distributions",
        "cost",
        "failures",
        "safety",
        "trend",
        "environment",
    ):
        assert f'id="section-{section}"' in page
    for chart in ("distributions", "cost", "trend"):
        assert re.search(rf'data-chart="{chart}"[^>]*src="data:image/png;base64,', page)


def test_show_code_keeps_the_code(rendered: Rendered) -> None:
    page = export_html(rendered.notebook, "with code", show_code=True)
    assert page.count('class="highlight hl-ipython3"') >= 10 and 'id="section-matrix"' in page


def test_the_html_shows_regressions_missing_transcripts_and_no_secret(rendered: Rendered) -> None:
    page = rendered.html.read_text()
    assert '<span class="regression">1 regression(s)</span>' in page and "5 within noise" in page
    assert '<span class="report-calm">0 improvement(s)</span>' in page
    assert "transcript missing" in page and f"1 transcript file(s) missing: runs/current/transcripts/{MISSING}" in page
    assert "pass^3 [95% CI]" in page  # three attempts per cell
    assert "3 of 5 control cells failed in at least one attempt" in page
    report_dir = rendered.html.parent
    copies = sorted(p.name for p in (report_dir / "transcripts").iterdir())
    failing = [
        Path(r["transcript"]).stem
        for r in synth.current()
        if r["verdict"] in ("fail", "error") and r["transcript"] and Path(r["transcript"]).name != MISSING
    ]
    assert len(failing) == 12 and copies == sorted(f"{stem}.{ext}" for stem in failing for ext in ("html", "json"))
    for path in report_dir.rglob("*"):
        if path.is_file():
            assert synth.SECRET not in path.read_text(errors="replace"), path
    assert "REDACTED" in (report_dir / "transcripts" / copies[1]).read_text()


def test_headline_and_index(rendered: Rendered) -> None:
    headline = json.loads((rendered.html.parent / "headline.json").read_text())
    assert {
        k: headline[k]
        for k in (
            "run_id",
            "cells",
            "attempts",
            "pass",
            "fail",
            "error",
            "flaky_cells",
            "flaky_control_cells",
            "controls",
            "controls_caught",
            "baseline",
            "regressions",
            "improvements",
            "cell_flips",
            "replayed",
        )
    } == {
        "run_id": "current",
        "cells": 18,
        "attempts": 54,
        "pass": 43,
        "fail": 10,
        "error": 1,
        "flaky_cells": 5,
        "flaky_control_cells": 1,
        "controls": 5,
        "controls_caught": 3,
        "baseline": "baseline",
        "regressions": 1,
        "improvements": 0,
        "cell_flips": 7,
        "replayed": False,
    }
    assert headline["model_kinds"][synth.REAL] == "real" and headline["model_kinds"][synth.FLAKY] == "control"
    assert headline["pass_rate_low"] < headline["pass_rate"] < headline["pass_rate_high"]
    index = (rendered.html.parent.parent / "index.html").read_text()
    assert '<a href="current/report.html">current</a>' in index and "<td>80% [67%-88%]</td><td>5</td>" in index


def test_the_report_in_a_browser(rendered: Rendered, tmp_path: Path, record_property: pytest.RecordProperty) -> None:
    """The screenshot is kept in test-artifacts/ (listed at the end of the test session)."""
    require_chromium()
    with Browser(tmp_path) as browser:
        browser.open(rendered.html.as_uri())
        assert browser.evaluate("document.title") == "Report current"
        rows = table_text(browser, "#T_verdict-matrix tbody tr")
        assert [r[0] for r in rows] == [f"{s} · {m}" for s in synth.SCENARIOS for m in (synth.REAL, synth.MODEL)]
        assert all(len(r) == 5 for r in rows) and rows[3][1] == "2/3 ok"
        # text left-aligned (also against the notebook export's own table style), numbers right-aligned
        align = browser.evaluate(
            "['#T_verdict-matrix tbody td', '#T_verdict-matrix tbody th', '#flaky-cells td', "
            "'#T_trend-metrics tbody td'].map(s => getComputedStyle(document.querySelector(s)).textAlign)"
        )
        assert align == ["left", "left", "left", "right"]
        assert "unsupported (ok)" in browser.evaluate("document.querySelector('#verdict-legend').innerText")
        headline = browser.evaluate("document.querySelector('#section-headline').innerText")
        assert "80% ok" in headline and "95% CI [67%-88%]" in headline and "5 flaky cells" in headline
        assert f"{synth.REAL} (real, via 127.0.0.1:8089)" in headline and "times are measured latency" in headline
        # the models side by side: one column group per model, the reference first and the controls last
        groups = browser.evaluate(
            "[...document.querySelectorAll('#T_models-by-stack thead tr:first-child th')].map(h => h.textContent"
            ".trim()).filter(t => t)"
        )
        assert groups == [
            f"{synth.MODEL} (scripted)",
            f"{synth.REAL} (real)",
            f"{synth.FLAKY} (control)",
            "sandbox-gullible (control)",
            "sandbox-overclaim (control)",
        ]
        by_stack = {r[0]: r[1:] for r in table_text(browser, "#T_models-by-stack tbody tr")}
        assert by_stack["autogen / rovo"][:6] == ["100% [70%-100%]", "9/9", "3", "22% [6%-55%]", "2/9", "3"]
        assert by_stack["(all)"][6:9] == ["83% [44%-97%]", "5/6", "2"]  # sandbox-flaky over its attempts
        assert browser.evaluate("document.querySelectorAll('#T_models-by-scenario tbody tr').length") == 4
        rates = {(r[0], r[1]): r for r in table_text(browser, "#T_pass-rates tbody tr")}
        assert rates[("autogen / rovo", synth.REAL)][5:] == [
            "22% [6%-55%]",
            "22% [0%-67%]",
            "11% [0%-33%]",
            "0% [0%-0%]",
        ]
        # the flaky cells, each attempt's verdict in order, the failing ones linked to their transcripts
        flaky = table_text(browser, "#flaky-cells tbody tr")
        assert len(flaky) == 6 and [f"{synth.FLAKY} (control)", "2/3", "pass, fail, pass"] in [r[2:] for r in flaky]
        flaky_links = browser.evaluate("[...document.querySelectorAll('#flaky-cells a')].map(a => a.textContent)")
        assert flaky_links == ["fail"] * 4  # the reference's error has no transcript, its fail's file is missing
        trend = {(r[0], r[1]): r for r in table_text(browser, "#T_trend-stacks tbody tr")}
        assert trend[("autogen / rovo", synth.REAL)][2:] == [
            "9/9: 100% [70%-100%]",
            "2/9: 22% [6%-55%]",
            "Fisher's exact test (two-sided)",
            "p = 0.0023",
            "regression",
        ]
        assert trend[("autogen / composio", synth.MODEL)][-2:] == ["p = 1", "within noise"]
        charts = browser.evaluate(
            "[...document.querySelectorAll('img.report-chart')].map(i => "
            "[i.dataset.chart, i.complete, i.naturalWidth, i.getBoundingClientRect().width])"
        )
        assert {c[0] for c in charts} == {"distributions", "cost", "trend"}  # the matrix is a coloured table
        assert all(complete and natural > 100 and shown > 100 for _, complete, natural, shown in charts), charts
        links = browser.evaluate("[...document.querySelectorAll('a.transcript-link')].map(a => a.href)")
        assert len(set(links)) == 12 and all(Path(unquote(urlparse(link).path)).is_file() for link in links)
        taxonomy = browser.evaluate(
            "[...document.querySelectorAll('#taxonomy tbody tr')].map(r => [r.children[0].textContent, "
            "r.children[1].textContent, r.querySelectorAll('a').length])"
        )
        assert taxonomy[0] == ["false success claim", "transcript", 3]
        assert browser.evaluate("document.querySelectorAll('.jp-CodeCell .jp-InputArea').length") == 0
        ARTIFACTS.mkdir(exist_ok=True)
        shot = browser.screenshot(ARTIFACTS / "report-browser.png")
        record_property("artifact", str(shot))
        print(f"screenshot of the report: {shot}")
        browser.open(links[0])
        text = browser.evaluate("document.body.innerText")
        assert "verdict: fail" in text and "Create a branch feature/login" in text and synth.SECRET not in text
    assert shot.stat().st_size > 50_000


def table_text(browser: Browser, rows: str) -> list[list[str]]:
    """The text of each cell of the rows matched by the selector ``rows``."""
    return list(
        browser.evaluate(
            f"[...document.querySelectorAll({json.dumps(rows)})].map(r => [...r.children].map(c => "
            "c.textContent.trim()))"
        )
    )


def test_the_command_line_report_and_its_errors(rendered: Rendered, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["report", "nope", "--runs-dir", str(tmp_path)])
    assert missing.exit_code == 2 and "no run directory nope" in missing.output
    assert "Traceback" not in missing.output
    (tmp_path / "partial").mkdir()
    partial = runner.invoke(app, ["report", str(tmp_path / "partial")])
    assert partial.exit_code == 2 and "partial/results.jsonl: missing" in partial.output
    bad_prices = tmp_path / "prices.yaml"
    bad_prices.write_text("models: [1]\n")
    run_dir = rendered.html.parents[2] / "runs" / "current"
    priced = runner.invoke(app, ["report", str(run_dir), "--prices", str(bad_prices)])
    assert priced.exit_code == 2 and "prices.yaml:1: models: Input should be a valid dictionary" in priced.output


def test_a_notebook_that_writes_no_headline_is_an_error(rendered: Rendered, tmp_path: Path) -> None:
    bare = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    )
    bare.cells = [nbformat.v4.new_code_cell("run = None", metadata={"tags": ["parameters"]})]
    notebook = tmp_path / "bare.ipynb"
    nbformat.write(bare, notebook)
    run_dir = rendered.html.parents[2] / "runs" / "current"
    with pytest.raises(ReportError, match=r"bare\.ipynb did not write .*headline\.json"):
        render_report(run_dir, reports_dir=tmp_path / "reports", notebook=notebook)
