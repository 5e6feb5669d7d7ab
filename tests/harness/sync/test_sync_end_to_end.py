"""Suites as code, end to end against the embedded Bitbucket: connect, push every entity (one commit each), edits
made in Bitbucket arriving through the signed webhook, a broken file tracked and cleared, forged and replayed
deliveries changing nothing, a pushed scenario change run with its results on the commit, and no credential in
the repository, a commit message, a log or a cassette."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from harness.secrets import SECRET_SHAPES
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
from tests.sandbox.bitbucket.receiver import Receiver

TOOLKIT = "toolkits/bitbucket-rovo.json"
SCENARIO = "scenarios/core-fetch-readme.yaml"
MODELS = "models:\n  - name: local-qwen\n    base_url: http://127.0.0.1:8765/v1\n    api_key_env: LOCAL_MODEL_KEY\n"
DIRECTORIES = {"scenarios", "mcp-servers", "mcp-clients", "toolkits", "skills", "models"}


def commit_in_bitbucket(sandbox: Sandbox, path: str, text: str, message: str) -> str:
    """An edit made in Bitbucket by a person (alice's API token), not by the sync."""
    with api(sandbox) as c:
        assert c.post(R + "src", data={f"/{path}": text, "message": message}).status_code == 201
        head = str(c.get(R + "refs/branches/main").json()["target"]["hash"])
    assert deliveries(sandbox, REPO)[-1]["status"] == 200  # waits for the delivery to be answered
    return head


def final_status(client: httpx.Client, commit: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{R}commit/{commit}/statuses/build/harness")
        if response.status_code == 200 and response.json()["state"] in ("SUCCESSFUL", "FAILED"):
            return dict(response.json())
        assert time.monotonic() < deadline, f"no final build status on {commit}: {response.text}"
        time.sleep(0.5)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def repository_texts(client: httpx.Client) -> dict[str, str]:
    """Every file at the head of main, and every commit message."""
    listing = client.get(R + "src/main/", params={"max_depth": 10, "pagelen": 100}).json()["values"]
    files = {e["path"]: client.get(R + f"src/main/{e['path']}").text for e in listing if e["type"] == "commit_file"}
    messages = client.get(R + "commits/main", params={"pagelen": 100}).json()["values"]
    return files | {f"commit {m['hash']}": m["message"] for m in messages}


def test_suites_as_code_round_trip(sandbox: Sandbox, tmp_path: Path) -> None:
    env_file, db, log = tmp_path / ".env", tmp_path / "sync.db", tmp_path / "serve.log"
    env = write_env(sandbox, env_file)
    create_repository(sandbox, env, "eval-suites")
    (tmp_path / "models.yaml").write_text(MODELS)
    status_events = Receiver()
    with api(sandbox) as c:
        events = ["repo:commit_status_created", "repo:commit_status_updated"]
        assert c.post(R + "hooks", json={"url": status_events.url, "events": events}).status_code == 201
    outputs: list[str] = []
    matrix = ["--frameworks", "pydantic-ai", "--paths", "rovo", "-m", "sandbox-reference", "--world", "sandbox"]
    runs = tmp_path / "runs"
    port = free_port()
    # connect (registering the webhook at the receiver's URL), then start the receiver -----------------------------
    connected = cli("connect", "--repo", REPO, "--webhook-url", webhook_url(port), env_file=env_file, db=db)
    assert connected.exit_code == 0, connected.output
    assert "connection ok: acme/eval-suites @ main" in connected.output and "push webhook {" in connected.output
    options = [*matrix, "--no-report", "--runs-dir", str(runs), "--timeout", "120"]
    with serving(REPO, port, env_file, db, log, *options) as server, oracle(sandbox, env) as bitbucket:
        # import and push: one commit per entity, every directory ------------------------------------------------
        tools = ROOT / "tests/sandbox/snapshots/tools/rovo-full.json"
        imported = cli(
            "import",
            "--models",
            str(tmp_path / "models.yaml"),
            "--tool-list",
            f"rovo={tools}",
            env_file=env_file,
            db=db,
        )
        assert imported.exit_code == 0, imported.output
        assert "imported 25 entities: 25 changed" in imported.output
        pushed = cli("push", "--repo", REPO, env_file=env_file, db=db)
        assert (
            pushed.exit_code == 0
            and "pushed 25 entities to acme/eval-suites@main, one commit each; 0 unchanged" in pushed.output
        )
        store = SyncStore(db)
        records = store.records()
        commits = bitbucket.get(R + "commits/main", params={"pagelen": 100}).json()["values"]
        assert len(commits) == 1 + len(records) == 26  # the repository's first commit, then one per entity
        assert sorted(c["message"].splitlines()[0] for c in commits[:-1]) == sorted(
            f"Add {r.kind} {r.slug}" for r in records
        )
        assert {r.last_commit for r in records} == {c["hash"] for c in commits[:-1]}
        root = bitbucket.get(R + "src/main/", params={"pagelen": 100}).json()["values"]
        assert {e["path"] for e in root if e["type"] == "commit_directory"} == DIRECTORIES
        own = deliveries(sandbox, REPO)
        assert len(own) == 25 and all(d["status"] == 200 and d["signed"] for d in own)
        assert bitbucket.get(f"{R}commit/{commits[0]['hash']}/statuses").json()["values"] == []  # its own: no run
        again = cli("push", "--repo", REPO, env_file=env_file, db=db)
        assert "nothing to push: all 25 entities are in sync" in again.output
        outputs += [connected.output, imported.output, pushed.output, again.output]

        # a broken JSON file: INVALID_JSON in status, on the commit; its fix (an edit) arrives and clears it ----
        good = bitbucket.get(R + f"src/main/{TOOLKIT}").text
        valid = store.get("toolkit", "bitbucket-rovo")
        assert valid is not None and valid.files == {TOOLKIT: good}
        broken = commit_in_bitbucket(sandbox, TOOLKIT, good.replace(",", "", 1), "Tidy the Rovo toolkit")
        status = cli("status", env_file=env_file, db=db)
        assert status.exit_code == 1, status.output
        line = next(x for x in status.output.splitlines() if x.startswith("toolkit") and "bitbucket-rovo" in x)
        assert f"{broken[:12]}  ⚠ ERROR INVALID_JSON (400): {TOOLKIT}:3:" in line
        assert store.get("toolkit", "bitbucket-rovo").files == {TOOLKIT: good}  # type: ignore[union-attr]
        red = final_status(bitbucket, broken)
        assert red["state"] == "FAILED" and "1 file(s) do not sync" in red["description"]
        (finding,) = bitbucket.get(f"{R}commit/{broken}/reports/harness-run/annotations").json()["values"]
        assert (finding["path"], finding["line"], finding["summary"]) == (TOOLKIT, 3, f"INVALID_JSON: {TOOLKIT}")
        edited = json.loads(good) | {"tools": ["bitbucketRepoContent"]}
        fixed = commit_in_bitbucket(sandbox, TOOLKIT, json.dumps(edited, indent=2) + "\n", "Rovo toolkit: reads only")
        healed = cli("status", env_file=env_file, db=db)
        assert healed.exit_code == 0 and "ERROR" not in healed.output, healed.output
        record = store.get("toolkit", "bitbucket-rovo")
        assert record is not None and record.last_commit == fixed and record.git_integration is None
        assert json.loads(record.files[TOOLKIT])["tools"] == ["bitbucketRepoContent"]  # type: ignore[index]
        assert bitbucket.get(f"{R}commit/{fixed}/statuses").json()["values"] == []  # toolkits run nothing
        outputs += [status.output, healed.output]

        # forged, unsigned and replayed deliveries change nothing ----------------------------------------------
        last = deliveries(sandbox, REPO)[-1]
        body = json.dumps(last["payload"], separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Event-Key": "repo:push", "X-Request-UUID": str(uuid.uuid4())}
        secret = env["BITBUCKET_WEBHOOK_SECRET"]
        before = store.dump()
        unsigned = server.post(body, headers)
        forged = server.post(body, headers | {"X-Hub-Signature": signature("not-the-secret", body)})
        tampered = server.post(body.replace(b"main", b"mainx"), headers | {"X-Hub-Signature": signature(secret, body)})
        assert [r.status_code for r in (unsigned, forged, tampered)] == [401, 401, 401]
        assert "unsigned" in unsigned.json()["error"] and "forged" in forged.json()["error"]
        replayed = server.post(
            body, headers | {"X-Request-UUID": last["request_uuid"], "X-Hub-Signature": signature(secret, body)}
        )
        assert replayed.status_code == 200 and replayed.json()["status"] == "duplicate"
        assert store.dump() == before

        # a scenario changed in Bitbucket runs, with its build status and Code Insights report on the commit ----
        scenario = bitbucket.get(R + f"src/main/{SCENARIO}").text
        harder = scenario.replace("contains: [make test]", 'contains: [make test, "deploy with care"]')
        assert harder != scenario
        changed = commit_in_bitbucket(sandbox, SCENARIO, harder, "The README answer must warn about deploys")
        done = final_status(bitbucket, changed)
        assert done["state"] == "FAILED" and done["description"] == "0 of 1 cells ok", done
        assert done["refname"] == "main" and done["url"].startswith(server.base + "/reports/sync-" + changed[:12])
        assert "core-fetch-readme" in httpx.get(done["url"], trust_env=False).text  # the link works
        report = bitbucket.get(f"{R}commit/{changed}/reports/harness-run").json()
        assert (report["result"], report["title"], report["report_type"]) == (
            "FAILED",
            "Harness: 0 of 1 cells ok",
            "TEST",
        )
        (cell,) = bitbucket.get(f"{R}commit/{changed}/reports/harness-run/annotations").json()["values"]
        assert cell["path"] == SCENARIO and cell["result"] == "FAILED"
        assert cell["summary"] == "fail: core-fetch-readme / pydantic-ai / rovo / sandbox-reference"
        assert "deploy with care" in cell["details"]
        seen = [json.loads(r["body"])["commit_status"] for r in status_events.received]
        assert [s["state"] for s in seen if s["commit"]["hash"] == changed] == ["INPROGRESS", "FAILED"]
        texts = repository_texts(bitbucket)
    status_events.close()

    # no credential anywhere: the repository, commit messages, logs, the run's cassettes and the database ------
    credentials = sandbox.credentials
    secrets = {env["BITBUCKET_CLIENT_SECRET"], env["BITBUCKET_WEBHOOK_SECRET"], env["SANDBOX_ADMIN_KEY"]}
    secrets |= {t["token"] for t in credentials["api_tokens"]} | {c["secret"] for c in credentials["oauth_consumers"]}
    texts |= {
        "serve log": log.read_text(),
        "cli output": "\n".join(outputs),
        "database": db.read_bytes().decode("latin-1"),
    }
    run_files = [p for p in runs.rglob("*") if p.is_file()]
    assert any(p.suffix == ".yaml" and "cassettes" in p.parts for p in run_files), run_files
    texts |= {str(p): p.read_text(errors="replace") for p in run_files}
    leaks = [(where, s[:12]) for where, text in texts.items() for s in secrets if s and s in text]
    assert leaks == []
    shaped = [
        (where, what)
        for where, text in texts.items()
        if "cassettes" not in where and "transcripts" not in where
        for what, shape in SECRET_SHAPES.items()
        if shape.search(text)
    ]
    assert shaped == []
