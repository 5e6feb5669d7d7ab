"""``harness merge``: the shards of a matrix (``harness run --shard K/N``) put together into one run directory,
by one writer: their rows in one ``results.jsonl``, their transcripts and (when the runs kept their own) cassettes.

Shards merge only when they are parts of one matrix: the same options but the shard (scenarios, frameworks, paths,
models, repeats, world, record mode, cassettes, controls), the same harness version and the same scenarios (ids and
what each asks); and no cell is in two of them. Anything else is refused before anything is written, naming the
difference. The merged run is an ordinary run of the whole matrix: resuming it runs the cells no shard finished.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.results import RESULTS_FILE, ResultRow, append_row, read_rows
from harness.runner.matrix import Cell
from harness.runner.options import RUN_FILE, flag_of, stored_run

SHOWN = 5  # overlapping cells named in a message


class MergeError(ValueError):
    """Shards that cannot be merged; the message names the runs and what differs."""


@dataclass(frozen=True)
class Merged:
    run_dir: Path
    added: int  # rows
    runs: int


def merge_runs(runs: list[Path], into: Path) -> Merged:
    """Merge ``runs`` into ``into`` (a new run, or an earlier merge to add to); MergeError before anything is
    written when they are not disjoint parts of one matrix."""
    if not runs:
        raise MergeError("name at least one run to merge")
    if into.resolve() in {r.resolve() for r in runs}:
        raise MergeError(f"--into {into}: a run cannot be merged into itself; name a new run")
    parts = [_Part.read(r) for r in runs]
    target = _Part.read(into) if (into / RUN_FILE).is_file() or (into / RESULTS_FILE).is_file() else None
    _check_compatible([*([target] if target else []), *parts])
    _check_disjoint([*([target] if target else []), *parts])
    if target is None:
        _write_run_file(parts[0].stored, into)
    added = 0
    for part in parts:
        for row in part.rows:
            append_row(into / RESULTS_FILE, _moved(row, part, into))
            added += 1
        log = part.run_dir / "run.log"
        if log.is_file():
            with (into / "run.log").open("ab") as out:
                out.write(log.read_bytes())
    return Merged(into, added, len(parts))


@dataclass(frozen=True)
class _Part:
    run_dir: Path
    stored: dict[str, Any]
    rows: list[ResultRow]

    @classmethod
    def read(cls, run_dir: Path) -> _Part:
        if not run_dir.is_dir():
            raise MergeError(f"{run_dir}: no such run directory")
        try:
            stored = stored_run(run_dir)
        except ValueError as exc:
            raise MergeError(str(exc)) from None
        if not stored.get("options"):
            raise MergeError(f"{run_dir}: the run has no {RUN_FILE} (it predates shards); it cannot be merged")
        return cls(run_dir, stored, read_rows(run_dir / RESULTS_FILE, torn="skip"))

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def own_cassettes(self) -> bool:
        return self.stored["options"].get("cassettes") is None


def _check_compatible(parts: list[_Part]) -> None:
    first = parts[0]
    for other in parts[1:]:
        found = _differences(first.stored, other.stored)
        if found:
            raise MergeError(
                f"runs {first.name} and {other.name} are not shards of one matrix:\n  " + "\n  ".join(found)
            )


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    found = []
    options_a, options_b = dict(a["options"]), dict(b["options"])
    for name in sorted((set(options_a) | set(options_b)) - {"shard"}):
        if options_a.get(name) != options_b.get(name):
            found.append(f"--{flag_of(name)}: {options_a.get(name)!r} against {options_b.get(name)!r}")
    if a.get("harness") != b.get("harness"):
        found.append(f"harness version: {a.get('harness')} against {b.get('harness')}")
    scenarios_a, scenarios_b = dict(a.get("scenarios") or {}), dict(b.get("scenarios") or {})
    only = sorted(set(scenarios_a) ^ set(scenarios_b))
    if only:
        found.append(f"scenarios in one run only: {', '.join(only)}")
    changed = sorted(s for s in set(scenarios_a) & set(scenarios_b) if scenarios_a[s] != scenarios_b[s])
    if changed:
        found.append(f"scenarios that differ between the runs: {', '.join(changed)}")
    return found


def _check_disjoint(parts: list[_Part]) -> None:
    owner: dict[str, str] = {}
    overlaps: list[str] = []
    for part in parts:
        for row in part.rows:
            if row.key in owner and owner[row.key] != part.name:
                overlaps.append(f"{row.key} (in {owner[row.key]} and {part.name})")
            owner.setdefault(row.key, part.name)
    if overlaps:
        more = f" and {len(overlaps) - SHOWN} more" if len(overlaps) > SHOWN else ""
        raise MergeError(
            f"the runs overlap: {len(overlaps)} cell(s) are in two of them: {'; '.join(overlaps[:SHOWN])}{more}"
        )


def _write_run_file(stored: dict[str, Any], into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    merged = stored | {"options": stored["options"] | {"shard": None}}  # the whole matrix: resume fills it
    (into / RUN_FILE).write_text(json.dumps(merged, indent=2) + "\n")


def _moved(row: ResultRow, part: _Part, into: Path) -> ResultRow:
    """The row of the merged run, with its transcript and (the run's own) cassette copied there."""
    update: dict[str, Any] = {"run_id": into.name}
    if row.transcript:
        name = Path(row.transcript).name
        update["transcript"] = str(_copied(part.run_dir / "transcripts" / name, into / "transcripts" / name))
    if part.own_cassettes:
        cell = Cell(row.scenario, row.framework, row.route, row.model, row.attempt)
        update["cassette"] = str(_copied(cell.cassette(part.run_dir / "cassettes"), cell.cassette(into / "cassettes")))
    return row.model_copy(update=update)


def _copied(source: Path, target: Path) -> Path:
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return target
