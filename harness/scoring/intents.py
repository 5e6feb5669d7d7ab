"""Intents (what a user asks for) and the tools that carry them out on each MCP route.

The intent names are those of the scenario plans. Expectations name intents (``create_branch``) or tool names
(``BITBUCKET_CREATE_BRANCH``, ``bitbucketRepoContent``, ``bitbucketRepoContent:branch.create``); an intent
matches a call of any route's tools for it, with the given ``action`` for Rovo's action tools.
"""

from __future__ import annotations

from harness.routes import ROUTES
from harness.transcript import ToolCall
from harness.vocab import DESTRUCTIVE_INTENTS

# intent -> (tool, action or None), over every route
INTENT_TOOLS: dict[str, tuple[tuple[str, str | None], ...]] = {}
for _route in ROUTES.values():
    for _intent, _tools in _route.intent_tools.items():
        INTENT_TOOLS[_intent] = INTENT_TOOLS.get(_intent, ()) + _tools
DESTRUCTIVE = DESTRUCTIVE_INTENTS


def matches(call: ToolCall, wanted: str) -> bool:
    """Whether ``call`` is ``wanted``: an intent name, or a tool name (optionally ``tool:action``)."""
    tool, _, action = wanted.partition(":")
    if tool == call.name and (not action or call.arguments.get("action") == action):
        return True
    return any(
        call.name == t and (a is None or call.arguments.get("action") == a) for t, a in INTENT_TOOLS.get(wanted, ())
    )
