"""One committed cassette replayed as ``harness run`` runs its cell, and its record brought up to date.

The pytest plugin replays each cassette with :func:`replay` and compares the row with the record. When the harness
comes to measure a cell better than it did when the cell was recorded (a count it used to lose, say), ``harness
cassettes rescore`` replays the cassette and writes the new verdict, reasons and counts into its record; the
interactions, which are what was recorded, stay as they are.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.results import CellRecord, RecordedResult, ResultRow, RunDataError

if TYPE_CHECKING:
    from harness.scenarios import Scenario
    from harness.vocab import RecordMode

REPLAY_TIMEOUT_S = 120.0  # a replay needs no model time; only a stack that hangs comes near it


def replay(
    path: Path, record: CellRecord, scenario: Scenario, mode: RecordMode = "none", world: Any = None
) -> ResultRow:
    """The row of the cell recorded in ``path`` run against it (in the replay world; recorded anew in ``world``
    unless ``mode`` is none)."""
    from harness.results import V1_IDENTITIES
    from harness.runner.matrix import Cell
    from harness.runner.worker import CellJob, run_cell
    from harness.worlds import replay_world

    cell = Cell.of(record.cell)
    root = path.parent.parent
    if cell.cassette(root) != path:
        raise RunDataError(f"{path} is not where cell {cell.key} keeps its cassette ({cell.cassette(root)})")
    with tempfile.TemporaryDirectory() as transcripts:
        job = CellJob(
            cell,
            scenario,
            record.cell.scenario_file,
            world if mode != "none" else replay_world(V1_IDENTITIES),
            mode,
            root,
            Path(transcripts),
            "replay",
            REPLAY_TIMEOUT_S,
        )
        return run_cell(job)


def missed(row: ResultRow, recorded: RecordedResult) -> bool:
    """The replay asked for a request its cassette lacks where the recording did not: a cassette cut short (a cell
    that timed out while recording) can give the recorded verdict and counts without reproducing anything."""
    from harness.recording.cassettes import REPLAY_MISS

    def miss(reasons: list[str]) -> bool:
        return any(REPLAY_MISS in reason for reason in reasons)

    return miss(row.reasons) and not miss(recorded.reasons)


def rescore(path: Path, project: Path, write: bool = True) -> tuple[RecordedResult, RecordedResult]:
    """The cassette's recorded result and what replaying it gives now, which its record takes (when ``write``).
    A RunDataError when the replay could not follow the recording."""
    from harness.recording.cassettes import store_result
    from harness.scenarios import load_scenario

    record = CellRecord.read(path)
    scenario_file = project / record.cell.scenario_file
    if not scenario_file.is_file():
        raise RunDataError(f"{path}: its scenario {record.cell.scenario_file} is not under {project}")
    row = replay(path, record, load_scenario(scenario_file))
    if missed(row, record.result):
        raise RunDataError(f"{path}: the replay asked for what the cassette lacks: {row.reasons[0]}")
    now = RecordedResult(verdict=row.verdict, reasons=row.reasons, metrics=row.reproducible())
    if write and now != record.result:
        store_result(path, now.model_dump(mode="json"))
    return record.result, now
