"""``--executor dask`` on a real Dask cluster of two worker processes (one thread each), in the sandbox world: the
verdicts of the local pool, one sandbox for the machine, a worker killed mid-cell whose cell runs again elsewhere
and says so, and a provider cap of 1 that no two cells overlap under."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dask
import pytest
from distributed import Client, LocalCluster

from harness.results import CellRecord, ResultRow, read_rows
from harness.runner.caps import UNKNOWN, held_by, parse_cap
from harness.runner.cluster import CLUSTER_CONFIG, STARTS
from harness.runner.matrix import Cell
from harness.runner.options import RunOptions
from harness.runner.session import execute_run

LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"
CASSETTES = LIBRARY.parent / "cassettes"
SMALL = (LIBRARY / "core-fetch-readme.yaml", LIBRARY / "core-comment-latest-issue.yaml")
CORE = tuple(sorted(LIBRARY.glob("core-*.yaml")))  # the core scenarios
FRAMEWORKS = ("autogen", "openai-agents-hosted", "openai-agents-client", "pydantic-ai")


def test_caps_name_their_providers_and_a_cell_holds_those_it_talks_to() -> None:
    assert parse_cap("model=4") == ("model", 4) and parse_cap(" model:gpt-4o = 1") == ("model:gpt-4o", 1)
    for bad, message in [("model", "expected PROVIDER=N"), ("gpu=2", "the provider is one of"), ("model:=1", "one of")]:
        with pytest.raises(ValueError, match=message):
            parse_cap(bad)
    assert RunOptions(executor="dask", caps=(("gpu", 1),)).problems() == [f"--cap gpu=1: {UNKNOWN}"]
    assert "need --executor dask" in RunOptions(caps=(("model", 1),)).problems()[0]
    caps = [("composio", 1), ("rovo", 2), ("model:m", 1), ("model:other", 1), ("bitbucket", 3), ("model", 5)]
    held = held_by(Cell("s", "pydantic-ai", "rovo", "m", 1), caps)
    assert held == [("bitbucket", 3), ("model", 5), ("model:m", 1), ("rovo", 2)]  # one order: no two cells deadlock


@pytest.fixture(scope="module")
def cluster() -> Iterator[Client]:
    with (
        dask.config.set(CLUSTER_CONFIG),  # while the cluster lives: its nanny restarts killed workers with it
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local,
        Client(local) as client,
    ):
        yield client


def run(tmp: Path, run_id: str, **options: Any) -> list[ResultRow]:
    settings: dict[str, Any] = {
        "scenarios": SMALL,
        "frameworks": ("pydantic-ai",),
        "routes": ("composio", "rovo"),
        "world": "sandbox",
        "run_id": run_id,
        "runs_dir": tmp,
        "timeout_s": 120.0,
    } | options
    assert execute_run(RunOptions(**settings)) == 0
    return read_rows(tmp / run_id / "results.jsonl")


def on(cluster: Client, tmp: Path, run_id: str, **options: Any) -> list[ResultRow]:
    return run(tmp, run_id, executor="dask", scheduler=cluster.scheduler.address, **options)


def interval(row: ResultRow) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(row.started_at or "")
    return start, start + timedelta(seconds=row.duration_s or 0)


def overlapping(rows: list[ResultRow]) -> list[str]:
    """The cells that started before every cell that started earlier had finished."""
    found, latest_end = [], None
    for (start, end), key in sorted((interval(r), r.key) for r in rows):
        if latest_end is not None and start < latest_end:
            found.append(key)
        latest_end = max(end, latest_end or end)
    return found


def test_the_overlap_check_sees_any_two_cells_side_by_side() -> None:
    def row(key: str, start: str, seconds: float) -> ResultRow:
        fields = {"key": key, "scenario": "s", "framework": "f", "path": "rovo", "model": "m", "verdict": "pass"}
        return ResultRow.model_validate(
            fields | {"started_at": f"2026-01-01T00:00:{start}+00:00", "duration_s": seconds}
        )

    apart = [row("a", "00", 1.0), row("b", "01", 1.0), row("c", "05", 2.0)]
    assert overlapping(apart) == []
    assert overlapping([*apart, row("long", "00", 10.0)]) == ["long", "b", "c"]  # not only neighbours
    assert overlapping([row("x", "03", 1.0), row("y", "03.5", 0.1)]) == ["y"]


@pytest.fixture(scope="module")
def uncapped(cluster: Client, tmp_path_factory: pytest.TempPathFactory) -> list[ResultRow]:
    return on(cluster, tmp_path_factory.mktemp("dask"), "dask")


@pytest.mark.timeout(900)  # a cluster and each worker's cell processes to start: minutes on a busy machine
def test_dask_gives_the_verdicts_of_the_local_pool_on_the_core_matrix(cluster: Client, tmp_path: Path) -> None:
    # the committed cassettes of the core matrix, replayed: the executors compared, not a world (the sandbox
    # world's cells on Dask are the other tests')
    core = {"scenarios": CORE, "frameworks": FRAMEWORKS, "world": "replay", "cassettes": CASSETTES}
    on_dask = on(cluster, tmp_path, "dask", **core)
    local = run(tmp_path, "local", concurrency=2, **core)
    assert {r.key: r.verdict for r in on_dask} == {r.key: r.verdict for r in local}
    assert len(on_dask) == len(CORE) * len(FRAMEWORKS) * 2 == 40 and all(r.verdict.value == expected(r) for r in local)
    assert len({r.worker for r in on_dask}) == 2 and all(r.worker is None for r in local)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a cluster, a sandbox and each worker's cell process to start: minutes on a busy machine
def test_a_cap_of_one_keeps_cells_from_overlapping(cluster: Client, uncapped: list[ResultRow], tmp_path: Path) -> None:
    assert overlapping(uncapped), "without a cap the two workers run cells side by side"
    sandboxes = {CellRecord.read(Path(r.cassette or "")).urls["bitbucket_api"] for r in uncapped}
    assert len(sandboxes) == 1 and len({r.worker for r in uncapped}) == 2  # both workers used the machine's sandbox
    capped = on(cluster, tmp_path, "capped", caps=(("bitbucket", 1),))
    assert len(capped) == 4 and len({r.worker for r in capped}) == 2 and not overlapping(capped)
    assert {r.key: r.verdict for r in capped} == {r.key: r.verdict for r in uncapped}


@pytest.mark.slow
@pytest.mark.timeout(900)  # a cluster, a sandbox and each worker's cell process to start: minutes on a busy machine
def test_a_killed_workers_cell_runs_again_elsewhere_and_its_row_says_so(cluster: Client, tmp_path: Path) -> None:
    results = tmp_path / "killed" / "results.jsonl"
    done: list[list[ResultRow]] = []
    runner = threading.Thread(target=lambda: done.append(on(cluster, tmp_path, "killed", repeat=2)))
    runner.start()
    victim = None
    deadline = time.monotonic() + 240
    while victim is None and time.monotonic() < deadline:  # a worker with a cell started and not finished
        finished = {r.key for r in read_rows(results, torn="skip")}
        events = cluster.cluster.scheduler.get_events()  # the scheduler runs in this process
        started = [m for topic, got in events.items() if topic.startswith(STARTS + "killed-") for _, m in got]
        if finished:
            victim = next((m["worker"] for m in reversed(started) if m["key"] not in finished), None)
        time.sleep(0.1)
    assert victim is not None
    (pid,) = cluster.run(os.getpid, workers=[victim]).values()
    os.kill(pid, signal.SIGKILL)
    runner.join(timeout=300)
    (rows,) = done
    assert sorted(r.key for r in rows) == sorted({r.key for r in rows}) and len(rows) == 8  # each cell once
    retried = [r for r in rows if r.retried_from]
    assert retried and all(r.retried_from == victim and r.worker not in (None, victim) for r in retried)
    assert all(r.verdict.value == expected(r) for r in rows)


def expected(row: ResultRow) -> str:
    return "expected-unsupported" if (row.scenario, row.route) == ("core-comment-latest-issue", "rovo") else "pass"
