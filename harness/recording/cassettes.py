"""Recording a cell's client-side HTTP with vcrpy: one cassette per cell, secrets scrubbed, JSON bodies matched.

Requests match on method, scheme, host, port, path, query and the *normalised* body: JSON parsed, secrets
replaced, keys sorted, so that key order and the values of credentials never decide a match. The same scrubbing
runs on live requests before matching (vcrpy applies ``before_record_request`` to both), which is why a replay
needs no secret: the recorded and the live request both carry ``REDACTED`` wherever a credential was.

Secrets are removed three ways, because each alone misses something:
* headers by name (``Authorization``, ``x-api-key``, ...);
* JSON fields by name, at any depth (a hosted MCP tool's ``headers`` travel inside the model request's body, and
  token endpoints answer with ``access_token``);
* known secret values as text, anywhere (SSE streams, error messages that quote a key).

What moves between two recordings of an unchanged cell is written in a fixed form, so that re-recording a cell
diffs only what really changed (:class:`Hosts`): the loopback ``host:port`` of each party (a sandbox takes free
ports) becomes a fixed host named for the party (``bitbucket.loopback.localhost``), in URLs, headers and bodies, and
the cassette's URLs are those hosts, mapped back to the current ports when a world re-records the cell; MCP session
ids and request ids (random, and never matched: headers are not) are numbered in order of appearance.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import re
import sys
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import vcr
import yaml_rs
from vcr.cassette import Cassette
from vcr.record_mode import RecordMode as VcrRecordMode
from vcr.request import Request
from vcr.serializers import yamlserializer

from harness.vocab import RECORD_MODES, RecordMode

REDACTED = "REDACTED"
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "x-user-api-key",
        "x-org-api-key",
        "api-key",
        "openai-organization",
        "openai-project",
        "cookie",
        "set-cookie",
        "x-sandbox-admin-key",
    }
)
SENSITIVE_FIELDS = SENSITIVE_HEADERS | {
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "api_key",
    "apikey",
    "password",
    "secret",
    "link_token",
    "token",
}
VOLATILE_HEADERS = frozenset({"date", "server"})  # change on every recording and no client reads them
# random per connection or per response, and never matched (headers are not): numbered in order of appearance
NUMBERED_HEADERS = {"mcp-session-id": "session", "x-request-id": "request"}
PLACEHOLDER_DOMAIN = "loopback.localhost"  # RFC 6761: a loopback name, as clients that check for one require
_LOOPBACK = re.compile(r"^(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?$")
MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "json_body")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def cassette_path(root: Path, scenario: str, framework: str, path: str, model: str) -> Path:
    """``cassettes/<scenario>/<framework>--<path>--<model>.yaml``: one file per cell."""
    parts = [_SAFE_NAME.sub("-", p) for p in (framework, path, model)]
    return root / _SAFE_NAME.sub("-", scenario) / ("--".join(parts) + ".yaml")


class Hosts:
    """Each party's loopback ``host:port`` -> its fixed placeholder host (``<party>.loopback.localhost``), from a
    world's URLs (``{"bitbucket_api": "http://127.0.0.1:43325/2.0", ...}``); other hosts are left alone."""

    def __init__(self, urls: Mapping[str, str] = MappingProxyType({})) -> None:
        self.placeholders: dict[str, str] = {}
        for name, url in sorted(urls.items(), key=lambda nu: (nu[0] == "token_url", nu[0])):
            netloc = urlsplit(url).netloc
            if _LOOPBACK.match(netloc) and netloc not in self.placeholders:
                self.placeholders[netloc] = f"{name.removesuffix('_api')}.{PLACEHOLDER_DOMAIN}"
        # longest first, and never inside a longer port ("127.0.0.1:4332" is not in "127.0.0.1:43325")
        self._pattern = (
            re.compile("|".join(re.escape(n) + r"(?!\d)" for n in sorted(self.placeholders, key=len, reverse=True)))
            if self.placeholders
            else None
        )

    def text(self, value: str) -> str:
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(lambda m: self.placeholders[m.group(0)], value)

    def urls(self, urls: Mapping[str, str]) -> dict[str, str]:
        """The URLs as a cassette keeps them."""
        return {name: self.text(url) for name, url in urls.items()}

    def restore(self, urls: Mapping[str, str]) -> dict[str, str]:
        """A cassette's URLs at this world's ports (unchanged when they name no placeholder of this world)."""
        back = {placeholder: netloc for netloc, placeholder in self.placeholders.items()}
        return {name: _with_netloc(url, back) for name, url in urls.items()}


