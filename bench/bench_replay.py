"""Benchmark of replaying the committed cassettes, the way users run it, against the floor it cannot go below.

    .venv/bin/python bench/bench_replay.py               # 2 rounds of each run; the best round counts
    .venv/bin/python bench/bench_replay.py --rounds 3 --strict
    .venv/bin/python bench/bench_replay.py --xdist 2     # pytest -n 2 cassettes instead

Full replay: ``pytest -q cassettes`` in a subprocess from the project root (the plugin forks its workers after
importing the replay stack once); wall clock and the CPU time of the whole process tree. The cells are counted
from the cassettes under ``cassettes/``, so cells added later count too, and every one must pass (a failed replay
would make the figures meaningless).

Floor: the same command, with the same processes and the same collection, but each cell's conversation taken out;
what is left is what a replay cannot avoid: interpreter and pytest start-up, collection, the modules a replay
imports (the frameworks, composio, mcp, vcrpy, the harness: ``harness.replay.pool.preload``), forking the workers,
and parsing each cassette through the recorder (this file doubles as the pytest plugin of the floor run, picked
by ``BENCH_REPLAY_MODE``). Parts of the floor measured on their own: interpreter start, pytest start-up with
collection, the imports in one process, and parsing every cassette in this process.

Reported: wall and CPU of every round, cells/s, the ratio full/floor, the time per cell beyond the floor, the
cassettes' total size, and the load other processes put on the machine meanwhile (a busy machine slows every
figure; a round during which they used over a quarter of a core is flagged NOISY) with the load average. Targets:
every committed cell in 20 s or less, full/floor at most 1.2, and a floor below the 20.4 s it was before workers
were forked after the imports. JSON in ``bench/results/replay.json``; ``--strict`` makes a missed target exit
with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "replay.json"
TARGET_S = 20.0  # every committed cell
TARGET_RATIO = 1.2  # full / floor
FLOOR_BEFORE_S = 20.44  # the floor of pytest -n 2 cassettes, each worker importing everything itself
MODE_ENV = "BENCH_REPLAY_MODE"  # floor or timeline, for the plugin half of this file
TIMELINE_ENV = "BENCH_REPLAY_TIMELINE"  # the file a timeline run appends a line per replayed cell to
TIMEOUT_S = 900
NOISY = 0.25  # other processes using more than this fraction of a core during a run make its figures unreliable


# measuring ---------------------------------------------------------------------------------------------------
@dataclass
class Round:
    wall_s: float
    cpu_s: float  # user + system of the whole process tree
    others_cores: float  # CPU other processes used meanwhile, in cores
    cells: int
    load_average: float  # the machine's 1-minute load average when the run ended


def _busy_jiffies() -> int | None:
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


def timed(argv: list[str], root: Path, env: dict[str, str] | None = None) -> tuple[Round, str]:
    """Run a command to completion; its wall time, its tree's CPU time and the machine's other load meanwhile."""
    env = {
        **os.environ,
        **(env or {}),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    before, busy = resource.getrusage(resource.RUSAGE_CHILDREN), _busy_jiffies()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    wall = time.perf_counter() - start
    after, busy_after = resource.getrusage(resource.RUSAGE_CHILDREN), _busy_jiffies()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    others = 0.0
    if busy is not None and busy_after is not None:
        others = max(0.0, (busy_after - busy) / os.sysconf("SC_CLK_TCK") - cpu) / wall
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    load = round(os.getloadavg()[0], 2)
    return Round(round(wall, 2), round(cpu, 2), round(others, 2), passed(done.stdout), load), done.stdout


def passed(stdout: str) -> int:
    found = re.search(r"(\d+) (passed|tests? collected)", stdout)
    return int(found.group(1)) if found else 0


def replay_argv(*args: str, xdist: int | None) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", *(["-n", str(xdist)] if xdist else []), *args]


def interpreter_start(rounds: int) -> float:
    return min(timed([sys.executable, "-c", "pass"], ROOT)[0].wall_s for _ in range(max(rounds, 3)))


def startup_alone(root: Path) -> Round:
    """pytest's start-up, its plugins and the collection of every cassette, in one process."""
    return timed(replay_argv("--collect-only", "-p", "no:xdist", "cassettes", xdist=None), root)[0]


def imports_alone(root: Path) -> Round:
    """What the replay imports for every committed cell, in one process, with the collector set up as a replay
    sets it up."""
    code = (
        "import sys; from pathlib import Path; from harness.replay.plugin import replay_heap; "
        "from harness.replay.pool import preload; from harness.results import CellRecord; "
        "cells = [CellRecord.read(p).cell for p in sorted(Path(sys.argv[1]).rglob('*.yaml'))]; "
        "replay_heap().__enter__(); preload(cells)"
    )
    return timed([sys.executable, "-c", code, str(root / "cassettes")], ROOT)[0]


