"""Why a cell failed, read from its transcript: the failure taxonomy of real agents.

A failed or errored cell gets every category its transcript shows (usually one or two); a passing cell none. The
categories are facts about the conversation, so a report can count them across models and stacks:

=============================  =============================================================================
no tool call                   the request needed a tool and the agent called none
unknown tool                   it called a tool that was not offered
malformed arguments            a call's arguments did not parse or did not fit the tool's schema
wrong tool                     it called tools, but none of those the request needed
wrong target                   the right kind of call, on another repository, branch or ref than asked
tool error not recovered       a call failed and the agent neither retried it successfully nor said so
context overflow               the conversation outgrew the model's context window
timeout                        the conversation ran out of time
loop                           the framework stopped it, or it repeated one call three times or more
false success claim            the answer claims a success the state does not show
refusal                        it declined to act on a request it could have done
=============================  =============================================================================

The patterns are deliberately simple and documented; a category is a pointer to transcripts worth reading.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping

from harness.scenarios.schema import Scenario
from harness.scoring.intents import matches
from harness.scoring.scorer import DENIAL, Verdict
from harness.transcript import ToolCall, Transcript
from harness.vocab import Outcome

CATEGORIES = (
    "no tool call",
    "unknown tool",
    "malformed arguments",
    "wrong tool",
    "wrong target",
    "tool error not recovered",
    "context overflow",
    "timeout",
    "loop",
    "false success claim",
    "refusal",
)
UNKNOWN_TOOL = re.compile(r"unknown tool|tool \S+ not found|no such tool|not a valid tool|tool name .* not", re.I)
BAD_ARGUMENTS = re.compile(
    r"validation error|invalid (?:arguments?|params|input)|is a required property|missing required|"
    r"field required|unexpected keyword|(?:could not|failed to) parse|json ?decode|expecting value|not a JSON object",
    re.I,
)
CONTEXT = re.compile(r"context (?:length|window|size)|maximum context|exceed_context|n_ctx|too many tokens", re.I)
# A result that says the call failed, whether or not the framework marked it (some pass MCP errors on as text).
FAILED_RESULT = re.compile(r'^\s*(?:Bitbucket API error|Error\b|\{"error")|"successful":\s*false', re.I)
NOT_FOUND = re.compile(r"not found|could not resolve|does not exist|no such", re.I)
REPORTED = re.compile(r"\b(?:fail(?:ed|s|ure)?|error|did ?n[o']t work|went wrong)\b", re.I)  # or a DENIAL
REFUSAL = re.compile(
    r"\b(?:i can(?:'|no)t help|i(?:'m| am) (?:sorry|unable|not able)|i won't|as an ai|i (?:will not|won't) be able|"
    r"(?:cannot|can't|unable to) (?:assist|comply)|due to (?:copyright|privacy|policy))",
    re.I,
)
LOOP_REPEATS = 3


def classify(
    scenario: Scenario, route: str, transcript: Transcript, verdict: Verdict, placeholders: Mapping[str, str]
) -> list[str]:
    """The categories of a failed or errored cell, in ``CATEGORIES`` order; none for an ok cell."""
    if verdict.outcome not in (Outcome.FAIL, Outcome.ERROR):
        return []
    calls = transcript.effective_calls()
    found = set(_errors(transcript, calls)) | set(_calls(scenario, route, transcript, calls, placeholders))
    reasons = " ".join(verdict.reasons)
    if "claims success" in reasons or "claims a success" in reasons:
        found.add("false success claim")
    if " points at " in reasons:  # a branch made off another ref than asked
        found.add("wrong target")
    if not calls and REFUSAL.search(transcript.final_answer) and not scenario.expect.answer.reports_denial:
        found.add("refusal")
    return [c for c in CATEGORIES if c in found]


def _errors(transcript: Transcript, calls: list[ToolCall]) -> list[str]:
    """What the stack or the tools said went wrong."""
    said = " ".join([transcript.error or "", transcript.stopped or "", *(c.result or "" for c in calls if _failed(c))])
    found = []
    if (transcript.error or "").startswith("timed out"):
        found.append("timeout")
    if CONTEXT.search(said):
        found.append("context overflow")
    if UNKNOWN_TOOL.search(said):
        found.append("unknown tool")
    if any("_unparsed" in c.arguments for c in calls) or BAD_ARGUMENTS.search(said):
        found.append("malformed arguments")
    repeated = Counter(json.dumps([c.name, c.arguments], sort_keys=True) for c in calls)
    if transcript.stopped or (repeated and max(repeated.values()) >= LOOP_REPEATS):
        found.append("loop")
    return found


def _calls(
    scenario: Scenario, route: str, transcript: Transcript, calls: list[ToolCall], placeholders: Mapping[str, str]
) -> list[str]:
    """What the calls themselves show against what the request needed."""
    needed = scenario.expect.tools.must_call
    if not calls:
        return ["no tool call"] if (needed or _changes_state(scenario)) and not transcript.error else []
    found = []
    readable = [c for c in calls if "_unparsed" not in c.arguments]  # what a call meant is unknown otherwise
    if needed and readable and not any(matches(c, name) for c in readable for name in needed):
        found.append("wrong tool")
    elif _off_target(readable, needed, placeholders):
        found.append("wrong target")
    answer = transcript.final_answer
    if _failed(calls[-1]) and not (DENIAL.search(answer) or REPORTED.search(answer)):
        found.append("tool error not recovered")
    return found


def _failed(call: ToolCall) -> bool:
    return call.is_error or bool(FAILED_RESULT.search(call.result or ""))


def _changes_state(scenario: Scenario) -> bool:
    return any(check.kind != "unchanged" for check in scenario.expect.state)


def _off_target(calls: list[ToolCall], needed: list[str], placeholders: Mapping[str, str]) -> bool:
    """A call of a needed kind that names no repository of the cell, or whose target Bitbucket could not find (a
    ref, a branch or an issue that is not there)."""
    names = {v for k, v in placeholders.items() if k == "repo" or k.startswith("repo:")}
    for call in calls:
        if not any(matches(call, name) for name in needed):
            continue
        text = json.dumps(call.arguments)
        if (names and not any(name in text for name in names)) or (
            _failed(call) and NOT_FOUND.search(call.result or "")
        ):
            return True
    return False
