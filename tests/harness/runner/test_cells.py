"""The run matrix: cells, their stable ids and cassette names, and the negative-control cells."""

from __future__ import annotations

from pathlib import Path

from harness.results import ResultRow, append_row, finished_keys
from harness.runner.matrix import Cell, control_cells, matrix


def test_matrix_and_controls_without_duplicates() -> None:
    cells = matrix(["a", "b"], ["pydantic-ai", "autogen"], ["composio", "rovo"], ["sandbox-reference"], 2)
    assert len(cells) == 2 * 2 * 2 * 1 * 2 and len(set(cells)) == len(cells)
    controls = control_cells(
        {"a": ["sandbox-loop", "sandbox-overclaim"], "b": []}, ["pydantic-ai"], ["composio", "rovo"]
    )
    assert [(c.scenario, c.model, c.route) for c in controls] == [
        ("a", "sandbox-loop", "composio"),
        ("a", "sandbox-loop", "rovo"),
        ("a", "sandbox-overclaim", "composio"),
        ("a", "sandbox-overclaim", "rovo"),
    ]


def test_cell_ids_are_stable_and_distinct_and_cassettes_are_named_after_the_cell() -> None:
    one = Cell("core-create-branch", "autogen", "rovo", "sandbox-reference", 1)
    assert one.cell_id == Cell("core-create-branch", "autogen", "rovo", "sandbox-reference", 1).cell_id
    assert one.cell_id != Cell("core-create-branch", "autogen", "rovo", "sandbox-reference", 2).cell_id
    root = Path("cassettes")
    assert one.cassette(root) == root / "core-create-branch" / "autogen--rovo--sandbox-reference.yaml"
    again = Cell("core-create-branch", "autogen", "rovo", "sandbox-reference", 3)
    assert again.cassette(root).name == "autogen--rovo--sandbox-reference--3.yaml"


def test_a_scenario_restricted_to_rovo_gets_no_composio_cell_not_even_for_its_controls(tmp_path: Path) -> None:
    from harness.results import V1_IDENTITIES
    from harness.runner.options import RunOptions
    from harness.runner.run import RunPlan, ScenarioSource
    from harness.scenarios import load_scenario
    from harness.worlds import replay_world

    library = Path(__file__).resolve().parents[3] / "scenarios"
    files = [library / "denied-unlinked-workspace.yaml", library / "core-create-branch.yaml"]
    scenarios = {s.id: ScenarioSource(s, str(f)) for f in files for s in [load_scenario(f)]}
    options = RunOptions(
        frameworks=("pydantic-ai", "autogen"), world="replay", cassettes=tmp_path, control_frameworks=("pydantic-ai",)
    )
    cells = RunPlan(options, scenarios, replay_world(V1_IDENTITIES), tmp_path).requested()
    unlinked = [c for c in cells if c.scenario == "denied-unlinked-workspace"]
    assert {c.route for c in unlinked} == {"rovo"}
    assert sorted((c.framework, c.model) for c in unlinked) == [
        ("autogen", "sandbox-reference"),
        ("pydantic-ai", "sandbox-no-tools"),
        ("pydantic-ai", "sandbox-overclaim"),
        ("pydantic-ai", "sandbox-reference"),
    ]
    assert {c.route for c in cells if c.scenario == "core-create-branch"} == {"composio", "rovo"}
    assert len(cells) == len(unlinked) + 2 * 2 + 3 * 2  # core: 2 frameworks x 2 paths, 3 controls x 2 paths


def test_a_replay_leaves_out_the_cells_it_has_no_cassette_for_and_says_so(tmp_path: Path) -> None:
    import subprocess
    import sys

    from harness.results import V1_IDENTITIES
    from harness.runner import session
    from harness.runner.options import RunOptions
    from harness.runner.run import RunPlan, ScenarioSource
    from harness.scenarios import load_scenario
    from harness.worlds import replay_world

    file = Path(__file__).resolve().parents[3] / "scenarios" / "core-create-branch.yaml"
    scenario = load_scenario(file)
    sources = {scenario.id: ScenarioSource(scenario, str(file))}
    options = RunOptions(frameworks=("pydantic-ai", "autogen"), world="replay", cassettes=tmp_path)
    plan = RunPlan(options, sources, replay_world(V1_IDENTITIES), tmp_path)
    recorded = Cell(scenario.id, "autogen", "rovo", "sandbox-reference", 1)
    recorded.cassette(tmp_path).parent.mkdir(parents=True)
    recorded.cassette(tmp_path).write_text("interactions: []\n")
    assert plan.cells() == [recorded]
    assert len(plan.unrecorded()) == len(plan.requested()) - 1 == 3
    recording = RunPlan(RunOptions(frameworks=options.frameworks, cassettes=tmp_path), sources, plan.world, tmp_path)
    assert len(recording.cells()) == 4 and not recording.unrecorded()  # a recording run records them all

    empty = tmp_path / "empty"
    command = [sys.executable, "-m", "harness.cli", "run", "--world", "replay", "--cassettes", str(empty)]
    refused = subprocess.run(
        [*command, "-s", str(file), "--runs-dir", str(tmp_path / "runs"), "--new-run-id", "r", "--no-report"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2, refused.stderr
    assert f"no cassette under {empty}/ for any of the 8 cells asked for" in refused.stdout + refused.stderr
    assert not (tmp_path / "runs" / "r").exists()  # refused before the run was created

    with session.console.capture() as said:
        session.say_unrecorded(plan)
    assert f"replay: 3 of 4 cells have no cassette under {tmp_path}/ and are left out" in said.get()


def row(key: str) -> ResultRow:
    return ResultRow(key=key, scenario="s", framework="autogen", route="rovo", model="m", verdict="pass")


def test_a_row_after_a_torn_line_starts_on_its_own_line(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    append_row(results, row("a"))
    with results.open("a") as out:
        out.write('{"key": "b", "verd')  # killed mid-write
    append_row(results, row("c"))
    assert finished_keys(results) == {"a", "c"}
    assert ResultRow.parse(results.read_text().splitlines()[-1], "last line") == row("c")
