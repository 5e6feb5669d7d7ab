"""The sync's Bitbucket client: an OAuth consumer's client credentials (as the oracle authenticates), the REST
``src`` endpoint for commits and files, diffstats, the push webhook, build statuses and Code Insights reports.

Errors carry Bitbucket's own message and the request they answer, never a credential: the consumer's secret only
travels in the token request's Basic header, and the access token only in Authorization headers.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote

import httpx

from harness.sync.config import SyncConfig

J = dict[str, Any]
CONNECTION_FAILED = "Connection test failed. Please verify your Workspace, Client ID, and Client Secret are correct."
# OAuth scopes and what each also grants, for the checks the sync makes (Bitbucket's documented implications).
IMPLIES = {"pullrequest:write": {"repository:write", "pullrequest", "repository"}, "repository:write": {"repository"}}


class BitbucketFailure(Exception):
    """Bitbucket refused or failed a request; ``status`` is None when it could not be reached."""

    def __init__(self, request: str, status: int | None, message: str) -> None:
        super().__init__(f"{request}: {status or 'unreachable'} {message}".rstrip())
        self.request = request
        self.status = status
        self.message = message


def granted(scopes: str) -> set[str]:
    """The scopes a token's space-separated ``scopes`` grants, implications included."""
    held = set(scopes.split())
    for scope in list(held):
        held |= IMPLIES.get(scope, set())
    return held