def parsing_alone(cassettes: Path) -> dict[str, Any]:
    """Every cassette parsed through the recorder, in this process (a replay's own parse, without the replay)."""
    from harness.recording import Recorder

    files = sorted(cassettes.rglob("*.yaml"))
    recorder = Recorder("none")
    start = time.process_time()
    for path in files:
        with recorder.cassette(path):
            pass
    cpu = time.process_time() - start
    return {"cassettes": len(files), "cpu_s": round(cpu, 2), "ms_each": round(1000 * cpu / max(len(files), 1), 1)}


def timeline(root: Path, xdist: int | None) -> dict[str, Any]:
    """One more full replay, noting when each process replayed each cell: when the workers began (the imports
    before them), how long each was busy, and how many core-seconds no cell was replaying."""
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "timeline.jsonl"
        started = time.time()
        argv = replay_argv("cassettes", "-p", "bench.bench_replay", xdist=xdist)
        run, _ = timed(argv, root, {MODE_ENV: "timeline", TIMELINE_ENV: str(log)})
        spans = [json.loads(line) for line in log.read_text().splitlines()]
    workers = []
    for pid in sorted({s["pid"] for s in spans}, key=lambda p: min(s["start"] for s in spans if s["pid"] == p)):
        mine = [s for s in spans if s["pid"] == pid]
        workers.append(
            {
                "cells": len(mine),
                "first_start_s": round(min(s["start"] for s in mine) - started, 2),
                "last_end_s": round(max(s["end"] for s in mine) - started, 2),
                "busy_s": round(sum(s["end"] - s["start"] for s in mine), 2),
            }
        )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    idle = cores * run.wall_s - replaying_core_s(spans, cores)
    return {"run": asdict(run), "workers": workers, "cores": cores, "core_s_not_replaying": round(idle, 2)}


def replaying_core_s(spans: list[dict[str, float]], cores: int) -> float:
    """Core-seconds during which cells replayed: at each moment, as many cores as cells in flight, at most all of
    them (more workers than cores share the cores)."""
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    total, flying, last = 0.0, 0, 0.0
    for at, step in events:
        total += min(flying, cores) * (at - last) if flying else 0.0
        flying, last = flying + step, at
    return total


def best(rounds: list[Round]) -> Round:
    return min(rounds, key=lambda r: r.wall_s)


# the plugin half: the floor run ------------------------------------------------------------------------------
def pytest_configure(config: Any) -> None:
    from harness.replay.plugin import CellReplay

    if os.environ.get(MODE_ENV) == "floor":
        CellReplay.replay_row = floor_row  # type: ignore[method-assign,assignment]
    elif os.environ.get(MODE_ENV) == "timeline":
        CellReplay.replay_row = timed_row(CellReplay.replay_row)  # type: ignore[method-assign]


def timed_row(replay: Any) -> Any:
    """``replay``, noting which process replayed the cell and when (seconds since the epoch)."""

    def row(item: Any) -> Any:
        start = time.time()
        try:
            return replay(item)
        finally:
            with open(os.environ[TIMELINE_ENV], "a") as out:
                out.write(json.dumps({"pid": os.getpid(), "start": start, "end": time.time()}) + "\n")

    return row


def floor_row(item: Any) -> Any:
    """What a replay of ``item`` cannot avoid beyond what its process did once (imports): parsing the cassette.
    The row is the recorded one, so that the cell passes as its replay would."""
    from harness.recording import Recorder
    from harness.replay.plugin import replay_heap
    from harness.results import ResultRow

    with replay_heap(), Recorder("none").cassette(item.path):
        pass
    record = item.record
    return ResultRow.model_validate(
        record.cell.model_dump(by_alias=True)
        | {"key": item.cell().key, "verdict": record.result.verdict, **record.result.metrics}
    )


# report --------------------------------------------------------------------------------------------------------
def line(label: str, r: Round) -> str:
    noisy = "  NOISY" if r.others_cores > NOISY else ""
    rate = f"{r.cells / r.wall_s:6.2f} cells/s" if r.cells else " " * 14
    return (
        f"{label:30} {r.wall_s:6.2f} s wall {r.cpu_s:7.2f} s cpu {r.cells:5d} cells {rate}   "
        f"(others used {r.others_cores:.2f} cores, load average {r.load_average:.2f}){noisy}"
    )


def summary(rounds: list[Round]) -> dict[str, Any]:
    return {
        "best": asdict(best(rounds)),
        "median_wall_s": round(statistics.median(r.wall_s for r in rounds), 2),
        "rounds": [asdict(r) for r in rounds],
    }


