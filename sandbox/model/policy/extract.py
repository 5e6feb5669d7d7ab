"""Reading values out of tool results, whatever wrapper or nesting a server chose."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_SHA = re.compile(r"\b[0-9a-f]{40}\b")
_TEXT_KEYS = ("content", "data", "text", "raw", "file_content", "contents", "body")


def walk(data: Any) -> Iterator[dict[str, Any]]:
    """Every object inside ``data``, depth first."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from walk(value)
    elif isinstance(data, list):
        for item in data:
            yield from walk(item)


def head_hash(data: Any, branch: str) -> str | None:
    """The commit a branch points to, from a branch object, a list of branches or a commit."""
    objects = list(walk(data))
    for obj in objects:
        if obj.get("name") == branch and isinstance(obj.get("target"), dict):
            found = obj["target"].get("hash")
            if isinstance(found, str) and _SHA.fullmatch(found):
                return found
    for obj in objects:
        found = obj.get("hash")
        if isinstance(found, str) and _SHA.fullmatch(found):
            return found
    match = _SHA.search(data) if isinstance(data, str) else None
    return match.group(0) if match else None


def branch_names(data: Any) -> list[str]:
    return [str(o["name"]) for o in walk(data) if o.get("type") == "branch" and isinstance(o.get("name"), str)]


def newest_open_issue(data: Any) -> dict[str, Any] | None:
    """The newest issue in state ``open`` in a listing (servers may or may not have sorted or filtered it)."""
    issues = [
        o
        for o in walk(data)
        if isinstance(o.get("id"), int)
        and o.get("state") == "open"
        and (o.get("type") == "issue" or "kind" in o or "reporter" in o)
    ]
    issues.sort(key=lambda o: (str(o.get("created_on") or ""), o["id"]), reverse=True)
    return issues[0] if issues else None


def newest_open_pull_request(data: Any) -> int | None:
    """The highest id among the open pull requests of a listing."""
    ids = [
        int(o["id"])
        for o in walk(data)
        if o.get("type") == "pullrequest" and isinstance(o.get("id"), int) and o.get("state", "OPEN") == "OPEN"
    ]
    return max(ids, default=None)


def object_id(data: Any, kind: str) -> int | None:
    """The id of the first object of a Bitbucket ``type`` (``pullrequest``, ``issue_comment``...)."""
    for obj in walk(data):
        if obj.get("type") == kind and isinstance(obj.get("id"), int):
            return int(obj["id"])
    top = data.get("pull_request", data) if isinstance(data, dict) else None
    return int(top["id"]) if isinstance(top, dict) and isinstance(top.get("id"), int) else None


def file_text(data: Any) -> str | None:
    """A file's text: the result itself, or the string under a content-like key."""
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in _TEXT_KEYS:
            value = data.get(key)
            if isinstance(value, str):
                return value
        for key in _TEXT_KEYS:
            if isinstance(data.get(key), dict | list):
                found = file_text(data[key])
                if found is not None:
                    return found
    if isinstance(data, list) and len(data) == 1:
        return file_text(data[0])
    return None
