"""The three frameworks, driven as their integration guides drive them, against the sandbox's model and MCP paths.

Each driver holds one conversation (one agent, its history kept across turns) and returns the final text of
every turn. ``Path`` is where the agent reaches Bitbucket: a Composio Tool Router session or the Rovo server.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from sandbox import Sandbox

os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")  # no trace export to api.openai.com

INSTRUCTIONS = "You are a Bitbucket assistant. Use Bitbucket tools to help users with their requests."
MODEL_KEY = "sandbox-model-key"


@dataclass(frozen=True)
class Path:
    name: str  # "composio" or "rovo"
    url: str
    headers: dict[str, str]


def composio_path(sb: Sandbox, user_id: str = "user-1", **create: Any) -> Path:
    from composio import Composio

    key = sb.credentials["composio"]["api_keys"][0]
    session = Composio(api_key=key, base_url=sb.urls["composio_api"], allow_tracking=False).create(
        user_id=user_id, toolkits=["bitbucket"], **create
    )
    return Path("composio", session.mcp.url, dict(session.mcp.headers))


def rovo_path(sb: Sandbox, label: str = "full") -> Path:
    email, token = sb.api_token(label, "alice")
    basic = base64.b64encode(f"{email}:{token}".encode()).decode()
    return Path("rovo", sb.urls["rovo_mcp"], {"Authorization": f"Basic {basic}"})


Driver = Callable[[str, str, Path, list[str]], Coroutine[Any, Any, list[str]]]


async def autogen(model_api: str, model: str, path: Path, turns: list[str]) -> list[str]:
    """AutoGen AssistantAgent, chat completions streaming, tools from an McpWorkbench."""
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
    client = OpenAIChatCompletionClient(
        model=model, base_url=model_api, api_key=MODEL_KEY, max_retries=0, model_info=info
    )
    params = StreamableHttpServerParams(
        url=path.url, headers=path.headers, timeout=30, sse_read_timeout=60, terminate_on_close=True
    )
    texts = []
    async with McpWorkbench(params) as workbench:
        agent = AssistantAgent(
            "bitbucket_assistant",
            model_client=client,
            workbench=workbench,
            model_client_stream=True,
            max_tool_iterations=10,
        )
        for turn in turns:
            text = ""
            async for message in agent.run_stream(task=turn):
                content = getattr(message, "content", None)
                if isinstance(content, str) and content:
                    text = content
            texts.append(text)
    await client.close()
    return texts


def _agents_model(model_api: str, model: str) -> Any:
    from agents import OpenAIResponsesModel
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=model_api, api_key=MODEL_KEY, max_retries=0)
    return OpenAIResponsesModel(model=model, openai_client=client)


async def _agents_turns(agent: Any, turns: list[str], streamed: bool, max_turns: int = 10) -> list[str]:
    from agents import Runner, SQLiteSession

    session = SQLiteSession("conversation")
    texts = []
    try:
        for turn in turns:
            result: Any
            if streamed:
                result = Runner.run_streamed(agent, turn, session=session, max_turns=max_turns)
                async for _ in result.stream_events():
                    pass
            else:
                result = await Runner.run(agent, turn, session=session, max_turns=max_turns)
            texts.append(str(result.final_output))
    finally:
        await agent.model._client.close()  # before the event loop ends, or httpx complains at exit
        session.close()
    return texts


def _approve_all(request: Any) -> Any:
    return {"approve": True}


async def agents_hosted(
    model_api: str,
    model: str,
    path: Path,
    turns: list[str],
    streamed: bool = True,
    approval: str = "never",
    approve: Callable[[Any], Any] | None = None,
) -> list[str]:
    """OpenAI Agents SDK with a HostedMCPTool: the model server calls the MCP server itself. With approvals the
    SDK's ``on_approval_request`` hook answers (``approve``, else it approves everything)."""
    from agents import Agent, HostedMCPTool

    config: Any = {
        "type": "mcp",
        "server_label": "tool_router" if path.name == "composio" else "rovo",
        "server_url": path.url,
        "headers": path.headers,
        "require_approval": approval,
    }
    hook = (approve or _approve_all) if approval != "never" else None
    agent = Agent(
        name="Assistant",
        instructions=INSTRUCTIONS,
        model=_agents_model(model_api, model),
        tools=[HostedMCPTool(tool_config=config, on_approval_request=hook)],
    )
    return await _agents_turns(agent, turns, streamed)


async def agents_client(
    model_api: str, model: str, path: Path, turns: list[str], streamed: bool = False, max_turns: int = 10
) -> list[str]:
    """OpenAI Agents SDK with a client-side MCPServerStreamableHttp, on the Responses API."""
    from agents import Agent
    from agents.mcp import MCPServerStreamableHttp

    async with MCPServerStreamableHttp(
        params={"url": path.url, "headers": path.headers, "timeout": 30},
        cache_tools_list=True,
        name=path.name,
        client_session_timeout_seconds=30,
    ) as server:
        agent = Agent(
            name="Assistant", instructions=INSTRUCTIONS, model=_agents_model(model_api, model), mcp_servers=[server]
        )
        return await _agents_turns(agent, turns, streamed, max_turns)


async def pydantic_ai(model_api: str, model: str, path: Path, turns: list[str]) -> list[str]:
    """Pydantic AI, chat completions streaming, tools from an MCPToolset, history carried between turns."""
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    chat = OpenAIChatModel(model, provider=OpenAIProvider(base_url=model_api, api_key=MODEL_KEY))
    agent: Any = Agent(chat, toolsets=[MCPToolset(path.url, headers=path.headers)], instructions=INSTRUCTIONS)
    history: list[Any] = []
    texts = []
    async with agent:
        for turn in turns:
            async with agent.run_stream(turn, message_history=history) as stream:
                texts.append(str(await stream.get_output()))
                history = list(stream.all_messages())
    return texts


DRIVERS: dict[str, Driver] = {
    "autogen": autogen,
    "agents-hosted": agents_hosted,
    "agents-client": agents_client,
    "pydantic-ai": pydantic_ai,
}
