"""What is synced, where each kind lives in the repository, and how a file becomes an entity or an error.

| kind       | repository path                        | what it holds                                            |
|------------|----------------------------------------|----------------------------------------------------------|
| scenario   | ``scenarios/{id}.yaml``                | a scenario file, as ``harness scenarios check`` reads it |
| mcp-server | ``mcp-servers/{slug}.json``            | an MCP endpoint, its scope profiles and tools (no auth)  |
| mcp-client | ``mcp-clients/{slug}.json``            | a framework variant and its settings                     |
| toolkit    | ``toolkits/{slug}.json``               | which integration (an MCP server) and which of its tools |
| skill      | ``skills/{slug}/SKILL.md`` + its files | agent instructions, with scripts, references and assets  |
| model      | ``models/{slug}.json``                 | a models-file entry (the key's variable name, never keys) |

A file that cannot become its entity raises ``EntityError`` with the code the sync records (``INVALID_JSON``,
``INVALID_YAML``, ``VALIDATION_FAILED``, ``EMPTY_DIRECTORY``, ``MISSING_INTEGRATION``, ``MISSING_TOOL``,
``FETCH_FAILED``) and a message that names the file (and line, where there is one).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.scenarios import Scenario
from harness.secrets import SECRET_SHAPES
from harness.vocab import FRAMEWORKS, RouteName, ScopeProfile
from yamlio import InputError, load_yaml, parse_model

# The seed's error codes and the HTTP status each stands for; INVALID_YAML is INVALID_JSON's counterpart for
# scenario files.
ERROR_STATUS = {
    "INVALID_JSON": 400,
    "INVALID_YAML": 400,
    "VALIDATION_FAILED": 400,
    "EMPTY_DIRECTORY": 400,
    "MISSING_INTEGRATION": 400,
    "MISSING_TOOL": 400,
    "FETCH_FAILED": 500,
}
SLUG = r"^[a-z0-9][a-z0-9._-]{0,99}$"
# Fields that would carry authentication: never synced, refused wherever they appear in a JSON entity.
AUTH_FIELDS = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "token",
        "access_token",
        "refresh_token",
        "secret",
        "client_secret",
        "password",
        "authorization",
        "auth",
        "headers",
        "credentials",
        "private_key",
    }
)


class EntityError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]


@dataclass(frozen=True)
class Kind:
    name: str
    directory: str
    suffix: str  # the file suffix, or "/" for a kind that is a directory (skills)

    def path(self, slug: str) -> str:
        """The entity's main file."""
        return f"{self.directory}/{slug}/SKILL.md" if self.suffix == "/" else f"{self.directory}/{slug}{self.suffix}"


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("scenario", "scenarios", ".yaml"),
        Kind("mcp-server", "mcp-servers", ".json"),
        Kind("mcp-client", "mcp-clients", ".json"),
        Kind("toolkit", "toolkits", ".json"),
        Kind("skill", "skills", "/"),
        Kind("model", "models", ".json"),
    )
}


def locate(path: str) -> tuple[Kind, str] | None:
    """The kind and slug a repository path belongs to; None for files outside the synced directories."""
    directory, _, rest = path.partition("/")
    for kind in KINDS.values():
        if directory != kind.directory or not rest:
            continue
        if kind.suffix == "/":
            slug = rest.split("/", 1)[0]
            return (kind, slug) if "/" in rest and re.match(SLUG, slug) else None
        if "/" not in rest and rest.endswith(kind.suffix):
            return kind, rest.removesuffix(kind.suffix)
    return None


@dataclass(frozen=True)
class Entity:
    kind: str
    slug: str
    files: Mapping[str, str]  # repository path -> text

    @property
    def digest(self) -> str:
        return files_digest(self.files)

    @property
    def path(self) -> str:
        return KINDS[self.kind].path(self.slug)


def files_digest(files: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(sorted(files.items())), ensure_ascii=False).encode()).hexdigest()


# JSON entities ---------------------------------------------------------------------------------------------------
class Synced(BaseModel):
    """What every JSON entity has; other fields are kept as they are."""

    model_config = ConfigDict(extra="allow")

    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


class McpServerSpec(Synced):
    route: RouteName | None = None  # the harness route it stands for, when it is one
    url: str
    transport: Literal["streamable-http", "sse"] = "streamable-http"
    scope_profiles: list[ScopeProfile] = []
    tools: list[str] = []

    _url = field_validator("url")(_http_url)


class McpClientSpec(Synced):
    framework: str
    settings: dict[str, Any] = {}

    @field_validator("framework")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in FRAMEWORKS:
            raise ValueError(f"{value!r} is not a framework variant; choose from {', '.join(FRAMEWORKS)}")
        return value


class ToolkitSpec(Synced):
    integration: str = Field(min_length=1)  # an MCP server's slug
    tools: list[str] = Field(min_length=1)


class ModelSpec(Synced):
    base_url: str
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    api: Literal["chat", "responses"] = "chat"

    _url = field_validator("base_url")(_http_url)


SPECS: dict[str, type[Synced]] = {
    "mcp-server": McpServerSpec,
    "mcp-client": McpClientSpec,
    "toolkit": ToolkitSpec,
    "model": ModelSpec,
}


