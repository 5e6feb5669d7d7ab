"""The steps of one cell, shared by the worker process and the notebook stepper: prepare (the oracle arranges the
scenario's repositories), converse (the route opens its MCP connection, the framework runs the turns, with the
scenario's upstream faults on), judge (the oracle reads what the expectations need, the scorer gives the verdict),
close (the repositories go).

A world that lacks what the scenario needs (an admin API for faults, an unlinked workspace) makes the cell
unavailable before anything is arranged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.frameworks import ADAPTERS, Conversation
from harness.oracle import Arranged, Oracle
from harness.oracle.bitbucket import NO_UNLINKED_WORKSPACE
from harness.recording.cassettes import replay_miss
from harness.routes import ROUTES, ProfileUnavailable
from harness.runner.faults import NEEDS_SANDBOX, injected
from harness.runner.matrix import Cell
from harness.scenarios import Scenario
from harness.scenarios.placeholders import fill
from harness.scoring import Observation, Verdict, observe, score
from harness.scoring.taxonomy import classify
from harness.transcript import Transcript
from harness.worlds import ModelEndpoint, WorldConfig


class CellUnavailable(RuntimeError):
    """The world cannot run this cell at all (it lacks what the scenario needs); nothing was arranged."""


def unavailable(scenario: Scenario, world: WorldConfig, cell: Cell | None = None) -> str | None:
    """Why the world cannot run the cell (checked before anything is arranged), or None."""
    if cell is not None and (why := world.why_not(cell.model, cell.framework)):
        return why
    if scenario.faults and world.admin is None:
        return f"{NEEDS_SANDBOX}; the {world.name} world has none"
    if scenario.fixture.workspace == "unlinked" and not world.oracle.unlinked_workspace:
        return f"{NO_UNLINKED_WORKSPACE} (the {world.name} world)"
    return None


@dataclass
class CellRun:
    """One cell on its way through the steps, and what each step found."""

    cell: Cell
    scenario: Scenario
    world: WorldConfig
    endpoint: ModelEndpoint
    oracle: Oracle
    arranged: Arranged | None = None
    transcript: Transcript | None = None
    observation: Observation | None = None
    verdict: Verdict | None = None

    @classmethod
    def open(cls, cell: Cell, scenario: Scenario, world: WorldConfig, endpoint: ModelEndpoint | None = None) -> CellRun:
        """The cell in ``world``; its model at ``endpoint`` (default: where the world serves the cell's model)."""
        why = unavailable(scenario, world, cell)
        if why:
            raise CellUnavailable(why)
        endpoint = endpoint or world.endpoint(cell.model, cell.framework)
        return cls(cell, scenario, world, endpoint, Oracle(world.oracle))

    async def prepare(self) -> Arranged:
        self.arranged = await self.oracle.arrange(self.scenario, self.cell.cell_id)
        return self.arranged

    async def converse(self, timeout_s: float) -> Transcript:
        """The conversation; a stack that breaks or times out gives a transcript with ``error`` (never raises)."""
        arranged = self._arranged()
        values = arranged.placeholders()
        conversation = Conversation(
            [fill(t.user, values) for t in self.scenario.turns],
            self.endpoint.upstream,
            sampling=dict(self.endpoint.sampling),
        )
        async with injected(self.world.admin, self.scenario.faults, values):  # gone before the oracle reads
            self.transcript = await self._talk(conversation, timeout_s)
        return self.transcript

    async def _talk(self, conversation: Conversation, timeout_s: float) -> Transcript:
        """The adapter fills the transcript as the conversation goes: what it holds when the stack breaks or the
        time is up is kept, with the error."""
        cell = self.cell
        transcript = Transcript(framework=cell.framework, route=cell.route, model=self.endpoint.upstream)
        try:
            route = ROUTES[cell.route]  # type: ignore[index]
            profile = self.scenario.profiles.get(cell.route, "full")  # type: ignore[call-overload]
            mcp = await route.connect(self.world.route(cell.route), profile)
            adapter = ADAPTERS[cell.framework]
            await asyncio.wait_for(adapter.run(conversation, mcp, self.endpoint.config, transcript), timeout_s)
        except TimeoutError:
            transcript.error = f"timed out after {timeout_s:g} s"
        except ProfileUnavailable as exc:
            transcript.error = str(exc)
        except Exception as exc:
            transcript.error = replay_miss(exc) or f"{type(exc).__name__}: {exc}"
        return transcript

    async def judge(self) -> Verdict:
        if self.transcript is None:
            raise RuntimeError("converse() first: there is nothing to judge")
        self.observation = await observe(self.scenario, self.cell.route, self.transcript, self.oracle, self._arranged())
        self.verdict = score(self.scenario, self.cell.route, self.transcript, self.observation)
        return self.verdict

    async def close(self) -> None:
        """Delete the cell's repositories (whatever happened) and close the oracle's connections."""
        try:
            if self.arranged is not None:
                await self.oracle.teardown(self.arranged)
        finally:
            await self.oracle.aclose()

    def failures(self) -> list[str]:
        """The failure taxonomy's categories for this cell (none when it passed)."""
        if self.transcript is None or self.verdict is None:
            raise RuntimeError("judge() first: only a judged cell has failures")
        return classify(self.scenario, self.cell.route, self.transcript, self.verdict, self._arranged().placeholders())

    def _arranged(self) -> Arranged:
        if self.arranged is None:
            raise RuntimeError("prepare() first: the conversation needs the cell's repositories")
        return self.arranged
