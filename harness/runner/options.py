"""What a run is asked to do, in one object: the command line builds it, the runner, the nightly job and the
tests pass it around. A run keeps the options that define its matrix in ``runs/<id>/run.json``: resuming it takes
them from there, and resuming with other ones is refused with the difference named."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from harness.runner.caps import UNKNOWN, is_provider
from harness.runner.shards import Shard
from harness.vocab import FRAMEWORKS, RECORD_MODES, REFERENCE_MODEL, ROUTES, WORLDS, RecordMode, WorldName


@dataclass(frozen=True)
class RunOptions:
    scenarios: tuple[Path, ...] = (Path("scenarios"),)  # files or directories
    frameworks: tuple[str, ...] = FRAMEWORKS
    routes: tuple[str, ...] = ROUTES
    models: tuple[str, ...] = (REFERENCE_MODEL,)
    models_file: Path | None = None  # real models (default: models.yaml when it exists)
    local_model: str | None = None  # a local model the sandbox serves beside itself (sandbox.model.local)
    repeat: int = 1  # attempts per cell (pass^k)
    concurrency: int = 2  # cells in flight at once
    world: WorldName = "sandbox"
    record_mode: RecordMode | None = None  # default: none for a replay, else all
    cassettes: Path | None = None  # default: the run's own directory
    run_id: str | None = None  # the run's id (default: a new one, from the time)
    resume: bool = False  # continue run_id, which must exist, with its own options
    runs_dir: Path = Path("runs")
    env_file: Path | None = None  # the live world's .env
    timeout_s: float = 300.0  # per cell conversation
    control_frameworks: tuple[str, ...] = ()  # also run each scenario's negative controls on these frameworks
    shard: str | None = None  # "K/N": this run holds the K-th of N shards of the matrix (harness.runner.shards)
    executor: Executor = "local"  # local: a process pool here; dask: a Dask cluster (harness.runner.cluster)
    scheduler: str | None = None  # the Dask scheduler's address (default: a LocalCluster of `concurrency` workers)
    caps: tuple[tuple[str, int], ...] = ()  # cluster-wide cells in flight per provider (harness.runner.cluster)

    @property
    def mode(self) -> RecordMode:
        return self.record_mode or ("none" if self.world == "replay" else "all")

    def identity(self) -> dict[str, Any]:
        """The options that define the run's matrix, as ``run.json`` keeps them."""
        return {name: _plain(getattr(self, name)) for name in IDENTITY} | {"record_mode": self.mode}

    def settings(self) -> dict[str, Any]:
        """How the run was driven, as ``run.json`` keeps it: a resume reuses these unless told otherwise."""
        return {name: getattr(self, name) for name in SETTINGS}

    def save(self, run_dir: Path, scenarios: Mapping[str, str] | None = None) -> None:
        """``run.json``: the matrix's options, how it was driven, the harness's version and each scenario's digest
        (id -> digest), which tell whether shards of a matrix can be merged."""
        from harness import __version__

        run_dir.mkdir(parents=True, exist_ok=True)
        stored = {
            "options": self.identity(),
            "settings": self.settings(),
            "harness": __version__,
            "scenarios": dict(scenarios or {}),
        }
        (run_dir / RUN_FILE).write_text(json.dumps(stored, indent=2) + "\n")

    def resumed(self, run_dir: Path, given: Collection[str] = ()) -> RunOptions:
        """These options with the matrix of the run in ``run_dir``; ValueError when the run does not exist or an
        option in ``given`` (named on the command line) differs from the run's."""
        stored = stored_identity(run_dir)
        mine = self.identity()
        differ = [
            f"--{flag_of(name)}: the run has {stored[name]!r}, not {mine[name]!r}"
            for name in sorted(given)
            if name in IDENTITY and name in stored and stored[name] != mine[name]
        ]
        if differ:
            raise ValueError(
                f"run {run_dir.name} was started with other options; resume it without them, or start a "
                "new run:\n  " + "\n  ".join(differ)
            )
        kept = {name: _typed(name, stored[name]) for name in IDENTITY if name in stored}
        kept |= {name: value for name, value in stored_settings(run_dir).items() if name not in given}
        return replace(self, **kept, resume=True)

    def problems(self) -> list[str]:
        """What is wrong with these options, each naming the option at fault."""
        found = [
            f"--frameworks: unknown {f!r}; choose from {', '.join(FRAMEWORKS)}"
            for f in (*self.frameworks, *self.control_frameworks)
            if f not in FRAMEWORKS
        ]
        found += [f"--paths: unknown {r!r}; choose from {', '.join(ROUTES)}" for r in self.routes if r not in ROUTES]
        if not self.frameworks or not self.routes or not self.models:
            found.append("the matrix is empty: give at least one framework, path and model")
        if self.world not in WORLDS:
            found.append(f"--world {self.world!r}: choose {', '.join(WORLDS)}")
        if self.mode not in RECORD_MODES:
            found.append(f"--record-mode {self.mode!r}: choose from {', '.join(RECORD_MODES)}")
        if self.world == "replay" and self.cassettes is None:
            found.append("--world replay needs --cassettes (the directory that holds the recordings)")
        if self.shard is not None:
            try:
                Shard.parse(self.shard)
            except ValueError as exc:
                found.append(str(exc))
        if self.executor not in EXECUTORS:
            found.append(f"--executor {self.executor!r}: choose from {', '.join(EXECUTORS)}")
        if self.executor != "dask" and (self.scheduler or self.caps):
            found.append("--scheduler and --cap need --executor dask (the local pool's --concurrency bounds it)")
        found += [f"--cap {name}={n}: a cap is at least 1" for name, n in self.caps if n < 1]
        found += [f"--cap {name}={n}: {UNKNOWN}" for name, n in self.caps if not is_provider(name)]
        return found


