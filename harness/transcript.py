"""What a framework adapter hands back for one conversation: messages, tool calls, usage, timings, versions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ToolCall(BaseModel):
    name: str
    arguments: dict[str, Any] = {}
    result: str | None = None  # the text the agent saw
    is_error: bool = False
    hosted: bool = False  # run by the model provider (hosted MCP), not by the client
    duration_ms: float | None = None


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
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    framework: str
    route: str = Field(alias="path")  # serialized as "path", like rows
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
        """The calls that reached Bitbucket tools (a Composio multi-execute counts as each tool inside it)."""
        from harness.routes import ROUTES

        route = ROUTES.get(self.route)  # type: ignore[call-overload]
        return [e for c in self.tool_calls() for e in (route.effective(c) if route else [c])]
