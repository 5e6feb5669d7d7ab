"""The integration guides' programs (AutoGen, OpenAI Agents SDK, Pydantic AI over Composio) run against the sandbox
with only their environment changed and a scripted stdin, and do the core requests."""

from __future__ import annotations

import pytest

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import api
from tests.sandbox.model.seed_programs.run_seed import SEEDS, run_seed


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_program_does_the_core_requests(sandbox: Sandbox, seed: str) -> None:
    output = run_seed(sandbox, seed)
    assert "Traceback" not in output and "error" not in output.lower(), output
    with api(sandbox) as c:
        heads = {
            b["name"]: b["target"]["hash"]
            for b in c.get("repositories/acme/widgets/refs/branches", params={"pagelen": 100}).json()["values"]
        }
        (pr,) = c.get("repositories/acme/widgets/pullrequests").json()["values"]
        comments = c.get("repositories/acme/widgets/issues/1/comments").json()["values"]
    assert heads["feature/new-branch"] == heads["main"]
    assert (pr["source"]["branch"]["name"], pr["destination"]["branch"]["name"]) == ("feature/new-branch", "main")
    assert f"Opened pull request #{pr['id']}" in output
    assert "The widget service. Run `make test` before opening a pull request." in output
    # Issue 1 is the only one whose state is "open" (2 is "new", 3 "resolved").
    assert [c["content"]["raw"] for c in comments] == ["Thanks for reporting this; we are looking into it."]
