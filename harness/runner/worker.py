"""One cell, start to finish, inside a worker process: arrange, connect, converse (with the scenario's upstream
faults on), score, tear down, record. A world that lacks what the scenario needs (an admin API for faults, an
unlinked workspace) gives an ``error`` row before anything is arranged.

Workers are processes because vcrpy patches HTTP clients process-wide: one cassette at a time per process is the
only way cassettes of concurrent cells cannot mix. A worker runs its cells one after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import traceback
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.frameworks import ADAPTERS, Conversation
from harness.oracle import Oracle
from harness.oracle.bitbucket import NO_UNLINKED_WORKSPACE
from harness.paths import McpConnection, ProfileUnavailable, composio_connection, rovo_connection
from harness.placeholders import fill
from harness.recording import Recorder, RecordMode
from harness.recording.cassettes import replay_miss
from harness.recording.network import blocked_network
from harness.runner.cells import Cell
from harness.runner.faults import NEEDS_SANDBOX, injected
from harness.scenarios import Scenario, load_scenario
from harness.scenarios.schema import CONTROLS
from harness.scoring import Verdict, score
from harness.transcript import Transcript
from harness.worlds import WorldConfig


@dataclass(frozen=True)
class CellJob:
    cell: Cell
    scenario_file: Path
    world: WorldConfig
    record_mode: RecordMode
    cassettes: Path
    transcripts: Path
    run_id: str
    timeout_s: float
    tags: tuple[str, ...] = ()  # the scenario's, copied into every row for reports


class CellUnavailable(RuntimeError):
    """The world cannot run this cell at all (it lacks what the scenario needs); nothing was arranged."""


def urls_of(world: WorldConfig) -> dict[str, str]:
    urls = {"bitbucket_api": world.oracle.api_url, "token_url": world.oracle.token_url,
            "composio": world.composio.base_url, "rovo": world.rovo.url, "model": world.model.base_url}
    return urls | ({"admin": world.admin.url} if world.admin else {})


def with_urls(world: WorldConfig, urls: dict[str, str]) -> WorldConfig:
    """The world as it was recorded: a replay sends its requests to the recorded URLs (nothing listens there)."""
    return replace(
        world,
        oracle=replace(world.oracle, api_url=urls["bitbucket_api"], token_url=urls["token_url"]),
        composio=replace(world.composio, base_url=urls["composio"]),
        rovo=replace(world.rovo, url=urls["rovo"]),
        model=replace(world.model, base_url=urls["model"]),
        admin=replace(world.admin, url=urls["admin"]) if world.admin and "admin" in urls else world.admin,
    )


def unavailable(scenario: Scenario, world: WorldConfig) -> str | None:
    """Why the world cannot run the scenario (checked before anything is arranged), or None."""
    if scenario.faults and world.admin is None:
        return f"{NEEDS_SANDBOX}; the {world.name} world has none"
    if scenario.fixture.workspace == "unlinked" and not world.oracle.unlinked_workspace:
        return f"{NO_UNLINKED_WORKSPACE} (the {world.name} world)"
    return None


def base_row(job: CellJob) -> dict[str, Any]:
    """The fields every result row starts with, whatever happened to the cell."""
    return {"run_id": job.run_id, "key": job.cell.key, **job.cell.to_dict(), "tags": list(job.tags),
            "control": job.cell.model in CONTROLS, "world": job.world.name, "record_mode": job.record_mode,
            "started_at": datetime.now(UTC).isoformat()}


def run_cell(job: CellJob) -> dict[str, Any]:
    """The result row of one cell (never raises: a broken cell is an ``error`` row)."""
    started = time.perf_counter()
    row = base_row(job)
    recorded: dict[str, Any] | None = None
    try:
        with blocked_network() if job.world.name == "replay" else contextlib.nullcontext():
            transcript, verdict, cassette, recorded = asyncio.run(_run(job))
    except CellUnavailable as exc:
        transcript, cassette, verdict = None, job.cell.cassette(job.cassettes), Verdict("error", [str(exc)])
    except Exception as exc:  # arranging or scoring failed: the harness could not judge this cell
        transcript, cassette = None, job.cell.cassette(job.cassettes)
        miss = replay_miss(exc)
        verdict = Verdict("error", [miss] if miss else [f"{type(exc).__name__}: {exc}",
                                                         *traceback.format_exc().splitlines()[-3:]])
    row |= {"verdict": verdict.outcome, "reasons": verdict.reasons, **verdict.metrics,
            "versions": transcript.versions if transcript else {}, "cassette": str(cassette),
            "duration_s": round(time.perf_counter() - started, 2), "recorded": recorded}
    if transcript is not None:
        path = job.transcripts / (job.cell.key.replace("/", "--") + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"cell": job.cell.to_dict(), "transcript": transcript.model_dump(mode="json"),
                                    "verdict": verdict.outcome, "reasons": verdict.reasons}, indent=2))
        row["transcript"] = str(path)
    return row


async def _run(job: CellJob) -> tuple[Transcript, Verdict, Path, dict[str, Any]]:
    scenario = load_scenario(job.scenario_file)
    world = job.world
    why = unavailable(scenario, world)
    if why:
        raise CellUnavailable(why)
    recorder = Recorder(job.record_mode, secrets=world.secrets())
    cassette_file = job.cell.cassette(job.cassettes)
    with recorder.cassette(cassette_file) as cassette:
        world = with_urls(world, cassette.get_metadata("urls", urls_of(world)))
        oracle = Oracle(world.oracle)
        try:
            arranged = await oracle.arrange(scenario, job.cell.cell_id)
            try:
                values = arranged.placeholders()
                conversation = Conversation([fill(t.user, values) for t in scenario.turns], job.cell.model)
                async with injected(world.admin, scenario.faults, values):  # gone before the oracle reads
                    transcript = await _converse(job, scenario, world, conversation)
                verdict = await score(scenario, job.cell.path, transcript, oracle, arranged)
            finally:
                await oracle.teardown(arranged)
        finally:
            await oracle.aclose()
        # What the cell looked like when it was recorded, kept in the cassette: a replay compares itself with it.
        cassette.get_metadata("cell", {**job.cell.to_dict(), "scenario_file": _portable(job.scenario_file)})
        recorded = cassette.get_metadata("result", {"verdict": verdict.outcome, "reasons": verdict.reasons,
                                                    "metrics": reproducible(verdict.metrics)})
    return transcript, verdict, cassette_file, recorded


REPRODUCIBLE = ("turns", "model_calls", "tool_calls", "tool_errors", "input_tokens", "output_tokens")


def reproducible(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics a replay must reproduce exactly (timings are not among them)."""
    return {k: metrics.get(k) for k in REPRODUCIBLE}


def _portable(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


async def _converse(job: CellJob, scenario: Scenario, world: WorldConfig, conversation: Conversation) -> Transcript:
    cell = job.cell
    failed = Transcript(framework=cell.framework, path=cell.path, model=cell.model)
    try:
        mcp = await _connect(cell.path, world, scenario.profiles.get(cell.path, "full"))  # type: ignore[call-overload]
        adapter = ADAPTERS[cell.framework]
        return await asyncio.wait_for(adapter.run(conversation, mcp, world.model), job.timeout_s)
    except TimeoutError:
        failed.error = f"timed out after {job.timeout_s:g} s"
    except ProfileUnavailable as exc:
        failed.error = str(exc)
    except Exception as exc:
        failed.error = replay_miss(exc) or f"{type(exc).__name__}: {exc}"
    return failed


async def _connect(path: str, world: WorldConfig, profile: str) -> McpConnection:
    if path == "composio":
        return await composio_connection(world.composio, profile)
    if path == "rovo":
        return await rovo_connection(world.rovo, profile)
    raise ValueError(f"unknown path {path!r}")
