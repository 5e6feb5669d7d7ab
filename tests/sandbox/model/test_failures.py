"""The reference policy when things go wrong on the real MCP paths: a scope denial, a user with no connection, a
fault in Bitbucket, a Composio session with direct tools instead of meta tools."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api
from tests.sandbox.model.drivers import agents_client, composio_path, pydantic_ai, rovo_path


def bitbucket_log(sb: Sandbox) -> list[dict[str, Any]]:
    return list(sb.admin.get("/bitbucket/requests").json()["requests"])


def test_a_scope_denial_is_reported_plainly_and_not_retried(sandbox: Sandbox) -> None:
    read_only = composio_path(sandbox, user_id="user-readonly")  # a connection without repository:write
    (text,) = asyncio.run(
        pydantic_ai(
            sandbox.urls["model_api"],
            "sandbox-reference",
            read_only,
            ["create a branch feature/denied off main in acme/widgets"],
        )
    )
    attempts = [r for r in bitbucket_log(sandbox) if r["method"] == "POST" and r["path"].endswith("/refs/branches")]
    assert [r["status"] for r in attempts] == [403]
    assert text.startswith("I couldn't create branch `feature/denied` in acme/widgets: Your credentials lack")
    assert "not allowed to do this" in text and "Created" not in text


def test_a_user_without_a_connection_gets_the_link(sandbox: Sandbox) -> None:
    (text,) = asyncio.run(
        pydantic_ai(
            sandbox.urls["model_api"],
            "sandbox-reference",
            composio_path(sandbox, user_id="user-new"),
            ["show me the README of acme/widgets"],
        )
    )
    assert text.startswith("Bitbucket is not connected for this user yet. Connect it here: http://127.0.0.1:")
    assert "/link/" in text


@pytest.mark.parametrize("faults", [1, 3])
def test_a_transient_fault_is_retried_once(sandbox: Sandbox, faults: int) -> None:
    fault = sandbox.admin.post(
        "/faults", json={"server": "bitbucket", "method": "GET", "path": "/src/", "status": 503, "count": faults}
    )
    assert fault.status_code == 201
    # (Not Pydantic AI: it ends a run when the same tool fails twice, its default of one retry per tool.)
    (text,) = asyncio.run(
        agents_client(
            sandbox.urls["model_api"], "sandbox-reference", rovo_path(sandbox), ["show me the README of acme/widgets"]
        )
    )
    left = sandbox.admin.get("/faults").json()["rules"]  # a rule disappears once it has fired ``count`` times
    reads = [r["status"] for r in bitbucket_log(sandbox) if "/src/" in r["path"]]  # faulted requests go unlogged
    if faults == 1:
        assert left == [] and reads == [200] and "# Widgets" in text
    else:  # two attempts, then a plain report
        assert [r["fired"] for r in left] == [2] and reads == []
        assert text.startswith("I couldn't read `README.md`") and "failed twice" in text


def test_composio_direct_tools_session(sandbox: Sandbox) -> None:
    direct = composio_path(sandbox, session_preset="direct_tools")
    texts = asyncio.run(
        pydantic_ai(
            sandbox.urls["model_api"],
            "sandbox-reference",
            direct,
            [
                "create a branch feature/direct off main in acme/widgets",
                "open a pull request for my feature",
                "show me the README",
            ],
        )
    )
    with api(sandbox) as c:
        (pr,) = c.get("repositories/acme/widgets/pullrequests").json()["values"]
    assert pr["source"]["branch"]["name"] == "feature/direct"
    assert texts[0].startswith("Created branch `feature/direct`") and "# Widgets" in texts[2]
