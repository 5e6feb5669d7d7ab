"""What an emulated service plugged into the sandbox process provides, besides Bitbucket itself."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.bitbucket.world import World
from sandbox.faults import FaultPlan
from sandbox.fixtures import Fixture

if TYPE_CHECKING:
    from sandbox.bitbucket.app import BitbucketAPI


@dataclass(frozen=True)
class ServiceContext:
    """What a service may use: the shared world, Bitbucket's base URLs, its own public origin."""

    world: World
    bitbucket: BitbucketAPI
    bitbucket_api: str  # http://127.0.0.1:P/2.0, for loopback REST calls
    origin: str  # this service's own http://127.0.0.1:P
    faults: FaultPlan


class Service(Protocol):
    name: str  # the key of its port in the sandbox (``--<name>-port``)

    def asgi(self) -> ASGIApp: ...

    def lifespan(self) -> contextlib.AbstractAsyncContextManager[None]: ...

    def urls(self) -> dict[str, str]:
        """Published base URLs, merged into the sandbox's ``urls``."""
        ...

    def admin_routes(self) -> list[Route]:
        """Admin endpoints (served by the admin API, behind its key)."""
        ...

    def credentials(self) -> dict[str, object]:
        """Fixture credentials to print with the sandbox state (fake values only)."""
        ...

    async def reset(self) -> None:
        """Forget run-time state (sessions, settings); the world is reloaded by the sandbox."""
        ...


FixtureLoader = Callable[[World, Fixture], None]
