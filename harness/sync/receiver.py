"""``harness sync serve``: the push webhook's receiver, on 127.0.0.1 by default.

``POST /api/bitbucket/webhook`` verifies ``X-Hub-Signature`` (``sha256=`` HMAC-SHA256 of the raw body with the
webhook secret, compared in constant time) before reading anything else: unsigned or forged deliveries get 401
and change nothing. A ``repo:push`` to the synced branch is then fetched, validated and recorded
(``harness.sync.inbound``), once per delivery id (``X-Request-UUID``, which Bitbucket keeps across retries), and
what it changed is queued for a run (``harness.sync.runs``). ``GET /reports/{run_id}`` serves the run's report,
which build statuses link to.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from harness.sync.bitbucket import Bitbucket, BitbucketFailure
from harness.sync.config import SyncConfig
from harness.sync.inbound import Applied, Change, apply, changes_of, fetch
from harness.sync.runs import RunQueue, plan
from harness.sync.store import Connection, SyncStore

log = logging.getLogger("harness.sync")
WEBHOOK_PATH = "/api/bitbucket/webhook"
RUN_ID = re.compile(r"^[A-Za-z0-9._-]+$")
MAX_BODY = 10 * 1024 * 1024  # push payloads are a few kilobytes: anything near this is not Bitbucket


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the ``sha256=`` signature of ``body`` with ``secret``."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Receiver:
    def __init__(
        self, config: SyncConfig, store: SyncStore, connection: Connection, runs: RunQueue | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.connection = connection
        self.runs = runs
        self.bitbucket = runs.bitbucket if runs else Bitbucket(config, connection.repository)

    def app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            worker = asyncio.create_task(self.runs.worker()) if self.runs else None
            try:
                yield
            finally:
                if worker:
                    worker.cancel()
                await self.bitbucket.aclose()

        routes = [
            Route(WEBHOOK_PATH, self.webhook, methods=["POST"]),
            Route("/health", self.health, methods=["GET"]),
            Route("/reports/{run_id}", self.report, methods=["GET"]),
        ]
        return Starlette(routes=routes, lifespan=lifespan)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "repository": self.connection.repository})

    async def report(self, request: Request) -> Response:
        """The run's HTML report when it was rendered, else its summary."""
        run_id = request.path_params["run_id"]
        if not RUN_ID.match(run_id) or self.runs is None:
            return _refuse(404, "no such run")
        matrix = self.runs.matrix
        for page in (matrix.reports_dir / run_id / "report.html", matrix.runs_dir / run_id / "summary.md"):
            if page.is_file():
                return FileResponse(page) if page.suffix == ".html" else PlainTextResponse(page.read_text())
        return PlainTextResponse(f"run {run_id} is queued or running", status_code=202)

    async def webhook(self, request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return _refuse(413, f"a delivery is at most {MAX_BODY} bytes")
        body = await request.body()
        delivery = request.headers.get("x-request-uuid", "")
        if "x-hub-signature" not in request.headers:
            log.warning("refused delivery %s: unsigned (no X-Hub-Signature)", delivery or "(no id)")
            return _refuse(401, "unsigned delivery: X-Hub-Signature is required (set the webhook's secret)")
        if not signed(self.config.webhook_secret, body, request.headers["x-hub-signature"]):
            log.warning("refused delivery %s: X-Hub-Signature does not match the body", delivery or "(no id)")
            return _refuse(401, "forged or corrupted delivery: X-Hub-Signature does not match the webhook secret")
        event = request.headers.get("x-event-key", "")
        if event != "repo:push":
            return JSONResponse({"status": "ignored", "reason": f"event {event!r} is not synced"}, status_code=202)
        if not delivery:
            return _refuse(400, "X-Request-UUID is missing: deliveries are applied once per id")
        previous = self.store.delivery(delivery)
        if previous is not None:
            log.info("delivery %s: already applied, nothing changes", delivery)
            return JSONResponse({"status": "duplicate", "delivery": delivery, **previous})
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return _refuse(400, f"the body is not JSON: {exc}")
        full_name = ((payload.get("repository") or {}) if isinstance(payload, dict) else {}).get("full_name")
        if full_name != self.connection.repository:
            reason = f"{full_name!r} is not the synced repository ({self.connection.repository})"
            return JSONResponse({"status": "ignored", "reason": reason}, status_code=202)
        return await self._push(delivery, payload)

    async def _push(self, delivery: str, payload: dict[str, Any]) -> Response:
        changes = changes_of(payload, self.connection.branch)
        try:
            fetched = [(change, await fetch(self.bitbucket, change)) for change in changes]
        except BitbucketFailure as exc:  # nothing recorded: Bitbucket retries the delivery
            log.error("delivery %s: cannot read what the push changed: %s", delivery, exc)
            return _refuse(502, f"cannot read what the push changed: {exc}")
        results: list[tuple[Change, Applied]] = []
        with self.store.transaction():
            if self.store.delivery(delivery) is not None:  # a concurrent retry got here first
                return JSONResponse({"status": "duplicate", "delivery": delivery})
            for change, items in fetched:
                results.append((change, apply(self.store, change, items, self.config.secrets())))
            summary = _summary(results)
            self.store.record_delivery(delivery, summary)
        runs = [await self._queue(change, applied) for change, applied in results]
        summary["runs"] = [r for r in runs if r]
        log.info(
            "delivery %s: %d updated, %d removed, %d error(s)%s",
            delivery,
            len(summary["updated"]),
            len(summary["removed"]),
            len(summary["errors"]),
            f"; run {', '.join(summary['runs'])} queued" if summary["runs"] else "",
        )
        return JSONResponse({"status": "applied", "delivery": delivery, **summary})

    async def _queue(self, change: Change, applied: Applied) -> str | None:
        """A run of what the push changed (``harness.sync.runs.plan``); the sync's own pushes run nothing."""
        if self.runs is None or change.own:
            return None
        synced = [r.slug for r in self.store.records() if r.kind == "scenario" and r.files is not None]
        job = plan(change.new, self.connection.branch, applied, synced, self.runs.matrix)
        return await self.runs.submit(job) if job else None


def _summary(results: list[tuple[Change, Applied]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"updated": [], "removed": [], "errors": [], "stale": []}
    for _, applied in results:
        for key, values in applied.summary().items():
            merged[key] += values
    return merged


def bind(host: str, port: int) -> tuple[socket.socket, str]:
    """A listening socket (port 0: a free one) and the base URL it answers at."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock, f"http://{host}:{sock.getsockname()[1]}"


def run_server(receiver: Receiver, sock: socket.socket) -> None:
    """Serve until stopped; the log says what each delivery did (never a header or a credential)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request to Bitbucket is noise
    uvicorn.Server(uvicorn.Config(receiver.app(), log_level="info")).run(sockets=[sock])
