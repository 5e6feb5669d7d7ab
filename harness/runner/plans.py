"""Scenario plans for the sandbox's reference model, as message templates.

A turn's message is registered with its placeholders (``{workspace}/{repo}``) left in: the model matches an
incoming message against the template, binds the placeholders from it, and fills the plan's arguments. One
registration therefore serves every cell, whatever its repository names.
"""

from __future__ import annotations

from typing import Any

from harness.scenarios import Scenario


def plans_payload(scenarios: list[Scenario]) -> dict[str, Any]:
    plans = [{"message": turn.user,
              "steps": [step.model_dump(exclude_none=True) for step in turn.plan]}
             for s in scenarios for turn in s.turns if turn.plan]
    return {"plans": plans}