def _auth_fields(data: Any, where: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{where}.{key}" if where else str(key)
            if str(key).lower().replace("-", "_") in AUTH_FIELDS:
                found.append(here)
            found += _auth_fields(value, here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _auth_fields(value, f"{where}[{i}]")
    return found


def _json_entity(kind: str, slug: str, path: str, text: str) -> Synced:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EntityError("INVALID_JSON", f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise EntityError("VALIDATION_FAILED", f"{path}: expected a JSON object, found {type(data).__name__}")
    missing = [name for name in ("name", "slug") if not data.get(name)]
    if missing:
        raise EntityError(
            "VALIDATION_FAILED", f"{path}: Required fields (name or slug) are missing: {', '.join(missing)}"
        )
    auth = _auth_fields(data)
    if auth:
        raise EntityError(
            "VALIDATION_FAILED",
            f"{path}: {', '.join(auth)}: authentication settings are never synced; keep them in the environment",
        )
    try:
        spec = SPECS[kind].model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise EntityError("VALIDATION_FAILED", f"{path}: {problems}") from None
    if spec.slug != slug:
        raise EntityError("VALIDATION_FAILED", f"{path}: slug {spec.slug!r} does not match the file name ({slug})")
    return spec


# scenarios and skills --------------------------------------------------------------------------------------------
def _scenario(slug: str, path: str, text: str) -> Scenario:
    """As ``harness scenarios check`` reads it: errors are ``file:line: field: message``."""
    try:
        scenario = parse_model(Scenario, text, path)
    except InputError as exc:
        code = "INVALID_YAML" if ": invalid YAML:" in str(exc) else "VALIDATION_FAILED"
        raise EntityError(code, str(exc)) from None
    if scenario.id != slug:
        _, lines = load_yaml(text, path)
        raise EntityError(
            "VALIDATION_FAILED",
            f"{path}:{lines.get(('id',), 1)}: id: {scenario.id!r} does not match the file name ({slug}.yaml)",
        )
    return scenario


@dataclass(frozen=True)
class SkillSpec:
    slug: str
    name: str
    description: str
    files: tuple[str, ...]


def _skill(slug: str, files: Mapping[str, str]) -> SkillSpec:
    directory = f"skills/{slug}/"
    main = directory + "SKILL.md"
    if main not in files:
        found = ", ".join(sorted(p.removeprefix(directory) for p in files)) or "nothing"
        raise EntityError("EMPTY_DIRECTORY", f"{directory}: the skill directory has no SKILL.md (it holds {found})")
    match = re.match(r"\A---\n(.*?)\n---\n", files[main], re.S)
    try:
        front = yaml.safe_load(match.group(1)) if match else None
    except yaml.YAMLError as exc:
        raise EntityError("VALIDATION_FAILED", f"{main}: the front matter is not valid YAML: {exc}") from None
    if not isinstance(front, dict) or not isinstance(front.get("name"), str) or not front["name"].strip():
        raise EntityError(
            "VALIDATION_FAILED",
            f"{main}: Required fields (name or slug) are missing: name (in the front matter between --- lines)",
        )
    description = front.get("description")
    return SkillSpec(slug, front["name"], description if isinstance(description, str) else "", tuple(sorted(files)))


# one entity ------------------------------------------------------------------------------------------------------
def _credentials_in(files: Mapping[str, str], known: Iterable[str]) -> None:
    """Credentials never enter the repository or the database: known secret values and credential shapes."""
    values = [v for v in known if v]
    for path, text in sorted(files.items()):
        for number, line in enumerate(text.splitlines(), start=1):
            if any(value in line for value in values):
                raise EntityError("VALIDATION_FAILED", f"{path}:{number}: holds a configured secret; never sync it")
            for what, shape in SECRET_SHAPES.items():
                if shape.search(line):
                    raise EntityError(
                        "VALIDATION_FAILED", f"{path}:{number}: looks like a credential ({what}); never sync it"
                    )


def parse(entity: Entity, secrets: Iterable[str] = ()) -> Any:
    """The entity's validated content (a pydantic model, a Scenario or a SkillSpec); EntityError otherwise."""
    kind = KINDS[entity.kind]
    if kind.suffix == "/":
        spec: Any = _skill(entity.slug, entity.files)
    else:
        text = entity.files.get(entity.path)
        if text is None:
            raise EntityError("VALIDATION_FAILED", f"{entity.path}: missing")
        if kind.name == "scenario":
            spec = _scenario(entity.slug, entity.path, text)
        else:
            spec = _json_entity(kind.name, entity.slug, entity.path, text)
    _credentials_in(entity.files, secrets)
    return spec


def check_toolkit(toolkit: ToolkitSpec, path: str, servers: Mapping[str, McpServerSpec]) -> None:
    """A toolkit's integration must be a synced MCP server, and each of its tools one of that server's tools."""
    server = servers.get(toolkit.integration)
    if server is None:
        known = ", ".join(sorted(servers)) or "none"
        raise EntityError(
            "MISSING_INTEGRATION",
            f"{path}: integration {toolkit.integration!r} is not an MCP server of this organisation (known: {known})",
        )
    unknown = [tool for tool in toolkit.tools if tool not in server.tools]
    if unknown:
        raise EntityError(
            "MISSING_TOOL",
            f"{path}: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not among the tools of "
            f"{server.slug} ({len(server.tools)} tools: mcp-servers/{server.slug}.json)",
        )


def dumps(data: Mapping[str, Any]) -> str:
    """How JSON entities are written: stable, readable, one trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
