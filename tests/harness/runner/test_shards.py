"""Shards and merge: ``--shard K/N`` deals out a balanced, deterministic part of the matrix that keeps the repeats
of a cell together whatever the order of the scenario files; ``harness merge`` gives back the unsharded run (every
cell once, the same verdicts), refuses shards of different matrices or that share a cell, naming the difference,
and leaves a run that resumes like any other."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.results import ResultRow, append_row, read_rows
from harness.runner.matrix import Cell, matrix
from harness.runner.merge import MergeError, merge_runs
from harness.runner.options import RunOptions
from harness.runner.session import execute_run
from harness.runner.shards import Shard, series

ROOT = Path(__file__).resolve().parents[3]
LIBRARY = ROOT / "scenarios"
SCENARIOS = [f"scenario-{i:02d}" for i in range(13)]
FRAMEWORKS = ["autogen", "openai-agents-hosted", "openai-agents-client", "pydantic-ai"]
ROUTES = ["composio", "rovo"]


def big(scenarios: list[str] = SCENARIOS, repeat: int = 3) -> list[Cell]:
    return matrix(scenarios, FRAMEWORKS, ROUTES, ["sandbox-reference", "sandbox-overclaim"], repeat)


def partition_problems(cells: list[Cell], shards: list[list[Cell]]) -> list[str]:
    """What makes ``shards`` not a balanced partition of ``cells`` that keeps repeats together."""
    found = []
    counts = Counter(c for shard in shards for c in shard)
    if set(counts) != set(cells) or set(counts.values()) != {1}:
        found.append("not every cell exactly once")
    homes: dict[str, set[int]] = {}
    for i, shard in enumerate(shards):
        for c in shard:
            homes.setdefault(series(c), set()).add(i)
    if any(len(h) != 1 for h in homes.values()):
        found.append("the repeats of a cell are split")
    per_shard = [len({series(c) for c in shard}) for shard in shards]
    if max(per_shard) - min(per_shard) > 1:
        found.append(f"unbalanced: {per_shard} series")
    return found


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_shards_are_a_balanced_partition_that_keeps_repeats_together(count: int) -> None:
    cells = big()
    shards = [Shard(k, count).cells(cells) for k in range(1, count + 1)]
    assert partition_problems(cells, shards) == []
    assert all(shard == [c for c in cells if c in set(shard)] for shard in shards)  # in the matrix's order


def test_the_partition_check_catches_each_broken_partition() -> None:
    cells = big()
    halves = [Shard(1, 2).cells(cells), Shard(2, 2).cells(cells)]
    by_key = [[c for c in cells if hash(c.key) % 2 == k] for k in range(2)]  # repeats dealt apart
    assert "the repeats of a cell are split" in partition_problems(cells, by_key)
    assert "not every cell exactly once" in partition_problems(cells, [halves[0], halves[1] + halves[0][:1]])
    assert "not every cell exactly once" in partition_problems(cells, [halves[0], halves[1][1:]])
    unbalanced = [[c for c in cells if c.scenario == SCENARIOS[0]], [c for c in cells if c.scenario != SCENARIOS[0]]]
    assert any(p.startswith("unbalanced") for p in partition_problems(cells, unbalanced))


def test_a_cells_shard_does_not_depend_on_the_order_of_the_scenario_files() -> None:
    shuffled = SCENARIOS[:]
    random.Random(7).shuffle(shuffled)
    for k in (1, 2, 3):
        assert set(Shard(k, 3).cells(big(shuffled))) == set(Shard(k, 3).cells(big()))
        assert set(Shard(k, 3).cells(big()[::-1])) == set(Shard(k, 3).cells(big()))


@pytest.mark.parametrize(
    ("text", "message"),
    [("2", "expected K/N"), ("0/2", "K must be between 1 and N"), ("3/2", "K must be between 1 and N"), ("a/b", "K/N")],
)
def test_a_bad_shard_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Shard.parse(text)
    assert any(message in p for p in RunOptions(shard=text).problems())
    assert Shard.parse(" 2 / 5 ") == Shard(2, 5) and str(Shard(2, 5)) == "2/5"


# merge, on runs written by hand ---------------------------------------------------------------------------------
def fake_run(run_dir: Path, keys: list[str], digests: dict[str, str] | None = None, **options: Any) -> Path:
    RunOptions(scenarios=(Path("scenarios/a.yaml"),), **options).save(run_dir, digests or {"a": "d1"})
    for key in keys:
        scenario, framework, route, model, attempt = key.split("/")
        row = {"key": key, "scenario": scenario, "framework": framework, "path": route, "model": model}
        append_row(run_dir / "results.jsonl", ResultRow.model_validate(row | {"attempt": attempt, "verdict": "pass"}))
    return run_dir


def test_overlapping_shards_are_refused_naming_the_cell(tmp_path: Path) -> None:
    one = fake_run(tmp_path / "one", ["a/autogen/rovo/m/1", "a/autogen/composio/m/1"], shard="1/2")
    two = fake_run(tmp_path / "two", ["a/autogen/rovo/m/1", "a/pydantic-ai/rovo/m/1"], shard="2/2")
    with pytest.raises(MergeError, match=r"1 cell\(s\) are in two of them: a/autogen/rovo/m/1 \(in one and two\)"):
        merge_runs([one, two], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()  # nothing written


@pytest.mark.parametrize(
    ("theirs", "digests", "version", "named"),
    [
        ({"models": ("other-model",)}, None, None, "--model: ['sandbox-reference'] against ['other-model']"),
        ({"repeat": 3}, None, None, "--repeat: 1 against 3"),
        ({}, {"a": "d1", "b": "d2"}, None, "scenarios in one run only: b"),
        ({}, {"a": "changed"}, None, "scenarios that differ between the runs: a"),
        ({}, None, "0.0.9", "harness version: 0.1.0 against 0.0.9"),
    ],
)
def test_mismatched_shards_are_refused_naming_the_difference(
    tmp_path: Path, theirs: dict[str, Any], digests: dict[str, str] | None, version: str | None, named: str
) -> None:
    one = fake_run(tmp_path / "one", ["a/autogen/rovo/sandbox-reference/1"], shard="1/2")
    two = fake_run(tmp_path / "two", ["a/autogen/composio/sandbox-reference/1"], digests, shard="2/2", **theirs)
    if version:
        stored = json.loads((two / "run.json").read_text())
        (two / "run.json").write_text(json.dumps(stored | {"harness": version}))
    with pytest.raises(MergeError, match="runs one and two are not shards of one matrix") as refused:
        merge_runs([one, two], tmp_path / "merged")
    assert named in str(refused.value)
    fake_run(tmp_path / "three", ["a/autogen/composio/sandbox-reference/1"], shard="2/2")  # the same matrix merges
    assert merge_runs([one, tmp_path / "three"], tmp_path / "merged").added == 2


def test_merge_on_the_command_line_refuses_with_exit_code_2(tmp_path: Path) -> None:
    fake_run(tmp_path / "one", ["a/autogen/rovo/m/1"], shard="1/2")
    fake_run(tmp_path / "two", ["a/autogen/rovo/m/1"], shard="2/2")
    command = [sys.executable, "-m", "harness.cli", "merge", "one", "two", "--runs-dir", str(tmp_path)]
    refused = subprocess.run([*command, "--into", "m"], capture_output=True, text=True)
    assert refused.returncode == 2 and "merge: the runs overlap" in refused.stderr
    unknown = subprocess.run([*command[:-3], "nope", "--runs-dir", str(tmp_path)], capture_output=True, text=True)
    assert unknown.returncode == 2 and "no such run directory" in unknown.stderr


# merge, on real runs --------------------------------------------------------------------------------------------
def replayed(tmp: Path, run_id: str, **options: Any) -> list[ResultRow]:
    settings: dict[str, Any] = {
        "scenarios": (LIBRARY / "core-fetch-readme.yaml", LIBRARY / "core-comment-latest-issue.yaml"),
        "frameworks": ("pydantic-ai",),
        "routes": tuple(ROUTES),
        "world": "replay",
        "cassettes": ROOT / "cassettes",
        "run_id": run_id,
        "runs_dir": tmp,
        "concurrency": 2,
    } | options
    assert execute_run(RunOptions(**settings)) == 0
    return read_rows(tmp / run_id / "results.jsonl")


def verdicts(rows: list[ResultRow]) -> dict[str, str]:
    return {r.key: r.verdict.value for r in rows}


@pytest.mark.slow
@pytest.mark.timeout(900)  # four runs, each starting its processes: minutes on a busy machine
def test_two_shards_merged_are_the_unsharded_run_and_a_partial_merge_resumes(tmp_path: Path) -> None:
    whole = replayed(tmp_path, "whole")
    first, second = replayed(tmp_path, "s1", shard="1/2"), replayed(tmp_path, "s2", shard="2/2")
    assert first and second and len(first) + len(second) == len(whole) == 4
    merged = merge_runs([tmp_path / "s1", tmp_path / "s2"], tmp_path / "merged")
    rows = read_rows(merged.run_dir / "results.jsonl")
    assert Counter(r.key for r in rows) == Counter(r.key for r in whole)  # every cell exactly once
    assert verdicts(rows) == verdicts(whole) and set(verdicts(rows).values()) == {"pass", "expected-unsupported"}
    assert all(r.run_id == "merged" and Path(r.transcript or "").parent == merged.run_dir / "transcripts" for r in rows)
    assert all(Path(r.transcript or "").is_file() for r in rows if r.verdict.value == "pass")
    # one shard merged alone: resuming the merged run runs the other shard's cells, and only those
    merge_runs([tmp_path / "s1"], tmp_path / "partial")
    resumed = replayed(tmp_path, "partial", resume=True)
    assert Counter(r.key for r in resumed) == Counter(r.key for r in whole)
    assert verdicts(resumed) == verdicts(whole)
    assert {r.key for r in resumed[len(first) :]} == {r.key for r in second}  # the first shard's rows were kept
