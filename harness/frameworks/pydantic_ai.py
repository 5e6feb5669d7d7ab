"""Pydantic AI: an ``Agent`` with the MCP toolset, ``run_stream`` and ``message_history`` across turns.

The integration guide's ``MCPServerStreamableHTTP`` is gone in Pydantic AI V2; ``MCPToolset`` replaces it.
"""

from __future__ import annotations

from typing import Any

from harness.frameworks.base import Conversation, Stopwatch, package_versions
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

    async def run(self, conversation: Conversation, mcp: McpConnection, model: ModelConfig) -> Transcript:
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
        transcript = Transcript(
            framework=self.name,
            route=mcp.route,
            model=conversation.model,
            versions=package_versions(self.packages + mcp.packages),
        )
        history: list[Any] = []
        async with agent:
            for user in conversation.turns:
                try:
                    turn, history = await self._turn(agent, user, history, conversation.max_tool_iterations)
                except (UsageLimitExceeded, UnexpectedModelBehavior) as exc:  # the agent's doing, not the stack's
                    transcript.turns.append(TurnRecord(user=user, stopped=f"{type(exc).__name__}: {exc}"))
                    break
                transcript.turns.append(turn)
        return transcript

    @staticmethod
    async def _turn(agent: Any, user: str, history: list[Any], limit: int) -> tuple[TurnRecord, list[Any]]:
        from pydantic_ai.usage import UsageLimits

        turn, watch = TurnRecord(user=user), Stopwatch()
        async with agent.run_stream(
            user, message_history=history, usage_limits=UsageLimits(request_limit=limit + 1)
        ) as result:
            async for _ in result.stream_text(delta=True):
                watch.token()
            turn.answer = await result.get_output()
            messages = result.all_messages()
            new = result.new_messages()
            usage = result.usage
        _collect(new, turn)
        turn.model_calls, turn.input_tokens = usage.requests, usage.input_tokens
        turn.output_tokens = usage.output_tokens
        turn.wall_ms, turn.first_token_ms = watch.elapsed_ms(), watch.first
        return turn, messages


def _collect(messages: list[Any], turn: TurnRecord) -> None:
    from pydantic_ai.messages import ModelRequest, ModelResponse, RetryPromptPart, ToolCallPart, ToolReturnPart

    calls: dict[str, ToolCall] = {}
    for message in messages:
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
