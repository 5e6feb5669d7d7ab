"""Composio's project state: API keys, the managed Bitbucket auth config and users' connected accounts.

Everything lives in the world's SQLite store, so it persists with ``--data-dir`` and is rewritten from the
fixture on every reset. A connected account acts on Bitbucket through an OAuth access token minted for its
Bitbucket user (as the authorization-code grant would give it), re-minted when it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sandbox.bitbucket.loader import FixtureError
from sandbox.bitbucket.oauth import authorize_user
from sandbox.bitbucket.world import World
from sandbox.composio.bitbucket_tools import Authorization
from sandbox.composio.errors import NO_MANAGED_AUTH, ComposioApiError, J, ToolFailure
from sandbox.fixtures import Fixture

ACCOUNT, API_KEY, CONFIG, LINK = "composio_account", "composio_api_key", "composio_config", "composio_link"
STATUSES = ("ACTIVE", "INITIATED", "EXPIRED", "FAILED")
AUTH_CONFIG_ID = "ac_sandbox_bitbucket"
_TOKEN_MARGIN = 30.0  # seconds before expiry at which a token is re-minted rather than sent


def stable_id(prefix: str, *parts: str, length: int = 12) -> str:
    """A url-safe id derived from ``parts`` only: the same inputs give the same id after every reset."""
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode()[:length]


class Accounts:
    def __init__(self, world: World) -> None:
        self.world = world

    # project ----------------------------------------------------------------------------------------
    def api_keys(self) -> list[str]:
        return [str(d["key"]) for d in self.world.store.all(API_KEY)]

    def valid_key(self, given: str | None) -> bool:
        return bool(given) and any(
            hmac.compare_digest(given.encode(), k.encode())  # type: ignore[union-attr]
            for k in self.api_keys()
        )

    def managed_auth(self) -> J | None:
        return self.world.store.get(CONFIG, "managed_auth")

    # accounts ---------------------------------------------------------------------------------------
    def all(self) -> list[J]:
        return self.world.store.all(ACCOUNT)

    def get(self, account_id: str) -> J | None:
        return self.world.store.get(ACCOUNT, account_id)

    def for_user(self, user_id: str) -> list[J]:
        return self.world.store.children(ACCOUNT, user_id)

    def active(self, user_id: str, pinned: list[str] | None = None) -> J | None:
        """The newest ACTIVE account of ``user_id`` (among ``pinned`` ids when the session pins some)."""
        found = [a for a in self.for_user(user_id) if a["status"] == "ACTIVE" and (pinned is None or a["id"] in pinned)]
        return found[-1] if found else None

    def scopes(self, account: J) -> list[str]:
        if account.get("scopes") is not None:
            return list(account["scopes"])
        managed = self.managed_auth()
        return list(managed["scopes"]) if managed else []

    def create(
        self,
        user_id: str,
        bitbucket_user: str | None,
        *,
        scopes: list[str] | None = None,
        status: str = "ACTIVE",
        account_id: str | None = None,
        label: str = "",
    ) -> J:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        if bitbucket_user is not None and self.world.user(bitbucket_user) is None:
            raise ValueError(f"no Bitbucket user {bitbucket_user!r}")
        if status == "ACTIVE" and bitbucket_user is None:
            raise ValueError("an ACTIVE connected account needs a bitbucket_user")
        if account_id is None:
            account_id = stable_id(
                "ca_", self.world.ids.stable("composio-account"), str(self.world.store.next_value("composio:account"))
            )
        now = self.world.now()
        doc: J = {
            "id": account_id,
            "user_id": user_id,
            "toolkit": "bitbucket",
            "bitbucket_user": bitbucket_user,
            "scopes": scopes,
            "status": status,
            "auth_config_id": AUTH_CONFIG_ID,
            "created_at": now,
            "updated_at": now,
            "token": None,
            "token_expires_at": None,
            "label": label,
        }
        with self.world.transaction():
            self.world.store.put(ACCOUNT, account_id, doc, parent=user_id)
        return doc

    def delete(self, account_id: str) -> bool:
        with self.world.transaction():
            return self.world.store.delete(ACCOUNT, account_id)

    # connection requests ----------------------------------------------------------------------------
    def initiate(self, user_id: str, origin: str, callback_url: str | None = None) -> J:
        """A new INITIATED account and the link that completes it (what Composio's hosted auth page does)."""
        if self.managed_auth() is None:
            raise ComposioApiError(
                400,
                NO_MANAGED_AUTH,
                "Composio does not manage auth for toolkit bitbucket and "
                "no auth config without required fields is available.",
            )
        earlier = [a["bitbucket_user"] for a in self.for_user(user_id) if a["bitbucket_user"]]
        guess = earlier[-1] if earlier else (user_id if self.world.user(user_id) else None)
        with self.world.transaction():
            account = self.create(user_id, guess, status="INITIATED")
            token = stable_id("lk_", self.world.ids.stable("composio-link"), account["id"], length=16)
            account["link_token"] = token
            account["redirect_url"] = f"{origin}/link/{token}"
            account["callback_url"] = callback_url
            self.world.store.put(ACCOUNT, account["id"], account, parent=user_id)
            self.world.store.put(LINK, token, {"token": token, "account": account["id"]})
        return account

    def by_link(self, token: str) -> J | None:
        link = self.world.store.get(LINK, token)
        return self.get(link["account"]) if link else None

    def complete(self, account_id: str, bitbucket_user: str | None = None, scopes: list[str] | None = None) -> J:
        """The user approved the connection on Bitbucket: the account becomes ACTIVE."""
        account = self.get(account_id)
        if account is None:
            raise LookupError(f"no connected account {account_id!r}")
        user = bitbucket_user or account["bitbucket_user"]
        if user is None:
            raise ValueError(
                f"connected account {account_id} of {account['user_id']!r} has no earlier Bitbucket "
                "user to reconnect: say which one approves it (bitbucket_user)"
            )
        if self.world.user(user) is None:
            raise ValueError(f"no Bitbucket user {user!r}")
        account.update(
            bitbucket_user=user, status="ACTIVE", updated_at=self.world.now(), token=None, token_expires_at=None
        )
        if scopes is not None:
            account["scopes"] = scopes
        with self.world.transaction():
            self.world.store.put(ACCOUNT, account_id, account, parent=account["user_id"])
        return account

    # Bitbucket credentials ------------------------------------------------------------------------------
    def authorization(self, account_id: str) -> Authorization:
        def header(refresh: bool) -> str:
            return f"Bearer {self._token(account_id, refresh)}"

        return header

    def _token(self, account_id: str, refresh: bool) -> str:
        account = self.get(account_id)
        if account is None or account["status"] != "ACTIVE":
            raise ToolFailure(f"Connected account {account_id} is no longer active")
        if not refresh and account["token"] and self.world.epoch() < account["token_expires_at"] - _TOKEN_MARGIN:
            return str(account["token"])
        managed = self.managed_auth()
        if managed is None:
            raise ToolFailure("Composio's managed Bitbucket auth config is missing")
        try:
            grant = authorize_user(self.world, managed["consumer"], account["bitbucket_user"], self.scopes(account))
        except LookupError as exc:
            raise ToolFailure(f"Could not authorize the Bitbucket connection: {exc}") from None
        account.update(token=grant["access_token"], token_expires_at=self.world.epoch() + grant["expires_in"])
        with self.world.transaction():
            self.world.store.put(ACCOUNT, account_id, account, parent=account["user_id"])
        return str(grant["access_token"])

    # views ------------------------------------------------------------------------------------------
    def public(self, account: J) -> J:
        """An account as the admin API and the printed credentials show it (never its token)."""
        return {
            "id": account["id"],
            "user_id": account["user_id"],
            "bitbucket_user": account["bitbucket_user"],
            "scopes": self.scopes(account),
            "status": account["status"],
            "toolkit": account["toolkit"],
            "created_at": account["created_at"],
            "redirect_url": account.get("redirect_url"),
        }


def load_fixture(world: World, fixture: Fixture) -> None:
    """Write the fixture's Composio section (inside the world's load transaction); additive, like the rest."""
    section = fixture.composio
    store = world.store
    for key in section.api_keys:
        store.put(API_KEY, key, {"key": key})
    if section.managed_auth is not None:
        if store.get("oauth_consumer", section.managed_auth.consumer) is None:
            raise FixtureError(f"composio managed_auth: no OAuth consumer {section.managed_auth.consumer!r}")
        store.put(CONFIG, "managed_auth", section.managed_auth.model_dump())
    accounts = Accounts(world)
    for n, spec in enumerate(section.connected_accounts):
        if world.user(spec.bitbucket_user) is None:
            raise FixtureError(
                f"composio connected account of {spec.user_id!r}: no Bitbucket user {spec.bitbucket_user!r}"
            )
        account_id = spec.id or stable_id(
            "ca_", world.ids.stable("composio-fixture"), spec.user_id, spec.bitbucket_user, str(n)
        )
        accounts.create(
            spec.user_id,
            spec.bitbucket_user,
            scopes=spec.scopes,
            status=spec.status,
            account_id=account_id,
            label=spec.label,
        )
