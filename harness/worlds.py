"""The two worlds a run can target. Code above this module only sees base URLs and credentials.

* ``sandbox``: the embedded emulators on 127.0.0.1 (``harness.sandbox``), with the fixture's fake credentials;
* ``live``: Bitbucket Cloud, Composio, mcp.atlassian.com and a model provider, from the environment (and a
  ``.env`` file), using the variable names of the integration guides where they have one.

Scope profiles (a scenario's ``profiles``) choose which credential a path uses: Composio by user id (each user id
has its own connected account and scopes), Rovo by API token.

Only the sandbox has an admin API (``AdminConfig``), through which a scenario's upstream faults are scripted; a
scenario with faults is an ``error`` cell in the live world.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.oracle import OracleConfig

LIVE_ROVO_URL = "https://mcp.atlassian.com/v1/mcp"
LIVE_COMPOSIO_URL = "https://backend.composio.dev"
LIVE_BITBUCKET_API = "https://api.bitbucket.org/2.0"
LIVE_TOKEN_URL = "https://bitbucket.org/site/oauth2/access_token"


@dataclass(frozen=True)
class ComposioConfig:
    base_url: str
    api_key: str
    user_ids: Mapping[str, str]  # scope profile -> user id


@dataclass(frozen=True)
class RovoConfig:
    url: str
    email: str
    tokens: Mapping[str, str]  # scope profile -> scoped API token


@dataclass(frozen=True)
class ModelConfig:
    base_url: str  # an OpenAI-compatible /v1
    api_key: str


@dataclass(frozen=True)
class AdminConfig:
    url: str  # the sandbox's admin API
    key: str


@dataclass(frozen=True)
class WorldConfig:
    name: str  # "sandbox" or "live"
    oracle: OracleConfig
    composio: ComposioConfig
    rovo: RovoConfig
    model: ModelConfig
    extra: dict[str, Any] = field(default_factory=dict)
    admin: AdminConfig | None = None  # the sandbox's admin API (faults); None in the live world

    def secrets(self) -> list[str]:
        """Every credential value, so the recorder can scrub it wherever it appears."""
        values = [self.oracle.client_secret, self.composio.api_key, self.model.api_key,
                  *self.rovo.tokens.values(), self.admin.key if self.admin else ""]
        return [v for v in values if v]


# The default sandbox fixture's workspaces: acme is linked to the Atlassian organisation, solo is not; and the
# Composio user ids whose connected accounts have the scopes of each profile.
SANDBOX_WORKSPACE, SANDBOX_UNLINKED_WORKSPACE = "acme", "solo"
SANDBOX_USER_IDS = {"full": "user-1", "read-only": "user-readonly", "no-pr-write": "user-nopr"}


def sandbox_world(info: Mapping[str, Any]) -> WorldConfig:
    """From a running sandbox's published info (``Sandbox.info`` / ``harness sandbox up`` JSON)."""
    urls, creds = info["urls"], info["credentials"]
    consumer = next(c for c in creds["oauth_consumers"] if c["key"] == "sandbox-oauth-oracle-key")
    tokens = {t["label"]: t["token"] for t in creds["api_tokens"] if t["user"] == "alice" and t["scoped"]}
    composio = creds["composio"]
    model = creds.get("model", {})
    return WorldConfig(
        name="sandbox",
        oracle=OracleConfig(urls["bitbucket_api"], urls["bitbucket_oauth_token"], consumer["key"],
                            consumer["secret"], SANDBOX_WORKSPACE, SANDBOX_UNLINKED_WORKSPACE),
        composio=ComposioConfig(urls["composio_api"], composio["api_keys"][0], SANDBOX_USER_IDS),
        rovo=RovoConfig(urls["rovo_mcp"], "alice@example.com", tokens),
        model=ModelConfig(urls["model_api"], model.get("api_key", "sandbox-model-key")),
        admin=AdminConfig(urls["admin"], info["admin_key"]) if urls.get("admin") and info.get("admin_key") else None,
    )


