"""Figure 1: the share of Hub downloads by origin over time, with the headline crossover and its interval."""

from __future__ import annotations

from typing import Mapping

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import PercentFormatter

from ..schema import REGIONS
from .data import (Crossing, Definition, estimand_text, frame, headline_crossing, interval_rows, lag_text, level_text,
                   missing_periods, select, series_row, with_gaps)
from .plots import crossover_marks, date_axis, finish, origin_lines
from .registry import FigureContext, FigureSpec, register
from .style import figure_size


def share_by_origin_table(panel: pd.DataFrame, definition: Definition, crossing: Crossing | None,
                          alpha: float = 0.05, spread: Mapping | None = None) -> pd.DataFrame:
    """Figure 1: share of downloads by origin over time, with the headline crossover and its interval.

    Each origin's line is on the full period grid of ``definition.frequency``: a period without a snapshot is a
    NaN row (note :data:`analysis.figures.data.NO_SNAPSHOT_NOTE`), drawn as a gap.

    Parameters
    ----------
    panel : pandas.DataFrame
        The tidy panel (``data/processed/panel.parquet``).
    definition : Definition
        Which series (measure, rule, scope).
    crossing : Crossing or None
        The headline crossover (None draws no mark).
    alpha : float
        1 - confidence level, for the labels.
    spread : mapping, optional
        ``crossover.json`` headline ``definition_spread``: the range of the date across defensible definitions,
        drawn as a bar above the plot (a ``spread`` row) so that the statistical set is not read as the whole
        uncertainty.
    """
    sel = select(panel, definition.measure, definition.rule, definition.scope)
    missing = missing_periods(sel["date"].unique(), definition.frequency)
    rows = []
    for region in REGIONS:
        r = sel[sel["region"] == region].sort_values("date")
        line = [series_row("share", "", region, d, value=s, n=n)
                for d, s, n in zip(r["date"], r["share"], r["n_models"])]
        rows += with_gaps(line, missing, element="share", group=region) if line else []
    lo, hi = sel["date"].min(), sel["date"].max()
    if crossing is not None:
        rows += interval_rows(crossing, "", lo, hi, level_text(alpha))
    if spread and spread.get("earliest_date") and spread.get("latest_date"):
        rows.append(series_row("spread", "", "CN=US", pd.Timestamp(spread["earliest_date"]),
                               date_end=pd.Timestamp(spread["latest_date"]), n=spread.get("n_rows", float("nan")),
                               note=f"Date across {spread.get('n_rows')} definitions: {spread['earliest_date']} to "
                                    f"{spread['latest_date']}"))
    return frame(rows)


def plot_share_by_origin(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 1: download share by origin over time, with the crossover and its interval."""
    fig, ax = plt.subplots(figsize=figure_size("two", 3.2))
    origin_lines(ax, table, "share")
    shares = table.loc[table["element"] == "share", "date"]
    ax.set_xlim(shares.min(), shares.max())
    crossover_marks(ax, table)
    for _, r in table[table["element"] == "spread"].iterrows():   # the range across definitions, above the lines
        lo_x, hi_x = ax.get_xlim()
        a = max(mdates.date2num(r["date"]), lo_x)
        b = min(mdates.date2num(r["date_end"]), hi_x)
        ax.plot([a, b], [1.0, 1.0], transform=ax.get_xaxis_transform(), color="#444444", lw=2.2,
                solid_capstyle="butt", marker="|", ms=7, mew=1.2, clip_on=False, gid="definition-spread",
                label=r["note"] + (" (cut at the plotted dates)" if (a, b) != (mdates.date2num(r["date"]),
                                                                             mdates.date2num(r["date_end"])) else ""))
    ax.set_ylabel(f"Share of downloads ({definition_label.split(',')[0]})")
    ax.set_xlabel("Snapshot date")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    date_axis(ax)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title="Origin")
    return finish(fig, simulated)


def _table(ctx: FigureContext) -> pd.DataFrame:
    cross = ctx.check_definition("crossover")
    spread = (cross.get("headline") or {}).get("definition_spread")
    return share_by_origin_table(ctx.inputs.panel, ctx.definition, headline_crossing(cross), ctx.alpha, spread)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    notes = {r["element"]: r["note"] for _, r in table.iterrows()}
    return (f"Share of {ctx.definition.label()} by origin of the model. Dashed vertical line: the estimated date "
            f"at which the underlying Chinese and US shares cross; {notes.get('crossover', 'no crossover estimate')}. "
            f"Shaded: its {ctx.level} confidence set (an arrow at the edge: the set goes on beyond the plotted "
            "dates). " + (f"Bar above the plot: the range of the estimated date across defensible definitions "
                          f"(measure, attribution rule, scope, contested origins, window start, bandwidth), "
                          f"{notes['spread'].split(': ', 1)[1]}; it is as much part of the uncertainty as the "
                          "confidence set, which only reflects the noise of one definition. "
                          if "spread" in notes else "") +
            f"{estimand_text(ctx.definition)} {lag_text(ctx.definition.measure)} "
            "Origins are told apart by colour, line style and marker; \"Europe\" includes the United Kingdom, "
            "Switzerland and Norway. Gaps in the lines: periods without a snapshot.")


SPEC = register(FigureSpec(1, "download_share_by_origin", "Share of Hub downloads by origin",
                           table=_table, caption=_caption, plot=plot_share_by_origin,
                           inputs=("panel", "crossover")))
