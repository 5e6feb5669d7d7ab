"""A page costs the same whatever the size of the list: records are cut to the page before they are rendered.

In process (the REST app over the world, no sockets), so that the renderer can be counted; bench/bench_branches.py
measures the same over HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.bitbucket.app import create_app
from sandbox.bitbucket.render import Renderer
from sandbox.bitbucket.world import World
from sandbox.fixtures import default_fixture

AUTH = ("alice@example.com", "sandbox-apitoken-alice-full")
BRANCHES = "/2.0/repositories/acme/widgets/refs/branches"


@pytest.fixture(scope="module")
def client() -> Any:
    world = World.create()
    world.load(default_fixture())
    git = world.repo_git(world.store.get("repository", "acme/widgets") or {})
    head = git.branch_head("main")
    assert head is not None
    for i in range(1000):
        git.set_branch(f"bulk/{i:04}", head)
    app, _ = create_app(world)
    with TestClient(app) as c:
        yield c


def count_branch_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    rendered: list[str] = []
    original = Renderer.branch

    def spy(self: Renderer, repo: dict[str, Any], name: str, target: dict[str, Any]) -> dict[str, Any]:
        rendered.append(name)
        return original(self, repo, name, target)

    monkeypatch.setattr(Renderer, "branch", spy)
    return rendered


def test_a_page_of_branches_renders_only_that_page(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = count_branch_renders(monkeypatch)
    page = client.get(BRANCHES, params={"page": 3, "pagelen": 25}, auth=AUTH).json()
    assert page["size"] == 1002 and len(page["values"]) == 25
    assert rendered == [b["name"] for b in page["values"]] == [f"bulk/{i:04}" for i in range(50, 75)]
    assert page["next"].endswith("page=4") and page["previous"].endswith("page=2")


def test_a_filter_still_sees_every_branch(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """q and sort read rendered fields, so they render the whole list (and find what is on no first page)."""
    rendered = count_branch_renders(monkeypatch)
    page = client.get(BRANCHES, params={"q": 'name ~ "bulk/099"', "sort": "-name"}, auth=AUTH).json()
    assert [b["name"] for b in page["values"]] == [f"bulk/099{i}" for i in range(9, -1, -1)]
    assert page["size"] == 10 and len(rendered) == 1002
