"""Who is calling: credentials from the ``Authorization`` header, in every form Bitbucket accepts.

* ``Basic email:api_token``: a scoped Atlassian API token (token vocabulary).
* ``Basic username:app_password``: a legacy app password (OAuth vocabulary).
* ``Bearer <access token>``: an OAuth access token from ``/site/oauth2/access_token``, a workspace or
  repository access token (OAuth vocabulary), or a service account's scoped API key (token vocabulary).

Choices where the real service is not documented: a classic (unscoped) API token is refused with the
invalid-token 401, as Bitbucket only accepts scoped tokens; a request without credentials is anonymous
and may read public repositories only.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from sandbox.bitbucket.errors import INVALID_TOKEN, BitbucketError


@dataclass(frozen=True)
class Principal:
    """The identity a credential acts as; ``username`` is None for pseudo-users."""

    uuid: str
    display_name: str
    username: str | None = None
    workspaces: frozenset[str] | None = None  # None: whatever the user is a member of
    repository: str | None = None  # access tokens bound to one repository ("ws/slug")


@dataclass(frozen=True)
class Credential:
    kind: str  # api_token | app_password | oauth | access_token | service_account | anonymous
    vocabulary: str  # "token" or "oauth"
    scopes: frozenset[str]
    principal: Principal | None
    key: str  # stable identifier for rate limiting (never the secret itself)
    granted_order: tuple[str, ...] = field(default=())  # scopes as configured, for error details
    rate_limit: tuple[int, int] | None = None  # (limit, window seconds)
    expires_at: float | None = None  # epoch seconds (OAuth access tokens)

    @property
    def anonymous(self) -> bool:
        return self.principal is None


ANONYMOUS = Credential("anonymous", "oauth", frozenset(), None, "anonymous")


class CredentialIndex:
    """Resolves header values to credentials; rebuilt whenever credentials change."""

    _MAX_PARSED = 1024

    def __init__(self) -> None:
        self.basic: dict[tuple[str, str], Credential] = {}
        self.bearer: dict[str, Credential] = {}
        # Header value -> where to look it up: clients send the same header on every request, so the
        # base64 decoding is done once. The lookup itself (and the expiry check) runs every time.
        self._parsed: dict[str, tuple[str, Any]] = {}

    def resolve(self, header: str | None, now: float) -> Credential:
        if not header:
            return ANONYMOUS
        parsed = self._parsed.get(header)
        if parsed is None:
            parsed = self._parse(header)
            if len(self._parsed) >= self._MAX_PARSED:
                self._parsed.clear()
            self._parsed[header] = parsed
        table, key = parsed
        if table == "basic":
            found = self.basic.get(key)
        elif table == "bearer":
            found = self.bearer.get(key)
        else:
            found = None
        if found is None or (found.expires_at is not None and now >= found.expires_at):
            raise BitbucketError(401, INVALID_TOKEN)
        return found

    @staticmethod
    def _parse(header: str) -> tuple[str, Any]:
        """("basic", (user, secret)), ("bearer", token) or ("", None); a malformed Basic value raises the 401."""
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "basic":
            try:
                user, sep, secret = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise BitbucketError(401, INVALID_TOKEN) from None
            return ("basic", (user, secret)) if sep else ("", None)
        if scheme == "bearer":
            return "bearer", value
        return "", None
