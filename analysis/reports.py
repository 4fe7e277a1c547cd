"""Rendered notebooks: executed ``.ipynb`` to standalone HTML, and ``reports/index.html`` linking the chain.

The HTML is readable without Jupyter:

* a title (the notebook's first heading) and a table of contents of its headings;
* code cells hidden by default (a button shows them; the executed ``.ipynb`` sits next to the page);
* figures inline (embedded PNG), and long outputs truncated: a text output keeps its first and last lines with
  the number of lines left out, an oversized HTML output (a giant table) is replaced by a note;
* a "SIMULATED DATA" banner on top of every page of a demo run;
* nothing loaded from the network: the pages are rendered with the package's template
  (``analysis/report_template/study``), JupyterLab's page without the require.js, MathJax and mermaid scripts it
  would load from a CDN, and the stylesheets' comments (which cite web pages) are dropped.

``reports/index.html`` shows the run date, the configuration (file, digest and parameters), the snapshot range,
the headline result, on demo runs the estimate against the simulation's truth, a link to every notebook of the
chain with its status (this run's where it ran; otherwise that of the executed notebook an earlier run left, read
by :func:`earlier_entry`, or "not run"), and the figures of ``figures/figures.json``. The figures' files (and
``figures.json``, ``values.json``, ``values.tex``) are copied into ``reports/figures/``, and the index links those
copies, so the reports folder works when it is shared alone.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping

import nbformat

#: Text outputs longer than this many lines are cut to their head and tail.
MAX_TEXT_LINES = 60
HEAD_LINES, TAIL_LINES = 30, 10
#: Text outputs longer than this many characters are cut as well (long single lines).
MAX_TEXT_CHARS = 20_000
#: HTML outputs (tables) larger than this are replaced by a note.
MAX_HTML_CHARS = 200_000

#: Name of the package's nbconvert template (``analysis/report_template/<name>``).
TEMPLATE_NAME = "study"
#: Folder of the reports that holds copies of the figures, so the reports folder stands alone.
REPORT_FIGURES = "figures"
#: Files of the figures folder copied beside the figures themselves.
REPORT_EXTRA_FILES = ("figures.json", "values.json", "values.tex")

SIM_BANNER = ("SIMULATED DATA - demo run on a simulated Hub with a known truth; nothing on this page is a finding "
              "about the real Hugging Face Hub")

_PAGE_CSS = """<style>
.jp-CodeCell .jp-Cell-inputWrapper{display:none}
body.show-code .jp-CodeCell .jp-Cell-inputWrapper{display:block}
.study-banner{background:#b00020;color:#fff;font:bold 16px sans-serif;padding:8px 16px;text-align:center}
.study-bar{position:sticky;top:0;z-index:10;background:#f7f7f7;border-bottom:1px solid #ddd;padding:4px 16px;
  font:13px sans-serif;display:flex;gap:16px;align-items:center}
.study-toc{font:14px sans-serif;max-width:60em;margin:12px auto;padding:8px 16px;border:1px solid #ddd;background:#fafafa}
.study-toc ul{margin:4px 0 4px 1.2em;padding:0}
.study-truncated{color:#8a4b00;font-style:italic}
table.study-table{border-collapse:collapse;margin:6px 0}
table.study-table th{border-bottom:1px solid #999;padding:2px 10px;font-weight:600}
table.study-table td{padding:2px 10px;border-bottom:1px solid #eee}
</style>"""


@dataclass(frozen=True)
class ReportEntry:
    """One executed notebook of a run, for the index page.

    Attributes
    ----------
    name : str
        Notebook stem, e.g. ``07_figures``.
    status : str
        "ok" | "failed" | "not run" for this run; "ok (earlier run)" | "failed (earlier run)" |
        "unknown (earlier run)" for a notebook this run did not execute but an earlier run did.
    seconds : float
        Execution time (NaN when unknown).
    html_file, ipynb_file : str
        Relative to the reports folder; "" when there is no such file (the index then shows no link).
    message : str
        Error summary of a failed notebook, or where an earlier run's entry comes from.
    log_file : str
        The kernel's standard error log, relative to the reports folder ("" if none).
    """

    name: str
    status: str
    seconds: float
    html_file: str
    ipynb_file: str
    message: str = ""
    log_file: str = ""


def earlier_entry(reports_dir: Path, name: str, *, note: str = "") -> ReportEntry:
    """The index entry of a notebook this run did not execute, from what an earlier run left in ``reports_dir``.

    The status and time come from the papermill metadata of the executed notebook ``<name>.ipynb``
    (``exception``, ``duration``, ``end_time``); without an executed notebook the status is "not run" (a kernel
    log left by a run that died before writing the notebook is still linked).

    Parameters
    ----------
    reports_dir : Path
        The reports folder.
    name : str
        Notebook stem, e.g. ``04_trend_tests``.
    note : str
        Said first in the entry's message (e.g. why this run did not execute it).
    """
    reports_dir = Path(reports_dir)
    ipynb, html_file, log = (reports_dir / f"{name}{ext}" for ext in (".ipynb", ".html", ".log"))
    links = {"html_file": html_file.name if html_file.is_file() else "",
             "ipynb_file": ipynb.name if ipynb.is_file() else "", "log_file": log.name if log.is_file() else ""}
    parts = [note] if note else []
    if not ipynb.is_file():
        parts.append("no executed notebook" + (" (only a kernel log)" if log.is_file() else ""))
        return ReportEntry(name, "not run", float("nan"), message="; ".join(parts), **links)
    try:
        pm = nbformat.read(str(ipynb), as_version=4).metadata.get("papermill") or {}
    except Exception:  # an unreadable notebook is reported, not fatal for the index
        pm = {}
    if not pm:
        status = "unknown (earlier run)"
    else:
        status = "failed (earlier run)" if pm.get("exception") else "ok (earlier run)"
    try:
        secs = float(pm.get("duration"))
    except (TypeError, ValueError):
        secs = float("nan")
    ended = str(pm.get("end_time") or "")[:19].replace("T", " ")
    parts.append("executed notebook of an earlier run" + (f", ended {ended} UTC" if ended else ""))
    return ReportEntry(name, status, secs, message="; ".join(parts), **links)


# ------------------------------------------------------------------------------------------------------------
# what the runner leaves in the reports folder
# ------------------------------------------------------------------------------------------------------------
#: Lines the Jupyter kernel writes to its log on every start, that say nothing about the notebook (matched at the
#: start of a line); :func:`tidy_log` drops them.
KERNEL_NOISE = ("[IPKernelApp] WARNING | Kernel is running over TCP without encryption",)


def tidy_executed(ipynb: Path, root: Path) -> None:
    """Record the notebook's paths in papermill's metadata relative to the project (not as paths of the machine)."""
    ipynb = Path(ipynb)
    nb = nbformat.read(str(ipynb), as_version=4)
    pm = nb.metadata.get("papermill") or {}
    changed = False
    for key in ("input_path", "output_path"):
        v = pm.get(key)
        if v:
            try:
                rel = Path(v).resolve().relative_to(Path(root).resolve()).as_posix()
            except (ValueError, OSError):
                rel = Path(v).name
            if rel != v:
                pm[key], changed = rel, True
    if changed:
        nbformat.write(nb, str(ipynb))


def tidy_log(log: Path) -> bool:
    """Drop the kernel's start-up notices (:data:`KERNEL_NOISE`) from a kernel log; remove the log when nothing is
    left. Returns whether the log is kept."""
    log = Path(log)
    if not log.is_file():
        return False
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith(KERNEL_NOISE)]
    if not "".join(kept).strip():
        log.unlink()
        return False
    if len(kept) != len(lines):
        log.write_text("".join(kept), encoding="utf-8")
    return True


# ------------------------------------------------------------------------------------------------------------
# notebook preprocessing
# ------------------------------------------------------------------------------------------------------------
def _truncate_text(text: str) -> str:
    lines = text.splitlines(keepends=True)
    if len(lines) > MAX_TEXT_LINES:
        cut = len(lines) - HEAD_LINES - TAIL_LINES
        text = "".join(lines[:HEAD_LINES]) + f"\n[... {cut} lines not shown; see the executed notebook ...]\n\n" \
            + "".join(lines[-TAIL_LINES:])
    if len(text) > MAX_TEXT_CHARS:
        cut = len(text) - MAX_TEXT_CHARS
        text = text[:MAX_TEXT_CHARS // 2] + f"\n[... {cut} characters not shown; see the executed notebook ...]\n" \
            + text[-MAX_TEXT_CHARS // 2:]
    return text


def truncate_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the notebook whose long outputs are cut (see the module docstring); images are kept."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                out["text"] = _truncate_text("".join(out.get("text", "")))
            elif out.get("output_type") == "error":
                tb = out.get("traceback", [])
                if len(tb) > 12:
                    out["traceback"] = tb[:4] + [f"[... {len(tb) - 8} frames not shown ...]"] + tb[-4:]
            data = out.get("data")
            if not data:
                continue
            if "text/plain" in data:
                data["text/plain"] = _truncate_text("".join(data["text/plain"]))
            if "text/html" in data and len("".join(data["text/html"])) > MAX_HTML_CHARS:
                size = len("".join(data["text/html"]))
                data["text/html"] = (f"<p class='study-truncated'>[an HTML output of {size:,} characters is not "
                                     "shown here; see the executed notebook]</p>")
    return nb


_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")


def headings(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(level, text) of the markdown headings (levels 1 to 3) in order, outside fenced code."""
    out = []
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            continue
        fenced = False
        for line in cell.get("source", "").splitlines():
            if line.strip().startswith("```"):
                fenced = not fenced
            m = None if fenced else _HEADING.match(line)
            if m:
                out.append((len(m.group(1)), m.group(2).strip()))
    return out


def _add_anchors(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Put an ``<a id="sec-N">`` before each heading (N counts headings in :func:`headings` order)."""
    k = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            continue
        lines, fenced = [], False
        for line in cell.get("source", "").splitlines():
            if line.strip().startswith("```"):
                fenced = not fenced
            if not fenced and _HEADING.match(line):
                lines.append(f'<a id="sec-{k}"></a>')
                lines.append("")
                k += 1
            lines.append(line)
        cell["source"] = "\n".join(lines)
    return nb


def _toc_html(items: list[tuple[int, str]]) -> str:
    if not items:
        return ""
    lis = "".join(f"<li style='margin-left:{(lvl - 1) * 1.2}em;list-style:none'>"
                  f"<a href='#sec-{i}'>{html.escape(re.sub(r'[`*_]', '', text))}</a></li>"
                  for i, (lvl, text) in enumerate(items))
    return f"<nav class='study-toc' aria-label='Contents'><b>Contents</b><ul>{lis}</ul></nav>"


_STYLE_BLOCK = re.compile(r"<style[^>]*>.*?</style>", re.S | re.I)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def template_dir() -> Path:
    """The folder holding the package's nbconvert template (:data:`TEMPLATE_NAME`)."""
    path = Path(str(resources.files("analysis") / "report_template"))
    if not (path / TEMPLATE_NAME / "index.html.j2").is_file():
        raise FileNotFoundError(f"{path / TEMPLATE_NAME}: the report template is missing from the analysis package; "
                                "reinstall the package or restore analysis/report_template/")
    return path


def render_html(ipynb: Path, out: Path, *, simulated: bool = False) -> Path:
    """Render an executed notebook to a standalone HTML page readable without Jupyter.

    Parameters
    ----------
    ipynb : Path
        Executed notebook.
    out : Path
        HTML file to write.
    simulated : bool
        Put a "SIMULATED DATA" banner on top of the page.

    Returns
    -------
    Path
        ``out``.
    """
    from nbconvert import HTMLExporter

    ipynb = Path(ipynb)
    nb = nbformat.read(str(ipynb), as_version=4)
    items = headings(nb)
    title = re.sub(r"[`*_]", "", items[0][1]) if items else ipynb.stem
    nb = _add_anchors(truncate_outputs(nb))
    nb.metadata["title"] = title
    exporter = HTMLExporter(template_name=TEMPLATE_NAME, extra_template_basedirs=[str(template_dir())])
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    bar = ("<div class='study-bar'><a href='index.html'>&larr; all notebooks</a>"
           f"<a href='{html.escape(ipynb.name)}'>executed notebook (.ipynb)</a>"
           "<button class='study-toggle' onclick=\"document.body.classList.toggle('show-code')\">"
           "show / hide code</button></div>")
    banner = f"<div class='study-banner' role='alert'>{html.escape(SIM_BANNER)}</div>" if simulated else ""
    body = _STYLE_BLOCK.sub(lambda m: _CSS_COMMENT.sub("", m.group(0)), body)
    body = body.replace("</head>", _PAGE_CSS + "</head>", 1)
    body = body.replace("<body", "<body data-study='report'" + (" data-simulated='true'" if simulated else ""), 1)
    idx = body.find(">", body.find("<body")) + 1
    body = body[:idx] + banner + bar + _toc_html(items) + body[idx:]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


# ------------------------------------------------------------------------------------------------------------
# index page
# ------------------------------------------------------------------------------------------------------------
def copy_figures(reports_dir: Path) -> dict | None:
    """Copy the run's figures into ``reports/figures/`` and return ``figures.json`` (None when there is none).

    Every file ``figures.json`` lists for a figure (PNG, PDF, SVG, CSV) and the files of
    :data:`REPORT_EXTRA_FILES` are copied byte for byte from the figures folder beside the reports folder; an
    earlier copy is replaced, and files no longer listed are removed, so the copy is always this run's.
    """
    reports_dir = Path(reports_dir)
    src = reports_dir.parent / "figures"
    fj = src / "figures.json"
    dest = reports_dir / REPORT_FIGURES
    if not fj.is_file():
        return None
    doc = json.loads(fj.read_text(encoding="utf-8"))
    names = [Path(v["path"]).name for f in doc.get("figures", []) for v in (f.get("files") or {}).values()
             if isinstance(v, Mapping) and v.get("path")]
    if dest.is_dir():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in list(dict.fromkeys(names)) + list(REPORT_EXTRA_FILES):
        if (src / name).is_file():
            shutil.copyfile(src / name, dest / name)
    return doc


def _figures_section(reports_dir: Path) -> str:
    try:
        doc = copy_figures(reports_dir)
    except (ValueError, OSError) as e:
        return f"<p>figures/figures.json cannot be read ({html.escape(type(e).__name__)}); rerun notebook 07.</p>"
    if doc is None:
        return "<p>No figures yet (figures/figures.json not found: run notebook 07).</p>"
    cards = []
    for f in doc.get("figures", []):
        files = {k: f"{REPORT_FIGURES}/{Path(v['path']).name}" for k, v in (f.get("files") or {}).items()}
        links = " · ".join(f"<a href='{html.escape(v)}'>{html.escape(k)}</a>" for k, v in files.items())
        width = int(110 * float(f.get("width_in") or 7.2))
        img = (f"<img src='{html.escape(files['png'])}' alt='{html.escape(f.get('title', ''))}' "
               f"width='{width}' style='max-width:100%;height:auto'>" if "png" in files else "")
        cards.append(f"<figure id='figure-{html.escape(str(f.get('number', '')))}' style='margin:1.5em 0'>{img}"
                     f"<figcaption>{html.escape(f.get('caption', ''))}<br><small>{links}</small><br>"
                     f"<small>Cite as: {html.escape(f.get('citation', ''))}</small></figcaption></figure>")
    extra = " · ".join(f"<a href='{REPORT_FIGURES}/{n}'>{n}</a>" for n in REPORT_EXTRA_FILES
                       if (Path(reports_dir) / REPORT_FIGURES / n).is_file())
    return "\n".join(cards) + (f"\n<p>Every figure's entry, and every number to quote: {extra}</p>" if extra else "")


def truth_check_html(check: Mapping | None) -> str:
    """The demo's estimate against the simulation's truth, as a paragraph of the index ("" for none)."""
    if not check:
        return ""
    from .figures.labels import MEASURE_LABELS, RULE_LABELS, SCOPE_LABELS, label

    d = check.get("true_definition") or {}
    names = {"measure": MEASURE_LABELS, "rule": RULE_LABELS, "scope": SCOPE_LABELS}
    what = ", ".join(label(names[k], d[k]) + (" rule" if k == "rule" else "") for k in names if k in d)
    est = check.get("estimate_date")
    lo, hi = check.get("lower_date"), check.get("upper_date")
    kind = str(check.get("interval_kind") or "").replace("_", " ")
    interval = (f"interval {lo or 'unbounded'} to {hi or 'unbounded'}" + (f" ({kind})" if kind else ""))
    inside = check.get("truth_inside_interval")
    verdict = ("inside the interval" if inside else "OUTSIDE the interval") if inside is not None else "not checked"
    err = check.get("error_weeks")
    return (f"<h2>Demo: the estimate against the simulation's truth</h2><p data-study='truth-check'>The simulated Hub "
            f"was built with its crossover on <b>{html.escape(str(check.get('true_crossover_date')))}</b>"
            f"{' (' + html.escape(what) + ')' if what else ''}. The chain estimated "
            f"<b>{html.escape(str(est or 'no date'))}</b>, {html.escape(interval)}"
            f"{'; error ' + html.escape(str(err)) + ' weeks' if err is not None else ''}. The true date is "
            f"<b>{verdict}</b>. (From processed/results/demo_truth_check.json.)</p>")


def write_index(reports_dir: Path, entries: list[ReportEntry], *, config_source: str, config_digest: str,
                simulated: bool, headline: str = "", data_range: str = "",
                config_params: Mapping | None = None, data_source: str = "",
                project_root: Path | None = None, truth_check: Mapping | None = None,
                notes: list[str] | None = None, warnings: list[str] | None = None) -> Path:
    """Write ``reports/index.html``: run date, configuration, data range, headline result, links, figures.

    Parameters
    ----------
    reports_dir : Path
        The reports folder.
    entries : list of ReportEntry
        One per notebook of the chain, in run order (see :func:`earlier_entry` for those this run did not
        execute).
    config_source, config_digest : str
        The configuration file and the digest of the validated parameters.
    simulated : bool
        Demo run: a SIMULATED DATA banner.
    headline, data_range : str
        From :func:`headline_text`.
    config_params : mapping, optional
        The flattened parameters (``<section>_<key>: value``), shown in a folded table.
    data_source : str
        Where the data came from (:func:`source_text`).
    project_root : Path, optional
        The project's root, to show the configuration file relative to it (default: the reports folder's parent).
    truth_check : mapping, optional
        The demo's estimate against the simulation's truth (:func:`analysis.cli.demo_truth_check`).
    """
    def link(target: str, text: str) -> str:
        return f"<a href='{html.escape(target)}'>{html.escape(text)}</a>" if target else html.escape(text)

    def secs(v: float) -> str:
        return f"{v:.1f} s" if v == v else "n/a"  # NaN: not known

    rows = "\n".join(
        f"<tr><td>{link(e.html_file, e.name)}</td>"
        f"<td>{html.escape(e.status)}</td><td>{secs(e.seconds)}</td>"
        f"<td>{link(e.ipynb_file, 'notebook') if e.ipynb_file else '-'}"
        f"{' · ' + link(e.log_file, 'log') if e.log_file else ''}</td><td>{html.escape(e.message)}</td></tr>"
        for e in entries)
    banner = (f"<p class='study-banner' role='alert'>{html.escape(SIM_BANNER)}</p>" if simulated else "")
    try:  # show the configuration file relative to the project, never as a path of the machine that ran it
        base = Path(project_root) if project_root is not None else Path(reports_dir).parent
        config_source = Path(config_source).resolve().relative_to(base.resolve()).as_posix()
    except (ValueError, OSError):
        pass
    params = ""
    if config_params:
        prow = "".join(f"<tr><td><code>{html.escape(str(k))}</code></td><td>{html.escape(json.dumps(v))}</td></tr>"
                       for k, v in config_params.items())
        params = f"<details><summary>Parameters of this run</summary><table>{prow}</table></details>"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Study reports{' (SIMULATED DATA)' if simulated else ''}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}}td,th{{padding:4px 10px;
text-align:left;vertical-align:top}}.study-banner{{background:#b00020;color:#fff;padding:8px;font-weight:bold}}
figcaption{{font-size:90%}}</style>
</head><body data-study="index"{' data-simulated="true"' if simulated else ''}>
<h1>Chinese vs US open models on the Hugging Face Hub: rendered notebooks</h1>
{banner}
<p>Run date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}<br>
Configuration: {html.escape(config_source)} (digest {html.escape(config_digest)})<br>
Data range: {html.escape(data_range or 'n/a')}<br>
Data source: {html.escape(data_source or 'n/a')}</p>
{params}
{"".join(f"<p class='study-banner' role='alert'>{html.escape(w)}</p>" for w in (warnings or []))}
<h2>Headline result</h2>
<p><b>{html.escape(headline or 'n/a (notebook 05 has not written crossover.json)')}</b></p>
{"<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>" if notes else ""}
{truth_check_html(truth_check)}
<h2>Notebooks of the chain, in run order</h2>
<table><tr><th>notebook</th><th>status</th><th>time</th><th>source</th><th>note</th></tr>
{rows}
</table>
<h2>Figures</h2>
{_figures_section(reports_dir)}
</body></html>
"""
    out = Path(reports_dir) / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def source_text(crossover_file: Path) -> str:
    """Where the headline's data came from, from the provenance ``crossover.json`` carries ("" if unknown)."""
    try:
        prov = json.loads(Path(crossover_file).read_text(encoding="utf-8")).get("provenance") or {}
    except (OSError, ValueError, AttributeError):
        return ""
    src = prov.get("source") or {}
    if not src:
        return ""
    kind = "SIMULATED Hub (demo run)" if prov.get("run_kind") == "simulated" else "the Hub"
    parts = [f"{kind} at {', '.join(src.get('endpoints') or ['an unrecorded endpoint'])}"]
    if src.get("repos"):
        parts.append(f"archive {', '.join(src['repos'])}")
    if src.get("commits"):
        parts.append(f"commit(s) {', '.join(c[:10] for c in src['commits'][:3])}"
                     + (f" and {len(src['commits']) - 3} more" if len(src["commits"]) > 3 else ""))
    if src.get("n_snapshots"):
        parts.append(f"{src['n_snapshots']} snapshots {src.get('first_snapshot')} to {src.get('last_snapshot')}")
    return "; ".join(parts)


def headline_notes(crossover_file: Path) -> list[str]:
    """The readings that go beside the headline: the crossover for all models and generative models side by side,
    with the contested origins read the other way, the spread across definitions and the crossing of cumulative
    downloads (from ``crossover.json``)."""
    try:
        h = json.loads(Path(crossover_file).read_text(encoding="utf-8")).get("headline") or {}
    except (OSError, ValueError, AttributeError):
        return []
    out = [f"Which models: {h['scopes_reading']}" if h.get("scopes_reading") else "",
           f"Contested origins: {h['contested_reading']}" if h.get("contested_reading") else ""]
    spread = h.get("definition_spread") or {}
    if spread.get("earliest_date"):
        from .stats.readings import spread_reading
        out.append(spread_reading(spread))
    cum = h.get("cumulative") or {}
    if cum.get("reading") and cum.get("kind") != "no_data":
        out.append("Cumulative downloads: " + cum["reading"])
    return [x for x in out if x]


def coverage_warnings(coverage_file: Path) -> list[str]:
    """Loud warnings of the origin tagging (``tagging_coverage.json``): snapshots without any lineage."""
    try:
        c = json.loads(Path(coverage_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [c["lineage_warning"]] if c.get("lineage_absent") and c.get("lineage_warning") else []


def headline_text(crossover_file: Path) -> tuple[str, str]:
    """(headline sentence, data range) from ``crossover.json`` if it exists, else empty strings.

    The sentence says when the interval is unbounded instead of printing a misleading pair of dates; its confidence
    level is the one ``crossover.json`` records (:func:`analysis.figures.data.crossover_alpha`).
    """
    crossover_file = Path(crossover_file)
    if not crossover_file.is_file():
        return "", ""
    try:
        c = json.loads(crossover_file.read_text(encoding="utf-8"))
        h = c.get("headline", {}) or {}
        d = c.get("definition", {}) or {}
        from .figures.data import crossover_alpha, level_text
        from .figures.labels import KIND_LABELS, MEASURE_LABELS, RULE_LABELS, SCOPE_LABELS, label, method_label

        level = level_text(crossover_alpha(c))
        sim = "SIMULATED DATA: " if c.get("simulated") else ""
        kind = h.get("kind")
        what = (f"the Chinese share overtakes the US share ({label(MEASURE_LABELS, d.get('measure'))}, "
                f"{label(RULE_LABELS, d.get('rule'))} rule, {label(SCOPE_LABELS, d.get('scope'))}; "
                f"{method_label(str(h.get('method')))})")
        kind_words = label(KIND_LABELS, kind) if kind else "unknown"
        if kind == "bounded":
            res = f"estimated {h.get('estimate_date')}, {level} interval {h.get('lower_date')} to {h.get('upper_date')}"
        elif kind in ("empty", "no_trend") or not h.get("estimate_date"):
            res = f"no crossover estimate ({kind_words})"
        else:
            res = (f"estimated {h.get('estimate_date')}, but the {level} confidence set is unbounded "
                   f"({kind_words}): the data cannot pin the date down")
        rng = f"{c.get('first_date', '?')} to {c.get('last_date', '?')}"
        return f"{sim}{what[:1].upper() + what[1:]}: {res}", rng
    except (ValueError, AttributeError, TypeError):
        return "", ""
