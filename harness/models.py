"""Models a run can use: the scripted ones built into the sandbox (the reference policy and its negative controls),
and real ones declared in a models file (``models.yaml``)::

    models:
      - name: qwen2.5-0.5b                 # as results and reports name it; -m picks it
        base_url: http://127.0.0.1:8765/v1 # any OpenAI-compatible endpoint
        api_key_env: LOCAL_MODEL_KEY       # the environment variable that holds the key (optional)
        api: chat                          # chat (default) or responses (hosted MCP runs at the provider)
        model: qwen2.5-0.5b-instruct       # the id sent upstream, when it differs from name
        context_window: 8192
        prices: {input: 0.15, output: 0.60}   # USD per million tokens (the report's cost)
        sampling: {temperature: 0.7, seed: 7, max_tokens: 512}
        stream: emulated                   # the endpoint cannot stream tool calls: the sandbox re-streams them

The file holds no key, only the name of the variable that does. Errors name the file, line and field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.vocab import CONTROL_MODELS, REFERENCE_MODEL, SCRIPTED_MODELS
from yamlio import InputError, load_yaml, parse_model

DEFAULT_FILE = Path("models.yaml")
ModelApi = Literal["chat", "responses"]
KEYLIKE_FIELDS = ("api_key", "key", "token", "secret", "password")


class Prices(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, description="USD per million input tokens")
    output: float = Field(ge=0, description="USD per million output tokens")


class Sampling(BaseModel):
    """Sampling settings sent with every request (absent: the endpoint's defaults)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None
    max_tokens: int | None = Field(default=None, ge=1)

    def sent(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ModelSpec(BaseModel):
    """One model of a models file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
    base_url: str = Field(description="an OpenAI-compatible endpoint, e.g. https://api.openai.com/v1")
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    api: ModelApi = "chat"
    model: str | None = Field(default=None, min_length=1, description="the id sent upstream (default: name)")
    context_window: int | None = Field(default=None, ge=1)
    prices: Prices | None = None
    sampling: Sampling = Sampling()
    stream: Literal["native", "emulated"] = Field(
        default="native",
        description="emulated: the endpoint cannot stream tool calls, so the sandbox's gateway "
        "asks it without streaming and streams the answer to the frameworks",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            held = [k for k in data if str(k).lower() in KEYLIKE_FIELDS]
            if held:
                raise ValueError(
                    f"{held[0]}: a models file never holds a key; put it in an environment variable "
                    "and name that variable in api_key_env"
                )
        return data

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("name")
    @classmethod
    def _not_built_in(cls, value: str) -> str:
        if value in SCRIPTED_MODELS:
            raise ValueError(f"{value} is a built-in sandbox model; give the real model another name")
        return value

    @property
    def upstream(self) -> str:
        return self.model or self.name

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc


class ModelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelSpec] = Field(min_length=1)


@dataclass(frozen=True)
class Catalog:
    """The models a run may name: the built-in scripted ones and those of the models file."""

    declared: Mapping[str, ModelSpec] = field(default_factory=dict)
    source: Path | None = None

    def names(self) -> list[str]:
        return [*SCRIPTED_MODELS, *self.declared]

    def spec(self, name: str) -> ModelSpec | None:
        """The declared model, or None for a built-in one."""
        return self.declared.get(name)

    def check(
        self, names: list[str], env: Mapping[str, str] | None = None, default_provider: bool = False
    ) -> list[str]:
        """What is wrong with running ``names``: unknown names (with the choices; with a default provider, as in
        the live world, an undeclared name goes there) and key variables that are not set."""
        env = os.environ if env is None else env
        problems = []
        for name in names:
            if name in SCRIPTED_MODELS:
                continue
            spec = self.declared.get(name)
            if spec is None and default_provider:
                continue
            if spec is None:
                where = f" or in {self.source}" if self.source else " (no models file: give one with --models)"
                problems.append(f"unknown model {name!r}: not built in{where}; choose from {', '.join(self.names())}")
            elif spec.api_key_env and not env.get(spec.api_key_env):
                problems.append(
                    f"model {name!r}: the environment variable {spec.api_key_env} (api_key_env in "
                    f"{self.source}) is not set"
                )
        return problems


def load_models(path: Path | None) -> Catalog:
    """The catalog of a models file (None or an absent default file: built-in models only)."""
    if path is None:
        if not DEFAULT_FILE.is_file():
            return Catalog()
        path = DEFAULT_FILE
    if not path.is_file():
        raise InputError(f"{path}: no such models file")
    text = path.read_text(encoding="utf-8")
    parsed = parse_model(ModelsFile, text, str(path))
    _, lines = load_yaml(text, str(path))
    declared: dict[str, ModelSpec] = {}
    for i, spec in enumerate(parsed.models):
        if spec.name in declared:
            line = lines.get(("models", i, "name"), 1)
            raise InputError(f"{path}:{line}: models.{i}.name: {spec.name!r} is declared twice")
        declared[spec.name] = spec
    return Catalog(declared, path)


def split_names(values: list[str] | None) -> list[str]:
    """``-m a,b -m c`` -> [a, b, c] (the reference model when none is given)."""
    names = [n.strip() for value in values or [] for n in re.split(r",", value) if n.strip()]
    return names or [REFERENCE_MODEL]


__all__ = ["CONTROL_MODELS", "Catalog", "ModelSpec", "load_models", "split_names"]
