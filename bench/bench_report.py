"""Benchmark of the report for the full matrix: ``harness report RUN --baseline RUN`` end to end, as a user runs
it (a new process: imports, papermill, the kernel, every section and chart, the HTML export, the index).

    .venv/bin/python bench/bench_report.py                 # replays cassettes/ into a full-matrix run, 3 rounds
    .venv/bin/python bench/bench_report.py --run runs/ID   # an existing run instead
    .venv/bin/python bench/bench_report.py --rounds 1

Without ``--run`` the input is made first by replaying the committed cassettes (every scenario x framework x
path, plus the negative controls, with no sandbox and no network); that replay is timed apart and is not part
of the figure. The run is its own baseline, so the trend section does its full work. Target: a report in 15 s or
less (median). JSON in ``bench/results/report.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "report.json"
TARGET_S = 15.0


def replay_full_matrix(runs_dir: Path) -> tuple[Path, float]:
    """The committed cassettes replayed into ``runs_dir/full`` (every framework and path, with controls)."""
    from harness.runner.options import RunOptions
    from harness.runner.session import execute_run

    start = time.perf_counter()
    code = execute_run(
        RunOptions(
            scenarios=(ROOT / "scenarios",),
            world="replay",
            cassettes=ROOT / "cassettes",
            run_id="full",
            runs_dir=runs_dir,
            timeout_s=120.0,
            control_frameworks=("pydantic-ai",),
        )
    )
    if code:
        raise SystemExit(f"the replay of {ROOT / 'cassettes'} failed (exit {code})")
    return runs_dir / "full", time.perf_counter() - start


def report_once(run: Path, reports_dir: Path) -> float:
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "report",
        str(run),
        "--baseline",
        str(run),
        "--reports-dir",
        str(reports_dir),
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"`{' '.join(command)}` failed:\n{done.stderr[-3000:]}")
    return elapsed


def measure(run: Path, rounds: int, work: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines() if line.strip()]
    seconds = [round(report_once(run, work / f"reports-{n}"), 2) for n in range(rounds)]
    median = round(statistics.median(seconds), 2)
    return {
        "run": str(run),
        "rows": len(rows),
        "controls": sum(bool(r.get("control")) for r in rows),
        "rounds": rounds,
        "seconds": seconds,
        "median_s": median,
        "max_s": max(seconds),
        "target_s": TARGET_S,
        "status": "pass" if median <= TARGET_S else "fail",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="an existing run directory (default: replay cassettes/)")
    parser.add_argument("--rounds", type=int, default=3, help="reports to time (default 3)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"the JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        replay_s = None
        run = args.run
        if run is None:
            run, replay_s = replay_full_matrix(work / "runs")
            print(f"input: replayed the committed cassettes into {run} in {replay_s:.1f} s", flush=True)
        report = measure(run.resolve(), args.rounds, work)
    report["input"] = {
        "replayed_cassettes": args.run is None,
        "replay_s": round(replay_s, 1) if replay_s is not None else None,
    }
    print(
        f"report of {report['rows']} rows ({report['controls']} controls): median {report['median_s']} s, "
        f"max {report['max_s']} s over {report['rounds']} round(s); target <= {TARGET_S:g} s: {report['status']}"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"JSON: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
