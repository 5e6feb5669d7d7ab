"""Branches, source files, commits and diffs, all read from and written to real git objects."""

from __future__ import annotations

import mimetypes
import re

from starlette.responses import RedirectResponse, Response

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.deviations import RENDERED_EXTENSIONS
from sandbox.bitbucket.errors import BitbucketError, bad_request, field_error
from sandbox.bitbucket.gitstore import (
    AmbiguousRevision,
    GitRepo,
    InvalidPath,
    RevisionNotFound,
    clean_path,
    valid_branch_name,
)
from sandbox.bitbucket.handlers.repositories import repo_for
from sandbox.bitbucket.markup import rendered
from sandbox.bitbucket.records import author_line
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.webhooks import push_payload

# Content types by extension for raw file reads; Bitbucket sends no charset.
_EXTRA_TYPES = {
    ".md": "text/markdown",
    ".py": "text/x-python",
    ".yaml": "text/x-yaml",
    ".yml": "text/x-yaml",
    ".toml": "text/x-toml",
    ".ts": "text/x-typescript",
    ".rs": "text/x-rust",
    ".go": "text/x-go",
}


def content_type(path: str) -> str:
    ext = ("." + path.rsplit(".", 1)[-1].lower()) if "." in path.rsplit("/", 1)[-1] else ""
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type(path)[0] or "text/plain"


def resolve(git: GitRepo, rev: str, what: str = "Commit") -> str:
    try:
        return git.resolve(rev)
    except AmbiguousRevision:
        raise bad_request(f"The revision {rev} is ambiguous.") from None
    except RevisionNotFound:
        raise BitbucketError(404, f"{what} not found", detail=f"Could not resolve revision {rev}.") from None


def users_by_email(ctx: Ctx) -> dict[str, Doc]:
    return {u["email"]: u for u in ctx.users.values()}


def commit_json(ctx: Ctx, repo: Doc, git: GitRepo, sha: str) -> J:
    return ctx.r.commit(repo, git.commit(sha), users_by_email(ctx))


def branch_json(ctx: Ctx, repo: Doc, git: GitRepo, name: str, sha: str) -> J:
    return ctx.r.branch(repo, name, commit_json(ctx, repo, git, sha))


# branches -------------------------------------------------------------------------------------------
@route("get", "/repositories/{workspace}/{repo_slug}/refs/branches")
def list_branches(ctx: Ctx) -> J:
    repo = repo_for(ctx)
    git = ctx.world.repo_git(repo)
    return ctx.page(git.branches(), render=lambda branch: branch_json(ctx, repo, git, *branch))


@route("get", "/repositories/{workspace}/{repo_slug}/refs/branches/{name}", greedy=("name",))
def get_branch(ctx: Ctx) -> J:
    repo = repo_for(ctx)
    git = ctx.world.repo_git(repo)
    sha = git.branch_head(ctx.param("name"))
    if sha is None:
        raise BitbucketError(404, f'Branch "{ctx.param("name")}" not found')
    return branch_json(ctx, repo, git, ctx.param("name"), sha)


@route("post", "/repositories/{workspace}/{repo_slug}/refs/branches")
def create_branch(ctx: Ctx) -> Response:
    repo = repo_for(ctx, "write")
    git = ctx.world.repo_git(repo)
    body = ctx.fields()
    name = body.get("name")
    target = body.get("target")
    if not isinstance(name, str) or not name:
        raise field_error("name", "This field is required.")
    if name.startswith("refs/") or not valid_branch_name(name):
        raise field_error("name", f'"{name}" is not a valid branch name.')
    if not isinstance(target, dict) or not isinstance(target.get("hash"), str) or not target["hash"]:
        raise field_error("target", "target.hash is required: a commit hash or a branch name.")
    _restricted(ctx, repo, name, "push")
    if git.branch_head(name) is not None:
        raise BitbucketError(
            400,
            f'BRANCH_ALREADY_EXISTS: Branch "{name}" already exists.',
            detail=f'Branch "{name}" already exists.',
            fields={"name": ["already exists"]},
        )
    _no_conflict(git, name, "name")
    sha = resolve(git, target["hash"], "Target commit")
    git.set_branch(name, sha)
    ctx.world.emit(repo["full_name"], "repo:push", push_payload(ctx, repo, git, name, old=None, new=sha, created=True))
    out = branch_json(ctx, repo, git, name, sha)
    return _created(out, out["links"]["self"]["href"])


@route("delete", "/repositories/{workspace}/{repo_slug}/refs/branches/{name}", greedy=("name",))
def delete_branch(ctx: Ctx) -> Response:
    repo = repo_for(ctx, "write")
    git = ctx.world.repo_git(repo)
    name = ctx.param("name")
    if name == repo["mainbranch"]:
        raise BitbucketError(400, "You can't delete the main branch.")
    _restricted(ctx, repo, name, "delete")
    old = git.branch_head(name)
    if old is None or not git.delete_branch(name):
        raise BitbucketError(404, f'Branch "{name}" not found')
    ctx.world.emit(repo["full_name"], "repo:push", push_payload(ctx, repo, git, name, old=old, new=None))
    return Response(status_code=204)


