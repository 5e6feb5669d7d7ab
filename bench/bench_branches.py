"""Benchmark: the cost of one page of GET .../refs/branches as a repository grows from 2 to 1,000 branches.

    .venv/bin/python bench/bench_branches.py            # 400 timed requests per size
    .venv/bin/python bench/bench_branches.py --quick    # 100 (smoke runs)

A page should cost the same whatever the number of branches: the emulator cuts the list to the page before it
renders branches (sandbox.bitbucket.context.Ctx.page). So that the pages compare like with like, each size is
timed on pages of 2 branches (``pagelen=2``: the smallest repository's whole list), and the default page (10
branches) is reported beside them. The sandbox runs in its own process (``Sandbox.start()``); one client sends the
requests back to back over one keep-alive connection to 127.0.0.1. Per size it reports the latency (p50/p90 in ms)
and the sandbox's CPU time per request (from /proc, which the client's own costs do not touch); the verdict
compares the CPU per 2-branch page at the largest size with the smallest: at most ``--max-ratio`` (1.5 by
default) is a flat cost. Results go to ``bench/results/branches.json``;
``--strict`` makes a missed target exit with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.bench_rest import EMAIL, REPO, TOKEN, Connection, _proc_cpu_seconds, percentile, serialize
from bench.report import publish
from sandbox import Sandbox

SIZES = (2, 1000)  # the default world has 2 branches (main, feature/login)
RESULTS = Path(__file__).resolve().parent / "results" / "branches.json"
MAX_RATIO = 1.5
MAX_REQUESTS = 100_000


class BenchError(RuntimeError):
    pass


async def _grow(conn: Connection, host: str, auth: str, head: str, total: int, have: int) -> int:
    """Create branches off ``head`` until the repository has ``total``; returns how many it has."""
    for n in range(have, total):
        body = json.dumps({"name": f"bench/branch-{n:05d}", "target": {"hash": head}}).encode()
        status, text = await conn.request(
            serialize("POST", f"{REPO}/refs/branches", host, auth, body, "application/json")
        )
        if status != 201:
            raise BenchError(f"creating branch {n}: {status} {text[:200]!r}")
    return max(have, total)


async def _time_pages(conn: Connection, host: str, auth: str, requests: int, pid: int, query: str) -> dict[str, Any]:
    raw = serialize("GET", f"{REPO}/refs/branches{query}", host, auth)
    status, body = await conn.request(raw)  # warm the caches
    if status != 200:
        raise BenchError(f"GET refs/branches answered {status}: {body[:200]!r}")
    size = json.loads(body)["size"]
    latencies = []
    cpu0 = _proc_cpu_seconds(pid)
    for _ in range(min(requests, MAX_REQUESTS)):
        start = time.perf_counter()
        status, body = await conn.request(raw)
        latencies.append(time.perf_counter() - start)
        if status != 200:
            raise BenchError(f"GET refs/branches answered {status}")
    cpu1 = _proc_cpu_seconds(pid)
    ordered = sorted(latencies)
    return {
        "branches": size,
        "requests": len(ordered),
        "p50_ms": round(percentile(ordered, 50) * 1000, 3),
        "p90_ms": round(percentile(ordered, 90) * 1000, 3),
        "server_cpu_ms_per_request": round((cpu1 - cpu0) / len(ordered) * 1000, 3)
        if cpu0 is not None and cpu1 is not None
        else None,
    }


async def _run(sb: Sandbox, sizes: Sequence[int], requests: int) -> list[dict[str, Any]]:
    parts = urlsplit(sb.urls["bitbucket_api"])
    host_name, port = parts.hostname or "", parts.port or 80
    host = f"{host_name}:{port}"
    auth = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    conn = Connection(host_name, port)
    try:
        status, body = await conn.request(serialize("GET", f"{REPO}/refs/branches/main", host, auth))
        if status != 200:
            raise BenchError(f"GET refs/branches/main answered {status}: {body[:200]!r}")
        head = json.loads(body)["target"]["hash"]
        have, out = 2, []
        for size in sorted(sizes):
            have = await _grow(conn, host, auth, head, size, have)
            same = await _time_pages(conn, host, auth, requests, sb.process.pid, "?pagelen=2")
            default = await _time_pages(conn, host, auth, requests, sb.process.pid, "")
            out.append({**same, "default_page": default})
        return out
    finally:
        conn.close()


def check(levels: Sequence[dict[str, Any]], max_ratio: float) -> dict[str, Any]:
    small, large = levels[0], levels[-1]
    measure = "server_cpu_ms_per_request" if small["server_cpu_ms_per_request"] else "p50_ms"
    ratio = large[measure] / max(small[measure], 1e-9)
    return {
        "measure": measure,
        "ratio": round(ratio, 2),
        "max_ratio": max_ratio,
        "status": "PASS" if ratio <= max_ratio else "FAIL",
    }


def run_benchmark(sizes: Sequence[int] = SIZES, requests: int = 400, max_ratio: float = MAX_RATIO) -> dict[str, Any]:
    if len(sizes) < 2 or any(not 2 <= s <= 10_000 for s in sizes) or not 1 <= requests <= MAX_REQUESTS:
        raise ValueError("sizes: at least two, each 2 to 10,000; requests: 1 to 100,000")
    with Sandbox.start() as sb:
        levels = asyncio.run(_run(sb, sizes, requests))
    return {
        "meta": {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "requests_per_size": requests,
            "command": ".venv/bin/python bench/bench_branches.py",
        },
        "levels": levels,
        "target": check(levels, max_ratio),
    }


def table(results: dict[str, Any]) -> str:
    lines = [f"{'branches':>9} {'page':>8} {'p50 ms':>8} {'p90 ms':>8} {'sandbox CPU ms/request':>23}"]
    for lv in results["levels"]:
        for page, m in (("2", lv), ("default", lv["default_page"])):
            lines.append(
                f"{lv['branches']:>9} {page:>8} {m['p50_ms']:>8.2f} {m['p90_ms']:>8.2f} "
                f"{m['server_cpu_ms_per_request']!s:>23}"
            )
    t = results["target"]
    lines.append(f"cost ratio largest/smallest ({t['measure']}): {t['ratio']} (<= {t['max_ratio']}) -> {t['status']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_branches.py", description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true", help="100 timed requests per size (smoke runs)")
    p.add_argument("--requests", type=int, default=None, help="timed requests per size (default 400)")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="branch counts, e.g. 2,100,1000")
    p.add_argument("--max-ratio", type=float, default=MAX_RATIO)
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument("--strict", action="store_true", help="exit 1 when the cost is not flat")
    args = p.parse_args(argv)
    requests = args.requests or (100 if args.quick else 400)
    try:
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
        results = run_benchmark(sizes, requests, args.max_ratio)
    except ValueError as exc:
        p.error(str(exc))
    publish(results, args.output, table(results))
    return 1 if args.strict and results["target"]["status"] == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
