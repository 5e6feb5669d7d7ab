"""What each tool action does: the Bitbucket REST calls it makes with the caller's own Authorization header.

Results are one text block: Bitbucket's JSON as received (compact), or the raw text for file contents and
diffs. A Bitbucket error becomes a tool error carrying Bitbucket's message and body (see ``errors``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox.bitbucket.errors import BitbucketError
from sandbox.bitbucket.render import q, qpath
from sandbox.bitbucket.world import World
from sandbox.mcp_http import text_result
from sandbox.rovo import local
from sandbox.rovo.auth import Caller
from sandbox.rovo.errors import ToolError, as_response, bitbucket_error
from sandbox.rovo.settings import org
from sandbox.upstream import BitbucketUpstream, UpstreamResponse

MAX_PAGES = 50  # a bound on lists gathered across Bitbucket pages (filtering linked workspaces, user PRs)
AVATAR = "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png"


@dataclass
class Call:
    """One tool call: the caller, its arguments, and the way to Bitbucket."""

    tool: str
    action: str
    args: dict[str, Any]
    caller: Caller
    world: World
    upstream: BitbucketUpstream

    def arg(self, name: str) -> Any:
        return self.args.get(name)

    def repo_path(self, suffix: str = "") -> str:
        return f"/repositories/{q(self.args['workspaceId'])}/{q(self.args['repoId'])}{suffix}"

    def pr_path(self, suffix: str = "") -> str:
        return self.repo_path(f"/pullrequests/{self.args['prId']}{suffix}")

    def paging(self) -> dict[str, Any]:
        return {"page": self.arg("page"), "pagelen": self.arg("pagelen")}

    def page_args(self, default_pagelen: int = 10) -> tuple[int, int]:
        return int(self.arg("page") or 1), int(self.arg("pagelen") or default_pagelen)

    async def rest(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
    ) -> UpstreamResponse:
        response = await self.upstream.request(
            method, path, self.caller.authorization, params=params, json_body=json_body, form=form
        )
        if not response.ok:
            raise bitbucket_error(response)
        return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.rest(method, path, **kwargs)).body

    async def all_pages(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        values: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            body = await self.json("GET", path, params={**(params or {}), "page": page, "pagelen": 100})
            values.extend(body.get("values", []))
            if not body.get("next"):
                break
        return values

    async def main_branch(self) -> str:
        repo = await self.json("GET", self.repo_path())
        return str(repo["mainbranch"]["name"])

    async def commit_of(self, ref: str) -> str:
        """A ref usable in one path segment: branch names with a slash are resolved to their head commit."""
        if "/" not in ref:
            return ref
        branch = await self.json("GET", self.repo_path(f"/refs/branches/{qpath(ref)}"))
        return str(branch["target"]["hash"])


Executor = Callable[[Call], Awaitable[str]]
EXECUTORS: dict[tuple[str, str], Executor] = {}


def executes(tool: str, action: str = "") -> Callable[[Executor], Executor]:
    def register(fn: Executor) -> Executor:
        EXECUTORS[(tool, action)] = fn
        return fn

    return register


def answered_here(fn: Callable[[Call], Any]) -> Executor:
    """Runs an operation answered from local state; its Bitbucket error becomes a tool error like any other."""

    async def run(call: Call) -> str:
        try:
            return text_result(fn(call))
        except BitbucketError as exc:
            raise bitbucket_error(as_response(exc)) from None

    return run


# shared tools ---------------------------------------------------------------------------------------------
@executes("atlassianUserInfo")
async def user_info(call: Call) -> str:
    cred = call.caller.credential
    user = call.world.principal_user(cred)
    if user is not None:
        return text_result(
            {
                "account_id": user["account_id"],
                "account_type": "atlassian",
                "email": user["email"],
                "name": user["display_name"],
                "nickname": user["username"],
                "account_status": "active",
            }
        )
    uuid = cred.principal.uuid if cred.principal else ""
    account = next((s for s in call.world.store.all("service_account") if s["uuid"] == uuid), None)
    if account is None:
        raise ToolError("The account behind this API key no longer exists.")
    # Service accounts are app accounts; their account id is derived from the sandbox's stable uuid.
    return text_result(
        {
            "account_id": f"712020:{uuid.strip('{}')}",
            "account_type": "app",
            "email": account["email"],
            "name": account["name"],
            "account_status": "active",
        }
    )


@executes("getAccessibleAtlassianResources")
async def accessible_resources(call: Call) -> str:
    site = org(call.world)
    return text_result(
        [
            {
                "id": site.cloud_id,
                "url": site.site_url,
                "name": site.site_name,
                "scopes": list(call.caller.credential.granted_order),
                "avatarUrl": AVATAR,
            }
        ]
    )


# workspaces and repositories --------------------------------------------------------------------------------
@executes("bitbucketWorkspace", "list")
async def workspace_list(call: Call) -> str:
    linked = []
    for entry in await call.all_pages("/user/workspaces", {"q": call.arg("q")}):
        ws = call.world.workspace(str((entry.get("workspace") or {}).get("slug", "")))
        if ws is not None and ws["linked_to_org"]:
            linked.append(entry)
    return text_result(local.page_of(linked, *call.page_args()))


@executes("bitbucketWorkspace", "get")
async def workspace_get(call: Call) -> str:
    return text_result(await call.json("GET", f"/workspaces/{q(call.args['workspaceId'])}"))


@executes("bitbucketRepository", "list")
async def repository_list(call: Call) -> str:
    params = {"q": call.arg("q"), "sort": call.arg("sort"), **call.paging()}
    return text_result(await call.json("GET", f"/repositories/{q(call.args['workspaceId'])}", params=params))


@executes("bitbucketRepository", "get")
async def repository_get(call: Call) -> str:
    return text_result(await call.json("GET", call.repo_path()))


@executes("bitbucketRepository", "defaultReviewers")
@answered_here
def default_reviewers(call: Call) -> Any:
    local.require_repo(
        call.world, call.caller.credential, *local.DEFAULT_REVIEWERS, call.args["workspaceId"], call.args["repoId"]
    )
    return local.empty_page(*call.page_args(20))  # no repository in the sandbox has default reviewers


# repository content ---------------------------------------------------------------------------------------------
@executes("bitbucketRepoContent", "branch.get")
async def branch_get(call: Call) -> str:
    name = call.arg("branchName")
    if name:
        return text_result(await call.json("GET", call.repo_path(f"/refs/branches/{qpath(name)}")))
    params = {"q": call.arg("q"), "sort": call.arg("sort"), **call.paging()}
    return text_result(await call.json("GET", call.repo_path("/refs/branches"), params=params))


@executes("bitbucketRepoContent", "commit.get")
async def commit_get(call: Call) -> str:
    ref = call.arg("referenceOrSha")
    if ref:
        commit = await call.commit_of(ref)
        return text_result(await call.json("GET", call.repo_path(f"/commit/{q(commit)}")))
    return text_result(await call.json("GET", call.repo_path("/commits"), params=call.paging()))


@executes("bitbucketRepoContent", "files.get")
async def files_get(call: Call) -> str:
    ref = call.arg("referenceOrSha") or await call.main_branch()
    path = str(call.arg("path") or "").strip("/")
    params = {"format": "meta" if call.arg("format") == "meta" else None, **call.paging()}
    response = await call.rest(
        "GET", call.repo_path(f"/src/{q(await call.commit_of(ref))}/{qpath(path)}"), params=params
    )
    return response.text  # as sent: a file's exact bytes (even a .json file), or Bitbucket's JSON listing


@executes("bitbucketRepoContent", "branch.create")
async def branch_create(call: Call) -> str:
    source = call.arg("referenceOrSha") or await call.main_branch()
    body = {"name": call.args["branchName"], "target": {"hash": source}}
    return text_result(await call.json("POST", call.repo_path("/refs/branches"), json_body=body))


def _commit_files(call: Call) -> dict[str, str]:
    files = call.arg("files")
    single = call.arg("path") is not None or call.arg("content") is not None
    if files is not None and single:
        raise ToolError("commit.create takes either files=[{path, content}] or path and content, not both.")
    if files is None:
        if call.arg("path") is None or call.arg("content") is None:
            raise ToolError("commit.create needs files=[{path, content}], or both path and content for one file.")
        files = [{"path": call.arg("path"), "content": call.arg("content")}]
    out: dict[str, str] = {}
    for entry in files:
        path = str(entry["path"]).strip("/")
        if not path:
            raise ToolError("commit.create: every file needs a non-empty path.")
        if path in out:
            raise ToolError(f"commit.create: the path {path} is given twice.")
        out[path] = str(entry["content"])
    return out


@executes("bitbucketRepoContent", "commit.create")
async def commit_create(call: Call) -> str:
    branch = str(call.args["branch"])
    # Bitbucket's commit-by-upload form: one field per file named after its path (leading slash), plus metadata.
    form = {f"/{path}": content for path, content in _commit_files(call).items()}
    form.update(message=call.args["message"], branch=branch)
    await call.rest("POST", call.repo_path("/src"), form=form)
    # Bitbucket answers 201 with no body; the branch as it now stands names the new commit. Writing needs only
    # write:repository, so the read-back may be refused: the commit still happened, so that is no tool error.
    try:
        return text_result(await call.json("GET", call.repo_path(f"/refs/branches/{qpath(branch)}")))
    except ToolError as exc:
        return f"Committed to {branch}; reading the branch back failed: {exc.text.splitlines()[0]}"


# pull requests ------------------------------------------------------------------------------------------------------
@executes("bitbucketPullRequest", "list")
async def pr_list(call: Call) -> str:
    params = {"state": call.arg("state"), "q": call.arg("q"), "sort": call.arg("sort"), **call.paging()}
    return text_result(await call.json("GET", call.repo_path("/pullrequests"), params=params))


@executes("bitbucketPullRequest", "get")
async def pr_get(call: Call) -> str:
    return text_result(await call.json("GET", call.pr_path()))


@executes("bitbucketPullRequest", "comments")
async def pr_comments(call: Call) -> str:
    return text_result(await call.json("GET", call.pr_path("/comments"), params=call.paging()))


@executes("bitbucketPullRequest", "diff")
async def pr_diff(call: Call) -> str:
    # Bitbucket's .../diff answers with a redirect to the repository diff between the two sides; this follows
    # it by hand: open pull requests compare the branches as they stand, closed ones the recorded commits.
    pr = await call.json("GET", call.pr_path())
    side = "branch" if pr["state"] == "OPEN" else "commit"
    key = "name" if side == "branch" else "hash"
    source, destination = pr["source"][side][key], pr["destination"][side][key]
    response = await call.rest(
        "GET", call.repo_path(f"/diff/{qpath(source)}..{qpath(destination)}"), params={"topic": "true"}
    )
    return response.text


@executes("bitbucketPullRequest", "create")
async def pr_create(call: Call) -> str:
    body: dict[str, Any] = {"title": call.args["title"], "source": {"branch": {"name": call.args["sourceBranch"]}}}
    if call.arg("targetBranch"):
        body["destination"] = {"branch": {"name": call.arg("targetBranch")}}
    for arg, field in (
        ("description", "description"),
        ("draft", "draft"),
        ("closeSourceBranch", "close_source_branch"),
    ):
        if call.arg(arg) is not None:
            body[field] = call.arg(arg)
    return text_result(await call.json("POST", call.repo_path("/pullrequests"), json_body=body))


@executes("bitbucketPullRequest", "merge")
async def pr_merge(call: Call) -> str:
    body = {
        field: call.arg(arg)
        for arg, field in (
            ("mergeStrategy", "merge_strategy"),
            ("message", "message"),
            ("closeSourceBranch", "close_source_branch"),
        )
        if call.arg(arg) is not None
    }
    return text_result(await call.json("POST", call.pr_path("/merge"), json_body=body))


@executes("bitbucketPullRequest", "approve")
async def pr_approve(call: Call) -> str:
    return text_result(await call.json("POST", call.pr_path("/approve")))


@executes("bitbucketPullRequest", "request-changes")
async def pr_request_changes(call: Call) -> str:
    return text_result(await call.json("POST", call.pr_path("/request-changes")))


@executes("bitbucketPullRequest", "comment")
async def pr_comment(call: Call) -> str:
    body: dict[str, Any] = {"content": {"raw": call.args["content"]}}
    if call.arg("parentCommentId") is not None:
        body["parent"] = {"id": call.arg("parentCommentId")}
    if call.arg("inlineToLine") is not None and call.arg("inlinePath") is None:
        raise ToolError("comment: inlineToLine needs inlinePath (the file the line belongs to).")
    if call.arg("inlinePath") is not None:
        body["inline"] = {"path": call.arg("inlinePath"), "to": call.arg("inlineToLine")}
    return text_result(await call.json("POST", call.pr_path("/comments"), json_body=body))


@executes("bitbucketPullRequest", "decline")
async def pr_decline(call: Call) -> str:
    return text_result(await call.json("POST", call.pr_path("/decline")))


@executes("bitbucketPullRequest", "update")
async def pr_update(call: Call) -> str:
    body: dict[str, Any] = {k: call.arg(k) for k in ("title", "description") if call.arg(k) is not None}
    if call.arg("targetBranch"):
        body["destination"] = {"branch": {"name": call.arg("targetBranch")}}
    if not body:
        raise ToolError("update needs at least one of title, description, targetBranch.")
    return text_result(await call.json("PUT", call.pr_path(), json_body=body))


@executes("bitbucketUser", "pullRequests")
async def user_pull_requests(call: Call) -> str:
    # Bitbucket's GET /workspaces/{ws}/pullrequests/{user} is gathered from each readable repository's list.
    cred = call.caller.credential
    try:
        ws = local.require_workspace(call.world, cred, *local.USER_PULL_REQUESTS, call.args["workspaceId"])
    except BitbucketError as exc:
        raise bitbucket_error(as_response(exc)) from None
    me = cred.principal.uuid if cred.principal else None
    mine: list[Any] = []
    for repo in call.world.store.children("repository", ws["slug"]):
        if call.world.repo_permission(cred, repo) is None:
            continue
        path = f"/repositories/{q(ws['slug'])}/{q(repo['slug'])}/pullrequests"
        values = await call.all_pages(path, {"state": call.arg("state")})
        mine.extend(v for v in values if (v.get("author") or {}).get("uuid") == me)
    return text_result(local.page_of(mine, *call.page_args()))


# pipelines, deployments, environments (none in the sandbox) ----------------------------------------------------
def _repo(call: Call, method: str, template: str, level: str = "read") -> None:
    local.require_repo(
        call.world, call.caller.credential, method, template, call.args["workspaceId"], call.args["repoId"], level
    )


PIPELINES = local.R + "/pipelines"
STEPS = PIPELINES + "/{pipeline_uuid}/steps"


@executes("bitbucketPipeline", "list")
@answered_here
def pipeline_list(call: Call) -> Any:
    _repo(call, "get", PIPELINES)
    return local.empty_page(*call.page_args())


@executes("bitbucketPipeline", "get")
@answered_here
def pipeline_get(call: Call) -> Any:
    _repo(call, "get", PIPELINES + "/{pipeline_uuid}")
    raise local.pipeline_not_found(call.args["pipelineUuid"])


@executes("bitbucketPipeline", "steps")
@answered_here
def pipeline_steps(call: Call) -> Any:
    _repo(call, "get", STEPS)
    raise local.pipeline_not_found(call.args["pipelineUuid"])


@executes("bitbucketPipeline", "step.get")
@answered_here
def pipeline_step(call: Call) -> Any:
    _repo(call, "get", STEPS + "/{step_uuid}")
    raise local.pipeline_not_found(call.args["pipelineUuid"])


@executes("bitbucketPipeline", "step.log")
@answered_here
def pipeline_step_log(call: Call) -> Any:
    _repo(call, "get", STEPS + "/{step_uuid}/log")
    raise local.pipeline_not_found(call.args["pipelineUuid"])


@executes("bitbucketPipeline", "run")
@answered_here
def pipeline_run(call: Call) -> Any:
    _repo(call, "post", PIPELINES, "write")
    raise local.pipelines_off(
        f"No pipeline can run on {call.args['branchName']}: enable Pipelines in the repository settings first."
    )


@executes("bitbucketDeployment", "list")
@answered_here
def deployment_list(call: Call) -> Any:
    _repo(call, "get", local.R + "/deployments")
    return local.empty_page(*call.page_args())


@executes("bitbucketDeployment", "get")
@answered_here
def deployment_get(call: Call) -> Any:
    _repo(call, "get", local.R + "/deployments/{deployment_uuid}")
    raise local.deployment_not_found(call.args["deploymentUuid"])


ENVIRONMENTS = local.R + "/environments"


@executes("bitbucketEnvironment", "list")
@answered_here
def environment_list(call: Call) -> Any:
    _repo(call, "get", ENVIRONMENTS)
    return local.empty_page(*call.page_args())


@executes("bitbucketEnvironment", "get")
@answered_here
def environment_get(call: Call) -> Any:
    _repo(call, "get", ENVIRONMENTS + "/{environment_uuid}")
    raise local.environment_not_found(call.args["environmentUuid"])


@executes("bitbucketEnvironment", "create")
@answered_here
def environment_create(call: Call) -> Any:
    _repo(call, "post", ENVIRONMENTS, "admin")
    raise local.pipelines_off("Deployment environments need Pipelines; enable it in the repository settings.")


@executes("bitbucketEnvironment", "update")
@answered_here
def environment_update(call: Call) -> Any:
    _repo(call, "post", ENVIRONMENTS + "/{environment_uuid}/changes", "admin")
    raise local.environment_not_found(call.args["environmentUuid"])


@executes("bitbucketEnvironment", "delete")
@answered_here
def environment_delete(call: Call) -> Any:
    _repo(call, "delete", ENVIRONMENTS + "/{environment_uuid}", "admin")
    raise local.environment_not_found(call.args["environmentUuid"])
