"""MCP routes to Bitbucket, by the name results use (``path`` in rows and scenario files)."""

from harness.routes.base import IntentTools, McpConnection, ProfileUnavailable, Route, RouteConfig
from harness.routes.composio import ComposioConfig, ComposioRoute
from harness.routes.rovo import RovoConfig, RovoRoute
from harness.vocab import RouteName

ROUTES: dict[RouteName, Route] = {r.name: r for r in (ComposioRoute(), RovoRoute())}

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
