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
    if frame["schema_version"].lt(2).any():
        notes.append(
            "some rows predate the model fields (model_kind, model_host, sampling, failures): their model kind is "
            "told by the model's name and their failures are categorised from the verdict's reasons"
        )
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

    Besides the stored fields: ``stack`` ("framework / path"), ``cell`` (the key without the attempt), ``ok`` (pass
    or expected-unsupported), ``tokens`` (input + output), ``transcript_file`` (the transcript found on disk, or
    None) and ``transcript_missing``. Fields of newer rows are always present: ``model_kind`` ("scripted" for the
    sandbox's built-in models, "real" otherwise; told by the model's name when a row lacks it), ``model_host`` and
    ``upstream_model`` (None when unknown), ``sampling`` (a dict, empty when unknown) and ``failures`` (the failure
    categories found in the transcript; None when the row was not classified).

    The statistics over these rows (Wilson intervals, pass^k with bootstrap intervals, flaky cells, the exact test
    between runs) are in ``harness.report.stats``, and the report's tables in ``harness.report.analysis``.
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
    _model_fields(frame)
    frame["attempt"] = frame["attempt"].astype(int)
    frame["stack"] = frame["framework"] + " / " + frame["path"]
    frame["cell"] = frame["scenario"] + "/" + frame["framework"] + "/" + frame["path"] + "/" + frame["model"]
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


SCRIPTED_PREFIX = "sandbox-"  # the sandbox's built-in models: scripted policies, deterministic


def model_kind(model: str) -> str:
    """What a row without ``model_kind`` ran: "scripted" (a built-in ``sandbox-*`` policy) or "real"."""
    return "scripted" if model.startswith(SCRIPTED_PREFIX) else "real"


def _model_fields(frame: pd.DataFrame) -> None:
    """The fields of rows from schema version 2 on, present in every frame (in place)."""
    versions = pd.to_numeric(frame["schema_version"], errors="coerce").fillna(0).astype(int)
    frame["schema_version"] = versions

    def column(name: str) -> list[Any]:
        return list(frame[name]) if name in frame.columns else [None] * len(frame)

    frame["model_kind"] = [
        kind if isinstance(kind, str) and kind else model_kind(model)
        for kind, model in zip(column("model_kind"), frame["model"], strict=True)
    ]
    for name in ("model_host", "upstream_model"):
        frame[name] = pd.Series(
            [v if isinstance(v, str) else None for v in column(name)], index=frame.index, dtype=object
        )
    frame["sampling"] = pd.Series([v if isinstance(v, dict) else {} for v in column("sampling")], index=frame.index)
    # a classified row carries a list (empty: nothing found); an older row was never classified
    frame["failures"] = pd.Series(
        [
            [str(c) for c in found] if isinstance(found, list) and (found or version >= 2) else None
            for found, version in zip(column("failures"), versions, strict=True)
        ],
        index=frame.index,
        dtype=object,
    )


def _transcript(run_dir: Path, recorded: Any) -> str | None:
    """The transcript on disk: next to the results first (the run directory may have moved), else as recorded."""
    if not isinstance(recorded, str) or not recorded:
        return None
    for candidate in (run_dir / "transcripts" / Path(recorded).name, Path(recorded)):
        if candidate.is_file():
            return str(candidate.resolve())
    return None
