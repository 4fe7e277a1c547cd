"""One function per figure of the study. Each draws only from the table it is given (see :mod:`.data`).

Every function returns a :class:`matplotlib.figure.Figure` drawn in the study's style; call it inside
:func:`analysis.figures.style.paper_style` (the driver :func:`analysis.figures.make_figure` does). Marks that tests
and readers look for carry a matplotlib ``gid``: ``"crossover"`` (the estimated crossing), ``"crossover-interval"``
(its confidence set), ``"trend-band"`` (the HAC band), ``"simulated-watermark"`` (demo runs).
"""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from ..schema import REGIONS
from .style import (BAND_COLOR, CROSSOVER_COLOR, ORIGIN_STYLES, figure_size, mark_simulated, organisation_styles,
                    origin_style)

CROSSOVER_LABEL = "Crossover estimate"
#: Font size of the bump chart's end labels (points) and the least distance between two of them (line heights).
END_LABEL_SIZE = 6.0
END_LABEL_GAP = 1.25


def _level(table: pd.DataFrame) -> str:
    """The confidence level the table states (``level`` column, e.g. ``"95%"``; "" if it states none)."""
    if "level" not in table:
        return ""
    vals = [v for v in table["level"].dropna().astype(str) if v]
    return vals[0] if vals else ""


def spread_positions(targets, min_gap: float, lower: float | None = None, upper: float | None = None) -> np.ndarray:
    """Positions as close as possible (least squares) to ``targets`` with at least ``min_gap`` between neighbours.

    The order of the targets is kept; positions of targets already ``min_gap`` apart are unchanged. Solved exactly
    by pooling adjacent violators on ``targets[i] - i * min_gap`` (sorted), so the result is deterministic. The
    positions are then shifted (all together, so the gaps stay) to lie within ``[lower, upper]`` as far as they
    fit; ``lower`` wins when they do not.

    Parameters
    ----------
    targets : sequence of float
    min_gap : float
        Least distance between consecutive positions (>= 0).
    lower, upper : float, optional
        Range the positions should stay in (e.g. the axis limits).

    Returns
    -------
    numpy.ndarray
        One position per target, in the targets' order.
    """
    y = np.asarray(targets, dtype=float)
    if y.size == 0:
        return y
    order = np.argsort(y, kind="stable")
    z = y[order] - min_gap * np.arange(y.size)
    blocks: list[list] = []  # [mean, count]
    for v in z:
        blocks.append([v, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, n2 = blocks.pop()
            v1, n1 = blocks.pop()
            blocks.append([(v1 * n1 + v2 * n2) / (n1 + n2), n1 + n2])
    fitted = np.concatenate([np.full(n, v) for v, n in blocks])
    out = np.empty_like(y)
    out[order] = fitted + min_gap * np.arange(y.size)
    if upper is not None and out.max() > upper:
        out -= out.max() - upper
    if lower is not None and out.min() < lower:
        out += lower - out.min()
    return out


def _date_axis(ax) -> None:
    loc = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))


def _finish(fig, simulated: bool):
    if simulated:
        mark_simulated(fig)
    return fig


def _origin_lines(ax, table: pd.DataFrame, element: str, panel: str | None = None) -> None:
    sel = table[table["element"] == element]
    if panel is not None:
        sel = sel[sel["panel"] == panel]
    for region in REGIONS:
        r = sel[sel["group"] == region]
        if r.empty:
            continue
        ax.plot(r["date"], r["value"], **origin_style(region).line_kwargs(len(r)))


