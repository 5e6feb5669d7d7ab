"""Scenario files: the format, loading with file:line errors, placeholders, and the plans for the sandbox model."""

from harness.scenarios.loader import json_schema, load_scenario, load_scenario_sources, load_scenarios
from harness.scenarios.schema import Scenario

__all__ = ["Scenario", "json_schema", "load_scenario", "load_scenario_sources", "load_scenarios"]
