"""Shared test configuration; the sandbox fixtures come from the harness_sandbox pytest plugin."""
