"""Comparison reports of runs: :func:`load_results` for notebooks, the report's computations
(``harness.report.analysis``), and :func:`render_report`, which executes ``notebooks/report.ipynb`` with
papermill into ``reports/<run-id>/report.html``."""

from harness.report.load import RunData, RunDataError, latest_run, load_results, load_run
from harness.report.render import Rendered, ReportError, render_report
from harness.report.sections import Report

__all__ = [
    "Rendered",
    "Report",
    "ReportError",
    "RunData",
    "RunDataError",
    "latest_run",
    "load_results",
    "load_run",
    "render_report",
]
