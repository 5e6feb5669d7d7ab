"""A finished run at a glance, for the console and ``summary.md``: the tally and the failures, and one row per
scenario and model with a column per framework and route. Reads result rows only (no pandas: the run prints it)."""

from __future__ import annotations

from collections import Counter
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


def write_summary(rows: list[ResultRow], results: Path) -> str:
    """Write ``summary.md`` next to ``results``; returns what the console shows."""
    tally = Counter(r.verdict.value for r in rows)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(tally.items()))
    failures = [r for r in rows if r.verdict in BAD]
    console = [f"{results}: {len(rows)} rows; {counts}"]
    console += [f"  {r.verdict.value:5} {r.key}: {'; '.join(r.reasons)[:200]}" for r in failures]
    summary = results.parent / "summary.md"
    summary.write_text(
        "\n".join([f"# Run {results.parent.name}", "", counts, "", *_table(rows), *_failures(failures)]) + "\n"
    )
    return "\n".join([*console, f"summary: {summary}"])


def _table(rows: list[ResultRow]) -> list[str]:
    columns = sorted({(r.framework, r.route) for r in rows})
    cells: dict[tuple[str, str], dict[tuple[str, str], list[str]]] = {}
    for r in rows:
        cells.setdefault((r.scenario, r.model), {}).setdefault((r.framework, r.route), []).append(SYMBOL[r.verdict])
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
        "## Failures and errors",
        "",
        *(f"- `{r.key}` {r.verdict.value}: {'; '.join(r.reasons)}" for r in failures),
    ]