def targets(full: Round, floor: Round) -> dict[str, dict[str, Any]]:
    ratio = round(full.wall_s / floor.wall_s, 2)
    return {
        "all_cells_s": {"value": full.wall_s, "target": f"<= {TARGET_S:g}", "met": full.wall_s <= TARGET_S},
        "full_to_floor": {"value": ratio, "target": f"<= {TARGET_RATIO:g}", "met": ratio <= TARGET_RATIO},
        "floor_s": {"value": floor.wall_s, "target": f"< {FLOOR_BEFORE_S:g}", "met": floor.wall_s < FLOOR_BEFORE_S},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each pytest run (the best one counts)")
    parser.add_argument("--xdist", type=int, default=None, help="replay with pytest -n N instead of the plugin's")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project whose cassettes/ are replayed")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--timeline", action="store_true", help="one more full replay, saying when each worker replayed"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # this checkout's harness, for the parts measured in this process
    root: Path = args.root.resolve()
    files = sorted((root / "cassettes").rglob("*.yaml"))
    size_mb = round(sum(f.stat().st_size for f in files) / 1e6, 2)
    start_s = interpreter_start(args.rounds)
    startup = best([startup_alone(root) for _ in range(args.rounds)])
    imports = best([imports_alone(root) for _ in range(args.rounds)])
    parsing = parsing_alone(root / "cassettes")
    full: list[Round] = []
    floor: list[Round] = []
    for n in range(1, args.rounds + 1):  # interleaved, so that a burst of load elsewhere hits each alike
        full.append(timed(replay_argv("cassettes", xdist=args.xdist), root)[0])
        print(line(f"full replay, round {n}", full[-1]), flush=True)
        floor_argv = replay_argv("cassettes", "-p", "bench.bench_replay", xdist=args.xdist)
        floor.append(timed(floor_argv, root, {MODE_ENV: "floor"})[0])
        print(line(f"floor, round {n}", floor[-1]), flush=True)
    f, fl = best(full), best(floor)
    if f.cells != len(files) or fl.cells != len(files):
        raise SystemExit(f"{len(files)} cassettes, but {f.cells} replays and {fl.cells} floor cells passed")
    per_cell_s = max(f.wall_s - fl.wall_s, 0.0) / f.cells
    goals = targets(f, fl)
    report = {
        "command": " ".join(replay_argv("cassettes", xdist=args.xdist)[1:]),
        "rounds": args.rounds,
        "cells": f.cells,
        "cpu_count": os.cpu_count(),
        "cassettes": {"files": len(files), "megabytes": size_mb},
        "full": summary(full) | {"cells_per_s": round(f.cells / f.wall_s, 2)},
        "floor": summary(floor)
        | {
            "parts": {
                "interpreter_start_s": start_s,
                "pytest_start_and_collection": asdict(startup),
                "imports_one_process": asdict(imports),
                "cassette_parsing": parsing,
            }
        },
        "ratio_full_to_floor": goals["full_to_floor"]["value"],
        "per_cell_beyond_floor": {
            "wall_s": round(per_cell_s, 4),
            "cpu_s": round(max(f.cpu_s - fl.cpu_s, 0.0) / f.cells, 4),
        },
        "targets": goals,
    }
    if args.timeline:
        report["timeline"] = timeline(root, args.xdist)
    print()
    print(line("full replay (best)", f))
    print(line("floor (best)", fl))
    print(f"{'  interpreter start':30} {start_s:6.2f} s")
    print(line("  pytest start, collection", startup))
    print(line("  imports, one process", imports))
    print(
        f"{'  cassette parsing':30} {parsing['cpu_s']:6.2f} s cpu for {parsing['cassettes']} cassettes "
        f"({parsing['ms_each']} ms each, {size_mb} MB)"
    )
    print(
        f"full/floor {report['ratio_full_to_floor']:.2f}; beyond the floor {1000 * per_cell_s:.0f} ms wall and "
        f"{1000 * report['per_cell_beyond_floor']['cpu_s']:.0f} ms cpu per cell"
    )
    if args.timeline:
        print_timeline(report["timeline"])
    for name, goal in goals.items():
        print(f"target {name}: {goal['value']} ({goal['target']}) {'PASS' if goal['met'] else 'FAIL'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"JSON: {RESULTS}")
    return 1 if args.strict and not all(goal["met"] for goal in goals.values()) else 0


def print_timeline(found: dict[str, Any]) -> None:
    print(line("timeline run", Round(**found["run"])))
    for n, w in enumerate(found["workers"], 1):
        print(
            f"  worker {n}: {w['cells']:4d} cells from {w['first_start_s']:6.2f} s to {w['last_end_s']:6.2f} s, "
            f"busy {w['busy_s']:6.2f} s"
        )
    print(f"  {found['core_s_not_replaying']:.2f} core-seconds of {found['cores']} cores replayed no cell")


if __name__ == "__main__":
    sys.exit(main())
