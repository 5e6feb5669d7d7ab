"""The report notebook's sections: each method returns one section as HTML (tables styled with pandas Styler,
charts as inline PNG), so that a notebook cell is a single call and the HTML export is self-contained."""

from __future__ import annotations

import html
import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from harness.report import analysis as an
from harness.report import plots
from harness.report.load import RunData, load_run
from harness.report.prices import DEFAULT_PRICES, load_prices
from harness.report.transcripts import publish
from harness.secrets import redact

COLOURS = {
    "pass": "#c7e9c0",
    "unsupported (ok)": "#e5f5e0",
    "fail": "#fcbba1",
    "error": "#fdd0a2",
    "caught": "#c7e9c0",
    "not caught": "#fee391",
}
CSS = """<style>
.report-box { border: 1px solid #ccc; border-radius: 8px; padding: .75rem 1rem; margin: .5rem 0; }
.report-box .big { font-size: 1.6rem; font-weight: 600; margin-right: 1.5rem; }
.regression { color: #b2182b; font-weight: 600; } .improvement { color: #1a7837; font-weight: 600; }
.report-note { color: #8c510a; }
.report-table td, .report-table th { padding: 2px 8px; font-size: 0.85rem; text-align: left; vertical-align: top; }
.report-chart { max-width: 100%; display: block; margin: .5rem 0; }
</style>"""


class Html(str):
    """HTML that Jupyter displays as such when it is a cell's value."""

    def _repr_html_(self) -> str:
        return str(self)


def _section(name: str, *parts: str) -> Html:
    return Html(f'<div class="report-section" id="section-{name}">' + "\n".join(parts) + "</div>")


def _p(text: str, cls: str = "") -> str:
    return f"<p{f' class={cls!r}' if cls else ''}>{text}</p>"


def _percent(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.0%}"


def _styled(
    frame: pd.DataFrame,
    uuid: str,
    colour: Callable[[Any], str] | None = None,
    formats: dict[str, str] | str | None = None,
    index: bool = True,
    na_rep: str = "-",
) -> str:
    # run data (scenario ids, reasons) is text, never markup
    styler = (
        frame.style.set_uuid(uuid)
        .set_table_attributes('class="report-table"')
        .format(na_rep=na_rep, escape="html")
        .format_index(escape="html", axis=0)
        .format_index(escape="html", axis=1)
    )
    if formats:
        styler = styler.format(formats, na_rep=na_rep, escape="html")
    if colour is not None:
        styler = styler.map(colour)
    if not index:
        styler = styler.hide(axis="index")
    return str(styler.to_html())


def _verdict_colour(value: Any) -> str:
    text = str(value)
    colour = COLOURS.get(text) or ("#ffffbf" if text.endswith(" ok") else "")
    return f"background-color: {colour}" if colour else ""


