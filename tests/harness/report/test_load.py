"""``load_results``: good runs, older row formats, and missing or broken run directories (clear errors)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.report import RunDataError, latest_run, load_results, load_run
from harness.report.load import model_kind
from harness.report.render import ROOT
from harness.scenarios.schema import CONTROLS
from harness.vocab import is_control
from tests.harness.report import synth


def test_a_run_loads_with_derived_columns(tmp_path: Path) -> None:
    run_dir = synth.write_run(tmp_path, "current", synth.current())
    frame = load_results(run_dir)
    assert len(frame) == 3 * 2 * 2 * 3 + 18 + 9  # the reference's matrix, the real model's, the controls
    assert frame["control"].sum() == 9
    first = frame[frame["key"] == "core-create-branch/autogen/composio/sandbox-reference/1"].iloc[0]
    assert first["stack"] == "autogen / composio" and first["tokens"] == 1500 and bool(first["ok"])
    assert Path(first["transcript_file"]).is_file()
    error = frame[frame["verdict"] == "error"].iloc[0]
    assert error["transcript_file"] is None and not error["transcript_missing"]  # an error may have none


def test_a_run_id_is_looked_up_under_the_runs_directory(tmp_path: Path) -> None:
    synth.write_run(tmp_path, "current", synth.current())
    assert len(load_results("current", runs_dir=tmp_path)) == 63


def test_the_latest_run_is_the_one_written_last(tmp_path: Path) -> None:
    import os

    synth.write_run(tmp_path, "older", synth.baseline("older"))
    synth.write_run(tmp_path, "newer", synth.current("newer"))
    os.utime(tmp_path / "older" / "results.jsonl", (1, 1))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "results.jsonl").write_text("")
    assert latest_run(tmp_path) == tmp_path / "newer"
    assert latest_run(tmp_path, exclude=("newer",)) == tmp_path / "older"
    assert load_run(None, tmp_path).run_id == "newer"


def test_the_model_fields_of_newer_rows(tmp_path: Path) -> None:
    data = load_run(synth.write_run(tmp_path, "current", synth.current()))
    frame = data.results.set_index("key")
    real = frame.loc[f"core-create-branch/autogen/rovo/{synth.REAL}/1"]
    assert (real["model_kind"], real["model_host"], real["upstream_model"]) == (
        "real",
        "127.0.0.1:8089",
        "qwen2.5-0.5b-instruct-q4_k_m",
    )
    assert real["sampling"] == {"temperature": 0.7, "top_p": 0.95, "seed": None, "max_tokens": 1024}
    assert real["failures"] == ["wrong tool"] and real["cell"] == f"core-create-branch/autogen/rovo/{synth.REAL}"
    reference = frame.loc[f"core-create-branch/autogen/rovo/{synth.MODEL}/1"]
    assert (reference["model_kind"], reference["model_host"], reference["sampling"]) == ("scripted", None, {})
    assert reference["failures"] == []  # classified, nothing found
    assert not any("predate the model fields" in n for n in data.notes)


def test_rows_before_the_model_fields_get_defaults(tmp_path: Path) -> None:
    """The baseline predates schema version 2: the kind is told by the model's name, failures are unknown."""
    data = load_run(synth.write_run(tmp_path, "baseline", synth.baseline()))
    frame = data.results
    kinds = frame.groupby("model")["model_kind"].unique().map(list).to_dict()
    assert kinds == {synth.MODEL: ["scripted"], synth.REAL: ["real"]}
    assert frame["failures"].isna().all() and frame["model_host"].isna().all()
    assert frame["sampling"].map(len).eq(0).all() and frame["schema_version"].eq(0).all()
    assert any("predate the model fields" in n for n in data.notes)
    assert model_kind("some-local-model") == "real" and model_kind("sandbox-loop") == "scripted"


def test_older_rows_without_tags_control_or_tool_fields(tmp_path: Path) -> None:
    rows = [r for r in synth.current() if r["model"] != synth.FLAKY]  # older runs predate it
    for r in rows:
        for name in ("tags", "control", "tools", "destructive_calls"):
            r.pop(name)
    data = load_run(synth.write_run(tmp_path, "old", rows))
    frame = data.results
    assert frame["control"].sum() == 3  # derived from the model name
    assert frame["tags"].map(len).eq(0).all() and frame["destructive_calls"].isna().all()
    assert any("predate the fields tags, control, tools, destructive_calls" in n for n in data.notes)


def test_the_control_rule_matches_the_sandbox_policies() -> None:
    assert all(is_control(m) for m in CONTROLS)
    assert not is_control("sandbox-reference") and not is_control("gpt-4o")


