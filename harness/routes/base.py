"""The seam for MCP routes to Bitbucket, shaped like the framework adapters' seam: one module per route behind the
``ROUTES`` registry (``harness.routes``).

A route knows everything about its way to Bitbucket and nothing about the world it runs in: its configuration
(from the environment for the live world, from a running sandbox's published facts, or placeholders for a replay),
how to open an MCP connection for a scope profile, which of its tools carry out each intent, and how to read the
tool calls it produces (a Composio multi-execute is several Bitbucket calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.transcript import ToolCall
from harness.vocab import RouteName, ScopeProfile

# intent -> the tools that carry it out: (tool name, the ``action`` argument for action tools, else None)
IntentTools = Mapping[str, tuple[tuple[str, str | None], ...]]


class ProfileUnavailable(LookupError):
    """The world has no credential for the scope profile a scenario asks for."""


@dataclass(frozen=True)
class McpConnection:
    route: RouteName
    label: str  # server_label for hosted MCP; also names the server in transcripts
    url: str
    headers: dict[str, str]
    packages: tuple[str, ...] = ()  # the SDKs the route's connection runs on: their versions go in the transcript


class RouteConfig(Protocol):
    """A route's endpoint and credentials in one world."""

    @property
    def url(self) -> str:
        """The endpoint a cassette records for this route (a replay sends its requests there)."""

    def with_url(self, url: str) -> RouteConfig: ...

    def secrets(self) -> list[str]:
        """Every credential value, for the recorder to scrub."""

    def profiles(self) -> list[str]: ...

    def identities(self) -> dict[str, Any]:
        """The names its requests carry that are not secrets (recorded with a cell, reused by its replay)."""


class Route(Protocol):
    name: RouteName
    intent_tools: IntentTools
    tools: Mapping[str, tuple[str, ...]]  # the tools its server offers -> their actions (none: no action argument)
    imports: tuple[str, ...]  # the modules ``connect`` imports (a replay imports them once, before forking workers)
    live_variables: Mapping[str, str]  # required environment variables -> what each is for
    live_optional: Mapping[str, str]

    def live(self, env: Mapping[str, str]) -> RouteConfig: ...

    def env_of(self, config: Any) -> dict[str, str]:
        """The environment variables that ``live`` reads back as ``config`` (a .env for this world)."""

    def sandbox(self, info: Mapping[str, Any]) -> RouteConfig:
        """From a running sandbox's published facts (``Sandbox.info``)."""

    def replay(self, identities: Mapping[str, Any]) -> RouteConfig:
        """Placeholders for the credentials, the recorded names for the rest: a replay contacts nothing and needs
        no secret."""

    async def connect(self, config: Any, profile: ScopeProfile) -> McpConnection: ...

    def effective(self, call: ToolCall) -> list[ToolCall]:
        """The Bitbucket tool calls that ``call`` stands for (usually itself)."""


def profile_value(values: Mapping[str, str], profile: str, route: str, what: str) -> str:
    value = values.get(profile)
    if value is None:
        raise ProfileUnavailable(f"{route}: no {what} for the {profile!r} profile (known: {', '.join(sorted(values))})")
    return value


PLACEHOLDER = "replay-placeholder"
NOWHERE = "http://127.0.0.1:9"  # a replay never connects; the recorded URLs replace this
