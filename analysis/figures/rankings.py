"""Figure 4: the origin of the most downloaded models, and a slope chart of the leading organisations.

Panels a-c: the share of the downloads of the 10, 50 and 100 most downloaded models held by each origin, over
time. Panel d: the ranks of the leading organisations at a few dates (a slope chart): at each date the top
organisations are listed in rank order, each in a box outlined in its origin's colour, and lines join an
organisation's ranks from one date to the next (in its origin's colour and line style). An organisation outside the
top list at a date is drawn on the "lower" row below it, without a label.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from ..schema import ALT_SUFFIX, REGIONS
from .data import FigureInputError, frame, iso, missing_periods, series_row, with_gaps
from .labels import RULE_LABELS, label, region_label
from .plots import date_axis, finish, origin_lines
from .registry import FigureContext, FigureSpec, register
from .style import figure_size, origin_style

#: Organisations listed at each date of the slope chart.
N_ORGS = 10
#: Dates (columns) of the slope chart: the latest snapshot and others evenly spread back to the first.
N_COLUMNS = 4
#: Longest organisation name shown whole in a box (longer names are cut with an ellipsis).
MAX_NAME = 22
#: Font size of the slope chart's boxes (points).
BOX_FONT = 6.0


def rankings_rule(rule: str) -> str:
    """The rankings only exist under the uploader and lineage rules (primary reading): first_party maps to uploader,
    a rule under the alternative reading of contested origins to the same rule under the primary one."""
    base = rule.removesuffix(ALT_SUFFIX)
    return base if base in ("uploader", "lineage") else "uploader"


def column_dates(dates, n: int = N_COLUMNS) -> list[pd.Timestamp]:
    """``n`` dates of ``dates`` for the slope chart: the first and the last, and those nearest to even steps
    between them (fewer when there are fewer dates)."""
    ds = sorted(pd.Timestamp(d) for d in pd.unique(pd.Series(list(dates)).dropna()))
    if len(ds) <= n:
        return ds
    first, last = ds[0], ds[-1]
    out: list[pd.Timestamp] = []
    for i in range(n):
        target = first + (last - first) * (i / (n - 1))
        best = min((d for d in ds if d not in out), key=lambda d: (abs(d - target), d))
        out.append(best)
    return sorted(out)


def rankings_table(rankings: pd.DataFrame, top_orgs: pd.DataFrame, rule: str, n_orgs: int = N_ORGS,
                   frequency: str = "weekly", n_columns: int = N_COLUMNS) -> pd.DataFrame:
    """Figure 4: share of the top 10/50/100 models' downloads by origin, and the ranks of the top organisations.

    ``top_share`` rows are on the full period grid: a period without a snapshot is a NaN row (note
    :data:`analysis.figures.data.NO_SNAPSHOT_NOTE`). ``rank`` rows (panel ``top N organisations``, N =
    ``n_orgs``) hold the slope chart:
    for each of the :func:`column_dates`, every organisation that is among the ``n_orgs`` most downloaded at any of
    those dates, with its rank (``value``; NaN when it is outside the ranked list that day, and then ``note`` says
    so), its 30-day downloads (``n``) and its origin (``group`` is the organisation; ``note`` starts with its origin
    code).

    Parameters
    ----------
    rankings : pandas.DataFrame
        ``data/processed/rankings.parquet`` (date, rule, top_n, region, share).
    top_orgs : pandas.DataFrame
        ``data/processed/top_orgs.parquet`` (date, rule, organisation, region, downloads, rank).
    rule : str
        ``"uploader"`` or ``"lineage"``.
    n_orgs : int
        Organisations listed at each date of the slope chart.
    frequency : {"daily", "weekly", "monthly"}
        The period grid (``study.frequency``).
    n_columns : int
        Dates of the slope chart.
    """
    rk = rankings[rankings["rule"] == rule]
    if rk.empty:
        raise FigureInputError(f"rankings.parquet has no rows for rule={rule!r}; rerun notebook 03 (panel)")
    to = top_orgs[top_orgs["rule"] == rule]
    if to.empty:
        raise FigureInputError(f"top_orgs.parquet has no rows for rule={rule!r}; rerun notebook 03 (panel)")
    missing = missing_periods(np.concatenate([rk["date"].unique(), to["date"].unique()]), frequency)
    rows = []
    for top_n in sorted(rk["top_n"].unique()):
        part = rk[rk["top_n"] == top_n]
        for region in REGIONS:
            r = part[part["region"] == region].sort_values("date")
            line = [series_row("top_share", f"top {int(top_n)}", region, d, value=s)
                    for d, s in zip(r["date"], r["share"])]
            rows += with_gaps(line, missing, element="top_share", panel=f"top {int(top_n)}", group=region) \
                if line else []
    cols = column_dates(to["date"], n_columns)
    at = to[to["date"].isin(cols)]
    # an organisation some of whose models carry an override appears once per origin: keep them apart
    twice = set(at.loc[at.duplicated(["date", "organisation"], keep=False), "organisation"])
    at = at.assign(_key=[f"{o} ({region_label(r)})" if o in twice else o
                         for o, r in zip(at["organisation"], at["region"])])
    leaders = at[at["rank"] <= n_orgs].sort_values(["date", "rank", "_key"], ascending=[False, True, True])
    keys = list(dict.fromkeys(leaders["_key"]))
    origin = {k: str(g["region"].iloc[0]) for k, g in at.groupby("_key")}
    org_panel = f"top {n_orgs} organisations"
    for key in keys:
        mine = at[at["_key"] == key].set_index("date")
        for d in cols:
            if d in mine.index:
                r = mine.loc[d]
                rows.append(series_row("rank", org_panel, key, d, value=float(r["rank"]), n=float(r["downloads"]),
                                       note=origin[key]))
            else:
                rows.append(series_row("rank", org_panel, key, d,
                                       note=f"{origin[key]}; outside the {to['rank'].max()} ranked that day"))
    return frame(rows)


def _short(name: str) -> str:
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "…"


def plot_slope_chart(ax, table: pd.DataFrame, n_orgs: int = N_ORGS) -> None:
    """Draw the slope chart of the ``rank`` rows of a figure 4 table on ``ax`` (see the module docstring)."""
    ranks = table[table["element"] == "rank"]
    cols = sorted(ranks["date"].dropna().unique())
    x_of = {pd.Timestamp(d): i for i, d in enumerate(cols)}
    lower = n_orgs + 1  # the row of organisations outside the top list
    for key, g in ranks.groupby("group", sort=False):
        region = str(g["note"].iloc[0]).split(";")[0]
        st = origin_style(region)
        g = g.sort_values("date")
        xs = np.array([x_of[pd.Timestamp(d)] for d in g["date"]], dtype=float)
        val = g["value"].to_numpy(dtype=float)
        ys = np.where(np.isfinite(val) & (val <= n_orgs), val, lower)
        inside = np.isfinite(val) & (val <= n_orgs)
        for i in range(len(xs) - 1):
            if not (inside[i] or inside[i + 1]):
                continue
            faint = not (inside[i] and inside[i + 1])
            ax.plot(xs[i:i + 2], ys[i:i + 2], color=st.color, ls=st.linestyle, lw=0.8 if faint else 1.3,
                    alpha=0.55 if faint else 1.0, zorder=2, gid=f"rank-{key}")
        for x, y, ok in zip(xs, ys, inside):
            if ok:
                ax.text(x, y, _short(str(key)), ha="center", va="center", fontsize=BOX_FONT, color="#111111",
                        zorder=4, gid=f"label-{key}",
                        bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": st.color,
                              "linewidth": 0.9})
            else:
                ax.plot([x], [y], marker=st.marker, ms=2.5, color=st.color, mfc="white", ls="none", zorder=3)
    ax.set_xlim(-0.55, len(cols) - 0.45)
    ax.set_ylim(lower + 0.6, 0.4)
    ax.set_yticks(list(range(1, n_orgs + 1)) + [lower], [str(k) for k in range(1, n_orgs + 1)] + ["lower"])
    ax.set_xticks(range(len(cols)), [iso(pd.Timestamp(d)) for d in cols])
    ax.grid(axis="x", visible=False)
    ax.grid(axis="y", color="#f0f0f0")
    ax.axhline(n_orgs + 0.5, color="#bbbbbb", lw=0.5, ls=(0, (2, 2)))
    ax.tick_params(axis="x", length=0)


def plot_rankings(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 4: share of the top-10/50/100 models' downloads by origin, and a slope chart of top organisations."""
    panels = [p for p in table.loc[table["element"] == "top_share", "panel"].unique()]
    panels.sort(key=lambda p: int(p.split()[-1]))
    fig = plt.figure(figsize=figure_size("two", 5.6))
    gs = fig.add_gridspec(2, max(len(panels), 1), height_ratios=[1, 1.45])
    axes = [fig.add_subplot(gs[0, i]) for i in range(len(panels))]
    for i, (ax, p) in enumerate(zip(axes, panels)):
        origin_lines(ax, table, "top_share", p)
        ax.set_title(f"{'abc'[i]}  Top {p.split()[-1]} models")
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("Snapshot date")
        if i == 0:
            ax.set_ylabel("Share of top-N downloads")
        date_axis(ax)
    handles = [Line2D([], [], **origin_style(r).line_kwargs(1)) for r in REGIONS]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, title="Origin")
    bx = fig.add_subplot(gs[1, :])
    ranks = table[table["element"] == "rank"]
    n_show = int(str(ranks["panel"].iloc[0]).split()[1]) if not ranks.empty else N_ORGS
    plot_slope_chart(bx, table, n_orgs=n_show)
    bx.set_title(f"{'abcd'[len(panels)]}  The {n_show} most downloaded organisations at "
                 f"{len(set(ranks['date']))} dates (box outline and line: origin)")
    bx.set_ylabel("Rank (1 = most downloaded)")
    bx.set_xlabel("Snapshot date")
    return finish(fig, simulated)


def _table(ctx: FigureContext) -> pd.DataFrame:
    rk = ctx.inputs.table("rankings")
    to = ctx.inputs.table("top_orgs")
    return rankings_table(rk, to, rankings_rule(ctx.definition.rule), frequency=ctx.definition.frequency)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    rule = label(RULE_LABELS, rankings_rule(ctx.definition.rule))
    ranks = table[table["element"] == "rank"]
    dates = ", ".join(iso(d) for d in sorted(ranks["date"].dropna().unique()))
    return (f"a-c: share of the 30-day downloads of the 10, 50 and 100 most downloaded models held by each origin "
            f"({rule} rule). d: the {N_ORGS} most downloaded organisations ({rule} rule) at {dates or 'no date'}, "
            "listed in rank order at each date, each box outlined in its origin's colour; lines join an "
            "organisation's ranks from one date to the next in its origin's colour and line style (faint: it enters "
            "or leaves the list; \"lower\": outside it). Gaps in the lines of a-c: periods without a snapshot.")


SPEC = register(FigureSpec(4, "top_models_and_organisations", "Origin of the most downloaded models and organisations",
                           table=_table, caption=_caption, plot=plot_rankings, inputs=("rankings", "top_orgs")))
