"""``POST /v1/responses``: Response objects and their SSE event sequence, function tools and hosted ``mcp`` tools.

With hosted MCP tools one response holds the whole server-side loop: ``mcp_list_tools`` (unless the input already
has it), an ``mcp_call`` per call the model makes (with ``output`` or ``error``) and the final ``message``; or it
stops at an ``mcp_approval_request``, and the next request's ``mcp_approval_response`` lets the call run. A call
of a client-side function tool ends the response with a ``function_call`` item. Items from earlier turns in the
input are context, never re-run.

Who picks each next move is a ``Mover``: ``scripted`` asks the sandbox's policies (and counts usage with
tiktoken); the gateway (``sandbox.model.gateway``) asks an upstream chat-completions model. Everything else here,
the parsing, the loop, the items and the events, is the same for both.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from openai.types.responses.response_create_params import ResponseCreateParamsBase

from sandbox.model import usage, wire
from sandbox.model.errors import invalid, missing, wrong_type
from sandbox.model.hosted_mcp import HostedServer, McpServerConfig, parse_config
from sandbox.model.ids import CREATED, IdMaker, request_digest
from sandbox.model.policy import Call, ConversationBuilder, Decision, PlanRegistry, ToolSpec, decide

KNOWN = wire.known_parameters(ResponseCreateParamsBase)
_PARTS = ("input_text", "output_text", "text")
_UNSUPPORTED = {
    "previous_response_id": "The sandbox model keeps no stored responses; send the whole conversation in 'input'.",
    "conversation": "The sandbox model keeps no conversations; send the whole conversation in 'input'.",
    "prompt": "The sandbox model has no stored prompts; send 'instructions' and 'input'.",
}
MAX_HOSTED_CALLS = 16  # per response, unless 'max_tool_calls' says fewer
DECLINED = "The user declined this tool call."
_WORDS_PER_DELTA = 6


@dataclass
class ResponsesRequest:
    body: dict[str, Any]
    model: str
    stream: bool
    digest: str
    builder: ConversationBuilder
    functions: tuple[ToolSpec, ...]
    servers: tuple[McpServerConfig, ...]
    tool_choice: Any
    parallel: bool
    max_calls: int
    input_tokens: int
    listed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    approved: list[tuple[str, str, Call]] = field(default_factory=list)  # (approval id, server label, call)


# -- parsing ---------------------------------------------------------------------------------------------------


def parse(body: dict[str, Any]) -> ResponsesRequest:
    wire.check_known(body, KNOWN)
    for key, message in _UNSUPPORTED.items():
        if body.get(key):
            raise invalid(message, key, "unsupported_parameter")
    if body.get("background"):
        raise invalid("The sandbox model answers in the foreground only.", "background", "unsupported_value")
    model = wire.model_name(body)
    stream = body.get("stream", False)
    if not isinstance(stream, bool | None):
        raise wrong_type("stream", "a boolean")
    if body.get("stream_options") is not None and not stream:
        raise invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
    functions, servers = _tools(body.get("tools"))
    parallel = body.get("parallel_tool_calls", True)
    max_calls = body.get("max_tool_calls") or MAX_HOSTED_CALLS
    if not isinstance(parallel, bool | None) or not isinstance(max_calls, int) or max_calls < 1:
        raise invalid("Invalid 'parallel_tool_calls' or 'max_tool_calls'.", "max_tool_calls")
    req = ResponsesRequest(
        body,
        model,
        bool(stream),
        request_digest(body),
        ConversationBuilder(),
        functions,
        servers,
        body.get("tool_choice"),
        parallel is not False,
        min(max_calls, MAX_HOSTED_CALLS),
        0,
    )
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise wrong_type("instructions", "a string")
    req.builder.add_system(instructions or "")
    _input(req, body.get("input"))
    req.input_tokens = usage.count_messages([instructions or "", *_rendered(body.get("input"))]) + (
        usage.count_json(body["tools"]) if body.get("tools") else 0
    )
    return req


def _tools(tools: Any) -> tuple[tuple[ToolSpec, ...], tuple[McpServerConfig, ...]]:
    if tools is None:
        return (), ()
    if not isinstance(tools, list):
        raise wrong_type("tools", "an array")
    functions: list[ToolSpec] = []
    servers: list[McpServerConfig] = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function":
            name = wire.tool_name(tool.get("name"), f"tools[{i}].name")
            params = wire.parameters_schema(tool.get("parameters"), f"tools[{i}].parameters")
            functions.append(ToolSpec(name, str(tool.get("description") or ""), params))
        elif kind == "mcp":
            config = parse_config(tool, i)
            if any(s.label == config.label for s in servers):
                raise invalid(f"Duplicate MCP server_label {config.label!r}.", f"tools[{i}].server_label")
            servers.append(config)
        else:
            raise invalid(
                f"Invalid value: '{kind}'. Supported values are: 'function' and 'mcp' (the sandbox "
                "model runs no other tool types).",
                f"tools[{i}].type",
            )
    return tuple(functions), tuple(servers)


def _input(req: ResponsesRequest, value: Any) -> None:
    if value is None:
        raise missing("input")
    if isinstance(value, str):
        req.builder.add_text("user", value)
        return
    if not isinstance(value, list):
        raise wrong_type("input", "a string or an array of input items")
    items = [_item(v, i) for i, v in enumerate(value)]
    decisions = {
        i["approval_request_id"]: bool(i.get("approve")) for i in items if i.get("type") == "mcp_approval_response"
    }
    executed = {
        i["approval_request_id"]: i for i in items if i.get("type") == "mcp_call" and i.get("approval_request_id")
    }
    requested = {i["id"] for i in items if i.get("type") == "mcp_approval_request"}
    labels = {s.label for s in req.servers}
    for index, item in enumerate(items):
        _add_item(req, item, index, decisions, executed, requested, labels)
    function_calls = {i["call_id"] for i in items if i.get("type") == "function_call"}
    unanswered = [p for p in req.builder.pending() if p in function_calls]
    if unanswered:
        raise invalid(f"No tool output found for function call {unanswered[0]}.", "input")


def _item(value: Any, index: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid 'input[{index}]': expected an object.", f"input[{index}]", "invalid_type")
    return value


def _add_item(
    req: ResponsesRequest,
    item: dict[str, Any],
    index: int,
    decisions: dict[str, bool],
    executed: dict[str, dict[str, Any]],
    requested: set[str],
    labels: set[str],
) -> None:
    where = f"input[{index}]"
    kind = item.get("type", "message")
    builder = req.builder
    if kind == "message":
        _message(builder, item, where)
    elif kind == "function_call":
        call_id = _string(item, "call_id", where)
        name = wire.tool_name(item.get("name"), f"{where}.name")
        builder.add_call(call_id, Call(name, wire.arguments_of(item.get("arguments", ""), f"{where}.arguments")))
    elif kind == "function_call_output":
        call_id = _string(item, "call_id", where)
        if not builder.has_call(call_id):
            raise invalid(f"No tool call found for function call output with call_id {call_id}.", f"{where}.call_id")
        builder.add_result(call_id, wire.output_text(item.get("output"), f"{where}.output"))
    elif kind == "mcp_list_tools":
        req.listed[_string(item, "server_label", where)] = list(item.get("tools") or [])
    elif kind == "mcp_call":
        _mcp_call(builder, item, where, requested)
    elif kind == "mcp_approval_request":
        _approval_request(req, item, where, decisions, executed, labels)
    elif kind == "mcp_approval_response":
        if _string(item, "approval_request_id", where) not in requested:
            raise invalid(
                f"No MCP approval request found with id {item['approval_request_id']}.", f"{where}.approval_request_id"
            )
    elif kind == "item_reference":
        raise invalid(
            "The sandbox model keeps no stored items; send the item itself.", f"{where}.type", "unsupported_value"
        )
    elif kind != "reasoning":
        raise invalid(
            f"Invalid value: '{kind}'. Supported input item types are: 'message', 'function_call', "
            "'function_call_output', 'mcp_list_tools', 'mcp_call', 'mcp_approval_request', "
            "'mcp_approval_response' and 'reasoning'.",
            f"{where}.type",
        )


def _message(builder: ConversationBuilder, item: dict[str, Any], where: str) -> None:
    role = item.get("role")
    if role is None:
        raise missing(f"{where}.role")
    text = wire.text_of(item.get("content"), f"{where}.content", _PARTS)
    if role in ("system", "developer"):
        builder.add_system(text)
    elif role in ("user", "assistant"):
        builder.add_text(role, text)
    else:
        raise invalid(
            f"Invalid value: '{role}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
            f"{where}.role",
        )


def _mcp_call(builder: ConversationBuilder, item: dict[str, Any], where: str, requested: set[str]) -> None:
    if item.get("approval_request_id") in requested:
        return  # its result is attached to the approval request, where the call was asked for
    item_id = _string(item, "id", where)
    name = wire.tool_name(item.get("name"), f"{where}.name")
    arguments = wire.arguments_of(item.get("arguments", ""), f"{where}.arguments")
    builder.add_call(item_id, Call(name, arguments, str(item.get("server_label") or "")))
    error = item.get("error")
    builder.add_result(item_id, str(error) if error else str(item.get("output") or ""), failed=bool(error))


def _approval_request(
    req: ResponsesRequest,
    item: dict[str, Any],
    where: str,
    decisions: dict[str, bool],
    executed: dict[str, dict[str, Any]],
    labels: set[str],
) -> None:
    request_id = _string(item, "id", where)
    if request_id not in decisions and request_id not in executed:
        return  # never answered: the policy will ask again
    call = Call(
        wire.tool_name(item.get("name"), f"{where}.name"),
        wire.arguments_of(item.get("arguments", ""), f"{where}.arguments"),
        str(item.get("server_label") or ""),
    )
    req.builder.add_call(request_id, call)
    if request_id in executed:
        done = executed[request_id]
        error = done.get("error")
        req.builder.add_result(request_id, str(error) if error else str(done.get("output") or ""), bool(error))
    elif not decisions[request_id]:
        req.builder.add_result(request_id, DECLINED, failed=True)
    else:
        label = _string(item, "server_label", where)
        if label not in labels:
            raise invalid(
                f"The approval request {request_id} is for MCP server {label!r}, which is not among the "
                "request's tools.",
                f"{where}.server_label",
            )
        req.approved.append((request_id, label, call))


def _string(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise missing(f"{where}.{key}")
    return value


def _rendered(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [wire.dumps(v) for v in value] if isinstance(value, list) else []


# -- running -----------------------------------------------------------------------------------------------


@dataclass
class Run:
    items: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    model: str | None = None  # the model that answered, when it is not the one the request named


@dataclass(frozen=True)
class Move:
    """One next move and what it cost. Each call's ``origin`` names the MCP server it goes to ("" for a function
    tool, which ends the response)."""

    decision: Decision
    input_tokens: int
    output_tokens: int
    model: str | None = None


# The one thing that differs between the reference model and a gateway: who decides, given the request, the tools
# on offer now and the output so far.
Mover = Callable[[ResponsesRequest, tuple[ToolSpec, ...], Run], Awaitable[Move]]


def scripted(plans: PlanRegistry) -> Mover:
    """The sandbox's policies decide; usage is counted as OpenAI counts it."""

    async def move(req: ResponsesRequest, tools: tuple[ToolSpec, ...], out: Run) -> Move:
        decision = decide(req.builder.build(tools, req.parallel), req.model, plans)
        origins: dict[str, str] = {}
        for spec in tools:
            origins.setdefault(spec.name, spec.origin)
        calls = tuple(replace(c, origin=origins.get(c.name, "")) for c in decision.calls)
        spent = usage.count(decision.text) + sum(
            usage.count(c.name) + usage.count_json(dict(c.arguments)) for c in calls
        )
        prompt = req.input_tokens + sum(usage.count_json(i) for i in out.items)
        return Move(Decision(calls, decision.text), prompt, spent)

    return move


