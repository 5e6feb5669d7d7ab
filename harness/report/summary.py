"""A finished run at a glance, for the console and ``summary.md``: the matrix (tally, failures, one row per scenario
and model with a column per framework and route) apart from the negative controls (caught, not caught, not
applicable), as the report shows them. Reads result rows only (no pandas: the run prints it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from harness.results import ResultRow
from harness.vocab import Outcome

SYMBOL = {
    Outcome.PASS: "pass",
    Outcome.FAIL: "**FAIL**",
    Outcome.ERROR: "ERROR",
    Outcome.UNSUPPORTED: "unsupported (ok)",
}
BAD = (Outcome.FAIL, Outcome.ERROR)


def control_word(row: ResultRow) -> str:
    """A control cell in a word: caught (it failed), not caught, or not applicable (the scenario says why)."""
    if row.not_applicable:
        return "n/a"
    return "caught" if row.verdict == Outcome.FAIL else "not caught"


def write_summary(rows: list[ResultRow], results: Path, warnings: int = 0) -> str:
    """Write ``summary.md`` next to ``results``; returns what the console shows."""
    matrix, controls = [r for r in rows if not r.control], [r for r in rows if r.control]
    failures = [r for r in matrix if r.verdict in BAD]
    uncaught = [r for r in controls if control_word(r) == "not caught"]
    log = results.parent / "run.log"
    console = [f"{results}: {len(rows)} cells", f"  matrix: {_tally(matrix)}"]
    console += [f"    {r.verdict.value:5} {r.key}: {'; '.join(r.reasons)[:200]}" for r in failures]
    console.append(f"  controls: {_caught(controls)}")
    console += [f"    not caught: {r.key} ({r.verdict.value})" for r in uncaught]
    if warnings:
        console.append(f"  library warnings: {warnings} (in {log})")
    summary = results.parent / "summary.md"
    lines = [
        f"# Run {results.parent.name}",
        "",
        "## Matrix",
        "",
        _tally(matrix),
        "",
        *_table(matrix, _symbol),
        *_failures(failures),
        "",
        "## Negative controls",
        "",
        _caught(controls),
    ]
    if controls:
        lines += ["", *_table(controls, control_word), *_uncaught(uncaught)]
    if warnings:
        lines += ["", f"Libraries logged {warnings} warning(s): {log.name}"]
    summary.write_text("\n".join(lines) + "\n")
    return "\n".join([*console, f"summary: {summary}"])


def _tally(rows: list[ResultRow]) -> str:
    if not rows:
        return "no cells"
    counts = Counter(r.verdict.value for r in rows)
    return f"{len(rows)} cells; " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def _caught(controls: list[ResultRow]) -> str:
    if not controls:
        return "no controls in this run"
    words = Counter(control_word(r) for r in controls)
    applicable = len(controls) - words["n/a"]
    text = f"{words['caught']}/{applicable} caught"
    return text + (f" ({words['n/a']} not applicable)" if words["n/a"] else "")


def _symbol(row: ResultRow) -> str:
    return SYMBOL[row.verdict]


def _table(rows: list[ResultRow], word: Callable[[ResultRow], str]) -> list[str]:
    columns = sorted({(r.framework, r.route) for r in rows})
    cells: dict[tuple[str, str], dict[tuple[str, str], list[str]]] = {}
    for r in rows:
        cells.setdefault((r.scenario, r.model), {}).setdefault((r.framework, r.route), []).append(word(r))
    lines = [
        "| scenario | model | " + " | ".join(f"{f} / {p}" for f, p in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for (scenario, model), by_column in sorted(cells.items()):
        lines.append(
            f"| {scenario} | {model} | " + " | ".join(", ".join(by_column.get(c, ["-"])) for c in columns) + " |"
        )
    return lines


def _failures(failures: list[ResultRow]) -> list[str]:
    if not failures:
        return []
    return [
        "",
        "### Failures and errors",
        "",
        *(f"- `{r.key}` {r.verdict.value}: {'; '.join(r.reasons)}" for r in failures),
    ]


def _uncaught(uncaught: list[ResultRow]) -> list[str]:
    if not uncaught:
        return []
    return [
        "",
        "### Controls not caught (a verdict that did not fail where it should)",
        "",
        *(f"- `{r.key}` {r.verdict.value}" for r in uncaught),
    ]