# live --------------------------------------------------------------------------------------------------------
LIVE_VARIABLES = {
    "OPENAI_API_KEY": "the model provider's key",
    "COMPOSIO_API_KEY": "the Composio project API key",
    "USER_ID": "the Composio user id whose Bitbucket account is connected (full scopes)",
    "ATLASSIAN_EMAIL": "the Atlassian account email of the API tokens",
    "ATLASSIAN_API_TOKEN": "a scoped Atlassian API token with the Bitbucket scopes (full profile)",
    "BITBUCKET_WORKSPACE": "the workspace the oracle creates cell repositories in (linked to an organisation)",
    "BITBUCKET_CLIENT_ID": "the oracle's OAuth consumer key (client credentials grant)",
    "BITBUCKET_CLIENT_SECRET": "the oracle's OAuth consumer secret",
}
LIVE_OPTIONAL = {
    "OPENAI_BASE_URL": "an OpenAI-compatible endpoint (default https://api.openai.com/v1)",
    "COMPOSIO_BASE_URL": f"default {LIVE_COMPOSIO_URL}",
    "USER_ID_READONLY": "a Composio user id connected with read-only scopes (read-only profile)",
    "USER_ID_NO_PR_WRITE": "a Composio user id connected with repository:write but without pullrequest:write "
                           "(no-pr-write profile)",
    "ATLASSIAN_API_TOKEN_READONLY": "a read-only scoped API token (read-only profile)",
    "ATLASSIAN_API_TOKEN_NO_PR_WRITE": "a token without write:pullrequest:bitbucket (no-pr-write profile)",
    "BITBUCKET_WORKSPACE_UNLINKED": "a workspace the OAuth consumer can create repositories in that is not "
                                    "linked to an Atlassian organisation (scenarios with fixture.workspace: "
                                    "unlinked)",
    "ROVO_MCP_URL": f"default {LIVE_ROVO_URL}",
    "BITBUCKET_API_URL": f"default {LIVE_BITBUCKET_API}",
    "BITBUCKET_OAUTH_TOKEN_URL": f"default {LIVE_TOKEN_URL}",
}


class ConfigError(ValueError):
    """The live configuration is incomplete; the message lists every missing variable and what it is for."""


def load_env(env_file: Path | None) -> dict[str, str]:
    """The process environment over a ``.env`` file (the environment wins, as with python-dotenv's default)."""
    from dotenv import dotenv_values

    values: dict[str, str] = {}
    if env_file is not None:
        if not env_file.exists():
            raise ConfigError(f"{env_file}: no such .env file")
        values |= {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    return values | dict(os.environ)


def live_world(env: Mapping[str, str]) -> WorldConfig:
    missing = [f"{name}: {why}" for name, why in LIVE_VARIABLES.items() if not env.get(name)]
    if missing:
        raise ConfigError("the live world needs these environment variables (or a .env):\n  " +
                          "\n  ".join(missing))
    tokens = {"full": env["ATLASSIAN_API_TOKEN"]}
    for profile, name in (("read-only", "ATLASSIAN_API_TOKEN_READONLY"),
                          ("no-pr-write", "ATLASSIAN_API_TOKEN_NO_PR_WRITE")):
        if env.get(name):
            tokens[profile] = env[name]
    user_ids = {"full": env["USER_ID"]}
    for profile, name in (("read-only", "USER_ID_READONLY"), ("no-pr-write", "USER_ID_NO_PR_WRITE")):
        if env.get(name):
            user_ids[profile] = env[name]
    return WorldConfig(
        name="live",
        oracle=OracleConfig(env.get("BITBUCKET_API_URL", LIVE_BITBUCKET_API),
                            env.get("BITBUCKET_OAUTH_TOKEN_URL", LIVE_TOKEN_URL), env["BITBUCKET_CLIENT_ID"],
                            env["BITBUCKET_CLIENT_SECRET"], env["BITBUCKET_WORKSPACE"],
                            env.get("BITBUCKET_WORKSPACE_UNLINKED") or None),
        composio=ComposioConfig(env.get("COMPOSIO_BASE_URL", LIVE_COMPOSIO_URL), env["COMPOSIO_API_KEY"], user_ids),
        rovo=RovoConfig(env.get("ROVO_MCP_URL", LIVE_ROVO_URL), env["ATLASSIAN_EMAIL"], tokens),
        model=ModelConfig(env.get("OPENAI_BASE_URL", "https://api.openai.com/v1"), env["OPENAI_API_KEY"]),
    )
