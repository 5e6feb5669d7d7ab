"""The MCP benchmark's client runs against both servers and times real tool calls (no timing assertions)."""

from __future__ import annotations

import asyncio

from bench.bench_mcp import run_level, servers
from sandbox import Sandbox


def test_mcp_benchmark_levels_complete_without_errors(sandbox: Sandbox) -> None:
    for server in servers(sandbox):
        level = asyncio.run(run_level(server, "default", clients=2, calls=3))
        summary = level.summary()
        assert (summary["server"], summary["calls"], summary["errors"]) == (server.name, 6, 0)
        assert 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
