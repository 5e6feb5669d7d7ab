"""The four framework variants on a chat model they reach only through a gateway: the upstream is the sandbox's
reference model's own ``/v1/chat/completions`` (a real chat-completions server that calls tools from plain
English), the gateway serves emulated streaming, and the Bitbucket REST API shows the effects."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from openai import OpenAI

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api
from tests.sandbox.model.drivers import (
    INSTRUCTIONS,
    MODEL_KEY,
    Path,
    agents_client,
    agents_hosted,
    autogen,
    composio_path,
    pydantic_ai,
    rovo_path,
)

MODEL = "sandbox-reference"


@pytest.fixture
def gateway(sandbox: Sandbox) -> str:
    return sandbox.register_gateway("reference", sandbox.urls["model_api"], stream="emulated")


@pytest.fixture
def native(sandbox: Sandbox) -> str:
    return sandbox.register_gateway("native", sandbox.urls["model_api"])


def create(branch: str) -> str:
    return f"create a branch {branch} off main in acme/widgets"


def branches(sb: Sandbox) -> dict[str, str]:
    with api(sb) as c:
        values = c.get("repositories/acme/widgets/refs/branches", params={"pagelen": 100}).json()["values"]
    return {b["name"]: b["target"]["hash"] for b in values}


def assert_created(sb: Sandbox, branch: str, text: str) -> None:
    assert text.startswith(f"Created branch `{branch}` in acme/widgets from `main`"), text
    heads = branches(sb)
    assert heads[branch] == heads["main"]


# -- openai-agents-hosted: HostedMCPTool on the Responses API ----------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
def test_hosted_mcp_without_approval(sandbox: Sandbox, gateway: str, streamed: bool) -> None:
    texts = asyncio.run(
        agents_hosted(gateway, MODEL, rovo_path(sandbox), [create("feature/hosted"), "show me the README"], streamed)
    )
    assert_created(sandbox, "feature/hosted", texts[0])
    assert "# Widgets" in texts[1] and "Run `make test`" in texts[1]  # the second turn carried the first's items


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
@pytest.mark.parametrize("approve", [True, False], ids=["approved", "declined"])
def test_hosted_mcp_with_approvals(sandbox: Sandbox, gateway: str, streamed: bool, approve: bool) -> None:
    asked: list[tuple[str, str]] = []

    def on_approval_request(request: Any) -> Any:
        asked.append((request.data.server_label, request.data.name))
        return {"approve": approve}

    (text,) = asyncio.run(
        agents_hosted(
            gateway,
            MODEL,
            rovo_path(sandbox),
            [create("feature/approved")],
            streamed,
            approval="always",
            approve=on_approval_request,
        )
    )
    assert asked == [("rovo", "bitbucketRepoContent")]
    if approve:
        assert_created(sandbox, "feature/approved", text)
    else:
        assert "not approved" in text and "feature/approved" not in branches(sandbox)


def test_a_failed_mcp_call_is_reported(sandbox: Sandbox, gateway: str) -> None:
    path = rovo_path(sandbox)
    tool: Any = {"type": "mcp", "server_label": "rovo", "server_url": path.url, "headers": path.headers}
    with OpenAI(base_url=gateway, api_key=MODEL_KEY, max_retries=0) as client:
        response = client.responses.create(
            model=MODEL, input=create("feature/login"), tools=[{**tool, "require_approval": "never"}]
        )
    call: Any = response.output[1]
    assert call.type == "mcp_call" and call.status == "failed" and call.error  # feature/login exists already
    assert response.output_text.startswith("I couldn't create branch `feature/login`"), response.output_text


def test_hosted_mcp_on_composio(sandbox: Sandbox, gateway: str) -> None:
    """The Tool Router's meta tools: search, then execute, several hosted calls in one response."""
    (text,) = asyncio.run(agents_hosted(gateway, MODEL, composio_path(sandbox), [create("feature/composio")]))
    assert_created(sandbox, "feature/composio", text)


# -- the chat-completions variants, streamed through the gateway's emulation --------------------------------------


async def _agents_chat(model_api: str, model: str, path: Path, turns: list[str]) -> list[str]:
    """openai-agents-client as the harness drives it: a client-side MCP server, chat completions, streamed."""
    from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, Runner
    from agents.mcp import MCPServerStreamableHttp
    from openai import AsyncOpenAI

    texts = []
    async with (
        AsyncOpenAI(base_url=model_api, api_key=MODEL_KEY, max_retries=0) as client,
        MCPServerStreamableHttp(params={"url": path.url, "headers": path.headers}) as server,
    ):
        agent = Agent(
            name="a",
            instructions=INSTRUCTIONS,
            model=OpenAIChatCompletionsModel(model=model, openai_client=client),
            mcp_servers=[server],
            model_settings=ModelSettings(include_usage=True),
        )
        for turn in turns:
            result = Runner.run_streamed(agent, turn)
            async for _ in result.stream_events():
                pass
            texts.append(str(result.final_output))
    return texts


CHAT_VARIANTS = {"autogen": autogen, "pydantic-ai": pydantic_ai, "openai-agents-client": _agents_chat}


@pytest.mark.parametrize("variant", sorted(CHAT_VARIANTS))
def test_chat_variants_through_emulated_streaming(sandbox: Sandbox, gateway: str, variant: str) -> None:
    branch = f"feature/{variant}"
    (text,) = asyncio.run(CHAT_VARIANTS[variant](gateway, MODEL, rovo_path(sandbox), [create(branch)]))
    assert_created(sandbox, branch, text)


@pytest.mark.parametrize("variant", sorted(CHAT_VARIANTS))
def test_chat_variants_through_native_streaming(sandbox: Sandbox, native: str, variant: str) -> None:
    (text,) = asyncio.run(CHAT_VARIANTS[variant](native, MODEL, composio_path(sandbox), [create("feature/native")]))
    assert_created(sandbox, "feature/native", text)


def test_client_side_mcp_on_the_gateways_responses_api(sandbox: Sandbox, gateway: str) -> None:
    """Function tools on the Responses API: each call ends a response and the SDK runs it."""
    (text,) = asyncio.run(agents_client(gateway, MODEL, rovo_path(sandbox), [create("feature/functions")]))
    assert_created(sandbox, "feature/functions", text)
