"""The house's boundaries: the emulator never imports the harness; the report reads results and never imports the
runner, the frameworks or the emulator; scoring does not load the emulator; ``harness`` exposes exactly its public
face."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", ["sandbox", "yamlio"])
def test_the_emulator_and_the_yaml_helpers_never_import_the_harness(package: str) -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if top(m) == "harness")
        for p in sorted((ROOT / package).rglob("*.py"))
    }
    assert {file: mods for file, mods in offenders.items() if mods} == {}


def test_the_emulator_is_not_inside_the_harness() -> None:
    assert not (ROOT / "harness" / "sandbox").exists() and (ROOT / "sandbox" / "__init__.py").is_file()


def loaded_after(*imports: str) -> list[str]:
    """The modules loaded in a fresh interpreter after importing ``imports``."""
    code = "import json, sys\n" + "".join(f"import {m}\n" for m in imports) + "print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return list(json.loads(out.stdout))


def test_the_report_reads_results_only() -> None:
    loaded = loaded_after(
        "harness.report", "harness.report.sections", "harness.report.render", "harness.report.summary"
    )
    forbidden = [m for m in loaded if m.startswith(("harness.runner", "harness.frameworks", "sandbox"))]
    assert forbidden == []
    static = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imported_modules(p) if m.startswith(("harness.runner", "harness.frameworks", "sandbox"))
        )
        for p in sorted((ROOT / "harness" / "report").rglob("*.py"))
    }
    assert {file: mods for file, mods in static.items() if mods} == {}


def test_the_sync_reaches_bitbucket_over_http_only() -> None:
    """``harness.sync`` talks to a Bitbucket (live or embedded) over HTTP and never imports the emulator."""
    static = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if top(m) == "sandbox")
        for p in sorted((ROOT / "harness" / "sync").rglob("*.py"))
    }
    assert static and {file: mods for file, mods in static.items() if mods} == {}
    loaded = loaded_after("harness.sync.receiver", "harness.sync.push", "harness.sync.connect", "harness.sync.status")
    assert [m for m in loaded if m.startswith(("sandbox", "harness.report", "harness.frameworks."))] == []


def test_scoring_and_the_scenario_format_do_not_load_the_emulator_or_the_frameworks() -> None:
    loaded = loaded_after("harness.scoring", "harness.scenarios")
    assert [m for m in loaded if m.startswith(("sandbox", "harness.frameworks", "harness.runner"))] == []


def test_the_public_face_is_exact_and_cheap() -> None:
    import harness

    assert harness.__all__ == [
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
    assert all(getattr(harness, name) is not None for name in harness.__all__)
    with pytest.raises(AttributeError, match="no attribute 'run'"):
        harness.run  # noqa: B018
    assert [m for m in loaded_after("harness") if m.startswith("harness.")] == []  # names load on first use
