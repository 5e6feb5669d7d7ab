"""Who may use the Rovo MCP server's API-token endpoint, checked on every HTTP request and every message.

Accepted: ``Basic base64(email:scoped_api_token)`` (a personal API token with scopes) and ``Bearer <key>`` (a
service account's scoped API key). The same header is passed on to Bitbucket, so Bitbucket applies its own
scope and permission checks to everything a tool does.

Refusals (status, then the text):

* no or malformed ``Authorization``, an unknown token or key -> 401;
* a classic (unscoped) API token -> 403 "... requires a modern API token (API token with scopes). Legacy API
  tokens without scopes are not supported." (observed text);
* app passwords, OAuth access tokens and workspace/repository access tokens are Bitbucket credentials, not
  Atlassian API tokens: 401 (choice: the real server's answer is not documented; it has no way to accept them);
* the organisation has API-token authentication switched off -> 403 (choice of status and text).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.requests import Request
from starlette.responses import Response

from sandbox.bitbucket.auth import Credential
from sandbox.bitbucket.errors import BitbucketError
from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.world import World
from sandbox.mcp_http import Gate, jsonrpc_error
from sandbox.rovo.settings import org

MISSING = (
    "Unauthorized: send Authorization: Basic base64(email:api_token) with a scoped Atlassian API token, "
    "or Authorization: Bearer <service account API key>."
)
INVALID = "Unauthorized: the API token or API key is invalid, expired or revoked."
NOT_AN_API_TOKEN = (
    "Unauthorized: only scoped Atlassian API tokens (Basic email:token) and service account API "
    "keys (Bearer) are accepted here; app passwords, OAuth tokens and access tokens are not."
)
LEGACY = (
    "Forbidden: the Atlassian Rovo MCP server requires a modern API token (API token with scopes). "
    "Legacy API tokens without scopes are not supported."
)
DISABLED = (
    "Forbidden: API token authentication is turned off for the Rovo MCP server in this organization. "
    "An organization admin can turn it on in Atlassian Administration > Rovo > Rovo MCP server > "
    "Authentication."
)
# JSON-RPC has no code for this; -32001 is the server-error range the SDK also uses for transport refusals.
AUTH_ERROR_CODE = -32001
ACCEPTED_KINDS = ("api_token", "service_account")


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        response = jsonrpc_error(AUTH_ERROR_CODE, self.message, self.status)
        if self.status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="Atlassian Rovo MCP server"'
        return response


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its Bitbucket credential and the header that proves it."""

    credential: Credential
    authorization: str

    @property
    def scopes(self) -> frozenset[str]:
        return self.credential.scopes

    @property
    def is_service_account(self) -> bool:
        return self.credential.kind == "service_account"

    def identity(self) -> AuthenticatedUser:
        """What the MCP transport binds a session to: a session opened by one credential refuses every other."""
        principal = self.credential.principal
        token = AccessToken(
            token=self.credential.key,
            client_id=self.credential.key,
            scopes=sorted(self.scopes),
            subject=principal.uuid if principal else None,
        )
        return AuthenticatedUser(token)


def authenticate(world: World, header: str | None) -> Caller:
    """The caller behind ``header``, or AuthError with the status and text to refuse it with."""
    if not header or not header.strip():
        raise AuthError(401, MISSING)
    if _is_legacy_token(world, header):
        raise AuthError(403, LEGACY)
    try:
        credential = world.authenticate(header)
    except BitbucketError:
        raise AuthError(401, INVALID) from None
    if credential.anonymous:
        raise AuthError(401, MISSING)
    if credential.kind not in ACCEPTED_KINDS:
        raise AuthError(401, NOT_AN_API_TOKEN)
    if not org(world).api_token_auth:
        raise AuthError(403, DISABLED)
    return Caller(credential, header.strip())


def _is_legacy_token(world: World, header: str) -> bool:
    """Classic tokens are not in Bitbucket's credential index (Bitbucket refuses them), so look at the store."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        email, sep, secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    if not sep:
        return False
    users: dict[str, Doc] = {u["username"]: u for u in world.store.all("user")}
    return any(
        not t["scoped"] and t["token"] == secret and users.get(t["user"], {}).get("email") == email
        for t in world.store.all("api_token")
    )


def gate_for(world: World) -> Gate:
    """The HTTP gate in front of the MCP transport (see ``McpEndpoint``)."""

    async def gate(request: Request) -> Response | None:
        try:
            caller = authenticate(world, request.headers.get("authorization"))
        except AuthError as exc:
            return exc.response()
        request.scope["user"] = caller.identity()
        return None

    return gate
