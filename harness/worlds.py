"""The worlds a run can target. Code above this module only sees base URLs and credentials.

* ``sandbox``: the embedded emulators on 127.0.0.1 (the ``sandbox`` package), configured from the facts a running
  sandbox publishes (its URLs, its fixture's fake credentials, which workspace is linked to an organisation);
* ``live``: Bitbucket Cloud, Composio, mcp.atlassian.com and a model provider, from the environment (and a
  ``.env`` file), with the variable names of the integration guides where they have one;
* ``replay``: nothing is contacted: URLs come from each cassette, credentials are placeholders, and the names a
  cell's requests carry (workspaces, Composio user ids) are those it was recorded with.

Scope profiles (a scenario's ``profiles``) choose which credential a route uses (see ``harness.routes``). Only the
sandbox has an admin API (``AdminConfig``), through which a scenario's upstream faults are scripted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.models import Catalog, ModelApi, ModelSpec, Sampling
from harness.oracle import OracleConfig
from harness.routes import ROUTES, RouteConfig
from harness.routes.base import NOWHERE, PLACEHOLDER
from harness.vocab import SCRIPTED_MODELS, ModelKind, RouteName, WorldName

LIVE_BITBUCKET_API = "https://api.bitbucket.org/2.0"
LIVE_TOKEN_URL = "https://bitbucket.org/site/oauth2/access_token"
LIVE_MODEL_URL = "https://api.openai.com/v1"
HOSTED_FRAMEWORK = "openai-agents-hosted"  # the variant whose model provider runs MCP itself
LOCAL_MAX_TOKENS = 512
NO_KEY = "no-key"  # sent to endpoints that need none (OpenAI clients insist on a key)


@dataclass(frozen=True)
class ModelConfig:
    base_url: str  # an OpenAI-compatible /v1
    api_key: str


@dataclass(frozen=True)
class ModelEndpoint:
    """What a cell's framework talks to for its model: where, with which key, which id, which settings."""

    name: str  # the model as results name it
    upstream: str  # the id sent in requests
    config: ModelConfig
    kind: ModelKind = "scripted"
    api: ModelApi = "chat"
    sampling: Mapping[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return urlsplit(self.config.base_url).netloc

    def at(self, url: str) -> ModelEndpoint:
        return replace(self, config=replace(self.config, base_url=url))

    def identities(self) -> dict[str, Any]:
        """What its requests carry besides the key (recorded with a cell, reused by its replay)."""
        return {"upstream": self.upstream, "kind": self.kind, "api": self.api, "sampling": dict(self.sampling)}


@dataclass(frozen=True)
class AdminConfig:
    url: str  # the sandbox's admin API
    key: str


@dataclass(frozen=True)
class WorldConfig:
    name: WorldName
    oracle: OracleConfig
    routes: Mapping[RouteName, RouteConfig]
    model: ModelConfig  # the scripted models' endpoint (sandbox), or the default provider (live: OPENAI_BASE_URL)
    admin: AdminConfig | None = None  # the sandbox's admin API (faults); None in the live world
    catalog: Catalog = field(default_factory=Catalog)  # the models file's models
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # where api_key_env variables are read
    gateways: Mapping[str, str] = field(default_factory=dict)  # model -> the sandbox's Responses/chat gateway

    def endpoint(self, model: str, framework: str) -> ModelEndpoint:
        """The endpoint a cell of ``model`` on ``framework`` talks to. Scripted models are the sandbox's; a declared
        model is its own endpoint, except where the sandbox's gateway stands in front of it: for the hosted variant
        (the gateway runs MCP for the model, as OpenAI's servers do) and for endpoints that cannot stream tool
        calls. In the live world an undeclared name goes to the default provider (OPENAI_BASE_URL)."""
        if model in SCRIPTED_MODELS:
            return ModelEndpoint(model, model, self.model)
        spec = self.catalog.spec(model)
        if spec is None:
            return ModelEndpoint(model, model, self.model, kind="real", api="responses")
        key = self.env.get(spec.api_key_env, "") if spec.api_key_env else ""
        gateway = self.gateways.get(model)
        hosted = framework == HOSTED_FRAMEWORK
        url = gateway if gateway and (hosted or spec.stream == "emulated") else spec.base_url
        api: ModelApi = "responses" if gateway and hosted else spec.api
        sampling = spec.sampling.sent()
        if hosted:
            sampling.pop("seed", None)  # the Responses API has no seed: what is sent is what the row records
        return ModelEndpoint(model, spec.upstream, ModelConfig(url, key or NO_KEY), "real", api, sampling)

    def why_not(self, model: str, framework: str) -> str | None:
        """Why this world cannot run ``model`` on ``framework`` at all, or None."""
        endpoint = self.endpoint(model, framework)
        if framework == HOSTED_FRAMEWORK and endpoint.kind == "real" and endpoint.api != "responses":
            return (
                f"{framework} needs a model behind the Responses API with hosted MCP: {model} is a chat model "
                f"(api: chat) and the {self.name} world has no gateway to run MCP for it (the sandbox world has)"
            )
        return None

    def route(self, name: str) -> Any:
        return self.routes[name]  # type: ignore[index]

    def secrets(self) -> list[str]:
        """Every credential value, so the recorder can scrub it wherever it appears (model keys included)."""
        values = [self.oracle.client_secret, self.model.api_key, self.admin.key if self.admin else ""]
        values += [s for config in self.routes.values() for s in config.secrets()]
        values += [self.env.get(spec.api_key_env, "") for spec in self.catalog.declared.values() if spec.api_key_env]
        return [v for v in values if v and v != NO_KEY]

    def urls(self, endpoint: ModelEndpoint | None = None) -> dict[str, str]:
        """Where each party is: kept in a cell's cassette, so that a replay sends exactly the recorded requests.
        ``model`` is the endpoint the cell's framework talks to."""
        urls: dict[str, str] = {
            "bitbucket_api": self.oracle.api_url,
            "token_url": self.oracle.token_url,
            **{name: config.url for name, config in self.routes.items()},
            "model": endpoint.config.base_url if endpoint else self.model.base_url,
        }
        return urls | ({"admin": self.admin.url} if self.admin else {})

    def at_urls(self, urls: Mapping[str, str]) -> WorldConfig:
        """The world as recorded: every party at the URL the cassette names (nothing listens there in a replay)."""
        return replace(
            self,
            oracle=replace(self.oracle, api_url=urls["bitbucket_api"], token_url=urls["token_url"]),
            routes={name: config.with_url(urls[name]) for name, config in self.routes.items()},
            model=replace(self.model, base_url=urls["model"]),
            admin=replace(self.admin, url=urls["admin"]) if self.admin and "admin" in urls else self.admin,
        )

    def identities(self) -> dict[str, Any]:
        """The names a cell's requests carry that are not secrets (workspaces, Composio user ids): recorded with
        the cell, so that a replay sends the same requests."""
        found: dict[str, Any] = {
            "workspace": self.oracle.workspace,
            "unlinked_workspace": self.oracle.unlinked_workspace,
        }
        return found | {name: config.identities() for name, config in self.routes.items()}


# sandbox -----------------------------------------------------------------------------------------------------
def sandbox_world(
    info: Mapping[str, Any],
    catalog: Catalog | None = None,
    env: Mapping[str, str] | None = None,
    gateways: Mapping[str, str] | None = None,
) -> WorldConfig:
    """From a running sandbox's published facts (``Sandbox.info`` / ``harness sandbox up`` JSON): the linked and
    unlinked workspaces, the OAuth consumer that may create and delete repositories, each route's credentials; real
    models from ``catalog`` with their keys from ``env`` (default: the process environment), behind the gateways the
    sandbox runs for them."""
    urls, creds = info["urls"], info["credentials"]
    workspaces = creds["workspaces"]
    linked = next(w["slug"] for w in workspaces if w["linked_to_org"])
    unlinked = next((w["slug"] for w in workspaces if not w["linked_to_org"]), None)
    consumer = next(
        c
        for c in creds["oauth_consumers"]
        if c["workspace"] == linked and {"repository:admin", "repository:delete"} <= set(c["scopes"])
    )
    model = creds.get("model", {})
    return WorldConfig(
        name="sandbox",
        oracle=OracleConfig(
            urls["bitbucket_api"], urls["bitbucket_oauth_token"], consumer["key"], consumer["secret"], linked, unlinked
        ),
        routes={name: route.sandbox(info) for name, route in ROUTES.items()},
        model=ModelConfig(urls["model_api"], model.get("api_key", "sandbox-model-key")),
        admin=AdminConfig(urls["admin"], info["admin_key"]) if urls.get("admin") and info.get("admin_key") else None,
        catalog=catalog or Catalog(),
        env=dict(os.environ if env is None else env),
        gateways=dict(gateways or {}),
    )


def replay_endpoint(model: str, recorded: Mapping[str, Any]) -> ModelEndpoint:
    """A cell's model endpoint as its cassette recorded it (cassettes without it: a scripted model, no settings)."""
    return ModelEndpoint(
        model,
        recorded.get("upstream", model),
        ModelConfig(NOWHERE + "/v1", PLACEHOLDER),
        recorded.get("kind", "scripted"),
        recorded.get("api", "chat"),
        recorded.get("sampling", {}),
    )


def with_local_model(catalog: Catalog, info: Mapping[str, Any]) -> Catalog:
    """The catalog and the local model the sandbox serves beside itself, if any (it needs no key)."""
    local = info["credentials"].get("model", {}).get("local")
    if not local:
        return catalog
    # A small model may ramble until its context is full: each answer is capped, at a length tool calls fit in.
    spec = ModelSpec(name=local["name"], base_url=local["base_url"], sampling=Sampling(max_tokens=LOCAL_MAX_TOKENS))
    return Catalog({**catalog.declared, spec.name: spec}, catalog.source)


# replay ------------------------------------------------------------------------------------------------------
def replay_world(identities: Mapping[str, Any]) -> WorldConfig:
    """Credentials are placeholders and URLs come from each cassette (``at_urls``): nothing is contacted. The
    admin API is there because a recorded cell's fault requests are played back too."""
    return WorldConfig(
        name="replay",
        oracle=OracleConfig(
            NOWHERE + "/2.0",
            NOWHERE + "/token",
            PLACEHOLDER,
            PLACEHOLDER,
            identities["workspace"],
            identities.get("unlinked_workspace"),
        ),
        routes={name: route.replay(identities.get(name, {})) for name, route in ROUTES.items()},
        model=ModelConfig(NOWHERE + "/v1", PLACEHOLDER),
        admin=AdminConfig(NOWHERE, PLACEHOLDER),
    )


# live --------------------------------------------------------------------------------------------------------
LIVE_VARIABLES = {
    **{name: why for route in ROUTES.values() for name, why in route.live_variables.items()},
    "BITBUCKET_WORKSPACE": "the workspace the oracle creates cell repositories in (linked to an organisation)",
    "BITBUCKET_CLIENT_ID": "the oracle's OAuth consumer key (client credentials grant)",
    "BITBUCKET_CLIENT_SECRET": "the oracle's OAuth consumer secret",
}
LIVE_OPTIONAL = {
    "OPENAI_API_KEY": "the default model provider's key (models not in the models file go there)",
    "OPENAI_BASE_URL": f"the default model provider, an OpenAI-compatible endpoint (default {LIVE_MODEL_URL})",
    **{name: why for route in ROUTES.values() for name, why in route.live_optional.items()},
    "BITBUCKET_WORKSPACE_UNLINKED": "a workspace the OAuth consumer can create repositories in that is not "
    "linked to an Atlassian organisation (scenarios with fixture.workspace: "
    "unlinked)",
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


def world_env(world: WorldConfig) -> dict[str, str]:
    """The environment variables ``live_world`` reads back as this world: with a sandbox's, the live world's code
    runs against the embedded one."""
    oracle = world.oracle
    env = {
        "BITBUCKET_API_URL": oracle.api_url,
        "BITBUCKET_OAUTH_TOKEN_URL": oracle.token_url,
        "BITBUCKET_WORKSPACE": oracle.workspace,
        "BITBUCKET_CLIENT_ID": oracle.client_id,
        "BITBUCKET_CLIENT_SECRET": oracle.client_secret,
    }
    if oracle.unlinked_workspace:
        env["BITBUCKET_WORKSPACE_UNLINKED"] = oracle.unlinked_workspace
    for name, config in world.routes.items():
        env |= ROUTES[name].env_of(config)
    return env | {"OPENAI_BASE_URL": world.model.base_url, "OPENAI_API_KEY": world.model.api_key}


def live_world(env: Mapping[str, str], catalog: Catalog | None = None) -> WorldConfig:
    missing = [f"{name}: {why}" for name, why in LIVE_VARIABLES.items() if not env.get(name)]
    if missing:
        raise ConfigError("the live world needs these environment variables (or a .env):\n  " + "\n  ".join(missing))
    return WorldConfig(
        name="live",
        oracle=OracleConfig(
            env.get("BITBUCKET_API_URL", LIVE_BITBUCKET_API),
            env.get("BITBUCKET_OAUTH_TOKEN_URL", LIVE_TOKEN_URL),
            env["BITBUCKET_CLIENT_ID"],
            env["BITBUCKET_CLIENT_SECRET"],
            env["BITBUCKET_WORKSPACE"],
            env.get("BITBUCKET_WORKSPACE_UNLINKED") or None,
        ),
        routes={name: route.live(env) for name, route in ROUTES.items()},
        model=ModelConfig(env.get("OPENAI_BASE_URL", LIVE_MODEL_URL), env.get("OPENAI_API_KEY", "")),
        catalog=catalog or Catalog(),
        env=dict(env),
    )