def _crossover_marks(ax, table: pd.DataFrame, y: float | None = None) -> None:
    """Vertical line (or tick at height ``y``) at the crossing and its shaded set; the dates go in the legend."""
    label = None
    for _, r in table[table["element"] == "interval"].iterrows():
        ax.axvspan(r["date"], r["date_end"], color=BAND_COLOR, alpha=0.45, lw=0, zorder=0, gid="crossover-interval",
                   label=label or r["note"])
        label = "_nolegend_"
    for _, r in table[table["element"] == "crossover"].iterrows():
        lo, hi = ax.get_xlim()
        x = mdates.date2num(r["date"])
        text = f"{CROSSOVER_LABEL} {r['date']:%Y-%m-%d}"
        if not lo <= x <= hi:
            ax.plot([], [], ls="none", label=f"{text} (outside the plotted dates)")
            continue
        if y is None:
            ax.axvline(r["date"], color=CROSSOVER_COLOR, lw=0.9, ls=(0, (2, 1)), gid="crossover", label=text)
        else:
            ax.plot([r["date"]], [y], marker="|", ms=9, mew=1.6, color=CROSSOVER_COLOR, ls="none", gid="crossover",
                    label=text, zorder=5)


# ------------------------------------------------------------------------------------------------
def plot_share_by_origin(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 1: download share by origin over time, with the crossover and its interval."""
    fig, ax = plt.subplots(figsize=figure_size("two", 3.2))
    _origin_lines(ax, table, "share")
    ax.set_xlim(table.loc[table["element"] == "share", "date"].min(), table.loc[table["element"] == "share", "date"].max())
    _crossover_marks(ax, table)
    ax.set_ylabel(f"Share of downloads ({definition_label.split(',')[0]})")
    ax.set_xlabel("Snapshot date")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    _date_axis(ax)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title="Origin")
    return _finish(fig, simulated)


def plot_log_ratio_trend(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 2: log(share CN / share US) with its OLS trend, HAC band, zero crossing and Fieller set."""
    fig, ax = plt.subplots(figsize=figure_size("one", 2.8))
    obs = table[table["element"] == "observed"]
    ax.plot(obs["date"], obs["value"], ls="none", marker="o", ms=2.2, color="#333333", label="Observed periods")
    for el, ls, lab in (("trend", "-", "OLS trend"), ("projection", (0, (3, 1.5)), "Trend projected")):
        tr = table[table["element"] == el]
        if tr.empty:
            continue
        band = next((n for n in tr["note"] if n), "HAC band")
        ax.fill_between(tr["date"], tr["lower"], tr["upper"], color=BAND_COLOR, alpha=0.5, lw=0, gid="trend-band",
                        label=band if el == "trend" else None)
        ax.plot(tr["date"], tr["value"], color=ORIGIN_STYLES["CN"].color, ls=ls, lw=1.3, label=lab)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlim(table["date"].min(), table[["date", "date_end"]].max().max())
    for _, r in table[table["element"] == "interval"].iterrows():
        ax.plot([r["date"], r["date_end"]], [0, 0], color=CROSSOVER_COLOR, lw=3.0, solid_capstyle="butt",
                gid="crossover-interval", label=r["note"], zorder=4)
    _crossover_marks(ax, table[table["element"] == "crossover"], y=0.0)
    ax.set_ylabel("log(share CN / share US)")
    ax.set_xlabel("Date")
    _date_axis(ax)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=6)
    return _finish(fig, simulated)


def _short(v: float, _pos=None) -> str:
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:g}{suf}"
    return f"{v:g}"


