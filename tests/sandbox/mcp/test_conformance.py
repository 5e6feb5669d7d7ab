"""Raw JSON-RPC over streamable HTTP, the same script against both MCP servers and every transport mode.

initialize -> notifications/initialized -> tools/list -> tools/call -> ping -> DELETE, with the session header
in the stateful modes and none in the stateless one.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sandbox import Sandbox
from sandbox.mcp_http import TRANSPORT_MODES
from tests.sandbox.mcp.targets import VARIANTS, McpTarget

ACCEPT = "application/json, text/event-stream"
PROTOCOL = "2025-06-18"
SERVERS = {"composio-default": "composio", "rovo-full": "rovo"}


def set_mode(sb: Sandbox, service: str, mode: str) -> None:
    response = sb.admin.patch(f"/{service}/settings", json={"mcp_transport": mode})
    assert response.status_code == 200, response.text


def message(response: httpx.Response) -> dict[str, Any]:
    """The one JSON-RPC message of a reply, whether sent as JSON or as an SSE event."""
    if response.headers["content-type"].startswith("text/event-stream"):
        events = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        assert len(events) == 1, response.text
        return dict(json.loads(events[0]))
    return dict(response.json())


class Rpc:
    def __init__(self, target: McpTarget) -> None:
        self.target = target
        self.client = httpx.Client(timeout=30, trust_env=False)
        self.session: str | None = None
        self.next_id = 0

    def headers(self) -> dict[str, str]:
        h = {**self.target.headers, "Accept": ACCEPT, "Content-Type": "application/json"}
        if self.session:
            h["Mcp-Session-Id"] = self.session
            h["Mcp-Protocol-Version"] = PROTOCOL
        return h

    def post(self, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(self.target.url, json=body, headers=self.headers())

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.next_id += 1
        response = self.post({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}})
        assert response.status_code == 200, response.text
        reply = message(response)
        assert reply["id"] == self.next_id and "error" not in reply, reply
        return dict(reply["result"])


@pytest.mark.parametrize("mode", TRANSPORT_MODES)
@pytest.mark.parametrize("variant", sorted(SERVERS))
def test_jsonrpc_session_script(sandbox: Sandbox, variant: str, mode: str) -> None:
    set_mode(sandbox, SERVERS[variant], mode)
    rpc = Rpc(VARIANTS[variant](sandbox))
    rpc.next_id += 1
    init = rpc.post(
        {
            "jsonrpc": "2.0",
            "id": rpc.next_id,
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "conformance", "version": "1"},
            },
        }
    )
    assert init.status_code == 200, init.text
    assert message(init)["result"]["protocolVersion"] == PROTOCOL
    wants_sse = mode == "stateful-sse"
    assert init.headers["content-type"].startswith("text/event-stream" if wants_sse else "application/json")
    rpc.session = init.headers.get("mcp-session-id")
    assert (rpc.session is not None) == mode.startswith("stateful")

    initialized = rpc.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert initialized.status_code == 202

    names = {t["name"] for t in rpc.call("tools/list")["tools"]}
    tool, arguments = rpc.target.read_call
    assert tool in names
    result = rpc.call("tools/call", {"name": tool, "arguments": arguments})
    assert not result.get("isError") and "# Widgets" in result["content"][0]["text"]
    assert rpc.call("ping") == {}

    closed = rpc.client.delete(rpc.target.url, headers=rpc.headers())
    if rpc.session:
        assert closed.status_code == 200
        after = rpc.post({"jsonrpc": "2.0", "id": 99, "method": "ping"})
        assert after.status_code == 404  # the session is gone
    else:
        assert closed.status_code == 405  # nothing to close without a session
