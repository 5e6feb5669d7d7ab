"""Benchmark of the sandbox's MCP servers: tools/call latency over loopback, per server and transport mode.

    .venv/bin/python bench/bench_mcp.py            # 300 calls per client and level
    .venv/bin/python bench/bench_mcp.py --quick    # 40 calls (smoke runs)

Each client opens its own MCP session (initialize + notifications/initialized when the mode has sessions) and
then calls, back to back, the tool that reads acme/widgets' README at main: COMPOSIO_MULTI_EXECUTE_TOOL on the
Composio Tool Router (one BITBUCKET_GET_FILE_FROM_REPOSITORY inside) and bitbucketRepoContent ``files.get`` on
the Rovo server. Every call goes client -> MCP server -> loopback REST -> Bitbucket sandbox and back, so the
figures include the upstream hop. Levels: 1 and 8 concurrent clients. Reported: calls/s, p50/p99/max latency
in ms, errors; written as JSON to ``bench/results/mcp.json``. No target is enforced; the figures are for
comparing runs on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.routes import ROUTES
from harness.worlds import sandbox_world
from sandbox import Sandbox

RESULTS = Path(__file__).resolve().parent / "results" / "mcp.json"
LEVELS = (1, 8)
MODES = ("stateless-json", "stateful-sse")
PROTOCOL = "2025-06-18"
README_ARGS = {"workspace": "acme", "repo_slug": "widgets", "commit": "main", "path": "README.md"}


@dataclass
class Server:
    name: str
    url: str
    headers: dict[str, str]
    tool: str
    arguments: dict[str, Any]


@dataclass
class Level:
    server: str
    mode: str
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        return {
            "server": self.server,
            "mode": self.mode,
            "clients": self.clients,
            "calls": len(lat),
            "calls_per_s": round(len(lat) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(percentile(lat, 50), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "max_ms": round(lat[-1], 2) if lat else 0.0,
            "errors": self.errors,
        }


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(pct / 100 * len(values)) - 1))]


def reply(response: httpx.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        return dict(json.loads(data[-1]))
    return dict(response.json())


async def open_session(client: httpx.AsyncClient, server: Server) -> dict[str, str]:
    headers = {**server.headers, "Accept": "application/json, text/event-stream"}
    init = await client.post(
        server.url,
        headers=headers,
        json={
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        },
    )
    init.raise_for_status()
    if session := init.headers.get("mcp-session-id"):
        headers |= {"Mcp-Session-Id": session, "Mcp-Protocol-Version": PROTOCOL}
    (
        await client.post(server.url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    ).raise_for_status()
    return headers


async def run_client(server: Server, calls: int, level: Level) -> None:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        headers = await open_session(client, server)
        for n in range(calls):
            body = {
                "jsonrpc": "2.0",
                "id": n + 1,
                "method": "tools/call",
                "params": {"name": server.tool, "arguments": server.arguments},
            }
            start = time.perf_counter()
            response = await client.post(server.url, headers=headers, json=body)
            elapsed = (time.perf_counter() - start) * 1000
            ok = response.status_code == 200 and "# Widgets" in json.dumps(reply(response).get("result"))
            if ok:
                level.latencies_ms.append(elapsed)
            else:
                level.errors += 1
        if "Mcp-Session-Id" in headers:
            await client.delete(server.url, headers=headers)


async def run_level(server: Server, mode: str, clients: int, calls: int) -> Level:
    level = Level(server.name, mode, clients)
    start = time.perf_counter()
    await asyncio.gather(*(run_client(server, calls, level) for _ in range(clients)))
    level.seconds = time.perf_counter() - start
    return level


def servers(sb: Sandbox) -> list[Server]:
    """Both MCP routes, connected the way the harness connects them (``harness.routes``)."""
    world = sandbox_world(sb.info)
    composio = asyncio.run(ROUTES["composio"].connect(world.route("composio"), "full"))
    rovo = asyncio.run(ROUTES["rovo"].connect(world.route("rovo"), "full"))
    return [
        Server(
            "composio",
            composio.url,
            composio.headers,
            "COMPOSIO_MULTI_EXECUTE_TOOL",
            {"tools": [{"tool_slug": "BITBUCKET_GET_FILE_FROM_REPOSITORY", "arguments": README_ARGS}]},
        ),
        Server(
            "rovo",
            rovo.url,
            rovo.headers,
            "bitbucketRepoContent",
            {
                "action": "files.get",
                "workspaceId": "acme",
                "repoId": "widgets",
                "referenceOrSha": "main",
                "path": "README.md",
            },
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 calls per client instead of 300")
    args = parser.parse_args(argv)
    calls = 40 if args.quick else 300
    rows: list[dict[str, Any]] = []
    with Sandbox.start() as sb:
        for server in servers(sb):
            for mode in MODES:
                sb.admin.patch(f"/{server.name}/settings", json={"mcp_transport": mode}).raise_for_status()
                asyncio.run(run_level(server, mode, 1, 5))  # warm-up
                for clients in LEVELS:
                    rows.append(asyncio.run(run_level(server, mode, clients, calls)).summary())
                    r = rows[-1]
                    print(
                        f"{r['server']:9} {r['mode']:15} {r['clients']:3} clients  {r['calls_per_s']:7.1f} calls/s  "
                        f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  errors {r['errors']}",
                        flush=True,
                    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "calls_per_client": calls,
                "levels": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"JSON: {RESULTS}")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
