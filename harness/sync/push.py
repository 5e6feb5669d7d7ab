"""``harness sync push``: database -> Bitbucket, one commit per changed entity through the REST ``src`` endpoint.

An entity whose content Bitbucket already holds makes no commit. A commit Bitbucket refuses (a branch restriction,
a permission) stops the push with a message saying which entity, why, and how many went before it: a push never
reports success for what it did not commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.sync.bitbucket import Bitbucket, BitbucketFailure
from harness.sync.config import SyncConfig
from harness.sync.connect import SyncProblem
from harness.sync.entities import EntityError, parse
from harness.sync.store import Connection, Record, SyncStore

# The last line of every commit the sync makes: the receiver knows its own commits by it.
TRAILER = "Synced-by: harness sync"
BLOCKED = (
    "Bitbucket refused the commit of {path} to {branch}: {reason}. {done} of {total} changed entities were pushed "
    "before it and nothing after. A branch restriction may block the OAuth consumer (Repository settings > Branch "
    "restrictions): allow it to push to {branch}, or lift the restriction, then push again."
)


def commit_message(record: Record) -> str:
    verb = "Add" if record.synced_digest is None else "Update"
    return f"{verb} {record.kind} {record.slug}\n\n{record.path}, synced from the harness database.\n\n{TRAILER}\n"


def is_sync_commit(message: str) -> bool:
    return message.rstrip().endswith(TRAILER)


@dataclass
class Pushed:
    commits: list[tuple[Record, str]] = field(default_factory=list)  # entity, commit hash
    unchanged: int = 0

    def lines(self, connection: Connection) -> list[str]:
        where = f"{connection.repository}@{connection.branch}"
        if not self.commits:
            return [f"nothing to push: all {self.unchanged} entities are in sync with {where}"]
        out = [f"  {commit[:12]}  {record.kind} {record.slug}" for record, commit in self.commits]
        noun = "entity" if len(self.commits) == 1 else "entities"
        return [
            *out,
            f"pushed {len(self.commits)} {noun} to {where}, one commit each; {self.unchanged} unchanged",
        ]


async def push(config: SyncConfig, store: SyncStore, connection: Connection) -> Pushed:
    records = store.records()
    if not records:
        raise SyncProblem("the database holds no entities: run `harness sync import` first")
    pending = [r for r in records if r.pending]
    result = Pushed(unchanged=len(records) - len(pending))
    async with Bitbucket(config, connection.repository) as bitbucket:
        for record in pending:
            entity = record.entity
            assert entity is not None  # pending entities have content
            try:
                parse(entity, config.secrets())  # what is in the database may have been written by an older version
            except EntityError as exc:
                raise SyncProblem(f"not pushing {record.kind} {record.slug}: {exc.code}: {exc.message}") from None
            deleted = [path for path in record.synced_paths if path not in entity.files]
            try:
                commit = await bitbucket.commit(connection.branch, dict(entity.files), deleted, commit_message(record))
            except BitbucketFailure as exc:
                if exc.status in (403, 401):
                    raise SyncProblem(
                        BLOCKED.format(
                            path=record.path,
                            branch=connection.branch,
                            reason=f"{exc.status} {exc.message}",
                            done=len(result.commits),
                            total=len(pending),
                        )
                    ) from None
                raise SyncProblem(
                    f"pushing {record.path} failed after {len(result.commits)} of {len(pending)} entities: {exc}"
                ) from None
            store.pushed(entity, commit)
            result.commits.append((record, commit))
    return result
