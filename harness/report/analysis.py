"""The report's numbers, computed from :func:`harness.report.load_results` frames (pure functions, no display).

Negative-control rows (a deliberately faulty model) are expected to fail: they never count in the real matrix's
rates and are summarised on their own (a control "caught" is a control whose cell failed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from math import comb
from typing import Any

import pandas as pd

from harness.report.prices import PriceTable
from harness.vocab import OK_OUTCOMES, Outcome

CELL = ["scenario", "framework", "path", "model"]  # a cell without its attempt number
SHORT = {
    Outcome.PASS: "pass",
    Outcome.UNSUPPORTED: "unsupported (ok)",
    Outcome.FAIL: "fail",
    Outcome.ERROR: "error",
}  # the matrix's words for each outcome


def real(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["control"]]


def controls(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["control"]]


def row_labels(frame: pd.DataFrame) -> pd.Series:
    """The matrix's row label: the scenario, with the model when the frame holds several models."""
    if frame["model"].nunique() > 1:
        return frame["scenario"] + " · " + frame["model"]
    return frame["scenario"]


# -- the verdict matrix ----------------------------------------------------------------------------------------


def verdict_label(verdicts: list[str]) -> str:
    """One cell's attempts in a word: the verdict when they agree, else how many were ok (``2/3 ok``)."""
    distinct = set(verdicts)
    if len(distinct) == 1:
        return SHORT[Outcome(verdicts[0])]
    ok = sum(v in OK_OUTCOMES for v in verdicts)
    return f"{ok}/{len(verdicts)} ok"


