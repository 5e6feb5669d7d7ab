"""Cassettes: secrets never reach the file, JSON bodies match by content, replay needs no server."""

from __future__ import annotations

import itertools
import json
import ssl
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml_rs
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.serializers import yamlserializer

from harness.recording import REDACTED, Recorder, Scrubber, cassette_path
from harness.recording.cassettes import CassetteYaml, CellCassette, known_missing_clients, replay_miss

SECRET_KEY = "sk-test-cassette-secret-0001"
SECRET_MCP = "mcp-header-secret-value-0002"


class EchoServer:
    """Answers every POST with JSON that echoes the request (as a model server echoes a hosted tool config) and
    counts the requests it answered (``n``), so that the same request twice gets two different answers."""

    def __init__(self) -> None:
        served = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if self.path == "/sse":
                    payload = f"event: x\ndata: {json.dumps({'echo': body})}\n\n".encode()
                    content_type = "text/event-stream"
                else:
                    payload = json.dumps(
                        {
                            "echo": body,
                            "access_token": "tok-from-server-0003",
                            "n": next(served),
                            "seen_key": self.headers.get("x-api-key"),
                        }
                    ).encode()
                    content_type = "application/json"
                self.send_response(200)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[EchoServer]:
    s = EchoServer()
    yield s
    s.close()


def tool_request(key: str, mcp_secret: str, order_flipped: bool = False) -> dict[str, Any]:
    tool = {
        "type": "mcp",
        "server_label": "bb",
        "server_url": "http://127.0.0.1:1/mcp",
        "headers": {"x-api-key": mcp_secret},
    }
    body = {"model": "m", "input": f"use key {key} please", "tools": [tool]}
    return dict(reversed(list(body.items()))) if order_flipped else body


def exchange(url: str, key: str, mcp_secret: str, order_flipped: bool = False) -> list[Any]:
    with httpx.Client(trust_env=False) as client:
        one = client.post(
            url + "/v1/responses",
            json=tool_request(key, mcp_secret, order_flipped),
            headers={"x-api-key": key, "Authorization": f"Bearer {key}"},
        )
        two = client.post(url + "/sse", json={"q": key})
    return [one.json(), two.text]


def test_record_then_replay_without_server_or_secrets(server: EchoServer, tmp_path: Path) -> None:
    path = cassette_path(tmp_path, "core-fetch-readme", "pydantic-ai", "composio", "sandbox/reference")
    assert path == tmp_path / "core-fetch-readme" / "pydantic-ai--composio--sandbox-reference.yaml"
    with Recorder("once", secrets=[SECRET_KEY, SECRET_MCP]).cassette(path):
        recorded = exchange(server.url, SECRET_KEY, SECRET_MCP)
    server.close()

    text = path.read_text()
    for secret in (SECRET_KEY, SECRET_MCP, "tok-from-server-0003"):
        assert secret not in text
    assert REDACTED in text
    assert recorded[0]["seen_key"] == SECRET_KEY  # the live call itself was not altered

    # Replay: no server, other key order, and the replay's own placeholder credentials instead of the real ones.
    fake = ["sk-other-value-at-replay", "other-mcp-secret-at-replay"]
    with Recorder("none", secrets=fake).cassette(path):
        replayed = exchange(server.url, *fake, order_flipped=True)
    assert replayed[0]["echo"]["tools"][0]["headers"] == {"x-api-key": REDACTED}
    assert replayed[0]["access_token"] == REDACTED and replayed[0]["seen_key"] == REDACTED
    assert "REDACTED" in replayed[1] and SECRET_KEY not in replayed[1]


