"""Tool Router sessions: the create request's options, normalised into the config Composio echoes back.

A session is stored in the world's store (kind ``composio_session``), so it lives as long as the world: it
survives a restart with ``--data-dir`` and disappears on reset. Session ids are ``trs_`` plus 12 random url-safe
characters, and the sandbox never hands out the same id twice: a session URL is a bearer of the session's user, so
a stale client holding an id from before a reset must get 404, never someone else's new session. This is random
even with a frozen clock (which keeps timestamps reproducible): recorded cassettes hold the ids they saw, and a
replay never asks the sandbox for a new one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sandbox.bitbucket.world import World
from sandbox.composio.accounts import Accounts
from sandbox.composio.bitbucket_tools import BITBUCKET_TOOLS
from sandbox.composio.errors import BAD_REQUEST, INVALID_ACCOUNT_IDS, ComposioApiError, J

SESSION = "composio_session"
SEARCH, MULTI, MANAGE, WAIT = (
    "COMPOSIO_SEARCH_TOOLS",
    "COMPOSIO_MULTI_EXECUTE_TOOL",
    "COMPOSIO_MANAGE_CONNECTIONS",
    "COMPOSIO_WAIT_FOR_CONNECTIONS",
)
SCHEMAS, WORKBENCH, BASH = "COMPOSIO_GET_TOOL_SCHEMAS", "COMPOSIO_REMOTE_WORKBENCH", "COMPOSIO_REMOTE_BASH_TOOL"
AUTO_OFFLOAD_THRESHOLD = 20000
_ECHOED = ("auth_configs", "tags", "multi_account", "proxy_execute")


def bad_request(message: str) -> ComposioApiError:
    return ComposioApiError(400, BAD_REQUEST, message)


def _flag(section: Any, key: str, default: bool, where: str) -> bool:
    if section is None:
        return default
    if isinstance(section, bool):
        return section
    if not isinstance(section, dict):
        raise bad_request(f"{where} must be an object")
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise bad_request(f"{where}.{key} must be a boolean")
    return value


def _slugs(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{where} must be a list of strings")
    return [v.lower() if where.startswith("toolkits") else v for v in value]


def _enable_disable(value: Any, where: str) -> J:
    """``{"enable": [...]}`` / ``{"disable": [...]}`` (or a bare list) -> the response's enabled/disabled form."""
    if isinstance(value, list):
        return {"enabled": _slugs(value, where)}
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be an object with enable or disable")
    out = {k: v for k, v in value.items() if k not in ("enable", "disable")}
    if "enable" in value:
        out["enabled"] = _slugs(value["enable"], f"{where}.enable")
    if "disable" in value:
        out["disabled"] = _slugs(value["disable"], f"{where}.disable")
    return out


def _preload(value: Any) -> list[str] | str:
    tools = value.get("tools", []) if isinstance(value, dict) else None
    if tools == "all":
        return "all"
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise bad_request('preload.tools must be a list of tool slugs or "all"')
    unknown = [t for t in tools if t not in BITBUCKET_TOOLS]
    if unknown:
        raise bad_request(f"preload.tools: unknown tool slug(s): {', '.join(unknown)}")
    return list(tools)


def _workbench(value: Any) -> J:
    if value is not None and not isinstance(value, dict):
        raise bad_request("workbench must be an object")
    value = value or {}
    threshold = value.get("auto_offload_threshold", AUTO_OFFLOAD_THRESHOLD)
    out: J = {
        "enable": _flag(value, "enable", True, "workbench"),
        "proxy_execution_enabled": _flag(value, "enable_proxy_execution", True, "workbench"),
        "auto_offload_threshold": threshold,
    }
    if "sandbox_size" in value:
        out["sandbox_size"] = value["sandbox_size"]
    return out


def _manage(value: Any) -> J:
    out: J = {
        "enabled": _flag(value, "enable", True, "manage_connections"),
        "enable_wait_for_connections": False,
        "enable_connection_removal": False,
    }
    if isinstance(value, dict):
        wait = value.get("enable_wait_for_connections", value.get("wait_for_connections", False))
        if not isinstance(wait, bool):
            raise bad_request("manage_connections.enable_wait_for_connections must be a boolean")
        out["enable_wait_for_connections"] = wait
        if value.get("callback_url") is not None:
            if not isinstance(value["callback_url"], str):
                raise bad_request("manage_connections.callback_url must be a string")
            out["callback_url"] = value["callback_url"]
    return out


