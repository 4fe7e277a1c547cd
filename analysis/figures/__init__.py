"""The study's figures: one style, one function per figure, the data plotted, provenance and quotable numbers.

Notebook 07 calls :func:`make_all_figures`, which for each figure of :data:`FIGURES`

1. builds the table the figure draws (:mod:`.data`) from the processed files of notebooks 02 to 06 (figures 8 to 12,
   the adoption factors of notebook 06, are declared with their table and caption in :mod:`.factors`),
2. draws it in the study's style (:mod:`.plots`, :mod:`.style`),
3. writes ``figures/<name>.{pdf,svg,png}`` with deterministic metadata and ``figures/<name>.csv`` (exactly the
   data plotted, plus a constant ``data_kind`` column that says ``SIMULATED DATA`` on demo runs),

then writes ``figures/figures.json`` (title, caption, hashes, snapshot range, raw manifest hash, config digest,
package version, git commit, suggested citation; :mod:`.provenance`) and ``figures/values.json`` /
``figures/values.tex`` (:mod:`.values`). A figure whose input is missing does not stop the others, but the run
then raises :class:`FigureInputError` naming every missing input: nothing is skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
import pandas as pd

from ..paths import Paths
from . import plots
from ..contracts import PANEL_COLUMNS, PUBLISHED_COLUMNS, RANKING_COLUMNS, SENSITIVITY_COLUMNS, TOP_ORG_COLUMNS
from .data import (DERIVATIVE_COLUMNS, Definition, FigureInputError, TimeScale, cumulative_table, data_kind, derivatives_table,
                   headline_crossing, iso, level_text, crossover_alpha, log_ratio_table, our_crossings,
                   published_table, rankings_rule, rankings_table, read_json, read_table, sensitivity_table,
                   share_by_origin_table, snapshot_range, to_csv_bytes)
from .provenance import FigureRecord, Provenance, collect, figure_citation, write_figures_json
from ..raw import sha256_file
from .style import FORMATS, ONE_COLUMN, SIMULATED_MARK, TWO_COLUMN, paper_style, save_figure
from .values import collect_values, data_source_value, values_table, write_values
from .factors import FACTOR_FIGURES, factor_values

__all__ = ["FIGURES", "FigureSpec", "FigureInputError", "FigureRun", "Definition", "make_all_figures",
           "make_figure", "ONE_COLUMN", "TWO_COLUMN", "FORMATS", "SIMULATED_MARK", "paper_style", "save_figure"]

#: The columns of the sensitivity grid and of the published estimates the figures read (declared in contracts).
SENSITIVITY_READ = [c for c in SENSITIVITY_COLUMNS if c in ("measure", "rule", "scope", "k", "hac_lag", "method",
                                                           "estimate_date", "lower_date", "upper_date", "kind")]
PUBLISHED_READ = [c for c in PUBLISHED_COLUMNS if c not in ("citation", "url")]
SIMULATED_CAPTION = ("SIMULATED DATA: demo run on a simulated Hub with a known crossover; "
                     "this figure is not a finding about the real Hub. ")


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the study.

    Attributes
    ----------
    number : int
    name : str
        File stem.
    title : str
    plot : callable
        ``plot(table, definition_label=..., simulated=...) -> Figure``.
    """

    number: int
    name: str
    title: str
    plot: Callable


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(1, "download_share_by_origin", "Share of Hub downloads by origin", plots.plot_share_by_origin),
    FigureSpec(2, "log_ratio_trend_crossover", "Log ratio of Chinese to US download shares, trend and crossing",
               plots.plot_log_ratio_trend),
    FigureSpec(3, "cumulative_downloads_by_origin", "Cumulative downloads by origin", plots.plot_cumulative_downloads),
    FigureSpec(4, "top_models_and_organisations", "Origin of the most downloaded models and organisations",
               plots.plot_rankings),
    FigureSpec(5, "derivative_ecosystem", "New derivative models by base-model origin",
               plots.plot_derivative_ecosystem),
    FigureSpec(6, "crossover_sensitivity_forest", "Crossover estimate under each definition",
               plots.plot_sensitivity_forest),
    FigureSpec(7, "published_estimates_comparison", "Our crossover estimates beside published estimates",
               plots.plot_published_comparison),
) + FACTOR_FIGURES  # 8-12: the adoption factors, each declared with its table and caption (analysis.figures.factors)


