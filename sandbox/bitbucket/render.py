"""Wire shapes: every object carries ``type`` and ``links`` with absolute hrefs on the sandbox's host.

Fields whose value is unknown are left out rather than sent as ``null``, because the official schemas
do not mark them nullable and clients read them with ``.get``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote

from sandbox.bitbucket.gitstore import CommitInfo
from sandbox.bitbucket.markup import rendered
from sandbox.bitbucket.store import Doc
from sandbox.clock import isoformat

J = dict[str, Any]
MERGE_STRATEGIES = [
    "merge_commit",
    "squash",
    "fast_forward",
    "squash_fast_forward",
    "rebase_fast_forward",
    "rebase_merge",
]


def href(url: str, name: str | None = None) -> J:
    return {"href": url, "name": name} if name else {"href": url}


def compact(obj: J) -> J:
    return {k: v for k, v in obj.items() if v is not None}


# Links quote the same few names (users, repositories, branches) over and over: remember the answers.
@lru_cache(maxsize=8192)
def q(segment: str) -> str:
    return quote(segment, safe="")


@lru_cache(maxsize=8192)
def qpath(path: str) -> str:
    return quote(path, safe="/")


class Renderer:
    """Renders records for one request; ``base`` is the scheme and host the client used."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.api = f"{self.base}/2.0"

    # people -----------------------------------------------------------------------------------
    def user(self, user: Doc | None, full: bool = False) -> J | None:
        if user is None:
            return None
        uuid = user["uuid"]
        out: J = {
            "type": "user",
            "uuid": uuid,
            "display_name": user["display_name"],
            "nickname": user["username"],
            "account_id": user["account_id"],
            "links": {
                "self": href(f"{self.api}/users/{q(uuid)}"),
                "avatar": href(f"{self.base}/account/{q(user['username'])}/avatar/"),
                "html": href(f"{self.base}/{q(uuid)}/"),
            },
        }
        if full:
            out.update(
                {
                    "username": user["username"],
                    "created_on": user["created_on"],
                    "account_status": "active",
                    "has_2fa_enabled": False,
                    "is_staff": False,
                    "location": None,
                    "website": None,
                }
            )
            out["links"]["repositories"] = href(f"{self.api}/repositories/{q(uuid)}")
            out = compact(out)
        return out

    def pseudo_user(self, uuid: str, name: str) -> J:
        return {
            "type": "user",
            "uuid": uuid,
            "display_name": name,
            "nickname": name,
            "links": {
                "self": href(f"{self.api}/users/{q(uuid)}"),
                "avatar": href(f"{self.base}/account/{q(name)}/avatar/"),
            },
        }

    # workspaces ---------------------------------------------------------------------------------
    def workspace_links(self, ws: Doc) -> J:
        s = q(ws["slug"])
        return {
            "self": href(f"{self.api}/workspaces/{s}"),
            "html": href(f"{self.base}/{s}/"),
            "avatar": href(f"{self.base}/workspaces/{s}/avatar/"),
        }

    def workspace_base(self, ws: Doc) -> J:
        return {
            "type": "workspace_base",
            "uuid": ws["uuid"],
            "slug": ws["slug"],
            "name": ws["name"],
            "links": {
                "self": href(f"{self.api}/workspaces/{q(ws['slug'])}"),
                "avatar": href(f"{self.base}/workspaces/{q(ws['slug'])}/avatar/"),
            },
        }

    def workspace(self, ws: Doc, full: bool = True) -> J:
        s = q(ws["slug"])
        out: J = {
            "type": "workspace",
            "uuid": ws["uuid"],
            "slug": ws["slug"],
            "name": ws["name"],
            "links": self.workspace_links(ws),
        }
        if full:
            out.update(
                {
                    "is_private": ws["is_private"],
                    "is_privacy_enforced": False,
                    "forking_mode": "allow_forks",
                    "created_on": ws["created_on"],
                    "updated_on": ws["updated_on"],
                }
            )
            out["links"].update(
                {
                    "members": href(f"{self.api}/workspaces/{s}/members"),
                    "owners": href(f"{self.api}/workspaces/{s}/members?q=permission%3D%22owner%22"),
                    "projects": href(f"{self.api}/workspaces/{s}/projects"),
                    "repositories": href(f"{self.api}/repositories/{s}"),
                    "snippets": href(f"{self.api}/snippets/{s}"),
                }
            )
        return out

    def membership(self, ws: Doc, user: Doc, permission: str | None = None) -> J:
        out: J = {
            "type": "workspace_membership",
            "user": self.user(user),
            "workspace": self.workspace(ws, False),
            "links": {"self": href(f"{self.api}/workspaces/{q(ws['slug'])}/members/{q(user['uuid'])}")},
        }
        if permission:
            out["permission"] = permission
        return out

    def project(self, ws: Doc, project: Doc) -> J:
        return {
            "type": "project",
            "uuid": project["uuid"],
            "key": project["key"],
            "name": project["name"],
            "links": {
                "avatar": href(f"{self.base}/{q(ws['slug'])}/workspace/projects/{q(project['key'])}/avatar"),
                "html": href(f"{self.base}/{q(ws['slug'])}/workspace/projects/{q(project['key'])}"),
            },
        }

    # repositories -------------------------------------------------------------------------------
    def repo_base(self, repo: Doc) -> str:
        return f"{self.api}/repositories/{qpath(repo['full_name'])}"

    def repository(self, repo: Doc, ws: Doc | None = None, project: Doc | None = None, full: bool = True) -> J:
        r = self.repo_base(repo)
        html = f"{self.base}/{qpath(repo['full_name'])}"
        out: J = {
            "type": "repository",
            "uuid": repo["uuid"],
            "full_name": repo["full_name"],
            "name": repo["name"],
            "links": {
                "self": href(r),
                "html": href(html),
                "avatar": href(f"{self.base}/{qpath(repo['full_name'])}/avatar/"),
            },
        }
        if not full:
            return out
        out.update(
            {
                "slug": repo["slug"],
                "description": repo["description"],
                "scm": "git",
                "is_private": repo["is_private"],
                "fork_policy": repo["fork_policy"],
                "has_issues": repo["has_issues"],
                "has_wiki": repo["has_wiki"],
                "language": repo["language"],
                "size": 0,
                "created_on": repo["created_on"],
                "updated_on": repo["updated_on"],
                "mainbranch": {"type": "branch", "name": repo["mainbranch"]},
            }
        )
        if ws is not None:
            out["owner"] = {
                "type": "team",
                "uuid": ws["uuid"],
                "display_name": ws["name"],
                "username": ws["slug"],
                "links": {
                    "self": href(f"{self.api}/workspaces/{q(ws['slug'])}"),
                    "avatar": href(f"{self.base}/workspaces/{q(ws['slug'])}/avatar/"),
                },
            }
            out["workspace"] = self.workspace(ws, False)
        if project is not None and ws is not None:
            out["project"] = self.project(ws, project)
        out["links"].update(
            {
                "pullrequests": href(f"{r}/pullrequests"),
                "commits": href(f"{r}/commits"),
                "forks": href(f"{r}/forks"),
                "watchers": href(f"{r}/watchers"),
                "downloads": href(f"{r}/downloads"),
                "hooks": href(f"{r}/hooks"),
                "clone": [
                    href(f"{html}.git", "https"),
                    href(f"git@{self.base.split('://', 1)[-1].split(':')[0]}:{repo['full_name']}.git", "ssh"),
                ],
            }
        )
        return out

    # git --------------------------------------------------------------------------------------
    def commit(self, repo: Doc, info: CommitInfo, users_by_email: dict[str, Doc] | None = None, full: bool = True) -> J:
        r = self.repo_base(repo)
        out: J = {
            "type": "commit",
            "hash": info.hash,
            "links": {
                "self": href(f"{r}/commit/{info.hash}"),
                "html": href(f"{self.base}/{qpath(repo['full_name'])}/commits/{info.hash}"),
            },
        }
        if not full:
            return out
        author: J = {"type": "author", "raw": info.author}
        email = info.author.rpartition("<")[2].rstrip(">")
        if users_by_email and email in users_by_email:
            author["user"] = self.user(users_by_email[email])
        out.update(
            {
                "date": isoformat(info.date),
                "message": info.message,
                "author": author,
                "summary": rendered(info.message),
                "parents": [
                    {
                        "type": "commit",
                        "hash": p,
                        "links": {
                            "self": href(f"{r}/commit/{p}"),
                            "html": href(f"{self.base}/{qpath(repo['full_name'])}/commits/{p}"),
                        },
                    }
                    for p in info.parents
                ],
                "repository": self.repository(repo, full=False),
            }
        )
        out["links"].update(
            {
                "diff": href(f"{r}/diff/{info.hash}"),
                "approve": href(f"{r}/commit/{info.hash}/approve"),
                "comments": href(f"{r}/commit/{info.hash}/comments"),
                "statuses": href(f"{r}/commit/{info.hash}/statuses"),
                "patch": href(f"{r}/patch/{info.hash}"),
            }
        )
        return out

    def branch(self, repo: Doc, name: str, target: J) -> J:
        r = self.repo_base(repo)
        return {
            "type": "branch",
            "name": name,
            "target": target,
            "merge_strategies": MERGE_STRATEGIES,
            "default_merge_strategy": "merge_commit",
            "links": {
                "self": href(f"{r}/refs/branches/{qpath(name)}"),
                "commits": href(f"{r}/commits/{qpath(name)}"),
                "html": href(f"{self.base}/{qpath(repo['full_name'])}/branch/{qpath(name)}"),
            },
        }

    def tree_entry(self, repo: Doc, commit: str, path: str, is_dir: bool, size: int) -> J:
        r = self.repo_base(repo)
        out: J = {
            "type": "commit_directory" if is_dir else "commit_file",
            "path": path,
            "commit": {
                "type": "commit",
                "hash": commit,
                "links": {
                    "self": href(f"{r}/commit/{commit}"),
                    "html": href(f"{self.base}/{qpath(repo['full_name'])}/commits/{commit}"),
                },
            },
            "links": {
                "self": href(f"{r}/src/{commit}/{qpath(path)}{'/' if is_dir else ''}"),
                "meta": href(f"{r}/src/{commit}/{qpath(path)}{'/' if is_dir else ''}?format=meta"),
            },
        }
        if not is_dir:
            out["size"] = size
            out["escaped_path"] = path
            out["mimetype"] = None
            out = compact(out)
        return out

    # pull requests --------------------------------------------------------------------------------
    def pr_links(self, repo: Doc, pr_id: int) -> J:
        p = f"{self.repo_base(repo)}/pullrequests/{pr_id}"
        return {
            "self": href(p),
            "html": href(f"{self.base}/{qpath(repo['full_name'])}/pull-requests/{pr_id}"),
            "commits": href(f"{p}/commits"),
            "approve": href(f"{p}/approve"),
            "diff": href(f"{p}/diff"),
            "diffstat": href(f"{p}/diffstat"),
            "comments": href(f"{p}/comments"),
            "activity": href(f"{p}/activity"),
            "merge": href(f"{p}/merge"),
            "decline": href(f"{p}/decline"),
        }

    def pullrequest(self, repo: Doc, pr: Doc, users: dict[str, Doc], comment_count: int, full: bool = True) -> J:
        def endpoint(branch: str, commit: str) -> J:
            # The schema allows only the (short) hash on a pull request endpoint's commit.
            return {
                "branch": {"name": branch},
                "commit": {"hash": commit[:12]},
                "repository": self.repository(repo, full=False),
            }

        out: J = {
            "type": "pullrequest",
            "id": pr["id"],
            "title": pr["title"],
            "description": pr["description"],
            "rendered": {"title": rendered(pr["title"]), "description": rendered(pr["description"])},
            "summary": rendered(pr["description"]),
            "state": pr["state"],
            "draft": pr["draft"],
            "queued": False,
            "author": self.user(users.get(pr["author"])),
            "source": endpoint(pr["source_branch"], pr["source_commit"]),
            "destination": endpoint(pr["destination_branch"], pr["destination_commit"]),
            "comment_count": comment_count,
            "task_count": 0,
            "close_source_branch": pr["close_source_branch"],
            "reason": pr["reason"],
            "created_on": pr["created_on"],
            "updated_on": pr["updated_on"],
            "links": self.pr_links(repo, pr["id"]),
        }
        if pr["merge_commit"]:
            out["merge_commit"] = {"hash": pr["merge_commit"][:12]}
        if pr["closed_by"]:
            out["closed_by"] = self.user(users.get(pr["closed_by"]))
        if full:
            out["reviewers"] = [self.user(users[u]) for u in pr["reviewers"] if u in users]
            out["participants"] = [
                self.participant(users[p["user"]], p) for p in pr["participants"] if p["user"] in users
            ]
        return compact(out)

    def participant(self, user: Doc, p: Doc) -> J:
        return compact(
            {
                "type": "participant",
                "user": self.user(user),
                "role": p["role"],
                "approved": p["approved"],
                "state": p.get("state"),
                "participated_on": p.get("participated_on"),
            }
        )

    def comment(self, kind: str, self_url: str, html_url: str, c: Doc, users: dict[str, Doc]) -> J:
        out: J = {
            "type": kind,
            "id": c["id"],
            "created_on": c["created_on"],
            "updated_on": c["updated_on"],
            "content": rendered(c["content"]),
            "user": self.user(users.get(c["user"] or "")),
            "deleted": c["deleted"],
            "links": {"self": href(self_url), "html": href(html_url)},
        }
        if c.get("inline"):
            out["inline"] = c["inline"]
        if c.get("parent_id"):
            # The schema types the parent as a comment, and every object carries ``type``.
            out["parent"] = {
                "type": kind,
                "id": c["parent_id"],
                "links": {"self": href(self_url.rsplit("/", 1)[0] + f"/{c['parent_id']}")},
            }
        if kind == "pullrequest_comment":
            out["pending"] = False
        return compact(out)

    def pr_comment(self, repo: Doc, pr: Doc, c: Doc, users: dict[str, Doc]) -> J:
        url = f"{self.repo_base(repo)}/pullrequests/{pr['id']}/comments/{c['id']}"
        html = f"{self.base}/{qpath(repo['full_name'])}/pull-requests/{pr['id']}#comment-{c['id']}"
        out = self.comment("pullrequest_comment", url, html, c, users)
        out["pullrequest"] = {
            "type": "pullrequest",
            "id": pr["id"],
            "title": pr["title"],
            "links": {
                "self": href(f"{self.repo_base(repo)}/pullrequests/{pr['id']}"),
                "html": href(f"{self.base}/{qpath(repo['full_name'])}/pull-requests/{pr['id']}"),
            },
        }
        return out

    # issues ------------------------------------------------------------------------------------
    def issue(self, repo: Doc, issue: Doc, users: dict[str, Doc]) -> J:
        i = f"{self.repo_base(repo)}/issues/{issue['id']}"
        return compact(
            {
                "type": "issue",
                "id": issue["id"],
                "title": issue["title"],
                "repository": self.repository(repo, full=False),
                "reporter": self.user(users.get(issue["reporter"] or "")),
                "assignee": self.user(users.get(issue["assignee"] or "")),
                "state": issue["state"],
                "kind": issue["kind"],
                "priority": issue["priority"],
                "content": rendered(issue["content"]),
                "votes": issue["votes"],
                "created_on": issue["created_on"],
                "updated_on": issue["updated_on"],
                "edited_on": issue["edited_on"],
                "links": {
                    "self": href(i),
                    "html": href(f"{self.base}/{qpath(repo['full_name'])}/issues/{issue['id']}"),
                    "comments": href(f"{i}/comments"),
                    "attachments": href(f"{i}/attachments"),
                    "watch": href(f"{i}/watch"),
                    "vote": href(f"{i}/vote"),
                },
            }
        )

    def issue_comment(self, repo: Doc, issue: Doc, c: Doc, users: dict[str, Doc]) -> J:
        url = f"{self.repo_base(repo)}/issues/{issue['id']}/comments/{c['id']}"
        html = f"{self.base}/{qpath(repo['full_name'])}/issues/{issue['id']}#comment-{c['id']}"
        out = self.comment("issue_comment", url, html, c, users)
        out["issue"] = {
            "type": "issue",
            "id": issue["id"],
            "title": issue["title"],
            "repository": self.repository(repo, full=False),
            "links": {"self": href(f"{self.repo_base(repo)}/issues/{issue['id']}")},
        }
        return out

    # snippets and hooks ----------------------------------------------------------------------------
    def snippet(self, ws: Doc, snip: Doc, users: dict[str, Doc]) -> J:
        s = f"{self.api}/snippets/{q(ws['slug'])}/{q(snip['encoded_id'])}"
        owner = self.workspace(ws, False)
        return {
            "type": "snippet",
            "id": snip["id"],
            "title": snip["title"],
            "scm": "git",
            "is_private": snip["is_private"],
            "created_on": snip["created_on"],
            "updated_on": snip["updated_on"],
            "owner": {
                "type": "team",
                "uuid": owner["uuid"],
                "display_name": ws["name"],
                "username": ws["slug"],
                "links": {"self": href(f"{self.api}/workspaces/{q(ws['slug'])}")},
            },
            "creator": self.user(users.get(snip["creator"])),
            "files": {
                name: {
                    "links": {
                        "self": href(f"{s}/files/{qpath(name)}"),
                        "html": href(f"{self.base}/snippets/{q(ws['slug'])}/{snip['encoded_id']}#file-{qpath(name)}"),
                    }
                }
                for name in snip["files"]
            },
            "links": {
                "self": href(s),
                "html": href(f"{self.base}/snippets/{q(ws['slug'])}/{snip['encoded_id']}"),
                "comments": href(f"{s}/comments"),
                "watchers": href(f"{s}/watchers"),
                "commits": href(f"{s}/commits"),
            },
        }

    def snippet_comment(self, ws: Doc, snip: Doc, c: Doc, users: dict[str, Doc]) -> J:
        url = f"{self.api}/snippets/{q(ws['slug'])}/{q(snip['encoded_id'])}/comments/{c['id']}"
        html = f"{self.base}/snippets/{q(ws['slug'])}/{snip['encoded_id']}#comment-{c['id']}"
        out = self.comment("snippet_comment", url, html, c, users)
        out["snippet"] = {
            "type": "snippet",
            "id": snip["id"],
            "title": snip["title"],
            "links": {"self": href(url.rsplit("/comments", 1)[0])},
        }
        return out

    def hook(self, repo: Doc, hook: Doc) -> J:
        return {
            "type": "webhook_subscription",
            "uuid": hook["uuid"],
            "url": hook["url"],
            "description": hook["description"],
            "subject_type": "repository",
            "subject": self.repository(repo, full=False),
            "active": hook["active"],
            "created_at": hook["created_at"],
            "events": sorted(hook["events"]),
            "secret_set": bool(hook["secret"]),
            "links": {"self": href(f"{self.repo_base(repo)}/hooks/{q(hook['uuid'])}")},
        }
