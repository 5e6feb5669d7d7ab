"""The scenario format: what the agent is asked, in which world, and what must be true afterwards.

A scenario names repositories by a logical name (``widgets``); the oracle creates each one under a name unique
to the cell (``widgets-<cell>``) so that cells run concurrently, and the user's messages refer to it through
placeholders: ``{workspace}``, ``{repo}`` (the first repository), ``{repo:<logical name>}``, and
``{main_head}`` etc. are filled in when the cell is arranged (see ``harness.scenarios.placeholders``).

A scenario may also restrict the paths it runs on (``paths``), put its repositories in the workspace that is not
linked to an Atlassian organisation (``fixture.workspace: unlinked``), and script upstream faults (``faults``) that
Bitbucket applies to the cell's own repository while the agent works.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.routes import intent_words, tool_words
from harness.scenarios.placeholders import PLACEHOLDER, check_placeholders, names_in
from harness.vocab import CONTROL_MODELS, ROUTES, RouteName, ScopeProfile

MAIN = "main"  # every fixture repository's main branch (the branch the oracle pushes first)
CONTROLS = tuple(CONTROL_MODELS)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# fixture ------------------------------------------------------------------------------------------------------
class BranchSpec(_Model):
    """A branch: its files, committed on top of ``base`` (another branch of the same repository) or as a root."""

    base: str | None = None
    files: dict[str, str] = {}
    message: str | None = None


class IssueSpec(_Model):
    title: str
    content: str = ""
    state: Literal["new", "open", "resolved", "on hold", "invalid", "duplicate", "wontfix", "closed"] = "new"
    kind: Literal["bug", "enhancement", "proposal", "task"] = "bug"
    priority: Literal["trivial", "minor", "major", "critical", "blocker"] = "major"


class PullRequestSpec(_Model):
    title: str
    source: str
    destination: str | None = None
    description: str = ""


class RepositorySpec(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,40}$", description="logical name; made unique per cell")
    description: str = ""
    has_issues: bool = True
    branches: dict[str, BranchSpec] = Field(min_length=1, description=f"must include {MAIN!r}")
    issues: list[IssueSpec] = []
    pull_requests: list[PullRequestSpec] = []

    @model_validator(mode="after")
    def _consistent(self) -> RepositorySpec:
        if MAIN not in self.branches:
            raise ValueError(f"the branches must include {MAIN!r}, the main branch")
        for name, spec in self.branches.items():
            if spec.base is not None and spec.base not in self.branches:
                raise ValueError(f"branch {name!r}: base {spec.base!r} is not among the branches")
        return self


class FixtureSpec(_Model):
    workspace: Literal["default", "unlinked"] = Field(
        default="default",
        description="where the repositories are made: the world's workspace, or its workspace "
        "that is not linked to an Atlassian organisation (sandbox: solo; live: BITBUCKET_WORKSPACE_UNLINKED)",
    )
    repositories: list[RepositorySpec] = Field(min_length=1)


# conversation -------------------------------------------------------------------------------------------------
class PlanStep(_Model):
    """One step of the reference model's plan for a message: an intent with its values spelled out, a literal
    tool call (``call``), or text to say or ask. The sandbox model maps intents onto whatever tools it is offered."""

    intent: Literal["create_branch", "open_pull_request", "comment_issue", "read_file", "call", "say", "ask"]
    workspace: str | None = None
    repo: str | None = None
    name: str | None = None  # create_branch
    base: str | None = None
    source: str | None = None  # open_pull_request
    destination: str | None = None
    title: str | None = None
    description: str | None = None
    issue: int | None = None  # comment_issue (default: the latest open issue)
    text: str | None = None  # comment_issue, say, ask
    path: str | None = None  # read_file
    ref: str | None = None
    tool: str | None = None  # call
    arguments: dict[str, Any] | None = None


class Turn(_Model):
    user: Annotated[str, AfterValidator(check_placeholders)] = Field(min_length=1)
    plan: list[PlanStep] | None = Field(
        default=None, description="the reference model's steps for this message (placeholders allowed)"
    )

    @model_validator(mode="after")
    def _placeholders_bound(self) -> Turn:
        """The model fills a plan's steps from what the message bound, so each placeholder must occur in it."""
        named = names_in(self.user)
        for step in self.plan or []:
            check_placeholders(step.model_dump_json())
            unbound = names_in(step.model_dump_json()) - named
            if unbound:
                names = ", ".join("{" + name + "}" for name in sorted(unbound))
                raise ValueError(
                    f"plan step {step.intent!r} uses {names} but the message does not contain it; "
                    "name the repository in the message or leave it out of the step"
                )
        return self


