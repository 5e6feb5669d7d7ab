"""The real ``composio`` SDK against the sandbox: sessions, MCP coordinates, tools, execute, presets, auth."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import composio_client
import pytest

from sandbox import Sandbox
from tests.sandbox.composio.helpers import BASE, KEY, composio, create_session, main_head, mcp_client, rest, wrapper

META6 = [
    "COMPOSIO_SEARCH_TOOLS",
    "COMPOSIO_MULTI_EXECUTE_TOOL",
    "COMPOSIO_MANAGE_CONNECTIONS",
    "COMPOSIO_GET_TOOL_SCHEMAS",
    "COMPOSIO_REMOTE_WORKBENCH",
    "COMPOSIO_REMOTE_BASH_TOOL",
]


def test_create_gives_working_mcp_coordinates(sandbox: Sandbox) -> None:
    client = composio(sandbox)
    session: Any = client.create(user_id="user-1", toolkits=["bitbucket"])  # mcp=False: .mcp exists, untyped
    origin = sandbox.urls["composio_api"]
    assert session.session_id.startswith("trs_") and len(session.session_id) == 16
    assert session.mcp.url == f"{origin}/tool_router/{session.session_id}/mcp"
    assert session.mcp.headers == {"x-api-key": KEY}
    assert session.config.toolkits.enabled == ["bitbucket"]  # type: ignore[union-attr]

    async def names() -> list[str]:
        async with mcp_client(session.mcp.url, session.mcp.headers) as (mcp, _):
            return [t.name for t in (await mcp.list_tools()).tools]

    assert asyncio.run(names()) == META6
    with_mcp = client.create(user_id="user-1", toolkits=["bitbucket"], mcp=True)
    assert with_mcp.mcp.headers == {"x-api-key": KEY} and with_mcp.session_id != session.session_id
    used = client.use(session.session_id, mcp=True)
    assert (used.session_id, used.mcp.url) == (session.session_id, session.mcp.url)


def test_mcp_url_echoes_the_host_the_client_used(sandbox: Sandbox) -> None:
    """localhost and 127.0.0.1 are different origins to the SDK: the URL must follow the client's own."""
    port = sandbox.urls["composio_api"].rsplit(":", 1)[1]
    client = composio(sandbox)
    client2 = type(client)(api_key=KEY, base_url=f"http://localhost:{port}", allow_tracking=False)
    session = client2.create(user_id="user-1", toolkits=["bitbucket"], mcp=True)
    assert session.mcp.url.startswith(f"http://localhost:{port}/tool_router/")
    assert session.mcp.headers == {"x-api-key": KEY}


def test_create_response_echoes_the_config(sandbox: Sandbox) -> None:
    body = create_session(
        sandbox,
        toolkits={"disable": ["github"]},
        manage_connections={"enable": True, "enable_wait_for_connections": True},
        workbench={"enable": False},
        tools={"bitbucket": {"enable": ["BITBUCKET_CREATE_BRANCH"]}},
    )
    config = body["config"]
    assert config["toolkits"] == {"disabled": ["github"]}
    assert config["tools"] == {"bitbucket": {"enabled": ["BITBUCKET_CREATE_BRANCH"]}}
    assert config["manage_connections"]["enabled"] is True
    assert config["manage_connections"]["enable_wait_for_connections"] is True
    assert config["workbench"]["enable"] is False and config["preload"] == {"tools": []}
    assert body["tool_router_tools"] == [
        "COMPOSIO_SEARCH_TOOLS",
        "COMPOSIO_MULTI_EXECUTE_TOOL",
        "COMPOSIO_MANAGE_CONNECTIONS",
        "COMPOSIO_WAIT_FOR_CONNECTIONS",
        "COMPOSIO_GET_TOOL_SCHEMAS",
    ]
    assert body["mcp"]["type"] == "http" and body["config_version"] == 1


