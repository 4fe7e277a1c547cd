"""Figure 14: the CN and US shares under each scope side by side (all models, generative models, the trackers'
first-party generative models), each with its own crossover and confidence set.

The sign and date of the answer depend on which models are counted: embedding and classic language models
(sentence-transformers, google-bert, ...) weigh heavily in "all models", while claims about "AI models" usually
mean generative ones. This figure puts the three answers where a reader sees them together.
"""

from __future__ import annotations

import textwrap
from typing import Mapping

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import PercentFormatter

from .data import Crossing, pieces_of, date_or_none, frame, interval_rows, missing_periods, series_row, with_gaps
from .labels import RULE_LABELS, SCOPE_LABELS, label, region_label
from .plots import crossover_marks, finish, origin_lines
from .registry import FigureContext, FigureSpec, register
from .style import figure_size

#: The scopes shown, in order.
SCOPES_SHOWN = ("all", "llm", "first_party_llm")


def scope_shares_table(panel: pd.DataFrame, measure: str, rule: str, frequency: str, by_scope: Mapping,
                       level: str) -> pd.DataFrame:
    """CN and US shares for each scope of :data:`SCOPES_SHOWN` (``panel`` = scope), with each scope's crossing.

    Parameters
    ----------
    panel : pandas.DataFrame
        The tidy panel.
    measure, rule, frequency : str
        The headline's measure, rule (panel name) and period grid.
    by_scope : mapping
        ``crossover.json`` headline ``by_scope``: each scope's estimate and set.
    level : str
        Confidence level as text, for the labels.
    """
    rows: list[dict] = []
    for scope in SCOPES_SHOWN:
        sel = panel[(panel["measure"] == measure) & (panel["rule"] == rule) & (panel["scope"] == scope)]
        if sel.empty:   # a panel built without this scope: no empty panel is drawn
            continue
        missing = missing_periods(sel["date"].unique(), frequency)
        for region in ("CN", "US"):
            r = sel[sel["region"] == region].sort_values("date")
            line = [series_row("share", scope, region, d, value=s, n=n)
                    for d, s, n in zip(r["date"], r["share"], r["n_models"])]
            rows += with_gaps(line, missing, element="share", panel=scope, group=region) if line else []
        a = by_scope.get(scope) or {}
        if a.get("estimate_date"):
            c = Crossing("local_linear", date_or_none(a.get("estimate_date")), date_or_none(a.get("lower_date")),
                         date_or_none(a.get("upper_date")), str(a.get("kind", "bounded")), pieces=pieces_of(a))
            rows += interval_rows(c, scope, sel["date"].min(), sel["date"].max(), level)
        else:
            rows.append(series_row("no_crossing", scope, "CN=US", sel["date"].max(),
                                   note=f"no overtaking date ({str(a.get('kind', 'not estimated')).replace('_', ' ')})"))
    return frame(rows)


def plot_scope_shares(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 14: one panel per scope, CN and US shares with that scope's crossover and set; one shared legend."""
    scopes = [s for s in SCOPES_SHOWN if (table["panel"] == s).any()]
    fig, axes = plt.subplots(1, max(len(scopes), 1), figsize=figure_size("two", 2.9), sharey=True, squeeze=False)
    handles: dict = {}
    for ax, scope in zip(axes[0], scopes):
        sub = table[table["panel"] == scope]
        origin_lines(ax, sub, "share")
        shares = sub.loc[sub["element"] == "share", "date"]
        ax.set_xlim(shares.min(), shares.max())
        crossover_marks(ax, sub)
        cross = sub[sub["element"] == "crossover"]
        none = sub[sub["element"] == "no_crossing"]
        answer = (f"crossover {cross['date'].iloc[0]:%Y-%m-%d}" if not cross.empty
                  else (none["note"].iloc[0] if not none.empty else ""))
        ax.set_title(textwrap.fill(label(SCOPE_LABELS, scope), 34) + f"\n{answer}", fontsize=7)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(bottom=0)
        loc = mdates.AutoDateLocator(minticks=2, maxticks=4)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))
        for h, lab in zip(*ax.get_legend_handles_labels()):
            # one legend entry per kind of mark: the dates differ by panel and are in the titles
            key = ("Crossover estimate" if lab.startswith("Crossover estimate") else
                   f"{lab.split(' ')[0]} confidence set" if lab[:1].isdigit() else lab)
            handles.setdefault(key, h)
    axes[0][0].set_ylabel(f"Share of downloads ({definition_label.split(',')[0]})")
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center", ncols=3, fontsize=6.5)
    return finish(fig, simulated)


def _table(ctx: FigureContext) -> pd.DataFrame:
    cross = ctx.check_definition("crossover")
    d = ctx.definition
    return scope_shares_table(ctx.inputs.panel, d.measure, d.rule, d.frequency,
                              (cross.get("headline") or {}).get("by_scope") or {}, ctx.level)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    d = ctx.definition
    parts = []
    for scope in SCOPES_SHOWN:
        cross = table[(table["panel"] == scope) & (table["element"] == "crossover")]
        none = table[(table["panel"] == scope) & (table["element"] == "no_crossing")]
        text = cross["note"].iloc[0] if not cross.empty else (none["note"].iloc[0] if not none.empty else "not shown")
        parts.append(f"{label(SCOPE_LABELS, scope)}: {text}")
    return (f"Chinese and US shares of {label(RULE_LABELS, d.rule)}-rule downloads under three scopes: all models; "
            "generative models (text generation and image-text-to-text, what claims about \"AI models\" usually "
            "mean); and the first-party generative models of organisations (the scope of trackers of this race: "
            "no fine-tunes or quantizations by others, no individuals' uploads). Each panel's share is of that "
            f"scope's downloads, with its own crossover (dashed) and {ctx.level} confidence set (shaded; an arrow at "
            "the edge: the set goes on beyond the plotted dates), estimated as the headline is. "
            + "; ".join(parts) + f". {region_label('CN')} and {region_label('US')} only; the other origins hold the "
            "rest of each scope's downloads.")


SPEC = register(FigureSpec(14, "download_share_by_scope", "Which models are counted: shares under three scopes",
                           table=_table, caption=_caption, plot=plot_scope_shares, inputs=("panel", "crossover")))
