"""The notebooks in a real Jupyter server (what `make lab` starts): notebooks/explore.ipynb run cell by cell through
the server's kernel API (its REST sessions and the kernel's websocket, as JupyterLab drives them), and the same
notebook opened in JupyterLab in headless Chromium."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websocket

from harness.report.render import ROOT
from tests.harness.report.browser import Browser, require_chromium

NOTEBOOK = "notebooks/explore.ipynb"
TOKEN = "fake-jupyter-token-for-tests"
LAB = importlib.util.find_spec("jupyterlab") is not None
ARTIFACTS = ROOT / "test-artifacts"  # the screenshot, as the report's browser test keeps its own


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"token {TOKEN}"}, timeout=60, trust_env=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab (or the bare Jupyter server where JupyterLab is not installed) on the project, as `make lab`."""
    home = tmp_path_factory.mktemp("jupyter")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab" if LAB else "jupyter_server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={ROOT}",
        *(["--allow-root"] if os.geteuid() == 0 else []),  # CI's machines run as root
    ]
    env = os.environ | {"JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    found = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 120
        with found.api() as api:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the Jupyter server exited with {process.returncode}:\n{log.read_text()}")
                try:
                    if api.get("/api/status").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Jupyter server did not answer within 120 s:\n{log.read_text()}")
                time.sleep(0.5)
        yield found
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Kernel:
    """A notebook session's kernel over the server's websocket (Jupyter messaging protocol, JSON frames)."""

    def __init__(self, server: Server, kernel_id: str) -> None:
        url = server.url.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels?token={TOKEN}"
        self.socket = websocket.create_connection(url, timeout=300, suppress_origin=True)
        self.session = uuid.uuid4().hex

    def execute(self, code: str) -> tuple[str, list[dict[str, Any]]]:
        """Run ``code``; returns the reply's status and the outputs it produced (stream, results, displays,
        errors)."""
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": self.session,
            "username": "test",
            "version": "5.3",
            "date": "2026-01-01T00:00:00Z",
        }
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell"}
        self.socket.send(json.dumps(message))
        outputs: list[dict[str, Any]] = []
        status, idle = None, False
        while status is None or not idle:
            reply = json.loads(self.socket.recv())
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = reply["msg_type"]
            if kind == "execute_reply":
                status = reply["content"]["status"]
            elif kind == "status":
                idle = reply["content"]["execution_state"] == "idle"
            elif kind in ("stream", "execute_result", "display_data", "error"):
                outputs.append(reply["content"] | {"output_type": kind})
        return status, outputs

    def close(self) -> None:
        self.socket.close()


def text_of(outputs: list[dict[str, Any]]) -> str:
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)


def test_the_explore_notebook_runs_through_the_servers_kernel(server: Server) -> None:
    cells = json.loads((ROOT / NOTEBOOK).read_text())["cells"]
    with server.api() as api:
        session = api.post("/api/sessions", json={"path": NOTEBOOK, "type": "notebook", "kernel": {"name": "python3"}})
        assert session.status_code == 201, session.text
        kernel = Kernel(server, session.json()["kernel"]["id"])
        try:
            shown = {}
            for cell in cells:
                source = "".join(cell["source"])
                if cell["cell_type"] != "code" or not source:
                    continue
                status, outputs = kernel.execute(source)
                assert status == "ok", f"{source.splitlines()[0]}: {text_of(outputs)}"
                shown[source.splitlines()[0]] = text_of(outputs)
        finally:
            kernel.close()
            api.delete(f"/api/sessions/{session.json()['id']}")
    assert "core-create-branch: " in shown["import pandas as pd"]
    assert "tool call: bitbucketRepoContent" in shown["await stepper.converse(x)"]
    assert "core-create-branch/pydantic-ai/rovo/sandbox-reference/1: pass" in shown["after = await stepper.finish(x)"]


def test_the_explore_notebook_opens_in_jupyterlab(
    server: Server, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    if not LAB:
        pytest.skip("JupyterLab is not installed: pip install jupyterlab (it is in requirements.lock)")
    require_chromium()
    with Browser(tmp_path, timeout=120) as browser:
        browser.open(f"{server.url}/lab/tree/{NOTEBOOK}?token={TOKEN}")
        deadline = time.monotonic() + 120
        count = "document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length"
        while browser.evaluate(count) < len(json.loads((ROOT / NOTEBOOK).read_text())["cells"]):
            assert time.monotonic() < deadline, "JupyterLab did not show the notebook's cells within 120 s"
            time.sleep(0.5)
        title = browser.evaluate("document.querySelector('.jp-NotebookPanel .jp-MarkdownOutput h1').textContent")
        assert title.strip().startswith("Explore one cell")
        assert "stepper.start(scenario, framework, route, model, models_file)" in browser.evaluate(
            "document.querySelector('.jp-NotebookPanel').innerText"
        )
        kernel = "document.querySelector('.jp-NotebookPanel .jp-Toolbar-kernelName')?.textContent ?? ''"
        while "Python" not in browser.evaluate(kernel):
            assert time.monotonic() < deadline, "JupyterLab did not start the notebook's kernel within 120 s"
            time.sleep(0.5)
        ARTIFACTS.mkdir(exist_ok=True)
        shot = browser.screenshot(ARTIFACTS / "jupyterlab-explore.png")
        record_property("artifact", str(shot))
    assert shot.stat().st_size > 20_000