def _with_netloc(url: str, netlocs: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=netlocs[parts.netloc]).geturl() if parts.netloc in netlocs else url


class Scrubber:
    """Removes credentials from requests and responses (``secrets`` are values known to be secret) and writes
    what moves between recordings in a fixed form (``hosts``; MCP session ids numbered)."""

    def __init__(self, secrets: Iterable[str] = (), hosts: Hosts | None = None) -> None:
        # Longest first, so that a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        self.hosts = hosts or Hosts()
        self._numbered: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        return self.hosts.text(value)

    def numbered(self, kind: str, value: str) -> str:
        """``value`` as ``<kind>-<n>``, n in order of first appearance among the values of its kind (idempotent)."""
        with self._lock:
            if (kind, value) not in self._numbered:
                count = sum(k == kind for k, _ in self._numbered)
                self._numbered[(kind, value)] = f"{kind}-{count + 1}"
            return self._numbered[(kind, value)]

    def _header(self, name: str, value: Any) -> Any:
        if isinstance(value, list):
            return [self._header(name, v) for v in value]
        if not isinstance(value, str):
            return value
        kind = NUMBERED_HEADERS.get(name.lower())
        return self.numbered(kind, value) if kind else self.text(value)

    def json_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: REDACTED if k.lower() in SENSITIVE_FIELDS and v not in (None, "") else self.json_value(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.json_value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def body(self, raw: bytes | str | None, canonical: bool = False) -> bytes | None:
        """A scrubbed body; JSON is re-serialised (sorted keys when ``canonical``), SSE event by event."""
        if raw is None:
            return None
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        stripped = text.strip()
        if stripped[:1] in ("{", "["):
            try:
                data = json.loads(stripped)
            except json.JSONDecodeError:
                return self.text(text).encode()
            return json.dumps(
                self.json_value(data), sort_keys=canonical, separators=(",", ":"), ensure_ascii=False
            ).encode()
        if "\ndata:" in "\n" + text:
            return "".join(self._sse_line(line) for line in text.splitlines(keepends=True)).encode()
        return self.text(text).encode()

    def _sse_line(self, line: str) -> str:
        if not line.startswith("data:"):
            return self.text(line)
        payload = line[5:].strip()
        try:
            data = json.loads(payload)
        except json.JSONDecodeError:
            return self.text(line)
        end = line[len(line.rstrip("\r\n")) :]
        return "data: " + json.dumps(self.json_value(data), separators=(",", ":"), ensure_ascii=False) + end

    def request(self, request: Request) -> Request | None:
        """The request as recorded and matched; None for an MCP client's stream for server-initiated messages (a
        GET in a session): it idles in the background while the conversation goes on and stops whenever the client
        closes, so whether it is recorded at all is a race. Nothing arrives on it in a cell, and a replay that
        cannot open it does as a client does when a server offers none: it goes on without."""
        if request.method == "GET" and any(n.lower() == "mcp-session-id" for n in request.headers):
            return None
        for name in list(request.headers):
            if name.lower() in SENSITIVE_HEADERS:
                del request.headers[name]
            else:
                request.headers[name] = self._header(name, request.headers[name])
        request.uri = self.text(request.uri)
        request.body = self.body(request.body)
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        headers = response.get("headers", {})
        for name in list(headers):
            if name.lower() in SENSITIVE_HEADERS or name.lower() in VOLATILE_HEADERS:
                del headers[name]
            else:
                headers[name] = self._header(name, headers[name])
        body = response.get("body", {})
        if isinstance(body, dict) and body.get("string") is not None:
            body["string"] = self.body(body["string"])
        return response


REPLAY_MISS = "no recorded response for"


def replay_miss(exc: BaseException) -> str | None:
    """ "no recorded response for <method> <path>: <why>" when a replay asked for a request the cassette lacks;
    looks through exception groups and chained exceptions, where frameworks tend to wrap it."""
    from vcr.errors import CannotOverwriteExistingCassetteException

    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, CannotOverwriteExistingCassetteException):
            request = getattr(current, "failed_request", None)
            where = f"{request.method} {urlsplit(request.uri).path}" if request is not None else "a request"
            closest = str(current).split("Closest recorded requests:", 1)[-1].strip().splitlines()
            return f"{REPLAY_MISS} {where}: {' '.join(closest[:2])[:300]}"
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return None


