"""Artifacts of the report tests (the browser screenshot): each test records the files it kept as a
``artifact`` user property, and the end of the session lists them, also when the tests ran under xdist."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    artifacts = [
        (report.nodeid, value)
        for reports in terminalreporter.stats.values()
        for report in reports
        for name, value in getattr(report, "user_properties", [])
        if name == "artifact"
    ]
    if artifacts:
        terminalreporter.section("report test artifacts")
        for nodeid, path in sorted(set(artifacts)):
            terminalreporter.write_line(f"{path}  ({nodeid})")
