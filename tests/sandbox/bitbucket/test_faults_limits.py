"""Scripted faults and per-credential rate limits."""

from __future__ import annotations

import time

import httpx
import pytest
import yaml

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api, state_digest


def test_next_n_matching_requests_fail_then_recover(sandbox: Sandbox) -> None:
    added = sandbox.admin.post(
        "/faults", json={"method": "GET", "path": "/refs/branches/main$", "count": 2, "status": 503}
    )
    assert added.status_code == 201
    with api(sandbox) as c:
        statuses = [c.get("repositories/acme/widgets/refs/branches/main").status_code for _ in range(3)]
        assert c.get("repositories/acme/widgets").status_code == 200  # other paths are untouched
    assert statuses == [503, 503, 200]
    assert sandbox.admin.get("/faults").json()["rules"] == []


def test_injected_429_carries_retry_after(sandbox: Sandbox) -> None:
    sandbox.admin.post("/faults", json={"path": "/pullrequests$", "status": 429, "retry_after": 2})
    with api(sandbox) as c:
        r = c.get("repositories/acme/widgets/pullrequests")
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert r.json()["type"] == "error"


def test_injected_delay_and_drop(sandbox: Sandbox) -> None:
    sandbox.admin.post("/faults", json={"path": "/user$", "action": "delay", "delay_ms": 300})
    with api(sandbox) as c:
        start = time.monotonic()
        assert c.get("user").status_code == 200
        assert time.monotonic() - start >= 0.3
        sandbox.admin.post("/faults", json={"path": "/user$", "action": "drop"})
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("user")
        assert c.get("user").status_code == 200


def test_fault_rules_are_validated(sandbox: Sandbox) -> None:
    for bad in ({"action": "explode"}, {"path": "("}, {"count": 0}, {"nope": 1}):
        r = sandbox.admin.post("/faults", json=bad)
        assert r.status_code == 400, bad


def test_per_credential_rate_limit(sandbox: Sandbox) -> None:
    fixture = {
        "credentials": {
            "api_tokens": [
                {
                    "user": "bob",
                    "label": "limited",
                    "token": "sandbox-limited",
                    "scopes": ["read:repository:bitbucket"],
                    "rate_limit": {"limit": 3, "window_seconds": 60},
                }
            ]
        }
    }
    assert sandbox.admin.post("/fixtures", content=yaml.safe_dump(fixture)).status_code == 200
    auth = ("bob@example.com", "sandbox-limited")
    url = f"{sandbox.urls['bitbucket_api']}/repositories/acme/widgets"
    responses = [httpx.get(url, auth=auth, trust_env=False) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0].headers["x-ratelimit-limit"] == "3"
    limited = responses[-1]
    assert int(limited.headers["retry-after"]) >= 1 and limited.headers["x-ratelimit-nearlimit"] == "true"
    assert limited.json()["error"]["message"] == "Rate limit for this resource has been exceeded"
    with api(sandbox) as other:  # limits are per credential
        assert other.get("repositories/acme/widgets").status_code == 200
    sandbox.admin.post("/clock/advance", json={"seconds": 61})
    assert httpx.get(url, auth=auth, trust_env=False).status_code == 200


def test_admin_api_refuses_bitbucket_credentials(sandbox: Sandbox) -> None:
    admin = sandbox.urls["admin"]
    email, token = sandbox.api_token()
    assert httpx.post(f"{admin}/reset", auth=(email, token), trust_env=False).status_code == 401
    assert (
        httpx.get(
            f"{admin}/faults", headers={"Authorization": "Bearer sandbox-svckey-acme-bot"}, trust_env=False
        ).status_code
        == 401
    )
    assert httpx.get(f"{admin}/health", trust_env=False).json() == {"status": "ok"}


def test_reset_restores_the_fixture(sandbox: Sandbox) -> None:
    before = state_digest(sandbox)
    with api(sandbox) as c:
        c.post("repositories/acme/widgets/refs/branches", json={"name": "temp", "target": {"hash": "main"}})
        c.post("repositories/acme/widgets/issues/1/comments", json={"content": {"raw": "x"}})
    assert state_digest(sandbox) != before
    sandbox.reset()
    assert state_digest(sandbox) == before
