"""The emulated Bitbucket Cloud: state, fixture loading, lookups and access rules."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.bitbucket.auth import Credential, CredentialIndex, Principal
from sandbox.bitbucket.errors import BitbucketError
from sandbox.bitbucket.gitstore import GitRepo, GitStore
from sandbox.bitbucket.store import Doc, Store
from sandbox.clock import Clock, Ids, isoformat
from sandbox.fixtures import Fixture, RateLimit

Event = tuple[str, str, dict[str, Any]]  # (repository full name, event key, payload)


@dataclass
class Settings:
    """Behaviours the real service leaves open; each can be changed per sandbox."""

    # The OpenAPI document lets the read scope post pull-request comments; Rovo documents write.
    pr_comment_requires_write: bool = False
    # Real quirk (2026): PUT on a pull request answers 403 to scoped API tokens. Off by default.
    pr_update_refuses_api_tokens: bool = False
    max_body_bytes: int = 2 * 1024 * 1024
    default_rate_limit: tuple[int, int] | None = None
    webhook_timeout_seconds: float = 5.0
    webhook_retry_delays: tuple[float, ...] = (0.5, 1.0)  # the first attempt plus up to two retries


def _limit(rl: RateLimit | None) -> tuple[int, int] | None:
    return (rl.limit, rl.window_seconds) if rl else None


@dataclass
class World:
    store: Store
    git: GitStore
    clock: Clock
    ids: Ids
    settings: Settings = field(default_factory=Settings)
    public_base: str = "http://127.0.0.1"
    time_offset: float = 0.0
    credentials: CredentialIndex = field(default_factory=CredentialIndex)
    pending_events: list[Event] = field(default_factory=list)
    on_events: Callable[[list[Event]], None] | None = None
    fixture: Fixture | None = None
    # Other services' fixture sections (Composio connected accounts, ...), loaded in the same transaction.
    fixture_loaders: list[Callable[[World, Fixture], None]] = field(default_factory=list)

    @classmethod
    def create(cls, data_dir: Path | None = None, frozen_at: datetime | None = None, seed: str = "sandbox") -> World:
        if data_dir:
            data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(data_dir / "bitbucket.sqlite3" if data_dir else None)
        git = GitStore(data_dir / "git" if data_dir else None)
        world = cls(store, git, Clock(frozen_at), Ids(seed))
        world.rebuild_credentials()
        return world

    # time ---------------------------------------------------------------------------------------
    def now(self) -> str:
        return isoformat(self.clock.now())

    def epoch(self) -> float:
        return time.time() + self.time_offset

    # transactions and events ----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One request's writes: all of them, with their webhook events, or none."""
        outer = not self.pending_events and self.store._depth == 0
        try:
            with self.store.transaction():
                yield
        except BaseException:
            if outer:
                self.pending_events.clear()
            raise
        if outer and self.pending_events:
            events, self.pending_events = self.pending_events, []
            if self.on_events:
                self.on_events(events)

    def emit(self, repo_full: str, event: str, payload: dict[str, Any]) -> None:
        self.pending_events.append((repo_full, event, payload))

    # users ------------------------------------------------------------------------------------------
    def user(self, username: str) -> Doc | None:
        return self.store.get("user", username)

    def user_by_uuid(self, uuid: str) -> Doc | None:
        return next((u for u in self.store.all("user") if u["uuid"] == uuid), None)

    def principal_user(self, cred: Credential) -> Doc | None:
        if cred.principal is None or cred.principal.username is None:
            return None
        return self.user(cred.principal.username)

    # workspaces and repositories ----------------------------------------------------------------
    def workspace(self, ref: str) -> Doc | None:
        if ref.startswith("{"):
            return next((w for w in self.store.all("workspace") if w["uuid"] == ref), None)
        return self.store.get("workspace", ref)

    def membership(self, ws: str, username: str | None) -> Doc | None:
        return self.store.get("membership", f"{ws}:{username}") if username else None

    def repository(self, ws_ref: str, repo_ref: str) -> Doc | None:
        if repo_ref.startswith("{"):
            found = next((r for r in self.store.all("repository") if r["uuid"] == repo_ref), None)
            ws = self.workspace(ws_ref) if ws_ref not in ("{}", "") else None
            if found and ws is not None and found["workspace"] != ws["slug"]:
                return None
            return found
        ws = self.workspace(ws_ref)
        return self.store.get("repository", f"{ws['slug']}/{repo_ref}") if ws else None

    def repo_git(self, repo: Doc) -> GitRepo:
        return self.git.get(repo["uuid"])

    # access rules ---------------------------------------------------------------------------------
    def can_see_workspace(self, cred: Credential, ws: str) -> bool:
        p = cred.principal
        if p is None:
            return False
        if p.workspaces is not None:
            return ws in p.workspaces
        return self.membership(ws, p.username) is not None

    def require_workspace(self, cred: Credential, ref: str, public: bool = False) -> Doc:
        """A workspace the caller may see (``public``: or any public one); 401 to an anonymous caller, else 404."""
        ws = self.workspace(ref)
        if ws is not None and (self.can_see_workspace(cred, ws["slug"]) or (public and not ws["is_private"])):
            return ws
        if ws is not None and cred.anonymous:
            raise BitbucketError(401, "You must be authenticated to access this workspace.")
        raise BitbucketError(404, f"Workspace {ref} not found")

    def repo_permission(self, cred: Credential, repo: Doc) -> str | None:
        """ "admin", "write", "read" or None, from workspace membership or the token's binding."""
        p = cred.principal
        if p is None:
            return "read" if not repo["is_private"] else None
        if p.repository is not None:
            return "admin" if p.repository == repo["full_name"] else None
        if p.workspaces is not None:
            return "write" if repo["workspace"] in p.workspaces else self._public(repo)
        member = self.membership(repo["workspace"], p.username)
        if member is None:
            return self._public(repo)
        return "admin" if member["permission"] == "owner" else "write"

    @staticmethod
    def _public(repo: Doc) -> str | None:
        return "read" if not repo["is_private"] else None

    def require_repo(self, cred: Credential, ws_ref: str, repo_ref: str, level: str = "read") -> Doc:
        repo = self.repository(ws_ref, repo_ref)
        permission = self.repo_permission(cred, repo) if repo else None
        if repo is None or permission is None:
            if repo is not None and cred.anonymous:
                raise BitbucketError(401, "You must be authenticated to access this repository.")
            raise BitbucketError(404, f"Repository {ws_ref}/{repo_ref} not found")
        order = ["read", "write", "admin"]
        if order.index(permission) < order.index(level):
            raise BitbucketError(403, f"You need {level} access to the repository {repo['full_name']}.")
        return repo

    # credentials ----------------------------------------------------------------------------------
    def rebuild_credentials(self) -> None:
        index = CredentialIndex()
        default = self.settings.default_rate_limit
        for doc in self.store.all("api_token"):
            if not doc["scoped"]:
                continue  # classic unscoped API tokens do not authenticate against Bitbucket
            user = self.user(doc["user"])
            if user:
                index.basic[(user["email"], doc["token"])] = self._user_credential(
                    "api_token", "token", user, doc, f"api_token:{doc['label']}:{user['username']}", default
                )
        for doc in self.store.all("app_password"):
            user = self.user(doc["user"])
            if user:
                index.basic[(user["username"], doc["password"])] = self._user_credential(
                    "app_password", "oauth", user, doc, f"app_password:{user['username']}:{doc['label']}", default
                )
        for doc in self.store.all("oauth_token"):
            consumer = self.store.get("oauth_consumer", doc["consumer"])
            user = self.user(doc.get("user") or consumer["owner"]) if consumer else None
            if consumer and user:
                cred = self._user_credential(
                    "oauth", "oauth", user, consumer, f"oauth:{consumer['key']}:{user['username']}", default
                )
                index.bearer[doc["token"]] = Credential(
                    cred.kind,
                    cred.vocabulary,
                    frozenset(doc["scopes"]),
                    cred.principal,
                    cred.key,
                    tuple(doc["scopes"]),
                    cred.rate_limit,
                    doc["expires_at"],
                )
        for doc in self.store.all("access_token"):
            principal = Principal(
                doc["uuid"],
                doc["name"],
                None,
                frozenset([doc["workspace"]]),
                f"{doc['workspace']}/{doc['repository']}" if doc["repository"] else None,
            )
            index.bearer[doc["token"]] = Credential(
                "access_token",
                "oauth",
                frozenset(doc["scopes"]),
                principal,
                f"access_token:{doc['name']}",
                tuple(doc["scopes"]),
                tuple(doc["rate_limit"]) if doc["rate_limit"] else default,
            )  # type: ignore[arg-type]
        for doc in self.store.all("service_account"):
            principal = Principal(doc["uuid"], doc["name"], None, frozenset(doc["workspaces"]))
            index.bearer[doc["key"]] = Credential(
                "service_account",
                "token",
                frozenset(doc["scopes"]),
                principal,
                f"service:{doc['name']}",
                tuple(doc["scopes"]),
                tuple(doc["rate_limit"]) if doc["rate_limit"] else default,
            )  # type: ignore[arg-type]
        self.credentials = index

    @staticmethod
    def _user_credential(
        kind: str, vocabulary: str, user: Doc, doc: Doc, key: str, default: tuple[int, int] | None
    ) -> Credential:
        principal = Principal(user["uuid"], user["display_name"], user["username"])
        limit = tuple(doc["rate_limit"]) if doc.get("rate_limit") else default
        return Credential(kind, vocabulary, frozenset(doc["scopes"]), principal, key, tuple(doc["scopes"]), limit)  # type: ignore[arg-type]

    def authenticate(self, header: str | None) -> Credential:
        return self.credentials.resolve(header, self.epoch())

    # fixtures ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.store.transaction():
            self.store.clear()
        self.git.clear()
        self.clock.reset()
        self.ids.reset()
        self.time_offset = 0.0
        self.rebuild_credentials()

    def load(self, fixture: Fixture) -> None:
        from sandbox.bitbucket.loader import FIXTURE_EPOCH, apply_fixture

        # Fixture objects get timestamps from a clock of their own, so the same fixture is the same world.
        clock, self.clock = self.clock, Clock(FIXTURE_EPOCH)
        try:
            with self.transaction():
                apply_fixture(self, fixture)
                for loader in self.fixture_loaders:
                    loader(self, fixture)
        finally:
            self.clock = clock
        self.settings.default_rate_limit = _limit(fixture.default_rate_limit) or self.settings.default_rate_limit
        self.rebuild_credentials()
