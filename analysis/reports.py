"""Rendered notebooks: executed ``.ipynb`` to standalone HTML, and ``reports/index.html`` linking the chain.

The HTML is readable without Jupyter: code cells are folded away (a reader can unfold them), outputs and figures
are inline, and the page says when it shows simulated data.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat


@dataclass(frozen=True)
class ReportEntry:
    """One executed notebook of a run, for the index page."""

    name: str
    status: str          # "ok" | "failed" | "not run"
    seconds: float
    html_file: str       # relative to the reports folder
    ipynb_file: str
    message: str = ""


def render_html(ipynb: Path, out: Path, *, simulated: bool = False) -> Path:
    """Render an executed notebook to a standalone HTML file with code folded away.

    Parameters
    ----------
    ipynb : Path
        Executed notebook.
    out : Path
        HTML file to write.
    simulated : bool
        Put a "SIMULATED DATA" banner on top of the page.
    """
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(ipynb), as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    fold = ("<style>.jp-CodeCell .jp-Cell-inputWrapper{display:none}"
            "body.show-code .jp-CodeCell .jp-Cell-inputWrapper{display:block}"
            ".study-banner{background:#b00020;color:#fff;font:bold 16px sans-serif;padding:8px 16px;text-align:center}"
            ".study-toggle{position:fixed;top:8px;right:8px;z-index:10}</style>")
    toggle = ("<button class='study-toggle' onclick=\"document.body.classList.toggle('show-code')\">"
              "show/hide code</button>")
    banner = "<div class='study-banner'>SIMULATED DATA - demo run on a simulated Hub, not real findings</div>" \
        if simulated else ""
    body = body.replace("</head>", fold + "</head>", 1)
    body = body.replace("<body", "<body data-study='report'", 1)
    idx = body.find(">", body.find("<body")) + 1
    body = body[:idx] + banner + toggle + body[idx:]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


def write_index(reports_dir: Path, entries: list[ReportEntry], *, config_source: str, config_digest: str,
                simulated: bool, headline: str = "", data_range: str = "") -> Path:
    """Write ``reports/index.html``: run date, configuration, data range, headline result, links to every notebook."""
    rows = "\n".join(
        f"<tr><td><a href='{html.escape(e.html_file)}'>{html.escape(e.name)}</a></td>"
        f"<td>{html.escape(e.status)}</td><td>{e.seconds:.1f} s</td>"
        f"<td><a href='{html.escape(e.ipynb_file)}'>notebook</a></td><td>{html.escape(e.message)}</td></tr>"
        for e in entries)
    banner = ("<p style='background:#b00020;color:#fff;padding:8px;font-weight:bold'>SIMULATED DATA: this run used "
              "the simulated Hub of the offline demo. Nothing here is a finding about the real Hub.</p>"
              if simulated else "")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Study reports</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:4px 10px;text-align:left}}</style>
</head><body>
<h1>Chinese vs US open models on the Hugging Face Hub: rendered notebooks</h1>
{banner}
<p>Run date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}<br>
Configuration: {html.escape(config_source)} (digest {html.escape(config_digest)})<br>
Data range: {html.escape(data_range or 'n/a')}</p>
<p><b>Headline:</b> {html.escape(headline or 'n/a')}</p>
<table><tr><th>notebook</th><th>status</th><th>time</th><th>source</th><th>note</th></tr>
{rows}
</table></body></html>
"""
    out = reports_dir / "index.html"
    out.write_text(page, encoding="utf-8")
    return out


def headline_text(crossover_file: Path) -> tuple[str, str]:
    """(headline sentence, data range) from ``crossover.json`` if it exists, else empty strings."""
    if not crossover_file.is_file():
        return "", ""
    try:
        c = json.loads(crossover_file.read_text())
        h = c.get("headline", {})
        d = c.get("definition", {})
        sim = "SIMULATED: " if c.get("simulated") else ""
        text = (f"{sim}estimated crossover of CN over US ({d.get('measure')}, rule {d.get('rule')}, "
                f"scope {d.get('scope')}): {h.get('estimate_date')} "
                f"(95% interval {h.get('lower_date')} to {h.get('upper_date')}, {h.get('kind')})")
        rng = f"{c.get('first_date', '?')} to {c.get('last_date', '?')}"
        return text, rng
    except (ValueError, AttributeError):
        return "", ""