# expectations -------------------------------------------------------------------------------------------------
class BranchExists(_Model):
    kind: Literal["branch_exists"]
    repo: str | None = None  # logical name; default: the first repository
    branch: str
    points_at: str | None = Field(default=None, description="a branch name (its head before the run) or a hash")


class BranchAbsent(_Model):
    kind: Literal["branch_absent"]
    repo: str | None = None
    branch: str


class PullRequestOpen(_Model):
    kind: Literal["pull_request_open"]
    repo: str | None = None
    source: str
    destination: str | None = None
    title_contains: str | None = None


class IssueComment(_Model):
    kind: Literal["issue_comment"]
    repo: str | None = None
    issue: int | Literal["latest_open"] = "latest_open"
    contains: str


class Unchanged(_Model):
    """Nothing in the repository changed: its state digest equals the digest taken before the run."""

    kind: Literal["unchanged"]
    repo: str | None = None


StateCheck = Annotated[
    BranchExists | BranchAbsent | PullRequestOpen | IssueComment | Unchanged, Field(discriminator="kind")
]


class AnswerExpectation(_Model):
    contains: list[str] = []
    matches: list[str] = Field(default=[], description="regular expressions (Python syntax, case-insensitive)")
    reports_denial: bool = False
    claims_success: bool | None = Field(default=None, description="false: the answer must not claim success")


def _known_tool_word(word: str) -> str:
    """An intent (create_branch), a tool (BITBUCKET_CREATE_BRANCH) or a tool and its action
    (bitbucketRepoContent:branch.create); anything else is refused with the choices."""
    tool, _, action = word.partition(":")
    tools, intents = tool_words(), intent_words()
    if not action and (word in intents or word in tools):
        return word
    if tool not in tools:
        raise ValueError(
            f"unknown intent or tool {word!r}; intents: {', '.join(sorted(intents))}; tools: {', '.join(sorted(tools))}"
        )
    if action and action not in tools[tool]:
        choices = ", ".join(tools[tool]) or "none (it takes no action)"
        raise ValueError(f"{tool} has no action {action!r}; its actions: {choices}")
    return word


ToolWord = Annotated[str, AfterValidator(_known_tool_word)]


class ToolExpectation(_Model):
    must_call: list[ToolWord] = Field(default=[], description="intent names or tool names, any of the routes' forms")
    must_not_call: list[ToolWord] = []
    max_calls: int | None = Field(default=None, ge=0)


class Expectations(_Model):
    state: list[StateCheck] = Field(
        min_length=1,
        description="at least one expectation about Bitbucket's state "
        "(`unchanged` when nothing may change): a scenario that checks nothing can "
        "never fail",
    )
    answer: AnswerExpectation = AnswerExpectation()
    tools: ToolExpectation = ToolExpectation()


class Unsupported(_Model):
    """A path that cannot do what the scenario asks: the right outcome there is to say so."""

    path: RouteName
    reason: str


def _known_control(name: str) -> str:
    if name not in CONTROLS:
        raise ValueError(f"unknown negative control {name!r}; choose from {', '.join(CONTROLS)}")
    return name


ControlName = Annotated[str, AfterValidator(_known_control)]


class ControlSpec(_Model):
    """A negative control that cannot fail the scenario on some routes (what it does wrong cannot happen there):
    its cells there are run and shown as not applicable, never as caught."""

    model: ControlName
    not_on: list[RouteName] = Field(min_length=1)
    because: str = Field(min_length=1)


