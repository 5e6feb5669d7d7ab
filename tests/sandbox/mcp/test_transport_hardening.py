"""Both MCP servers, at the transport: JSON-RPC error codes and ids, Origin validation, quiet normal closes."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from sandbox import Sandbox
from sandbox.mcp_http import TRANSPORT_MODES
from tests.sandbox.mcp.targets import VARIANTS
from tests.sandbox.mcp.test_conformance import PROTOCOL, SERVERS, Rpc, message, set_mode

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "hardening", "version": "1"}},
}


def opened(sb: Sandbox, variant: str, mode: str) -> Rpc:
    """An initialized connection (with its session id in the stateful modes)."""
    set_mode(sb, SERVERS[variant], mode)
    rpc = Rpc(VARIANTS[variant](sb))
    init = rpc.post(INITIALIZE)
    assert init.status_code == 200, init.text
    rpc.session = init.headers.get("mcp-session-id")
    assert rpc.post({"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202
    return rpc


# 7. JSON-RPC details -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", TRANSPORT_MODES)
@pytest.mark.parametrize("variant", sorted(SERVERS))
def test_unknown_method_is_method_not_found(sandbox: Sandbox, variant: str, mode: str) -> None:
    rpc = opened(sandbox, variant, mode)
    response = rpc.post({"jsonrpc": "2.0", "id": 7, "method": "tools/frobnicate", "params": {}})
    assert response.status_code == 200, response.text
    reply = message(response)
    assert reply["id"] == 7 and reply["error"]["code"] == -32601, reply
    # a known method with bad params is still -32602, and the session still works afterwards
    bad = message(rpc.post({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": 5}}))
    assert bad["error"]["code"] == -32602, bad
    assert rpc.call("ping") == {}


@pytest.mark.parametrize("variant", sorted(SERVERS))
def test_transport_errors_carry_a_null_id(sandbox: Sandbox, variant: str) -> None:
    rpc = opened(sandbox, variant, "stateful-json")
    headers = rpc.headers()
    not_json = rpc.client.post(rpc.target.url, content=b"{nope", headers=headers)
    not_acceptable = rpc.client.post(rpc.target.url, json=INITIALIZE, headers={**headers, "Accept": "text/html"})
    unknown_session = rpc.client.post(
        rpc.target.url, json={"jsonrpc": "2.0", "id": 3, "method": "ping"}, headers={**headers, "Mcp-Session-Id": "x"}
    )
    for response, code in ((not_json, -32700), (not_acceptable, None), (unknown_session, None)):
        assert response.status_code >= 400, response.text
        body = response.json()
        assert body["jsonrpc"] == "2.0" and body["id"] is None and "error" in body, body
        assert code is None or body["error"]["code"] == code, body
        assert response.headers["content-length"] == str(len(response.content))


# 11. Origin --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", sorted(SERVERS))
def test_a_foreign_origin_is_refused(sandbox: Sandbox, variant: str) -> None:
    rpc = opened(sandbox, variant, "stateless-json")
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    for origin in ("http://evil.example", "http://127.0.0.1.evil.example", "null", "https://localhost.attacker.io"):
        refused = rpc.client.post(rpc.target.url, json=ping, headers={**rpc.headers(), "Origin": origin})
        assert refused.status_code == 403, (origin, refused.text)
        assert refused.json()["id"] is None and "origin" in refused.json()["error"]["message"].lower()
    for origin in ("http://127.0.0.1:3000", "http://localhost", "https://[::1]:8443"):
        allowed = rpc.client.post(rpc.target.url, json=ping, headers={**rpc.headers(), "Origin": origin})
        assert allowed.status_code == 200, (origin, allowed.text)
    assert rpc.call("ping") == {}  # no Origin at all: what SDKs send


@pytest.mark.parametrize("variant", sorted(SERVERS))
def test_configured_origins_are_let_in(sandbox: Sandbox, variant: str) -> None:
    service = SERVERS[variant]
    rpc = opened(sandbox, variant, "stateless-json")
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    headers = {**rpc.headers(), "Origin": "https://agents.example.com"}
    assert rpc.client.post(rpc.target.url, json=ping, headers=headers).status_code == 403
    changed = sandbox.admin.patch(f"/{service}/settings", json={"mcp_allowed_origins": ["https://agents.example.com"]})
    assert changed.status_code == 200 and changed.json()["mcp_allowed_origins"] == ["https://agents.example.com"]
    assert rpc.client.post(rpc.target.url, json=ping, headers=headers).status_code == 200
    bad = sandbox.admin.patch(f"/{service}/settings", json={"mcp_allowed_origins": "https://agents.example.com"})
    assert bad.status_code == 400 and "mcp_allowed_origins" in bad.text


# 13. A normal close is not an error ---------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", sorted(SERVERS))
def test_closing_a_stateful_session_logs_no_error(sandbox: Sandbox, variant: str) -> None:
    start = sandbox.log_path.stat().st_size
    rpc = opened(sandbox, variant, "stateful-sse")
    stream_status: list[int] = []

    def listen() -> None:  # the GET stream a client keeps open for server messages
        headers = {**rpc.headers(), "Accept": "text/event-stream"}
        try:
            with httpx.stream("GET", rpc.target.url, headers=headers, timeout=10, trust_env=False) as stream:
                stream_status.append(stream.status_code)
                for _ in stream.iter_lines():
                    pass
        except httpx.HTTPError:
            pass

    listener = threading.Thread(target=listen)
    listener.start()
    deadline = time.monotonic() + 10
    while not stream_status and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream_status == [200]
    assert rpc.client.delete(rpc.target.url, headers=rpc.headers()).status_code == 200
    listener.join(10)
    time.sleep(0.3)  # the server's side of the stream finishes after the client's
    logged = sandbox.log_path.read_bytes()[start:].decode("utf-8", "replace")
    assert "ERROR" not in logged and "Traceback" not in logged, logged
