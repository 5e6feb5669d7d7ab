"""Benchmark of the harness's own overhead per cell: the same agent conversation, bare and as a harness cell.

    .venv/bin/python bench/bench_harness.py            # 12 rounds per framework
    .venv/bin/python bench/bench_harness.py --quick    # 3 rounds

Bare: the framework adapter alone talks to the sandbox (model + Rovo MCP) and creates a branch in acme/widgets.
Cell: ``run_cell`` does the same request for the ``core-create-branch`` scenario, adding what the harness does
around an agent: arranging a fresh repository through the oracle (OAuth, REST), recording every exchange with
vcrpy and scrubbing it, reading the state back, scoring, tearing down, and writing the transcript and the
cassette. Both run in this process, one after the other, on one sandbox. Reported per framework: median and p90
wall time of each, and the overhead (cell - bare) in ms and as a ratio; JSON in ``bench/results/harness.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.frameworks import ADAPTERS, Conversation
from harness.routes import ROUTES
from harness.runner.matrix import Cell
from harness.runner.worker import CellJob, run_cell
from harness.scenarios import load_scenario
from harness.scenarios.plans import compiled_plans
from harness.transcript import Transcript
from harness.worlds import sandbox_world
from sandbox import Sandbox

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "core-create-branch.yaml"
RESULTS = Path(__file__).resolve().parent / "results" / "harness.json"
FRAMEWORKS = ("pydantic-ai", "openai-agents-client", "autogen")
MODEL = "sandbox-reference"


def bare_once(world: Any, framework: str, n: int) -> float:
    async def go() -> None:
        mcp = await ROUTES["rovo"].connect(world.route("rovo"), "full")
        conversation = Conversation([f"Create a branch bench/bare-{framework}-{n} off main in acme/widgets."], MODEL)
        transcript = Transcript(framework=framework, route="rovo", model=MODEL)
        await ADAPTERS[framework].run(conversation, mcp, world.model, transcript)
        assert transcript.error is None and transcript.tool_calls(), transcript

    start = time.perf_counter()
    asyncio.run(go())
    return time.perf_counter() - start


def cell_once(world: Any, framework: str, n: int, tmp: Path) -> float:
    cell = Cell("core-create-branch", framework, "rovo", MODEL, n)
    job = CellJob(
        cell,
        load_scenario(SCENARIO),
        str(SCENARIO),
        world,
        "all",
        tmp / "cassettes",
        tmp / "transcripts",
        "bench",
        120.0,
    )
    start = time.perf_counter()
    row = run_cell(job)
    elapsed = time.perf_counter() - start
    assert row.verdict == "pass", row
    return elapsed


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 12")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 12
    report: dict[str, Any] = {"rounds": rounds, "frameworks": {}}
    with Sandbox.start() as sb, tempfile.TemporaryDirectory() as tmp:
        world = sandbox_world(sb.info)
        sb.register_plans(compiled_plans([load_scenario(SCENARIO)]))
        for framework in FRAMEWORKS:
            bare_once(world, framework, 0)  # warm-up: imports, first connections
            cell_once(world, framework, 99, Path(tmp))
            bare = [bare_once(world, framework, n) for n in range(1, rounds + 1)]
            cell = [cell_once(world, framework, n, Path(tmp)) for n in range(1, rounds + 1)]
            b, c = summary(bare), summary(cell)
            overhead = round(c["median_ms"] - b["median_ms"], 1)
            report["frameworks"][framework] = {
                "bare": b,
                "cell": c,
                "overhead_ms": overhead,
                "ratio": round(c["median_ms"] / b["median_ms"], 2),
            }
            print(
                f"{framework:22} bare {b['median_ms']:7.1f} ms (p90 {b['p90_ms']:7.1f})   cell {c['median_ms']:7.1f} "
                f"ms (p90 {c['p90_ms']:7.1f})   overhead {overhead:6.1f} ms  x{c['median_ms'] / b['median_ms']:.2f}",
                flush=True,
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"JSON: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