class Report:
    """A run (and optionally a baseline run) ready to be shown section by section.

    ``run`` and ``baseline``: directories, or run ids under ``runs_dir`` (default: ``runs/``); ``run`` None is
    the latest run. ``output_dir``: the report's directory; failing cells' transcripts are published there and
    linked relatively. Without it, links point at the run's own transcript files.
    """

    def __init__(
        self,
        run: str | Path | None = None,
        baseline: str | Path | None = None,
        prices: str | Path | None = None,
        output_dir: str | Path | None = None,
        runs_dir: str | Path | None = None,
    ) -> None:
        runs = Path(runs_dir) if runs_dir else None
        self.data: RunData = load_run(run, runs)
        self.base: RunData | None = load_run(baseline, runs) if baseline else None
        self.prices_file = Path(prices) if prices else DEFAULT_PRICES
        self.prices = load_prices(self.prices_file)
        self.out = Path(output_dir) if output_dir else None
        self.frame = self.data.results
        self.matrix_rows, self.control_rows = an.real(self.frame), an.controls(self.frame)
        self.trend = an.trend(self.frame, self.base.results, self.base.run_id) if self.base else None
        self.links = self._publish_transcripts()

    def _publish_transcripts(self) -> dict[str, str]:
        """key -> link to the transcript of every failed or errored cell whose transcript exists."""
        links = {}
        for row in an.failures(self.frame).itertuples():
            if row.transcript_file is None:
                continue
            source = Path(row.transcript_file)
            if self.out is None:
                links[row.key] = source.as_uri()
            else:
                page = publish(source, self.out / "transcripts", f"{row.key}: {row.verdict}")
                links[row.key] = page.relative_to(self.out).as_posix()
        return links

    def headline_numbers(self) -> dict[str, Any]:
        return an.headline(self.frame, self.data.run_id, self.trend)

    # -- sections ------------------------------------------------------------------------------------------------

    def headline(self) -> Html:
        h = self.headline_numbers()
        numbers = (
            f'<span class="big">{_percent(h["pass_rate"])} ok</span>'
            f'<span class="big">{h["cells"]} cells</span>'
            f'<span class="big">{h["controls_caught"]}/{h["controls"]} controls caught</span>'
        )
        counts = (
            f"pass {h['pass']}, expected-unsupported {h['expected_unsupported']}, fail {h['fail']}, "
            f"error {h['error']} over {h['scenarios']} scenarios and {h['stacks']} framework / path stacks; "
            f"world {html.escape(h['world'])}, model {html.escape(', '.join(h['models']) or '-')}, "
            f"started {html.escape(str(h['started_at']))}"
        )
        parts = [CSS, f'<div class="report-box">{numbers}{_p(counts)}{self._trend_line()}</div>']
        parts += [_p("note: " + html.escape(n), "report-note") for n in self.data.notes]
        return _section("headline", *parts)

    def _trend_line(self) -> str:
        if self.trend is None:
            return _p("No baseline: render with <code>--baseline RUN</code> to compare with an earlier run.")
        t = self.trend
        return _p(
            f"Against {html.escape(t.baseline_id)}: pass rate {_percent(t.pass_rate_before)} &rarr; "
            f"{_percent(t.pass_rate_after)}; "
            f'<span class="regression">{t.count("regression")} regression(s)</span>, '
            f'<span class="improvement">{t.count("improvement")} improvement(s)</span>, '
            f"{t.count('new')} new and {t.count('removed')} removed cell(s)."
        )

    def matrix(self) -> Html:
        rows = self.matrix_rows
        if rows.empty:
            return _section("matrix", _p("No cell of the real matrix in this run (only negative controls)."))
        labels, share = an.verdict_matrix(rows), an.ok_share(rows)
        chart = plots.figure_html(
            plots.heatmap(share, labels, "verdicts: scenario x framework / path"),
            "verdict-heatmap",
            "verdict matrix heat map",
        )
        return _section("matrix", chart, _styled(labels, "verdict-matrix", _verdict_colour))

    def controls(self) -> Html:
        rows = self.control_rows
        if rows.empty:
            return _section(
                "controls",
                _p(
                    "No negative control in this run (<code>harness run --controls "
                    "pydantic-ai</code> adds each scenario's)."
                ),
            )
        caught, total = an.controls_caught(self.frame)
        text = _p(
            f'{caught} of {total} control cells failed, as they must. A control that is "not caught" on a '
            "cell is one whose fault that scenario and path cannot reveal; each control must be caught by "
            "at least one cell. Controls are never counted in the rates above."
        )
        return _section("controls", text, _styled(an.control_matrix(rows), "control-matrix", _verdict_colour))

    def pass_rates(self) -> Html:
        if self.matrix_rows.empty:
            return _section("pass-rates", _p("No real cell to rate."))
        table = an.pass_rates(self.matrix_rows)
        rates = {c: "{:.0%}" for c in table.columns if c.startswith("pass")}
        note = (
            ""
            if table["attempts"].max() > 1
            else _p("One attempt per cell: pass^k needs repeats (<code>harness run --repeat 3</code>).")
        )
        return _section("pass-rates", note, _styled(table, "pass-rates", formats=rates, index=False))

    def distributions(self) -> Html:
        rows = self.matrix_rows
        if rows.empty:
            return _section("distributions", _p("No real cell to measure."))
        chart = plots.figure_html(
            plots.distributions(rows), "distributions", "latency, tokens and tool calls per framework and path"
        )
        table = _styled(an.distribution_summary(rows), "distributions", formats="{:,.0f}")
        return _section("distributions", chart, table)

    def cost(self) -> Html:
        rows = self.matrix_rows
        if rows.empty:
            return _section("cost", _p("No real cell to price."))
        table = an.cost_table(rows, self.prices)
        money = {"cost": "{:.4f}", "cost per cell": "{:.5f}"}
        styled = _styled(table, "cost", formats=money, index=False, na_rep="unknown")
        chart = plots.figure_html(plots.cost_bars(table, self.prices.currency), "cost", "estimated cost")
        text = _p(
            f"Estimated from the token counts and the price table {html.escape(self.prices_file.name)} "
            f"({html.escape(self.prices.currency)} per 1M tokens); a model missing from the table is "
            '"unknown", never 0.'
        )
        return _section("cost", text, chart, styled)

    def failures(self) -> Html:
        failed = an.failures(self.matrix_rows)
        if failed.empty:
            parts = [_p("No failure or error in the real matrix.")]
        else:
            parts = [self._taxonomy(self.matrix_rows, "taxonomy"), self._failure_list(failed, "failures")]
        caught = an.failures(self.control_rows)
        if not caught.empty:
            parts += [
                "<h3>What caught the negative controls</h3>",
                self._taxonomy(self.control_rows, "control-taxonomy"),
                self._failure_list(caught, "control-failures"),
            ]
        return _section("failures", *parts)

    @staticmethod
    def _taxonomy(rows: pd.DataFrame, name: str) -> str:
        table = an.taxonomy(rows)
        table["example"] = table["example"].map(redact)
        return _styled(table, name, formats={"share of failures": "{:.0%}"}, index=False)

    def _failure_list(self, failed: pd.DataFrame, name: str) -> str:
        rows = []
        for row in failed.itertuples():
            link = self.links.get(row.key)
            if link:
                shown = f'<a class="transcript-link" href="{html.escape(link)}">transcript</a>'
            elif row.transcript_missing:
                shown = '<span class="report-note">transcript missing</span>'
            else:
                shown = "none (the cell broke before its conversation)"
            reasons = "<br>".join(html.escape(redact(r)) for r in row.reasons) or "(no reason given)"
            rows.append(
                f"<tr><td><code>{html.escape(row.key)}</code></td><td>{row.verdict}</td>"
                f"<td>{html.escape(', '.join(row.categories))}</td><td>{reasons}</td><td>{shown}</td></tr>"
            )
        head = "<tr><th>cell</th><th>verdict</th><th>categories</th><th>reasons</th><th>transcript</th></tr>"
        return f'<table class="report-table" id="{name}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'

    def safety(self) -> Html:
        parts = []
        if not self.matrix_rows.empty:
            parts += [
                _p(
                    "Scope denials handled and prompt injections resisted (ok / cells of the scenarios "
                    "tagged <code>scope-denial</code> and <code>prompt-injection</code>), destructive tool "
                    "calls (deletes, merges) and answers that claimed a success that did not happen."
                ),
                _styled(
                    an.safety_table(self.matrix_rows), "safety", formats={"destructive calls": "{:.0f}"}, index=False
                ),
            ]
        if not self.control_rows.empty:
            parts += [
                "<h3>The same checks on the negative controls</h3>",
                _styled(
                    an.safety_table(self.control_rows),
                    "control-safety",
                    formats={"destructive calls": "{:.0f}"},
                    index=False,
                ),
            ]
        return _section("safety", *parts)

    def trend_section(self) -> Html:
        t = self.trend
        if t is None:
            return _section("trend", _p("No baseline run was given."))
        parts = [self._trend_line()]
        for change, cls in (("regression", "regression"), ("improvement", "improvement")):
            cells = t.cells[t.cells["change"] == change]
            if not cells.empty:
                shown = cells[["scenario", "stack", "model", "label_before", "label_after"]].rename(
                    columns={"label_before": "baseline", "label_after": "this run"}
                )
                parts += [f'<h3 class="{cls}">{change.capitalize()}s</h3>', _styled(shown, f"{change}s", index=False)]
        if not t.metrics.empty:
            parts += [
                plots.figure_html(plots.pass_rate_bars(t.metrics), "trend", "pass rate against the baseline"),
                _styled(t.metrics, "trend-metrics", formats="{:,.2f}"),
            ]
        return _section("trend", *parts)

    def environment(self) -> Html:
        f = self.frame
        facts = {
            "run": self.data.run_id,
            "run directory": str(self.data.dir),
            "world": ", ".join(sorted(f["world"].dropna().unique())) or "unknown",
            "models": ", ".join(sorted(f["model"].unique())),
            "record mode": ", ".join(sorted(f["record_mode"].dropna().unique())) or "unknown",
            "started": f"{f['started_at'].dropna().min()} to {f['started_at'].dropna().max()}",
            "rows": str(len(f)),
            "price table": str(self.prices_file),
            "rendered with": f"harness {_version('harness')}, Python {platform.python_version()}, "
            f"pandas {pd.__version__}, matplotlib {_version('matplotlib')}",
        }
        table = pd.DataFrame({"value": facts})
        return _section(
            "environment", _styled(table, "run-facts"), _styled(an.package_versions(f), "versions", index=False)
        )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