def test_session_tools_are_paged(sandbox: Sandbox) -> None:
    client = composio(sandbox)
    session = client.create(user_id="user-1", toolkits=["bitbucket"])
    wrapped = session.tools()  # the SDK pages with limit=500: one page here
    assert [t["function"]["name"] for t in wrapped] == META6
    raw = client.client.tool_router.session
    first = raw.tools(session.session_id, limit=4)
    assert first.next_cursor
    second = raw.tools(session.session_id, limit=4, cursor=first.next_cursor)
    assert [i.slug for i in first.items] == META6[:4] and [i.slug for i in second.items] == META6[4:]
    assert (first.total_items, first.total_pages, first.current_page, second.next_cursor) == (6, 2, 1, None)
    item = first.items[0]
    assert item.toolkit.slug == "composio" and "queries" in item.input_parameters["properties"]  # type: ignore[operator]


def test_execute_and_execute_meta(sandbox: Sandbox) -> None:
    session = composio(sandbox).create(user_id="user-1", toolkits=["bitbucket"])
    result = session.execute(
        "BITBUCKET_CREATE_BRANCH",
        arguments={"workspace": "acme", "repo_slug": "widgets", "name": "sdk-branch", "target_hash": "main"},
    )
    data: Any = result.data
    assert (result.result_type, result.error, data["name"]) == ("completed", None, "sdk-branch")
    assert data["target"]["hash"] == main_head(sandbox)
    found: Any = session.execute_meta(
        "COMPOSIO_SEARCH_TOOLS", arguments={"queries": [{"use_case": "open a pull request"}]}
    ).data
    assert found["results"][0]["primary_tool_slugs"] == ["BITBUCKET_CREATE_PULL_REQUEST"]
    searched = session.search(query="fetch the readme file")
    assert searched.results[0].primary_tool_slugs == ["BITBUCKET_GET_FILE_FROM_REPOSITORY"]
    kits = session.toolkits()
    assert [(k.slug, k.connection.is_active) for k in kits.items] == [("bitbucket", True)]  # type: ignore[union-attr]


