"""Entities: where each kind lives, and each error code with the message that names the file at fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.sync.entities import (
    Entity,
    EntityError,
    McpServerSpec,
    ToolkitSpec,
    check_toolkit,
    dumps,
    locate,
    parse,
)
from harness.sync.library import builtin_stacks, model_entities, read_library

ROOT = Path(__file__).resolve().parents[3]
SERVER = {"slug": "rovo", "name": "Rovo", "url": "https://mcp.atlassian.com/v1/mcp", "tools": ["bitbucketRepoContent"]}


def json_entity(kind: str, directory: str, data: object, slug: str = "rovo") -> Entity:
    text = data if isinstance(data, str) else dumps(data)  # type: ignore[arg-type]
    return Entity(kind, slug, {f"{directory}/{slug}.json": text})


def error_of(entity: Entity, secrets: tuple[str, ...] = ()) -> EntityError:
    with pytest.raises(EntityError) as caught:
        parse(entity, secrets)
    return caught.value


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("scenarios/core-create-branch.yaml", ("scenario", "core-create-branch")),
        ("mcp-servers/rovo.json", ("mcp-server", "rovo")),
        ("mcp-clients/autogen.json", ("mcp-client", "autogen")),
        ("toolkits/bitbucket-rovo.json", ("toolkit", "bitbucket-rovo")),
        ("skills/triage/SKILL.md", ("skill", "triage")),
        ("skills/triage/scripts/run.sh", ("skill", "triage")),
        ("models/local-qwen.json", ("model", "local-qwen")),
        ("README.md", None),
        ("scenarios/notes.txt", None),
        ("toolkits/nested/x.json", None),
        ("skills/SKILL.md", None),
    ],
)
def test_each_directory_holds_one_kind(path: str, found: tuple[str, str] | None) -> None:
    located = locate(path)
    assert (None if located is None else (located[0].name, located[1])) == found


def test_a_valid_server_toolkit_client_skill_and_model_parse() -> None:
    assert isinstance(parse(json_entity("mcp-server", "mcp-servers", SERVER)), McpServerSpec)
    toolkit = parse(
        json_entity(
            "toolkit",
            "toolkits",
            {"slug": "rovo-read", "name": "Read", "integration": "rovo", "tools": ["bitbucketRepoContent"]},
            "rovo-read",
        )
    )
    check_toolkit(toolkit, "toolkits/rovo-read.json", {"rovo": McpServerSpec.model_validate(SERVER)})
    skill = Entity("skill", "triage", {"skills/triage/SKILL.md": "---\nname: triage\ndescription: d\n---\n\nBody\n"})
    assert parse(skill).name == "triage"


def test_invalid_json_names_the_file_line_and_column() -> None:
    error = error_of(json_entity("mcp-server", "mcp-servers", '{\n  "slug": "rovo"\n  "name": "x"\n}\n'))
    assert (error.code, error.status) == ("INVALID_JSON", 400)
    assert error.message == "mcp-servers/rovo.json:3:3: Expecting ',' delimiter"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"slug": "rovo", "url": "https://x"},
            "mcp-servers/rovo.json: Required fields (name or slug) are missing: name",
        ),
        (
            {"name": "Rovo", "url": "https://x"},
            "mcp-servers/rovo.json: Required fields (name or slug) are missing: slug",
        ),
        ({**SERVER, "slug": "other"}, "mcp-servers/rovo.json: slug 'other' does not match the file name (rovo)"),
        ({**SERVER, "url": "ftp://x"}, "mcp-servers/rovo.json: url: Value error, 'ftp://x' is not an http(s) URL"),
        ([1, 2], "mcp-servers/rovo.json: expected a JSON object, found list"),
        (
            {**SERVER, "headers": {"Authorization": "Basic abc"}},
            "mcp-servers/rovo.json: headers, headers.Authorization: authentication settings are never synced",
        ),
    ],
)
def test_validation_failed_says_which_field(data: object, message: str) -> None:
    error = error_of(json_entity("mcp-server", "mcp-servers", data))
    assert error.code == "VALIDATION_FAILED" and error.message.startswith(message), error.message


def test_a_client_must_name_a_framework_variant() -> None:
    data = {"slug": "crew", "name": "Crew", "framework": "crewai"}
    error = error_of(json_entity("mcp-client", "mcp-clients", data, "crew"))
    assert error.code == "VALIDATION_FAILED" and "'crewai' is not a framework variant" in error.message


def test_credentials_never_pass_known_values_or_their_shapes() -> None:
    data = {"slug": "m", "name": "m", "base_url": "https://api.example.com/v1", "notes": "key sk-proj-" + "a" * 30}
    shaped = error_of(json_entity("model", "models", data, "m"))
    assert (
        shaped.code == "VALIDATION_FAILED" and "models/m.json:5: looks like a credential (OpenAI key)" in shaped.message
    )
    known = {"slug": "m", "name": "m", "base_url": "https://api.example.com/v1", "notes": "uses hunter2-secret"}
    error = error_of(json_entity("model", "models", known, "m"), secrets=("hunter2-secret",))
    assert "models/m.json:5: holds a configured secret" in error.message


def test_a_skill_without_skill_md_is_an_empty_directory() -> None:
    error = error_of(Entity("skill", "triage", {"skills/triage/scripts/run.sh": "echo\n"}))
    assert (error.code, error.message) == (
        "EMPTY_DIRECTORY",
        "skills/triage/: the skill directory has no SKILL.md (it holds scripts/run.sh)",
    )
    nameless = error_of(Entity("skill", "triage", {"skills/triage/SKILL.md": "# Triage\n"}))
    assert (
        nameless.code == "VALIDATION_FAILED" and "Required fields (name or slug) are missing: name" in nameless.message
    )


def test_toolkits_are_checked_against_the_servers_tools() -> None:
    servers = {"rovo": McpServerSpec.model_validate(SERVER)}
    toolkit = ToolkitSpec(slug="t", name="t", integration="jira", tools=["bitbucketRepoContent"])
    with pytest.raises(EntityError) as missing:
        check_toolkit(toolkit, "toolkits/t.json", servers)
    assert missing.value.code == "MISSING_INTEGRATION"
    assert (
        missing.value.message
        == "toolkits/t.json: integration 'jira' is not an MCP server of this organisation (known: rovo)"
    )
    toolkit = ToolkitSpec(slug="t", name="t", integration="rovo", tools=["bitbucketRepoContent", "bitbucketNuke"])
    with pytest.raises(EntityError) as tool:
        check_toolkit(toolkit, "toolkits/t.json", servers)
    assert tool.value.code == "MISSING_TOOL"
    assert tool.value.message.startswith("toolkits/t.json: bitbucketNuke is not among the tools of rovo (1 tools")


def test_scenario_errors_are_those_of_scenarios_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "scenarios/core-create-branch.yaml").read_text().replace("max_calls: 8", "max_calls: many")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios/core-create-branch.yaml").write_text(text)
    checked = CliRunner().invoke(app, ["scenarios", "check", "scenarios/core-create-branch.yaml"])
    assert checked.exit_code == 2
    error = error_of(Entity("scenario", "core-create-branch", {"scenarios/core-create-branch.yaml": text}))
    assert error.code == "VALIDATION_FAILED" and error.message == checked.output.strip()
    assert error.message.startswith("scenarios/core-create-branch.yaml:22: expect.tools.max_calls:")
    syntax = error_of(Entity("scenario", "x", {"scenarios/x.yaml": "id: x\nturns: [\n"}))
    assert syntax.code == "INVALID_YAML" and syntax.message.startswith("scenarios/x.yaml:3: invalid YAML")
    original = (ROOT / "scenarios/core-create-branch.yaml").read_text()
    renamed = error_of(Entity("scenario", "other", {"scenarios/other.yaml": original}))
    assert (
        renamed.message == "scenarios/other.yaml:1: id: 'core-create-branch' does not match the file name (other.yaml)"
    )


def test_the_builtin_stacks_are_valid_and_consistent() -> None:
    stacks = builtin_stacks()
    servers = {e.slug: parse(e) for e in stacks if e.kind == "mcp-server"}
    assert set(servers) == {"composio", "rovo"}
    for toolkit in (e for e in stacks if e.kind == "toolkit"):
        check_toolkit(parse(toolkit), toolkit.path, servers)
    clients = {e.slug for e in stacks if e.kind == "mcp-client"}
    assert clients == {"autogen", "openai-agents-hosted", "openai-agents-client", "pydantic-ai"}
    assert all("auth" not in json.loads(next(iter(e.files.values()))) for e in stacks if e.kind != "skill")


def test_the_models_file_is_read_without_keys(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n  - {name: Qwen2.5:0.5B, base_url: 'http://127.0.0.1:8765/v1', api_key_env: LOCAL_KEY}\n"
        "  - {name: leaky, base_url: 'https://api.example.com/v1', api_key: not-a-variable-name}\n"
    )
    library = read_library(None, models, builtin=False)
    assert [e.slug for e in library.entities] == ["qwen2.5-0.5b"]
    assert json.loads(library.entities[0].files["models/qwen2.5-0.5b.json"])["api_key_env"] == "LOCAL_KEY"
    assert library.problems == [
        "VALIDATION_FAILED: models/leaky.json: api_key: authentication settings are never synced; keep them in the "
        "environment"
    ]
    (tmp_path / "bad.yaml").write_text("models: 3\n")
    assert model_entities(tmp_path / "bad.yaml") == (
        [],
        [f"{tmp_path / 'bad.yaml'}: expected `models:` with a list of models"],
    )
