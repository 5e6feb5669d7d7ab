"""The reference model's service: an OpenAI-compatible API at ``/v1``, deterministic, on its own port.

Routes: ``GET /v1/models`` (and ``/v1/models/{id}``: any name is served, the name picks the policy),
``POST /v1/chat/completions``, ``POST /v1/responses``. Every request needs ``Authorization: Bearer <key>`` with a
non-empty key, like OpenAI's API; any key is accepted (the published one is ``sandbox-model-key``). Errors use
OpenAI's envelope. Admin routes (on the admin API): ``/model/plans`` (GET/POST/DELETE scenario plans).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.bitbucket.world import World
from sandbox.fixtures import Fixture
from sandbox.model import chat, responses, wire
from sandbox.model.errors import APIError, error_response
from sandbox.model.ids import CREATED
from sandbox.model.policy import POLICY_NAMES, PlanRegistry, decide, parse_plans
from sandbox.service import ServiceContext

API_KEY = "sandbox-model-key"
log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]


def _json(body: Any, status: int = 200) -> Response:
    return Response(wire.dumps(body), status_code=status, media_type="application/json")


def _sse(events: Iterable[str]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for event in events:
            yield event.encode()

    return StreamingResponse(
        body(), media_type="text/event-stream; charset=utf-8", headers={"cache-control": "no-cache"}
    )


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": "sandbox"}


class ModelService:
    name = "model"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.plans = PlanRegistry()

    def asgi(self) -> ASGIApp:
        routes = [
            Route("/v1/models", self._api(self.models), methods=["GET"]),
            Route("/v1/models/{model:path}", self._api(self.model), methods=["GET"]),
            Route("/v1/chat/completions", self._api(self.chat_completions), methods=["POST"]),
            Route("/v1/responses", self._api(self.responses), methods=["POST"]),
        ]
        return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})  # type: ignore[dict-item]

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        yield

    def urls(self) -> dict[str, str]:
        return {"model_api": f"{self.ctx.origin}/v1"}

    def admin_routes(self) -> list[Route]:
        return [Route("/model/plans", self.admin_plans, methods=["GET", "POST", "DELETE"])]

    def credentials(self) -> dict[str, object]:
        return {"model": {"api_key": API_KEY, "models": list(POLICY_NAMES)}}

    async def reset(self) -> None:
        self.plans.clear()

    # -- the API ----------------------------------------------------------------------------------------------

    def _api(self, fn: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            scheme, _, key = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                return error_response(
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). "
                    f"The sandbox accepts any key, e.g. {API_KEY}.",
                    status=401,
                )
            try:
                return await fn(request)
            except APIError as exc:
                return exc.response()
            except Exception:  # a bug must still answer in OpenAI's shape, never drop the connection
                log.exception("model server error on %s", request.url.path)
                return error_response("The sandbox model had an internal error.", status=500, kind="server_error")

        return guarded

    async def models(self, request: Request) -> Response:
        return _json({"object": "list", "data": [_model(name) for name in POLICY_NAMES]})

    async def model(self, request: Request) -> Response:
        return _json(_model(request.path_params["model"]))

    async def chat_completions(self, request: Request) -> Response:
        req = chat.parse(await wire.json_body(request))
        decision = decide(req.conversation, req.model, self.plans)
        if not req.stream:
            return _json(chat.completion(req, decision))
        events = [f"data: {wire.dumps(c)}\n\n" for c in chat.chunks(req, decision)]
        return _sse([*events, "data: [DONE]\n\n"])

    async def responses(self, request: Request) -> Response:
        req = responses.parse(await wire.json_body(request))
        out = await responses.run(req, self.plans)
        body = responses.response_object(req, out)
        if not req.stream:
            return _json(body)
        return _sse([f"event: {e['type']}\ndata: {wire.dumps(e)}\n\n" for e in responses.events(body)])

    # -- admin ------------------------------------------------------------------------------------------------

    async def admin_plans(self, request: Request) -> Response:
        if request.method == "POST":
            text = (await request.body()).decode("utf-8", "replace")
            plans = parse_plans(text, "request body")
            self.plans.add(plans)
            return JSONResponse({"registered": [p.message for p in plans]}, status_code=201)
        if request.method == "DELETE":
            self.plans.clear()
        return JSONResponse({"plans": [p.model_dump(exclude_none=True) for p in self.plans.all()]})


async def _http_error(request: Request, exc: HTTPException) -> Response:
    message = {
        404: f"Unknown request URL: {request.method} {request.url.path}.",
        405: f"Method {request.method} is not allowed on {request.url.path}.",
    }.get(exc.status_code, exc.detail)
    return error_response(message, status=exc.status_code, code="unknown_url" if exc.status_code == 404 else None)


def create_service(ctx: ServiceContext) -> ModelService:
    return ModelService(ctx)


def load_fixture(world: World, fixture: Fixture) -> None:
    """The model has no fixture section: its plans arrive through the admin API."""
    return None
