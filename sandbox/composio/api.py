"""The Tool Router REST API the ``composio`` SDK calls, under ``/api/v3.1/tool_router/session``.

Every endpoint needs a project API key in ``x-api-key`` (401 otherwise); an unknown session id is a 404. Errors
use Composio's body ``{"error": {message, code, status, request_id, slug}}``. Session create answers 201.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.composio.accounts import AUTH_CONFIG_ID
from sandbox.composio.bitbucket_tools import TOOLKIT, TOOLKIT_DESCRIPTION, VERSION, AppTool
from sandbox.composio.errors import (
    BAD_REQUEST,
    NOT_FOUND,
    SESSION_NOT_FOUND,
    TOOLKIT_NOT_ALLOWED,
    UNAUTHORIZED,
    ComposioApiError,
    J,
    ToolFailure,
)
from sandbox.composio.mcp_server import origin_of
from sandbox.composio.meta import META_TOOLKIT, META_TOOLS, Call, MetaTool, search_data
from sandbox.composio.schema import validate
from sandbox.composio.sessions import SEARCH, Session, bad_request, normalise

if TYPE_CHECKING:
    from sandbox.composio.service import ComposioService

BASE = "/api/v3.1/tool_router/session"
ASSISTIVE_PROMPT = (
    "You can use Bitbucket through the Composio Tool Router. To act: call COMPOSIO_SEARCH_TOOLS with the use "
    "case, then run the tools it finds with COMPOSIO_MULTI_EXECUTE_TOOL. If a toolkit is not connected, call "
    "COMPOSIO_MANAGE_CONNECTIONS and give the user the redirect_url. Never invent tool slugs or arguments."
)
Handler = Callable[[Request, Session], Awaitable[Response]]


def error_response(exc: ComposioApiError, request_id: str) -> JSONResponse:
    return JSONResponse(exc.body(request_id), status_code=exc.status)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON") from None


def tool_item(tool: AppTool | MetaTool) -> J:
    """One item of ``GET /tools`` (the SDK's raw tool shape)."""
    kit = TOOLKIT if tool.toolkit == "bitbucket" else META_TOOLKIT
    return {
        "slug": tool.slug,
        "name": tool.name,
        "description": tool.description,
        "human_description": tool.description,
        "input_parameters": tool.input_schema,
        "output_parameters": tool.output_schema,
        "toolkit": dict(kit),
        "tags": list(tool.tags),
        "scopes": list(tool.scopes),
        "scope_requirements": {"all_of": list(tool.scopes)} if tool.scopes else None,
        "no_auth": tool.toolkit == "composio",
        "version": VERSION,
        "available_versions": [VERSION],
        "is_deprecated": False,
        "deprecated": {
            "available_versions": [VERSION],
            "displayName": tool.name,
            "is_deprecated": False,
            "toolkit": {"logo": kit["logo"]},
            "version": VERSION,
        },
    }


def _page(request: Request, items: list[J], default_limit: int, max_limit: int) -> J:
    """Cursor paging: the cursor is base64 of "page:limit", as Composio describes it."""
    limit, page = _int(request.query_params.get("limit"), default_limit, "limit"), 1
    cursor = request.query_params.get("cursor")
    if cursor:
        try:
            page_text, _, limit_text = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
            page, limit = int(page_text), int(limit_text)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise bad_request("cursor is not a cursor this API returned") from None
    if not 1 <= limit <= max_limit or page < 1:
        raise bad_request(f"limit must be between 1 and {max_limit}")
    pages = max(1, -(-len(items) // limit))
    chunk = items[(page - 1) * limit : page * limit]
    next_cursor = base64.urlsafe_b64encode(f"{page + 1}:{limit}".encode()).decode() if page < pages else None
    return {
        "items": chunk,
        "next_cursor": next_cursor,
        "total_items": len(items),
        "total_pages": pages,
        "current_page": page,
    }


def _int(raw: str | None, default: int, name: str) -> int:
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None


class RestApi:
    def __init__(self, service: ComposioService) -> None:
        self.service = service

    def routes(self) -> list[Route]:
        s = "/{session_id}"
        return [
            Route(BASE, self._keyed(self.create), methods=["POST"]),
            Route(BASE + s, self._session(self.retrieve), methods=["GET"]),
            Route(BASE + s, self._session(self.delete), methods=["DELETE"]),
            Route(BASE + s + "/tools", self._session(self.tools), methods=["GET"]),
            Route(BASE + s + "/toolkits", self._session(self.toolkits), methods=["GET"]),
            Route(BASE + s + "/execute", self._session(self.execute), methods=["POST"]),
            Route(BASE + s + "/execute_meta", self._session(self.execute_meta), methods=["POST"]),
            Route(BASE + s + "/search", self._session(self.search), methods=["POST"]),
            Route(BASE + s + "/link", self._session(self.link), methods=["POST"]),
            Route("/link/{token}", self.complete_link, methods=["GET"]),
        ]

    # plumbing ---------------------------------------------------------------------------------------------
    def _keyed(self, fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                self.require_key(request)
                return await fn(request)
            except ComposioApiError as exc:
                return error_response(exc, self.service.next_id("req_"))

        return endpoint

    def _session(self, fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def with_session(request: Request) -> Response:
            return await fn(request, self.session(request.path_params["session_id"]))

        return self._keyed(with_session)

    def require_key(self, request: Request) -> None:
        if not self.service.accounts.valid_key(request.headers.get("x-api-key")):
            raise ComposioApiError(
                401, UNAUTHORIZED, "Invalid or missing API key: send the project API key in the x-api-key header"
            )

    def session(self, session_id: str) -> Session:
        found = self.service.sessions.get(session_id)
        if found is None:
            raise ComposioApiError(404, SESSION_NOT_FOUND, f"Tool router session {session_id} not found")
        return found

    def session_body(self, request: Request, session: Session) -> J:
        return {
            "session_id": session.id,
            "config_version": session.config_version,
            "mcp": {"type": "http", "url": f"{origin_of(request)}/tool_router/{session.id}/mcp"},
            "tool_router_tools": session.meta_tools(),
            "config": session.config,
        }

    # sessions ---------------------------------------------------------------------------------------------
    async def create(self, request: Request) -> Response:
        session = self.service.sessions.create(normalise(await json_body(request), self.service.accounts))
        body = {**self.session_body(request, session), "experimental": {"assistive_prompt": ASSISTIVE_PROMPT}}
        return JSONResponse(body, status_code=201)

    async def retrieve(self, request: Request, session: Session) -> Response:
        return JSONResponse(self.session_body(request, session))

    async def delete(self, request: Request, session: Session) -> Response:
        self.service.sessions.delete(session.id)
        return JSONResponse({"session_id": session.id, "deleted": True})

    async def tools(self, request: Request, session: Session) -> Response:
        items = [tool_item(t) for t in self.service.router.listed_tools(session)]
        return JSONResponse(_page(request, items, 20, 500))

    async def toolkits(self, request: Request, session: Session) -> Response:
        query = request.query_params
        wanted = {t.strip().lower() for v in query.getlist("toolkits") for t in v.split(",") if t.strip()}
        items = [self._toolkit_item(session)] if session.toolkit_allowed("bitbucket") else []
        items = [i for i in items if not wanted or i["slug"] in wanted]
        if query.get("is_connected") in ("true", "false"):
            connected = query["is_connected"] == "true"
            items = [i for i in items if ((i["connected_account"] or {}).get("status") == "ACTIVE") == connected]
        if query.get("search"):
            items = [i for i in items if query["search"].lower() in f"{i['slug']} {i['meta']['description']}".lower()]
        return JSONResponse(_page(request, items, 20, 50))

    def _toolkit_item(self, session: Session) -> J:
        accounts = self.service.accounts
        account = accounts.active(session.user_id, session.pinned("bitbucket"))
        if account is None:
            mine = accounts.for_user(session.user_id)
            account = mine[-1] if mine else None
        connected = (
            None
            if account is None
            else {
                "id": account["id"],
                "status": account["status"],
                "user_id": account["user_id"],
                "created_at": account["created_at"],
                "auth_config": {"id": AUTH_CONFIG_ID, "auth_scheme": "OAUTH2", "is_composio_managed": True},
            }
        )
        return {
            "slug": "bitbucket",
            "name": "Bitbucket",
            "enabled": True,
            "is_no_auth": False,
            "composio_managed_auth_schemes": ["OAUTH2"],
            "meta": {"description": TOOLKIT_DESCRIPTION, "logo": TOOLKIT["logo"]},
            "connected_account": connected,
        }

    # execution --------------------------------------------------------------------------------------------
    async def execute(self, request: Request, session: Session) -> Response:
        body = await json_body(request)
        slug = body.get("tool_slug") if isinstance(body, dict) else None
        if not isinstance(slug, str) or not slug:
            raise bad_request("tool_slug is required")
        account = body.get("account") if isinstance(body.get("account"), str) else None
        result = await self.service.router.execute(session, slug, body.get("arguments"), origin_of(request), account)
        return JSONResponse(
            {
                "data": result.data,
                "error": result.error,
                "log_id": self.service.next_id("log_"),
                "result_type": "completed" if result.successful else "failed",
            }
        )

    async def execute_meta(self, request: Request, session: Session) -> Response:
        body = await json_body(request)
        slug = body.get("slug") if isinstance(body, dict) else None
        if slug not in META_TOOLS:
            raise bad_request(f"slug must be one of {', '.join(META_TOOLS)}")
        result = await self.service.router.run_meta_tool(session, slug, body.get("arguments"), origin_of(request))
        return JSONResponse(
            {
                "data": result.data,
                "error": result.error,
                "log_id": self.service.next_id("log_"),
                "result_type": "completed" if result.successful else "failed",
            }
        )

    async def search(self, request: Request, session: Session) -> Response:
        body = await json_body(request)
        try:
            arguments = validate(META_TOOLS[SEARCH].input_schema, body)
        except ToolFailure as exc:
            raise bad_request(str(exc)) from None
        return JSONResponse(search_data(Call(self.service.router, session, origin_of(request)), arguments))

    # connections ------------------------------------------------------------------------------------------
    async def link(self, request: Request, session: Session) -> Response:
        body = await json_body(request)
        toolkit = body.get("toolkit") if isinstance(body, dict) else None
        if not isinstance(toolkit, str) or toolkit.lower() != "bitbucket":
            raise bad_request(f"Toolkit {toolkit!r} not found: the sandbox serves only bitbucket")
        if not session.toolkit_allowed("bitbucket"):
            raise ComposioApiError(
                400, TOOLKIT_NOT_ALLOWED, "[Session Restriction] Toolkit 'bitbucket' is not allowed for this session"
            )
        callback = body.get("callback_url") or session.config["manage_connections"].get("callback_url")
        account = self.service.accounts.initiate(session.user_id, origin_of(request), callback)
        return JSONResponse(
            {
                "connected_account_id": account["id"],
                "link_token": account["link_token"],
                "redirect_url": account["redirect_url"],
            }
        )

    async def complete_link(self, request: Request) -> Response:
        """The hosted connect page: opening it stands for the user approving the connection on Bitbucket.

        ``?bitbucket_user=`` says who approves; by default the user's earlier Bitbucket account.
        """
        accounts = self.service.accounts
        account = accounts.by_link(request.path_params["token"])
        if account is None:
            return error_response(
                ComposioApiError(404, NOT_FOUND, "This connection link is not valid"), self.service.next_id("req_")
            )
        try:
            account = accounts.complete(account["id"], request.query_params.get("bitbucket_user"))
        except ValueError as exc:
            return error_response(ComposioApiError(400, BAD_REQUEST, str(exc)), self.service.next_id("req_"))
        if account.get("callback_url"):
            query = urlencode({"status": "success", "connected_account_id": account["id"]})
            sep = "&" if "?" in account["callback_url"] else "?"
            return RedirectResponse(f"{account['callback_url']}{sep}{query}", status_code=302)
        return JSONResponse(
            {
                "status": account["status"],
                "connected_account_id": account["id"],
                "message": "Bitbucket is connected. You can close this page.",
            }
        )
