"""A raw JSON-RPC client for the Rovo MCP endpoint, and the credentials the tests present to it."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from sandbox import Sandbox

ACCEPT = "application/json, text/event-stream"
PROTOCOL = "2025-06-18"
SERVICE_KEY = "sandbox-svckey-acme-bot"


def basic(email: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{secret}".encode()).decode()


def token_header(sb: Sandbox, label: str = "full", user: str = "alice") -> str:
    return basic(*sb.api_token(label, user))


def service_header() -> str:
    return f"Bearer {SERVICE_KEY}"


def reply(response: httpx.Response) -> dict[str, Any]:
    """The one JSON-RPC message of a reply, sent as JSON or as one SSE event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        assert len(events) == 1, response.text
        return dict(json.loads(events[0]))
    return dict(response.json())


def set_settings(sb: Sandbox, **changes: Any) -> dict[str, Any]:
    response = sb.admin.patch("/rovo/settings", json=changes)
    assert response.status_code == 200, response.text
    return dict(response.json())


class Rovo:
    """One MCP connection: ``initialize`` + ``notifications/initialized`` on creation, then requests."""

    def __init__(self, sb: Sandbox, authorization: str | None, *, initialize: bool = True) -> None:
        self.url = sb.urls["rovo_mcp"]
        self.authorization = authorization
        self.http = httpx.Client(timeout=30, trust_env=False)
        self.session: str | None = None
        self.ids = 0
        if initialize:
            self.open()

    def headers(self, **extra: str) -> dict[str, str]:
        h = {"Accept": ACCEPT, "Content-Type": "application/json", **extra}
        if self.authorization:
            h["Authorization"] = self.authorization
        if self.session:
            h.update({"Mcp-Session-Id": self.session, "Mcp-Protocol-Version": PROTOCOL})
        return h

    def post(self, body: Any, **extra: str) -> httpx.Response:
        return self.http.post(self.url, content=json.dumps(body), headers=self.headers(**extra))

    def open(self, protocol: str = PROTOCOL) -> dict[str, Any]:
        response = self.post(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": protocol,
                    "capabilities": {},
                    "clientInfo": {"name": "rovo-tests", "version": "1"},
                },
            }
        )
        assert response.status_code == 200, response.text
        self.session = response.headers.get("mcp-session-id")
        done = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert done.status_code == 202, done.text
        return dict(reply(response)["result"])

    def rpc(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole JSON-RPC reply (result or error) to one request."""
        self.ids += 1
        response = self.post({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params or {}})
        assert response.status_code == 200, response.text
        message = reply(response)
        assert message["id"] == self.ids, message
        return message

    def tool_names(self) -> list[str]:
        message = self.rpc("tools/list")
        return [t["name"] for t in message["result"]["tools"]]

    def tools(self) -> dict[str, dict[str, Any]]:
        return {t["name"]: t for t in self.rpc("tools/list")["result"]["tools"]}

    def call(self, tool: str, /, **arguments: Any) -> dict[str, Any]:
        """A tools/call result (``content``, ``isError``); fails on a JSON-RPC error."""
        message = self.rpc("tools/call", {"name": tool, "arguments": arguments})
        assert "error" not in message, message
        return dict(message["result"])

    def ok(self, tool: str, /, **arguments: Any) -> Any:
        """A successful call's text, parsed when it is JSON."""
        result = self.call(tool, **arguments)
        assert result["isError"] is False, result["content"][0]["text"]
        text = result["content"][0]["text"]
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    def error(self, tool: str, /, **arguments: Any) -> str:
        """A failed call's text."""
        result = self.call(tool, **arguments)
        assert result["isError"] is True, result
        return str(result["content"][0]["text"])

    def close(self) -> None:
        self.http.close()


def rest(sb: Sandbox, label: str = "full") -> httpx.Client:
    """Bitbucket REST with a fixture API token, to read back what the tools did."""
    email, token = sb.api_token(label, "alice")
    return httpx.Client(base_url=sb.urls["bitbucket_api"] + "/", auth=(email, token), timeout=30, trust_env=False)
