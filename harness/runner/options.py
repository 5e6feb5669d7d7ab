"""What a run is asked to do, in one object: the command line builds it, the runner, the nightly job and the
tests pass it around."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.vocab import FRAMEWORKS, RECORD_MODES, REFERENCE_MODEL, ROUTES, WORLDS, RecordMode, WorldName


@dataclass(frozen=True)
class RunOptions:
    scenarios: tuple[Path, ...] = (Path("scenarios"),)  # files or directories
    frameworks: tuple[str, ...] = FRAMEWORKS
    routes: tuple[str, ...] = ROUTES
    models: tuple[str, ...] = (REFERENCE_MODEL,)
    models_file: Path | None = None  # real models (default: models.yaml when it exists)
    repeat: int = 1  # attempts per cell (pass^k)
    concurrency: int = 2  # cells in flight at once
    world: WorldName = "sandbox"
    record_mode: RecordMode | None = None  # default: none for a replay, else all
    cassettes: Path | None = None  # default: the run's own directory
    run_id: str | None = None  # resume this run (default: a new one)
    runs_dir: Path = Path("runs")
    env_file: Path | None = None  # the live world's .env
    timeout_s: float = 300.0  # per cell conversation
    control_frameworks: tuple[str, ...] = ()  # also run each scenario's negative controls on these frameworks

    @property
    def mode(self) -> RecordMode:
        return self.record_mode or ("none" if self.world == "replay" else "all")

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
        return found
