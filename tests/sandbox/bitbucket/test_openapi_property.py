"""Property-based conformance: every operation the emulator implements, fuzzed from the official OpenAPI document.

schemathesis generates requests for each (method, path) in the handler registry and sends them to a running
sandbox over HTTP with a full-scope API token. No answer may be a 5xx, and every answer must match what the
document says about its status, content type and body. Path parameters, some query parameters and some bodies
are steered towards the objects of the default world (plus a few seeded ones), so handlers run past their 404s.

Every schemathesis check runs (including the probes of ignored_auth and negative_data_rejection), except the
(check, operation, answer) pairs listed with their reasons in ``sandbox.bitbucket.deviations``, the one list of
where the emulator knowingly differs from the document; an exempted answer is still held to what it must be
instead (``_assert_deviation_holds``). The document itself is used as published bar two narrow schema
corrections (``_document``), each saying why.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import httpx
import hypothesis
import jsonschema
import pytest
import schemathesis
from hypothesis import strategies as st
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.core.parameters import ParameterLocation

import sandbox.bitbucket.app  # noqa: F401  (imports every handler, filling ENDPOINTS)
from sandbox import Sandbox
from sandbox.bitbucket.deviations import ANY, DEVIATIONS, WHEN
from sandbox.bitbucket.operations import openapi_document
from sandbox.bitbucket.routing import ENDPOINTS

MAX_EXAMPLES = 20
AUTH = ("alice@example.com", "sandbox-apitoken-alice-full")
BOB = ("bob@example.com", "sandbox-apitoken-bob-full")
R = "/repositories/{workspace}/{repo_slug}"
SRC_ROOT = R + "/src"
SRC = R + "/src/{commit}/{path}"
HOOK_URL = "http://127.0.0.1:9/hook"  # loopback, nothing listens: deliveries fail fast and are only logged


def _document() -> dict[str, Any]:
    doc = copy.deepcopy(openapi_document())
    schemas = doc["components"]["schemas"]
    # Validation errors carry ``error.fields`` ({"name": ["..."]}) on Bitbucket Cloud, e.g. POST
    # /repositories/{workspace}/{repo_slug} on an existing slug, POST .../pullrequests without a title; the
    # document's ``error`` object forbids any key but message/detail/data.
    schemas["error"]["properties"]["error"]["properties"]["fields"] = {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    }
    # A repository's ssh clone link is scp-like (git@bitbucket.org:acme/widgets.git) on Bitbucket Cloud, which is
    # no RFC 3986 URI; affects GET /repositories/{workspace} and GET/POST /repositories/{workspace}/{repo_slug}.
    clone = schemas["repository"]["allOf"][1]["properties"]["links"]["properties"]["clone"]["items"]
    clone["properties"]["href"] = {"type": "string", "anyOf": [{"format": "uri"}, {"pattern": r"^git@[^:/]+:.+\.git$"}]}
    return doc


load_all_checks()
DOC = _document()
IMPLEMENTED = {(e.method.upper(), e.path) for e in ENDPOINTS}
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "with-security-parameters": False},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(DOC, config=CONFIG).include(
    lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in IMPLEMENTED
)
_REGISTRY = Registry().with_resource("urn:doc", Resource.from_contents(DOC, default_specification=DRAFT4))


def assert_component(name: str, body: Any) -> None:
    validator = jsonschema.Draft4Validator({"$ref": f"urn:doc#/components/schemas/{name}"}, registry=_REGISTRY)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, f"{name}: {errors[:5]}"


# Real values of the default world, the seeded ids (filled in by the ``world`` fixture) and a few edge values.
REAL: dict[str, list[Any]] = {
    "workspace": ["acme"],
    "repo_slug": ["widgets"],
    "pull_request_id": [1],
    "issue_id": [1, 2, 3],
    "name": ["main", "feature/login", "topic"],
    "commit": ["main"],
    "revision": ["main", "feature/login"],
    "path": ["README.md", "src", "src/widgets/app.py", "docs/guide.md", "README.md/inside-a-file"],
    "spec": ["main", "feature/login..main", "topic"],
    "uid": [],
    "encoded_id": [],
    "key": ["harness"],
    "reportId": ["harness-run"],
    "annotationId": ["harness-cell-1"],
    "id": [1],
}
QUERY: dict[str, list[Any]] = {
    "q": ['state = "OPEN"', 'title ~ "widget" AND kind = "bug"', 'name = "main"', "created_on > 2020-01-01"],
    "sort": ["-created_on", "name", "-updated_on", "id"],
    "state": ["OPEN", "MERGED"],
    "format": ["meta"],
    "max_depth": [2],
    "role": ["member", "owner"],
    "branch": ["main", "topic"],
    "parents": ["main"],
    "message": ["Fuzzed commit"],
    "author": ["Fuzz <fuzz@example.com>"],
    "path": ["README.md", "../README.md"],
}
# Bodies that let an operation succeed: laid over the generated body half the time, or, where the document
# describes no body although the operation takes one (POST .../hooks, .../refs/branches, .../src, /snippets),
# sent as they are half the time.
JSON = "application/json"
BODIES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("POST", R + "/pullrequests"): (
        JSON,
        {"title": "Fuzzed", "source": {"branch": {"name": "topic"}}, "destination": {"branch": {"name": "main"}}},
    ),
    ("POST", R + "/pullrequests/{pull_request_id}/comments"): (JSON, {"content": {"raw": "Looks good"}}),
    ("POST", R + "/pullrequests/{pull_request_id}/merge"): (JSON, {"merge_strategy": "merge_commit"}),
    ("POST", R + "/issues"): (JSON, {"title": "Fuzzed issue"}),
    ("POST", R + "/issues/{issue_id}/comments"): (JSON, {"content": {"raw": "Seen it"}}),
    ("POST", R + "/hooks"): (JSON, {"url": HOOK_URL, "events": ["repo:push"]}),
    ("PUT", R + "/hooks/{uid}"): (JSON, {"url": HOOK_URL, "active": False}),
    ("POST", R + "/refs/branches"): (JSON, {"name": "fuzzed", "target": {"hash": "main"}}),
    ("POST", SRC_ROOT): ("application/x-www-form-urlencoded", {"/fuzz.txt": "fuzzed\n"}),
    ("POST", "/snippets"): (JSON, {"title": "Fuzzed", "files": {"f.txt": {"content": "x"}}}),
    ("POST", "/snippets/{workspace}"): (JSON, {"title": "Fuzzed", "files": {"f.txt": {"content": "x"}}}),
    ("POST", "/snippets/{workspace}/{encoded_id}/comments"): (JSON, {"content": {"raw": "Nice"}}),
    ("POST", R + "/commit/{commit}/statuses/build"): (JSON, {"key": "harness", "state": "SUCCESSFUL"}),
    ("PUT", R + "/commit/{commit}/statuses/build/{key}"): (JSON, {"state": "FAILED"}),
    ("PUT", R + "/commit/{commit}/reports/{reportId}"): (
        JSON,
        {"title": "Fuzzed", "details": "Fuzzed report", "report_type": "TEST", "result": "PASSED"},
    ),
    ("PUT", R + "/commit/{commit}/reports/{reportId}/annotations/{annotationId}"): (
        JSON,
        {"annotation_type": "BUG", "summary": "Fuzzed annotation"},
    ),
    ("POST", R + "/branch-restrictions"): (JSON, {"kind": "delete", "pattern": "fuzz/*"}),
}


def _mostly(real: list[Any], generated: Any) -> st.SearchStrategy[Any]:
    """A real value seven times in eight, the generated one otherwise."""
    if not real:
        return st.just(generated)
    return st.integers(0, 7).flatmap(lambda i: st.just(generated) if i == 0 else st.sampled_from(real))


def _steer(values: dict[str, Any] | None, real: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    if not values:
        return st.just(values)
    return st.fixed_dictionaries({k: _mostly(real.get(k, []), v) for k, v in values.items()})


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
    return _steer(path_parameters, REAL)


@schema.hook
def flatmap_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> Any:
    return _steer(query, QUERY)


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
    op = context.operation
    valid = BODIES.get((op.method.upper(), op.path)) if op is not None else None
    if valid is None or not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body, {**body, **valid[1]}])


@schema.hook
def flatmap_case(context: schemathesis.HookContext, case: schemathesis.Case) -> Any:
    valid = BODIES.get((case.method, case.operation.path))
    if valid is None or case.operation.body:  # documented bodies are steered by flatmap_body
        return st.just(case)
    return st.booleans().map(lambda send: _with_body(case, *valid) if send else case)


def _with_body(case: schemathesis.Case, media_type: str, body: dict[str, Any]) -> schemathesis.Case:
    case.body = copy.deepcopy(body)
    case.media_type = media_type
    return case


@pytest.fixture
def world(sandbox: Sandbox) -> Sandbox:
    """The default world plus what it lacks: bob's open pull request with alice as approving reviewer, an inline
    comment and a reply, an issue assignee, a webhook, a snippet with a comment and a ``topic`` branch."""
    # Failed deliveries are not retried, so that the reset before the next test does not wait for retries.
    sandbox.admin.patch("/settings", json={"webhook_retry_delays": []}).raise_for_status()
    base = sandbox.urls["bitbucket_api"] + "/"
    with (
        httpx.Client(base_url=base, auth=AUTH, trust_env=False) as c,
        httpx.Client(base_url=base, auth=BOB, trust_env=False) as bob,
    ):
        w = "repositories/acme/widgets/"
        members = {
            m["user"]["nickname"]: {"uuid": m["user"]["uuid"]}
            for m in c.get("workspaces/acme/members").json()["values"]
        }
        steps = [
            bob.post(
                w + "pullrequests",
                json={
                    "title": "Login",
                    "source": {"branch": {"name": "feature/login"}},
                    "reviewers": [members["alice"]],
                },
            ),
            c.post(w + "pullrequests/1/approve"),
            c.post(
                w + "pullrequests/1/comments",
                json={"content": {"raw": "Why?"}, "inline": {"path": "src/widgets/login.py", "to": 1}},
            ),
            bob.post(w + "pullrequests/1/comments", json={"content": {"raw": "Because."}, "parent": {"id": 1}}),
            c.put(w + "issues/1", json={"assignee": members["bob"]}),
            c.post(w + "issues/1/comments", json={"content": {"raw": "Reproduced."}}),
            c.post(w + "hooks", json={"url": HOOK_URL, "events": ["repo:push", "issue:created"], "secret": "s"}),
            c.post(w + "src", data={"/topic.txt": "topic\n", "branch": "topic", "message": "Topic"}),
            c.post("snippets/acme", json={"title": "Snippet", "files": {"a.txt": {"content": "x"}}}),
            c.post(w + "commit/main/statuses/build", json={"key": "harness", "state": "INPROGRESS"}),
            c.put(
                w + "commit/main/reports/harness-run",
                json={"title": "Run", "details": "One cell", "report_type": "TEST", "result": "FAILED"},
            ),
            c.post(
                w + "commit/main/reports/harness-run/annotations",
                json=[{"external_id": "harness-cell-1", "annotation_type": "BUG", "summary": "fail"}],
            ),
            c.post(w + "branch-restrictions", json={"kind": "push", "pattern": "release/*", "users": []}),
        ]
        assert all(r.status_code in (200, 201) for r in steps), [(r.request.url, r.text) for r in steps]
        REAL["uid"][:] = [steps[6].json()["uuid"]]
        snippet = steps[8].json()["links"]["self"]["href"].rsplit("/", 1)[1]
        REAL["encoded_id"][:] = [snippet]
        reply = c.post(f"snippets/acme/{snippet}/comments", json={"content": {"raw": "Hi"}})
        assert reply.status_code == 201, reply.text
    return sandbox


def _when(case: schemathesis.Case, response: schemathesis.Response) -> set[str]:
    """Which of the deviations' conditions (deviations.WHEN) this answer meets."""
    status = response.status_code
    found = {"always"}
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY):
        found.add("negative body")
    if (case.method, case.operation.path, status) == ("GET", SRC, 200) and (
        (case.query or {}).get("format") in ("meta", "rendered")
        or not response.headers.get("content-type", [""])[0].startswith("application/json")
    ):
        found.add("file answer")
    if 400 <= status < 500 and case.operation.responses.find_by_status_code(status) is None:
        found.add("undocumented 4xx")
    if status == 302:
        found.add("redirect")
    if case.method == "DELETE":
        found.add("after delete")
    if case.method == "GET":
        found.add("public data")
    return found


