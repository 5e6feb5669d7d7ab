"""A scenario's plans for the sandbox's reference model, as message templates with declared slots.

A turn's message is registered with its placeholders left in (``{workspace}/{repo}``) and named as the template's
slots: the model matches an incoming message against the template, binds the slots from it and fills the plan's
steps with them. One registration therefore serves every cell, whatever its repository names. The model knows
nothing of the scenario format: only messages, slots and steps.
"""

from __future__ import annotations

from typing import Any

from harness.scenarios.placeholders import names_in
from harness.scenarios.schema import Scenario


def compiled_plans(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    return [
        {
            "message": turn.user,
            "slots": sorted(names_in(turn.user)),
            "steps": [step.model_dump(exclude_none=True) for step in turn.plan],
        }
        for scenario in scenarios
        for turn in scenario.turns
        if turn.plan
    ]
