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

_ENCODER = json.JSONEncoder(separators=(",", ":"))  # json.dumps(doc, separators=(",", ":")), built once


class Store:
    """Documents in SQLite, with an in-process read cache in front.

    The cache holds the stored JSON text of documents and of child lists, so a hit skips the SQL query but
    still returns a freshly parsed document (callers may mutate what they get). Every write goes through
    this class and updates or drops the entries it touches; a rollback drops the whole cache.
    A transaction's ``BEGIN`` is only sent at its first write: a request that only reads costs no
    ``BEGIN``/``COMMIT`` round trip, and one that writes is exactly as atomic as before.
    """

    _MAX_CACHED_DOCS = 100_000  # per kind; a kind's entries are dropped when it grows past this

    def __init__(self, path: Path | None = None) -> None:
        # One connection used from the server's event-loop thread; queries take microseconds.
        self._db = sqlite3.connect(str(path) if path else ":memory:", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._depth = 0
        self._begun = False  # whether the open transaction has sent BEGIN (at its first write)
        self._docs: dict[str, dict[str, str | None]] = {}  # kind -> key -> JSON text, None when absent
        self._lists: dict[str, dict[str | None, list[str]]] = {}  # kind -> parent (None: all) -> JSON texts

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
        self._depth = 1
        self._begun = False
        try:
            yield
        except BaseException:
            if self._begun:
                self._db.execute("ROLLBACK")
                self._forget()
            raise
        else:
            if self._begun:
                self._db.execute("COMMIT")
        finally:
            self._depth = 0
            self._begun = False

    def _write(self) -> None:
        """Called before every write: opens the SQL transaction when one is under way and not yet begun."""
        if self._depth and not self._begun:
            self._db.execute("BEGIN")
            self._begun = True

    def _forget(self, kind: str | None = None) -> None:
        if kind is None:
            self._docs.clear()
            self._lists.clear()
        else:
            self._docs.pop(kind, None)
            self._lists.pop(kind, None)

    def _remember(self, kind: str, key: str, text: str | None) -> None:
        docs = self._docs.setdefault(kind, {})
        if len(docs) >= self._MAX_CACHED_DOCS:
            docs.clear()
        docs[key] = text

    def put(self, kind: str, key: str, doc: Doc, parent: str = "") -> Doc:
        self._write()
        row = self._db.execute("SELECT seq FROM objects WHERE kind=? AND key=?", (kind, key)).fetchone()
        seq = row[0] if row else self.next_value(f"seq:{kind}")
        text = _ENCODER.encode(doc)
        self._db.execute(
            "INSERT OR REPLACE INTO objects (kind, key, parent, seq, doc) VALUES (?, ?, ?, ?, ?)",
            (kind, key, parent, seq, text),
        )
        self._lists.pop(kind, None)
        self._remember(kind, key, text)
        return doc

    def get(self, kind: str, key: str) -> Doc | None:
        docs = self._docs.get(kind)
        if docs is not None and key in docs:
            text = docs[key]
        else:
            row = self._db.execute("SELECT doc FROM objects WHERE kind=? AND key=?", (kind, key)).fetchone()
            text = row[0] if row else None
            self._remember(kind, key, text)
        return json.loads(text) if text is not None else None

    def delete(self, kind: str, key: str) -> bool:
        self._write()
        deleted = self._db.execute("DELETE FROM objects WHERE kind=? AND key=?", (kind, key)).rowcount > 0
        self._lists.pop(kind, None)
        self._remember(kind, key, None)
        return deleted

    def delete_children(self, kind: str, parent: str) -> None:
        self._write()
        self._db.execute("DELETE FROM objects WHERE kind=? AND parent=?", (kind, parent))
        self._forget(kind)

    def _texts(self, kind: str, parent: str | None) -> list[str]:
        lists = self._lists.setdefault(kind, {})
        texts = lists.get(parent)
        if texts is None:
            if parent is None:
                rows = self._db.execute("SELECT doc FROM objects WHERE kind=? ORDER BY seq", (kind,)).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT doc FROM objects WHERE kind=? AND parent=? ORDER BY seq", (kind, parent)
                ).fetchall()
            texts = lists[parent] = [r[0] for r in rows]
        return texts

    def children(self, kind: str, parent: str) -> list[Doc]:
        return [json.loads(t) for t in self._texts(kind, parent)]

    def all(self, kind: str) -> list[Doc]:
        return [json.loads(t) for t in self._texts(kind, None)]

    def count(self, kind: str, parent: str) -> int:
        cached = self._lists.get(kind, {}).get(parent)
        if cached is not None:
            return len(cached)
        row = self._db.execute("SELECT COUNT(*) FROM objects WHERE kind=? AND parent=?", (kind, parent))
        return int(row.fetchone()[0])

    def next_value(self, name: str) -> int:
        """A per-name counter (pull request ids per repository, issue ids, ...)."""
        self._write()
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            (name,),
        )
        return int(self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()[0])

    def drop_counter(self, name: str) -> None:
        self._write()
        self._db.execute("DELETE FROM counters WHERE name=?", (name,))

    def clear(self) -> None:
        self._write()
        self._db.execute("DELETE FROM objects")
        self._db.execute("DELETE FROM counters")
        self._forget()

    def is_empty(self) -> bool:
        return self._db.execute("SELECT 1 FROM objects LIMIT 1").fetchone() is None

    def close(self) -> None:
        self._forget()
        self._db.close()
