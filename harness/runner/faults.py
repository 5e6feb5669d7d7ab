"""A scenario's upstream faults, scripted through the sandbox's admin API for the conversation only.

The oracle arranges the fixture first and reads the final state after the faults are gone, so only the agent's
requests meet them. Each cell removes exactly the rules it added (cells run side by side against one sandbox), and
its rules match its own repository only. The admin requests are ordinary HTTP from this process: they are recorded
in the cell's cassette (the admin key scrubbed) and played back by a replay, which thereby sends exactly the
requests that were recorded.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from harness.scenarios.placeholders import fill
from harness.scenarios.schema import FaultSpec
from harness.worlds import AdminConfig
from sandbox import ADMIN_HEADER

NEEDS_SANDBOX = "faults need the sandbox world: only its admin API can make Bitbucket fail on purpose"


class FaultError(RuntimeError):
    """The sandbox refused the faults (or could not be reached)."""


def rules(faults: Sequence[FaultSpec], values: Mapping[str, str]) -> list[dict[str, Any]]:
    """The admin API's fault rules for one cell: placeholders filled with the cell's (escaped) names."""
    escaped = {name: re.escape(value) for name, value in values.items()}
    return [
        {
            "server": "bitbucket",
            "method": f.method,
            "path": fill(f.path, escaped),
            "action": "status",
            "status": f.status,
            "count": f.count,
            "retry_after": f.retry_after,
        }
        for f in faults
    ]


@contextlib.asynccontextmanager
async def injected(
    admin: AdminConfig | None, faults: Sequence[FaultSpec], values: Mapping[str, str]
) -> AsyncIterator[list[int]]:
    """The faults are active inside the block (yields their rule ids); removed on the way out, whatever happens."""
    if not faults:
        yield []
        return
    if admin is None:
        raise FaultError(NEEDS_SANDBOX)
    async with httpx.AsyncClient(
        base_url=admin.url, headers={ADMIN_HEADER: admin.key}, timeout=30, trust_env=False
    ) as client:
        added = await client.post("/faults", json=rules(faults, values))
        if added.status_code != 201:
            raise FaultError(f"the sandbox refused the scenario's faults: {added.status_code} {added.text[:300]}")
        ids = [int(rule["id"]) for rule in added.json()["added"]]
        try:
            yield ids
        finally:
            for rule_id in ids:
                await client.delete(f"/faults/{rule_id}")
