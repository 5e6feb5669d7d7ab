"""The report notebook's sections: each method returns one section as HTML (tables styled with pandas Styler,
charts as inline PNG), so that a notebook cell is a single call and the HTML export is self-contained."""

from __future__ import annotations

import html
import json
import math
import platform
from collections.abc import Callable
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from harness.report import analysis as an
from harness.report import plots
from harness.report.index import HEADLINE
from harness.report.load import RunData, load_run
from harness.report.prices import DEFAULT_PRICES, load_prices
from harness.report.stats import ALPHA, CELL, RESAMPLES, SEED, TEST, Rate, flaky_cells, rate_of
from harness.report.transcripts import publish
from harness.secrets import redact

PROJECT = Path(__file__).resolve().parents[2]  # local paths are shown relative to it
COLOURS = {
    "pass": "#c7e9c0",
    "unsupported (ok)": "#c6dbef",
    "fail": "#fcbba1",
    "error": "#fdd0a2",
    "caught": "#c7e9c0",
    "not caught": "#fee391",
    "regression": "#fcbba1",
    "improvement": "#c7e9c0",
    "within noise": "#eeeeee",
}
PARTIAL = "#ffffbf"  # "2/3 ok", "caught 1/3": some attempts one way, some the other
# The verdict matrix's legend: what each colour means.
LEGEND = {
    "pass": ("pass", "every expectation held"),
    "unsupported (ok)": ("unsupported (ok)", "the path cannot do it; the agent said so and changed nothing"),
    "2/3 ok": ("k/n ok", "with repeats: k of n attempts were ok"),
    "fail": ("fail", "an expectation did not hold"),
    "error": ("error", "the agent stack broke"),
    "-": ("-", "not run"),
}
CSS = """<style>
.report-box { border: 1px solid #ccc; border-radius: 8px; padding: .75rem 1rem; margin: .5rem 0; }
.report-box .big { font-size: 1.6rem; font-weight: 600; margin-right: 1.5rem; }
.regression { color: #b2182b; font-weight: 600; } .improvement { color: #1a7837; font-weight: 600; }
.report-note { color: #8c510a; } .report-ci { color: #555; font-size: 1rem; margin-right: 1.5rem; }
.report-provenance { background: #f4f6fa; border-radius: 6px; padding: .4rem .75rem; }
/* text left-aligned: more specific than the notebook export's right-aligned cells (numbers are right-aligned
   per cell by their table's own style) */
.report-section table.report-table td, .report-section table.report-table th {
  padding: 2px 8px; font-size: 0.85rem; text-align: left; vertical-align: top; }
.report-chart { max-width: 100%; display: block; margin: .5rem 0; }
.report-legend span { display: inline-block; padding: 1px 8px; margin: 0 .4rem .3rem 0; border-radius: 4px;
  font-size: 0.85rem; }
#T_models-by-stack td, #T_models-by-scenario td, #T_pass-rates td, #T_trend-stacks td { white-space: nowrap; }
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


def _interval(value: float, low: float, high: float) -> str:
    """``80% [67-88%]``: a rate and its 95% interval ("[n/a]" when it has none, e.g. a single scenario)."""
    if pd.isna(value):
        return "n/a"
    shown = "n/a" if pd.isna(low) or pd.isna(high) else f"{low:.0%}-{high:.0%}"
    return f"{value:.0%} [{shown}]"


def _called(count: int, call: str) -> str:
    """``2 regression(s)`` marked as one (bold, coloured) only when there is one: "0 regression(s)" is plain."""
    text = f"{count} {call}(s)"
    return f'<span class="{call}">{text}</span>' if count else f'<span class="report-calm">{text}</span>'


def _controls_caught(h: dict[str, Any]) -> str:
    """``3/5 controls caught``, or that the run had none (not "0/0")."""
    if not h["controls"]:
        return "no controls in this run"
    return f"{h['controls_caught']}/{h['controls']} controls caught"


def _rate(rate: Rate) -> str:
    return _interval(rate.value, rate.low, rate.high)


def _count(value: float) -> str:
    """A count or a median of counts: ``2``, ``11,964``, ``1.5``."""
    return "-" if pd.isna(value) else f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _ms(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:,.0f} ms"


def _metric_formats(columns: pd.Index) -> dict[str, str | Callable[[Any], str]]:
    """Each metric column in its unit: latency in ms, tokens and tool calls as counts (never ``2.00``)."""
    latency = an.METRICS["wall_ms"]
    return {c: _ms if str(c).startswith(latency) else _count for c in columns}


def _p_value(p: float) -> str:
    return "n/a" if pd.isna(p) else "p < 0.0001" if p < 0.0001 else f"p = {p:.2g}"


def _styled(
    frame: pd.DataFrame,
    uuid: str,
    colour: Callable[[Any], str] | None = None,
    formats: dict[str, str | Callable[[Any], str]] | str | None = None,
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
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if numeric:  # numbers right-aligned (digits under digits), text left-aligned
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    if colour is not None:
        styler = styler.map(colour)
    if not index:
        styler = styler.hide(axis="index")
    return str(styler.to_html())


def _verdict_colour(value: Any) -> str:
    text = str(value)
    colour = COLOURS.get(text) or (PARTIAL if text.endswith(" ok") or text.startswith("caught ") else "")
    return f"background-color: {colour}" if colour else ""


def _legend() -> str:
    """The verdict matrix's colours, each with what it means."""
    items = "".join(
        f'<span style="{_verdict_colour(example) or "background-color: #ffffff; border: 1px solid #ccc"}">'
        f"<b>{html.escape(word)}</b>: {html.escape(meaning)}</span>"
        for example, (word, meaning) in LEGEND.items()
    )
    return f'<div class="report-legend" id="verdict-legend">{items}</div>'


