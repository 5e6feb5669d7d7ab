"""The non-git state (users, workspaces, pull requests, issues, comments, tokens, webhooks) in SQLite.

Each object is a JSON document addressed by ``(kind, key)`` and grouped under a ``parent`` key in
insertion order. Every request runs in one transaction, so a failing request changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, key TEXT NOT NULL, parent TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS objects_by_parent ON objects (kind, parent, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    def __init__(self, path: Path | None = None) -> None:
        # One connection used from the server's event-loop thread; queries take microseconds.
        self._db = sqlite3.connect(str(path) if path else ":memory:", isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; nested calls join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def put(self, kind: str, key: str, doc: Doc, parent: str = "") -> Doc:
        row = self._db.execute("SELECT seq FROM objects WHERE kind=? AND key=?", (kind, key)).fetchone()
        seq = row[0] if row else self.next_value(f"seq:{kind}")
        self._db.execute(
            "INSERT OR REPLACE INTO objects (kind, key, parent, seq, doc) VALUES (?, ?, ?, ?, ?)",
            (kind, key, parent, seq, json.dumps(doc, separators=(",", ":"))),
        )
        return doc

    def get(self, kind: str, key: str) -> Doc | None:
        row = self._db.execute("SELECT doc FROM objects WHERE kind=? AND key=?", (kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, kind: str, key: str) -> bool:
        return self._db.execute("DELETE FROM objects WHERE kind=? AND key=?", (kind, key)).rowcount > 0

    def delete_children(self, kind: str, parent: str) -> None:
        self._db.execute("DELETE FROM objects WHERE kind=? AND parent=?", (kind, parent))

    def children(self, kind: str, parent: str) -> list[Doc]:
        rows = self._db.execute(
            "SELECT doc FROM objects WHERE kind=? AND parent=? ORDER BY seq", (kind, parent)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def all(self, kind: str) -> list[Doc]:
        rows = self._db.execute("SELECT doc FROM objects WHERE kind=? ORDER BY seq", (kind,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, kind: str, parent: str) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM objects WHERE kind=? AND parent=?", (kind, parent))
        return int(row.fetchone()[0])

    def next_value(self, name: str) -> int:
        """A per-name counter (pull request ids per repository, issue ids, ...)."""
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1", (name,)
        )
        return int(self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()[0])

    def clear(self) -> None:
        self._db.execute("DELETE FROM objects")
        self._db.execute("DELETE FROM counters")

    def is_empty(self) -> bool:
        return self._db.execute("SELECT 1 FROM objects LIMIT 1").fetchone() is None

    def close(self) -> None:
        self._db.close()
