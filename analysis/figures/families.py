"""Figure 8: 30-day downloads of the largest model families over time, as small multiples (seaborn faceting).

One panel per family (Qwen, Llama, DeepSeek, ...; ``data/reference/model_families.csv``), all on one logarithmic
scale, so that a family that shrinks is told from one that grows more slowly than another. A model counts for the
family of its lineage root, so fine-tunes and quantizations by anyone count for the family they derive from.
"""

from __future__ import annotations

import matplotlib
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator

from ..schema import REGIONS
from .data import frame, missing_periods, series_row, with_gaps
from .labels import region_label
from .plots import date_axis, finish, short_number
from .registry import FigureContext, FigureSpec, register
from .style import TWO_COLUMN, origin_style

#: Families drawn: the largest at the latest snapshot.
N_FAMILIES = 12
#: Panels per row.
COLUMNS = 4


def family_table(family_downloads: pd.DataFrame, frequency: str = "weekly",
                 n_families: int = N_FAMILIES) -> pd.DataFrame:
    """Figure 8: the 30-day downloads of the ``n_families`` largest families, on the full period grid.

    Families are ranked by their downloads at the latest snapshot (ties by name); families without any download
    in the window are left out. ``panel`` is the family, ``group`` its origin, ``value`` its downloads, ``n`` the
    number of its models with downloads, ``note`` its developer; a period without a snapshot is a NaN row.
    """
    fd = family_downloads.copy()
    fd["date"] = pd.to_datetime(fd["date"])
    last = fd["date"].max()
    active = fd.groupby("family")["downloads"].sum()
    at_last = fd[fd["date"] == last].set_index("family")["downloads"]
    ranked = sorted((f for f in active.index if active[f] > 0), key=lambda f: (-float(at_last.get(f, 0.0)), f))
    missing = missing_periods(fd["date"].unique(), frequency)
    rows = []
    for f in ranked[:n_families]:
        part = fd[fd["family"] == f].sort_values("date")
        origin, developer = str(part["origin"].iloc[0]), str(part["developer"].iloc[0])
        line = [series_row("downloads", f, origin, d, value=v, n=n, note=developer)
                for d, v, n in zip(part["date"], part["downloads"], part["n_models"])]
        rows += with_gaps(line, missing, element="downloads", panel=f, group=origin, note=developer)
    return frame(rows)


def plot_family_downloads(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 8: small multiples of each family's 30-day downloads (log scale shared by all panels)."""
    data = table[table["element"] == "downloads"].copy()
    families = list(dict.fromkeys(data["panel"]))
    data["shown"] = data["value"].where(data["value"] > 0)  # zero has no place on a log scale: a gap
    ncol = min(COLUMNS, max(len(families), 1))
    nrow = max(1, -(-len(families) // ncol))
    with matplotlib.rc_context({"figure.constrained_layout.use": False}):
        grid = sns.FacetGrid(data, col="panel", col_wrap=ncol, col_order=families, sharex=True, sharey=True,
                             height=1.25, aspect=TWO_COLUMN / ncol / 1.25 * 0.97, despine=False)
    for i, (ax, fam) in enumerate(zip(grid.axes.flat, families)):
        part = data[data["panel"] == fam]
        st = origin_style(str(part["group"].iloc[0]))
        ax.plot(part["date"], part["shown"], color=st.color, ls=st.linestyle, lw=1.3, gid=f"family-{fam}")
        ax.set_title(fam, loc="left", fontsize=7, pad=2)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
        ax.yaxis.set_major_formatter(FuncFormatter(short_number))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
        date_axis(ax)
        ax.tick_params(labelsize=6, labelleft=i % ncol == 0)
    grid.set_axis_labels("", "")
    fig = grid.figure
    height = 1.1 + 1.25 * nrow
    fig.set_size_inches(TWO_COLUMN, height)
    fig.supylabel("30-day downloads (log scale)", fontsize=7)
    fig.supxlabel("Snapshot date", fontsize=7, y=0.42 / height)
    present = [r for r in REGIONS if r in set(data["group"])]
    handles = [Line2D([], [], color=origin_style(r).color, ls=origin_style(r).linestyle, lw=1.3,
                      label=origin_style(r).label) for r in present]
    fig.legend(handles=handles, loc="lower center", ncols=len(handles), title="Developer's origin", fontsize=6,
               title_fontsize=6, bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.78 / height, top=1 - 0.42 / height, wspace=0.1,
                        hspace=0.45)
    return finish(fig, simulated)


def _table(ctx: FigureContext) -> pd.DataFrame:
    return family_table(ctx.inputs.table("family_downloads"), ctx.definition.frequency)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    data = table[table["element"] == "downloads"]
    fams = list(dict.fromkeys(data["panel"]))
    who = "; ".join(f"{f}: {data.loc[data['panel'] == f, 'note'].iloc[0]} "
                    f"({region_label(str(data.loc[data['panel'] == f, 'group'].iloc[0]))})" for f in fams)
    share = ""
    panel = ctx.inputs.panel
    total = panel[(panel["measure"] == "downloads_30d") & (panel["rule"] == "lineage") & (panel["scope"] == "all")]
    if not total.empty and not data.empty:
        last = total["date"].max()
        all_dl = float(total.loc[total["date"] == last, "downloads"].sum())
        fam_dl = float(ctx.inputs.table("family_downloads").pipe(lambda d: d[pd.to_datetime(d["date"]) == last])
                       ["downloads"].sum())
        if all_dl > 0:
            share = (f" At the latest snapshot the families of the map hold {100 * fam_dl / all_dl:.1f}% of all "
                     "30-day downloads.")
    return (f"30-day downloads of the {len(fams)} largest model families at the latest snapshot, one panel each, "
            "on one logarithmic scale shared by all panels (equal slopes: equal growth rates). A model counts for "
            "the family of its lineage root (its declared base model, followed to the end), so fine-tunes, "
            "quantizations and adapters by anyone count for the family they derive from; colour and line style: "
            "the origin of the family's developer. Families and developers, from data/reference/model_families.csv"
            f": {who}.{share} Gaps: periods without a snapshot, or no downloads.")


SPEC = register(FigureSpec(8, "downloads_by_model_family", "Downloads per model family",
                           table=_table, caption=_caption, plot=plot_family_downloads,
                           inputs=("family_downloads", "panel")))
