"""Hosted MCP tools on the Responses API: the model server lists and calls the sandbox's Rovo server itself."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from openai import OpenAI
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api
from tests.sandbox.model.drivers import agents_hosted, rovo_path

CREATE = "create a branch feature/hosted off main in acme/widgets"


def rovo_tool(sb: Sandbox, approval: Any = "never", **extra: Any) -> Any:
    path = rovo_path(sb)
    return {
        "type": "mcp",
        "server_label": "rovo",
        "server_url": path.url,
        "headers": path.headers,
        "require_approval": approval,
        **extra,
    }


def branches(sb: Sandbox) -> dict[str, str]:
    with api(sb) as c:
        values = c.get("repositories/acme/widgets/refs/branches", params={"pagelen": 100}).json()["values"]
    return {b["name"]: b["target"]["hash"] for b in values}


def branch_posts(sb: Sandbox) -> int:
    log = sb.admin.get("/bitbucket/requests").json()["requests"]
    return sum(1 for r in log if r.get("method") == "POST" and str(r.get("path", "")).endswith("/refs/branches"))


def test_one_response_lists_calls_and_answers(sandbox: Sandbox, client: OpenAI) -> None:
    response = client.responses.create(model="sandbox-reference", input=CREATE, tools=[rovo_tool(sandbox)])
    assert [o.type for o in response.output] == ["mcp_list_tools", "mcp_call", "message"]
    listing, call = response.output[0], response.output[1]
    assert listing.server_label == "rovo" and "bitbucketRepoContent" in {t.name for t in listing.tools}  # type: ignore[union-attr]
    assert call.name == "bitbucketRepoContent" and call.error is None and "feature/hosted" in (call.output or "")  # type: ignore[union-attr]
    assert branches(sandbox)["feature/hosted"] == branches(sandbox)["main"]
    assert response.output_text.startswith("Created branch `feature/hosted` in acme/widgets from `main`")
    assert "headers" not in response.tools[0].model_dump(exclude_none=True)  # credentials are never echoed


def test_a_follow_up_turn_reuses_the_listing_and_reruns_nothing(sandbox: Sandbox, client: OpenAI) -> None:
    tools: Any = [rovo_tool(sandbox)]
    first = client.responses.create(model="m", input=CREATE, tools=tools)
    history: Any = [{"role": "user", "content": CREATE}, *(o.model_dump(exclude_none=True) for o in first.output)]
    second = client.responses.create(
        model="m", tools=tools, input=[*history, {"role": "user", "content": "show me the README"}]
    )
    assert [o.type for o in second.output] == ["mcp_call", "message"]
    call: Any = second.output[0]
    assert '"action":"files.get"' in call.arguments
    assert "# Widgets" in second.output_text
    assert branch_posts(sandbox) == 1


def test_approval_flow(sandbox: Sandbox, client: OpenAI) -> None:
    tools: Any = [rovo_tool(sandbox, approval="always")]
    asked = client.responses.create(model="m", input=CREATE, tools=tools)
    assert [o.type for o in asked.output] == ["mcp_list_tools", "mcp_approval_request"]
    request = asked.output[1]
    assert "feature/hosted" not in branches(sandbox)
    history: Any = [{"role": "user", "content": CREATE}, *(o.model_dump(exclude_none=True) for o in asked.output)]

    def answer(approve: bool) -> Response:
        reply: Any = {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": approve}
        return client.responses.create(model="m", input=[*history, reply], tools=tools)

    declined = answer(False)
    assert [o.type for o in declined.output] == ["message"]
    assert "not approved" in declined.output_text and "feature/hosted" not in branches(sandbox)
    approved = answer(True)
    assert [o.type for o in approved.output] == ["mcp_call", "message"]
    assert approved.output[0].approval_request_id == request.id  # type: ignore[union-attr]
    assert "feature/hosted" in branches(sandbox)
    assert approved.output_text.startswith("Created branch `feature/hosted`")


def test_a_failed_call_carries_its_error_and_is_reported(sandbox: Sandbox, client: OpenAI) -> None:
    response = client.responses.create(
        model="m", tools=[rovo_tool(sandbox)], input="create a branch feature/login off main in acme/widgets"
    )
    call = response.output[1]
    assert call.type == "mcp_call" and call.status == "failed" and call.output is None and call.error
    assert response.output_text.startswith("I couldn't create branch `feature/login`")


def test_streamed_hosted_events(sandbox: Sandbox, client: OpenAI) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    with client.responses.create(
        model="m", input="show me the README of acme/widgets", stream=True, tools=[rovo_tool(sandbox)]
    ) as stream:
        events = [adapter.validate_python(e.model_dump()) for e in stream]
    kinds = [e.type for e in events]
    for kind in (
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.output_text.delta",
    ):
        assert kind in kinds
    assert [o.type for o in events[-1].response.output] == ["mcp_list_tools", "mcp_call", "message"]


def test_allowed_tools_narrow_the_listing(sandbox: Sandbox, client: OpenAI) -> None:
    response = client.responses.create(
        model="m",
        input="open a pull request from feature/login to main in acme/widgets",
        tools=[rovo_tool(sandbox, allowed_tools=["bitbucketRepoContent"])],
    )
    assert [t.name for t in response.output[0].tools] == ["bitbucketRepoContent"]  # type: ignore[union-attr]
    assert [o.type for o in response.output] == ["mcp_list_tools", "message"]
    assert "None of the tools available to me here can do that" in response.output_text


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic bm9ib2R5QGV4YW1wbGUuY29tOm5vcGU="}])
def test_a_server_that_refuses_the_listing_fails_the_response(sandbox: Sandbox, headers: dict[str, str]) -> None:
    tool = {**rovo_tool(sandbox), "headers": headers}
    response = httpx.post(
        f"{sandbox.urls['model_api']}/responses",
        trust_env=False,
        timeout=60,
        headers={"Authorization": "Bearer k"},
        json={"model": "m", "input": CREATE, "tools": [tool]},
    )
    assert response.status_code == 424
    error = response.json()["error"]
    assert error["type"] == "external_connector_error" and "Http status code: 401" in error["message"]


@pytest.mark.parametrize("streamed", [False, True])
def test_the_agents_sdk_approves_through_its_hook(sandbox: Sandbox, streamed: bool) -> None:
    (text,) = asyncio.run(
        agents_hosted(
            sandbox.urls["model_api"],
            "sandbox-reference",
            rovo_path(sandbox),
            [CREATE],
            streamed=streamed,
            approval="always",
        )
    )
    assert text.startswith("Created branch `feature/hosted`") and "feature/hosted" in branches(sandbox)


def test_a_hosted_loop_stops_at_max_tool_calls(sandbox: Sandbox, client: OpenAI) -> None:
    response = client.responses.create(
        model="sandbox-loop", input="show me the README of acme/widgets", tools=[rovo_tool(sandbox)], max_tool_calls=3
    )
    assert [o.type for o in response.output] == ["mcp_list_tools", "mcp_call", "mcp_call", "mcp_call", "message"]
    assert "not available to me right now" in response.output_text