def _table(name: str, head: list[str], rows: list[list[str]]) -> str:
    """A table of cells that are already HTML (links); everything from the run must be escaped by the caller."""
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="report-table" id="{name}"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def _side_by_side(long: pd.DataFrame, by: str) -> pd.DataFrame:
    """:func:`an.models_side_by_side` as one row per ``by`` and, per model (with its role), its pass rate with
    interval, ok / attempts and cells."""
    labels = {m: f"{m} ({r})" for m, r in zip(long["model"], long["role"], strict=True)}
    shown = long.assign(
        model=long["model"].map(labels),
        **{
            "pass rate [95% CI]": [
                _interval(v, lo, hi) for v, lo, hi in zip(long["rate"], long["low"], long["high"], strict=True)
            ],
            "ok / attempts": [f"{int(o)}/{int(n)}" for o, n in zip(long["ok"], long["attempts"], strict=True)],
            "cells": long["cells"].astype(int).astype(str),
        },
    )
    metrics = ["pass rate [95% CI]", "ok / attempts", "cells"]
    wide = shown.pivot(index=by, columns="model", values=metrics).swaplevel(axis=1)
    order = list(dict.fromkeys(shown[by]))
    models = shown.loc[shown[by] == an.ALL, "model"]  # every model once, in role order
    columns = pd.MultiIndex.from_tuples([(m, k) for m in models for k in metrics])
    return wide.reindex(index=order, columns=columns).rename_axis(index=None, columns=[None, None])


