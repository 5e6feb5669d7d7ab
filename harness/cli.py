"""The ``harness`` command line."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from harness.models import split_names
from harness.runner.options import Executor, RunOptions
from harness.vocab import FRAMEWORKS, ROUTES, RecordMode, WorldName

app = typer.Typer(help="Evaluate AI agents that work on Bitbucket through MCP.", no_args_is_help=True)
sandbox_app = typer.Typer(
    help="The embedded sandbox: emulated Bitbucket and friends on 127.0.0.1.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")
scenarios_app = typer.Typer(help="Scenario files: check them, export their JSON Schema.", no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")
tools_app = typer.Typer(help="MCP tool lists: fetch one, compare it with a snapshot.", no_args_is_help=True)
app.add_typer(tools_app, name="tools")
cassettes_app = typer.Typer(help="Cell cassettes: rewrite older ones in the current form.", no_args_is_help=True)
app.add_typer(cassettes_app, name="cassettes")

STATE_FILE = Path(".sandbox/sandbox.json")


def env_lines(info: dict[str, Any]) -> list[str]:
    """A .env for the sandbox: every variable the live world reads, so that its code runs against the sandbox."""
    from harness.sync.config import SANDBOX_WEBHOOK_SECRET
    from harness.worlds import sandbox_world, world_env

    env = world_env(sandbox_world(info)) | {
        "BITBUCKET_WEBHOOK_SECRET": SANDBOX_WEBHOOK_SECRET,  # harness sync: the secret its webhook signs with
        "SANDBOX_ADMIN_URL": info["urls"]["admin"],
        "SANDBOX_ADMIN_KEY": info["admin_key"],
    }
    return [f"{name}={value}" for name, value in env.items()]


@sandbox_app.command("up")
def sandbox_up(
    fixture: Annotated[Path | None, typer.Option(help="Fixture YAML (default: the built-in world).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Keep state here across restarts.")] = None,
    bitbucket_port: Annotated[int, typer.Option(help="Port for the Bitbucket API (0: a free port).")] = 0,
    admin_port: Annotated[int, typer.Option(help="Port for the admin API (0: a free port).")] = 0,
    composio_port: Annotated[int, typer.Option(help="Port for the Composio Tool Router (0: a free port).")] = 0,
    rovo_port: Annotated[int, typer.Option(help="Port for the Rovo MCP server (0: a free port).")] = 0,
    model_port: Annotated[int, typer.Option(help="Port for the reference model (0: a free port).")] = 0,
    frozen_at: Annotated[str | None, typer.Option(help="Deterministic clock start (ISO timestamp).")] = None,
    env: Annotated[bool, typer.Option("--env", help="Print a .env file instead of JSON.")] = False,
    state_file: Annotated[Path, typer.Option(help="Where `sandbox down` finds this sandbox.")] = STATE_FILE,
    local_model: LocalModelOption = None,
) -> None:
    """Start the sandbox in this process, print its URLs and credentials, and serve until stopped (it stays in
    the foreground: stop it with Ctrl-C, or `harness sandbox down` from another terminal)."""
    from datetime import datetime

    from sandbox.fixtures import default_fixture, load_fixture
    from sandbox.server import SandboxServer, run, start_local_model
    from yamlio import InputError

    if state_file.exists() and _alive(json.loads(state_file.read_text()).get("pid")):
        raise typer.BadParameter(
            f"a sandbox is already running (see {state_file}); stop it with `harness sandbox down`"
        )
    try:
        world = load_fixture(fixture) if fixture else default_fixture()
    except InputError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    import secrets

    sb = SandboxServer(
        world,
        data_dir,
        datetime.fromisoformat(frozen_at) if frozen_at else None,
        {
            "bitbucket": bitbucket_port,
            "admin": admin_port,
            "composio": composio_port,
            "rovo": rovo_port,
            "model": model_port,
        },
        secrets.token_urlsafe(16),
    )
    local = start_local_model(local_model, state_file) if local_model else None
    if local is not None:
        sb.local_model = {"name": local.name, "base_url": local.base_url}
    if env:
        typer.echo("\n".join(env_lines(sb.info())))
        sys.stdout.flush()  # `harness sandbox up --env > .env` keeps serving: the file must have it now
    try:
        run(sb, state_file, announce=not env)
    finally:
        if local is not None:
            local.stop()


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@cassettes_app.command("normalise")
def cassettes_normalise(
    paths: Annotated[list[Path] | None, typer.Argument(help="Cassette files or directories.")] = None,
) -> None:
    """Write cassettes recorded against the sandbox's free ports in the fixed form cells are recorded in now
    (loopback hosts as <party>.loopback.localhost, MCP session and request ids numbered), so that re-recording an
    unchanged cell changes nothing; they replay as before."""
    from harness.recording.cassettes import normalise
    from harness.results import RunDataError

    files = _cassette_files(paths)
    changed = 0
    for file in files:
        try:
            changed += normalise(file)
        except RunDataError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    typer.echo(f"{changed} of {len(files)} cassette(s) rewritten")


@cassettes_app.command("rescore")
def cassettes_rescore(
    paths: Annotated[list[Path] | None, typer.Argument(help="Cassette files or directories.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Say what would change; write nothing.")] = False,
) -> None:
    """Replay each cassette and write the verdict, reasons and counts it gives now into its record, for when the
    harness measures cells better than when they were recorded; the recorded interactions stay as they are. Each
    change is printed (a changed verdict first of all) for review before it is committed. Run from the project
    root: cassettes name their scenario files relative to it."""
    from harness.replay.cassette import rescore
    from harness.results import RunDataError

    files = _cassette_files(paths)
    changed = 0
    for file in files:
        try:
            with _library_output_muted():  # what frameworks log and warn while replaying; the changes are the output
                before, now = rescore(file, Path.cwd(), write=not dry_run)
        except RunDataError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        if now != before:
            changed += 1
            typer.echo(f"{file}:")
            if now.verdict != before.verdict:
                typer.echo(f"  VERDICT {before.verdict.value} -> {now.verdict.value}")
            for name in sorted(set(before.metrics) | set(now.metrics)):
                if before.metrics.get(name) != now.metrics.get(name):
                    typer.echo(f"  {name} {before.metrics.get(name)} -> {now.metrics.get(name)}")
            if now.reasons != before.reasons:
                typer.echo(f"  reasons {before.reasons} -> {now.reasons}")
    typer.echo(f"{changed} of {len(files)} cassette(s) {'would change' if dry_run else 'rescored'}")


@contextlib.contextmanager
def _library_output_muted() -> Iterator[None]:
    """Logging and warnings silenced inside the block, restored after it."""
    import logging
    import warnings

    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def _cassette_files(paths: list[Path] | None) -> list[Path]:
    """The cassettes the paths name (default: cassettes/); exit 2 when there is none."""
    files = sorted(f for p in paths or [Path("cassettes")] for f in ([p] if p.is_file() else p.rglob("*.yaml")))
    if not files:
        typer.echo(f"no cassette under {', '.join(str(p) for p in paths or [Path('cassettes')])}", err=True)
        raise typer.Exit(2)
    return files


@sandbox_app.command("down")
def sandbox_down(state_file: Annotated[Path, typer.Option(help="The state file `up` wrote.")] = STATE_FILE) -> None:
    """Stop the sandbox that `harness sandbox up` started."""
    if not state_file.exists():
        typer.echo(f"no sandbox is running (no {state_file})", err=True)
        raise typer.Exit(1)
    pid = json.loads(state_file.read_text()).get("pid")
    if not _alive(pid):
        state_file.unlink(missing_ok=True)
        typer.echo(f"the sandbox (pid {pid}) had already stopped; removed {state_file}")
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.1)
    state_file.unlink(missing_ok=True)
    typer.echo(f"stopped the sandbox (pid {pid})")


@scenarios_app.command("check")
def scenarios_check(paths: Annotated[list[Path], typer.Argument(help="Scenario files or directories.")]) -> None:
    """Validate scenario files; every problem is printed as file:line: field: message."""
    from harness.scenarios import load_scenarios
    from yamlio import InputError

    try:
        scenarios = load_scenarios(paths)
    except InputError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{len(scenarios)} scenarios ok: {', '.join(s.id for s in scenarios)}")


@scenarios_app.command("schema")
def scenarios_schema() -> None:
    """Print the scenario format as JSON Schema (for editors' YAML validation)."""
    from harness.scenarios import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


# Options shared by `run` and `nightly`.
ScenariosOption = Annotated[list[Path] | None, typer.Option("--scenarios", "-s", help="Scenario files or directories.")]
FrameworksOption = Annotated[str, typer.Option(help="Comma-separated framework variants.")]
PathsOption = Annotated[str, typer.Option(help="Comma-separated MCP routes (composio, rovo).")]
ModelOption = Annotated[
    list[str] | None,
    typer.Option(
        "--model", "-m", help="Model names, comma-separated or repeated (built-in sandbox-* or from --models)."
    ),
]
LocalModelOption = Annotated[
    str | None,
    typer.Option(
        help="Also serve this local model beside the sandbox (qwen2.5-coder-1.5b or qwen2.5-coder-0.5b; "
        "the local-model extra); -m defaults to it."
    ),
]
ModelsFileOption = Annotated[
    Path | None, typer.Option("--models", help="A models file of real models (default: models.yaml if it exists).")
]
RepeatOption = Annotated[int, typer.Option(min=1, help="Attempts per cell (pass^k).")]
ConcurrencyOption = Annotated[int, typer.Option(min=1, help="Cells in flight at once.")]
WorldOption = Annotated[str, typer.Option(help="sandbox (embedded), live (.env), or replay (cassettes only).")]
RecordModeOption = Annotated[
    str | None, typer.Option(help="none|once|new_episodes|all (default: all, or none for replay).")
]
CassettesOption = Annotated[Path | None, typer.Option(help="Cassette directory (default: the run's own).")]
RunsDirOption = Annotated[Path, typer.Option(help="Where runs are written.")]
EnvFileOption = Annotated[Path | None, typer.Option(help="A .env for the live world.")]
TimeoutOption = Annotated[float, typer.Option(help="Seconds per cell conversation.")]
ControlsOption = Annotated[
    str,
    typer.Option(
        help="Also run each scenario's negative controls on these comma-separated frameworks (e.g. pydantic-ai)."
    ),
]
ExecutorOption = Annotated[
    str, typer.Option(help="local: a process pool here; dask: a Dask cluster (--scheduler, or a local one).")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(help="The Dask scheduler's address, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster here)."),
]
CapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cap",
        help="PROVIDER=N: at most N cells in flight on the provider across the Dask cluster; repeatable. "
        "Providers: model, composio, rovo, bitbucket, model:<name>.",
    ),
]
ReportsDirOption = Annotated[Path, typer.Option(help="Where reports are written (reports/<run-id>/report.html).")]
PricesOption = Annotated[
    Path | None, typer.Option(help="Price table for the cost estimate (default: harness/report/prices.yaml).")
]
ALL_FRAMEWORKS = ",".join(FRAMEWORKS)
ALL_ROUTES = ",".join(ROUTES)


