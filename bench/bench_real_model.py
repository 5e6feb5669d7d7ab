"""Benchmark of a real-model cell: where its wall time goes (the model, or the harness), and what the model's prompt
cache is worth.

    .venv/bin/python -m bench.bench_real_model                      # the local model (the local-model extra)
    .venv/bin/python -m bench.bench_real_model --cells 3 --uncached-cells 1 --framework openai-agents-client \
        --path composio --strict                                     # exit 1 when the target is missed

A timing proxy stands between the frameworks and the model's endpoint and adds up the time of every model request
(from the request to the last byte of the answer, streamed or not). A cell's model time is that sum; its harness
time is the rest of the cell's wall time (arranging the repository, MCP, recording, reading the state back,
scoring, the frameworks' own work). Target: harness time <= 5% of the cell. The same cells run twice more with
the prompt cache on and off (the proxy adds ``cache_prompt: false`` to each request, llama-server's switch), for
the throughput (cells per hour, prompt tokens per second) of each. The cells run in this process, so the first
one's harness time includes importing the frameworks (as a worker's first cell does). Without the cache a cell
that loops re-reads its whole conversation on every request (tens of thousands of tokens: many minutes), hence
``--uncached-cells``; Ctrl-C reports the cells measured so far. JSON in ``bench/results/real_model.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from harness.models import Catalog, ModelSpec, Sampling
from harness.runner.matrix import Cell
from harness.runner.session import furnished
from harness.runner.worker import CellJob, run_cell
from harness.scenarios import load_scenario
from harness.vocab import ROUTES
from sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "core-fetch-readme.yaml"
RESULTS = Path(__file__).resolve().parent / "results" / "real_model.json"
TARGET_SHARE = 0.05
LOCAL = "qwen2.5-coder-1.5b"


@dataclass
class TimingProxy:
    """Forwards /v1/... to ``upstream`` and adds up how long each answer took."""

    upstream: str
    cache: bool = True
    seconds: float = 0.0
    requests: int = 0
    prompt_tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/{rest:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> StreamingResponse:
        body = await request.body()
        if not self.cache and body:
            body = json.dumps({**json.loads(body), "cache_prompt": False}).encode()
        started = time.perf_counter()
        client = httpx.AsyncClient(timeout=1800, trust_env=False)
        upstream = await client.send(
            client.build_request(
                request.method,
                f"{self.upstream}/{request.path_params['rest']}",
                content=body,
                headers={k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")},
            ),
            stream=True,
        )

        async def relay() -> AsyncIterator[bytes]:
            chunks = []
            try:
                async for chunk in upstream.aiter_raw():
                    chunks.append(chunk)
                    yield chunk
            finally:
                await upstream.aclose()
                await client.aclose()
                self._count(time.perf_counter() - started, b"".join(chunks))

        return StreamingResponse(
            relay(), status_code=upstream.status_code, media_type=upstream.headers.get("content-type")
        )

    def _count(self, seconds: float, answer: bytes) -> None:
        with self.lock:
            self.seconds += seconds
            self.requests += 1
            for line in answer.decode(errors="replace").splitlines():  # JSON, or the usage chunk of a stream
                text = line.removeprefix("data: ")
                if '"prompt_tokens"' in text:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        self.prompt_tokens += int(json.loads(text)["usage"]["prompt_tokens"])


def serve(app: Starlette) -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def cells(
    sandbox: Sandbox,
    proxy: TimingProxy,
    stack: tuple[str, str],
    count: int,
    tmp: Path,
    tag: str,
    found: list[dict[str, Any]],
) -> None:
    """``count`` cells of the scenario with the model behind the proxy; each cell's wall and model time is added
    to ``found`` as soon as it is measured."""
    url = serve(proxy.app())
    spec = ModelSpec(name="bench-local", base_url=url, sampling=Sampling(max_tokens=512))
    scenario = load_scenario(SCENARIO)
    world = furnished(sandbox, [scenario], Catalog({spec.name: spec}), [spec.name], {})
    for n in range(1, count + 1):
        before_s, before_n, before_t = proxy.seconds, proxy.requests, proxy.prompt_tokens
        job = CellJob(
            Cell(scenario.id, *stack, spec.name, n),
            scenario,
            str(SCENARIO),
            world,
            "all",
            tmp / tag / "cassettes",
            tmp / tag / "transcripts",
            "bench",
            1800.0,
        )
        started = time.perf_counter()
        row = run_cell(job)
        wall = time.perf_counter() - started
        model = proxy.seconds - before_s
        found.append(
            {
                "cell": n,
                "verdict": row.verdict.value,
                "wall_s": round(wall, 2),
                "model_s": round(model, 2),
                "harness_s": round(wall - model, 2),
                "harness_share": round((wall - model) / wall, 4),
                "model_requests": proxy.requests - before_n,
                "prompt_tokens": proxy.prompt_tokens - before_t,
            }
        )
        print(f"  {tag} cell {n}: {found[-1]}", flush=True)


def summary(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    wall = sum(r["wall_s"] for r in rows)
    return {
        "cells": len(rows),
        "wall_s": round(wall, 1),
        "median_harness_share": statistics.median(r["harness_share"] for r in rows),
        "cells_per_hour": round(3600 * len(rows) / wall, 1),
        "prompt_tokens_per_s": round(sum(r["prompt_tokens"] for r in rows) / sum(r["model_s"] for r in rows), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=3, help="cells per condition")
    parser.add_argument("--uncached-cells", type=int, default=None, help="cells with the cache off (default --cells)")
    parser.add_argument("--framework", default="pydantic-ai")
    parser.add_argument("--path", default="rovo", choices=ROUTES, help="MCP path (composio's prompt is shorter)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the harness share misses the target")
    args = parser.parse_args()
    stack = (args.framework, args.path)
    cached: list[dict[str, Any]] = []
    uncached: list[dict[str, Any]] = []
    try:
        with Sandbox.start(local_model=LOCAL) as sandbox, tempfile.TemporaryDirectory() as tmp:
            upstream = sandbox.credentials["model"]["local"]["base_url"]
            cells(sandbox, TimingProxy(upstream), stack, args.cells, Path(tmp), "cache-on", cached)
            count = args.uncached_cells if args.uncached_cells is not None else args.cells
            cells(sandbox, TimingProxy(upstream, cache=False), stack, count, Path(tmp), "cache-off", uncached)
    except KeyboardInterrupt:  # a cell can take many minutes: what was measured is kept
        print("interrupted: the cells measured so far are reported", flush=True)
    return report(args, cached, uncached)


def report(args: argparse.Namespace, cached: list[dict[str, Any]], uncached: list[dict[str, Any]]) -> int:
    result = {
        "model": LOCAL,
        "framework": args.framework,
        "path": args.path,
        "scenario": SCENARIO.stem,
        "target_harness_share": TARGET_SHARE,
        "cache_on": summary(cached),
        "cache_off": summary(uncached),
        "cells": {"cache_on": cached, "cache_off": uncached},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"prompt cache on:  {result['cache_on']}")
    print(f"prompt cache off: {result['cache_off']}")
    if not cached:
        return 1
    share = statistics.median(r["harness_share"] for r in cached)
    verdict = "PASS" if share <= TARGET_SHARE else "MISS"
    print(f"harness share of a real-model cell: median {share:.1%} (target <= {TARGET_SHARE:.0%}): {verdict}")
    return 1 if args.strict and verdict == "MISS" else 0


if __name__ == "__main__":
    sys.exit(main())
