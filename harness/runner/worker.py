"""One cell inside a worker process: the cell's steps (``harness.runner.cell``) inside its cassette, then its
result row and transcript file.

Workers are processes because vcrpy patches HTTP clients process-wide: one cassette at a time per process is the
only way cassettes of concurrent cells cannot mix. A worker runs its cells one after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import forkserver, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from harness.recording import Recorder, RecordMode
from harness.recording.cassettes import Hosts, replay_miss
from harness.recording.network import blocked_network
from harness.results import REPRODUCIBLE, SCHEMA_VERSION, CellRecord, RecordedResult, ResultRow
from harness.runner.cell import CellRun, CellUnavailable, unavailable
from harness.runner.machine import MachineSandbox
from harness.runner.matrix import Cell
from harness.scenarios import Scenario
from harness.scoring import Verdict
from harness.transcript import Transcript
from harness.vocab import Outcome, is_control, model_kind
from harness.worlds import ModelEndpoint, WorldConfig, replay_endpoint, replay_world


@dataclass(frozen=True)
class CellJob:
    """One cell to run, with everything it needs (the scenario already parsed)."""

    cell: Cell
    scenario: Scenario
    scenario_file: str  # as the cassette records it: relative to the project root where it can be
    world: WorldConfig | MachineSandbox  # the latter is made a WorldConfig on its machine before the cell runs
    record_mode: RecordMode
    cassettes: Path
    transcripts: Path
    run_id: str
    timeout_s: float


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def cell_processes(width: int, log: Path | None) -> ProcessPoolExecutor:
    """Up to ``width`` processes that run cells, one after another each, forked from :func:`cell_server`. Each
    takes this process's environment and working directory as they are now, not as the server's."""
    here = (os.getpid(), log, dict(os.environ), os.getcwd())
    return ProcessPoolExecutor(width, mp_context=cell_server(), initializer=cell_process_init, initargs=here)


def cell_server(imports: Sequence[str] | None = None) -> BaseContext:
    """multiprocessing's fork server, started now if it is not running: a clean process (no event loop, thread or
    patched client of ours to inherit) that imports the runner, the frameworks and the routes' SDKs once (``imports``;
    by default those of every framework and route), seconds of CPU that every cell process would otherwise pay for
    itself, for every run this process starts. Starting it early lets it import while this process does other work
    (starting a world)."""
    from harness.replay.pool import imports_for

    context = get_context("forkserver")
    context.set_forkserver_preload(list(imports or imports_for()))  # no effect once the server runs
    with _stdio_to_devnull():
        forkserver.ensure_running()
    return context


@contextlib.contextmanager
def _stdio_to_devnull() -> Iterator[None]:
    """stdout and stderr on /dev/null while a process is started: the fork server would otherwise hold this
    process's pipes open while it imports, and whatever reads them to the end (``harness run ... | tee``, a test)
    would wait seconds after a run refused at once. Its cell processes write to the run's log anyway."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        for stream, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, stream)
            os.close(copy)
        os.close(null)


def cell_process_init(starter: int, log: Path | None, environ: dict[str, str], cwd: str) -> None:
    """In a process of :func:`cell_processes`: the starter's environment and directory, then :func:`worker_init`."""
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    worker_init(starter, log)


def worker_init(starter: int, log: Path | None) -> None:
    """In each worker process: exit when the process that started it is gone (even killed with -9), and send what
    libraries print or warn to the run's log instead of the console."""
    threading.Thread(target=_exit_when_gone, args=(starter,), daemon=True, name="orphan-watch").start()
    if log is not None:
        log_to(log)


def log_to(log: Path) -> None:
    """This process's stderr, stdout, warnings and logging, appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for stream in (1, 2):
        os.dup2(fd, stream)
    os.close(fd)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format=LOG_FORMAT, force=True)
    logging.captureWarnings(True)


def _exit_when_gone(starter: int, every_s: float = 0.5) -> None:
    # not the parent alone: a fork server's children outlive the process that asked for them
    parent = os.getppid()
    while os.getppid() == parent and _exists(starter):
        time.sleep(every_s)
    os._exit(1)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def row_of(job: CellJob, **fields: Any) -> ResultRow:
    """The cell's row: what every row has, whatever happened to the cell, and ``fields``."""
    return ResultRow.model_validate(
        {
            "schema_version": SCHEMA_VERSION,
            "run_id": job.run_id,
            "key": job.cell.key,
            **job.cell.to_dict(),
            "tags": job.scenario.tags,
            "control": is_control(job.cell.model),
            "not_applicable": job.scenario.control_not_applicable(job.cell.model, job.cell.route),
            "world": job.world.name,
            "record_mode": job.record_mode,
            "started_at": datetime.now(UTC).isoformat(),
            "cassette": str(job.cell.cassette(job.cassettes)),
            **fields,
        }
    )