# command-line parameter -> RunOptions field
_OPTION_FIELDS = {
    "scenarios": "scenarios",
    "frameworks": "frameworks",
    "paths": "routes",
    "model": "models",
    "models_file": "models_file",
    "local_model": "local_model",
    "repeat": "repeat",
    "concurrency": "concurrency",
    "world": "world",
    "record_mode": "record_mode",
    "cassettes": "cassettes",
    "runs_dir": "runs_dir",
    "env_file": "env_file",
    "timeout": "timeout_s",
    "controls": "control_frameworks",
    "shard": "shard",
}


def _options(ctx: typer.Context, run_id: str, resume: bool = False) -> RunOptions:
    """The run's options from the command line (``ctx.params``). Resuming takes the run's own matrix; an option
    named on the command line that differs from it, or anything else wrong, is one message naming each option."""
    p = ctx.params
    options = RunOptions(
        scenarios=tuple(p["scenarios"] or [Path("scenarios")]),
        frameworks=_csv(p["frameworks"]),
        routes=_csv(p["paths"]),
        models=tuple(split_names(p["model"] or ([p["local_model"]] if p["local_model"] else None))),
        models_file=p["models_file"],
        local_model=p["local_model"],
        repeat=p["repeat"],
        concurrency=p["concurrency"],
        world=cast(WorldName, p["world"]),  # checked by problems() below
        record_mode=cast(RecordMode | None, p["record_mode"]),
        cassettes=p["cassettes"],
        run_id=run_id,
        runs_dir=p["runs_dir"],
        env_file=p["env_file"],
        timeout_s=p["timeout"],
        control_frameworks=_csv(p["controls"]),
        shard=p.get("shard"),
        executor=cast(Executor, p["executor"]),  # checked by problems() below
        scheduler=p["scheduler"],
        caps=_caps(p["cap"] or []),
    )
    if resume:
        given = {field for name, field in _OPTION_FIELDS.items() if _given(ctx, name)}
        try:
            options = options.resumed(options.runs_dir / run_id, given)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--run-id") from None
    problems = options.problems()
    if problems:
        raise typer.BadParameter("; ".join(problems))
    return options


