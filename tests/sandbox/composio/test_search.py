"""COMPOSIO_SEARCH_TOOLS: deterministic, relevant results and the shape of what it returns."""

from __future__ import annotations

import pytest

from sandbox import Sandbox
from sandbox.composio.bitbucket_tools import TOOLS
from sandbox.composio.search import search
from tests.sandbox.composio.helpers import BASE, create_session, rest

QUERIES = [
    ("create a new branch off main", "BITBUCKET_CREATE_BRANCH", "BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE"),
    ("open a pull request for my feature", "BITBUCKET_CREATE_PULL_REQUEST", "BITBUCKET_LIST_PULL_REQUESTS"),
    ("comment on the latest open issue", "BITBUCKET_CREATE_ISSUE_COMMENT", "BITBUCKET_UPDATE_ISSUE"),
    (
        "fetch readme file from repository",
        "BITBUCKET_GET_FILE_FROM_REPOSITORY",
        "BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE",
    ),
    ("list open pull requests", "BITBUCKET_LIST_PULL_REQUESTS", "BITBUCKET_GET_PULL_REQUEST"),
    ("who am I on Bitbucket?", "BITBUCKET_GET_CURRENT_USER", "BITBUCKET_LIST_WORKSPACES"),
    ("close issue 3 as resolved", "BITBUCKET_UPDATE_ISSUE", "BITBUCKET_CREATE_ISSUE_COMMENT"),
    ("remove the gadgets repo", "BITBUCKET_DELETE_REPOSITORY", "BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE"),
]


@pytest.mark.parametrize(("use_case", "primary", "related"), QUERIES)
def test_use_cases_find_their_tools(use_case: str, primary: str, related: str) -> None:
    match = search(use_case, TOOLS)
    assert match.matched and match.primary == [primary] and related in match.related
    assert primary not in match.related and len(match.primary) + len(match.related) <= 6
    assert search(use_case, TOOLS) == match  # deterministic


def test_unmatched_queries_still_get_tools_and_restrictions_apply() -> None:
    cake = search("bake a chocolate cake", TOOLS)
    assert not cake.matched and cake.primary == ["BITBUCKET_LIST_WORKSPACES"] and cake.related
    allowed = [t for t in TOOLS if t.slug != "BITBUCKET_CREATE_BRANCH"]
    assert "BITBUCKET_CREATE_BRANCH" not in search("create a branch", allowed).primary


def test_search_response_shape(sandbox: Sandbox) -> None:
    session = create_session(sandbox, "user-1")
    with rest(sandbox) as c:
        r = c.post(
            f"{BASE}/{session['session_id']}/search",
            json={"queries": [{"use_case": "open a pull request", "known_fields": "workspace:acme"}]},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    result = body["results"][0]
    assert result["primary_tool_slugs"] == ["BITBUCKET_CREATE_PULL_REQUEST"] and result["toolkits"] == ["bitbucket"]
    assert "workspace:acme" in result["execution_guidance"]
    slugs = result["primary_tool_slugs"] + result["related_tool_slugs"]
    assert list(body["tool_schemas"]) == slugs
    full = [s for s in slugs if body["tool_schemas"][s]["hasFullSchema"]]
    assert full == slugs[:3] and "input_schema" in body["tool_schemas"][slugs[0]]
    ref = body["tool_schemas"][slugs[3]]["schemaRef"]
    assert ref["tool"] == "COMPOSIO_GET_TOOL_SCHEMAS" and ref["args"] == {"tool_slugs": [slugs[3]]}
    status = body["toolkit_connection_statuses"]
    assert [(s["toolkit"], s["has_active_connection"]) for s in status] == [("bitbucket", True)]
    assert body["session"]["id"] == session["session_id"] and body["success"] is True
    assert body["time_info"]["current_time_utc_epoch_seconds"] > 0 and body["next_steps_guidance"]
