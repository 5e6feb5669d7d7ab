"""``POST /site/oauth2/access_token``: the client-credentials and refresh-token grants."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.world import World

J = dict[str, Any]


def _oauth_error(error: str, description: str) -> tuple[int, J]:
    return (401 if error == "invalid_client" else 400), {"error": error, "error_description": description}


def _client(world: World, header: str | None, fields: dict[str, str]) -> Doc | None:
    client_id, secret = fields.get("client_id"), fields.get("client_secret")
    if header and header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
    consumer = world.store.get("oauth_consumer", client_id or "")
    return consumer if consumer and consumer["secret"] == secret else None


def _issue(world: World, consumer: Doc, scopes: list[str], state: str, user: str | None = None) -> J:
    """Token values are derived from a counter so that a frozen sandbox issues reproducible tokens.

    ``user`` is the Bitbucket user who authorised the consumer (authorization-code grant); without it the
    token acts as the consumer's owner (client-credentials grant).
    """
    n = world.store.next_value("oauth_token")
    seed = f"{world.ids.stable('oauth', consumer['key'])}:{n}"
    access = "sandbox-oauth-access-" + hashlib.sha256(seed.encode()).hexdigest()[:32]
    refresh = "sandbox-oauth-refresh-" + hashlib.sha256(("r" + seed).encode()).hexdigest()[:24]
    ttl = int(consumer["token_ttl_seconds"])
    world.store.put(
        "oauth_token",
        access,
        {
            "token": access,
            "consumer": consumer["key"],
            "scopes": scopes,
            "expires_at": world.epoch() + ttl,
            "user": user,
        },
    )
    world.store.put(
        "oauth_refresh", refresh, {"token": refresh, "consumer": consumer["key"], "scopes": scopes, "user": user}
    )
    return {
        "access_token": access,
        "scopes": " ".join(scopes),
        "expires_in": ttl,
        "token_type": "bearer",
        "state": state,
        "refresh_token": refresh,
    }


def token_endpoint(world: World, header: str | None, fields: dict[str, str]) -> tuple[int, J]:
    consumer = _client(world, header, fields)
    if consumer is None:
        return _oauth_error("invalid_client", "Invalid OAuth client credentials")
    grant = fields.get("grant_type")
    with world.transaction():
        if grant == "client_credentials":
            if not consumer["private"]:
                return _oauth_error(
                    "unauthorized_client", "Client credentials grant is only available to private consumers"
                )
            body = _issue(world, consumer, list(consumer["scopes"]), "client_credentials")
        elif grant == "refresh_token":
            refresh = world.store.get("oauth_refresh", fields.get("refresh_token", ""))
            if refresh is None or refresh["consumer"] != consumer["key"]:
                return _oauth_error("invalid_grant", "Invalid refresh_token")
            world.store.delete("oauth_refresh", refresh["token"])  # refresh tokens rotate
            body = _issue(world, consumer, list(refresh["scopes"]), "refresh_token", refresh.get("user"))
        elif grant in ("authorization_code", "urn:bitbucket:oauth2:jwt"):
            return _oauth_error("unsupported_grant_type", f"The sandbox does not emulate the {grant} grant")
        else:
            return _oauth_error("unsupported_grant_type", f"Unsupported grant type: {grant}")
    world.rebuild_credentials()
    return 200, body


def authorize_user(world: World, consumer_key: str, username: str, scopes: list[str]) -> J:
    """A token as the authorization-code grant would give it once ``username`` approved the consumer.

    The sandbox has no browser consent screen; services that hold user connections (Composio's managed
    auth) complete the grant through this call instead. The scopes are cut to what the consumer may ask for.
    """
    consumer = world.store.get("oauth_consumer", consumer_key)
    if consumer is None:
        raise LookupError(f"no OAuth consumer {consumer_key!r}")
    if world.user(username) is None:
        raise LookupError(f"no Bitbucket user {username!r}")
    granted = [s for s in scopes if s in consumer["scopes"]]
    with world.transaction():
        body = _issue(world, consumer, granted, "authorization_code", username)
    world.rebuild_credentials()
    return body