def _caps(values: list[str]) -> tuple[tuple[str, int], ...]:
    from harness.runner.caps import parse_cap

    try:
        return tuple(parse_cap(v) for v in values)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the command line named this option (rather than its default standing)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _fresh_run_id(runs_dir: Path) -> str:
    """A new run's id: the time, to the second (two runs within a second must not share a directory)."""
    from harness.runner.run import new_run_id

    run_id = new_run_id()
    while (runs_dir / run_id).exists():
        time.sleep(1)
        run_id = new_run_id()
    return run_id


def _start_run(options: RunOptions) -> int:
    from harness.runner.session import execute_run

    return execute_run(options)


def _render(
    run: str | Path,
    baseline: str | Path | None,
    runs_dir: Path,
    reports_dir: Path,
    prices: Path | None,
    show_code: bool = False,
) -> Path:
    """Render a report; a missing or broken run or price table is a message and exit code 2, not a traceback."""
    from harness.report import ReportError, RunDataError, render_report
    from yamlio import InputError

    try:
        rendered = render_report(
            run, baseline=baseline, runs_dir=runs_dir, reports_dir=reports_dir, prices=prices, show_code=show_code
        )
    except (RunDataError, ReportError, InputError) as exc:
        typer.echo(f"report: {exc}", err=True)
        raise typer.Exit(2) from None
    return rendered.html


