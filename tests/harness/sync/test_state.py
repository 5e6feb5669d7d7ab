"""The sync's state and decisions without Bitbucket: the database's lifecycle of an entity, out-of-order
deliveries, what a push runs, what goes on the commit, `sync status`, and the webhook signature check."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from harness.results import ResultRow
from harness.sync.entities import Entity, EntityError, dumps
from harness.sync.inbound import Applied, Change, Fetched, Finding, apply, changes_of
from harness.sync.push import TRAILER
from harness.sync.receiver import signed
from harness.sync.runs import Matrix, cell_annotations, failing, plan, report_body, status_body
from harness.sync.status import status_lines
from harness.sync.store import Connection, SyncStore

TOOLKIT = {"slug": "kit", "name": "Kit", "integration": "rovo", "tools": ["bitbucketRepoContent"]}
SERVER = {
    "slug": "rovo",
    "name": "Rovo",
    "route": "rovo",
    "url": "https://r.example/v1/mcp",
    "tools": ["bitbucketRepoContent"],
}


def entity(kind: str, data: dict[str, object]) -> Entity:
    directory = {"toolkit": "toolkits", "mcp-server": "mcp-servers", "mcp-client": "mcp-clients", "model": "models"}
    return Entity(kind, str(data["slug"]), {f"{directory[kind]}/{data['slug']}.json": dumps(data)})


@pytest.fixture
def store(tmp_path: Path) -> SyncStore:
    return SyncStore(tmp_path / "sync.db")


def test_an_entity_from_local_edit_to_push_to_a_failed_and_a_good_sync(store: SyncStore) -> None:
    kit = entity("toolkit", TOOLKIT)
    assert store.save_local(kit) and not store.save_local(kit)  # unchanged: nothing to do
    record = store.get("toolkit", "kit")
    assert record is not None and record.pending and record.last_commit is None
    store.pushed(kit, "a" * 40)
    record = store.get("toolkit", "kit")
    assert record is not None and not record.pending and record.last_commit == "a" * 40
    store.failed("toolkit", "kit", EntityError("INVALID_JSON", "toolkits/kit.json:2:1: boom"), kit.path, "b" * 40, None)
    record = store.get("toolkit", "kit")
    assert record is not None and record.git_integration is not None
    assert record.git_integration | {"at": ""} == {
        "code": "INVALID_JSON",
        "status": 400,
        "message": "toolkits/kit.json:2:1: boom",
        "path": "toolkits/kit.json",
        "commit": "b" * 40,
        "at": "",
    }
    assert record.files == dict(kit.files)  # the last valid content stays
    store.received(kit, "c" * 40, None)
    record = store.get("toolkit", "kit")
    assert record is not None and record.git_integration is None and record.last_commit == "c" * 40


def test_a_delivery_older_than_what_an_entity_holds_does_not_overwrite_it(store: SyncStore) -> None:
    store.save_local(entity("mcp-server", SERVER))
    newer = Change("n" * 40, None, "2026-06-02T10:00:00+00:00", own=False)
    older = Change("o" * 40, None, "2026-06-01T10:00:00+00:00", own=False)
    renamed = entity("mcp-server", SERVER | {"name": "Rovo (new)"})
    with store.transaction():
        first = apply(store, newer, [Fetched("mcp-server", "rovo", dict(renamed.files))], [])
    old = entity("mcp-server", SERVER | {"name": "Rovo (old)"})
    with store.transaction():
        late = apply(store, older, [Fetched("mcp-server", "rovo", dict(old.files))], [])
    assert first.updated == ["mcp-server rovo"] and late.stale == ["mcp-server rovo"] and late.updated == []
    record = store.get("mcp-server", "rovo")
    assert record is not None and record.files == dict(renamed.files) and record.last_commit == "n" * 40
    assert first.stacks["routes"] == {"rovo"}


def test_a_toolkit_pushed_with_its_server_is_checked_against_the_new_tools(store: SyncStore) -> None:
    change = Change("h" * 40, None, None, own=False)
    server = entity("mcp-server", SERVER | {"tools": ["bitbucketRepoContent", "bitbucketPullRequest"]})
    kit = entity("toolkit", TOOLKIT | {"tools": ["bitbucketPullRequest"]})
    fetched = [Fetched("toolkit", "kit", dict(kit.files)), Fetched("mcp-server", "rovo", dict(server.files))]
    with store.transaction():
        applied = apply(store, change, fetched, [])
    assert applied.errors == [] and sorted(applied.updated) == ["mcp-server rovo", "toolkit kit"]
    assert applied.stacks == {"frameworks": set(), "routes": {"rovo"}, "models": set()}  # toolkits run nothing


def test_removed_files_remove_their_entity(store: SyncStore) -> None:
    store.save_local(entity("mcp-server", SERVER))
    with store.transaction():
        applied = apply(store, Change("r" * 40, None, None, False), [Fetched("mcp-server", "rovo", None)], [])
    assert applied.removed == ["mcp-server rovo"] and store.get("mcp-server", "rovo") is None


MATRIX = Matrix(("pydantic-ai", "autogen"), ("rovo",), ("sandbox-reference",))


@pytest.mark.parametrize(
    ("scenarios", "stacks", "errors", "expected"),
    [
        ({"a"}, {}, 0, (("a",), {}, 0)),  # scenarios changed: those, on the matrix
        (set(), {"frameworks": {"autogen"}}, 0, (("a", "b"), {"frameworks": ("autogen",)}, 0)),  # one stack
        (set(), {"frameworks": {"crewai"}}, 0, None),  # a stack outside the matrix runs nothing
        ({"a"}, {"routes": {"rovo"}}, 0, (("a", "b"), {}, 0)),  # scenarios and a stack: everything
        (set(), {"routes": {"rovo"}, "models": {"m"}}, 0, (("a", "b"), {}, 0)),
        (set(), {}, 1, ((), {}, 1)),  # a broken file alone: its findings, no run
        (set(), {}, 0, None),
    ],
)
def test_what_a_push_runs(
    scenarios: set[str],
    stacks: dict[str, set[str]],
    errors: int,
    expected: tuple[tuple[str, ...], dict[str, tuple[str, ...]], int] | None,
) -> None:
    applied = Applied(scenarios=scenarios)
    for dim, names in stacks.items():
        applied.stacks[dim] = names
    applied.errors = [Finding("toolkits/t.json", 3, "INVALID_JSON", "boom")] * errors
    job = plan("c" * 40, "main", applied, ["a", "b"], MATRIX)
    assert (None if job is None else (job.scenarios, dict(job.only), len(job.findings))) == expected
    if job is not None and job.only:
        assert MATRIX.options(Path("s"), "r", job.only).frameworks == ("autogen",)


def row(verdict: str, **extra: object) -> ResultRow:
    data = {"scenario": "core-x", "framework": "pydantic-ai", "path": "rovo", "model": "sandbox-reference"}
    return ResultRow.model_validate(data | {"key": f"core-x/{verdict}", "verdict": verdict, **extra})


def test_what_goes_on_the_commit() -> None:
    rows = [
        row("pass"),
        row("expected-unsupported"),
        row("fail", reasons=["the answer does not contain 'x'"]),
        row("error", reasons=["timeout"]),
        row("fail", model="sandbox-no-tools"),  # a negative control caught: fine
        row("pass", model="sandbox-overclaim"),  # a negative control that passed: red
    ]
    assert [failing(r) for r in rows] == [False, False, True, True, False, True]
    findings = (Finding("toolkits/t.json", 3, "INVALID_JSON", "toolkits/t.json:3:1: Expecting"),)
    notes = cell_annotations(rows, findings)
    assert [(a["summary"], a.get("severity"), a.get("line")) for a in notes] == [
        ("fail: core-x / pydantic-ai / rovo / sandbox-reference", "MEDIUM", None),
        ("error: core-x / pydantic-ai / rovo / sandbox-reference", "HIGH", None),
        ("pass: core-x / pydantic-ai / rovo / sandbox-overclaim", "MEDIUM", None),
        ("INVALID_JSON: toolkits/t.json", "HIGH", 3),
    ]
    assert len({a["external_id"] for a in notes}) == len(notes)
    report = report_body(rows, findings, "http://h/reports/r", 1.5)
    assert (report["result"], report["title"]) == ("FAILED", "Harness: 3 of 6 cells ok")
    assert report_body(rows[:2], (), "http://h/reports/r", 1.0)["result"] == "PASSED"
    assert status_body("INPROGRESS", "queued", "http://h/reports/r", "main") == {
        "key": "harness",
        "state": "INPROGRESS",
        "name": "harness",
        "description": "queued",
        "url": "http://h/reports/r",
        "refname": "main",
    }


def test_status_marks_errors_clearly(store: SyncStore) -> None:
    kit = entity("toolkit", TOOLKIT)
    store.save_local(kit)
    store.save_local(entity("mcp-server", SERVER))
    store.pushed(kit, "d" * 40)
    store.failed(
        "toolkit", "kit", EntityError("MISSING_TOOL", "toolkits/kit.json: x is not among..."), kit.path, "e" * 40, None
    )
    lines = status_lines(Connection("acme/suites", "main", "{hook}", "http://h/api/bitbucket/webhook"), store.records())
    assert lines[0] == "acme/suites @ main; push webhook {hook} -> http://h/api/bitbucket/webhook"
    assert lines[2].split() == ["mcp-server", "rovo", "-", "pending", "push"]
    assert lines[3] == "toolkit     kit  eeeeeeeeeeee  ⚠ ERROR MISSING_TOOL (400): toolkits/kit.json: x is not among..."
    assert lines[-1] == "2 entities: 0 synced, 1 pending push, 1 with errors"
    assert status_lines(None, [])[0].startswith("not connected")


def test_the_signature_is_the_hmac_of_the_raw_body() -> None:
    body = b'{"push": {}}'
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signed("s3cret", body, good)
    assert not signed("s3cret", body + b" ", good)  # another body
    assert not signed("other", body, good)  # another secret
    assert not signed("s3cret", body, good.replace("sha256=", "sha1="))
    assert not signed("s3cret", body, None) and not signed("s3cret", body, "")


def test_only_the_synced_branch_is_applied_and_the_syncs_own_commits_are_known() -> None:
    def change(kind: str, name: str, message: str) -> dict[str, object]:
        target = {"hash": name[0] * 40, "message": message, "date": "2026-06-01T10:00:00+00:00"}
        return {"new": {"type": kind, "name": name, "target": target}, "old": {"target": {"hash": "0" * 40}}}

    payload = {
        "push": {
            "changes": [
                change("branch", "main", "Edit a scenario\n"),
                change("branch", "feature/x", "Elsewhere\n"),
                change("tag", "main", "A tag named like the branch\n"),
                {"new": None, "old": {"type": "branch", "name": "main"}, "closed": True},
            ]
        }
    }
    assert changes_of(payload, "main") == [Change("m" * 40, "0" * 40, "2026-06-01T10:00:00+00:00", own=False)]
    payload["push"]["changes"] = [change("branch", "main", f"Add scenario x\n\nscenarios/x.yaml\n\n{TRAILER}\n")]  # type: ignore[index]
    assert changes_of(payload, "main")[0].own
