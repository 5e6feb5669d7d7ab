"""Repository content as real git objects (dulwich): real SHA-1s, branches, history and diffs.

Repositories live in memory, or as bare repositories under a data directory so that they survive a
restart of the sandbox.
"""

from __future__ import annotations

import heapq
import io
import posixpath
import re
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from dulwich.diff_tree import tree_changes
from dulwich.errors import NotTreeError
from dulwich.graph import find_merge_base
from dulwich.index import commit_tree, validate_path_element_hfs, validate_path_element_ntfs
from dulwich.merge import three_way_merge
from dulwich.object_store import BaseObjectStore
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree
from dulwich.patch import write_tree_diff
from dulwich.refs import Ref, check_ref_format
from dulwich.repo import BaseRepo, MemoryRepo, Repo

HEADS = b"refs/heads/"
_OBJECT_CACHE_SIZE = 4096
_HEX = re.compile(r"[0-9a-f]{4,40}")
MAX_NAME_BYTES = 255  # one path component or one branch name: what file systems (and so git checkouts) hold
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RevisionNotFound(LookupError):
    pass


class AmbiguousRevision(LookupError):
    pass


class InvalidPath(ValueError):
    pass


class MergeConflict(Exception):
    def __init__(self, paths: list[str]) -> None:
        super().__init__(", ".join(paths))
        self.paths = paths


@dataclass(frozen=True)
class CommitInfo:
    hash: str
    message: str
    author: str  # "Name <email>"
    date: datetime
    parents: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    path: str
    is_dir: bool
    size: int
    mode: int
    sha: str


def valid_branch_name(name: str) -> bool:
    """git's ref-name rules (``git check-ref-format --branch``), as Bitbucket applies them to branch names.

    ``HEAD``, ``@`` and names starting with ``-`` are refused as git refuses them for branches.
    """
    raw = name.encode("utf-8", "surrogatepass")
    return (
        0 < len(raw) <= MAX_NAME_BYTES
        and name not in ("HEAD", "@")
        and not name.startswith("-")
        and check_ref_format(Ref(HEADS + raw))
    )


def clean_path(path: str) -> str:
    """Normalise a repository path; refuse what ``git fsck`` or a checkout would refuse.

    Refused: traversal (``..``), ``.git`` in any component and in its NTFS and HFS+ spellings (``.GIT``,
    ``git~1``, ``.git.``), control characters (a newline corrupts tree listings in tools), backslashes (a
    separator on Windows) and components longer than file systems hold.
    """
    parts = [p for p in path.strip("/").split("/") if p not in ("", ".")]
    for part in parts:
        raw = part.encode("utf-8", "surrogatepass")
        if (
            part == ".."
            or "\\" in part
            or _CONTROL.search(part)
            or len(raw) > MAX_NAME_BYTES
            or not (validate_path_element_ntfs(raw) and validate_path_element_hfs(raw))
        ):
            raise InvalidPath(path)
    return "/".join(parts)