@app.command("run")
def run_command(
    ctx: typer.Context,
    scenarios: ScenariosOption = None,
    frameworks: FrameworksOption = ALL_FRAMEWORKS,
    paths: PathsOption = ALL_ROUTES,
    model: ModelOption = None,
    models_file: ModelsFileOption = None,
    local_model: LocalModelOption = None,
    repeat: RepeatOption = 1,
    concurrency: ConcurrencyOption = 2,
    world: WorldOption = "sandbox",
    record_mode: RecordModeOption = None,
    cassettes: CassettesOption = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            help="Resume this run: its finished cells are kept, the rest run, with the options it was started with."
        ),
    ] = None,
    new_run_id: Annotated[str | None, typer.Option(help="The id of a new run (default: the time).")] = None,
    runs_dir: RunsDirOption = Path("runs"),
    env_file: EnvFileOption = None,
    timeout: TimeoutOption = 300.0,
    controls: ControlsOption = "",
    shard: Annotated[
        str | None,
        typer.Option(help="K/N: run only the K-th of N shards of the matrix (merge them with `harness merge`)."),
    ] = None,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    cap: CapOption = None,
    report: Annotated[bool, typer.Option(help="Render the run's HTML report at the end and print its path.")] = True,
    baseline: Annotated[str | None, typer.Option(help="An earlier run the report compares with.")] = None,
    reports_dir: ReportsDirOption = Path("reports"),
    prices: PricesOption = None,
    junit_xml: Annotated[Path | None, typer.Option(help="Also write the results as JUnit XML (for any CI).")] = None,
) -> None:
    """Run scenarios x frameworks x paths x models; write runs/<run-id>/results.jsonl and transcripts, then the
    report (reports/<run-id>/report.html, whose path is the last line printed)."""
    if run_id and new_run_id:
        raise typer.BadParameter("give --run-id (resume a run) or --new-run-id (start one), not both")
    run_id = run_id or new_run_id or _fresh_run_id(runs_dir)
    code = _start_run(_options(ctx, run_id, resume=new_run_id is None and ctx.params["run_id"] is not None))
    if code == 0 and junit_xml:
        from harness.report.junit import write_junit

        write_junit(runs_dir / run_id, junit_xml)
    if code == 0 and report:
        typer.echo(f"rendering the report of {run_id} ...", err=True)
        typer.echo(_render(runs_dir / run_id, baseline, runs_dir, reports_dir, prices))
    raise typer.Exit(code)


