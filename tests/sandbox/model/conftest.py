"""The model tests share one sandbox with a frozen clock, so that two runs of a conversation see the same
timestamps and ids from every emulator (the determinism test depends on it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from sandbox import Sandbox

FROZEN_AT = "2026-01-01T00:00:00+00:00"


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[Sandbox]:
    with Sandbox.start(frozen_at=FROZEN_AT) as sb:
        yield sb


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[OpenAI]:
    with OpenAI(
        base_url=sandbox.urls["model_api"], api_key=sandbox.credentials["model"]["api_key"], max_retries=0
    ) as c:
        yield c
