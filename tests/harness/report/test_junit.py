"""JUnit XML: one test case per cell, the negative controls in their own suite, expected-unsupported as skipped;
and `harness run --junit-xml` writing it for a replayed run."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from harness.cli import app
from harness.report.junit import junit_xml
from harness.results import ResultRow

ROOT = Path(__file__).resolve().parents[3]


def row(verdict: str, model: str = "sandbox-reference", reasons: tuple[str, ...] = ()) -> ResultRow:
    data = {"scenario": "core-x", "framework": "pydantic-ai", "path": "rovo", "model": model, "duration_s": 1.25}
    return ResultRow.model_validate(
        data | {"key": f"k-{verdict}-{model}", "verdict": verdict, "reasons": list(reasons)}
    )


def test_each_verdict_becomes_what_ci_shows() -> None:
    rows = [
        row("pass"),
        row("fail", reasons=("the answer does not contain 'x'", "must_call create_branch")),
        row("error", reasons=("timeout after 120 s",)),
        row("expected-unsupported", reasons=("rovo has no issue tool",)),
        row("fail", "sandbox-no-tools", ("no tool was called",)),
        row("pass", "sandbox-overclaim"),
    ]
    root = ET.fromstring(junit_xml(rows, "r1"))
    assert root.get("name") == "harness run r1"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "6",
        "failures": "2",
        "errors": "1",
        "skipped": "1",
    }
    matrix, controls = root.findall("testsuite")
    assert (matrix.get("name"), controls.get("name")) == ("harness", "negative controls")
    cases = matrix.findall("testcase")
    assert [c.get("classname") for c in cases] == ["core-x"] * 4
    assert cases[0].get("name") == "pydantic-ai / rovo / sandbox-reference" and cases[0].get("time") == "1.250"
    assert list(cases[0]) == []
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "the answer does not contain 'x'"
    assert failure.text == "the answer does not contain 'x'\nmust_call create_branch"
    assert cases[2].find("error") is not None and cases[2].find("error").get("message") == "timeout after 120 s"  # type: ignore[union-attr]
    skipped = cases[3].find("skipped")
    assert skipped is not None and skipped.get("message") == "expected-unsupported: rovo has no issue tool"
    caught, missed = controls.findall("testcase")
    assert list(caught) == []  # a control that failed was caught: the test passes
    assert missed.find("failure").get("type") == "control-passed"  # type: ignore[union-attr]


def test_credentials_in_reasons_are_redacted() -> None:
    leaked = row("fail", reasons=("got Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123",))
    text = junit_xml([leaked], "r").decode()
    assert "abcdefghijklmnopqrstuvwxyz0123" not in text and "Bearer REDACTED" in text


def test_harness_run_writes_junit_for_a_replayed_run(tmp_path: Path) -> None:
    scenario = "core-comment-latest-issue"
    shutil.copytree(ROOT / "cassettes" / scenario, tmp_path / "cassettes" / scenario)
    out = tmp_path / "reports" / "junit.xml"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--world",
            "replay",
            "--cassettes",
            str(tmp_path / "cassettes"),
            "-s",
            str(ROOT / "scenarios" / f"{scenario}.yaml"),
            "--frameworks",
            "pydantic-ai",
            "--paths",
            "rovo",
            "--controls",
            "pydantic-ai",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--new-run-id",
            "replayed",
            "--concurrency",
            "1",  # one worker process: its imports are most of a replay's time
            "--no-report",
            "--junit-xml",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "runs/replayed/results.jsonl").read_text().splitlines()]
    root = ET.parse(out).getroot()
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert int(suites["harness"].get("tests", 0)) == sum(1 for r in rows if not r["control"]) == 1
    assert int(suites["negative controls"].get("tests", 0)) == sum(1 for r in rows if r["control"]) == 3
    (reference,) = suites["harness"].findall("testcase")
    assert reference.find("skipped") is not None  # Rovo has no issue tool: expected-unsupported
    caught = [c for c in suites["negative controls"].findall("testcase") if c.find("failure") is None]
    assert len(caught) == sum(1 for r in rows if r["control"] and r["verdict"] != "pass") == 3