@app.command("merge")
def merge_command(
    runs: Annotated[list[str], typer.Argument(help="Shard runs: directories, or run ids under --runs-dir.")],
    into: Annotated[
        str | None, typer.Option(help="The merged run: a new one, or an earlier merge to add to (default: new).")
    ] = None,
    runs_dir: Annotated[Path, typer.Option(help="Where run ids are looked up and a new merged run goes.")] = Path(
        "runs"
    ),
) -> None:
    """Merge the shards of a matrix (`harness run --shard K/N`) into one run: rows, transcripts and cassettes.
    Refuses runs of different matrices, harness versions or scenarios, and runs that share a cell."""
    from harness.runner.merge import MergeError, merge_runs

    target = _run_dir(into, runs_dir) if into else runs_dir / _fresh_run_id(runs_dir)
    try:
        merged = merge_runs([_run_dir(r, runs_dir) for r in runs], target)
    except MergeError as exc:
        typer.echo(f"merge: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"merged {merged.added} rows of {merged.runs} runs into {merged.run_dir}; run any cell no shard finished "
        f"with: harness run --run-id {merged.run_dir.name} --runs-dir {merged.run_dir.parent}",
        err=True,
    )
    typer.echo(merged.run_dir)


def _run_dir(name: str, runs_dir: Path) -> Path:
    """A run named by its directory, or by its id under ``runs_dir``."""
    return Path(name) if Path(name).is_dir() or "/" in name else runs_dir / name


@app.command("report")
def report_command(
    run: Annotated[str, typer.Argument(help="A run directory, or a run id under --runs-dir.")],
    baseline: Annotated[str | None, typer.Option(help="An earlier run to compare with (directory or run id).")] = None,
    runs_dir: Annotated[Path, typer.Option(help="Where run ids are looked up.")] = Path("runs"),
    reports_dir: ReportsDirOption = Path("reports"),
    prices: PricesOption = None,
    show_code: Annotated[bool, typer.Option(help="Keep the notebook's code in the HTML (hidden by default).")] = False,
) -> None:
    """Render a run's report with papermill: reports/<run-id>/report.ipynb and a standalone report.html (whose
    path is printed); reports/index.html lists every report."""
    typer.echo(_render(run, baseline, runs_dir, reports_dir, prices, show_code))


