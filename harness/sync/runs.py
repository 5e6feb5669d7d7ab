"""Push-triggered runs, and their results on the pushed commit.

A push that changes scenarios runs those scenarios on the configured matrix. One that changes a stack they run on
(an MCP client: a framework variant; an MCP server: a route; a model entry) runs every synced scenario on that
stack, or on the whole matrix when it changed more than one kind of stack or scenarios too. A push that breaks a
file gets its findings without a run. The commit gets a build status (INPROGRESS when queued, then SUCCESSFUL or
FAILED, linking to the run's report) and a Code Insights report with one annotation per failing cell and per file
that does not sync. Runs go one at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from harness.results import RESULTS_FILE, ResultRow, read_rows
from harness.sync.bitbucket import Bitbucket, BitbucketFailure
from harness.sync.inbound import Applied, Finding
from harness.sync.store import SyncStore
from harness.vocab import Outcome, WorldName

if TYPE_CHECKING:  # the runner (frameworks, the emulator's launcher) loads only when a run starts
    from harness.runner.options import RunOptions

log = logging.getLogger("harness.sync")
J = dict[str, Any]
STATUS_KEY = "harness"
REPORT_ID = "harness-run"


@dataclass(frozen=True)
class Matrix:
    """What a push-triggered run covers besides its scenarios, and where its outputs go."""

    frameworks: tuple[str, ...]
    routes: tuple[str, ...]
    models: tuple[str, ...]
    world: str = "sandbox"
    env_file: Path | None = None
    timeout_s: float = 300.0
    runs_dir: Path = Path("runs")
    reports_dir: Path = Path("reports")
    render: bool = True  # the HTML report (papermill); without it the link shows the run's summary

    def options(self, scenarios: Path, run_id: str, only: Mapping[str, tuple[str, ...]] | None = None) -> RunOptions:
        """The run's options; ``only`` narrows frameworks, routes or models to those named (within the matrix)."""
        from harness.runner.options import RunOptions

        only = only or {}
        return RunOptions(
            scenarios=(scenarios,),
            frameworks=_within(self.frameworks, only.get("frameworks")),
            routes=_within(self.routes, only.get("routes")),
            models=_within(self.models, only.get("models")),
            world=cast(WorldName, self.world),  # checked by problems()
            run_id=run_id,
            runs_dir=self.runs_dir,
            env_file=self.env_file,
            timeout_s=self.timeout_s,
        )


def _within(matrix: tuple[str, ...], names: tuple[str, ...] | None) -> tuple[str, ...]:
    return matrix if names is None else tuple(n for n in matrix if n in names)


@dataclass(frozen=True)
class RunJob:
    commit: str
    branch: str
    scenarios: tuple[str, ...]  # ids, as the database holds them
    findings: tuple[Finding, ...] = ()  # files the push broke
    only: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # the stack that changed, when one did

    def new_run_id(self) -> str:
        return f"sync-{self.commit[:12]}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def plan(commit: str, branch: str, applied: Applied, synced: list[str], matrix: Matrix) -> RunJob | None:
    """What a push runs (see the module's docstring); None when it changed nothing that runs or shows."""
    changed = RunJob(commit, branch, tuple(sorted(applied.scenarios)), tuple(applied.errors))
    stacks = {dim: tuple(sorted(names)) for dim, names in applied.stacks.items() if names}
    if stacks:
        only = stacks if len(stacks) == 1 and not applied.scenarios else {}
        options = matrix.options(Path("."), "plan", only)
        if options.frameworks and options.routes and options.models:  # the stack that changed is in the matrix
            return RunJob(commit, branch, tuple(sorted(synced)), changed.findings, only)
    return changed if changed.scenarios or changed.findings else None


def failing(row: ResultRow) -> bool:
    """A cell that should turn the commit red: a negative control that passed, or any other cell not ok."""
    return row.verdict is Outcome.PASS if row.control else not row.verdict.ok


def cell_name(row: ResultRow) -> str:
    return f"{row.scenario} / {row.framework} / {row.route} / {row.model}" + (
        f" #{row.attempt}" if row.attempt > 1 else ""
    )


def cell_annotations(rows: list[ResultRow], findings: tuple[Finding, ...]) -> list[J]:
    """One annotation per failing cell (on its scenario file) and per broken file (at its line)."""
    out: list[J] = []
    for row in rows:
        if failing(row):
            reasons = "; ".join(row.reasons) or "no reason recorded"
            out.append(
                {
                    "external_id": "harness-cell-" + hashlib.sha256(row.key.encode()).hexdigest()[:16],
                    "annotation_type": "BUG",
                    "result": "FAILED",
                    "severity": "HIGH" if row.verdict is Outcome.ERROR else "MEDIUM",
                    "summary": f"{row.verdict.value}: {cell_name(row)}"[:450],
                    "details": reasons[:2000],
                    "path": f"scenarios/{row.scenario}.yaml",
                }
            )
    for finding in findings:
        annotation: J = {
            "external_id": "harness-file-" + hashlib.sha256(finding.path.encode()).hexdigest()[:16],
            "annotation_type": "BUG",
            "result": "FAILED",
            "severity": "HIGH",
            "summary": f"{finding.code}: {finding.path}"[:450],
            "details": finding.message[:2000],
            "path": finding.path,
        }
        if finding.line:
            annotation["line"] = finding.line
        out.append(annotation)
    return out


