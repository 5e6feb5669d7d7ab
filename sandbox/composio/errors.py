"""Composio's error envelope, its result wrapper, and the two ways a tool call can fail.

* ``ComposioApiError``: the request itself is refused (HTTP 4xx with ``{"error": {...}}``): bad key, unknown
  session, unknown tool, toolkit not allowed, no active connection.
* ``ToolFailure``: the tool ran (or was validated) and failed: HTTP 200 with ``result_type: "failed"``,
  or ``successful: false`` inside MCP and COMPOSIO_MULTI_EXECUTE_TOOL results.
"""

from __future__ import annotations

from typing import Any

J = dict[str, Any]

# Codes and slugs seen on the real service (see the project's Composio facts); the rest are the sandbox's choice.
BAD_REQUEST = (4300, "ToolRouterV2_BadRequest")
TOOL_NOT_FOUND = (4301, "ToolRouterV2_ToolNotFound")
NO_ACTIVE_CONNECTION = (4302, "ToolRouterV2_NoActiveConnection")
SESSION_NOT_FOUND = (4304, "ToolRouterV2_SessionNotFound")  # slug observed, code chosen
NO_MANAGED_AUTH = (4308, "ToolRouterV2_NoManagedAuth")
INVALID_ACCOUNT_IDS = (4309, "ToolRouterV2_InvalidConnectedAccountIds")  # slug observed, code chosen
TOOLKIT_NOT_ALLOWED = (4324, "ToolRouterV2_ToolkitNotAllowed")
# Not observed: the sandbox mirrors the HTTP status in the code, as its injected faults do.
UNAUTHORIZED = (401, "Unauthorized")
NOT_FOUND = (404, "NotFound")
INTERNAL = (500, "InternalServerError")

CONNECT_HINT = "Call COMPOSIO_MANAGE_CONNECTIONS with toolkits {toolkits} to connect the account, then retry."


class ComposioApiError(Exception):
    """A refused request: rendered as Composio's error body with ``status``."""

    def __init__(self, status: int, kind: tuple[int, str], message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code, self.slug = kind
        self.message = message

    def body(self, request_id: str) -> J:
        return {
            "error": {
                "message": self.message,
                "code": self.code,
                "status": self.status,
                "request_id": request_id,
                "slug": self.slug,
            }
        }


class ToolFailure(Exception):
    """A tool that ran and failed; ``str(self)`` is the ``error`` text of the result."""


def no_connection(toolkit: str) -> ComposioApiError:
    return ComposioApiError(
        400, NO_ACTIVE_CONNECTION, f"No active connection found for toolkit(s) '{toolkit}' in this session"
    )


def missing_fields(names: list[str]) -> str:
    """Composio prints a Python set; sorted here so that the text does not depend on hash seeds."""
    return (
        "Invalid request data provided - Following fields are missing: {"
        + ", ".join(repr(n) for n in sorted(names))
        + "}"
    )


class ToolResult:
    """Composio's result wrapper ``{data, error, successful}``."""

    __slots__ = ("data", "error", "successful")

    def __init__(self, successful: bool, data: J | None = None, error: str | None = None) -> None:
        self.successful = successful
        self.data: J = data if data is not None else {}
        self.error = error

    @classmethod
    def failed(cls, error: str, data: J | None = None) -> ToolResult:
        return cls(False, data, error)

    def wrapper(self) -> J:
        return {"data": self.data, "error": self.error, "successful": self.successful}
