"""Two runs of the same conversation produce byte-identical client-side HTTP traffic (request and response
bodies, as vcrpy records them), which is what lets cassettes be matched on bodies and re-recorded without churn.

The one exception is by design: a Composio Tool Router session id is random and never handed out twice (a session
URL acts as its user, so a stale one must not reach someone else's session), and the model's ids, derived from
requests that name the session URL, follow it, as do its token counts by a few tokens. Those ids are replaced by the
order in which they first appear before comparing (so their pattern of reuse must still match), token counts are
left out, and the test checks that the session ids differed.
"""

from __future__ import annotations

import asyncio
import re
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
SESSION_ID = re.compile(r"trs_[A-Za-z0-9_-]{12}")
# The reference model derives its ids (resp_, msg_, fc_, ... + 24 hex digits) from the request, and a hosted-MCP
# request names the session's URL: with a new session id they are new ids too.
DERIVED_ID = re.compile(r"\b[a-z]+_[0-9a-f]{24}\b")
# ... and its token counts count the tokens of those ids, which differ from one random id to the next.
TOKEN_COUNT = re.compile(r'("(?:input|output|total|prompt|completion)_tokens":\s*)\d+')


def session_ids(exchanges: list[Exchange]) -> list[str]:
    return list(dict.fromkeys(SESSION_ID.findall(repr(exchanges))))


def renumbered(exchanges: list[Exchange]) -> list[Exchange]:
    """Session ids and the ids derived from them, each replaced by its rank of first appearance; token counts out."""
    text = repr(exchanges)
    ranks: dict[str, str] = {}
    for pattern in (SESSION_ID, DERIVED_ID):
        for found in dict.fromkeys(pattern.findall(text)):
            ranks.setdefault(found, f"<id {len(ranks)}>")

    def swap(value: Any) -> Any:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            for pattern in (SESSION_ID, DERIVED_ID):
                value = pattern.sub(lambda m: ranks[m.group()], value)
            value = TOKEN_COUNT.sub(r"\1<n>", value)
        return value

    return [tuple(swap(v) for v in exchange) for exchange in exchanges]


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
    if setup.endswith("composio"):
        assert session_ids(first) and not set(session_ids(first)) & set(session_ids(second))
        first, second = renumbered(first), renumbered(second)
    for one, two in zip(first, second, strict=True):
        assert one == two, f"{one[0]} {one[1]} differs between runs"
