"""Render a run's report: execute ``notebooks/report.ipynb`` with papermill into ``reports/<run-id>/report.ipynb``,
export it to a standalone ``report.html`` (code hidden unless asked, charts inline, no remote script), write the
run's headline numbers and rebuild ``reports/index.html``."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.report.index import HEADLINE, write_index
from harness.report.load import load_run
from harness.report.prices import load_prices

ROOT = Path(__file__).resolve().parents[2]
REPORT_NOTEBOOK = ROOT / "notebooks" / "report.ipynb"
KERNEL = "python3"  # in the venv, the kernelspec is ipykernel's own and runs this interpreter (sys.executable)
EXPLORE_TAG = "explore"  # cells tagged so are for readers of the notebook, not for the exported report

# The lab template without its remote scripts (require.js, MathJax, mermaid): the report must open offline.
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


class ReportError(RuntimeError):
    """The report could not be rendered; the message says why and where to look."""


@dataclass(frozen=True)
class Rendered:
    html: Path
    notebook: Path
    headline: dict[str, Any]


def render_report(
    run: str | Path,
    *,
    baseline: str | Path | None = None,
    reports_dir: Path = Path("reports"),
    runs_dir: Path | None = None,
    prices: Path | None = None,
    show_code: bool = False,
    notebook: Path = REPORT_NOTEBOOK,
) -> Rendered:
    """Render the report of ``run`` (a directory or a run id); raises RunDataError or ReportError."""
    data = load_run(run, runs_dir)  # fail here, with the loader's message, rather than inside the kernel
    base = load_run(baseline, runs_dir) if baseline else None
    load_prices(prices)
    if not notebook.is_file():
        raise ReportError(f"{notebook}: missing: the report notebook is needed to render a report")
    out = reports_dir / data.run_id
    shutil.rmtree(out / "transcripts", ignore_errors=True)  # a cell that failed last time may pass now
    (out / HEADLINE).unlink(missing_ok=True)  # the notebook writes it anew
    out.mkdir(parents=True, exist_ok=True)
    executed = out / "report.ipynb"
    parameters = {
        "run": str(data.dir.resolve()),
        "baseline": str(base.dir.resolve()) if base else None,
        "prices": str(prices.resolve()) if prices else None,
        "output_dir": str(out.resolve()),
    }
    _execute(notebook, executed, parameters)
    page = out / "report.html"
    page.write_text(export_html(executed, f"Report {data.run_id}", show_code), encoding="utf-8")
    if not (out / HEADLINE).is_file():
        raise ReportError(
            f"{notebook.name} did not write {out / HEADLINE} (its first cell calls report.save_headline())"
        )
    headline = json.loads((out / HEADLINE).read_text(encoding="utf-8"))
    write_index(reports_dir)
    return Rendered(page, executed, headline)


def _execute(notebook: Path, executed: Path, parameters: dict[str, Any]) -> None:
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=parameters,
            kernel_name=KERNEL,
            progress_bar=False,
            log_output=False,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )  # no start-up chatter
    except PapermillExecutionError as exc:
        raise ReportError(
            f"{notebook.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
            f"(the traceback is in {executed})"
        ) from None
    except NoSuchKernel:
        raise ReportError(
            f"no Jupyter kernel {KERNEL!r}: ipykernel must be installed in this environment "
            "(`make install` installs it from requirements.lock)"
        ) from None


def export_html(executed: Path, title: str, show_code: bool = False) -> str:
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    notebook = nbformat.read(executed, as_version=4)  # type: ignore[no-untyped-call]
    notebook.metadata["title"] = title
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="lab",
        extra_loaders=[DictLoader({"report.html.j2": TEMPLATE})],
        template_file="report.html.j2",
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=True,
    )
    remove = TagRemovePreprocessor(remove_cell_tags={EXPLORE_TAG})  # type: ignore[no-untyped-call]
    exporter.register_preprocessor(remove, enabled=True)  # type: ignore[no-untyped-call]
    body, _ = exporter.from_notebook_node(notebook)
    return str(body)