def report_body(rows: list[ResultRow], findings: tuple[Finding, ...], link: str, seconds: float) -> J:
    bad = sum(1 for r in rows if failing(r))
    ok = not bad and not findings
    title = f"Harness: {len(rows) - bad} of {len(rows)} cells ok"
    details = f"{bad} failing cell(s)" + (f"; {len(findings)} file(s) that do not sync" if findings else "")
    return {
        "title": title,
        "details": details,
        "report_type": "TEST",
        "reporter": "harness",
        "link": link,
        "result": "PASSED" if ok else "FAILED",
        "data": [
            {"title": "Cells", "type": "NUMBER", "value": len(rows)},
            {"title": "Failing", "type": "NUMBER", "value": bad},
            {"title": "Duration", "type": "DURATION", "value": int(seconds * 1000)},
            {"title": "Report", "type": "LINK", "value": {"text": "run report", "href": link}},
        ],
    }


def status_body(state: str, description: str, link: str, branch: str) -> J:
    return {
        "key": STATUS_KEY,
        "state": state,
        "name": "harness",
        "description": description[:255],
        "url": link,
        "refname": branch,
    }


@dataclass
class RunQueue:
    """Runs one job at a time; what it posts goes through ``bitbucket``."""

    store: SyncStore
    bitbucket: Bitbucket
    matrix: Matrix
    public_url: str  # where the receiver is reached: links to reports go there
    run: Callable[[RunOptions], Path] | None = None  # run_matrix, or a stand-in that writes results
    queue: asyncio.Queue[tuple[RunJob, str]] = field(default_factory=asyncio.Queue)
    finished: list[str] = field(default_factory=list)  # run ids, for the log and tests

    def link(self, run_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/reports/{run_id}"

    async def submit(self, job: RunJob) -> str:
        """Mark the commit INPROGRESS and queue the job; returns the run id."""
        run_id = job.new_run_id()
        what = f"{len(job.scenarios)} scenario(s)" if job.scenarios else "no runnable scenario"
        await self._status(job, "INPROGRESS", f"queued: {what}", run_id)
        await self.queue.put((job, run_id))
        return run_id

    async def worker(self) -> None:
        while True:
            job, run_id = await self.queue.get()
            try:
                await self._execute(job, run_id)
            except Exception as exc:  # the worker must outlive one broken run
                log.exception("run %s failed", run_id)
                await self._status(job, "FAILED", f"the run could not finish: {type(exc).__name__}: {exc}", run_id)
            finally:
                self.finished.append(run_id)
                self.queue.task_done()

    async def _execute(self, job: RunJob, run_id: str) -> None:
        started = time.monotonic()
        rows: list[ResultRow] = []
        run_dir = self.matrix.runs_dir / run_id
        if job.scenarios:
            suite = run_dir / "suite" / "scenarios"  # the scenarios as this commit holds them
            suite.mkdir(parents=True, exist_ok=True)
            for scenario in job.scenarios:
                record = self.store.get("scenario", scenario)
                if record is not None and record.files:
                    (suite / f"{scenario}.yaml").write_text(record.files[record.path], encoding="utf-8")
            log.info("run %s: %s on commit %s", run_id, ", ".join(job.scenarios), job.commit[:12])
            await asyncio.to_thread(self._run, self.matrix.options(suite, run_id, job.only))
            rows = read_rows(run_dir / RESULTS_FILE, torn="skip")
            if self.matrix.render:
                await asyncio.to_thread(self._render, run_dir)
        link = self.link(run_id)
        seconds = time.monotonic() - started
        await self.bitbucket.report(
            job.commit, REPORT_ID, report_body(rows, job.findings, link, seconds), cell_annotations(rows, job.findings)
        )
        bad = sum(1 for r in rows if failing(r))
        ok = not bad and not job.findings
        description = f"{len(rows) - bad} of {len(rows)} cells ok" + (
            f"; {len(job.findings)} file(s) do not sync" if job.findings else ""
        )
        await self._status(job, "SUCCESSFUL" if ok else "FAILED", description, run_id)
        log.info("run %s on %s: %s", run_id, job.commit[:12], description)

    def _run(self, options: RunOptions) -> Path:
        problems = options.problems()
        if problems:
            raise ValueError("; ".join(problems))
        if self.run is not None:
            return self.run(options)
        from harness.runner.session import run_matrix

        return run_matrix(options)

    def _render(self, run_dir: Path) -> None:
        from harness.report import render_report

        render_report(run_dir, runs_dir=self.matrix.runs_dir, reports_dir=self.matrix.reports_dir)

    async def _status(self, job: RunJob, state: str, description: str, run_id: str) -> None:
        try:
            await self.bitbucket.build_status(
                job.commit, status_body(state, description, self.link(run_id), job.branch)
            )
        except BitbucketFailure as exc:
            log.error("could not post the %s build status on %s: %s", state, job.commit[:12], exc)
