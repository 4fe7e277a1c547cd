"""Figure 7: this study's crossover estimates beside the crossover periods claimed in published work."""

from __future__ import annotations

import math
from typing import Any, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ..contracts import PUBLISHED_COLUMNS
from .data import (METHOD_ORDER, Crossing, Definition, TimeScale, date_or_none, headline_crossing, iv_frame,
                   level_text, method_crossing)
from .labels import method_label
from .plots import date_axis, date_limits, draw_interval_rows, finish, level_of
from .registry import FigureContext, FigureSpec, register
from .style import CROSSOVER_COLOR, figure_size

#: The columns of the published estimates the figure reads (declared in analysis.contracts).
PUBLISHED_READ = [c for c in PUBLISHED_COLUMNS if c not in ("citation", "url")]


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "yes", "v", "1", "verified")
    return bool(v) and not (isinstance(v, float) and math.isnan(v))


def published_table(published: pd.DataFrame, ours: list[Crossing], definition: Definition,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Figure 7: our crossover estimates beside the published ones.

    Published claims give a period (start, end) in which the crossover happened, not an estimate with an
    interval; they are drawn as a span. Claims without a period are listed with the note "no date given".
    ``highlight`` marks our rows; ``kind`` is "verified" or "secondary" for published rows (read in the primary
    source, or only in secondary reports).
    """
    rows = []
    for c in ours:
        rows.append({"row": np.nan, "label": f"This study: {method_label(c.method)}", "source": "this study",
                     "method": c.method,
                     "estimate_date": c.estimate, "lower_date": c.lower, "upper_date": c.upper, "kind": c.kind,
                     "highlight": True, "level": level_text(alpha) if c.kind != "point" else "",
                     "note": f"{definition.label()}; {level_text(alpha)} interval"})
    for _, r in published.iterrows():
        src = str(r["source"])
        short = src.split(",")[0].split("(")[0].strip()
        label = short if len(short) <= 38 else short[:37] + "…"
        start, end = date_or_none(r["crossover_period_start"]), date_or_none(r["crossover_period_end"])
        rows.append({"row": np.nan, "label": label, "source": src, "method": str(r.get("measure", "")),
                     "estimate_date": None, "lower_date": start, "upper_date": end,
                     "kind": "verified" if _truthy(r["verified"]) else "secondary", "highlight": False, "level": "",
                     "note": str(r["claim"]) if start is not None or end is not None else
                     "no date given: " + str(r["claim"])})
    return iv_frame(rows)


def our_crossings(crossover: Mapping, scale: TimeScale) -> list[Crossing]:
    """The headline crossing followed by every other method of ``crossover.json`` (each once, in a fixed order)."""
    head = headline_crossing(crossover)
    out = [head]
    methods = list((crossover.get("methods") or {}).keys())
    methods.sort(key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m))
    if "first_passage" in methods:
        methods.append("first_passage_level")
    for m in methods:
        if m == head.method:
            continue
        c = method_crossing(crossover, m, scale)
        if c is not None:
            out.append(c)
    return out



def plot_published_comparison(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 7: our crossover estimates beside the published estimates (claimed periods)."""
    n = len(table)
    fig, ax = plt.subplots(figsize=figure_size("two", 1.3 + 0.28 * n))
    xlim = date_limits(table)
    ax.set_xlim(*xlim)
    draw_interval_rows(ax, table, xlim)
    ax.set_yticks(table["row"].to_numpy(), table["label"].tolist())
    ax.set_ylim(n - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Crossover date (CN passes US)")
    date_axis(ax)
    level = level_of(table[table["highlight"]])
    handles = [Line2D([], [], marker="o", color=CROSSOVER_COLOR, ls="-",
                      label=f"This study: estimate and {level + ' ' if level else ''}interval"),
               plt.Rectangle((0, 0), 1, 1, facecolor="#999999", edgecolor="#333333", lw=0.6,
                             label="Published period (read in the source)"),
               plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="#333333", hatch="////", lw=0.6,
                             label="Published period (secondary reports only)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return finish(fig, simulated)



def _table(ctx: FigureContext) -> pd.DataFrame:
    pub = ctx.inputs.table("published_estimates", PUBLISHED_READ)
    scale = TimeScale.from_trends(ctx.inputs.trends, ctx.definition.frequency)
    return published_table(pub, our_crossings(ctx.inputs.crossover, scale), ctx.definition, ctx.alpha)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    return (f"This study's crossover estimates ({ctx.definition.label()}; markers with {ctx.level} intervals) beside "
            "the crossover periods claimed in published work (bars; hatched: seen only in secondary reports). "
            "Published claims use other measures, scopes and attribution rules, and none gives a confidence "
            "interval.")


SPEC = register(FigureSpec(7, "published_estimates_comparison",
                           "Our crossover estimates beside published estimates",
                           table=_table, caption=_caption, plot=plot_published_comparison,
                           inputs=("published_estimates", "crossover", "trends")))
