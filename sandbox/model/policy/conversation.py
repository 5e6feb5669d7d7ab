"""The conversation as the policy reads it, whichever API it came through.

The chat and responses front ends turn their wire formats into a ``Conversation``: the instructions, the user and
assistant text turns, the tool exchanges (a call and what came back) and the tools on offer. The policy is a pure
function of it, which is what makes the server deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    origin: str = ""  # "" for a function tool, else the server label of a hosted MCP server


@dataclass(frozen=True)
class Call:
    name: str
    arguments: Mapping[str, Any]
    origin: str = ""  # as ToolSpec.origin: set by the Responses front end, never read by the policy


@dataclass(frozen=True)
class Exchange:
    call: Call
    output: str
    failed: bool = False  # the API itself marked the call failed (an MCP error, a declined approval)


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str


@dataclass(frozen=True)
class Conversation:
    system: str = ""
    turns: tuple[Turn, ...] = ()  # user and assistant text, oldest first
    exchanges: tuple[Exchange, ...] = ()  # tool exchanges since the last user message, in order
    earlier: tuple[Exchange, ...] = ()  # tool exchanges before it
    tools: tuple[ToolSpec, ...] = ()
    parallel: bool = True  # may the model ask for several tool calls at once

    @property
    def request(self) -> str:
        """The last user message: what the model is answering now."""
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.text
        return ""

    @property
    def earlier_user_texts(self) -> list[str]:
        """User messages before the current one, newest first."""
        users = [t.text for t in self.turns if t.role == "user"]
        return list(reversed(users[:-1]))


@dataclass(frozen=True)
class Decision:
    """The model's next move: tool calls, or a text answer."""

    calls: tuple[Call, ...] = ()
    text: str = ""


class ConversationBuilder:
    """Collects a wire conversation in order; tool results are matched to their calls by id."""

    def __init__(self) -> None:
        self.system: list[str] = []
        self._events: list[Turn | str] = []  # a Turn, or the call id of an exchange
        self._calls: dict[str, Call] = {}
        self._results: dict[str, tuple[str, bool]] = {}

    def add_system(self, text: str) -> None:
        if text.strip():
            self.system.append(text.strip())

    def add_text(self, role: Role, text: str) -> None:
        self._events.append(Turn(role, text))

    def add_call(self, call_id: str, call: Call) -> None:
        self._calls[call_id] = call
        self._events.append(call_id)

    def has_call(self, call_id: str) -> bool:
        return call_id in self._calls

    def add_result(self, call_id: str, output: str, failed: bool = False) -> None:
        self._results[call_id] = (output, failed)

    def history(self) -> list[Turn | tuple[str, Exchange]]:
        """Text turns and answered tool exchanges (with their call ids), in the order they happened."""
        entries: list[Turn | tuple[str, Exchange]] = []
        for event in self._events:
            if isinstance(event, Turn):
                entries.append(event)
            elif event in self._results:
                output, failed = self._results[event]
                entries.append((event, Exchange(self._calls[event], output, failed)))
        return entries

    def pending(self) -> list[str]:
        """Call ids that have no result yet, in order."""
        return [e for e in self._events if isinstance(e, str) and e not in self._results]

    def build(self, tools: tuple[ToolSpec, ...], parallel: bool = True) -> Conversation:
        last_user = max((i for i, e in enumerate(self._events) if isinstance(e, Turn) and e.role == "user"), default=-1)
        before: list[Exchange] = []
        after: list[Exchange] = []
        for i, event in enumerate(self._events):
            if isinstance(event, str) and event in self._results:
                output, failed = self._results[event]
                (after if i > last_user else before).append(Exchange(self._calls[event], output, failed))
        turns = tuple(e for e in self._events if isinstance(e, Turn))
        return Conversation("\n\n".join(self.system), turns, tuple(after), tuple(before), tools, parallel)
