"""How the emulated MCP servers reach Bitbucket: real HTTP over loopback to the sandbox's Bitbucket port.

Going through the socket (not a direct function call) means every tool call passes the same auth, scope
checks, rate limits, fault injection and access log as any other client's request.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: Any  # parsed JSON, or text for non-JSON bodies (raw file contents, diffs)
    text: str
    content_type: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error_message(self) -> str:
        """Bitbucket's own error text: ``error.message`` of its envelope, else the raw body."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("message") or self.text)
        return self.text or f"HTTP {self.status}"


class BitbucketUpstream:
    """A keep-alive client for the sandbox's Bitbucket REST API (``base`` ends with ``/2.0``)."""

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False)

    async def request(
        self,
        method: str,
        path: str,
        authorization: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
    ) -> UpstreamResponse:
        """``path`` is relative to ``/2.0`` (``/repositories/acme/widgets``) or an absolute sandbox URL."""
        url = path if path.startswith("http") else self.base + path
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response = await self._client.request(
            method, url, params=clean, json=json_body, data=form, headers={"Authorization": authorization}
        )
        content_type = response.headers.get("content-type", "")
        body: Any = response.text
        if "json" in content_type:
            with contextlib.suppress(json.JSONDecodeError):
                body = response.json()
        return UpstreamResponse(response.status_code, body, response.text, content_type)

    async def aclose(self) -> None:
        await self._client.aclose()
