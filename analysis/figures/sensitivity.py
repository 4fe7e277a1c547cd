"""Figure 6: the crossover estimate and its interval under every definition of the sensitivity grid."""

from __future__ import annotations

import math
from typing import Any, Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

from ..contracts import SENSITIVITY_COLUMNS
from .data import (METHOD_ORDER, Crossing, Definition, FigureInputError, date_or_none, headline_crossing, iv_frame, level_text,
                   number)
from .labels import MEASURE_SHORT, RULE_LABELS, SCOPE_LABELS, label, method_label
from .plots import METHOD_MARKERS, date_axis, date_limits, draw_interval_rows, finish, level_of
from .registry import FigureContext, FigureSpec, register
from .style import BAND_COLOR, figure_size

#: The columns of the sensitivity grid the figure needs (declared in analysis.contracts); the settings' columns
#: (bandwidth_b, bandwidth_periods, start_offset_months) are read too when the grid has them.
SENSITIVITY_READ = [c for c in SENSITIVITY_COLUMNS if c in ("measure", "rule", "scope", "k", "hac_lag", "method",
                                                           "estimate_date", "lower_date", "upper_date", "kind")]
#: Vertical distance between the methods of one definition (in rows).
METHOD_OFFSET = 0.2


#: Grid columns that hold a method's setting, and how the notes name them.
SETTING_NAMES = {"bandwidth_b": "fixed-b bandwidth b", "hac_lag": "HAC lag", "k": "k",
                 "bandwidth_periods": "local-linear bandwidth"}
#: The key of ``crossover.json["methods"][m]["settings"]`` that holds each grid column's setting.
SETTING_KEYS = {"bandwidth_b": "bandwidth_b", "hac_lag": "hac_lags", "k": "k", "bandwidth_periods": "bandwidth_periods"}


def _setting_column(sub: pd.DataFrame) -> str:
    """The grid column that varies a method's answer: ``k`` (first passage), ``bandwidth_periods`` (the
    local-linear headline), ``bandwidth_b`` (fixed-b rows, whose lag depends on the series length) or
    ``hac_lag`` (classic Newey-West rows)."""
    if "k" in sub and sub["k"].notna().any():
        return "k"
    if "method" in sub and (sub["method"] == "local_linear").all() and "bandwidth_periods" in sub:
        return "bandwidth_periods"
    if "bandwidth_b" in sub and pd.to_numeric(sub["bandwidth_b"], errors="coerce").notna().any():
        return "bandwidth_b"
    return "hac_lag"


def _full_window(sub: pd.DataFrame) -> pd.DataFrame:
    """Rows of the full window (the grid's later starts are for the envelope, not the setting)."""
    if "start_offset_months" in sub:
        return sub[pd.to_numeric(sub["start_offset_months"], errors="coerce").fillna(0) == 0]
    return sub


def _values(sub: pd.DataFrame, column: str) -> list:
    vals = pd.to_numeric(sub[column], errors="coerce").dropna().unique() if column in sub else []
    return sorted(float(v) for v in vals)


def _same(a: Any, b: Any) -> bool:
    try:
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return False


def _rows_at(sub: pd.DataFrame, column: str, value: Any) -> pd.DataFrame:
    if value is None or column not in sub:
        return sub.iloc[0:0]
    return sub[pd.to_numeric(sub[column], errors="coerce").map(lambda v: _same(v, value))]


def _method_json(crossover: Mapping | None, method: str) -> Mapping:
    m = ((crossover or {}).get("methods") or {}).get(method)
    return m if isinstance(m, Mapping) else {}


