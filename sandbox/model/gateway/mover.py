"""The gateway's next move: the Responses conversation as chat messages, the tools as chat functions, one
non-streaming upstream chat completion, and its answer back as a ``Move``.

Tool names: a tool keeps its own name unless another tool in the conversation has the same one (two MCP servers
with the same tools, a function named like an MCP tool); then an MCP tool becomes ``<server_label>__<name>``.
Names that do not fit OpenAI's pattern (or 64 characters) are shortened with a hash. The mapping is made afresh
for each upstream request, over the tools on offer and those in the history, so every name in one request maps
back to exactly one (server, tool).

Chat tool messages have no error flag, so the result of a failed call (an MCP error, a declined approval) goes
upstream as ``Error: <text>`` unless its text already starts so.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any

from sandbox.model import wire
from sandbox.model.errors import APIError
from sandbox.model.gateway.upstream import Upstream
from sandbox.model.policy import Call, ConversationBuilder, Decision, Exchange, ToolSpec, Turn
from sandbox.model.responses import Move, Mover, ResponsesRequest, Run

_FITS = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CALLS = ("mcp_call", "function_call")
Identity = tuple[str, str]  # (origin: "" or a server label, tool name)


class ToolNames:
    """The upstream's name for each tool, and back."""

    def __init__(self, identities: list[Identity]) -> None:
        known = list(dict.fromkeys(identities))
        counts = Counter(name for _, name in known)
        self._names: dict[Identity, str] = {}
        self._identities: dict[str, Identity] = {}
        for origin, name in known:
            wanted = f"{origin}__{name}" if origin and counts[name] > 1 else name
            chosen = wanted if _FITS.match(wanted) else _hashed(wanted)
            if chosen in self._identities:
                chosen = _hashed(f"{origin}/{name}")
            self._names[(origin, name)] = chosen
            self._identities[chosen] = (origin, name)

    def name(self, origin: str, name: str) -> str:
        return self._names[(origin, name)]

    def identity(self, name: str) -> Identity | None:
        return self._identities.get(name)


