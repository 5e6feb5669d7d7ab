"""Bad input gets the error envelope with a clear message and the right status, and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api, state_digest

BRANCHES = "repositories/acme/widgets/refs/branches"


def error(r: httpx.Response) -> dict[str, object]:
    assert r.json()["type"] == "error", r.text
    return dict(r.json()["error"])


CASES = [
    (
        "post",
        BRANCHES,
        {"content": b'{"name": "x", "target":', "headers": {"content-type": "application/json"}},
        400,
        "Malformed JSON",
    ),
    ("post", BRANCHES, {"json": ["not", "an", "object"]}, 400, "must be a JSON object"),
    ("post", BRANCHES, {"json": {"name": 5, "target": {"hash": "main"}}}, 400, "name"),
    ("post", BRANCHES, {"json": {"name": "ok", "target": "main"}}, 400, "target"),
    ("post", BRANCHES, {"json": {"name": "bad..name", "target": {"hash": "main"}}}, 400, "valid branch name"),
    ("post", BRANCHES, {"json": {"name": "x", "target": {"hash": "0000000"}}}, 404, "not found"),
    ("post", "repositories/acme/widgets/pullrequests", {"json": {"title": ["x"]}}, 400, "title"),
    ("put", "repositories/acme/widgets/issues/1", {"json": {"kind": "nonsense"}}, 400, "kind"),
    ("post", "repositories/acme/widgets/issues/1/comments", {"json": {"content": {"raw": 7}}}, 400, "content"),
    ("get", "repositories/acme/widgets/pullrequests?q=state%20%3D", {}, 400, "Invalid query"),
    ("get", "repositories/acme/widgets/pullrequests?sort=-", {}, 400, "Invalid query"),
    ("get", "repositories/acme/widgets/issues?pagelen=1000", {}, 400, "Invalid pagelen"),
    ("get", "repositories/acme/widgets/src/main/..%2F..%2Fetc/passwd", {}, 400, "Invalid path"),
    ("post", "repositories/acme/widgets/src", {"data": {"/../escape.txt": "x"}}, 400, "Invalid path"),
    ("post", "repositories/acme/widgets/src", {"data": {"files": "does/not/exist.txt"}}, 400, "nothing to delete"),
    ("post", "repositories/acme/widgets/src", {"json": {"a": 1}}, 400, "multipart"),
    ("get", "repositories/acme/widgets/nowhere", {}, 404, "Resource not found"),
    ("patch", "repositories/acme/widgets", {}, 405, "not allowed"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "text"), CASES, ids=[f"{c[0]} {c[1][:40]} {c[3]}" for c in CASES]
)
def test_bad_input_is_refused_cleanly(
    sandbox: Sandbox, method: str, path: str, kwargs: dict[str, object], status: int, text: str
) -> None:
    before = state_digest(sandbox)
    with api(sandbox) as c:
        r = c.request(method.upper(), path, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    err = error(r)
    assert text.lower() in str(err).lower(), err
    assert state_digest(sandbox) == before


def test_oversized_body(sandbox: Sandbox) -> None:
    before = state_digest(sandbox)
    with api(sandbox) as c:
        r = c.post(
            "repositories/acme/widgets/issues",
            content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 413 and error(r)["message"] == "Request entity too large"
    assert state_digest(sandbox) == before


def test_empty_commit_form_is_refused(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        r = c.post("repositories/acme/widgets/src", data={"message": "only a message"})
    assert r.status_code == 400 and "changes nothing" in str(error(r))


def test_deeply_nested_json_is_a_400(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        r = c.post(
            "repositories/acme/widgets/issues", content=b"[" * 100_000, headers={"content-type": "application/json"}
        )
    assert r.status_code == 400 and "Malformed JSON" in str(error(r))


def test_head_is_answered_like_get(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        assert c.head("repositories/acme/widgets").status_code == 200