# A row as the first version of the runner wrote it (no tags, control, tools, destructive_calls, recorded).
OLDEST_ROW = (
    '{"attempt": 1, "cassette": "runs/20261121T115944Z/cassettes/core-comment-latest-issue/autogen--rovo--sandbox-'
    'reference.yaml", "duration_s": 1.15, "first_token_ms": 350.4, "framework": "autogen", "input_tokens": 0, '
    '"key": "core-comment-latest-issue/autogen/rovo/sandbox-reference/1", "model": "sandbox-reference", '
    '"model_calls": 1, "output_tokens": 0, "path": "rovo", "reasons": ["The Rovo MCP server has no Bitbucket issue '
    'tool."], "record_mode": "all", "run_id": "20261121T115944Z", "scenario": "core-comment-latest-issue", '
    '"started_at": "2026-11-21T11:59:53.294808+00:00", "tool_calls": 0, "tool_errors": 0, "transcript": "runs/'
    '20261121T115944Z/transcripts/core-comment-latest-issue--autogen--rovo--sandbox-reference--1.json", "turns": 1, '
    '"verdict": "expected-unsupported", "versions": {"autogen-agentchat": "0.7.5", "mcp": "1.30.0"}, "wall_ms": '
    '353.1, "world": "sandbox"}'
)


def test_the_oldest_row_format_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the recorded transcript path is relative to where the run was started
    (tmp_path / "20261121T115944Z").mkdir()
    (tmp_path / "20261121T115944Z" / "results.jsonl").write_text(OLDEST_ROW + "\n")
    data = load_run("20261121T115944Z", tmp_path)
    (row,) = data.results.to_dict("records")
    assert (row["ok"], row["control"], row["tags"], row["tools"], row["stack"]) == (
        True,
        False,
        [],
        [],
        "autogen / rovo",
    )
    assert row["transcript_missing"] and data.run_id == "20261121T115944Z"
    assert (
        data.notes[0] == "the rows predate the fields tags, control, tools, destructive_calls: what needs them "
        "shows as empty or n/a"
    )


def test_a_missing_run_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(RunDataError, match=r"no run directory nope \(looked for nope and .*/nope\)"):
        load_results("nope", runs_dir=tmp_path)


def test_a_missing_results_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "r1").mkdir()
    with pytest.raises(RunDataError, match=r"r1/results\.jsonl: missing"):
        load_results(tmp_path / "r1")


def test_an_empty_results_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "results.jsonl").write_text("\n")
    with pytest.raises(RunDataError, match=r"results\.jsonl: empty"):
        load_results(tmp_path / "r1")


def test_a_torn_line_names_file_and_line(tmp_path: Path) -> None:
    run_dir = synth.write_run(tmp_path, "torn", synth.current())
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    lines[2] = lines[2][:40]  # what a kill mid-write leaves
    (run_dir / "results.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(RunDataError, match=r"torn/results\.jsonl:3: not valid JSON .*torn line"):
        load_results(run_dir)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", r":1: expected a JSON object, found list"),
        (json.dumps({"key": "k", "scenario": "s"}), r":1: missing fields framework, path, model, verdict"),
        (json.dumps(synth.row("s", "f", "p", "maybe")), r":1: verdict: 'maybe' is not one of pass, fail"),
    ],
)
def test_a_row_that_is_not_a_result_names_the_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "results.jsonl").write_text(line + "\n")
    with pytest.raises(RunDataError, match=message):
        load_results(tmp_path / "r1")


def test_a_missing_transcript_is_a_note_not_a_failure(tmp_path: Path) -> None:
    run_dir = synth.write_run(tmp_path, "current", synth.current())
    gone = run_dir / "transcripts" / "core-fetch-readme--autogen--composio--sandbox-reference--2.json"
    gone.unlink()
    data = load_run(run_dir)
    missing = data.results[data.results["transcript_missing"]]
    assert list(missing["key"]) == ["core-fetch-readme/autogen/composio/sandbox-reference/2"]
    assert data.notes == [f"1 transcript file(s) missing: runs/current/transcripts/{gone.name}"]


def test_a_moved_run_still_finds_its_transcripts(tmp_path: Path) -> None:
    run_dir = synth.write_run(tmp_path / "a", "current", synth.current())
    moved = run_dir.rename(tmp_path / "elsewhere")
    frame = load_results(moved)
    assert frame["transcript_file"].dropna().map(lambda p: p.startswith(str(moved))).all()
    assert not frame["transcript_missing"].any()


def test_rendering_from_the_command_line_does_not_load_the_statistics() -> None:
    """Only the notebook's kernel needs scipy, statsmodels and matplotlib: the command that renders a report, and
    a run writing its summary, start without them."""
    code = (
        "import json, sys\n"
        "from harness.report import render_report, RunDataError\n"
        "import harness.report.summary\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('scipy', 'statsmodels', 'matplotlib'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(done.stdout) == []
    from harness.report import wilson  # and a name of the statistics loads them on first use

    assert wilson(7, 10).high == pytest.approx(0.8922, abs=1e-4)