async def run(req: ResponsesRequest, mover: Mover) -> Run:
    """The response's output: hosted MCP work done here, the moves coming from ``mover``."""
    ids = IdMaker(req.digest)
    out = Run()
    servers = {c.label: HostedServer(c) for c in req.servers}
    hosted: list[ToolSpec] = []
    for config in req.servers:
        tools = req.listed.get(config.label)
        if tools is None:
            tools = await servers[config.label].list_tools()
            out.items.append(
                {
                    "id": ids.make("mcpl_"),
                    "type": "mcp_list_tools",
                    "server_label": config.label,
                    "tools": tools,
                    "error": None,
                }
            )
        hosted += [
            ToolSpec(str(t.get("name")), str(t.get("description") or ""), t.get("input_schema") or {}, config.label)
            for t in tools
            if isinstance(t, dict)
        ]
    for request_id, label, call in req.approved:
        await _execute(req, out, ids, servers[label], call, request_id, request_id)
    await _loop(req, out, ids, servers, _choose((*req.functions, *hosted), req.tool_choice), mover)
    return out


async def _loop(
    req: ResponsesRequest,
    out: Run,
    ids: IdMaker,
    servers: dict[str, HostedServer],
    offered: tuple[ToolSpec, ...],
    mover: Mover,
) -> None:
    calls_made = 0
    while True:
        # Past the cap the hosted tools are withdrawn, so the model has to answer (as max_tool_calls does).
        tools = offered if calls_made < req.max_calls else tuple(s for s in offered if not s.origin)
        move = await mover(req, tools, out)
        out.input_tokens += move.input_tokens
        out.output_tokens += move.output_tokens
        out.model = move.model or out.model
        decision = move.decision
        if decision.text or not decision.calls:
            out.items.append(_message_item(ids.make("msg_"), decision.text))
        if not decision.calls:
            return
        if decision.text:  # a model may say something before its calls; the next move must see it
            req.builder.add_text("assistant", decision.text)
        for call in decision.calls:
            if not call.origin:
                out.items.append(_function_call(ids, call))
                continue
            if servers[call.origin].config.needs_approval(call.name):
                out.items.append(
                    {
                        "id": ids.make("mcpr_"),
                        "type": "mcp_approval_request",
                        "server_label": call.origin,
                        "name": call.name,
                        "arguments": wire.dumps(dict(call.arguments)),
                    }
                )
                return
            call_id = ids.make("mcp_")
            req.builder.add_call(call_id, call)
            await _execute(req, out, ids, servers[call.origin], call, call_id, None)
            calls_made += 1
        if any(i["type"] == "function_call" for i in out.items):
            return


