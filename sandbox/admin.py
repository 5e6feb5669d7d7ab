"""The sandbox's admin API, on its own origin: fixtures, reset, faults, settings, logs.

It is separate from every emulated service and only opens with the sandbox's admin key
(``X-Sandbox-Admin-Key``); no Bitbucket, Composio or Atlassian credential is accepted.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from dataclasses import fields as dc_fields
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.bitbucket.world import Settings
from sandbox.fixtures import Fixture, parse_fixture
from sandbox.info import ADMIN_HEADER
from yamlio import InputError

if TYPE_CHECKING:
    from sandbox.server import SandboxServer

Endpoint = Callable[[Request], Awaitable[Response]]
_SETTINGS = TypeAdapter(Settings)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def describe(exc: Exception) -> str:
    """One line naming each field at fault (pydantic's own text spans lines and links to its docs)."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
    return str(exc)


class AdminAPI:
    def __init__(self, sandbox: SandboxServer, key: str) -> None:
        self.sb = sandbox
        self.key = key
        self.extra_routes: list[Route] = []

    def guard(self, fn: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            given = request.headers.get(ADMIN_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.key.encode()):
                return _error(401, f"the admin API needs the sandbox's admin key in {ADMIN_HEADER}")
            try:
                return await fn(request)
            except InputError as exc:
                return _error(400, str(exc))
            except (ValueError, ValidationError) as exc:
                return _error(400, describe(exc))

        return guarded

    def route(self, path: str, fn: Endpoint, methods: list[str]) -> Route:
        return Route(path, self.guard(fn), methods=methods)

    def build(self) -> Starlette:
        routes = [
            Route("/health", self.health, methods=["GET"]),
            self.route("/info", self.info, ["GET"]),
            self.route("/reset", self.reset, ["POST"]),
            self.route("/fixtures", self.load_fixture, ["POST"]),
            self.route("/faults", self.faults, ["GET", "POST", "DELETE"]),
            # One rule only: cells running side by side each remove their own faults, never the others'.
            self.route("/faults/{rule_id:int}", self.fault, ["DELETE"]),
            self.route("/settings", self.settings, ["GET", "PATCH"]),
            self.route("/clock/advance", self.advance, ["POST"]),
            self.route("/bitbucket/deliveries", self.deliveries, ["GET"]),
            self.route("/bitbucket/requests", self.requests, ["GET", "DELETE"]),
            *(self.route(r.path, r.endpoint, sorted(r.methods or ["GET"])) for r in self.extra_routes),
        ]
        return Starlette(routes=routes)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def info(self, request: Request) -> Response:
        return JSONResponse(self.sb.info())

    async def _fixture(self, request: Request) -> Fixture | None:
        raw = await request.body()
        if not raw.strip():
            return None
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                return Fixture.model_validate(json.loads(raw))
            except json.JSONDecodeError as exc:
                raise ValueError(f"request body: malformed JSON: {exc}") from None
        return parse_fixture(raw.decode("utf-8", "replace"), "request body")

    async def reset(self, request: Request) -> Response:
        fixture = await self._fixture(request)
        await self.sb.reset(fixture)
        return JSONResponse({"status": "reset", "credentials": self.sb.credentials()})

    async def load_fixture(self, request: Request) -> Response:
        fixture = await self._fixture(request)
        if fixture is None:
            return _error(400, "request body: a fixture (YAML or JSON) is required")
        self.sb.world.load(fixture)
        return JSONResponse({"status": "loaded", "credentials": self.sb.credentials()})

    async def faults(self, request: Request) -> Response:
        plan = self.sb.faults
        if request.method == "POST":
            spec = await request.json()
            specs = spec if isinstance(spec, list) else [spec]
            for n, one in enumerate(specs, 1):
                if not isinstance(one, dict):
                    raise ValueError(f"fault rule {n}: a JSON object is required (server, method, path, status...)")
            added = []
            for n, one in enumerate(specs, 1):
                try:
                    added.append(plan.add(**one).public())
                except ValueError as exc:
                    raise ValueError(f"fault rule {n}: {describe(exc)}") from None
            return JSONResponse({"added": added}, status_code=201)
        if request.method == "DELETE":
            plan.clear()
        return JSONResponse({"rules": plan.rules()})

    async def fault(self, request: Request) -> Response:
        removed = self.sb.faults.remove(request.path_params["rule_id"])
        return JSONResponse({"removed": removed})

    async def settings(self, request: Request) -> Response:
        settings = self.sb.world.settings
        if request.method == "PATCH":
            changes = await request.json()
            if not isinstance(changes, dict):
                return _error(400, "request body: a JSON object of settings to change is required")
            known = {f.name for f in dc_fields(settings)}
            unknown = set(changes) - known
            if unknown:
                return _error(400, f"unknown settings: {sorted(unknown)}; known: {sorted(known)}")
            checked = _SETTINGS.validate_python({**asdict(settings), **changes})  # names the field at fault
            for key in changes:
                setattr(settings, key, getattr(checked, key))
            self.sb.world.rebuild_credentials()
        return JSONResponse({f.name: getattr(settings, f.name) for f in dc_fields(settings)})

    async def advance(self, request: Request) -> Response:
        body: Any = await request.json()
        seconds = body.get("seconds", 0) if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            return _error(400, 'request body: {"seconds": <number>} is required (seconds: the time to add)')
        self.sb.world.time_offset += float(seconds)
        return JSONResponse({"time_offset": self.sb.world.time_offset})

    async def deliveries(self, request: Request) -> Response:
        await self.sb.webhooks.drain()
        docs = self.sb.world.store.all("delivery")
        repo = request.query_params.get("repository")
        if repo:
            docs = [d for d in docs if d["repository"] == repo]
        docs.sort(key=lambda d: (d["event_sequence"], d["attempt"]))
        return JSONResponse({"deliveries": docs})

    async def requests(self, request: Request) -> Response:
        log = self.sb.bitbucket.access_log.entries
        if request.method == "DELETE":
            log.clear()
        return JSONResponse({"requests": list(log)})
