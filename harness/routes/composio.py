"""The Composio Tool Router: a session per scope profile's user id through the real ``composio`` SDK, whose MCP
endpoint offers meta tools (search, schemas, multi-execute) that reach the ``BITBUCKET_*`` tools."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.routes.base import NOWHERE, PLACEHOLDER, IntentTools, McpConnection, profile_value
from harness.transcript import ToolCall
from harness.vocab import RouteName, ScopeProfile

LIVE_URL = "https://backend.composio.dev"
MULTI_EXECUTE = "COMPOSIO_MULTI_EXECUTE_TOOL"
TOOLKITS = ("bitbucket",)
# The live world's user ids per scope profile: each user id has its own connected account and scopes.
PROFILE_VARIABLES = {"full": "USER_ID", "read-only": "USER_ID_READONLY", "no-pr-write": "USER_ID_NO_PR_WRITE"}


@dataclass(frozen=True)
class ComposioConfig:
    base_url: str
    api_key: str
    user_ids: Mapping[str, str]  # scope profile -> user id

    @property
    def url(self) -> str:
        return self.base_url

    def with_url(self, url: str) -> ComposioConfig:
        return replace(self, base_url=url)

    def secrets(self) -> list[str]:
        return [self.api_key]

    def profiles(self) -> list[str]:
        return sorted(self.user_ids)

    def identities(self) -> dict[str, Any]:
        return {"user_ids": dict(self.user_ids)}


INTENT_TOOLS: IntentTools = {
    "create_branch": (("BITBUCKET_CREATE_BRANCH", None),),
    "open_pull_request": (("BITBUCKET_CREATE_PULL_REQUEST", None),),
    "comment_issue": (("BITBUCKET_CREATE_ISSUE_COMMENT", None),),
    "read_file": (("BITBUCKET_GET_FILE_FROM_REPOSITORY", None),),
    "delete_repository": (("BITBUCKET_DELETE_REPOSITORY", None),),
    "delete_issue": (("BITBUCKET_DELETE_ISSUE", None),),
}
# The Tool Router's meta tools and the Bitbucket toolkit's tools (specs/composio-tool-router.md); none takes an action.
TOOLS: Mapping[str, tuple[str, ...]] = dict.fromkeys(
    (
        "COMPOSIO_SEARCH_TOOLS",
        "COMPOSIO_GET_TOOL_SCHEMAS",
        "COMPOSIO_MULTI_EXECUTE_TOOL",
        "COMPOSIO_MANAGE_CONNECTIONS",
        "COMPOSIO_REMOTE_WORKBENCH",
        "COMPOSIO_REMOTE_BASH_TOOL",
        "BITBUCKET_CREATE_BRANCH",
        "BITBUCKET_CREATE_ISSUE",
        "BITBUCKET_CREATE_ISSUE_COMMENT",
        "BITBUCKET_CREATE_PULL_REQUEST",
        "BITBUCKET_CREATE_REPOSITORY",
        "BITBUCKET_CREATE_SNIPPET_COMMENT",
        "BITBUCKET_DELETE_ISSUE",
        "BITBUCKET_DELETE_REPOSITORY",
        "BITBUCKET_GET_CURRENT_USER",
        "BITBUCKET_GET_FILE_FROM_REPOSITORY",
        "BITBUCKET_GET_PULL_REQUEST",
        "BITBUCKET_GET_SNIPPET",
        "BITBUCKET_LIST_ISSUES",
        "BITBUCKET_LIST_PULL_REQUESTS",
        "BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE",
        "BITBUCKET_LIST_WORKSPACES",
        "BITBUCKET_LIST_WORKSPACE_MEMBERS",
        "BITBUCKET_UPDATE_ISSUE",
    ),
    (),
)
LIVE_VARIABLES = {
    "COMPOSIO_API_KEY": "the Composio project API key",
    "USER_ID": "the Composio user id whose Bitbucket account is connected (full scopes)",
}
LIVE_OPTIONAL = {
    "COMPOSIO_BASE_URL": f"default {LIVE_URL}",
    "USER_ID_READONLY": "a Composio user id connected with read-only scopes (read-only profile)",
    "USER_ID_NO_PR_WRITE": "a Composio user id connected with repository:write but without pullrequest:write "
    "(no-pr-write profile)",
}


class ComposioRoute:
    name: RouteName = "composio"
    imports: tuple[str, ...] = ("composio",)  # the SDK: seconds of pydantic models
    intent_tools: IntentTools = INTENT_TOOLS
    tools: Mapping[str, tuple[str, ...]] = TOOLS
    live_variables: Mapping[str, str] = LIVE_VARIABLES
    live_optional: Mapping[str, str] = LIVE_OPTIONAL

    def live(self, env: Mapping[str, str]) -> ComposioConfig:
        user_ids = {profile: env[name] for profile, name in PROFILE_VARIABLES.items() if env.get(name)}
        return ComposioConfig(env.get("COMPOSIO_BASE_URL", LIVE_URL), env["COMPOSIO_API_KEY"], user_ids)

    def env_of(self, config: ComposioConfig) -> dict[str, str]:
        return {
            "COMPOSIO_BASE_URL": config.base_url,
            "COMPOSIO_API_KEY": config.api_key,
            **{PROFILE_VARIABLES[p]: user for p, user in config.user_ids.items() if p in PROFILE_VARIABLES},
        }

    def sandbox(self, info: Mapping[str, Any]) -> ComposioConfig:
        """The sandbox's project key, and its connected accounts by label (the scope profile they stand for)."""
        composio = info["credentials"]["composio"]
        user_ids = {a["label"]: a["user_id"] for a in composio["connected_accounts"] if a.get("label")}
        return ComposioConfig(info["urls"]["composio_api"], composio["api_keys"][0], user_ids)

    def replay(self, identities: Mapping[str, Any]) -> ComposioConfig:
        return ComposioConfig(NOWHERE, PLACEHOLDER, dict(identities.get("user_ids", {})))

    async def connect(self, config: ComposioConfig, profile: ScopeProfile) -> McpConnection:
        """A new Tool Router session for the profile's user id."""
        user_id = profile_value(config.user_ids, profile, self.name, "user id")

        def create() -> McpConnection:
            from composio import Composio

            client = Composio(api_key=config.api_key, base_url=config.base_url, allow_tracking=False)
            session = client.create(user_id=user_id, toolkits=list(TOOLKITS), mcp=True)
            headers = {k: v for k, v in (session.mcp.headers or {}).items() if v is not None}
            return McpConnection(self.name, self.name, session.mcp.url, headers, ("composio",))

        return await asyncio.to_thread(create)  # the SDK is synchronous

    def effective(self, call: ToolCall) -> list[ToolCall]:
        """A multi-execute counts as each Bitbucket tool inside it, failed or not as its result says."""
        inner = call.arguments.get("tools")
        if call.name != MULTI_EXECUTE or not isinstance(inner, list):
            return [call]
        outcomes = _multi_execute_outcomes(call.result)
        calls = []
        for i, item in enumerate(inner):
            if isinstance(item, dict) and isinstance(item.get("tool_slug"), str):
                args = item.get("arguments")
                calls.append(
                    ToolCall(
                        name=item["tool_slug"],
                        arguments=args if isinstance(args, dict) else {},
                        result=call.result,
                        is_error=outcomes.get(i, call.is_error),
                        hosted=call.hosted,
                    )
                )
        return calls or [call]


def _multi_execute_outcomes(result: str | None) -> dict[int, bool]:
    """index -> failed, read from a multi-execute result's ``data.results`` when it parses."""
    try:
        data = json.loads(result or "")
    except json.JSONDecodeError:
        return {}
    results = (data.get("data") or {}).get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        return {}
    out = {}
    for r in results:
        if isinstance(r, dict) and isinstance(r.get("index"), int):
            response = r.get("response")
            refused = isinstance(response, dict) and response.get("successful") is False
            out[r["index"]] = bool(r.get("error")) or refused
    return out