def plot_cumulative_downloads(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 3: cumulative downloads by origin."""
    fig, ax = plt.subplots(figsize=figure_size("one", 2.8))
    _origin_lines(ax, table, "cumulative")
    ax.set_ylabel("Cumulative downloads")
    ax.set_xlabel("Snapshot date")
    ax.yaxis.set_major_formatter(FuncFormatter(_short))
    ax.set_ylim(bottom=0)
    _date_axis(ax)
    ax.legend(loc="upper left", title="Origin", fontsize=6)
    return _finish(fig, simulated)


def plot_rankings(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 4: share of the top-10/50/100 models' downloads by origin, and a bump chart of top organisations."""
    panels = [p for p in table.loc[table["element"] == "top_share", "panel"].unique()]
    panels.sort(key=lambda p: int(p.split()[-1]))
    fig = plt.figure(figsize=figure_size("two", 5.2))
    gs = fig.add_gridspec(2, max(len(panels), 1), height_ratios=[1, 1.25])
    axes = [fig.add_subplot(gs[0, i]) for i in range(len(panels))]
    for i, (ax, p) in enumerate(zip(axes, panels)):
        _origin_lines(ax, table, "top_share", p)
        ax.set_title(f"{'abc'[i]}  Top {p.split()[-1]} models")
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("Snapshot date")
        if i == 0:
            ax.set_ylabel("Share of top-N downloads")
        _date_axis(ax)
    handles = [Line2D([], [], **origin_style(r).line_kwargs(1)) for r in REGIONS]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, title="Origin")
    bx = fig.add_subplot(gs[1, :])
    ranks = table[table["element"] == "rank"]
    # every snapshot date of the figure: an organisation absent from the ranking on a date leaves a gap in its
    # line instead of a segment drawn across the dates it was not ranked
    all_dates = pd.DatetimeIndex(sorted(set(table["date"].dropna())))
    orgs = list(dict.fromkeys(ranks["group"]))
    region_of = {org: ranks.loc[ranks["group"] == org, "note"].iloc[-1] for org in orgs}
    styles = organisation_styles([(org, region_of[org]) for org in orgs])
    ends = []
    for org in orgs:
        r = ranks[ranks["group"] == org]
        st = styles[org]
        line = r.set_index("date")["value"].reindex(all_dates)
        y = line.to_numpy(dtype=float)
        shown = np.flatnonzero(np.isfinite(y))
        marks = sorted(set(shown[::max(1, len(shown) // 12)].tolist()) | {int(shown[-1])}) if shown.size else []
        bx.plot(line.index, y, color=st.color, ls=st.linestyle, marker=st.marker, ms=2.5, lw=1.0,
                markevery=marks, gid=f"rank-{org}")
        if shown.size:
            ends.append((org, line.index[shown[-1]], y[shown[-1]]))
    if not ranks.empty:
        bx.set_ylim(np.nanmax(ranks["value"].to_numpy(dtype=float)) + 0.5, 0.5)
    bx.yaxis.set_major_locator(MaxNLocator(integer=True))
    bx.set_title(f"{'abc'[len(panels)] if len(panels) < 3 else 'd'}  Rank of the leading organisations by downloads")
    bx.set_ylabel("Rank (1 = most downloaded)")
    bx.set_xlabel("Snapshot date")
    _date_axis(bx)
    bx.margins(x=0.02)
    _end_labels(fig, bx, ends, styles)
    return _finish(fig, simulated)


def _end_labels(fig, ax, ends: list[tuple], styles: dict) -> None:
    """Label each line of a bump chart at the right of the axes, spread so no two labels overlap.

    Each label starts with the organisation's marker and is joined to the line's last point by a leader line.
    Label heights come from the drawn axes (a draw without rendering), so they hold at the figure's size.
    """
    if not ends:
        return
    fig.draw_without_rendering()  # lay the figure out, so the axes' height in points is known
    lo, hi = sorted(ax.get_ylim())
    height_pt = ax.get_window_extent().height * 72.0 / fig.dpi
    gap = END_LABEL_GAP * END_LABEL_SIZE * (hi - lo) / max(height_pt, 1.0)
    ys = spread_positions([y for _, _, y in ends], gap, lower=lo, upper=hi)
    trans = ax.get_yaxis_transform()  # x in axes fraction, y in data (ranks)
    for (org, x, y), yl in zip(ends, ys):
        st = styles[org]
        ax.plot([1.035], [yl], transform=trans, marker=st.marker, ms=3.0, color=st.color, ls="none", clip_on=False,
                gid=f"label-marker-{org}")
        ax.annotate(st.label, xy=(x, y), xycoords="data", xytext=(1.055, yl), textcoords=trans, va="center",
                    ha="left", fontsize=END_LABEL_SIZE, color=st.color, annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": st.color, "lw": 0.5, "shrinkA": 9.0, "shrinkB": 1.5,
                                "relpos": (0.0, 0.5)})


def plot_derivative_ecosystem(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 5: share of new fine-tunes, quantizations, adapters and merges per month by base-model origin."""
    panels = list(dict.fromkeys(table["panel"]))
    fig, axes = plt.subplots(2, 2, figsize=figure_size("two", 4.4), sharex=True, sharey=True)
    for i, (ax, p) in enumerate(zip(axes.flat, panels)):
        _origin_lines(ax, table, "share", p)
        n = table[(table["panel"] == p)].groupby("date")["n"].first()
        ax.set_title(f"{'abcd'[i]}  {p} (n = {int(n.sum()):,})")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1)
        _date_axis(ax)
    for ax in axes[:, 0]:
        ax.set_ylabel("Share of new models")
    for ax in axes[1, :]:
        ax.set_xlabel("Month of creation")
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    handles = [Line2D([], [], **origin_style(r).line_kwargs(1)) for r in REGIONS]
    fig.legend(handles=handles, loc="outside right center", title="Base-model\norigin")
    return _finish(fig, simulated)


METHOD_MARKERS = {"fieller": "o", "fieller_nw": "X", "fieller_prewhitened": "P", "delta": "s", "bootstrap": "^",
                  "first_passage": "D", "first_passage_level": "d"}


def _interval_rows(ax, table: pd.DataFrame, xlim: tuple) -> None:
    lo, hi = xlim
    for _, r in table.iterrows():
        y = r["row"]
        color = CROSSOVER_COLOR if r["highlight"] else "#555555"
        a = r["lower_date"] if pd.notna(r["lower_date"]) else None
        b = r["upper_date"] if pd.notna(r["upper_date"]) else None
        est = r["estimate_date"] if pd.notna(r["estimate_date"]) else None
        if r["source"] != "this study":  # a published period: hatched span
            if a is None and b is None:
                ax.text(lo, y, "  " + textwrap.shorten(r["note"], 90, placeholder=" …"), va="center", fontsize=5.5,
                        color="#555555")
                continue
            a2 = a if a is not None else lo  # "by <end>": open to the left
            b2 = b if b is not None else hi  # "from <start>": open to the right
            ax.barh(y, (b2 - a2) + pd.Timedelta(days=1), left=a2, height=0.5,
                    color="#999999" if r["kind"] == "verified" else "white", edgecolor="#333333", hatch=None
                    if r["kind"] == "verified" else "////", lw=0.6, gid="published-period")
            for end, is_open, mk in ((lo, a is None, "<"), (hi, b is None, ">")):
                if is_open:  # "by <date>" or "from <date>": the period is open on that side
                    ax.plot([end], [y], marker=mk, color="#333333", ms=4, ls="none", clip_on=False)
            continue
        if est is not None and r["kind"] == "point":  # an estimate without an interval
            ax.plot([est], [y], marker=METHOD_MARKERS.get(r["method"], "o"), color=color, ms=3.5, mfc="white",
                    ls="none", gid="crossover", zorder=5)
            continue
        if est is None or r["kind"] in ("empty", "no_trend"):
            ax.text(lo, y, f"  {r['method'].replace('_', ' ')}: no crossing ({r['kind'].replace('_', ' ')})",
                    va="center", fontsize=5.5, color=color)
            continue
        left = a if a is not None and r["kind"] != "two_rays" else lo
        right = b if b is not None and r["kind"] != "two_rays" else hi
        ax.plot([max(left, lo), min(right, hi)], [y, y], color=color, lw=1.4 if r["highlight"] else 0.9,
                gid="crossover-interval")
        for end, unbounded in ((lo, a is None or r["kind"] == "two_rays"), (hi, b is None or r["kind"] == "two_rays")):
            if unbounded:
                ax.plot([end], [y], marker="<" if end == lo else ">", color=color, ms=4, ls="none")
        ax.plot([est], [y], marker=METHOD_MARKERS.get(r["method"], "o"), color=color, ms=4.5 if r["highlight"] else 3.5,
                mfc=color if r["highlight"] else "white", ls="none", gid="crossover", zorder=5)


def _date_limits(table: pd.DataFrame) -> tuple:
    vals = pd.concat([table["estimate_date"], table["lower_date"], table["upper_date"]]).dropna()
    if vals.empty:
        today = pd.Timestamp("2025-01-01")
        return today - pd.Timedelta(days=365), today + pd.Timedelta(days=365)
    lo, hi = vals.min(), vals.max()
    center = table["estimate_date"].dropna()
    if not center.empty:  # keep far-away ends from squashing the plot: at most 2 years around the estimates
        lo = max(lo, center.min() - pd.Timedelta(days=730))
        hi = min(hi, center.max() + pd.Timedelta(days=730))
    pad = max((hi - lo) * 0.06, pd.Timedelta(days=20))
    return lo - pad, hi + pad


def plot_sensitivity_forest(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 6: forest plot of the crossover estimate and interval under each definition of the grid.

    One row per definition (measure, rule, scope); one mark per method within it; a thin grey bar behind each
    mark spans the estimates and intervals over the other settings (HAC lags, or run lengths k).
    """
    defs = table.drop_duplicates("definition_row").sort_values("definition_row")
    n = len(defs)
    fig, ax = plt.subplots(figsize=figure_size("two", min(1.5 + 0.42 * n, 22.0)))
    xlim = _date_limits(table)
    ax.set_xlim(*xlim)
    lo, hi = xlim
    for _, r in table[table["estimate_date"].notna()].iterrows():
        a = max(r["range_lower_date"], lo) if pd.notna(r["range_lower_date"]) else lo
        b = min(r["range_upper_date"], hi) if pd.notna(r["range_upper_date"]) else hi
        ax.plot([a, b], [r["row"], r["row"]], color=BAND_COLOR, lw=4.0, solid_capstyle="butt", zorder=1,
                gid="sensitivity-range")
    _interval_rows(ax, table, xlim)
    heads = set(table.loc[table["highlight"], "definition_row"])
    ax.set_yticks(defs["definition_row"].to_numpy(dtype=float),
                  [("▶ " if d in heads else "") + lab for d, lab in zip(defs["definition_row"], defs["label"])])
    for tick, d in zip(ax.get_yticklabels(), defs["definition_row"]):
        if d in heads:
            tick.set_fontweight("bold")
    ax.set_ylim(n - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    for y in range(1, n):
        ax.axhline(y - 0.5, color="#eeeeee", lw=0.5, zorder=0)
    ax.set_xlabel("Estimated crossover date (CN share passes US share)")
    ax.set_ylabel("Definition (measure · rule · scope)")
    _date_axis(ax)
    methods = list(dict.fromkeys(table["method"]))
    handles = [Line2D([], [], marker=METHOD_MARKERS.get(m, "o"), color="#555555", mfc="white", ls="none",
                      label=m.replace("_", " ")) for m in methods]
    level = _level(table)
    handles.append(Line2D([], [], color="#555555", lw=0.9,
                          label=f"{level + ' ' if level else ''}interval (arrow: unbounded)"))
    handles.append(Line2D([], [], color=BAND_COLOR, lw=4.0, label="range over the other settings"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), title="Method")
    return _finish(fig, simulated)


def plot_published_comparison(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 7: our crossover estimates beside the published estimates (claimed periods)."""
    n = len(table)
    fig, ax = plt.subplots(figsize=figure_size("two", 1.3 + 0.28 * n))
    xlim = _date_limits(table)
    ax.set_xlim(*xlim)
    _interval_rows(ax, table, xlim)
    ax.set_yticks(table["row"].to_numpy(), table["label"].tolist())
    ax.set_ylim(n - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Crossover date (CN passes US)")
    _date_axis(ax)
    level = _level(table[table["highlight"]])
    handles = [Line2D([], [], marker="o", color=CROSSOVER_COLOR, ls="-",
                      label=f"This study: estimate and {level + ' ' if level else ''}interval"),
               plt.Rectangle((0, 0), 1, 1, facecolor="#999999", edgecolor="#333333", lw=0.6,
                             label="Published period (read in the source)"),
               plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="#333333", hatch="////", lw=0.6,
                             label="Published period (secondary reports only)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return _finish(fig, simulated)
