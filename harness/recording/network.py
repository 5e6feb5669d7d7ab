"""No network for replays: any attempt to open a socket connection fails loudly.

vcrpy serves recorded responses above the socket layer, so a faithful replay never connects anywhere; a request
the cassette cannot answer is already an error, and this makes sure nothing leaks past it either (a client that
vcrpy does not patch, a DNS lookup, a telemetry thread).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any


class NetworkBlocked(OSError):
    pass


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise NetworkBlocked(f"network access is blocked during a replay (tried {args[1:2] or args[:1]})")


@contextlib.contextmanager
def blocked_network() -> Iterator[None]:
    """Inside the block, connecting or resolving a name raises ``NetworkBlocked``; afterwards all is as before."""
    saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo)
    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse
    try:
        yield
    finally:
        (socket.socket.connect, socket.socket.connect_ex,  # type: ignore[method-assign]
         socket.create_connection, socket.getaddrinfo) = saved
