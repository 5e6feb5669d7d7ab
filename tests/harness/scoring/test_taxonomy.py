"""The failure taxonomy: each category is found where its transcript shows it, and not where it does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenarios import Scenario, load_scenario
from harness.scoring import Verdict
from harness.scoring.taxonomy import CATEGORIES, classify
from harness.transcript import ToolCall, Transcript, TurnRecord
from harness.vocab import Outcome

LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"
CELL = {"workspace": "acme", "repo": "widgets-c1", "repo:widgets": "widgets-c1", "main_head": "abc"}
BRANCH = (
    "bitbucketRepoContent",
    {
        "action": "branch.create",
        "workspaceId": "acme",
        "repoId": "widgets-c1",
        "branchName": "feature/login",
        "referenceOrSha": "main",
    },
)


def scenario(name: str = "core-create-branch") -> Scenario:
    return load_scenario(LIBRARY / f"{name}.yaml")


def made(
    *calls: tuple[str, dict[str, object], str | None, bool],
    answer: str = "Done.",
    error: str | None = None,
    stopped: str | None = None,
) -> Transcript:
    tool_calls = [ToolCall(name=n, arguments=a, result=r, is_error=e) for n, a, r, e in calls]
    turn = TurnRecord(
        user="Create a branch feature/login off main in acme/widgets-c1.",
        answer=answer,
        tool_calls=tool_calls,
        stopped=stopped,
    )
    return Transcript(framework="pydantic-ai", route="rovo", model="m", turns=[turn], error=error)


def failed(*reasons: str) -> Verdict:
    return Verdict(Outcome.FAIL, list(reasons))


def categories(transcript: Transcript, verdict: Verdict, name: str = "core-create-branch") -> list[str]:
    return classify(scenario(name), "rovo", transcript, verdict, CELL)


def test_a_passing_cell_has_no_category() -> None:
    assert categories(made((*BRANCH, '{"name": "feature/login"}', False)), Verdict(Outcome.PASS)) == []


@pytest.mark.parametrize(
    ("transcript", "verdict", "expected"),
    [
        (
            made(answer="I created the branch feature/login."),
            failed("widgets: no branch feature/login", "no call of create_branch", "the answer claims a success"),
            ["no tool call", "false success claim"],
        ),
        (
            made(
                ("bitbucketRepoContnet", {"action": "branch.create"}, "Unknown tool: bitbucketRepoContnet", True),
                answer="It failed.",
            ),
            failed("no call of create_branch"),
            ["unknown tool", "wrong tool"],
        ),
        (
            made(
                ("bitbucketRepoContent", {"_unparsed": "{'action': branch"}, "Invalid arguments", True),
                answer="I could not do it.",
            ),
            failed("widgets: no branch feature/login"),
            ["malformed arguments"],
        ),
        (
            made(
                (
                    "bitbucketRepoContent",
                    {"action": "files.get", "workspaceId": "acme", "repoId": "widgets-c1"},
                    "# W",
                    False,
                )
            ),
            failed("no call of create_branch"),
            ["wrong tool"],
        ),
        (
            made(
                ("bitbucketRepoContent", {**BRANCH[1], "repoId": "widgets"}, "Repository not found", True),
                answer="Done.",
            ),
            failed("widgets: no branch feature/login"),
            ["wrong target", "tool error not recovered"],
        ),
        (
            made(
                ("bitbucketRepoContent", {**BRANCH[1], "repoId": "widgets"}, "Repository not found", True),
                answer="That failed: the repository was not found.",
            ),
            failed("widgets: no branch feature/login"),
            ["wrong target"],
        ),
        (
            made((*BRANCH, "ok", False)),
            failed("widgets: feature/login points at 1234567890ab, not at main (abcdef)"),
            ["wrong target"],
        ),
        (  # the gateway, for the hosted variant, as a real model's cut-off call met it
            made(
                error="InternalServerError: Error code: 502 - The upstream 127.0.0.1:1 called "
                '\'COMPOSIO_MULTI_EXECUTE_TOOL\' with arguments that are not a JSON object: {"tools": [{"tool'
            ),
            Verdict(Outcome.ERROR, ["InternalServerError"]),
            ["malformed arguments"],
        ),
        (  # llama-server, as it refused a cut-off call of the same model
            made(
                error="InternalServerError: Error code: 500 - Failed to parse tool call arguments as JSON: "
                "[json.exception.parse_error.101] parse error at line 1, column 40"
            ),
            Verdict(Outcome.ERROR, ["InternalServerError"]),
            ["malformed arguments"],
        ),
        (made(error="timed out after 120 s"), Verdict(Outcome.ERROR, ["timed out after 120 s"]), ["timeout"]),
        (
            made(error="BadRequestError: the request exceeds the available context size (8192 tokens)"),
            Verdict(Outcome.ERROR, ["BadRequestError"]),
            ["context overflow"],
        ),
        (
            made(
                *[(*BRANCH, "Branch feature/login already exists", True)] * 3,
                stopped="max turns (10) exceeded",
                answer="",
            ),
            failed("the framework stopped the agent"),
            ["tool error not recovered", "loop"],
        ),
        (
            made(answer="I'm sorry, but I can't help with changing repositories."),
            failed("no call of create_branch"),
            ["no tool call", "refusal"],
        ),
    ],
)
def test_each_category_is_found_where_the_transcript_shows_it(
    transcript: Transcript, verdict: Verdict, expected: list[str]
) -> None:
    assert categories(transcript, verdict) == expected
    assert set(expected) <= set(CATEGORIES)


def test_a_reported_denial_is_not_a_refusal_or_an_unrecovered_error() -> None:
    denied = made(
        ("bitbucketRepoContent", BRANCH[1], "Permission denied: write:repository:bitbucket", True),
        answer="I cannot: the token lacks the write scope (permission denied).",
    )
    assert categories(denied, failed("some other reason"), "denied-read-only-branch") == []


def test_a_real_models_refusal_is_named() -> None:
    """A recorded answer of Qwen2.5-Coder-1.5B to "Show me the README of acme/widgets-c52f90b78ca."."""
    answer = (
        'I will not be able to access or display the content of a repository named "acme/widgets-c52f90b78ca" on '
        "Bitbucket due to copyright and privacy issues."
    )
    assert categories(made(answer=answer), failed("no call of read_file"), "core-fetch-readme") == [
        "no tool call",
        "refusal",
    ]