def _restricted(ctx: Ctx, repo: Doc, branch: str, kind: str) -> None:
    from sandbox.bitbucket.handlers.restrictions import check_branch  # it builds on this module

    check_branch(ctx, repo, branch, kind)


def _no_conflict(git: GitRepo, name: str, field: str) -> None:
    conflict = git.conflicting_branch(name)
    if conflict is not None:
        raise field_error(field, f'"{name}" conflicts with the existing branch "{conflict}".')


def _created(body: J, location: str) -> Response:
    from sandbox.bitbucket.app import Json

    return Json(body, status_code=201, headers={"Location": location})


# source -----------------------------------------------------------------------------------------------
@route("get", "/repositories/{workspace}/{repo_slug}/src")
def src_root(ctx: Ctx) -> Response:
    repo = repo_for(ctx)
    git = ctx.world.repo_git(repo)
    head = git.branch_head(repo["mainbranch"])
    if head is None:
        raise BitbucketError(404, "Repository is empty")
    query = f"?{ctx.query}" if str(ctx.query) else ""
    return RedirectResponse(f"{ctx.r.repo_base(repo)}/src/{head}/{query}", status_code=302)


@route("get", "/repositories/{workspace}/{repo_slug}/src/{commit}/{path}", greedy=("path",))
def read_src(ctx: Ctx) -> Response | J:
    repo = repo_for(ctx)
    git = ctx.world.repo_git(repo)
    rev = ctx.param("commit")
    sha = resolve(git, rev)
    raw_path = ctx.param("path")
    try:
        path = clean_path(raw_path)
        found = git.read(sha, path)
    except InvalidPath:
        raise bad_request(f"Invalid path: {raw_path}") from None
    except RevisionNotFound:
        raise BitbucketError(404, f"No such file or directory: {raw_path}") from None
    meta = ctx.query.get("format") == "meta"
    if isinstance(found, bytes):
        if meta:
            return {**ctx.r.tree_entry(repo, sha, path, False, len(found)), "commit": commit_json(ctx, repo, git, sha)}
        if ctx.query.get("format") == "rendered":
            return _rendered(path, found)
        return Response(
            found,
            headers={
                "Content-Type": content_type(path),
                "Content-Disposition": f'attachment; filename="{path.rsplit("/", 1)[-1]}"',
                "ETag": f'"{sha[:12]}"',
            },
        )
    if meta:
        return {**ctx.r.tree_entry(repo, sha, path, True, 0), "commit": commit_json(ctx, repo, git, sha)}
    depth = _max_depth(ctx)
    entries: list[J] = []
    _walk(ctx, repo, git, sha, path, depth, entries)
    return ctx.page(entries)


def _rendered(path: str, content: bytes) -> J:
    """format=rendered: the file as ``{raw, markup, html}``, for the file types the document lists."""
    name = path.rsplit("/", 1)[-1].lower()
    markup = next((m for ext, m in RENDERED_EXTENSIONS.items() if name.endswith(ext)), None)
    if markup is None:
        supported = ", ".join(RENDERED_EXTENSIONS)
        raise field_error("format", f"format=rendered supports only these file types: {supported}.")
    if b"\0" in content:
        raise field_error("format", "format=rendered needs a text file; this one is binary.")
    return rendered(content.decode("utf-8", "replace"), markup)


def _max_depth(ctx: Ctx) -> int:
    raw = ctx.query.get("max_depth", "1")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 20:  # "²".isdigit() but int() refuses it
        raise BitbucketError(400, "Invalid max_depth", fields={"max_depth": ["Must be a number from 1 to 20."]})
    return int(raw)


def _walk(ctx: Ctx, repo: Doc, git: GitRepo, sha: str, path: str, depth: int, out: list[J]) -> None:
    listing = git.read(sha, path)
    assert isinstance(listing, list)
    for entry in listing:
        out.append(ctx.r.tree_entry(repo, sha, entry.path, entry.is_dir, entry.size))
        if entry.is_dir and depth > 1:
            _walk(ctx, repo, git, sha, entry.path, depth - 1, out)


