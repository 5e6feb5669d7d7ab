"""The run matrix: scenarios x frameworks x routes x models x attempts, one cell each."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.recording import cassette_path

if TYPE_CHECKING:
    from harness.results import CellKey


@dataclass(frozen=True)
class Cell:
    scenario: str
    framework: str
    route: str
    model: str
    attempt: int  # 1..K

    @classmethod
    def of(cls, key: CellKey) -> Cell:
        """The cell a row or a cassette's record names."""
        return cls(key.scenario, key.framework, key.route, key.model, key.attempt)

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.framework}/{self.route}/{self.model}/{self.attempt}"

    @property
    def cell_id(self) -> str:
        """Names this cell's repositories. Derived from the cell alone, never from the run, so that a replay
        sends the very requests that were recorded; distinct cells never share it, so they run concurrently."""
        return "c" + hashlib.sha256(self.key.encode()).hexdigest()[:10]

    def cassette(self, root: Path) -> Path:
        """Attempt 1 is ``<scenario>/<framework>--<path>--<model>.yaml``; later attempts add ``--<k>``."""
        base = cassette_path(root, self.scenario, self.framework, self.route, self.model)
        return base if self.attempt == 1 else base.with_name(f"{base.stem}--{self.attempt}.yaml")

    def to_dict(self) -> dict[str, Any]:
        """As rows and cassettes store it (the route under its serialized name, ``path``)."""
        return {
            "scenario": self.scenario,
            "framework": self.framework,
            "path": self.route,
            "model": self.model,
            "attempt": self.attempt,
        }


def matrix(
    scenarios: list[str], frameworks: list[str], routes: list[str], models: list[str], repeat: int
) -> list[Cell]:
    return [
        Cell(s, f, r, m, k)
        for s, f, r, m, k in itertools.product(scenarios, frameworks, routes, models, range(1, repeat + 1))
    ]


def control_cells(controls: dict[str, list[str]], frameworks: list[str], routes: list[str]) -> list[Cell]:
    """Each scenario's negative controls (scenario -> models), once per framework and route given."""
    return [
        Cell(s, f, r, m, 1)
        for s, models in controls.items()
        for m in models
        for f, r in itertools.product(frameworks, routes)
    ]


def on_their_routes(cells: list[Cell], routes: Mapping[str, Collection[str]]) -> list[Cell]:
    """The cells whose route is among their scenario's (scenario -> routes; a scenario not named: any route)."""
    return [c for c in cells if c.route in routes.get(c.scenario, (c.route,))]
