"""Benchmark of replaying the committed cassettes, the way users run it, against the floor it cannot go below.

    .venv/bin/python bench/bench_replay.py               # 2 rounds of each run; the best round counts
    .venv/bin/python bench/bench_replay.py --rounds 3 --workers 2 --strict

Full replay: ``pytest -q -n 2 cassettes`` in a subprocess from the project root; wall clock and the CPU time of the
whole process tree (pytest and xdist's workers). The cells are counted from the cassettes under ``cassettes/``, so
cells added later count too, and every one must pass (a failed replay would make the figures meaningless).
100 cells: the same command on 100 cassettes spread evenly over the committed ones: the target, measured (with
fewer than 100 committed, projected from the floor and the time per cell beyond it).

Floor: the full command, with the same processes and the same collection, but each cell's conversation taken out;
what is left is what a replay cannot avoid: interpreter and pytest start-up, every module a replay imports (the
frameworks, composio, mcp, vcrpy, the harness), collection, and parsing each cassette through the recorder. The
modules are those a probe run leaves loaded after replaying one cell of each framework and path (this file doubles
as the pytest plugin of the probe and of the floor, picked by ``BENCH_REPLAY_MODE``). Parts of the floor measured on
their own: interpreter start, the same imports in one process, and parsing every cassette in this process.

Reported: wall and CPU of every round, cells/s, the ratio full/floor, the time per cell beyond the floor, and the
load other processes put on the machine meanwhile (a busy machine slows every figure; a round during which they used
over a quarter of a core is flagged NOISY). Target: 100 cells in 20 s or less. JSON in ``bench/results/replay.json``;
``--strict`` makes a missed target exit with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
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
TARGET_CELLS = 100
TARGET_S = 20.0
MODE_ENV = "BENCH_REPLAY_MODE"  # probe | floor, for the plugin half of this file
MODULES_ENV = "BENCH_REPLAY_MODULES"
TIMEOUT_S = 900
NOISY = 0.25  # other processes using more than this fraction of a core during a run make its figures unreliable


# measuring ---------------------------------------------------------------------------------------------------
@dataclass
class Round:
    wall_s: float
    cpu_s: float  # user + system of the whole process tree
    others_cores: float  # CPU other processes used meanwhile, in cores
    cells: int


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
    return Round(round(wall, 2), round(cpu, 2), round(others, 2), passed(done.stdout)), done.stdout


def passed(stdout: str) -> int:
    found = re.search(r"(\d+) passed", stdout)
    return int(found.group(1)) if found else 0


def replay_argv(*paths: str, workers: int) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-n", str(workers), *paths]


def probe_modules(root: Path, cassettes: str, out: Path) -> list[str]:
    """The modules left loaded by replaying one cell of each framework and path, in the order they were loaded."""
    env = {MODE_ENV: "probe", MODULES_ENV: str(out)}
    timed([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "bench.bench_replay", cassettes], root, env)
    modules: list[str] = json.loads(out.read_text())
    return modules


def interpreter_start(rounds: int) -> float:
    return min(timed([sys.executable, "-c", "pass"], ROOT)[0].wall_s for _ in range(max(rounds, 3)))


def imports_alone(modules_file: Path) -> Round:
    """The replay's imports in one process, with the collector set up as a replay sets it up."""
    code = (
        "import bench.bench_replay as b, json, sys; from harness.replay.plugin import replay_heap; "
        "replay_heap().__enter__(); b.import_all(json.load(open(sys.argv[1])))"
    )
    return timed([sys.executable, "-c", code, str(modules_file)], ROOT)[0]


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


def best(rounds: list[Round]) -> Round:
    return min(rounds, key=lambda r: r.wall_s)


# the plugin half: probe and floor runs ---------------------------------------------------------------------------
def import_all(modules: list[str]) -> None:
    for name in modules:
        # aliases (six.moves...) and modules that only import as a side effect of another are skipped
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    from harness.replay.plugin import CellReplay

    mode = os.environ.get(MODE_ENV)
    cells = [i for i in items if isinstance(i, CellReplay)]
    if mode == "probe":
        one_each: dict[tuple[str, str], Any] = {}
        for item in cells:
            one_each.setdefault((item.meta["cell"]["framework"], item.meta["cell"]["path"]), item)
        items[:] = list(one_each.values())
    elif mode == "floor":
        modules = json.loads(Path(os.environ[MODULES_ENV]).read_text())
        for item in cells:
            setattr(item, "runtest", functools.partial(floor_of, item, modules))  # noqa: B010


def floor_of(item: Any, modules: list[str]) -> None:
    """What a replay of ``item`` cannot avoid: the process's imports (once), and parsing the cassette."""
    from harness.recording import Recorder
    from harness.replay.plugin import replay_heap

    with replay_heap():  # as a replay would
        if not getattr(floor_of, "imported", False):
            import_all(modules)
            floor_of.imported = True  # type: ignore[attr-defined]
        with Recorder("none").cassette(item.path):
            pass


def pytest_sessionfinish(session: Any) -> None:
    if os.environ.get(MODE_ENV) == "probe":
        Path(os.environ[MODULES_ENV]).write_text(json.dumps(list(sys.modules)))


