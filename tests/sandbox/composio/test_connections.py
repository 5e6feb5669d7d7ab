"""Connected accounts: no connection (4302), connecting through MANAGE_CONNECTIONS and its link, re-connection."""

from __future__ import annotations

import asyncio
from typing import Any

import composio_client
import httpx
import pytest

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import state_digest
from tests.sandbox.composio.helpers import (
    BASE,
    KEY,
    composio,
    create_session,
    execute,
    mcp_client,
    rest,
    set_transport,
    wrapper,
)

NO_CONNECTION = "No active connection found for toolkit(s) 'bitbucket' in this session"
BRANCH = {"workspace": "acme", "repo_slug": "widgets", "name": "no-write", "target_hash": "main"}


def meta(sb: Sandbox, session_id: str, slug: str, arguments: dict[str, Any]) -> dict[str, Any]:
    with rest(sb) as c:
        r = c.post(f"{BASE}/{session_id}/execute_meta", json={"slug": slug, "arguments": arguments})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_no_connection_is_a_4302_on_rest_execute(sandbox: Sandbox) -> None:
    before = state_digest(sandbox)
    session = create_session(sandbox, "user-nobody")
    r = execute(sandbox, session["session_id"], "BITBUCKET_CREATE_BRANCH", BRANCH)
    error = r.json()["error"]
    assert r.status_code == 400
    assert (error["code"], error["slug"], error["message"]) == (4302, "ToolRouterV2_NoActiveConnection", NO_CONNECTION)
    sdk_session = composio(sandbox).use(session["session_id"])
    with pytest.raises(composio_client.BadRequestError, match="No active connection"):
        sdk_session.execute("BITBUCKET_GET_CURRENT_USER", arguments={})
    assert state_digest(sandbox) == before


def test_no_connection_inside_multi_execute_is_a_per_result_error(sandbox: Sandbox) -> None:
    session = create_session(sandbox, "user-nobody")
    out = meta(
        sandbox,
        session["session_id"],
        "COMPOSIO_MULTI_EXECUTE_TOOL",
        {
            "tools": [
                {"tool_slug": "BITBUCKET_GET_CURRENT_USER", "arguments": {}},
                {"tool_slug": "BITBUCKET_NOT_A_TOOL", "arguments": {}},
            ]
        },
    )
    assert (out["result_type"], out["error"]) == ("failed", "2 out of 2 tools failed")
    first, second = out["data"]["results"]
    assert first["error"].startswith(NO_CONNECTION) and "COMPOSIO_MANAGE_CONNECTIONS" in first["error"]
    assert first["response"] == {"successful": False, "data": {}, "error": first["error"]}
    assert second["error"] == "Tool BITBUCKET_NOT_A_TOOL not found"
    assert (out["data"]["success_count"], out["data"]["error_count"]) == (0, 2)


