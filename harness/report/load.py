"""A run directory as a pandas DataFrame: one row per cell attempt, every column present whatever the row format.

Rows written by older versions of the runner lack some fields (``tags``, ``control``, ``tools``,
``destructive_calls``); they get a neutral value here (``control`` is derived from the model name) so that the
report's code never has to ask whether a column exists. A file that cannot be read is a :class:`RunDataError`
whose message names the file and line at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.results import LATER_FIELDS, RESULTS_FILE, ResultRow, RunDataError, read_rows_with_raw
from harness.vocab import OK_OUTCOMES, Outcome

__all__ = ["RunData", "RunDataError", "latest_run", "load_results", "load_run", "resolve_run"]

NUMERIC = (
    "attempt",
    "turns",
    "model_calls",
    "tool_calls",
    "tool_errors",
    "input_tokens",
    "output_tokens",
    "wall_ms",
    "first_token_ms",
    "duration_s",
    "destructive_calls",
)


@dataclass
class RunData:
    dir: Path
    results: pd.DataFrame
    notes: list[str] = field(default_factory=list)  # problems worth showing in the report (not fatal)

    @property
    def run_id(self) -> str:
        ids = self.results["run_id"].dropna().unique()
        return str(ids[0]) if len(ids) == 1 else self.dir.name


def default_runs_dir() -> Path:
    """``runs/`` of the working directory, else the project's (a notebook's kernel runs in ``notebooks/``)."""
    here = Path("runs")
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "runs"


def latest_run(runs_dir: Path | None = None, exclude: tuple[str, ...] = ()) -> Path | None:
    """The run whose results file was written last (runs without one, or with an empty one, are skipped)."""
    found = [
        p
        for p in (runs_dir or default_runs_dir()).glob(f"*/{RESULTS_FILE}")
        if p.parent.name not in exclude and p.stat().st_size
    ]
    return max(found, key=lambda p: p.stat().st_mtime).parent if found else None


def resolve_run(run: str | Path | None, runs_dir: Path | None = None) -> Path:
    """A run given as a directory, as a run id under ``runs_dir``, or None for the latest run there."""
    runs_dir = runs_dir or default_runs_dir()
    if run is None:
        found = latest_run(runs_dir)
        if found is None:
            raise RunDataError(f"no run under {runs_dir}/ has a results.jsonl yet (run `harness run` first)")
        return found
    candidates = [Path(run)] + ([runs_dir / str(run)] if not Path(run).is_absolute() else [])
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise RunDataError(f"no run directory {run!s} (looked for {' and '.join(str(c) for c in candidates)})")


def read_run_rows(results: Path) -> tuple[list[ResultRow], set[str]]:
    """The rows of a finished run's ``results.jsonl`` and the later fields none of them has (an older runner);
    a missing or empty file, or a line that is not a complete row, is an error naming ``file:line``."""
    if not results.is_file():
        raise RunDataError(f"{results}: missing: the run has no results file (has `harness run` written a row yet?)")
    rows, absent = [], set(LATER_FIELDS)
    for row, raw in read_rows_with_raw(results):
        rows.append(row)
        absent &= row.missing_later_fields(raw)
    if not rows:
        raise RunDataError(f"{results}: empty: the run has not finished any cell yet")
    return rows, absent


def load_run(run: str | Path | None, runs_dir: Path | None = None) -> RunData:
    run_dir = resolve_run(run, runs_dir)
    rows, absent = read_run_rows(run_dir / RESULTS_FILE)
    notes = []
    by_key = {r.key: r for r in rows}
    if len(by_key) < len(rows):  # the runner never writes a key twice; if a file does, its last word stands
        notes.append(
            f"{len(rows) - len(by_key)} duplicate row(s) in {run_dir / RESULTS_FILE}: the last of each key is used"
        )
    if absent:
        notes.append(
            f"the rows predate the fields {', '.join(n for n in LATER_FIELDS if n in absent)}: what needs "
            "them shows as empty or n/a"
        )
    frame = _frame(list(by_key.values()), run_dir)
    missing = frame[frame["transcript_missing"]]
    if len(missing):
        notes.append(
            f"{len(missing)} transcript file(s) missing: "
            + ", ".join(str(t or "(none recorded)") for t in missing["transcript"].head(5))
            + (" ..." if len(missing) > 5 else "")
        )
    return RunData(run_dir, frame, notes)


def load_results(run: str | Path | None = None, runs_dir: Path | None = None) -> pd.DataFrame:
    """One row per cell attempt of a run (a directory, a run id under ``runs_dir``, or None for the latest run),
    for notebooks.

    Besides the stored fields: ``stack`` ("framework / path"), ``ok`` (pass or expected-unsupported),
    ``tokens`` (input + output), ``transcript_file`` (the transcript found on disk, or None) and
    ``transcript_missing``.
    """
    return load_run(run, runs_dir).results


TEXT = ("run_id", "world", "record_mode", "started_at", "transcript", "cassette")


def _frame(rows: list[ResultRow], run_dir: Path) -> pd.DataFrame:
    frame = pd.DataFrame([r.model_dump(mode="json", by_alias=True) for r in rows])
    for name in NUMERIC:
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    for name in TEXT:  # object dtype: a missing value stays None (pandas' string dtype would make it NaN)
        frame[name] = pd.Series(list(frame[name]), index=frame.index, dtype=object)
    frame["control"] = frame["control"].astype(bool)
    frame["attempt"] = frame["attempt"].astype(int)
    frame["stack"] = frame["framework"] + " / " + frame["path"]
    frame["ok"] = frame["verdict"].isin(OK_OUTCOMES)
    frame["tokens"] = frame["input_tokens"] + frame["output_tokens"]
    frame["transcript_file"] = pd.Series(
        [_transcript(run_dir, t) for t in frame["transcript"]], index=frame.index, dtype=object
    )
    # an ``error`` row may have no transcript (the cell broke before the conversation); any other row must
    frame["transcript_missing"] = frame["transcript_file"].isna() & (
        frame["transcript"].notna() | frame["verdict"].ne(Outcome.ERROR)
    )
    return frame.sort_values(["control", "scenario", "model", "framework", "path", "attempt"], ignore_index=True)


def _transcript(run_dir: Path, recorded: Any) -> str | None:
    """The transcript on disk: next to the results first (the run directory may have moved), else as recorded."""
    if not isinstance(recorded, str) or not recorded:
        return None
    for candidate in (run_dir / "transcripts" / Path(recorded).name, Path(recorded)):
        if candidate.is_file():
            return str(candidate.resolve())
    return None
