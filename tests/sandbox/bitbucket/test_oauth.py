"""The OAuth token endpoint: client credentials, refresh rotation, expiry."""

from __future__ import annotations

import httpx

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import bearer, oauth_token


def test_client_credentials_grant(sandbox: Sandbox) -> None:
    token = oauth_token(sandbox)
    assert token["token_type"] == "bearer" and token["state"] == "client_credentials"
    assert token["expires_in"] == 7200 and token["refresh_token"]
    assert set(token["scopes"].split(" ")) >= {"repository:write", "pullrequest:write", "account"}
    with bearer(sandbox, token["access_token"]) as c:
        assert c.get("user").json()["nickname"] == "alice"  # acts as the consumer's owner
        assert c.get("repositories/acme/widgets/issues").status_code == 200


def test_bad_client_and_grants(sandbox: Sandbox) -> None:
    url = sandbox.urls["bitbucket_oauth_token"]
    wrong = httpx.post(
        url, data={"grant_type": "client_credentials"}, auth=("sandbox-oauth-oracle-key", "x"), trust_env=False
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unsupported = httpx.post(
        url,
        data={"grant_type": "password"},
        auth=("sandbox-oauth-oracle-key", "sandbox-oauth-oracle-secret"),
        trust_env=False,
    )
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"


def test_refresh_token_rotates(sandbox: Sandbox) -> None:
    first = oauth_token(sandbox)
    auth = ("sandbox-oauth-oracle-key", "sandbox-oauth-oracle-secret")
    url = sandbox.urls["bitbucket_oauth_token"]
    refreshed = httpx.post(
        url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=auth, trust_env=False
    )
    assert refreshed.status_code == 200 and refreshed.json()["state"] == "refresh_token"
    assert refreshed.json()["access_token"] != first["access_token"]
    reused = httpx.post(
        url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=auth, trust_env=False
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_access_tokens_expire(sandbox: Sandbox) -> None:
    token = oauth_token(sandbox)
    with bearer(sandbox, token["access_token"]) as c:
        assert c.get("user").status_code == 200
        sandbox.admin.post("/clock/advance", json={"seconds": token["expires_in"] + 1})
        expired = c.get("user")
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "Token is invalid, expired, or not supported for this endpoint."


def test_read_only_consumer_is_refused_writes(sandbox: Sandbox) -> None:
    token = oauth_token(sandbox, "sandbox-oauth-readonly-key", "sandbox-oauth-readonly-secret")
    with bearer(sandbox, token["access_token"]) as c:
        r = c.post("repositories/acme/widgets/refs/branches", json={"name": "x", "target": {"hash": "main"}})
    assert r.status_code == 403
    assert r.json()["error"]["detail"] == {
        "granted": ["account", "repository", "pullrequest", "issue"],
        "required": ["repository:write"],
    }
