"""Bitbucket operations the Bitbucket sandbox does not serve, answered here from the world's state.

The sandbox has no Pipelines, deployments, environments or default reviewers, and no per-user pull request
endpoint. The tools that need them still apply what Bitbucket would apply first (the operation's API-token
scopes from the official OpenAPI document, then the caller's access to the workspace or repository), and
then say truthfully what the world holds: empty lists, and "not found" / "Pipelines are not enabled" for
anything named or created.
"""

from __future__ import annotations

from typing import Any

from sandbox.bitbucket.auth import Credential
from sandbox.bitbucket.errors import MISSING_SCOPE, BitbucketError
from sandbox.bitbucket.operations import operation
from sandbox.bitbucket.scopes import missing_scopes, required_scopes
from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.world import World

R = "/repositories/{workspace}/{repo_slug}"
DEFAULT_REVIEWERS = ("get", R + "/default-reviewers")
USER_PULL_REQUESTS = ("get", "/workspaces/{workspace}/pullrequests/{selected_user}")
PIPELINES_OFF = "Pipelines are not enabled for this repository."
NO_PIPELINES = "This repository has no pipelines: Pipelines are not enabled for it."
NO_DEPLOYMENTS = "This repository has no deployments: Pipelines are not enabled for it."
NO_ENVIRONMENTS = "This repository has no deployment environments: Pipelines are not enabled for it."


def require_scopes(cred: Credential, method: str, template: str) -> None:
    """Bitbucket's scope check for an operation of the official document (its 403 envelope when it fails)."""
    op = operation(method, template)
    if missing_scopes(op, cred.vocabulary, cred.scopes):
        raise BitbucketError(
            403,
            MISSING_SCOPE,
            detail={"granted": list(cred.granted_order), "required": required_scopes(op, cred.vocabulary)},
        )


def require_repo(
    world: World, cred: Credential, method: str, template: str, ws: str, repo: str, level: str = "read"
) -> Doc:
    require_scopes(cred, method, template)
    return world.require_repo(cred, ws, repo, level)


def require_workspace(world: World, cred: Credential, method: str, template: str, ws_ref: str) -> Doc:
    require_scopes(cred, method, template)
    ws = world.workspace(ws_ref)
    if ws is None or not world.can_see_workspace(cred, ws["slug"]):
        raise BitbucketError(404, f"Workspace {ws_ref} not found")
    return ws


def empty_page(page: int, pagelen: int) -> dict[str, Any]:
    return {"pagelen": pagelen, "size": 0, "page": page, "values": []}


def page_of(values: list[Any], page: int, pagelen: int) -> dict[str, Any]:
    """One page of a list gathered here, in Bitbucket's envelope (without next/previous links)."""
    start = (page - 1) * pagelen
    return {"pagelen": pagelen, "size": len(values), "page": page, "values": values[start : start + pagelen]}


def pipeline_not_found(uuid: str) -> BitbucketError:
    return BitbucketError(404, f"Pipeline {uuid} not found", detail=NO_PIPELINES)


def pipelines_off(detail: str) -> BitbucketError:
    return BitbucketError(400, PIPELINES_OFF, detail=detail)


def deployment_not_found(uuid: str) -> BitbucketError:
    return BitbucketError(404, f"Deployment {uuid} not found", detail=NO_DEPLOYMENTS)


def environment_not_found(uuid: str) -> BitbucketError:
    return BitbucketError(404, f"Environment {uuid} not found", detail=NO_ENVIRONMENTS)
