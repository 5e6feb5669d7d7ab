"""The models file: what it declares, what it refuses (file:line), and the checks that stop a run before any cell
runs: unknown names, key variables that are not set, endpoints that do not answer or refuse the key."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.models import Catalog, load_models, split_names
from harness.runner.session import check_models
from harness.worlds import ConfigError
from sandbox import Sandbox
from yamlio import InputError

GOOD = """models:
  - name: local-qwen
    base_url: http://127.0.0.1:8765/v1/
    api_key_env: LOCAL_KEY
    model: qwen2.5-0.5b-instruct
    context_window: 8192
    prices: {input: 0.1, output: 0.2}
    sampling: {temperature: 0.7, seed: 7}
    stream: emulated
  - name: provider-x
    base_url: https://api.example.com/v1
    api: responses
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return path


def test_a_models_file_declares_real_models(tmp_path: Path) -> None:
    catalog = load_models(write(tmp_path, GOOD))
    qwen = catalog.declared["local-qwen"]
    assert (qwen.base_url, qwen.upstream, qwen.host, qwen.stream) == (
        "http://127.0.0.1:8765/v1",
        "qwen2.5-0.5b-instruct",
        "127.0.0.1:8765",
        "emulated",
    )
    assert qwen.sampling.sent() == {"temperature": 0.7, "seed": 7}
    assert catalog.declared["provider-x"].upstream == "provider-x" and catalog.declared["provider-x"].api == "responses"
    assert catalog.names()[:2] == ["sandbox-reference", "sandbox-flaky"] and "local-qwen" in catalog.names()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "models:\n  - name: a\n    base_url: ftp://x/v1\n",
            r"models.yaml:3: models.0.base_url: .*not an http\(s\) URL",
        ),
        (
            "models:\n  - name: a\n    base_url: http://x/v1\n    api: graphql\n",
            r"models.yaml:4: models.0.api: Input should be 'chat' or 'responses'",
        ),
        ("models:\n  - name: a\n", r"models.yaml:2: models.0.base_url: Field required"),
        (
            "models:\n  - name: a\n    base_url: http://x/v1\n    api_key: sk-abc\n",
            r"models.yaml:2: models.0: .*api_key: a models file never holds a key; .*api_key_env",
        ),
        (
            "models:\n  - name: a\n    base_url: http://x/v1\n    api_key_env: sk-live-123\n",
            r"models.yaml:4: models.0.api_key_env: String should match pattern",
        ),
        (
            "models:\n  - name: a\n    base_url: http://x/v1\n  - name: a\n    base_url: http://y/v1\n",
            r"models.yaml:4: models.1.name: 'a' is declared twice",
        ),
        (
            "models:\n  - name: sandbox-reference\n    base_url: http://x/v1\n",
            r"models.yaml:2: models.0.name: .*is a built-in sandbox model",
        ),
        (
            "models:\n  - name: a\n    base_url: http://x/v1\n    sampling: {temperature: 9}\n",
            r"models.yaml:4: models.0.sampling.temperature: Input should be less than or equal to 2",
        ),
    ],
)
def test_a_bad_models_file_is_named_by_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_models(write(tmp_path, text))


def test_no_file_means_built_in_models_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_models(None).declared == {}
    with pytest.raises(InputError, match=r"nothing.yaml: no such models file"):
        load_models(tmp_path / "nothing.yaml")
    assert split_names(["a,b", " c "]) == ["a", "b", "c"] and split_names(None) == ["sandbox-reference"]


def test_unknown_names_and_unset_key_variables_are_all_named(tmp_path: Path) -> None:
    catalog = load_models(write(tmp_path, GOOD))
    problems = catalog.check(["sandbox-overclaim", "gpt-4o", "local-qwen", "provider-x"], env={})
    assert problems == [
        "unknown model 'gpt-4o': not built in or in "
        + str(tmp_path / "models.yaml")
        + "; choose from "
        + ", ".join(catalog.names()),
        f"model 'local-qwen': the environment variable LOCAL_KEY (api_key_env in {tmp_path / 'models.yaml'}) is "
        "not set",
    ]
    assert catalog.check(["gpt-4o"], env={}, default_provider=True) == []  # the live world's default provider
    assert (
        Catalog()
        .check(["x"], env={})[0]
        .endswith("(no models file: give one with --models); choose from " + ", ".join(Catalog().names()))
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_endpoint_that_does_not_answer_or_refuses_the_key_stops_the_run(tmp_path: Path, sandbox: Sandbox) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    text = (
        f"models:\n  - name: gone\n    base_url: {dead}\n  - name: picky\n    base_url: {sandbox.urls['model_api']}\n"
        f"  - name: fine\n    base_url: {sandbox.urls['model_api']}\n    api_key_env: FINE_KEY\n"
    )
    catalog = load_models(write(tmp_path, text))
    with pytest.raises(ConfigError) as error:
        check_models(catalog, ["gone", "picky", "fine"], {"FINE_KEY": "k-123"}, "sandbox")
    lines = str(error.value).splitlines()
    assert lines[0].startswith(f"model 'gone': no answer from {dead} (ConnectError")
    assert lines[1] == f"model 'picky': {sandbox.urls['model_api']} refused no key (set api_key_env): 401"
    assert len(lines) == 2  # the model that answers with its key passes
    check_models(catalog, ["fine"], {"FINE_KEY": "k-123"}, "sandbox")


def test_the_command_line_refuses_a_bad_models_file_before_any_cell_runs(tmp_path: Path) -> None:
    bad = write(tmp_path, "models:\n  - name: a\n    base_url: nowhere\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--models",
            str(bad),
            "-m",
            "a",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--no-report",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "models.yaml:3: models.0.base_url" in run.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("results.jsonl"))
    unknown = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "-m",
            "sandbox-reference,gpt-9",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--no-report",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 2 and "unknown model 'gpt-9'" in unknown.stderr
    doctor = subprocess.run(
        [sys.executable, "-m", "harness.cli", "doctor", "--world", "sandbox", "--models", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert doctor.returncode == 1 and "models.0.base_url" in doctor.stderr
