"""A chat-completions server of the tests' own, on 127.0.0.1 in a thread: it answers from a script and records
every request it was sent, so a test can pin exactly what a gateway sends upstream and what it makes of the
answers."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Answer:
    body: Any = None  # JSON
    status: int = 200
    delay: float = 0.0  # seconds before answering
    sse: str | None = None  # a raw event stream instead of JSON


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ScriptedChat:
    answers: list[Answer] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def bodies(self) -> list[Any]:
        return [r.body for r in self.received]

    def script(self, *answers: Answer) -> None:
        self.answers[:] = answers
        self.received.clear()

    async def _answer(self, request: Request) -> Response:
        raw = await request.body()
        self.received.append(Received(request.url.path, dict(request.headers), json.loads(raw) if raw else None))
        if not self.answers:
            return JSONResponse({"error": {"message": "the script has no answer left", "type": "test"}}, 500)
        answer = self.answers.pop(0)
        await asyncio.sleep(answer.delay)
        if answer.sse is not None:
            return Response(answer.sse, media_type="text/event-stream")
        return JSONResponse(answer.body, status_code=answer.status)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._answer, methods=["POST"]),
                Route("/v1/models", self._answer, methods=["GET"]),
            ]
        )


def completion(
    content: str | None = None,
    calls: list[tuple[str, dict[str, Any]]] | None = None,
    usage: tuple[int, int] = (0, 0),
    model: str = "upstream-model",
) -> dict[str, Any]:
    """A chat completion as an OpenAI-compatible server sends it."""
    tool_calls = [
        {"id": f"call_up{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(calls or [])
    ]
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


def serve() -> Iterator[ScriptedChat]:
    """Run a ScriptedChat until the generator is closed (for a pytest fixture)."""
    chat = ScriptedChat()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    chat.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(chat.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    if not server.started:
        raise RuntimeError("the scripted chat server did not start")
    try:
        yield chat
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
