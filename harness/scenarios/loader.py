"""Loading scenario files: one scenario per YAML file; errors name the file, line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.scenarios.schema import Scenario
from yamlio import InputError, load_model


def load_scenario(path: Path) -> Scenario:
    return load_model(Scenario, path)


def scenario_files(paths: list[Path]) -> list[Path]:
    """Scenario files given directly and those in the given directories (``*.yaml``, sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.yaml")))
        elif path.exists():
            files.append(path)
        else:
            raise InputError(f"{path}: no such scenario file or directory")
    return files


def load_scenarios(paths: list[Path]) -> list[Scenario]:
    """Every scenario of ``scenario_files(paths)``, in that order; every error is reported, not just the first."""
    return [scenario for scenario, _ in load_scenario_sources(paths)]


def load_scenario_sources(paths: list[Path]) -> list[tuple[Scenario, str]]:
    """Each scenario with its file as cassettes record it (relative to the working directory where it can be)."""
    loaded: list[tuple[Scenario, str]] = []
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for file in scenario_files(paths):
        try:
            scenario = load_scenario(file)
        except InputError as exc:
            problems.append(str(exc))
            continue
        if scenario.id in seen:
            problems.append(f"{file}:1: id: {scenario.id!r} is already the id of {seen[scenario.id]}")
            continue
        seen[scenario.id] = file
        loaded.append((scenario, portable(file)))
    if problems:
        raise InputError("\n".join(problems))
    return loaded


def portable(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def json_schema() -> dict[str, Any]:
    """The scenario format as JSON Schema, for editors (``harness scenarios schema``)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Bitbucket MCP agent scenario"
    return schema


def dump_json_schema(path: Path) -> None:
    path.write_text(json.dumps(json_schema(), indent=2) + "\n")
