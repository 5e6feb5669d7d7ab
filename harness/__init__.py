"""Evaluation and testing harness for AI agents that work on Bitbucket through MCP.

What a notebook or script needs, in one place::

    from harness import RunOptions, run_matrix, load_results, Report
    run_dir = run_matrix(RunOptions(frameworks=("pydantic-ai",), routes=("rovo",)))
    frame = load_results(run_dir)

Names are imported on first use, so that importing one part of the harness does not load the others.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# ``mcp`` imports ``jsonschema``, which imports ``rfc3987_syntax`` when it is installed (the notebook stack
# installs it); that module compiles a Lark grammar at import, 1.5 to 5 s of every process start here (the
# sandbox, each worker, each replay). It only validates the "iri" string formats, which no schema here uses:
# jsonschema skips those formats when the import fails, so keep it from loading.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

_PUBLIC = {
    "Outcome": "harness.vocab",
    "RunOptions": "harness.runner.options",
    "run_matrix": "harness.runner.session",
    "Scenario": "harness.scenarios",
    "load_scenarios": "harness.scenarios",
    "ResultRow": "harness.results",
    "read_rows": "harness.results",
    "load_results": "harness.report",
    "Report": "harness.report",
    "render_report": "harness.report",
}
__all__ = [
    "Outcome",
    "Report",
    "ResultRow",
    "RunOptions",
    "Scenario",
    "load_results",
    "load_scenarios",
    "read_rows",
    "render_report",
    "run_matrix",
]

if TYPE_CHECKING:
    from harness.report import Report, load_results, render_report
    from harness.results import ResultRow, read_rows
    from harness.runner.options import RunOptions
    from harness.runner.session import run_matrix
    from harness.scenarios import Scenario, load_scenarios
    from harness.vocab import Outcome


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
