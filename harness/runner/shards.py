"""Shards: ``harness run --shard K/N`` runs the K-th of N disjoint parts of the matrix, so that N machines (a CI's
parallel jobs) share it, and ``harness merge`` puts the parts back together.

A cell's shard depends on the cell alone, never on the order of the scenario files: the series of a cell (its key
without the attempt, so that the repeats of a cell stay together) are sorted by a hash of that key and dealt out in
turn, which gives every shard the same number of series, give or take one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from harness.runner.matrix import Cell

SHAPE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1..count
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N``, 1 <= K <= N; ValueError naming the option."""
        found = SHAPE.match(text)
        if not found:
            raise ValueError(f"--shard {text!r}: expected K/N, e.g. 1/4 (the first of four shards)")
        index, count = int(found[1]), int(found[2])
        if not 1 <= index <= count:
            raise ValueError(f"--shard {text!r}: K must be between 1 and N ({count})")
        return cls(index, count)

    def cells(self, cells: list[Cell]) -> list[Cell]:
        """The cells of this shard, in their given order."""
        dealt = sorted({series(c) for c in cells}, key=lambda s: (_digest(s), s))
        mine = set(dealt[self.index - 1 :: self.count])
        return [c for c in cells if series(c) in mine]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def series(cell: Cell) -> str:
    """The key of a cell without its attempt: every repeat of the cell has it."""
    return cell.key.rsplit("/", 1)[0]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
