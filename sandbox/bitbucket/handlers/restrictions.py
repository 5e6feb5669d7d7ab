"""Branch restrictions (``R/branch-restrictions``), and the checks that make ``push`` and ``delete`` ones bite.

Shapes and rules follow the official OpenAPI document (``branchrestriction``): ``glob`` patterns where ``*`` matches
any run of characters and everything else matches itself; ``users`` and ``groups`` only on ``push`` and
``restrict_merges``, exempting who they name; one rule per kind and matcher. Choices where the service is not
documented: the branching model matches ``production`` and ``development`` to the main branch and the other types to
their ``<type>/`` prefix; a refused push answers 403 with the restriction's id in ``detail``.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.errors import BitbucketError, field_error
from sandbox.bitbucket.handlers.repositories import repo_for
from sandbox.bitbucket.handlers.source import _created
from sandbox.bitbucket.render import href
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc

RESTRICTIONS = "/repositories/{workspace}/{repo_slug}/branch-restrictions"
KINDS = (
    "push",
    "delete",
    "force",
    "restrict_merges",
    "require_tasks_to_be_completed",
    "require_approvals_to_merge",
    "require_review_group_approvals_to_merge",
    "require_default_reviewer_approvals_to_merge",
    "require_no_changes_requested",
    "require_passing_builds_to_merge",
    "require_commits_behind",
    "reset_pullrequest_approvals_on_change",
    "smart_reset_pullrequest_approvals",
    "reset_pullrequest_changes_requested_on_change",
    "require_all_dependencies_merged",
    "enforce_merge_checks",
    "allow_auto_merge_when_builds_pass",
    "require_all_comments_resolved",
)
BRANCH_TYPES = ("feature", "bugfix", "release", "hotfix", "development", "production")
WITH_EXEMPTIONS = ("push", "restrict_merges")
WITH_VALUE = (
    "require_approvals_to_merge",
    "require_default_reviewer_approvals_to_merge",
    "require_passing_builds_to_merge",
    "require_commits_behind",
)


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern) + r"\Z")


def matches(rule: Doc, branch: str, mainbranch: str) -> bool:
    if rule["branch_match_kind"] == "glob":
        return bool(_glob(rule["pattern"]).match(branch))
    kind = rule["branch_type"]
    return branch == mainbranch if kind in ("production", "development") else branch.startswith(f"{kind}/")


def _rules(ctx: Ctx, repo: Doc) -> list[Doc]:
    return ctx.world.store.children("branch_restriction", repo["full_name"])


def check_branch(ctx: Ctx, repo: Doc, branch: str, kind: str) -> None:
    """Refuse a change to ``branch`` that a ``push`` or ``delete`` restriction forbids the caller."""
    me = ctx.cred.principal
    for rule in _rules(ctx, repo):
        if rule["kind"] != kind or not matches(rule, branch, repo["mainbranch"]):
            continue
        if kind == "push" and me is not None and me.uuid in rule["users"]:
            continue  # exempt
        what = "push to" if kind == "push" else "delete"
        raise BitbucketError(
            403,
            f'You do not have permission to {what} the branch "{branch}": a branch restriction applies.',
            detail={"branch_restriction": rule["id"], "kind": kind, "pattern": rule["pattern"]},
        )


def render_restriction(ctx: Ctx, repo: Doc, rule: Doc) -> J:
    users = [ctx.world.user_by_uuid(uuid) for uuid in rule["users"]]
    out: J = {
        "type": "branchrestriction",
        "id": rule["id"],
        "kind": rule["kind"],
        "branch_match_kind": rule["branch_match_kind"],
        "pattern": rule["pattern"],
        "users": [ctx.r.user(u) for u in users if u is not None],
        "groups": [],
        "links": {"self": href(f"{ctx.r.repo_base(repo)}/branch-restrictions/{rule['id']}")},
    }
    if rule.get("branch_type"):
        out["branch_type"] = rule["branch_type"]
    if rule.get("value") is not None:
        out["value"] = rule["value"]
    return out


def _user_uuid(ctx: Ctx, ref: Any, where: str) -> str:
    """An account given by uuid, account_id or username."""
    if isinstance(ref, dict):
        for user in ctx.world.store.all("user"):
            if ref.get("uuid") == user["uuid"] or ref.get("account_id") == user["account_id"]:
                return str(user["uuid"])
            if ref.get("username") == user["username"]:
                return str(user["uuid"])
    raise field_error(where, "No such user: give an account's uuid, account_id or username.")


def _fields(ctx: Ctx, body: J, old: Doc | None) -> J:
    merged = {**(old or {}), **{k: v for k, v in body.items() if k in ("kind", "pattern", "branch_type", "value")}}
    kind = merged.get("kind")
    if kind not in KINDS:
        raise field_error("kind", f"{kind!r} is not one of {', '.join(KINDS)}.")
    match_kind = body.get("branch_match_kind", (old or {}).get("branch_match_kind", "glob"))
    if match_kind not in ("glob", "branching_model"):
        raise field_error("branch_match_kind", "Must be glob or branching_model.")
    out: J = {"kind": kind, "branch_match_kind": match_kind, "pattern": "", "branch_type": None, "value": None}
    if match_kind == "glob":
        pattern = merged.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise field_error("pattern", "A glob pattern is required when branch_match_kind is glob.")
        out["pattern"] = pattern
    else:
        if merged.get("branch_type") not in BRANCH_TYPES:
            raise field_error("branch_type", f"Must be one of {', '.join(BRANCH_TYPES)} with branching_model.")
        out["branch_type"] = merged["branch_type"]
    if kind in WITH_VALUE:
        value = merged.get("value")
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise field_error("value", "A whole number is required.")
        out["value"] = value
    users, groups = body.get("users"), body.get("groups")
    if kind not in WITH_EXEMPTIONS and (users or groups):
        raise field_error("users", f"Only {' and '.join(WITH_EXEMPTIONS)} restrictions take users and groups.")
    if users is not None and not isinstance(users, list):
        raise field_error("users", "A list of accounts is required.")
    if groups is not None and not isinstance(groups, list):
        raise field_error("groups", "A list of groups is required.")
    if groups:  # the sandbox has no user groups, so none can be named
        raise field_error("groups", "No such group: the sandbox's workspaces have no user groups.")
    out["users"] = (
        [_user_uuid(ctx, u, f"users[{i}]") for i, u in enumerate(users)]
        if users is not None
        else (old or {}).get("users", [])
    )
    return out


def _unique(ctx: Ctx, repo: Doc, rule: J, rule_id: int | None) -> None:
    matcher = ("pattern", "branch_type")
    for other in _rules(ctx, repo):
        if other["id"] != rule_id and other["kind"] == rule["kind"] and all(other[m] == rule[m] for m in matcher):
            raise BitbucketError(
                400,
                "Bad request",
                detail=f"A {rule['kind']} restriction with this matcher already exists (id {other['id']}).",
                fields={"kind": ["already exists for this matcher"]},
            )


def _rule(ctx: Ctx, repo: Doc) -> Doc:
    raw = ctx.param("id")
    found = ctx.world.store.get("branch_restriction", f"{repo['full_name']}#{raw}") if raw.isdigit() else None
    if found is None:
        raise BitbucketError(404, f"Branch restriction {raw} not found")
    return found


def _save(ctx: Ctx, repo: Doc, rule: Doc) -> None:
    ctx.world.store.put("branch_restriction", f"{repo['full_name']}#{rule['id']}", rule, parent=repo["full_name"])


@route("get", RESTRICTIONS)
def list_restrictions(ctx: Ctx) -> J:
    repo = repo_for(ctx, "admin")
    kind, pattern = ctx.query.get("kind"), ctx.query.get("pattern")
    rules = [
        r
        for r in _rules(ctx, repo)
        if (kind is None or r["kind"] == kind) and (pattern is None or r["pattern"] == pattern)
    ]
    return ctx.page([render_restriction(ctx, repo, r) for r in rules], filterable=False)


@route("post", RESTRICTIONS)
def create_restriction(ctx: Ctx) -> Response:
    repo = repo_for(ctx, "admin")
    rule = _fields(ctx, ctx.fields(), None)
    _unique(ctx, repo, rule, None)
    rule["id"] = ctx.world.store.next_value(f"branch_restriction:{repo['full_name']}")
    _save(ctx, repo, rule)
    out = render_restriction(ctx, repo, rule)
    return _created(out, out["links"]["self"]["href"])


@route("get", RESTRICTIONS + "/{id}")
def get_restriction(ctx: Ctx) -> J:
    repo = repo_for(ctx, "admin")
    return render_restriction(ctx, repo, _rule(ctx, repo))


@route("put", RESTRICTIONS + "/{id}")
def update_restriction(ctx: Ctx) -> J:
    """Fields the body leaves out keep their values."""
    repo = repo_for(ctx, "admin")
    old = _rule(ctx, repo)
    rule = _fields(ctx, ctx.fields(), old) | {"id": old["id"]}
    _unique(ctx, repo, rule, old["id"])
    _save(ctx, repo, rule)
    return render_restriction(ctx, repo, rule)


@route("delete", RESTRICTIONS + "/{id}")
def delete_restriction(ctx: Ctx) -> Response:
    repo = repo_for(ctx, "admin")
    rule = _rule(ctx, repo)
    ctx.world.store.delete("branch_restriction", f"{repo['full_name']}#{rule['id']}")
    return Response(status_code=204)
