"""Time and identifiers for the sandbox.

Both are injectable so that a run can be made byte-for-byte reproducible: a frozen clock that ticks
one second per reading, and UUIDs derived from a seed and a counter instead of the OS's randomness.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

_NAMESPACE = uuid.UUID("6f1e3c2a-9d4b-4c1e-8a7f-2b5d0e9c4a11")


class Clock:
    """Wall-clock time, or a deterministic clock starting at ``frozen_at``."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._frozen = frozen_at
        self._ticks = 0
        self._lock = threading.Lock()

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def now(self) -> datetime:
        if self._frozen is None:
            return datetime.now(UTC)
        with self._lock:
            self._ticks += 1
            return self._frozen + timedelta(seconds=self._ticks)

    def reset(self) -> None:
        self._ticks = 0


class Ids:
    """UUIDs that are unique within a sandbox and reproducible for a given seed."""

    def __init__(self, seed: str = "sandbox") -> None:
        self._seed = seed
        self._counter = 0
        self._lock = threading.Lock()

    def uuid(self, kind: str = "") -> str:
        with self._lock:
            self._counter += 1
            n = self._counter
        return "{" + str(uuid.uuid5(_NAMESPACE, f"{self._seed}:{kind}:{n}")) + "}"

    def stable(self, *parts: str) -> str:
        """A UUID that depends only on ``parts``: the same fixture object keeps its UUID across resets."""
        return "{" + str(uuid.uuid5(_NAMESPACE, ":".join((self._seed, *parts)))) + "}"

    def reset(self) -> None:
        self._counter = 0


def isoformat(ts: datetime) -> str:
    """Bitbucket's timestamp form: microseconds always present, numeric UTC offset."""
    return ts.astimezone(UTC).isoformat(timespec="microseconds")
