"""Shared test configuration; the sandbox fixtures come from the harness_sandbox pytest plugin."""

from __future__ import annotations

import pytest

# Disabled as entry points in pyproject.toml (replaying cassettes needs neither); the tests load them.
pytest_plugins = ("_hypothesis_pytestplugin", "schemathesis.pytest.plugin")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        default=False,
        help="rewrite the MCP tool-list snapshots under tests/sandbox/snapshots/ from the sandbox",
    )
