"""`harness sandbox up/down`, the .env output, bad fixtures, and state that survives a restart."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sandbox import Sandbox

HARNESS = [sys.executable, "-m", "harness.cli"]


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the sandbox did not come up"
        time.sleep(0.05)


def test_up_prints_state_and_down_stops_it(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    up = subprocess.Popen(
        [*HARNESS, "sandbox", "up", "--state-file", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(state, up)
        info = json.loads(state.read_text())
        assert info["urls"]["bitbucket_api"].startswith("http://127.0.0.1:")
        user = httpx.get(
            info["urls"]["bitbucket_api"] + "/user",
            auth=("alice@example.com", "sandbox-apitoken-alice-full"),
            trust_env=False,
        )
        assert user.json()["nickname"] == "alice"
        down = subprocess.run(
            [*HARNESS, "sandbox", "down", "--state-file", str(state)], capture_output=True, text=True, timeout=30
        )
        assert down.returncode == 0, down.stderr
        out, _ = up.communicate(timeout=15)
        assert up.returncode == 0
        printed = json.loads(out)
        assert printed["credentials"]["api_tokens"][0]["token"] == "sandbox-apitoken-alice-full"
        assert not state.exists()
    finally:
        up.kill()


def test_up_env_output(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    up = subprocess.Popen(
        [*HARNESS, "sandbox", "up", "--env", "--state-file", str(state)], stdout=subprocess.PIPE, text=True
    )
    try:
        wait_for(state, up)
        subprocess.run(
            [*HARNESS, "sandbox", "down", "--state-file", str(state)], check=True, timeout=30, capture_output=True
        )
        out, _ = up.communicate(timeout=15)
    finally:
        up.kill()
    env = dict(line.split("=", 1) for line in out.strip().splitlines())
    assert env["ATLASSIAN_API_TOKEN"] == "sandbox-apitoken-alice-full"
    assert env["BITBUCKET_API_URL"].endswith("/2.0") and env["BITBUCKET_CLIENT_ID"] == "sandbox-oauth-oracle-key"
    # The integration guides' variable names, so their programs run against the sandbox unchanged.
    assert env["COMPOSIO_API_KEY"] == "sandbox-composio-apikey-project" and env["USER_ID"] == "user-1"
    assert env["OPENAI_BASE_URL"].endswith("/v1") and env["ROVO_MCP_URL"].endswith("/v1/mcp")
    assert env["COMPOSIO_BASE_URL"].startswith("http://127.0.0.1:")


def test_bad_fixture_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "world.yaml"
    bad.write_text(
        "users:\n  - username: x\n    display_name: X\n    email: x@example.com\nworkspaces:\n  - slug: Acme Corp\n"
    )
    r = subprocess.run(
        [*HARNESS, "sandbox", "up", "--fixture", str(bad), "--state-file", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    assert f"{bad}:6: workspaces.0.slug" in r.stderr


def test_down_without_sandbox(tmp_path: Path) -> None:
    r = subprocess.run(
        [*HARNESS, "sandbox", "down", "--state-file", str(tmp_path / "none.json")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 1 and "no sandbox is running" in r.stderr


def test_data_dir_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    auth = ("alice@example.com", "sandbox-apitoken-alice-full")
    with Sandbox.start(data_dir=data) as sb:
        base = sb.urls["bitbucket_api"]
        made = httpx.post(
            f"{base}/repositories/acme/widgets/refs/branches",
            auth=auth,
            trust_env=False,
            json={"name": "kept", "target": {"hash": "main"}},
        )
        assert made.status_code == 201
        commit = httpx.post(
            f"{base}/repositories/acme/widgets/src",
            auth=auth,
            trust_env=False,
            data={"/kept.txt": "still here\n", "branch": "kept"},
        )
        assert commit.status_code == 201
        httpx.post(
            f"{base}/repositories/acme/widgets/issues/1/comments",
            auth=auth,
            trust_env=False,
            json={"content": {"raw": "persisted"}},
        )
    with Sandbox.start(data_dir=data) as sb:
        base = sb.urls["bitbucket_api"]
        assert (
            httpx.get(f"{base}/repositories/acme/widgets/src/kept/kept.txt", auth=auth, trust_env=False).text
            == "still here\n"
        )
        comments = httpx.get(f"{base}/repositories/acme/widgets/issues/1/comments", auth=auth, trust_env=False)
        assert [c["content"]["raw"] for c in comments.json()["values"]] == ["persisted"]


def test_state_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """It holds the admin key: 0600 (its new directory 0700), whatever the umask, even over a leftover .tmp."""
    state = tmp_path / ".sandbox" / "sandbox.json"
    state.parent.mkdir(mode=0o755)
    leftover = state.with_suffix(".tmp")
    leftover.write_text("{}")
    leftover.chmod(0o644)
    up = subprocess.Popen(
        [*HARNESS, "sandbox", "up", "--state-file", str(state)],
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: os.umask(0o022),
    )
    try:
        wait_for(state, up, timeout=90)
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
        assert "admin_key" in json.loads(state.read_text())
    finally:
        up.terminate()
        up.wait(timeout=15)
    fresh = tmp_path / "new-dir" / "state.json"
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox.server", "--quiet", "--state-file", str(fresh)],
        preexec_fn=lambda: os.umask(0o000),
    )
    try:
        wait_for(fresh, server, timeout=90)
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
        assert stat.S_IMODE(fresh.parent.stat().st_mode) == 0o700
    finally:
        server.terminate()
        server.wait(timeout=15)
