"""The oracle: arranges each cell's Bitbucket fixtures and reads the resulting state, over REST.

It authenticates as an OAuth consumer with the client-credentials grant, the same way against Bitbucket Cloud and
the sandbox (only the URLs and the consumer differ), and the agent under test never sees that credential. Each
cell gets its own repositories (``<logical name>-<cell id>``), so cells run concurrently; teardown deletes them.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.scenarios.schema import MAIN, RepositorySpec, Scenario

J = dict[str, Any]
DELETED = "deleted"  # the digest of a repository that no longer exists
NO_UNLINKED_WORKSPACE = (
    "the scenario needs a workspace that is not linked to an Atlassian organisation and this "
    "world has none (live world: set BITBUCKET_WORKSPACE_UNLINKED)"
)


class OracleError(RuntimeError):
    """Bitbucket refused or failed an oracle request; the message names the request and Bitbucket's answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class OracleConfig:
    api_url: str  # https://api.bitbucket.org/2.0, or the sandbox's /2.0
    token_url: str  # https://bitbucket.org/site/oauth2/access_token, or the sandbox's
    client_id: str
    client_secret: str
    workspace: str
    unlinked_workspace: str | None = None  # one not linked to an Atlassian organisation (Rovo refuses it)


@dataclass
class ArrangedRepo:
    logical: str
    slug: str
    full_name: str
    heads: dict[str, str]  # branch -> hash, right after arranging
    digest: str  # state digest right after arranging


@dataclass
class Arranged:
    cell_id: str
    workspace: str
    repos: dict[str, ArrangedRepo] = field(default_factory=dict)  # by logical name, in fixture order

    def first(self) -> ArrangedRepo:
        return next(iter(self.repos.values()))

    def repo(self, logical: str | None) -> ArrangedRepo:
        return self.first() if logical is None else self.repos[logical]

    def placeholders(self) -> dict[str, str]:
        """The values of a scenario's placeholders for this cell (see harness.scenarios.placeholders)."""
        first = self.first()
        values = {"workspace": self.workspace, "repo": first.slug, "main_head": next(iter(first.heads.values()), "")}
        values |= {f"repo:{r.logical}": r.slug for r in self.repos.values()}
        return values


