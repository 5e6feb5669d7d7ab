"""The Atlassian organisation behind the Rovo MCP server, and the server's run-time switches.

Organisation facts (``api_token_auth``, cloud id, site) come from the fixture's ``rovo`` section and live in the
world's store, so a reset or a fixture load sets them and a failed load leaves them as they were. The switches
below are the behaviours the real server leaves undocumented; each is changed with
``PATCH /rovo/settings`` on the admin API and goes back to its default on reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

from sandbox.bitbucket.world import World
from sandbox.fixtures import Fixture, Rovo
from sandbox.mcp_http import TRANSPORT_MODES, TransportMode

ORG_KIND, ORG_KEY = "rovo_org", "org"
ToolVisibility = Literal["any-action", "all-actions"]
PERMISSION_GROUPS = ("read_bitbucket", "write_bitbucket")


@dataclass
class RovoSettings:
    # stateful-sse is what mcp.atlassian.com does: a session id from initialize, SSE replies to POST.
    mcp_transport: TransportMode = "stateful-sse"
    # UNKNOWN on the real server: which mixed read/write tools a partially scoped token sees. Default: a tool is
    # listed when the token holds the scope of at least one of its actions; the other actions then fail with a
    # tool error naming the missing scope. "all-actions" lists a tool only when every action is allowed.
    tool_visibility: ToolVisibility = "any-action"
    # Org admins can block whole permission groups for the Rovo MCP server (e.g. write_bitbucket); a blocked
    # action counts as not granted.
    blocked_permission_groups: list[str] = field(default_factory=list)
    # The observed bitbucketPullRequest action enum has no decline/update; other sources mention both.
    # Off by default (as observed); on, the tool also offers them.
    extra_pull_request_actions: bool = False
    # Browser origins the MCP endpoint accepts besides loopback ones ("*": any), for a sandbox behind a proxy or a
    # web page; a request without an Origin header (every SDK) is always accepted.
    mcp_allowed_origins: list[str] = field(default_factory=list)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply admin changes after checking every one, so a bad request changes nothing."""
        checked = {key: _check(key, value) for key, value in changes.items()}
        for key, value in checked.items():
            setattr(self, key, value)

    def public(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check(key: str, value: Any) -> Any:
    if key == "mcp_transport":
        if value not in TRANSPORT_MODES:
            raise ValueError(f"mcp_transport must be one of {', '.join(TRANSPORT_MODES)}")
    elif key == "tool_visibility":
        if value not in get_args(ToolVisibility):
            raise ValueError(f"tool_visibility must be one of {', '.join(get_args(ToolVisibility))}")
    elif key == "blocked_permission_groups":
        if not isinstance(value, list) or any(v not in PERMISSION_GROUPS for v in value):
            raise ValueError(f"blocked_permission_groups must be a list drawn from {', '.join(PERMISSION_GROUPS)}")
    elif key == "mcp_allowed_origins":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("mcp_allowed_origins must be a list of origins such as https://app.example.com")
    elif key == "extra_pull_request_actions":
        if not isinstance(value, bool):
            raise ValueError("extra_pull_request_actions must be true or false")
    else:
        raise ValueError(f"unknown Rovo setting {key!r}")
    return value


ORG_FIELDS = tuple(Rovo.model_fields)


def org(world: World) -> Rovo:
    """The organisation as loaded; the fixture model's defaults when no fixture named one."""
    doc = world.store.get(ORG_KIND, ORG_KEY)
    return Rovo.model_validate(doc) if doc else Rovo()


def changed_org(world: World, changes: dict[str, Any]) -> Rovo:
    """The organisation with ``changes`` applied and validated (pydantic's error names the bad field)."""
    return Rovo.model_validate({**org(world).model_dump(), **changes})


def save_org(world: World, updated: Rovo) -> None:
    world.store.put(ORG_KIND, ORG_KEY, updated.model_dump())


def load_fixture(world: World, fixture: Fixture) -> None:
    """Only a fixture that has a ``rovo`` section changes the organisation (credentials-only loads keep it)."""
    if "rovo" in fixture.model_fields_set:
        world.store.put(ORG_KIND, ORG_KEY, fixture.rovo.model_dump())
