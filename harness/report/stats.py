"""Statistics for attempts that vary (real models are not deterministic): Wilson intervals on pass rates, bootstrap
intervals over scenarios for pass^k, an exact test between two runs, and flaky cells. Pure functions over
:func:`harness.report.load_results` frames (one row per attempt, ``ok`` per row).

Every interval is 95%. The bootstrap uses a fixed seed, so the same run gives the same report every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb, nan

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

LEVEL = 0.95
ALPHA = 1 - LEVEL  # also the significance level of the comparison between runs
SEED = 20260101
RESAMPLES = 4000
TEST = "Fisher's exact test (two-sided)"
CELL = ["scenario", "framework", "path", "model"]  # a cell without its attempt number


# -- pass rates ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """ok attempts out of attempts, with the Wilson 95% interval (NaN without attempts)."""

    ok: int
    attempts: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.ok / self.attempts if self.attempts else nan


def wilson(ok: int, attempts: int) -> Rate:
    """The pass rate ``ok / attempts`` with its Wilson score interval (sound near 0 and 1 and for few attempts,
    where the normal approximation is not)."""
    if attempts <= 0:
        return Rate(ok, 0, nan, nan)
    low, high = proportion_confint(ok, attempts, alpha=ALPHA, method="wilson")
    return Rate(int(ok), int(attempts), float(low), float(high))


def rate_of(frame: pd.DataFrame) -> Rate:
    """The pass rate of every attempt in ``frame``."""
    return wilson(int(frame["ok"].sum()), len(frame))


def rate_table(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by``: cells, attempts, ok attempts, the pass rate (ok / attempts) and its Wilson interval
    (columns ``rate``, ``low``, ``high``)."""
    columns = [*by, "cells", "attempts", "ok", "rate", "low", "high"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(by, sort=True)
    table = grouped["ok"].agg(attempts="size", ok="sum")
    table.insert(0, "cells", frame.drop_duplicates(CELL).groupby(by, sort=True).size())
    low, high = proportion_confint(table["ok"], table["attempts"], alpha=ALPHA, method="wilson")
    table["rate"] = table["ok"] / table["attempts"]
    table["low"], table["high"] = low, high
    return table.reset_index()[columns]


# -- pass^k -------------------------------------------------------------------------------------------------------


def pass_hat_k(n: int, c: int, k: int) -> float:
    """The chance that k attempts drawn from n (c of them ok) are all ok: C(c, k) / C(n, k) (tau-bench's pass^k,
    unbiased)."""
    return comb(c, k) / comb(n, k)


def bootstrap_mean(values: Sequence[float], seed: int = SEED) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of the mean of ``values`` (one per scenario), resampling them with
    replacement; NaN for fewer than two values (one scenario says nothing about the spread over scenarios)."""
    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return nan, nan
    found = sps.bootstrap(
        (data,),
        np.mean,
        confidence_level=LEVEL,
        n_resamples=RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(found.confidence_interval.low), float(found.confidence_interval.high)


def pass_hat_k_interval(counts: Sequence[tuple[int, int]], k: int, seed: int = SEED) -> tuple[float, float, float]:
    """pass^k over scenarios given as (attempts, ok) pairs: (mean, bootstrap low, bootstrap high)."""
    values = [pass_hat_k(n, c, k) for n, c in counts]
    return (float(np.mean(values)), *bootstrap_mean(values, seed)) if values else (nan, nan, nan)


# -- two runs -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Two pass counts compared with an exact test: ``call`` is "regression" or "improvement" only when the
    difference is significant (p < 0.05), else "within noise"."""

    before: Rate
    after: Rate
    p_value: float
    test: str = TEST

    @property
    def call(self) -> str:
        if not (self.p_value < ALPHA):
            return "within noise"
        return "regression" if self.after.value < self.before.value else "improvement"


def compare(before: Rate, after: Rate) -> Comparison:
    """Fisher's exact test on the 2x2 table (ok, not ok) x (before, after): exact for any number of attempts,
    where a chi-squared test would need many."""
    if not before.attempts or not after.attempts:
        return Comparison(before, after, nan)
    table = [[before.ok, before.attempts - before.ok], [after.ok, after.attempts - after.ok]]
    return Comparison(before, after, float(sps.fisher_exact(table).pvalue))


# -- flaky cells --------------------------------------------------------------------------------------------------


def flaky_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """The cells whose attempts disagree (some ok, some not), each with its attempts' verdicts and keys in attempt
    order; columns ``scenario``, ``framework``, ``path``, ``model``, ``stack``, ``control``, ``attempts``, ``ok``,
    ``verdicts``, ``keys``."""
    columns = [*CELL, "stack", "control", "attempts", "ok", "verdicts", "keys"]
    per_cell = frame.groupby(CELL)["ok"]
    ok, attempts = per_cell.transform("sum"), per_cell.transform("size")
    mixed = frame[(ok > 0) & (ok < attempts)]
    if mixed.empty:
        return pd.DataFrame(columns=columns)
    cells = (
        mixed.sort_values("attempt")
        .groupby(CELL, sort=True)
        .agg(
            stack=("stack", "first"),
            control=("control", "first"),
            attempts=("ok", "size"),
            ok=("ok", "sum"),
            verdicts=("verdict", lambda v: [str(x) for x in v]),
            keys=("key", list),
        )
        .reset_index()
    )
    return cells[columns]
