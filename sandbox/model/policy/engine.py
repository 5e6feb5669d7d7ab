"""Replaying a procedure against the exchanges so far, to find the model's next move.

A procedure is a generator: it yields batches of tool calls and receives what came back, and returns the final
answer. The server keeps no state between requests, so every request runs the procedure from the start and feeds
it the exchanges the conversation already holds, in order; the first batch with no recorded results is the next
move (all of it when parallel calls are allowed, else its first call), and a procedure that returns gives the
answer. The same conversation therefore always gets the same decision.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.model.policy.conversation import Decision, Exchange
from sandbox.model.policy.toolbox import Step


def replay(step: Step, exchanges: Sequence[Exchange], parallel: bool) -> Decision:
    position = 0
    try:
        batch = next(step)
        while True:
            taken = list(exchanges[position : position + len(batch)])
            if len(taken) < len(batch):
                pending = batch[len(taken) :]
                return Decision(calls=tuple(pending if parallel else pending[:1]))
            position += len(batch)
            batch = step.send(taken)
    except StopIteration as stop:
        return Decision(text=str(stop.value or ""))
