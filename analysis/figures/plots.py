"""Drawing helpers shared by the figures: date axes, origin lines, crossover marks, interval rows, labels.

Each figure's own ``plot_*`` function lives in its module (see :mod:`analysis.figures.registry`) and draws only
from the table it is given. Every plot function returns a :class:`matplotlib.figure.Figure` drawn in the study's
style; the driver :func:`analysis.figures.make_figure` calls it inside :func:`analysis.figures.style.paper_style`.
Marks that tests and readers look for carry a matplotlib ``gid``: ``"crossover"`` (the estimated crossing),
``"crossover-interval"`` (its confidence set), ``"trend-band"`` (the HAC band), ``"simulated-watermark"`` (demo
runs).
"""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import pandas as pd

from ..schema import REGIONS
from .labels import KIND_LABELS, method_label
from .style import BAND_COLOR, CROSSOVER_COLOR, mark_simulated, origin_style

CROSSOVER_LABEL = "Crossover estimate"


def level_of(table: pd.DataFrame) -> str:
    """The confidence level the table states (``level`` column, e.g. ``"95%"``; "" if it states none)."""
    if "level" not in table:
        return ""
    vals = [v for v in table["level"].dropna().astype(str) if v]
    return vals[0] if vals else ""


def date_axis(ax) -> None:
    """Concise date ticks (3 to 7 of them)."""
    loc = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))


def finish(fig, simulated: bool):
    """Mark a demo figure SIMULATED DATA; returns the figure."""
    if simulated:
        mark_simulated(fig)
    return fig


def origin_lines(ax, table: pd.DataFrame, element: str, panel: str | None = None) -> None:
    """One line per origin from the table's rows of ``element`` (and ``panel``), in the origins' fixed styles."""
    sel = table[table["element"] == element]
    if panel is not None:
        sel = sel[sel["panel"] == panel]
    for region in REGIONS:
        r = sel[sel["group"] == region]
        if r.empty:
            continue
        ax.plot(r["date"], r["value"], **origin_style(region).line_kwargs(len(r)))


def crossover_marks(ax, table: pd.DataFrame, y: float | None = None) -> None:
    """Vertical line (or tick at height ``y``) at the crossing and its shaded set; the dates go in the legend."""
    seen: set = set()
    for _, r in table[table["element"] == "interval"].iterrows():   # every piece or ray keeps its own label
        ax.axvspan(r["date"], r["date_end"], color=BAND_COLOR, alpha=0.45, lw=0, zorder=0, gid="crossover-interval",
                   label="_nolegend_" if r["note"] in seen else r["note"])
        seen.add(r["note"])
    open_end_arrows(ax, table, y)
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


def open_end_arrows(ax, table: pd.DataFrame, y: float | None = None) -> None:
    """Arrows at the edges where a confidence set is cut by the plotted dates (``open_end`` rows), in the legend.

    At height ``y`` (a set drawn on a line) or, for a shaded set, just inside the bottom of the axes.
    """
    rows = table[table["element"] == "open_end"]
    label = None
    for _, r in rows.iterrows():
        right = r["value"] > 0
        yy = y if y is not None else 0.04
        transform = ax.get_xaxis_transform() if y is None else ax.transData
        ax.plot([r["date"]], [yy], marker=">" if right else "<", ms=6, color=CROSSOVER_COLOR, ls="none",
                transform=transform, clip_on=False, zorder=6, gid="open-end",
                label=label or r["note"])
        label = "_nolegend_"


def short_number(v: float, _pos=None) -> str:
    """``1.5e6`` -> ``"1.5M"`` (a tick formatter)."""
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:g}{suf}"
    return f"{v:g}"


METHOD_MARKERS = {"fieller": "o", "fieller_nw": "X", "fieller_prewhitened": "P", "delta": "s", "bootstrap": "^",
                  "first_passage": "D", "first_passage_level": "d"}


def draw_interval_rows(ax, table: pd.DataFrame, xlim: tuple) -> None:
    """Draw the rows of an interval figure (:data:`analysis.figures.data.INTERVAL_COLUMNS`): estimates with their
    intervals (arrows where unbounded) and published periods (bars)."""
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
            ax.text(lo, y, f"  {method_label(r['method'])}: no crossing ({KIND_LABELS.get(r['kind'], r['kind'])})",
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


def date_limits(table: pd.DataFrame) -> tuple:
    """The date axis of an interval figure: every estimate, at most two years beyond them, padded."""
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