@route("post", "/repositories/{workspace}/{repo_slug}/src")
def commit_src(ctx: Ctx) -> Response:
    """Commit by upload: ``/path=content`` fields, ``files`` to delete, ``message``, ``branch``, ``parents``."""
    repo = repo_for(ctx, "write")
    git = ctx.world.repo_git(repo)
    fields = ctx.form if ctx.form is not None else _query_fields(ctx)
    if not fields:
        raise bad_request("No files were given: send form fields named after the file paths.")
    changes: dict[str, bytes | None] = {}
    meta: dict[str, str] = {}
    for key, value in fields:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if key == "files":
            changes[_path(text)] = None
        elif key in ("message", "author", "parents", "branch") and not key.startswith("/"):
            meta[key] = text
        else:
            changes[_path(key)] = value if isinstance(value, bytes) else value.encode()
    for key in ("message", "author", "parents", "branch"):
        if key in ctx.query and key not in meta:
            meta[key] = ctx.query[key]
    if not changes:
        raise bad_request("The commit changes nothing: add at least one file field or a files entry.")
    branch = meta.get("branch") or repo["mainbranch"]
    if not valid_branch_name(branch):
        raise field_error("branch", f'"{branch}" is not a valid branch name.')
    _restricted(ctx, repo, branch, "push")
    old = git.branch_head(branch)
    if old is None:
        _no_conflict(git, branch, "branch")
    parent = (
        resolve(git, meta["parents"].split(",")[0].strip(), "Parent commit")
        if meta.get("parents")
        else old or git.branch_head(repo["mainbranch"])
    )
    author = meta.get("author") or author_line(
        ctx.me, ctx.cred.principal.display_name if ctx.cred.principal else "Sandbox"
    )
    if not re.fullmatch(r"[^<>\n]+ <[^<>\n]+>", author):  # a newline would corrupt the commit's header
        raise field_error("author", "Must be of the form 'Name <email>'.")
    try:
        sha = git.commit_files(
            parent, changes, meta.get("message") or "Edited online with Bitbucket", author, ctx.world.clock.now()
        )
    except InvalidPath as exc:
        raise bad_request(f"Invalid path or nothing to delete at: {exc}") from None
    git.set_branch(branch, sha)
    ctx.world.emit(
        repo["full_name"], "repo:push", push_payload(ctx, repo, git, branch, old=old, new=sha, created=old is None)
    )
    return Response(status_code=201, headers={"Location": f"{ctx.r.repo_base(repo)}/commit/{sha}"})


def _path(raw: str) -> str:
    try:
        path = clean_path(raw)
    except InvalidPath:
        path = ""
    if not path:
        raise bad_request(f"Invalid path: {raw!r}", fields={"path": [f"{raw!r} is not a valid file path in git."]})
    return path


def _query_fields(ctx: Ctx) -> list[tuple[str, str | bytes]]:
    if ctx.body is not None:
        raise bad_request("POST src takes multipart/form-data or application/x-www-form-urlencoded, not JSON.")
    return []


# commits and diffs -----------------------------------------------------------------------------------
def _commits(ctx: Ctx, include: list[str]) -> J:
    repo = repo_for(ctx)
    git = ctx.world.repo_git(repo)
    heads = include or ([h] if (h := git.branch_head(repo["mainbranch"])) else [])
    shas = [resolve(git, rev) for rev in heads]
    exclude = [resolve(git, rev) for rev in ctx.query.getlist("exclude")]
    values = [ctx.r.commit(repo, info, users_by_email(ctx)) for info in git.log(shas, exclude)] if shas else []
    return ctx.page(values, default_pagelen=30, filterable=False)


@route("get", "/repositories/{workspace}/{repo_slug}/commits")
def list_commits(ctx: Ctx) -> J:
    return _commits(ctx, ctx.query.getlist("include"))


@route("get", "/repositories/{workspace}/{repo_slug}/commits/{revision}", greedy=("revision",))
def list_commits_from(ctx: Ctx) -> J:
    return _commits(ctx, [ctx.param("revision"), *ctx.query.getlist("include")])


@route("get", "/repositories/{workspace}/{repo_slug}/commit/{commit}")
def get_commit(ctx: Ctx) -> J:
    repo = repo_for(ctx)
    git = ctx.world.repo_git(repo)
    return commit_json(ctx, repo, git, resolve(git, ctx.param("commit")))


@route("get", "/repositories/{workspace}/{repo_slug}/diff/{spec}", greedy=("spec",))
def diff(ctx: Ctx) -> Response:
    """``src..dst`` (pull-request order: changes on src since dst), or a single commit against its parent."""
    repo = repo_for(ctx)
    git = ctx.world.repo_git(repo)
    spec = ctx.param("spec")
    if "\r" in spec:  # the pull-request form: {ws}/{repo}:{src}%0D{dst}, always three-dot
        new_rev, _, old_rev = spec.rpartition(":")[2].partition("\r")
        new, old_sha = resolve(git, new_rev), resolve(git, old_rev)
        bases = {c.hash for c in git.log([old_sha])}
        old: str | None = next((c.hash for c in git.log([new]) if c.hash in bases), old_sha)
    elif ".." in spec:
        new_rev, _, old_rev = spec.partition("..")
        new, old_sha = resolve(git, new_rev), resolve(git, old_rev)
        old = old_sha
        if ctx.query.get("topic") == "true":  # three-dot: changes on src since the merge base
            bases = {c.hash for c in git.log([old_sha])}
            old = next((c.hash for c in git.log([new]) if c.hash in bases), old_sha)
    else:
        new = resolve(git, spec)
        parents = git.commit(new).parents
        old = parents[0] if parents else None
    try:
        text = git.diff(old, new, ctx.query.get("path"))
    except InvalidPath:
        raise bad_request(f"Invalid path: {ctx.query.get('path')}") from None
    return Response(text, media_type="text/plain")
