"""Webhook deliveries: events, headers, HMAC signatures, retries and the delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api
from tests.sandbox.bitbucket.receiver import Receiver

SECRET = "sandbox-webhook-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def subscribe(sb: Sandbox, url: str, events: list[str], secret: str | None = SECRET) -> dict[str, Any]:
    sb.admin.patch("/settings", json={"webhook_retry_delays": [0.05, 0.05]})
    with api(sb) as c:
        r = c.post(
            "repositories/acme/widgets/hooks",
            json={
                "description": "test",
                "url": url,
                "active": True,
                "events": events,
                **({"secret": secret} if secret else {}),
            },
        )
    assert r.status_code == 201, r.text
    assert "secret" not in r.json() and r.json()["secret_set"] is (secret is not None)
    return dict(r.json())


def deliveries(sb: Sandbox) -> list[dict[str, Any]]:
    return list(sb.admin.get("/bitbucket/deliveries").json()["deliveries"])


def test_new_branch_appears_in_a_signed_repo_push(sandbox: Sandbox, receiver: Receiver) -> None:
    hook = subscribe(sandbox, receiver.url, ["repo:push"])
    with api(sandbox) as c:
        head = c.get("repositories/acme/widgets/refs/branches/main").json()["target"]["hash"]
        c.post("repositories/acme/widgets/refs/branches", json={"name": "feature/hooked", "target": {"hash": head}})
    log = deliveries(sandbox)
    assert [d["status"] for d in log] == [200]
    (got,) = receiver.received
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["x-event-key"] == "repo:push"
    assert headers["x-hook-uuid"] == hook["uuid"].strip("{}")
    assert headers["x-attempt-number"] == "1" and headers["x-request-uuid"]
    assert headers["user-agent"] == "Bitbucket-Webhooks/2.0"
    expected = "sha256=" + hmac.new(SECRET.encode(), got["body"], hashlib.sha256).hexdigest()
    assert headers["x-hub-signature"] == expected
    change = json.loads(got["body"])["push"]["changes"][0]
    assert change["created"] is True and change["old"] is None
    assert change["new"]["name"] == "feature/hooked" and change["new"]["target"]["hash"] == head


def test_unsigned_when_no_secret_and_events_filtered(sandbox: Sandbox, receiver: Receiver) -> None:
    subscribe(sandbox, receiver.url, ["pullrequest:created", "issue:comment_created"], secret=None)
    with api(sandbox) as c:
        c.post("repositories/acme/widgets/refs/branches", json={"name": "ignored", "target": {"hash": "main"}})
        c.post(
            "repositories/acme/widgets/pullrequests",
            json={"title": "PR", "source": {"branch": {"name": "feature/login"}}},
        )
        c.post("repositories/acme/widgets/issues/1/comments", json={"content": {"raw": "hi"}})
    assert [d["event"] for d in deliveries(sandbox)] == ["pullrequest:created", "issue:comment_created"]
    assert all("X-Hub-Signature" not in r["headers"] for r in receiver.received)

    def event_key(r: dict[str, Any]) -> str:
        return str({k.lower(): v for k, v in r["headers"].items()}["x-event-key"])

    (pr_delivery,) = [r for r in receiver.received if event_key(r) == "pullrequest:created"]
    pr = json.loads(pr_delivery["body"])
    assert pr["pullrequest"]["title"] == "PR" and pr["repository"]["full_name"] == "acme/widgets"


def test_retries_twice_then_succeeds(sandbox: Sandbox) -> None:
    flaky = Receiver(fail_first=2)
    try:
        subscribe(sandbox, flaky.url, ["issue:created"])
        with api(sandbox) as c:
            c.post("repositories/acme/widgets/issues", json={"title": "t"})
        assert [(d["attempt"], d["status"]) for d in deliveries(sandbox)] == [(1, 500), (2, 500), (3, 200)]
        assert [r["headers"]["X-Attempt-Number"] for r in flaky.received] == ["1", "2", "3"]
        assert len({r["headers"]["X-Request-UUID"] for r in flaky.received}) == 1
    finally:
        flaky.close()


def test_gives_up_after_two_retries(sandbox: Sandbox) -> None:
    broken = Receiver(fail_first=100, status=503)
    try:
        subscribe(sandbox, broken.url, ["issue:created"])
        with api(sandbox) as c:
            c.post("repositories/acme/widgets/issues", json={"title": "t"})
        assert [d["status"] for d in deliveries(sandbox)] == [503, 503, 503]
    finally:
        broken.close()


def test_failed_request_sends_nothing(sandbox: Sandbox, receiver: Receiver) -> None:
    subscribe(sandbox, receiver.url, ["repo:push"])
    with api(sandbox) as c:
        assert (
            c.post(
                "repositories/acme/widgets/refs/branches", json={"name": "main", "target": {"hash": "main"}}
            ).status_code
            == 400
        )
    assert deliveries(sandbox) == [] and receiver.received == []


def test_only_loopback_receivers(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        r = c.post("repositories/acme/widgets/hooks", json={"url": "http://10.0.0.1/hook", "events": ["repo:push"]})
    assert r.status_code == 400 and "loopback" in r.json()["error"]["fields"]["url"][0]