@dataclass(frozen=True)
class FigureRun:
    """What :func:`make_all_figures` wrote.

    Attributes
    ----------
    records : list of FigureRecord
        One per figure drawn.
    figures_json, values_json, values_tex : Path
    values : pandas.DataFrame
        The quotable values (key, text, macro, description).
    failures : dict
        ``{figure name: message}`` for figures that could not be drawn (the run raises after writing the rest).
    """

    records: list
    figures_json: Path
    values_json: Path
    values_tex: Path
    values: pd.DataFrame
    failures: dict = field(default_factory=dict)


def _check_definition(result: dict, path: Path, want: Definition) -> None:
    got = Definition.from_result(result, str(path))
    if (got.measure, got.rule, got.scope) != (want.measure, want.rule, want.scope):
        raise FigureInputError(
            f"{path}: computed for measure={got.measure}, rule={got.rule}, scope={got.scope}, but the figures are "
            f"asked for measure={want.measure}, rule={want.rule}, scope={want.scope}; rerun notebooks 04 and 05 "
            "with the same configuration (python -m analysis run --from 04)")


class _Inputs:
    """Lazily read processed files, so a missing file fails only the figures that need it."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self._cache: dict = {}

    def _get(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    @property
    def panel(self) -> pd.DataFrame:
        return self._get("panel", lambda: read_table(self.paths.panel_file, "notebook 03 (panel)", list(PANEL_COLUMNS)))

    @property
    def trends(self) -> dict:
        return self._get("trends", lambda: read_json(self.paths.trends_file, "notebook 04 (trends)"))

    @property
    def crossover(self) -> dict:
        return self._get("crossover", lambda: read_json(self.paths.crossover_file, "notebook 05 (crossover)"))

    def table(self, name: str, producer: str, columns: list[str]) -> pd.DataFrame:
        """A file of ``data/processed/`` (read once)."""
        return self._get(name, lambda: read_table(self.paths.processed_dir / name, producer, columns))


def _inference_note(inputs: _Inputs) -> str:
    """How the trend band's critical value was obtained, for the caption of figure 2.

    Under fixed-b inference the Bartlett bandwidth M is the one ``crossover.json`` records
    (``headline.inference.bandwidth_periods``; M = lags + 1), never the lag count of ``trends.json``.
    """
    ols = inputs.trends.get("ols") or {}
    if ols.get("inference") == "fixed_b":
        inf = (inputs.crossover.get("headline") or {}).get("inference") or {}
        bw, b = inf.get("bandwidth_periods"), inf.get("bandwidth_b", ols.get("bandwidth_b"))
        frac = f", b = {float(b):g} of the sample" if b is not None else ""
        what = (f"Bartlett bandwidth {bw} periods{frac}" if bw is not None
                else f"Bartlett kernel with {ols.get('hac_lags', '?')} lags{frac}")
        return f" with a fixed-b critical value ({what}; Kiefer and Vogelsang 2005)"
    return f" ({ols.get('hac_lags', '?')} lags, t critical value)" if ols else ""


def _span(table: pd.DataFrame, rng: tuple) -> tuple[str, str]:
    """First and last date a time-series table plots (the snapshot range if it has no dates)."""
    dates = table["date"].dropna() if "date" in table else pd.Series(dtype="datetime64[ns]")
    return (iso(dates.min()), iso(dates.max())) if not dates.empty else rng


def _partial_months_text(table: pd.DataFrame) -> str:
    """The caption's sentence on the partial months of figure 5 (from the table's "partial month" notes)."""
    if "date" not in table or "note" not in table:
        return ""
    notes = table.loc[table["note"].str.startswith("partial month"), ["date", "note"]].drop_duplicates("date")
    if notes.empty:
        return " Every month shown is a whole calendar month of the window."
    months = " and ".join(f"{d:%Y-%m}" for d in sorted(notes["date"]))
    return (f" Partial months: {months} (the window of snapshots starts or ends within them, so they count only "
            "part of the month's new models; note \"partial month\" in the CSV).")


def _caption(spec: FigureSpec, definition: Definition, inputs: _Inputs, table: pd.DataFrame, rng: tuple,
             simulated: bool) -> str:
    alpha = crossover_alpha(inputs.crossover) if spec.number in (1, 2, 6, 7) else 0.05
    lvl = level_text(alpha)
    d = definition.label()
    span = f"Snapshots {rng[0]} to {rng[1]}."
    if spec.number == 3:  # the plot starts where the all-time counters start, not at the first snapshot
        lo, hi = _span(table[table["element"] == "cumulative"], rng)
        span = f"Plotted from {lo} to {hi} (snapshots {rng[0]} to {rng[1]})."
    notes = {r["element"]: r["note"] for _, r in table.iterrows()} if "element" in table else {}
    text = {
        1: f"Share of {d} by origin of the model. Dashed vertical line: estimated date at which the Chinese share "
           f"passes the US share; {notes.get('crossover', 'no crossover estimate')}. Shaded: its {lvl} confidence "
           "set (clipped to the plotted dates). Origins are told apart by colour, line style and marker. Gaps in "
           "the lines: periods without a snapshot.",
        2: f"log(share CN / share US) for {d}. Points: observed periods (gaps are missing snapshots); line: OLS "
           f"trend with its {lvl} band from Newey-West (HAC) errors{_inference_note(inputs)} (dashed beyond the last "
           "snapshot: projection). The trend crosses "
           f"zero at the estimated crossover; the thick bar on the zero line is its Fieller {lvl} confidence set, "
           "the dates at which the band contains zero.",
        3: f"Cumulative downloads by origin ({definition.rule} rule, {definition.scope} scope), "
           f"{(notes.get('cumulative') or 'from the all-time counters')}"
           + (": the sum of each period's growth of the Hub's all-time download counters. Only models present "
              "with a counter in both snapshots of a period count, so each new model's downloads in its first "
              "period (up to its first snapshot) are left out, and a counter that decreased counts as zero."
              if "approximate" not in (notes.get("cumulative") or "") else "."),
        4: f"a-c: share of the downloads of the 10, 50 and 100 most downloaded models held by each origin "
           f"({rankings_rule(definition.rule)} rule). Bottom: rank over time of the organisations most downloaded at "
           "the latest snapshot (colour: origin; line style and marker: organisation within its origin). Gaps in "
           "the lines: periods without a snapshot, or dates an organisation was outside the top list.",
        5: "Share of the new fine-tunes, quantizations, adapters and merges created each month whose root base model "
           "comes from each origin (lineage of declared base models); n = new models of that kind in the window."
           + _partial_months_text(table),
        6: f"Crossover estimate (marker) and {lvl} interval (line; arrows: unbounded) under each definition of the "
           f"sensitivity grid (measure, rule, scope, method). Each method is shown at the setting crossover.json "
           "uses for it (fixed-b bandwidth fraction, Newey-West lag or run length k; see the CSV's note); the grey "
           f"bar spans its answers over the grid's other settings. Bold row: the headline ({d}).",
        7: f"This study's crossover estimates ({d}; markers with {lvl} intervals) beside the crossover periods "
           "claimed in published work (bars; hatched: seen only in secondary reports). Published claims use other "
           "measures, scopes and attribution rules, and none gives a confidence interval.",
    }[spec.number]
    return (SIMULATED_CAPTION if simulated else "") + f"Figure {spec.number}. {spec.title}. {text} {span}"


def _table_for(spec: FigureSpec, inputs: _Inputs, definition: Definition) -> pd.DataFrame:
    paths = inputs.paths
    if spec.number == 1:
        cross = inputs.crossover
        _check_definition(cross, paths.crossover_file, definition)
        return share_by_origin_table(inputs.panel, definition, headline_crossing(cross), crossover_alpha(cross))
    if spec.number == 2:
        _check_definition(inputs.trends, paths.trends_file, definition)
        _check_definition(inputs.crossover, paths.crossover_file, definition)
        return log_ratio_table(inputs.panel, definition, inputs.trends, inputs.crossover)
    if spec.number == 3:
        return cumulative_table(inputs.panel, definition.rule, definition.scope)
    if spec.number == 4:
        rk = inputs.table(paths.rankings_file.name, "notebook 03 (panel): rankings of the top-N models", list(RANKING_COLUMNS))
        to = inputs.table(paths.top_orgs_file.name, "notebook 03 (panel): top organisations", list(TOP_ORG_COLUMNS))
        return rankings_table(rk, to, rankings_rule(definition.rule), frequency=definition.frequency)
    if spec.number == 5:
        models = inputs.table(paths.models_file.name, "notebook 02 (tag origin)", DERIVATIVE_COLUMNS)
        panel = inputs.panel
        return derivatives_table(models, panel["date"].min(), panel["date"].max())
    if spec.number == 6:
        sens = read_table(paths.sensitivity_file, "notebook 05 (crossover): sensitivity grid", SENSITIVITY_READ)
        fp = (inputs.crossover.get("methods") or {}).get("first_passage") or {}
        return sensitivity_table(sens, definition, headline_crossing(inputs.crossover),
                                 hac_lag=(inputs.trends.get("ols") or {}).get("hac_lags"), k=fp.get("k"),
                                 crossover=inputs.crossover, alpha=crossover_alpha(inputs.crossover))
    if spec.number == 7:
        pub = read_table(paths.published_estimates_file, "the curated reference file (see its README)",
                         PUBLISHED_READ)
        scale = TimeScale.from_trends(inputs.trends, definition.frequency)
        return published_table(pub, our_crossings(inputs.crossover, scale), definition,
                               crossover_alpha(inputs.crossover))
    raise ValueError(f"no figure numbered {spec.number}")  # pragma: no cover


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def make_figure(spec: FigureSpec, table: pd.DataFrame, *, out_dir: Path, definition: Definition, caption: str,
                prov: Provenance, root: Path, formats=FORMATS, dpi: int = 300, simulated: bool = False):
    """Draw one figure from its table, write its files and CSV, and return (FigureRecord, Figure).

    The figure is closed in pyplot's registry (so notebooks do not show it twice) but returned for display.
    """
    with paper_style():
        fig = spec.plot(table, definition_label=definition.label(), simulated=simulated)
        written = save_figure(fig, Path(out_dir) / spec.name, formats=formats, dpi=dpi, title=spec.title)
    plt.close(fig)
    csv = Path(out_dir) / f"{spec.name}.csv"
    csv.write_bytes(to_csv_bytes(table, data_kind(simulated)))
    files = {fmt: {"path": _rel(p, root), "sha256": sha256_file(p)} for fmt, p in written.items()}
    files["csv"] = {"path": _rel(csv, root), "sha256": sha256_file(csv)}
    main = files.get("pdf") or next(iter(files.values()))
    w, h = (round(float(x), 3) for x in fig.get_size_inches())
    rec = FigureRecord(name=spec.name, number=spec.number, title=spec.title, caption=caption, files=files,
                       citation=figure_citation(prov, spec.number, spec.title, main["path"], main["sha256"]),
                       width_in=w, height_in=h)
    return rec, fig


def make_all_figures(paths: Paths, definition: Definition, *, formats=FORMATS, dpi: int = 300,
                     simulated: bool = False, config_digest: str = "", only: list[int] | None = None,
                     raise_on_failure: bool = True, provenance=None) -> tuple[FigureRun, dict]:
    """Draw every figure, write figures.json and the values files.

    Parameters
    ----------
    paths : Paths
        Project locations (``Paths.default(simulated=...)``).
    definition : Definition
        Headline series: the notebook's ``panel_measure``, ``origin_rule``, ``panel_scope``, ``study_frequency``.
    formats : sequence of str
        Subset of pdf, svg, png.
    dpi : int
        PNG resolution.
    simulated : bool
        Demo run: every figure and caption is marked SIMULATED DATA.
    config_digest : str
        Digest of the run's configuration (the runner passes it as ``run_config_digest``).
    only : list of int, optional
        Figure numbers to draw (default all).
    raise_on_failure : bool
        Raise :class:`FigureInputError` after writing what could be written if any figure failed.
    provenance : callable, optional
        ``provenance(key) -> dict``: the provenance record of a declared output of notebook 07
        (:meth:`analysis.stage.Stage.provenance`), written into ``figures.json`` and ``values.json``.

    Returns
    -------
    (FigureRun, dict)
        The run record and ``{name: matplotlib Figure}`` for display.
    """
    inputs = _Inputs(paths)
    panel = inputs.panel
    rng = snapshot_range(panel)
    prov = collect(paths.root, paths.manifest, rng, config_digest=config_digest, simulated=simulated)
    out_dir = paths.figures_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    records, figs, failures = [], {}, {}
    for spec in FIGURES:
        if only and spec.number not in only:
            continue
        try:
            if hasattr(spec, "table"):  # a figure declared with its own table and caption
                table = spec.table(inputs)
                caption = ((SIMULATED_CAPTION if simulated else "") + f"Figure {spec.number}. {spec.title}. "
                           f"{spec.caption(table, inputs)} Snapshots {rng[0]} to {rng[1]}.")
            else:
                table = _table_for(spec, inputs, definition)
                caption = _caption(spec, definition, inputs, table, rng, simulated)
        except FigureInputError as e:
            failures[spec.name] = str(e)
            continue
        rec, fig = make_figure(spec, table, out_dir=out_dir, definition=definition, caption=caption, prov=prov,
                               root=paths.root, formats=formats, dpi=dpi, simulated=simulated)
        records.append(rec)
        figs[spec.name] = fig
    run_record = provenance("figures_index") if provenance else None
    fj = write_figures_json(out_dir / "figures.json", prov, records, run=run_record)
    vals = collect_values(panel, definition, inputs.trends, inputs.crossover, simulated=simulated)
    try:
        vals += factor_values(read_json(paths.locate("factors_summary"), "notebook 06 (factors)"))
    except FigureInputError as e:
        failures["values (factors)"] = str(e)
    values_prov = provenance("values") if provenance else None
    if values_prov is not None:
        vals.append(data_source_value(values_prov.get("source") or {}, simulated))
    vj, vt = write_values(vals, paths.values_json, paths.values_tex, simulated=simulated,
                          source={"config_digest": config_digest, "raw_manifest": prov.raw_manifest,
                                  "raw_manifest_sha256": prov.raw_manifest_sha256,
                                  "snapshot_range": list(rng), "package_version": prov.package_version},
                          provenance=values_prov)
    run = FigureRun(records, fj, vj, vt, values_table(vals), failures)
    if failures and raise_on_failure:
        lines = "\n".join(f"  figure {n}: {m}" for n, m in failures.items())
        raise FigureInputError(f"{len(failures)} figure(s) could not be drawn (the others were written):\n{lines}")
    return run, figs
