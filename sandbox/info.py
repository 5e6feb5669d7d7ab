"""What a running sandbox publishes about itself (its state file, ``harness sandbox up``'s JSON, ``Sandbox.info``):
where each service listens, the fixture's credentials (all fake), and the admin key. Clients read this and nothing
of the sandbox's insides."""

from __future__ import annotations

from typing import Any, TypedDict

ADMIN_HEADER = "x-sandbox-admin-key"  # the admin API's key travels in this header


class SandboxUrls(TypedDict, total=False):
    bitbucket_api: str  # .../2.0
    bitbucket_oauth_token: str  # .../site/oauth2/access_token
    admin: str
    composio_api: str
    rovo_mcp: str  # .../v1/mcp
    model_api: str  # .../v1 (OpenAI-compatible)


class SandboxInfo(TypedDict):
    pid: int
    urls: SandboxUrls
    ports: dict[str, int]
    admin_key: str
    # workspaces (slug, linked_to_org), api_tokens (label, user, email, token, scoped, scopes), app_passwords,
    # oauth_consumers (name, key, secret, workspace, scopes), access_tokens, service_accounts, composio (api_keys,
    # connected_accounts with user_id and label), rovo (cloud_id, site_url), model (api_key, models)
    credentials: dict[str, Any]
