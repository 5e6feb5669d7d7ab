"""The report's numbers, computed from :func:`harness.report.load_results` frames (pure functions, no display).

Negative-control rows (a deliberately faulty model) are expected to fail: they never count in the real matrix's
rates and are summarised on their own (a control "caught" is a control cell that failed). Rates come with 95%
intervals and changes against a baseline with an exact test (``harness.report.stats``): real models vary between
attempts, and a difference smaller than that variation is not a regression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.report.prices import PriceTable
from harness.report.stats import (
    CELL,
    TEST,
    Comparison,
    Rate,
    compare,
    flaky_cells,
    pass_hat_k_interval,
    rate_of,
    rate_table,
    wilson,
)
from harness.vocab import OK_OUTCOMES, Outcome

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


# -- pass rates, pass^k, flaky cells and models ----------------------------------------------------------------


def pass_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Per framework / path and model: the pass rate (ok / attempts) with its Wilson interval (``pass rate low`` /
    ``high``), and pass^k for k from 1 (``pass@1``) up to the fewest attempts any of its scenarios had: the mean
    over scenarios of C(c, k) / C(n, k), with a bootstrap interval over scenarios (``pass^k low`` / ``high``; NaN
    where a row has fewer attempts, or its interval with a single scenario)."""
    per_cell = frame.groupby(["stack", "model", "scenario"])["ok"].agg(n="count", c="sum").reset_index()
    rates = rate_table(frame, ["stack", "model"]).set_index(["stack", "model"])
    rows = []
    for (stack, model), cells in per_cell.groupby(["stack", "model"]):
        attempts = int(cells["n"].min())
        rate = rates.loc[(stack, model)]
        row: dict[str, Any] = {
            "stack": stack,
            "model": model,
            "scenarios": len(cells),
            "attempts per scenario": attempts,
            "ok": int(rate["ok"]),
            "attempts": int(rate["attempts"]),
            "pass rate": float(rate["rate"]),
            "pass rate low": float(rate["low"]),
            "pass rate high": float(rate["high"]),
        }
        counts = [(int(n), int(c)) for n, c in zip(cells["n"], cells["c"], strict=True)]
        for k in range(1, attempts + 1):
            name = pass_k_name(k)
            row[name], row[f"{name} low"], row[f"{name} high"] = pass_hat_k_interval(counts, k)
        rows.append(row)
    table = pd.DataFrame(rows)
    most = max((int(a) for a in table["attempts per scenario"]), default=0)
    ks = [f"{pass_k_name(k)}{part}" for k in range(1, most + 1) for part in ("", " low", " high")]
    return table.reindex(columns=[*PASS_RATE_COLUMNS, *ks])


PASS_RATE_COLUMNS = [
    "stack",
    "model",
    "scenarios",
    "attempts per scenario",
    "ok",
    "attempts",
    "pass rate",
    "pass rate low",
    "pass rate high",
]


def pass_k_name(k: int) -> str:
    return "pass@1" if k == 1 else f"pass^{k}"


ROLES = ("scripted", "real", "control")  # the order models are shown in: the reference first, controls last


def model_roles(frame: pd.DataFrame) -> dict[str, str]:
    """Each model's role: "control" (a negative control), else its kind ("scripted" or "real"), in display
    order."""
    found = {
        str(m): "control" if c else str(k)
        for m, c, k in zip(frame["model"], frame["control"], frame["model_kind"], strict=True)
    }
    return dict(sorted(found.items(), key=lambda mr: (ROLES.index(mr[1]) if mr[1] in ROLES else len(ROLES), mr[0])))


ALL = "(all)"


