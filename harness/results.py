"""What a cell leaves behind, typed: one :class:`ResultRow` per attempt in ``runs/<run-id>/results.jsonl``, and one
:class:`CellRecord` in each cassette's metadata. These are the only writers and readers of both.

``ResultRow`` carries its schema version (``schema_version``); rows written before rows were versioned have none
and read as version 0, with what they lack filled in (``control`` from the model name). Unknown fields are kept,
so a row from a newer writer loses nothing when read. Serialized names stay as they always were (``path`` for the
MCP route).

``results.jsonl`` is appended (and fsynced) by one process, the run's; a run killed mid-line leaves a torn last line,
which a resume skips and a reader that must not guess (the report) names as ``file:line``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.vocab import ModelKind, Outcome, is_control, model_kind

SCHEMA_VERSION = 3  # 2: model_kind, model_host, upstream_model, sampling, failures, not_applicable; 3: worker,
# retried_from
RESULTS_FILE = "results.jsonl"
# Counted metrics that a replay must reproduce exactly (timings are not among them).
REPRODUCIBLE = ("turns", "model_calls", "tool_calls", "tool_errors", "input_tokens", "output_tokens")
# Fields that rows written by older runners may lack; the report says when a run predates them.
LATER_FIELDS = ("tags", "control", "tools", "destructive_calls")


class RunDataError(ValueError):
    """A run directory, results file or cassette that cannot be used; the message names the file and line."""


class _Record(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class CellKey(_Record):
    """Which cell: scenario x framework x route x model, and the attempt."""

    scenario: str
    framework: str
    route: str = Field(alias="path")
    model: str
    attempt: int = 1


class RecordedResult(_Record):
    """The verdict and counted metrics a cell had when it was recorded (kept in its cassette)."""

    verdict: Outcome
    reasons: list[str] = []
    metrics: dict[str, int | None] = {}


class ResultRow(CellKey):
    """One attempt of one cell, as a line of ``results.jsonl``."""

    schema_version: int = 0  # absent: written before rows were versioned
    run_id: str | None = None
    key: str
    tags: list[str] = []
    control: bool = False  # a negative control (a model built to fail); derived from the model when absent
    not_applicable: str | None = None  # a control that cannot fail the scenario on this route: why (it is not caught)
    world: str | None = None
    record_mode: str | None = None
    started_at: str | None = None
    verdict: Outcome
    reasons: list[str] = []
    turns: int | None = None
    model_calls: int | None = None
    tool_calls: int | None = None
    tool_errors: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    wall_ms: float | None = None
    first_token_ms: float | None = None
    tools: list[str] = []
    destructive_calls: int | None = None
    versions: dict[str, str] = {}
    cassette: str | None = None
    transcript: str | None = None
    duration_s: float | None = None
    recorded: RecordedResult | None = None
    model_kind: ModelKind | None = None  # derived from the model when absent
    model_host: str | None = None  # the endpoint's host (never its key)
    upstream_model: str | None = None  # the model id sent upstream
    sampling: dict[str, Any] = {}  # temperature, top_p, seed, max_tokens as sent
    failures: list[str] = []  # the failure taxonomy's categories (harness.scoring.taxonomy)
    worker: str | None = None  # the Dask worker that ran the cell (None: the local pool)
    retried_from: str | None = None  # the Dask worker lost while it ran the cell, which then ran here again

    @model_validator(mode="before")
    @classmethod
    def _derive_from_the_model(cls, data: Any) -> Any:
        """Rows that predate ``control`` and ``model_kind`` get them from the model's name."""
        if isinstance(data, dict) and isinstance(data.get("model"), str):
            derived = {"control": is_control(data["model"]), "model_kind": model_kind(data["model"])}
            return {**data, **{k: v for k, v in derived.items() if data.get(k) is None}}
        return data

    def reproducible(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in REPRODUCIBLE}

    def missing_later_fields(self, raw: dict[str, Any]) -> set[str]:
        return {name for name in LATER_FIELDS if name not in raw}

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)

    @classmethod
    def parse(cls, line: str, where: str) -> ResultRow:
        """A row from one line; RunDataError naming ``where`` (``file:line``) and the field at fault."""
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RunDataError(
                f"{where}: not valid JSON ({exc.msg}, column {exc.colno}); a torn line is what a run "
                "killed while writing leaves: delete the line and resume the run to redo that cell"
            ) from None
        if not isinstance(data, dict):
            raise RunDataError(f"{where}: expected a JSON object, found {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RunDataError(f"{where}: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    """Missing fields in one phrase, then each other problem with its field."""
    missing, found = [], []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "(row)"
        if error["type"] == "missing":
            missing.append(field)
        elif field == "verdict":
            found.append(f"verdict: {error['input']!r} is not one of {', '.join(o.value for o in Outcome)}")
        else:
            found.append(f"{field}: {error['msg']}")
    if missing:
        found.insert(0, f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    return "; ".join(found)


# results.jsonl ----------------------------------------------------------------------------------------------
def read_rows(results: Path, torn: Literal["error", "skip"] = "error") -> list[ResultRow]:
    """Every row of a results file. ``torn="skip"`` (resuming) passes over lines that are not complete rows;
    ``"error"`` (reading a finished run) names the first such line. A missing file has no rows."""
    return [row for row, _ in read_rows_with_raw(results, torn)]


def read_rows_with_raw(
    results: Path, torn: Literal["error", "skip"] = "error"
) -> Iterator[tuple[ResultRow, dict[str, Any]]]:
    """Each row with the JSON object it was read from (what the report needs to tell old formats apart)."""
    if not results.is_file():
        return
    text = results.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = ResultRow.parse(line, f"{results}:{number}")
        except RunDataError:
            if torn == "skip":
                continue
            raise
        yield row, json.loads(line)


def finished_keys(results: Path) -> set[str]:
    """Keys of the cells that have a row (a torn last line does not count)."""
    return {row.key for row in read_rows(results, torn="skip")}


def append_row(results: Path, row: ResultRow) -> None:
    """Append one row and fsync it; after a torn line the row starts on a line of its own."""
    line = row.to_json().encode() + b"\n"
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a+b") as out:
        if out.seek(0, os.SEEK_END) and _last_byte(out) != b"\n":
            line = b"\n" + line  # the run was killed mid-line: the torn line stays alone, this row stays readable
        out.write(line)
        out.flush()
        os.fsync(out.fileno())


def _last_byte(out: BinaryIO) -> bytes:
    out.seek(-1, os.SEEK_END)
    return out.read(1)


# cassettes ---------------------------------------------------------------------------------------------------
class RecordedCell(CellKey):
    scenario_file: str  # relative to the project root where it can be


# Version 1 cassettes predate ``identities``: all of them were recorded against the default sandbox, whose names
# these are.
V1_IDENTITIES: dict[str, Any] = {
    "workspace": "acme",
    "unlinked_workspace": "solo",
    "composio": {"user_ids": {"full": "user-1", "read-only": "user-readonly", "no-pr-write": "user-nopr"}},
    "rovo": {"email": "alice@example.com", "profiles": ["full", "no-pr-write", "read-only"]},
}


class CellRecord(_Record):
    """A cassette's metadata: the cell, its result when recorded, the URLs it was recorded against and the names
    its requests carry (a replay sends exactly those requests). Version 2 adds ``identities``."""

    version: int = 1
    cell: RecordedCell
    result: RecordedResult
    urls: dict[str, str]
    identities: dict[str, Any] = Field(default_factory=lambda: dict(V1_IDENTITIES))

    def reproducible(self) -> dict[str, int | None]:
        return {name: self.result.metrics.get(name) for name in REPRODUCIBLE}

    @classmethod
    def read(cls, path: Path) -> CellRecord:
        """The record of a cassette file, parsed without its interactions (most of its megabyte): vcrpy writes
        the keys in order, so ``metadata`` follows the interactions and only the ``version`` line comes after it."""
        text = path.read_text(encoding="utf-8")
        at = text.rfind("\nmetadata:\n")
        try:
            data = yaml.load(text[at:], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if at >= 0 else None
        except yaml.YAMLError as exc:
            raise RunDataError(f"{path}: the cassette's metadata is not valid YAML: {exc}") from None
        return cls.from_metadata((data or {}).get("metadata") or {}, str(path))

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any], source: str) -> CellRecord:
        missing = [name for name in ("cell", "result", "urls") if name not in metadata]
        if missing:
            raise RunDataError(
                f"{source}: not a harness cell cassette (its metadata lacks {', '.join(missing)}); "
                "record it with `harness run --cassettes cassettes/`"
            )
        try:
            return cls.model_validate(metadata)
        except ValidationError as exc:
            raise RunDataError(f"{source}: metadata: {_problems(exc)}") from None

    def metadata(self) -> dict[str, Any]:
        """As stored in the cassette."""
        return self.model_dump(mode="json", by_alias=True)

    @staticmethod
    def setup_in(
        cassette: Any, urls: dict[str, str], identities: dict[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """The URLs and identities a cell runs with: those the cassette was recorded with when it holds them (a
        replay), else the given ones, stored in it (a recording)."""
        kept_urls = cassette.get_metadata("urls", urls)
        return kept_urls, _kept(cassette, "identities", identities, V1_IDENTITIES)

    def keep_in(self, cassette: Any) -> CellRecord:
        """Store this record in a cassette being recorded; a cassette that already holds one keeps it, and it is
        what comes back (a replay compares itself with what was recorded)."""
        fresh = self.metadata() | {"version": CELL_RECORD_VERSION}
        stored = {name: _kept(cassette, name, value, None) for name, value in fresh.items()}
        return CellRecord.model_validate({k: v for k, v in stored.items() if v is not None})


CELL_RECORD_VERSION = 2


def _kept(cassette: Any, name: str, value: Any, absent: Any) -> Any:
    """vcrpy's ``get_metadata``; a cassette that may not change and lacks ``name`` (an older format) gives
    ``absent``."""
    from vcr.errors import MissingMetadataError

    try:
        return cassette.get_metadata(name, value)
    except MissingMetadataError:
        return absent