def _pins(value: Any, user_id: str, accounts: Accounts) -> J:
    if not isinstance(value, dict):
        raise bad_request("connected_accounts must map toolkit slugs to connected account ids")
    out: J = {}
    for toolkit, ids in value.items():
        ids = [ids] if isinstance(ids, str) else ids
        stale = [
            i for i in _slugs(ids, f"connected_accounts.{toolkit}") if (accounts.get(i) or {}).get("user_id") != user_id
        ]
        if stale:
            raise ComposioApiError(
                400,
                INVALID_ACCOUNT_IDS,
                f"Connected account(s) {', '.join(stale)} do not exist or do not belong to user '{user_id}'",
            )
        out[toolkit.lower()] = ids
    return out


def normalise(body: Any, accounts: Accounts) -> J:
    """The session config from a create request, in the response's vocabulary (enabled/disabled)."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    user_id = body.get("user_id")
    if not isinstance(user_id, str) or not user_id.strip():
        raise bad_request("user_id is required and must be a non-empty string")
    config: J = {"user_id": user_id}
    if body.get("toolkits") is not None:
        config["toolkits"] = _enable_disable(body["toolkits"], "toolkits")
    if body.get("tools") is not None:
        if not isinstance(body["tools"], dict):
            raise bad_request("tools must map toolkit slugs to tool configs")
        config["tools"] = {k.lower(): _enable_disable(v, f"tools.{k}") for k, v in body["tools"].items()}
    if body.get("connected_accounts") is not None:
        config["connected_accounts"] = _pins(body["connected_accounts"], user_id, accounts)
    config["manage_connections"] = _manage(body.get("manage_connections"))
    config["execute"] = {"enable_multi_execute": _flag(body.get("execute"), "enable_multi_execute", True, "execute")}
    config["search"] = {"enable": _flag(body.get("search"), "enable", True, "search")}
    config["preload"] = {"tools": _preload(body["preload"]) if body.get("preload") is not None else []}
    config["instant"] = False
    config["workbench"] = _workbench(body.get("workbench"))
    config.update({k: body[k] for k in _ECHOED if body.get(k) is not None})
    return config


@dataclass(frozen=True)
class Session:
    id: str
    config: J
    config_version: int = 1

    @property
    def user_id(self) -> str:
        return str(self.config["user_id"])

    def toolkit_allowed(self, toolkit: str) -> bool:
        toolkits = self.config.get("toolkits") or {}
        if "enabled" in toolkits:
            return toolkit in toolkits["enabled"]
        return toolkit not in toolkits.get("disabled", [])

    def tool_allowed(self, slug: str, toolkit: str) -> bool:
        rule = (self.config.get("tools") or {}).get(toolkit) or {}
        if "enabled" in rule:
            return slug in rule["enabled"]
        return slug not in rule.get("disabled", [])

    def pinned(self, toolkit: str) -> list[str] | None:
        pins = self.config.get("connected_accounts") or {}
        return list(pins[toolkit]) if toolkit in pins else None

    @property
    def manage_connections(self) -> bool:
        return bool(self.config["manage_connections"]["enabled"])

    @property
    def preload(self) -> list[str] | str:
        tools: list[str] | str = self.config["preload"]["tools"]
        return tools

    def meta_tools(self) -> list[str]:
        """The COMPOSIO_* tools this session serves, in the order the real service lists them."""
        config = self.config
        search = config["search"]["enable"]
        tools = [SEARCH] if search else []
        if config["execute"]["enable_multi_execute"]:
            tools.append(MULTI)
        if self.manage_connections:
            tools.append(MANAGE)
            if config["manage_connections"]["enable_wait_for_connections"]:
                tools.append(WAIT)
        if search:
            tools.append(SCHEMAS)
        if config["workbench"]["enable"]:
            tools += [WORKBENCH, BASH]
        return tools


class Sessions:
    def __init__(self, world: World) -> None:
        self.world = world
        self._issued: set[str] = set()  # every id this process handed out, across resets

    def _new_id(self) -> str:
        while True:
            session_id = "trs_" + secrets.token_urlsafe(9)  # 72 random bits, 12 characters
            if session_id not in self._issued and self.world.store.get(SESSION, session_id) is None:
                self._issued.add(session_id)
                return session_id

    def create(self, config: J) -> Session:
        with self.world.transaction():
            session_id = self._new_id()
            self.world.store.put(
                SESSION,
                session_id,
                {"id": session_id, "config": config, "config_version": 1, "created_at": self.world.now()},
            )
        return Session(session_id, config)

    def get(self, session_id: str) -> Session | None:
        doc = self.world.store.get(SESSION, session_id)
        return Session(doc["id"], doc["config"], doc["config_version"]) if doc else None

    def delete(self, session_id: str) -> bool:
        with self.world.transaction():
            return self.world.store.delete(SESSION, session_id)

    def all(self) -> list[J]:
        return self.world.store.all(SESSION)
