"""The handler registry: each handler is declared with its OpenAPI method and path template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.bitbucket.context import Ctx

Handler = Callable[["Ctx"], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # OpenAPI template
    handler: Handler
    # Path parameters that may contain slashes (branch names, file paths).
    greedy: tuple[str, ...] = ()


ENDPOINTS: list[Endpoint] = []


def route(method: str, path: str, greedy: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ENDPOINTS.append(Endpoint(method.lower(), path, fn, greedy))
        return fn

    return register
