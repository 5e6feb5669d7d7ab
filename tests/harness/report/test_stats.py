"""The statistics on known inputs: Wilson intervals against the formula, pass^k and its bootstrap interval, the exact
test between runs, and flaky cells."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import pandas as pd
import pytest

from harness.report import load_results
from harness.report import stats as st
from tests.harness.report import synth

Z = NormalDist().inv_cdf(0.975)


def wilson_by_hand(ok: int, n: int) -> tuple[float, float]:
    """The Wilson score interval from its formula (Wilson 1927), independently of the library."""
    p = ok / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def frame_of(rows: list[dict[str, object]], tmp_path: Path) -> pd.DataFrame:
    return load_results(synth.write_run(tmp_path, "r", rows))


@pytest.mark.parametrize(
    ("ok", "n", "published"),
    [(7, 10, (0.3968, 0.8922)), (0, 5, (0.0, 0.4345)), (10, 10, (0.7225, 1.0)), (1, 2, (0.0945, 0.9055))],
)
def test_wilson_matches_the_formula_and_published_values(ok: int, n: int, published: tuple[float, float]) -> None:
    rate = st.wilson(ok, n)
    assert (rate.ok, rate.attempts, rate.value) == (ok, n, ok / n)
    assert (rate.low, rate.high) == pytest.approx(wilson_by_hand(ok, n), abs=1e-9)
    assert (rate.low, rate.high) == pytest.approx(published, abs=5e-5)


def test_wilson_is_not_the_normal_approximation() -> None:
    """Where the normal (Wald) interval collapses to a point (0 of 5), Wilson's still says how little 5 attempts
    show; a Wald implementation would fail the check above with (0, 0)."""
    wald_half = Z * math.sqrt(0 * 1 / 5)
    assert wald_half == 0 and st.wilson(0, 5).high > 0.4
    assert math.isnan(st.wilson(0, 0).low) and math.isnan(st.wilson(0, 0).value)


def test_rate_table_counts_cells_attempts_and_intervals(tmp_path: Path) -> None:
    verdicts = ["pass"] * 7 + ["fail"] * 3
    rows = [synth.row("a", "autogen", "rovo", v, attempt=k) for k, v in enumerate(verdicts, start=1)]
    rows += [synth.row(s, "pydantic-ai", "rovo", "fail") for s in ("a", "b", "c", "d", "e")]
    table = st.rate_table(frame_of(rows, tmp_path), ["stack"]).set_index("stack")
    assert table.loc["autogen / rovo", ["cells", "attempts", "ok"]].tolist() == [1, 10, 7]
    assert table.loc["pydantic-ai / rovo", ["cells", "attempts", "ok"]].tolist() == [5, 5, 0]
    assert (table.loc["autogen / rovo", "low"], table.loc["autogen / rovo", "high"]) == pytest.approx(
        wilson_by_hand(7, 10)
    )
    assert table.loc["pydantic-ai / rovo", "high"] == pytest.approx(wilson_by_hand(0, 5)[1])


def test_pass_hat_k_is_the_unbiased_estimate() -> None:
    assert st.pass_hat_k(3, 2, 1) == pytest.approx(2 / 3)
    assert st.pass_hat_k(3, 2, 2) == pytest.approx(1 / 3)  # C(2,2)/C(3,2)
    assert st.pass_hat_k(3, 2, 3) == 0
    assert st.pass_hat_k(5, 5, 4) == 1


def test_bootstrap_intervals_are_reproducible_and_hold_the_estimate() -> None:
    counts = [(3, 3), (3, 2), (3, 3), (3, 0), (3, 1), (3, 3)]  # (attempts, ok) per scenario
    estimate, low, high = st.pass_hat_k_interval(counts, 2)
    assert estimate == pytest.approx((1 + 1 / 3 + 1 + 0 + 0 + 1) / 6)
    assert 0 <= low < estimate < high <= 1
    assert st.pass_hat_k_interval(counts, 2) == (estimate, low, high)  # the fixed seed: the same every time
    other = st.pass_hat_k_interval(counts, 2, seed=7)
    assert other[0] == estimate and other[1:] != (low, high)  # the seed is what makes it repeatable
    values = [st.pass_hat_k(n, c, 2) for n, c in counts]
    assert st.bootstrap_mean(values) == (low, high)


def test_bootstrap_edge_cases() -> None:
    assert st.bootstrap_mean([1.0, 1.0, 1.0]) == (1.0, 1.0)  # no spread over scenarios, no width
    assert all(math.isnan(v) for v in st.bootstrap_mean([0.5]))  # one scenario says nothing about the spread
    assert all(math.isnan(v) for v in st.pass_hat_k_interval([], 1))


def hypergeometric_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Fisher's exact p-value of [[a, b], [c, d]] by enumeration: the tables with the same margins that are no more
    likely than the observed one."""
    row, col, total = a + b, a + c, a + b + c + d

    def prob(x: int) -> float:
        return math.comb(col, x) * math.comb(total - col, row - x) / math.comb(total, row)

    observed = prob(a)
    return sum(prob(x) for x in range(max(0, row + col - total), min(row, col) + 1) if prob(x) <= observed * 1.0000001)


