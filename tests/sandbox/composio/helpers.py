"""Clients shared by the Composio Tool Router tests: the real SDK, raw REST, and the mcp 1.x client."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
from composio import Composio
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.types import CallToolResult, TextContent

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api

KEY = "sandbox-composio-apikey-project"
BASE = "/api/v3.1/tool_router/session"


def composio(sb: Sandbox, key: str = KEY) -> Composio:  # type: ignore[type-arg]
    return Composio(api_key=key, base_url=sb.urls["composio_api"], allow_tracking=False)


def rest(sb: Sandbox, key: str | None = KEY) -> httpx.Client:
    """Raw HTTP to the Tool Router API (for status codes and error bodies the SDK turns into exceptions)."""
    headers = {"x-api-key": key} if key else {}
    return httpx.Client(base_url=sb.urls["composio_api"], headers=headers, timeout=30, trust_env=False)


def create_session(sb: Sandbox, user_id: str = "user-1", **options: Any) -> dict[str, Any]:
    with rest(sb) as c:
        r = c.post(
            BASE,
            json={
                "user_id": user_id,
                "toolkits": {"enable": ["bitbucket"]},
                "manage_connections": {"enable": True},
                **options,
            },
        )
    assert r.status_code == 201, r.text
    return dict(r.json())


def execute(sb: Sandbox, session_id: str, slug: str, arguments: Any) -> httpx.Response:
    with rest(sb) as c:
        return c.post(f"{BASE}/{session_id}/execute", json={"tool_slug": slug, "arguments": arguments})


def main_head(sb: Sandbox, repo: str = "widgets") -> str:
    with api(sb) as c:
        return str(c.get(f"repositories/acme/{repo}/refs/branches/main").json()["target"]["hash"])


def set_transport(sb: Sandbox, mode: str) -> None:
    r = sb.admin.patch("/composio/settings", json={"mcp_transport": mode})
    assert r.status_code == 200 and r.json()["mcp_transport"] == mode, r.text


@contextlib.asynccontextmanager
async def mcp_client(
    url: str, headers: dict[str, str | None] | dict[str, str] | None
) -> AsyncIterator[tuple[ClientSession, Any]]:
    """An initialised MCP session and the transport's ``get_session_id`` callback (headers as the SDK gives them)."""
    sent = {k: v for k, v in (headers or {}).items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the 1.x alias the frameworks still use
        transport = streamablehttp_client(url, headers=sent)
    async with transport as (read, write, get_session_id), ClientSession(read, write) as session:
        await session.initialize()
        yield session, get_session_id


def wrapper(result: CallToolResult) -> dict[str, Any]:
    """The ``{data, error, successful}`` JSON of a tool result."""
    block = result.content[0]
    assert isinstance(block, TextContent)
    return dict(json.loads(block.text))
