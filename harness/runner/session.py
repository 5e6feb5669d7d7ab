"""The world around a run: start the sandbox (or read the live configuration, or nothing for a replay), hand the
reference model the scenarios' plans, show progress, summarise."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.models import Catalog, ModelSpec, load_models
from harness.results import V1_IDENTITIES, ResultRow, finished_keys, read_rows
from harness.runner.options import RunOptions
from harness.runner.run import RunPlan, ScenarioSource, new_run_id, run
from harness.scenarios import Scenario, load_scenario_sources
from harness.scenarios.plans import compiled_plans
from harness.worlds import ConfigError, WorldConfig, live_world, load_env, replay_world, sandbox_world
from yamlio import InputError

console = Console(stderr=True, soft_wrap=True)  # messages name files and lines: never break them
PROBE_TIMEOUT_S = 10.0


@contextlib.contextmanager
def open_world(options: RunOptions, sources: list[ScenarioSource]) -> Iterator[WorldConfig]:
    """The world's configuration; the embedded sandbox runs (with the scenarios' plans, and a gateway in front of
    each real model) while the block does. What would stop a cell (an unknown model, a missing key, an endpoint
    that does not answer) is a ConfigError before any cell runs."""
    if options.world == "replay":
        yield replay_world(V1_IDENTITIES)  # each cell takes the names, URLs and model ids its cassette recorded
        return
    env = load_env(options.env_file)
    catalog = load_models(options.models_file)
    check_models(catalog, list(options.models), env, options.world)
    if options.world == "live":
        yield live_world(env, catalog)
        return
    from sandbox import Sandbox

    with Sandbox.start() as sandbox:
        yield furnished(sandbox, [s.scenario for s in sources], catalog, list(options.models), env)


def furnished(
    sandbox: Any, scenarios: list[Scenario], catalog: Catalog, models: list[str], env: Mapping[str, str]
) -> WorldConfig:
    """A running sandbox made ready for a run: the reference model knows the scenarios' plans, and a gateway
    stands in front of each real model (the hosted variant's MCP runs there, and streaming is emulated for
    endpoints that cannot stream tool calls). Returns the world it is."""
    sandbox.register_plans(compiled_plans(scenarios))
    gateways = {
        m: sandbox.register_gateway(gateway_name(m), spec.base_url, spec.upstream, spec.stream)
        for m in models
        if (spec := catalog.spec(m))
    }
    return sandbox_world(sandbox.info, catalog, env, gateways)


def check_models(catalog: Catalog, names: list[str], env: Mapping[str, str], world: str) -> None:
    """Every problem with running ``names`` in ``world``, at once: unknown names, key variables that are not set,
    endpoints that do not answer or refuse the key."""
    live = world == "live"  # there, a name the file does not declare goes to the default provider
    problems = catalog.check(names, env, default_provider=live)
    if live and not env.get("OPENAI_API_KEY"):
        problems += [
            f"model {n!r} is not in the models file, so it goes to the default provider (OPENAI_BASE_URL), "
            "which needs OPENAI_API_KEY"
            for n in names
            if n not in catalog.declared
        ]
    if not problems:
        problems = [p for n in names if (spec := catalog.spec(n)) and (p := probe(spec, env))]
    if problems:
        raise ConfigError("\n".join(problems))


def probe(spec: ModelSpec, env: Mapping[str, str]) -> str | None:
    """Why a model's endpoint cannot serve a run (it does not answer, or refuses the key), or None."""
    key = env.get(spec.api_key_env, "") if spec.api_key_env else ""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        answer = httpx.get(f"{spec.base_url}/models", headers=headers, timeout=PROBE_TIMEOUT_S, trust_env=False)
    except httpx.HTTPError as exc:
        return f"model {spec.name!r}: no answer from {spec.base_url} ({type(exc).__name__}: {exc})"
    if answer.status_code in (401, 403):
        where = f"the key in {spec.api_key_env}" if spec.api_key_env else "no key (set api_key_env)"
        return f"model {spec.name!r}: {spec.base_url} refused {where}: {answer.status_code}"
    return None  # any other answer: something that speaks HTTP is there (some servers have no /models)


def gateway_name(model: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-") or "model"


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
