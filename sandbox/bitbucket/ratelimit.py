"""Per-credential request limits, answered like Bitbucket: 429 with Retry-After and X-RateLimit-*."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sandbox.bitbucket.errors import BitbucketError


@dataclass
class _Window:
    start: float
    used: int


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}

    def check(self, key: str, limit: tuple[int, int] | None, now: float) -> dict[str, str]:
        """Count one request; returns the headers to add, or raises the 429."""
        if limit is None:
            return {}
        allowed, window = limit
        w = self._windows.get(key)
        if w is None or now - w.start >= window:
            w = self._windows[key] = _Window(now, 0)
        headers = {
            "X-RateLimit-Limit": str(allowed),
            "X-RateLimit-Resource": "api",
            "X-RateLimit-NearLimit": "true" if allowed - w.used <= max(1, allowed // 20) else "false",
        }
        if w.used >= allowed:
            retry = max(1, math.ceil(w.start + window - now))
            raise BitbucketError(
                429,
                "Rate limit for this resource has been exceeded",
                detail=f"You can make {allowed} requests per {window} seconds.",
                headers={**headers, "Retry-After": str(retry), "X-RateLimit-NearLimit": "true"},
            )
        w.used += 1
        return headers

    def reset(self) -> None:
        self._windows.clear()
