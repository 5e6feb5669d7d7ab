"""The report's charts as matplotlib figures (no pyplot: no backend to choose, no global state, nothing shown
twice in a notebook), and each figure as an inline PNG ``<img>`` so the HTML report is one self-contained file."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from harness.report.analysis import measured


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=96, layout="constrained")


def distributions(frame: pd.DataFrame, metrics: dict[str, str]) -> Figure:
    """The given metrics (column -> label) per framework / path, one box plot each (timings from attempts that
    were not replayed only)."""
    stacks = sorted(frame["stack"].unique())
    fig = _figure(4 * len(metrics), 1.2 + 0.4 * len(stacks))
    axes = np.atleast_1d(fig.subplots(1, len(metrics), sharey=True))
    for ax, (metric, label) in zip(axes, metrics.items(), strict=True):
        values = measured(frame, metric)
        shown = [values[frame.loc[values.index, "stack"] == s].dropna().to_numpy(dtype=float) for s in stacks]
        ax.boxplot(shown, orientation="horizontal", tick_labels=stacks, widths=0.6)
        ax.set_title(label, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.tick_params(labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()  # top to bottom, as in the tables (the axes share it)
    return fig


def cost_bars(costs: pd.DataFrame, currency: str) -> Figure:
    """Estimated cost per framework / path (and model); an unpriced group is drawn empty and labelled."""
    labels = [
        f"{s} · {m}" if costs["model"].nunique() > 1 else s for s, m in zip(costs["stack"], costs["model"], strict=True)
    ]
    fig = _figure(8, 1.2 + 0.35 * len(costs))
    ax = fig.add_subplot()
    values = costs["cost"].fillna(0).to_numpy(dtype=float)
    ax.barh(labels, values, color="#4575b4")
    for y, cost in enumerate(costs["cost"]):
        ax.text(values[y], y, " unknown" if pd.isna(cost) else f" {cost:.4f}", va="center", fontsize=8)
    ax.set_xlabel(f"estimated cost ({currency}) of the run's cells", fontsize=9)
    ax.invert_yaxis()
    ax.tick_params(labelsize=8)
    return fig


def pass_rate_bars(stacks: pd.DataFrame) -> Figure:
    """Pass rate per framework / path and model, baseline next to this run, each with its Wilson 95% interval."""
    labels = [f"{s} · {m}" for s, m in zip(stacks["stack"], stacks["model"], strict=True)]
    fig = _figure(8, 1.2 + 0.5 * len(stacks))
    ax = fig.add_subplot()
    y = np.arange(len(stacks))
    for offset, when, label, colour in ((-0.2, "before", "baseline", "#bbbbbb"), (0.2, "now", "this run", "#1a9850")):
        rate = stacks[f"rate {when}"].to_numpy(dtype=float)
        errors = np.abs(np.vstack([rate - stacks[f"low {when}"], stacks[f"high {when}"] - rate]).astype(float))
        ax.barh(y + offset, np.nan_to_num(rate), height=0.4, label=label, color=colour)
        ax.errorbar(rate, y + offset, xerr=errors, fmt="none", ecolor="#333333", elinewidth=1, capsize=2)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("pass rate (ok attempts / attempts), 95% interval", fontsize=9)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower right")
    return fig


def figure_html(fig: Figure, name: str, alt: str) -> str:
    """The figure as an inline PNG image (``data-chart`` names it for tests and for readers of the HTML)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode()
    return (
        f'<img class="report-chart" data-chart="{html.escape(name)}" alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{data}"/>'
    )
