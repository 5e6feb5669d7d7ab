"""Scenario plans: scripted intents for a given user message, ahead of the plain-English grammar.

A plan maps one user message to steps. Each step is one of the grammar's intents with its values spelled out, a
literal tool call, or text to say::

    plans:
      - message: "Prepare the release"
        steps:
          - {intent: create_branch, workspace: acme, repo: widgets, name: release/1.0, base: main}
          - {intent: open_pull_request, source: release/1.0, destination: main, title: Release 1.0}
          - {intent: comment_issue, text: "Shipping in 1.0"}          # the latest open issue
          - {intent: read_file, path: CHANGELOG.md, ref: main}
          - {intent: call, tool: BITBUCKET_LIST_WORKSPACES, arguments: {}}
          - {intent: say, text: "Release prepared."}

Intents are mapped onto whatever tools the model is offered, exactly like requests parsed from English; a ``call``
step names a tool as offered (a ``BITBUCKET_*`` slug also runs through COMPOSIO_MULTI_EXECUTE_TOOL). Messages match
ignoring case, surrounding blanks and final punctuation.

A message may be a template: its ``slots`` name the ``{slot}`` markers in it (``{workspace}``, ``{repo:gadgets}``,
any name without braces or blanks). It matches any message that fills them in, and the values it binds fill the
same markers in the steps. One registration thereby serves every run of a scenario, whatever names its repositories
were given. Braces that are not declared slots are text like any other.

The sandbox takes plans on its admin API (``POST /model/plans`` with this YAML or the same JSON; ``GET`` lists them,
``DELETE`` forgets them) and forgets them on reset.
"""

from __future__ import annotations

import re
import threading
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox.model.policy.grammar import Intent
from yamlio import parse_model


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: Literal["create_branch", "open_pull_request", "comment_issue", "read_file", "call", "say", "ask"]
    workspace: str | None = None
    repo: str | None = None
    name: str | None = None  # create_branch
    base: str | None = None
    source: str | None = None  # open_pull_request
    destination: str | None = None
    title: str | None = None
    description: str | None = None
    issue: int | None = None  # comment_issue (default: the latest open issue)
    text: str | None = None  # comment_issue, say, ask
    path: str | None = None  # read_file
    ref: str | None = None
    tool: str | None = None  # call
    arguments: dict[str, Any] | None = None

    def to_intent(self) -> Intent:
        args = self.model_dump(exclude={"intent", "workspace", "repo"}, exclude_none=True)
        return Intent(self.intent, args, self.workspace, self.repo)


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1)
    slots: list[Annotated[str, Field(pattern=r"^[^{}\s]+$")]] = Field(
        default=[],
        description="the {slot} markers of a template message, bound from the message and filled in the steps",
    )
    steps: list[PlanStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _slots_in_the_message(self) -> Plan:
        """A template binds its slots from the message, so each one must occur in it."""
        missing = [slot for slot in self.slots if "{" + slot + "}" not in self.message]
        if missing:
            raise ValueError(f"slot {', '.join(missing)} does not occur in the message as {{{missing[0]}}}")
        return self


class PlanFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plans: list[Plan]


def parse_plans(text: str, source: str = "plans") -> list[Plan]:
    """Plans from YAML or JSON text; errors name the line and field."""
    return parse_model(PlanFile, text, source).plans


def message_key(message: str) -> str:
    return re.sub(r"\s+", " ", message).strip().rstrip(".!?").strip().casefold()


class Template:
    """A plan whose message has slots: matched by a regular expression, its steps filled from what it bound."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.names: list[str] = []
        longest_first = sorted(plan.slots, key=len, reverse=True)
        self.marker = re.compile("|".join(re.escape("{" + s + "}") for s in longest_first))
        in_key = re.compile("|".join(re.escape(("{" + s + "}").casefold()) for s in longest_first))  # keys casefold
        pattern = ""
        key = message_key(plan.message)
        at = 0
        for found in in_key.finditer(key):
            pattern += re.escape(key[at : found.start()])
            name = found.group(0)[1:-1]
            if name in self.names:  # the same slot twice must bind the same value
                pattern += f"(?P=p{self.names.index(name)})"
            else:
                pattern += f"(?P<p{len(self.names)}>[^\\s/]+?)"
                self.names.append(name)
            at = found.end()
        self.regex = re.compile(pattern + re.escape(key[at:]) + r"\Z")

    def match(self, message: str) -> list[PlanStep] | None:
        found = self.regex.match(message_key(message))
        if found is None:
            return None
        values = {name: found.group(f"p{i}") for i, name in enumerate(self.names)}
        return [PlanStep.model_validate(self._filled(step.model_dump(), values)) for step in self.plan.steps]

    def _filled(self, value: Any, values: dict[str, str]) -> Any:
        if isinstance(value, str):
            return self.marker.sub(lambda m: values[m.group(0)[1:-1].casefold()], value)
        if isinstance(value, list):
            return [self._filled(v, values) for v in value]
        if isinstance(value, dict):
            return {k: self._filled(v, values) for k, v in value.items()}
        return value


class PlanRegistry:
    """The plans a sandbox knows, keyed by user message (a later plan for the same message replaces it)."""

    def __init__(self) -> None:
        self._plans: dict[str, Plan] = {}
        self._templates: dict[str, Template] = {}
        self._lock = threading.Lock()

    def register(
        self, message: str, steps: list[PlanStep] | list[dict[str, Any]], slots: list[str] | None = None
    ) -> Plan:
        plan = Plan.model_validate({"message": message, "steps": steps, "slots": slots or []})
        self.add([plan])
        return plan

    def add(self, plans: list[Plan]) -> None:
        with self._lock:
            for plan in plans:
                key = message_key(plan.message)
                if plan.slots:
                    self._templates[key] = Template(plan)
                else:
                    self._plans[key] = plan

    def lookup(self, message: str) -> list[Intent] | None:
        plan = self._plans.get(message_key(message))
        if plan is not None:
            return [step.to_intent() for step in plan.steps]
        for template in self._templates.values():
            steps = template.match(message)
            if steps is not None:
                return [step.to_intent() for step in steps]
        return None

    def all(self) -> list[Plan]:
        return [*self._plans.values(), *(t.plan for t in self._templates.values())]

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()
            self._templates.clear()