def _exempted(case: schemathesis.Case, response: schemathesis.Response) -> list[Any]:
    """The checks that the listed deviations exempt for this answer, and only those."""
    operation, when = f"{case.method} {case.operation.path}", _when(case, response)
    names = {d.check for d in DEVIATIONS if d.applies(operation, when)}
    return [REGISTRY.get_one(name) for name in sorted(names)]


def _assert_deviation_holds(case: schemathesis.Case, response: schemathesis.Response) -> None:
    """What an exempted answer must be instead: the error envelope, the documented redirect, the file's shape."""
    status, content_type = response.status_code, response.headers.get("content-type", [""])[0]
    if 400 <= status < 500:
        assert content_type.startswith("application/json"), content_type
        assert_component("error", json.loads(response.content))
    if (case.operation.path, status) == (SRC_ROOT, 302):
        assert re.search(r"/src/[0-9a-f]{40}/", response.headers["location"][0])
    if (case.operation.path, status) == (SRC, 200) and content_type.startswith("application/json"):
        body = json.loads(response.content)
        fmt = (case.query or {}).get("format")
        if fmt == "meta":
            assert_component("commit_file" if body.get("type") == "commit_file" else "treeentry", body)
        elif fmt == "rendered" and "values" not in body:
            assert set(body) == {"raw", "markup", "html"}, body
    elif (case.operation.path, status) == (SRC, 200):
        assert "attachment" in response.headers.get("content-disposition", [""])[0]


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # The world is seeded once per operation on purpose: its examples share (and change) it.
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture, hypothesis.HealthCheck.too_slow],
)
def test_operation_conforms(case: schemathesis.Case, world: Sandbox) -> None:
    """Every schemathesis check, bar the (check, operation, answer) exemptions of deviations.DEVIATIONS."""
    base = world.urls["bitbucket_api"]
    response = case.call(base_url=base, auth=AUTH, allow_redirects=False, timeout=30)
    _assert_deviation_holds(case, response)
    # The auth goes in transport_kwargs too, so that ignored_auth knows it is the real one and probes without it.
    case.validate_response(
        response,
        excluded_checks=_exempted(case, response),
        transport_kwargs={"auth": AUTH, "base_url": base, "timeout": 30, "allow_redirects": False},
    )


