"""The sandbox world on a cluster: one sandbox per worker machine, started there by the first cell that needs it
and shared by every worker process of the machine (cells never share repositories: each has its own names).

The machine's workers find the sandbox through a state file in the machine's temporary directory, named after the
run's token and guarded by a file lock. The sandbox outlives the worker process that started it as long as that
worker's nanny lives (a worker killed mid-cell does not take its neighbours' sandbox with it); the run stops it at
the end (``stop_machine_sandbox`` on every worker).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.models import Catalog
from harness.scenarios import Scenario
from harness.vocab import WorldName
from harness.worlds import WorldConfig, sandbox_world, with_local_model


@dataclass(frozen=True)
class MachineSandbox:
    """What a worker machine needs to start and furnish the run's sandbox, as the local run does."""

    scenarios: tuple[Scenario, ...]
    catalog: Catalog
    models: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)
    timeout_s: float
    local_model: str | None
    token: str = ""  # the run's on the cluster: names the machine's state file
    name: WorldName = "sandbox"  # as rows name the world

    @property
    def state_file(self) -> Path:
        return Path(tempfile.gettempdir()) / f"harness-sandbox-{self.token}.json"


_OWNED: dict[str, Any] = {}  # token -> the Sandbox this process started


def machine_world(recipe: MachineSandbox, owner_pid: int) -> WorldConfig:
    """The world of this machine's sandbox, started now (bound to ``owner_pid``) if it is not running."""
    with _locked(recipe.state_file):
        state = _state(recipe.state_file)
        if state is None or not _running(state, recipe.token):
            state = _start(recipe, owner_pid)
    info = state["info"]
    return sandbox_world(info, with_local_model(recipe.catalog, info), recipe.env, state["gateways"])


def stop_machine_sandbox(token: str) -> None:
    """Stop the run's sandbox on this machine (if it is still running) and forget it."""
    recipe_file = Path(tempfile.gettempdir()) / f"harness-sandbox-{token}.json"
    with _locked(recipe_file):
        state = _state(recipe_file)
        if state is not None and _running(state, token):
            os.kill(state["pid"], signal.SIGTERM)
        recipe_file.unlink(missing_ok=True)
    owned = _OWNED.pop(token, None)
    if owned is not None:
        owned.stop()  # reaps it
    recipe_file.with_suffix(".lock").unlink(missing_ok=True)


def _start(recipe: MachineSandbox, owner_pid: int) -> dict[str, Any]:
    from harness.runner.session import furnish
    from sandbox import Sandbox

    sandbox = Sandbox.start(local_model=recipe.local_model, parent_pid=owner_pid)
    _OWNED[recipe.token] = sandbox
    catalog = with_local_model(recipe.catalog, sandbox.info)
    gateways = furnish(sandbox, list(recipe.scenarios), catalog, list(recipe.models), recipe.timeout_s)
    state = {"pid": sandbox.process.pid, "info": sandbox.info, "gateways": gateways}
    # the sandbox's fake credentials, readable by this user only (as the sandbox's own state file)
    fd = os.open(recipe.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(state, out)
    return state


def _state(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@contextlib.contextmanager
def _locked(state_file: Path) -> Iterator[None]:
    with state_file.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running(state: dict[str, Any] | None, token: str) -> bool:
    """Whether the sandbox of ``state`` runs (one this process started and that exited is not reaped yet: its pid
    still answers, so its own handle says)."""
    if state is None or not _alive(state["pid"]):
        return False
    owned = _OWNED.get(token)
    return owned is None or owned.process.pid != state["pid"] or owned.process.poll() is None
