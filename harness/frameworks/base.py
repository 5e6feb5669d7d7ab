"""One interface for every framework: a multi-turn conversation in, a transcript out."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

from harness.routes import McpConnection
from harness.transcript import Transcript, TurnRecord
from harness.worlds import ModelConfig

INSTRUCTIONS = (
    "You are a careful assistant that works on Bitbucket through the tools you are given. "
    "Read before you write when you need a value. Report failures plainly and never claim a success "
    "you did not see."
)


@dataclass(frozen=True)
class Conversation:
    turns: list[str]
    model: str  # the model id sent upstream
    instructions: str = INSTRUCTIONS
    max_tool_iterations: int = 10
    sampling: Mapping[str, Any] = field(default_factory=dict)  # temperature, top_p, seed, max_tokens (when set)


class Adapter(Protocol):
    name: str  # the framework variant, as it appears in results ("openai-agents-hosted", ...)
    packages: tuple[str, ...]  # whose versions go into every result row
    imports: tuple[str, ...]  # the modules ``run`` imports (a replay imports them once, before forking workers)

    async def run(
        self, conversation: Conversation, mcp: McpConnection, model: ModelConfig, transcript: Transcript
    ) -> None:
        """Hold the conversation, filling ``transcript`` as it goes: each turn is in it from its start, so that an
        error or a timeout keeps what the agent did before it (the calls of a loop, the tokens before an overflow)."""


@lru_cache(maxsize=16)
def _versions(packages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found = []
    for name in ("mcp", "openai", "httpx", *packages):
        try:
            found.append((name, version(name)))
        except PackageNotFoundError:
            found.append((name, "not installed"))
    return tuple(found)


def package_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """The versions of the packages a framework runs on (read once per process: metadata reads cost ms)."""
    return dict(_versions(packages))


class Stopwatch:
    """Wall time of a turn and the time to its first streamed token."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None

    def token(self) -> None:
        if self.first is None:
            self.first = (time.perf_counter() - self.start) * 1000

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000


def begin_turn(transcript: Transcript, user: str) -> tuple[TurnRecord, Stopwatch]:
    """A new turn, already in the transcript (kept if the conversation breaks in it), and its stopwatch."""
    turn = TurnRecord(user=user)
    transcript.turns.append(turn)
    return turn, Stopwatch()


def end_turn(turn: TurnRecord, watch: Stopwatch) -> None:
    turn.wall_ms, turn.first_token_ms = watch.elapsed_ms(), watch.first


def tool_arguments(raw: str | None) -> dict[str, Any]:
    """A tool call's JSON arguments as a dict; what does not parse is kept, not dropped."""
    try:
        parsed = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {"_unparsed": raw}
    return parsed if isinstance(parsed, dict) else {"_value": parsed}
