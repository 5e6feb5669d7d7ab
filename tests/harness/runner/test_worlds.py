"""World configuration: the live world from the environment and a .env file, and `harness doctor`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.worlds import LIVE_VARIABLES, ConfigError, live_world, load_env, sandbox_world

LIVE = {name: f"value-of-{name.lower()}" for name in LIVE_VARIABLES}


def test_live_world_reads_the_guides_variables_and_optional_profiles() -> None:
    world = live_world(LIVE | {"ATLASSIAN_API_TOKEN_READONLY": "ro-token", "USER_ID_READONLY": "ro-user"})
    assert (
        world.route("rovo").url == "https://mcp.atlassian.com/v1/mcp"
        and world.route("rovo").tokens["read-only"] == "ro-token"
    )
    assert world.route("composio").user_ids == {"full": "value-of-user_id", "read-only": "ro-user"}
    assert world.oracle.workspace == "value-of-bitbucket_workspace"
    assert "value-of-bitbucket_client_secret" in world.secrets()


def test_optional_no_pr_write_user_and_unlinked_workspace() -> None:
    plain = live_world(LIVE)
    assert "no-pr-write" not in plain.route("composio").user_ids and plain.oracle.unlinked_workspace is None
    assert plain.admin is None  # the live world has no admin API: no faults there
    world = live_world(LIVE | {"USER_ID_NO_PR_WRITE": "nopr-user", "BITBUCKET_WORKSPACE_UNLINKED": "solo-live"})
    assert world.route("composio").user_ids["no-pr-write"] == "nopr-user"
    assert world.oracle.unlinked_workspace == "solo-live"


def test_the_sandbox_world_has_every_profile_the_unlinked_workspace_and_the_admin_api() -> None:
    info = {
        "urls": {
            "bitbucket_api": "http://b/2.0",
            "bitbucket_oauth_token": "http://b/t",
            "composio_api": "http://c",
            "rovo_mcp": "http://r/v1/mcp",
            "model_api": "http://m/v1",
            "admin": "http://a",
        },
        "admin_key": "admin-key-123",
        "credentials": {
            "workspaces": [{"slug": "acme", "linked_to_org": True}, {"slug": "solo", "linked_to_org": False}],
            "oauth_consumers": [
                {"key": "read-only-key", "secret": "ro", "workspace": "acme", "scopes": ["repository"]},
                {
                    "key": "sandbox-oauth-oracle-key",
                    "secret": "s3cret-oracle",
                    "workspace": "acme",
                    "scopes": ["repository:admin", "repository:delete"],
                },
            ],
            "api_tokens": [{"user": "alice", "email": "a@x", "scoped": True, "label": "full", "token": "t-full"}],
            "composio": {
                "api_keys": ["ck"],
                "connected_accounts": [
                    {"user_id": u, "label": p}
                    for p, u in (
                        ("full", "user-1"),
                        ("read-only", "user-ro"),
                        ("no-pr-write", "user-np"),
                        ("", "user-bob"),
                    )
                ],
            },
        },
    }
    world = sandbox_world(info)
    assert set(world.route("composio").user_ids) == {"full", "read-only", "no-pr-write"}
    assert (world.oracle.workspace, world.oracle.unlinked_workspace) == ("acme", "solo")
    assert world.oracle.client_id == "sandbox-oauth-oracle-key"  # the consumer that may create and delete
    assert world.admin is not None and world.admin.url == "http://a" and "admin-key-123" in world.secrets()


def test_missing_variables_are_all_named_with_their_purpose() -> None:
    partial = {k: v for k, v in LIVE.items() if k not in ("COMPOSIO_API_KEY", "BITBUCKET_CLIENT_SECRET")}
    with pytest.raises(ConfigError) as error:
        live_world(partial)
    assert "COMPOSIO_API_KEY: the Composio project API key" in str(error.value)
    assert "BITBUCKET_CLIENT_SECRET" in str(error.value) and "OPENAI_API_KEY" not in str(error.value)


def test_env_file_fills_in_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("USER_ID=from-file\nCOMPOSIO_API_KEY=file-key\n")
    monkeypatch.setenv("USER_ID", "from-environment")
    values = load_env(env_file)
    assert (values["USER_ID"], values["COMPOSIO_API_KEY"]) == ("from-environment", "file-key")
    with pytest.raises(ConfigError, match=r"no such \.env file"):
        load_env(tmp_path / "missing.env")


def test_doctor_says_what_is_missing_then_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LIVE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    missing = CliRunner().invoke(app, ["doctor"])
    assert missing.exit_code == 1 and "COMPOSIO_API_KEY: the Composio project API key" in missing.output
    no_default = CliRunner().invoke(app, ["doctor", "-m", "gpt-4o"], env={k: "x" for k in LIVE_VARIABLES})
    assert (
        no_default.exit_code == 1
        and "goes to the default provider (OPENAI_BASE_URL), which needs OPENAI_API_KEY" in no_default.output
    )
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in LIVE.items()) + "OPENAI_API_KEY=value-of-openai\n")
    ready = CliRunner().invoke(app, ["doctor", "--env-file", str(env_file)])
    assert ready.exit_code == 0 and "live world ready" in ready.output
    assert "value-of-" not in ready.output.replace("value-of-bitbucket_workspace", "")  # no secret printed
