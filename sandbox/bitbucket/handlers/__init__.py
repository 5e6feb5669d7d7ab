"""REST handlers; importing this package registers every implemented operation."""

from sandbox.bitbucket.handlers import (  # noqa: F401
    diffstat,
    hooks,
    insights,
    issues,
    pullrequests,
    repositories,
    restrictions,
    snippets,
    source,
    users,
)
