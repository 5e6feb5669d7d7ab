"""The ``harness`` command line."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Evaluate AI agents that work on Bitbucket through MCP.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The embedded sandbox: emulated Bitbucket and friends on 127.0.0.1.",
                          no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")

STATE_FILE = Path(".sandbox/sandbox.json")


def env_lines(info: dict[str, Any]) -> list[str]:
    """A .env for the sandbox: the variable names the live configuration uses."""
    urls, creds = info["urls"], info["credentials"]
    token = next(t for t in creds["api_tokens"] if t["scoped"] and t["label"] == "full")
    consumer = creds["oauth_consumers"][0]
    return [
        f"BITBUCKET_API_URL={urls['bitbucket_api']}",
        f"BITBUCKET_OAUTH_TOKEN_URL={urls['bitbucket_oauth_token']}",
        "BITBUCKET_WORKSPACE=acme",
        f"BITBUCKET_CLIENT_ID={consumer['key']}",
        f"BITBUCKET_CLIENT_SECRET={consumer['secret']}",
        f"ATLASSIAN_EMAIL={token['email']}",
        f"ATLASSIAN_API_TOKEN={token['token']}",
        f"SANDBOX_ADMIN_URL={urls['admin']}",
        f"SANDBOX_ADMIN_KEY={info['admin_key']}",
    ]


@sandbox_app.command("up")
def sandbox_up(
    fixture: Annotated[Path | None, typer.Option(help="Fixture YAML (default: the built-in world).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Keep state here across restarts.")] = None,
    bitbucket_port: Annotated[int, typer.Option(help="Port for the Bitbucket API (0: a free port).")] = 0,
    admin_port: Annotated[int, typer.Option(help="Port for the admin API (0: a free port).")] = 0,
    frozen_at: Annotated[str | None, typer.Option(help="Deterministic clock start (ISO timestamp).")] = None,
    env: Annotated[bool, typer.Option("--env", help="Print a .env file instead of JSON.")] = False,
    state_file: Annotated[Path, typer.Option(help="Where `sandbox down` finds this sandbox.")] = STATE_FILE,
) -> None:
    """Start the sandbox in this process, print its URLs and credentials, and serve until stopped."""
    import asyncio
    from datetime import datetime

    from harness.sandbox.fixtures import default_fixture, load_fixture
    from harness.sandbox.server import Sandboxed, serve
    from harness.yamlio import InputError

    if state_file.exists() and _alive(json.loads(state_file.read_text()).get("pid")):
        raise typer.BadParameter(f"a sandbox is already running (see {state_file}); stop it with "
                                 "`harness sandbox down`")
    try:
        world = load_fixture(fixture) if fixture else default_fixture()
    except InputError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    import secrets

    sb = Sandboxed(world, data_dir, datetime.fromisoformat(frozen_at) if frozen_at else None,
                   {"bitbucket": bitbucket_port, "admin": admin_port}, secrets.token_urlsafe(16))
    if env:
        typer.echo("\n".join(env_lines(sb.info())))
    asyncio.run(serve(sb, state_file, announce=not env))


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@sandbox_app.command("down")
def sandbox_down(state_file: Annotated[Path, typer.Option(help="The state file `up` wrote.")] = STATE_FILE) -> None:
    """Stop the sandbox that `harness sandbox up` started."""
    if not state_file.exists():
        typer.echo(f"no sandbox is running (no {state_file})", err=True)
        raise typer.Exit(1)
    pid = json.loads(state_file.read_text()).get("pid")
    if not _alive(pid):
        state_file.unlink(missing_ok=True)
        typer.echo(f"the sandbox (pid {pid}) had already stopped; removed {state_file}")
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.1)
    state_file.unlink(missing_ok=True)
    typer.echo(f"stopped the sandbox (pid {pid})")


if __name__ == "__main__":
    app()
