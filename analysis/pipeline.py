"""Run the study's notebooks in order with papermill.

The order lives here and nowhere else: every ``notebooks/NN_name.ipynb`` runs in ascending ``NN``. Each notebook
receives only the parameters its tagged ``parameters`` cell declares, taken from the validated configuration
(:meth:`analysis.config.StudyConfig.notebook_parameters`) plus ``simulated`` (demo run) and ``run_config_digest``
(the digest of the configuration actually used, overrides included). Executed notebooks go to
``reports/NN_name.ipynb`` and are rendered to ``reports/NN_name.html``; ``reports/index.html`` links every notebook
of the chain, also after ``--only``/``--from`` or a failure (a notebook this run did not execute is shown with the
status of the executed notebook an earlier run left, or as "not run"); what the kernel wrote to its standard error
goes to ``reports/NN_name.log``.
A failing cell stops the run: the partial notebook is kept, the failing notebook and cell are named, nothing after
it runs, and the run returns a non-zero status.

Before the first notebook the runner records the run's parameters in the tree (``run_config.json``,
:func:`analysis.stage.write_run_config`), against which every stage checks its inputs. With ``--from NN`` the run
starts earlier when an earlier stage's outputs are stale for this run (missing, of the other run kind, built with other
settings or from inputs that changed since; :func:`analysis.stage.stale_stages`), as make would; ``--only`` runs
exactly what it is asked and a stale input then stops the notebook, naming the stage to rerun.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import StudyConfig
from .paths import Paths
from .reports import (ReportEntry, coverage_warnings, earlier_entry, headline_notes, headline_text, render_html,
                      source_text, tidy_executed, tidy_log, write_index)

NOTEBOOK_RE = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.ipynb$")


class PipelineError(RuntimeError):
    """The run cannot start or a notebook failed; the message names the notebook and what to do."""


@dataclass(frozen=True)
class NotebookRun:
    """Outcome of one notebook."""

    number: str
    name: str
    status: str
    seconds: float
    output: Path
    message: str = ""


@dataclass(frozen=True)
class RunResult:
    """Outcome of a run of the chain.

    Attributes
    ----------
    runs : list of NotebookRun
    before_index : object
        What the ``before_index`` hook of :func:`run_chain` returned (the demo's truth check), shown in the index.
    """

    runs: list = field(default_factory=list)
    before_index: object = None

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.runs)


def discover_notebooks(notebooks_dir: Path) -> list[Path]:
    """The chain's notebooks, ``NN_name.ipynb``, in order; duplicate numbers are an error."""
    nbs = sorted(p for p in notebooks_dir.glob("*.ipynb") if NOTEBOOK_RE.match(p.name))
    nums = [p.name[:2] for p in nbs]
    dup = {n for n in nums if nums.count(n) > 1}
    if dup:
        raise PipelineError(f"{notebooks_dir}: two notebooks share the number {sorted(dup)[0]}; renumber one")
    if not nbs:
        raise PipelineError(f"{notebooks_dir}: no notebooks named NN_name.ipynb found")
    return nbs


def select(notebooks: list[Path], *, only: list[str] | None = None, start_from: str | None = None) -> list[Path]:
    """Restrict the chain to ``--only NN [NN ...]`` or ``--from NN``."""
    nums = [p.name[:2] for p in notebooks]
    for n in (only or []) + ([start_from] if start_from else []):
        if n.zfill(2) not in nums:
            raise PipelineError(f"no notebook numbered {n!r}; available: {', '.join(nums)}")
    if only:
        want = {n.zfill(2) for n in only}
        return [p for p in notebooks if p.name[:2] in want]
    if start_from:
        return [p for p in notebooks if p.name[:2] >= start_from.zfill(2)]
    return notebooks


def declared_parameters(notebook: Path) -> dict:
    """Names (and inferred types/defaults) of the parameters a notebook's tagged cell declares."""
    import papermill

    return papermill.inspect_notebook(str(notebook))


def _first_line(text) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


def _message(text, max_lines: int = 12) -> str:
    """An error's message for the run's log: whole, up to ``max_lines`` lines (stale inputs list every file)."""
    lines = str(text).strip().splitlines()
    return "\n    ".join(lines[:max_lines] + ([f"... ({len(lines) - max_lines} more lines)"]
                                             if len(lines) > max_lines else []))


def _locate_cell(notebook: Path, source: str) -> str:
    """Name a failing cell by its 1-based position among the source notebook's cells, and its first line."""
    import nbformat

    try:
        cells = nbformat.read(str(notebook), as_version=4).cells
        pos = next(i for i, c in enumerate(cells, 1) if c.source.strip() == str(source).strip())
        where = f"cell {pos}"
    except (StopIteration, OSError, ValueError):
        where = "a cell"
    return f"{where} (`{_first_line(source)[:60]}`)"


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Send this process's file descriptor 2 (and so the kernel's inherited stderr) to a log file."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def _env(extra: dict[str, str]):
    old = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def chain_entries(chain: list[Path], selected: list[Path], ran: dict[str, ReportEntry],
                  reports_dir: Path) -> list[ReportEntry]:
    """The index entries of every notebook of the chain, in order.

    Parameters
    ----------
    chain : list of Path
        Every notebook (:func:`discover_notebooks`).
    selected : list of Path
        The notebooks this run was asked to execute (after ``--only``/``--from``).
    ran : dict
        ``{stem: ReportEntry}`` of the notebooks this run executed.
    reports_dir : Path
        The reports folder, where earlier runs left their executed notebooks.

    Returns
    -------
    list of ReportEntry
        This run's entry where it executed the notebook. A selected notebook it did not reach (a notebook
        before it failed) is "not run", linking an earlier run's files if any; a notebook outside the selection
        has the status of an earlier run's executed notebook (:func:`analysis.reports.earlier_entry`).
    """
    failed = next((e.name for e in ran.values() if e.status == "failed"), None)
    wanted = {p.stem for p in selected}
    out = []
    for nb in chain:
        if nb.stem in ran:
            out.append(ran[nb.stem])
        elif nb.stem in wanted:
            e = earlier_entry(reports_dir, nb.stem, note=f"not run: this run stopped when {failed} failed"
                              if failed else "not run")
            stale = " (the linked files are an earlier run's and may not match this run)" if e.ipynb_file else ""
            out.append(ReportEntry(e.name, "not run", float("nan"), e.html_file, e.ipynb_file, e.message + stale,
                                   e.log_file))
        else:
            out.append(earlier_entry(reports_dir, nb.stem, note="not selected for this run (--only/--from)"))
    return out


