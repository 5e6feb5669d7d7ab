"""Benchmark of the executors: cells per second with the local process pool and with Dask (a LocalCluster of 1 and
2 single-threaded workers) on this machine, and what Dask adds to each cell.

    .venv/bin/python bench/bench_scale.py            # the 32 core cells, replayed from cassettes/
    .venv/bin/python bench/bench_scale.py --quick    # 8 cells

The cells are replays of the committed cassettes (no sandbox, nothing listening): what is measured is the
executor, not a world. Per executor: the wall time of the whole run (starting the pool or cluster included) and the
steady rate (cells per second from the first row to the last). Dask's added cost per cell compares the serial
executors (local pool of 1 process, Dask of 1 worker): for each cell after the first, the time between two rows
reaching the client less the cell's own duration (``duration_s``, measured in the cell's process) is what the
executor spent on it (submitting, scheduling, sending the cell and its row); the median of Dask's less the median of
the local pool's is Dask's added cost. Target: under 50 ms. JSON in ``bench/results/scale.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.results import ResultRow
from harness.runner.options import RunOptions
from harness.runner.run import RunPlan, ScenarioSource, run
from harness.runner.session import open_world
from harness.scenarios import load_scenario_sources

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
CORE = [
    ROOT / "scenarios" / f"core-{n}.yaml"
    for n in ("create-branch", "open-pull-request", "comment-latest-issue", "fetch-readme")
]
FRAMEWORKS = ("autogen", "openai-agents-hosted", "openai-agents-client", "pydantic-ai")
TARGET_MS = 50.0
EXECUTORS = {"local pool, 2 processes": ("local", 2), "dask, 1 worker": ("dask", 1), "dask, 2 workers": ("dask", 2)}
SERIAL = {"local": ("local", 1), "dask": ("dask", 1)}


def timed_run(executor: str, width: int, quick: bool, runs_dir: Path) -> dict[str, Any]:
    """Run the matrix; the rows with the moment each reached the client."""
    options = RunOptions(
        scenarios=tuple(CORE[:1] if quick else CORE),
        frameworks=FRAMEWORKS,
        world="replay",
        cassettes=ROOT / "cassettes",
        concurrency=width,
        executor=executor,  # type: ignore[arg-type]
        run_id=f"{executor}-{width}",
        runs_dir=runs_dir,
    )
    sources = [ScenarioSource(s, f) for s, f in load_scenario_sources(list(options.scenarios))]
    arrived: list[tuple[float, ResultRow]] = []
    start = time.perf_counter()
    with open_world(options, sources) as world:
        plan = RunPlan(options, {s.scenario.id: s for s in sources}, world, runs_dir / (options.run_id or ""))
        run(plan, lambda row: arrived.append((time.perf_counter(), row)))
    wall = time.perf_counter() - start
    times = [t for t, _ in arrived]
    errors = [row.key for _, row in arrived if row.verdict.value == "error"]
    gaps = [(b - a) - (row.duration_s or 0.0) for (a, _), (b, row) in itertools.pairwise(arrived)]
    return {
        "cells": len(arrived),
        "errors": errors,
        "wall_s": round(wall, 2),
        "cells_per_s_wall": round(len(arrived) / wall, 3),
        "cells_per_s_steady": round((len(times) - 1) / (times[-1] - times[0]), 3) if len(times) > 1 else None,
        # one cell at a time: what the executor spent around each cell (meaningless when cells run side by side)
        "executor_ms_per_cell": round(1000 * statistics.median(gaps), 1) if gaps and width == 1 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8 cells instead of 32")
    args = parser.parse_args()
    found: dict[str, Any] = {"throughput": {}, "serial": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (executor, width) in EXECUTORS.items():
            found["throughput"][name] = timed_run(executor, width, args.quick, Path(tmp) / "throughput")
            print(f"{name:>24}: {json.dumps(found['throughput'][name])}", flush=True)
        for name, (executor, width) in SERIAL.items():
            found["serial"][name] = timed_run(executor, width, args.quick, Path(tmp) / "serial")
            print(f"{'serial ' + name:>24}: {json.dumps(found['serial'][name])}", flush=True)
    added = found["serial"]["dask"]["executor_ms_per_cell"] - found["serial"]["local"]["executor_ms_per_cell"]
    found["dask_added_ms_per_cell"] = round(added, 1)
    found["target"] = {"ms": TARGET_MS, "status": "met" if added < TARGET_MS else "missed"}
    print(f"Dask's added cost per cell: {added:.1f} ms (target < {TARGET_MS:g} ms: {found['target']['status']})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(found, indent=2) + "\n")


if __name__ == "__main__":
    main()
