"""No network for replays: any attempt to open a socket connection fails loudly.

vcrpy serves recorded responses above the socket layer, so a faithful replay never connects anywhere; a request
the cassette cannot answer is already an error, and this makes sure nothing leaks past it either (a client that
vcrpy does not patch, a DNS lookup, a telemetry thread).

With no connection possible there is no TLS handshake either, so certificate stores are never consulted: every
HTTP client (httpx, openai, composio, mcp) still builds its own ``SSLContext`` and loads the CA bundle into it
(40-100 ms each, several per cell), which inside the block is skipped.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from typing import Any


class NetworkBlocked(OSError):
    pass


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise NetworkBlocked(f"network access is blocked during a replay (tried {args[1:2] or args[:1]})")


def _no_trust_store(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
    """No CA is loaded: a context built here can never verify a peer, should a handshake somehow happen."""


_SOCKET = ("connect", "connect_ex")
_MODULE = ("create_connection", "getaddrinfo")
_TRUST = ("load_verify_locations", "load_default_certs", "set_default_verify_paths")


@contextlib.contextmanager
def blocked_network() -> Iterator[None]:
    """Inside the block, connecting or resolving a name raises ``NetworkBlocked`` and SSL contexts load no CA;
    afterwards all is as before."""
    saved = (
        [getattr(socket.socket, n) for n in _SOCKET],
        [getattr(socket, n) for n in _MODULE],
        [ssl.SSLContext.__dict__.get(n) for n in _TRUST],
    )
    for name in _SOCKET:
        setattr(socket.socket, name, _refuse)
    for name in _MODULE:
        setattr(socket, name, _refuse)
    for name in _TRUST:
        setattr(ssl.SSLContext, name, _no_trust_store)
    try:
        yield
    finally:
        for name, value in zip(_SOCKET, saved[0], strict=True):
            setattr(socket.socket, name, value)
        for name, value in zip(_MODULE, saved[1], strict=True):
            setattr(socket, name, value)
        for name, original in zip(_TRUST, saved[2], strict=True):
            if original is None:  # inherited from the C base class: removing the override restores it
                delattr(ssl.SSLContext, name)
            else:
                setattr(ssl.SSLContext, name, original)
