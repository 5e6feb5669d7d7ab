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
        return f'<tr><td>{link}</td><td colspan="7" class="problem">{html.escape(h["problem"])}</td></tr>'
    rate = h.get("pass_rate")
    regressions = h.get("regressions")
    flag = ' class="regression"' if regressions else ""
    return (
        f"<tr><td>{link}</td><td>{_cell(h.get('started_at'))}</td><td>{_cell(h.get('world'))}</td>"
        f"<td>{_cell(h.get('cells'))}</td><td>{'-' if rate is None else f'{rate:.0%}'}</td>"
        f"<td>{_cell(h.get('controls_caught'))}/{_cell(h.get('controls'))}</td>"
        f"<td{flag}>{_cell(regressions)}</td><td>{_cell(h.get('baseline'))}</td></tr>"
    )


def write_index(reports_dir: Path) -> Path:
    headlines = read_headlines(reports_dir)
    head = (
        "<tr><th>run</th><th>started</th><th>world</th><th>cells</th><th>pass rate</th>"
        "<th>controls caught</th><th>regressions</th><th>baseline</th></tr>"
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
(negative controls excluded); regressions: cells worse than in the baseline run.</p>
<table id="runs"><thead>{head}</thead><tbody>
{body}
</tbody></table></body></html>
"""
