"""Scenario files: the library loads, bad files are refused with file:line:field, placeholders fill."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness.scenarios import json_schema, load_scenario, load_scenarios
from harness.scenarios.placeholders import UnknownPlaceholder, fill, fill_any
from yamlio import InputError

LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"
BARE = """\
id: demo
title: Demo
fixture:
  repositories:
    - name: widgets
      branches:
        main: {files: {README.md: "# hi"}}
turns:
  - user: "Show me the README of {workspace}/{repo}."
"""
MINIMAL = BARE + "expect:\n  state:\n    - {kind: unchanged}\n"


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_library_loads_and_validates_against_the_exported_json_schema() -> None:
    scenarios = load_scenarios([LIBRARY])
    assert {"core-create-branch", "core-open-pull-request", "core-comment-latest-issue", "core-fetch-readme"} <= {
        s.id for s in scenarios
    }
    schema = json_schema()
    for file in sorted(LIBRARY.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(file.read_text()), schema)  # what an editor would check


def test_minimal_scenario_gets_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, MINIMAL))
    assert scenario.profiles == {"composio": "full", "rovo": "full"}
    assert scenario.repository(None).name == "widgets" and scenario.unsupported_on("rovo") is None


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (("title: Demo", "title: [not, a, string]"), "demo.yaml:2: title:"),
        (
            ("main: {files", "trunk: {files"),
            "demo.yaml:5: fixture.repositories.0: Value error, the branches must include 'main'",
        ),
        (("  - user:", "  - usr:"), "demo.yaml:9: turns.0.usr: Extra inputs are not permitted"),
        (("id: demo", "id: Demo Scenario"), "demo.yaml:1: id: String should match pattern"),
    ],
)
def test_bad_fields_are_named_with_file_and_line(tmp_path: Path, edit: tuple[str, str], where: str) -> None:
    path = write(tmp_path, MINIMAL.replace(*edit))
    with pytest.raises(InputError) as error:
        load_scenario(path)
    lines = str(error.value).splitlines()
    assert any(line.startswith(str(tmp_path / where)) for line in lines), lines


def test_unknown_state_check_and_unknown_repo_are_refused(tmp_path: Path) -> None:
    bad_kind = BARE + "expect:\n  state:\n    - {kind: branch_exist, branch: x}\n"
    with pytest.raises(InputError, match=r"demo.yaml:12: expect.state.0: .*branch_exists"):
        load_scenario(write(tmp_path, bad_kind))
    bad_repo = BARE + "expect:\n  state:\n    - {kind: unchanged, repo: gadgets}\n"
    with pytest.raises(InputError, match=r"repo 'gadgets' is not a fixture repository"):
        load_scenario(write(tmp_path, bad_repo))


def test_invalid_yaml_and_duplicate_ids_are_reported_for_every_file(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "a.yaml")
    write(tmp_path, MINIMAL, "b.yaml")
    write(tmp_path, "id: [unclosed\n", "c.yaml")
    with pytest.raises(InputError) as error:
        load_scenarios([tmp_path])
    message = str(error.value)
    assert "b.yaml:1: id: 'demo' is already the id of" in message and "c.yaml:" in message
    with pytest.raises(InputError, match="no such scenario file"):
        load_scenarios([tmp_path / "missing.yaml"])


def test_placeholders_fill_known_names_only() -> None:
    values = {"workspace": "acme", "repo": "widgets-c1", "repo:gadgets": "gadgets-c1", "main_head": "abc123"}
    assert (
        fill("{workspace}/{repo} and {repo:gadgets} at {main_head}", values)
        == "acme/widgets-c1 and gadgets-c1 at abc123"
    )
    assert fill('{"json": {"stays": 1}}', values) == '{"json": {"stays": 1}}'
    assert fill_any({"a": ["{repo}", 3]}, values) == {"a": ["widgets-c1", 3]}
    with pytest.raises(UnknownPlaceholder, match="repo:missing"):
        fill("{repo:missing}", values)


def test_json_schema_is_serialisable_and_names_the_state_checks() -> None:
    text = json.dumps(json_schema())
    for kind in ("branch_exists", "branch_absent", "pull_request_open", "issue_comment", "unchanged"):
        assert kind in text


def test_cli_check_reports_every_problem_and_exits_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    ok = CliRunner().invoke(app, ["scenarios", "check", str(LIBRARY)])
    assert ok.exit_code == 0 and "core-fetch-readme" in ok.output
    write(tmp_path, "id: x\ntitle: 3\n", "x.yaml")
    bad = CliRunner().invoke(app, ["scenarios", "check", str(tmp_path)])
    assert bad.exit_code == 2
    assert "x.yaml:2: title: Input should be a valid string" in bad.output
    assert "x.yaml:1: turns: Field required" in bad.output


def test_a_plan_placeholder_the_message_cannot_bind_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        '  - user: "Show me the README of {workspace}/{repo}."',
        '  - user: "Show me the README."\n'
        '    plan:\n      - {intent: read_file, workspace: "{workspace}", repo: "{repo}"}',
    )
    with pytest.raises(InputError, match=r"demo.yaml:9: turns.0: .*uses \{repo\}, \{workspace\} but the message"):
        load_scenario(write(tmp_path, text))


FAULT = '  - {method: POST, path: "/repositories/{workspace}/{repo}/refs/branches$", status: 429, count: 2}\n'


def test_paths_workspace_and_faults_load_with_their_defaults(tmp_path: Path) -> None:
    plain = load_scenario(write(tmp_path, MINIMAL))
    assert plain.paths == ["composio", "rovo"] and plain.fixture.workspace == "default" and plain.faults == []
    text = MINIMAL.replace("fixture:\n", "paths: [rovo]\nfixture:\n  workspace: unlinked\n") + "faults:\n" + FAULT
    scenario = load_scenario(write(tmp_path, text))
    assert scenario.paths == ["rovo"] and scenario.fixture.workspace == "unlinked"
    (fault,) = scenario.faults
    assert (fault.method, fault.status, fault.count, fault.retry_after) == ("POST", 429, 2, 1)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (("fixture:\n", "paths: [gitlab]\nfixture:\n"), "demo.yaml:3: paths.0: Input should be 'composio' or 'rovo'"),
        (("fixture:\n", "paths: []\nfixture:\n"), "demo.yaml:3: paths: List should have at least 1 item"),
        (("fixture:\n", "paths: [rovo, rovo]\nfixture:\n"), "demo.yaml:3: paths: Value error, a path is listed twice"),
        (
            ("fixture:\n", "fixture:\n  workspace: elsewhere\n"),
            "demo.yaml:4: fixture.workspace: Input should be 'default' or 'unlinked'",
        ),
        (
            ("turns:", 'faults:\n  - {path: "/repositories/{workspace}/x", status: 429}\nturns:'),
            "demo.yaml:9: faults.0.path: Value error, the path must name the cell's repository with {repo}",
        ),
        (
            ("turns:", 'faults:\n  - {path: "/repositories/{workspace}/{repo}/(src", status: 500}\nturns:'),
            "demo.yaml:9: faults.0.path: Value error, not a regular expression: missing ), unterminated subpattern",
        ),
        (
            ("turns:", 'faults:\n  - {path: "{repo}/src", status: 404}\nturns:'),
            "demo.yaml:9: faults.0.status: Input should be 429, 500, 502, 503 or 504",
        ),
        (
            ("turns:", 'faults:\n  - {path: "{repo}/src", status: 503, count: 0}\nturns:'),
            "demo.yaml:9: faults.0.count: Input should be greater than or equal to 1",
        ),
        (
            ("turns:", 'faults:\n  - {path: "{repo:gadgets}/src", status: 503}\nturns:'),
            "demo.yaml:1: (top level): Value error, faults.0.path: gadgets is not a fixture repository (widgets)",
        ),
        (
            ("fixture:\n", "paths: [rovo]\nunsupported: [{path: composio, reason: n/a}]\nfixture:\n"),
            "demo.yaml:1: (top level): Value error, unsupported: composio is not among the scenario's paths (rovo)",
        ),
    ],
)
def test_bad_paths_workspace_and_faults_are_named(tmp_path: Path, edit: tuple[str, str], where: str) -> None:
    path = write(tmp_path, MINIMAL.replace(*edit, 1))
    with pytest.raises(InputError) as error:
        load_scenario(path)
    lines = str(error.value).splitlines()
    assert any(line.startswith(str(tmp_path / where)) for line in lines), lines


def test_the_library_restricts_and_faults_only_where_it_says_so() -> None:
    by_id = {s.id: s for s in load_scenarios([LIBRARY])}
    assert by_id["denied-unlinked-workspace"].paths == ["rovo"]
    assert by_id["denied-unlinked-workspace"].fixture.workspace == "unlinked"
    assert [f.status for f in by_id["fault-rate-limited-branch"].faults] == [429]
    assert {s.id for s in by_id.values() if s.faults} == {
        "fault-rate-limited-branch",
        "fault-upstream-500-pull-request",
    }


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (("expect:\n  state:\n    - {kind: unchanged}\n", ""), "demo.yaml:1: expect: Field required"),
        (
            ("  state:\n    - {kind: unchanged}\n", "  state: []\n"),
            "demo.yaml:11: expect.state: List should have at least 1 item",
        ),
        (
            ("expect:\n  state:\n    - {kind: unchanged}\n", "expect: {}\n"),
            "demo.yaml:10: expect.state: Field required",
        ),
    ],
)
def test_a_scenario_that_expects_nothing_of_the_state_is_refused(
    tmp_path: Path, edit: tuple[str, str], where: str
) -> None:
    """Such a scenario would pass whatever the agent did, even with sandbox-no-tools."""
    with pytest.raises(InputError, match=re.escape(where)):
        load_scenario(write(tmp_path, MINIMAL.replace(*edit)))


@pytest.mark.parametrize(
    ("addition", "where"),
    [
        (
            "  tools:\n    must_call: [create_brnch]\n",
            "demo.yaml:14: expect.tools.must_call.0: Value error, unknown intent or tool 'create_brnch'; intents: ",
        ),
        (
            "  tools:\n    must_not_call: [BITBUCKET_DELETE_REPO]\n",
            "demo.yaml:14: expect.tools.must_not_call.0: Value error, unknown intent or tool 'BITBUCKET_DELETE_REPO'",
        ),
        (
            "  tools:\n    must_call: [bitbucketRepoContent:branch.delete]\n",
            "Value error, bitbucketRepoContent has no action 'branch.delete'; its actions: branch.get, commit.get",
        ),
        (
            "  tools:\n    must_call: [create_branch, bitbucketRepoContent:branch.create, BITBUCKET_CREATE_BRANCH]\n",
            None,
        ),
    ],
)
def test_tool_words_are_checked_against_the_routes_vocabularies(
    tmp_path: Path, addition: str, where: str | None
) -> None:
    text = MINIMAL + addition
    if where is None:
        assert load_scenario(write(tmp_path, text)).expect.tools.must_call[0] == "create_branch"
        return
    with pytest.raises(InputError, match=re.escape(where)) as error:
        load_scenario(write(tmp_path, text))
    assert "create_branch" in str(error.value) or "branch.create" in str(error.value)  # the choices are listed


def test_an_unknown_placeholder_is_named(tmp_path: Path) -> None:
    typo = MINIMAL.replace("{workspace}/{repo}", "{wrkspace}/{repo}")
    with pytest.raises(
        InputError,
        match=re.escape(
            "demo.yaml:9: turns.0.user: Value error, unknown placeholder "
            "{wrkspace}; the placeholders are {workspace}, {repo}"
        ),
    ):
        load_scenario(write(tmp_path, typo))
    json_text = MINIMAL.replace(
        '"Show me the README of {workspace}/{repo}."',
        '\'Show me the README of {workspace}/{repo} as {"format": "raw"}.\'',
    )
    assert load_scenario(write(tmp_path, json_text)).turns[0].user.endswith('{"format": "raw"}.')
