"""Repositories: list, get, create, delete."""

from __future__ import annotations

from starlette.responses import Response

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.errors import BitbucketError, field_error
from sandbox.bitbucket.records import author_line, new_repository
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.world import World


def render_repository(ctx: Ctx, repo: Doc) -> J:
    ws = ctx.world.workspace(repo["workspace"])
    project = ctx.world.store.get("project", f"{repo['workspace']}:{repo['project']}") if repo["project"] else None
    return ctx.r.repository(repo, ws, project)


def repo_for(ctx: Ctx, level: str = "read") -> Doc:
    return ctx.world.require_repo(ctx.cred, ctx.param("workspace"), ctx.param("repo_slug"), level)


@route("get", "/repositories/{workspace}")
def list_repositories(ctx: Ctx) -> J:
    ws = ctx.world.workspace(ctx.param("workspace"))
    if ws is None:
        raise BitbucketError(404, f"Workspace {ctx.param('workspace')} not found")
    role = ctx.query.get("role")
    if role not in (None, "member", "contributor", "admin", "owner"):
        raise BitbucketError(400, "Invalid role", fields={"role": ["Must be member, contributor, admin or owner."]})
    levels = {"member": "read", "contributor": "write", "admin": "admin", "owner": "admin"}
    order = ["read", "write", "admin"]
    values = []
    for repo in ctx.world.store.children("repository", ws["slug"]):
        permission = ctx.world.repo_permission(ctx.cred, repo)
        if permission is None or (role and order.index(permission) < order.index(levels[role])):
            continue
        values.append(render_repository(ctx, repo))
    return ctx.page(values)


@route("get", "/repositories/{workspace}/{repo_slug}")
def get_repository(ctx: Ctx) -> J:
    return render_repository(ctx, repo_for(ctx))


@route("post", "/repositories/{workspace}/{repo_slug}")
def create_repository(ctx: Ctx) -> J:
    ws = ctx.world.require_workspace(ctx.cred, ctx.param("workspace"))
    member = ctx.world.membership(ws["slug"], ctx.cred.principal.username if ctx.cred.principal else None)
    if ctx.cred.principal and ctx.cred.principal.workspaces is None and (member is None):
        raise BitbucketError(403, "You do not have permission to create repositories in this workspace.")
    body = ctx.fields()
    slug = ctx.param("repo_slug").lower()
    if body.get("scm", "git") != "git":
        raise field_error("scm", "Only git repositories are supported.")
    for key in ("is_private", "has_issues", "has_wiki"):
        if key in body and not isinstance(body[key], bool):
            raise field_error(key, "A boolean is required.")
    for key in ("description", "language", "name"):
        if key in body and not isinstance(body[key], str):
            raise field_error(key, "A string is required.")
    if body.get("fork_policy", "allow_forks") not in ("allow_forks", "no_public_forks", "no_forks"):
        raise field_error("fork_policy", "Must be allow_forks, no_public_forks or no_forks.")
    project = _project_key(ctx.world, ws["slug"], body.get("project"))
    repo = new_repository(
        ctx.world,
        ws["slug"],
        slug,
        name=body.get("name") or slug,
        description=body.get("description", ""),
        is_private=body.get("is_private", True),
        has_issues=body.get("has_issues", True),
        has_wiki=body.get("has_wiki", False),
        language=body.get("language", ""),
        fork_policy=body.get("fork_policy", "allow_forks"),
        project=project,
        mainbranch="main",
    )
    # A new repository has an initial commit on main so that branches can be created off it.
    git = ctx.world.repo_git(repo)
    sha = git.commit_files(
        None,
        {"README.md": f"# {repo['name']}\n".encode()},
        "Initial commit",
        author_line(ctx.me),
        ctx.world.clock.now(),
    )
    git.set_branch("main", sha)
    return render_repository(ctx, repo)


def _project_key(world: World, ws: str, project: object) -> str | None:
    projects = world.store.children("project", ws)
    if project is None:
        return projects[0]["key"] if projects else None
    if not isinstance(project, dict):
        raise field_error("project", "An object with key or uuid is required.")
    for p in projects:
        if p["key"] == project.get("key") or p["uuid"] == project.get("uuid"):
            return str(p["key"])
    raise field_error("project", "Project not found.")


@route("delete", "/repositories/{workspace}/{repo_slug}")
def delete_repository(ctx: Ctx) -> Response:
    repo = repo_for(ctx, "admin")
    store = ctx.world.store
    full = repo["full_name"]
    for kind in ("pullrequest", "issue", "hook", "commit_status", "report", "annotation", "branch_restriction"):
        for doc in store.children(kind, full):
            if kind in ("pullrequest", "issue"):
                comment_kind = "pr_comment" if kind == "pullrequest" else "issue_comment"
                store.delete_children(comment_kind, f"{full}#{doc['id']}")
        store.delete_children(kind, full)
    # A repository created again under this name numbers from 1, as on Bitbucket.
    for counter in ("pr", "issue", "branch_restriction"):
        store.drop_counter(f"{counter}:{full}")
    store.delete("repository", full)
    ctx.world.git.delete(repo["uuid"])
    return Response(status_code=204)
