"""notebooks/explore.ipynb runs unattended under papermill: one scenario on one framework and route, on a sandbox
the notebook starts and stops itself."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill

from harness.report.render import KERNEL, ROOT

NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"


def outputs(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", "") + output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_explore_one_cell_end_to_end(tmp_path: Path) -> None:
    executed = tmp_path / "explore.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(executed),
        kernel_name=KERNEL,
        progress_bar=False,
        cwd=str(tmp_path),
        parameters={"scenario": "scenarios/core-create-branch.yaml", "framework": "pydantic-ai", "route": "rovo"},
    )
    cells = {
        c.source.splitlines()[0]: outputs(c)
        for c in nbformat.read(executed, as_version=4).cells
        if c.cell_type == "code" and c.source
    }
    before = cells["await stepper.arrange(x)"]
    assert "main" in before and "feature/login" not in before
    conversation = cells["await stepper.converse(x)"]
    assert "tool call: bitbucketRepoContent" in conversation and "agent" in conversation
    # the whole answer, not pandas' first 50 characters and "..."
    assert re.search(r"Created branch `feature/login` in acme/widgets-\w+ from `main` at [0-9a-f]{12}\.", conversation)
    assert "branch.create" in cells["stepper.tool_calls_table(x.transcript)"]
    after = cells["after = await stepper.finish(x)"]
    assert "core-create-branch/pydantic-ai/rovo/sandbox-reference/1: pass" in after
    (line,) = [row for row in after.splitlines() if "feature/login" in row]
    assert "(absent)" in line and line.rstrip().endswith("True")  # created by the agent
    assert "sandbox-model-key" not in "".join(cells.values())  # details() leaves credentials out


def test_the_notebooks_kernel_is_this_interpreter() -> None:
    """papermill's kernel "python3" must run the venv's Python (where harness is installed), with no
    `ipykernel install` step on a fresh machine."""
    import sys

    from jupyter_client.manager import KernelManager

    command = KernelManager(kernel_name=KERNEL).format_kernel_cmd()
    assert command[:3] == [sys.executable, "-m", "ipykernel_launcher"]
    for notebook in (NOTEBOOK, ROOT / "notebooks" / "report.ipynb"):
        assert nbformat.read(notebook, as_version=4).metadata.kernelspec.name == KERNEL
