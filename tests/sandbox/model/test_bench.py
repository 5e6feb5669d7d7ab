"""The model benchmark runs end to end on a few requests (no timing assertions: this guards bench/bench_model.py
against rot)."""

from __future__ import annotations

from bench.bench_model import KINDS, run_benchmark, table


def test_benchmark_runs_every_kind() -> None:
    results = run_benchmark(requests=3, warmup=1)
    assert list(results["kinds"]) == list(KINDS)
    for summary in results["kinds"].values():
        assert summary["requests"] == 3 and 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    assert table(results).splitlines()[1].startswith("chat ")
