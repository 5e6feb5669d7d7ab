"""The admin API answers well-formed JSON of the wrong shape with 400 naming the field, never 500."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import Sandbox


@pytest.mark.parametrize(
    ("method", "path", "body", "named"),
    [
        ("post", "/faults", [1], "fault rule 1"),
        ("post", "/faults", [{"status": 503}, "x"], "fault rule 2"),
        ("post", "/faults", {"count": "x"}, "count"),
        ("post", "/faults", {"status": 503, "delay_ms": None}, "delay_ms"),
        ("post", "/faults", 7, "fault rule 1"),
        ("patch", "/settings", [], "JSON object"),
        ("patch", "/settings", {"max_body_bytes": "big"}, "max_body_bytes"),
        ("patch", "/settings", {"webhook_retry_delays": {"a": 1}}, "webhook_retry_delays"),
        ("post", "/clock/advance", [], "seconds"),
        ("post", "/clock/advance", {"seconds": "soon"}, "seconds"),
        ("patch", "/composio/settings", [], "JSON object"),
        ("patch", "/composio/settings", {"search_results": "many"}, "search_results"),
        ("patch", "/rovo/settings", [], "JSON object"),
        ("patch", "/rovo/settings", {"tool_visibility": 3}, "tool_visibility"),
    ],
)
def test_wrong_shapes_are_400_naming_the_field(sandbox: Sandbox, method: str, path: str, body: Any, named: str) -> None:
    before = sandbox.admin.get("/settings").json()
    response = sandbox.admin.request(method, path, json=body)
    assert response.status_code == 400, (path, body, response.status_code, response.text)
    assert named in response.json()["error"], response.text
    assert sandbox.admin.get("/settings").json() == before  # a refused change changes nothing
    assert sandbox.admin.get("/faults").json()["rules"] == []


def test_well_formed_changes_still_apply(sandbox: Sandbox) -> None:
    assert sandbox.admin.patch("/settings", json={"webhook_retry_delays": [0.1]}).json()["webhook_retry_delays"] == [
        0.1
    ]
    added = sandbox.admin.post("/faults", json=[{"status": 503}, {"status": 429, "path": "/user$"}])
    assert added.status_code == 201 and len(added.json()["added"]) == 2
    assert sandbox.admin.post("/clock/advance", json={"seconds": 5}).json()["time_offset"] == 5.0