class GitRepo:
    """One repository. Branch heads and parsed commits are cached: reads dominate, and every ref
    change goes through this class, which refreshes the branch cache."""

    def __init__(self, repo: BaseRepo) -> None:
        self._repo = repo
        self._heads: dict[str, str] | None = None
        self._sorted: tuple[tuple[str, str], ...] | None = None  # branches() in name order, until a ref changes
        self._commits: dict[str, CommitInfo] = {}
        self._generations: dict[str, int] = {}
        self._objects: dict[ObjectID, ShaFile] = {}  # parsed trees and blobs; the store copies on every read

    @property
    def store(self) -> BaseObjectStore:
        return self._repo.object_store

    # refs -------------------------------------------------------------------------------------
    def _branch_heads(self) -> dict[str, str]:
        if self._heads is None:
            refs = self._repo.get_refs()
            self._heads = {r[len(HEADS) :].decode(): sha.decode() for r, sha in refs.items() if r.startswith(HEADS)}
        return self._heads

    def branches(self) -> list[tuple[str, str]]:
        """(name, head) of every branch, by name; the order is kept until a ref changes, so a page costs no sort."""
        if self._sorted is None:
            self._sorted = tuple(sorted(self._branch_heads().items()))
        return list(self._sorted)

    def branch_head(self, name: str) -> str | None:
        return self._branch_heads().get(name)

    def set_branch(self, name: str, sha: str) -> None:
        self._repo.refs[Ref(HEADS + name.encode())] = ObjectID(sha.encode())
        self._branch_heads()[name] = sha
        self._sorted = None

    def conflicting_branch(self, name: str) -> str | None:
        """A branch that rules ``name`` out: refs are paths, so ``a`` and ``a/b`` cannot both exist."""
        heads = self._branch_heads()
        parts = name.split("/")
        for i in range(1, len(parts)):  # a branch where name would need a directory: "a" for "a/b"
            if (prefix := "/".join(parts[:i])) in heads:
                return prefix
        below = [b for b in heads if b.startswith(name + "/")]  # branches inside name: "a/b" for "a"
        return min(below) if below else None

    def delete_branch(self, name: str) -> bool:
        ref = Ref(HEADS + name.encode())
        if ref not in self._repo.refs:
            return False
        del self._repo.refs[ref]
        self._branch_heads().pop(name, None)
        self._sorted = None
        return True

    def resolve(self, rev: str) -> str:
        """A branch name, a full hash or a unique abbreviated hash (4+ hex digits)."""
        head = self.branch_head(rev)
        if head:
            return head
        if not _HEX.fullmatch(rev):
            raise RevisionNotFound(rev)
        if len(rev) == 40:
            if ObjectID(rev.encode()) in self.store and isinstance(self.store[ObjectID(rev.encode())], Commit):
                return rev
            raise RevisionNotFound(rev)
        matches = {
            sha.decode() for sha in self.store if sha.decode().startswith(rev) and isinstance(self.store[sha], Commit)
        }
        if len(matches) > 1:
            raise AmbiguousRevision(rev)
        if not matches:
            raise RevisionNotFound(rev)
        return matches.pop()

    # commits ----------------------------------------------------------------------------------
    def _object(self, sha: ObjectID) -> ShaFile:
        """A parsed object, cached: objects are immutable and callers only read them."""
        obj = self._objects.get(sha)
        if obj is None:
            if len(self._objects) >= _OBJECT_CACHE_SIZE:
                self._objects.clear()
            obj = self._objects[sha] = self.store[sha]
        return obj

    def _commit(self, sha: str) -> Commit:
        obj = self._object(ObjectID(sha.encode()))
        assert isinstance(obj, Commit)
        return obj

    def commit(self, sha: str) -> CommitInfo:
        cached = self._commits.get(sha)  # commits are immutable, so the cache never goes stale
        if cached is None:
            c = self._commit(sha)
            tz = timezone(timedelta(seconds=c.author_timezone))
            cached = self._commits[sha] = CommitInfo(
                hash=sha,
                message=c.message.decode("utf-8", "replace"),
                author=c.author.decode("utf-8", "replace"),
                date=datetime.fromtimestamp(c.author_time, tz),
                parents=tuple(p.decode() for p in c.parents),
            )
        return cached

    def generation(self, sha: str) -> int:
        """1 for a root commit, else one more than its highest parent: a child always ranks above its parents."""
        stack = [sha]
        while stack:
            top = stack[-1]
            if top in self._generations:
                stack.pop()
                continue
            missing = [p for p in self.commit(top).parents if p not in self._generations]
            if missing:
                stack.extend(missing)
            else:
                stack.pop()
                self._generations[top] = 1 + max((self._generations[p] for p in self.commit(top).parents), default=0)
        return self._generations[sha]

    def log(self, include: list[str], exclude: list[str] | None = None, limit: int | None = None) -> list[CommitInfo]:
        """Commits reachable from ``include`` and not from ``exclude``, newest first (at most ``limit``).

        The walk pops commits by generation, so every child of a commit is seen before the commit itself and
        exclusion has reached it by then, whatever the timestamps say (a frozen clock gives equal ones). It
        stops as soon as only excluded commits are queued, without walking the rest of the history.
        """
        hidden: set[str] = set(exclude or [])
        queue: list[tuple[int, float, str]] = []
        queued: set[str] = set()

        def push(sha: str) -> None:
            if sha not in queued:
                queued.add(sha)
                heapq.heappush(queue, (-self.generation(sha), -self.commit(sha).date.timestamp(), sha))

        for sha in [*include, *hidden]:
            push(sha)
        out: list[CommitInfo] = []
        while queue and (limit is None or len(out) < limit) and not queued <= hidden:
            _, _, sha = heapq.heappop(queue)
            queued.discard(sha)
            info = self.commit(sha)
            if sha in hidden:
                hidden.update(info.parents)
            else:
                out.append(info)
            for parent in info.parents:
                push(parent)
        return out

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return any(c.hash == ancestor for c in self.log([descendant]))

    def commit_files(
        self,
        parent: str | None,
        changes: Mapping[str, bytes | None],
        message: str,
        author: str,
        when: datetime,
    ) -> str:
        """Write a commit on top of ``parent``: ``None`` content deletes a path.

        Raises ``InvalidPath`` when a path to delete does not exist (Bitbucket fails the commit).
        """
        files: dict[bytes, tuple[ObjectID, int]] = {}
        if parent:
            for entry in self.store.iter_tree_contents(self._commit(parent).tree):
                files[entry.path] = (entry.sha, entry.mode)
        for path, content in changes.items():
            key = clean_path(path).encode()
            if not key:
                raise InvalidPath(path)
            if content is None:
                if files.pop(key, None) is None:
                    raise InvalidPath(path)
                continue
            blob = Blob.from_string(content)
            self.store.add_object(blob)
            files[key] = (blob.id, stat.S_IFREG | 0o644)
        tree_id = commit_tree(self.store, [(p, sha, mode) for p, (sha, mode) in sorted(files.items())])
        return self._write_commit(tree_id, [parent] if parent else [], message, author, when)

    def _write_commit(self, tree: ObjectID, parents: list[str], message: str, author: str, when: datetime) -> str:
        c = Commit()
        c.tree = tree
        c.parents = [ObjectID(p.encode()) for p in parents]
        c.author = c.committer = author.encode()
        c.author_time = c.commit_time = int(when.timestamp())
        offset = when.utcoffset() or timedelta(0)
        c.author_timezone = c.commit_timezone = int(offset.total_seconds())
        c.encoding = b"UTF-8"
        c.message = message.encode()
        self.store.add_object(c)
        return c.id.decode()

    # content ----------------------------------------------------------------------------------
    def read(self, sha: str, path: str) -> bytes | list[Entry]:
        """A file's bytes, or a directory's entries; ``RevisionNotFound`` when the path is absent."""
        tree = self._object(self._commit(sha).tree)
        assert isinstance(tree, Tree)
        target = clean_path(path)
        obj: object = tree
        if target:
            try:
                _mode, obj_sha = tree.lookup_path(self._object, target.encode())
            except (KeyError, NotTreeError):  # NotTreeError: the path goes through a file (README.md/x)
                raise RevisionNotFound(path) from None
            obj = self._object(obj_sha)
        if isinstance(obj, Blob):
            return obj.as_raw_string()
        assert isinstance(obj, Tree)
        entries = []
        for item in obj.iteritems():
            child = posixpath.join(target, item.path.decode()) if target else item.path.decode()
            is_dir = stat.S_ISDIR(item.mode)
            size = 0 if is_dir else len(self._object(item.sha).as_raw_string())
            entries.append(Entry(child, is_dir, size, item.mode, item.sha.decode()))
        return entries

    def diff(self, old: str | None, new: str, path: str | None = None) -> str:
        """A unified diff; ``old`` None diffs a root commit against the empty tree."""
        out = io.BytesIO()
        write_tree_diff(out, self.store, self._commit(old).tree if old else None, self._commit(new).tree)
        text = out.getvalue().decode("utf-8", "replace")
        if not path:
            return text
        keep = [f for f in re.split(r"(?m)^(?=diff --git )", text) if f" b/{clean_path(path)}\n" in f]
        return "".join(keep)

    def changed_paths(self, old: str | None, new: str) -> list[str]:
        old_tree = self._commit(old).tree if old else None
        paths = []
        for change in tree_changes(self.store, old_tree, self._commit(new).tree):
            entry = change.new if change.new and change.new.path else change.old
            if entry and entry.path:
                paths.append(entry.path.decode())
        return paths

    def merge(
        self, source: str, destination: str, message: str, author: str, when: datetime, strategy: str = "merge_commit"
    ) -> str:
        """Merge ``source`` into ``destination``; returns the new head of the destination."""
        if self.is_ancestor(source, destination):
            return destination
        ff_possible = self.is_ancestor(destination, source)
        if strategy == "fast_forward":
            if not ff_possible:
                raise MergeConflict(["fast-forward not possible"])
            return source
        base_ids = find_merge_base(self._repo, [ObjectID(destination.encode()), ObjectID(source.encode())])
        base = self._commit(base_ids[0].decode()) if base_ids else None
        tree, conflicts = three_way_merge(self.store, base, self._commit(destination), self._commit(source))
        if conflicts:
            raise MergeConflict([c.decode() for c in conflicts])
        self.store.add_object(tree)
        parents = [destination] if strategy.startswith("squash") else [destination, source]
        return self._write_commit(tree.id, parents, message, author, when)


class GitStore:
    """All repositories of a sandbox, keyed by repository UUID."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root
        self._repos: dict[str, GitRepo] = {}
        if root:
            root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        assert self._root is not None
        return self._root / (key.strip("{}") + ".git")

    def create(self, key: str) -> GitRepo:
        if self._root:
            path = self._path(key)
            path.mkdir(parents=True, exist_ok=True)
            repo: BaseRepo = Repo.init_bare(str(path))
        else:
            repo = MemoryRepo()
        self._repos[key] = GitRepo(repo)
        return self._repos[key]

    def get(self, key: str) -> GitRepo:
        found = self._repos.get(key)
        if found is None and self._root and self._path(key).exists():
            found = self._repos[key] = GitRepo(Repo(str(self._path(key))))
        if found is None:
            raise KeyError(key)
        return found

    def delete(self, key: str) -> None:
        self._repos.pop(key, None)
        if self._root and self._path(key).exists():
            shutil.rmtree(self._path(key))

    def clear(self) -> None:
        for key in list(self._repos):
            self.delete(key)
        if self._root:
            for path in self._root.glob("*.git"):
                shutil.rmtree(path)


def now_utc() -> datetime:
    return datetime.now(UTC)