def _hashed(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', name)[:55]}_{digest}"


def upstream_mover(upstream: Upstream) -> Mover:
    async def move(req: ResponsesRequest, tools: tuple[ToolSpec, ...], out: Run) -> Move:
        called = [(e[1].call.origin, e[1].call.name) for e in req.builder.history() if not isinstance(e, Turn)]
        names = ToolNames([(t.origin, t.name) for t in tools] + called)
        completion = await upstream.complete(_chat_request(req, tools, names, out, upstream.spec.model))
        return _move(completion, tools, names, upstream)

    return move


def _chat_request(
    req: ResponsesRequest, tools: tuple[ToolSpec, ...], names: ToolNames, out: Run, model: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model or req.model, "messages": chat_messages(req.builder, names)}
    if tools:
        body["tools"] = [_function(t, names) for t in tools]
        body["tool_choice"] = _tool_choice(req.tool_choice, tools, names, out)
        body["parallel_tool_calls"] = req.parallel
    options = req.body
    for key in ("temperature", "top_p"):
        if options.get(key) is not None:
            body[key] = options[key]
    if options.get("max_output_tokens") is not None:
        body["max_completion_tokens"] = options["max_output_tokens"]
    effort = _nested(options, "reasoning", "effort")
    if effort:
        body["reasoning_effort"] = effort
    response_format = _response_format(_nested(options, "text", "format"))
    if response_format:
        body["response_format"] = response_format
    return body


def _nested(body: dict[str, Any], key: str, inner: str) -> Any:
    value = body.get(key)
    return value.get(inner) if isinstance(value, dict) else None


def chat_messages(builder: ConversationBuilder, names: ToolNames) -> list[dict[str, Any]]:
    """System text first, then the turns; a run of tool exchanges is one assistant message with its calls (joined to
    the assistant text just before it) followed by one tool message per result."""
    messages: list[dict[str, Any]] = []
    if builder.system:
        messages.append({"role": "system", "content": "\n\n".join(builder.system)})
    results: list[dict[str, Any]] = []
    for entry in builder.history():
        if isinstance(entry, Turn):
            messages += results
            results = []
            messages.append({"role": entry.role, "content": entry.text})
            continue
        call_id, exchange = entry
        if not results:
            last = messages[-1] if messages else {}
            if last.get("role") != "assistant" or last.get("tool_calls"):
                messages.append({"role": "assistant", "content": None})
            messages[-1]["tool_calls"] = []
        messages[-1]["tool_calls"].append(_tool_call(call_id, exchange, names))
        results.append({"role": "tool", "tool_call_id": call_id, "content": _result(exchange)})
    return messages + results


def _result(exchange: Exchange) -> str:
    """A chat tool message has no error flag, so a failed call's text says it failed."""
    if exchange.failed and not exchange.output.lower().startswith("error"):
        return f"Error: {exchange.output}"
    return exchange.output


def _tool_call(call_id: str, exchange: Exchange, names: ToolNames) -> dict[str, Any]:
    call = exchange.call
    function = {"name": names.name(call.origin, call.name), "arguments": wire.dumps(dict(call.arguments))}
    return {"id": call_id, "type": "function", "function": function}


def _function(spec: ToolSpec, names: ToolNames) -> dict[str, Any]:
    function: dict[str, Any] = {"name": names.name(spec.origin, spec.name)}
    if spec.description:
        function["description"] = spec.description
    function["parameters"] = dict(spec.parameters) or {"type": "object", "properties": {}}
    return {"type": "function", "function": function}


def _tool_choice(choice: Any, tools: tuple[ToolSpec, ...], names: ToolNames, out: Run) -> Any:
    """A forced choice holds until the response's first call, as OpenAI's does; ``_choose`` already narrowed the
    tools to the ones it names."""
    forced = choice == "required" or (
        isinstance(choice, dict) and (choice.get("type") != "allowed_tools" or choice.get("mode") == "required")
    )
    if not forced or any(i["type"] in _CALLS for i in out.items):
        return "auto"
    if len(tools) == 1 and isinstance(choice, dict) and choice.get("type") in ("function", "mcp"):
        return {"type": "function", "function": {"name": names.name(tools[0].origin, tools[0].name)}}
    return "required"


def _response_format(fmt: Any) -> dict[str, Any] | None:
    """The Responses API's ``text.format`` as chat's ``response_format``."""
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    return {"type": str(fmt["type"])}


def _move(completion: dict[str, Any], tools: tuple[ToolSpec, ...], names: ToolNames, upstream: Upstream) -> Move:
    message = completion["choices"][0]["message"]
    offered = {(t.origin, t.name) for t in tools}
    calls = []
    for tool_call in message.get("tool_calls") or []:
        function = (tool_call.get("function") if isinstance(tool_call, dict) else None) or {}
        name = str(function.get("name") or "")
        identity = names.identity(name)
        # A name the model was not offered now (a hallucination, a withdrawn tool) goes to the client, as OpenAI's
        # function calls do; the client reports it as an unknown tool.
        origin, tool = identity if identity is not None and identity in offered else ("", name)
        calls.append(Call(tool, _arguments(function.get("arguments"), name, upstream), origin))
    used = completion.get("usage") or {}
    return Move(
        Decision(tuple(calls), _text(message.get("content"))),
        int(used.get("prompt_tokens") or 0),
        int(used.get("completion_tokens") or 0),
        completion.get("model") or None,
    )


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts, from some servers
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _arguments(raw: Any, name: str, upstream: Upstream) -> dict[str, Any]:
    value = raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        value = {}
    elif isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, dict):
        raise APIError(
            f"The upstream {upstream.spec.host} called {name!r} with arguments that are not a JSON object: "
            f"{str(raw)[:200]}",
            code="upstream_invalid",
            status=502,
            kind="server_error",
        )
    return value
