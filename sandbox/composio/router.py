"""Running tools inside a session: which tools a session has, and the checks before a tool reaches Bitbucket.

The order of checks for an app tool is the real service's: the tool exists (4301), its toolkit and the tool
are allowed in the session (4324), the user has an active connection (4302), then the arguments are
validated (a failed result) and only then is Bitbucket called. A refused or invalid call writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from sandbox.bitbucket.world import World
from sandbox.composio.accounts import Accounts
from sandbox.composio.bitbucket_tools import BITBUCKET_TOOLS, TOOLKIT_DESCRIPTION, AppTool, Bitbucket
from sandbox.composio.errors import (
    TOOL_NOT_FOUND,
    TOOLKIT_NOT_ALLOWED,
    ComposioApiError,
    J,
    ToolFailure,
    ToolResult,
    no_connection,
)
from sandbox.composio.meta import META_TOOLS, Call, MetaTool
from sandbox.composio.schema import validate
from sandbox.composio.sessions import MANAGE, Session
from sandbox.mcp_http import TRANSPORT_MODES
from sandbox.upstream import BitbucketUpstream

Tool = AppTool | MetaTool


@dataclass
class Settings:
    """Behaviours the real service leaves open; each can be changed at run time (admin PATCH /composio/settings)."""

    # stateless-json: no Mcp-Session-Id and JSON replies, so that recorded MCP traffic is deterministic.
    mcp_transport: str = "stateless-json"
    # A tool that ran and failed is a normal result (successful: false) unless this is set; protocol misuse
    # (a tool the session does not serve) is always isError.
    mcp_is_error_on_failure: bool = False
    search_results: int = 6  # tools a search returns per use case
    full_schemas_in_search: int = 3  # of which the first ones come with their full input schema
    wait_poll_seconds: float = 0.2
    # Browser origins the MCP endpoint accepts besides loopback ones ("*": any), for a sandbox behind a proxy or a
    # web page; a request without an Origin header (every SDK) is always accepted.
    mcp_allowed_origins: list[str] = field(default_factory=list)

    def update(self, changes: Any) -> None:
        if not isinstance(changes, dict):
            raise ValueError("settings: a JSON object is required")
        known = {f.name: f for f in fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}; known: {sorted(known)}")
        if "mcp_transport" in changes and changes["mcp_transport"] not in TRANSPORT_MODES:
            raise ValueError(f"mcp_transport must be one of {', '.join(TRANSPORT_MODES)}")
        origins = changes.get("mcp_allowed_origins", [])
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise ValueError("setting mcp_allowed_origins must be a list of origins such as https://app.example.com")
        for name, value in changes.items():
            expected = type(getattr(self, name))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ValueError(f"setting {name} must be a {expected.__name__}")
            setattr(self, name, value)

    def public(self) -> J:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Router:
    def __init__(self, world: World, accounts: Accounts, upstream: BitbucketUpstream, settings: Settings) -> None:
        self.world = world
        self.accounts = accounts
        self.upstream = upstream
        self.settings = settings

    # what a session offers ----------------------------------------------------------------------------
    def app_tools(self, session: Session) -> list[AppTool]:
        return [
            t
            for t in BITBUCKET_TOOLS.values()
            if session.toolkit_allowed(t.toolkit) and session.tool_allowed(t.slug, t.toolkit)
        ]

    def preloaded(self, session: Session) -> list[AppTool]:
        preload = session.preload
        return [t for t in self.app_tools(session) if preload == "all" or t.slug in preload]

    def listed_tools(self, session: Session) -> list[Tool]:
        """What tools/list and ``GET /tools`` show: the meta tools, then the preloaded app tools."""
        meta: list[Tool] = [META_TOOLS[s] for s in session.meta_tools()]
        return meta + list(self.preloaded(session))

    def connection_status(self, session: Session, toolkit: str) -> J:
        account = self.accounts.active(session.user_id, session.pinned(toolkit))
        status: J = {
            "toolkit": toolkit,
            "description": TOOLKIT_DESCRIPTION,
            "has_active_connection": account is not None,
        }
        if account is not None:
            user = self.world.user(account["bitbucket_user"]) or {}
            status["status_message"] = f"{toolkit} is connected; its tools can be used right away."
            status["connection_details"] = {"connected_account_id": account["id"], "status": account["status"]}
            status["current_user_info"] = {"username": user.get("username"), "display_name": user.get("display_name")}
        elif MANAGE in session.meta_tools():
            status["status_message"] = (
                f"No active connection for {toolkit}. Call {MANAGE} with toolkits "
                f"['{toolkit}'] to connect it before running its tools."
            )
        else:
            status["status_message"] = (
                f"No active connection for {toolkit}. Ask the user to connect {toolkit} to this app."
            )
        return status

    # running tools ------------------------------------------------------------------------------------
    def check_app_tool(self, session: Session, slug: str) -> AppTool:
        tool = BITBUCKET_TOOLS.get(slug) if isinstance(slug, str) else None
        if tool is None:
            raise ComposioApiError(400, TOOL_NOT_FOUND, f"Tool {slug} not found")
        if not session.toolkit_allowed(tool.toolkit):
            raise ComposioApiError(
                400,
                TOOLKIT_NOT_ALLOWED,
                f"[Session Restriction] Toolkit '{tool.toolkit}' is not allowed for this session",
            )
        if not session.tool_allowed(slug, tool.toolkit):
            raise ComposioApiError(
                400, TOOLKIT_NOT_ALLOWED, f"[Session Restriction] Tool '{slug}' is not allowed for this session"
            )
        return tool

    async def run_app_tool(
        self, session: Session, slug: str, arguments: Any, account_id: str | None = None
    ) -> ToolResult:
        """``account_id`` picks one of the user's accounts (REST ``account``, MULTI_EXECUTE ``tools[].account``)."""
        tool = self.check_app_tool(session, slug)
        pinned = [account_id] if account_id else session.pinned(tool.toolkit)
        account = self.accounts.active(session.user_id, pinned)
        if account is None:
            raise no_connection(tool.toolkit)
        try:
            clean = validate(tool.input_schema, arguments)
            data = await tool.run(Bitbucket(self.upstream, self.accounts.authorization(account["id"])), clean)
        except ToolFailure as exc:
            return ToolResult.failed(str(exc))
        return ToolResult(True, data)

    def meta_tool(self, session: Session, slug: str) -> MetaTool:
        if slug not in session.meta_tools():
            raise ComposioApiError(400, TOOL_NOT_FOUND, f"Tool {slug} is not available in this session")
        return META_TOOLS[slug]

    async def run_meta_tool(self, session: Session, slug: str, arguments: Any, origin: str) -> ToolResult:
        tool = self.meta_tool(session, slug)
        try:
            clean = validate(tool.input_schema, arguments)
        except ToolFailure as exc:
            return ToolResult.failed(str(exc))
        return await tool.run(Call(self, session, origin), clean)

    async def execute(
        self, session: Session, slug: Any, arguments: Any, origin: str, account_id: str | None = None
    ) -> ToolResult:
        if isinstance(slug, str) and slug in META_TOOLS:
            return await self.run_meta_tool(session, slug, arguments, origin)
        return await self.run_app_tool(session, slug, arguments, account_id)