@functools.lru_cache(maxsize=8192)
def canonical_body(body: bytes | str | None) -> bytes | None:
    """Cached: vcrpy compares each request with every recorded one, so the same bodies come back again and again."""
    return _CANONICAL.body(body, canonical=True)


def json_body_matcher(r1: Request, r2: Request) -> None:
    """Bodies match when equal as canonical JSON (or as bytes when not JSON); raises AssertionError otherwise."""
    b1, b2 = canonical_body(r1.body), canonical_body(r2.body)
    if b1 != b2:
        raise AssertionError(f"bodies differ: {(b1 or b'')[:200]!r} != {(b2 or b'')[:200]!r}")


_CANONICAL = Scrubber()

# What each matcher in MATCH_ON compares, as a value: two requests match when all of them are equal.
_MATCH_KEYS: dict[str, Callable[[Request], Hashable]] = {
    "method": lambda r: r.method,
    "scheme": lambda r: r.scheme,
    "host": lambda r: r.host,
    "port": lambda r: r.port,
    "path": lambda r: r.path or "/",  # vcrpy's path matcher: an empty path is "/"
    "query": lambda r: tuple(r.query),
    "json_body": lambda r: canonical_body(r.body),
}
assert set(MATCH_ON) <= set(_MATCH_KEYS), "every matcher needs its key"


def match_key(request: Request) -> tuple[Hashable, ...]:
    return tuple(_MATCH_KEYS[name](request) for name in MATCH_ON)


class CassetteYaml:
    """vcrpy's YAML serializer, reading with a parser several times faster than PyYAML's (whose constructor, in
    Python, is most of a replay's parse). What is written is unchanged, and so are the files. Cassettes with Python
    tags (vcrpy's for older request bodies), or that the fast parser refuses, are read by vcrpy's own loader;
    ``tests/harness/recording`` checks that both read every committed cassette alike."""

    @staticmethod
    def deserialize(cassette_string: str) -> Any:
        if "!!python/" not in cassette_string:
            with contextlib.suppress(yaml_rs.YAMLDecodeError):
                # quoted dates must stay strings ("2025-11-25" as an MCP protocol version)
                return yaml_rs.loads(cassette_string, parse_datetime=False)
        return yamlserializer.deserialize(cassette_string)

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        return str(yamlserializer.serialize(cassette_dict))


class CellCassette(Cassette):  # type: ignore[misc]
    """vcrpy's cassette, made linear in the number of requests; what matches and what is played is unchanged.

    * A request is found through an index on its match key (``MATCH_ON`` as values) rather than by running every
      matcher against every recorded request, twice per request (vcrpy asks "can it play?", then plays).
    * The live request is filtered (copied and scrubbed) once for both of those questions, not twice.
    * Interactions read from the file are kept as they are: they were scrubbed when they were recorded
      (``tests/replay`` checks, for every committed cassette, that scrubbing them again changes nothing).
    A request the cassette lacks still goes through vcrpy's matchers, which name the closest recorded ones.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index: dict[tuple[Hashable, ...], list[int]] = {}
        self._indexed = 0  # self.data[:_indexed] is in the index
        self._index_lock = threading.Lock()  # the composio SDK sends its requests from a worker thread
        self._last_filtered: tuple[Request | None, Request | None] = (None, None)
        self._loading = False

    def _load(self) -> None:
        self._loading = True
        try:
            super()._load()
        finally:
            self._loading = False

    def append(self, request: Request, response: dict[str, Any]) -> None:
        if not self._loading:
            super().append(request, response)
            return
        self.data.append((request, response))

    def _filtered(self, request: Request) -> Request | None:
        raw, filtered = self._last_filtered  # one tuple: threads replaying at once never see a torn pair
        if raw is not request:
            filtered = self._before_record_request(request)
            self._last_filtered = (request, filtered)
        return filtered

    def _matching(self, request: Request) -> list[int]:
        """Indices of the recorded requests that match, in recorded order (interactions recorded since the last
        lookup are indexed first)."""
        with self._index_lock:
            for index in range(self._indexed, len(self.data)):
                self._index.setdefault(match_key(self.data[index][0]), []).append(index)
            self._indexed = len(self.data)
            return list(self._index.get(match_key(request), ()))

    def _responses(self, request: Request) -> Iterator[tuple[int, dict[str, Any]]]:
        filtered = self._filtered(request)
        if filtered is not None:
            for index in self._matching(filtered):
                yield index, self.data[index][1]

    def can_play_response_for(self, request: Request) -> bool:
        """vcrpy's, with the raw request passed on, so that the filtered copy is found again rather than redone."""
        if self._filtered(request) is None:
            return False
        return (
            request in self
            and self.record_mode != VcrRecordMode.ALL
            and bool(self.rewound or self.allow_playback_repeats)
        )


