"""Identifiers derived from the request, so the same request always gets a byte-identical response.

No wall clock anywhere: ``created``/``created_at`` are a constant, and every id is a hash of the canonical request
body (sorted keys, no whitespace), a kind and an index.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z
# The sandbox's servers take free ports, and the conversation quotes their URLs: ids must not depend on the port.
_LOOPBACK_PORT = re.compile(r"(?<=127\.0\.0\.1):\d+")


def request_digest(body: Any) -> str:
    """The request's identity; streaming or not is left out, so both forms of an answer carry the same ids, and so
    are loopback ports."""
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(_LOOPBACK_PORT.sub("", canonical).encode()).hexdigest()


class IdMaker:
    """Ids for one response: ``prefix`` + 24 hex digits of sha256(digest, kind, index)."""

    def __init__(self, digest: str) -> None:
        self.digest = digest
        self._counts: dict[str, int] = {}

    def make(self, prefix: str) -> str:
        index = self._counts.get(prefix, 0)
        self._counts[prefix] = index + 1
        return f"{prefix}{hashlib.sha256(f'{self.digest}:{prefix}:{index}'.encode()).hexdigest()[:24]}"
