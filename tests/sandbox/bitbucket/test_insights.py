"""Results on a commit (build statuses, Code Insights reports and annotations), branch restrictions and diffstats:
shapes checked against the official schemas, each rule shown holding and failing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api, assert_conforms, assert_schema
from tests.sandbox.bitbucket.receiver import Receiver

W = "repositories/acme/widgets/"
R = "/repositories/{workspace}/{repo_slug}"
C = R + "/commit/{commit}"


@pytest.fixture
def head(sandbox: Sandbox) -> str:
    with api(sandbox) as c:
        return str(c.get(W + "refs/branches/main").json()["target"]["hash"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_a_build_status_is_created_overwritten_by_key_and_read_back(
    sandbox: Sandbox, head: str, receiver: Receiver
) -> None:
    with api(sandbox) as c:
        hook = {"url": receiver.url, "events": ["repo:commit_status_created", "repo:commit_status_updated"]}
        assert c.post(W + "hooks", json=hook).status_code == 201
        first = c.post(
            f"{W}commit/{head}/statuses/build",
            json={"key": "harness", "state": "INPROGRESS", "url": "https://ci.example.com/{repository.full_name}"},
        )
        assert first.status_code == 201, first.text
        assert_conforms("post", C + "/statuses/build", first)
        body = first.json()
        assert body["type"] == "build" and body["commit"]["hash"] == head and body["name"] == "harness"
        assert body["url"] == "https://ci.example.com/acme/widgets"  # context variables filled in at render time
        assert first.headers["location"] == body["links"]["self"]["href"]
        again = c.post(
            f"{W}commit/main/statuses/build",
            json={"key": "harness", "state": "FAILED", "description": "1 of 1 cells failing"},
        )
        assert again.status_code == 201 and again.json()["created_on"] == body["created_on"]
        listed = c.get(f"{W}commit/{head}/statuses")
        assert_conforms("get", C + "/statuses", listed)
        assert [(s["key"], s["state"]) for s in listed.json()["values"]] == [("harness", "FAILED")]
        updated = c.put(f"{W}commit/{head}/statuses/build/harness", json={"state": "SUCCESSFUL", "key": "other"})
        assert updated.status_code == 200 and updated.json()["key"] == "harness"
        assert c.get(f"{W}commit/{head}/statuses/build/harness").json()["state"] == "SUCCESSFUL"
    deliveries = sandbox.admin.get("/bitbucket/deliveries").json()["deliveries"]
    assert [d["event"] for d in deliveries] == [
        "repo:commit_status_created",
        "repo:commit_status_updated",
        "repo:commit_status_updated",
    ]
    states = [json.loads(r["body"])["commit_status"]["state"] for r in receiver.received]
    assert sorted(states) == ["FAILED", "INPROGRESS", "SUCCESSFUL"]


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("commit/main/statuses/build", {"state": "SUCCESSFUL"}, 400, "key"),
        ("commit/main/statuses/build", {"key": "k", "state": "DONE"}, 400, "state"),
        ("commit/0000000000000000000000000000000000000000/statuses/build", {"key": "k", "state": "FAILED"}, 404, ""),
        ("commit/main/statuses/build/nope", {"state": "FAILED"}, 404, "nope"),
    ],
)
def test_a_bad_build_status_names_its_fault(
    sandbox: Sandbox, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    with api(sandbox) as c:
        method = c.put if path.endswith("/nope") else c.post
        response = method(W + path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["type"] == "error" and response.json()["error"]["message"]
    assert message in json.dumps(response.json()["error"])


def test_a_report_and_its_annotations(sandbox: Sandbox, head: str) -> None:
    report = {
        "title": "Harness",
        "details": "2 cells",
        "report_type": "TEST",
        "result": "FAILED",
        "reporter": "harness",
        "data": [{"title": "Failed", "type": "NUMBER", "value": 1}, {"title": "Safe?", "type": "BOOLEAN", "value": 0}],
    }
    with api(sandbox) as c:
        bad_value = c.put(f"{W}commit/{head}/reports/harness-run", json=report)
        assert bad_value.status_code == 400 and "data[1].value" in bad_value.json()["error"]["fields"]
        plain = c.put(f"{W}commit/{head}/reports/harness-run", json={k: v for k, v in report.items() if k != "data"})
        assert plain.status_code == 200, plain.text
        assert_conforms("put", C + "/reports/{reportId}", plain)
        # The schema types report_data.value as an object, yet the operation documents numbers, booleans and
        # strings for most data types (and shows them in its example): the emulator follows the operation.
        report["data"] = report["data"][:1]
        created = c.put(f"{W}commit/{head}/reports/harness-run", json=report)
        assert created.status_code == 200 and created.json()["data"] == report["data"]
        assert created.json()["created_on"] == plain.json()["created_on"] != created.json()["updated_on"]
        uuid = created.json()["uuid"]
        assert created.json()["external_id"] == "harness-run" and uuid.startswith("{")
        assert c.get(f"{W}commit/{head}/reports/{uuid}").json()["title"] == "Harness"  # by UUID too
        missing = c.put(f"{W}commit/{head}/reports/r2", json={"title": "x", "report_type": "TEST"})
        assert missing.status_code == 400 and "details" in missing.json()["error"]["fields"]
        too_many = [{"external_id": f"a{i}", "annotation_type": "BUG", "summary": "s"} for i in range(101)]
        assert c.post(f"{W}commit/{head}/reports/harness-run/annotations", json=too_many).status_code == 400
        no_id = c.post(f"{W}commit/{head}/reports/harness-run/annotations", json=[{"annotation_type": "BUG"}])
        assert no_id.status_code == 400 and "[0].external_id" in no_id.json()["error"]["fields"]
        cells = [
            {
                "external_id": "cell-1",
                "annotation_type": "BUG",
                "result": "FAILED",
                "severity": "HIGH",
                "summary": "fail: core-create-branch",
                "path": "scenarios/core-create-branch.yaml",
                "line": 3,
            },
            {"external_id": "cell-2", "annotation_type": "BUG", "summary": "error: core-fetch-readme"},
        ]
        posted = c.post(f"{W}commit/{head}/reports/harness-run/annotations", json=cells)
        assert posted.status_code == 200, posted.text
        for annotation in posted.json():  # the operation answers a bare array of report_annotation
            assert_schema("report_annotation", annotation)
        listed = c.get(f"{W}commit/{head}/reports/harness-run/annotations")
        assert_conforms("get", C + "/reports/{reportId}/annotations", listed)
        assert [a["external_id"] for a in listed.json()["values"]] == ["cell-1", "cell-2"]
        assert listed.json()["values"][0]["line"] == 3
        one = c.put(
            f"{W}commit/{head}/reports/harness-run/annotations/cell-2",
            json={"annotation_type": "BUG", "summary": "pass now", "result": "PASSED"},
        )
        assert one.status_code == 200 and one.json()["result"] == "PASSED"
        assert c.get(f"{W}commit/{head}/reports").json()["values"][0]["external_id"] == "harness-run"
        assert c.delete(f"{W}commit/{head}/reports/harness-run").status_code == 204
        assert c.get(f"{W}commit/{head}/reports/harness-run/annotations").status_code == 404
        assert c.get(f"{W}commit/{head}/reports").json()["values"] == []


def test_a_push_restriction_blocks_commits_unless_the_user_is_exempt(sandbox: Sandbox) -> None:
    commit = {"/notes.txt": "hello\n", "message": "Notes", "branch": "main"}
    with api(sandbox) as c, api(sandbox, user="bob") as bob:
        assert bob.get(W + "branch-restrictions").status_code == 403  # admin only
        rule = c.post(W + "branch-restrictions", json={"kind": "push", "pattern": "ma*", "users": []})
        assert rule.status_code == 201, rule.text
        assert_conforms("post", R + "/branch-restrictions", rule)
        twice = c.post(W + "branch-restrictions", json={"kind": "push", "pattern": "ma*"})
        assert twice.status_code == 400 and "already exists" in twice.json()["error"]["detail"]
        before = c.get(W + "refs/branches/main").json()["target"]["hash"]
        refused = c.post(W + "src", data=commit)
        assert refused.status_code == 403, refused.text
        assert 'push to the branch "main"' in refused.json()["error"]["message"]
        assert refused.json()["error"]["detail"]["branch_restriction"] == rule.json()["id"]
        assert c.get(W + "refs/branches/main").json()["target"]["hash"] == before  # nothing was committed
        assert c.post(W + "src", data={**commit, "branch": "feature/elsewhere"}).status_code == 201
        alice = c.get("user").json()["uuid"]
        exempt = c.put(f"{W}branch-restrictions/{rule.json()['id']}", json={"users": [{"uuid": alice}]})
        assert exempt.status_code == 200 and exempt.json()["users"][0]["uuid"] == alice
        assert c.post(W + "src", data=commit).status_code == 201  # alice is exempt
        assert bob.post(W + "src", data=commit).status_code == 403  # bob is not
        assert c.delete(f"{W}branch-restrictions/{rule.json()['id']}").status_code == 204
        assert bob.post(W + "src", data=commit).status_code == 201
        guard = c.post(W + "branch-restrictions", json={"kind": "delete", "pattern": "feature/*"})
        assert guard.status_code == 201
        assert c.delete(W + "refs/branches/feature/login").status_code == 403


def test_diffstat_lists_what_a_push_changed(sandbox: Sandbox, head: str) -> None:
    with api(sandbox) as c:
        r = c.post(
            W + "src",
            data={"/added.txt": "a\nb\n", "/README.md": "# Widgets\n\nRewritten.\n", "files": "docs/guide.md"},
        )
        assert r.status_code == 201
        new = c.get(W + "refs/branches/main").json()["target"]["hash"]
        stat = c.get(f"{W}diffstat/{new}..{head}")
        assert stat.status_code == 200
        assert_conforms("get", R + "/diffstat/{spec}", stat)
        found = {(d["status"], (d.get("new") or d.get("old"))["path"]) for d in stat.json()["values"]}
        assert found == {("added", "added.txt"), ("modified", "README.md"), ("removed", "docs/guide.md")}
        readme = next(d for d in stat.json()["values"] if d["status"] == "modified")
        assert (readme["lines_added"], readme["lines_removed"]) == (1, 1)
        assert "old" not in next(d for d in stat.json()["values"] if d["status"] == "added")
        assert c.get(f"{W}diffstat/{new}").json()["values"] == stat.json()["values"]  # against its parent


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("https://ci.example.com/runs/42?cell=a%2Fb#top", True),
        ("http://127.0.0.1:8080/report", True),
        ("ci.example.com/runs/42", False),  # not absolute
        ("javascript:alert(1)", False),
        ("https://ci.example.com/a b", False),
        ("https://ci.example.com/%zz", False),
        ("\u009a\u00a0v7J1", False),
    ],
)
def test_report_and_annotation_links_must_be_urls(sandbox: Sandbox, head: str, link: str, ok: bool) -> None:
    report = {"title": "Harness", "details": "d", "report_type": "TEST", "link": link, "logo_url": link}
    with api(sandbox) as c:
        put = c.put(f"{W}commit/{head}/reports/links", json=report)
        assert (put.status_code == 200) is ok, put.text
        if not ok:
            assert set(put.json()["error"]["fields"]) == {"link"}  # the first bad field is named
            return
        assert put.json()["link"] == put.json()["logo_url"] == link
        note = [{"external_id": "n1", "annotation_type": "BUG", "summary": "s", "link": link}]
        assert c.post(f"{W}commit/{head}/reports/links/annotations", json=note).status_code == 200
        bad = [{"external_id": "n2", "annotation_type": "BUG", "summary": "s", "link": "no url"}]
        refused = c.post(f"{W}commit/{head}/reports/links/annotations", json=bad)
        assert refused.status_code == 400 and "[0].link" in refused.json()["error"]["fields"]
