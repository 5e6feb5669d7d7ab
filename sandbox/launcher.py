"""Start and stop a sandbox in its own process, from Python or from pytest.

with Sandbox.start() as sb:
    sb.urls["bitbucket_api"], sb.credentials["api_tokens"], sb.admin.post("/reset")
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from sandbox.info import ADMIN_HEADER, SandboxInfo


class SandboxError(RuntimeError):
    pass


class Sandbox:
    def __init__(self, process: subprocess.Popen[bytes], info: SandboxInfo, workdir: Path) -> None:
        self.process = process
        self.info = info
        self._workdir = workdir
        self.admin = httpx.Client(
            base_url=info["urls"]["admin"], headers={ADMIN_HEADER: info["admin_key"]}, timeout=30, trust_env=False
        )

    @classmethod
    def start(
        cls,
        fixture: Path | None = None,
        data_dir: Path | None = None,
        frozen_at: str | None = None,
        ports: dict[str, int] | None = None,
        timeout: float = 120.0,  # imports alone take ~20 s on a busy 2-core machine; a crash is seen at once
        local_model: str | None = None,  # also serve this local model (sandbox.model.local; the local-model extra)
        parent_pid: int | None = None,  # the sandbox stops when this process is gone (default: this one)
    ) -> Sandbox:
        workdir = Path(tempfile.mkdtemp(prefix="harness-sandbox-"))
        state = workdir / "state.json"
        log = (workdir / "sandbox.log").open("wb")
        # --parent-pid: the sandbox stops when that process is gone, however it went (even kill -9)
        cmd = [
            sys.executable,
            "-m",
            "sandbox.server",
            "--quiet",
            "--state-file",
            str(state),
            "--parent-pid",
            str(parent_pid or os.getpid()),
        ]
        if fixture:
            cmd += ["--fixture", str(fixture)]
        if data_dir:
            cmd += ["--data-dir", str(data_dir)]
        if frozen_at:
            cmd += ["--frozen-at", frozen_at]
        if local_model:
            cmd += ["--local-model", local_model]
            timeout += 180  # loading (and, the first time, assembling and checking) the weights
        for name, port in (ports or {}).items():
            cmd += [f"--{name}-port", str(port)]
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        deadline = time.monotonic() + timeout
        while not state.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = (workdir / "sandbox.log").read_text(errors="replace")
                raise SandboxError(f"the sandbox did not start (exit {process.returncode}):\n{output}")
            time.sleep(0.02)
        return cls(process, json.loads(state.read_text()), workdir)

    @property
    def log_path(self) -> Path:
        """The sandbox process's output (its log: warnings and errors, and anything it prints)."""
        return self._workdir / "sandbox.log"

    @property
    def urls(self) -> dict[str, str]:
        return {name: str(url) for name, url in self.info["urls"].items()}

    @property
    def credentials(self) -> dict[str, Any]:
        return dict(self.info["credentials"])

    def api_token(self, label: str = "full", user: str = "alice") -> tuple[str, str]:
        """(email, token) of a fixture API token."""
        for t in self.credentials["api_tokens"]:
            if t["label"] == label and t["user"] == user:
                return t["email"], t["token"]
        raise KeyError(f"no API token {label!r} for {user!r}")

    def register_plans(self, plans: list[dict[str, Any]]) -> None:
        """Give the reference model plans for messages (see ``sandbox.model.policy.plans``); they replace earlier
        plans for the same messages."""
        if not plans:
            return
        response = self.admin.post("/model/plans", json={"plans": plans})
        if not response.is_success:
            raise SandboxError(f"the sandbox model refused the plans: {response.status_code} {response.text[:500]}")

    def register_gateway(
        self,
        name: str,
        upstream: str,
        model: str | None = None,
        stream: str = "native",
        timeout: float | None = None,
    ) -> str:
        """Put a gateway of the model server in front of an OpenAI-compatible chat endpoint and return its base URL
        (``http://127.0.0.1:<model port>/gateway/<name>/v1``; see ``sandbox.model.gateway``).

        ``upstream`` is the endpoint's base URL (``http://127.0.0.1:8080/v1``, a provider's ``.../v1``); ``model``,
        when given, replaces the model id of every request; ``stream="emulated"`` serves streamed chat requests
        with one plain upstream call, for servers that cannot stream tool calls; ``timeout`` is in seconds per
        upstream request. Clients of the gateway use the Responses API with hosted MCP tools (or plain chat
        completions) whatever the upstream speaks. No key is registered: the caller's ``Authorization`` header is
        forwarded upstream. A reset forgets every gateway."""
        body: dict[str, Any] = {"name": name, "upstream": upstream, "stream": stream}
        if model is not None:
            body["model"] = model
        if timeout is not None:
            body["timeout"] = timeout
        response = self.admin.post("/model/gateways", json=body)
        if not response.is_success:
            raise SandboxError(f"the sandbox model refused the gateway: {response.status_code} {response.text[:500]}")
        return str(response.json()["base_url"])

    def reset(self, fixture_yaml: str | None = None) -> None:
        response = self.admin.post("/reset", content=fixture_yaml or "")
        response.raise_for_status()
        self.info["credentials"] = response.json()["credentials"]

    def stop(self) -> None:
        self.admin.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
