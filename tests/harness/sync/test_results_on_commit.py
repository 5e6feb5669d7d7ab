"""What the run queue posts on a commit of the embedded Bitbucket: INPROGRESS, then SUCCESSFUL with a passing
report, or FAILED when the run cannot finish. The runner is replaced by a function that writes result rows: the
posting is what is under test here (the end-to-end test runs the real runner)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness.results import RESULTS_FILE, ResultRow, append_row
from harness.runner.options import RunOptions
from harness.sync.bitbucket import Bitbucket
from harness.sync.config import sync_config
from harness.sync.entities import Entity
from harness.sync.runs import Matrix, RunJob, RunQueue
from harness.sync.store import SyncStore
from sandbox import Sandbox
from tests.harness.sync.helpers import REPO, ROOT, create_repository, oracle, write_env

SCENARIO = "core-create-branch"


def passing_run(options: RunOptions) -> Path:
    """Writes one passing row per scenario file given, as the runner would."""
    run_dir = options.runs_dir / str(options.run_id)
    for scenario in sorted(options.scenarios[0].glob("*.yaml")):
        row = {"scenario": scenario.stem, "framework": "pydantic-ai", "path": "rovo", "model": "sandbox-reference"}
        append_row(run_dir / RESULTS_FILE, ResultRow.model_validate(row | {"key": scenario.stem, "verdict": "pass"}))
    return run_dir


def broken_run(options: RunOptions) -> Path:
    raise RuntimeError("the world would not start")


async def post(queue: RunQueue, job: RunJob) -> str:
    worker = asyncio.create_task(queue.worker())
    run_id = await queue.submit(job)
    await queue.queue.join()
    worker.cancel()
    await queue.bitbucket.aclose()
    return run_id


def test_a_passing_run_and_a_run_that_cannot_finish(sandbox: Sandbox, tmp_path: Path) -> None:
    env = write_env(sandbox, tmp_path / ".env")
    create_repository(sandbox, env, "eval-suites")
    store = SyncStore(tmp_path / "sync.db")
    path = f"scenarios/{SCENARIO}.yaml"
    store.save_local(Entity("scenario", SCENARIO, {path: (ROOT / path).read_text()}))
    matrix = Matrix(("pydantic-ai",), ("rovo",), ("sandbox-reference",), runs_dir=tmp_path / "runs", render=False)
    with oracle(sandbox, env) as c:
        head = c.get(f"repositories/{REPO}/refs/branches/main").json()["target"]["hash"]
        job = RunJob(head, "main", (SCENARIO,))

        def queue(run: object) -> RunQueue:
            bitbucket = Bitbucket(sync_config(env), REPO)
            return RunQueue(store, bitbucket, matrix, "http://127.0.0.1:8787", run=run)  # type: ignore[arg-type]

        run_id = asyncio.run(post(queue(passing_run), job))
        status = c.get(f"repositories/{REPO}/commit/{head}/statuses/build/harness").json()
        assert (status["state"], status["description"]) == ("SUCCESSFUL", "1 of 1 cells ok")
        assert status["url"] == f"http://127.0.0.1:8787/reports/{run_id}"
        report = c.get(f"repositories/{REPO}/commit/{head}/reports/harness-run").json()
        assert (report["result"], report["title"]) == ("PASSED", "Harness: 1 of 1 cells ok")
        assert c.get(f"repositories/{REPO}/commit/{head}/reports/harness-run/annotations").json()["values"] == []
        ran = tmp_path / "runs" / run_id / "suite" / "scenarios" / f"{SCENARIO}.yaml"
        assert ran.read_text() == (ROOT / path).read_text()  # the scenario as the database holds it

        asyncio.run(post(queue(broken_run), job))
        status = c.get(f"repositories/{REPO}/commit/{head}/statuses/build/harness").json()
        assert status["state"] == "FAILED"
        assert status["description"] == "the run could not finish: RuntimeError: the world would not start"