def test_manage_connections_then_completion_through_the_admin_api(sandbox: Sandbox) -> None:
    """Over MCP in the stateful-sse transport (Mcp-Session-Id, SSE replies)."""
    set_transport(sandbox, "stateful-sse")
    session = create_session(sandbox, "user-new")

    async def call(mcp: Any, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return wrapper(await mcp.call_tool(name, arguments))

    async def run() -> None:
        async with mcp_client(session["mcp"]["url"], {"x-api-key": KEY}) as (mcp, session_id):
            assert session_id()
            found = await call(mcp, "COMPOSIO_SEARCH_TOOLS", {"queries": [{"use_case": "who am I"}]})
            status = found["data"]["toolkit_connection_statuses"][0]
            assert status["has_active_connection"] is False
            assert "COMPOSIO_MANAGE_CONNECTIONS" in status["status_message"]
            started = await call(mcp, "COMPOSIO_MANAGE_CONNECTIONS", {"toolkits": ["bitbucket"]})
            pending = started["data"]["results"]["bitbucket"]
            assert started["successful"] and pending["status"] == "initiated"
            assert pending["redirect_url"].startswith(sandbox.urls["composio_api"] + "/link/lk_")
            repeated = await call(mcp, "COMPOSIO_MANAGE_CONNECTIONS", {"toolkits": ["bitbucket"]})
            assert repeated["data"]["results"]["bitbucket"]["connection_id"] == pending["connection_id"]
            done = sandbox.admin.post(
                f"/composio/connections/{pending['connection_id']}/complete", json={"bitbucket_user": "bob"}
            )
            assert done.status_code == 200 and done.json()["status"] == "ACTIVE"
            me = await call(
                mcp,
                "COMPOSIO_MULTI_EXECUTE_TOOL",
                {"tools": [{"tool_slug": "BITBUCKET_GET_CURRENT_USER", "arguments": {}}]},
            )
            assert me["successful"] and me["data"]["results"][0]["response"]["data"]["display_name"] == "Bob Baker"
            again = await call(mcp, "COMPOSIO_MANAGE_CONNECTIONS", {"toolkits": ["bitbucket"]})
            assert again["data"]["results"]["bitbucket"]["status"] == "active"

    asyncio.run(run())


def test_opening_the_redirect_url_completes_the_connection(sandbox: Sandbox) -> None:
    session = composio(sandbox).create(user_id="user-new", toolkits=["bitbucket"])
    request = session.authorize("bitbucket")
    assert request.redirect_url and request.redirect_url.startswith(sandbox.urls["composio_api"])
    unknown_user = httpx.get(request.redirect_url, trust_env=False)  # user-new never connected: who approves?
    assert unknown_user.status_code == 400 and "bitbucket_user" in unknown_user.json()["error"]["message"]
    opened = httpx.get(request.redirect_url, params={"bitbucket_user": "carol"}, trust_env=False)
    assert opened.status_code == 200 and opened.json()["connected_account_id"] == request.id
    result = session.execute("BITBUCKET_GET_CURRENT_USER", arguments={})
    assert result.data["display_name"] == "Carol Cole"
    assert httpx.get(sandbox.urls["composio_api"] + "/link/lk_nope", trust_env=False).status_code == 404


def test_reconnection_uses_the_newest_account(sandbox: Sandbox) -> None:
    session = create_session(sandbox, "user-1")
    out = meta(
        sandbox,
        session["session_id"],
        "COMPOSIO_MANAGE_CONNECTIONS",
        {"toolkits": ["bitbucket"], "reinitiate_all": True},
    )
    pending = out["data"]["results"]["bitbucket"]
    assert pending["status"] == "initiated" and pending["was_reinitiated"] is True
    # The user approves the new connection with read scopes only: writes now fail with Bitbucket's 403.
    done = sandbox.admin.post(
        f"/composio/connections/{pending['connection_id']}/complete", json={"scopes": ["account", "repository"]}
    )
    assert done.json()["bitbucket_user"] == "alice"  # re-connection defaults to the earlier Bitbucket user
    r = execute(sandbox, session["session_id"], "BITBUCKET_CREATE_BRANCH", BRANCH).json()
    assert r["result_type"] == "failed" and "privilege scopes" in r["error"]


def test_wait_for_connections(sandbox: Sandbox) -> None:
    session = create_session(
        sandbox, "user-new", manage_connections={"enable": True, "enable_wait_for_connections": True}
    )
    assert "COMPOSIO_WAIT_FOR_CONNECTIONS" in session["tool_router_tools"]
    waited = meta(
        sandbox,
        session["session_id"],
        "COMPOSIO_WAIT_FOR_CONNECTIONS",
        {"toolkits": ["bitbucket"], "timeout_seconds": 1},
    )
    assert waited["result_type"] == "failed" and waited["error"].startswith("Timed out after 1s")
    created = sandbox.admin.post("/composio/connections", json={"user_id": "user-new", "bitbucket_user": "bob"})
    assert created.status_code == 201
    waited = meta(sandbox, session["session_id"], "COMPOSIO_WAIT_FOR_CONNECTIONS", {"toolkits": ["bitbucket"]})
    assert waited["result_type"] == "completed" and waited["data"]["all_connected"] is True


def test_admin_connection_routes(sandbox: Sandbox) -> None:
    admin = sandbox.admin
    for bad in (
        {"user_id": "u", "bitbucket_user": "nobody"},
        {"user_id": "u", "bitbucket_user": "bob", "status": "WEIRD"},
        {"bitbucket_user": "bob"},
    ):
        assert admin.post("/composio/connections", json=bad).status_code == 400, bad
    created = admin.post("/composio/connections", json={"user_id": "user-x", "bitbucket_user": "bob"}).json()
    assert created["id"].startswith("ca_") and created["status"] == "ACTIVE"
    listed = admin.get("/composio/connections", params={"user_id": "user-x"}).json()["connections"]
    assert [a["id"] for a in listed] == [created["id"]]
    session = create_session(sandbox, "user-x")
    assert execute(sandbox, session["session_id"], "BITBUCKET_GET_CURRENT_USER", {}).status_code == 200
    assert admin.delete(f"/composio/connections/{created['id']}").status_code == 204
    assert admin.delete(f"/composio/connections/{created['id']}").status_code == 404
    assert execute(sandbox, session["session_id"], "BITBUCKET_GET_CURRENT_USER", {}).status_code == 400
    assert admin.post("/composio/connections/ca_nope/complete", json={}).status_code == 404


def test_expired_tokens_are_reminted(sandbox: Sandbox) -> None:
    session = create_session(sandbox, "user-1")
    assert execute(sandbox, session["session_id"], "BITBUCKET_GET_CURRENT_USER", {}).json()["error"] is None
    assert sandbox.admin.post("/clock/advance", json={"seconds": 3 * 3600}).status_code == 200
    again = execute(sandbox, session["session_id"], "BITBUCKET_GET_CURRENT_USER", {}).json()
    assert (again["result_type"], again["data"]["display_name"]) == ("completed", "Alice Archer")


def test_pinned_connected_accounts(sandbox: Sandbox) -> None:
    pinned = create_session(sandbox, "user-1", connected_accounts={"bitbucket": "ca_sandbox_alice"})
    assert pinned["config"]["connected_accounts"] == {"bitbucket": ["ca_sandbox_alice"]}
    with rest(sandbox) as c:
        r = c.post(BASE, json={"user_id": "user-1", "connected_accounts": {"bitbucket": ["ca_sandbox_bob"]}})
        chosen = c.post(
            f"{BASE}/{pinned['session_id']}/execute",
            json={"tool_slug": "BITBUCKET_GET_CURRENT_USER", "arguments": {}, "account": "ca_sandbox_bob"},
        )
    assert r.status_code == 400 and r.json()["error"]["slug"] == "ToolRouterV2_InvalidConnectedAccountIds"
    assert chosen.status_code == 400 and chosen.json()["error"]["code"] == 4302  # not one of user-1's accounts
    mine = execute(sandbox, pinned["session_id"], "BITBUCKET_GET_CURRENT_USER", {}).json()
    assert mine["data"]["display_name"] == "Alice Archer"


def test_fixture_section_loads_additively_and_validates(sandbox: Sandbox) -> None:
    managed = {"consumer": "sandbox-oauth-composio-key", "scopes": ["account", "repository"]}
    bad = {
        "composio": {"managed_auth": managed, "connected_accounts": [{"user_id": "user-z", "bitbucket_user": "nobody"}]}
    }
    assert sandbox.admin.post("/fixtures", json=bad).status_code == 400
    good = {
        "composio": {
            "api_keys": ["sandbox-composio-apikey-second"],
            "managed_auth": managed,
            "connected_accounts": [{"user_id": "user-z", "bitbucket_user": "carol"}],
        }
    }
    loaded = sandbox.admin.post("/fixtures", json=good)
    assert loaded.status_code == 200, loaded.text
    composio_creds = loaded.json()["credentials"]["composio"]
    assert composio_creds["api_keys"] == [KEY, "sandbox-composio-apikey-second"]
    added = [a for a in composio_creds["connected_accounts"] if a["user_id"] == "user-z"]
    assert [(a["bitbucket_user"], a["scopes"], a["id"][:3]) for a in added] == [("carol", managed["scopes"], "ca_")]
    session = composio(sandbox, key="sandbox-composio-apikey-second").create(user_id="user-z")
    assert session.execute("BITBUCKET_GET_CURRENT_USER", arguments={}).data["display_name"] == "Carol Cole"
