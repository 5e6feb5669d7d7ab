"""The words, defined once, agree with what uses them: adapters, routes, the emulator's scripted models."""

from __future__ import annotations

from harness.frameworks import ADAPTERS
from harness.routes import ROUTES as ROUTE_REGISTRY
from harness.vocab import FRAMEWORKS, OK_OUTCOMES, ROUTES, SCRIPTED_MODELS, Outcome
from sandbox.model import POLICY_NAMES


def test_frameworks_and_routes_are_the_registries_keys() -> None:
    assert tuple(ADAPTERS) == FRAMEWORKS
    assert tuple(ROUTE_REGISTRY) == ROUTES


def test_the_built_in_models_are_the_policies_the_sandbox_serves() -> None:
    assert set(SCRIPTED_MODELS) == set(POLICY_NAMES)


def test_outcomes_serialise_as_their_words() -> None:
    assert [o.value for o in Outcome] == ["pass", "fail", "error", "expected-unsupported"]
    assert f"{Outcome.UNSUPPORTED}" == "expected-unsupported" and Outcome.PASS == "pass"
    assert {o for o in Outcome if o.ok} == OK_OUTCOMES == {Outcome.PASS, Outcome.UNSUPPORTED}