def test_every_deviation_names_a_real_check_and_operation() -> None:
    """The list stays honest: each entry exempts a check schemathesis has, on operations the emulator serves."""
    operations = {f"{m} {p}" for m, p in IMPLEMENTED}
    for d in DEVIATIONS:
        assert d.check in REGISTRY.get_all_names(), d.check
        assert d.when in WHEN, d.when
        assert ANY in d.operations or set(d.operations) <= operations, d.operations
        assert d.reason


# Regressions: one request per bug the run (and the probing around it) found; each was a 5xx or a schema
# violation before the fix and is now a 4xx error envelope or a conforming answer.
W = "repositories/acme/widgets/"
REGRESSIONS = [
    # gitstore.read: a path through a file raised dulwich's NotTreeError.
    ("GET", W + "src/main/README.md/x", {}, 404, "No such file or directory"),
    # source._max_depth: "²".isdigit() is true but int("²") raises.
    ("GET", W + "src/main/src", {"params": {"max_depth": "²"}}, 400, "Invalid max_depth"),
    # source.diff: an invalid ?path= raised InvalidPath.
    ("GET", W + "diff/main", {"params": {"path": "../etc"}}, 400, "Invalid path"),
    ("GET", W + "diff/main", {"params": {"path": "a\x00b"}}, 400, "Invalid path"),
    # pullrequests._reviewers: a non-list reviewers value was iterated.
    (
        "POST",
        W + "pullrequests",
        {"json": {"title": "x", "source": {"branch": {"name": "feature/login"}}, "reviewers": 5}},
        400,
        "reviewers",
    ),
    # gitstore.valid_branch_name: DEL passed the check and dulwich refused the ref.
    ("POST", W + "refs/branches", {"json": {"name": "a\x7fb", "target": {"hash": "main"}}}, 400, "branch name"),
    ("POST", W + "src", {"data": {"/x.txt": "x", "branch": "a\x7fb"}}, 400, "branch name"),
    # source._no_conflict: "feature" next to "feature/login" broke on-disk refs (IsADirectoryError).
    ("POST", W + "refs/branches", {"json": {"name": "feature", "target": {"hash": "main"}}}, 400, "conflicts"),
    ("POST", W + "refs/branches", {"json": {"name": "main/x", "target": {"hash": "main"}}}, 400, "conflicts"),
    ("POST", W + "src", {"data": {"/x.txt": "x", "branch": "feature"}}, 400, "conflicts"),
    # source.commit_src: a newline in the author corrupted the commit header.
    ("POST", W + "src", {"data": {"/x.txt": "x", "author": "A\nB <a@b.c>"}}, 400, "author"),
    # context.Ctx.fields: a lone surrogate parsed from JSON could not be encoded (500 on render or in git).
    ("POST", W + "issues", {"content": b'{"title": "x\\udc80"}'}, 400, "surrogate"),
    ("POST", W + "refs/branches", {"content": b'{"name": "x\\udc80", "target": {"hash": "main"}}'}, 400, "surrogate"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "message"),
    REGRESSIONS,
    ids=[f"{m} {p.removeprefix(W)} {i}" for i, (m, p, *_) in enumerate(REGRESSIONS)],
)
def test_regression(
    sandbox: Sandbox, method: str, path: str, kwargs: dict[str, Any], status: int, message: str
) -> None:
    if "content" in kwargs:
        kwargs = {**kwargs, "headers": {"Content-Type": "application/json"}}
    with httpx.Client(base_url=sandbox.urls["bitbucket_api"] + "/", auth=AUTH, trust_env=False) as c:
        response = c.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and message in json.dumps(body["error"], ensure_ascii=False), body
    assert_component("error", body)


