"""Edits made in Bitbucket that cannot become entities: each file's error code and message in `sync status`
(through the real receiver), the last valid content kept, and a later good sync clearing every error."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.sync.store import SyncStore
from sandbox import Sandbox
from tests.harness.sync.helpers import (
    REPO,
    ROOT,
    R,
    cli,
    create_repository,
    deliveries,
    free_port,
    oracle,
    serving,
    webhook_url,
    write_env,
)
from tests.sandbox.bitbucket.helpers import api

MODELS = "models:\n  - name: local-qwen\n    base_url: http://127.0.0.1:8765/v1\n"


def test_each_broken_file_records_its_code_and_a_good_sync_clears_it(sandbox: Sandbox, tmp_path: Path) -> None:
    env_file, db = tmp_path / ".env", tmp_path / "sync.db"
    env = write_env(sandbox, env_file)
    create_repository(sandbox, env, "eval-suites")
    (tmp_path / "scenarios").mkdir()
    for name in ("core-create-branch", "core-fetch-readme"):
        (tmp_path / "scenarios" / f"{name}.yaml").write_text((ROOT / "scenarios" / f"{name}.yaml").read_text())
    (tmp_path / "models.yaml").write_text(MODELS)
    port = free_port()
    assert cli("connect", "--repo", REPO, "--webhook-url", webhook_url(port), env_file=env_file, db=db).exit_code == 0
    with serving(REPO, port, env_file, db, tmp_path / "serve.log", "--no-runs"), oracle(sandbox, env) as c:
        args = ["--scenarios", str(tmp_path / "scenarios"), "--models", str(tmp_path / "models.yaml")]
        assert cli("import", *args, env_file=env_file, db=db).exit_code == 0
        assert cli("push", "--repo", REPO, env_file=env_file, db=db).exit_code == 0
        assert {d["status"] for d in deliveries(sandbox, REPO)} == {200}

        def read(path: str) -> str:
            return c.get(f"{R}src/main/{path}").text

        originals = {
            p: read(p)
            for p in (
                "toolkits/bitbucket-rovo.json",
                "toolkits/bitbucket-composio.json",
                "mcp-clients/autogen.json",
                "mcp-servers/composio.json",
                "scenarios/core-create-branch.yaml",
                "scenarios/core-fetch-readme.yaml",
                "models/local-qwen.json",
                "skills/bitbucket-agent/SKILL.md",
            )
        }
        rovo_kit = json.loads(originals["toolkits/bitbucket-rovo.json"])
        composio_kit = json.loads(originals["toolkits/bitbucket-composio.json"])
        client = json.loads(originals["mcp-clients/autogen.json"])
        del client["name"]
        server = json.loads(originals["mcp-servers/composio.json"])
        broken = {
            "toolkits/bitbucket-rovo.json": json.dumps(rovo_kit | {"integration": "jira"}),
            "toolkits/bitbucket-composio.json": json.dumps(
                composio_kit | {"tools": [*composio_kit["tools"], "BITBUCKET_NUKE_EVERYTHING"]}
            ),
            "mcp-clients/autogen.json": json.dumps(client),
            "mcp-servers/composio.json": json.dumps(server | {"name": "Composio (renamed)"}),
            "scenarios/core-create-branch.yaml": originals["scenarios/core-create-branch.yaml"].replace(
                "max_calls: 8", "max_calls: many"
            ),
            "scenarios/core-fetch-readme.yaml": "id: core-fetch-readme\nturns: [\n",
            "models/local-qwen.json": originals["models/local-qwen.json"].replace('"name"', '"name" "'),
            "skills/bitbucket-agent/scripts/check.sh": "#!/bin/sh\necho ok\n",
        }
        # The composio server's file cannot be fetched once (Bitbucket answers 500 to that one read).
        fault = {"server": "bitbucket", "method": "GET", "path": r"/src/[0-9a-f]{40}/mcp-servers/composio\.json$"}
        assert sandbox.admin.post("/faults", json=fault).status_code == 201
        with api(sandbox) as alice:
            form = {f"/{p}": t for p, t in broken.items()} | {"files": "skills/bitbucket-agent/SKILL.md"}
            assert alice.post(R + "src", data=form | {"message": "Edit everything at once"}).status_code == 201
            head = alice.get(R + "refs/branches/main").json()["target"]["hash"]
        assert deliveries(sandbox, REPO)[-1]["status"] == 200

        status = cli("status", env_file=env_file, db=db)
        assert status.exit_code == 1
        errors = {
            m.group(1): (m.group(2), m.group(3))
            for m in re.finditer(r"^\S+\s+(\S+)\s+\w+\s+⚠ ERROR (\w+) \(\d+\): (.*)$", status.output, re.M)
        }
        assert errors == {
            "bitbucket-rovo": (
                "MISSING_INTEGRATION",
                "toolkits/bitbucket-rovo.json: integration 'jira' is not an MCP server of this organisation "
                "(known: composio, rovo)",
            ),
            "bitbucket-composio": (
                "MISSING_TOOL",
                "toolkits/bitbucket-composio.json: BITBUCKET_NUKE_EVERYTHING is not among the tools of composio "
                "(7 tools: mcp-servers/composio.json)",
            ),
            "autogen": (
                "VALIDATION_FAILED",
                "mcp-clients/autogen.json: Required fields (name or slug) are missing: name",
            ),
            "composio": (
                "FETCH_FAILED",
                f"mcp-servers/composio.json at {head[:12]}: GET /repositories/acme/eval-suites/src/{head}/"
                "mcp-servers/composio.json: 500 Internal Server Error. Check the OAuth consumer's "
                "permissions and repository access.",
            ),
            "core-create-branch": (
                "VALIDATION_FAILED",
                "scenarios/core-create-branch.yaml:22: expect.tools.max_calls: Input should be a valid integer, "
                "unable to parse string as an integer",
            ),
            "core-fetch-readme": (
                "INVALID_YAML",
                "scenarios/core-fetch-readme.yaml:3: invalid YAML: expected the node content, but found '<stream end>'",
            ),
            "local-qwen": ("INVALID_JSON", "models/local-qwen.json:3:10: Expecting ':' delimiter"),
            "bitbucket-agent": (
                "EMPTY_DIRECTORY",
                "skills/bitbucket-agent/: the skill directory has no SKILL.md (it holds scripts/check.sh)",
            ),
        }
        store = SyncStore(db)
        kept = store.get("toolkit", "bitbucket-rovo")
        assert kept is not None and kept.files == {
            "toolkits/bitbucket-rovo.json": originals["toolkits/bitbucket-rovo.json"]
        }
        assert kept.last_commit == head

        # a later good sync of the same files clears every error
        with api(sandbox) as alice:
            form = {f"/{p}": t for p, t in originals.items()} | {"files": "skills/bitbucket-agent/scripts/check.sh"}
            assert alice.post(R + "src", data=form | {"message": "Undo"}).status_code == 201
        assert deliveries(sandbox, REPO)[-1]["status"] == 200
        healed = cli("status", env_file=env_file, db=db)
        assert healed.exit_code == 0 and "12 entities: 12 synced, 0 pending push, 0 with errors" in healed.output
