"""Shared by the sync tests: the sandbox's .env, a repository to sync with, the CLI, a running receiver."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner, Result

from harness.cli import app, env_lines
from sandbox import Sandbox

REPO = "acme/eval-suites"  # the suite repository every sync test connects
R = f"repositories/{REPO}/"

ROOT = Path(__file__).resolve().parents[3]


def write_env(sandbox: Sandbox, path: Path) -> dict[str, str]:
    """What `harness sandbox up --env` prints, as a file; returns the variables."""
    lines = env_lines(dict(sandbox.info))
    path.write_text("\n".join(lines) + "\n")
    return dict(line.split("=", 1) for line in lines)


def oracle(sandbox: Sandbox, env: dict[str, str]) -> httpx.Client:
    """The REST API as the OAuth consumer the sync uses (client credentials)."""
    token = httpx.post(
        env["BITBUCKET_OAUTH_TOKEN_URL"],
        data={"grant_type": "client_credentials"},
        auth=(env["BITBUCKET_CLIENT_ID"], env["BITBUCKET_CLIENT_SECRET"]),
        trust_env=False,
    ).json()["access_token"]
    return httpx.Client(
        base_url=env["BITBUCKET_API_URL"] + "/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        trust_env=False,
    )


def create_repository(sandbox: Sandbox, env: dict[str, str], slug: str) -> None:
    with oracle(sandbox, env) as c:
        response = c.post(f"repositories/acme/{slug}", json={"scm": "git", "is_private": True})
        assert response.status_code == 200, response.text


def cli(*args: str, env_file: Path, db: Path) -> Result:
    return CliRunner().invoke(app, ["sync", *args, "--env-file", str(env_file), "--db", str(db)])


@dataclass
class Serving:
    url: str  # the webhook URL
    base: str
    log: Path
    process: subprocess.Popen[str]

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.url, content=body, headers=headers, timeout=30, trust_env=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def webhook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api/bitbucket/webhook"


@contextmanager
def serving(repo: str, port: int, env_file: Path, db: Path, log: Path, *options: str) -> Iterator[Serving]:
    """`harness sync serve` in its own process, stopped (by its pid) afterwards."""
    command = [sys.executable, "-m", "harness.cli", "sync", "serve", "--repo", repo, "--port", str(port)]
    command += ["--env-file", str(env_file), "--db", str(db), *options]
    with log.open("w") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT, env={**os.environ})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on "), f"{line!r}\n{log.read_text()}"
        url = line.split()[2]
        base = url.rsplit("/api/", 1)[0]
        deadline = time.monotonic() + 30
        while True:  # the socket is bound before the line is printed; the app answers once started
            try:
                if httpx.get(base + "/health", trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield Serving(url, base, log, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def deliveries(sandbox: Sandbox, repo: str) -> list[dict[str, Any]]:
    """The webhook deliveries so far (waiting for those under way)."""
    found = sandbox.admin.get("/bitbucket/deliveries", params={"repository": repo}).json()["deliveries"]
    return list(found)
