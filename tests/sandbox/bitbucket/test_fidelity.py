"""What outside clients met on the REST emulator: nulls for optional fields, 405 without Allow, format=rendered,
uneven parameter checks, git-invalid names, the body limit under chunked uploads, unescaped rendered fields.

Each test sends what a real client or an attacker sent and asserts Bitbucket's answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import sandbox.bitbucket.handlers  # noqa: F401  (fills ENDPOINTS)
from sandbox import Sandbox
from sandbox.bitbucket.routing import ENDPOINTS
from tests.sandbox.bitbucket.helpers import anonymous, api

W = "repositories/acme/widgets/"


def error_of(response: httpx.Response) -> dict[str, Any]:
    """Bitbucket's error envelope: ``{"type": "error", "error": {"message", "fields"?, "detail"?}}``."""
    body = response.json()
    assert body["type"] == "error" and isinstance(body["error"]["message"], str), body
    return dict(body["error"])


# 1. Optional fields sent as JSON null --------------------------------------------------------------------------
def test_pull_request_with_null_optional_fields_is_created(sandbox: Sandbox) -> None:
    """The body a widely used Python client sends; Bitbucket Cloud treats null as absent."""
    body = {
        "title": "Login form",
        "description": None,
        "source": {"branch": {"name": "feature/login"}, "repository": None},
        "destination": {"branch": {"name": "main"}},
        "close_source_branch": None,
        "reviewers": [],
    }
    with api(sandbox) as c:
        created = c.post(W + "pullrequests", json=body)
        assert created.status_code == 201, created.text
        pr = created.json()
        assert pr["description"] == "" and pr["close_source_branch"] is False and pr["reviewers"] == []
        # every later step of that client works: read, comment, update with nulls, merge
        number = pr["id"]
        assert c.get(f"{W}pullrequests/{number}").status_code == 200
        comment = c.post(f"{W}pullrequests/{number}/comments", json={"content": {"raw": "ok"}, "parent": None})
        assert comment.status_code == 201, comment.text
        updated = c.put(f"{W}pullrequests/{number}", json={"title": "Login", "description": None, "reviewers": None})
        assert updated.status_code == 200 and updated.json()["title"] == "Login", updated.text
        merged = c.post(f"{W}pullrequests/{number}/merge", json={"message": None, "close_source_branch": None})
        assert merged.status_code == 200 and merged.json()["state"] == "MERGED", merged.text


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", W + "issues", {"title": "T", "content": None, "kind": None, "priority": None, "assignee": None}, 201),
        ("post", W + "issues/1/comments", {"content": {"raw": "x", "markup": None}}, 201),
        ("post", W + "refs/branches", {"name": "nulls", "target": {"hash": "main", "type": None}}, 201),
        ("post", "repositories/acme/fresh", {"description": None, "is_private": None, "project": None}, 200),
        ("post", W + "hooks", {"url": "http://127.0.0.1:9/", "events": ["repo:push"], "description": None}, 201),
        ("post", "snippets/acme", {"title": None, "files": {"a.txt": {"content": "x"}}, "is_private": None}, 201),
    ],
)
def test_null_counts_as_absent_in_every_body(
    sandbox: Sandbox, method: str, path: str, body: dict[str, object], status: int
) -> None:
    with api(sandbox) as c:
        response = c.request(method, path, json=body)
    assert response.status_code == status, response.text


def test_null_clears_where_bitbucket_clears(sandbox: Sandbox) -> None:
    """PUT on an issue: "assignee": null unassigns it (the one place null is a value, not an absence)."""
    with api(sandbox) as c:
        bob = next(
            m["user"] for m in c.get("workspaces/acme/members").json()["values"] if m["user"]["nickname"] == "bob"
        )
        assert c.put(W + "issues/1", json={"assignee": {"uuid": bob["uuid"]}}).json()["assignee"]["nickname"] == "bob"
        cleared = c.put(W + "issues/1", json={"assignee": None, "title": None})
    assert cleared.status_code == 200, cleared.text
    assert "assignee" not in cleared.json() and cleared.json()["title"] == "Crash on empty widget name"