def run_chain(cfg: StudyConfig, paths: Paths, *, only: list[str] | None = None, start_from: str | None = None,
              simulated: bool = False, env: dict[str, str] | None = None,
              log: Callable[[str], None] = print,
              before_index: Callable[[RunResult], object] | None = None) -> RunResult:
    """Execute the notebooks in order.

    Parameters
    ----------
    cfg : StudyConfig
        Validated configuration; each notebook gets the parameters it declares.
    paths : Paths
        Project locations (notebooks and reports folders).
    only, start_from : optional
        Run only some notebooks (``["03"]``) or start at one (``"04"``).
    simulated : bool
        Demo run on the simulated Hub (passed to every notebook that declares ``simulated``).
    env : dict, optional
        Extra environment for the kernels (e.g. ``HF_ENDPOINT`` of the local Hub stand-in).
    log : callable
        Receives one progress line per notebook.
    before_index : callable, optional
        Called with the run's result after the last notebook and before ``reports/index.html`` is written; a
        mapping it returns is shown in the index as the demo's truth check (the demo passes
        :func:`analysis.cli.demo_truth_check`).

    Returns
    -------
    RunResult
        ``ok`` is False if a notebook failed; the failing notebook is the last entry.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .stage import stale_stages, write_run_config

    chain = discover_notebooks(paths.notebooks_dir)
    started = time.time()
    params = dict(cfg.notebook_parameters(), simulated=simulated, run_config_digest=cfg.digest())
    write_run_config(paths, cfg.notebook_parameters(), source=cfg.source, digest=cfg.digest())
    if start_from and not only:
        earlier = {n: p for n, p in stale_stages(paths, cfg.notebook_parameters(), simulated).items()
                   if n < start_from.zfill(2) and p}
        if earlier:
            first = min(earlier)
            log(f"starting at stage {first} instead of {start_from.zfill(2)}: "
                + "; ".join(str(p) for p in earlier[first][:3]))
            start_from = first
    notebooks = select(chain, only=only, start_from=start_from)
    paths.reports_dir.mkdir(parents=True, exist_ok=True)
    runs: list[NotebookRun] = []
    entries: dict[str, ReportEntry] = {}
    env = dict(env or {})
    env.setdefault("STUDY_ROOT", str(paths.root))
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # plots inline in reports
    with _env(env):
        for i, nb in enumerate(notebooks, 1):
            declared = declared_parameters(nb)
            given = {k: params[k] for k in declared if k in params}
            out = paths.reports_dir / nb.name
            t0 = time.monotonic()
            status, message = "ok", ""
            log_file = paths.reports_dir / f"{nb.stem}.log"
            try:
                with _stderr_to(log_file):
                    papermill.execute_notebook(str(nb), str(out), parameters=given, cwd=str(nb.parent),
                                               kernel_name="python3", progress_bar=False, log_output=False)
            except PapermillExecutionError as e:
                status = "failed"
                message = f"{_locate_cell(nb, e.source)} raised {e.ename}: {_message(e.evalue)}"
            except Exception as e:  # kernel died, notebook unreadable, ...
                status = "failed"
                message = f"{type(e).__name__}: {e}"
            secs = time.monotonic() - t0
            html_file = out.with_suffix(".html")
            tidy_log(log_file)
            if out.is_file():
                try:
                    tidy_executed(out, paths.root)
                    render_html(out, html_file, simulated=simulated)
                except Exception as e:  # a broken render must not hide the run's outcome
                    message += f" (HTML render failed: {e})"
            runs.append(NotebookRun(nb.name[:2], nb.stem, status, secs, out, message))
            entries[nb.stem] = ReportEntry(nb.stem, status, secs, html_file.name if html_file.is_file() else "",
                                           out.name if out.is_file() else "", message,
                                           log_file.name if log_file.is_file() else "")
            if status == "ok":
                log(f"[{i}/{len(notebooks)}] {nb.name:<24} ok      {secs:6.1f} s")
            else:
                log(f"[{i}/{len(notebooks)}] {nb.name:<24} FAILED  {secs:6.1f} s")
                log(f"    {nb.name}: {message}")
                kept = f"; kernel log at {log_file}" if log_file.is_file() else ""
                log(f"    partial executed notebook kept at {out}{kept}; later notebooks were not run")
                break
    result = RunResult(runs=runs)
    checked = before_index(result) if before_index is not None else None
    headline, data_range = headline_text(paths.crossover_file)
    if headline and paths.crossover_file.stat().st_mtime < started:
        written = dt.datetime.fromtimestamp(paths.crossover_file.stat().st_mtime, dt.timezone.utc)
        headline += (f" [from crossover.json written before this run, {written:%Y-%m-%d %H:%M} UTC; "
                     "rerun the crossover notebook to update it]")
    write_index(paths.reports_dir, chain_entries(chain, notebooks, entries, paths.reports_dir),
                config_source=cfg.source, config_digest=cfg.digest(),
                simulated=simulated, headline=headline, data_range=data_range,
                config_params=params, data_source=source_text(paths.crossover_file), project_root=paths.root,
                truth_check=checked if isinstance(checked, dict) else None,
                notes=headline_notes(paths.crossover_file), warnings=coverage_warnings(paths.coverage_file))
    return RunResult(runs=runs, before_index=checked)