async def _execute(
    req: ResponsesRequest,
    out: Run,
    ids: IdMaker,
    server: HostedServer,
    call: Call,
    call_id: str,
    approval_id: str | None,
) -> None:
    output, error = await server.call(call.name, call.arguments)
    item: dict[str, Any] = {
        "id": call_id if approval_id is None else ids.make("mcp_"),
        "type": "mcp_call",
        "server_label": server.config.label,
        "name": call.name,
        "arguments": wire.dumps(dict(call.arguments)),
        "output": output,
        "error": error,
        "status": "failed" if error else "completed",
    }
    if approval_id is not None:
        item["approval_request_id"] = approval_id
    out.items.append(item)
    req.builder.add_result(call_id, error if error is not None else output or "", failed=error is not None)


def _choose(tools: tuple[ToolSpec, ...], choice: Any) -> tuple[ToolSpec, ...]:
    if choice in (None, "auto", "required"):
        return tools
    if choice == "none":
        return ()
    if isinstance(choice, dict) and choice.get("type") == "function":
        chosen = tuple(t for t in tools if t.name == choice.get("name") and not t.origin)
        if not chosen:
            raise invalid(
                f"Invalid value for 'tool_choice': no function named {choice.get('name')!r} in 'tools'.", "tool_choice"
            )
        return chosen
    if isinstance(choice, dict) and choice.get("type") == "mcp":
        return tuple(
            t for t in tools if t.origin == choice.get("server_label") and choice.get("name") in (None, t.name)
        )
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        names = {t.get("name") for t in choice.get("tools") or [] if isinstance(t, dict)}
        return tuple(t for t in tools if t.name in names)
    raise invalid("Invalid value for 'tool_choice': expected 'none', 'auto', 'required', or a tool.", "tool_choice")


