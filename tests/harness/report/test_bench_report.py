"""The report benchmark runs end to end on a small run (no timing assertion: this guards bench/bench_report.py
against rot; the figure for the full matrix comes from running the benchmark itself)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_report import TARGET_S, main
from tests.harness.report import synth


def test_the_benchmark_times_a_report(tmp_path: Path) -> None:
    run = synth.write_run(tmp_path / "runs", "small", synth.current("small"))
    output = tmp_path / "report.json"
    assert main(["--run", str(run), "--rounds", "1", "--output", str(output)]) == 0
    result = json.loads(output.read_text())
    assert (result["rows"], result["controls"], result["rounds"], result["target_s"]) == (63, 9, 1, TARGET_S)
    assert len(result["seconds"]) == 1 and result["seconds"][0] > 0 and result["status"] in ("pass", "fail")
    assert result["input"] == {"replayed_cassettes": False, "replay_s": None}
