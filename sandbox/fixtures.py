"""The sandbox's fixture format: who exists, what they may do, and what the repositories hold.

A fixture is YAML (or the same structure as JSON through the admin API). Loading validates it fully
before anything is written, so a bad fixture changes nothing and its error names the field at fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yamlio import load_model, parse_model

DEFAULT_FIXTURE = Path(__file__).with_name("default_fixture.yaml")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class User(_Model):
    username: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str
    email: str
    account_id: str | None = None


class Member(_Model):
    user: str
    permission: Literal["owner", "collaborator", "member"] = "member"


class Project(_Model):
    key: str
    name: str
    description: str = ""


class Branch(_Model):
    """A branch: its files, written as one commit on top of ``base`` (another branch) or as a root."""

    base: str | None = None
    files: dict[str, str] = {}
    delete: list[str] = []
    message: str | None = None
    author: str | None = None


class Issue(_Model):
    title: str
    content: str = ""
    state: Literal["submitted", "new", "open", "resolved", "on hold", "invalid", "duplicate", "wontfix", "closed"] = (
        "new"
    )
    kind: Literal["bug", "enhancement", "proposal", "task"] = "bug"
    priority: Literal["trivial", "minor", "major", "critical", "blocker"] = "major"
    reporter: str | None = None
    assignee: str | None = None
    comments: list[Comment] = []


class Comment(_Model):
    user: str
    content: str


class PullRequest(_Model):
    title: str
    source: str
    destination: str | None = None
    description: str = ""
    author: str | None = None
    state: Literal["OPEN", "DECLINED", "MERGED"] = "OPEN"
    reviewers: list[str] = []
    comments: list[Comment] = []


class Hook(_Model):
    url: str
    description: str = ""
    events: list[str]
    secret: str | None = None
    active: bool = True


class Repository(_Model):
    slug: str = Field(pattern=r"^[a-z0-9_.-]+$")
    name: str | None = None
    description: str = ""
    is_private: bool = True
    has_issues: bool = True
    has_wiki: bool = False
    language: str = ""
    project: str | None = None
    mainbranch: str = "main"
    fork_policy: Literal["allow_forks", "no_public_forks", "no_forks"] = "no_public_forks"
    branches: dict[str, Branch] = {}
    issues: list[Issue] = []
    pull_requests: list[PullRequest] = []
    hooks: list[Hook] = []

    @model_validator(mode="after")
    def _mainbranch_exists(self) -> Repository:
        if self.branches and self.mainbranch not in self.branches:
            raise ValueError(f"mainbranch {self.mainbranch!r} is not among the branches")
        return self


class Workspace(_Model):
    slug: str = Field(pattern=r"^[a-z0-9_-]+$")
    name: str | None = None
    is_private: bool = True
    linked_to_org: bool = True
    members: list[Member] = []
    projects: list[Project] = []
    repositories: list[Repository] = []


Limit = int | None


class RateLimit(_Model):
    limit: int = Field(gt=0)
    window_seconds: int = Field(default=3600, gt=0)


class ApiToken(_Model):
    """A scoped Atlassian API token (Basic ``email:token``); ``scoped: false`` is a classic token."""

    user: str
    token: str
    label: str = ""
    scopes: list[str] = []
    scoped: bool = True
    rate_limit: RateLimit | None = None


class AppPassword(_Model):
    user: str
    password: str
    label: str = ""
    scopes: list[str]
    rate_limit: RateLimit | None = None


class OAuthConsumer(_Model):
    """An OAuth consumer; private consumers may use the client-credentials grant."""

    key: str
    secret: str
    owner: str
    workspace: str
    name: str = "consumer"
    scopes: list[str]
    private: bool = True
    token_ttl_seconds: int = Field(default=7200, gt=0)
    rate_limit: RateLimit | None = None


class AccessToken(_Model):
    """A workspace, project or repository access token (Bearer), acting as a pseudo-user."""

    token: str
    name: str
    workspace: str
    repository: str | None = None
    scopes: list[str]
    rate_limit: RateLimit | None = None


class ServiceAccount(_Model):
    """An Atlassian service account with a scoped API key used as a Bearer token."""

    name: str
    email: str
    key: str
    scopes: list[str]
    workspaces: list[str] = []
    rate_limit: RateLimit | None = None


class Credentials(_Model):
    api_tokens: list[ApiToken] = []
    app_passwords: list[AppPassword] = []
    oauth_consumers: list[OAuthConsumer] = []
    access_tokens: list[AccessToken] = []
    service_accounts: list[ServiceAccount] = []


class ConnectedAccount(_Model):
    """A Composio connected account: ``user_id``'s Composio-managed OAuth connection to Bitbucket.

    Executing a Bitbucket tool acts as ``bitbucket_user`` with a Bitbucket OAuth token limited to ``scopes``
    (default: the managed auth config's scopes).
    """

    user_id: str
    bitbucket_user: str
    id: str | None = Field(default=None, pattern=r"^ca_[A-Za-z0-9_-]+$")
    scopes: list[str] | None = None
    status: Literal["ACTIVE", "INITIATED", "EXPIRED", "FAILED"] = "ACTIVE"
    label: str = Field(
        default="",
        description="what the account stands for, for clients (like an API token's "
        "label); published with the credentials, never sent by the Composio API",
    )


class ComposioManagedAuth(_Model):
    """Composio's managed Bitbucket auth config: the OAuth consumer it uses and the scopes it requests.

    The real list is not published (only that it has 13 scopes); the default fixture chooses 13 plausible ones.
    """

    consumer: str
    scopes: list[str]


class Composio(_Model):
    api_keys: list[str] = []
    managed_auth: ComposioManagedAuth | None = None
    connected_accounts: list[ConnectedAccount] = []

    @model_validator(mode="after")
    def _needs_auth_config(self) -> Composio:
        if self.connected_accounts and self.managed_auth is None:
            raise ValueError("connected_accounts need a managed_auth config")
        return self


class Rovo(_Model):
    """The Atlassian organisation behind the Rovo MCP server."""

    api_token_auth: bool = True  # the org admin's switch for API-token authentication
    cloud_id: str = "00000000-0000-4000-8000-0000000c1d00"
    site_url: str = "https://acme-sandbox.atlassian.net"
    site_name: str = "acme-sandbox"


class Fixture(_Model):
    users: list[User] = []
    workspaces: list[Workspace] = []
    credentials: Credentials = Credentials()
    default_rate_limit: RateLimit | None = None
    composio: Composio = Composio()
    rovo: Rovo = Rovo()

    @model_validator(mode="after")
    def _references(self) -> Fixture:
        users = {u.username for u in self.users}
        for ws in self.workspaces:
            for m in ws.members:
                if m.user not in users:
                    raise ValueError(f"workspace {ws.slug}: member {m.user!r} is not a user")
        if users:  # a credentials-only fixture refers to users already loaded; the loader checks those
            for group in (self.credentials.api_tokens, self.credentials.app_passwords):
                for cred in group:
                    if cred.user not in users:
                        raise ValueError(f"credential {cred.label or '?'}: user {cred.user!r} is not a user")
            for account in self.composio.connected_accounts:
                if account.bitbucket_user not in users:
                    raise ValueError(
                        f"composio connected account of {account.user_id!r}: bitbucket_user "
                        f"{account.bitbucket_user!r} is not a user"
                    )
        return self


Issue.model_rebuild()


def load_fixture(path: Path) -> Fixture:
    return load_model(Fixture, path)


def parse_fixture(text: str, source: str = "<fixture>") -> Fixture:
    return parse_model(Fixture, text, source)


def default_fixture() -> Fixture:
    return load_fixture(DEFAULT_FIXTURE)
