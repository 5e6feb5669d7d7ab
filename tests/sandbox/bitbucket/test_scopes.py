"""Scope enforcement for every implemented operation, in both vocabularies.

For each operation a credential holding exactly its required scopes gets through the scope check, and one
holding every other scope gets Bitbucket's 403 naming what was granted and what is required.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import yaml

from sandbox import Sandbox
from sandbox.bitbucket.app import BitbucketAPI  # noqa: F401  (registers the handlers)
from sandbox.bitbucket.errors import MISSING_SCOPE
from sandbox.bitbucket.operations import Operation, openapi_document, operation
from sandbox.bitbucket.routing import ENDPOINTS
from sandbox.bitbucket.scopes import oauth_closure

SAMPLE = {
    "workspace": "acme",
    "repo_slug": "widgets",
    "name": "main",
    "commit": "main",
    "path": "README.md",
    "revision": "main",
    "spec": "main",
    "pull_request_id": "1",
    "issue_id": "1",
    "encoded_id": "abcde",
    "uid": "{00000000-0000-0000-0000-000000000000}",
    "key": "harness",
    "reportId": "harness-run",
    "annotationId": "harness-cell-1",
    "id": "1",
}
OPERATIONS: list[Operation] = sorted({operation(e.method, e.path) for e in ENDPOINTS}, key=lambda o: o.key)
OAUTH_SCOPES = sorted(
    openapi_document()["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]["scopes"]
)
TOKEN_SCOPES = sorted({s for op in OPERATIONS for s in op.token_scopes} | {"read:pipeline:bitbucket"})


def url(op: Operation) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], op.path).lstrip("/")


def _token_fixture() -> str:
    tokens, passwords = [], []
    for i, op in enumerate(OPERATIONS):
        tokens.append(
            {
                "user": "alice",
                "label": f"allow-{i}",
                "token": f"sandbox-scope-allow-{i}",
                "scopes": list(op.token_scopes) or ["read:user:bitbucket"],
            }
        )
        tokens.append(
            {
                "user": "alice",
                "label": f"deny-{i}",
                "token": f"sandbox-scope-deny-{i}",
                "scopes": [s for s in TOKEN_SCOPES if s not in op.token_scopes],
            }
        )
        required = op.oauth_scopes
        passwords.append(
            {
                "user": "alice",
                "label": f"allow-{i}",
                "password": f"sandbox-scope-allow-{i}",
                "scopes": list(required) or ["account"],
            }
        )
        passwords.append(
            {
                "user": "alice",
                "label": f"deny-{i}",
                "password": f"sandbox-scope-deny-{i}",
                "scopes": [s for s in OAUTH_SCOPES if not set(required) & oauth_closure([s])],
            }
        )
    return yaml.safe_dump({"credentials": {"api_tokens": tokens, "app_passwords": passwords}})


@pytest.fixture(scope="module")
def scoped(sandbox_session: Sandbox) -> Sandbox:
    sandbox_session.reset()
    response = sandbox_session.admin.post("/fixtures", content=_token_fixture())
    assert response.status_code == 200, response.text
    return sandbox_session


def call(sb: Sandbox, op: Operation, auth: tuple[str, str]) -> httpx.Response:
    body: dict[str, Any] | None = {} if op.method in ("post", "put") else None
    return httpx.request(
        op.method.upper(),
        f"{sb.urls['bitbucket_api']}/{url(op)}",
        auth=auth,
        json=body,
        trust_env=False,
        follow_redirects=False,
        timeout=30,
    )


def is_scope_denial(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.json()["error"]["message"] == MISSING_SCOPE


# vocabulary -> (Basic username, the operation's required scopes in that vocabulary, every scope it has)
VOCABULARIES = {
    "token": ("alice@example.com", lambda op: op.token_scopes, TOKEN_SCOPES),
    "oauth": ("alice", lambda op: op.oauth_scopes, None),  # OAuth scopes imply others: granted is not compared
}


@pytest.mark.parametrize("vocabulary", sorted(VOCABULARIES))
@pytest.mark.parametrize("index", range(len(OPERATIONS)), ids=[o.key for o in OPERATIONS])
def test_scopes(scoped: Sandbox, index: int, vocabulary: str) -> None:
    op = OPERATIONS[index]
    username, required, every = VOCABULARIES[vocabulary]
    allowed = call(scoped, op, (username, f"sandbox-scope-allow-{index}"))
    assert allowed.status_code != 401 and not is_scope_denial(allowed), allowed.text
    if not required(op):
        return
    denied = call(scoped, op, (username, f"sandbox-scope-deny-{index}"))
    assert is_scope_denial(denied), denied.text
    detail = denied.json()["error"]["detail"]
    assert detail["required"] == list(required(op))
    if every is not None:
        assert set(detail["granted"]) == {s for s in every if s not in required(op)}


def test_every_implemented_operation_is_covered() -> None:
    """The matrix above is built from the registry, so a new handler is covered automatically."""
    assert len(OPERATIONS) >= 50
    assert {
        "GET /user",
        "POST /repositories/{workspace}/{repo_slug}/refs/branches",
        "POST /repositories/{workspace}/{repo_slug}/pullrequests",
    } <= {o.key for o in OPERATIONS}


def test_write_does_not_imply_read_for_api_tokens(sandbox: Sandbox) -> None:
    """Branch creation needs read and write API-token scopes: write alone is refused, naming both."""
    fixture = {
        "credentials": {
            "api_tokens": [
                {"user": "alice", "label": "w", "token": "sandbox-w-only", "scopes": ["write:repository:bitbucket"]}
            ]
        }
    }
    assert sandbox.admin.post("/fixtures", content=yaml.safe_dump(fixture)).status_code == 200
    r = httpx.post(
        f"{sandbox.urls['bitbucket_api']}/repositories/acme/widgets/refs/branches",
        auth=("alice@example.com", "sandbox-w-only"),
        json={"name": "x", "target": {"hash": "main"}},
        trust_env=False,
    )
    assert r.status_code == 403
    assert r.json()["error"]["detail"] == {
        "granted": ["write:repository:bitbucket"],
        "required": ["write:repository:bitbucket", "read:repository:bitbucket"],
    }


def test_oauth_implication_pullrequest_write_grants_branch_creation(sandbox: Sandbox) -> None:
    fixture = {
        "credentials": {
            "app_passwords": [
                {"user": "alice", "label": "prw", "password": "sandbox-prw", "scopes": ["pullrequest:write"]}
            ]
        }
    }
    assert sandbox.admin.post("/fixtures", content=yaml.safe_dump(fixture)).status_code == 200
    r = httpx.post(
        f"{sandbox.urls['bitbucket_api']}/repositories/acme/widgets/refs/branches",
        auth=("alice", "sandbox-prw"),
        json={"name": "via-implication", "target": {"hash": "main"}},
        trust_env=False,
    )
    assert r.status_code == 201, r.text
    admin_only = {
        "credentials": {
            "app_passwords": [
                {"user": "alice", "label": "adm", "password": "sandbox-adm", "scopes": ["repository:admin"]}
            ]
        }
    }
    assert sandbox.admin.post("/fixtures", content=yaml.safe_dump(admin_only)).status_code == 200
    denied = httpx.get(
        f"{sandbox.urls['bitbucket_api']}/repositories/acme/widgets", auth=("alice", "sandbox-adm"), trust_env=False
    )
    assert denied.status_code == 403, "repository:admin must not imply repository (read)"


def test_read_only_token_cannot_create_a_branch(sandbox: Sandbox) -> None:
    email, token = sandbox.api_token("read-only")
    r = httpx.post(
        f"{sandbox.urls['bitbucket_api']}/repositories/acme/widgets/refs/branches",
        auth=(email, token),
        json={"name": "nope", "target": {"hash": "main"}},
        trust_env=False,
    )
    assert r.status_code == 403
    assert r.json()["error"]["detail"]["required"] == ["write:repository:bitbucket", "read:repository:bitbucket"]
    ok = httpx.get(
        f"{sandbox.urls['bitbucket_api']}/repositories/acme/widgets/refs/branches/nope",
        auth=(email, token),
        trust_env=False,
    )
    assert ok.status_code == 404  # and nothing was created


def test_pr_comment_scope_rule_is_configurable(sandbox: Sandbox) -> None:
    """The document lets the read scope comment; the Rovo-documented rule (write) is a setting."""
    email, token = sandbox.api_token("read-only")
    with httpx.Client(base_url=sandbox.urls["bitbucket_api"] + "/", auth=(email, token), trust_env=False) as c:
        full = httpx.Client(
            base_url=sandbox.urls["bitbucket_api"] + "/", auth=sandbox.api_token("full"), trust_env=False
        )
        full.post(
            "repositories/acme/widgets/pullrequests",
            json={"title": "t", "source": {"branch": {"name": "feature/login"}}},
        )
        assert (
            c.post(
                "repositories/acme/widgets/pullrequests/1/comments", json={"content": {"raw": "read scope comment"}}
            ).status_code
            == 201
        )
        sandbox.admin.patch("/settings", json={"pr_comment_requires_write": True})
        try:
            refused = c.post("repositories/acme/widgets/pullrequests/1/comments", json={"content": {"raw": "no"}})
            assert is_scope_denial(refused)
            assert refused.json()["error"]["detail"]["required"] == [
                "read:pullrequest:bitbucket",
                "write:pullrequest:bitbucket",
            ]
        finally:
            sandbox.admin.patch("/settings", json={"pr_comment_requires_write": False})
            full.close()


def test_access_tokens_and_service_accounts(sandbox: Sandbox) -> None:
    base = sandbox.urls["bitbucket_api"]
    repo_token = {"Authorization": "Bearer sandbox-repotoken-widgets"}
    assert httpx.get(f"{base}/repositories/acme/widgets", headers=repo_token, trust_env=False).status_code == 200
    assert httpx.get(f"{base}/repositories/acme/gadgets", headers=repo_token, trust_env=False).status_code == 404
    svc = {"Authorization": "Bearer sandbox-svckey-acme-bot"}
    created = httpx.post(
        f"{base}/repositories/acme/widgets/refs/branches",
        headers=svc,
        trust_env=False,
        json={"name": "bot/branch", "target": {"hash": "main"}},
    )
    assert created.status_code == 201, created.text
    assert httpx.get(f"{base}/repositories/solo/notes", headers=svc, trust_env=False).status_code == 404