def test_a_wrong_type_is_still_refused(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        response = c.post(
            W + "pullrequests",
            json={"title": "x", "source": {"branch": {"name": "feature/login"}}, "close_source_branch": "yes"},
        )
    assert response.status_code == 400 and "close_source_branch" in error_of(response)["fields"]


# 2. 405 carries Allow --------------------------------------------------------------------------------------------
def _routes() -> Iterator[tuple[str, set[str]]]:
    concrete = {
        "{workspace}": "acme",
        "{repo_slug}": "widgets",
        "{pull_request_id}": "1",
        "{issue_id}": "1",
        "{comment_id}": "1",
        "{name}": "main",
        "{commit}": "main",
        "{path}": "README.md",
        "{revision}": "main",
        "{spec}": "main",
        "{uid}": "x",
        "{encoded_id}": "x",
        "{selected_user}": "alice",
    }
    methods: dict[str, set[str]] = {}
    for ep in ENDPOINTS:
        path = ep.path
        for key, value in concrete.items():
            path = path.replace(key, value)
        methods.setdefault(path, set()).add(ep.method.upper())
    yield from sorted(methods.items())


@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "PATCH", "PUT"])
def test_405_names_the_allowed_methods(sandbox: Sandbox, method: str) -> None:
    checked = 0
    with api(sandbox) as c:
        for path, allowed in _routes():
            if method in allowed:
                continue
            response = c.request(method, path.lstrip("/"))
            assert response.status_code == 405, (method, path, response.status_code)
            assert error_of(response)["message"]
            offered = {m.strip() for m in response.headers["allow"].split(",")}
            assert offered == allowed | ({"HEAD"} if "GET" in allowed else set()), (path, offered)
            checked += 1
    assert checked >= 20


# 3. format=rendered ----------------------------------------------------------------------------------------------
def test_format_rendered_answers_html(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        c.post(W + "src", data={"/notes.md": "# Title\n\n*hi* <script>alert(1)</script>\n", "message": "notes"})
        rendered = c.get(W + "src/main/notes.md", params={"format": "rendered"})
        raw = c.get(W + "src/main/notes.md")
        not_markup = c.get(W + "src/main/src/widgets/app.py", params={"format": "rendered"})
    assert rendered.status_code == 200 and rendered.headers["content-type"].startswith("application/json")
    body = rendered.json()
    assert body["markup"] == "markdown" and body["raw"] == raw.text
    assert body["html"] == "<h1>Title</h1>\n<p><em>hi</em> &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert "attachment" in raw.headers["content-disposition"]  # without the parameter, still the raw file
    assert not_markup.status_code == 400 and "format" in error_of(not_markup)["fields"]


# 4. One rule for parameters and bodies ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("snippets", {"role": "AAA"}, "role"),
        ("snippets/acme", {"role": "AAA"}, "role"),
        ("workspaces", {"role": "AAA"}, "role"),
        ("repositories/acme", {"role": "AAA"}, "role"),
        ("user/workspaces", {"administrator": "null"}, "administrator"),
        (W + "pullrequests", {"state": "BOGUS"}, "state"),
        (W + "diff/main", {"context": "null"}, "context"),
        (W + "diff/main", {"topic": "621"}, "topic"),
        (W + "src", {"format": "junk"}, "format"),
        (W + "src/main/README.md", {"format": "html"}, "format"),
    ],
)
def test_declared_query_parameters_are_checked_everywhere(
    sandbox: Sandbox, path: str, params: dict[str, str], field: str
) -> None:
    with api(sandbox) as c:
        response = c.get(path, params=params)
    assert response.status_code == 400, (path, response.status_code, response.text[:200])
    assert field in error_of(response)["fields"]


