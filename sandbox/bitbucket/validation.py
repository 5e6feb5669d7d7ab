"""Request checks that hold on every operation, read from the official OpenAPI document.

* Query parameters the document declares with an ``enum``, ``integer`` or ``boolean`` schema are checked on every
  operation the same way, so ``/snippets?role=AAA`` and ``/workspaces?role=AAA`` both answer 400 naming ``role``.
  Parameters the document leaves out (``page``, ``pagelen``, ``q``, ``sort`` on most lists) are checked by the
  paging and filtering code.
* A body must come as JSON or as a form (Bitbucket takes both for flat bodies); any other ``Content-Type``, or
  none, on a non-empty body is 415 Unsupported Media Type.

The few places where this is looser than the document are listed in ``sandbox.bitbucket.deviations``.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.datastructures import QueryParams

from sandbox.bitbucket.deviations import CASE_INSENSITIVE_ENUMS
from sandbox.bitbucket.errors import BitbucketError
from sandbox.bitbucket.operations import openapi_document

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_BOOLEANS = ("true", "false")


@functools.cache
def query_schemas(method: str, path: str) -> dict[str, dict[str, Any]]:
    """The checkable query parameters of one operation: name -> schema (enum, integer or boolean)."""
    item = openapi_document()["paths"].get(path, {})
    declared = [*item.get("parameters", []), *item.get(method.lower(), {}).get("parameters", [])]
    out: dict[str, dict[str, Any]] = {}
    for param in declared:
        schema = param.get("schema", {})
        if param.get("in") == "query" and ("enum" in schema or schema.get("type") in ("integer", "boolean")):
            out[param["name"]] = schema
    return out


def check_query(method: str, path: str, query: QueryParams) -> None:
    for name, schema in query_schemas(method, path).items():
        for raw in query.getlist(name):
            problem = _problem((method.lower(), path, name), schema, raw)
            if problem:
                raise BitbucketError(400, f"Invalid {name}", fields={name: [problem]}, detail=f"{name}: {problem}")


def _problem(where: tuple[str, str, str], schema: dict[str, Any], raw: str) -> str | None:
    if "enum" in schema:
        allowed = [str(v) for v in schema["enum"]]
        value = raw.upper() if where in CASE_INSENSITIVE_ENUMS else raw
        return None if value in allowed else f"Must be one of: {', '.join(allowed)}."
    if schema.get("type") == "integer":
        digits = raw[1:] if raw.startswith("-") else raw
        return None if digits.isascii() and digits.isdigit() else "A whole number is required."
    return None if raw in _BOOLEANS else "Must be true or false."


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def check_content_type(content_type: str | None, body: bytes) -> None:
    """A JSON or form body only; an empty body may carry any Content-Type (or none)."""
    kind = media_type(content_type)
    if not body.strip() or kind in JSON_TYPES or kind in FORM_TYPES:
        return
    given = f"Content-Type {kind}" if kind else "A body without a Content-Type"
    raise BitbucketError(
        415,
        "Unsupported Media Type",
        detail=f"{given} is not accepted here: send application/json (or a form where the operation takes one).",
    )