def _message(response: httpx.Response) -> str:
    """Bitbucket's error text: the envelope's message and detail, or an OAuth error's description."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        detail = error.get("detail")
        return str(error.get("message", "")) + (f" ({detail})" if isinstance(detail, str) and detail else "")
    if isinstance(body, dict) and "error_description" in body:
        return f"{body.get('error')}: {body['error_description']}"
    return response.text[:300]


class Bitbucket:
    def __init__(self, config: SyncConfig, repository: str, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.repository = repository  # workspace/slug
        self.base = f"{config.api_url}/repositories/{repository}"
        self._client = client or httpx.AsyncClient(timeout=30, trust_env=False)
        self._token: str | None = None
        self._expires = 0.0
        self.scopes: set[str] = set()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Bitbucket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # transport ---------------------------------------------------------------------------------------------------
    async def token(self) -> str:
        """An access token from the client-credentials grant, renewed a minute before it expires."""
        if self._token is None or time.monotonic() > self._expires - 60:
            what = f"POST {self.config.token_url} (client credentials of {self.config.client_id})"
            try:
                response = await self._client.post(
                    self.config.token_url,
                    data={"grant_type": "client_credentials"},
                    auth=(self.config.client_id, self.config.client_secret),
                )
            except httpx.HTTPError as exc:
                raise BitbucketFailure(what, None, f"{type(exc).__name__}: {exc}") from None
            if response.status_code != 200:
                raise BitbucketFailure(what, response.status_code, _message(response))
            body = response.json()
            self._token = str(body["access_token"])
            self._expires = time.monotonic() + float(body.get("expires_in", 3600))
            self.scopes = granted(str(body.get("scopes", "")))
        return self._token

    async def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), **kwargs: Any) -> Any:
        """The response of an API request (``path`` relative to the API root, or absolute)."""
        url = path if path.startswith("http") else self.config.api_url + path
        what = f"{method} {url.removeprefix(self.config.api_url)}"
        headers = {"Authorization": f"Bearer {await self.token()}"}
        try:
            response = await self._client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise BitbucketFailure(what, None, f"{type(exc).__name__}: {exc}") from None
        if response.status_code not in ok:
            raise BitbucketFailure(what, response.status_code, _message(response))
        return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.request(method, path, **kwargs)).json()

    async def values(self, path: str, **params: Any) -> list[J]:
        """Every item of a paginated collection, following ``next``."""
        items: list[J] = []
        page = await self.json("GET", path, params=params)
        while True:
            items.extend(page.get("values", []))
            if not page.get("next"):
                return items
            page = await self.json("GET", page["next"])

    def repo_path(self, rest: str = "") -> str:
        return f"/repositories/{self.repository}{rest}"

    # repository and files ----------------------------------------------------------------------------------------
    async def workspace_exists(self) -> bool:
        try:
            await self.request("GET", f"/workspaces/{quote(self.config.workspace, safe='')}")
        except BitbucketFailure as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def repo(self) -> J:
        return dict(await self.json("GET", self.repo_path()))

    async def branch_head(self, name: str) -> str | None:
        try:
            found = await self.json("GET", self.repo_path(f"/refs/branches/{quote(name, safe='')}"))
        except BitbucketFailure as exc:
            if exc.status == 404:
                return None
            raise
        return str(found["target"]["hash"])

    async def branches(self) -> list[str]:
        return [b["name"] for b in await self.values(self.repo_path("/refs/branches"), pagelen=100)]

    async def read(self, commit: str, path: str) -> str:
        response = await self.request("GET", self.repo_path(f"/src/{commit}/{quote(path)}"))
        text: str = response.content.decode("utf-8")
        return text

    async def files_under(self, commit: str, directory: str) -> list[str]:
        """Every file below a directory at a commit (none when the directory does not exist)."""
        try:
            entries = await self.values(self.repo_path(f"/src/{commit}/{quote(directory)}/"), max_depth=10, pagelen=100)
        except BitbucketFailure as exc:
            if exc.status == 404:
                return []
            raise
        return sorted(e["path"] for e in entries if e.get("type") == "commit_file")

    async def diffstat(self, new: str, old: str | None) -> list[J]:
        spec = f"{new}..{old}" if old else new
        return await self.values(self.repo_path(f"/diffstat/{spec}"))

    async def commit(self, branch: str, files: dict[str, str], deleted: list[str], message: str) -> str:
        """One commit on ``branch`` through ``POST src``; returns its hash."""
        form: dict[str, Any] = {f"/{path}": text for path, text in files.items()}
        form |= {"message": message, "branch": branch}
        if deleted:
            form["files"] = deleted
        response = await self.request("POST", self.repo_path("/src"), data=form, ok=(201,))
        found = re.search(r"/commit/([0-9a-f]{40})$", response.headers.get("location", ""))
        if found:
            return found.group(1)
        head = await self.branch_head(branch)  # Bitbucket may answer without a Location: read the branch back
        if head is None:
            raise BitbucketFailure(f"GET {self.repo_path('/refs/branches/' + branch)}", 404, "branch not found")
        return head

    # the webhook -------------------------------------------------------------------------------------------------
    async def register_webhook(self, url: str, description: str = "harness sync") -> str:
        """The repository's push webhook at ``url``, signed with the webhook secret: created, or updated in place
        when one already points there. Returns its UUID."""
        body = {
            "description": description,
            "url": url,
            "active": True,
            "events": ["repo:push"],
            "secret": self.config.webhook_secret,
        }
        for hook in await self.values(self.repo_path("/hooks")):
            if hook.get("url") == url:
                uid = quote(str(hook["uuid"]), safe="")
                return str((await self.json("PUT", self.repo_path(f"/hooks/{uid}"), json=body))["uuid"])
        return str((await self.json("POST", self.repo_path("/hooks"), json=body))["uuid"])

    # results on a commit -----------------------------------------------------------------------------------------
    async def build_status(self, commit: str, body: J) -> J:
        return dict(await self.json("POST", self.repo_path(f"/commit/{commit}/statuses/build"), json=body))

    async def report(self, commit: str, report_id: str, body: J, annotations: list[J]) -> None:
        """A Code Insights report, replacing the one of that id, and its annotations (100 per request)."""
        path = self.repo_path(f"/commit/{commit}/reports/{quote(report_id, safe='')}")
        await self.request("DELETE", path, ok=(204, 404))
        await self.request("PUT", path, json=body)
        for start in range(0, len(annotations), 100):
            await self.request("POST", f"{path}/annotations", json=annotations[start : start + 100])
