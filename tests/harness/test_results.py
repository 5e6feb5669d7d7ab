"""``ResultRow`` and ``CellRecord``: they read every committed cassette and every row format the runner has
written, give back exactly what they read, and name the file, line and field of what they cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.results import (
    SCHEMA_VERSION,
    V1_IDENTITIES,
    CellRecord,
    ResultRow,
    RunDataError,
    append_row,
    finished_keys,
    read_rows,
)
from harness.vocab import Outcome

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = sorted((ROOT / "cassettes").rglob("*.yaml"))
# A row as the first runner wrote it: no schema version, no tags, control, tools or destructive_calls.
OLDEST_ROW = {
    "run_id": "20261121T115944Z",
    "key": "core-create-branch/autogen/rovo/sandbox-overclaim/1",
    "scenario": "core-create-branch",
    "framework": "autogen",
    "path": "rovo",
    "model": "sandbox-overclaim",
    "attempt": 1,
    "world": "sandbox",
    "record_mode": "all",
    "started_at": "2026-11-21T11:59:44+00:00",
    "verdict": "fail",
    "reasons": ["the answer claims a success"],
    "turns": 1,
    "model_calls": 2,
    "tool_calls": 1,
    "tool_errors": 1,
    "input_tokens": 900,
    "output_tokens": 40,
    "wall_ms": 80.0,
    "first_token_ms": 9.0,
    "versions": {"mcp": "1.30.0"},
    "cassette": "x.yaml",
    "duration_s": 1.2,
    "recorded": None,
    "transcript": "t.json",
}


def stored_metadata(path: Path) -> dict[str, object]:
    return dict(yaml.safe_load(path.read_text())["metadata"])


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: str(p.relative_to(ROOT / "cassettes")))
def test_every_committed_cassette_reads_and_gives_back_its_metadata(path: Path) -> None:
    record = CellRecord.read(path)
    assert record.model_dump(mode="json", by_alias=True, exclude_unset=True) == stored_metadata(path)
    if record.version == 1:  # recorded before identities were kept
        assert record.identities == V1_IDENTITIES
    else:  # a newer recording names its own world
        assert record.version == 2 and record.identities["workspace"] and record.identities["model"]
    assert CellRecord.model_validate(record.metadata()) == record


def test_a_current_row_round_trips_exactly(tmp_path: Path) -> None:
    row = ResultRow.model_validate(
        {
            **OLDEST_ROW,
            "schema_version": SCHEMA_VERSION,
            "tags": ["core"],
            "control": True,
            "tools": ["bitbucketRepoContent:branch.create"],
            "destructive_calls": 0,
            "recorded": {"verdict": "pass", "reasons": [], "metrics": {"turns": 1}},
        }
    )
    results = tmp_path / "results.jsonl"
    append_row(results, row)
    (line,) = results.read_text().splitlines()
    assert json.loads(line) == json.loads(row.to_json()) and ResultRow.parse(line, "x") == row
    assert json.loads(line)["path"] == "rovo" and "route" not in json.loads(line)  # the serialized name stays
    assert read_rows(results) == [row] and finished_keys(results) == {row.key}


def test_the_oldest_row_format_reads_with_what_it_lacks_filled_in() -> None:
    row = ResultRow.parse(json.dumps(OLDEST_ROW), "old:1")
    assert (row.schema_version, row.route, row.verdict, row.tags, row.tools) == (0, "rovo", Outcome.FAIL, [], [])
    assert row.control is True  # derived from the model
    assert row.missing_later_fields(OLDEST_ROW) == {"tags", "control", "tools", "destructive_calls"}


def test_a_row_run_on_a_cluster_names_its_worker_and_the_worker_lost_before() -> None:
    current = OLDEST_ROW | {
        "schema_version": SCHEMA_VERSION,
        "worker": "tcp://10.0.0.7:39001",
        "retried_from": "tcp://10.0.0.6:41235",
    }
    row = ResultRow.parse(json.dumps(current), "x:1")
    assert (row.worker, row.retried_from) == ("tcp://10.0.0.7:39001", "tcp://10.0.0.6:41235")
    assert json.loads(row.to_json())["retried_from"] == "tcp://10.0.0.6:41235"
    version_2 = ResultRow.parse(json.dumps(OLDEST_ROW | {"schema_version": 2, "failures": []}), "v2:1")
    assert (version_2.schema_version, version_2.worker, version_2.retried_from) == (2, None, None)
    assert SCHEMA_VERSION == 3  # worker and retried_from came with version 3


def test_a_field_from_a_newer_writer_is_kept() -> None:
    row = ResultRow.parse(json.dumps(OLDEST_ROW | {"schema_version": 99, "novel": {"a": 1}}), "new:1")
    assert json.loads(row.to_json())["novel"] == {"a": 1}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"key": "a"', r"results.jsonl:2: not valid JSON .*delete the line and resume"),
        ("[1, 2]", r"results.jsonl:2: expected a JSON object, found list"),
        (
            json.dumps({k: v for k, v in OLDEST_ROW.items() if k != "scenario"}),
            r"results.jsonl:2: missing field scenario",
        ),
        (json.dumps(OLDEST_ROW | {"verdict": "maybe"}), r"results.jsonl:2: verdict: 'maybe' is not one of pass, fail"),
        (json.dumps(OLDEST_ROW | {"attempt": "first"}), r"results.jsonl:2: attempt: Input should be a valid integer"),
    ],
)
def test_a_broken_line_is_named_with_its_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps(OLDEST_ROW) + "\n" + line + "\n")
    with pytest.raises(RunDataError, match=message):
        read_rows(results)
    assert len(read_rows(results, torn="skip")) == 1  # resuming passes over it


def test_a_cassette_without_a_cell_record_is_named(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("interactions: []\nversion: 1\n")
    with pytest.raises(
        RunDataError,
        match=r"plain.yaml: not a harness cell cassette \(its metadata lacks cell, "
        r"result, urls\)",
    ):
        CellRecord.read(plain)