def test_a_clear_difference_is_called_with_its_p_value() -> None:
    found = st.compare(st.wilson(20, 20), st.wilson(0, 20))
    assert found.p_value == pytest.approx(2 / math.comb(40, 20))
    assert (found.call, found.test) == ("regression", "Fisher's exact test (two-sided)")
    assert st.compare(st.wilson(0, 20), st.wilson(20, 20)).call == "improvement"
    moderate = st.compare(st.wilson(9, 9), st.wilson(2, 9))
    assert moderate.p_value == pytest.approx(hypergeometric_two_sided(9, 0, 2, 7)) and moderate.p_value < 0.01
    assert moderate.call == "regression"


def test_a_single_flip_is_within_noise() -> None:
    flip = st.compare(st.wilson(1, 1), st.wilson(0, 1))
    assert (flip.p_value, flip.call) == (1.0, "within noise")
    assert st.compare(st.wilson(3, 3), st.wilson(2, 3)).call == "within noise"
    near = st.compare(st.wilson(10, 10), st.wilson(6, 10))  # 100% -> 60% on ten attempts: p = 0.087
    assert near.p_value == pytest.approx(hypergeometric_two_sided(10, 0, 6, 4)) and near.call == "within noise"
    assert math.isnan(st.compare(st.wilson(0, 0), st.wilson(1, 1)).p_value)


def test_flaky_cells_are_the_cells_whose_attempts_disagree(tmp_path: Path) -> None:
    outcomes = {
        ("flaky", "autogen"): ["pass", "fail", "pass"],
        ("stable", "autogen"): ["pass", "pass", "pass"],
        ("broken", "autogen"): ["fail", "error", "fail"],  # never ok: not flaky, just failing
        ("ok-both-ways", "autogen"): ["pass", "expected-unsupported", "pass"],
        ("flaky", "pydantic-ai"): ["error", "pass", "pass"],
    }
    rows = [
        synth.row(scenario, framework, "rovo", v, attempt=k)
        for (scenario, framework), verdicts in outcomes.items()
        for k, v in enumerate(verdicts, start=1)
    ]
    found = st.flaky_cells(frame_of(rows[::-1], tmp_path))  # the order of the file does not matter
    assert list(zip(found["scenario"], found["stack"], strict=True)) == [
        ("flaky", "autogen / rovo"),
        ("flaky", "pydantic-ai / rovo"),
    ]
    assert found["verdicts"].tolist() == [["pass", "fail", "pass"], ["error", "pass", "pass"]]
    assert found["keys"].iloc[0] == [f"flaky/autogen/rovo/{synth.MODEL}/{k}" for k in (1, 2, 3)]
    assert (found["ok"].tolist(), found["attempts"].tolist()) == ([2, 2], [3, 3])
    assert st.flaky_cells(frame_of(rows[3:6], tmp_path / "stable")).empty
