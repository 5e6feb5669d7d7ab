"""Re-recording an unchanged cell gives the same cassette: each recording runs on a fresh sandbox (new free ports)
with the frozen clock the cassette tests re-record with, and the cassettes name fixed loopback hosts."""

from __future__ import annotations

import difflib
import logging
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.recording.cassettes import Hosts, Scrubber
from harness.replay.plugin import RECORDED_AT
from harness.runner.matrix import Cell
from harness.runner.worker import CellJob, run_cell
from harness.scenarios import load_scenario
from harness.scenarios.plans import compiled_plans
from harness.vocab import Outcome
from harness.worlds import sandbox_world
from sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = "scenarios/core-create-branch.yaml"
CELLS = [Cell("core-create-branch", "pydantic-ai", route, "sandbox-reference", 1) for route in ("rovo", "composio")]
LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:\d+")
COMPOSIO_SESSION = re.compile(r"trs_[A-Za-z0-9_-]{12}")


def record(directory: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    """Both cells recorded in order on a new frozen-clock sandbox: its URLs and each cell's cassette."""
    scenario = load_scenario(ROOT / SCENARIO)
    sandbox = Sandbox.start(frozen_at=RECORDED_AT)
    try:
        sandbox.register_plans(compiled_plans([scenario]))
        world = sandbox_world(sandbox.info)
        cassettes = {}
        for cell in CELLS:
            job = CellJob(cell, scenario, SCENARIO, world, "all", directory, directory / "t", "rerecord", 120.0)
            assert run_cell(job).verdict == Outcome.PASS
            cassettes[cell.route] = cell.cassette(directory).read_bytes()
        return dict(sandbox.info["urls"]), cassettes
    finally:
        sandbox.stop()


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict[str, str], dict[str, bytes]]]:
    return [record(tmp_path_factory.mktemp(f"recording-{n}")) for n in (1, 2)]


def test_a_cell_recorded_twice_gives_byte_identical_cassettes(
    twice: list[tuple[dict[str, str], dict[str, bytes]]],
) -> None:
    (urls_1, first), (urls_2, second) = twice
    assert urls_1["bitbucket_api"] != urls_2["bitbucket_api"]  # two sandboxes, two sets of ports
    rovo = first["rovo"].decode()
    assert not LOOPBACK_PORT.search(rovo) and "http://bitbucket.loopback.localhost/2.0/repositories/acme/" in rovo
    assert "mcp-session-id:\n      - session-1\n" in rovo
    assert first["rovo"] == second["rovo"]


