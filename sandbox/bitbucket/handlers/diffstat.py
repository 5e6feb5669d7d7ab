"""``R/diffstat/{spec}``: one record per changed path between two commits (or a commit and its first parent).

``spec`` is ``new..old`` (the commit with the changes first, as for ``R/diff``); ``topic=true`` compares with the
merge base instead of ``old``. Choices where the service is not documented: renames are reported as a removal and
an addition (no rename detection), and binary files count no lines.
"""

from __future__ import annotations

import difflib

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.gitstore import GitRepo, RevisionNotFound
from sandbox.bitbucket.handlers.repositories import repo_for
from sandbox.bitbucket.handlers.source import resolve
from sandbox.bitbucket.render import href, qpath
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc


def _revisions(ctx: Ctx, git: GitRepo) -> tuple[str, str | None]:
    spec = ctx.param("spec")
    if ".." not in spec:
        new = resolve(git, spec)
        parents = git.commit(new).parents
        return new, parents[0] if parents else None
    new_rev, _, old_rev = spec.partition("..")
    new, old = resolve(git, new_rev), resolve(git, old_rev)
    if ctx.query.get("topic") == "true":
        bases = {c.hash for c in git.log([old])}
        old = next((c.hash for c in git.log([new]) if c.hash in bases), old)
    return new, old


def _blob(git: GitRepo, sha: str | None, path: str) -> bytes | None:
    if sha is None:
        return None
    try:
        found = git.read(sha, path)
    except RevisionNotFound:
        return None
    return found if isinstance(found, bytes) else None


def _lines(data: bytes | None) -> list[str]:
    if data is None or b"\0" in data:
        return []
    return data.decode("utf-8", "replace").splitlines()


def _file(ctx: Ctx, repo: Doc, sha: str, path: str) -> J:
    return {
        "type": "commit_file",
        "path": path,
        "escaped_path": path,
        "links": {"self": href(f"{ctx.r.repo_base(repo)}/src/{sha}/{qpath(path)}")},
    }


@route("get", "/repositories/{workspace}/{repo_slug}/diffstat/{spec}", greedy=("spec",))
def diffstat(ctx: Ctx) -> J:
    repo = repo_for(ctx)
    git = ctx.world.repo_git(repo)
    new, old = _revisions(ctx, git)
    values = []
    for path in git.changed_paths(old, new):
        before, after = _blob(git, old, path), _blob(git, new, path)
        added = removed = 0
        for line in difflib.unified_diff(_lines(before), _lines(after), n=0, lineterm=""):
            if not line.startswith(("+++", "---")):
                added += line.startswith("+")
                removed += line.startswith("-")
        status = "added" if before is None else "removed" if after is None else "modified"
        entry: J = {"type": "diffstat", "status": status, "lines_added": added, "lines_removed": removed}
        if before is not None and old:  # an added file has no old side, a removed one no new side
            entry["old"] = _file(ctx, repo, old, path)
        if after is not None:
            entry["new"] = _file(ctx, repo, new, path)
        values.append(entry)
    return ctx.page(values, default_pagelen=500, filterable=False)