def test_a_different_request_body_does_not_replay(server: EchoServer, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with Recorder("once", secrets=[SECRET_KEY]).cassette(path):
        exchange(server.url, SECRET_KEY, SECRET_MCP)
    with (
        Recorder("none").cassette(path),
        pytest.raises(CannotOverwriteExistingCassetteException) as miss,
        httpx.Client(trust_env=False) as client,
    ):
        client.post(server.url + "/v1/responses", json={"model": "m", "input": "something else"})
    wrapped = ExceptionGroup("as a framework would wrap it", [RuntimeError("x"), miss.value])
    told = replay_miss(wrapped) or ""
    assert told.startswith("no recorded response for POST /v1/responses:") and "bodies differ" in told
    assert replay_miss(RuntimeError("unrelated")) is None


def test_scrubber_handles_fields_at_any_depth_and_plain_text() -> None:
    scrubber = Scrubber(["abcdef-secret"])
    body = scrubber.body(b'{"a":{"Authorization":"Basic x","list":[{"client_secret":"s"}]},"t":"abcdef-secret!"}')
    assert json.loads(body or b"") == {
        "a": {"Authorization": REDACTED, "list": [{"client_secret": REDACTED}]},
        "t": f"{REDACTED}!",
    }
    assert scrubber.body(b"grant_type=x&k=abcdef-secret") == f"grant_type=x&k={REDACTED}".encode()
    with pytest.raises(ValueError, match="record mode 'sometimes'"):
        Recorder("sometimes")  # type: ignore[arg-type]


def test_blocked_network_refuses_every_connection(server: EchoServer) -> None:

    from harness.recording.network import NetworkBlocked, blocked_network

    with blocked_network(), pytest.raises(httpx.ConnectError, match="network access is blocked"):
        httpx.get(server.url, timeout=5)
    assert httpx.post(server.url, json={"after": 1}, timeout=5).status_code == 200  # restored afterwards
    assert issubclass(NetworkBlocked, OSError)


def post(client: httpx.Client, url: str, n: int) -> int:
    answer: int = client.post(url + "/v1/responses", json={"model": "m", "input": f"request {n}"}).json()["n"]
    return answer


def test_recorded_requests_play_in_recorded_order_each_once(server: EchoServer, tmp_path: Path) -> None:
    """The same request twice gets the two recorded answers in turn; a third time it has none."""
    path = tmp_path / "c.yaml"
    with Recorder("once").cassette(path), httpx.Client(trust_env=False) as client:
        recorded = [post(client, server.url, n) for n in (1, 2, 1, 3, 1)]
    assert recorded == [1, 2, 3, 4, 5]
    with Recorder("none").cassette(path) as cassette, httpx.Client(trust_env=False) as client:
        assert isinstance(cassette, CellCassette)
        assert [post(client, server.url, n) for n in (3, 1, 2, 1, 1)] == [4, 1, 2, 3, 5]
        with pytest.raises(CannotOverwriteExistingCassetteException, match="all been played back"):
            post(client, server.url, 1)


def test_a_live_request_is_scrubbed_once_and_a_recorded_one_not_again(
    server: EchoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    with Recorder("once", secrets=[SECRET_KEY]).cassette(path), httpx.Client(trust_env=False) as client:
        for n in range(3):
            post(client, server.url, n)
    scrubbed: list[str] = []
    scrub = Scrubber.request
    monkeypatch.setattr(Scrubber, "request", lambda self, r: scrubbed.append(r.path) or scrub(self, r))
    with Recorder("none", secrets=[SECRET_KEY]).cassette(path):
        assert scrubbed == []  # what was recorded was scrubbed when it was recorded
        with httpx.Client(trust_env=False) as client:
            assert [post(client, server.url, n) for n in range(3)] == [1, 2, 3]
    assert scrubbed == ["/v1/responses"] * 3  # once each, although vcrpy asks twice (can it play? play it)


def test_blocked_network_loads_no_trust_store() -> None:
    """No handshake can happen inside the block, so contexts skip loading CA certificates (tens of ms each)."""
    import certifi

    from harness.recording.network import blocked_network

    original = ssl.SSLContext.load_default_certs, ssl.SSLContext.load_verify_locations
    with blocked_network():
        inside = ssl.create_default_context(cafile=certifi.where())
        assert inside.cert_store_stats()["x509_ca"] == 0 and inside.verify_mode == ssl.CERT_REQUIRED
    assert (ssl.SSLContext.load_default_certs, ssl.SSLContext.load_verify_locations) == original
    assert ssl.create_default_context(cafile=certifi.where()).cert_store_stats()["x509_ca"] > 0


# reading cassettes -----------------------------------------------------------------------------------------------
COMMITTED = sorted((Path(__file__).resolve().parents[3] / "cassettes").rglob("*.yaml"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_committed_cassette_reads_as_vcrpy_reads_it(path: Path) -> None:
    text = path.read_text()
    assert CassetteYaml.deserialize(text) == yamlserializer.deserialize(text)


def test_quoted_dates_stay_strings_and_python_tags_go_to_vcrpy() -> None:
    """What the fast parser would get wrong left to itself: a quoted date read as a date."""
    quoted = "interactions:\n- request:\n    headers:\n      mcp-protocol-version:\n      - '2025-11-25'\n"
    assert yaml_rs.loads(quoted) != yamlserializer.deserialize(quoted)  # why parse_datetime is off
    assert CassetteYaml.deserialize(quoted) == yamlserializer.deserialize(quoted)
    tagged = "interactions:\n- request:\n    body: !!python/tuple [1, 2]\n"
    assert CassetteYaml.deserialize(tagged) == {"interactions": [{"request": {"body": (1, 2)}}]}


def test_a_cassette_written_and_read_back_is_unchanged(tmp_path: Path) -> None:
    data = {"interactions": [{"request": {"uri": "http://x/", "body": "a: b\n'q'"}, "response": {"status": 200}}]}
    text = CassetteYaml.serialize(data)
    assert text == yamlserializer.serialize(data)  # the files stay as vcrpy writes them
    assert CassetteYaml.deserialize(text) == data


class Lookups:
    """A finder that only records which modules were searched for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        self.names.append(name)


def test_opening_a_cassette_searches_for_no_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """vcrpy imports every client it can patch on each cassette; those not installed are searched for no more."""
    cassette = tmp_path / "c.yaml"
    cassette.write_text(CassetteYaml.serialize({"interactions": [], "version": 1}))
    recorder = Recorder("none")
    with recorder.cassette(cassette):  # the first cassette of a process: the clients are imported once
        pass
    lookups = Lookups()
    monkeypatch.setattr(sys, "meta_path", [lookups, *sys.meta_path])
    with recorder.cassette(cassette):
        pass
    assert lookups.names == []
    missing = known_missing_clients()
    assert missing and all(sys.modules[name] is None for name in missing)
    for name in missing:  # as before they were marked: searched for again, on every cassette
        monkeypatch.delitem(sys.modules, name)
    with recorder.cassette(cassette):
        pass
    assert all(name in lookups.names or name.split(".")[0] in lookups.names for name in missing)
