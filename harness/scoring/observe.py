"""What the scorer needs to know about Bitbucket after the conversation, read once by the oracle.

The reads depend on the expectations and on how the conversation went (a stack error needs none; a route that
cannot do the request needs each repository's digest), and they are made in the order the expectations are
listed: a replay answers exactly the requests that were recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.oracle import Arranged, ArrangedRepo, Oracle, OracleError
from harness.scenarios.schema import (
    BranchAbsent,
    BranchExists,
    IssueComment,
    PullRequestOpen,
    Scenario,
    StateCheck,
    Unchanged,
)
from harness.transcript import Transcript


@dataclass(frozen=True)
class Reading:
    """One state check's reading: branch heads, open pull requests, an issue's comments or a digest."""

    check: StateCheck
    repo: ArrangedRepo
    value: Any = None
    gone: str | None = None  # "repository" or "issue": what no longer exists (the agent deleted it)
    issue_id: int | None = None


@dataclass(frozen=True)
class Observation:
    readings: list[Reading] = field(default_factory=list)  # one per state check, in order
    digests: list[tuple[ArrangedRepo, str]] = field(default_factory=list)  # each repository's digest now
    # (on a route that cannot do the request: it must have changed nothing)


async def observe(
    scenario: Scenario, route: str, transcript: Transcript, oracle: Oracle, arranged: Arranged
) -> Observation:
    if transcript.error:
        return Observation()
    if scenario.unsupported_on(route):
        return Observation(digests=[(r, await oracle.digest(r.full_name)) for r in arranged.repos.values()])
    return Observation([await _read(check, scenario, oracle, arranged) for check in scenario.expect.state])


async def _read(check: StateCheck, scenario: Scenario, oracle: Oracle, arranged: Arranged) -> Reading:
    repo = arranged.repo(check.repo)
    try:
        if isinstance(check, BranchExists | BranchAbsent):
            return Reading(check, repo, await oracle.branches(repo.full_name))
        if isinstance(check, PullRequestOpen):
            return Reading(check, repo, await oracle.pull_requests(repo.full_name))
        if isinstance(check, IssueComment):
            return await _comments(check, scenario, oracle, repo)
        if isinstance(check, Unchanged):
            return Reading(check, repo, await oracle.digest(repo.full_name))
    except OracleError as exc:
        if exc.status != 404:
            raise
        return Reading(check, repo, gone="repository")
    raise TypeError(check)


async def _comments(check: IssueComment, scenario: Scenario, oracle: Oracle, repo: ArrangedRepo) -> Reading:
    # "latest_open" means the latest open issue of the fixture, as arranged before the run (issues of a fresh
    # repository are numbered from 1 in fixture order), whatever the agent did to issues since.
    if check.issue == "latest_open":
        spec = scenario.repository(check.repo)
        open_ids = [i + 1 for i, issue in enumerate(spec.issues) if issue.state in ("new", "open")]
        if not open_ids:
            return Reading(check, repo)  # nothing to read: the scorer says the fixture has no open issue
        issue_id = open_ids[-1]
    else:
        issue_id = check.issue
    try:
        comments = [c["content"]["raw"] for c in await oracle.issue_comments(repo.full_name, issue_id)]
    except OracleError as exc:
        if exc.status != 404:
            raise
        return Reading(check, repo, gone="issue", issue_id=issue_id)
    return Reading(check, repo, comments, issue_id=issue_id)