def verdict_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows: scenario (· model); columns: framework / path; values: :func:`verdict_label` (None: not run)."""
    keyed = frame.assign(row=row_labels(frame))
    table = keyed.groupby(["row", "stack"])["verdict"].agg(lambda v: verdict_label(list(v))).unstack("stack")
    return table.rename_axis(index=None, columns=None).astype(object).where(table.notna(), None)


def ok_share(frame: pd.DataFrame) -> pd.DataFrame:
    """The matrix as numbers: the share of ok attempts per cell (NaN: not run), for the heat map."""
    keyed = frame.assign(row=row_labels(frame))
    return keyed.groupby(["row", "stack"])["ok"].mean().unstack("stack").rename_axis(index=None, columns=None)


# -- pass@1 and pass^k -----------------------------------------------------------------------------------------


def pass_hat_k(n: int, c: int, k: int) -> float:
    """The chance that k attempts drawn from n (c of them ok) are all ok: C(c, k) / C(n, k) (tau-bench's pass^k)."""
    return comb(c, k) / comb(n, k)


def pass_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Per framework / path (and model): pass@1 = mean over scenarios of c/n, and pass^k for each k up to the
    fewest attempts any of its scenarios had (columns ``pass^2`` ...; NaN where a row has fewer attempts)."""
    per_cell = frame.groupby(["stack", "model", "scenario"])["ok"].agg(n="count", c="sum").reset_index()
    rows = []
    for (stack, model), cells in per_cell.groupby(["stack", "model"]):
        attempts = int(cells["n"].min())
        row: dict[str, Any] = {
            "stack": stack,
            "model": model,
            "scenarios": len(cells),
            "attempts": attempts,
            "pass@1": float((cells["c"] / cells["n"]).mean()),
        }
        for k in range(2, attempts + 1):
            row[f"pass^{k}"] = float(
                sum(pass_hat_k(int(n), int(c), k) for n, c in zip(cells["n"], cells["c"], strict=True)) / len(cells)
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    ks = sorted((c for c in table.columns if c.startswith("pass^")), key=lambda c: int(c[5:]))
    return table[["stack", "model", "scenarios", "attempts", "pass@1", *ks]]


# -- distributions and cost ------------------------------------------------------------------------------------

METRICS = {"wall_ms": "latency (ms)", "tokens": "tokens (in + out)", "tool_calls": "tool calls"}


def distribution_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per framework / path: median and p90 of latency, tokens and tool calls."""
    grouped = frame.groupby("stack")
    columns = {}
    for metric, label in METRICS.items():
        columns[f"{label} median"] = grouped[metric].median()
        columns[f"{label} p90"] = grouped[metric].quantile(0.9)
    return pd.DataFrame(columns).rename_axis(index=None)


def row_costs(frame: pd.DataFrame, prices: PriceTable) -> pd.Series:
    """Each row's cost; NaN when its model has no price or its token counts are unknown."""
    costs = [
        prices.cost(m, i, o)
        for m, i, o in zip(frame["model"], frame["input_tokens"], frame["output_tokens"], strict=True)
    ]
    return pd.Series([float("nan") if c is None else c for c in costs], index=frame.index, dtype=float)


def cost_table(frame: pd.DataFrame, prices: PriceTable) -> pd.DataFrame:
    """Per framework / path and model: tokens and the estimated cost (NaN, shown "unknown", if any row of the
    group cannot be priced: a partial sum would read as the whole)."""
    priced = frame.assign(cost=row_costs(frame, prices))
    rows = []
    for (stack, model), group in priced.groupby(["stack", "model"]):
        found = prices.price(str(model))
        total = float(group["cost"].sum()) if group["cost"].notna().all() else float("nan")
        rows.append(
            {
                "stack": stack,
                "model": model,
                "cells": len(group),
                "input tokens": int(group["input_tokens"].fillna(0).sum()),
                "output tokens": int(group["output_tokens"].fillna(0).sum()),
                "cost": total,
                "cost per cell": total / len(group),
                "priced as": found[0] if found else "(not in the price table)",
                "note": found[1].note if found else "",
            }
        )
    return pd.DataFrame(rows)


# -- failures ----------------------------------------------------------------------------------------------------

# (category, pattern over one reason), first match wins; the wording is the scorer's (harness.scoring.scorer).
CATEGORIES: list[tuple[str, re.Pattern[str]]] = [
    ("framework stopped the agent", re.compile(r"^the framework stopped the agent")),
    ("state: unexpected change", re.compile(r": changed|: branch \S+ exists|changed although")),
    ("state: data destroyed", re.compile(r"no longer exists|: deleted$")),
    ("state: branch missing", re.compile(r": no branch ")),
    ("state: wrong base", re.compile(r" points at .*, not at ")),
    ("state: pull request missing or wrong", re.compile(r"no open pull request|the open pull request from")),
    ("state: comment missing", re.compile(r"no comment containing|has no open issue")),
    ("answer: false success claim", re.compile(r"claims (?:a )?success")),
    ("answer: denial not reported", re.compile(r"does not report the denial|does not say the request cannot")),
    ("answer: content missing", re.compile(r"^the answer does not (?:contain|match)")),
    ("tools: required call missing", re.compile(r"^no call of ")),
    ("tools: forbidden call", re.compile(r"^called ")),
    ("tools: too many calls", re.compile(r"tool calls, more than")),
]


def categorize(reason: str, verdict: str) -> str:
    """The failure category of one reason; an ``error`` row's reasons say why the stack broke."""
    if verdict == Outcome.ERROR:
        return "replay miss" if "cassette" in reason.lower() else "stack error"
    return next((name for name, pattern in CATEGORIES if pattern.search(reason)), "other")


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """The failed and errored rows with the categories of their reasons (in the frame's order)."""
    failed = frame[frame["verdict"].isin((Outcome.FAIL, Outcome.ERROR))].copy()
    failed["categories"] = [
        sorted({categorize(r, v) for r in (reasons or ["(no reason given)"])})
        for reasons, v in zip(failed["reasons"], failed["verdict"], strict=True)
    ]
    return failed


def taxonomy(frame: pd.DataFrame) -> pd.DataFrame:
    """Per category: how many failing rows show it, on which stacks, with one example reason."""
    failed = failures(frame)
    rows = []
    for category in sorted({c for cats in failed["categories"] for c in cats}):
        hit = failed[[category in cats for cats in failed["categories"]]]
        example = next(
            (
                r
                for reasons, v in zip(hit["reasons"], hit["verdict"], strict=True)
                for r in reasons
                if categorize(r, v) == category
            ),
            "",
        )
        rows.append(
            {
                "category": category,
                "cells": len(hit),
                "share of failures": len(hit) / len(failed),
                "stacks": ", ".join(sorted(hit["stack"].unique())),
                "example": example,
            }
        )
    columns = ["category", "cells", "share of failures", "stacks", "example"]
    return pd.DataFrame(rows, columns=columns).sort_values(
        ["cells", "category"], ascending=[False, True], ignore_index=True
    )


# -- safety and controls -----------------------------------------------------------------------------------------

DENIAL_TAGS = ("scope-denial", "denial")
INJECTION_TAGS = ("prompt-injection", "injection")


def _tagged(frame: pd.DataFrame, tags: tuple[str, ...]) -> pd.Series:
    return pd.Series([any(t in tags for t in row_tags) for row_tags in frame["tags"]], index=frame.index, dtype=bool)


def safety_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per framework / path: scope denials handled, prompt injections resisted (ok / attempts of the scenarios
    so tagged), destructive tool calls (NaN when the rows predate the count) and false success claims."""
    denial, injection = _tagged(frame, DENIAL_TAGS), _tagged(frame, INJECTION_TAGS)
    claims = pd.Series(
        [
            any(categorize(r, v) == "answer: false success claim" for r in reasons)
            for reasons, v in zip(frame["reasons"], frame["verdict"], strict=True)
        ],
        index=frame.index,
    )
    rows = []
    for stack, group in frame.groupby("stack"):
        d, i = group[denial[group.index]], group[injection[group.index]]
        destructive = group["destructive_calls"]
        rows.append(
            {
                "stack": stack,
                "denial ok": int(d["ok"].sum()),
                "denial cells": len(d),
                "injection ok": int(i["ok"].sum()),
                "injection cells": len(i),
                "destructive calls": float(destructive.sum()) if destructive.notna().all() else float("nan"),
                "false success claims": int(claims[group.index].sum()),
            }
        )
    return pd.DataFrame(rows)


def control_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """The negative controls: rows scenario · model, columns framework / path; "caught" when the cell failed."""
    keyed = frame.assign(row=frame["scenario"] + " · " + frame["model"])
    word = {
        Outcome.FAIL: "caught",
        Outcome.ERROR: "error",
        Outcome.PASS: "not caught",
        Outcome.UNSUPPORTED: "not caught",
    }
    table = (
        keyed.groupby(["row", "stack"])["verdict"]
        .agg(lambda v: "caught" if all(x == Outcome.FAIL for x in v) else "/".join(sorted({word[x] for x in v})))
        .unstack("stack")
    )
    return table.rename_axis(index=None, columns=None).astype(object).where(table.notna(), None)


def controls_caught(frame: pd.DataFrame) -> tuple[int, int]:
    """(control rows that failed, control rows)."""
    found = controls(frame)
    return int(found["verdict"].eq(Outcome.FAIL).sum()), len(found)


# -- trend against a baseline ------------------------------------------------------------------------------------


@dataclass
class Trend:
    baseline_id: str
    cells: pd.DataFrame  # per cell: before/after ok and attempts, labels, change
    metrics: pd.DataFrame  # per framework / path: medians before and after
    pass_rate_before: float
    pass_rate_after: float

    @property
    def regressions(self) -> pd.DataFrame:
        return self.cells[self.cells["change"] == "regression"]

    @property
    def improvements(self) -> pd.DataFrame:
        return self.cells[self.cells["change"] == "improvement"]

    def count(self, change: str) -> int:
        return int((self.cells["change"] == change).sum())


def _per_cell(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby(CELL).agg(
        ok=("ok", "sum"),
        n=("ok", "count"),
        label=("verdict", lambda v: verdict_label(list(v))),
        reasons=("reasons", lambda rs: sorted({r for x in rs for r in x})),
    )


def _change(before: float, after: float) -> str:
    if pd.isna(before):
        return "new"
    if pd.isna(after):
        return "removed"
    return "regression" if after < before else "improvement" if after > before else "same"


def trend(current: pd.DataFrame, baseline: pd.DataFrame, baseline_id: str) -> Trend:
    """The real matrix against a baseline run's, cell by cell: a cell whose share of ok attempts fell is a
    regression, one whose share rose an improvement; cells in one run only are ``new`` or ``removed``."""
    now, before = _per_cell(real(current)), _per_cell(real(baseline))
    cells = before.merge(now, how="outer", left_index=True, right_index=True, suffixes=("_before", "_after"))
    rate_before, rate_after = cells["ok_before"] / cells["n_before"], cells["ok_after"] / cells["n_after"]
    cells["change"] = [_change(b, a) for b, a in zip(rate_before, rate_after, strict=True)]
    cells = cells.reset_index()
    cells["stack"] = cells["framework"] + " / " + cells["path"]
    return Trend(
        baseline_id, cells, _metric_trend(real(current), real(baseline)), _rate(real(baseline)), _rate(real(current))
    )


def _rate(frame: pd.DataFrame) -> float:
    return float(frame["ok"].mean()) if len(frame) else float("nan")


def _metric_trend(current: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    columns = {}
    for metric, label in METRICS.items():
        columns[f"{label} before"] = baseline.groupby("stack")[metric].median()
        columns[f"{label} now"] = current.groupby("stack")[metric].median()
    columns["pass rate before"] = baseline.groupby("stack")["ok"].mean()
    columns["pass rate now"] = current.groupby("stack")["ok"].mean()
    return pd.DataFrame(columns).rename_axis(index=None)


# -- environment and headline ------------------------------------------------------------------------------------


def package_versions(frame: pd.DataFrame) -> pd.DataFrame:
    """Every package version the rows recorded (several versions of one package are all listed)."""
    seen: dict[str, set[str]] = {}
    for versions in frame["versions"]:
        for package, version in versions.items():
            seen.setdefault(str(package), set()).add(str(version))
    return pd.DataFrame(
        [{"package": p, "version": ", ".join(sorted(v))} for p, v in sorted(seen.items())],
        columns=["package", "version"],
    )


def headline(frame: pd.DataFrame, run_id: str, found_trend: Trend | None) -> dict[str, Any]:
    """The numbers a run is listed with in ``reports/index.html``."""
    matrix = real(frame)
    caught, total = controls_caught(frame)
    counts = matrix["verdict"].value_counts()
    started = frame["started_at"].dropna()
    return {
        "run_id": run_id,
        "started_at": str(started.min()) if len(started) else None,
        "world": ", ".join(sorted(frame["world"].dropna().unique())) or "unknown",
        "models": sorted(matrix["model"].unique()),
        "cells": len(matrix),
        "scenarios": int(matrix["scenario"].nunique()),
        "stacks": int(matrix["stack"].nunique()),
        "pass": int(counts.get(Outcome.PASS, 0)),
        "expected_unsupported": int(counts.get(Outcome.UNSUPPORTED, 0)),
        "fail": int(counts.get(Outcome.FAIL, 0)),
        "error": int(counts.get(Outcome.ERROR, 0)),
        "pass_rate": _rate(matrix),
        "controls": total,
        "controls_caught": caught,
        "baseline": found_trend.baseline_id if found_trend else None,
        "regressions": found_trend.count("regression") if found_trend else None,
        "improvements": found_trend.count("improvement") if found_trend else None,
    }
