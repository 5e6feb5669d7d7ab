"""The oracle against the sandbox: arrange a scenario's fixture per cell, read state, digest, tear down."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from harness.oracle import Oracle, OracleConfig, OracleError
from harness.scenarios import load_scenario
from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api

LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"
T = TypeVar("T")


def oracle_for(sb: Sandbox, secret: str = "sandbox-oauth-oracle-secret") -> Oracle:
    return Oracle(
        OracleConfig(
            sb.urls["bitbucket_api"], sb.urls["bitbucket_oauth_token"], "sandbox-oauth-oracle-key", secret, "acme"
        )
    )


def run(sb: Sandbox, work: Callable[[Oracle], Awaitable[T]]) -> T:
    async def go() -> T:
        oracle = oracle_for(sb)
        try:
            return await work(oracle)
        finally:
            await oracle.aclose()

    return asyncio.run(go())


def test_arrange_builds_the_fixture_under_cell_names_and_teardown_removes_it(sandbox: Sandbox) -> None:
    scenario = load_scenario(LIBRARY / "core-open-pull-request.yaml")

    async def work(oracle: Oracle) -> None:
        arranged = await oracle.arrange(scenario, "c7")
        repo = arranged.first()
        assert repo.full_name == "acme/widgets-c7"
        branches = await oracle.branches(repo.full_name)
        assert branches == repo.heads and set(branches) == {"main", "feature/login"}
        with api(sandbox) as c:
            login = c.get(f"repositories/{repo.full_name}/src/{branches['feature/login']}/src/login.py")
            assert login.status_code == 200 and "def login" in login.text
            parents = c.get(f"repositories/{repo.full_name}/commit/{branches['feature/login']}").json()["parents"]
            assert [p["hash"] for p in parents] == [branches["main"]]  # branched off main's head
        assert arranged.placeholders()["repo"] == "widgets-c7"
        await oracle.teardown(arranged)
        with api(sandbox) as c:
            assert c.get(f"repositories/{repo.full_name}").status_code == 404

    run(sandbox, work)


def test_issue_states_latest_open_issue_and_digest_changes_with_a_comment(sandbox: Sandbox) -> None:
    scenario = load_scenario(LIBRARY / "core-comment-latest-issue.yaml")

    async def work(oracle: Oracle) -> None:
        arranged = await oracle.arrange(scenario, "c8")
        name = arranged.first().full_name
        assert [(i["title"], i["state"]) for i in await oracle.issues(name)] == [
            ("Old resolved bug", "resolved"),
            ("Document the widget API", "new"),
            ("Crash on empty widget name", "open"),
        ]
        latest = await oracle.latest_open_issue(name)
        assert latest is not None and latest["title"] == "Crash on empty widget name"
        before = await oracle.digest(name)
        assert before == arranged.first().digest
        with api(sandbox) as c:
            c.post(f"repositories/{name}/issues/{latest['id']}/comments", json={"content": {"raw": "On it."}})
        assert await oracle.digest(name) != before
        comments = await oracle.issue_comments(name, latest["id"])
        assert [c["content"]["raw"] for c in comments] == ["On it."]

    run(sandbox, work)


def test_bad_consumer_secret_is_a_clear_oracle_error(sandbox: Sandbox) -> None:
    async def work() -> None:
        oracle = oracle_for(sandbox, secret="wrong")
        try:
            refused = r"client credentials of sandbox-oauth-oracle-key\): 401 .*invalid_client"
            with pytest.raises(OracleError, match=refused):
                await oracle.branches("acme/widgets")
        finally:
            await oracle.aclose()

    asyncio.run(work())


def test_concurrent_cells_do_not_collide(sandbox: Sandbox) -> None:
    scenario = load_scenario(LIBRARY / "core-create-branch.yaml")

    async def work(oracle: Oracle) -> list[str]:
        cells = await asyncio.gather(*(oracle.arrange(scenario, f"p{i}") for i in range(4)))
        names = [c.first().full_name for c in cells]
        await asyncio.gather(*(oracle.teardown(c) for c in cells))
        return names

    assert sorted(run(sandbox, work)) == [f"acme/widgets-p{i}" for i in range(4)]
    with httpx.Client(trust_env=False) as c:
        assert c.get(sandbox.urls["bitbucket_api"] + "/repositories/acme/widgets-p0").status_code in (401, 403, 404)


def test_a_leftover_from_a_killed_run_is_replaced(sandbox: Sandbox) -> None:
    scenario = load_scenario(LIBRARY / "core-create-branch.yaml")

    async def work(oracle: Oracle) -> None:
        first = await oracle.arrange(scenario, "k1")  # never torn down, as after kill -9
        with api(sandbox) as c:
            c.post(
                f"repositories/{first.first().full_name}/refs/branches",
                json={"name": "stale", "target": {"hash": "main"}},
            ).raise_for_status()
        again = await oracle.arrange(scenario, "k1")
        assert set(await oracle.branches(again.first().full_name)) == {"main"}
        await oracle.teardown(again)

    run(sandbox, work)


def test_an_unlinked_scenario_is_arranged_in_the_unlinked_workspace(sandbox: Sandbox) -> None:
    scenario = load_scenario(LIBRARY / "denied-unlinked-workspace.yaml")

    async def work(oracle: Oracle) -> None:
        arranged = await oracle.arrange(scenario, "c9")
        assert arranged.first().full_name == "solo/notes-c9" and arranged.placeholders()["workspace"] == "solo"
        with api(sandbox) as c:
            assert c.get("workspaces/solo").json()["slug"] == "solo"
            assert c.get("repositories/solo/notes-c9/src/main/README.md").text == "# Notes\n"
        await oracle.teardown(arranged)
        with api(sandbox) as c:
            assert c.get("repositories/solo/notes-c9").status_code == 404

    async def go() -> None:
        config = OracleConfig(
            sandbox.urls["bitbucket_api"],
            sandbox.urls["bitbucket_oauth_token"],
            "sandbox-oauth-oracle-key",
            "sandbox-oauth-oracle-secret",
            "acme",
            "solo",
        )
        oracle = Oracle(config)
        try:
            await work(oracle)
        finally:
            await oracle.aclose()

    asyncio.run(go())


def test_an_unlinked_scenario_without_such_a_workspace_is_refused_before_any_request() -> None:
    scenario = load_scenario(LIBRARY / "denied-unlinked-workspace.yaml")
    oracle = Oracle(OracleConfig("http://127.0.0.1:9/2.0", "http://127.0.0.1:9/t", "k", "s", "acme"))
    assert oracle.workspace_for(load_scenario(LIBRARY / "core-create-branch.yaml")) == "acme"

    async def go() -> None:
        try:
            await oracle.arrange(scenario, "c9")  # port 9: any request would fail with a connection error
        finally:
            await oracle.aclose()

    with pytest.raises(OracleError, match=r"not linked to an Atlassian organisation.*BITBUCKET_WORKSPACE_UNLINKED"):
        asyncio.run(go())
