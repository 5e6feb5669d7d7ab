"""The REST benchmark runs end to end: a short level at 2 clients completes requests without errors.

No timing assertions: this only guards the benchmark itself (bench/bench_rest.py) against rot.
"""

from __future__ import annotations

from bench.bench_rest import EXPECTED_STATUS, run_benchmark, table


def test_benchmark_runs_without_errors() -> None:
    results = run_benchmark(levels=[2], duration=1.0, warmup=0.2)
    (level,) = results["levels"]
    assert level["clients"] == 2
    assert level["overall"]["requests"] > 0
    assert level["reads"]["requests"] > 0
    assert level["overall"]["errors"] == 0, level["error_samples"]
    assert level["overall"]["requests"] == level["reads"]["requests"] + level["writes"]["requests"]
    assert set(level["per_operation"]) == set(EXPECTED_STATUS)
    assert results["target"]["status"] == "n/a"  # the target is checked at 16 clients only
    assert "2  overall" in table(results)
