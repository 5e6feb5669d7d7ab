"""Where the sync talks to and with what: the live world's Bitbucket variables plus the webhook secret, from the
environment and an optional ``.env`` (``harness sandbox up --env`` writes one for the embedded Bitbucket)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.worlds import LIVE_BITBUCKET_API, LIVE_TOKEN_URL, ConfigError, load_env

if TYPE_CHECKING:
    from harness.sync.store import SyncStore

DEFAULT_DB = Path(".harness/sync.db")
DB_VARIABLE = "HARNESS_SYNC_DB"
# The embedded world's webhook secret: like every sandbox credential, an obviously fake fixed value.
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret-not-for-production"

VARIABLES = {
    "BITBUCKET_WORKSPACE": "the workspace that holds the sync repository (its slug, case-sensitive)",
    "BITBUCKET_CLIENT_ID": "the OAuth consumer's Key (a private consumer: client credentials grant)",
    "BITBUCKET_CLIENT_SECRET": "the OAuth consumer's Secret",
    "BITBUCKET_WEBHOOK_SECRET": "the secret the push webhook signs deliveries with (e.g. `openssl rand -hex 32`)",
}


@dataclass(frozen=True)
class SyncConfig:
    workspace: str
    client_id: str
    client_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    api_url: str = LIVE_BITBUCKET_API
    token_url: str = LIVE_TOKEN_URL

    def secrets(self) -> list[str]:
        """The values that must never reach a repository, a commit message, a log or a cassette."""
        return [self.client_secret, self.webhook_secret]


def sync_config(env: Mapping[str, str]) -> SyncConfig:
    """The configuration, or ConfigError naming every missing variable and what it is for."""
    missing = [f"{name}: {why}" for name, why in VARIABLES.items() if not env.get(name, "").strip()]
    if missing:
        raise ConfigError("harness sync needs these environment variables (or --env-file):\n  " + "\n  ".join(missing))
    return SyncConfig(
        workspace=env["BITBUCKET_WORKSPACE"].strip(),
        client_id=env["BITBUCKET_CLIENT_ID"].strip(),
        client_secret=env["BITBUCKET_CLIENT_SECRET"].strip(),
        webhook_secret=env["BITBUCKET_WEBHOOK_SECRET"].strip(),
        api_url=env.get("BITBUCKET_API_URL", LIVE_BITBUCKET_API).rstrip("/"),
        token_url=env.get("BITBUCKET_OAUTH_TOKEN_URL", LIVE_TOKEN_URL),
    )


def database_path(given: Path | None, env: Mapping[str, str]) -> Path:
    """``--db``, else ``$HARNESS_SYNC_DB``, else ``.harness/sync.db``."""
    return given or (Path(env[DB_VARIABLE]) if env.get(DB_VARIABLE) else DEFAULT_DB)


def open_sync(env_file: Path | None, db: Path | None) -> tuple[SyncConfig, SyncStore]:
    """The configuration and the database, for commands that talk to Bitbucket; ConfigError when incomplete."""
    from harness.sync.store import SyncStore

    env = load_env(env_file)
    return sync_config(env), SyncStore(database_path(db, env))


def open_store(env_file: Path | None, db: Path | None) -> tuple[SyncConfig | None, SyncStore]:
    """The database, and the configuration when the environment holds it (to refuse its secrets in files)."""
    from harness.sync.store import SyncStore

    env = load_env(env_file)
    try:
        config: SyncConfig | None = sync_config(env)
    except ConfigError:
        config = None
    return config, SyncStore(database_path(db, env))
