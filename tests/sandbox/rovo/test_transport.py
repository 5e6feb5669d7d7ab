"""The /v1/mcp endpoint over streamable HTTP: the handshake in each transport mode, the SDK client, and the
HTTP-level refusals (Accept, sessions, malformed JSON-RPC, paths)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS

from sandbox import Sandbox
from sandbox.mcp_http import TRANSPORT_MODES
from tests.sandbox.rovo.helpers import ACCEPT, PROTOCOL, Rovo, reply, service_header, set_settings, token_header

README = {
    "action": "files.get",
    "workspaceId": "acme",
    "repoId": "widgets",
    "referenceOrSha": "main",
    "path": "README.md",
}


@pytest.mark.parametrize("mode", TRANSPORT_MODES)
def test_session_script_in_each_transport_mode(sandbox: Sandbox, mode: str) -> None:
    set_settings(sandbox, mcp_transport=mode)
    rovo = Rovo(sandbox, token_header(sandbox), initialize=False)
    init = rovo.post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
        }
    )
    assert init.status_code == 200, init.text
    expected_type = "text/event-stream" if mode == "stateful-sse" else "application/json"
    assert init.headers["content-type"].startswith(expected_type)
    result = reply(init)["result"]
    assert result["protocolVersion"] == PROTOCOL and result["serverInfo"]["name"] == "Atlassian MCP Server"
    rovo.session = init.headers.get("mcp-session-id")
    assert (rovo.session is not None) == mode.startswith("stateful")
    assert rovo.post({"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202

    assert "bitbucketRepoContent" in rovo.tool_names()
    assert "# Widgets" in rovo.ok("bitbucketRepoContent", **README)
    assert rovo.rpc("ping")["result"] == {}

    closed = rovo.http.delete(rovo.url, headers=rovo.headers())
    if mode.startswith("stateful"):
        assert closed.status_code == 200
        assert rovo.post({"jsonrpc": "2.0", "id": 9, "method": "ping"}).status_code == 404
    else:
        assert closed.status_code == 405


def test_mode_switch_is_refused_for_unknown_modes_and_reset_restores_sse(sandbox: Sandbox) -> None:
    bad = sandbox.admin.patch("/rovo/settings", json={"mcp_transport": "websocket"})
    assert bad.status_code == 400 and "stateful-sse" in bad.text
    assert set_settings(sandbox, mcp_transport="stateless-json")["mcp_transport"] == "stateless-json"
    sandbox.reset()
    assert sandbox.admin.get("/rovo/settings").json()["mcp_transport"] == "stateful-sse"


@pytest.mark.parametrize("version", SUPPORTED_PROTOCOL_VERSIONS)
def test_every_protocol_version_of_mcp_1x_clients_is_accepted(sandbox: Sandbox, version: str) -> None:
    rovo = Rovo(sandbox, token_header(sandbox), initialize=False)
    assert rovo.open(version)["protocolVersion"] == version


@pytest.mark.filterwarnings("ignore:Use `streamable_http_client` instead:DeprecationWarning")
def test_sdk_client_lists_and_calls_tools(sandbox: Sandbox) -> None:
    async def run() -> tuple[list[str], str, bool]:
        headers = {"Authorization": service_header()}
        async with (
            streamablehttp_client(sandbox.urls["rovo_mcp"], headers=headers) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            names = [t.name for t in (await session.list_tools()).tools]
            result = await session.call_tool("bitbucketRepoContent", README)
            text = result.content[0].text if result.content[0].type == "text" else ""
            return names, text, result.isError

    names, text, is_error = asyncio.run(run())
    assert names[:2] == ["atlassianUserInfo", "getAccessibleAtlassianResources"]
    assert "bitbucketPullRequest" in names and "bitbucketPipeline" not in names
    assert not is_error and text.startswith("# Widgets")


def test_head_and_plain_get_check_the_credentials(sandbox: Sandbox) -> None:
    url = sandbox.urls["rovo_mcp"]
    with httpx.Client(timeout=30, trust_env=False) as http:
        assert http.head(url, headers={"Authorization": token_header(sandbox)}).status_code == 200
        assert http.head(url, headers={"Authorization": service_header()}).status_code == 200
        refused = http.head(url)
        assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
        assert http.head(url, headers={"Authorization": token_header(sandbox, "classic")}).status_code == 403
        got = http.get(url, headers={"Authorization": token_header(sandbox)})
        assert got.status_code == 200 and got.json()["status"] == "ok"
        assert http.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_wrong_accept_header_is_a_clear_406(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    for accept in ("application/json", "text/html", ""):
        response = rovo.post({"jsonrpc": "2.0", "id": 5, "method": "ping"}, Accept=accept)
        assert response.status_code == 406
        assert "must accept both application/json and text/event-stream" in response.json()["error"]["message"]
    set_settings(sandbox, mcp_transport="stateless-json")
    plain = Rovo(sandbox, token_header(sandbox))
    response = plain.post({"jsonrpc": "2.0", "id": 6, "method": "ping"}, Accept="application/json")
    assert response.status_code == 200 and response.json()["result"] == {}
    assert plain.post({"jsonrpc": "2.0", "id": 7, "method": "ping"}, Accept="text/html").status_code == 406


def test_unknown_session_id_and_post_without_session_are_refused(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    rovo.session = "0" * 32
    unknown = rovo.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert unknown.status_code == 404 and "Session not found" in unknown.text
    rovo.session = None  # only initialize may come without a session id
    missing = rovo.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert missing.status_code == 400 and "session" in missing.text.lower()


def test_a_session_belongs_to_the_credential_that_opened_it(sandbox: Sandbox) -> None:
    alice = Rovo(sandbox, token_header(sandbox))
    assert alice.session
    bob = Rovo(sandbox, token_header(sandbox, "full", "bob"), initialize=False)
    bob.session = alice.session
    hijack = bob.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert hijack.status_code == 404
    assert "bitbucketRepository" in alice.tool_names()  # the owner's session is untouched


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, -32700),
        (json.dumps({"id": 1, "method": "ping"}), 400, -32602),  # no "jsonrpc": not a JSON-RPC message
        (json.dumps([1, 2]), 400, -32602),
        (json.dumps({"jsonrpc": "2.0", "id": 1}), 400, -32602),
    ],
)
def test_malformed_json_rpc_is_a_400_with_a_json_rpc_error(sandbox: Sandbox, body: str, status: int, code: int) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    response = rovo.http.post(rovo.url, content=body, headers=rovo.headers())
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_unknown_method_and_bad_params_are_json_rpc_errors(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    assert rovo.rpc("resources/list")["error"]["code"] == -32601
    bad = rovo.post({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": 5, "arguments": "x"}})
    assert bad.status_code == 200 and reply(bad)["error"]["code"] == -32602
    assert rovo.rpc("ping")["result"] == {}  # the session survived both


def test_content_type_must_be_json(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    response = rovo.http.post(rovo.url, content="ping", headers={**rovo.headers(), "Content-Type": "text/plain"})
    assert response.status_code == 400 and "Content-Type" in response.text


@pytest.mark.parametrize("path", ["/v1/mcp/", "/v1/sse", "/v2/mcp", "/"])
def test_only_the_exact_endpoint_path_is_served(sandbox: Sandbox, path: str) -> None:
    origin = sandbox.urls["rovo_mcp"].removesuffix("/v1/mcp")
    response = httpx.post(
        origin + path,
        headers={"Authorization": token_header(sandbox), "Accept": ACCEPT},
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        trust_env=False,
    )
    assert response.status_code == 404 and "/v1/mcp" in response.json()["error"]
