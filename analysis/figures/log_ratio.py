"""Figure 2: log(share CN / share US) with its trend, the trend's band, its zero crossing and the Fieller set."""

from __future__ import annotations

import math
from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from ..panel import primary_series
from .data import (Definition, FigureInputError, TimeScale, crossover_alpha, estimand_text, frame,
                   headline_crossing, interval_rows, lag_text, level_text, method_crossing, number, series_row)
from .plots import crossover_marks, date_axis, finish
from .registry import FigureContext, FigureSpec, register
from .style import BAND_COLOR, CROSSOVER_COLOR, ORIGIN_STYLES, figure_size

#: How far past the last snapshot the log-ratio figure extends its trend to show a future crossing.
MAX_PROJECTION_DAYS = 3 * 365


def log_ratio_table(panel: pd.DataFrame, definition: Definition, trends: Mapping, crossover: Mapping) -> pd.DataFrame:
    """Figure 2: log(share_CN/share_US), its OLS trend with the HAC confidence band, the crossing and Fieller set.

    The band is ``a + b t +/- c * se(t)`` with ``se(t)^2 = V_aa + 2 t V_ab + t^2 V_bb`` (the HAC covariance of
    ``trends.json``) and ``c`` the critical value of the Fieller interval, so the band meets zero exactly at the
    ends of the Fieller set. The trend is drawn beyond the last snapshot (as a projection) up to the crossing
    and its interval, at most :data:`MAX_PROJECTION_DAYS` days. The trend rows' ``note`` names the band with the
    confidence level of ``crossover.json`` (e.g. ``"HAC 95% band"``); the legend shows it.
    """
    ols = trends.get("ols")
    if not isinstance(ols, Mapping) or "params" not in ols or "cov" not in ols:
        raise FigureInputError("trends.json: lacks ols.params and ols.cov (the HAC trend of the log ratio); "
                               "rerun notebook 04 (trends)")
    a, b = (number(v) for v in ols["params"])
    cov = np.array([[number(v) for v in row] for row in ols["cov"]], dtype=float)
    scale = TimeScale.from_trends(trends, definition.frequency)
    series = primary_series(panel, definition.measure, definition.rule, definition.scope,
                            frequency=definition.frequency)
    alpha = crossover_alpha(crossover)
    fieller = (crossover.get("methods") or {}).get("fieller") or {}
    crit = number(fieller.get("critical")) if fieller.get("critical") is not None else math.nan
    if not math.isfinite(crit):
        df = ols.get("df_resid")
        df = int(df) if df is not None else int(series["log_ratio"].notna().sum()) - 2
        crit = float(stats.t.ppf(1 - alpha / 2, max(df, 1)))
    crossing = method_crossing(crossover, "fieller", scale) or headline_crossing(crossover)
    first, last = series["date"].iloc[0], series["date"].iloc[-1]
    end = last
    for d in (crossing.estimate, crossing.upper, crossing.lower) + tuple(crossing.gap or ()):
        if d is not None and d > end:
            end = d
    end = min(end + pd.Timedelta(days=28), last + pd.Timedelta(days=MAX_PROJECTION_DAYS)) if end > last else last
    rows = [series_row("observed", "", "log(CN/US)", d, value=v) for d, v in zip(series["date"], series["log_ratio"])]
    t_end = scale.to_t(end)
    ts = np.arange(0.0, math.floor(t_end) + 1.0)
    fit = a + b * ts
    se = np.sqrt(np.maximum(cov[0, 0] + 2 * ts * cov[0, 1] + ts * ts * cov[1, 1], 0.0))
    t_last = scale.to_t(last)
    band = f"HAC {level_text(alpha)} band"
    for t, f, s in zip(ts, fit, se):
        rows.append(series_row("trend" if t <= t_last + 1e-9 else "projection", "", "log(CN/US)", scale.to_date(t),
                         value=f, lower=f - crit * s, upper=f + crit * s, note=band))
    rows += interval_rows(crossing, "", first, end, level_text(alpha))
    out = frame(rows)
    out.loc[out["element"] == "interval", "note"] = "Fieller " + out.loc[out["element"] == "interval", "note"]
    return out



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
    crossover_marks(ax, table[table["element"] == "crossover"], y=0.0)
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
    return (f"log(share CN / share US) for {ctx.definition.label()}. Points: observed periods (gaps are missing "
            f"snapshots); line: OLS trend with its {lvl} band from Newey-West (HAC) errors{inference_note(ctx)} "
            "(dashed beyond the last snapshot: projection). The trend crosses zero at the estimated crossover; the "
            f"thick bar on the zero line is its Fieller {lvl} confidence set, the dates at which the band contains "
            f"zero. {estimand_text(ctx.definition)} {lag_text(ctx.definition.measure)}")


SPEC = register(FigureSpec(2, "log_ratio_trend_crossover",
                           "Log ratio of Chinese to US download shares, trend and crossing",
                           table=_table, caption=_caption, plot=plot_log_ratio_trend,
                           inputs=("panel", "trends", "crossover")))
