"""Clients and checks shared by the sandbox tests."""

from __future__ import annotations

import functools
import json
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from sandbox import Sandbox
from sandbox.bitbucket.operations import openapi_document


def api(sb: Sandbox, label: str = "full", user: str = "alice") -> httpx.Client:
    """A Bitbucket client authenticated with a fixture API token (Basic email:token)."""
    email, token = sb.api_token(label, user)
    return httpx.Client(base_url=sb.urls["bitbucket_api"] + "/", auth=(email, token), timeout=30, trust_env=False)


def anonymous(sb: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.urls["bitbucket_api"] + "/", timeout=30, trust_env=False)


def bearer(sb: Sandbox, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=sb.urls["bitbucket_api"] + "/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        trust_env=False,
    )


def oauth_token(
    sb: Sandbox, key: str = "sandbox-oauth-oracle-key", secret: str = "sandbox-oauth-oracle-secret"
) -> dict[str, Any]:
    response = httpx.post(
        sb.urls["bitbucket_oauth_token"], data={"grant_type": "client_credentials"}, auth=(key, secret), trust_env=False
    )
    response.raise_for_status()
    return dict(response.json())


def state_digest(sb: Sandbox) -> str:
    """Everything observable through the API for the default world, as one string (for "nothing changed")."""
    with api(sb) as c:
        parts = []
        for path in (
            "repositories/acme",
            "repositories/acme/widgets/refs/branches",
            "repositories/acme/widgets/pullrequests?state=OPEN&state=MERGED&state=DECLINED",
            "repositories/acme/widgets/issues",
            "repositories/acme/widgets/issues/1/comments",
            "repositories/acme/widgets/hooks",
            "snippets/acme",
        ):
            r = c.get(path, params={"pagelen": 100})
            parts.append(f"{path} {r.status_code} {json.dumps(r.json(), sort_keys=True)}")
    return "\n".join(parts)


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(openapi_document(), default_specification=DRAFT4)
    return Registry().with_resource("urn:bitbucket-openapi", resource)


def response_schema(method: str, template: str, status: int, media: str = "application/json") -> Any:
    op = openapi_document()["paths"][template][method.lower()]
    response = op["responses"].get(str(status)) or op["responses"].get("default")
    assert response is not None, f"{method.upper()} {template}: the OpenAPI document has no {status} response"
    content = response.get("content", {})
    return content.get(media, {}).get("schema")


def assert_schema(name: str, body: Any) -> None:
    """``body`` matches the named component schema of the official document."""
    validator = jsonschema.Draft4Validator(
        {"$ref": f"urn:bitbucket-openapi#/components/schemas/{name}"}, registry=_registry()
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def assert_conforms(method: str, template: str, response: httpx.Response) -> None:
    """The response's status is documented for the operation and its JSON body matches the official schema."""
    schema = response_schema(method, template, response.status_code)
    if schema is None or not response.headers.get("content-type", "").startswith("application/json"):
        return
    ref = schema["$ref"].replace("#", "urn:bitbucket-openapi#") if "$ref" in schema else None
    wrapped = {"$ref": ref} if ref else schema
    validator = jsonschema.Draft4Validator(wrapped, registry=_registry())
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {template} {response.status_code}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )
