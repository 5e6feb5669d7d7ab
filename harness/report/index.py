"""``reports/index.html``: every rendered report, newest first, with its headline numbers (read from each
report's ``headline.json``, so the index is rebuilt from the reports directory alone)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

HEADLINE = "headline.json"


def read_headlines(reports_dir: Path) -> list[dict[str, Any]]:
    """The headline of every report under ``reports_dir`` (a broken headline file is listed as such)."""
    found = []
    for path in sorted(reports_dir.glob(f"*/{HEADLINE}")):
        try:
            headline = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(headline, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            headline = {"run_id": path.parent.name, "problem": f"{path}: unreadable ({exc})"}
        headline["dir"] = path.parent.name
        found.append(headline)
    return sorted(found, key=lambda h: (str(h.get("started_at") or ""), h["dir"]), reverse=True)


def _cell(value: Any) -> str:
    return "-" if value is None else html.escape(str(value))


def _row(h: dict[str, Any]) -> str:
    link = f'<a href="{html.escape(h["dir"])}/report.html">{html.escape(str(h.get("run_id")))}</a>'
    if "problem" in h:
        return f'<tr><td>{link}</td><td colspan="8" class="problem">{html.escape(h["problem"])}</td></tr>'
    regressions = h.get("regressions")
    flag = ' class="regression"' if regressions else ""
    return (
        f"<tr><td>{link}</td><td>{_cell(h.get('started_at'))}</td><td>{_cell(h.get('world'))}</td>"
        f"<td>{_cell(h.get('cells'))}</td><td>{_rate(h)}</td><td>{_cell(h.get('flaky_cells'))}</td>"
        f"<td>{_controls(h)}</td>"
        f"<td{flag}>{_cell(regressions)}</td><td>{_cell(h.get('baseline'))}</td></tr>"
    )


def _controls(h: dict[str, Any]) -> str:
    """``3/5`` controls caught; "none" for a run without negative controls (not "0/0")."""
    if h.get("controls") == 0:
        return "none"
    return f"{_cell(h.get('controls_caught'))}/{_cell(h.get('controls'))}"


def _rate(h: dict[str, Any]) -> str:
    """The pass rate with its 95% interval (a headline written before intervals has none)."""
    rate, low, high = h.get("pass_rate"), h.get("pass_rate_low"), h.get("pass_rate_high")
    if not isinstance(rate, int | float):
        return "-"
    interval = f" [{low:.0%}-{high:.0%}]" if isinstance(low, int | float) and isinstance(high, int | float) else ""
    return f"{rate:.0%}{interval}"


def write_index(reports_dir: Path) -> Path:
    headlines = read_headlines(reports_dir)
    head = (
        "<tr><th>run</th><th>started</th><th>world</th><th>cells</th><th>pass rate [95% CI]</th>"
        "<th>flaky cells</th><th>controls caught</th><th>regressions</th><th>baseline</th></tr>"
    )
    body = "\n".join(_row(h) for h in headlines)
    page = reports_dir / "index.html"
    page.write_text(_PAGE.format(count=len(headlines), head=head, body=body), encoding="utf-8")
    return page


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Harness reports</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; }} th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }}
.regression {{ color: #b2182b; font-weight: 600; }} .problem {{ color: #b2182b; }}
</style></head>
<body><h1>Harness reports</h1><p>{count} run(s), newest first. Pass rate: ok attempts of the real matrix
(negative controls excluded) with its Wilson 95% interval; flaky cells: cells whose attempts disagreed;
regressions: framework / path and model pairs significantly worse than in the baseline run (Fisher's exact test,
p &lt; 0.05).</p>
<table id="runs"><thead>{head}</thead><tbody>
{body}
</tbody></table></body></html>
"""
