"""What ``harness sync import`` reads from the project: the scenario library, the models file, local skills, and
the stacks the harness itself defines (its MCP servers, framework clients, toolkits and agent instructions).

Each becomes an entity in the repository's layout; nothing here holds or reads a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.frameworks.base import INSTRUCTIONS, Conversation
from harness.routes import ROUTES
from harness.routes.composio import LIVE_URL as COMPOSIO_URL
from harness.routes.composio import MULTI_EXECUTE
from harness.routes.composio import PROFILE_VARIABLES as COMPOSIO_PROFILES
from harness.routes.rovo import LIVE_URL as ROVO_URL
from harness.routes.rovo import PROFILE_VARIABLES as ROVO_PROFILES
from harness.sync.entities import Entity, EntityError, dumps, parse
from harness.tool_lists import load as load_tool_list

# Intents that change or read without destroying: what the built-in toolkits allow.
SAFE_INTENTS = ("create_branch", "open_pull_request", "comment_issue", "comment_on_pull_request", "read_file")
CLIENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "autogen": ("AutoGen", {"agent": "AssistantAgent", "mcp": "McpWorkbench", "model_client_stream": True}),
    "openai-agents-hosted": ("OpenAI Agents SDK (hosted MCP)", {"mcp": "HostedMCPTool", "require_approval": "never"}),
    "openai-agents-client": ("OpenAI Agents SDK (client MCP)", {"mcp": "MCPServerStreamableHttp"}),
    "pydantic-ai": ("Pydantic AI", {"mcp": "MCPServerStreamableHTTP"}),
}
SKILL = "bitbucket-agent"


@dataclass
class Library:
    entities: list[Entity] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, entity: Entity, secrets: Iterable[str] = ()) -> None:
        """Keep the entity if it is valid; otherwise say why, naming its file."""
        try:
            parse(entity, secrets)
        except EntityError as exc:
            self.problems.append(f"{exc.code}: {exc.message}")
            return
        self.entities.append(entity)


def _json(kind: str, directory: str, data: dict[str, Any]) -> Entity:
    return Entity(kind, data["slug"], {f"{directory}/{data['slug']}.json": dumps(data)})


def _route_tools(route: str) -> list[str]:
    tools = {name for options in ROUTES[route].intent_tools.values() for name, _ in options}  # type: ignore[index]
    return sorted(tools | ({MULTI_EXECUTE} if route == "composio" else set()))


def builtin_stacks(tool_lists: Mapping[str, Path] | None = None) -> list[Entity]:
    """The harness's own MCP servers, clients, toolkits and instructions. A server's tools are those its intents
    use, or the names in a ``harness tools list`` snapshot given for it (``tool_lists``: server slug -> file)."""
    servers = {
        "composio": ("Composio Tool Router", COMPOSIO_URL, sorted(COMPOSIO_PROFILES)),
        "rovo": ("Atlassian Rovo MCP", ROVO_URL, sorted(ROVO_PROFILES)),
    }
    found: list[Entity] = []
    for slug, (name, url, profiles) in servers.items():
        listed = (tool_lists or {}).get(slug)
        tools = sorted(t["name"] for t in load_tool_list(listed)) if listed else _route_tools(slug)
        server = {"slug": slug, "name": name, "route": slug, "url": url, "transport": "streamable-http"}
        found.append(_json("mcp-server", "mcp-servers", server | {"scope_profiles": profiles, "tools": tools}))
        allowed = sorted(
            {tool for intent in SAFE_INTENTS for tool, _ in ROUTES[slug].intent_tools.get(intent, ())}  # type: ignore[index]
        )
        toolkit = {"slug": f"bitbucket-{slug}", "name": f"Bitbucket through {name}", "integration": slug}
        found.append(_json("toolkit", "toolkits", toolkit | {"tools": allowed}))
    defaults = {"max_tool_iterations": Conversation([], "").max_tool_iterations, "timeout_s": 30}
    for framework, (name, settings) in CLIENTS.items():
        client = {"slug": framework, "name": name, "framework": framework, "settings": defaults | settings}
        found.append(_json("mcp-client", "mcp-clients", client))
    skill = (
        f"---\nname: {SKILL}\ndescription: How the harness's agents work on Bitbucket through MCP tools.\n---\n\n"
        f"# Working on Bitbucket\n\n{INSTRUCTIONS}\n"
    )
    found.append(Entity("skill", SKILL, {f"skills/{SKILL}/SKILL.md": skill}))
    return found


def scenario_entities(directory: Path) -> list[Entity]:
    """Each ``*.yaml`` of the directory, as written (its text is what is synced)."""
    return [
        Entity("scenario", f.stem, {f"scenarios/{f.stem}.yaml": f.read_text(encoding="utf-8")})
        for f in sorted(directory.glob("*.yaml"))
    ]


def model_entities(models_file: Path) -> tuple[list[Entity], list[str]]:
    """The models file's entries (``models: [{name, base_url, api_key_env, ...}]``), one entity each."""
    try:
        data = yaml.safe_load(models_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return [], [f"{models_file}: cannot read the models file: {exc}"]
    entries = data.get("models") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return [], [f"{models_file}: expected `models:` with a list of models"]
    found, problems = [], []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(f"{models_file}: models[{i}]: each model needs a name")
            continue
        slug = re.sub(r"[^a-z0-9._-]+", "-", entry["name"].lower()).strip("-.") or f"model-{i}"
        found.append(_json("model", "models", {"slug": slug, **entry}))
    return found, problems


def skill_entities(directory: Path) -> list[Entity]:
    """Each subdirectory is a skill: SKILL.md with its scripts, references and assets (text files)."""
    found = []
    for skill in sorted(p for p in directory.iterdir() if p.is_dir()):
        files = {
            f"skills/{skill.name}/{f.relative_to(skill).as_posix()}": f.read_text(encoding="utf-8")
            for f in sorted(skill.rglob("*"))
            if f.is_file()
        }
        found.append(Entity("skill", skill.name, files))
    return found


def read_library(
    scenarios: Path | None,
    models: Path | None = None,
    skills: Path | None = None,
    builtin: bool = True,
    tool_lists: Mapping[str, Path] | None = None,
    secrets: Iterable[str] = (),
) -> Library:
    library = Library()
    secrets = list(secrets)
    candidates = builtin_stacks(tool_lists) if builtin else []
    if scenarios is not None:
        candidates += scenario_entities(scenarios)
    if models is not None:
        entries, problems = model_entities(models)
        candidates += entries
        library.problems += problems
    if skills is not None:
        candidates += skill_entities(skills)
    for entity in candidates:
        library.add(entity, secrets)
    return library
