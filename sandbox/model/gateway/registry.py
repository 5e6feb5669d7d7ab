"""Registered gateways: a name, the upstream base URL, an optional model id and how streamed chat is served.

Only the admin API registers them (``POST /model/gateways``), so the model server is never an open relay: it
reaches no host but the ones the sandbox's owner named. A registration holds no key.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox.model.errors import APIError

DEFAULT_TIMEOUT_S = 300.0  # a small local model needs a minute or two for a prompt full of tool schemas


class GatewaySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="the slug in /gateway/<name>/v1")
    upstream: str = Field(description="an OpenAI-compatible base URL, such as http://127.0.0.1:8080/v1")
    model: str | None = Field(default=None, min_length=1, description="replaces the model id of every request")
    stream: Literal["native", "emulated"] = Field(
        default="native", description="emulated: streamed chat is one plain upstream call re-sent as SSE chunks"
    )
    timeout: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=3600, description="seconds per upstream request")

    @field_validator("upstream")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s) base URL such as http://127.0.0.1:8080/v1")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials: the gateway stores no key, callers send theirs")
        if parts.query or parts.fragment:
            raise ValueError("expected a base URL without a query or fragment")
        return value.rstrip("/")

    @property
    def host(self) -> str:
        """The upstream's host and port, as error messages name it."""
        return urlsplit(self.upstream).netloc


class GatewayRegistry:
    def __init__(self, origin: str) -> None:
        self.origin = origin  # the model server's own http://127.0.0.1:P
        self._gateways: dict[str, GatewaySpec] = {}

    def base_url(self, spec: GatewaySpec) -> str:
        return f"{self.origin}/gateway/{spec.name}/v1"

    def add(self, spec: GatewaySpec) -> None:
        """Register (or replace) a gateway."""
        if spec.upstream.startswith(f"{self.origin}/gateway/"):
            raise ValueError("request body: upstream: a gateway cannot have another gateway of this server upstream")
        self._gateways[spec.name] = spec

    def get(self, name: str) -> GatewaySpec:
        spec = self._gateways.get(name)
        if spec is None:
            raise APIError(
                f"No gateway named {name!r} is registered (register one with POST /model/gateways on the admin API).",
                code="unknown_gateway",
                status=404,
            )
        return spec

    def remove(self, name: str) -> GatewaySpec | None:
        return self._gateways.pop(name, None)

    def clear(self) -> None:
        self._gateways.clear()

    def public(self, spec: GatewaySpec) -> dict[str, Any]:
        return {"name": spec.name, "base_url": self.base_url(spec), **spec.model_dump(exclude={"name"})}

    def all(self) -> list[dict[str, Any]]:
        return [self.public(s) for s in self._gateways.values()]
