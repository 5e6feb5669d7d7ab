"""Pytest fixtures: ``sandbox`` (one per session, reset before each test that asks for it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.launcher import Sandbox


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Sandbox:
    """A running sandbox in its default state: every test starts from the same world."""
    sandbox_session.reset()
    return sandbox_session
