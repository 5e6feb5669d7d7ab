"""The committed cassettes: free of secrets, already scrubbed as a replay loads them, matched as vcrpy would match
them, and a tampered recording fails its replay."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from vcr.matchers import requests_match
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from harness.frameworks import ADAPTERS
from harness.recording import Recorder
from harness.results import V1_IDENTITIES, CellRecord, ResultRow
from harness.runner.matrix import Cell
from harness.runner.worker import CellJob, run_cell
from harness.scenarios import load_scenario, load_scenarios
from harness.scoring.taxonomy import CATEGORIES
from harness.secrets import SECRET_SHAPES
from harness.vocab import ROUTES, is_control, model_kind
from harness.worlds import replay_world
from sandbox.fixtures import default_fixture

ROOT = Path(__file__).resolve().parents[3]
CASSETTES = sorted((ROOT / "cassettes").rglob("*.yaml"))


def fixture_secrets() -> list[str]:
    fixture = default_fixture()
    creds = fixture.credentials
    values = [t.token for t in creds.api_tokens] + [a.password for a in creds.app_passwords]
    values += [c.secret for c in creds.oauth_consumers] + [t.token for t in creds.access_tokens]
    values += [s.key for s in creds.service_accounts] + fixture.composio.api_keys
    return [*values, "sandbox-model-key", "sandbox-oauth-access-", "sandbox-oauth-refresh-"]


def test_every_scenario_is_recorded_on_every_framework_and_path() -> None:
    recorded = {
        (r.cell.scenario, r.cell.framework, r.cell.route)
        for r in map(CellRecord.read, CASSETTES)
        if r.cell.model == "sandbox-reference"
    }
    expected = {
        (s.id, f, p) for s in load_scenarios([ROOT / "scenarios"]) for f in ADAPTERS for p in ROUTES if p in s.paths
    }
    assert recorded == expected


def test_every_negative_control_a_scenario_names_is_recorded_failing_it() -> None:
    """A verdict that was never seen to fail is not trusted."""
    failing = {(r.cell.scenario, r.cell.model) for r in map(CellRecord.read, CASSETTES) if r.result.verdict == "fail"}
    scenarios = load_scenarios([ROOT / "scenarios"])
    assert all(s.controls for s in scenarios), "every scenario names the controls that must fail it"
    missing = [(s.id, c) for s in scenarios for c in s.control_models() if (s.id, c) not in failing]
    assert missing == []


def test_every_committed_control_cell_fails_where_its_control_applies() -> None:
    """A control that passes somewhere it applies is a verdict that cannot fail there; where a control cannot apply,
    the scenario says why, and those cells are never counted as caught."""
    scenarios = {s.id: s for s in load_scenarios([ROOT / "scenarios"])}
    cells = [r for r in map(CellRecord.read, CASSETTES) if is_control(r.cell.model)]
    uncaught = [
        (r.cell.scenario, r.cell.framework, r.cell.route, r.cell.model, r.result.verdict)
        for r in cells
        if r.result.verdict != "fail"
        and not scenarios[r.cell.scenario].control_not_applicable(r.cell.model, r.cell.route)
    ]
    assert uncaught == []
    declared = {
        (s.id, m, route)
        for s in scenarios.values()
        for m in s.control_models()
        for route in s.paths
        if s.control_not_applicable(m, route)
    }
    assert declared == {
        ("core-comment-latest-issue", "sandbox-overclaim", "composio"),
        ("core-comment-latest-issue", "sandbox-destructive", "rovo"),
        ("core-open-pull-request", "sandbox-destructive", "composio"),
    }


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: str(p.relative_to(ROOT / "cassettes")))
def test_no_secret_in_a_cassette(path: Path) -> None:
    text = path.read_text()
    for value in fixture_secrets():
        assert value not in text, f"{path}: a fixture credential ({value[:12]}...)"
    for name, shape in SECRET_SHAPES.items():
        found = shape.search(text)
        assert found is None, f"{path}: looks like a {name}: {found.group(0)[:24]}..."


def test_the_scan_would_see_a_leak(tmp_path: Path) -> None:
    leaked = "Authorization: Basic YWxpY2VAZXhhbXBsZS5jb206c2FuZGJveC1hcGl0b2tlbi1hbGljZS1mdWxs\n"
    assert any(shape.search(leaked) for shape in SECRET_SHAPES.values())
    assert any(v in "token sandbox-apitoken-alice-full" for v in fixture_secrets())


def test_a_tampered_recording_fails_its_replay(tmp_path: Path) -> None:
    """Remove the new branch from the state the oracle read after the run: the replay must no longer pass."""
    source = ROOT / "cassettes" / "core-create-branch" / "pydantic-ai--rovo--sandbox-reference.yaml"
    record = CellRecord.read(source)
    copy = tmp_path / "core-create-branch" / source.name
    copy.parent.mkdir()
    shutil.copy(source, copy)
    data = yaml.safe_load(copy.read_text())
    reads = [
        i
        for i in data["interactions"]
        if i["request"]["method"] == "GET" and i["request"]["uri"].endswith("/refs/branches?pagelen=100")
    ]
    assert len(reads) >= 2 and "feature/login" in reads[-1]["response"]["body"]["string"]
    reads[-1]["response"]["body"]["string"] = reads[-1]["response"]["body"]["string"].replace(
        "feature/login", "feature/other"
    )
    copy.write_text(yaml.safe_dump(data, sort_keys=False))

    c = record.cell
    cell = Cell(c.scenario, c.framework, c.route, c.model, c.attempt)
    scenario = load_scenario(ROOT / c.scenario_file)
    job = CellJob(
        cell, scenario, c.scenario_file, replay_world(V1_IDENTITIES), "none", tmp_path, tmp_path / "t", "tamper", 60.0
    )
    row = run_cell(job)
    assert record.result.verdict == "pass"
    assert row.verdict == "fail" and row.reasons == ["widgets: no branch feature/login"]
    untouched = run_cell(
        CellJob(
            cell,
            scenario,
            c.scenario_file,
            replay_world(V1_IDENTITIES),
            "none",
            ROOT / "cassettes",
            tmp_path / "t2",
            "control",
            60.0,
        )
    )
    assert untouched.verdict == "pass"  # the same replay on the original still passes


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: str(p.relative_to(ROOT / "cassettes")))
def test_a_recorded_interaction_scrubbed_again_is_unchanged(path: Path) -> None:
    """Why a replay keeps recorded interactions as read instead of scrubbing them again on load."""
    scrubber = Recorder("none", secrets=replay_world(V1_IDENTITIES).secrets()).scrubber
    requests, responses, *_ = deserialize(path.read_text(), yamlserializer)
    for request, response in zip(requests, responses, strict=True):
        again = scrubber.request(copy.deepcopy(request))
        assert (again.uri, again.body, again.headers) == (request.uri, request.body, request.headers)
        assert scrubber.response(copy.deepcopy(response)) == response, f"{path}: {request.method} {request.uri}"
        assert "content-encoding" not in {h.lower() for h in response["headers"]}  # decoded when recorded


def test_a_replay_finds_a_recorded_request_where_vcrpys_matchers_find_it() -> None:
    path = max(CASSETTES, key=lambda p: p.stat().st_size)  # the most interactions to tell apart
    with Recorder("none", secrets=replay_world(V1_IDENTITIES).secrets()).cassette(path) as cassette:
        for request, _ in cassette.data:
            expected = [
                i for i, (stored, _) in enumerate(cassette.data) if requests_match(request, stored, cassette._match_on)
            ]
            assert [i for i, _ in cassette._responses(request)] == expected


def replayed(cassette: Path, transcripts: Path) -> ResultRow:
    """The row of a committed cell replayed as ``harness run`` would, failure categories included."""
    c = CellRecord.read(cassette).cell
    job = CellJob(
        Cell(c.scenario, c.framework, c.route, c.model, c.attempt),
        load_scenario(ROOT / c.scenario_file),
        c.scenario_file,
        replay_world(V1_IDENTITIES),
        "none",
        ROOT / "cassettes",
        transcripts,
        "taxonomy",
        120.0,
    )
    return run_cell(job)


@pytest.mark.parametrize(
    ("scenario", "model", "category"),
    [
        ("core-create-branch", "sandbox-no-tools", "no tool call"),
        ("core-create-branch", "sandbox-loop", "loop"),
        ("core-create-branch", "sandbox-wrong-base", "wrong target"),
        ("denied-read-only-branch", "sandbox-overclaim", "false success claim"),
    ],
)
def test_the_taxonomy_names_each_controls_failure(tmp_path: Path, scenario: str, model: str, category: str) -> None:
    """The failure categories, read from the transcripts of recorded negative controls."""
    cassette = ROOT / "cassettes" / scenario / f"pydantic-ai--rovo--{model}.yaml"
    row = replayed(cassette, tmp_path)
    assert row.verdict == "fail" and category in row.failures, (row.reasons, row.failures)


REAL = [p for p in CASSETTES if model_kind(CellRecord.read(p).cell.model) == "real"]


def test_real_model_cells_are_committed() -> None:
    """The first evidence of real agent behaviour: cells recorded with a real (not scripted) model."""
    assert len(REAL) >= 8, [p.name for p in REAL]


@pytest.mark.parametrize("cassette", REAL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_taxonomy_names_each_real_models_failure(tmp_path: Path, cassette: Path) -> None:
    """Replayed, a real model's cell that did not pass is put in at least one category, all of them known."""
    row = replayed(cassette, tmp_path)
    assert row.model_kind == "real" and row.verdict == CellRecord.read(cassette).result.verdict
    if row.verdict != "pass":
        assert row.failures and set(row.failures) <= set(CATEGORIES), (row.reasons, row.failures)
