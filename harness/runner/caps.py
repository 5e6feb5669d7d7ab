"""Provider caps: at most N cells in flight at once, across a whole cluster, on each capped provider, so that a
live run on many machines stays under the providers' rate limits.

A cap counts cells, not requests: a cell holds a lease on every capped provider it talks to from its first request
to its last (a cell calls its providers one request at a time, so N cells make at most about N requests at once).
The providers: ``bitbucket`` (every cell: the oracle arranges and reads it), ``composio`` and ``rovo`` (the cells on
that route), ``model`` (every cell's model) and ``model:<name>`` (the cells of one model).
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.runner.matrix import Cell
from harness.vocab import ROUTES

PROVIDERS = ("model", *ROUTES, "bitbucket")


def parse_cap(text: str) -> tuple[str, int]:
    """``NAME=N``; ValueError naming the option."""
    name, sep, count = text.partition("=")
    name = name.strip()
    if not sep or not count.strip().isdigit():
        raise ValueError(f"--cap {text!r}: expected PROVIDER=N, e.g. model=4")
    if not is_provider(name):
        raise ValueError(f"--cap {text!r}: {UNKNOWN}")
    return name, int(count)


UNKNOWN = f"the provider is one of {', '.join(PROVIDERS)} or model:<name>"


def is_provider(name: str) -> bool:
    return name in PROVIDERS or (name.startswith("model:") and len(name) > len("model:"))


def held_by(cell: Cell, caps: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The caps a cell holds a lease on, in one order for every cell (so that two cells never wait on each other)."""
    uses = {"bitbucket", cell.route, "model", f"model:{cell.model}"}
    return sorted((name, n) for name, n in caps if name in uses)
