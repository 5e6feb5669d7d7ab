"""A scenario's upstream faults: scripted through the sandbox's admin API for one cell's repository, during the
conversation only, removed afterwards (only that cell's rules), recorded and replayed; refused where there is no
sandbox. Also the worlds that cannot run a scenario at all."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import yaml

from harness.recording.cassettes import Hosts
from harness.results import V1_IDENTITIES
from harness.runner.faults import FaultError, injected, rules
from harness.runner.matrix import Cell
from harness.runner.worker import CellJob, run_cell
from harness.scenarios import load_scenario
from harness.scenarios.plans import compiled_plans
from harness.scenarios.schema import FaultSpec
from harness.worlds import LIVE_VARIABLES, live_world, replay_world, sandbox_world
from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api

LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"
RATE_LIMITED = LIBRARY / "fault-rate-limited-branch.yaml"
BRANCHES = "/repositories/{workspace}/{repo}/refs/branches$"


def test_rules_fill_the_cells_names_escaped() -> None:
    (rule,) = rules(
        [FaultSpec(method="POST", path=BRANCHES, status=429, count=2, retry_after=5)],
        {"workspace": "acme", "repo": "w.x-c1"},
    )
    assert rule == {
        "server": "bitbucket",
        "method": "POST",
        "path": r"/repositories/acme/w\.x\-c1/refs/branches$",
        "action": "status",
        "status": 429,
        "count": 2,
        "retry_after": 5,
    }
    assert re.search(rule["path"], "/2.0/repositories/acme/w.x-c1/refs/branches")
    assert not re.search(rule["path"], "/2.0/repositories/acme/wXx-c1/refs/branches")  # a dot is a dot


def test_faults_hit_only_the_cells_repository_and_only_inside_the_block(sandbox: Sandbox) -> None:
    world = sandbox_world(sandbox.info)
    other_cell = sandbox.admin.post("/faults", json={"path": "/nowhere", "status": 503, "count": 9})
    assert other_cell.status_code == 201
    faults = [FaultSpec(method="GET", path=BRANCHES, status=503, count=50)]

    async def inside() -> None:
        async with injected(world.admin, faults, {"workspace": "acme", "repo": "widgets"}) as ids:
            assert len(ids) == 1 and len(sandbox.admin.get("/faults").json()["rules"]) == 2
            with api(sandbox) as c:
                assert c.get("repositories/acme/widgets/refs/branches").status_code == 503
                assert c.get("repositories/acme/gadgets/refs/branches").status_code == 200
                assert c.get("repositories/acme/widgets/refs/branches").status_code == 503  # still there
            raise KeyError("the conversation broke")

    with pytest.raises(KeyError):
        asyncio.run(inside())
    left = sandbox.admin.get("/faults").json()["rules"]
    assert [r["path"] for r in left] == ["/nowhere"]  # another cell's rule stays
    with api(sandbox) as c:
        assert c.get("repositories/acme/widgets/refs/branches").status_code == 200
    assert sandbox.admin.delete("/faults/999").json() == {"removed": False}


def test_faults_without_an_admin_api_are_refused() -> None:
    async def go() -> None:
        async with injected(None, [FaultSpec(path=BRANCHES, status=500)], {"workspace": "a", "repo": "b"}):
            pass

    with pytest.raises(FaultError, match="faults need the sandbox world"):
        asyncio.run(go())


def live_job(tmp_path: Path, scenario: Path, **env: str) -> CellJob:
    world = live_world({name: f"value-of-{name.lower()}" for name in LIVE_VARIABLES} | env)
    loaded = load_scenario(scenario)
    cell = Cell(loaded.id, "pydantic-ai", "rovo", "sandbox-reference", 1)
    return CellJob(cell, loaded, str(scenario), world, "all", tmp_path / "cassettes", tmp_path / "t", "live", 30.0)


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        (
            RATE_LIMITED,
            "faults need the sandbox world: only its admin API can make Bitbucket fail on purpose; "
            "the live world has none",
        ),
        (
            LIBRARY / "denied-unlinked-workspace.yaml",
            "the scenario needs a workspace that is not linked to an Atlassian organisation and this world has none "
            "(live world: set BITBUCKET_WORKSPACE_UNLINKED) (the live world)",
        ),
    ],
)
def test_the_live_world_gives_an_error_row_and_touches_nothing(tmp_path: Path, scenario: Path, reason: str) -> None:
    job = live_job(tmp_path, scenario)
    row = run_cell(job)
    assert (row.verdict, row.reasons) == ("error", [reason])
    assert not job.cell.cassette(job.cassettes).exists()  # nothing arranged, nothing recorded


def test_a_configured_unlinked_workspace_is_used_by_the_live_world(tmp_path: Path) -> None:
    job = live_job(tmp_path, LIBRARY / "denied-unlinked-workspace.yaml", BITBUCKET_WORKSPACE_UNLINKED="lone")
    assert job.world.oracle.unlinked_workspace == "lone"


def test_a_rate_limited_cell_records_its_faults_and_replays_them(sandbox: Sandbox, tmp_path: Path) -> None:
    scenario = load_scenario(RATE_LIMITED)
    sandbox.register_plans(compiled_plans([scenario]))
    world = sandbox_world(sandbox.info)
    cell = Cell(scenario.id, "pydantic-ai", "rovo", "sandbox-reference", 1)
    recorded = run_cell(CellJob(cell, scenario, str(RATE_LIMITED), world, "all", tmp_path, tmp_path / "t", "rec", 60.0))
    assert recorded.verdict == "pass", recorded.reasons
    assert recorded.tools == ["bitbucketRepoContent:branch.create"] * 2  # refused once, then created
    assert sandbox.admin.get("/faults").json()["rules"] == []

    cassette = cell.cassette(tmp_path)
    text = cassette.read_text()
    assert world.admin is not None and world.admin.key not in text
    requests = [(i["request"]["method"], i["request"]["uri"]) for i in yaml.safe_load(text)["interactions"]]
    hosts = Hosts(world.urls())  # the cassette names the parties' fixed hosts, not the sandbox's ports
    assert hosts.text(world.admin.url) == "http://admin.loopback.localhost"
    admin = [n for n, (_, uri) in enumerate(requests) if uri.startswith(hosts.text(world.admin.url))]
    assert [requests[n][0] for n in admin] == ["POST", "DELETE"]
    oracle = [n for n, (_, uri) in enumerate(requests) if uri.startswith(hosts.text(world.oracle.api_url))]
    arranged, read_back = [n for n in oracle if n < admin[0]], [n for n in oracle if n > admin[1]]
    assert arranged and read_back and not [n for n in oracle if admin[0] < n < admin[1]]

    replayed = run_cell(
        CellJob(
            cell,
            scenario,
            str(RATE_LIMITED),
            replay_world(V1_IDENTITIES),
            "none",
            tmp_path,
            tmp_path / "t2",
            "replay",
            60.0,
        )
    )
    assert (replayed.verdict, replayed.tool_calls) == ("pass", 2)