# The HTTP clients vcrpy patches when they are installed; it imports each of them again on every cassette it opens.
VCR_CLIENTS = (
    "aiohttp.client",
    "botocore.awsrequest",
    "botocore.vendored.requests",
    "httplib2",
    "httpx",
    "httpx2",
    "httpx_curl_cffi",
    "pyreqwest.compatibility.httpx",
    "requests",
    "tornado.curl_httpclient",
    "tornado.simple_httpclient",
    "urllib3.connection",
)


@functools.cache
def known_missing_clients() -> tuple[str, ...]:
    """The clients that are not installed, marked missing in ``sys.modules``: an import that fails is not remembered,
    so vcrpy searched the whole ``sys.path`` for each of them again on every cassette (milliseconds a cassette).
    Marked, they fail at once, as they would anyway in this process."""
    missing = []
    for name in VCR_CLIENTS:
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = None  # type: ignore[assignment]
            missing.append(name)
    return tuple(missing)


class Recorder:
    """vcrpy configured for cells: ``with recorder.cassette(path) as cassette: ...`` around one cell's run."""

    def __init__(
        self,
        record_mode: RecordMode,
        secrets: Iterable[str] = (),
        ignore_hosts: Iterable[str] = (),
        hosts: Hosts | None = None,
    ) -> None:
        if record_mode not in RECORD_MODES:
            raise ValueError(f"record mode {record_mode!r}: choose one of {', '.join(RECORD_MODES)}")
        self.record_mode = record_mode
        self.scrubber = Scrubber(secrets, hosts)
        self.vcr = vcr.VCR(
            record_mode=record_mode,
            match_on=MATCH_ON,
            decode_compressed_response=True,
            before_record_request=self.scrubber.request,
            before_record_response=self.scrubber.response,
            ignore_hosts=tuple(ignore_hosts),
            record_on_exception=True,
        )
        self.vcr.register_matcher("json_body", json_body_matcher)
        self.vcr.register_serializer("yaml", CassetteYaml)

    @contextmanager
    def cassette(self, path: Path) -> Iterator[Cassette]:
        """``all`` records the cell from scratch: the old file goes first, with the URLs and results it held."""
        known_missing_clients()
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.record_mode == "all":
            path.unlink(missing_ok=True)
        config = functools.partial(self.vcr.get_merged_config, path=str(path), allow_playback_repeats=False)
        with CellCassette.use_arg_getter(config) as cassette:
            yield cassette


def normalise(path: Path) -> bool:
    """Rewrite a cassette recorded before hosts and ids were written in a fixed form as it would be recorded now:
    its loopback hosts as the fixed names (its URLs say which party was at which port), MCP session and request
    ids numbered, no MCP stream for server-initiated messages. Interactions, their order and the record are
    otherwise kept, so the cell replays as before. Returns whether the file changed."""
    from harness.results import CellRecord

    record = CellRecord.read(path)
    hosts = Hosts(record.urls)
    scrubber = Scrubber((), hosts)
    cassette = Cassette.load(path=str(path), record_mode=VcrRecordMode.NONE)
    kept = [(r, scrubber.response(resp)) for req, resp in cassette.data if (r := scrubber.request(req)) is not None]
    cassette._metadata["urls"] = hosts.urls(record.urls)
    return _rewrite(cassette, kept)


def store_result(path: Path, result: dict[str, Any]) -> bool:
    """Write ``result`` as the result in the cassette's record; its interactions stay as they are."""
    cassette = Cassette.load(path=str(path), record_mode=VcrRecordMode.NONE)
    cassette._metadata["result"] = result
    return _rewrite(cassette, cassette.data)


def _rewrite(cassette: Cassette, interactions: list[tuple[Request, dict[str, Any]]]) -> bool:
    """Save the cassette with these interactions and its metadata; whether the file changed."""
    path = Path(cassette._path)
    before = path.read_bytes()
    cassette._persist({"requests": [r for r, _ in interactions], "responses": [resp for _, resp in interactions]})
    return path.read_bytes() != before
