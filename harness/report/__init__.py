"""Comparison reports of runs: :func:`load_results` for notebooks, the statistics over its rows (Wilson intervals,
pass^k with bootstrap intervals, flaky cells, the exact test between runs), the report's computations
(``harness.report.analysis``), and :func:`render_report`, which executes ``notebooks/report.ipynb`` with papermill
into ``reports/<run-id>/report.html``.

Names load on first use: rendering a report from the command line, or writing a run's summary, does not import the
statistics and plotting libraries that only the notebook's kernel needs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    "Comparison": "harness.report.stats",
    "Rate": "harness.report.stats",
    "Rendered": "harness.report.render",
    "Report": "harness.report.sections",
    "ReportError": "harness.report.render",
    "RunData": "harness.report.load",
    "RunDataError": "harness.report.load",
    "bootstrap_mean": "harness.report.stats",
    "compare": "harness.report.stats",
    "flaky_cells": "harness.report.stats",
    "latest_run": "harness.report.load",
    "load_results": "harness.report.load",
    "load_run": "harness.report.load",
    "models_side_by_side": "harness.report.analysis",
    "pass_hat_k": "harness.report.stats",
    "pass_hat_k_interval": "harness.report.stats",
    "pass_rates": "harness.report.analysis",
    "rate_table": "harness.report.stats",
    "render_report": "harness.report.render",
    "trend": "harness.report.analysis",
    "wilson": "harness.report.stats",
}
__all__ = [
    "Comparison",
    "Rate",
    "Rendered",
    "Report",
    "ReportError",
    "RunData",
    "RunDataError",
    "bootstrap_mean",
    "compare",
    "flaky_cells",
    "latest_run",
    "load_results",
    "load_run",
    "models_side_by_side",
    "pass_hat_k",
    "pass_hat_k_interval",
    "pass_rates",
    "rate_table",
    "render_report",
    "trend",
    "wilson",
]

if TYPE_CHECKING:
    from harness.report.analysis import models_side_by_side, pass_rates, trend
    from harness.report.load import RunData, RunDataError, latest_run, load_results, load_run
    from harness.report.render import Rendered, ReportError, render_report
    from harness.report.sections import Report
    from harness.report.stats import (
        Comparison,
        Rate,
        bootstrap_mean,
        compare,
        flaky_cells,
        pass_hat_k,
        pass_hat_k_interval,
        rate_table,
        wilson,
    )


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'harness.report' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
