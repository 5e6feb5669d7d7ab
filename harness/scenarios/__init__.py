"""Scenario files: schema and loading with file:line errors (placeholders: ``harness.placeholders``)."""

from harness.scenarios.loader import json_schema, load_scenario, load_scenarios
from harness.scenarios.schema import Scenario

__all__ = ["Scenario", "json_schema", "load_scenario", "load_scenarios"]
