"""Tool input schemas in Composio's style, and the argument validation Composio applies before a tool runs.

Composio validates arguments with pydantic (lax mode): integer and boolean fields accept their usual string
and number spellings, but a string field does not accept a number. Unknown arguments are ignored, ``null``
stands for "not given", and defaults are filled in. The first problem found is reported as
``Invalid request data provided - ...`` in a failed result, before anything reaches Bitbucket.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.composio.errors import J, ToolFailure, missing_fields

_NO_DEFAULT = object()
_TYPE_NAMES = {
    "string": "a valid string",
    "integer": "a valid integer",
    "boolean": "a valid boolean",
    "number": "a valid number",
    "array": "a valid list",
    "object": "a valid dictionary",
}
_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}


def field(type_: str, description: str, *, default: Any = _NO_DEFAULT, **extra: Any) -> J:
    """One property; ``default`` marks it optional (``None`` also makes it nullable, as Composio does)."""
    prop: J = {"type": type_, "description": description, **extra}
    if default is not _NO_DEFAULT:
        prop["default"] = default
        if default is None:
            prop["nullable"] = True
    return prop


def obj(title: str, properties: dict[str, J], required: list[str] | None = None) -> J:
    """An object schema; properties without a default are required unless ``required`` says otherwise."""
    if required is None:
        required = [name for name, p in properties.items() if "default" not in p]
    titled = {name: {"title": name.replace("_", " ").title(), **p} for name, p in properties.items()}
    return {"type": "object", "title": title, "properties": titled, "required": required}


def validate(schema: J, arguments: Any) -> J:
    """The cleaned arguments (coerced, defaults filled, unknown keys dropped), or a ToolFailure."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ToolFailure("Invalid request data provided - arguments: Input should be a valid dictionary")
    missing = [name for name in schema.get("required", []) if arguments.get(name) is None]
    if missing:
        raise ToolFailure(missing_fields(missing))
    return _object(schema, arguments, "")


def _object(schema: J, value: J, where: str) -> J:
    out: J = {}
    for name, prop in schema.get("properties", {}).items():
        loc = f"{where}.{name}" if where else name
        given = value.get(name)
        if given is None:
            if name in schema.get("required", []):
                raise ToolFailure(f"Invalid request data provided - {loc}: Field required")
            if prop.get("default") is not None:
                out[name] = prop["default"]
            continue
        out[name] = _value(prop, given, loc)
    return out


def _value(prop: J, given: Any, loc: str) -> Any:
    kind = prop.get("type", "string")
    value = _coerce(kind, given)
    if value is _NO_DEFAULT:
        raise ToolFailure(f"Invalid request data provided - {loc}: Input should be {_TYPE_NAMES[kind]}")
    if "enum" in prop and value not in prop["enum"]:
        choices = ", ".join(repr(c) for c in prop["enum"][:-1]) + f" or {prop['enum'][-1]!r}"
        raise ToolFailure(f"Invalid request data provided - {loc}: Input should be {choices}")
    _bounds(prop, value, loc)
    if kind == "array" and "items" in prop:
        return [_value(prop["items"], item, f"{loc}.{i}") for i, item in enumerate(value)]
    if kind == "object" and "properties" in prop:
        missing = [n for n in prop.get("required", []) if value.get(n) is None]
        if missing:
            raise ToolFailure(f"Invalid request data provided - {loc}.{missing[0]}: Field required")
        return _object(prop, value, loc)
    return value


def _bounds(prop: J, value: Any, loc: str) -> None:
    if "minimum" in prop and value < prop["minimum"]:
        raise ToolFailure(
            f"Invalid request data provided - {loc}: Input should be greater than or equal to {prop['minimum']}"
        )
    if "maximum" in prop and value > prop["maximum"]:
        raise ToolFailure(
            f"Invalid request data provided - {loc}: Input should be less than or equal to {prop['maximum']}"
        )
    if "minItems" in prop and len(value) < prop["minItems"]:
        raise ToolFailure(
            f"Invalid request data provided - {loc}: List should have at least {prop['minItems']} item(s)"
        )
    if "maxItems" in prop and len(value) > prop["maxItems"]:
        raise ToolFailure(f"Invalid request data provided - {loc}: List should have at most {prop['maxItems']} items")


def _coerce(kind: str, given: Any) -> Any:
    """Pydantic's lax conversions, or ``_NO_DEFAULT`` when the value does not fit."""
    if kind == "string":
        return given if isinstance(given, str) else _NO_DEFAULT
    if kind == "integer":
        return _integer(given)
    if kind == "number":
        if isinstance(given, bool):
            return _NO_DEFAULT
        if isinstance(given, int | float):
            return given
        return _number_text(given)
    if kind == "boolean":
        return _boolean(given)
    if kind == "array":
        return given if isinstance(given, list) else _NO_DEFAULT
    if kind == "object":
        return given if isinstance(given, dict) else _NO_DEFAULT
    return given


def _integer(given: Any) -> Any:
    if isinstance(given, bool):
        return _NO_DEFAULT
    if isinstance(given, int):
        return given
    if isinstance(given, float) and given.is_integer():
        return int(given)
    if isinstance(given, str) and re.fullmatch(r"\s*[+-]?\d+\s*", given):
        return int(given)
    return _NO_DEFAULT


def _number_text(given: Any) -> Any:
    if isinstance(given, str):
        try:
            return float(given)
        except ValueError:
            return _NO_DEFAULT
    return _NO_DEFAULT


def _boolean(given: Any) -> Any:
    if isinstance(given, bool):
        return given
    if isinstance(given, int) and given in (0, 1):
        return bool(given)
    if isinstance(given, str) and given.strip().lower() in _TRUE | _FALSE:
        return given.strip().lower() in _TRUE
    return _NO_DEFAULT
