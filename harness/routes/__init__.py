"""MCP routes to Bitbucket, by the name results use (``path`` in rows and scenario files)."""

from harness.routes.base import IntentTools, McpConnection, ProfileUnavailable, Route, RouteConfig
from harness.routes.composio import ComposioConfig, ComposioRoute
from harness.routes.rovo import RovoConfig, RovoRoute
from harness.vocab import DESTRUCTIVE_INTENTS, RouteName

ROUTES: dict[RouteName, Route] = {r.name: r for r in (ComposioRoute(), RovoRoute())}


def tool_words() -> dict[str, tuple[str, ...]]:
    """Every tool name a scenario may name, on any route, with its actions."""
    return {name: actions for route in ROUTES.values() for name, actions in route.tools.items()}


def intent_words() -> set[str]:
    """Every intent a scenario may name: those some route carries out, and the destructive ones."""
    return {intent for route in ROUTES.values() for intent in route.intent_tools} | set(DESTRUCTIVE_INTENTS)


__all__ = [
    "ROUTES",
    "ComposioConfig",
    "IntentTools",
    "McpConnection",
    "ProfileUnavailable",
    "Route",
    "RouteConfig",
    "RovoConfig",
]
