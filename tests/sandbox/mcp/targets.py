"""The sandbox's MCP server variants, as a client reaches them: an endpoint URL and the headers to send."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from composio import Composio

from sandbox import Sandbox

COMPOSIO_USER = "user-1"


@dataclass(frozen=True)
class McpTarget:
    variant: str
    url: str
    headers: dict[str, str]
    read_call: tuple[str, dict[str, Any]]  # a tool call that reads the README of acme/widgets at main


README_ARGS = {"workspace": "acme", "repo_slug": "widgets", "commit": "main", "path": "README.md"}
COMPOSIO_READ = (
    "COMPOSIO_MULTI_EXECUTE_TOOL",
    {"tools": [{"tool_slug": "BITBUCKET_GET_FILE_FROM_REPOSITORY", "arguments": README_ARGS}]},
)
COMPOSIO_DIRECT_READ = ("BITBUCKET_GET_FILE_FROM_REPOSITORY", README_ARGS)
ROVO_READ = (
    "bitbucketRepoContent",
    {"action": "files.get", "workspaceId": "acme", "repoId": "widgets", "referenceOrSha": "main", "path": "README.md"},
)


def composio_target(sb: Sandbox, variant: str, **create: Any) -> McpTarget:
    key = sb.credentials["composio"]["api_keys"][0]
    client = Composio(api_key=key, base_url=sb.urls["composio_api"], allow_tracking=False)
    session = client.create(user_id=COMPOSIO_USER, toolkits=["bitbucket"], **create)
    read = COMPOSIO_DIRECT_READ if create.get("session_preset") == "direct_tools" else COMPOSIO_READ
    return McpTarget(variant, session.mcp.url, dict(session.mcp.headers), read)


def rovo_target(sb: Sandbox, variant: str, profile: str) -> McpTarget:
    email, token = sb.api_token(profile)
    basic = base64.b64encode(f"{email}:{token}".encode()).decode()
    return McpTarget(variant, sb.urls["rovo_mcp"], {"Authorization": f"Basic {basic}"}, ROVO_READ)


VARIANTS: dict[str, Callable[[Sandbox], McpTarget]] = {
    "composio-default": lambda sb: composio_target(sb, "composio-default"),
    "composio-direct-tools": lambda sb: composio_target(sb, "composio-direct-tools", session_preset="direct_tools"),
    "rovo-full": lambda sb: rovo_target(sb, "rovo-full", "full"),
    "rovo-read-only": lambda sb: rovo_target(sb, "rovo-read-only", "read-only"),
    # No pipeline scopes at all: the pipeline, deployment and environment tools disappear from the list.
    "rovo-no-pr-write": lambda sb: rovo_target(sb, "rovo-no-pr-write", "no-pr-write"),
}
