"""One call per Bitbucket tool, with the state it needs and a check of its effect read back from Bitbucket.

The same table drives the REST execute tests and the MCP test; it is ordered so that running every case in
turn on one world works (listings before deletions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api
from tests.sandbox.composio.helpers import main_head

J = dict[str, Any]
README = "# Widgets\n\nThe widget service. Run `make test` before opening a pull request.\n"


USER = "user-admin"  # alice, with the managed scopes plus repository:admin (which CREATE_REPOSITORY needs)


def prepare(sb: Sandbox) -> J:
    """A connected account for every tool, a pull request, a second branch and a snippet (made as alice)."""
    managed = sb.credentials["composio"]["connected_accounts"][0]["scopes"]
    account = sb.admin.post(
        "/composio/connections",
        json={"user_id": USER, "bitbucket_user": "alice", "scopes": [*managed, "repository:admin"]},
    )
    assert account.status_code == 201, account.text
    with api(sb) as c:
        pr = c.post(
            "repositories/acme/widgets/pullrequests",
            json={"title": "Login form", "source": {"branch": {"name": "feature/login"}}},
        )
        snippet = c.post("snippets/acme", json={"title": "notes", "files": {"notes.txt": {"content": "hello"}}})
        tidy = c.post(
            "repositories/acme/widgets/refs/branches",
            json={"name": "feature/tidy", "target": {"hash": "feature/login"}},
        )
        bob = next(
            m["user"]["uuid"]
            for m in c.get("workspaces/acme/members").json()["values"]
            if m["user"]["nickname"] == "bob"
        )
    assert [r.status_code for r in (pr, snippet, tidy)] == [201, 201, 201], (pr.text, snippet.text, tidy.text)
    encoded_id = snippet.json()["links"]["self"]["href"].rsplit("/", 1)[-1]
    return {"head": main_head(sb), "pr": pr.json()["id"], "snippet": encoded_id, "bob": bob}


def get(sb: Sandbox, path: str, **params: Any) -> Any:
    with api(sb) as c:
        r = c.get(path, params=params)
    return r.json() if r.status_code == 200 else r.status_code


@dataclass(frozen=True)
class Case:
    slug: str
    arguments: Callable[[J], J]
    check: Callable[[Sandbox, J, J], None]

    @property
    def id(self) -> str:
        return self.slug.removeprefix("BITBUCKET_").lower()


WIDGETS = {"workspace": "acme", "repo_slug": "widgets"}


def _branch(sb: Sandbox, ctx: J, data: J) -> None:
    assert data["name"] == "feature/new-login" and data["type"] == "branch"
    assert get(sb, "repositories/acme/widgets/refs/branches/feature/new-login")["target"]["hash"] == ctx["head"]


def _issue(sb: Sandbox, ctx: J, data: J) -> None:
    stored = get(sb, f"repositories/acme/widgets/issues/{data['id']}")
    assert (stored["title"], stored["kind"], stored["reporter"]["nickname"]) == ("Flaky test", "task", "alice")


def _issue_comment(sb: Sandbox, ctx: J, data: J) -> None:
    comments = get(sb, "repositories/acme/widgets/issues/1/comments")["values"]
    assert [c["content"]["raw"] for c in comments] == ["Looking into it"] and comments[0]["id"] == data["id"]


def _pull_request(sb: Sandbox, ctx: J, data: J) -> None:
    stored = get(sb, f"repositories/acme/widgets/pullrequests/{data['id']}")
    assert stored["state"] == "OPEN" and stored["destination"]["branch"]["name"] == "main"
    assert stored["source"]["branch"]["name"] == "feature/tidy" and data["title"] == "Tidy up"
    assert [r["uuid"] for r in stored["reviewers"]] == [ctx["bob"]]


def _repository(sb: Sandbox, ctx: J, data: J) -> None:
    stored = get(sb, "repositories/acme/fresh")
    assert data["full_name"] == "acme/fresh" and stored["is_private"] is True
    assert stored["project"]["key"] == "WEB" and stored["description"] == "A fresh start"


def _snippet_comment(sb: Sandbox, ctx: J, data: J) -> None:
    comments = get(sb, f"snippets/acme/{ctx['snippet']}/comments")["values"]
    assert [c["content"]["raw"] for c in comments] == ["Nice snippet"]


def _deleted_issue(sb: Sandbox, ctx: J, data: J) -> None:
    assert data == {"success": True, "message": "Issue deleted successfully"}
    assert get(sb, "repositories/acme/widgets/issues/3") == 404


def _deleted_repository(sb: Sandbox, ctx: J, data: J) -> None:
    assert data == {"message": "Repository acme/gadgets has been successfully deleted"}
    assert get(sb, "repositories/acme/gadgets") == 404


def _user(sb: Sandbox, ctx: J, data: J) -> None:
    assert (data["display_name"], data["type"]) == ("Alice Archer", "user") and data["uuid"].startswith("{")


def _file(sb: Sandbox, ctx: J, data: J) -> None:
    assert data == {"commit": "main", "path": "README.md", "size": len(README), "data": README}


def _get_pr(sb: Sandbox, ctx: J, data: J) -> None:
    pr = data["pull_request"]
    assert (pr["id"], pr["title"], pr["source"]["branch"]["name"]) == (ctx["pr"], "Login form", "feature/login")


def _snippet(sb: Sandbox, ctx: J, data: J) -> None:
    assert (data["title"], data["type"], list(data["files"])) == ("notes", "snippet", ["notes.txt"])


def _list_prs(sb: Sandbox, ctx: J, data: J) -> None:
    assert [p["id"] for p in data["values"]] == [ctx["pr"]]


def _latest_open_issue(sb: Sandbox, ctx: J, data: J) -> None:
    assert [(i["id"], i["state"]) for i in data["values"]] == [(1, "open")]


def _repositories(sb: Sandbox, ctx: J, data: J) -> None:
    assert {"acme/widgets", "acme/gadgets"} <= {r["full_name"] for r in data["values"]}
    assert all(r["full_name"].startswith("acme/") for r in data["values"])


def _members(sb: Sandbox, ctx: J, data: J) -> None:
    assert sorted(m["user"]["nickname"] for m in data["values"]) == ["alice", "bob"]


def _workspaces(sb: Sandbox, ctx: J, data: J) -> None:
    assert sorted(w["slug"] for w in data["values"]) == ["acme", "solo"]


def _updated(sb: Sandbox, ctx: J, data: J) -> None:
    stored = get(sb, "repositories/acme/widgets/issues/2")
    assert (stored["state"], stored["priority"], stored["title"]) == ("resolved", "critical", "Document the API")
    assert data["state"] == "resolved"


CASES: tuple[Case, ...] = (
    Case("BITBUCKET_GET_CURRENT_USER", lambda ctx: {}, _user),
    Case("BITBUCKET_LIST_WORKSPACES", lambda ctx: {}, _workspaces),
    Case("BITBUCKET_LIST_WORKSPACE_MEMBERS", lambda ctx: {"workspace": "acme"}, _members),
    Case("BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE", lambda ctx: {"workspace": "acme", "sort": "name"}, _repositories),
    Case("BITBUCKET_GET_FILE_FROM_REPOSITORY", lambda ctx: {**WIDGETS, "commit": "main", "path": "README.md"}, _file),
    Case("BITBUCKET_LIST_PULL_REQUESTS", lambda ctx: {**WIDGETS, "state": "OPEN"}, _list_prs),
    Case(
        "BITBUCKET_LIST_ISSUES", lambda ctx: {**WIDGETS, "q": 'state="open"', "sort": "-created_on"}, _latest_open_issue
    ),
    Case("BITBUCKET_GET_PULL_REQUEST", lambda ctx: {**WIDGETS, "pull_request_id": ctx["pr"]}, _get_pr),
    Case("BITBUCKET_GET_SNIPPET", lambda ctx: {"workspace": "acme", "encoded_id": ctx["snippet"]}, _snippet),
    Case(
        "BITBUCKET_CREATE_BRANCH",
        lambda ctx: {**WIDGETS, "name": "feature/new-login", "target_hash": ctx["head"]},
        _branch,
    ),
    Case(
        "BITBUCKET_CREATE_PULL_REQUEST",
        lambda ctx: {
            **WIDGETS,
            "title": "Tidy up",
            "source_branch": "feature/tidy",
            "reviewers": [{"uuid": ctx["bob"]}],
        },
        _pull_request,
    ),
    Case(
        "BITBUCKET_CREATE_ISSUE",
        lambda ctx: {**WIDGETS, "title": "Flaky test", "content": "It fails sometimes.", "kind": "task"},
        _issue,
    ),
    Case(
        "BITBUCKET_CREATE_ISSUE_COMMENT",
        lambda ctx: {**WIDGETS, "issue_id": "1", "content": "Looking into it"},
        _issue_comment,
    ),
    Case(
        "BITBUCKET_UPDATE_ISSUE",
        lambda ctx: {
            **WIDGETS,
            "issue_id": "2",
            "state": "resolved",
            "priority": "critical",
            "title": "Document the API",
        },
        _updated,
    ),
    Case(
        "BITBUCKET_CREATE_SNIPPET_COMMENT",
        lambda ctx: {"workspace": "acme", "encoded_id": ctx["snippet"], "content": "Nice snippet"},
        _snippet_comment,
    ),
    Case(
        "BITBUCKET_CREATE_REPOSITORY",
        lambda ctx: {"workspace": "acme", "repo_slug": "fresh", "description": "A fresh start"},
        _repository,
    ),
    Case("BITBUCKET_DELETE_ISSUE", lambda ctx: {**WIDGETS, "issue_id": "3"}, _deleted_issue),
    Case("BITBUCKET_DELETE_REPOSITORY", lambda ctx: {"workspace": "acme", "repo_slug": "gadgets"}, _deleted_repository),
)