@app.command("nightly")
def nightly_command(
    ctx: typer.Context,
    runs_dir: RunsDirOption = Path("runs"),
    reports_dir: ReportsDirOption = Path("reports"),
    scenarios: ScenariosOption = None,
    frameworks: FrameworksOption = ALL_FRAMEWORKS,
    paths: PathsOption = ALL_ROUTES,
    model: ModelOption = None,
    models_file: ModelsFileOption = None,
    local_model: LocalModelOption = None,
    repeat: RepeatOption = 1,
    concurrency: ConcurrencyOption = 2,
    world: WorldOption = "sandbox",
    record_mode: RecordModeOption = None,
    cassettes: CassettesOption = None,
    env_file: EnvFileOption = None,
    timeout: TimeoutOption = 300.0,
    controls: ControlsOption = "pydantic-ai",
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    cap: CapOption = None,
    prices: PricesOption = None,
) -> None:
    """A new run of the full matrix (with the negative controls), its report against the most recent previous
    run, and reports/index.html updated; prints the report's path last."""
    from harness.report import latest_run

    baseline = latest_run(runs_dir)  # chosen before the new run exists: the previous run with results
    run_id = _fresh_run_id(runs_dir)
    options = _options(ctx, run_id)
    typer.echo(f"nightly run {run_id}; baseline: {baseline.name if baseline else 'none (first run)'}", err=True)
    code = _start_run(options)
    if code:
        raise typer.Exit(code)
    typer.echo(f"rendering the report of {run_id} against {baseline.name if baseline else 'no baseline'} ...", err=True)
    typer.echo(_render(runs_dir / run_id, baseline, runs_dir, reports_dir, prices))


@app.command("doctor")
def doctor(
    env_file: Annotated[Path | None, typer.Option(help="A .env to check with the environment.")] = None,
    models_file: ModelsFileOption = None,
    model: ModelOption = None,
    world: Annotated[
        str, typer.Option(help="live (the default) checks the live configuration too; sandbox only the models.")
    ] = "live",
) -> None:
    """Check a world's configuration and the models file: every variable, every model named (default: all
    declared) and whether its endpoint answers. Nothing else is called."""
    from harness.models import load_models
    from harness.runner.session import check_models
    from harness.worlds import LIVE_OPTIONAL, ConfigError, live_world, load_env
    from yamlio import InputError

    try:
        env = load_env(env_file)
        catalog = load_models(models_file)
        names = split_names(model) if model else list(catalog.declared)
        check_models(catalog, names, env, world)
        config = live_world(env, catalog) if world == "live" else None
    except (ConfigError, InputError) as exc:
        typer.echo(f"not ready: {exc}", err=True)
        raise typer.Exit(1) from None
    if catalog.declared:
        typer.echo(
            f"models file {catalog.source}: "
            + ", ".join(
                f"{spec.name} ({spec.api} at {spec.host}{', checked' if spec.name in names else ''})"
                for spec in catalog.declared.values()
            )
        )
    if config is None:
        return
    routes = ", ".join(f"{name} {route.url}" for name, route in config.routes.items())
    typer.echo(
        f"live world ready: Bitbucket {config.oracle.api_url} (workspace {config.oracle.workspace}), "
        f"{routes}, default model provider {config.model.base_url}"
    )
    typer.echo("scope profiles: " + ", ".join(f"{name} {route.profiles()}" for name, route in config.routes.items()))
    for name, why in LIVE_OPTIONAL.items():
        if not env.get(name):
            typer.echo(f"  optional, not set: {name} ({why})")


def _headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(f"--header {value!r}: expected 'Name: value'")
        headers[name.strip()] = content.strip()
    return headers


@tools_app.command("list")
def tools_list(
    url: Annotated[str, typer.Option(help="The MCP endpoint (streamable HTTP).")],
    header: Annotated[list[str] | None, typer.Option("--header", "-H", help="'Name: value', repeatable.")] = None,
    header_env: Annotated[
        list[str] | None,
        typer.Option(
            help="'Name=ENV_VAR': a header whose value is read from the environment (keeps keys off the command line)."
        ),
    ] = None,
    against: Annotated[Path | None, typer.Option(help="A snapshot to compare with; exit 1 on drift.")] = None,
) -> None:
    """Print a server's tools/list, normalised as the sandbox's snapshots are (or its drift from one)."""
    import asyncio

    from harness import tool_lists

    headers = _headers(header or [])
    for item in header_env or []:
        name, _, var = item.partition("=")
        if var not in os.environ:
            raise typer.BadParameter(f"--header-env {item!r}: ${var} is not set")
        headers[name] = os.environ[var]
    tools = asyncio.run(tool_lists.fetch_tools(url, headers))
    if against is None:
        typer.echo(tool_lists.dumps(tools), nl=False)
        return
    try:
        reference = tool_lists.load(against)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    found = tool_lists.drift(reference, tools)
    typer.echo("\n".join(found.lines()))
    raise typer.Exit(0 if found.none else 1)


