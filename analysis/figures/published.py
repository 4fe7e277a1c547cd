"""Figure 7: each published crossover claim beside this study's estimate under the nearest definition.

Published claims use their own measures, scopes and attribution rules. Notebook 05 sets each claim beside our
estimate under the nearest definition the sensitivity grid holds (``published_comparison.csv``,
:func:`analysis.stats.published.compare_published`); the figure draws the two right beside each other, one pair per
claim: the published period (a bar; hatched when seen only in secondary reports; an arrow where it is open on one
side; a quoted note when the claim gives no date) and, under it, our estimate with its confidence set, the
definition and method in words.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..contracts import COMPARISON_COLUMNS
from .data import (INTERVAL_COLUMNS, SET_KINDS, date_or_none, lag_text, level_text,
                   our_crossings, pieces_from_json, pieces_json)
from .labels import MEASURE_LABELS, METHOD_WORDS, RULE_LABELS, SCOPE_LABELS, label
from .plots import (date_axis, draw_set_row, finish, inset_limits, interval_date_limits, keyed_legend, level_of,
                    set_handles, wrap_words)
from .registry import FigureContext, FigureSpec, register
from .style import TWO_COLUMN

__all__ = ["comparison_table", "plot_published_comparison", "our_crossings"]

#: The columns of ``published_comparison.csv`` the figure reads (``our_method`` and ``our_pieces_dates`` when the
#: file has them).
COMPARISON_READ = [c for c in COMPARISON_COLUMNS if c not in ("our_method", "our_pieces_dates", "agreement",
                                                              "simulated")]
#: Extra columns of figure 7's table beside :data:`analysis.figures.data.INTERVAL_COLUMNS`.
PUBLISHED_EXTRA = ("claim", "pair", "role", "definition", "matched", "agreement", "pieces", "height")
#: ``role`` of a row: the published claim, or our estimate beside it.
ROLE_PUBLISHED, ROLE_OURS = "published", "this study"

#: Gids of the published marks (keyed in the legend beside those of :func:`analysis.figures.plots.set_handles`).
MARK_VERIFIED = "published-period"
MARK_SECONDARY = "published-period-secondary"
MARK_OPEN = "published-open-end"
MARK_NO_DATE = "published-no-date"
#: Smallest text of the figure (points, at its printed size).
MIN_FONT = 6.5
#: Row heights (inches): a published period, our estimate (at least), one line of a quoted note or label, the gap
#: between claims.
PUB_ROW, OURS_ROW, NOTE_LINE, GROUP_GAP = 0.24, 0.30, 0.115, 0.12
#: What the figure needs besides its rows (inches): date axis, legend, the SIMULATED DATA label.
OVERHEAD = 1.35
#: Characters per line of a quoted note (fits the plotting area at :data:`MIN_FONT` points) and of a row label.
NOTE_WIDTH, LABEL_WIDTH = 72, 52
PERIOD_GREY = "#999999"
EDGE = "#333333"


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "yes", "v", "1", "verified")
    return bool(v) and not (isinstance(v, float) and math.isnan(v))


def _definition_words(measure: Any, rule: Any, scope: Any) -> str:
    rule = str(rule)
    alt = rule.endswith("_alt")
    base = rule[:-4] if alt else rule
    return (f"{label(MEASURE_LABELS, measure)}, {label(RULE_LABELS, base)} rule, {label(SCOPE_LABELS, scope)}"
            + (", contested origins read the other way" if alt else ""))


def _pack(parts: list[str], width: int) -> str:
    """Parts of a phrase joined by ", " into lines of at most ``width`` characters, breaking only between parts
    (a part longer than a line is broken at spaces)."""
    lines: list[str] = []
    for i, part in enumerate(parts):
        piece = part + ("," if i < len(parts) - 1 else "")
        if lines and len(lines[-1]) + 1 + len(piece) <= width:
            lines[-1] += " " + piece
        else:
            lines += wrap_words(piece, width).split("\n")
    return "\n".join(lines)


def _method_words(method: str) -> str:
    return METHOD_WORDS.get(method, str(method)).split(" (")[0].lower()


def comparison_table(comparison: pd.DataFrame, *, headline_method: str = "local_linear",
                     alpha: float = 0.05) -> pd.DataFrame:
    """Figure 7's table: for each published claim (``published_comparison.csv``), a row for its period and a row
    for our estimate under the nearest definition, right beneath it.

    Published rows: ``lower_date``/``upper_date`` the period claimed (an empty end: open on that side), ``kind``
    "verified" (read in the source) or "secondary" (seen only in secondary reports), or "no_date" when the claim
    gives none (``note`` quotes it). Our rows: the estimate, the ends of the set (empty: unbounded) and ``pieces``
    (the whole set), ``kind`` as the grid says, ``definition`` the definition in words, ``matched`` how it was
    matched, ``agreement`` notebook 05's verdict. ``row`` is the row's centre and ``height`` its height, both in
    inches of the plotting area (rows differ in height: a quoted note takes as many lines as it needs).

    Parameters
    ----------
    comparison : pandas.DataFrame
        ``published_comparison.csv`` (notebook 05).
    headline_method : str
        The method of our estimates when the file does not name it (``our_method``).
    alpha : float
        1 - confidence level of our sets.
    """
    level = level_text(alpha)
    rows = []
    y = 0.0
    for i, r in comparison.reset_index(drop=True).iterrows():
        start, end = date_or_none(r.get("their_period_start")), date_or_none(r.get("their_period_end"))
        claim = str(r.get("claim", ""))
        src = str(r.get("source", ""))
        if start is None and end is None:
            kind = "no_date"
            note = wrap_words("No crossover date given. Claim: " + claim, NOTE_WIDTH)
            h = max(PUB_ROW, NOTE_LINE * (note.count("\n") + 1) + 0.06)
        else:
            kind = "verified" if _truthy(r.get("verified")) else "secondary"  # V: read in the source; S: not
            note = claim
            h = PUB_ROW
        if i:
            y += GROUP_GAP
        rows.append({"row": y + h / 2, "height": h, "label": wrap_words(src, LABEL_WIDTH), "source": src,
                     "method": "", "estimate_date": None, "lower_date": start, "upper_date": end, "kind": kind,
                     "highlight": False, "level": "", "note": note, "claim": claim, "pair": i,
                     "role": ROLE_PUBLISHED,
                     "definition": _definition_words(r.get("their_measure"), r.get("their_rule"),
                                                     r.get("their_scope")),
                     "matched": "", "agreement": str(r.get("agreement", "") or ""), "pieces": ""})
        y += h
        method = str(r.get("our_method") or "") if not pd.isna(r.get("our_method", None)) else ""
        method = method or headline_method
        est = date_or_none(r.get("our_estimate_date"))
        lo, hi = date_or_none(r.get("our_lower_date")), date_or_none(r.get("our_upper_date"))
        okind = str(r.get("our_kind", ""))
        pieces = pieces_from_json(r.get("our_pieces_dates")) if isinstance(r.get("our_pieces_dates"), str) else []
        if not pieces and okind in SET_KINDS and (est is not None or lo is not None or hi is not None):
            pieces = [(lo, hi)]
        definition = _definition_words(r.get("our_measure"), r.get("our_rule"), r.get("our_scope"))
        matched = str(r.get("matched", ""))
        head = "This study, nearest definition" if matched.startswith("same") else \
            "This study, headline (none nearer)"
        words = head + ":\n" + _pack(definition.split(", "), LABEL_WIDTH)
        h = max(OURS_ROW, NOTE_LINE * (words.count("\n") + 1) + 0.07)
        rows.append({"row": y + h / 2, "height": h, "label": words, "source": "this study",
                     "method": method, "estimate_date": est, "lower_date": lo, "upper_date": hi,
                     "kind": okind if est is not None or pieces else (okind or "no_estimate"), "highlight": True,
                     "level": level if pieces else "",
                     "note": f"{_method_words(method)}; {definition}; {matched}", "claim": claim, "pair": i,
                     "role": ROLE_OURS, "definition": definition, "matched": matched,
                     "agreement": str(r.get("agreement", "") or ""), "pieces": pieces_json(pieces)})
        y += h
    out = pd.DataFrame(rows, columns=INTERVAL_COLUMNS + list(PUBLISHED_EXTRA))
    for c in ("estimate_date", "lower_date", "upper_date"):
        out[c] = pd.to_datetime(out[c])
    out["highlight"] = out["highlight"].astype(bool)
    for c in ("row", "height"):
        out[c] = out[c].astype(float)
    return out


def figure7_height(table: pd.DataFrame) -> float:
    """The figure's height (inches): its rows and what it needs besides them."""
    if table.empty:
        return OVERHEAD + 1.0
    return OVERHEAD + float((table["row"] + table["height"] / 2).max())


