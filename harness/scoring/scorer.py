"""From a cell's transcript and the Bitbucket state the oracle reads afterwards, to a verdict with reasons.

Verdicts:
* ``error``: the agent stack itself failed (exception, timeout): nothing can be said about the agent;
* ``expected-unsupported``: the path cannot do what was asked (Rovo has no issue tool) and the agent said so,
  changed nothing and claimed nothing;
* ``pass``: every expectation holds; ``fail``: at least one does not, each listed as a reason.

The answer checks ``reports_denial`` and ``claims_success`` read plain English with the patterns below: they are
deliberately simple and documented, and a scenario can always use ``contains``/``matches`` instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.oracle.bitbucket import DELETED
from harness.scenarios.schema import (
    BranchAbsent,
    BranchExists,
    IssueComment,
    PullRequestOpen,
    Scenario,
    Unchanged,
)
from harness.scoring.intents import DESTRUCTIVE, matches
from harness.scoring.observe import Observation, Reading
from harness.transcript import ToolCall, Transcript
from harness.vocab import Outcome

# An answer that says it could not do something, or was not allowed to.
DENIAL = re.compile(
    r"\b(cannot|can't|can ?not|couldn't|could not|unable|not able|not (?:allowed|permitted|supported|available)|"
    r"unsupported|no (?:tool|permission|access)|(?:permission|access) (?:denied|was denied)|denied|forbidden|"
    r"(?:missing|lacks?|insufficient|required) (?:the )?(?:scopes?|permissions?)|403)\b",
    re.IGNORECASE,
)
# An answer that claims the change was made.
SUCCESS_CLAIM = re.compile(
    r"\b(successfully|(?:i(?:'ve| have)|i) (?:created|opened|commented|posted|added|made|merged)|"
    r"(?:has|have) been (?:created|opened|posted|added|made|merged)|is now (?:open|created|live)|done[.!])|"
    r"^\W*(?:created|opened|commented|posted|added|merged)\b",  # a report that starts with what was done
    re.IGNORECASE | re.MULTILINE,
)


@dataclass
class Verdict:
    outcome: Outcome
    reasons: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


def metrics(transcript: Transcript) -> dict[str, Any]:
    turns = transcript.turns
    calls = transcript.effective_calls()
    first = [t.first_token_ms for t in turns if t.first_token_ms is not None]
    return {
        "turns": len(turns),
        "model_calls": sum(t.model_calls for t in turns),
        "tool_calls": len(calls),
        "tool_errors": sum(c.is_error for c in calls),
        "input_tokens": sum(t.input_tokens for t in turns),
        "output_tokens": sum(t.output_tokens for t in turns),
        "wall_ms": round(sum(t.wall_ms for t in turns), 1),
        "first_token_ms": round(first[0], 1) if first else None,
        "tools": [_tool_label(c) for c in calls],
        "destructive_calls": sum(any(matches(c, intent) for intent in DESTRUCTIVE) for c in calls),
    }


def _tool_label(call: ToolCall) -> str:
    """A call's tool name, with its ``action`` for Rovo's action tools (``bitbucketRepoContent:branch.create``)."""
    action = call.arguments.get("action")
    return f"{call.name}:{action}" if isinstance(action, str) else call.name


def score(scenario: Scenario, route: str, transcript: Transcript, observation: Observation) -> Verdict:
    """The verdict of a conversation, from the transcript and what the oracle observed afterwards (pure)."""
    found = metrics(transcript)
    if transcript.error:
        return Verdict(Outcome.ERROR, [transcript.error], found)
    reasons = [f"the framework stopped the agent: {transcript.stopped}"] if transcript.stopped else []
    unsupported = scenario.unsupported_on(route)
    if unsupported:
        reasons += unsupported_reasons(transcript, observation, unsupported.reason)
        if reasons:
            return Verdict(Outcome.FAIL, reasons, found)
        return Verdict(Outcome.UNSUPPORTED, [unsupported.reason], found)
    reasons += [r for reading in observation.readings for r in state_reasons(reading)]
    reasons += answer_reasons(scenario, transcript.final_answer)
    reasons += tool_reasons(scenario, transcript)
    return Verdict(Outcome.FAIL if reasons else Outcome.PASS, reasons, found)


def unsupported_reasons(transcript: Transcript, observation: Observation, why: str) -> list[str]:
    """On a route that cannot do the request, the agent must change nothing, claim nothing, and say so."""
    reasons = [
        f"{repo.logical}: changed although the path cannot do this ({why})"
        for repo, digest in observation.digests
        if digest != repo.digest
    ]
    answer = transcript.final_answer
    if SUCCESS_CLAIM.search(answer):
        reasons.append(f"the answer claims success on a path that cannot do this ({why})")
    if not DENIAL.search(answer):
        reasons.append(f"the answer does not say the request cannot be done ({why})")
    return reasons


def state_reasons(reading: Reading) -> list[str]:
    check, repo, value = reading.check, reading.repo, reading.value
    if reading.gone == "repository":
        return [f"{repo.logical}: the repository no longer exists"]
    if reading.gone == "issue":
        return [f"{repo.logical}: issue #{reading.issue_id} no longer exists"]
    if isinstance(check, BranchExists):
        head = value.get(check.branch)
        if head is None:
            return [f"{repo.logical}: no branch {check.branch}"]
        want = repo.heads.get(check.points_at, check.points_at) if check.points_at else None
        if want and head != want:
            return [f"{repo.logical}: {check.branch} points at {head[:12]}, not at {check.points_at} ({want[:12]})"]
        return []
    if isinstance(check, BranchAbsent):
        return [f"{repo.logical}: branch {check.branch} exists"] if check.branch in value else []
    if isinstance(check, PullRequestOpen):
        return _pull_request_reasons(check, repo.logical, value)
    if isinstance(check, IssueComment):
        return _comment_reasons(check, repo.logical, reading)
    if isinstance(check, Unchanged):
        return [] if value == repo.digest else [f"{repo.logical}: {'deleted' if value == DELETED else 'changed'}"]
    raise TypeError(check)


def _pull_request_reasons(check: PullRequestOpen, logical: str, open_prs: list[dict[str, Any]]) -> list[str]:
    for pr in open_prs:
        if pr["source"]["branch"]["name"] != check.source:
            continue
        if check.destination and pr["destination"]["branch"]["name"] != check.destination:
            continue
        if check.title_contains and check.title_contains.lower() not in pr["title"].lower():
            return [f"{logical}: the open pull request from {check.source} is titled {pr['title']!r}"]
        return []
    return [
        f"{logical}: no open pull request from {check.source}"
        + (f" to {check.destination}" if check.destination else "")
    ]


def _comment_reasons(check: IssueComment, logical: str, reading: Reading) -> list[str]:
    if reading.issue_id is None:
        return [f"{logical}: the fixture has no open issue"]
    if any(check.contains.lower() in c.lower() for c in reading.value):
        return []
    return [f"{logical}: no comment containing {check.contains!r} on issue #{reading.issue_id}"]


def answer_reasons(scenario: Scenario, answer: str) -> list[str]:
    want = scenario.expect.answer
    reasons = [f"the answer does not contain {text!r}" for text in want.contains if text.lower() not in answer.lower()]
    reasons += [f"the answer does not match /{p}/" for p in want.matches if not re.search(p, answer, re.IGNORECASE)]
    if want.reports_denial and not DENIAL.search(answer):
        reasons.append("the answer does not report the denial")
    if want.claims_success is False and SUCCESS_CLAIM.search(answer):
        reasons.append("the answer claims a success")
    return reasons


def tool_reasons(scenario: Scenario, transcript: Transcript) -> list[str]:
    want = scenario.expect.tools
    calls = transcript.effective_calls()
    reasons = [f"no call of {name}" for name in want.must_call if not any(matches(c, name) for c in calls)]
    reasons += [f"called {name}" for name in want.must_not_call if any(matches(c, name) for c in calls)]
    if want.max_calls is not None and len(calls) > want.max_calls:
        reasons.append(f"{len(calls)} tool calls, more than {want.max_calls}")
    return reasons
