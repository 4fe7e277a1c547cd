"""The study's figures: one style, each figure declared once, the data plotted, provenance and quotable numbers.

Each figure is one :class:`~analysis.figures.registry.FigureSpec` in its own module (table, caption, plot, inputs):

====  =====================================  ===================================================
 no.  module                                 figure
====  =====================================  ===================================================
 1    :mod:`analysis.figures.share`          share of downloads by origin, with the crossover
 2    :mod:`analysis.figures.log_ratio`      log(share CN / share US), trend and crossing
 3    :mod:`analysis.figures.cumulative`     cumulative downloads by origin
 4    :mod:`analysis.figures.rankings`       top-N models by origin; slope chart of organisations
 5    :mod:`analysis.figures.derivatives`    new derivative models by base-model origin
 6    :mod:`analysis.figures.sensitivity`    the crossover under every definition
 7    :mod:`analysis.figures.published`      our estimates beside published claims
 8    :mod:`analysis.figures.families`       downloads per model family (small multiples)
====  =====================================  ===================================================

Any other module of this package that registers figures (:func:`~analysis.figures.registry.register`) adds them to
the set. Notebook 07 calls :func:`make_all_figures`, which for each registered figure

1. builds the table the figure draws from the processed files of the earlier notebooks,
2. draws it in the study's style (:mod:`.style`),
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

import matplotlib.pyplot as plt
import pandas as pd

from ..paths import Paths
from ..raw import sha256_file
from .data import Definition, FigureInputError, data_kind, snapshot_range, to_csv_bytes
from .provenance import FigureRecord, Provenance, collect, figure_citation, write_figures_json
from .registry import FigureContext, FigureSpec, Inputs, all_figures, figure, register
from .style import FORMATS, ONE_COLUMN, SIMULATED_MARK, TWO_COLUMN, paper_style, save_figure
from .factors import factor_values
from .values import collect_values, data_source_value, values_table, write_values

__all__ = ["FigureSpec", "FigureContext", "FigureInputError", "FigureRun", "Definition", "all_figures", "figure",
           "register", "make_all_figures", "make_figure", "caption_of", "ONE_COLUMN", "TWO_COLUMN", "FORMATS",
           "SIMULATED_MARK", "paper_style", "save_figure"]

SIMULATED_CAPTION = ("SIMULATED DATA: demo run on a simulated Hub with a known crossover; "
                     "this figure is not a finding about the real Hub. ")


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


def caption_of(spec: FigureSpec, ctx: FigureContext, table: pd.DataFrame) -> str:
    """The whole caption of a figure: SIMULATED DATA mark, number and title, the spec's text, the data's span."""
    rng = ctx.snapshot_range
    span = spec.span(ctx, table) if spec.span is not None else f"Snapshots {rng[0]} to {rng[1]}."
    return ((SIMULATED_CAPTION if ctx.simulated else "")
            + f"Figure {spec.number}. {spec.title}. {spec.caption(ctx, table)} {span}")


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
                     raise_on_failure: bool = True, provenance=None,
                     specs: list[FigureSpec] | None = None) -> tuple[FigureRun, dict]:
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
    specs : list of FigureSpec, optional
        The figures to draw (default: every registered figure, :func:`all_figures`).

    Returns
    -------
    (FigureRun, dict)
        The run record and ``{name: matplotlib Figure}`` for display.
    """
    inputs = Inputs(paths)
    panel = inputs.panel
    rng = snapshot_range(panel)
    ctx = FigureContext(paths, definition, inputs, rng, simulated)
    prov = collect(paths.root, paths.manifest, rng, config_digest=config_digest, simulated=simulated)
    out_dir = paths.figures_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    records, figs, failures = [], {}, {}
    for spec in (all_figures() if specs is None else sorted(specs, key=lambda s: s.number)):
        if only and spec.number not in only:
            continue
        try:
            table = spec.table(ctx)
            caption = caption_of(spec, ctx, table)
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
        vals += factor_values(inputs.json("factors_summary"))
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