class FaultSpec(_Model):
    """Bitbucket misbehaves for the next ``count`` requests matching ``method`` and ``path``, while the agent works.

    Applied through the sandbox's admin API once the oracle has arranged the fixture, and removed before it reads
    the final state. ``path`` is a regular expression searched in the request path (``/2.0/...``), with the
    scenario's placeholders filled in (escaped); it must name the cell's repository (``{repo}`` or
    ``{repo:<name>}``) so that concurrent cells are never hit.
    """

    method: Literal["*", "GET", "POST", "PUT", "PATCH", "DELETE"] = "*"
    path: str = Field(
        min_length=1,
        description="regular expression with placeholders, e.g. /repositories/{workspace}/{repo}/refs/branches$",
    )
    status: Literal[429, 500, 502, 503, 504]
    count: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="how many matching requests fail (a large count: the failure persists for the whole conversation)",
    )
    retry_after: int = Field(default=1, ge=0, description="the Retry-After header of a 429, in seconds")

    @field_validator("path")
    @classmethod
    def _names_the_repository(cls, value: str) -> str:
        check_placeholders(value)
        if not any(name == "repo" or name.startswith("repo:") for name in names_in(value)):
            raise ValueError(
                "the path must name the cell's repository with {repo} or {repo:<name>}, so that "
                "other cells running at the same time are not affected"
            )
        try:
            re.compile(PLACEHOLDER.sub("x", value))
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


# the scenario -------------------------------------------------------------------------------------------------
class Scenario(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str
    description: str = ""
    tags: list[str] = []
    fixture: FixtureSpec
    profiles: dict[RouteName, ScopeProfile] = Field(
        default={"composio": "full", "rovo": "full"},
        description="the credential each path uses: Composio's connected-account scopes, Rovo's API token scopes",
    )
    paths: list[RouteName] = Field(
        default=list(ROUTES),
        min_length=1,
        description="the MCP paths this scenario runs on (default: every path); the run "
        "matrix has no cell for the others",
    )
    turns: list[Turn] = Field(min_length=1)
    faults: list[FaultSpec] = Field(
        default=[],
        description="upstream faults while the agent works (sandbox world only: elsewhere the cell is an error)",
    )
    expect: Expectations
    unsupported: list[Unsupported] = []
    controls: list[ControlName | ControlSpec] = Field(
        default=[],
        description="negative-control models (sandbox-overclaim, ...) that must fail this scenario on every route "
        "it runs on: a verdict never seen to fail is not trusted; where a control cannot apply, say so",
    )

    @field_validator("paths")
    @classmethod
    def _distinct_paths(cls, value: list[RouteName]) -> list[RouteName]:
        if len(set(value)) != len(value):
            raise ValueError("a path is listed twice")
        return value

    @model_validator(mode="after")
    def _repos_known(self) -> Scenario:
        names = {r.name for r in self.fixture.repositories}
        for check in self.expect.state:
            if check.repo is not None and check.repo not in names:
                raise ValueError(
                    f"expect.state: repo {check.repo!r} is not a fixture repository ({', '.join(sorted(names))})"
                )
        for i, fault in enumerate(self.faults):
            unknown = sorted(
                n.removeprefix("repo:")
                for n in names_in(fault.path)
                if n.startswith("repo:") and n.removeprefix("repo:") not in names
            )
            if unknown:
                raise ValueError(
                    f"faults.{i}.path: {', '.join(unknown)} is not a fixture repository ({', '.join(sorted(names))})"
                )
        return self

    @model_validator(mode="after")
    def _unsupported_on_a_listed_path(self) -> Scenario:
        for entry in self.unsupported:
            if entry.path not in self.paths:
                raise ValueError(
                    f"unsupported: {entry.path} is not among the scenario's paths ({', '.join(self.paths)})"
                )
        return self

    def repository(self, name: str | None) -> RepositorySpec:
        if name is None:
            return self.fixture.repositories[0]
        return next(r for r in self.fixture.repositories if r.name == name)

    def unsupported_on(self, route: str) -> Unsupported | None:
        return next((u for u in self.unsupported if u.path == route), None)

    def control_models(self) -> list[str]:
        return [c if isinstance(c, str) else c.model for c in self.controls]

    def control_not_applicable(self, model: str, route: str) -> str | None:
        """Why ``model`` cannot fail this scenario on ``route`` (the scenario says so), or None."""
        spec = next((c for c in self.controls if isinstance(c, ControlSpec) and c.model == model), None)
        return spec.because if spec and route in spec.not_on else None
