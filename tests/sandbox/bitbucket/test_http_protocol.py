"""One socket write per response: writes of one loop tick are joined, and nothing is lost on close."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from sandbox.http_protocol import CoalescingTransport
from sandbox.launcher import Sandbox


class RecordingTransport(asyncio.Transport):
    """Keeps what reaches the socket, in the calls it arrived in."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 4242)}.get(name, default)


def test_writes_of_one_tick_leave_together_and_later_ones_apart() -> None:
    async def scenario() -> RecordingTransport:
        sink = RecordingTransport()
        transport = CoalescingTransport(sink, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert sink.writes == []  # held until the tick ends
        await asyncio.sleep(0)
        transport.write(b"chunk 2")  # a streamed chunk sent in a later tick
        await asyncio.sleep(0)
        assert transport.get_extra_info("peername") == ("127.0.0.1", 4242)  # everything else is the transport's
        return sink

    sink = asyncio.run(scenario())
    assert sink.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"chunk 2"]


def test_close_sends_what_is_pending_first() -> None:
    async def scenario() -> RecordingTransport:
        sink = RecordingTransport()
        transport = CoalescingTransport(sink, asyncio.get_running_loop())
        transport.write(b"last response")
        transport.close()
        await asyncio.sleep(0)
        return sink

    sink = asyncio.run(scenario())
    assert sink.writes == [b"last response"] and sink.closed


def _raw_get(url: str, path: str, auth: str, close: bool) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: {auth}\r\n"
        sock.sendall((head + ("Connection: close\r\n" if close else "") + "\r\n").encode())
        data = b""
        while close or b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def _length(data: bytes) -> int:
    head = data.partition(b"\r\n\r\n")[0].decode().lower()
    return next(int(line.split(":")[1]) for line in head.split("\r\n") if line.startswith("content-length:"))


def test_the_sandbox_answers_whole_responses_on_kept_and_closed_connections(sandbox: Sandbox) -> None:
    email, token = sandbox.api_token()
    auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
    for close in (False, True):
        raw = _raw_get(sandbox.urls["bitbucket_api"], "/2.0/repositories/acme/widgets", auth, close)
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert len(body) == _length(raw)
        assert json.loads(body)["full_name"] == "acme/widgets"