Executor = Literal["local", "dask"]
EXECUTORS: tuple[Executor, ...] = ("local", "dask")
RUN_FILE = "run.json"
IDENTITY = (
    "scenarios",
    "frameworks",
    "routes",
    "models",
    "models_file",
    "local_model",
    "repeat",
    "world",
    "record_mode",
    "cassettes",
    "control_frameworks",
    "shard",
)
# Not the matrix, but how it was driven: a resume keeps them (a run started with a long timeout for a slow model
# resumes with it) unless the command line names them again.
SETTINGS = ("timeout_s", "concurrency")
_FLAGS = {"routes": "paths", "models": "model", "models_file": "models", "control_frameworks": "controls"}


def stored_identity(run_dir: Path) -> dict[str, Any]:
    """The options a run was started with; ValueError naming what is missing."""
    return dict(stored_run(run_dir).get("options", {}))


def stored_run(run_dir: Path) -> dict[str, Any]:
    """A run's ``run.json`` (options, harness version, scenario digests); ValueError naming what is missing."""
    path = run_dir / RUN_FILE
    if not path.is_file():
        if (run_dir / "results.jsonl").is_file():  # a run from before runs kept their options
            return {"options": {}}
        raise ValueError(
            f"no run {run_dir.name} under {run_dir.parent}/ (no {RUN_FILE}); omit --run-id to start a new run"
        )
    try:
        stored: dict[str, Any] = json.loads(path.read_text())
        return stored | {"options": dict(stored["options"])}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a run's options ({exc})") from None


def stored_settings(run_dir: Path) -> dict[str, Any]:
    """The settings a run was started with (none for a run from before runs kept them)."""
    try:
        saved = json.loads((run_dir / RUN_FILE).read_text()).get("settings") or {}
    except (OSError, json.JSONDecodeError, AttributeError):
        return {}
    return {name: saved[name] for name in SETTINGS if name in saved}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def _typed(name: str, value: Any) -> Any:
    kind = {f.name: str(f.type) for f in fields(RunOptions)}[name]
    if isinstance(value, list):
        return tuple(Path(v) for v in value) if "Path" in kind else tuple(value)
    return Path(value) if value is not None and "Path" in kind else value


def flag_of(name: str) -> str:
    return _FLAGS.get(name, name.replace("_", "-"))
