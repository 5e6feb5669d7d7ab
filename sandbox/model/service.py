"""The reference model's service: an OpenAI-compatible API at ``/v1``, deterministic, on its own port.

Routes: ``GET /v1/models`` (and ``/v1/models/{id}``: any name is served, the name picks the policy),
``POST /v1/chat/completions``, ``POST /v1/responses``. Every request needs ``Authorization: Bearer <key>`` with a
non-empty key, like OpenAI's API; any key is accepted (the published one is ``sandbox-model-key``). Errors use
OpenAI's envelope. Under ``/gateway/<name>/v1`` the registered gateways serve the same Responses API (and pass chat
completions and models through) with an upstream chat model deciding; see ``sandbox.model.gateway``. Admin
routes (on the admin API): ``/model/plans`` (GET/POST/DELETE scenario plans), ``/model/gateways`` (GET/POST) and
``/model/gateways/<name>`` (DELETE).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.bitbucket.world import World
from sandbox.fixtures import Fixture
from sandbox.model import chat, gateway, responses, wire
from sandbox.model.errors import APIError, error_response
from sandbox.model.ids import CREATED
from sandbox.model.policy import POLICY_NAMES, PlanRegistry, decide, parse_plans
from sandbox.model.responses import Mover
from sandbox.service import ServiceContext
from yamlio import parse_model

API_KEY = "sandbox-model-key"
log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": "sandbox"}


class ModelService:
    name = "model"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.plans = PlanRegistry()
        self.gateways = gateway.GatewayRegistry(ctx.origin)
        # No proxy from the environment and no redirects: upstream traffic goes to the registered host only.
        self.http = httpx.AsyncClient(trust_env=False, follow_redirects=False)

    def asgi(self) -> ASGIApp:
        at = "/gateway/{gateway}/v1"
        routes = [
            Route("/v1/models", self._api(self.models), methods=["GET"]),
            Route("/v1/models/{model:path}", self._api(self.model), methods=["GET"]),
            Route("/v1/chat/completions", self._api(self.chat_completions), methods=["POST"]),
            Route("/v1/responses", self._api(self.responses), methods=["POST"]),
            Route(f"{at}/models", self._api(self.gateway_models, keyed=False), methods=["GET"]),
            Route(f"{at}/chat/completions", self._api(self.gateway_chat_completions, keyed=False), methods=["POST"]),
            Route(f"{at}/responses", self._api(self.gateway_responses, keyed=False), methods=["POST"]),
        ]
        return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})  # type: ignore[dict-item]

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.http.aclose()

    def urls(self) -> dict[str, str]:
        return {"model_api": f"{self.ctx.origin}/v1"}

    def admin_routes(self) -> list[Route]:
        return [
            Route("/model/plans", self.admin_plans, methods=["GET", "POST", "DELETE"]),
            Route("/model/gateways", self.admin_gateways, methods=["GET", "POST"]),
            Route("/model/gateways/{name}", self.admin_gateway, methods=["DELETE"]),
        ]

    def credentials(self) -> dict[str, object]:
        return {"model": {"api_key": API_KEY, "models": list(POLICY_NAMES)}}

    async def reset(self) -> None:
        self.plans.clear()
        self.gateways.clear()

    # -- the API ----------------------------------------------------------------------------------------------

    def _api(self, fn: Endpoint, keyed: bool = True) -> Endpoint:
        """Errors in OpenAI's shape; ``keyed``: a Bearer key is required (a gateway forwards whatever it is given
        and lets the upstream judge it)."""

        async def guarded(request: Request) -> Response:
            scheme, _, key = request.headers.get("authorization", "").partition(" ")
            if keyed and (scheme.lower() != "bearer" or not key.strip()):
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
        return wire.json_response({"object": "list", "data": [_model(name) for name in POLICY_NAMES]})

    async def model(self, request: Request) -> Response:
        return wire.json_response(_model(request.path_params["model"]))

    async def chat_completions(self, request: Request) -> Response:
        req = chat.parse(await wire.json_body(request))
        completion = chat.completion(req, decide(req.conversation, req.model, self.plans))
        return (
            wire.chat_sse(chat.chunks(completion, req.include_usage)) if req.stream else wire.json_response(completion)
        )

    async def responses(self, request: Request) -> Response:
        return await self._responses(request, responses.scripted(self.plans))

    async def _responses(self, request: Request, mover: Mover) -> Response:
        req = responses.parse(await wire.json_body(request))
        body = responses.response_object(req, await responses.run(req, mover))
        return wire.responses_sse(responses.events(body)) if req.stream else wire.json_response(body)

    # -- gateways ---------------------------------------------------------------------------------------------

    def _upstream(self, request: Request) -> gateway.Upstream:
        spec = self.gateways.get(request.path_params["gateway"])
        return gateway.Upstream(spec, self.http, request.headers.get("authorization"))

    async def gateway_models(self, request: Request) -> Response:
        return await gateway.models(self._upstream(request))

    async def gateway_chat_completions(self, request: Request) -> Response:
        upstream = self._upstream(request)
        return await gateway.chat_completions(upstream, await wire.json_body(request))

    async def gateway_responses(self, request: Request) -> Response:
        return await self._responses(request, gateway.upstream_mover(self._upstream(request)))

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

    async def admin_gateways(self, request: Request) -> Response:
        if request.method == "POST":
            text = (await request.body()).decode("utf-8", "replace")
            if not text.strip():
                raise ValueError("request body: a gateway is required: {name, upstream, model?, stream?, timeout?}")
            spec = parse_model(gateway.GatewaySpec, text, "request body")
            self.gateways.add(spec)
            return JSONResponse(self.gateways.public(spec), status_code=201)
        return JSONResponse({"gateways": self.gateways.all()})

    async def admin_gateway(self, request: Request) -> Response:
        name = request.path_params["name"]
        removed = self.gateways.remove(name)
        if removed is None:
            return JSONResponse({"error": f"no gateway named {name!r} is registered"}, status_code=404)
        return JSONResponse({"removed": self.gateways.public(removed)})


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
