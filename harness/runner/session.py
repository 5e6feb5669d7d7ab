"""The world around a run: start the sandbox (or read the live configuration, or nothing for a replay), hand the
reference model the scenarios' plans, show progress, summarise."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from harness.models import Catalog, ModelSpec, load_models
from harness.replay.pool import imports_for
from harness.results import RESULTS_FILE, V1_IDENTITIES, ResultRow, finished_keys, read_rows
from harness.runner.machine import MachineSandbox
from harness.runner.options import IDENTITY, RunOptions
from harness.runner.run import RunPlan, ScenarioSource, new_run_id, run
from harness.runner.worker import LOG_FORMAT, cell_server
from harness.scenarios import Scenario, load_scenario_sources
from harness.scenarios.plans import compiled_plans
from harness.vocab import Outcome
from harness.worlds import (
    ConfigError,
    WorldConfig,
    live_world,
    load_env,
    replay_world,
    sandbox_world,
    with_local_model,
)
from yamlio import InputError

console = Console(stderr=True, soft_wrap=True)  # messages name files and lines: never break them
PROBE_TIMEOUT_S = 10.0
LOGGED = re.compile(r"^\S+ \S+ (?:WARNING|ERROR|CRITICAL) ")  # a record of worker.LOG_FORMAT


@contextlib.contextmanager
def open_world(options: RunOptions, sources: list[ScenarioSource]) -> Iterator[WorldConfig | MachineSandbox]:
    """The world's configuration (on a Dask cluster, the sandbox world is one sandbox per worker machine, started
    there); the embedded sandbox runs (with the scenarios' plans, and a gateway in front of
    each real model) while the block does. What would stop a cell (an unknown model, a missing key, an endpoint
    that does not answer) is a ConfigError before any cell runs."""
    if options.world == "replay":
        yield replay_world(V1_IDENTITIES)  # each cell takes the names, URLs and model ids its cassette recorded
        return
    env = load_env(options.env_file)
    catalog = load_models(options.models_file)
    local = options.local_model  # known once the sandbox serves it
    check_models(catalog, [m for m in options.models if m != local], env, options.world)
    if options.world == "live":
        world = live_world(env, catalog)
        teach_sandbox_model(env, [s.scenario for s in sources])
        yield world
        return
    if options.executor == "dask":  # each worker machine starts its own sandbox
        scenarios = tuple(s.scenario for s in sources)
        keys = {v: env[v] for spec in catalog.declared.values() if (v := spec.api_key_env) and v in env}  # no more
        yield MachineSandbox(scenarios, catalog, options.models, keys, options.timeout_s, options.local_model)
        return
    from sandbox import Sandbox

    with Sandbox.start(local_model=local) as sandbox:
        yield furnished(sandbox, [s.scenario for s in sources], catalog, list(options.models), env, options.timeout_s)


def teach_sandbox_model(env: Mapping[str, str], scenarios: list[Scenario]) -> None:
    """A live world configured by the .env that `harness sandbox up --env` prints talks to the embedded sandbox,
    whose scripted models answer by the scenarios' plans: they learn them through the admin API that .env names,
    as in the sandbox world (any other live world names none, and nothing is sent)."""
    from sandbox.info import ADMIN_HEADER

    url, key = env.get("SANDBOX_ADMIN_URL"), env.get("SANDBOX_ADMIN_KEY")
    plans = compiled_plans(scenarios)
    if not (url and key and plans):
        return
    try:
        response = httpx.post(
            f"{url}/model/plans", json={"plans": plans}, headers={ADMIN_HEADER: key}, timeout=30, trust_env=False
        )
    except httpx.HTTPError as exc:
        raise ConfigError(f"SANDBOX_ADMIN_URL {url}: the sandbox does not answer ({exc})") from None
    if not response.is_success:
        raise ConfigError(f"SANDBOX_ADMIN_URL {url}: the sandbox refused the scenarios' plans: {response.status_code}")


def furnished(
    sandbox: Any,
    scenarios: list[Scenario],
    catalog: Catalog,
    models: list[str],
    env: Mapping[str, str],
    timeout_s: float | None = None,
) -> WorldConfig:
    """A running sandbox made ready for a run: the reference model knows the scenarios' plans, and a gateway
    stands in front of each real model (the hosted variant's MCP runs there, and streaming is emulated for
    endpoints that cannot stream tool calls), waiting for the model as long as a cell may take. Returns the world
    it is."""
    catalog = with_local_model(catalog, sandbox.info)
    return sandbox_world(sandbox.info, catalog, env, furnish(sandbox, scenarios, catalog, models, timeout_s))


def furnish(
    sandbox: Any, scenarios: list[Scenario], catalog: Catalog, models: list[str], timeout_s: float | None
) -> dict[str, str]:
    """Register the scenarios' plans and a gateway per real model (``catalog`` with the sandbox's local model);
    returns the gateways' base URLs by model."""
    sandbox.register_plans(compiled_plans(scenarios))
    return {
        m: sandbox.register_gateway(gateway_name(m), spec.base_url, spec.upstream, spec.stream, timeout=timeout_s)
        for m in models
        if (spec := catalog.spec(m))
    }


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
    directory. Bad scenario or models files raise InputError; an incomplete configuration, an unknown run to resume
    or a resume with other options ConfigError; all before any cell runs."""
    run_dir = options.runs_dir / (options.run_id or new_run_id())
    check_run_dir(options, run_dir)
    sources = [ScenarioSource(s, f) for s, f in load_scenario_sources(list(options.scenarios))]
    if options.executor == "local":
        frameworks = {*options.frameworks, *options.control_frameworks}
        cell_server(imports_for(frameworks, options.routes))  # its imports overlap the world's start
    with open_world(options, sources) as world:
        plan = RunPlan(options, {s.scenario.id: s for s in sources}, world, run_dir)
        say_unrecorded(plan)
        options.save(run_dir, {s.scenario.id: digest(s.scenario) for s in sources})
        results = _with_progress(plan)
    from harness.report.summary import write_summary

    console.print(write_summary(read_rows(results, torn="skip"), results, warnings_in(plan.log)), highlight=False)
    return run_dir


def say_unrecorded(plan: RunPlan) -> None:
    """A replay leaves out the cells it has no cassette for, and says how many; a ConfigError when that is all."""
    missing, asked = len(plan.unrecorded()), len(plan.requested())
    if missing == asked:
        raise ConfigError(
            f"no cassette under {plan.cassettes}/ for any of the {asked} cells asked for: point --cassettes at "
            f"recorded ones, or record them first (--world sandbox --record-mode once --cassettes {plan.cassettes})"
        )
    if missing:
        console.print(
            f"replay: {missing} of {asked} cells have no cassette under {plan.cassettes}/ and are left out",
            highlight=False,
        )


def digest(scenario: Scenario) -> str:
    """What a scenario asks, as a short hash (runs whose scenarios differ in it cannot be merged)."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()[:16]


