"""REST handlers; importing this package registers every implemented operation."""

from sandbox.bitbucket.handlers import (  # noqa: F401
    hooks,
    issues,
    pullrequests,
    repositories,
    snippets,
    source,
    users,
)
