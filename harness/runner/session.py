"""The world around a run: start the sandbox (or read the live configuration, or nothing for a replay), prepare
the reference model's scenario plans, show progress, summarise."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.oracle import OracleConfig
from harness.recording import RecordMode
from harness.runner.run import RunPlan, finished_keys, new_run_id, run
from harness.scenarios import load_scenarios
from harness.scenarios.loader import scenario_files
from harness.worlds import (
    SANDBOX_UNLINKED_WORKSPACE,
    SANDBOX_USER_IDS,
    SANDBOX_WORKSPACE,
    AdminConfig,
    ComposioConfig,
    ConfigError,
    ModelConfig,
    RovoConfig,
    WorldConfig,
    live_world,
    load_env,
    sandbox_world,
)
from harness.yamlio import InputError

console = Console(stderr=True)
PLACEHOLDER = "replay-placeholder"


def replay_world() -> WorldConfig:
    """Credentials for a replay are placeholders and URLs come from each cassette: nothing is contacted. Names
    are the sandbox's, where the committed cassettes were recorded."""
    return WorldConfig(
        name="replay",
        oracle=OracleConfig("http://replay.invalid/2.0", "http://replay.invalid/token", PLACEHOLDER, PLACEHOLDER,
                            SANDBOX_WORKSPACE, SANDBOX_UNLINKED_WORKSPACE),
        composio=ComposioConfig("http://127.0.0.1:9", PLACEHOLDER, SANDBOX_USER_IDS),
        rovo=RovoConfig("http://127.0.0.1:9/v1/mcp", "alice@example.com",
                        {"full": PLACEHOLDER, "read-only": PLACEHOLDER, "no-pr-write": PLACEHOLDER}),
        model=ModelConfig("http://127.0.0.1:9/v1", PLACEHOLDER),
        admin=AdminConfig("http://127.0.0.1:9", PLACEHOLDER),  # a recorded cell's faults are played back
    )


@contextlib.contextmanager
def open_world(name: str, env_file: Path | None) -> Iterator[tuple[WorldConfig, Any]]:
    """The world config, and the running sandbox when the world is the embedded one (else None)."""
    if name == "live":
        yield live_world(load_env(env_file)), None
    elif name == "replay":
        yield replay_world(), None
    else:
        from harness.sandbox import Sandbox

        with Sandbox.start() as sandbox:
            yield sandbox_world(sandbox.info), sandbox


def execute_run(*, scenario_paths: list[Path], frameworks: list[str], paths: list[str], models: list[str],
                repeat: int, concurrency: int, world: str, record_mode: RecordMode, cassettes: Path | None,
                run_id: str | None, runs_dir: Path, env_file: Path | None, timeout_s: float,
                control_frameworks: tuple[str, ...] = ()) -> int:
    try:
        scenarios = load_scenarios(scenario_paths)
        files = scenario_files(scenario_paths)
    except InputError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    run_dir = runs_dir / (run_id or new_run_id())
    try:
        with open_world(world, env_file) as (config, sandbox):
            if sandbox is not None:
                _register_plans(sandbox, scenarios)
            plan = RunPlan({s.id: (s, f) for s, f in zip(scenarios, files, strict=True)}, frameworks, paths, models,
                           repeat, concurrency, config, record_mode, cassettes or run_dir / "cassettes", run_dir,
                           timeout_s, control_frameworks)
            results = _with_progress(plan)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    _summary(results)
    return 0


def _register_plans(sandbox: Any, scenarios: list[Any]) -> None:
    """Hand the reference model the scenarios' per-turn plans (the sandbox's model reads them by message)."""
    from harness.runner.plans import plans_payload

    payload = plans_payload(scenarios)
    if payload["plans"]:
        response = sandbox.admin.post("/model/plans", json=payload)
        if not response.is_success:
            raise ConfigError(f"the sandbox model refused the scenarios' plans: {response.text[:500]}")


def _with_progress(plan: RunPlan) -> Path:
    cells = plan.cells()
    counts: Counter[str] = Counter()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[tally]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"run {plan.run_dir.name}", total=len(cells), tally="")

        def on_row(row: dict[str, Any]) -> None:
            counts[row["verdict"]] += 1
            progress.update(task, advance=1, tally=" ".join(f"{k} {v}" for k, v in sorted(counts.items())))

        done = finished_keys(plan.run_dir / "results.jsonl")  # a resumed run starts where it stopped
        progress.update(task, completed=sum(1 for c in cells if c.key in done))
        return run(plan, on_row)


SYMBOL = {"pass": "pass", "fail": "**FAIL**", "error": "ERROR", "expected-unsupported": "unsupported (ok)"}


def _summary(results: Path) -> None:
    """Print the tally and the failures, and write ``summary.md``: one row per scenario and model, one column
    per framework and path."""
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    tally = Counter(r["verdict"] for r in rows)
    console.print(f"{results}: {len(rows)} rows; " + ", ".join(f"{k}: {v}" for k, v in sorted(tally.items())))
    for r in rows:
        if r["verdict"] in ("fail", "error"):
            console.print(f"  {r['verdict']:5} {r['key']}: {'; '.join(r['reasons'])[:200]}")
    columns = sorted({(r["framework"], r["path"]) for r in rows})
    cells: dict[tuple[str, str], dict[tuple[str, str], list[str]]] = {}
    for r in rows:
        cells.setdefault((r["scenario"], r["model"]), {}).setdefault((r["framework"], r["path"]), []).append(
            SYMBOL.get(r["verdict"], r["verdict"]))
    lines = [f"# Run {results.parent.name}", "",
             ", ".join(f"{k}: {v}" for k, v in sorted(tally.items())), "",
             "| scenario | model | " + " | ".join(f"{f} / {p}" for f, p in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for (scenario, model), by_column in sorted(cells.items()):
        lines.append(f"| {scenario} | {model} | " +
                     " | ".join(", ".join(by_column.get(c, ["-"])) for c in columns) + " |")
    failures = [f"- `{r['key']}` {r['verdict']}: {'; '.join(r['reasons'])}" for r in rows
                if r["verdict"] in ("fail", "error")]
    if failures:
        lines += ["", "## Failures and errors", "", *failures]
    (results.parent / "summary.md").write_text("\n".join(lines) + "\n")
    console.print(f"summary: {results.parent / 'summary.md'}")