class Oracle:
    def __init__(self, config: OracleConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client or httpx.AsyncClient(timeout=30, trust_env=False)
        self._token: str | None = None
        self._token_expires = 0.0

    async def aclose(self) -> None:
        await self._client.aclose()

    # transport ------------------------------------------------------------------------------------------
    async def _bearer(self) -> str:
        if self._token is None or time.monotonic() > self._token_expires - 60:
            response = await self._client.post(
                self.config.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.config.client_id, self.config.client_secret),
            )
            if response.status_code != 200:
                raise OracleError(
                    f"POST {self.config.token_url} (client credentials of {self.config.client_id}): "
                    f"{response.status_code} {response.text[:300]}"
                )
            body = response.json()
            self._token = str(body["access_token"])
            self._token_expires = time.monotonic() + float(body.get("expires_in", 3600))
        return self._token

    async def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), **kwargs: Any) -> Any:
        url = path if path.startswith("http") else self.config.api_url + path
        headers = {"Authorization": f"Bearer {await self._bearer()}"}
        response = await self._client.request(method, url, headers=headers, **kwargs)
        if response.status_code not in ok:
            raise OracleError(f"{method} {path}: {response.status_code} {response.text[:300]}", response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json() if "json" in response.headers.get("content-type", "") else response.text

    async def values(self, path: str, **params: Any) -> list[J]:
        """Every item of a paginated collection, following ``next``."""
        items: list[J] = []
        page: Any = await self.request("GET", path, params={"pagelen": 100, **params})
        while True:
            items.extend(page.get("values", []))
            if not page.get("next"):
                return items
            page = await self.request("GET", page["next"])

    # arranging ------------------------------------------------------------------------------------------
    def workspace_for(self, scenario: Scenario) -> str:
        """The workspace the scenario's repositories go in; OracleError when the world has none such."""
        if scenario.fixture.workspace == "default":
            return self.config.workspace
        if not self.config.unlinked_workspace:
            raise OracleError(f"{scenario.id}: {NO_UNLINKED_WORKSPACE}")
        return self.config.unlinked_workspace

    async def arrange(self, scenario: Scenario, cell_id: str) -> Arranged:
        arranged = Arranged(cell_id, self.workspace_for(scenario))
        try:
            for spec in scenario.fixture.repositories:
                arranged.repos[spec.name] = await self._arrange_repo(spec, cell_id, arranged.workspace)
        except BaseException:
            await self.teardown(arranged)
            raise
        return arranged

    async def _arrange_repo(self, spec: RepositorySpec, cell_id: str, workspace: str) -> ArrangedRepo:
        slug = f"{spec.name}-{cell_id}".lower()[:62]
        base = f"/repositories/{workspace}/{slug}"
        # A run killed before its teardown leaves its repositories behind; cell names are stable, so a rerun
        # of the cell clears the leftover first.
        await self.request("DELETE", base, ok=(204, 404))
        await self.request(
            "POST",
            base,
            json={"scm": "git", "is_private": True, "description": spec.description, "has_issues": spec.has_issues},
        )
        heads: dict[str, str] = {}
        for name in _branch_order(spec):  # main first: the first branch pushed becomes the main branch
            branch = spec.branches[name]
            form = {f"/{path}": content for path, content in branch.files.items()} or {"/.keep": ""}
            form |= {"message": branch.message or f"Add {name}", "branch": name}
            if branch.base:
                form["parents"] = heads[branch.base]
            await self.request("POST", f"{base}/src", data=form)
            heads[name] = (await self.request("GET", f"{base}/refs/branches/{name}"))["target"]["hash"]
        for issue in spec.issues:
            created = await self.request(
                "POST",
                f"{base}/issues",
                json={
                    "title": issue.title,
                    "content": {"raw": issue.content},
                    "kind": issue.kind,
                    "priority": issue.priority,
                },
            )
            if issue.state != "new":
                await self.request("PUT", f"{base}/issues/{created['id']}", json={"state": issue.state})
        for pr in spec.pull_requests:
            body: J = {"title": pr.title, "description": pr.description, "source": {"branch": {"name": pr.source}}}
            if pr.destination:
                body["destination"] = {"branch": {"name": pr.destination}}
            await self.request("POST", f"{base}/pullrequests", json=body)
        full_name = f"{workspace}/{slug}"
        return ArrangedRepo(spec.name, slug, full_name, heads, await self.digest(full_name))

    async def teardown(self, arranged: Arranged) -> None:
        for repo in arranged.repos.values():
            await self.request("DELETE", f"/repositories/{repo.full_name}", ok=(204, 404))

    # reading --------------------------------------------------------------------------------------------
    async def branches(self, full_name: str) -> dict[str, str]:
        return {b["name"]: b["target"]["hash"] for b in await self.values(f"/repositories/{full_name}/refs/branches")}

    async def pull_requests(self, full_name: str, state: str = "OPEN") -> list[J]:
        return await self.values(f"/repositories/{full_name}/pullrequests", state=state)

    async def issues(self, full_name: str) -> list[J]:
        return await self.values(f"/repositories/{full_name}/issues", sort="id")

    async def latest_open_issue(self, full_name: str) -> J | None:
        """What "the latest open issue" means: the newest issue whose state is new or open."""
        found = await self.values(
            f"/repositories/{full_name}/issues", q='state="new" OR state="open"', sort="-created_on"
        )
        return found[0] if found else None

    async def issue_comments(self, full_name: str, issue_id: int) -> list[J]:
        return await self.values(f"/repositories/{full_name}/issues/{issue_id}/comments")

    async def digest(self, full_name: str) -> str:
        """A hash of everything an agent could change: branch heads, pull requests, issues and comments
        (``DELETED`` once the repository is gone)."""
        try:
            state: J = {"branches": await self.branches(full_name), "pull_requests": [], "issues": []}
        except OracleError as exc:
            if exc.status == 404:
                return DELETED
            raise
        for pr_state in ("OPEN", "MERGED", "DECLINED"):
            for pr in await self.pull_requests(full_name, pr_state):
                state["pull_requests"].append(
                    [
                        pr["id"],
                        pr["state"],
                        pr["title"],
                        pr["source"]["branch"]["name"],
                        pr["destination"]["branch"]["name"],
                        pr.get("comment_count", 0),
                    ]
                )
        for issue in await self._tracked_issues(full_name):
            comments = [c["content"]["raw"] for c in await self.issue_comments(full_name, issue["id"])]
            state["issues"].append([issue["id"], issue["state"], issue["title"], comments])
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()

    async def _tracked_issues(self, full_name: str) -> list[J]:
        """The issues; none when the repository's issue tracker is off (Bitbucket answers 404)."""
        try:
            return await self.issues(full_name)
        except OracleError as exc:
            if exc.status == 404:  # the repository exists (its branches were just read): the tracker is off
                return []
            raise


def _branch_order(spec: RepositorySpec) -> list[str]:
    """Branches in an order where each base comes before the branches made from it, main first."""
    order = [MAIN]
    pending = [name for name in spec.branches if name != MAIN]
    while pending:
        ready = [n for n in pending if spec.branches[n].base in order or spec.branches[n].base is None]
        if not ready:
            raise ValueError(f"repository {spec.name}: branch bases form a cycle: {', '.join(pending)}")
        order.extend(ready)
        pending = [n for n in pending if n not in ready]
    return order
