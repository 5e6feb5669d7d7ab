"""The OpenAI-compatible API over HTTP, with the real ``openai`` client: both APIs, streaming and not, tools,
``tool_choice``, parallel calls, usage, deterministic ids, the admin plan routes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openai import OpenAI
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from sandbox import Sandbox
from sandbox.model import POLICY_NAMES

READ_FILE = {
    "type": "object",
    "required": ["workspace", "repo_slug", "commit", "path"],
    "properties": {
        "workspace": {"type": "string"},
        "repo_slug": {"type": "string"},
        "commit": {"type": "string"},
        "path": {"type": "string"},
    },
}
CHAT_TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "BITBUCKET_GET_FILE_FROM_REPOSITORY",
            "description": "Get a file",
            "parameters": READ_FILE,
        },
    }
]
RESPONSES_TOOLS: Any = [
    {
        "type": "function",
        "name": "BITBUCKET_GET_FILE_FROM_REPOSITORY",
        "description": "Get a file",
        "parameters": READ_FILE,
    }
]
README_RESULT = json.dumps(
    {"data": {"commit": "main", "path": "README.md", "data": "# Widgets\n"}, "error": None, "successful": True}
)
ASK = "show me the README of acme/widgets"
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def test_models_lists_the_policies_and_serves_any_name(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == list(POLICY_NAMES)
    assert client.models.retrieve("gpt-5").id == "gpt-5"


def test_chat_calls_a_tool_then_answers_from_its_result(client: OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": ASK}]
    first = client.chat.completions.create(model="gpt-5", messages=messages, tools=CHAT_TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and json.loads(call.function.arguments) == {
        "workspace": "acme",
        "repo_slug": "widgets",
        "commit": "main",
        "path": "README.md",
    }
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": README_RESULT},
    ]
    second = client.chat.completions.create(model="gpt-5", messages=messages, tools=CHAT_TOOLS)
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "Here is `README.md` from acme/widgets at `main`:\n\n# Widgets"
    usage = second.usage
    assert usage is not None and usage.prompt_tokens > first.usage.prompt_tokens > 0  # type: ignore[union-attr]
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens and usage.completion_tokens > 0


def test_chat_stream_matches_the_plain_answer(client: OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": ASK}]
    plain = client.chat.completions.create(model="gpt-5", messages=messages, tools=CHAT_TOOLS)
    chunks = list(
        client.chat.completions.create(
            model="gpt-5", messages=messages, tools=CHAT_TOOLS, stream=True, stream_options={"include_usage": True}
        )
    )
    assert {c.id for c in chunks} == {plain.id}
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert deltas[0].id == plain.choices[0].message.tool_calls[0].id  # type: ignore[index]
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert arguments == plain.choices[0].message.tool_calls[0].function.arguments  # type: ignore[index, union-attr]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage == plain.usage
    no_usage = list(client.chat.completions.create(model="gpt-5", messages=messages, tools=CHAT_TOOLS, stream=True))
    assert all(c.usage is None and c.choices for c in no_usage)


def test_chat_stream_text_arrives_in_pieces(sandbox: Sandbox) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "what can you do?"}]}
    raw = httpx.post(
        f"{sandbox.urls['model_api']}/chat/completions",
        json=body,
        headers={"Authorization": "Bearer k"},
        trust_env=False,
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    lines = [line for line in raw.text.split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    pieces = [json.loads(line[6:])["choices"][0]["delta"].get("content") for line in lines[:-1]]
    assert len([p for p in pieces if p]) > 2
    assert "".join(p or "" for p in pieces).startswith("I can help with Bitbucket")


def test_parallel_tool_calls_and_their_switch(client: OpenAI) -> None:
    ask = "show me the README of acme/widgets; show me the README of acme/gadgets"
    together = client.chat.completions.create(model="m", messages=[{"role": "user", "content": ask}], tools=CHAT_TOOLS)
    calls = together.choices[0].message.tool_calls or []
    assert [json.loads(c.function.arguments)["repo_slug"] for c in calls] == ["widgets", "gadgets"]  # type: ignore[union-attr]
    assert len({c.id for c in calls}) == 2
    one = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": ask}], tools=CHAT_TOOLS, parallel_tool_calls=False
    )
    assert len(one.choices[0].message.tool_calls or []) == 1


def test_tool_choice_none_and_a_named_function(client: OpenAI) -> None:
    none = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": ASK}], tools=CHAT_TOOLS, tool_choice="none"
    )
    assert none.choices[0].message.tool_calls is None
    assert "None of the tools available to me" in (none.choices[0].message.content or "")
    named = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": ASK}],
        tools=CHAT_TOOLS,
        tool_choice={"type": "function", "function": {"name": "BITBUCKET_GET_FILE_FROM_REPOSITORY"}},
    )
    assert named.choices[0].message.tool_calls


def test_the_same_request_gets_the_same_bytes(sandbox: Sandbox) -> None:
    url = f"{sandbox.urls['model_api']}/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": ASK}], "tools": CHAT_TOOLS}

    def post(payload: dict[str, Any]) -> bytes:
        return httpx.post(url, json=payload, headers={"Authorization": "Bearer any"}, trust_env=False).content

    first = post(body)
    assert post(body) == first
    other = json.loads(post({**body, "messages": [{"role": "user", "content": ASK + " please"}]}))
    assert other["id"] != json.loads(first)["id"]
    assert (
        other["choices"][0]["message"]["tool_calls"][0]["id"]
        != json.loads(first)["choices"][0]["message"]["tool_calls"][0]["id"]
    )


def test_responses_function_call_round_trip(client: OpenAI) -> None:
    first = client.responses.create(model="m", input=ASK, tools=RESPONSES_TOOLS, instructions="Be brief.")
    Response.model_validate(first.model_dump())
    (call,) = first.output
    assert call.type == "function_call" and call.status == "completed"
    follow: Any = [
        {"role": "user", "content": ASK},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": README_RESULT},
    ]
    second = client.responses.create(model="m", input=follow, tools=RESPONSES_TOOLS)
    assert second.output_text.endswith("# Widgets") and second.status == "completed"
    assert second.usage and second.usage.input_tokens > 0 and second.usage.output_tokens > 0
    assert second.usage.total_tokens == second.usage.input_tokens + second.usage.output_tokens


def test_responses_stream_is_the_full_event_sequence(client: OpenAI) -> None:
    plain = client.responses.create(model="m", input="what can you do?")
    with client.responses.create(model="m", input="what can you do?", stream=True) as stream:
        events = [EVENTS.validate_python(e.model_dump()) for e in stream]
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == plain.output_text and kinds.count("response.output_text.delta") > 1
    assert events[-1].response.model_dump() == plain.model_dump()


def test_responses_stream_of_a_function_call(client: OpenAI) -> None:
    with client.responses.create(model="m", input=ASK, tools=RESPONSES_TOOLS, stream=True) as stream:
        kinds = [EVENTS.validate_python(e.model_dump()).type for e in stream]
    assert kinds[2:-1] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]


def test_an_api_key_is_required(sandbox: Sandbox) -> None:
    response = httpx.get(f"{sandbox.urls['model_api']}/models", trust_env=False)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("You didn't provide an API key")


def test_plans_are_registered_listed_used_and_forgotten(sandbox: Sandbox, client: OpenAI) -> None:
    sandbox.register_plans(
        [
            {
                "message": "Run the release checklist",
                "steps": [
                    {"intent": "read_file", "workspace": "acme", "repo": "widgets", "path": "docs/guide.md"},
                    {"intent": "say", "text": "Checklist done."},
                ],
            }
        ]
    )
    assert [p["message"] for p in sandbox.admin.get("/model/plans").json()["plans"]] == ["Run the release checklist"]
    first = client.responses.create(model="m", input="run the release checklist", tools=RESPONSES_TOOLS)
    call: Any = first.output[0]
    assert json.loads(call.arguments)["path"] == "docs/guide.md"
    bad = sandbox.admin.post("/model/plans", content="plans:\n  - message: x\n    steps: [{intent: fly}]\n")
    assert bad.status_code == 400 and "request body:3" in bad.json()["error"]
    assert sandbox.admin.delete("/model/plans").json() == {"plans": []}
    unplanned = client.responses.create(model="m", input="run the release checklist", tools=RESPONSES_TOOLS)
    assert unplanned.output[0].type == "message"


@pytest.mark.parametrize("path", ["/v1/nothing", "/v1/chat/completions/extra"])
def test_unknown_routes_answer_in_the_envelope(sandbox: Sandbox, path: str) -> None:
    origin = sandbox.urls["model_api"].removesuffix("/v1")
    response = httpx.post(f"{origin}{path}", headers={"Authorization": "Bearer k"}, trust_env=False)
    assert response.status_code == 404 and set(response.json()["error"]) == {"message", "type", "param", "code"}