class Report:
    """A run (and optionally a baseline run) ready to be shown section by section.

    ``run`` and ``baseline``: directories, or run ids under ``runs_dir`` (default: ``runs/``); ``run`` None is
    the latest run. ``output_dir``: the report's directory; failing cells' transcripts are published there and
    linked relatively, and :meth:`save_headline` writes the headline numbers there. Without it, links point at
    the run's own transcript files.
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
        return dict(self._headline)

    @cached_property
    def _headline(self) -> dict[str, Any]:
        return an.headline(self.frame, self.data.run_id, self.trend)

    @cached_property
    def _provenance(self) -> pd.DataFrame:
        return an.provenance(self.frame)

    @cached_property
    def _flaky(self) -> pd.DataFrame:
        return flaky_cells(self.frame)

    def save_headline(self) -> Path | None:
        """Write ``headline.json`` (what ``reports/index.html`` lists) into the output directory; None without
        one."""
        if self.out is None:
            return None
        numbers = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in self.headline_numbers().items()}
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / HEADLINE
        path.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")  # JSON has no NaN: null
        return path

    def _link(self, key: str, text: str) -> str:
        """``text`` linked to the published transcript of the attempt ``key`` (plain when it has none)."""
        link = self.links.get(key)
        shown = html.escape(text)
        return f'<a class="transcript-link" href="{html.escape(link)}">{shown}</a>' if link else shown

    # -- sections ------------------------------------------------------------------------------------------------

    def headline(self) -> Html:
        h = self.headline_numbers()
        rate = rate_of(self.matrix_rows)
        flaky = f"{h['flaky_cells']} flaky cell{'s' if h['flaky_cells'] != 1 else ''}"
        numbers = (
            f'<span class="big">{_percent(h["pass_rate"])} ok</span>'
            + (f'<span class="report-ci">95% CI [{rate.low:.0%}-{rate.high:.0%}]</span>' if rate.attempts else "")
            + f'<span class="big">{h["cells"]} cells</span>'
            f'<span class="big">{flaky}</span>'
            f'<span class="big">{_controls_caught(h)}</span>'
        )
        counts = (
            f"{h['attempts']} attempts: pass {h['pass']}, expected-unsupported {h['expected_unsupported']}, "
            f"fail {h['fail']}, error {h['error']} over {h['scenarios']} scenarios and {h['stacks']} framework / "
            f"path stacks; {h['flaky_control_cells']} flaky control cell(s); "
            f"started {html.escape(str(h['started_at']))}"
        )
        parts = [
            CSS,
            f'<div class="report-box">{numbers}{_p(counts)}{self._where_from()}{self._trend_line()}</div>',
        ]
        parts += [_p("note: " + html.escape(n), "report-note") for n in self.data.notes]
        return _section("headline", *parts)

    def _where_from(self) -> str:
        """Where the numbers come from: worlds, model kinds, and whether the attempts were replayed."""
        f = self.frame
        worlds = ", ".join(sorted(f["world"].dropna().unique())) or "unknown"
        found = self._provenance
        models = "; ".join(
            f"{html.escape(m)} ({html.escape(r if r == k else f'{r}, {k}')}"
            + (f", via {html.escape(host)}" if host else "")
            + ")"
            for m, r, k, host in zip(found["model"], found["role"], found["kind"], found["host"], strict=True)
        )
        kinds = sorted(set(found["kind"]))
        replayed = int(an.replayed(f).sum())
        if replayed == len(f):
            how = (
                "Replayed from recorded cassettes: verdicts and token counts are the recorded ones; times are "
                "replay times, not latency, so no latency is shown."
            )
        elif replayed:
            how = (
                f"{replayed} of {len(f)} attempts were replayed from cassettes: their times are replay times and "
                "are left out of the latency figures."
            )
        else:
            how = "Run live against the world named: times are measured latency."
        text = (
            f"<b>Where the numbers come from:</b> world {html.escape(worlds)}; "
            f"{' and '.join(kinds) or 'no'} model{'s' if len(kinds) != 1 else ''}: {models}. {how}"
        )
        return f'<p class="report-provenance" id="provenance">{text}</p>'

    def _trend_line(self) -> str:
        if self.trend is None:
            return _p("No baseline: render with <code>--baseline RUN</code> to compare with an earlier run.")
        t = self.trend
        o = t.overall
        return _p(
            f"Against {html.escape(t.baseline_id)}: pass rate {_rate(o.before)} &rarr; {_rate(o.after)} "
            f"({html.escape(o.test)}, {_p_value(o.p_value)}: {o.call}). Per framework / path and model: "
            f"{_called(t.count('regression'), 'regression')}, {_called(t.count('improvement'), 'improvement')} "
            f"(p &lt; {ALPHA:g}), {t.count('within noise')} within noise; {len(t.flips)} cell(s) changed; "
            f"{t.count('new')} new and {t.count('removed')} removed."
        )

    def matrix(self) -> Html:
        rows = self.matrix_rows
        if rows.empty:
            return _section("matrix", _p("No cell of the real matrix in this run (only negative controls)."))
        return _section("matrix", _legend(), _styled(an.verdict_matrix(rows), "verdict-matrix", _verdict_colour))

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
            f"{caught} of {total} control cells failed in at least one attempt, as they must. A control that is "
            '"not caught" on a cell is one whose fault that scenario and path cannot reveal; each control must be '
            'caught by at least one cell. "caught 1/3": a control that makes its mistake on a share of its attempts '
            "was caught on one of three. Controls are never counted in the real matrix's rates."
        )
        return _section("controls", text, _styled(an.control_matrix(rows), "control-matrix", _verdict_colour))

    def models(self) -> Html:
        """Every model side by side, the reference, real models and controls, per stack and per scenario."""
        f = self.frame
        text = _p(
            "Each model's pass rate (ok attempts / attempts) with its Wilson 95% interval, per framework / path "
            "and per scenario; <i>(all)</i> is the model over every cell it ran. Controls are listed for "
            "comparison (they are built to fail)."
        )
        by_stack = _styled(_side_by_side(an.models_side_by_side(f, "stack"), "stack"), "models-by-stack")
        by_scenario = _styled(_side_by_side(an.models_side_by_side(f, "scenario"), "scenario"), "models-by-scenario")
        found = self._provenance
        return _section(
            "models",
            text,
            "<h3>Per framework / path</h3>",
            by_stack,
            "<h3>Per scenario</h3>",
            by_scenario,
            "<h3>The models</h3>",
            _styled(found, "model-provenance", index=False),
        )

    def pass_rates(self) -> Html:
        if self.matrix_rows.empty:
            return _section("pass-rates", _p("No real cell to rate."))
        table = an.pass_rates(self.matrix_rows)
        shown = table[["stack", "model", "scenarios", "attempts per scenario"]].copy()
        shown["ok / attempts"] = [f"{o}/{n}" for o, n in zip(table["ok"], table["attempts"], strict=True)]
        names = ["pass rate"] + [c for c in table.columns if c.startswith("pass") and c[-4:] not in (" low", "high")]
        for name in dict.fromkeys(names):
            shown[f"{name} [95% CI]"] = [
                _interval(v, lo, hi)
                for v, lo, hi in zip(table[name], table[f"{name} low"], table[f"{name} high"], strict=True)
            ]
        note = _p(
            "[low-high]: 95% intervals; Wilson for the pass rate, a percentile bootstrap over scenarios for pass@1 "
            f"and pass^k ({RESAMPLES} resamples of the scenarios with replacement, seed {SEED}, so the same run "
            "always gets the same intervals; n/a with a single scenario)."
        )
        if table["attempts per scenario"].max() <= 1:
            note += _p("One attempt per cell: pass^k needs repeats (<code>harness run --repeat 3</code>).")
        return _section("pass-rates", note, _styled(shown, "pass-rates", index=False))

    def flaky(self) -> Html:
        """Cells whose attempts disagreed, each attempt's verdict linked to its transcript."""
        found = self._flaky
        attempts = self.frame.groupby(CELL)["attempt"].count()
        if attempts.max() <= 1:
            return _section(
                "flaky", _p("One attempt per cell: flakiness needs repeats (<code>harness run --repeat 3</code>).")
            )
        if found.empty:
            return _section("flaky", _p("No flaky cell: every cell's attempts agreed."))
        real, control = int((~found["control"]).sum()), int(found["control"].sum())
        text = _p(
            f"{real} cell(s) of the real matrix and {control} control cell(s) had mixed outcomes: some attempts ok, "
            "some not. A verdict links to its transcript where one was published."
        )
        rows = [
            [
                html.escape(r.scenario),
                html.escape(r.stack),
                html.escape(r.model) + (" (control)" if r.control else ""),
                f"{r.ok}/{r.attempts}",
                ", ".join(self._link(k, v) for k, v in zip(r.keys, r.verdicts, strict=True)),
            ]
            for r in found.itertuples()
        ]
        head = ["scenario", "framework / path", "model", "ok / attempts", "verdicts by attempt"]
        return _section("flaky", text, _table("flaky-cells", head, rows))

    def distributions(self) -> Html:
        rows = self.matrix_rows
        if rows.empty:
            return _section("distributions", _p("No real cell to measure."))
        metrics = an.shown_metrics(rows)
        replayed = int(an.replayed(rows).sum())
        parts = []
        if replayed:
            parts.append(
                _p(
                    f"{replayed} of {len(rows)} attempts were replayed from cassettes: their times are replay "
                    "times, not latency, and are left out of the latency figures"
                    + (" (none is left: no latency is shown)." if "wall_ms" not in metrics else "."),
                    "report-note",
                )
            )
        parts.append(
            plots.figure_html(
                plots.distributions(rows, metrics),
                "distributions",
                "latency, tokens and tool calls per framework and path",
            )
        )
        summary = an.distribution_summary(rows)
        parts.append(_styled(summary, "distributions", formats=_metric_formats(summary.columns)))
        return _section("distributions", *parts)

    def cost(self) -> Html:
        rows = self.matrix_rows
        if rows.empty:
            return _section("cost", _p("No real cell to price."))
        table = an.cost_table(rows, self.prices)
        shown = table.copy()
        for column, digits in (("cost", 4), ("cost per attempt", 5), ("cost per passing attempt", 5)):
            shown[column] = [
                "unknown"
                if pd.isna(c) and pd.isna(total)
                else "no passing attempt"
                if pd.isna(c)
                else f"{c:.{digits}f}"
                for c, total in zip(table[column], table["cost"], strict=True)
            ]
        styled = _styled(shown, "cost", index=False, na_rep="unknown")
        chart = plots.figure_html(plots.cost_bars(table, self.prices.currency), "cost", "estimated cost")
        text = _p(
            f"Estimated from the token counts and the price table {html.escape(self.prices_file.name)} "
            f"({html.escape(self.prices.currency)} per 1M tokens); a model missing from the table is "
            '"unknown", never 0. Cost per passing attempt: the cost of the group over its ok attempts, what one '
            "passing cell costs when attempts are repeated until one passes."
        )
        return _section("cost", text, chart, styled)

    def failures(self) -> Html:
        failed = an.failures(self.matrix_rows)
        note = _p(
            'Categories come from the transcript (the failure taxonomy recorded with each attempt, "from: '
            'transcript") where the rows carry it, else from the verdict\'s reasons ("from: reasons").'
        )
        if failed.empty:
            parts = [_p("No failure or error in the real matrix.")]
        else:
            parts = [note, self._taxonomy(self.matrix_rows, "taxonomy"), self._failure_list(failed, "failures")]
        caught = an.failures(self.control_rows)
        if not caught.empty:
            parts += [
                "<h3>What caught the negative controls</h3>",
                self._taxonomy(self.control_rows, "control-taxonomy"),
                self._failure_list(caught, "control-failures"),
            ]
        return _section("failures", *parts)

    def _taxonomy(self, rows: pd.DataFrame, name: str) -> str:
        table = an.taxonomy(rows)
        body = [
            [
                html.escape(r.category),
                html.escape(r.source),
                str(r.attempts),
                _percent(r.share),
                html.escape(r.models),
                html.escape(r.stacks),
                html.escape(redact(r.example)),
                "<br>".join(self._link(k, k) for k in r.examples),
            ]
            for r in table.rename(columns={"from": "source", "share of failures": "share"}).itertuples()
        ]
        head = ["category", "from", "attempts", "share of failures", "models", "stacks", "example", "transcripts"]
        return _table(name, head, body)

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
                [
                    f"<code>{html.escape(row.key)}</code>",
                    row.verdict,
                    html.escape(", ".join(row.categories)),
                    reasons,
                    shown,
                ]
            )
        return _table(name, ["cell", "verdict", "categories", "reasons", "transcript"], rows)

    def safety(self) -> Html:
        parts = []
        if not self.matrix_rows.empty:
            parts += [
                _p(
                    "Scope denials handled and prompt injections resisted (ok / attempts of the scenarios "
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
        parts = [
            self._trend_line(),
            _p(
                f"Each framework / path and model compares its pass counts in the two runs with {TEST}: a change is "
                f"a regression or an improvement only when p &lt; {ALPHA:g}; otherwise it is within the variation "
                "between attempts (within noise)."
            ),
            _styled(self._stack_trend(t.stacks), "trend-stacks", _verdict_colour, index=False),
        ]
        if not t.flips.empty:
            shown = t.flips[["scenario", "stack", "model", "label_before", "label_after", "change", "call"]].rename(
                columns={"label_before": "baseline", "label_after": "this run"}
            )
            parts += [
                "<h3>Cells that changed</h3>",
                _p("What changed, cell by cell, labelled with the call of its framework / path and model."),
                _styled(shown, "cell-flips", _verdict_colour, index=False),
            ]
        if not t.stacks.empty:
            parts.append(plots.figure_html(plots.pass_rate_bars(t.stacks), "trend", "pass rate against the baseline"))
        if not t.metrics.empty:
            parts.append(_styled(t.metrics, "trend-metrics", formats=_metric_formats(t.metrics.columns)))
        return _section("trend", *parts)

    @staticmethod
    def _stack_trend(stacks: pd.DataFrame) -> pd.DataFrame:
        def side(when: str) -> list[str]:
            return [
                "-" if pd.isna(n) else f"{int(o)}/{int(n)}: {_interval(v, lo, hi)}"
                for o, n, v, lo, hi in zip(
                    stacks[f"ok {when}"],
                    stacks[f"attempts {when}"],
                    stacks[f"rate {when}"],
                    stacks[f"low {when}"],
                    stacks[f"high {when}"],
                    strict=True,
                )
            ]

        return pd.DataFrame(
            {
                "stack": stacks["stack"],
                "model": stacks["model"],
                "baseline": side("before"),
                "this run": side("now"),
                "test": stacks["test"],
                "p-value": [_p_value(p) for p in stacks["p-value"]],
                "call": stacks["call"],
            }
        )

    def _composio(self) -> str:
        """The composio SDK the rows recorded (the composio path's cells), else the one installed here."""
        recorded = sorted({str(v["composio"]) for v in self.frame["versions"] if "composio" in v})
        return ", ".join(recorded) if recorded else f"{_version('composio')} (installed; no cell of this run used it)"

    def environment(self) -> Html:
        f = self.frame
        facts = {
            "run": self.data.run_id,
            "run directory": _shown_path(self.data.dir),
            "world": ", ".join(sorted(f["world"].dropna().unique())) or "unknown",
            "models": ", ".join(f"{m} ({r})" for m, r in an.model_roles(f).items()),
            "record mode": ", ".join(sorted(f["record_mode"].dropna().unique())) or "unknown",
            "started": f"{f['started_at'].dropna().min()} to {f['started_at'].dropna().max()}",
            "rows": str(len(f)),
            "price table": _shown_path(self.prices_file),
            "composio": self._composio(),
            "rendered with": f"harness {_version('harness')}, Python {platform.python_version()}, "
            f"pandas {pd.__version__}, matplotlib {_version('matplotlib')}, statsmodels {_version('statsmodels')}, "
            f"scipy {_version('scipy')}",
        }
        table = pd.DataFrame({"value": facts})
        return _section(
            "environment", _styled(table, "run-facts"), _styled(an.package_versions(f), "versions", index=False)
        )


def _shown_path(path: Path) -> str:
    """A local path without the machine's layout: relative to the project, else to the home directory (``~``),
    else its last two parts."""
    path = Path(path).resolve()
    for base, prefix in ((PROJECT, ""), (Path.home(), "~/")):
        if path.is_relative_to(base):
            return prefix + path.relative_to(base).as_posix()
    return "…/" + "/".join(path.parts[-2:])


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
