"""Each framework, on each MCP path, does the four core requests with the reference model; the Bitbucket REST API
shows the effects."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api
from tests.sandbox.model.drivers import DRIVERS, Path, composio_path, rovo_path


def turns(branch: str, note: str) -> list[str]:
    return [
        f"create a branch {branch} off main in acme/widgets",
        "open a pull request for my feature",
        f"comment '{note}' on the latest open issue",
        "show me the README",
    ]


def path_for(sb: Sandbox, name: str) -> Path:
    return composio_path(sb) if name == "composio" else rovo_path(sb)


def issue_comments(sb: Sandbox, issue: int = 1) -> list[str]:
    with api(sb) as c:
        values = c.get(f"repositories/acme/widgets/issues/{issue}/comments").json()["values"]
    return [v["content"]["raw"] for v in values]


@pytest.mark.parametrize("path", ["composio", "rovo"])
@pytest.mark.parametrize("framework", sorted(DRIVERS))
def test_core_requests(sandbox: Sandbox, framework: str, path: str) -> None:
    branch, note = f"feature/{framework}-{path}", f"Seen by {framework}"
    texts = asyncio.run(
        DRIVERS[framework](sandbox.urls["model_api"], "sandbox-reference", path_for(sandbox, path), turns(branch, note))
    )
    with api(sandbox) as c:
        heads = {
            b["name"]: b["target"]["hash"]
            for b in c.get("repositories/acme/widgets/refs/branches", params={"pagelen": 100}).json()["values"]
        }
        (pr,) = c.get("repositories/acme/widgets/pullrequests").json()["values"]
    assert heads[branch] == heads["main"], texts[0]
    assert texts[0].startswith(f"Created branch `{branch}` in acme/widgets from `main`")
    assert (pr["source"]["branch"]["name"], pr["destination"]["branch"]["name"]) == (branch, "main")
    assert texts[1].startswith(f"Opened pull request #{pr['id']}")
    assert "# Widgets" in texts[3] and "Run `make test`" in texts[3]
    if path == "rovo":
        assert texts[2].startswith("I can't comment on issues in acme/widgets"), texts[2]
        assert note not in issue_comments(sandbox)
    else:  # issue 1 is the latest (and only) issue whose state is "open"
        assert issue_comments(sandbox) == [note], texts[2]


@pytest.mark.parametrize("framework", ["agents-client", "agents-hosted"])
def test_composio_comment_on_a_numbered_issue(sandbox: Sandbox, framework: str) -> None:
    (text,) = asyncio.run(
        DRIVERS[framework](
            sandbox.urls["model_api"],
            "sandbox-reference",
            composio_path(sandbox),
            ["comment 'Looking' on issue #1 in acme/widgets"],
        )
    )
    assert issue_comments(sandbox) == ["Looking"]
    assert text == "Commented on issue #1 in acme/widgets: “Looking”."


async def _pydantic_ai_responses(model_api: str, path: Path) -> str:
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.models.openai import OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIResponsesModel("sandbox-reference", provider=OpenAIProvider(base_url=model_api, api_key="k"))
    agent: Any = Agent(model, toolsets=[MCPToolset(path.url, headers=path.headers)])
    async with agent:
        return str((await agent.run("create a branch feature/other off main in acme/widgets")).output)


async def _agents_chat_completions(model_api: str, path: Path) -> str:
    from agents import Agent, OpenAIChatCompletionsModel, Runner
    from agents.mcp import MCPServerStreamableHttp
    from openai import AsyncOpenAI

    async with (
        AsyncOpenAI(base_url=model_api, api_key="k", max_retries=0) as client,
        MCPServerStreamableHttp(params={"url": path.url, "headers": path.headers}) as server,
    ):
        model = OpenAIChatCompletionsModel(model="sandbox-reference", openai_client=client)
        agent = Agent(name="a", model=model, mcp_servers=[server])
        result = Runner.run_streamed(agent, "create a branch feature/other off main in acme/widgets")
        async for _ in result.stream_events():
            pass
        return str(result.final_output)


async def _autogen_reflecting(model_api: str, path: Path) -> str:
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
    client = OpenAIChatCompletionClient(model="sandbox-reference", base_url=model_api, api_key="k", model_info=info)
    async with McpWorkbench(StreamableHttpServerParams(url=path.url, headers=path.headers)) as workbench:
        agent = AssistantAgent("a", model_client=client, workbench=workbench, reflect_on_tool_use=True)
        result = await agent.run(task="create a branch feature/other off main in acme/widgets")
    await client.close()
    return str(getattr(result.messages[-1], "content", ""))


OTHER_PAIRINGS = {
    "pydantic-ai-responses": _pydantic_ai_responses,
    "agents-chat-stream": _agents_chat_completions,
    "autogen-plain-reflecting": _autogen_reflecting,
}


@pytest.mark.parametrize("pairing", sorted(OTHER_PAIRINGS))
def test_other_api_pairings(sandbox: Sandbox, pairing: str) -> None:
    """The other API each framework can use (and AutoGen's reflection step, which withdraws the tools)."""
    text = asyncio.run(OTHER_PAIRINGS[pairing](sandbox.urls["model_api"], rovo_path(sandbox)))
    assert text.startswith("Created branch `feature/other` in acme/widgets from `main`"), text
