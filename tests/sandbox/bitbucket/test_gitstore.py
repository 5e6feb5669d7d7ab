"""The git object store behind repository content: history walks, branch heads and reads."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox.bitbucket.gitstore import GitRepo, GitStore, RevisionNotFound

WHEN = datetime(2026, 1, 1, tzinfo=UTC)  # one timestamp for every commit, as under a frozen clock
AUTHOR = "Alice <alice@example.com>"


def commit(repo: GitRepo, parent: str | None, name: str) -> str:
    return repo.commit_files(parent, {f"{name}.txt": name.encode()}, name, AUTHOR, WHEN)


@pytest.fixture
def repo() -> GitRepo:
    return GitStore().create("{repo}")


def diamond(repo: GitRepo) -> dict[str, str]:
    """root - a - b (main) ; a - c (topic) ; merge(b, c) = m."""
    root = commit(repo, None, "root")
    a = commit(repo, root, "a")
    b = commit(repo, a, "b")
    c = commit(repo, a, "c")
    m = repo.merge(c, b, "merge", AUTHOR, WHEN)
    return {"root": root, "a": a, "b": b, "c": c, "m": m}


def test_log_lists_each_reachable_commit_once_children_before_parents(repo: GitRepo) -> None:
    h = diamond(repo)
    order = [c.hash for c in repo.log([h["m"]])]
    assert sorted(order) == sorted(h.values())
    for child, parent in [("m", "b"), ("m", "c"), ("b", "a"), ("c", "a"), ("a", "root")]:
        assert order.index(h[child]) < order.index(h[parent])


def test_log_exclusion_hides_every_ancestor_even_with_equal_timestamps(repo: GitRepo) -> None:
    h = diamond(repo)
    assert [c.hash for c in repo.log([h["m"]], [h["b"]])] in ([h["m"], h["c"]], [h["c"], h["m"]])
    assert repo.log([h["b"]], [h["m"]]) == []
    assert [c.hash for c in repo.log([h["c"]], [h["b"]])] == [h["c"]]


def test_log_limit_stops_early_and_keeps_the_newest(repo: GitRepo) -> None:
    head = None
    chain = []
    for i in range(50):
        head = commit(repo, head, f"c{i}")
        chain.append(head)
    assert [c.hash for c in repo.log([chain[-1]], limit=5)] == chain[:-6:-1]


def test_branch_heads_follow_every_change(repo: GitRepo) -> None:
    first = commit(repo, None, "first")
    repo.set_branch("main", first)
    assert repo.branch_head("main") == first  # read once, so the cache is filled
    second = commit(repo, first, "second")
    repo.set_branch("main", second)
    repo.set_branch("topic", first)
    assert repo.branches() == [("main", second), ("topic", first)]
    assert repo.delete_branch("topic") and not repo.delete_branch("topic")
    assert repo.branches() == [("main", second)]
    assert repo.resolve("main") == second and repo.resolve(second[:7]) == second
    with pytest.raises(RevisionNotFound):
        repo.resolve("topic")


def test_bare_repository_on_disk_is_real_git(tmp_path: Path) -> None:
    """Content written by the sandbox reads back with git itself: real objects, real hashes."""
    store = GitStore(tmp_path)
    repo = store.create("{abc}")
    head = repo.commit_files(None, {"README.md": b"# hi\n", "src/app.py": b"print(1)\n"}, "init", AUTHOR, WHEN)
    repo.set_branch("main", head)
    git_dir = str(tmp_path / "abc.git")
    shown = subprocess.run(["git", "--git-dir", git_dir, "show", "main:README.md"], capture_output=True, check=True)
    assert shown.stdout == b"# hi\n"
    rev = subprocess.run(["git", "--git-dir", git_dir, "rev-parse", "main"], capture_output=True, text=True, check=True)
    assert rev.stdout.strip() == head
    reopened = GitStore(tmp_path).get("{abc}")
    assert reopened.branch_head("main") == head and reopened.read(head, "src/app.py") == b"print(1)\n"


def test_a_branch_and_a_directory_of_the_same_name_conflict(repo: GitRepo) -> None:
    head = commit(repo, None, "root")
    for name in ("feature/login", "feature/z", "hotfix"):
        repo.set_branch(name, head)
    assert repo.conflicting_branch("feature") == "feature/login"  # the first inside it
    assert repo.conflicting_branch("hotfix/urgent") == "hotfix"
    assert repo.conflicting_branch("feature/login/v2") == "feature/login"
    assert repo.conflicting_branch("feature/logout") is None and repo.conflicting_branch("featured") is None
