"""Tool errors: what a failed tool call says (``isError: true`` with one text block).

The real server's wording for Bitbucket-side failures is not published. Chosen format: a first line
``Bitbucket API error (HTTP <status>): <Bitbucket's error.message>[: <detail text>]`` and, on the next line,
Bitbucket's error body exactly as received, so nothing it said (granted/required scopes, field errors) is lost.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.bitbucket.errors import BitbucketError
from sandbox.upstream import UpstreamResponse


class ToolError(Exception):
    """A failure reported to the client as the tool's result, never as a JSON-RPC error."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def bitbucket_error(response: UpstreamResponse) -> ToolError:
    first = f"Bitbucket API error (HTTP {response.status}): {response.error_message()}"
    detail = _detail(response.body)
    if detail:
        first += f": {detail}"
    raw = response.text.strip()
    return ToolError(f"{first}\n{raw}" if raw else first)


def _detail(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    detail = error.get("detail") if isinstance(error, dict) else None
    return detail if isinstance(detail, str) else ""


def as_response(exc: BitbucketError) -> UpstreamResponse:
    """A Bitbucket error raised by an operation answered here, shaped like one Bitbucket sent."""
    text = json.dumps(exc.envelope(), separators=(",", ":"))
    return UpstreamResponse(exc.status, exc.envelope(), text, "application/json")


def missing_parameter(tool: str, action: str, name: str) -> ToolError:
    return ToolError(f"Missing required parameter '{name}' for action '{action}' of {tool}.")


def missing_scope(tool: str, action: str, scope: str, service_account: bool) -> ToolError:
    what, article = ("service account API key", "a") if service_account else ("API token", "an")
    return ToolError(
        f"Permission denied: the action '{action}' of {tool} requires the scope {scope}, which this "
        f"{what} does not have. Create {article} {what} with that scope to use it."
    )


def blocked_group(tool: str, action: str, group: str) -> ToolError:
    return ToolError(
        f"Permission denied: the action '{action}' of {tool} belongs to the {group} permission group, "
        "which an organization admin has blocked for the Rovo MCP server."
    )


def not_linked(workspace: str) -> ToolError:
    return ToolError(
        f"The Bitbucket workspace '{workspace}' is not linked to an Atlassian organization. Bitbucket "
        "tools on the Atlassian Rovo MCP server only work for workspaces linked to the organization "
        "(an admin links it at admin.atlassian.com > Apps > Link Bitbucket)."
    )