def test_regression_reviewers_on_update(world: Sandbox) -> None:
    """pullrequests._reviewers, on PUT."""
    with httpx.Client(base_url=world.urls["bitbucket_api"] + "/", auth=AUTH, trust_env=False) as c:
        response = c.put(W + "pullrequests/1", json={"reviewers": 5})
    assert response.status_code == 400 and "reviewers" in response.json()["error"]["fields"], response.text


def test_regression_inline_comment_lines(world: Sandbox) -> None:
    """pullrequests._inline: non-integer inline lines were stored and echoed, violating pullrequest_comment."""
    with httpx.Client(base_url=world.urls["bitbucket_api"] + "/", auth=AUTH, trust_env=False) as c:
        bad = c.post(
            W + "pullrequests/1/comments", json={"content": {"raw": "x"}, "inline": {"path": "a", "from": "abc"}}
        )
        assert bad.status_code == 400 and "inline" in bad.json()["error"]["fields"], bad.text
        ok = c.post(
            W + "pullrequests/1/comments",
            json={"content": {"raw": "x"}, "inline": {"path": "a", "from": None, "to": 3}},
        )
    assert ok.status_code == 201, ok.text
    assert ok.json()["inline"] == {"path": "a", "to": 3}
    assert_component("pullrequest_comment", ok.json())


def test_regression_snippet_form_field_not_utf8(sandbox: Sandbox) -> None:
    """snippets._create: a multipart field that is not UTF-8 raised UnicodeDecodeError."""
    with httpx.Client(base_url=sandbox.urls["bitbucket_api"] + "/", auth=AUTH, trust_env=False) as c:
        response = c.post("snippets/acme", files={"title": ("t", b"\xff\xfe"), "file": ("f", b"x")})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "\ufffd\ufffd"


def test_regression_comment_parent_has_type(world: Sandbox) -> None:
    """render.comment: a reply's ``parent`` had no ``type``, which the comment schema requires (found by the run)."""
    with httpx.Client(base_url=world.urls["bitbucket_api"] + "/", auth=AUTH, trust_env=False) as c:
        listed = c.get(W + "pullrequests/1/comments").json()["values"]
    reply = next(v for v in listed if "parent" in v)
    assert reply["parent"]["type"] == "pullrequest_comment" and reply["parent"]["id"] == 1
    assert_component("pullrequest_comment", reply)
