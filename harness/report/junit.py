"""A run's results as JUnit XML, the format every CI shows natively (Bitbucket Pipelines, GitHub Actions, GitLab,
Jenkins): one test case per cell attempt.

The ``harness`` suite holds the matrix: ``fail`` is a failure, ``error`` an error, ``expected-unsupported`` a skip
with its reason. The ``negative controls`` suite holds the models built to fail: a control passes when the
harness caught it (its verdict is ``fail``), and fails when its verdict is ``pass``. Reads result rows only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from harness.results import RESULTS_FILE, ResultRow, read_rows
from harness.secrets import redact
from harness.vocab import Outcome


def _case(row: ResultRow) -> ET.Element:
    name = f"{row.framework} / {row.route} / {row.model}" + (f" #{row.attempt}" if row.attempt > 1 else "")
    case = ET.Element("testcase", classname=row.scenario, name=name, time=f"{row.duration_s or 0:.3f}")
    reasons = redact("\n".join(row.reasons))
    first = redact(row.reasons[0]) if row.reasons else row.verdict.value
    if row.control:
        if row.verdict is Outcome.PASS:
            text = "the negative control passed: the harness did not catch a model built to fail"
            ET.SubElement(case, "failure", message=text, type="control-passed").text = reasons or text
        elif row.verdict is Outcome.ERROR:
            ET.SubElement(case, "error", message=first, type="error").text = reasons
        elif row.verdict is Outcome.UNSUPPORTED:
            ET.SubElement(case, "skipped", message=first)
    elif row.verdict is Outcome.FAIL:
        ET.SubElement(case, "failure", message=first, type="fail").text = reasons
    elif row.verdict is Outcome.ERROR:
        ET.SubElement(case, "error", message=first, type="error").text = reasons
    elif row.verdict is Outcome.UNSUPPORTED:
        ET.SubElement(case, "skipped", message=f"expected-unsupported: {first}")
    return case


def _suite(name: str, rows: list[ResultRow]) -> ET.Element:
    cases = [_case(row) for row in rows]
    counts = {tag: sum(1 for c in cases if c.find(tag) is not None) for tag in ("failure", "error", "skipped")}
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(counts["failure"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=f"{sum(r.duration_s or 0 for r in rows):.3f}",
    )
    suite.extend(cases)
    return suite


def junit_xml(rows: Iterable[ResultRow], run_id: str) -> bytes:
    rows = list(rows)
    suites = [
        _suite("harness", [r for r in rows if not r.control]),
        _suite("negative controls", [r for r in rows if r.control]),
    ]
    root = ET.Element("testsuites", name=f"harness run {run_id}")
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    root.extend(s for s in suites if s.get("tests") != "0")
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text


def write_junit(run_dir: Path, out: Path) -> Path:
    """Write the JUnit XML of the run in ``run_dir`` to ``out`` (RunDataError for a torn or missing results file)."""
    rows = read_rows(run_dir / RESULTS_FILE)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(junit_xml(rows, run_dir.name))
    return out
