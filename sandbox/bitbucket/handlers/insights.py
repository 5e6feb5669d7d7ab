"""Results on a commit: build statuses (``R/commit/{commit}/statuses``) and Code Insights reports with their
annotations (``R/commit/{commit}/reports``).

Shapes, enums and scopes follow the official OpenAPI document (``commitstatus``, ``report``, ``report_annotation``):
every operation there needs only the ``repository`` (read) scope. Choices where the service is not documented:
writing needs write access to the repository (as for any change to it); a report needs ``title``, ``details`` and
``report_type``, an annotation ``annotation_type`` and ``summary``, and a bulk upload an ``external_id`` on each.
Creating or updating a build status sends ``repo:commit_status_created`` / ``repo:commit_status_updated``.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.errors import BitbucketError, bad_request, field_error
from sandbox.bitbucket.handlers.repositories import render_repository, repo_for
from sandbox.bitbucket.handlers.source import _created, resolve
from sandbox.bitbucket.render import href, q
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc

COMMIT = "/repositories/{workspace}/{repo_slug}/commit/{commit}"
STATES = ("FAILED", "INPROGRESS", "STOPPED", "SUCCESSFUL")
REPORT_TYPES = ("SECURITY", "COVERAGE", "TEST", "BUG")
REPORT_RESULTS = ("PASSED", "FAILED", "PENDING")
DATA_TYPES = ("BOOLEAN", "DATE", "DURATION", "LINK", "NUMBER", "PERCENTAGE", "TEXT")
ANNOTATION_TYPES = ("VULNERABILITY", "CODE_SMELL", "BUG")
ANNOTATION_RESULTS = ("PASSED", "FAILED", "SKIPPED", "IGNORED")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
MAX_DATA = 10
MAX_ANNOTATIONS_PER_REQUEST = 100
MAX_ANNOTATIONS_PER_REPORT = 1000


def _commit(ctx: Ctx, level: str = "read") -> tuple[Doc, str]:
    """The repository and the full hash of ``{commit}``; 404 when either does not exist."""
    repo = repo_for(ctx, level)
    return repo, resolve(ctx.world.repo_git(repo), ctx.param("commit"))


def _text(body: J, name: str, required: bool = False, limit: int = 4000) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise field_error(name, "This field is required.")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise field_error(name, "A non-empty string is required." if required else "A string is required.")
    if len(value) > limit:
        raise field_error(name, f"At most {limit} characters.")
    return value


# Report and annotation links must be absolute http(s) URLs: the OpenAPI document gives them ``format: uri`` and
# Bitbucket's own pages link to them. The check is RFC 3986's grammar restricted to http(s) (an ASCII host, valid
# percent-escapes); anything else is a 400 naming the field, never an echo of a malformed link.
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_URL = re.compile(
    rf"https?://[A-Za-z0-9.\-]+(?::[0-9]{{1,5}})?(?:/{_PCHAR}*)*(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
)


def _url(body: J, name: str) -> str | None:
    value = _text(body, name)
    if value is not None and not _URL.fullmatch(value):
        raise field_error(name, "An absolute http(s) URL is required.")
    return value


def _choice(body: J, name: str, choices: tuple[str, ...], required: bool = False) -> str | None:
    value = _text(body, name, required)
    if value is not None and value not in choices:
        raise field_error(name, f"{value!r} is not one of {', '.join(choices)}.")
    return value


def _object(ctx: Ctx) -> J:
    if not isinstance(ctx.body, dict):
        raise bad_request("The request body must be a JSON object.")
    return ctx.body


# build statuses ----------------------------------------------------------------------------------------------
def _status_key(repo: Doc, sha: str, key: str) -> str:
    return f"{repo['full_name']}@{sha}:{key}"


def _status_url(template: str, repo: J, sha: str) -> str:
    """The URL with its context variables filled in, as Bitbucket does at render time."""

    def value(match: re.Match[str]) -> str:
        scope, _, attr = match.group(1).partition(".")
        if scope == "commit":
            return sha if attr in ("", "hash") else match.group(0)
        found = repo.get(attr) if scope == "repository" else None
        return str(found) if isinstance(found, str) else match.group(0)

    return re.sub(r"\{(repository(?:\.[a-z_]+)?|commit(?:\.hash)?)\}", value, template)


def render_status(ctx: Ctx, repo: Doc, status: Doc) -> J:
    base = ctx.r.repo_base(repo)
    sha = status["commit"]
    rendered_repo = ctx.r.repository(repo, full=False)
    out: J = {
        "type": "build",
        "key": status["key"],
        "state": status["state"],
        "name": status["name"],
        "description": status["description"],
        "url": _status_url(status["url"], {**rendered_repo, "slug": repo["slug"]}, sha),
        "created_on": status["created_on"],
        "updated_on": status["updated_on"],
        "commit": {"type": "commit", "hash": sha, "links": {"self": href(f"{base}/commit/{sha}")}},
        "repository": rendered_repo,
        "links": {
            "self": href(f"{base}/commit/{sha}/statuses/build/{q(status['key'])}"),
            "commit": href(f"{base}/commit/{sha}"),
        },
    }
    if status.get("refname") is not None:
        out["refname"] = status["refname"]
    return out


def _status_fields(body: J, partial: bool) -> J:
    out: J = {}
    for name in ("name", "description", "url", "refname"):
        if name in body:
            out[name] = _text(body, name)
    state = _choice(body, "state", STATES, required=not partial)
    if state is not None:
        out["state"] = state
    return out


def _save_status(ctx: Ctx, repo: Doc, sha: str, status: Doc, created: bool) -> J:
    ctx.world.store.put("commit_status", _status_key(repo, sha, status["key"]), status, parent=repo["full_name"])
    rendered = render_status(ctx, repo, status)
    event = "repo:commit_status_created" if created else "repo:commit_status_updated"
    ctx.world.emit(
        repo["full_name"],
        event,
        {"actor": ctx.actor(), "repository": render_repository(ctx, repo), "commit_status": rendered},
    )
    return rendered


@route("get", COMMIT + "/statuses")
def list_statuses(ctx: Ctx) -> J:
    repo, sha = _commit(ctx)
    refname = ctx.query.get("refname")
    statuses = [
        s
        for s in ctx.world.store.children("commit_status", repo["full_name"])
        if s["commit"] == sha and (refname is None or s.get("refname") in (None, refname))
    ]
    statuses.sort(key=lambda s: str(s["created_on"]))
    return ctx.page([render_status(ctx, repo, s) for s in statuses])


@route("post", COMMIT + "/statuses/build")
def create_status(ctx: Ctx) -> Response:
    """An existing key is overwritten (its ``created_on`` kept), as the documentation says."""
    repo, sha = _commit(ctx, "write")
    body = _object(ctx)
    key = _text(body, "key", required=True, limit=255)
    assert key is not None
    fields = _status_fields(body, partial=False)
    now = ctx.world.now()
    old = ctx.world.store.get("commit_status", _status_key(repo, sha, key))
    status = {
        "key": key,
        "commit": sha,
        "name": key,
        "description": "",
        "url": "",
        "refname": None,
        "created_on": old["created_on"] if old else now,
        **fields,
        "updated_on": now,
    }
    rendered = _save_status(ctx, repo, sha, status, created=old is None)
    return _created(rendered, rendered["links"]["self"]["href"])


def _status(ctx: Ctx, repo: Doc, sha: str) -> Doc:
    found = ctx.world.store.get("commit_status", _status_key(repo, sha, ctx.param("key")))
    if found is None:
        raise BitbucketError(404, f"Build status {ctx.param('key')} not found for commit {sha}")
    return found


@route("get", COMMIT + "/statuses/build/{key}")
def get_status(ctx: Ctx) -> J:
    repo, sha = _commit(ctx)
    return render_status(ctx, repo, _status(ctx, repo, sha))


@route("put", COMMIT + "/statuses/build/{key}")
def update_status(ctx: Ctx) -> J:
    """``key`` cannot change: a different one in the body is ignored."""
    repo, sha = _commit(ctx, "write")
    status = _status(ctx, repo, sha)
    status.update(_status_fields(_object(ctx), partial=True))
    status["updated_on"] = ctx.world.now()
    return _save_status(ctx, repo, sha, status, created=False)


# Code Insights reports -----------------------------------------------------------------------------------------
def _report_key(repo: Doc, sha: str, report_id: str) -> str:
    return f"{repo['full_name']}@{sha}/{report_id}"


def _find_report(ctx: Ctx, repo: Doc, sha: str) -> Doc | None:
    """By external id, or by the UUID Bitbucket gave it."""
    wanted = ctx.param("reportId")
    found = ctx.world.store.get("report", _report_key(repo, sha, wanted))
    if found is None and wanted.startswith("{"):
        found = next(
            (
                r
                for r in ctx.world.store.children("report", repo["full_name"])
                if r["commit"] == sha and r["uuid"] == wanted
            ),
            None,
        )
    return found


def _report(ctx: Ctx, repo: Doc, sha: str) -> Doc:
    found = _find_report(ctx, repo, sha)
    if found is None:
        raise BitbucketError(404, f"Report {ctx.param('reportId')} not found for commit {sha}")
    return found


def render_report(report: Doc) -> J:
    keep = (
        "uuid",
        "title",
        "details",
        "external_id",
        "reporter",
        "link",
        "remote_link_enabled",
        "logo_url",
        "report_type",
        "result",
        "data",
        "created_on",
        "updated_on",
    )
    return {"type": "report", **{k: report[k] for k in keep if report.get(k) is not None}}


def _data(items: Any) -> list[J]:
    if not isinstance(items, list):
        raise field_error("data", "A list of data fields is required.")
    if len(items) > MAX_DATA:
        raise field_error("data", f"At most {MAX_DATA} data fields.")
    out = []
    for i, item in enumerate(items):
        where = f"data[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("title"), str) or "value" not in item:
            raise field_error(where, "An object with a title and a value is required.")
        kind, value = item.get("type"), item["value"]
        if kind is not None and kind not in DATA_TYPES:
            raise field_error(f"{where}.type", f"{kind!r} is not one of {', '.join(DATA_TYPES)}.")
        if not _data_value_ok(kind, value):
            raise field_error(f"{where}.value", f"Not a valid value for the type {kind or '(none)'}.")
        out.append({k: item[k] for k in ("title", "type", "value") if k in item})
    return out


def _data_value_ok(kind: str | None, value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if kind in ("DATE", "DURATION", "NUMBER"):
        return number
    if kind == "PERCENTAGE":
        return number and 0 <= value <= 100
    if kind == "LINK":
        return isinstance(value, dict) and isinstance(value.get("text"), str) and isinstance(value.get("href"), str)
    if kind == "TEXT":
        return isinstance(value, str)
    return number or isinstance(value, str | bool)


def _report_fields(body: J) -> J:
    out: J = {
        "title": _text(body, "title", required=True, limit=450),
        "details": _text(body, "details", required=True, limit=2000),
        "report_type": _choice(body, "report_type", REPORT_TYPES, required=True),
        "result": _choice(body, "result", REPORT_RESULTS),
    }
    out["reporter"] = _text(body, "reporter")
    for name in ("link", "logo_url"):
        out[name] = _url(body, name)
    if "remote_link_enabled" in body:
        if not isinstance(body["remote_link_enabled"], bool):
            raise field_error("remote_link_enabled", "A boolean is required.")
        out["remote_link_enabled"] = body["remote_link_enabled"]
    if "data" in body:
        out["data"] = _data(body["data"])
    return out


@route("get", COMMIT + "/reports")
def list_reports(ctx: Ctx) -> J:
    repo, sha = _commit(ctx)
    reports = [r for r in ctx.world.store.children("report", repo["full_name"]) if r["commit"] == sha]
    return ctx.page([render_report(r) for r in reports], filterable=False)


@route("put", COMMIT + "/reports/{reportId}")
def put_report(ctx: Ctx) -> J:
    repo, sha = _commit(ctx, "write")
    fields = _report_fields(_object(ctx))
    old = _find_report(ctx, repo, sha)
    now = ctx.world.now()
    external_id = old["external_id"] if old else ctx.param("reportId")
    report = {
        "uuid": old["uuid"] if old else ctx.world.ids.uuid("report"),
        "external_id": external_id,
        "commit": sha,
        "created_on": old["created_on"] if old else now,
        **fields,
        "updated_on": now,
    }
    ctx.world.store.put("report", _report_key(repo, sha, external_id), report, parent=repo["full_name"])
    return render_report(report)


@route("get", COMMIT + "/reports/{reportId}")
def get_report(ctx: Ctx) -> J:
    repo, sha = _commit(ctx)
    return render_report(_report(ctx, repo, sha))


@route("delete", COMMIT + "/reports/{reportId}")
def delete_report(ctx: Ctx) -> Response:
    """Its annotations go with it."""
    repo, sha = _commit(ctx, "write")
    report = _find_report(ctx, repo, sha)
    if report is not None:
        for annotation in _annotations(ctx, repo, report):
            ctx.world.store.delete("annotation", annotation["_key"])
        ctx.world.store.delete("report", _report_key(repo, sha, report["external_id"]))
    return Response(status_code=204)


# annotations ---------------------------------------------------------------------------------------------------
def _annotation_key(repo: Doc, report: Doc, external_id: str) -> str:
    return f"{_report_key(repo, report['commit'], report['external_id'])}/{external_id}"


def _annotations(ctx: Ctx, repo: Doc, report: Doc) -> list[Doc]:
    return [a for a in ctx.world.store.children("annotation", repo["full_name"]) if a["report"] == report["uuid"]]


def render_annotation(annotation: Doc) -> J:
    keep = (
        "uuid",
        "external_id",
        "annotation_type",
        "path",
        "line",
        "summary",
        "details",
        "result",
        "severity",
        "link",
        "created_on",
        "updated_on",
    )
    return {"type": "report_annotation", **{k: annotation[k] for k in keep if annotation.get(k) is not None}}


def _annotation_fields(body: Any, where: str = "") -> J:
    if not isinstance(body, dict):
        raise bad_request(f"{where or 'The body'}: an annotation object is required.")
    try:
        out: J = {
            "annotation_type": _choice(body, "annotation_type", ANNOTATION_TYPES, required=True),
            "summary": _text(body, "summary", required=True, limit=450),
            "details": _text(body, "details", limit=2000),
            "result": _choice(body, "result", ANNOTATION_RESULTS),
            "severity": _choice(body, "severity", SEVERITIES),
            "path": _text(body, "path", limit=1000),
            "link": _url(body, "link"),
        }
        line = body.get("line")
        if line is not None and (not isinstance(line, int) or isinstance(line, bool) or line < 1):
            raise field_error("line", "A whole number of at least 1 is required.")
        out["line"] = line
    except BitbucketError as exc:
        if where and exc.fields:
            exc.fields = {f"{where}.{name}": problems for name, problems in exc.fields.items()}
            exc.detail = f"{where}.{exc.detail}"
        raise
    return out


def _save_annotation(ctx: Ctx, repo: Doc, report: Doc, external_id: str, fields: J) -> Doc:
    key = _annotation_key(repo, report, external_id)
    old = ctx.world.store.get("annotation", key)
    now = ctx.world.now()
    annotation = {
        "_key": key,
        "uuid": old["uuid"] if old else ctx.world.ids.uuid("annotation"),
        "external_id": external_id,
        "report": report["uuid"],
        "created_on": old["created_on"] if old else now,
        **fields,
        "updated_on": now,
    }
    return ctx.world.store.put("annotation", key, annotation, parent=repo["full_name"])


def _room_for(ctx: Ctx, repo: Doc, report: Doc, new_ids: list[str]) -> None:
    held = {a["external_id"] for a in _annotations(ctx, repo, report)}
    if len(held | set(new_ids)) > MAX_ANNOTATIONS_PER_REPORT:
        raise bad_request(f"A report holds at most {MAX_ANNOTATIONS_PER_REPORT} annotations.")


@route("get", COMMIT + "/reports/{reportId}/annotations")
def list_annotations(ctx: Ctx) -> J:
    repo, sha = _commit(ctx)
    report = _report(ctx, repo, sha)
    return ctx.page([render_annotation(a) for a in _annotations(ctx, repo, report)], filterable=False)


@route("post", COMMIT + "/reports/{reportId}/annotations")
def bulk_annotations(ctx: Ctx) -> list[J]:
    """Up to 100 annotations per request, each with its ``external_id``; an existing one is replaced."""
    repo, sha = _commit(ctx, "write")
    report = _report(ctx, repo, sha)
    items = ctx.body
    if not isinstance(items, list) or not items:
        raise bad_request("The request body must be a JSON array of 1 to 100 annotations.")
    if len(items) > MAX_ANNOTATIONS_PER_REQUEST:
        raise bad_request(f"At most {MAX_ANNOTATIONS_PER_REQUEST} annotations per request; {len(items)} were sent.")
    parsed: list[tuple[str, J]] = []
    for i, item in enumerate(items):
        external_id = item.get("external_id") if isinstance(item, dict) else None
        if not isinstance(external_id, str) or not external_id:
            raise field_error(f"[{i}].external_id", "This field is required.")
        parsed.append((external_id, _annotation_fields(item, f"[{i}]")))
    _room_for(ctx, repo, report, [external_id for external_id, _ in parsed])
    return [render_annotation(_save_annotation(ctx, repo, report, eid, fields)) for eid, fields in parsed]


def _annotation(ctx: Ctx, repo: Doc, report: Doc) -> Doc:
    wanted = ctx.param("annotationId")
    found = ctx.world.store.get("annotation", _annotation_key(repo, report, wanted))
    if found is None:
        found = next((a for a in _annotations(ctx, repo, report) if a["uuid"] == wanted), None)
    if found is None:
        raise BitbucketError(404, f"Annotation {wanted} not found in report {report['external_id']}")
    return found


@route("get", COMMIT + "/reports/{reportId}/annotations/{annotationId}")
def get_annotation(ctx: Ctx) -> J:
    repo, sha = _commit(ctx)
    return render_annotation(_annotation(ctx, repo, _report(ctx, repo, sha)))


@route("put", COMMIT + "/reports/{reportId}/annotations/{annotationId}")
def put_annotation(ctx: Ctx) -> J:
    repo, sha = _commit(ctx, "write")
    report = _report(ctx, repo, sha)
    fields = _annotation_fields(ctx.body)
    external_id = ctx.param("annotationId")
    _room_for(ctx, repo, report, [external_id])
    return render_annotation(_save_annotation(ctx, repo, report, external_id, fields))


@route("delete", COMMIT + "/reports/{reportId}/annotations/{annotationId}")
def delete_annotation(ctx: Ctx) -> Response:
    repo, sha = _commit(ctx, "write")
    report = _find_report(ctx, repo, sha)
    if report is not None:
        found = ctx.world.store.get("annotation", _annotation_key(repo, report, ctx.param("annotationId")))
        if found is not None:
            ctx.world.store.delete("annotation", found["_key"])
    return Response(status_code=204)
