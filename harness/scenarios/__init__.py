"""Scenario files: schema, loading with file:line errors, and placeholders filled per cell."""

from harness.scenarios.loader import json_schema, load_scenario, load_scenarios
from harness.scenarios.schema import Scenario

__all__ = ["Scenario", "json_schema", "load_scenario", "load_scenarios"]