# report --------------------------------------------------------------------------------------------------------
def line(label: str, r: Round) -> str:
    noisy = "  NOISY" if r.others_cores > NOISY else ""
    return (
        f"{label:30} {r.wall_s:6.2f} s wall {r.cpu_s:7.2f} s cpu {r.cells:5d} cells "
        f"{r.cells / r.wall_s:6.2f} cells/s   (others used {r.others_cores:.2f} cores){noisy}"
    )


def summary(rounds: list[Round]) -> dict[str, Any]:
    return {
        "best": asdict(best(rounds)),
        "median_wall_s": round(statistics.median(r.wall_s for r in rounds), 2),
        "rounds": [asdict(r) for r in rounds],
    }


def hundred_of(files: list[Path], root: Path) -> list[str]:
    """100 cassettes spread evenly over the sorted list, so that every scenario, framework and path is in."""
    return [str(files[i * len(files) // TARGET_CELLS].relative_to(root)) for i in range(TARGET_CELLS)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each pytest run (the best one counts)")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (-n)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project whose cassettes/ are replayed")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # this checkout's harness, for the parts measured in this process
    root: Path = args.root.resolve()
    files = sorted((root / "cassettes").rglob("*.yaml"))
    subset = hundred_of(files, root) if len(files) > TARGET_CELLS else None
    with tempfile.TemporaryDirectory() as tmp:
        modules_file = Path(tmp) / "modules.json"
        modules = probe_modules(root, "cassettes", modules_file)
        start_s = interpreter_start(args.rounds)
        imports = [imports_alone(modules_file) for _ in range(args.rounds)]
        parsing = parsing_alone(root / "cassettes")
        floor_env = {MODE_ENV: "floor", MODULES_ENV: str(modules_file)}
        full: list[Round] = []
        hundred: list[Round] = []
        floor: list[Round] = []
        for n in range(1, args.rounds + 1):  # interleaved, so that a burst of load elsewhere hits each alike
            full.append(timed(replay_argv("cassettes", workers=args.workers), root)[0])
            print(line(f"full replay, round {n}", full[-1]), flush=True)
            if subset:
                hundred.append(timed(replay_argv(*subset, workers=args.workers), root)[0])
                print(line(f"100 cells, round {n}", hundred[-1]), flush=True)
            floor.append(
                timed([*replay_argv("cassettes", workers=args.workers), "-p", "bench.bench_replay"], root, floor_env)[0]
            )
            print(line(f"floor, round {n}", floor[-1]), flush=True)
    f, fl = best(full), best(floor)
    if f.cells != len(files) or fl.cells != len(files) or (hundred and best(hundred).cells != TARGET_CELLS):
        raise SystemExit(f"{len(files)} cassettes, but {f.cells} replays and {fl.cells} floor cells passed")
    per_cell_s = max(f.wall_s - fl.wall_s, 0.0) / f.cells
    projected = fl.wall_s + per_cell_s * TARGET_CELLS  # with fewer than 100 cassettes committed
    hundred_s = best(hundred).wall_s if hundred else (f.wall_s if f.cells == TARGET_CELLS else projected)
    met = hundred_s <= TARGET_S
    report = {
        "workers": args.workers,
        "rounds": args.rounds,
        "cells": f.cells,
        "cpu_count": os.cpu_count(),
        "full": summary(full) | {"cells_per_s": round(f.cells / f.wall_s, 2)},
        "hundred_cells": summary(hundred) if hundred else None,
        "floor": summary(floor)
        | {
            "parts": {
                "interpreter_start_s": start_s,
                "modules": len(modules),
                "imports_one_process": asdict(best(imports)),
                "cassette_parsing": parsing,
            }
        },
        "ratio_full_to_floor": round(f.wall_s / fl.wall_s, 2),
        "per_cell_beyond_floor": {
            "wall_s": round(per_cell_s, 4),
            "cpu_s": round(max(f.cpu_s - fl.cpu_s, 0.0) / f.cells, 4),
        },
        "target": {
            "cells": TARGET_CELLS,
            "seconds": TARGET_S,
            "hundred_cells_s": hundred_s,
            "measured": bool(hundred) or f.cells == TARGET_CELLS,
            "met": met,
        },
    }
    print()
    print(line("full replay (best)", f))
    if hundred:
        print(line("100 cells (best)", best(hundred)))
    print(line("floor (best)", fl))
    print(f"{'  interpreter start':30} {start_s:6.2f} s")
    imp = best(imports)
    print(f"{'  imports, one process':30} {imp.wall_s:6.2f} s wall {imp.cpu_s:7.2f} s cpu ({len(modules)} modules)")
    print(
        f"{'  cassette parsing':30} {parsing['cpu_s']:6.2f} s cpu for {parsing['cassettes']} cassettes "
        f"({parsing['ms_each']} ms each)"
    )
    how = "measured" if report["target"]["measured"] else "projected"
    print(
        f"full/floor {report['ratio_full_to_floor']:.2f}; beyond the floor {1000 * per_cell_s:.0f} ms wall and "
        f"{1000 * report['per_cell_beyond_floor']['cpu_s']:.0f} ms cpu per cell; {TARGET_CELLS} cells in "
        f"{hundred_s:.1f} s ({how}): target (<= {TARGET_S:g} s) {'PASS' if met else 'FAIL'}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"JSON: {RESULTS}")
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
