"""The run matrix: cells, their stable ids and cassette names, and the negative-control cells."""

from __future__ import annotations

from pathlib import Path

from harness.runner.cells import Cell, control_cells, matrix


def test_matrix_and_controls_without_duplicates() -> None:
    cells = matrix(["a", "b"], ["pydantic-ai", "autogen"], ["composio", "rovo"], ["sandbox-reference"], 2)
    assert len(cells) == 2 * 2 * 2 * 1 * 2 and len(set(cells)) == len(cells)
    controls = control_cells({"a": ["sandbox-loop", "sandbox-overclaim"], "b": []}, ["pydantic-ai"],
                             ["composio", "rovo"])
    assert [(c.scenario, c.model, c.path) for c in controls] == [
        ("a", "sandbox-loop", "composio"), ("a", "sandbox-loop", "rovo"),
        ("a", "sandbox-overclaim", "composio"), ("a", "sandbox-overclaim", "rovo")]


def test_cell_ids_are_stable_and_distinct_and_cassettes_are_named_after_the_cell() -> None:
    one = Cell("core-create-branch", "autogen", "rovo", "sandbox-reference", 1)
    assert one.cell_id == Cell("core-create-branch", "autogen", "rovo", "sandbox-reference", 1).cell_id
    assert one.cell_id != Cell("core-create-branch", "autogen", "rovo", "sandbox-reference", 2).cell_id
    root = Path("cassettes")
    assert one.cassette(root) == root / "core-create-branch" / "autogen--rovo--sandbox-reference.yaml"
    again = Cell("core-create-branch", "autogen", "rovo", "sandbox-reference", 3)
    assert again.cassette(root).name == "autogen--rovo--sandbox-reference--3.yaml"
