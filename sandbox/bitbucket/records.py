"""Creating the stored records; shared by the fixture loader and the REST handlers."""

from __future__ import annotations

from typing import Any

from sandbox.bitbucket.errors import BitbucketError, field_error
from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.world import World


def author_line(user: Doc | None, display: str = "Sandbox") -> str:
    return f"{user['display_name']} <{user['email']}>" if user else f"{display} <noreply@example.com>"


def new_user(world: World, username: str, display_name: str, email: str, account_id: str | None) -> Doc:
    doc = {
        "username": username,
        "display_name": display_name,
        "email": email,
        "uuid": world.ids.stable("user", username),
        "account_id": account_id or f"712020:{world.ids.stable('account', username).strip('{}')}",
        "created_on": world.now(),
    }
    return world.store.put("user", username, doc)


def new_workspace(world: World, slug: str, name: str | None, is_private: bool, linked: bool) -> Doc:
    now = world.now()
    doc = {
        "slug": slug,
        "name": name or slug,
        "uuid": world.ids.stable("workspace", slug),
        "is_private": is_private,
        "linked_to_org": linked,
        "created_on": now,
        "updated_on": now,
    }
    return world.store.put("workspace", slug, doc)


def new_repository(world: World, ws: str, slug: str, **fields: Any) -> Doc:
    full = f"{ws}/{slug}"
    if world.store.get("repository", full):
        raise BitbucketError(
            400,
            "Repository with this Slug and Owner already exists.",
            fields={"name": ["Repository with this Slug and Owner already exists."]},
        )
    now = world.now()
    doc = {
        "uuid": world.ids.stable("repository", full),
        "slug": slug,
        "name": fields.get("name") or slug,
        "full_name": full,
        "workspace": ws,
        "description": fields.get("description", ""),
        "is_private": fields.get("is_private", True),
        "has_issues": fields.get("has_issues", True),
        "has_wiki": fields.get("has_wiki", False),
        "language": fields.get("language", ""),
        "fork_policy": fields.get("fork_policy", "no_public_forks"),
        "project": fields.get("project"),
        "mainbranch": fields.get("mainbranch", "main"),
        "created_on": now,
        "updated_on": now,
    }
    world.git.create(doc["uuid"])
    return world.store.put("repository", full, doc, parent=ws)


def new_pullrequest(
    world: World, repo: Doc, author: Doc, title: str, source: str, destination: str | None, **fields: Any
) -> Doc:
    git = world.repo_git(repo)
    destination = destination or repo["mainbranch"]
    src_head = git.branch_head(source)
    if src_head is None:
        raise field_error("source", f"branch not found: {source}")
    dst_head = git.branch_head(destination)
    if dst_head is None:
        raise field_error("destination", f"branch not found: {destination}")
    if source == destination:
        raise field_error("source", "source and destination branches must differ")
    if not title.strip():
        raise field_error("title", "This field is required.")
    number = world.store.next_value(f"pr:{repo['full_name']}")
    now = world.now()
    doc = {
        "id": number,
        "title": title,
        "description": fields.get("description") or "",
        "state": fields.get("state", "OPEN"),
        "author": author["username"],
        "source_branch": source,
        "source_commit": src_head,
        "destination_branch": destination,
        "destination_commit": dst_head,
        "merge_commit": None,
        "close_source_branch": bool(fields.get("close_source_branch", False)),
        "closed_by": None,
        "reason": "",
        "draft": bool(fields.get("draft", False)),
        "created_on": now,
        "updated_on": now,
        "reviewers": list(fields.get("reviewers", [])),
        "participants": [],
    }
    return world.store.put("pullrequest", f"{repo['full_name']}#{number}", doc, parent=repo["full_name"])


def new_issue(world: World, repo: Doc, reporter: Doc | None, title: str, content: str, **fields: Any) -> Doc:
    number = world.store.next_value(f"issue:{repo['full_name']}")
    now = world.now()
    doc = {
        "id": number,
        "title": title,
        "content": content,
        "reporter": reporter["username"] if reporter else None,
        "assignee": fields.get("assignee"),
        "state": fields.get("state", "new"),
        "kind": fields.get("kind", "bug"),
        "priority": fields.get("priority", "major"),
        "created_on": now,
        "updated_on": now,
        "edited_on": None,
        "votes": 0,
        "milestone": None,
        "version": None,
        "component": None,
    }
    return world.store.put("issue", f"{repo['full_name']}#{number}", doc, parent=repo["full_name"])


def new_comment(world: World, kind: str, parent: str, user: Doc | None, content: str, **extra: Any) -> Doc:
    """A comment on a pull request, issue or snippet; ids are global, as on Bitbucket."""
    number = world.store.next_value("comment")
    now = world.now()
    doc = {
        "id": number,
        "user": user["username"] if user else None,
        "content": content,
        "created_on": now,
        "updated_on": now,
        "deleted": False,
        **extra,
    }
    return world.store.put(kind, f"{parent}:{number}", doc, parent=parent)
