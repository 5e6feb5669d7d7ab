"""A run directory as a pandas DataFrame: one row per cell attempt, every column present whatever the row format.

Rows written by older versions of the runner lack some fields (``tags``, ``control``, ``tools``,
``destructive_calls``); they get a neutral value here (``control`` is derived from the model name) so that the
report's code never has to ask whether a column exists. A file that cannot be read is a :class:`RunDataError`
whose message names the file and line at fault.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

VERDICTS = ("pass", "fail", "error", "expected-unsupported")
OK_VERDICTS = ("pass", "expected-unsupported")  # the agent did the right thing (saying "cannot" is right on Rovo)
REQUIRED = ("key", "scenario", "framework", "path", "model", "verdict")
NUMERIC = ("attempt", "turns", "model_calls", "tool_calls", "tool_errors", "input_tokens", "output_tokens",
           "wall_ms", "first_token_ms", "duration_s", "destructive_calls")
TEXT = ("run_id", "world", "record_mode", "started_at", "transcript", "cassette")
LISTS = ("tags", "reasons", "tools")


def is_control(model: str) -> bool:
    """Whether a model is a negative control, for rows that predate the ``control`` field: every sandbox policy
    but the reference one (``harness.scenarios.schema.CONTROLS``, not imported: it loads the sandbox)."""
    return model.startswith("sandbox-") and model != "sandbox-reference"


class RunDataError(ValueError):
    """A run directory or results file the report cannot use; the message names what is missing or broken."""


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
    found = [p for p in (runs_dir or default_runs_dir()).glob("*/results.jsonl")
             if p.parent.name not in exclude and p.stat().st_size]
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


def read_rows(results: Path) -> list[dict[str, Any]]:
    """The rows of ``results.jsonl``; any line that is not a complete row is an error naming ``file:line``."""
    if not results.is_file():
        raise RunDataError(f"{results}: missing: the run has no results file (has `harness run` written a row "
                           "yet?)")
    rows = []
    for number, line in enumerate(results.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if line.strip():
            rows.append(_row(line, f"{results}:{number}"))
    if not rows:
        raise RunDataError(f"{results}: empty: the run has not finished any cell yet")
    return rows


def _row(line: str, where: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RunDataError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno}); a torn line is what a run "
                           "killed while writing leaves: delete the line and resume the run to redo that cell"
                           ) from None
    if not isinstance(row, dict):
        raise RunDataError(f"{where}: expected a JSON object, found {type(row).__name__}")
    missing = [name for name in REQUIRED if not isinstance(row.get(name), str)]
    if missing:
        raise RunDataError(f"{where}: missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if row["verdict"] not in VERDICTS:
        raise RunDataError(f"{where}: verdict: {row['verdict']!r} is not one of {', '.join(VERDICTS)}")
    return row


def load_run(run: str | Path | None, runs_dir: Path | None = None) -> RunData:
    run_dir = resolve_run(run, runs_dir)
    rows = read_rows(run_dir / "results.jsonl")
    notes = []
    by_key = {r["key"]: r for r in rows}
    if len(by_key) < len(rows):  # the runner never writes a key twice; if a file does, its last word stands
        notes.append(f"{len(rows) - len(by_key)} duplicate row(s) in {run_dir / 'results.jsonl'}: the last of "
                     "each key is used")
    absent = [name for name in ("tags", "control", "tools", "destructive_calls") if all(name not in r for r in rows)]
    if absent:
        notes.append(f"the rows predate the fields {', '.join(absent)}: what needs them shows as empty or n/a")
    frame = _frame(list(by_key.values()), run_dir)
    missing = frame[frame["transcript_missing"]]
    if len(missing):
        notes.append(f"{len(missing)} transcript file(s) missing: "
                     + ", ".join(str(t or "(none recorded)") for t in missing["transcript"].head(5))
                     + (" ..." if len(missing) > 5 else ""))
    return RunData(run_dir, frame, notes)


def load_results(run: str | Path | None = None, runs_dir: Path | None = None) -> pd.DataFrame:
    """One row per cell attempt of a run (a directory, a run id under ``runs_dir``, or None for the latest run),
    for notebooks.

    Besides the stored fields: ``stack`` ("framework / path"), ``ok`` (pass or expected-unsupported),
    ``tokens`` (input + output), ``transcript_file`` (the transcript found on disk, or None) and
    ``transcript_missing``.
    """
    return load_run(run, runs_dir).results


def _frame(rows: list[dict[str, Any]], run_dir: Path) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for name in NUMERIC:
        frame[name] = pd.to_numeric(frame[name], errors="coerce") if name in frame else math.nan
    for name in TEXT:  # object dtype: a missing value stays None (pandas' string dtype would make it NaN)
        values = frame[name] if name in frame else [None] * len(frame)
        frame[name] = pd.Series([v if isinstance(v, str) else None for v in values], index=frame.index, dtype=object)
    for name in LISTS:
        frame[name] = [v if isinstance(v, list) else [] for v in frame[name]] if name in frame else [[]] * len(frame)
    frame["versions"] = [v if isinstance(v, dict) else {} for v in frame.get("versions", [None] * len(frame))]
    if "control" not in frame or frame["control"].isna().any():
        derived = frame["model"].map(is_control)
        frame["control"] = frame["control"].fillna(derived) if "control" in frame else derived
    frame["control"] = frame["control"].astype(bool)
    frame["attempt"] = frame["attempt"].fillna(1).astype(int)
    frame["stack"] = frame["framework"] + " / " + frame["path"]
    frame["ok"] = frame["verdict"].isin(OK_VERDICTS)
    frame["tokens"] = frame["input_tokens"] + frame["output_tokens"]
    frame["transcript_file"] = pd.Series([_transcript(run_dir, t) for t in frame["transcript"]], index=frame.index,
                                         dtype=object)
    # an ``error`` row may have no transcript (the cell broke before the conversation); any other row must
    frame["transcript_missing"] = frame["transcript_file"].isna() & (
        frame["transcript"].notna() | frame["verdict"].ne("error"))
    return frame.sort_values(["control", "scenario", "model", "framework", "path", "attempt"], ignore_index=True)


def _transcript(run_dir: Path, recorded: Any) -> str | None:
    """The transcript on disk: next to the results first (the run directory may have moved), else as recorded."""
    if not isinstance(recorded, str) or not recorded:
        return None
    for candidate in (run_dir / "transcripts" / Path(recorded).name, Path(recorded)):
        if candidate.is_file():
            return str(candidate.resolve())
    return None
