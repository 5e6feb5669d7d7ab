"""Bitbucket's two scope vocabularies and how a held scope set satisfies an operation.

* OAuth / app-password / access-token scopes (``repository:write``) imply weaker ones.
* API-token scopes (``write:repository:bitbucket``) imply nothing: every listed scope must be held.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.bitbucket.operations import Operation

# What each OAuth scope grants besides itself (Bitbucket's documented implications).
# repository:admin deliberately implies neither read nor write.
OAUTH_IMPLIES: dict[str, tuple[str, ...]] = {
    "repository:write": ("repository",),
    "repository:delete": (),
    "pullrequest": ("repository",),
    "pullrequest:write": ("pullrequest", "repository", "repository:write"),
    "issue:write": ("issue",),
    "snippet:write": ("snippet",),
    "project": ("repository",),
    "project:admin": ("project", "repository"),
    "account:write": ("account",),
    "team:write": ("team",),
    "pipeline:write": ("pipeline",),
    "pipeline:variable": ("pipeline", "pipeline:write"),
    "runner:write": ("runner",),
    "test:write": ("test",),
}


def oauth_closure(scopes: Iterable[str]) -> frozenset[str]:
    held: set[str] = set()
    pending = list(scopes)
    while pending:
        scope = pending.pop()
        if scope not in held:
            held.add(scope)
            pending.extend(OAUTH_IMPLIES.get(scope, ()))
    return frozenset(held)


def missing_scopes(op: Operation, vocabulary: str, granted: frozenset[str]) -> list[str]:
    """The scopes ``op`` requires that ``granted`` lacks; empty when the call is allowed."""
    if vocabulary == "token":
        return [s for s in op.token_scopes if s not in granted]
    if not op.oauth_scopes:
        return []
    closure = oauth_closure(granted)
    return [] if any(s in closure for s in op.oauth_scopes) else list(op.oauth_scopes)


def required_scopes(op: Operation, vocabulary: str) -> list[str]:
    return list(op.token_scopes if vocabulary == "token" else op.oauth_scopes)
