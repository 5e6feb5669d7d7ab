"""The two MCP paths to Bitbucket, as a framework sees them: an endpoint URL, the headers to send, a label.

Paths know nothing about the world: the same code opens a Composio session against backend.composio.dev or the
sandbox, and reaches mcp.atlassian.com or the sandbox's Rovo emulator; only the configuration differs.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass

from harness.worlds import ComposioConfig, RovoConfig

PATHS = ("composio", "rovo")


class ProfileUnavailable(LookupError):
    """The world has no credential for the scope profile a scenario asks for."""


@dataclass(frozen=True)
class McpConnection:
    path: str
    label: str  # server_label for hosted MCP; also names the server in transcripts
    url: str
    headers: dict[str, str]


async def composio_connection(config: ComposioConfig, profile: str, toolkits: tuple[str, ...] = ("bitbucket",)
                              ) -> McpConnection:
    """A new Tool Router session for the profile's user id, through the real ``composio`` SDK."""
    user_id = config.user_ids.get(profile)
    if user_id is None:
        raise ProfileUnavailable(f"composio: no user id for the {profile!r} profile "
                                 f"(known: {', '.join(sorted(config.user_ids))})")

    def create() -> McpConnection:
        from composio import Composio

        client = Composio(api_key=config.api_key, base_url=config.base_url, allow_tracking=False)
        session = client.create(user_id=user_id, toolkits=list(toolkits), mcp=True)
        headers = {k: v for k, v in (session.mcp.headers or {}).items() if v is not None}
        return McpConnection("composio", "composio", session.mcp.url, headers)

    return await asyncio.to_thread(create)  # the SDK is synchronous


async def rovo_connection(config: RovoConfig, profile: str) -> McpConnection:
    token = config.tokens.get(profile)
    if token is None:
        raise ProfileUnavailable(f"rovo: no API token for the {profile!r} profile "
                                 f"(known: {', '.join(sorted(config.tokens))})")
    basic = base64.b64encode(f"{config.email}:{token}".encode()).decode()
    return McpConnection("rovo", "rovo", config.url, {"Authorization": f"Basic {basic}"})
