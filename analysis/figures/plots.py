"""Drawing helpers shared by the figures: date axes, origin lines, crossover marks, interval rows, labels.

Each figure's own ``plot_*`` function lives in its module (see :mod:`analysis.figures.registry`) and draws only
from the table it is given. Every plot function returns a :class:`matplotlib.figure.Figure` drawn in the study's
style; the driver :func:`analysis.figures.make_figure` calls it inside :func:`analysis.figures.style.paper_style`.
Marks that tests and readers look for carry a matplotlib ``gid``: ``"crossover"`` (the estimated crossing),
``"crossover-interval"`` (its confidence set), ``"trend-band"`` (the HAC band), ``"simulated-watermark"`` (demo
runs). The interval figures (6 and 7) draw their rows with :func:`draw_set_row` and key every kind of mark in a
legend made by :func:`keyed_legend`, whose entries carry the gids of the marks they key.
"""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import pandas as pd

from ..schema import REGIONS
from .data import pieces_from_json
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


# --------------------------------------------------------------------------------------------------
# rows of estimates with their confidence sets (figures 6 and 7), every mark keyed in the legend
# --------------------------------------------------------------------------------------------------
#: The ``gid`` of each kind of mark the interval figures draw. Every drawn kind has a legend entry carrying the
#: same gid (see :func:`keyed_legend`), which the tests check.
MARK_ESTIMATE = "crossover"
MARK_POINT = "crossover-point"
MARK_INTERVAL = "crossover-interval"
MARK_UNBOUNDED = "unbounded-end"
#: Marker of an estimate with a confidence set, and of a date without one.
ESTIMATE_MARKER = "o"
POINT_MARKER = "D"
#: Colour of this study's marks.
OURS_COLOR = CROSSOVER_COLOR


def inset_limits(xlim: tuple, frac: float = 0.008) -> tuple:
    """The date axis' ends moved inwards by ``frac`` of its span: where arrow heads of open ends sit, inside the
    axes (so they never run into the row labels)."""
    lo, hi = xlim
    d = (hi - lo) * frac
    return lo + d, hi - d


def draw_set_row(ax, y: float, estimate, pieces: list, xlim: tuple, *, point: bool = False,
                 color: str = OURS_COLOR, lw: float = 1.1, ms: float = 4.0) -> None:
    """One estimate with its confidence set on a date axis.

    Each piece of the set is a line (gid :data:`MARK_INTERVAL`); an end that is open (None) is drawn as an arrow
    head at the axis edge (gid :data:`MARK_UNBOUNDED`); the estimate is a filled marker (gid
    :data:`MARK_ESTIMATE`), or, for a date without an interval (``point``), a hollow diamond (gid
    :data:`MARK_POINT`). Finite ends beyond the axis are clipped to it.
    """
    lo, hi = inset_limits(xlim)
    for a, b in pieces:
        left = lo if a is None else max(a, lo)
        right = hi if b is None else min(b, hi)
        if left > right:
            continue
        ax.plot([left, right], [y, y], color=color, lw=lw, solid_capstyle="butt", gid=MARK_INTERVAL, zorder=3)
        for end, is_open, mk in ((lo, a is None, "<"), (hi, b is None, ">")):
            if is_open:
                ax.plot([end], [y], marker=mk, color=color, ms=ms + 0.5, ls="none", clip_on=False,
                        gid=MARK_UNBOUNDED, zorder=4)
    if estimate is None:
        return
    if point:
        ax.plot([estimate], [y], marker=POINT_MARKER, color=color, mfc="white", mew=0.9, ms=ms, ls="none",
                gid=MARK_POINT, zorder=5)
    else:
        ax.plot([estimate], [y], marker=ESTIMATE_MARKER, color=color, ms=ms, ls="none", gid=MARK_ESTIMATE,
                zorder=5)


def set_handles(level: str, *, prefix: str = "", point: bool = True) -> list:
    """Legend handles of :func:`draw_set_row`'s marks (each carrying its mark's gid)."""
    from matplotlib.lines import Line2D

    lev = f"{level} " if level else ""
    out = [Line2D([], [], marker=ESTIMATE_MARKER, color=OURS_COLOR, ms=4.0, ls="none", gid=MARK_ESTIMATE,
                  label=f"{prefix}estimated crossover date"),
           Line2D([], [], color=OURS_COLOR, lw=1.1, gid=MARK_INTERVAL, label=f"{prefix}{lev}confidence set"),
           Line2D([], [], color=OURS_COLOR, lw=1.1, marker=">", ms=4.5, gid=MARK_UNBOUNDED,
                  label=f"{prefix}set unbounded on that side")]
    if point:
        out.append(Line2D([], [], marker=POINT_MARKER, color=OURS_COLOR, mfc="white", mew=0.9, ms=4.0, ls="none",
                          gid=MARK_POINT, label="date without an interval (first passage)"))
    return out


def keyed_legend(fig, handles: list, **kwargs):
    """A figure legend whose entries carry the gids of the handles they were made from (matplotlib draws copies
    of the handles, without their gid), so that a test can check that every kind of mark drawn is keyed."""
    leg = fig.legend(handles=handles, **kwargs)
    drawn = getattr(leg, "legend_handles", None) or getattr(leg, "legendHandles", [])
    for src, h in zip(handles, drawn):
        if h is not None:
            h.set_gid(src.get_gid())
    return leg


def wrap_words(text: str, width: int, max_lines: int | None = None) -> str:
    """``text`` broken into lines of at most ``width`` characters at spaces (never inside a word); with
    ``max_lines``, the lines after it are dropped at a word boundary and " …" marks the cut."""
    lines = textwrap.wrap(str(text), width=width, break_long_words=False, break_on_hyphens=False)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and len(last) + 2 > width and " " in last:
            last = last.rsplit(" ", 1)[0]
        lines[-1] = last + " …"
    return "\n".join(lines)


def interval_date_limits(table: pd.DataFrame) -> tuple:
    """The date axis of an interval figure (Figures 6 and 7): every estimate, set end and piece end drawn, at most
    two years beyond the estimates, padded by 5% (at least 20 days)."""
    ends = [d for c in ("estimate_date", "lower_date", "upper_date") for d in table[c].dropna()]
    for p in table["pieces"]:
        ends += [x for a_b in pieces_from_json(p) for x in a_b if x is not None]
    vals = pd.Series(pd.to_datetime(ends))
    if vals.empty:
        t = pd.Timestamp("2025-01-01")
        return t - pd.Timedelta(days=365), t + pd.Timedelta(days=365)
    lo, hi = vals.min(), vals.max()
    ests = pd.to_datetime(table["estimate_date"].dropna())
    if not ests.empty:
        lo = max(lo, ests.min() - pd.Timedelta(days=730))
        hi = min(hi, ests.max() + pd.Timedelta(days=730))
    pad = max((hi - lo) * 0.05, pd.Timedelta(days=20))
    return lo - pad, hi + pad
