"""What a framework adapter hands back for one conversation: messages, tool calls, usage, timings, versions."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

META_EXECUTE = "COMPOSIO_MULTI_EXECUTE_TOOL"


class ToolCall(BaseModel):
    name: str
    arguments: dict[str, Any] = {}
    result: str | None = None  # the text the agent saw
    is_error: bool = False
    hosted: bool = False  # run by the model provider (hosted MCP), not by the client
    duration_ms: float | None = None

    def effective(self) -> list[ToolCall]:
        """The calls that reached Bitbucket tools: a Composio multi-execute counts as each tool inside it."""
        if self.name != META_EXECUTE:
            return [self]
        inner = self.arguments.get("tools")
        if not isinstance(inner, list):
            return [self]
        outcomes = _multi_execute_outcomes(self.result)
        calls = []
        for i, item in enumerate(inner):
            if isinstance(item, dict) and isinstance(item.get("tool_slug"), str):
                args = item.get("arguments")
                failed = outcomes.get(i, self.is_error)
                calls.append(ToolCall(name=item["tool_slug"], arguments=args if isinstance(args, dict) else {},
                                      result=self.result, is_error=failed, hosted=self.hosted))
        return calls or [self]


def _multi_execute_outcomes(result: str | None) -> dict[int, bool]:
    """index -> failed, read from a multi-execute result's ``data.results`` when it parses."""
    try:
        data = json.loads(result or "")
    except json.JSONDecodeError:
        return {}
    results = (data.get("data") or {}).get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        return {}
    out = {}
    for r in results:
        if isinstance(r, dict) and isinstance(r.get("index"), int):
            response = r.get("response")
            refused = isinstance(response, dict) and response.get("successful") is False
            out[r["index"]] = bool(r.get("error")) or refused
    return out


class TurnRecord(BaseModel):
    user: str
    answer: str = ""
    tool_calls: list[ToolCall] = []
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    wall_ms: float = 0.0
    first_token_ms: float | None = None  # streaming frameworks only
    stopped: str | None = None  # the framework cut the agent off here (a turn or tool limit): the agent's failure


class Transcript(BaseModel):
    framework: str
    path: str
    model: str
    turns: list[TurnRecord] = []
    versions: dict[str, str] = {}
    error: str | None = None  # the stack failed or timed out: the cell's verdict is "error"
    extra: dict[str, Any] = Field(default={}, description="framework-specific details worth keeping")

    @property
    def stopped(self) -> str | None:
        return next((t.stopped for t in self.turns if t.stopped), None)

    @property
    def final_answer(self) -> str:
        return self.turns[-1].answer if self.turns else ""

    def tool_calls(self) -> list[ToolCall]:
        return [c for t in self.turns for c in t.tool_calls]

    def effective_calls(self) -> list[ToolCall]:
        return [e for c in self.tool_calls() for e in c.effective()]
