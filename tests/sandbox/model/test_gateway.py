"""The gateway in front of a chat server it has never seen (the tests' own scripted one): what it sends upstream,
what it makes of the answers, how it fails, and how gateways are registered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import OpenAI
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from sandbox import Sandbox, SandboxError
from sandbox.model.gateway import ToolNames
from tests.sandbox.model.drivers import rovo_path
from tests.sandbox.model.scripted_chat import Answer, ScriptedChat, completion, free_port, serve

KEY = "sk-fake-caller-key"
ASK = "show me the README of acme/widgets"
README_ARGS = {
    "workspaceId": "acme",
    "repoId": "widgets",
    "referenceOrSha": "main",
    "path": "README.md",
    "action": "files.get",
}
WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedChat]:
    yield from serve()


@pytest.fixture
def upstream(scripted: ScriptedChat) -> ScriptedChat:
    scripted.script()
    return scripted


def rovo_tool(sb: Sandbox, label: str = "rovo", token: str = "full", approval: Any = "never") -> Any:
    path = rovo_path(sb, token)
    return {
        "type": "mcp",
        "server_label": label,
        "server_url": path.url,
        "headers": path.headers,
        "require_approval": approval,
    }


def client_for(base_url: str, **headers: str) -> OpenAI:
    return OpenAI(base_url=base_url, api_key=KEY, max_retries=0, default_headers=headers)


# -- the Responses loop ------------------------------------------------------------------------------------------


def test_the_loop_runs_mcp_feeds_results_back_and_sums_the_upstreams_usage(
    sandbox: Sandbox, upstream: ScriptedChat
) -> None:
    upstream.script(
        Answer(completion(calls=[("bitbucketRepoContent", README_ARGS)], usage=(100, 10))),
        Answer(completion("The README says: run make test.", usage=(200, 20), model="served-model-2026")),
    )
    base = sandbox.register_gateway("scripted", upstream.base_url, model="served-model")
    tool = rovo_tool(sandbox)
    with client_for(base, **{"X-Caller-Secret": "not-for-upstream"}) as client:
        response = client.responses.create(model="asked-model", instructions="Be brief.", input=ASK, tools=[tool])
    assert [o.type for o in response.output] == ["mcp_list_tools", "mcp_call", "message"]
    call: Any = response.output[1]
    assert (call.server_label, call.name, call.error) == ("rovo", "bitbucketRepoContent", None)
    assert "# Widgets" in call.output
    assert response.output_text == "The README says: run make test."
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (300, 30, 330)
    assert response.model == "served-model-2026"  # the upstream's word for the model that answered

    first, second = upstream.received
    assert [r.path for r in upstream.received] == ["/v1/chat/completions"] * 2
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in upstream.received)  # forwarded unchanged
    assert not any("x-caller-secret" in r.headers for r in upstream.received)  # and nothing else of the caller's
    assert tool["headers"]["Authorization"] not in json.dumps([r.body for r in upstream.received])  # MCP keys stay
    assert first.body["model"] == "served-model" and first.body["stream"] is False
    assert first.body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": ASK}]
    offered = [t["function"]["name"] for t in first.body["tools"]]
    assert "bitbucketRepoContent" in offered and len(offered) == len(response.output[0].tools)  # type: ignore[union-attr]
    assistant, result = second.body["messages"][2:]
    (tool_call,) = assistant["tool_calls"]
    assert tool_call["function"] == {
        "name": "bitbucketRepoContent",
        "arguments": json.dumps(README_ARGS, separators=(",", ":")),
    }
    assert result == {"role": "tool", "tool_call_id": tool_call["id"], "content": call.output}


def test_tool_names_survive_round_trips_across_two_servers(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    tools = [rovo_tool(sandbox), rovo_tool(sandbox, label="rovo_ro", token="read-only")]
    upstream.script(
        Answer(completion(calls=[("rovo_ro__bitbucketRepoContent", README_ARGS)])),
        Answer(completion("Here it is.")),
        Answer(completion("You're welcome.")),
    )
    base = sandbox.register_gateway("scripted", upstream.base_url)
    with client_for(base) as client:
        first = client.responses.create(model="m", input=ASK, tools=tools)
        offered = {t["function"]["name"] for t in upstream.bodies[0]["tools"]}
        assert {"rovo__bitbucketRepoContent", "rovo_ro__bitbucketRepoContent"} <= offered
        assert "bitbucketRepoContent" not in offered  # ambiguous names are never offered bare
        kinds = [(o.type, getattr(o, "server_label", None)) for o in first.output]
        assert kinds == [
            ("mcp_list_tools", "rovo"),
            ("mcp_list_tools", "rovo_ro"),
            ("mcp_call", "rovo_ro"),
            ("message", None),
        ]
        call: Any = first.output[2]
        assert call.name == "bitbucketRepoContent" and "# Widgets" in call.output

        history: Any = [{"role": "user", "content": ASK}, *(o.model_dump(exclude_none=True) for o in first.output)]
        client.responses.create(model="m", input=[*history, {"role": "user", "content": "thanks"}], tools=tools)
    replayed = upstream.bodies[2]["messages"]
    assert [c["function"]["name"] for m in replayed for c in m.get("tool_calls", [])] == [
        "rovo_ro__bitbucketRepoContent"
    ]
    assert [m["role"] for m in replayed] == ["user", "assistant", "tool", "assistant", "user"]


def test_tool_names_are_unique_fit_openais_pattern_and_map_back() -> None:
    identities = [("", "search"), ("a", "search"), ("b", "search"), ("b", "x" * 80), ("c", "get.file"), ("a", "other")]
    names = ToolNames(identities)
    given = [names.name(*i) for i in identities]
    assert given[:3] == ["search", "a__search", "b__search"] and given[5] == "other"
    assert len(set(given)) == len(given)
    assert all(len(n) <= 64 and n.replace("_", "").replace("-", "").isalnum() for n in given)
    assert [names.identity(n) for n in given] == identities
    assert names.identity("search_unknown") is None


def test_a_client_function_call_ends_the_response_and_its_output_goes_upstream(
    sandbox: Sandbox, upstream: ScriptedChat
) -> None:
    upstream.script(
        Answer(completion("Checking.", calls=[("get_weather", {"city": "Oslo"})], usage=(5, 3))),
        Answer(completion("Sunny in Oslo.")),
    )
    base = sandbox.register_gateway("scripted", upstream.base_url)
    with client_for(base) as client:
        first = client.responses.create(model="m", input="weather in Oslo?", tools=[WEATHER, rovo_tool(sandbox)])
        assert [o.type for o in first.output] == ["mcp_list_tools", "message", "function_call"]
        assert len(upstream.received) == 1  # the client runs its own tool: the loop stops
        call: Any = first.output[2]
        assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Oslo"}
        history: Any = [
            {"role": "user", "content": "weather in Oslo?"},
            *(o.model_dump(exclude_none=True) for o in first.output),
        ]
        output: Any = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"}
        second = client.responses.create(model="m", input=[*history, output], tools=[WEATHER, rovo_tool(sandbox)])
    assert second.output_text == "Sunny in Oslo." and [o.type for o in second.output] == ["message"]
    _, assistant, result = upstream.bodies[1]["messages"]
    assert assistant["content"] == "Checking." and assistant["tool_calls"][0]["id"] == call.call_id
    assert result == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny, 21 C"}


def test_max_tool_calls_withdraws_the_mcp_tools(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    again = Answer(completion(calls=[("bitbucketRepoContent", README_ARGS)]))
    upstream.script(again, Answer(again.body), Answer(completion("I stop here.")))
    base = sandbox.register_gateway("scripted", upstream.base_url)
    with client_for(base) as client:
        response = client.responses.create(model="m", input=ASK, tools=[rovo_tool(sandbox)], max_tool_calls=2)
    assert [o.type for o in response.output] == ["mcp_list_tools", "mcp_call", "mcp_call", "message"]
    assert ["tools" in b for b in upstream.bodies] == [True, True, False]


def test_approval_requests_stop_the_loop_until_answered(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    upstream.script(Answer(completion(calls=[("bitbucketRepoContent", README_ARGS)])), Answer(completion("Declined.")))
    base = sandbox.register_gateway("scripted", upstream.base_url)
    tools = [rovo_tool(sandbox, approval={"never": {"tool_names": ["bitbucketUser"]}})]
    with client_for(base) as client:
        asked = client.responses.create(model="m", input=ASK, tools=tools)
        assert [o.type for o in asked.output] == ["mcp_list_tools", "mcp_approval_request"]
        request: Any = asked.output[1]
        assert (request.server_label, request.name, json.loads(request.arguments)) == (
            "rovo",
            "bitbucketRepoContent",
            README_ARGS,
        )
        history: Any = [{"role": "user", "content": ASK}, *(o.model_dump(exclude_none=True) for o in asked.output)]
        reply: Any = {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": False}
        declined = client.responses.create(model="m", input=[*history, reply], tools=tools)
    assert [o.type for o in declined.output] == ["message"]
    assert upstream.bodies[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": request.id,
        "content": "Error: The user declined this tool call.",  # chat has no error flag: the text says it
    }


def test_request_options_and_a_forced_tool_go_upstream(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    upstream.script(Answer(completion(calls=[("bitbucketRepoContent", README_ARGS)])), Answer(completion('{"ok":1}')))
    base = sandbox.register_gateway("scripted", upstream.base_url)
    schema = {"type": "object", "properties": {"ok": {"type": "integer"}}, "required": ["ok"]}
    with client_for(base) as client:
        client.responses.create(
            model="m",
            input=ASK,
            tools=[rovo_tool(sandbox)],
            tool_choice={"type": "mcp", "server_label": "rovo", "name": "bitbucketRepoContent"},
            parallel_tool_calls=False,
            temperature=0.2,
            top_p=0.9,
            max_output_tokens=50,
            text={"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}},
        )
    first, second = upstream.bodies
    assert [t["function"]["name"] for t in first["tools"]] == ["bitbucketRepoContent"]  # narrowed to the choice
    assert first["tool_choice"] == {"type": "function", "function": {"name": "bitbucketRepoContent"}}
    assert second["tool_choice"] == "auto"  # forced until the first call, as on OpenAI
    assert {k: first[k] for k in ("parallel_tool_calls", "temperature", "top_p", "max_completion_tokens")} == {
        "parallel_tool_calls": False,
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 50,
    }
    assert first["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }


def test_streamed_responses_are_the_sdks_events(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    upstream.script(Answer(completion(calls=[("bitbucketRepoContent", README_ARGS)])), Answer(completion("Here.")))
    base = sandbox.register_gateway("scripted", upstream.base_url)
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    with (
        client_for(base) as client,
        client.responses.create(model="m", input=ASK, stream=True, tools=[rovo_tool(sandbox)]) as stream,
    ):
        events = [adapter.validate_python(e.model_dump()) for e in stream]
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert {"response.mcp_call.completed", "response.output_text.delta"} <= set(kinds)
    assert [o.type for o in events[-1].response.output] == ["mcp_list_tools", "mcp_call", "message"]
    assert all(b["stream"] is False for b in upstream.bodies)  # upstream calls are never streamed here


# -- chat completions and models ---------------------------------------------------------------------------------

CHAT_TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "additionalProperties": False},
            "strict": True,
        },
    }
    for name in ("get_file", "list_branches")
]


def test_emulated_streaming_re_sends_one_plain_answer_as_chunks(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    upstream.script(
        Answer(
            completion(
                "Let me look at that, it takes a few words to say.",
                calls=[("get_file", {"path": "README.md"}), ("list_branches", {})],
                usage=(42, 7),
            )
        )
    )
    base = sandbox.register_gateway("scripted", upstream.base_url, model="served", stream="emulated")
    messages: Any = [{"role": "user", "content": "look"}]
    with (
        client_for(base) as client,
        client.chat.completions.stream(
            model="m", messages=messages, tools=CHAT_TOOLS, stream_options={"include_usage": True}
        ) as stream,
    ):
        chunks = [e.chunk for e in stream if e.type == "chunk"]
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Let me look at that, it takes a few words to say."
    calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]  # type: ignore[union-attr]
    assert calls == [("call_up0", "get_file", {"path": "README.md"}), ("call_up1", "list_branches", {})]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and (final.usage.prompt_tokens, final.usage.completion_tokens) == (42, 7)
    assert len(chunks) > 5 and chunks[-1].choices == []  # really chunked, usage last
    (sent,) = upstream.bodies
    assert sent["stream"] is False and "stream_options" not in sent and sent["model"] == "served"


def test_native_streaming_relays_the_upstreams_events(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    sse = 'data: {"id":"c1","object":"chat.completion.chunk","choices":[]}\n\ndata: [DONE]\n\n'
    upstream.script(Answer(sse=sse))
    base = sandbox.register_gateway("scripted", upstream.base_url)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream("POST", f"{base}/chat/completions", json=body, trust_env=False) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.read().decode() == sse
    assert upstream.bodies[0]["stream"] is True


def test_plain_chat_and_models_pass_through(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    listing = {"object": "list", "data": [{"id": "llama", "object": "model", "created": 0, "owned_by": "me"}]}
    upstream.script(Answer(completion("Hello.", usage=(3, 2))), Answer(listing))
    base = sandbox.register_gateway("scripted", upstream.base_url)
    with client_for(base) as client:
        reply = client.chat.completions.with_raw_response.create(
            model="llama", messages=[{"role": "user", "content": "hi"}]
        )
        models = client.models.list()
    assert reply.http_response.json() == completion("Hello.", usage=(3, 2))
    assert reply.parse().choices[0].message.content == "Hello."
    assert [m.id for m in models] == ["llama"]
    assert [r.path for r in upstream.received] == ["/v1/chat/completions", "/v1/models"]
    assert upstream.bodies[0]["model"] == "llama"  # no model registered: the caller's stays


# -- failures ----------------------------------------------------------------------------------------------------

CALLS = {
    "responses": ("POST", "/responses", {"model": "m", "input": "hi"}),
    "chat": ("POST", "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
    "chat-native-stream": (
        "POST",
        "/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True},
    ),
    "models": ("GET", "/models", None),
}


def call(base: str, api: str) -> httpx.Response:
    method, path, body = CALLS[api]
    return httpx.request(
        method, f"{base}{path}", json=body, headers={"Authorization": f"Bearer {KEY}"}, trust_env=False
    )


@pytest.mark.parametrize("api", sorted(CALLS))
@pytest.mark.parametrize(
    ("answer", "status", "said"),
    [
        (Answer({"error": {"message": "boom"}}, status=500), 502, "answered 500 Internal Server Error: boom"),
        (Answer("overloaded", status=503), 502, 'answered 503 Service Unavailable: "overloaded"'),
        (
            Answer(
                {"error": {"message": "Bad 'messages'.", "type": "invalid_request_error", "param": "messages"}}, 400
            ),
            400,
            "answered 400 Bad Request: Bad 'messages'.",
        ),
        (Answer({"error": {"message": "Incorrect API key"}}, status=401), 401, "answered 401 Unauthorized"),
        (Answer(completion("late"), delay=2.0), 504, "did not answer within 0.5 s"),
    ],
)
def test_upstream_failures_become_openai_errors_naming_the_upstream(
    sandbox: Sandbox, upstream: ScriptedChat, api: str, answer: Answer, status: int, said: str
) -> None:
    upstream.script(answer)
    base = sandbox.register_gateway("scripted", upstream.base_url, timeout=0.5)
    response = call(base, api)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"].startswith(f"The upstream 127.0.0.1:{upstream.port} ") and said in error["message"]
    assert "Traceback" not in response.text
    if status == 400:
        assert error["param"] == "messages"  # a 4xx is the upstream's own error, passed on


@pytest.mark.parametrize("api", sorted(CALLS))
def test_an_unreachable_upstream_is_a_502_naming_it(sandbox: Sandbox, api: str) -> None:
    port = free_port()
    base = sandbox.register_gateway("nowhere", f"http://127.0.0.1:{port}/v1")
    response = call(base, api)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_unreachable"
    assert error["message"].startswith(f"The upstream 127.0.0.1:{port} could not be reached (ConnectError")


def test_an_upstream_answer_that_is_not_a_completion_is_a_502(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    upstream.script(Answer({"object": "list", "data": []}), Answer(completion(calls=[("get_weather", {})])))
    upstream.answers[1].body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = "{city: Oslo"
    base = sandbox.register_gateway("scripted", upstream.base_url)
    not_a_completion = call(base, "responses")
    assert not_a_completion.status_code == 502 and "answered with no chat completion" in not_a_completion.text
    bad_arguments = httpx.post(
        f"{base}/responses", json={"model": "m", "input": "hi", "tools": [WEATHER]}, trust_env=False
    )
    assert bad_arguments.status_code == 502
    assert "called 'get_weather' with arguments that are not a JSON object: {city: Oslo" in bad_arguments.text


# -- registration ------------------------------------------------------------------------------------------------

UP = "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"upstream": UP}, "name"),
        ({"name": "Not A Slug", "upstream": UP}, "name"),
        ({"name": "g"}, "upstream"),
        ({"name": "g", "upstream": "ftp://example.com/v1"}, "upstream"),
        ({"name": "g", "upstream": "https://me:sk-fake-in-url@example.com/v1"}, "upstream"),
        ({"name": "g", "upstream": "http://127.0.0.1:9/v1?key=1"}, "upstream"),
        ({"name": "g", "upstream": UP, "model": ""}, "model"),
        ({"name": "g", "upstream": UP, "stream": "fast"}, "stream"),
        ({"name": "g", "upstream": UP, "timeout": 0}, "timeout"),
        ({"name": "g", "upstream": UP, "api_key": "sk-fake"}, "api_key"),
    ],
)
def test_bad_registrations_are_400s_naming_the_field(sandbox: Sandbox, body: dict[str, Any], field: str) -> None:
    response = sandbox.admin.post("/model/gateways", json=body)
    assert response.status_code == 400
    assert f"request body:1: {field}: " in response.json()["error"]
    assert "sk-fake" not in response.text  # a key offered by mistake is not echoed
    assert sandbox.admin.get("/model/gateways").json() == {"gateways": []}


def test_registration_listing_removal_and_reset(sandbox: Sandbox, upstream: ScriptedChat) -> None:
    model_origin = sandbox.urls["model_api"].removesuffix("/v1")
    created = sandbox.admin.post("/model/gateways", json={"name": "local", "upstream": upstream.base_url + "/"})
    assert created.status_code == 201
    assert created.json() == {
        "name": "local",
        "base_url": f"{model_origin}/gateway/local/v1",
        "upstream": upstream.base_url,
        "model": None,
        "stream": "native",
        "timeout": 300.0,
    }
    assert sandbox.admin.get("/model/gateways").json() == {"gateways": [created.json()]}
    assert httpx.post(f"{model_origin}/gateway/other/v1/responses", json={}, trust_env=False).json()["error"] == {
        "message": "No gateway named 'other' is registered (register one with POST /model/gateways on the admin API).",
        "type": "invalid_request_error",
        "param": None,
        "code": "unknown_gateway",
    }
    assert sandbox.admin.delete("/model/gateways/other").status_code == 404
    assert sandbox.admin.delete("/model/gateways/local").json()["removed"]["name"] == "local"
    assert call(created.json()["base_url"], "models").status_code == 404
    assert upstream.received == []  # nothing reached the upstream once the gateway was gone

    sandbox.register_gateway("local", upstream.base_url)
    sandbox.reset()
    assert sandbox.admin.get("/model/gateways").json() == {"gateways": []}


def test_only_the_admin_registers_and_never_a_loop(sandbox: Sandbox) -> None:
    anonymous = httpx.post(
        sandbox.urls["admin"] + "/model/gateways", json={"name": "g", "upstream": UP}, trust_env=False
    )
    assert anonymous.status_code == 401
    own = sandbox.urls["model_api"].removesuffix("/v1") + "/gateway/g/v1"
    with pytest.raises(SandboxError, match=r"400 .*upstream: a gateway cannot have another gateway"):
        sandbox.register_gateway("loop", own)
    with pytest.raises(SandboxError, match="stream: Input should be 'native' or 'emulated'"):
        sandbox.register_gateway("g", UP, stream="fast")
    assert sandbox.admin.post("/model/gateways", content=b"").status_code == 400
