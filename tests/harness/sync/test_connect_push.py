"""`harness sync connect` and `push` against the embedded Bitbucket: each way a connection fails says exactly what
is wrong (in the integration guide's words), and a branch restriction that blocks the push is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.sync.bitbucket import CONNECTION_FAILED
from harness.sync.config import SANDBOX_WEBHOOK_SECRET, sync_config
from harness.sync.store import SyncStore
from sandbox import Sandbox
from sandbox.fixtures import DEFAULT_FIXTURE
from tests.harness.sync.helpers import REPO, cli, create_repository, oracle, webhook_url, write_env


def world_with_extras(sandbox: Sandbox) -> None:
    """The default world plus an empty repository and a consumer that may write but not manage webhooks."""
    fixture = yaml.safe_load(DEFAULT_FIXTURE.read_text())
    acme = next(w for w in fixture["workspaces"] if w["slug"] == "acme")
    acme["repositories"].append({"slug": "empty-suites", "branches": {}})
    fixture["credentials"]["oauth_consumers"].append(
        {
            "key": "sandbox-oauth-nohooks-key",
            "secret": "sandbox-oauth-nohooks-secret",
            "name": "no webhooks",
            "owner": "alice",
            "workspace": "acme",
            "scopes": ["account", "repository:write"],
        }
    )
    sandbox.reset(yaml.safe_dump(fixture))


@pytest.fixture
def setup(sandbox: Sandbox, tmp_path: Path) -> tuple[Sandbox, dict[str, str], Path]:
    world_with_extras(sandbox)
    env = write_env(sandbox, tmp_path / "sandbox.env")
    create_repository(sandbox, env, "eval-suites")
    return sandbox, env, tmp_path


CASES = {
    "wrong secret": (
        {"BITBUCKET_CLIENT_SECRET": "not-the-secret"},
        [],
        f"{CONNECTION_FAILED} (Bitbucket answered: invalid_client: Invalid OAuth client credentials)",
    ),
    "wrong workspace": (
        {"BITBUCKET_WORKSPACE": "Acme"},
        ["--repo", "Acme/eval-suites"],
        f"{CONNECTION_FAILED} (no workspace 'Acme')",
    ),
    "repository from another workspace": (
        {},
        ["--repo", "solo/notes"],
        "--repo solo/notes: its workspace 'solo' is not BITBUCKET_WORKSPACE ('acme')",
    ),
    "no such repository": ({}, ["--repo", "acme/nope"], "Repository acme/nope not found, or the OAuth consumer"),
    "empty repository": ({}, ["--repo", "acme/empty-suites"], "Repository is empty: acme/empty-suites has no commits"),
    "no such branch": (
        {},
        ["--branch", "release"],
        "Branch not found: acme/eval-suites has no branch 'release' (it has main)",
    ),
    "read-only consumer": (
        {
            "BITBUCKET_CLIENT_ID": "sandbox-oauth-readonly-key",
            "BITBUCKET_CLIENT_SECRET": "sandbox-oauth-readonly-secret",
        },
        [],
        "Permission denied: the OAuth consumer needs Repositories: Read and Write (scope repository:write); it was "
        "granted account, issue, pullrequest, repository.",
    ),
    "no webhook permission": (
        {"BITBUCKET_CLIENT_ID": "sandbox-oauth-nohooks-key", "BITBUCKET_CLIENT_SECRET": "sandbox-oauth-nohooks-secret"},
        [],
        "Permission denied: registering the push webhook needs the consumer's Webhooks permission (scope webhook)",
    ),
    "webhook URL Bitbucket cannot reach": (
        {},
        ["--webhook-url", "https://sync.example.com/api/bitbucket/webhook"],
        "Bitbucket refused the webhook URL https://sync.example.com/api/bitbucket/webhook: Bad request",
    ),
    "unreachable Bitbucket": (
        {"BITBUCKET_OAUTH_TOKEN_URL": "http://127.0.0.1:9/site/oauth2/access_token"},
        [],
        "Connection test failed: cannot reach http://127.0.0.1:9/site/oauth2/access_token (ConnectError",
    ),
}


def test_each_failed_connection_says_what_is_wrong(setup: tuple[Sandbox, dict[str, str], Path]) -> None:
    _, env, tmp = setup
    wrong = {}
    for case, (changes, args, message) in CASES.items():  # one world for all: a failed connect changes nothing
        env_file = tmp / "case.env"
        env_file.write_text("\n".join(f"{k}={v}" for k, v in (env | changes).items()) + "\n")
        args = args if "--repo" in args else ["--repo", REPO, *args]
        result = cli("connect", *args, env_file=env_file, db=tmp / "sync.db")
        if result.exit_code != 1 or message not in result.output:
            wrong[case] = f"exit {result.exit_code}: {result.output}"
        assert (env | changes)["BITBUCKET_CLIENT_SECRET"] not in result.output
    assert wrong == {}
    assert SyncStore(tmp / "sync.db").connection() is None  # nothing was saved


def test_missing_variables_are_each_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BITBUCKET_WORKSPACE", "BITBUCKET_CLIENT_ID", "BITBUCKET_CLIENT_SECRET", "BITBUCKET_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("BITBUCKET_WORKSPACE=acme\nBITBUCKET_CLIENT_ID=key\n")
    result = cli("connect", "--repo", REPO, env_file=tmp_path / ".env", db=tmp_path / "sync.db")
    assert result.exit_code == 2
    assert "BITBUCKET_CLIENT_SECRET: the OAuth consumer's Secret" in result.output
    assert "BITBUCKET_WEBHOOK_SECRET: the secret the push webhook signs deliveries with" in result.output
    assert "BITBUCKET_WORKSPACE:" not in result.output


def test_a_branch_restriction_blocking_the_push_is_reported(setup: tuple[Sandbox, dict[str, str], Path]) -> None:
    sandbox, env, tmp = setup
    env_file, db = tmp / "sandbox.env", tmp / "sync.db"
    (tmp / "scenarios").mkdir()
    assert cli("connect", "--repo", REPO, "--no-webhook", env_file=env_file, db=db).exit_code == 0
    imported = cli("import", "--scenarios", str(tmp / "scenarios"), env_file=env_file, db=db)
    assert "imported 9 entities: 9 changed" in imported.output
    with oracle(sandbox, env) as c:
        rule = c.post(f"repositories/{REPO}/branch-restrictions", json={"kind": "push", "pattern": "main", "users": []})
        assert rule.status_code == 201
        blocked = cli("push", "--repo", REPO, env_file=env_file, db=db)
        assert blocked.exit_code == 1
        assert (
            "Bitbucket refused the commit of mcp-servers/composio.json to main: 403 You do not have permission to push "
            'to the branch "main": a branch restriction applies.. 0 of 9 changed entities were pushed before it and '
            "nothing after. A branch restriction may block the OAuth consumer"
        ) in blocked.output.replace("\n", " ")
        assert "pushed" not in blocked.output.split("were pushed")[0]  # never a success line
        status = cli("status", env_file=env_file, db=db)
        assert "9 entities: 0 synced, 9 pending push, 0 with errors" in status.output
        assert len(c.get(f"repositories/{REPO}/commits/main").json()["values"]) == 1  # only the first commit
        assert c.delete(f"repositories/{REPO}/branch-restrictions/{rule.json()['id']}").status_code == 204
    pushed = cli("push", "--repo", REPO, env_file=env_file, db=db)
    assert pushed.exit_code == 0 and "pushed 9 entities" in pushed.output


def test_push_needs_a_connection_and_entities(setup: tuple[Sandbox, dict[str, str], Path]) -> None:
    _, _, tmp = setup
    env_file, db = tmp / "sandbox.env", tmp / "sync.db"
    unconnected = cli("push", "--repo", REPO, env_file=env_file, db=db)
    assert (
        unconnected.exit_code == 1
        and "not connected: run `harness sync connect --repo acme/eval-suites` first" in unconnected.output
    )
    assert cli("connect", "--repo", REPO, "--no-webhook", env_file=env_file, db=db).exit_code == 0
    empty = cli("push", "--repo", REPO, env_file=env_file, db=db)
    assert empty.exit_code == 1 and "the database holds no entities: run `harness sync import` first" in empty.output
    other = cli("push", "--repo", "acme/widgets", env_file=env_file, db=db)
    assert "this database syncs acme/eval-suites, not acme/widgets" in other.output


def test_the_sandbox_env_drives_the_sync_and_connecting_again_keeps_one_webhook(
    setup: tuple[Sandbox, dict[str, str], Path],
) -> None:
    sandbox, env, tmp = setup
    config = sync_config(env)  # `harness sandbox up --env` carries every variable the sync reads
    assert (config.workspace, config.webhook_secret) == ("acme", SANDBOX_WEBHOOK_SECRET)
    assert config.api_url == sandbox.urls["bitbucket_api"]
    env_file, db = tmp / "sandbox.env", tmp / "sync.db"
    for _ in range(2):
        connected = cli("connect", "--repo", REPO, "--webhook-url", webhook_url(8787), env_file=env_file, db=db)
        assert connected.exit_code == 0, connected.output
    with oracle(sandbox, env) as c:
        (hook,) = c.get(f"repositories/{REPO}/hooks").json()["values"]
    assert hook["url"] == webhook_url(8787) and hook["events"] == ["repo:push"] and hook["secret_set"] is True
    saved = SyncStore(db).connection()
    assert saved is not None and saved.webhook_uuid == hook["uuid"] and saved.branch == "main"
