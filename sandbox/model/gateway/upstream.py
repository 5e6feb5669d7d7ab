"""Requests to a gateway's upstream, and its chat-completions and models pass-through.

The caller's ``Authorization`` header goes upstream unchanged and nothing else of the caller's does; redirects
are not followed, so traffic reaches the registered upstream only. Every failure becomes an OpenAI-shaped error
that names the upstream's host: unreachable -> 502, no answer in time -> 504, a 5xx (or anything else that is not
2xx or 4xx) -> 502, a 4xx -> the same status with the upstream's message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.responses import Response, StreamingResponse

from sandbox.model import chat, wire
from sandbox.model.errors import APIError
from sandbox.model.gateway.registry import GatewaySpec

_DETAIL_CHARS = 500


class Upstream:
    """One gateway's upstream, as one caller reaches it."""

    def __init__(self, spec: GatewaySpec, http: httpx.AsyncClient, authorization: str | None) -> None:
        self.spec = spec
        self.http = http
        self.headers = {"Authorization": authorization} if authorization else {}

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Request:
        return self.http.build_request(
            method,
            f"{self.spec.upstream}{path}",
            json=body,
            headers=self.headers,
            timeout=httpx.Timeout(self.spec.timeout, connect=min(self.spec.timeout, 10.0)),
        )

    async def send(
        self, method: str, path: str, body: dict[str, Any] | None = None, stream: bool = False
    ) -> httpx.Response:
        """The upstream's 2xx answer (unread when ``stream``); anything else raises an ``APIError``."""
        try:
            response = await self.http.send(self._request(method, path, body), stream=stream)
            if not response.is_success:
                await response.aread()
        except httpx.TimeoutException:
            raise self._failure(504, "upstream_timeout", f"did not answer within {self.spec.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise self._failure(502, "upstream_unreachable", f"could not be reached ({_reason(exc)})") from None
        if response.is_success:
            return response
        await response.aclose()
        raise self._refused(response)

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """One non-streaming chat completion."""
        response = await self.send("POST", "/chat/completions", {**body, "stream": False})
        try:
            completion = response.json()
        except ValueError:
            completion = None
        choices = completion.get("choices") if isinstance(completion, dict) else None
        first = choices[0] if isinstance(choices, list) and choices else None
        if (
            not isinstance(completion, dict)
            or not isinstance(first, dict)
            or not isinstance(first.get("message"), dict)
        ):
            raise self._failure(502, "upstream_invalid", f"answered with no chat completion: {_snippet(response.text)}")
        return completion

    def _failure(self, status: int, code: str, what: str) -> APIError:
        return APIError(f"The upstream {self.spec.host} {what}.", code=code, status=status, kind="server_error")

    def _refused(self, response: httpx.Response) -> APIError:
        status = response.status_code
        error = _error_of(response)
        message = f"The upstream {self.spec.host} answered {status} {response.reason_phrase}: {error.get('message')}"
        if 400 <= status < 500:
            return APIError(
                message,
                param=error.get("param"),
                code=error.get("code"),
                status=status,
                kind=error.get("type") or "invalid_request_error",
            )
        return APIError(message, code="upstream_error", status=502, kind="server_error")


def _error_of(response: httpx.Response) -> dict[str, Any]:
    """The upstream's error as OpenAI's envelope has it, or its body as the message."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return {
            k: error[k] if k == "message" else str(error[k])
            for k in ("message", "type", "param", "code")
            if error.get(k)
        }
    if isinstance(error, str) and error:
        return {"message": error}
    return {"message": _snippet(response.text) or "(empty body)"}


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_CHARS else text[:_DETAIL_CHARS] + "..."


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _pass_on(response: httpx.Response) -> Response:
    return Response(response.content, status_code=response.status_code, media_type=response.headers.get("content-type"))


async def models(upstream: Upstream) -> Response:
    return _pass_on(await upstream.send("GET", "/models"))


async def chat_completions(upstream: Upstream, body: dict[str, Any]) -> Response:
    """Pass-through, with the registered model id; a streamed request is relayed as the upstream streams it, or, in
    ``emulated`` mode, served by one plain upstream call re-sent as standard chunks (for servers that cannot stream
    tool calls)."""
    if upstream.spec.model:
        body = {**body, "model": upstream.spec.model}
    stream, include_usage = wire.stream_flags(body)
    if not stream:
        return _pass_on(await upstream.send("POST", "/chat/completions", body))
    if upstream.spec.stream == "emulated":
        plain = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        return wire.chat_sse(chat.chunks(await upstream.complete(plain), include_usage))
    response = await upstream.send("POST", "/chat/completions", body, stream=True)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for piece in response.aiter_bytes():
                yield piece
        finally:
            await response.aclose()

    return StreamingResponse(
        relay(),
        status_code=response.status_code,
        media_type=response.headers.get("content-type", "text/event-stream"),
        headers={"cache-control": "no-cache"},
    )
