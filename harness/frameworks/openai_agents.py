"""OpenAI Agents SDK, two variants as in the integration guide and beyond it:

* ``openai-agents-hosted``: ``HostedMCPTool`` on the Responses API. The model provider lists and calls the MCP
  server itself; the client only sees ``mcp_list_tools`` / ``mcp_call`` items in the model's responses.
* ``openai-agents-client``: a client-side ``MCPServerStreamableHttp`` on chat completions: the SDK calls the MCP
  server and sends tool results back to the model.

Both keep the conversation in an in-memory ``SQLiteSession`` across turns and stream each turn.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from harness.frameworks.base import Conversation, begin_turn, end_turn, package_versions, tool_arguments
from harness.routes import McpConnection
from harness.transcript import ToolCall, Transcript, TurnRecord
from harness.worlds import ModelConfig


class _OpenAIAgentsAdapter:
    name: str = ""
    packages: tuple[str, ...] = ("openai-agents",)
    imports: tuple[str, ...] = ("agents", "agents.exceptions", "openai", "sqlite3")
    hosted = False

    async def run(
        self, conversation: Conversation, mcp: McpConnection, model: ModelConfig, transcript: Transcript
    ) -> None:
        from agents import Agent, SQLiteSession, set_tracing_disabled
        from openai import AsyncOpenAI

        set_tracing_disabled(True)  # traces would otherwise be exported to api.openai.com
        client = AsyncOpenAI(base_url=model.base_url, api_key=model.api_key, max_retries=0)
        transcript.versions = package_versions(self.packages + mcp.packages)
        # The session id only names rows in the in-memory database; derived, so runs stay reproducible.
        session = SQLiteSession(f"{mcp.route}-{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(conversation.turns))}")
        try:
            if self.hosted:
                agent = Agent(
                    name="bitbucket_agent",
                    instructions=conversation.instructions,
                    model=self._model(conversation, client),
                    tools=[_hosted_tool(mcp)],
                    model_settings=self._settings(conversation),
                )
                await self._turns(agent, conversation, session, transcript)
            else:
                from agents.mcp import MCPServerStreamableHttp, MCPServerStreamableHttpParams

                params: MCPServerStreamableHttpParams = {
                    "url": mcp.url,
                    "headers": mcp.headers,
                    "timeout": 30,
                    "sse_read_timeout": 60,
                }
                async with MCPServerStreamableHttp(
                    params=params, cache_tools_list=True, name=mcp.label, client_session_timeout_seconds=30
                ) as server:
                    agent = Agent(
                        name="bitbucket_agent",
                        instructions=conversation.instructions,
                        model=self._model(conversation, client),
                        mcp_servers=[server],
                        model_settings=self._settings(conversation),
                    )
                    await self._turns(agent, conversation, session, transcript)
        finally:
            session.close()
            await client.close()

    def _model(self, conversation: Conversation, client: Any) -> Any:
        from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel

        if self.hosted:  # hosted tools exist only on the Responses API
            return OpenAIResponsesModel(model=conversation.model, openai_client=client)
        return OpenAIChatCompletionsModel(model=conversation.model, openai_client=client)

    def _settings(self, conversation: Conversation) -> Any:
        from agents import ModelSettings

        sampling = dict(conversation.sampling)
        seed = sampling.pop("seed", None)
        # Streamed chat completions report token usage only when asked (stream_options.include_usage). The SDK
        # asks by default for api.openai.com alone; asking everywhere keeps every provider's tokens counted.
        settings = ModelSettings(
            include_usage=None if self.hosted else True, extra_args={"seed": seed} if seed is not None else None
        )
        return settings.resolve(ModelSettings(**sampling))

    async def _turns(self, agent: Any, conversation: Conversation, session: Any, transcript: Transcript) -> None:
        for user in conversation.turns:
            turn = await self._turn(agent, transcript, user, session, conversation.max_tool_iterations)
            if turn.stopped:
                break

    async def _turn(self, agent: Any, transcript: Transcript, user: str, session: Any, max_turns: int) -> TurnRecord:
        from agents import Runner
        from agents.exceptions import MaxTurnsExceeded

        turn, watch = begin_turn(transcript, user)
        result = Runner.run_streamed(agent, user, session=session, max_turns=max_turns)
        try:
            async for event in result.stream_events():
                if event.type == "raw_response_event" and "delta" in getattr(event.data, "type", ""):
                    watch.token()
        except MaxTurnsExceeded as exc:
            turn.stopped = str(exc)
        finally:  # what the run holds, also when it broke
            _record(result, turn)
            end_turn(turn, watch)
        return turn


def _record(result: Any, turn: TurnRecord) -> None:
    calls: dict[str, ToolCall] = {}
    for item in result.new_items:
        _collect(item, calls, turn)
    if not turn.answer:
        turn.answer = str(result.final_output or "")
    usage = result.context_wrapper.usage
    turn.model_calls, turn.input_tokens = usage.requests, usage.input_tokens
    turn.output_tokens = usage.output_tokens


def _hosted_tool(mcp: McpConnection) -> Any:
    from agents import HostedMCPTool

    return HostedMCPTool(
        tool_config={
            "type": "mcp",
            "server_label": mcp.label,
            "server_url": mcp.url,
            "headers": mcp.headers,
            "require_approval": "never",
        }
    )  # type: ignore[typeddict-item]


def _collect(item: Any, calls: dict[str, ToolCall], turn: TurnRecord) -> None:
    raw = item.raw_item
    kind = getattr(raw, "type", None) or (raw.get("type") if isinstance(raw, dict) else None)
    if item.type == "tool_call_item" and kind == "mcp_call":  # hosted: the provider ran it
        error = getattr(raw, "error", None)
        turn.tool_calls.append(
            ToolCall(
                name=raw.name,
                arguments=tool_arguments(raw.arguments),
                hosted=True,
                result=error or getattr(raw, "output", None),
                is_error=bool(error),
            )
        )
    elif item.type == "tool_call_item" and kind == "function_call":
        calls[raw.call_id] = ToolCall(name=raw.name, arguments=tool_arguments(raw.arguments))
        turn.tool_calls.append(calls[raw.call_id])
    elif item.type == "tool_call_output_item":
        call_id = raw.get("call_id") if isinstance(raw, dict) else getattr(raw, "call_id", None)
        if call_id in calls:
            calls[call_id].result = str(item.output)
            calls[call_id].is_error = _looks_failed(str(item.output))


def _looks_failed(output: str) -> bool:
    """Client-side MCP results reach the SDK as text; an MCP error result is marked by the SDK's wrapper."""
    try:
        data = json.loads(output)
    except json.JSONDecodeError:
        return output.startswith("Error")
    return isinstance(data, dict) and (data.get("isError") is True or data.get("successful") is False)


class OpenAIAgentsHostedAdapter(_OpenAIAgentsAdapter):
    name: str = "openai-agents-hosted"
    hosted = True


class OpenAIAgentsClientAdapter(_OpenAIAgentsAdapter):
    name: str = "openai-agents-client"