@dataclass(frozen=True)
class CellResult:
    transcript: Transcript
    verdict: Verdict
    recorded: RecordedResult  # the cassette's record: a replay compares itself with it
    endpoint: ModelEndpoint
    failures: list[str]


def run_cell(job: CellJob) -> ResultRow:
    """The result row of one cell (never raises: a broken cell is an ``error`` row)."""
    started_at, started = datetime.now(UTC).isoformat(), time.perf_counter()
    fields: dict[str, Any] = {"model_kind": model_kind(job.cell.model)}
    try:
        with blocked_network() if job.world.name == "replay" else contextlib.nullcontext():
            result = asyncio.run(_run(job))
    except CellUnavailable as exc:
        verdict = Verdict(Outcome.ERROR, [str(exc)])
    except Exception as exc:  # arranging or reading the state failed: the harness could not judge this cell
        miss = replay_miss(exc)
        reasons = [miss] if miss else [f"{type(exc).__name__}: {exc}", *traceback.format_exc().splitlines()[-3:]]
        verdict = Verdict(Outcome.ERROR, reasons)
    else:
        verdict, endpoint = result.verdict, result.endpoint
        written = _write_transcript(job, result.transcript, verdict, result.failures)
        fields |= {
            "versions": result.transcript.versions,
            "recorded": result.recorded,
            "transcript": str(written),
            "model_kind": endpoint.kind,
            "model_host": endpoint.host,
            "upstream_model": endpoint.upstream,
            "sampling": dict(endpoint.sampling),
            "failures": result.failures,
        }
    return row_of(
        job,
        started_at=started_at,
        verdict=verdict.outcome,
        reasons=verdict.reasons,
        **verdict.metrics,
        duration_s=round(time.perf_counter() - started, 2),
        **fields,
    )


def _write_transcript(job: CellJob, transcript: Transcript, verdict: Verdict, failures: list[str]) -> Path:
    path = job.transcripts / (job.cell.key.replace("/", "--") + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "cell": job.cell.to_dict(),
        "transcript": transcript.model_dump(mode="json"),
        "verdict": verdict.outcome,
        "reasons": verdict.reasons,
        "failures": failures,
    }
    path.write_text(json.dumps(record, indent=2))
    return path


async def _run(job: CellJob) -> CellResult:
    world = job.world
    if not isinstance(world, WorldConfig):
        raise CellUnavailable("the cell reached its process before its machine's sandbox was started")
    why = unavailable(job.scenario, world, job.cell)
    if why:  # before the cassette is opened: recording anew would delete the old one
        raise CellUnavailable(why)
    endpoint = world.endpoint(job.cell.model, job.cell.framework)
    hosts = Hosts(world.urls(endpoint))  # the cassette names fixed hosts, this world's ports are mapped back
    recorder = Recorder(job.record_mode, secrets=world.secrets(), hosts=hosts)
    with recorder.cassette(job.cell.cassette(job.cassettes)) as cassette:
        identities = world.identities() | {"model": endpoint.identities()}
        stored, identities = CellRecord.setup_in(cassette, hosts.urls(world.urls(endpoint)), identities)
        urls = hosts.restore(stored)
        if world.name == "replay":
            world, endpoint = replay_world(identities), replay_endpoint(job.cell.model, identities.get("model", {}))
        run = CellRun.open(job.cell, job.scenario, world.at_urls(urls), endpoint.at(urls["model"]))
        try:
            await run.prepare()
            transcript = await run.converse(job.timeout_s)
            verdict = await run.judge()
            failures = run.failures()
        finally:
            await run.close()
        record = CellRecord.model_validate(
            {
                "cell": {**job.cell.to_dict(), "scenario_file": job.scenario_file},
                "result": {
                    "verdict": verdict.outcome,
                    "reasons": verdict.reasons,
                    "metrics": {k: verdict.metrics.get(k) for k in REPRODUCIBLE},
                },
                "urls": stored,
                "identities": identities,
            }
        )
        kept = record.keep_in(cassette)  # a replay keeps what was recorded: it compares itself with that
    return CellResult(transcript, verdict, kept.result, run.endpoint, failures)