def test_what_still_differs_is_the_composio_session_id(twice: list[tuple[dict[str, str], dict[str, bytes]]]) -> None:
    """Composio's Tool Router gives each session a random id (as the real service does). It is in the session's
    URLs and in the bodies that quote it, so also in what derives from the conversation: the model's ids, its
    streamed arguments (where the id may be split between chunks) and the token counts (random text tokenises
    differently). With each recording's id written as one name, nothing else differs."""
    (_, first), (_, second) = twice
    a, b = first["composio"].decode(), second["composio"].decode()
    ids = {COMPOSIO_SESSION.search(a).group(0), COMPOSIO_SESSION.search(b).group(0)}  # type: ignore[union-attr]
    assert len(ids) == 2
    same_a, same_b = COMPOSIO_SESSION.sub("trs_SESSION", a), COMPOSIO_SESSION.sub("trs_SESSION", b)
    changed = [
        line
        for line in difflib.unified_diff(same_a.splitlines(), same_b.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---")) and line[1:].strip()
    ]
    assert changed and all(re.search(r"chatcmpl-|call_|arguments|_tokens: ", line) for line in changed), changed[:5]
    assert not LOOPBACK_PORT.search(a)


def test_hosts_map_loopback_ports_to_fixed_names_and_back() -> None:
    urls = {
        "bitbucket_api": "http://127.0.0.1:43325/2.0",
        "token_url": "http://127.0.0.1:43325/site/oauth2/access_token",
        "rovo": "http://127.0.0.1:4332/v1/mcp",
        "model": "https://api.openai.com/v1",
    }
    hosts = Hosts(urls)
    kept = hosts.urls(urls)
    assert kept == {
        "bitbucket_api": "http://bitbucket.loopback.localhost/2.0",
        "token_url": "http://bitbucket.loopback.localhost/site/oauth2/access_token",
        "rovo": "http://rovo.loopback.localhost/v1/mcp",
        "model": "https://api.openai.com/v1",  # not loopback: as it is
    }
    assert hosts.restore(kept) == urls
    assert Hosts(urls | {"rovo": "http://127.0.0.1:9/v1/mcp"}).restore(kept)["rovo"] == "http://127.0.0.1:9/v1/mcp"
    assert Hosts().restore(kept) == kept  # a replay world: the cassette's hosts as they are
    scrubber = Scrubber(["s3cret-value"], hosts)
    body = scrubber.body('{"href": "http://127.0.0.1:43325/2.0/x", "port": "127.0.0.1:43325s3cret-value"}')
    assert body == b'{"href":"http://bitbucket.loopback.localhost/2.0/x","port":"bitbucket.loopback.localhostREDACTED"}'
    assert scrubber.numbered("session", "4398805df4d2") == "session-1" == scrubber.numbered("session", "4398805df4d2")
    assert scrubber.numbered("session", "a8447ef310f0") == "session-2"
    assert scrubber.numbered("request", "4398805df4d2") == "request-1"


def test_normalise_writes_an_older_cassette_as_it_is_recorded_now(tmp_path: Path) -> None:
    committed = ROOT / "cassettes" / "core-create-branch" / "pydantic-ai--rovo--sandbox-reference.yaml"
    now = committed.read_text()
    older = now.replace("- session-1\n", "- 4398805df4d24e04ba8a3cbd4b5af2d9\n")
    for party, port in (("bitbucket", 43325), ("rovo", 39053), ("model", 41097), ("composio", 33661)):
        older = older.replace(f"{party}.loopback.localhost", f"127.0.0.1:{port}")
    assert older != now and "127.0.0.1:43325" in older
    path = tmp_path / "cassettes" / "core-create-branch" / committed.name
    path.parent.mkdir(parents=True)
    path.write_text(older)
    done = CliRunner().invoke(app, ["cassettes", "normalise", str(tmp_path / "cassettes")])
    assert done.exit_code == 0 and "1 of 1 cassette(s) rewritten" in done.output, done.output
    assert path.read_text() == now
    again = CliRunner().invoke(app, ["cassettes", "normalise", str(path)])
    assert "0 of 1 cassette(s) rewritten" in again.output and path.read_text() == now
    (tmp_path / "other.yaml").write_text("interactions: []\nversion: 1\n")
    bad = CliRunner().invoke(app, ["cassettes", "normalise", str(tmp_path / "other.yaml")])
    assert bad.exit_code == 2 and "other.yaml: not a harness cell cassette" in bad.output
    missing = CliRunner().invoke(app, ["cassettes", "normalise", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no cassette under" in missing.output


def test_rescore_writes_what_a_replay_measures_now_into_the_record_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record written when the harness lost a stopped loop's calls (all counts 0) takes the counts its replay
    gives now; the interactions stay byte for byte; a second rescore changes nothing; a dry run writes nothing."""
    committed = ROOT / "cassettes" / "core-create-branch" / "pydantic-ai--rovo--sandbox-loop.yaml"
    now = committed.read_text()
    at = now.rindex("\nmetadata:\n")
    metrics = re.compile(r"(?<=\n      )(input_tokens|model_calls|output_tokens|tool_calls): \d+")
    older = now[:at] + metrics.sub(lambda m: f"{m.group(1)}: 0", now[at:])
    assert older != now and "tool_calls: 0" in older
    path = tmp_path / "cassettes" / "core-create-branch" / committed.name
    path.parent.mkdir(parents=True)
    path.write_text(older)
    monkeypatch.chdir(ROOT)  # cassettes name their scenario files relative to the project root

    dry = CliRunner().invoke(app, ["cassettes", "rescore", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "1 of 1 cassette(s) would change" in dry.output, dry.output
    assert path.read_text() == older
    done = CliRunner().invoke(app, ["cassettes", "rescore", str(tmp_path / "cassettes")])
    assert done.exit_code == 0 and "1 of 1 cassette(s) rescored" in done.output, done.output
    assert "  tool_calls 0 -> 3" in done.output and "VERDICT" not in done.output
    assert path.read_text() == now  # the record as committed; the interactions untouched
    again = CliRunner().invoke(app, ["cassettes", "rescore", str(path)])
    assert "0 of 1 cassette(s) rescored" in again.output
    assert logging.root.manager.disable == logging.NOTSET  # the replays' logging muted, then restored

    monkeypatch.chdir(tmp_path)
    elsewhere = CliRunner().invoke(app, ["cassettes", "rescore", str(path)])
    assert elsewhere.exit_code == 2
    assert f"{path}: its scenario scenarios/core-create-branch.yaml is not under {tmp_path}" in elsewhere.output
