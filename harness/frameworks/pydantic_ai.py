"""Pydantic AI: an ``Agent`` with the MCP toolset, ``run_stream`` and ``message_history`` across turns.

The integration guide's ``MCPServerStreamableHTTP`` is gone in Pydantic AI V2; ``MCPToolset`` replaces it.
"""

from __future__ import annotations

from typing import Any

from harness.frameworks.base import Conversation, Stopwatch, begin_turn, end_turn, package_versions
from harness.routes import McpConnection
from harness.transcript import ToolCall, Transcript, TurnRecord
from harness.worlds import ModelConfig


class PydanticAIAdapter:
    name: str = "pydantic-ai"
    packages: tuple[str, ...] = ("pydantic-ai-slim",)
    imports: tuple[str, ...] = (
        "pydantic_ai",
        "pydantic_ai.exceptions",
        "pydantic_ai.mcp",
        "pydantic_ai.messages",
        "pydantic_ai.models.openai",
        "pydantic_ai.providers.openai",
        "pydantic_ai.usage",
    )

    async def run(
        self, conversation: Conversation, mcp: McpConnection, model: ModelConfig, transcript: Transcript
    ) -> None:
        from pydantic_ai import Agent
        from pydantic_ai.exceptions import UnexpectedModelBehavior, UsageLimitExceeded
        from pydantic_ai.mcp import MCPToolset
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        llm = OpenAIChatModel(
            conversation.model, provider=OpenAIProvider(base_url=model.base_url, api_key=model.api_key)
        )
        toolset: Any = MCPToolset(mcp.url, headers=mcp.headers)
        settings: Any = dict(conversation.sampling)  # pydantic-ai's ModelSettings has the same four names
        agent: Any = Agent(llm, instructions=conversation.instructions, toolsets=[toolset], model_settings=settings)
        transcript.versions = package_versions(self.packages + mcp.packages)
        history: list[Any] = []
        async with agent:
            for user in conversation.turns:
                turn, watch = begin_turn(transcript, user)
                try:
                    history = await self._turn(agent, turn, watch, history, conversation.max_tool_iterations)
                except (UsageLimitExceeded, UnexpectedModelBehavior) as exc:  # the agent's doing, not the stack's
                    turn.stopped = f"{type(exc).__name__}: {exc}"
                    break

    @staticmethod
    async def _turn(agent: Any, turn: TurnRecord, watch: Stopwatch, history: list[Any], limit: int) -> list[Any]:
        """The turn's run; returns the history for the next. Its messages go into ``turn`` also when it raises."""
        from pydantic_ai import capture_run_messages
        from pydantic_ai.usage import UsageLimits

        limits = UsageLimits(request_limit=limit + 1)
        with capture_run_messages() as messages:  # the history, then the run's messages as they come
            try:
                async with agent.run_stream(turn.user, message_history=history, usage_limits=limits) as result:
                    async for _ in result.stream_text(delta=True):
                        watch.token()
                    turn.answer = await result.get_output()
                return list(messages)
            finally:
                _collect(_this_run(messages, turn.user), turn)
                end_turn(turn, watch)


def _this_run(messages: list[Any], user: str) -> list[Any]:
    """The messages from the last request that carries ``user``'s prompt on (none when the run broke before it
    was sent): the history before them was cleaned by the run, so it cannot be told apart by position."""
    from pydantic_ai.messages import ModelRequest, UserPromptPart

    for at in range(len(messages) - 1, -1, -1):
        message = messages[at]
        if isinstance(message, ModelRequest) and any(
            isinstance(p, UserPromptPart) and p.content == user for p in message.parts
        ):
            return messages[at:]
    return []


def _collect(messages: list[Any], turn: TurnRecord) -> None:
    """The turn's tool calls with their results, its model calls and their tokens."""
    from pydantic_ai.messages import ModelRequest, ModelResponse, RetryPromptPart, ToolCallPart, ToolReturnPart

    calls: dict[str, ToolCall] = {}
    for message in messages:
        if isinstance(message, ModelResponse):
            turn.model_calls += 1
            turn.input_tokens += message.usage.input_tokens
            turn.output_tokens += message.usage.output_tokens
        for part in message.parts:
            if isinstance(message, ModelResponse) and isinstance(part, ToolCallPart):
                calls[part.tool_call_id] = ToolCall(name=part.tool_name, arguments=part.args_as_dict())
                turn.tool_calls.append(calls[part.tool_call_id])
            elif isinstance(message, ModelRequest) and isinstance(part, ToolReturnPart | RetryPromptPart):
                call = calls.get(part.tool_call_id)
                if call is not None:
                    call.result = (
                        part.model_response_str() if isinstance(part, ToolReturnPart) else part.model_response()
                    )
                    call.is_error = isinstance(part, RetryPromptPart)
