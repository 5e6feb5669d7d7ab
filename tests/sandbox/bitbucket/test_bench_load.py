"""The load test (bench/bench_load.py) runs end to end and its audit finds a write that is not there.

No timing assertions: this guards the benchmark against rot and shows its audit is not vacuous.
"""

from __future__ import annotations

import asyncio

from bench.bench_load import Acked, _target, audit, run_load, table
from sandbox import Sandbox


def test_load_with_kill_and_restart_loses_no_acknowledged_write() -> None:
    results = run_load(clients=4, duration=1.0, write_ratio=0.5)
    assert results["requests"] > 0 and results["unexpected_answers"] == 0, results["error_samples"]
    assert sum(results["acknowledged_writes"].values()) > 0
    assert results["lost_acknowledged_writes"] == 0, results["lost_samples"]
    assert results["server_cpu_us_per_request"] is None or results["server_cpu_us_per_request"] > 0
    assert "lost acknowledged writes: 0" in table(results)


def test_audit_reports_writes_that_are_missing_or_different(sandbox: Sandbox) -> None:
    t = _target(sandbox, "audit")
    acked = Acked(
        branch=[("main", "0" * 40), ("no-such-branch", "1" * 40)],
        comment=[(999_999, "never written")],
        issue=[(1, "Crash on empty widget name"), (2, "a different title")],
        commit=[("main", "README.md", "not the readme\n", "2" * 40)],
    )
    lost = asyncio.run(audit(t, acked))
    assert any(line.startswith("branch main") for line in lost)
    assert any(line.startswith("branch no-such-branch") for line in lost)
    assert "comment 999999" in lost
    assert any(line.startswith("issue 2") for line in lost) and not any(line.startswith("issue 1") for line in lost)
    assert sum(1 for line in lost if "README.md" in line) == 2
    assert len(lost) == 6
