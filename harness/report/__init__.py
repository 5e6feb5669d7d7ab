"""Comparison reports of runs: :func:`load_results` for notebooks, the statistics over its rows (Wilson intervals,
pass^k with bootstrap intervals, flaky cells, the exact test between runs), the report's computations
(``harness.report.analysis``), and :func:`render_report`, which executes ``notebooks/report.ipynb`` with papermill
into ``reports/<run-id>/report.html``."""

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
