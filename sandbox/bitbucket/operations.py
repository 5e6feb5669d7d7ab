"""The operations of the official OpenAPI document, with the scopes each one requires.

Scopes are read from the document itself (``security`` for the OAuth vocabulary and
``x-atlassian-oauth2-scopes`` for API tokens) so they cannot drift from Atlassian's published table.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OPENAPI_PATH = Path(__file__).with_name("openapi") / "bitbucket-openapi.json"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the OpenAPI template, e.g. /repositories/{workspace}/{repo_slug}
    oauth_scopes: tuple[str, ...]  # any one OAuth scope listed must be held (normally exactly one)
    token_scopes: tuple[str, ...]  # every API-token scope listed must be held (no implication)
    deprecated: bool

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.path}"


@functools.cache
def openapi_document() -> dict[str, Any]:
    with OPENAPI_PATH.open(encoding="utf-8") as fh:
        doc: dict[str, Any] = json.load(fh)
    return doc


def _operation(method: str, path: str, spec: dict[str, Any]) -> Operation:
    oauth: list[str] = []
    for requirement in spec.get("security", []):
        oauth.extend(requirement.get("oauth2", []))
    token: list[str] = []
    for entry in spec.get("x-atlassian-oauth2-scopes", []):
        token.extend(entry.get("scopes", []))
    return Operation(method, path, tuple(oauth), tuple(dict.fromkeys(token)), bool(spec.get("deprecated")))


@functools.cache
def operations() -> dict[tuple[str, str], Operation]:
    table: dict[tuple[str, str], Operation] = {}
    for path, item in openapi_document()["paths"].items():
        for method, spec in item.items():
            if method in {"get", "post", "put", "delete", "patch"}:
                table[(method, path)] = _operation(method, path, spec)
    return table


def operation(method: str, path: str) -> Operation:
    try:
        return operations()[(method.lower(), path)]
    except KeyError:
        raise KeyError(f"{method.upper()} {path} is not an operation of the official OpenAPI document") from None