def plot_published_comparison(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 7 from :func:`comparison_table`: each published period with our estimate right beneath it.

    Every kind of mark has a legend entry (:func:`analysis.figures.plots.keyed_legend`); no text is smaller than
    :data:`MIN_FONT` points at the printed size (7.2 in wide).
    """
    fig, ax = plt.subplots(figsize=(TWO_COLUMN, figure7_height(table)))
    xlim = interval_date_limits(table)
    ax.set_xlim(*xlim)
    lo, hi = xlim
    ilo, ihi = inset_limits(xlim, 0.012)
    bottom = float((table["row"] + table["height"] / 2).max()) if len(table) else 1.0
    kinds = set()
    for _, r in table.iterrows():
        y = r["row"]
        if r["role"] == ROLE_PUBLISHED:
            a = r["lower_date"] if pd.notna(r["lower_date"]) else None
            b = r["upper_date"] if pd.notna(r["upper_date"]) else None
            if r["kind"] == "no_date":
                ax.plot([ilo], [y], marker="$?$", ms=6, color=EDGE, ls="none", gid=MARK_NO_DATE)
                ax.text(ilo, y, "    " + r["note"].replace("\n", "\n    "), va="center", ha="left",
                        fontsize=MIN_FONT, color=EDGE, linespacing=1.15)
                kinds.add(MARK_NO_DATE)
                continue
            a2, b2 = (a if a is not None else lo), (b if b is not None else hi)
            verified = r["kind"] == "verified"
            ax.barh(y, (b2 - a2) + pd.Timedelta(days=1), left=a2, height=min(0.16, 0.7 * r["height"]),
                    color=PERIOD_GREY if verified else "white", edgecolor=EDGE, hatch=None if verified else "////",
                    lw=0.6, gid=MARK_VERIFIED if verified else MARK_SECONDARY)
            kinds.add(MARK_VERIFIED if verified else MARK_SECONDARY)
            for end, is_open, mk in ((ilo, a is None, "<"), (ihi, b is None, ">")):
                if is_open:
                    ax.plot([end], [y], marker=mk, color=EDGE, mfc="white", ms=5, ls="none", gid=MARK_OPEN,
                            zorder=4)
                    kinds.add(MARK_OPEN)
            continue
        est = r["estimate_date"] if pd.notna(r["estimate_date"]) else None
        pieces = pieces_from_json(r["pieces"])
        if est is None and not pieces:
            ax.text(lo, y, f"  no crossover estimate under this definition ({r['kind'].replace('_', ' ')})",
                    va="center", fontsize=MIN_FONT, fontstyle="italic", color="#444444")
            continue
        draw_set_row(ax, y, est, pieces, xlim, point=r["kind"] == "point", lw=1.1, ms=4.0)
    labels = table["label"].tolist()
    ax.set_yticks(table["row"].to_numpy(dtype=float), labels)
    for tick, role in zip(ax.get_yticklabels(), table["role"]):
        tick.set_fontsize(MIN_FONT + 0.5 if role == ROLE_PUBLISHED else MIN_FONT)
        if role == ROLE_PUBLISHED:
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(bottom + 0.04, -0.04)
    ax.grid(axis="y", visible=False)
    pairs = table.drop_duplicates("pair", keep="first")
    for _, r in pairs.iloc[1:].iterrows():
        ax.axhline(r["row"] - r["height"] / 2 - GROUP_GAP / 2, color="#cccccc", lw=0.5, zorder=0,
                   gid="row-separator")
    ax.set_xlabel("Crossover date (CN passes US)")
    date_axis(ax)
    ours = table[table["role"] == ROLE_OURS]
    level = level_of(ours)
    method = ours["method"].iloc[0] if len(ours) and ours["method"].nunique() == 1 else ""
    prefix = "This study: "
    handles = [Patch(facecolor=PERIOD_GREY, edgecolor=EDGE, lw=0.6, gid=MARK_VERIFIED,
                     label="Published period, read in the source"),
               Patch(facecolor="white", edgecolor=EDGE, hatch="////", lw=0.6, gid=MARK_SECONDARY,
                     label="Published period, seen only in secondary reports"),
               Line2D([], [], marker=">", color=EDGE, mfc="white", ms=5, ls="none", gid=MARK_OPEN,
                      label="Published period open on that side"),
               Line2D([], [], marker="$?$", color=EDGE, ms=6, ls="none", gid=MARK_NO_DATE,
                      label="No crossover date given (claim quoted)")]
    handles += set_handles(level, prefix=prefix, point=bool((ours["kind"] == "point").any()))
    if method:  # the method, once
        handles[4].set_label(f"This study: estimate ({_method_words(method)}, nearest definition)")
    keyed_legend(fig, handles, loc="outside lower center", ncols=2, fontsize=MIN_FONT + 0.5)
    return finish(fig, simulated)


def _table(ctx: FigureContext) -> pd.DataFrame:
    comp = ctx.inputs.table("published_comparison", COMPARISON_READ, read_all=True)
    head = (ctx.inputs.crossover.get("headline") or {}).get("method", "local_linear")
    return comparison_table(comp, headline_method=str(head), alpha=ctx.alpha)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    ours = table[table["role"] == ROLE_OURS]
    method = _method_words(ours["method"].iloc[0]) if len(ours) else "the headline method"
    n_no = int(((table["role"] == ROLE_PUBLISHED) & (table["kind"] == "no_date")).sum())
    text = (f"Each crossover claim of published work (bold; bar: the period it gives, grey if read in the source, "
            "hatched if seen only in secondary reports, arrow where it is open on one side) with this study's "
            f"estimate right beneath it under the nearest definition our data allow (named in words; the {method} on "
            f"the full window, marker with its {ctx.level} confidence set, arrows: unbounded). The definitions are "
            "the nearest in this study's terms, not the claims' own: published measures, scopes and attribution "
            "rules differ in detail (data/reference/published_estimates.csv says how), and none gives a confidence "
            "interval. ")
    if n_no:
        text += f"{n_no} claim{'s' if n_no > 1 else ''} give{'' if n_no > 1 else 's'} no date and {'are' if n_no > 1 else 'is'} quoted. "
    text += ("Each of our dates is that at which the underlying Chinese and US shares cross under its definition, "
             "not the first date an observed, noisy share passes. " + lag_text("downloads_30d")
             + " Growth of all-time downloads trails it by about half a period.")
    return text


SPEC = register(FigureSpec(7, "published_estimates_comparison",
                           "Published crossover claims beside our estimate under the nearest definition",
                           table=_table, caption=_caption, plot=plot_published_comparison,
                           inputs=("published_comparison", "crossover")))
