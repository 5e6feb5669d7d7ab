"""Scripted faults for reliability scenarios: the next N requests matching a rule misbehave.

A rule matches a server (``bitbucket``, ``composio``, ``rovo``, ``model``), an HTTP method and a path
regular expression, and either answers with a status (500, 503, 429...), waits ``delay_ms`` and then
lets the request through, or drops the connection mid-response.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from starlette.types import ASGIApp, Receive, Scope, Send

Action = Literal["status", "delay", "drop"]


class FaultSpec(BaseModel):
    """What a client may set on a rule (the admin API's body), with the type each field must have."""

    model_config = ConfigDict(extra="forbid", strict=True)

    server: str = "bitbucket"
    method: str = "*"
    path: str = ".*"
    count: int = 1
    action: Action = "status"
    status: int = 500
    delay_ms: int = 0
    retry_after: int = 1


@dataclass
class FaultRule:
    server: str = "bitbucket"
    method: str = "*"
    path: str = ".*"  # a regular expression searched in the request path
    count: int = 1
    action: Action = "status"
    status: int = 500
    delay_ms: int = 0
    retry_after: int = 1
    id: int = 0
    fired: int = 0
    _pattern: re.Pattern[str] = field(default=re.compile(".*"), repr=False, compare=False)

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_pattern")
        return data


class FaultPlan:
    """The active rules, shared by every server of a sandbox."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, **spec: Any) -> FaultRule:
        rule = FaultRule(**FaultSpec.model_validate(spec).model_dump())  # ValidationError names each bad field
        if rule.count < 1 or not 100 <= rule.status <= 599 or rule.delay_ms < 0:
            raise ValueError("count must be >= 1, status 100-599, delay_ms >= 0")
        try:
            rule._pattern = re.compile(rule.path)
        except re.error as exc:
            raise ValueError(f"path is not a regular expression: {exc}") from None
        rule.id = next(self._ids)
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, server: str, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.server == server and rule.method in ("*", method) and rule._pattern.search(path):
                    rule.count -= 1
                    rule.fired += 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def remove(self, rule_id: int) -> bool:
        """Forget one rule (a rule that has fired ``count`` times is already gone); whether it was there."""
        with self._lock:
            found = [r for r in self._rules if r.id == rule_id]
            for rule in found:
                self._rules.remove(rule)
        return bool(found)

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.public() for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


def error_body(server: str, status: int) -> bytes:
    """The error shape each emulated service uses for an injected failure."""
    message = {
        500: "Internal Server Error",
        503: "Service Unavailable",
        429: "Rate limit for this resource has been exceeded",
    }.get(status, f"HTTP {status}")
    if server == "bitbucket":
        body: dict[str, Any] = {"type": "error", "error": {"message": message}}
    elif server == "model":
        body = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    elif server == "composio":
        body = {"error": {"message": message, "code": status, "status": status}}
    else:
        body = {"error": {"message": message}}
    return json.dumps(body).encode()


class FaultInjector:
    """ASGI middleware that applies the plan to one server's HTTP requests."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, server: str) -> None:
        self.app, self.plan, self.server = app, plan, server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self.plan.take(self.server, scope["method"], scope["path"]) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
        elif rule.action == "delay":
            await asyncio.sleep(rule.delay_ms / 1000)
            await self.app(scope, receive, send)
        elif rule.action == "drop":
            # Promise a body and close the connection before sending it: the client sees a dropped connection.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")],
                }
            )
            await send({"type": "http.response.body", "body": b"{", "more_body": False})
        else:
            body = error_body(self.server, rule.status)
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            if rule.status == 429:
                headers.append((b"retry-after", str(rule.retry_after).encode()))
            await send({"type": "http.response.start", "status": rule.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
