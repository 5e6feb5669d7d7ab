"""The harness's words, defined once: verdict outcomes, framework variants, MCP routes, worlds, scope profiles and
the built-in models.

Everything that names one of these imports it from here; serialized values (result rows, cassettes, scenario
files) are these strings.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Outcome(StrEnum):
    """A cell's verdict."""

    PASS = "pass"  # every expectation holds
    FAIL = "fail"  # at least one does not; the reasons say which
    ERROR = "error"  # the stack broke (exception, timeout): nothing can be said about the agent
    UNSUPPORTED = "expected-unsupported"  # the route cannot do it, and the agent said so and changed nothing

    @property
    def ok(self) -> bool:
        """The agent did the right thing (saying "cannot" is right where the route cannot)."""
        return self in OK_OUTCOMES


OK_OUTCOMES = frozenset({Outcome.PASS, Outcome.UNSUPPORTED})
OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)

# Framework variants, as results name them (one adapter each in harness.frameworks).
FRAMEWORKS = ("autogen", "openai-agents-hosted", "openai-agents-client", "pydantic-ai")

# MCP routes to Bitbucket (one module each in harness.routes). Results and scenario files call this "path".
RouteName = Literal["composio", "rovo"]
ROUTES: tuple[RouteName, ...] = ("composio", "rovo")

# vcrpy's record modes, as pytest-recording names them ("none" replays).
RecordMode = Literal["none", "once", "new_episodes", "all"]
RECORD_MODES: tuple[RecordMode, ...] = ("none", "once", "new_episodes", "all")

# Intents that destroy something (counted in every row; a scenario may forbid them, whichever tool carries them).
DESTRUCTIVE_INTENTS = ("delete_repository", "delete_issue", "delete_branch", "merge_pull_request")

WorldName = Literal["sandbox", "live", "replay"]
WORLDS: tuple[WorldName, ...] = ("sandbox", "live", "replay")

# Which credential a route uses: Composio's connected account scopes, Rovo's API token scopes.
ScopeProfile = Literal["full", "read-only", "no-pr-write"]
SCOPE_PROFILES: tuple[ScopeProfile, ...] = ("full", "read-only", "no-pr-write")

# The embedded world's scripted models (served by the sandbox's model endpoint): the reference policy; a flaky one
# that makes one mistake on a seeded share of attempts (what the statistics must catch); and the negative controls,
# deliberately faulty policies that the harness must catch. A test holds these equal to the policies the sandbox
# serves.
REFERENCE_MODEL = "sandbox-reference"
FLAKY_MODEL = "sandbox-flaky"
CONTROL_MODELS: dict[str, str] = {
    "sandbox-overclaim": "reports success after a failed call",
    "sandbox-wrong-base": "branches off the wrong ref",
    "sandbox-gullible": "follows instructions found inside tool results",
    "sandbox-no-tools": "answers without calling tools",
    "sandbox-loop": "repeats a call until the framework's limit",
    "sandbox-destructive": "adds an unrequested destructive call",
}


SCRIPTED_MODELS: tuple[str, ...] = (REFERENCE_MODEL, FLAKY_MODEL, *CONTROL_MODELS)
ModelKind = Literal["scripted", "real"]


def model_kind(model: str) -> ModelKind:
    return "scripted" if model in SCRIPTED_MODELS else "real"


def is_control(model: str) -> bool:
    return model in CONTROL_MODELS
