"""The wire, shared by both APIs: request checks (the JSON body, known parameters, text content, tool names) and the
JSON and SSE responses.

The known parameters are read from the installed ``openai`` SDK's own request types, so the server accepts
exactly what the SDK can send and rejects anything else with OpenAI's error envelope.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sandbox.model.errors import APIError, invalid, missing, wrong_type

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def known_parameters(typed_dict: type) -> frozenset[str]:
    return frozenset(typing.get_type_hints(typed_dict)) | {"stream"}


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise APIError(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
            "sent was not valid JSON.)",
            code="invalid_json",
        ) from None
    if not isinstance(body, dict):
        raise APIError("The request body must be a JSON object.", code="invalid_type")
    return body


def check_known(body: dict[str, Any], known: frozenset[str]) -> None:
    for key in body:
        if key not in known:
            raise APIError(f"Unrecognized request argument supplied: {key}", param=key, code="unknown_parameter")


def model_name(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise missing("model")
    if not isinstance(model, str) or not model.strip():
        raise wrong_type("model", "a non-empty string")
    return model


def stream_flags(body: dict[str, Any]) -> tuple[bool, bool]:
    """(stream, include_usage)."""
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise wrong_type("stream", "a boolean")
    options = body.get("stream_options")
    if options is not None and not stream:
        raise invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
    if options is not None and not isinstance(options, dict):
        raise wrong_type("stream_options", "an object")
    return bool(stream), bool((options or {}).get("include_usage", False))


def text_of(content: Any, param: str, part_types: tuple[str, ...]) -> str:
    """The text of a message's content: a string, or a list of text parts (other parts are not understood)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise wrong_type(param, "a string or an array of content parts")
    texts = []
    for i, part in enumerate(content):
        where = f"{param}[{i}]"
        if not isinstance(part, dict) or "type" not in part:
            raise invalid(f"Invalid content part at '{where}': expected an object with a 'type'.", where)
        if part["type"] in part_types:
            if not isinstance(part.get("text"), str):
                raise missing(f"{where}.text")
            texts.append(part["text"])
        elif part["type"] in ("refusal",):
            texts.append(str(part.get("refusal", "")))
        else:
            raise invalid(
                f"Invalid value: '{part['type']}'. The sandbox model reads text parts only ({', '.join(part_types)}).",
                f"{where}.type",
            )
    return "\n".join(texts)


def tool_name(name: Any, param: str) -> str:
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise invalid(
            f"Invalid '{param}': string does not match pattern. Expected a string that matches the "
            "pattern '^[a-zA-Z0-9_-]+$'.",
            param,
            "invalid_value",
        )
    return name


def parameters_schema(value: Any, param: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise wrong_type(param, "an object (a JSON schema)")
    return value


def arguments_of(raw: Any, param: str) -> dict[str, Any]:
    """Tool call arguments: a JSON object encoded as a string."""
    if not isinstance(raw, str):
        raise wrong_type(param, "a string holding a JSON object")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise invalid(f"Invalid '{param}': not valid JSON.", param) from None
    if not isinstance(value, dict):
        raise invalid(f"Invalid '{param}': expected a JSON object.", param)
    return value


def output_text(value: Any, param: str) -> str:
    """A tool result: a string, or content parts (joined), or any JSON value (as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        texts = [p.get("text") for p in value]
        if all(isinstance(t, str) for t in texts):
            return "\n".join(str(t) for t in texts)
    if value is None:
        raise missing(param)
    return json.dumps(value, ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON with a stable key order: what the server sends (and what the ids are computed over)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def sse_response(events: Iterable[str]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for event in events:
            yield event.encode()

    return StreamingResponse(
        body(), media_type="text/event-stream; charset=utf-8", headers={"cache-control": "no-cache"}
    )


def chat_sse(chunks: Iterable[dict[str, Any]]) -> StreamingResponse:
    """Chat completion chunks as OpenAI sends them: ``data:`` lines, then ``data: [DONE]``."""
    return sse_response([*(f"data: {dumps(c)}\n\n" for c in chunks), "data: [DONE]\n\n"])


def responses_sse(events: Iterable[dict[str, Any]]) -> StreamingResponse:
    """Responses API events as OpenAI sends them: each with its ``event:`` line."""
    return sse_response([f"event: {e['type']}\ndata: {dumps(e)}\n\n" for e in events])
