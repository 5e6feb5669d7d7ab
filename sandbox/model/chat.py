"""``POST /v1/chat/completions``: JSON or SSE chunks, function tools, ``tool_choice``, parallel tool calls.

``tool_choice``: ``"none"`` hides the tools from the policy, a named function (or ``allowed_tools``) narrows them,
``"required"`` is served like ``"auto"`` (the policy answers in text when it has nothing left to call). One choice
per request (``n`` must be 1). With ``stream_options.include_usage`` every chunk carries ``usage: null`` and a last
chunk with no choices carries the usage, as OpenAI's do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from openai.types.chat.completion_create_params import CompletionCreateParamsBase

from sandbox.model import usage, wire
from sandbox.model.errors import APIError, invalid, missing, wrong_type
from sandbox.model.ids import CREATED, IdMaker, request_digest
from sandbox.model.policy import Call, Conversation, ConversationBuilder, Decision, ToolSpec

KNOWN = wire.known_parameters(CompletionCreateParamsBase)
_TEXT_PARTS = ("text",)
_WORDS_PER_CHUNK = 6
_ARGUMENT_CHUNK = 48


@dataclass(frozen=True)
class ChatRequest:
    model: str
    conversation: Conversation
    stream: bool
    include_usage: bool
    prompt_tokens: int
    digest: str


def parse(body: dict[str, Any]) -> ChatRequest:
    wire.check_known(body, KNOWN)
    model = wire.model_name(body)
    stream, include_usage = wire.stream_flags(body)
    if body.get("n") not in (None, 1):
        raise invalid("The sandbox model returns one choice; 'n' must be 1.", "n", "unsupported_value")
    messages = body.get("messages")
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("Invalid 'messages': expected a non-empty array of messages.", "messages", "invalid_type")
    tools = _tools(body.get("tools"))
    offered = _choose(tools, body.get("tool_choice"))
    parallel = body.get("parallel_tool_calls", True)
    if not isinstance(parallel, bool | None):
        raise wrong_type("parallel_tool_calls", "a boolean")
    builder, rendered = _messages(messages)
    conv = builder.build(offered, parallel is not False)
    prompt = usage.count_messages(rendered) + (usage.count_json(body["tools"]) if tools else 0)
    return ChatRequest(model, conv, stream, include_usage, prompt, request_digest(body))


def _messages(messages: list[Any]) -> tuple[ConversationBuilder, list[str]]:
    builder = ConversationBuilder()
    rendered: list[str] = []
    open_calls: list[str] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise invalid(f"Invalid '{where}': expected an object.", where, "invalid_type")
        role = message.get("role")
        if role is None:
            raise missing(f"{where}.role")
        if role != "tool" and open_calls:
            raise _unanswered(open_calls, i)
        if role in ("system", "developer"):
            builder.add_system(wire.text_of(message.get("content"), f"{where}.content", _TEXT_PARTS))
        elif role == "user":
            if "content" not in message:
                raise missing(f"{where}.content")
            builder.add_text("user", wire.text_of(message["content"], f"{where}.content", _TEXT_PARTS))
        elif role == "assistant":
            open_calls = _assistant(builder, message, where)
        elif role == "tool":
            _tool_result(builder, message, where, open_calls)
        else:
            raise invalid(
                f"Invalid value: '{role}'. Supported values are: 'system', 'developer', 'user', "
                "'assistant', and 'tool'.",
                f"{where}.role",
            )
        rendered.append(_render(message))
    if open_calls:
        raise _unanswered(open_calls, len(messages) - 1)
    return builder, rendered


def _assistant(builder: ConversationBuilder, message: dict[str, Any], where: str) -> list[str]:
    text = wire.text_of(message.get("content"), f"{where}.content", ("text", "output_text"))
    if text:
        builder.add_text("assistant", text)
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise wrong_type(f"{where}.tool_calls", "an array")
    ids = []
    for j, call in enumerate(calls):
        param = f"{where}.tool_calls[{j}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(call.get("id"), str):
            raise invalid(f"Invalid '{param}': expected an object with 'id' and 'function'.", param)
        if call.get("type", "function") != "function":
            raise invalid(f"Invalid value: '{call.get('type')}'. Supported values are: 'function'.", f"{param}.type")
        name = wire.tool_name(function.get("name"), f"{param}.function.name")
        args = wire.arguments_of(function.get("arguments", ""), f"{param}.function.arguments")
        builder.add_call(call["id"], Call(name, args))
        ids.append(call["id"])
    return ids


def _tool_result(builder: ConversationBuilder, message: dict[str, Any], where: str, open_calls: list[str]) -> None:
    call_id = message.get("tool_call_id")
    if call_id is None:
        raise missing(f"{where}.tool_call_id")
    if call_id not in open_calls:
        raise invalid(
            "Invalid parameter: messages with role 'tool' must be a response to a preceding message with "
            f"'tool_calls' (no open tool call has the id {call_id!r}).",
            f"{where}.role",
        )
    open_calls.remove(call_id)
    builder.add_result(call_id, wire.text_of(message.get("content"), f"{where}.content", _TEXT_PARTS))


def _unanswered(open_calls: list[str], index: int) -> APIError:
    return invalid(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        "'tool_call_id'. The following tool_call_ids did not have response messages: "
        f"{', '.join(open_calls)}",
        f"messages[{index}].role",
    )


def _render(message: dict[str, Any]) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else wire.dumps(content) if content else ""
    calls = message.get("tool_calls")
    return f"{message.get('role')}\n{text}" + (wire.dumps(calls) if calls else "")


def _tools(tools: Any) -> tuple[ToolSpec, ...]:
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise wrong_type("tools", "an array")
    specs = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            raise invalid(
                f"Invalid value: '{kind}'. Supported values are: 'function' (the sandbox model does not "
                "run custom tools).",
                f"tools[{i}].type",
            )
        function = tool.get("function")
        if not isinstance(function, dict):
            raise missing(f"tools[{i}].function")
        name = wire.tool_name(function.get("name"), f"tools[{i}].function.name")
        params = wire.parameters_schema(function.get("parameters"), f"tools[{i}].function.parameters")
        specs.append(ToolSpec(name, str(function.get("description") or ""), params))
    return tuple(specs)


def _choose(tools: tuple[ToolSpec, ...], choice: Any) -> tuple[ToolSpec, ...]:
    """The tools the policy may use under ``tool_choice``."""
    if choice in (None, "auto", "required"):
        return tools
    if choice == "none":
        return ()
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        chosen = tuple(t for t in tools if t.name == name)
        if not chosen:
            raise invalid(
                f"Invalid value for 'tool_choice': no function named {name!r} was given in 'tools'.", "tool_choice"
            )
        return chosen
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = (choice.get("allowed_tools") or {}).get("tools") or []
        names = {(t.get("function") or {}).get("name") for t in allowed if isinstance(t, dict)}
        return tuple(t for t in tools if t.name in names)
    raise invalid("Invalid value for 'tool_choice': expected 'none', 'auto', 'required', or a function.", "tool_choice")


# -- responses ---------------------------------------------------------------------------------------------


def _fingerprint() -> str:
    return f"fp_{usage.encoding_name().replace('-', '_')}"


def _tool_calls(decision: Decision, ids: IdMaker) -> list[dict[str, Any]]:
    return [
        {
            "id": ids.make("call_"),
            "type": "function",
            "function": {"name": c.name, "arguments": wire.dumps(dict(c.arguments))},
        }
        for c in decision.calls
    ]


def _usage(req: ChatRequest, decision: Decision, calls: list[dict[str, Any]]) -> dict[str, Any]:
    completion = (
        usage.count(decision.text)
        if not calls
        else sum(usage.count(c["function"]["name"]) + usage.count(c["function"]["arguments"]) + 3 for c in calls)
    )
    return {
        "prompt_tokens": req.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": req.prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion(req: ChatRequest, decision: Decision) -> dict[str, Any]:
    ids = IdMaker(req.digest)
    calls = _tool_calls(decision, ids)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if calls else decision.text,
        "refusal": None,
        "annotations": [],
    }
    if calls:
        message["tool_calls"] = calls
    return {
        "id": ids.make("chatcmpl-"),
        "object": "chat.completion",
        "created": CREATED,
        "model": req.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls" if calls else "stop"}
        ],
        "usage": _usage(req, decision, calls),
        "service_tier": "default",
        "system_fingerprint": _fingerprint(),
    }


def chunks(completion: dict[str, Any], include_usage: bool) -> Iterator[dict[str, Any]]:
    """Any chat completion (this server's, or an upstream's) as OpenAI's SSE chunks, in OpenAI's order: the role,
    the content, the tool calls (each one's id and name, then its arguments in pieces), the finish reason, and the
    usage last when asked for."""
    head = {
        "id": completion.get("id") or "chatcmpl-emulated",
        "object": "chat.completion.chunk",
        "created": completion.get("created") or CREATED,
        "model": completion.get("model") or "",
        **{k: completion[k] for k in ("service_tier", "system_fingerprint") if completion.get(k) is not None},
    }
    extra = {"usage": None} if include_usage else {}

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**head, "choices": [choice], **extra}

    for choice in completion.get("choices") or []:
        index = choice.get("index", 0)
        message = choice.get("message") or {}
        text = message.get("content") or ""
        calls = message.get("tool_calls") or []
        yield chunk(index, {"role": "assistant", "content": None if calls and not text else "", "refusal": None})
        for piece in _words(text):
            yield chunk(index, {"content": piece})
        for position, call in enumerate(calls):
            function = call.get("function") or {}
            opening = {"name": function.get("name") or "", "arguments": ""}
            yield chunk(
                index,
                {"tool_calls": [{"index": position, "id": call.get("id"), "type": "function", "function": opening}]},
            )
            for piece in _pieces(function.get("arguments") or "", _ARGUMENT_CHUNK):
                yield chunk(index, {"tool_calls": [{"index": position, "function": {"arguments": piece}}]})
        yield chunk(index, {}, choice.get("finish_reason") or ("tool_calls" if calls else "stop"))
    if include_usage and completion.get("usage") is not None:
        yield {**head, "choices": [], "usage": completion["usage"]}


def _words(text: str) -> list[str]:
    words = re.findall(r"\s*\S+|\s+$", text)
    return ["".join(words[i : i + _WORDS_PER_CHUNK]) for i in range(0, len(words), _WORDS_PER_CHUNK)]


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
