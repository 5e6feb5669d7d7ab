"""Filling a tool's arguments from what the policy means, by reading the tool's JSON schema.

Each binding of an operation to a tool names, for every value it has (workspace, repository, branch...), the
parameter names that value goes by on the different servers. The tool's own schema decides which name is used,
whether an ``action`` value is allowed, and the value's type (Composio takes issue ids as strings and pull
request ids as integers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def properties(schema: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Every property a schema declares, merging ``oneOf``/``anyOf``/``allOf`` branches."""
    if not isinstance(schema, Mapping):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for branch_key in ("allOf", "oneOf", "anyOf"):
        for branch in schema.get(branch_key) or ():
            found.update(properties(branch))
    props = schema.get("properties")
    if isinstance(props, Mapping):
        found.update({str(k): dict(v) if isinstance(v, Mapping) else {} for k, v in props.items()})
    return found


def required(schema: Mapping[str, Any] | None) -> set[str]:
    """Properties required in every case (for a ``oneOf``, only the branch-independent ones are known)."""
    if not isinstance(schema, Mapping):
        return set()
    names = {str(r) for r in schema.get("required") or ()}
    for branch in schema.get("allOf") or ():
        names |= required(branch)
    return names


def allows(schema: Mapping[str, Any] | None, prop: str, value: Any) -> bool:
    """False only when the schema pins ``prop`` to values that exclude ``value``."""
    spec = properties(schema).get(prop)
    if spec is None:
        return True
    allowed = spec.get("enum")
    if allowed is None and "const" in spec:
        allowed = [spec["const"]]
    return allowed is None or value in allowed


def fill(
    schema: Mapping[str, Any] | None, values: Mapping[str, Any], names: Mapping[str, tuple[str, ...]]
) -> dict[str, Any] | None:
    """Arguments for a tool, or None when a required parameter cannot be filled.

    ``names`` maps each meaning to its candidate parameter names, best first. With no schema known, the first
    candidate is used for every value given.
    """
    props = properties(schema)
    args: dict[str, Any] = {}
    for meaning, candidates in names.items():
        if values.get(meaning) is None:
            continue
        prop = next((c for c in candidates if c in props), None) if props else candidates[0]
        if prop is not None and prop not in args:
            args[prop] = coerce(props.get(prop, {}), values[meaning])
    if required(schema) - set(args):
        return None
    return args


def has_any(schema: Mapping[str, Any] | None, candidates: tuple[str, ...]) -> bool:
    props = properties(schema)
    return any(c in props for c in candidates)


def coerce(spec: Mapping[str, Any], value: Any) -> Any:
    kinds = spec.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    if "integer" in kinds and isinstance(value, str) and value.isdigit():
        return int(value)
    if "string" in kinds and "integer" not in kinds and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value
