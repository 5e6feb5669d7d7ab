"""``harness sync connect``: test the connection, saying exactly what is wrong, and register the push webhook."""

from __future__ import annotations

from dataclasses import dataclass

from harness.sync.bitbucket import CONNECTION_FAILED, Bitbucket, BitbucketFailure
from harness.sync.config import SyncConfig
from harness.sync.store import Connection, SyncStore

WRITE_PERMISSION = (
    "Permission denied: the OAuth consumer needs Repositories: Read and Write (scope repository:write); it was "
    "granted {granted}. Re-create the consumer with that permission and update BITBUCKET_CLIENT_ID and "
    "BITBUCKET_CLIENT_SECRET."
)
WEBHOOK_PERMISSION = (
    "Permission denied: registering the push webhook needs the consumer's Webhooks permission (scope webhook) and "
    "admin access to {repo}. Grant it, or add the webhook by hand (Repository settings > Webhooks: URL {url}, "
    "the secret of BITBUCKET_WEBHOOK_SECRET, trigger Repository > Push) and connect with --no-webhook."
)


class SyncProblem(Exception):
    """What stops a sync command, in words the user can act on."""


def repository_name(repo: str, config: SyncConfig) -> str:
    workspace, sep, slug = repo.partition("/")
    if not sep or not workspace or not slug or "/" in slug:
        raise SyncProblem(f"--repo {repo!r}: expected WORKSPACE/REPO_SLUG, e.g. acme-corp/eval-suites")
    if workspace != config.workspace:
        raise SyncProblem(
            f"--repo {repo}: its workspace {workspace!r} is not BITBUCKET_WORKSPACE ({config.workspace!r}); the "
            "OAuth consumer belongs to one workspace (the slug is case-sensitive)"
        )
    return repo


@dataclass(frozen=True)
class Checked:
    repository: str
    branch: str
    head: str


async def test_connection(bitbucket: Bitbucket, branch: str | None) -> Checked:
    """Token, workspace, repository, write permission, branch: the first that fails is the message."""
    repo = bitbucket.repository
    try:
        await bitbucket.token()
    except BitbucketFailure as exc:
        if exc.status is None:
            raise SyncProblem(
                f"Connection test failed: cannot reach {bitbucket.config.token_url} ({exc.message}). Check outbound "
                "connectivity to Bitbucket (firewall, proxy)."
            ) from None
        raise SyncProblem(f"{CONNECTION_FAILED} (Bitbucket answered: {exc.message})") from None
    try:
        if not await bitbucket.workspace_exists():
            raise SyncProblem(f"{CONNECTION_FAILED} (no workspace {bitbucket.config.workspace!r})")
        info = await bitbucket.repo()
    except BitbucketFailure as exc:
        if exc.status == 404:
            raise SyncProblem(
                f"Repository {repo} not found, or the OAuth consumer cannot see it: create it first (a workspace/"
                "repo-slug name) or check that the consumer belongs to this workspace."
            ) from None
        if exc.status == 403:
            raise SyncProblem(f"Permission denied: {exc}") from None
        raise SyncProblem(f"Connection test failed: {exc}") from None
    if "repository:write" not in bitbucket.scopes:
        raise SyncProblem(WRITE_PERMISSION.format(granted=", ".join(sorted(bitbucket.scopes)) or "no scope"))
    name = branch or str((info.get("mainbranch") or {}).get("name") or "main")
    head = await bitbucket.branch_head(name)
    if head is None:
        existing = await bitbucket.branches()
        if not existing:
            raise SyncProblem(
                f"Repository is empty: {repo} has no commits, so there is no branch {name} yet. Create an initial "
                "commit (e.g. a README) on the default branch, then connect again."
            )
        raise SyncProblem(
            f"Branch not found: {repo} has no branch {name!r} (it has {', '.join(existing)}); use the default "
            f"branch ({info.get('mainbranch', {}).get('name', 'main')}) or give --branch."
        )
    return Checked(repo, name, head)


async def connect(
    config: SyncConfig, repo: str, branch: str | None, webhook_url: str | None, store: SyncStore
) -> tuple[Connection, Checked]:
    """The connection as saved in the database (with the webhook's UUID when one was registered)."""
    async with Bitbucket(config, repository_name(repo, config)) as bitbucket:
        checked = await test_connection(bitbucket, branch)
        hook = None
        if webhook_url:
            if "webhook" not in bitbucket.scopes:
                raise SyncProblem(WEBHOOK_PERMISSION.format(repo=repo, url=webhook_url))
            try:
                hook = await bitbucket.register_webhook(webhook_url)
            except BitbucketFailure as exc:
                if exc.status == 403:
                    raise SyncProblem(f"{WEBHOOK_PERMISSION.format(repo=repo, url=webhook_url)} ({exc})") from None
                if exc.status == 400:
                    raise SyncProblem(
                        f"Bitbucket refused the webhook URL {webhook_url}: {exc.message}. Bitbucket Cloud delivers to "
                        "publicly reachable URLs; the embedded Bitbucket to loopback addresses only."
                    ) from None
                raise SyncProblem(f"Registering the push webhook failed: {exc}") from None
    connection = Connection(checked.repository, checked.branch, hook, webhook_url)
    store.connect(connection)
    return connection, checked


def connected(store: SyncStore, repo: str) -> Connection:
    """The saved connection, which must be to ``repo``."""
    connection = store.connection()
    if connection is None:
        raise SyncProblem(f"not connected: run `harness sync connect --repo {repo}` first")
    if connection.repository != repo:
        raise SyncProblem(
            f"this database syncs {connection.repository}, not {repo}: connect it with `harness sync connect --repo "
            f"{repo}`, or use another --db"
        )
    return connection
