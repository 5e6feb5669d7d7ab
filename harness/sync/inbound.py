"""Bitbucket -> database: what a push changed, fetched, classified, validated and recorded per entity.

Only the files the push changed are fetched (its diffstat), and a skill is rebuilt from every file of its
directory. A file that cannot become its entity records its error on the entity (``git_integration``) and keeps
the entity's last valid content; the next good sync of that file clears it. Fetching happens first; recording is
one transaction with the delivery's id, so a delivery is applied whole or not at all, and only once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from harness.sync.bitbucket import Bitbucket, BitbucketFailure
from harness.sync.entities import (
    KINDS,
    Entity,
    EntityError,
    McpClientSpec,
    McpServerSpec,
    ModelSpec,
    ToolkitSpec,
    check_toolkit,
    locate,
    parse,
)
from harness.sync.push import is_sync_commit
from harness.sync.store import SyncStore

J = dict[str, Any]
# Servers first: a toolkit pushed with its server is checked against the server's new tool list.
APPLY_ORDER = {"mcp-server": 0}


@dataclass(frozen=True)
class Change:
    """One branch update of a ``repo:push``."""

    new: str
    old: str | None
    date: str | None  # the new head commit's date
    own: bool  # the sync made the head commit itself (a push from the database)


@dataclass(frozen=True)
class Fetched:
    kind: str
    slug: str
    files: dict[str, str] | None  # None: the entity is gone from the repository
    error: EntityError | None = None


@dataclass(frozen=True)
class Finding:
    """An error worth showing on the commit: a file, its line when known, the message."""

    path: str
    line: int | None
    code: str
    message: str


@dataclass
class Applied:
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    scenarios: set[str] = field(default_factory=set)  # valid scenarios this push changed
    # The stacks scenarios run on that this push changed: framework variants (MCP clients), routes (MCP servers)
    # and models, by the names runs use.
    stacks: dict[str, set[str]] = field(default_factory=lambda: {"frameworks": set(), "routes": set(), "models": set()})

    def summary(self) -> J:
        return {
            "updated": self.updated,
            "removed": self.removed,
            "errors": [{"path": f.path, "code": f.code, "message": f.message} for f in self.errors],
            "stale": self.stale,
        }


def changes_of(payload: J, branch: str) -> list[Change]:
    """The updates of ``branch`` in a push payload (other branches, tags and deletions are not synced)."""
    found = []
    for change in (payload.get("push") or {}).get("changes") or []:
        new = change.get("new") or {}
        if new.get("type") != "branch" or new.get("name") != branch:
            continue
        target = new.get("target") or {}
        old = (change.get("old") or {}).get("target") or {}
        message = str(target.get("message") or "")
        found.append(Change(str(target["hash"]), old.get("hash"), target.get("date"), is_sync_commit(message)))
    return found


async def _fetch_file(bitbucket: Bitbucket, commit: str, path: str) -> str:
    try:
        return await bitbucket.read(commit, path)
    except UnicodeDecodeError:
        raise EntityError("VALIDATION_FAILED", f"{path}: not UTF-8 text; only text files are synced") from None
    except BitbucketFailure as exc:
        raise EntityError(
            "FETCH_FAILED",
            f"{path} at {commit[:12]}: {exc}. Check the OAuth consumer's permissions and repository access.",
        ) from None


async def fetch(bitbucket: Bitbucket, change: Change) -> list[Fetched]:
    """Every entity the change touched, as the repository holds it at the new head. A diffstat that cannot be
    read raises BitbucketFailure (the delivery fails and Bitbucket retries it)."""
    stats = await bitbucket.diffstat(change.new, change.old)
    touched: dict[tuple[str, str], bool] = {}  # (kind, slug) -> whether its main file was removed
    for stat in stats:
        for side in ("new", "old"):
            path = (stat.get(side) or {}).get("path")
            found = locate(path) if path else None
            if found:
                key = (found[0].name, found[1])
                gone = stat.get("status") == "removed" and path == found[0].path(found[1])
                touched[key] = touched.get(key, False) or gone
    out = []
    for (kind, slug), gone in sorted(touched.items()):
        try:
            out.append(await _fetch_entity(bitbucket, change.new, kind, slug, gone))
        except EntityError as exc:
            out.append(Fetched(kind, slug, None, exc))
    return out


async def _fetch_entity(bitbucket: Bitbucket, commit: str, kind: str, slug: str, gone: bool) -> Fetched:
    if KINDS[kind].suffix != "/":
        if gone:
            return Fetched(kind, slug, None)
        path = KINDS[kind].path(slug)
        return Fetched(kind, slug, {path: await _fetch_file(bitbucket, commit, path)})
    directory = f"skills/{slug}"
    try:
        paths = await bitbucket.files_under(commit, directory)
    except BitbucketFailure as exc:
        raise EntityError("FETCH_FAILED", f"{directory}/ at {commit[:12]}: {exc}") from None
    if not paths:
        return Fetched(kind, slug, None)
    return Fetched(kind, slug, {p: await _fetch_file(bitbucket, commit, p) for p in paths})


def _finding(error: EntityError, path: str) -> Finding:
    at = re.match(r"^(\S+?):(\d+):", error.message)
    return Finding(at.group(1) if at else path, int(at.group(2)) if at else None, error.code, error.message)


def _newer(held: str | None, date: str | None) -> bool:
    """Whether what the database holds comes from a later commit than ``date`` (deliveries may arrive out of
    order: an older one must not overwrite a newer sync)."""
    if not held or not date:
        return False
    try:
        return datetime.fromisoformat(held) > datetime.fromisoformat(date)
    except ValueError:
        return False


def _servers(store: SyncStore) -> dict[str, McpServerSpec]:
    servers = {}
    for record in store.records():
        if record.kind == "mcp-server" and record.entity is not None:
            try:
                servers[record.slug] = parse(record.entity)
            except EntityError:
                continue
    return servers


def apply(store: SyncStore, change: Change, fetched: list[Fetched], secrets: list[str]) -> Applied:
    """Record what was fetched (call inside the store's transaction)."""
    applied = Applied()
    for item in sorted(fetched, key=lambda f: (APPLY_ORDER.get(f.kind, 1), f.kind, f.slug)):
        name, path = f"{item.kind} {item.slug}", KINDS[item.kind].path(item.slug)
        held = store.get(item.kind, item.slug)
        if held is not None and _newer(held.commit_date, change.date):
            applied.stale.append(name)
            continue
        if item.files is None and item.error is None:
            old = held.entity if held else None
            store.remove(item.kind, item.slug)
            applied.removed.append(name)
            _stack(applied, item.kind, _parsed(old) if old else None, item.slug)
            continue
        try:
            if item.error is not None:
                raise item.error
            assert item.files is not None
            entity = Entity(item.kind, item.slug, item.files)
            spec = parse(entity, secrets)
            if isinstance(spec, ToolkitSpec):
                check_toolkit(spec, path, _servers(store))
        except EntityError as exc:
            store.failed(item.kind, item.slug, exc, path, change.new, change.date)
            applied.errors.append(_finding(exc, path))
            continue
        store.received(entity, change.new, change.date)
        applied.updated.append(name)
        if item.kind == "scenario":
            applied.scenarios.add(item.slug)
        _stack(applied, item.kind, spec, item.slug)
    return applied


def _parsed(entity: Entity) -> Any:
    try:
        return parse(entity)
    except EntityError:
        return None


def _stack(applied: Applied, kind: str, spec: Any, slug: str) -> None:
    """Note the framework, route or model a changed MCP client, server or model entry stands for. Toolkits and
    skills are synced configuration that runs do not read, so changing them runs nothing."""
    if kind == "mcp-client":
        applied.stacks["frameworks"].add(spec.framework if isinstance(spec, McpClientSpec) else slug)
    elif kind == "mcp-server":
        route = spec.route if isinstance(spec, McpServerSpec) else slug
        if route:
            applied.stacks["routes"].add(route)
    elif kind == "model":
        applied.stacks["models"].add(spec.name if isinstance(spec, ModelSpec) else slug)
