"""The Atlassian Rovo MCP server with a scoped API token (``Basic email:token``); its ``tools/list`` is filtered by
the token's scopes, and its action tools take an ``action`` argument (``bitbucketRepoContent`` / ``branch.create``)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.routes.base import NOWHERE, PLACEHOLDER, IntentTools, McpConnection, profile_value
from harness.transcript import ToolCall
from harness.vocab import RouteName, ScopeProfile

LIVE_URL = "https://mcp.atlassian.com/v1/mcp"
PROFILE_VARIABLES = {
    "full": "ATLASSIAN_API_TOKEN",
    "read-only": "ATLASSIAN_API_TOKEN_READONLY",
    "no-pr-write": "ATLASSIAN_API_TOKEN_NO_PR_WRITE",
}


@dataclass(frozen=True)
class RovoConfig:
    mcp_url: str
    email: str
    tokens: Mapping[str, str]  # scope profile -> scoped API token

    @property
    def url(self) -> str:
        return self.mcp_url

    def with_url(self, url: str) -> RovoConfig:
        return replace(self, mcp_url=url)

    def secrets(self) -> list[str]:
        return list(self.tokens.values())

    def profiles(self) -> list[str]:
        return sorted(self.tokens)

    def identities(self) -> dict[str, Any]:
        return {"email": self.email, "profiles": self.profiles()}


INTENT_TOOLS: IntentTools = {
    "create_branch": (("bitbucketRepoContent", "branch.create"),),
    "open_pull_request": (("bitbucketPullRequest", "create"),),
    "read_file": (("bitbucketRepoContent", "files.get"),),
    "comment_on_pull_request": (("bitbucketPullRequest", "comment"),),
    "merge_pull_request": (("bitbucketPullRequest", "merge"),),
}
# The tools the Rovo MCP server lists (with every scope), with their actions (specs/rovo-mcp.md).
TOOLS: Mapping[str, tuple[str, ...]] = {
    "atlassianUserInfo": (),
    "getAccessibleAtlassianResources": (),
    "bitbucketWorkspace": ("list", "get"),
    "bitbucketRepository": ("list", "get", "defaultReviewers"),
    "bitbucketRepoContent": ("branch.get", "commit.get", "files.get", "branch.create", "commit.create"),
    "bitbucketPullRequest": (
        "list",
        "get",
        "comments",
        "diff",
        "create",
        "merge",
        "approve",
        "request-changes",
        "comment",
    ),
    "bitbucketUser": ("pullRequests",),
    "bitbucketPipeline": ("list", "get", "steps", "step.get", "step.log", "run"),
    "bitbucketDeployment": ("list", "get"),
    "bitbucketEnvironment": ("list", "get", "create", "update", "delete"),
}
LIVE_VARIABLES = {
    "ATLASSIAN_EMAIL": "the Atlassian account email of the API tokens",
    "ATLASSIAN_API_TOKEN": "a scoped Atlassian API token with the Bitbucket scopes (full profile)",
}
LIVE_OPTIONAL = {
    "ROVO_MCP_URL": f"default {LIVE_URL}",
    "ATLASSIAN_API_TOKEN_READONLY": "a read-only scoped API token (read-only profile)",
    "ATLASSIAN_API_TOKEN_NO_PR_WRITE": "a token without write:pullrequest:bitbucket (no-pr-write profile)",
}


class RovoRoute:
    name: RouteName = "rovo"
    imports: tuple[str, ...] = ()
    intent_tools: IntentTools = INTENT_TOOLS
    tools: Mapping[str, tuple[str, ...]] = TOOLS
    live_variables: Mapping[str, str] = LIVE_VARIABLES
    live_optional: Mapping[str, str] = LIVE_OPTIONAL

    def live(self, env: Mapping[str, str]) -> RovoConfig:
        tokens = {profile: env[name] for profile, name in PROFILE_VARIABLES.items() if env.get(name)}
        return RovoConfig(env.get("ROVO_MCP_URL", LIVE_URL), env["ATLASSIAN_EMAIL"], tokens)

    def env_of(self, config: RovoConfig) -> dict[str, str]:
        return {
            "ROVO_MCP_URL": config.mcp_url,
            "ATLASSIAN_EMAIL": config.email,
            **{PROFILE_VARIABLES[p]: token for p, token in config.tokens.items() if p in PROFILE_VARIABLES},
        }

    def sandbox(self, info: Mapping[str, Any]) -> RovoConfig:
        """The scoped API tokens of the sandbox's first user that has any, by label (the scope profile)."""
        scoped = [t for t in info["credentials"]["api_tokens"] if t["scoped"]]
        user = scoped[0]["user"]
        mine = [t for t in scoped if t["user"] == user]
        return RovoConfig(info["urls"]["rovo_mcp"], mine[0]["email"], {t["label"]: t["token"] for t in mine})

    def replay(self, identities: Mapping[str, Any]) -> RovoConfig:
        profiles = identities.get("profiles", [])
        return RovoConfig(
            NOWHERE + "/v1/mcp",
            identities.get("email", "replay@example.invalid"),
            {profile: PLACEHOLDER for profile in profiles},
        )

    async def connect(self, config: RovoConfig, profile: ScopeProfile) -> McpConnection:
        token = profile_value(config.tokens, profile, self.name, "API token")
        basic = base64.b64encode(f"{config.email}:{token}".encode()).decode()
        return McpConnection(self.name, self.name, config.mcp_url, {"Authorization": f"Basic {basic}"})

    def effective(self, call: ToolCall) -> list[ToolCall]:
        return [call]
