"""An MCP server's ``tools/list``, normalised so that two lists compare as text, and the drift between two.

The sandbox's tool-schema snapshots are written with ``normalise``; running ``harness tools list`` against a
live service with ``--against`` a snapshot shows what the live service added, removed or changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

ToolList = list[dict[str, Any]]


async def fetch_tools(url: str, headers: dict[str, str], timeout: float = 30.0) -> ToolList:
    """Every tool the server lists (following ``nextCursor``), normalised."""
    tools: list[Any] = []
    async with (
        httpx.AsyncClient(headers=headers, timeout=timeout, trust_env=False) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        cursor: str | None = None
        while True:
            page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
            tools.extend(page.tools)
            cursor = page.nextCursor
            if not cursor:
                break
    return normalise([t.model_dump(mode="json", exclude_none=True) for t in tools])


def normalise(tools: ToolList) -> ToolList:
    """Sorted by name, with only the fields a client depends on; key order inside schemas is kept."""
    keep = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")
    return sorted(({k: t[k] for k in keep if t.get(k) is not None} for t in tools), key=lambda t: str(t["name"]))


def dumps(tools: ToolList) -> str:
    return json.dumps(tools, indent=2, ensure_ascii=False) + "\n"


def load(path: Path) -> ToolList:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a tool list ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(t, dict) and "name" in t for t in data):
        raise ValueError(f"{path}: expected a JSON list of tools, each with a name")
    return data


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # tool -> fields that differ

    @property
    def none(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        out = [f"+ {name} (only in the new list)" for name in self.added]
        out += [f"- {name} (only in the reference)" for name in self.removed]
        out += [f"~ {name}: {', '.join(fields)} differ" for name, fields in self.changed.items()]
        return out or ["no drift"]


def drift(reference: ToolList, current: ToolList) -> Drift:
    ref = {t["name"]: t for t in reference}
    cur = {t["name"]: t for t in current}
    result = Drift(added=sorted(cur.keys() - ref.keys()), removed=sorted(ref.keys() - cur.keys()))
    for name in sorted(ref.keys() & cur.keys()):
        fields = sorted(k for k in ref[name].keys() | cur[name].keys() if ref[name].get(k) != cur[name].get(k))
        if fields:
            result.changed[name] = fields
    return result
