"""Bad requests get OpenAI's error envelope with status 400 and a message naming the problem, never a crash."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox import Sandbox

USER = {"role": "user", "content": "hi"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
CHAT: list[tuple[str, Any, str, str | None]] = [
    ("malformed JSON", b'{"model": "m", "messages": [', "could not parse the JSON body", None),
    ("not an object", [1, 2], "must be a JSON object", None),
    ("unknown field", {"model": "m", "messages": [USER], "temperture": 0}, "temperture", "temperture"),
    ("no model", {"messages": [USER]}, "'model'", "model"),
    ("no messages", {"model": "m"}, "'messages'", "messages"),
    ("empty messages", {"model": "m", "messages": []}, "non-empty", "messages"),
    ("unknown role", {"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "'robot'", "messages[0].role"),
    (
        "tool before any call",
        {"model": "m", "messages": [USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}]},
        "must be a response to a preceding message with 'tool_calls'",
        "messages[1].role",
    ),
    (
        "call left unanswered",
        {"model": "m", "messages": [USER, {"role": "assistant", "tool_calls": [CALL]}, USER]},
        "did not have response messages: call_1",
        "messages[2].role",
    ),
    (
        "unknown tool type",
        {"model": "m", "messages": [USER], "tools": [{"type": "web_search"}]},
        "'web_search'",
        "tools[0].type",
    ),
    (
        "bad tool name",
        {"model": "m", "messages": [USER], "tools": [{"type": "function", "function": {"name": "has space"}}]},
        "does not match pattern",
        "tools[0].function.name",
    ),
    (
        "arguments not JSON",
        {
            "model": "m",
            "messages": [
                USER,
                {"role": "assistant", "tool_calls": [{**CALL, "function": {"name": "f", "arguments": "{oops"}}]},
            ],
        },
        "not valid JSON",
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        "stream_options without stream",
        {"model": "m", "messages": [USER], "stream_options": {"include_usage": True}},
        "only allowed when 'stream' is enabled",
        "stream_options",
    ),
    ("several choices", {"model": "m", "messages": [USER], "n": 2}, "'n' must be 1", "n"),
    (
        "tool_choice names a missing function",
        {"model": "m", "messages": [USER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
        "no function named 'nope'",
        "tool_choice",
    ),
    (
        "image content",
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
        "text parts only",
        "messages[0].content[0].type",
    ),
]
RESPONSES: list[tuple[str, Any, str, str | None]] = [
    ("unknown field", {"model": "m", "input": "hi", "foo": 1}, "foo", "foo"),
    ("no input", {"model": "m"}, "'input'", "input"),
    ("unknown item type", {"model": "m", "input": [{"type": "teleport"}]}, "'teleport'", "input[0].type"),
    (
        "output without its call",
        {"model": "m", "input": [USER, {"type": "function_call_output", "call_id": "c9", "output": "x"}]},
        "call_id c9",
        "input[1].call_id",
    ),
    (
        "call without output",
        {"model": "m", "input": [USER, {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}]},
        "No tool output found",
        "input",
    ),
    (
        "approval for nothing",
        {
            "model": "m",
            "input": [USER, {"type": "mcp_approval_response", "approval_request_id": "mcpr_x", "approve": True}],
        },
        "mcpr_x",
        "input[1].approval_request_id",
    ),
    (
        "hosted tool type",
        {"model": "m", "input": "hi", "tools": [{"type": "file_search"}]},
        "'file_search'",
        "tools[0].type",
    ),
    (
        "mcp without a url",
        {"model": "m", "input": "hi", "tools": [{"type": "mcp", "server_label": "x"}]},
        "'tools[0].server_url'",
        "tools[0].server_url",
    ),
    (
        "mcp off this machine",
        {
            "model": "m",
            "input": "hi",
            "tools": [{"type": "mcp", "server_label": "x", "server_url": "https://mcp.example.com/mcp"}],
        },
        "only reaches MCP servers on this machine",
        "tools[0].server_url",
    ),
    (
        "mcp unknown key",
        {
            "model": "m",
            "input": "hi",
            "tools": [{"type": "mcp", "server_label": "x", "server_url": "http://127.0.0.1:1/mcp", "colour": "red"}],
        },
        "tools[0].colour",
        "tools[0].colour",
    ),
    (
        "stored state",
        {"model": "m", "input": "hi", "previous_response_id": "resp_1"},
        "keeps no stored responses",
        "previous_response_id",
    ),
]


def _post(sb: Sandbox, path: str, body: Any) -> httpx.Response:
    url = f"{sb.urls['model_api']}/{path}"
    headers = {"Authorization": "Bearer sandbox-model-key"}
    if isinstance(body, bytes):
        return httpx.post(url, content=body, headers=headers, trust_env=False)
    return httpx.post(url, json=body, headers=headers, trust_env=False)


def _check(response: httpx.Response, fragment: str, param: str | None) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert fragment in error["message"], error["message"]
    assert error["param"] == param


@pytest.mark.parametrize(("case", "body", "fragment", "param"), CHAT, ids=[c[0] for c in CHAT])
def test_chat_rejects(sandbox: Sandbox, case: str, body: Any, fragment: str, param: str | None) -> None:
    _check(_post(sandbox, "chat/completions", body), fragment, param)


@pytest.mark.parametrize(("case", "body", "fragment", "param"), RESPONSES, ids=[c[0] for c in RESPONSES])
def test_responses_rejects(sandbox: Sandbox, case: str, body: Any, fragment: str, param: str | None) -> None:
    _check(_post(sandbox, "responses", body), fragment, param)


def test_a_valid_request_next_to_them_passes(sandbox: Sandbox) -> None:
    assert _post(sandbox, "chat/completions", {"model": "m", "messages": [USER]}).status_code == 200
    assert _post(sandbox, "responses", {"model": "m", "input": "hi"}).status_code == 200
