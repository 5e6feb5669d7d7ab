"""Latency of the sandbox's model server per request: chat, chat-stream, responses, responses-stream.

    .venv/bin/python bench/bench_model.py               # 400 requests per kind after 40 warm-up requests
    .venv/bin/python bench/bench_model.py --requests 50

No network at all: the model service's ASGI app is called in process through ``httpx.ASGITransport``, so the
figures are the server's own cost (request parsing and checks, the policy's decision, token counting, JSON or SSE
rendering), without sockets or a second process. Requests go one at a time.

Each request is a realistic mid-conversation turn: instructions, the user's request, the assistant's earlier tool
call and its result (a Composio-wrapped README), with the 17 tools of a Composio direct-tools session on offer; the
policy answers with text. Streaming requests read the whole SSE body. Reported per kind: requests, p50, p99, max
and mean latency in ms, and requests/s. Results are printed and written to ``bench/results/model.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any, cast

import httpx

from sandbox.model import create_service
from sandbox.service import ServiceContext

RESULTS = Path(__file__).resolve().parent / "results" / "model.json"
ORIGIN = "http://model.bench"
HEADERS = {"Authorization": "Bearer sandbox-model-key"}
ASK = "show me the README of acme/widgets"
ARGS = '{"workspace":"acme","repo_slug":"widgets","commit":"main","path":"README.md"}'
README = json.dumps(
    {
        "data": {
            "commit": "main",
            "path": "README.md",
            "size": 98,
            "data": "# Widgets\n\nThe widget service. Run `make test` before opening a PR.\n",
        },
        "error": None,
        "successful": True,
    }
)
SLUGS = (
    "CREATE_BRANCH",
    "CREATE_ISSUE",
    "CREATE_ISSUE_COMMENT",
    "CREATE_PULL_REQUEST",
    "CREATE_REPOSITORY",
    "CREATE_SNIPPET_COMMENT",
    "DELETE_ISSUE",
    "DELETE_REPOSITORY",
    "GET_CURRENT_USER",
    "GET_FILE_FROM_REPOSITORY",
    "GET_PULL_REQUEST",
    "GET_SNIPPET",
    "LIST_PULL_REQUESTS",
    "LIST_REPOSITORIES_IN_WORKSPACE",
    "LIST_WORKSPACE_MEMBERS",
    "LIST_WORKSPACES",
    "UPDATE_ISSUE",
)
SCHEMA = {
    "type": "object",
    "required": ["workspace", "repo_slug"],
    "properties": {
        k: {"type": "string", "description": f"The {k}."}
        for k in ("workspace", "repo_slug", "commit", "path", "name", "target_hash", "title", "content", "issue_id")
    },
}
KINDS = ("chat", "chat-stream", "responses", "responses-stream")


def chat_body(stream: bool) -> dict[str, Any]:
    tools = [
        {
            "type": "function",
            "function": {"name": f"BITBUCKET_{s}", "description": s.lower().replace("_", " "), "parameters": SCHEMA},
        }
        for s in SLUGS
    ]
    body: dict[str, Any] = {
        "model": "sandbox-reference",
        "tools": tools,
        "messages": [
            {"role": "system", "content": "You are a Bitbucket assistant."},
            {"role": "user", "content": ASK},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "BITBUCKET_GET_FILE_FROM_REPOSITORY", "arguments": ARGS},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": README},
        ],
    }
    return {**body, "stream": True, "stream_options": {"include_usage": True}} if stream else body


def responses_body(stream: bool) -> dict[str, Any]:
    tools = [
        {"type": "function", "name": f"BITBUCKET_{s}", "description": s.lower().replace("_", " "), "parameters": SCHEMA}
        for s in SLUGS
    ]
    return {
        "model": "sandbox-reference",
        "instructions": "You are a Bitbucket assistant.",
        "tools": tools,
        "stream": stream,
        "input": [
            {"role": "user", "content": ASK},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "BITBUCKET_GET_FILE_FROM_REPOSITORY",
                "arguments": ARGS,
            },
            {"type": "function_call_output", "call_id": "call_1", "output": README},
        ],
    }


REQUESTS = {
    "chat": ("/v1/chat/completions", chat_body(False)),
    "chat-stream": ("/v1/chat/completions", chat_body(True)),
    "responses": ("/v1/responses", responses_body(False)),
    "responses-stream": ("/v1/responses", responses_body(True)),
}


def _client() -> httpx.AsyncClient:
    # The model service uses nothing of its context but its own origin.
    ctx = cast(ServiceContext, type("Context", (), {"origin": ORIGIN})())
    app = create_service(ctx).asgi()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN, headers=HEADERS)


async def _measure(client: httpx.AsyncClient, kind: str, count: int) -> list[float]:
    path, body = REQUESTS[kind]
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        response = await client.post(path, json=body)
        await response.aread()
        timings.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200 or b"README.md" not in response.content:
            raise RuntimeError(f"{kind}: unexpected answer {response.status_code}: {response.text[:300]}")
    return timings


def _summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "requests": len(ordered),
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "max_ms": round(ordered[-1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
        "per_s": round(1000 / statistics.fmean(ordered), 1),
    }


async def _run(requests: int, warmup: int) -> dict[str, Any]:
    async with _client() as client:
        results = {}
        for kind in KINDS:
            await _measure(client, kind, warmup)
            results[kind] = _summary(await _measure(client, kind, requests))
    return results


def run_benchmark(requests: int = 400, warmup: int = 40) -> dict[str, Any]:
    return {"requests_per_kind": requests, "warmup": warmup, "kinds": asyncio.run(_run(requests, warmup))}


def table(results: dict[str, Any]) -> str:
    lines = [f"{'kind':<17}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'mean ms':>9}{'req/s':>8}"]
    for kind, s in results["kinds"].items():
        lines.append(
            f"{kind:<17}{s['requests']:>9}{s['p50_ms']:>9.2f}{s['p99_ms']:>9.2f}{s['max_ms']:>9.2f}"
            f"{s['mean_ms']:>9.2f}{s['per_s']:>8.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/bench_model.py")
    parser.add_argument("--requests", type=int, default=400, help="measured requests per kind (default 400)")
    parser.add_argument("--warmup", type=int, default=40, help="unmeasured requests per kind first (default 40)")
    args = parser.parse_args()
    if not 1 <= args.requests <= 100_000 or not 0 <= args.warmup <= 10_000:
        raise SystemExit("--requests must be 1-100000 and --warmup 0-10000")
    results = run_benchmark(args.requests, args.warmup)
    print(table(results))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
