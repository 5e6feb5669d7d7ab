"""Run the integration guides' programs against a sandbox: only the environment changes, stdin is scripted.

    .venv/bin/python -m tests.sandbox.model.seed_programs.run_seed          # all three, in a fresh sandbox
    .venv/bin/python -m tests.sandbox.model.seed_programs.run_seed 001      # one of them (000, 001, 002)

Each program runs in its own process, in an empty working directory (so no ``.env`` is picked up), with the
environment it documents pointed at the sandbox::

    COMPOSIO_API_KEY=sandbox-composio-apikey-project   COMPOSIO_BASE_URL=<sandbox urls["composio_api"]>
    OPENAI_API_KEY=sandbox-model-key                   OPENAI_BASE_URL=<sandbox urls["model_api"]>
    USER_ID=user-1                                     OPENAI_AGENTS_DISABLE_TRACING=1 (the Agents SDK guide)

and the guides' own requests on stdin, one per line (``SCRIPT``), ending with ``exit``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sandbox import Sandbox

HERE = Path(__file__).resolve().parent
SEEDS = {"000": "seed_000_autogen.py", "001": "seed_001_openai_agents.py", "002": "seed_002_pydantic_ai.py"}
SCRIPT = [
    "I'm working in acme/widgets.",
    "create a new branch off main",
    "open a pull request for my feature",
    "comment on the latest open issue",
    "fetch readme file from repository",
    "exit",
]
_SCRUBBED = ("OPENAI_", "COMPOSIO_", "USER_ID", "ANTHROPIC_")


def seed_env(sb: Sandbox) -> dict[str, str]:
    """The process environment with every model/Composio variable replaced by the sandbox's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(
        {
            "COMPOSIO_API_KEY": sb.credentials["composio"]["api_keys"][0],
            "COMPOSIO_BASE_URL": sb.urls["composio_api"],
            "OPENAI_API_KEY": sb.credentials["model"]["api_key"],
            "OPENAI_BASE_URL": sb.urls["model_api"],
            "USER_ID": "user-1",
            "OPENAI_AGENTS_DISABLE_TRACING": "1",
        }
    )
    return env


def run_seed(sb: Sandbox, seed: str, script: list[str] = SCRIPT, timeout: float = 120) -> str:
    """The program's stdout (stderr appended), after a run with ``script`` on stdin."""
    with tempfile.TemporaryDirectory(prefix="seed-") as cwd:
        done = subprocess.run(
            [sys.executable, str(HERE / SEEDS[seed])],
            input="\n".join(script) + "\n",
            capture_output=True,
            text=True,
            env=seed_env(sb),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"seed {seed} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def main(argv: list[str]) -> None:
    chosen = argv or sorted(SEEDS)
    with Sandbox.start() as sb:
        for seed in chosen:
            sb.reset()
            print(f"===== seed {seed} ({SEEDS[seed]})", flush=True)
            print(run_seed(sb, seed), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
