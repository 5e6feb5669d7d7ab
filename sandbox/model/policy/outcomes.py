"""What a tool result says: success with data, or a failure of a known kind.

Tool results arrive as text, shaped by the MCP server and then by the framework that relayed them: Composio's
``{"data", "error", "successful"}`` wrapper (nested per tool inside COMPOSIO_MULTI_EXECUTE_TOOL), Bitbucket's
``{"type": "error", "error": {...}}`` envelope, MCP error text, or a framework's retry prompt. The reference policy
never reports a success it cannot read here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.model.policy.conversation import Exchange

Kind = Literal["ok", "denied", "not_found", "missing_tool", "transient", "declined", "failed"]

# Plain-text results carry no error flag once a framework has relayed them (the Agents SDK and AutoGen pass only
# the text of an ``isError`` result), so an error is read from how the text starts or from an HTTP status in it.
_ERROR_START = re.compile(
    r"^\s*(error\b|mcp error|failed\b|exception\b|tool call failed|an error occurred|"
    r"permission denied|access denied|forbidden|unauthori[sz]ed|missing required parameter|"
    r"invalid (value|parameter|argument|request)|unknown tool)",
    re.I,
)
_ERROR_LINE = re.compile(r"\b(HTTP|status(?: code)?)\s*[45]\d\d\b|\bis not linked to\b", re.I)
_RETRY_PROMPT = "fix the errors and try again"  # Pydantic AI's wrapper around a failed tool call
_KINDS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("declined", re.compile(r"declin|not approved|rejected by the user", re.I)),
    ("missing_tool", re.compile(r"tool \S+ not found|unknown tool|no such tool|-32602|ToolNotFound", re.I)),
    (
        "denied",
        re.compile(
            r"\b403\b|forbidden|scope|permission|not authori[sz]ed|access denied|insufficient|"
            r"\b401\b|unauthori[sz]ed|not allowed",
            re.I,
        ),
    ),
    # Failures that say the request was not processed. A 500 is not among them: a write that got one may have been
    # applied, so it is reported rather than retried (a retry could make it twice).
    (
        "transient",
        re.compile(
            r"\b(429|502|503|504)\b|timed? ?out|temporar|unavailable|rate.?limit|"
            r"try again later|bad gateway",
            re.I,
        ),
    ),
    ("not_found", re.compile(r"\b404\b|not found|does not exist|no such|doesn't exist", re.I)),
)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    data: Any = None  # the payload with wrappers removed (parsed JSON, or the raw text)
    error: str = ""
    kind: Kind = "ok"


def failure(error: str, kind: Kind | None = None) -> Outcome:
    return Outcome(False, None, error, kind or error_kind(error))


def error_kind(message: str) -> Kind:
    for kind, pattern in _KINDS:
        if pattern.search(message):
            return kind
    return "failed"


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return None


def classify(exchange: Exchange) -> Outcome:
    text = exchange.output.strip()
    if exchange.failed:
        return failure(_first_line(text) or "the tool call failed")
    payload = _unwrap_content(parse_json(text))
    if payload is None:
        return _classify_text(text)
    return _classify_payload(payload)


def _unwrap_content(payload: Any) -> Any:
    """A framework may relay MCP content blocks as JSON: ``[{"type": "text", "text": ...}]``."""
    if isinstance(payload, list) and payload and all(isinstance(p, dict) and p.get("type") == "text" for p in payload):
        joined = "".join(str(p.get("text", "")) for p in payload)
        inner = parse_json(joined)
        return joined if inner is None else inner
    if isinstance(payload, dict) and payload.get("type") == "text" and isinstance(payload.get("text"), str):
        inner = parse_json(payload["text"])
        return payload["text"] if inner is None else inner
    return payload


def _classify_text(text: str) -> Outcome:
    if _ERROR_START.search(text) or _ERROR_LINE.search(_first_line(text)) or _RETRY_PROMPT in text.lower():
        return failure(_first_line(text))
    return Outcome(True, text)


def _classify_payload(payload: Any) -> Outcome:
    if isinstance(payload, str):
        return _classify_text(payload)
    if not isinstance(payload, dict):
        return Outcome(True, payload)
    if payload.get("isError") is True:
        return failure(_message(payload.get("content") or payload))
    if "successful" in payload:
        return _composio(payload)
    if payload.get("type") == "error" or (payload.get("error") and not _has_data(payload)):
        return failure(_message(payload.get("error")))
    return Outcome(True, payload)


def _composio(payload: dict[str, Any]) -> Outcome:
    data = payload.get("data")
    results = data.get("results") if isinstance(data, dict) else None
    if isinstance(results, list) and results and all(isinstance(r, dict) and "response" in r for r in results):
        return _multi_execute(results)
    if payload.get("successful") is False or payload.get("error"):
        return failure(_message(payload.get("error")) or "the tool reported a failure")
    return Outcome(True, data)


def _multi_execute(results: list[dict[str, Any]]) -> Outcome:
    """COMPOSIO_MULTI_EXECUTE_TOOL: one Composio wrapper per tool, under ``response``."""
    outcomes = []
    for result in results:
        response = result.get("response")
        if result.get("error") and not isinstance(response, dict):
            outcomes.append(failure(_message(result["error"])))
        elif isinstance(response, dict):
            inner = _composio(response) if "successful" in response else _classify_payload(response)
            if inner.ok and result.get("error"):
                inner = failure(_message(result["error"]))
            outcomes.append(inner)
        else:
            outcomes.append(Outcome(True, response))
    failed = next((o for o in outcomes if not o.ok), None)
    if failed:
        return failed
    return Outcome(True, outcomes[0].data if len(outcomes) == 1 else [o.data for o in outcomes])


def _has_data(payload: dict[str, Any]) -> bool:
    return any(payload.get(k) not in (None, "", [], {}) for k in ("data", "values", "result", "content"))


def _message(error: Any) -> str:
    """A readable message out of whatever error value a server returned."""
    if error is None:
        return ""
    if isinstance(error, str):
        inner = parse_json(error)
        return _message(inner) if isinstance(inner, dict | list) else _first_line(error)
    if isinstance(error, list):
        return "; ".join(m for m in (_message(e) for e in error) if m)
    if isinstance(error, dict):
        if error.get("type") == "text" and "text" in error:
            return _message(error["text"])
        if error.get("error"):
            return _message(error["error"])
        parts = [str(error[k]) for k in ("message", "detail") if error.get(k)]
        if isinstance(error.get("detail"), dict):
            parts[-1:] = [json.dumps(error["detail"])]
        return ": ".join(parts) or json.dumps(error)
    return str(error)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:400] if lines else text[:400]