# sync: suites as code in Bitbucket -------------------------------------------------------------------------------
sync_app = typer.Typer(
    help="Suites as code in Bitbucket: two-way sync over an OAuth consumer, signed push webhooks, results on the "
    "commit.",
    no_args_is_help=True,
)
app.add_typer(sync_app, name="sync")
RepoOption = Annotated[str, typer.Option("--repo", help="The sync repository, WORKSPACE/REPO_SLUG.")]
SyncDbOption = Annotated[
    Path | None, typer.Option("--db", help="The sync database (default: $HARNESS_SYNC_DB or .harness/sync.db).")
]
SyncEnvOption = Annotated[
    Path | None, typer.Option(help="A .env with the BITBUCKET_* variables (`harness sandbox up --env` writes one).")
]
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8787/api/bitbucket/webhook"


def _stop(exc: Exception, code: int) -> typer.Exit:
    typer.echo(str(exc), err=True)
    return typer.Exit(code)


@sync_app.command("connect")
def sync_connect(
    repo: RepoOption,
    branch: Annotated[str | None, typer.Option(help="The branch to sync (default: the main branch).")] = None,
    webhook_url: Annotated[
        str, typer.Option(help="Where Bitbucket delivers pushes: `harness sync serve`'s public URL.")
    ] = DEFAULT_WEBHOOK_URL,
    webhook: Annotated[bool, typer.Option(help="Register the push webhook (--no-webhook: added by hand).")] = True,
    env_file: SyncEnvOption = None,
    db: SyncDbOption = None,
) -> None:
    """Test the connection (workspace, OAuth consumer, repository, permissions, branch) and register the
    repository's push webhook, signed with BITBUCKET_WEBHOOK_SECRET."""
    import asyncio

    from harness.sync.config import open_sync
    from harness.sync.connect import SyncProblem, connect
    from harness.worlds import ConfigError

    try:
        config, store = open_sync(env_file, db)
        connection, checked = asyncio.run(connect(config, repo, branch, webhook_url if webhook else None, store))
    except ConfigError as exc:
        raise _stop(exc, 2) from None
    except SyncProblem as exc:
        raise _stop(exc, 1) from None
    typer.echo(f"connection ok: {connection.repository} @ {connection.branch} (head {checked.head[:12]})")
    if connection.webhook_uuid:
        typer.echo(f"push webhook {connection.webhook_uuid} -> {connection.webhook_url} (repo:push, signed)")


@sync_app.command("import")
def sync_import(
    scenarios: Annotated[Path | None, typer.Option(help="The scenario library.")] = Path("scenarios"),
    models: Annotated[Path | None, typer.Option(help="A models file (models: [{name, base_url, ...}]).")] = None,
    skills: Annotated[Path | None, typer.Option(help="A directory of skills (each with its SKILL.md).")] = None,
    builtin: Annotated[bool, typer.Option(help="The harness's own MCP servers, clients, toolkits, skill.")] = True,
    tool_list: Annotated[
        list[str] | None,
        typer.Option(help="SERVER=FILE: an MCP server's tools from a `harness tools list` snapshot; repeatable."),
    ] = None,
    env_file: SyncEnvOption = None,
    db: SyncDbOption = None,
) -> None:
    """Read the project's entities into the sync database; changed ones wait for `harness sync push`."""
    from harness.sync.config import open_store
    from harness.sync.library import read_library
    from harness.worlds import ConfigError

    lists = {}
    for item in tool_list or []:
        name, sep, file = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--tool-list {item!r}: expected SERVER=FILE")
        lists[name] = Path(file)
    try:
        config, store = open_store(env_file, db)
        library = read_library(scenarios, models, skills, builtin, lists, config.secrets() if config else ())
    except ConfigError as exc:
        raise _stop(exc, 2) from None
    except ValueError as exc:  # an unreadable tool list
        raise _stop(exc, 1) from None
    with store.transaction():
        changed = [e for e in library.entities if store.save_local(e)]
    for entity in changed:
        typer.echo(f"  changed  {entity.kind} {entity.slug}")
    typer.echo(f"imported {len(library.entities)} entities: {len(changed)} changed (run `harness sync push`)")
    for problem in library.problems:
        typer.echo(f"not imported: {problem}", err=True)
    if library.problems:
        raise typer.Exit(1)