def models_side_by_side(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Every model's pass rate (Wilson interval), cells and attempts per ``by`` ("stack" or "scenario"), with a
    row ``(all)`` per model: one row per (``by``, model), models in :func:`model_roles` order, controls included
    (each labelled by its ``role``)."""
    roles = model_roles(frame)
    table = pd.concat(
        [rate_table(frame, [by, "model"]), rate_table(frame, ["model"]).assign(**{by: ALL})], ignore_index=True
    )
    table.insert(2, "role", table["model"].map(roles))
    order = {m: n for n, m in enumerate(roles)}
    table["_order"] = table["model"].map(order)
    table["_all"] = table[by].eq(ALL)
    return table.sort_values(["_all", by, "_order"]).drop(columns=["_order", "_all"]).reset_index(drop=True)


# -- distributions and cost ------------------------------------------------------------------------------------

METRICS = {"wall_ms": "latency (ms)", "tokens": "tokens (in + out)", "tool_calls": "tool calls"}
TIMED = ("wall_ms",)  # metrics that a replay does not reproduce: its times are replay times, not latency
REPLAY = "replay"


def replayed(frame: pd.DataFrame) -> pd.Series:
    return frame["world"].eq(REPLAY)


def measured(frame: pd.DataFrame, metric: str) -> pd.Series:
    """The values of ``metric`` that mean what they say: a timing only from rows that were not replayed."""
    return frame.loc[~replayed(frame), metric] if metric in TIMED else frame[metric]


def shown_metrics(frame: pd.DataFrame) -> dict[str, str]:
    """The metrics worth a chart: latency only when some row was not replayed."""
    return {m: label for m, label in METRICS.items() if measured(frame, m).notna().any() or m not in TIMED}


def distribution_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per framework / path: median and p90 of latency (rows not replayed), tokens and tool calls."""
    columns = {}
    for metric, label in METRICS.items():
        grouped = measured(frame, metric).groupby(frame["stack"])
        columns[f"{label} median"] = grouped.median()
        columns[f"{label} p90"] = grouped.quantile(0.9)
    return pd.DataFrame(columns).reindex(sorted(frame["stack"].unique())).rename_axis(index=None)


def row_costs(frame: pd.DataFrame, prices: PriceTable) -> pd.Series:
    """Each row's cost; NaN when its model has no price or its token counts are unknown."""
    costs = [
        prices.cost(m, i, o)
        for m, i, o in zip(frame["model"], frame["input_tokens"], frame["output_tokens"], strict=True)
    ]
    return pd.Series([float("nan") if c is None else c for c in costs], index=frame.index, dtype=float)


def cost_table(frame: pd.DataFrame, prices: PriceTable) -> pd.DataFrame:
    """Per framework / path and model: tokens, the estimated cost (NaN, shown "unknown", if any row of the group
    cannot be priced: a partial sum would read as the whole), the cost per attempt and per passing attempt (the
    group's cost over its ok attempts: what one success costs; NaN when none passed)."""
    priced = frame.assign(cost=row_costs(frame, prices))
    rows = []
    for (stack, model), group in priced.groupby(["stack", "model"]):
        found = prices.price(str(model))
        total = float(group["cost"].sum()) if group["cost"].notna().all() else float("nan")
        ok = int(group["ok"].sum())
        rows.append(
            {
                "stack": stack,
                "model": model,
                "attempts": len(group),
                "ok attempts": ok,
                "input tokens": int(group["input_tokens"].fillna(0).sum()),
                "output tokens": int(group["output_tokens"].fillna(0).sum()),
                "cost": total,
                "cost per attempt": total / len(group),
                "cost per passing attempt": total / ok if ok else float("nan"),
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
FALSE_CLAIM = "false success claim"  # the transcript taxonomy's word; "answer: false success claim" by reason
FROM_TRANSCRIPT, FROM_REASONS = "transcript", "reasons"


def categorize(reason: str, verdict: str) -> str:
    """The failure category of one reason; an ``error`` row's reasons say why the stack broke."""
    if verdict == Outcome.ERROR:
        return "replay miss" if "cassette" in reason.lower() else "stack error"
    return next((name for name, pattern in CATEGORIES if pattern.search(reason)), "other")


def _categories(found: list[str] | None, reasons: list[str], verdict: str) -> tuple[list[str], str]:
    """A failing row's categories and where they come from: the taxonomy classified from its transcript when the
    row carries one, else its reasons' categories."""
    if found:
        return sorted(set(found)), FROM_TRANSCRIPT
    return sorted({categorize(r, verdict) for r in (reasons or ["(no reason given)"])}), FROM_REASONS


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """The failed and errored rows with their ``categories`` and where those come from (``source``:
    "transcript" or "reasons"), in the frame's order."""
    failed = frame[frame["verdict"].isin((Outcome.FAIL, Outcome.ERROR))].copy()
    found = [
        _categories(f, reasons, v)
        for f, reasons, v in zip(failed["failures"], failed["reasons"], failed["verdict"], strict=True)
    ]
    failed["categories"] = pd.Series([c for c, _ in found], index=failed.index, dtype=object)
    failed["source"] = [s for _, s in found]
    return failed


def _counted(values: pd.Series) -> str:
    """``a (2), b (1)``: each value with how often it occurs, most frequent first."""
    counts = values.value_counts()
    return ", ".join(f"{v} ({n})" for v, n in sorted(counts.items(), key=lambda vn: (-vn[1], str(vn[0]))))


EXAMPLES = 3  # transcripts linked per category


def taxonomy(frame: pd.DataFrame) -> pd.DataFrame:
    """Per failure category: the failing attempts that show it, where the category comes from (``from``), their
    share of the failing attempts, how many per model and per framework / path, one example reason, and the keys
    of up to three example attempts (``examples``, for links to their transcripts)."""
    failed = failures(frame)
    rows = []
    tagged = list(zip(failed["categories"], failed["source"], strict=True))
    for category, source in sorted({(c, s) for cats, s in tagged for c in cats}):
        hit = failed[[category in cats and s == source for cats, s in tagged]]
        example = next(
            (
                r
                for reasons, v in zip(hit["reasons"], hit["verdict"], strict=True)
                for r in reasons
                if source == FROM_TRANSCRIPT or categorize(r, v) == category
            ),
            "",
        )
        rows.append(
            {
                "category": category,
                "from": source,
                "attempts": len(hit),
                "share of failures": len(hit) / len(failed),
                "models": _counted(hit["model"]),
                "stacks": _counted(hit["stack"]),
                "example": example,
                "examples": list(hit["key"].head(EXAMPLES)),
            }
        )
    columns = ["category", "from", "attempts", "share of failures", "models", "stacks", "example", "examples"]
    return pd.DataFrame(rows, columns=columns).sort_values(
        ["attempts", "category"], ascending=[False, True], ignore_index=True
    )


# -- safety and controls -----------------------------------------------------------------------------------------

DENIAL_TAGS = ("scope-denial", "denial")
INJECTION_TAGS = ("prompt-injection", "injection")


def _tagged(frame: pd.DataFrame, tags: tuple[str, ...]) -> pd.Series:
    return pd.Series([any(t in tags for t in row_tags) for row_tags in frame["tags"]], index=frame.index, dtype=bool)


def false_claims(frame: pd.DataFrame) -> pd.Series:
    """Rows whose answer claimed a success that did not happen, by the transcript taxonomy or by the verdict's
    reasons."""
    return pd.Series(
        [
            FALSE_CLAIM in (found or ()) or any(categorize(r, v) == "answer: false success claim" for r in reasons)
            for found, reasons, v in zip(frame["failures"], frame["reasons"], frame["verdict"], strict=True)
        ],
        index=frame.index,
        dtype=bool,
    )


def safety_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per framework / path: scope denials handled, prompt injections resisted (ok / attempts of the scenarios
    so tagged), destructive tool calls (NaN when the rows predate the count) and false success claims."""
    denial, injection, claims = _tagged(frame, DENIAL_TAGS), _tagged(frame, INJECTION_TAGS), false_claims(frame)
    rows = []
    for stack, group in frame.groupby("stack"):
        d, i = group[denial[group.index]], group[injection[group.index]]
        destructive = group["destructive_calls"]
        rows.append(
            {
                "stack": stack,
                "denial ok": int(d["ok"].sum()),
                "denial attempts": len(d),
                "injection ok": int(i["ok"].sum()),
                "injection attempts": len(i),
                "destructive calls": float(destructive.sum()) if destructive.notna().all() else float("nan"),
                "false success claims": int(claims[group.index].sum()),
            }
        )
    return pd.DataFrame(rows)


def control_word(verdicts: list[str]) -> str:
    """A control cell's attempts in a word: "caught" when every attempt failed, "caught 1/3" when some did (a
    fault the policy makes on a share of its attempts), else what the attempts were ("not caught", "error")."""
    failed = sum(v == Outcome.FAIL for v in verdicts)
    if failed == len(verdicts):
        return "caught"
    if failed:
        return f"caught {failed}/{len(verdicts)}"
    return "/".join(sorted({"error" if v == Outcome.ERROR else "not caught" for v in verdicts}))


def control_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """The negative controls: rows scenario · model, columns framework / path, values :func:`control_word`."""
    keyed = frame.assign(row=frame["scenario"] + " · " + frame["model"])
    table = keyed.groupby(["row", "stack"])["verdict"].agg(lambda v: control_word(list(v))).unstack("stack")
    return table.rename_axis(index=None, columns=None).astype(object).where(table.notna(), None)


def controls_caught(frame: pd.DataFrame) -> tuple[int, int]:
    """(control cells with a failed attempt, control cells)."""
    failed = controls(frame).assign(failed=lambda f: f["verdict"].eq(Outcome.FAIL)).groupby(CELL)["failed"].any()
    return int(failed.sum()), len(failed)


# -- trend against a baseline ------------------------------------------------------------------------------------

STACK = ["stack", "model"]
CALLS = ("regression", "improvement", "within noise", "new", "removed")


@dataclass
class Trend:
    """This run's real matrix against a baseline's. A difference is called a regression or an improvement only
    when the exact test finds it significant (p < 0.05) for its framework / path and model; otherwise it is
    within noise, and changed cells are still listed (``cells``) with that label."""

    baseline_id: str
    stacks: pd.DataFrame  # per framework / path and model: rates before and after, test, p-value, call
    cells: pd.DataFrame  # per cell: ok / attempts before and after, labels, change, call
    metrics: pd.DataFrame  # per framework / path: medians before and after
    overall: Comparison  # the whole real matrix

    @property
    def regressions(self) -> pd.DataFrame:
        return self.stacks[self.stacks["call"] == "regression"]

    @property
    def improvements(self) -> pd.DataFrame:
        return self.stacks[self.stacks["call"] == "improvement"]

    @property
    def flips(self) -> pd.DataFrame:
        """The cells whose share of ok attempts moved, labelled with their stack's call."""
        return self.cells[self.cells["change"].isin(("worse", "better"))]

    def count(self, call: str) -> int:
        """Framework / path and model pairs with this call."""
        return int((self.stacks["call"] == call).sum())


def _rates(frame: pd.DataFrame, by: list[str]) -> dict[tuple[str, ...], Rate]:
    table = rate_table(frame, by)
    return {tuple(str(row[b]) for b in by): wilson(int(row["ok"]), int(row["attempts"])) for _, row in table.iterrows()}


def _stack_trend(current: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    before, after = _rates(baseline, STACK), _rates(current, STACK)
    rows = []
    for key in sorted(before.keys() | after.keys()):
        b, a = before.get(key), after.get(key)
        row: dict[str, Any] = dict(zip(STACK, key, strict=True))
        for when, rate in (("before", b), ("now", a)):
            row |= {
                f"ok {when}": rate.ok if rate else None,
                f"attempts {when}": rate.attempts if rate else None,
                f"rate {when}": rate.value if rate else float("nan"),
                f"low {when}": rate.low if rate else float("nan"),
                f"high {when}": rate.high if rate else float("nan"),
            }
        found = compare(b, a) if b and a else None
        row |= {
            "test": found.test if found else "",
            "p-value": found.p_value if found else float("nan"),
            "call": found.call if found else "new" if b is None else "removed",
        }
        rows.append(row)
    columns = [*STACK, *(f"{c} {w}" for w in ("before", "now") for c in ("ok", "attempts", "rate", "low", "high"))]
    return pd.DataFrame(rows, columns=[*columns, "test", "p-value", "call"])


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
    return "worse" if after < before else "better" if after > before else "same"


def _cell_call(change: str, stack_call: str) -> str:
    """A changed cell is a regression (improvement) only when its stack's significant change goes its way."""
    if change == "worse":
        return "regression" if stack_call == "regression" else "within noise"
    if change == "better":
        return "improvement" if stack_call == "improvement" else "within noise"
    return change


def trend(current: pd.DataFrame, baseline: pd.DataFrame, baseline_id: str) -> Trend:
    """The real matrix against a baseline run's: per framework / path and model, the pass counts compared with
    Fisher's exact test (a regression or improvement only when p < 0.05); per cell, what changed (``worse``,
    ``better``, ``same``, ``new``, ``removed``) and its ``call``."""
    now_rows, before_rows = real(current), real(baseline)
    stacks = _stack_trend(now_rows, before_rows)
    now, before = _per_cell(now_rows), _per_cell(before_rows)
    cells = before.merge(now, how="outer", left_index=True, right_index=True, suffixes=("_before", "_after"))
    rate_before, rate_after = cells["ok_before"] / cells["n_before"], cells["ok_after"] / cells["n_after"]
    cells["change"] = [_change(b, a) for b, a in zip(rate_before, rate_after, strict=True)]
    cells = cells.reset_index()
    cells["stack"] = cells["framework"] + " / " + cells["path"]
    calls = dict(zip(zip(stacks["stack"], stacks["model"], strict=True), stacks["call"], strict=True))
    cells["call"] = [
        _cell_call(change, calls.get((s, m), ""))
        for change, s, m in zip(cells["change"], cells["stack"], cells["model"], strict=True)
    ]
    overall = compare(rate_of(before_rows), rate_of(now_rows))
    return Trend(baseline_id, stacks, cells, _metric_trend(now_rows, before_rows), overall)


def _metric_trend(current: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    columns = {}
    for metric, label in METRICS.items():
        columns[f"{label} before"] = measured(baseline, metric).groupby(baseline["stack"]).median()
        columns[f"{label} now"] = measured(current, metric).groupby(current["stack"]).median()
    return pd.DataFrame(columns).rename_axis(index=None)


# -- provenance, environment and headline ------------------------------------------------------------------------


def _distinct(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values.dropna()}))


def _sampling(settings: pd.Series) -> str:
    """The sampling settings sent upstream, each with every value seen (``temperature 0.7; seed 1, 2``)."""
    seen: dict[str, set[str]] = {}
    for sent in settings:
        for name, value in sent.items():
            seen.setdefault(str(name), set()).add("unset" if value is None else str(value))
    return "; ".join(f"{name} {', '.join(sorted(values))}" for name, values in sorted(seen.items()))


def provenance(frame: pd.DataFrame) -> pd.DataFrame:
    """Where the numbers come from, per model: its role and kind, the world(s) it ran in, the endpoint host, the
    model id sent upstream, the sampling settings, and its attempts (and how many were replayed)."""
    roles = model_roles(frame)
    rows = []
    for model, role in roles.items():
        group = frame[frame["model"] == model]
        rows.append(
            {
                "model": model,
                "role": role,
                "kind": _distinct(group["model_kind"]),
                "world": _distinct(group["world"]) or "unknown",
                "host": _distinct(group["model_host"]),
                "upstream model": _distinct(group["upstream_model"]),
                "sampling": _sampling(group["sampling"]),
                "attempts": len(group),
                "replayed": int(replayed(group).sum()),
            }
        )
    return pd.DataFrame(rows)


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
    """The numbers a run is listed with in ``reports/index.html``. ``regressions`` / ``improvements``: framework /
    path and model pairs whose change is significant; ``cell_flips``: cells whose share of ok attempts moved."""
    matrix = real(frame)
    caught, total = controls_caught(frame)
    counts = matrix["verdict"].value_counts()
    started = frame["started_at"].dropna()
    rate = rate_of(matrix)
    flaky = flaky_cells(frame)
    return {
        "run_id": run_id,
        "started_at": str(started.min()) if len(started) else None,
        "world": _distinct(frame["world"]) or "unknown",
        "replayed": bool(replayed(frame).any()),
        "models": sorted(matrix["model"].unique()),
        "model_kinds": model_roles(frame),
        "cells": int(matrix.drop_duplicates(CELL).shape[0]),
        "attempts": len(matrix),
        "scenarios": int(matrix["scenario"].nunique()),
        "stacks": int(matrix["stack"].nunique()),
        "pass": int(counts.get(Outcome.PASS, 0)),
        "expected_unsupported": int(counts.get(Outcome.UNSUPPORTED, 0)),
        "fail": int(counts.get(Outcome.FAIL, 0)),
        "error": int(counts.get(Outcome.ERROR, 0)),
        "pass_rate": rate.value,
        "pass_rate_low": rate.low,
        "pass_rate_high": rate.high,
        "flaky_cells": int((~flaky["control"].astype(bool)).sum()),
        "flaky_control_cells": int(flaky["control"].astype(bool).sum()),
        "controls": total,
        "controls_caught": caught,
        "baseline": found_trend.baseline_id if found_trend else None,
        "significance_test": TEST if found_trend else None,
        "regressions": found_trend.count("regression") if found_trend else None,
        "improvements": found_trend.count("improvement") if found_trend else None,
        "cell_flips": len(found_trend.flips) if found_trend else None,
    }
