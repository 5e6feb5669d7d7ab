"""Two runs of the same conversation produce byte-identical client-side HTTP traffic (request and response
bodies, as vcrpy records them), which is what lets cassettes be matched on bodies and re-recorded without churn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import vcr

from sandbox import Sandbox
from tests.sandbox.model.drivers import agents_hosted, composio_path, pydantic_ai, rovo_path

TURNS = [
    "create a branch feature/twice off main in acme/widgets",
    "open a pull request for my feature",
    "show me the README",
]
Exchange = tuple[str, str, Any, int, Any]


def capture(sb: Sandbox, cassette: Path, run: Callable[[], None]) -> list[Exchange]:
    """Every POST the client process made during ``run`` (MCP's GET streams and DELETEs are transport noise)."""
    sb.reset()
    with vcr.VCR(record_mode="all").use_cassette(str(cassette)) as recorded:
        run()
    pairs = zip(recorded.requests, recorded.responses, strict=True)
    return [
        (r.method, r.uri, r.body, resp["status"]["code"], resp["body"]["string"])
        for r, resp in pairs
        if r.method == "POST"
    ]


@pytest.mark.parametrize("setup", ["pydantic-ai-rovo", "agents-hosted-composio"])
def test_two_runs_are_byte_identical(sandbox: Sandbox, tmp_path: Path, setup: str) -> None:
    def run() -> None:
        model_api = sandbox.urls["model_api"]
        if setup == "pydantic-ai-rovo":
            asyncio.run(pydantic_ai(model_api, "sandbox-reference", rovo_path(sandbox), TURNS))
        else:
            asyncio.run(agents_hosted(model_api, "sandbox-reference", composio_path(sandbox), TURNS))

    first = capture(sandbox, tmp_path / "first.yaml", run)
    second = capture(sandbox, tmp_path / "second.yaml", run)
    model_calls = [e for e in first if "/v1/" in e[1]]
    assert len(model_calls) >= len(TURNS)
    assert len(first) == len(second)
    for one, two in zip(first, second, strict=True):
        assert one == two, f"{one[0]} {one[1]} differs between runs"
