"""Figure 3: cumulative downloads by origin, from the growth of the Hub's all-time download counters."""

from __future__ import annotations

import math
from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ..schema import REGIONS
from .data import Crossing, date_or_none, frame, interval_rows, iso, select, series_row
from .labels import RULE_LABELS, SCOPE_LABELS, label
from .plots import crossover_marks, date_axis, finish, origin_lines, short_number
from .registry import FigureContext, FigureSpec, register
from .style import figure_size


def cumulative_table(panel: pd.DataFrame, rule: str, scope: str) -> pd.DataFrame:
    """Figure 3: cumulative downloads by origin.

    Uses the growth of the Hub's all-time counters (``downloads_alltime_increment``, downloads per week elapsed)
    times the weeks elapsed since the previous snapshot, summed from the first snapshot that has the counter
    (cumulative = 0 there). If the panel lacks that measure, it falls back to 30-day downloads times the days
    elapsed / 30, marked ``approximate`` in ``note``.

    The all-time increments of notebook 03 only count models present, with the counter, in both snapshots of a
    period, and count a counter that decreased as zero: the totals therefore leave out each new model's
    downloads up to its first snapshot, and never go down.
    """
    all_dates = np.sort(panel["date"].unique())
    has_inc = (panel["measure"] == "downloads_alltime_increment").any()
    measure = "downloads_alltime_increment" if has_inc else "downloads_30d"
    sel = select(panel, measure, rule, scope)
    dates = np.sort(sel["date"].unique())
    pos = {d: i for i, d in enumerate(all_dates)}
    prev = {d: all_dates[pos[d] - 1] if pos[d] > 0 else None for d in dates}
    note = "since the first snapshot with all-time counters" if has_inc else \
        "approximate: 30-day downloads x days elapsed / 30"
    rows = []
    for region in REGIONS:
        r = sel[sel["region"] == region].set_index("date")["downloads"]
        total = 0.0
        started = False
        for d in dates:
            if prev[d] is None:
                if has_inc:
                    continue
                days = 7.0
            else:
                days = (pd.Timestamp(d) - pd.Timestamp(prev[d])).days
            if not started:
                start = prev[d] if prev[d] is not None else d
                rows.append(series_row("cumulative", "", region, start, value=0.0, note=note))
                started = True
            v = float(r.get(d, np.nan))
            if math.isnan(v):
                continue
            total += v * (days / 7.0 if has_inc else days / 30.0)
            rows.append(series_row("cumulative", "", region, d, value=total, note=note))
    return frame(rows)



def plot_cumulative_downloads(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 3: cumulative downloads by origin."""
    fig, ax = plt.subplots(figsize=figure_size("one", 2.8))
    origin_lines(ax, table, "cumulative")
    ax.set_xlim(table.loc[table["element"] == "cumulative", "date"].min(),
                table.loc[table["element"] == "cumulative", "date"].max())
    crossover_marks(ax, table)
    ax.set_ylabel("Cumulative downloads")
    ax.set_xlabel("Snapshot date")
    ax.yaxis.set_major_formatter(FuncFormatter(short_number))
    ax.set_ylim(bottom=0)
    date_axis(ax)
    ax.legend(loc="upper left", fontsize=6)
    return finish(fig, simulated)



def cumulative_crossing_rows(table: pd.DataFrame, cumulative: Mapping | None, level: str) -> pd.DataFrame:
    """The table with the crossing of the cumulative totals (``crossover.json`` headline ``cumulative``) marked:
    ``crossover``, ``interval`` and ``open_end`` rows on the plotted dates."""
    if not cumulative or not cumulative.get("estimate_date"):
        return table
    dates = table.loc[table["element"] == "cumulative", "date"].dropna()
    if dates.empty:
        return table
    kind = str(cumulative.get("kind", "bounded"))
    c = Crossing("cumulative", date_or_none(cumulative.get("estimate_date")), date_or_none(cumulative.get("lower_date")),
                 date_or_none(cumulative.get("upper_date")), kind)
    return pd.concat([table, frame(interval_rows(c, "", dates.min(), dates.max(), level))], ignore_index=True)


def _table(ctx: FigureContext) -> pd.DataFrame:
    table = cumulative_table(ctx.inputs.panel, ctx.definition.rule, ctx.definition.scope)
    cross = ctx.check_definition("crossover")
    return cumulative_crossing_rows(table, (cross.get("headline") or {}).get("cumulative"), ctx.level)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    notes = {r["element"]: r["note"] for _, r in table.iterrows()}
    note = notes.get("cumulative") or "from the all-time counters"
    d = ctx.definition
    text = (f"Cumulative downloads by origin ({label(RULE_LABELS, d.rule)} rule, {label(SCOPE_LABELS, d.scope)}), "
            f"{note}")
    cross = ""
    row = table[table["element"] == "crossover"]
    if not row.empty:
        cross = (f" Dashed vertical line: the date at which cumulative Chinese downloads pass cumulative US downloads "
                 f"({row['note'].iloc[0]}); shaded: the {ctx.level} range of that date over histories simulated "
                 "with the week-to-week noise of the counts (analysis/stats/cumulative.py). The date depends on where "
                 "the sums start and comes later than the crossing of shares (Figure 1), which it integrates.")
    if "approximate" in note:
        return text + "." + cross
    return text + cross + (": the sum of each period's growth of the Hub's all-time download counters. Only models "
                   "present with a counter in both snapshots of a period count, so each new model's downloads in "
                   "its first period (up to its first snapshot) are left out, and a counter that decreased counts "
                   "as zero.")


def _span(ctx: FigureContext, table: pd.DataFrame) -> str:
    """The plot starts where the all-time counters start, not at the first snapshot."""
    rng = ctx.snapshot_range
    dates = table.loc[table["element"] == "cumulative", "date"].dropna()
    lo, hi = (iso(dates.min()), iso(dates.max())) if not dates.empty else rng
    return f"Plotted from {lo} to {hi} (snapshots {rng[0]} to {rng[1]})."


SPEC = register(FigureSpec(3, "cumulative_downloads_by_origin", "Cumulative downloads by origin",
                           table=_table, caption=_caption, plot=plot_cumulative_downloads,
                           inputs=("panel", "crossover"),
                           span=_span))
