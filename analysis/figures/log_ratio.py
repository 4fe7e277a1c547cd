"""Figure 2: log(share CN / share US), the headline's local-linear path and band, its crossing and confidence set,
with the straight line of the secondary methods for comparison."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import pandas as pd

from ..panel import primary_series
from .data import (Definition, FigureInputError, TimeScale, crossover_alpha, estimand_text, frame,
                   headline_crossing, interval_rows, lag_text, level_text, number, series_row)
from .plots import crossover_marks, date_axis, finish
from .registry import FigureContext, FigureSpec, register
from .style import BAND_COLOR, CROSSOVER_COLOR, ORIGIN_STYLES, figure_size


def log_ratio_table(panel: pd.DataFrame, definition: Definition, trends: Mapping, crossover: Mapping) -> pd.DataFrame:
    """Figure 2: log(share_CN/share_US), the local-linear path with its band, the crossing and its set.

    ``path`` rows: the headline's local-linear fit at each tested time (``crossover.json`` methods.local_linear.path)
    with ``lower``/``upper`` = fitted -/+ critical value x standard error, so the band contains zero exactly on the
    confidence set. ``straight`` rows: the OLS line of ``trends.json`` (what the secondary methods assume), for
    comparison. ``interval`` and ``open_end`` rows: the headline set on the zero line, cut at the plotted dates
    with an arrow where it goes on; ``crossover``: the headline date.
    """
    loc = (crossover.get("methods") or {}).get("local_linear") or {}
    path = loc.get("path") if isinstance(loc, Mapping) else None
    if not isinstance(path, Mapping) or not path.get("t"):
        raise FigureInputError("crossover.json: lacks methods.local_linear.path (the headline's fitted path); "
                               "rerun notebook 05 (crossover)")
    series = primary_series(panel, definition.measure, definition.rule, definition.scope,
                            frequency=definition.frequency)
    alpha = crossover_alpha(crossover)
    t0 = pd.Timestamp(crossover.get("first_date") or series["date"].iloc[0])
    pdays = number(crossover.get("period_days", 7.0))
    rows = [series_row("observed", "", "log(CN/US)", d, value=v) for d, v in zip(series["date"], series["log_ratio"])]
    band = f"Local-linear path with its {level_text(alpha)} band"
    for t, f, se, c in zip(path["t"], path["fitted"], path["se"], path["critical"]):
        f, se, c = number(f), number(se), number(c)
        rows.append(series_row("path", "", "log(CN/US)", t0 + pd.Timedelta(days=number(t) * pdays), value=f,
                               lower=f - c * se, upper=f + c * se, note=band))
    ols = trends.get("ols")
    if isinstance(ols, Mapping) and "params" in ols:
        a, b = (number(v) for v in ols["params"])
        scale = TimeScale.from_trends(trends, definition.frequency)
        for d in series["date"]:
            rows.append(series_row("straight", "", "log(CN/US)", d, value=a + b * scale.to_t(d),
                                   note="One straight line (OLS; assumed by the secondary methods)"))
    first, last = series["date"].iloc[0], series["date"].iloc[-1]
    rows += interval_rows(headline_crossing(crossover), "", first, last, level_text(alpha))
    return frame(rows)


def plot_log_ratio_trend(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 2: log(share CN / share US) with the local-linear path, its band, the crossing and its set."""
    fig, ax = plt.subplots(figsize=figure_size("one", 2.9))
    obs = table[table["element"] == "observed"]
    ax.plot(obs["date"], obs["value"], ls="none", marker="o", ms=2.2, color="#333333", label="Observed periods")
    path = table[table["element"] == "path"]
    note = next((n for n in path["note"] if n), "Local-linear path")
    ax.fill_between(path["date"], path["lower"], path["upper"], color=BAND_COLOR, alpha=0.6, lw=0, gid="path-band",
                    label=note.replace("Local-linear path with its ", "").capitalize())
    ax.plot(path["date"], path["value"], color=ORIGIN_STYLES["CN"].color, lw=1.4, label="Local-linear path")
    st = table[table["element"] == "straight"]
    if not st.empty:
        ax.plot(st["date"], st["value"], color="#555555", lw=0.8, ls=(0, (4, 2)), gid="straight-line",
                label="One straight line (for comparison)")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlim(obs["date"].min(), obs["date"].max())
    seen: set = set()
    for _, r in table[table["element"] == "interval"].iterrows():
        ax.plot([r["date"], r["date_end"]], [0, 0], color=CROSSOVER_COLOR, lw=3.0, solid_capstyle="butt",
                gid="crossover-interval", label="_nolegend_" if r["note"] in seen else "Set: " + r["note"], zorder=4)
        seen.add(r["note"])
    crossover_marks(ax, table[table["element"].isin(["crossover", "open_end"])], y=0.0)
    ax.set_ylabel("log(share CN / share US)")
    ax.set_xlabel("Date")
    date_axis(ax)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=6)
    return finish(fig, simulated)


def inference_note(ctx: FigureContext) -> str:
    """How the trend band's critical value was obtained, for the caption of figure 2.

    Under fixed-b inference the Bartlett bandwidth M is the one ``crossover.json`` records
    (``headline.inference.bandwidth_periods``; M = lags + 1), never the lag count of ``trends.json``.
    """
    ols = ctx.inputs.trends.get("ols") or {}
    if ols.get("inference") == "fixed_b":
        inf = (ctx.inputs.crossover.get("headline") or {}).get("inference") or {}
        bw, b = inf.get("bandwidth_periods"), inf.get("bandwidth_b", ols.get("bandwidth_b"))
        frac = f", b = {float(b):g} of the sample" if b is not None else ""
        what = (f"Bartlett bandwidth {bw} periods{frac}" if bw is not None
                else f"Bartlett kernel with {ols.get('hac_lags', '?')} lags{frac}")
        return f" with a fixed-b critical value ({what}; Kiefer and Vogelsang 2005)"
    return f" ({ols.get('hac_lags', '?')} lags, t critical value)" if ols else ""


def _table(ctx: FigureContext) -> pd.DataFrame:
    trends = ctx.check_definition("trends")
    cross = ctx.check_definition("crossover")
    return log_ratio_table(ctx.inputs.panel, ctx.definition, trends, cross)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    lvl = ctx.level
    st = ((ctx.inputs.crossover.get("headline") or {}).get("settings") or {})
    bw = st.get("bandwidth_periods")
    bw_text = f" ({float(bw):g} periods either side)" if bw is not None else ""
    return (f"log(share CN / share US) for {ctx.definition.label()}. Points: observed periods (gaps are missing "
            f"snapshots). Solid line: the local-linear path of the headline{bw_text}, which follows jumps and "
            f"saturation instead of assuming one straight line; shaded: its {lvl} band, with noise that persists and "
            "is seen through the measure's window. The thick bar on the zero line is the confidence set of the "
            "crossing: the dates at which the band contains zero (an arrow at an edge: the set goes on beyond the "
            f"plotted dates). Dashed: one straight line fitted by OLS{inference_note(ctx)}, which the secondary "
            f"methods of Figure 6 assume, for comparison. {estimand_text(ctx.definition)} "
            f"{lag_text(ctx.definition.measure)}")


SPEC = register(FigureSpec(2, "log_ratio_trend_crossover",
                           "Log ratio of Chinese to US download shares, fitted path and crossing",
                           table=_table, caption=_caption, plot=plot_log_ratio_trend,
                           inputs=("panel", "trends", "crossover")))