def _headline_setting(sub: pd.DataFrame, column: str, method: str, crossover: Mapping | None) -> tuple[Any, str]:
    """The setting of the grid at which ``method`` gives what ``crossover.json`` reports: the one it records.

    ``crossover.json["methods"][method]["settings"]`` holds every method's setting (HAC lags, fixed-b bandwidth,
    local-linear bandwidth, k); nothing is guessed from the intervals. Returns (value, how it was found); a file
    without the settings raises :class:`FigureInputError`.
    """
    vals = _values(sub, column)
    if not vals:
        return None, "not in the grid"
    settings = _method_json(crossover, method).get("settings")
    if not isinstance(settings, Mapping):
        raise FigureInputError(f"crossover.json: methods.{method} lacks its settings (written by notebook 05 since "
                               "the settings are recorded); rerun notebook 05 (crossover)")
    key = SETTING_KEYS[column]
    v = settings.get(key)
    if v is None:
        raise FigureInputError(f"crossover.json: methods.{method}.settings lacks {key!r}; rerun notebook 05")
    if any(_same(v, x) for x in vals):
        return float(v), "as recorded in crossover.json"
    return vals[(len(vals) - 1) // 2], f"grid middle (crossover.json records {key} {v:g}, not in the grid)"


def _setting_text(column: str, value: Any, row: Mapping | None = None) -> str:
    if value is None:
        return "as in grid"
    v = float(value)
    if column == "bandwidth_periods":
        return f"{SETTING_NAMES[column]} {v:.1f} periods, full window"
    text = f"{SETTING_NAMES[column]} {'= ' if column == 'bandwidth_b' else ''}" \
           f"{int(v) if v.is_integer() and column != 'bandwidth_b' else f'{v:g}'}"
    if column == "bandwidth_b" and row is not None and not pd.isna(row.get("hac_lag")):
        text += f" ({int(row['hac_lag'])} lags)"
    return text


def _envelope(rows: pd.DataFrame) -> tuple:
    """(earliest, latest) date over a setting's rows: interval ends, or estimates where there is no interval;
    None for an end that is unbounded in any row."""
    ests = rows["estimate_date"].map(date_or_none)
    if ests.isna().all():
        return None, None
    has_iv = rows["lower_date"].notna() | rows["upper_date"].notna()
    if not has_iv.any():
        return ests.min(), ests.max()
    lows = rows.loc[ests.notna(), "lower_date"].map(date_or_none)
    highs = rows.loc[ests.notna(), "upper_date"].map(date_or_none)
    return (None if lows.isna().any() else lows.min()), (None if highs.isna().any() else highs.max())


def sensitivity_table(sens: pd.DataFrame, definition: Definition, headline: Crossing, *, hac_lag: int | None = None,
                      k: int | None = None, crossover: Mapping | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Figure 6: for each definition (measure, rule, scope) of the grid, each method's crossover and interval.

    One plotted row per definition, the headline first; within it one mark per method (offset vertically).
    Each method is shown at the setting ``crossover.json`` records for it (see :func:`_headline_setting`): the
    local-linear headline at its bandwidth on the full window, the fixed-b methods at their bandwidth fraction
    ``bandwidth_b`` (their lag depends on the series length, so it differs between definitions), the classic
    Newey-West methods at their HAC lag, the first passage at its run length ``k``. Every other definition uses
    the same setting of that method (the grid's middle one if it lacks it, said in ``note``).
    ``range_lower_date``/``range_upper_date`` give the envelope over all settings of that definition and method
    (for the headline: its later window starts and other bandwidths), drawn as a thin bar: how much the other
    settings move the answer.

    Parameters
    ----------
    sens : pandas.DataFrame
        ``crossover_sensitivity.parquet``.
    definition : Definition
        The headline series.
    headline : Crossing
        The headline crossing (its method is highlighted).
    hac_lag, k : int, optional
        Not used: every method's setting is the one ``crossover.json`` records (``methods[m].settings``); kept so
        that existing callers need not change.
    crossover : mapping, optional
        Contents of ``crossover.json``: its ``methods[m]`` fix each method's setting.
    alpha : float
        1 - confidence level, written in ``level``.
    """
    defs = list(dict.fromkeys(zip(sens["measure"], sens["rule"], sens["scope"])))
    head = (definition.measure, definition.rule, definition.scope)
    defs.sort(key=lambda d: (d != head, d))
    varying = [i for i in range(3) if len({d[i] for d in defs}) > 1]
    methods = sorted(sens["method"].unique(), key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m))
    names = (MEASURE_SHORT, RULE_LABELS, SCOPE_LABELS)

    def rows_of(d, m):
        return sens[(sens["measure"] == d[0]) & (sens["rule"] == d[1]) & (sens["scope"] == d[2])
                    & (sens["method"] == m)]

    settings = {}
    for m in methods:
        sub = rows_of(head, m)
        if sub.empty:  # the headline definition lacks the method: choose on the first definition that has it
            sub = next((rows_of(d, m) for d in defs if not rows_of(d, m).empty), sub)
        column = _setting_column(sub)
        settings[m] = (column,) + _headline_setting(_full_window(sub), column, m, crossover)
    rows = []
    for i, d in enumerate(defs):
        row_label = " · ".join(label(names[j], d[j]) for j in varying) or "headline"
        present = [m for m in methods if not rows_of(d, m).empty]
        for j, m in enumerate(present):
            sub = rows_of(d, m)
            column, value, how = settings[m]
            full = _full_window(sub)
            pick = _rows_at(full, column, value)
            note_how = how
            if pick.empty:  # this definition lacks the headline setting: the grid's middle one
                vals = _values(full, column)
                value = vals[(len(vals) - 1) // 2] if vals else None
                pick = _rows_at(full, column, value)
                note_how = "grid middle: the headline setting is not in the grid for this definition"
            r = (pick if not pick.empty else sub).iloc[0]
            est, lo, hi = (date_or_none(r["estimate_date"]), date_or_none(r["lower_date"]),
                           date_or_none(r["upper_date"]))
            kind = str(r["kind"])
            if est is not None and lo is None and hi is None and kind not in ("unbounded", "two_rays"):
                kind = "point"  # an estimate without an interval (e.g. the empirical first passage)
            rng_lo, rng_hi = _envelope(sub)
            hl = d == head and m == headline.method
            n_set = len(sub) if column == "bandwidth_periods" else (len(_values(sub, column)) or len(sub))
            rows.append({"row": i + (j - (len(present) - 1) / 2) * METHOD_OFFSET, "label": row_label,
                         "source": "this study", "method": m, "estimate_date": est, "lower_date": lo,
                         "upper_date": hi, "kind": kind, "highlight": bool(hl),
                         "level": level_text(alpha) if kind != "point" else "",
                         "note": f"{_setting_text(column, value, r)}, {note_how}; range over {n_set} setting(s) of "
                                 + ("window start and bandwidth" if column == "bandwidth_periods"
                                    else SETTING_NAMES[column]),
                         "range_lower_date": rng_lo, "range_upper_date": rng_hi, "definition_row": i})
    return iv_frame(rows, extra=("range_lower_date", "range_upper_date", "definition_row"))





def plot_sensitivity_forest(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 6: forest plot of the crossover estimate and interval under each definition of the grid.

    One row per definition (measure, rule, scope); one mark per method within it; a thin grey bar behind each
    mark spans the estimates and intervals over the other settings (HAC lags, or run lengths k).
    """
    defs = table.drop_duplicates("definition_row").sort_values("definition_row")
    n = len(defs)
    fig, ax = plt.subplots(figsize=figure_size("two", min(1.5 + 0.42 * n, 22.0)))
    xlim = date_limits(table)
    ax.set_xlim(*xlim)
    lo, hi = xlim
    for _, r in table[table["estimate_date"].notna()].iterrows():
        a = max(r["range_lower_date"], lo) if pd.notna(r["range_lower_date"]) else lo
        b = min(r["range_upper_date"], hi) if pd.notna(r["range_upper_date"]) else hi
        ax.plot([a, b], [r["row"], r["row"]], color=BAND_COLOR, lw=4.0, solid_capstyle="butt", zorder=1,
                gid="sensitivity-range")
    draw_interval_rows(ax, table, xlim)
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
    date_axis(ax)
    methods = list(dict.fromkeys(table["method"]))
    handles = [Line2D([], [], marker=METHOD_MARKERS.get(m, "o"), color="#555555", mfc="white", ls="none",
                      label=method_label(m)) for m in methods]
    level = level_of(table)
    handles.append(Line2D([], [], color="#555555", lw=0.9,
                          label=f"{level + ' ' if level else ''}interval (arrow: unbounded)"))
    handles.append(Line2D([], [], color=BAND_COLOR, lw=4.0, label="range over the other settings"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3), title="Method")
    return finish(fig, simulated)



def _table(ctx: FigureContext) -> pd.DataFrame:
    sens = ctx.inputs.table("sensitivity", SENSITIVITY_READ, read_all=True)
    cross = ctx.inputs.crossover
    fp = (cross.get("methods") or {}).get("first_passage") or {}
    return sensitivity_table(sens, ctx.definition, headline_crossing(cross),
                             hac_lag=(ctx.inputs.trends.get("ols") or {}).get("hac_lags"), k=fp.get("k"),
                             crossover=cross, alpha=ctx.alpha)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    return (f"Crossover estimate (marker) and {ctx.level} interval (line; arrows: unbounded) under each definition "
            "of the sensitivity grid (measure, rule, scope, method). Each method is shown at the setting "
            "crossover.json uses for it (fixed-b bandwidth fraction, Newey-West lag or run length k; see the CSV's "
            "note); the grey bar spans its answers over the grid's other settings. Bold row: the headline "
            f"({ctx.definition.label()}).")


SPEC = register(FigureSpec(6, "crossover_sensitivity_forest", "Crossover estimate under each definition",
                           table=_table, caption=_caption, plot=plot_sensitivity_forest,
                           inputs=("sensitivity", "crossover", "trends")))