def _message_item(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def _function_call(ids: IdMaker, call: Call) -> dict[str, Any]:
    return {
        "id": ids.make("fc_"),
        "type": "function_call",
        "status": "completed",
        "call_id": ids.make("call_"),
        "name": call.name,
        "arguments": wire.dumps(dict(call.arguments)),
    }


# -- the Response object and its events ------------------------------------------------------------------------


def response_object(req: ResponsesRequest, out: Run) -> dict[str, Any]:
    body = req.body
    ids = IdMaker(req.digest)
    return {
        "id": ids.make("resp_"),
        "object": "response",
        "created_at": CREATED,
        "status": "completed",
        "background": False,
        "completed_at": CREATED,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": out.model or req.model,
        "output": out.items,
        "parallel_tool_calls": req.parallel,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": req.tool_choice or "auto",
        "tools": [_echo_tool(t) for t in body.get("tools") or []],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "usage": {
            "input_tokens": out.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": out.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": out.input_tokens + out.output_tokens,
        },
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """The tools as given, minus MCP credentials: the server never sends a secret back."""
    if tool.get("type") != "mcp":
        return {"strict": True, **tool} if tool.get("type") == "function" else tool
    return {k: v for k, v in tool.items() if k not in ("headers", "authorization")}


def events(response: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """OpenAI's full event sequence for a finished response."""
    seq = iter(range(1 << 30))
    pending = {**response, "status": "in_progress", "completed_at": None, "output": [], "usage": None}
    yield {"type": "response.created", "sequence_number": next(seq), "response": pending}
    yield {"type": "response.in_progress", "sequence_number": next(seq), "response": pending}
    for index, item in enumerate(response["output"]):
        for event in _item_events(item, index):
            yield {**event, "sequence_number": next(seq)}
    yield {"type": "response.completed", "sequence_number": next(seq), "response": response}


def _item_events(item: dict[str, Any], index: int) -> Iterator[dict[str, Any]]:
    at = {"output_index": index}
    ref = {"item_id": item["id"], **at}
    kind = item["type"]
    if kind == "message":
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield {"type": "response.output_item.added", **at, "item": {**item, "status": "in_progress", "content": []}}
        yield {"type": "response.content_part.added", **ref, "content_index": 0, "part": part}
        for delta in _deltas(text):
            yield {"type": "response.output_text.delta", **ref, "content_index": 0, "delta": delta, "logprobs": []}
        yield {"type": "response.output_text.done", **ref, "content_index": 0, "text": text, "logprobs": []}
        yield {"type": "response.content_part.done", **ref, "content_index": 0, "part": {**part, "text": text}}
    elif kind == "function_call":
        yield {"type": "response.output_item.added", **at, "item": {**item, "status": "in_progress", "arguments": ""}}
        yield {"type": "response.function_call_arguments.delta", **ref, "delta": item["arguments"]}
        yield {"type": "response.function_call_arguments.done", **ref, "arguments": item["arguments"]}
    elif kind == "mcp_list_tools":
        yield {"type": "response.output_item.added", **at, "item": {**item, "tools": []}}
        yield {"type": "response.mcp_list_tools.in_progress", **ref}
        yield {"type": "response.mcp_list_tools.completed", **ref}
    elif kind == "mcp_call":
        yield {
            "type": "response.output_item.added",
            **at,
            "item": {**item, "status": "in_progress", "arguments": "", "output": None, "error": None},
        }
        yield {"type": "response.mcp_call_arguments.delta", **ref, "delta": item["arguments"]}
        yield {"type": "response.mcp_call_arguments.done", **ref, "arguments": item["arguments"]}
        yield {"type": "response.mcp_call.in_progress", **ref}
        yield {"type": "response.mcp_call.failed" if item["error"] else "response.mcp_call.completed", **ref}
    else:
        yield {"type": "response.output_item.added", **at, "item": item}
    yield {"type": "response.output_item.done", **at, "item": item}


def _deltas(text: str) -> list[str]:
    words = re.findall(r"\s*\S+|\s+$", text)
    return ["".join(words[i : i + _WORDS_PER_DELTA]) for i in range(0, len(words), _WORDS_PER_DELTA)]
