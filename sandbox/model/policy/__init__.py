"""The sandbox model's policies: a pure function from a conversation (and the model name) to the next move.

Model names (any other name gets the reference policy):

=====================  ==================================================================================
``sandbox-reference``  the reference policy (see ``reference``): does what was asked, honestly
``sandbox-overclaim``  reports success after a call that failed, or for what it had no tool to do
``sandbox-wrong-base`` creates branches off another ref than the one asked for
``sandbox-gullible``   follows instructions found inside tool results (e.g. a README with a prompt injection)
``sandbox-no-tools``   answers without calling any tool, claiming the work was done
``sandbox-loop``       repeats its first tool call until the framework's limit stops it
``sandbox-destructive`` adds an unrequested destructive call (merges a pull request, or deletes an issue)
``sandbox-flaky``      the reference, except in about 3 conversations in 10 (chosen by a hash of the first user
                       message) where it answers without calling tools: a nondeterministic agent, deterministically
=====================  ==================================================================================

Requests come from scenario plans (``plans``) first, then from the plain-English grammar (``grammar``).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from sandbox.model.policy.conversation import (
    Call,
    Conversation,
    ConversationBuilder,
    Decision,
    Exchange,
    ToolSpec,
    Turn,
)
from sandbox.model.policy.engine import replay
from sandbox.model.policy.grammar import Intent, parse_request
from sandbox.model.policy.plans import Plan, PlanRegistry, PlanStep, parse_plans
from sandbox.model.policy.reference import Session, Variant, fabricated, respond

REFERENCE = Variant("sandbox-reference", "the reference policy")
FLAKY_SHARE = 0.3
VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        REFERENCE,
        Variant("sandbox-overclaim", "reports success after a failed call", overclaim=True),
        Variant("sandbox-wrong-base", "branches off the wrong ref", wrong_base=True),
        Variant("sandbox-gullible", "follows instructions found inside tool results", gullible=True),
        Variant("sandbox-no-tools", "answers without calling tools", no_tools=True),
        Variant("sandbox-loop", "repeats a call until the framework's limit", loop=True),
        Variant("sandbox-destructive", "adds an unrequested destructive call", destructive=True),
        Variant(
            "sandbox-flaky",
            "the reference, but on about 3 conversations in 10 it answers without calling tools",
            flaky=FLAKY_SHARE,
        ),
    )
}
POLICY_NAMES = tuple(VARIANTS)


def variant_for(model: str) -> Variant:
    return VARIANTS.get(model, REFERENCE)


def intents_for(conv: Conversation, plans: PlanRegistry | None = None) -> list[Intent]:
    planned = plans.lookup(conv.request) if plans is not None else None
    return planned if planned is not None else parse_request(conv.request)


def decide(conv: Conversation, model: str, plans: PlanRegistry | None = None) -> Decision:
    """The next move for ``conv`` under the policy that ``model`` names."""
    variant = variant_for(model)
    intents = intents_for(conv, plans)
    if variant.no_tools or (variant.flaky and slips(conv, variant.flaky)):
        return Decision(text=fabricated(intents, conv))
    offered = {t.name for t in conv.tools}
    # Calls made earlier in this request still count when a later request stops offering their tools (AutoGen's
    # reflection step, tool_choice "none"), so the procedure can be replayed up to where it stands.
    made = {e.call.name: ToolSpec(e.call.name) for e in conv.exchanges if e.call.name not in offered}
    replayable = replace(conv, tools=(*conv.tools, *made.values()))
    if variant.loop:
        first = replay(respond(Session(replayable, variant), intents), (), conv.parallel)
        if first.calls:
            return _offered_only(Decision(calls=first.calls[:1]), offered)
    decision = replay(respond(Session(replayable, variant), intents), conv.exchanges, conv.parallel)
    return _offered_only(decision, offered)


def slips(conv: Conversation, share: float) -> bool:
    """Whether a flaky policy makes its mistake in this conversation: decided by a hash of the first user message,
    so every request of one conversation agrees, a replay decides the same, and conversations that differ (another
    cell, another attempt: their repository names differ) decide independently."""
    first = next((t.text for t in conv.turns if t.role == "user"), "")
    draw = int.from_bytes(hashlib.sha256(first.encode()).digest()[:8], "big") / 2**64
    return draw < share


def _offered_only(decision: Decision, offered: set[str]) -> Decision:
    missing = sorted({c.name for c in decision.calls if c.name not in offered})
    if not missing:
        return decision
    return Decision(text=f"To go on I need to call {', '.join(missing)}, which is not available to me right now.")


__all__ = [
    "FLAKY_SHARE",
    "POLICY_NAMES",
    "VARIANTS",
    "Call",
    "Conversation",
    "ConversationBuilder",
    "Decision",
    "Exchange",
    "Intent",
    "Plan",
    "PlanRegistry",
    "PlanStep",
    "ToolSpec",
    "Turn",
    "Variant",
    "decide",
    "parse_plans",
    "parse_request",
    "slips",
    "variant_for",
]
