"""The world around a run: start the sandbox (or read the live configuration, or nothing for a replay), hand the
reference model the scenarios' plans, show progress, summarise."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.results import V1_IDENTITIES, ResultRow, finished_keys, read_rows
from harness.runner.options import RunOptions
from harness.runner.run import RunPlan, ScenarioSource, new_run_id, run
from harness.scenarios import load_scenario_sources
from harness.scenarios.plans import compiled_plans
from harness.worlds import ConfigError, WorldConfig, live_world, load_env, replay_world, sandbox_world
from yamlio import InputError

console = Console(stderr=True)


@contextlib.contextmanager
def open_world(options: RunOptions, sources: list[ScenarioSource]) -> Iterator[WorldConfig]:
    """The world's configuration; the embedded sandbox runs (with the scenarios' plans) while the block does."""
    if options.world == "live":
        yield live_world(load_env(options.env_file))
    elif options.world == "replay":
        yield replay_world(V1_IDENTITIES)  # each cell takes the names and URLs its cassette recorded
    else:
        from sandbox import Sandbox

        with Sandbox.start() as sandbox:
            sandbox.register_plans(compiled_plans([s.scenario for s in sources]))
            yield sandbox_world(sandbox.info)


def run_matrix(options: RunOptions) -> Path:
    """Run (or resume) the matrix the options describe, with progress and a summary on stderr; returns the run
    directory. Bad scenario files raise InputError, an incomplete live configuration ConfigError, both before any
    cell runs."""
    run_dir = options.runs_dir / (options.run_id or new_run_id())
    sources = [ScenarioSource(s, f) for s, f in load_scenario_sources(list(options.scenarios))]
    with open_world(options, sources) as world:
        plan = RunPlan(options, {s.scenario.id: s for s in sources}, world, run_dir)
        results = _with_progress(plan)
    from harness.report.summary import write_summary

    console.print(write_summary(read_rows(results, torn="skip"), results), highlight=False)
    return run_dir


def execute_run(options: RunOptions) -> int:
    """``run_matrix`` for the command line: what stops a run before it starts is a message and exit code 2."""
    try:
        run_matrix(options)
    except (InputError, ConfigError) as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        return 2
    return 0


def _with_progress(plan: RunPlan) -> Path:
    cells = plan.cells()
    counts: Counter[str] = Counter()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[tally]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"run {plan.run_dir.name}", total=len(cells), tally="")

        def on_row(row: ResultRow) -> None:
            counts[row.verdict.value] += 1
            progress.update(task, advance=1, tally=" ".join(f"{k} {v}" for k, v in sorted(counts.items())))

        done = finished_keys(plan.results)  # a resumed run starts where it stopped
        progress.update(task, completed=sum(1 for c in cells if c.key in done))
        return run(plan, on_row)
