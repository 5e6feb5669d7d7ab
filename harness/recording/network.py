"""No network for replays: any attempt to open a socket connection fails loudly.

vcrpy serves recorded responses above the socket layer, so a faithful replay never connects anywhere; a request
the cassette cannot answer is already an error, and this makes sure nothing leaks past it either (a client that
vcrpy does not patch, a DNS lookup, a telemetry thread).
"""

from __future__ import annotations

import socket
from typing import Any


class NetworkBlocked(OSError):
    pass


def block_network() -> None:
    """For the rest of this process (replay workers are processes of their own)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NetworkBlocked(f"network access is blocked during a replay (tried {args[1:2] or args[:1]})")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