@sync_app.command("push")
def sync_push(repo: RepoOption, env_file: SyncEnvOption = None, db: SyncDbOption = None) -> None:
    """Database -> Bitbucket: one commit per changed entity, through the REST src endpoint."""
    import asyncio

    from harness.sync.config import open_sync
    from harness.sync.connect import SyncProblem, connected
    from harness.sync.push import push
    from harness.worlds import ConfigError

    try:
        config, store = open_sync(env_file, db)
        connection = connected(store, repo)
        result = asyncio.run(push(config, store, connection))
    except ConfigError as exc:
        raise _stop(exc, 2) from None
    except SyncProblem as exc:
        raise _stop(exc, 1) from None
    typer.echo("\n".join(result.lines(connection)))


@sync_app.command("serve")
def sync_serve(
    repo: RepoOption,
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one, printed).")] = 8787,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    public_url: Annotated[
        str | None, typer.Option(help="How Bitbucket and people reach this server (links to reports).")
    ] = None,
    runs: Annotated[bool, typer.Option(help="Run what a push changed and post results on its commit.")] = True,
    frameworks: FrameworksOption = ALL_FRAMEWORKS,
    paths: PathsOption = ALL_ROUTES,
    model: ModelOption = None,
    world: WorldOption = "sandbox",
    timeout: TimeoutOption = 300.0,
    runs_dir: RunsDirOption = Path("runs"),
    reports_dir: ReportsDirOption = Path("reports"),
    report: Annotated[bool, typer.Option(help="Render each run's HTML report (else link its summary).")] = True,
    env_file: SyncEnvOption = None,
    db: SyncDbOption = None,
) -> None:
    """The push webhook's receiver: verifies X-Hub-Signature, applies each delivery once, records errors per
    entity, and runs what a push changed (on this matrix), posting a build status and a Code Insights report on
    the pushed commit."""
    from harness.sync.bitbucket import Bitbucket
    from harness.sync.config import open_sync
    from harness.sync.connect import SyncProblem, connected
    from harness.sync.receiver import WEBHOOK_PATH, Receiver, bind, run_server
    from harness.sync.runs import Matrix, RunQueue
    from harness.worlds import ConfigError

    try:
        config, store = open_sync(env_file, db)
        connection = connected(store, repo)
    except ConfigError as exc:
        raise _stop(exc, 2) from None
    except SyncProblem as exc:
        raise _stop(exc, 1) from None
    models = tuple(split_names(model))
    matrix = Matrix(_csv(frameworks), _csv(paths), models, world, env_file, timeout, runs_dir, reports_dir, report)
    problems = matrix.options(Path("scenarios"), "check").problems()
    if problems:
        raise typer.BadParameter("; ".join(problems))
    sock, base = bind(host, port)
    queue = RunQueue(store, Bitbucket(config, connection.repository), matrix, public_url or base) if runs else None
    typer.echo(f"listening on {base}{WEBHOOK_PATH} for pushes to {connection.repository} @ {connection.branch}")
    run_server(Receiver(config, store, connection, queue), sock)


@sync_app.command("status")
def sync_status(env_file: SyncEnvOption = None, db: SyncDbOption = None) -> None:
    """Every entity, its last synced commit, and its error (code, message) marked clearly; exit 1 on errors."""
    from harness.sync.config import open_store
    from harness.sync.status import status_lines
    from harness.worlds import ConfigError

    try:
        _, store = open_store(env_file, db)
    except ConfigError as exc:
        raise _stop(exc, 2) from None
    records = store.records()
    typer.echo("\n".join(status_lines(store.connection(), records)))
    if any(r.git_integration for r in records):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
