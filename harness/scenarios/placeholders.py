"""Placeholders in scenario text, filled per cell: ``{workspace}``, ``{repo}``, ``{repo:<name>}``, and any value
the oracle read while arranging (``{main_head}``: the first repository's main-branch head).

Only these names are placeholders; other braces (JSON in a message, say) are left as they are. The sandbox model
gets a scenario's plans with their placeholders declared as slots (``harness.scenarios.plans``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{(workspace|repo(?::[a-z0-9_.-]+)?|main_head)\}")
KNOWN = "{workspace}, {repo}, {repo:<name>}, {main_head}"
_LOOKS_LIKE_ONE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_:.-]*\}")  # JSON such as {"a": 1} does not


class UnknownPlaceholder(KeyError):
    pass


def unknown_placeholders(text: str) -> list[str]:
    """Brace words that look like placeholders but are none (``{wrkspace}``), in order."""
    return [m.group(0) for m in _LOOKS_LIKE_ONE.finditer(text) if not PLACEHOLDER.fullmatch(m.group(0))]


def check_placeholders(text: str) -> str:
    """``text``, or ValueError naming its unknown placeholders and the known ones."""
    unknown = unknown_placeholders(text)
    if unknown:
        raise ValueError(f"unknown placeholder {', '.join(unknown)}; the placeholders are {KNOWN}")
    return text


def names_in(text: str) -> set[str]:
    """The placeholder names ``text`` uses (``repo``, ``repo:gadgets``, ...)."""
    return set(PLACEHOLDER.findall(text))


def fill(text: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise UnknownPlaceholder(f"{match.group(0)} has no value (known: {', '.join(sorted(values))})")
        return values[key]

    return PLACEHOLDER.sub(replace, text)


def fill_any(value: Any, values: Mapping[str, str]) -> Any:
    """``fill`` through nested lists and dicts (plan arguments)."""
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, list):
        return [fill_any(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill_any(v, values) for k, v in value.items()}
    return value
