"""Webhook subscriptions' deliveries: signed POSTs to loopback receivers, with retries and a log.

Headers follow Bitbucket: X-Event-Key, X-Hook-UUID, X-Request-UUID, X-Attempt-Number, User-Agent
``Bitbucket-Webhooks/2.0`` and, when the subscription has a secret, ``X-Hub-Signature: sha256=<hex>``.
A failed delivery (connection error or non-2xx) is retried at most twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.world import Event, World

if TYPE_CHECKING:
    from sandbox.bitbucket.context import Ctx
    from sandbox.bitbucket.gitstore import GitRepo

log = logging.getLogger("sandbox.webhooks")
J = dict[str, Any]


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https"):
            return False
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push_payload(
    ctx: Ctx, repo: Doc, git: GitRepo, branch: str, old: str | None, new: str | None, created: bool = False
) -> J:
    from sandbox.bitbucket.handlers.repositories import render_repository
    from sandbox.bitbucket.handlers.source import branch_json, commit_json

    def state(sha: str | None) -> J | None:
        return branch_json(ctx, repo, git, branch, sha) if sha else None

    newest = git.log([new], [old] if old else [], limit=5) if new else []
    commits = [commit_json(ctx, repo, git, c.hash) for c in newest]
    r = ctx.r.repo_base(repo)
    change = {
        "new": state(new),
        "old": state(old),
        "created": created,
        "forced": False,
        "closed": new is None,
        "commits": commits,
        "truncated": False,
        "links": {
            "html": {"href": f"{ctx.r.base}/{repo['full_name']}/branches/compare/{new or ''}..{old or ''}"},
            "diff": {"href": f"{r}/diff/{new or ''}..{old or ''}"},
            "commits": {"href": f"{r}/commits?include={new or ''}&exclude={old or ''}"},
        },
    }
    return {"actor": ctx.actor(), "repository": render_repository(ctx, repo), "push": {"changes": [change]}}


class WebhookDispatcher:
    """Sends events after their transaction commits; every attempt is written to the delivery log.

    Deliveries run concurrently, as on Bitbucket, so each log entry carries the sequence number of its
    event: the log reads in the order the events happened whatever order the receivers answered in.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.tasks: set[asyncio.Task[None]] = set()

    def __call__(self, events: list[Event]) -> None:
        for repo_full, event, payload in events:
            for hook in self.world.store.children("hook", repo_full):
                if hook["active"] and event in hook["events"]:
                    sequence = self.world.store.next_value("webhook-event")
                    task = asyncio.get_running_loop().create_task(self._deliver(hook, event, payload, sequence))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)

    async def _deliver(self, hook: Doc, event: str, payload: J, sequence: int) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        request_uuid = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Bitbucket-Webhooks/2.0",
            "X-Event-Key": event,
            "X-Hook-UUID": hook["uuid"].strip("{}"),
            "X-Request-UUID": request_uuid,
        }
        if hook.get("secret"):
            headers["X-Hub-Signature"] = signature(hook["secret"], body)
        settings = self.world.settings
        delays = (0.0, *settings.webhook_retry_delays[:2])
        async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, trust_env=False) as client:
            for attempt, delay in enumerate(delays, start=1):
                await asyncio.sleep(delay)
                status, error = await self._attempt(
                    client, hook["url"], body, {**headers, "X-Attempt-Number": str(attempt)}
                )
                self._log(hook, event, sequence, request_uuid, attempt, status, error, payload)
                if status is not None and 200 <= status < 300:
                    return

    @staticmethod
    async def _attempt(
        client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        if not is_loopback_url(url):
            return None, "deliveries go to loopback addresses only in the sandbox"
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None

    def _log(
        self,
        hook: Doc,
        event: str,
        sequence: int,
        request_uuid: str,
        attempt: int,
        status: int | None,
        error: str | None,
        payload: J,
    ) -> None:
        number = self.world.store.next_value("delivery")
        self.world.store.put(
            "delivery",
            str(number),
            {
                "id": number,
                "hook": hook["uuid"],
                "repository": hook["repository"],
                "url": hook["url"],
                "event": event,
                "event_sequence": sequence,
                "request_uuid": request_uuid,
                "attempt": attempt,
                "status": status,
                "error": error,
                "signed": bool(hook.get("secret")),
                "at": self.world.now(),
                "payload": payload,
            },
            parent=hook["uuid"],
        )

    async def drain(self) -> None:
        """Wait for deliveries under way (tests and shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
