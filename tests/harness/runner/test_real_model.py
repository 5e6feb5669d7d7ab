"""A model from a models file, served by an OpenAI-compatible endpoint of its own, runs in the sandbox world on every
framework variant and route: Bitbucket, Composio and Rovo stay emulated, the hosted variant goes through the
sandbox's gateway, rows name the model, its host and upstream id, and its key reaches no file."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.results import CellRecord, read_rows
from harness.runner.options import RunOptions
from harness.runner.session import run_matrix
from harness.vocab import FRAMEWORKS, ROUTES
from sandbox import Sandbox

LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"
KEY = "sk-external-endpoint-0123456789abcdefXYZ"  # shaped like an OpenAI key: scrubbed like one


@pytest.fixture(scope="module")
def endpoint() -> str:
    """Another OpenAI-compatible server, not the sandbox the run starts: its chat model reads plain English."""
    with Sandbox.start() as other:
        yield other.urls["model_api"]


def test_a_declared_model_runs_on_every_stack_and_its_key_stays_out(
    tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXTERNAL_MODEL_KEY", KEY)
    models = tmp_path / "models.yaml"
    models.write_text(
        f"models:\n  - name: external\n    base_url: {endpoint}\n    api_key_env: EXTERNAL_MODEL_KEY\n"
        "    model: sandbox-reference\n    sampling: {temperature: 0.2, seed: 3}\n"
    )
    run_dir = run_matrix(
        RunOptions(
            scenarios=(LIBRARY / "core-fetch-readme.yaml",),
            models=("external",),
            models_file=models,
            runs_dir=tmp_path / "runs",
            cassettes=tmp_path / "cassettes",
            concurrency=2,
            timeout_s=120.0,
        )
    )
    rows = read_rows(run_dir / "results.jsonl")
    assert sorted((r.framework, r.route) for r in rows) == sorted((f, r) for f in FRAMEWORKS for r in ROUTES)
    for row in rows:
        assert (row.model, row.model_kind, row.upstream_model) == ("external", "real", "sandbox-reference"), row
        assert row.verdict == "pass", (row.key, row.reasons)
        hosted = row.framework == "openai-agents-hosted"
        assert row.sampling == ({"temperature": 0.2} if hosted else {"temperature": 0.2, "seed": 3})
        record = CellRecord.read(Path(row.cassette or ""))
        model_url = record.urls["model"]
        # the cassette names the model's loopback endpoint by a fixed host; the row names where it was
        if row.framework == "openai-agents-hosted":  # the sandbox's gateway ran MCP for the model
            assert model_url.startswith("http://model.loopback.localhost/gateway/")
            assert row.model_host and row.model_host.startswith("127.0.0.1:")
        else:
            assert model_url == urlsplit(endpoint)._replace(netloc="model.loopback.localhost").geturl()
            assert row.model_host == urlsplit(endpoint).netloc
    written = [*(tmp_path / "cassettes").rglob("*.yaml"), *run_dir.rglob("*.json*"), *run_dir.rglob("*.md")]
    assert written and not [p for p in written if KEY in p.read_text()]
    transcript = json.loads(Path(rows[0].transcript or "").read_text())
    assert transcript["transcript"]["model"] == "sandbox-reference"