def check_run_dir(options: RunOptions, run_dir: Path) -> None:
    """A resumed run exists and keeps its options; a new one does not exist yet."""
    try:
        if options.resume:
            options.resumed(run_dir, given=IDENTITY)
        elif (run_dir / RESULTS_FILE).exists():
            raise ValueError(
                f"run {run_dir.name} already exists under {run_dir.parent}/; resume it with "
                f"`harness run --run-id {run_dir.name}`, or start a new run"
            )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def warnings_in(log: Path) -> int:
    """How many warnings and errors libraries logged during the run (in ``run.log``)."""
    if not log.is_file():
        return 0
    return sum(1 for line in log.read_text(errors="replace").splitlines() if LOGGED.match(line))


def execute_run(options: RunOptions) -> int:
    """``run_matrix`` for the command line: what stops a run before it starts is a message and exit code 2; an
    interrupt (Ctrl-C) is exit code 130 with the command that resumes the run."""
    run_id = options.run_id or new_run_id()
    try:
        run_matrix(replace(options, run_id=run_id))
    except (InputError, ConfigError) as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print(
            f"\ninterrupted: finished cells are kept in {options.runs_dir / run_id}/; resume with\n"
            f"  harness run --run-id {run_id} --runs-dir {options.runs_dir}",
            highlight=False,
        )
        return 130
    return 0


def _with_progress(plan: RunPlan) -> Path:
    """Run the plan with progress on the console: a live bar on a terminal, a line per finished cell elsewhere
    (a CI log keeps every line whole)."""
    cells = plan.cells()
    done = finished_keys(plan.results)  # a resumed run starts where it stopped
    tally = Tally(completed=sum(1 for c in cells if c.key in done), total=len(cells))
    with library_output_to(plan.log):
        if not console.is_terminal:
            return run(plan, lambda row: console.print(tally.add(row), highlight=False))
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[tally]}"),
            TextColumn("[dim]{task.fields[cell]}"),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(
                f"run {plan.run_dir.name}", total=len(cells), completed=tally.completed, tally="", cell=""
            )

            def on_row(row: ResultRow) -> None:
                tally.add(row)
                progress.update(task, advance=1, tally=tally.counts())

            return run(plan, on_row, lambda cell: progress.update(task, cell=f"started {cell.key}"))


@dataclass
class Tally:
    """Finished cells so far: the matrix's verdicts, and the controls caught."""

    completed: int
    total: int
    verdicts: Counter[str] = field(default_factory=Counter)
    controls: int = 0
    caught: int = 0

    def add(self, row: ResultRow) -> str:
        """Count the row; returns its progress line."""
        self.completed += 1
        if row.control:
            self.controls += 1
            self.caught += row.verdict == Outcome.FAIL
        else:
            self.verdicts[row.verdict.value] += 1
        return f"[{self.completed}/{self.total}] {row.verdict.value} {row.key}" + (" (control)" if row.control else "")

    def counts(self) -> str:
        matrix = " ".join(f"{k} {v}" for k, v in sorted(self.verdicts.items()))
        return matrix + (f" · controls caught {self.caught}/{self.controls}" if self.controls else "")


@contextlib.contextmanager
def library_output_to(log: Path) -> Iterator[None]:
    """Warnings and log records of libraries in this process go to the run's log while the block runs (the
    workers send theirs there too): the console keeps the harness's own output."""
    log.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers[:] = [handler]
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.handlers[:] = saved
        handler.close()
