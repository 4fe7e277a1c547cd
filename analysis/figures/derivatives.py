"""Figure 5: the new derivative models (fine-tunes, quantizations, adapters, merges) by base-model origin."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from ..schema import REGIONS
from .data import frame, iso, series_row
from .plots import date_axis, finish, short_number
from .registry import FigureContext, FigureSpec, register
from .style import figure_size, origin_style

#: Relations counted as derivatives, with their display names.
DERIVATIVE_RELATIONS = {"finetune": "Fine-tunes", "quantized": "Quantizations", "adapter": "Adapters",
                        "merge": "Merges"}
#: Columns of ``models.parquet`` the figure reads.
DERIVATIVE_COLUMNS = ["id", "relation", "lineage_region", "createdAt"]
#: Look of a partial month: a hatched band behind it, hollow markers on it.
PARTIAL_HATCH = "////"
PARTIAL_COLOR = "#DDDDDD"




def derivatives_table(models: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Figure 5: per month, the share of new derivatives of each kind by the origin of their base model.

    A model counts in the month of its ``createdAt`` if that falls between ``start`` and ``end`` (the panel's
    date range); its base-model origin is its ``lineage_region``. ``n`` is the number of new models of that
    kind in that month (all origins); ``value`` the share of them whose root base model has that origin.
    ``note`` says "partial month" for the first month when ``start`` is not its first day and for the last month
    when ``end`` is not its last day: those months cover only part of the calendar month.
    """
    created = pd.to_datetime(models["createdAt"], utc=True, errors="coerce").dt.tz_convert(None)
    d = models.assign(_created=created)
    d = d[d["relation"].isin(list(DERIVATIVE_RELATIONS)) & d["_created"].between(start, end + pd.Timedelta(days=1))]
    d = d.assign(_month=d["_created"].dt.to_period("M").dt.to_timestamp(),
                 _region=d["lineage_region"].fillna("UNKNOWN").astype(str))
    rows = []
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    partial = {}
    if start.day != 1:
        partial[start.to_period("M").to_timestamp()] = f"partial month: the window starts {iso(start)}"
    if not end.is_month_end:
        m = end.to_period("M").to_timestamp()
        partial[m] = (partial[m] + f" and ends {iso(end)}") if m in partial else \
            f"partial month: the window ends {iso(end)}"
    for rel, name in DERIVATIVE_RELATIONS.items():
        part = d[d["relation"] == rel]
        counts = part.groupby(["_month", "_region"]).size().unstack(fill_value=0)
        for month, by_region in counts.iterrows():
            total = by_region.sum()
            note = partial.get(month, "")
            for region in REGIONS:
                rows.append(series_row("share", name, region, month, value=by_region.get(region, 0) / total,
                                       n=total, note=note))
    return frame(rows)



def _month_span(month: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The band drawn for a month plotted at its first day: half a month either side."""
    return month - pd.Timedelta(days=15), month + pd.Timedelta(days=15)


def plot_derivative_ecosystem(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 5: share of new fine-tunes, quantizations, adapters and merges per month by base-model origin.

    Each kind of derivative has a panel of shares (one line per origin) above a strip of monthly counts (how many
    new models the shares are of). Partial months (the window starts or ends inside them) are hatched in both and
    drawn with hollow markers.
    """
    panels = list(dict.fromkeys(table["panel"]))
    fig = plt.figure(figsize=figure_size("two", 5.2))
    gs = fig.add_gridspec(4, 2, height_ratios=[3, 1, 3, 1], hspace=0.08)
    partial_months = sorted(set(table.loc[table["note"].str.startswith("partial month"), "date"]))
    first_share = None
    for i, p in enumerate(panels[:4]):
        r, c = 2 * (i // 2), i % 2
        ax = fig.add_subplot(gs[r, c], sharex=first_share, sharey=first_share)
        bx = fig.add_subplot(gs[r + 1, c], sharex=ax)
        first_share = first_share or ax
        part = table[table["panel"] == p]
        for month in partial_months:
            for a in (ax, bx):
                a.axvspan(*_month_span(month), facecolor="white", edgecolor=PARTIAL_COLOR, hatch=PARTIAL_HATCH,
                          lw=0, zorder=0, gid="partial-month")
        for region in REGIONS:
            line = part[part["group"] == region].sort_values("date")
            if line.empty:
                continue
            st = origin_style(region)
            ax.plot(line["date"], line["value"], **st.line_kwargs(len(line)))
            hollow = line[line["date"].isin(partial_months)]
            if not hollow.empty:
                ax.plot(hollow["date"], hollow["value"], ls="none", marker=st.marker, mfc="white", mec=st.color,
                        ms=3.5, zorder=3)
        n = part.groupby("date")["n"].first()
        bx.bar(n.index, n.to_numpy(dtype=float), width=20, color="#888888", lw=0, gid="monthly-count")
        ax.set_title(f"{'abcd'[i]}  {p} (n = {int(n.sum()):,})")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1)
        ax.tick_params(labelbottom=False)
        bx.yaxis.set_major_locator(MaxNLocator(2, integer=True))
        bx.yaxis.set_major_formatter(FuncFormatter(short_number))
        bx.set_ylim(bottom=0)
        bx.grid(axis="x", visible=False)
        date_axis(bx)
        if c == 0:
            ax.set_ylabel("Share of new models")
            bx.set_ylabel("New\nmodels", fontsize=6)
        if r == 2 or len(panels) <= 2:
            bx.set_xlabel("Month of creation")
    handles = [Line2D([], [], **origin_style(r).line_kwargs(1)) for r in REGIONS]
    handles.append(Patch(facecolor="white", edgecolor=PARTIAL_COLOR, hatch=PARTIAL_HATCH, lw=0,
                         label="Partial month\n(hollow markers)"))
    handles.append(Patch(facecolor="#888888", lw=0, label="New models\nthat month"))
    fig.legend(handles=handles, loc="outside right center", title="Base-model\norigin")
    return finish(fig, simulated)


def partial_months_text(table: pd.DataFrame) -> str:
    """The caption's sentence on the partial months (from the table's "partial month" notes)."""
    if "date" not in table or "note" not in table:
        return ""
    notes = table.loc[table["note"].str.startswith("partial month"), ["date", "note"]].drop_duplicates("date")
    if notes.empty:
        return " Every month shown is a whole calendar month of the window."
    months = " and ".join(f"{d:%Y-%m}" for d in sorted(notes["date"]))
    return (f" Partial months (hatched, hollow markers): {months}; the window of snapshots starts or ends within "
            "them, so they count only part of the month's new models (note \"partial month\" in the CSV).")


def _table(ctx: FigureContext) -> pd.DataFrame:
    models = ctx.inputs.table("models", DERIVATIVE_COLUMNS)
    panel = ctx.inputs.panel
    return derivatives_table(models, panel["date"].min(), panel["date"].max())


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    return ("Share of the new fine-tunes, quantizations, adapters and merges created each month whose root base "
            "model comes from each origin (lineage of declared base models); grey bars below each panel: how many "
            "new models of that kind were created that month, the number each month's shares are of; n = new "
            "models of that kind in the window." + partial_months_text(table))


SPEC = register(FigureSpec(5, "derivative_ecosystem", "New derivative models by base-model origin",
                           table=_table, caption=_caption, plot=plot_derivative_ecosystem,
                           inputs=("panel", "models")))