def test_valid_values_still_pass(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        for path, params in [
            ("snippets", {"role": "member"}),
            ("user/workspaces", {"administrator": "true"}),
            (W + "pullrequests", {"state": "open"}),  # lower case, as clients send it (deviations.py)
            (W + "diff/main", {"context": "3", "topic": "false"}),
        ]:
            assert c.get(path, params=params).status_code == 200, (path, params)


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_json_body_needs_a_json_content_type(sandbox: Sandbox, content_type: str | None) -> None:
    body = json.dumps({"name": "typed", "target": {"hash": "main"}}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    with api(sandbox) as c:
        response = c.post(W + "refs/branches", content=body, headers=headers)
        assert response.request.headers.get("content-type") == content_type
        assert response.status_code == 415, response.text
        assert "application/json" in str(error_of(response)["detail"])
        assert c.get(W + "refs/branches/typed").status_code == 404
        empty = c.post(W + "refs/branches", headers={"Content-Type": "text/plain"})  # no body: the type is moot
        assert empty.status_code == 400 and "name" in error_of(empty)["fields"]


# 5. Names git refuses ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    ["sub/.git/config", ".GIT/hooks/x", "a/git~1/b", "d/" + "x" * 300, "line\nbreak.txt", "back\\slash.txt", "c\x01"],
)
def test_commit_refuses_paths_git_refuses(sandbox: Sandbox, path: str) -> None:
    with api(sandbox) as c:
        before = c.get(W + "refs/branches/main").json()["target"]["hash"]
        response = c.post(W + "src", data={"/" + path: "x"})
        after = c.get(W + "refs/branches/main").json()["target"]["hash"]
    assert response.status_code == 400, (path, response.text)
    assert "path" in error_of(response)["fields"]
    assert before == after


@pytest.mark.parametrize("name", ["HEAD", "@", "-dash", "a/b.lock/c", "x" * 256])
def test_branch_names_git_refuses(sandbox: Sandbox, name: str) -> None:
    with api(sandbox) as c:
        created = c.post(W + "refs/branches", json={"name": name, "target": {"hash": "main"}})
        committed = c.post(W + "src", data={"/x.txt": "x", "branch": name})
    for response in (created, committed):
        assert response.status_code == 400, (name, response.text)
        assert error_of(response)["fields"]


def test_ordinary_names_still_pass(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        ok = c.post(W + "src", data={"/docs/.gitignore.md": "x", "/naïve/ünïcode.txt": "y", "branch": "feature/ok"})
        assert ok.status_code == 201, ok.text
        assert c.get(W + "src/feature%2Fok/naïve/ünïcode.txt").text == "y"


# 8. The body limit, on the bytes read ------------------------------------------------------------------------------
def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_multipart_over_the_limit_is_refused(sandbox: Sandbox) -> None:
    """No Content-Length: the limit holds on what arrives."""
    boundary = "sandboxboundary"
    payload = b"A" * (8 * 1024 * 1024)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="/big.bin"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with api(sandbox) as c:
        before = c.get(W + "refs/branches/main").json()["target"]["hash"]
        response = c.post(
            W + "src", content=_chunks(body), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        assert "content-length" not in response.request.headers
        assert response.status_code == 413, response.text[:300]
        assert error_of(response)["message"] == "Request entity too large"
        assert c.get(W + "refs/branches/main").json()["target"]["hash"] == before
        assert c.get(W + "src/main/big.bin").status_code == 404


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}'),
        ("application/x-www-form-urlencoded", b"title=" + b"x" * (3 * 1024 * 1024)),
    ],
)
def test_chunked_json_and_form_over_the_limit_are_refused(sandbox: Sandbox, content_type: str, body: bytes) -> None:
    with api(sandbox) as c:
        response = c.post(W + "issues", content=_chunks(body), headers={"Content-Type": content_type})
    assert response.status_code == 413, response.text[:300]


def test_a_file_just_under_the_limit_is_committed(sandbox: Sandbox) -> None:
    content = b"B" * (1536 * 1024)  # over the form parser's own 1 MiB default, under the 2 MiB limit
    with api(sandbox) as c:
        response = c.post(W + "src", files={"/big.txt": ("big.txt", content)})
        assert response.status_code == 201, response.text
        assert c.get(W + "src/main/big.txt").content == content


# 14. Rendered fields are markdown, escaped ---------------------------------------------------------------------------
def test_rendered_fields_escape_html_and_render_markdown(sandbox: Sandbox) -> None:
    title = "<script>alert(1)</script> **bold**"
    description = "Fixes `login`.\n\n- one\n- two\n\n[x](javascript:alert(1))"
    with api(sandbox) as c:
        pr = c.post(
            W + "pullrequests",
            json={"title": title, "description": description, "source": {"branch": {"name": "feature/login"}}},
        ).json()
        comment = c.post(
            W + "pullrequests/1/comments", json={"content": {"raw": "<img src=x onerror=alert(1)>"}}
        ).json()
        issue = c.post(W + "issues", json={"title": "t", "content": {"raw": "<b>bold</b> _it_"}}).json()
        commit = c.get(W + "commits/main").json()["values"][0]
    assert pr["rendered"]["title"]["html"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt; <strong>bold</strong></p>"
    html = pr["rendered"]["description"]["html"]
    assert "<code>login</code>" in html and "<li>one</li>" in html and 'href="javascript' not in html
    assert pr["summary"]["html"] == html
    assert comment["content"]["html"] == "<p>&lt;img src=x onerror=alert(1)&gt;</p>"
    assert issue["content"]["html"] == "<p>&lt;b&gt;bold&lt;/b&gt; <em>it</em></p>"
    assert commit["summary"]["html"].startswith("<p>") and "<script" not in json.dumps(commit)
    with anonymous(sandbox) as anon:
        assert anon.get(W + "pullrequests").status_code == 401  # private: nothing leaks to anyone else either
