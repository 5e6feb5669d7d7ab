"""The local side of the sync: a SQLite database of entities and their sync state.

Each entity row holds its last valid content (repository path -> text), the digest of that content and of what
Bitbucket holds as far as the sync knows (they differ while a local change waits for ``push``), the last commit it
was synced at, and ``git_integration``: the error of the last sync from Bitbucket (code, status, message, path,
commit), or nothing. A failed sync keeps the last valid content. Deliveries already processed are remembered by
their id, so a redelivery changes nothing twice; the connection (repository, branch, webhook) is one row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.sync.entities import KINDS, Entity, EntityError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL,
    slug TEXT NOT NULL,
    files TEXT,                 -- JSON {path: text}: the last valid content, NULL if there never was one
    digest TEXT,
    synced_digest TEXT,         -- the content Bitbucket holds as far as the sync knows
    synced_paths TEXT NOT NULL DEFAULT '[]',
    last_commit TEXT,
    commit_date TEXT,
    git_integration TEXT,       -- JSON error of the last sync from Bitbucket, NULL when it succeeded
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, slug)
);
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, received_at TEXT NOT NULL, summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS connection (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    repository TEXT NOT NULL,
    branch TEXT NOT NULL,
    webhook_uuid TEXT,
    webhook_url TEXT,
    connected_at TEXT NOT NULL
);
"""
KIND_ORDER = {name: i for i, name in enumerate(KINDS)}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Record:
    kind: str
    slug: str
    files: dict[str, str] | None
    digest: str | None
    synced_digest: str | None
    synced_paths: list[str]
    last_commit: str | None
    commit_date: str | None
    git_integration: dict[str, Any] | None
    updated_at: str

    @property
    def pending(self) -> bool:
        """A local change Bitbucket does not hold yet."""
        return self.files is not None and self.digest != self.synced_digest

    @property
    def entity(self) -> Entity | None:
        return Entity(self.kind, self.slug, self.files) if self.files is not None else None

    @property
    def path(self) -> str:
        return KINDS[self.kind].path(self.slug)


@dataclass(frozen=True)
class Connection:
    repository: str  # workspace/slug
    branch: str
    webhook_uuid: str | None
    webhook_url: str | None


class SyncStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One connection; the receiver uses it from its event loop only, the commands from their one thread.
        self._db = sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")  # `sync status` may read while `sync serve` writes
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # entities ----------------------------------------------------------------------------------------------------
    def get(self, kind: str, slug: str) -> Record | None:
        row = self._db.execute("SELECT * FROM entities WHERE kind=? AND slug=?", (kind, slug)).fetchone()
        return _record(row) if row else None

    def records(self) -> list[Record]:
        rows = [_record(r) for r in self._db.execute("SELECT * FROM entities")]
        return sorted(rows, key=lambda r: (KIND_ORDER[r.kind], r.slug))

    def _upsert(self, kind: str, slug: str, **values: Any) -> None:
        values = {
            k: json.dumps(v) if k in ("files", "synced_paths", "git_integration") and v is not None else v
            for k, v in values.items()
        } | {"updated_at": now()}
        if self.get(kind, slug) is None:
            names = ["kind", "slug", *values]
            marks = ", ".join("?" for _ in names)
            self._db.execute(
                f"INSERT INTO entities ({', '.join(names)}) VALUES ({marks})", (kind, slug, *values.values())
            )
        else:
            sets = ", ".join(f"{name}=?" for name in values)
            self._db.execute(f"UPDATE entities SET {sets} WHERE kind=? AND slug=?", (*values.values(), kind, slug))

    def save_local(self, entity: Entity) -> bool:
        """A local edit (``sync import``); True when the content changed. It waits for ``push``."""
        record = self.get(entity.kind, entity.slug)
        if record is not None and record.digest == entity.digest:
            return False
        self._upsert(entity.kind, entity.slug, files=dict(entity.files), digest=entity.digest)
        return True

    def pushed(self, entity: Entity, commit: str) -> None:
        self._upsert(
            entity.kind,
            entity.slug,
            synced_digest=entity.digest,
            synced_paths=sorted(entity.files),
            last_commit=commit,
            git_integration=None,
        )

    def received(self, entity: Entity, commit: str, date: str | None) -> None:
        """The entity as Bitbucket holds it at ``commit``: its content, in sync, any earlier error cleared."""
        self._upsert(
            entity.kind,
            entity.slug,
            files=dict(entity.files),
            digest=entity.digest,
            synced_digest=entity.digest,
            synced_paths=sorted(entity.files),
            last_commit=commit,
            commit_date=date,
            git_integration=None,
        )

    def failed(self, kind: str, slug: str, error: EntityError, path: str, commit: str, date: str | None) -> None:
        """The sync from Bitbucket failed: the error is recorded, the last valid content kept."""
        self._upsert(
            kind,
            slug,
            last_commit=commit,
            commit_date=date,
            git_integration={
                "code": error.code,
                "status": error.status,
                "message": error.message,
                "path": path,
                "commit": commit,
                "at": now(),
            },
        )

    def remove(self, kind: str, slug: str) -> None:
        self._db.execute("DELETE FROM entities WHERE kind=? AND slug=?", (kind, slug))

    # deliveries --------------------------------------------------------------------------------------------------
    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT summary FROM deliveries WHERE id=?", (delivery_id,)).fetchone()
        return dict(json.loads(row[0])) if row else None

    def record_delivery(self, delivery_id: str, summary: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO deliveries (id, received_at, summary) VALUES (?, ?, ?)",
            (delivery_id, now(), json.dumps(summary)),
        )

    # the connection ----------------------------------------------------------------------------------------------
    def connection(self) -> Connection | None:
        row = self._db.execute("SELECT repository, branch, webhook_uuid, webhook_url FROM connection").fetchone()
        return Connection(*row) if row else None

    def connect(self, connection: Connection) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO connection (id, repository, branch, webhook_uuid, webhook_url, connected_at) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            (connection.repository, connection.branch, connection.webhook_uuid, connection.webhook_url, now()),
        )

    def dump(self) -> str:
        """Everything the database holds, as text (what "nothing changed" compares)."""
        tables = ("entities", "deliveries", "connection")
        return json.dumps({t: [list(r) for r in self._db.execute(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in tables})


def _record(row: tuple[Any, ...]) -> Record:
    kind, slug, files, digest, synced, paths, commit, date, error, updated = row
    return Record(
        kind,
        slug,
        json.loads(files) if files else None,
        digest,
        synced,
        json.loads(paths),
        commit,
        date,
        json.loads(error) if error else None,
        updated,
    )
