"""Writing a validated fixture into a world."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.bitbucket.errors import BitbucketError
from sandbox.bitbucket.records import (
    new_comment,
    new_issue,
    new_pullrequest,
    new_repository,
    new_user,
    new_workspace,
)
from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.world import World
from sandbox.fixtures import Fixture, Repository

# Fixture commits carry fixed timestamps so that the same fixture always yields the same hashes.
FIXTURE_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class FixtureError(ValueError):
    pass


def apply_fixture(world: World, fixture: Fixture) -> None:
    for u in fixture.users:
        new_user(world, u.username, u.display_name, u.email, u.account_id)
    for ws in fixture.workspaces:
        new_workspace(world, ws.slug, ws.name, ws.is_private, ws.linked_to_org)
        for m in ws.members:
            world.store.put(
                "membership",
                f"{ws.slug}:{m.user}",
                {"user": m.user, "permission": m.permission, "workspace": ws.slug},
                parent=ws.slug,
            )
        for p in ws.projects:
            world.store.put(
                "project",
                f"{ws.slug}:{p.key}",
                {
                    "key": p.key,
                    "name": p.name,
                    "description": p.description,
                    "uuid": world.ids.stable("project", ws.slug, p.key),
                    "workspace": ws.slug,
                    "created_on": world.now(),
                },
                parent=ws.slug,
            )
        for r in ws.repositories:
            _repository(world, ws.slug, r)
    _credentials(world, fixture)


def _user(world: World, username: str | None, where: str) -> Doc | None:
    if username is None:
        return None
    user = world.user(username)
    if user is None:
        raise FixtureError(f"{where}: unknown user {username!r}")
    return user


def _repository(world: World, ws: str, spec: Repository) -> None:
    try:
        repo = new_repository(
            world,
            ws,
            spec.slug,
            name=spec.name,
            description=spec.description,
            is_private=spec.is_private,
            has_issues=spec.has_issues,
            has_wiki=spec.has_wiki,
            language=spec.language,
            fork_policy=spec.fork_policy,
            project=spec.project,
            mainbranch=spec.mainbranch,
        )
    except BitbucketError as exc:
        raise FixtureError(f"repository {ws}/{spec.slug}: {exc.message}") from None
    where = f"repository {repo['full_name']}"
    git = world.repo_git(repo)
    pending = dict(spec.branches)
    tick = 0
    while pending:  # branches in dependency order: a branch is written after its base
        ready = [n for n, b in pending.items() if b.base is None or b.base not in pending]
        if not ready:
            raise FixtureError(f"{where}: branch bases form a cycle or name unknown branches: {sorted(pending)}")
        for name in ready:
            branch = pending.pop(name)
            parent = git.branch_head(branch.base) if branch.base else None
            if branch.base and parent is None:
                raise FixtureError(f"{where}: branch {name!r} has unknown base {branch.base!r}")
            tick += 1
            changes: dict[str, bytes | None] = {p: c.encode() for p, c in branch.files.items()}
            changes.update(dict.fromkeys(branch.delete))
            sha = git.commit_files(
                parent,
                changes,
                branch.message or f"Fixture commit for {name}",
                branch.author or "Sandbox Fixture <fixtures@example.com>",
                FIXTURE_EPOCH + timedelta(minutes=tick),
            )
            git.set_branch(name, sha)
    for issue in spec.issues:
        doc = new_issue(
            world,
            repo,
            _user(world, issue.reporter, where),
            issue.title,
            issue.content,
            state=issue.state,
            kind=issue.kind,
            priority=issue.priority,
            assignee=issue.assignee,
        )
        for c in issue.comments:
            new_comment(
                world, "issue_comment", f"{repo['full_name']}#{doc['id']}", _user(world, c.user, where), c.content
            )
    for pr in spec.pull_requests:
        author = _user(world, pr.author or _first_member(world, ws), where)
        assert author is not None
        try:
            doc = new_pullrequest(
                world,
                repo,
                author,
                pr.title,
                pr.source,
                pr.destination,
                description=pr.description,
                state=pr.state,
                reviewers=pr.reviewers,
            )
        except BitbucketError as exc:
            raise FixtureError(f"{where}: pull request {pr.title!r}: {exc.detail}") from None
        for c in pr.comments:
            new_comment(world, "pr_comment", f"{repo['full_name']}#{doc['id']}", _user(world, c.user, where), c.content)
    for hook in spec.hooks:
        uuid = world.ids.stable("hook", repo["full_name"], hook.url)
        world.store.put(
            "hook",
            uuid,
            {
                "uuid": uuid,
                "url": hook.url,
                "description": hook.description,
                "events": hook.events,
                "secret": hook.secret,
                "active": hook.active,
                "repository": repo["full_name"],
                "created_at": world.now(),
            },
            parent=repo["full_name"],
        )


def _first_member(world: World, ws: str) -> str:
    members = world.store.children("membership", ws)
    if not members:
        raise FixtureError(f"workspace {ws}: a pull request needs an author or a workspace member")
    return str(members[0]["user"])


def _credentials(world: World, fixture: Fixture) -> None:
    creds = fixture.credentials
    for token in creds.api_tokens:
        _user(world, token.user, f"API token {token.label or '?'}")
    for password in creds.app_passwords:
        _user(world, password.user, f"app password {password.label or '?'}")
    for consumer in creds.oauth_consumers:
        _user(world, consumer.owner, f"OAuth consumer {consumer.key}")
    for t in creds.api_tokens:
        world.store.put(
            "api_token",
            f"{t.user}:{t.token}",
            {
                "user": t.user,
                "token": t.token,
                "label": t.label,
                "scopes": t.scopes,
                "scoped": t.scoped,
                "rate_limit": _rl(t.rate_limit),
            },
        )
    for a in creds.app_passwords:
        world.store.put(
            "app_password",
            f"{a.user}:{a.password}",
            {
                "user": a.user,
                "password": a.password,
                "label": a.label,
                "scopes": a.scopes,
                "rate_limit": _rl(a.rate_limit),
            },
        )
    for c in creds.oauth_consumers:
        world.store.put(
            "oauth_consumer",
            c.key,
            {
                "key": c.key,
                "secret": c.secret,
                "owner": c.owner,
                "workspace": c.workspace,
                "name": c.name,
                "scopes": c.scopes,
                "private": c.private,
                "token_ttl_seconds": c.token_ttl_seconds,
                "rate_limit": _rl(c.rate_limit),
            },
        )
    for at in creds.access_tokens:
        world.store.put(
            "access_token",
            at.token,
            {
                "token": at.token,
                "name": at.name,
                "workspace": at.workspace,
                "repository": at.repository,
                "scopes": at.scopes,
                "uuid": world.ids.stable("access_token", at.name),
                "rate_limit": _rl(at.rate_limit),
            },
        )
    for s in creds.service_accounts:
        world.store.put(
            "service_account",
            s.key,
            {
                "key": s.key,
                "name": s.name,
                "email": s.email,
                "scopes": s.scopes,
                "workspaces": s.workspaces,
                "uuid": world.ids.stable("service_account", s.name),
                "rate_limit": _rl(s.rate_limit),
            },
        )


def _rl(rl: object) -> list[int] | None:
    from sandbox.fixtures import RateLimit

    return [rl.limit, rl.window_seconds] if isinstance(rl, RateLimit) else None
