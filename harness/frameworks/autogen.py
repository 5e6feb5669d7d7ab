"""AutoGen: ``AssistantAgent`` with an ``McpWorkbench`` and ``run_stream``, as in the AutoGen integration guide.

autogen-ext 0.7.5 has no Responses-API client, so the model is reached through chat completions, streamed.
"""

from __future__ import annotations

from typing import Any

from harness.frameworks.base import Conversation, Stopwatch, begin_turn, end_turn, package_versions, tool_arguments
from harness.routes import McpConnection
from harness.transcript import ToolCall, Transcript, TurnRecord
from harness.worlds import ModelConfig


class AutoGenAdapter:
    name: str = "autogen"
    packages: tuple[str, ...] = ("autogen-agentchat", "autogen-ext")
    imports: tuple[str, ...] = (
        "autogen_agentchat.agents",
        "autogen_agentchat.base",
        "autogen_agentchat.messages",
        "autogen_core.models",
        "autogen_ext.models.openai",
        "autogen_ext.tools.mcp",
    )

    async def run(
        self, conversation: Conversation, mcp: McpConnection, model: ModelConfig, transcript: Transcript
    ) -> None:
        from autogen_agentchat.agents import AssistantAgent
        from autogen_core.models import ModelInfo
        from autogen_ext.models.openai import OpenAIChatCompletionClient
        from autogen_ext.tools.mcp import McpWorkbench, StreamableHttpServerParams

        info = ModelInfo(
            vision=False,
            function_calling=True,
            json_output=False,
            family="unknown",
            structured_output=False,
            multiple_system_messages=True,
        )
        # include_usage: streamed chat completions only report token usage when asked to
        client = OpenAIChatCompletionClient(
            model=conversation.model,
            base_url=model.base_url,
            api_key=model.api_key,
            max_retries=0,
            model_info=info,
            stream_options={"include_usage": True},
            **conversation.sampling,  # temperature, top_p, seed, max_tokens: create() arguments
        )
        transcript.versions = package_versions(self.packages + mcp.packages)
        params = StreamableHttpServerParams(
            url=mcp.url, headers=mcp.headers, timeout=30, sse_read_timeout=60, terminate_on_close=True
        )
        try:
            async with McpWorkbench(params) as workbench:
                agent = AssistantAgent(
                    "bitbucket_agent",
                    model_client=client,
                    workbench=workbench,
                    system_message=conversation.instructions,
                    model_client_stream=True,
                    max_tool_iterations=conversation.max_tool_iterations,
                )
                for user in conversation.turns:
                    turn = await self._turn(agent, transcript, user, conversation.max_tool_iterations)
                    if turn.stopped:
                        break
        finally:
            await client.close()

    @staticmethod
    async def _turn(agent: Any, transcript: Transcript, user: str, max_rounds: int) -> TurnRecord:
        turn, watch = begin_turn(transcript, user)
        pending: dict[str, ToolCall] = {}
        rounds = 0
        try:
            async for event in agent.run_stream(task=user):
                rounds += _note(event, turn, watch, pending)
        finally:
            end_turn(turn, watch)
        if not turn.answer and rounds >= max_rounds:  # AutoGen ends a turn still calling tools at its limit silently
            turn.stopped = f"max_tool_iterations ({max_rounds}) reached"
        return turn


def _note(event: Any, turn: TurnRecord, watch: Stopwatch, pending: dict[str, ToolCall]) -> int:
    """Put one streamed event into the turn; 1 when it is a round of tool calls."""
    from autogen_agentchat.base import TaskResult
    from autogen_agentchat.messages import (
        ModelClientStreamingChunkEvent,
        TextMessage,
        ToolCallExecutionEvent,
        ToolCallRequestEvent,
    )

    if isinstance(event, ModelClientStreamingChunkEvent):
        watch.token()
        return 0
    if isinstance(event, TaskResult):  # the last item; the stream must end by itself (leaving it early breaks
        return 0  # autogen's tracing context)
    usage = getattr(event, "models_usage", None)
    if usage is not None:
        turn.model_calls += 1
        turn.input_tokens += usage.prompt_tokens
        turn.output_tokens += usage.completion_tokens
    if isinstance(event, ToolCallRequestEvent):
        for call in event.content:
            pending[call.id] = ToolCall(name=call.name, arguments=tool_arguments(call.arguments))
            turn.tool_calls.append(pending[call.id])
        return 1
    if isinstance(event, ToolCallExecutionEvent):
        for result in event.content:
            if result.call_id in pending:
                pending[result.call_id].result = result.content
                pending[result.call_id].is_error = bool(result.is_error)
    elif isinstance(event, TextMessage) and event.source != "user":
        turn.answer = event.content
    return 0