def test_direct_tools_preset(sandbox: Sandbox) -> None:
    session = composio(sandbox).create(user_id="user-1", toolkits=["bitbucket"], session_preset="direct_tools")
    names = [t["function"]["name"] for t in session.tools()]
    assert len(names) == 18 and all(n.startswith("BITBUCKET_") for n in names)
    assert session.config.preload.tools == "all"
    with rest(sandbox) as c:
        r = c.post(
            f"{BASE}/{session.session_id}/execute",
            json={"tool_slug": "COMPOSIO_MULTI_EXECUTE_TOOL", "arguments": {"tools": []}},
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == 4301  # multi-execute is off in this preset


def test_preload_lists_chosen_tools_besides_meta_tools(sandbox: Sandbox) -> None:
    body = create_session(sandbox, preload={"tools": ["BITBUCKET_GET_CURRENT_USER"]})
    session = composio(sandbox).use(body["session_id"])
    assert [t["function"]["name"] for t in session.tools()] == [*META6, "BITBUCKET_GET_CURRENT_USER"]
    with rest(sandbox) as c:
        r = c.post(BASE, json={"user_id": "user-1", "preload": {"tools": ["BITBUCKET_NOPE"]}})
    assert r.status_code == 400 and "BITBUCKET_NOPE" in r.json()["error"]["message"]


def test_wrong_or_missing_key_is_an_authentication_error(sandbox: Sandbox) -> None:
    with pytest.raises(composio_client.AuthenticationError) as raised:
        composio(sandbox, key="sandbox-wrong-key").create(user_id="user-1", toolkits=["bitbucket"])
    assert raised.value.status_code == 401
    good = create_session(sandbox)
    with rest(sandbox, key=None) as c:
        r = c.get(f"{BASE}/{good['session_id']}")
    error = r.json()["error"]
    assert r.status_code == 401 and set(error) == {"message", "code", "status", "request_id", "slug"}


def test_unknown_and_deleted_sessions_are_404(sandbox: Sandbox) -> None:
    client = composio(sandbox)
    session = client.create(user_id="user-1", toolkits=["bitbucket"])
    assert session.delete() == {"session_id": session.session_id, "deleted": True}
    with pytest.raises(composio_client.NotFoundError):
        client.use(session.session_id)
    with rest(sandbox) as c:
        r = c.post(f"{BASE}/trs_doesnotexist/execute", json={"tool_slug": "BITBUCKET_GET_CURRENT_USER"})
    assert r.status_code == 404 and r.json()["error"]["slug"] == "ToolRouterV2_SessionNotFound"


def test_session_ids_are_random_and_never_reused(sandbox: Sandbox) -> None:
    """A session URL acts as its user: after a reset, a stale client's URL must be 404, not the next user's session."""
    first = [create_session(sandbox) for _ in range(2)]
    ids = [s["session_id"] for s in first]
    sandbox.reset()
    again = create_session(sandbox, user_id="user-2")
    assert len({*ids, again["session_id"]}) == 3
    assert all(i.startswith("trs_") and len(i) == 16 for i in [*ids, again["session_id"]])
    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    with rest(sandbox) as c:
        for stale in first:
            assert c.get(f"{BASE}/{stale['session_id']}").status_code == 404
            gone = c.post(stale["mcp"]["url"], json=ping, headers={"accept": "application/json, text/event-stream"})
            assert gone.status_code == 404, gone.text
        assert c.get(f"{BASE}/{again['session_id']}").json()["config"]["user_id"] == "user-2"


def test_workbench_tools_refuse_clearly(sandbox: Sandbox) -> None:
    session = composio(sandbox).create(user_id="user-1", toolkits=["bitbucket"])
    result = session.execute_meta("COMPOSIO_REMOTE_BASH_TOOL", arguments={"command": "ls"})
    assert result.result_type == "failed" and "no remote workbench" in (result.error or "")
    off = composio(sandbox).create(user_id="user-1", toolkits=["bitbucket"], sandbox={"enable": False})
    assert "COMPOSIO_REMOTE_BASH_TOOL" not in [t["function"]["name"] for t in off.tools()]


def test_injected_composio_fault_reaches_the_sdk(sandbox: Sandbox) -> None:
    session = composio(sandbox).create(user_id="user-1", toolkits=["bitbucket"])
    sandbox.admin.post("/faults", json={"server": "composio", "path": "/execute$", "status": 503})
    with pytest.raises(composio_client.InternalServerError):
        session.execute("BITBUCKET_GET_CURRENT_USER", arguments={})
    assert session.execute("BITBUCKET_GET_CURRENT_USER", arguments={}).result_type == "completed"


def test_mcp_headers_open_the_mcp_endpoint_only(sandbox: Sandbox) -> None:
    """The gate: no key -> 401, wrong session -> 404, both as JSON-RPC envelopes with Composio's error."""
    session = create_session(sandbox)
    url = session["mcp"]["url"]
    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"accept": "application/json, text/event-stream"}
    with rest(sandbox, key=None) as c:
        refused = c.post(url, json=ping, headers=accept)
    with rest(sandbox) as c:
        missing = c.post(url.replace(session["session_id"], "trs_000000000000"), json=ping, headers=accept)
        listed = c.post(url, json=ping, headers=accept)
    assert refused.status_code == 401 and refused.json()["error"]["slug"] == "Unauthorized"
    assert missing.status_code == 404 and missing.json()["jsonrpc"] == "2.0"
    assert listed.status_code == 200
    assert [t["name"] for t in json.loads(listed.text)["result"]["tools"]] == META6


def test_tool_result_wrapper_over_mcp(sandbox: Sandbox) -> None:
    session = create_session(sandbox)

    async def run() -> tuple[dict[str, object], bool | None]:
        async with mcp_client(session["mcp"]["url"], {"x-api-key": KEY}) as (mcp, _):
            result = await mcp.call_tool("COMPOSIO_GET_TOOL_SCHEMAS", {"tool_slugs": ["BITBUCKET_GET_SNIPPET"]})
            return wrapper(result), result.isError

    out, is_error = asyncio.run(run())
    assert is_error is False and set(out) == {"data", "error", "successful"}
    data = out["data"]
    assert isinstance(data, dict)
    schema = data["tool_schemas"]["BITBUCKET_GET_SNIPPET"]["input_schema"]
    assert schema["required"] == ["workspace", "encoded_id"] and data["not_found"] == []
