"""Failing cells' transcripts, published next to the report so that its links keep working when the report
directory is moved or archived without the run: ``<report dir>/transcripts/<name>.json`` (the transcript as the
run wrote it) and ``<name>.html`` (the same, readable in a browser). Text that looks like a credential is
redacted on the way out: a report is meant to be shared."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from harness.secrets import redact

RESULT_LIMIT = 4000  # characters of a tool result shown on the page (the JSON copy keeps all of it)


def publish(source: Path, out_dir: Path, title: str) -> Path:
    """Copy one transcript into ``out_dir`` (redacted) with its HTML page; returns the page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = redact(source.read_text(encoding="utf-8", errors="replace"))
    (out_dir / source.name).write_text(text, encoding="utf-8")
    page = out_dir / (source.stem + ".html")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        body = f"<p class='problem'>{html.escape(source.name)} is not valid JSON ({html.escape(exc.msg)}).</p>"
    else:
        body = render(data if isinstance(data, dict) else {})
    page.write_text(_PAGE.format(title=html.escape(title), raw=html.escape(source.name), body=body), encoding="utf-8")
    return page


def render(data: dict[str, Any]) -> str:
    """A transcript file's verdict, reasons and turns (user, tool calls with arguments and results, answer)."""
    parts = [f"<p><b>verdict:</b> {html.escape(str(data.get('verdict', '?')))}</p>"]
    reasons = data.get("reasons") or []
    if reasons:
        parts.append("<ul>" + "".join(f"<li>{html.escape(str(r))}</li>" for r in reasons) + "</ul>")
    transcript = data.get("transcript") or {}
    if transcript.get("error"):
        parts.append(f"<p class='problem'><b>stack error:</b> {html.escape(str(transcript['error']))}</p>")
    for number, turn in enumerate(transcript.get("turns") or [], start=1):
        parts.append(f"<h2>Turn {number}</h2><div class='user'><b>user:</b> {html.escape(str(turn.get('user')))}</div>")
        for call in turn.get("tool_calls") or []:
            parts.append(_call(call))
        if turn.get("stopped"):
            parts.append(f"<p class='problem'><b>stopped:</b> {html.escape(str(turn['stopped']))}</p>")
        parts.append(f"<div class='answer'><b>answer:</b> {html.escape(str(turn.get('answer', '')))}</div>")
    return "\n".join(parts)


def _call(call: dict[str, Any]) -> str:
    result = str(call.get("result") or "")
    shown = result[:RESULT_LIMIT] + (
        f" ... ({len(result) - RESULT_LIMIT} more characters in the JSON)" if len(result) > RESULT_LIMIT else ""
    )
    flag = " <span class='problem'>(error)</span>" if call.get("is_error") else ""
    return (
        f"<details class='call'><summary>tool call <code>{html.escape(str(call.get('name')))}</code>{flag}"
        f"</summary><pre>{html.escape(json.dumps(call.get('arguments', {}), indent=2))}</pre>"
        f"<pre>{html.escape(shown)}</pre></details>"
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.4; }}
.user, .answer {{ padding: .5rem .75rem; margin: .5rem 0; border-radius: 6px; white-space: pre-wrap; }}
.user {{ background: #eef3fb; }} .answer {{ background: #eef8ee; }} .problem {{ color: #b2182b; }}
pre {{ background: #f6f6f6; padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }}
</style></head>
<body><h1>{title}</h1><p><a href="{raw}">the transcript as JSON</a></p>
{body}
</body></html>
"""
