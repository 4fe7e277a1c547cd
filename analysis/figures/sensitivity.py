"""Figure 6: the crossover estimate and its interval under every method and every definition of the sensitivity grid.

The grid has grown to 2 measures x 3 rules x 2 readings of contested origins x 4 scopes = 48 definitions under 6
methods, too many rows to print. The figure shows what a reader asks of it in two panels, at full page width:

(a) the headline definition under every method of ``crossover.json`` (each at the setting it records, named beside
    it), with the span of its sets over the grid's other settings;
(b) the headline method under one change at a time from the headline definition (the other measure, each other
    rule and scope, the other reading of contested origins, later window starts, other bandwidths), and the estimate
    under every definition of the grid with their range.

The figure's CSV holds every definition under every method (``panel`` "grid") beside the rows drawn.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from matplotlib.patches import Patch

from ..contracts import SENSITIVITY_COLUMNS
from ..schema import ALT_SUFFIX, BASE_RULES, MEASURES, SCOPES
from .data import (INTERVAL_COLUMNS, METHOD_ORDER, Crossing, Definition, FigureInputError, TimeScale,
                   crossing_pieces, date_or_none, estimand_text, grid_pieces, headline_crossing, iso, iv_frame,
                   lag_text, level_text, our_crossings, pieces_from_json, pieces_json)
from .labels import (KIND_LABELS, MEASURE_LABELS, MEASURE_SHORT, METHOD_WORDS, PERIOD_WORDS, RULE_LABELS,
                     RULE_WORDS, SCOPE_LABELS, SCOPE_WORDS, label)
from .plots import (date_axis, draw_set_row, finish, inset_limits, interval_date_limits, keyed_legend, level_of,
                    set_handles)
from .registry import FigureContext, FigureSpec, register
from .style import BAND_COLOR, CROSSOVER_COLOR, TWO_COLUMN

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


def _method_order(m: str) -> tuple:
    return (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m)


def _rows_of(sens: pd.DataFrame, d: tuple, m: str) -> pd.DataFrame:
    return sens[(sens["measure"] == d[0]) & (sens["rule"] == d[1]) & (sens["scope"] == d[2]) & (sens["method"] == m)]


def _definitions(sens: pd.DataFrame, definition: Definition) -> list[tuple]:
    """The grid's definitions (measure, rule, scope), the headline first."""
    defs = list(dict.fromkeys(zip(sens["measure"], sens["rule"], sens["scope"])))
    head = (definition.measure, definition.rule, definition.scope)
    defs.sort(key=lambda d: (d != head, d))
    return defs


def method_settings(sens: pd.DataFrame, definition: Definition, crossover: Mapping | None) -> dict:
    """``{method: (grid column, value, how it was found)}``: the setting of the grid at which each method is shown,
    the one ``crossover.json`` records for it (see :func:`_headline_setting`)."""
    defs = _definitions(sens, definition)
    head = (definition.measure, definition.rule, definition.scope)
    methods = sorted((m for m in sens["method"].unique() if m != "none"), key=_method_order)
    out = {}
    for m in methods:
        sub = _rows_of(sens, head, m)
        if sub.empty:  # the headline definition lacks the method: choose on the first definition that has it
            sub = next((_rows_of(sens, d, m) for d in defs if not _rows_of(sens, d, m).empty), sub)
        column = _setting_column(sub)
        out[m] = (column,) + _headline_setting(_full_window(sub), column, m, crossover)
    return out


def _pick(sub: pd.DataFrame, column: str, value: Any, how: str) -> tuple[pd.Series, Any, str]:
    """The row of ``sub`` (one definition and method) at the setting ``value`` on the full window (the grid's
    middle setting when this definition lacks it, said in the returned text)."""
    full = _full_window(sub)
    pick = _rows_at(full, column, value)
    if pick.empty:
        vals = _values(full, column)
        value = vals[(len(vals) - 1) // 2] if vals else None
        pick = _rows_at(full, column, value)
        how = "grid middle: the headline setting is not in the grid for this definition"
    return (pick if not pick.empty else sub).iloc[0], value, how


def _row_kind(r: Mapping) -> str:
    est, lo, hi = (date_or_none(r.get("estimate_date")), date_or_none(r.get("lower_date")),
                   date_or_none(r.get("upper_date")))
    kind = str(r.get("kind"))
    if est is not None and lo is None and hi is None and kind not in ("unbounded", "two_rays"):
        return "point"  # an estimate without an interval (e.g. the empirical first passage)
    return kind


def sensitivity_table(sens: pd.DataFrame, definition: Definition, headline: Crossing, *, hac_lag: int | None = None,
                      k: int | None = None, crossover: Mapping | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Every definition (measure, rule, scope) of the grid under each method, at the method's own setting.

    These are the rows of figure 6's CSV with ``panel`` "grid" (see :func:`forest_table`). Each method is shown at
    the setting ``crossover.json`` records for it (see :func:`_headline_setting`): the local-linear headline at its
    bandwidth on the full window, the fixed-b methods at their bandwidth fraction ``bandwidth_b`` (their lag depends
    on the series length, so it differs between definitions), the classic Newey-West methods at their HAC lag, the
    first passage at its run length ``k``. Every other definition uses the same setting of that method (the grid's
    middle one if it lacks it, said in ``note``). ``range_lower_date``/``range_upper_date`` give the envelope over all
    settings of that definition and method (for the headline: its later window starts and other bandwidths): how
    much the other settings move the answer. ``pieces`` holds the whole set (JSON, see
    :func:`analysis.figures.data.pieces_json`).

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
    defs = _definitions(sens, definition)
    head = (definition.measure, definition.rule, definition.scope)
    varying = [i for i in range(3) if len({d[i] for d in defs}) > 1]
    names = (MEASURE_SHORT, RULE_LABELS, SCOPE_LABELS)
    settings = method_settings(sens, definition, crossover)
    rows = []
    for i, d in enumerate(defs):
        row_label = " · ".join(label(names[j], d[j]) for j in varying) or "headline"
        present = [m for m in settings if not _rows_of(sens, d, m).empty]
        for j, m in enumerate(present):
            sub = _rows_of(sens, d, m)
            column, value, how = settings[m]
            r, value, note_how = _pick(sub, column, value, how)
            kind = _row_kind(r)
            rng_lo, rng_hi = _envelope(sub)
            n_set = len(sub) if column == "bandwidth_periods" else (len(_values(sub, column)) or len(sub))
            rows.append({"row": i + (j - (len(present) - 1) / 2) * METHOD_OFFSET, "label": row_label,
                         "source": "sensitivity grid", "method": m, "estimate_date": date_or_none(r["estimate_date"]),
                         "lower_date": date_or_none(r["lower_date"]), "upper_date": date_or_none(r["upper_date"]),
                         "kind": kind, "highlight": bool(d == head and m == headline.method),
                         "level": level_text(alpha) if kind in ("bounded", "unbounded", "two_rays") else "",
                         "note": f"{_setting_text(column, value, r)}, {note_how}; range over {n_set} setting(s) of "
                                 + ("window start and bandwidth" if column == "bandwidth_periods"
                                    else SETTING_NAMES[column]),
                         "range_lower_date": rng_lo, "range_upper_date": rng_hi, "definition_row": i,
                         "measure": d[0], "rule": d[1], "scope": d[2], "pieces": pieces_json(grid_pieces(r))})
    return iv_frame(rows, extra=("range_lower_date", "range_upper_date", "definition_row", "measure", "rule", "scope",
                                 "pieces"))


# --------------------------------------------------------------------------------------------------
# the figure's table: panel (a), panel (b), the grid
# --------------------------------------------------------------------------------------------------
#: Extra columns of figure 6's table beside :data:`analysis.figures.data.INTERVAL_COLUMNS`.
FOREST_EXTRA = ("panel", "change", "measure", "rule", "scope", "pieces", "range_lower_date", "range_upper_date",
                "definition_row")
#: ``panel`` values: the methods, the changes of definition, every definition under every method (CSV; the
#: headline method's rows are the ticks of panel (b)'s last row).
PANEL_METHODS, PANEL_CHANGES, PANEL_GRID = "a", "b", "grid"
#: ``kind`` of panel (b)'s last row: the range of the estimates under every definition.
RANGE_KIND = "range"


def _unit(frequency: str) -> str:
    return PERIOD_WORDS.get(frequency, "periods")


def method_setting_text(method: str, settings: Mapping | None, unit: str = "weeks") -> str:
    """The setting a method used, in words, from ``crossover.json["methods"][method]["settings"]``."""
    st = settings if isinstance(settings, Mapping) else {}

    def num(key):
        v = st.get(key)
        try:
            return float(v)
        except (TypeError, ValueError):
            return None

    def lags(v):
        return f"{int(v)} lag{'s' if int(v) != 1 else ''}"

    if method == "local_linear":
        bw = num("bandwidth_periods")
        return f"kernel half-width {bw:g} {unit}" if bw is not None else "kernel half-width as recorded"
    if method in ("fieller", "delta", "bootstrap") and (st.get("method") == "fixed_b" or num("bandwidth_b")):
        b, lag = num("bandwidth_b"), num("hac_lags")
        text = f"fixed-b, b = {b:g}" if b is not None else "fixed-b"
        if method == "bootstrap":
            bl = num("block_length")
            kind = str(st.get("method") or "").replace("_", " ")
            return f"{kind + ', ' if kind and kind != 'fixed b' else ''}blocks of {bl:g} {unit}" if bl else text
        return text + (f" ({lags(lag)})" if lag is not None else "")
    if method == "bootstrap":
        bl = num("block_length")
        kind = str(st.get("method") or "").replace("_", " ")
        return f"{kind + ', ' if kind else ''}blocks of {bl:g} {unit}" if bl else kind or "as recorded"
    if method in ("fieller", "fieller_nw", "delta"):
        lag = num("hac_lags")
        return "classic Newey-West" + (f", {lags(lag)}" if lag is not None else "")
    if method == "fieller_prewhitened":
        lag = num("hac_lags")
        return "prewhitened Newey-West" + (f", {lags(lag)}" if lag is not None else "")
    if method == "first_passage":
        k = num("k")
        return (f"CN ahead {k:g} {unit} running" if k is not None else "as recorded") + "; no interval"
    if method == "first_passage_level":
        return "the fitted level passes zero; its set"
    return "as recorded"


def _method_row_label(method: str, settings: Mapping | None, unit: str) -> str:
    name = METHOD_WORDS.get(method, label({}, method))
    return f"{name}\n{method_setting_text(method, settings, unit)}"


def _base_rule(rule: str) -> tuple[str, bool]:
    return (rule[:-len(ALT_SUFFIX)], True) if rule.endswith(ALT_SUFFIX) else (rule, False)


def definition_words(measure: str, rule: str, scope: str) -> str:
    """A definition in words: ``30-day downloads, lineage rule, all models`` (and the reading of contested
    origins when it is the alternative one)."""
    base, alt = _base_rule(rule)
    return (f"{label(MEASURE_LABELS, measure)}, {label(RULE_LABELS, base)} rule, {label(SCOPE_LABELS, scope)}"
            + (", contested origins read the other way" if alt else ""))


def one_change_definitions(defs: list[tuple], head: tuple) -> list[tuple[str, str, tuple]]:
    """The definitions of the grid that differ from the headline in one respect, in a fixed order:
    ``[(change, words, (measure, rule, scope)), ...]`` with change one of "measure", "rule", "scope", "reading"."""
    have = set(defs)
    m0, r0, s0 = head
    base0, alt0 = _base_rule(r0)
    suffix = ALT_SUFFIX if alt0 else ""
    out = []

    def ordered(values, order):
        return sorted(dict.fromkeys(values), key=lambda v: (order.index(v) if v in order else len(order), v))

    for m in ordered((d[0] for d in defs), MEASURES):
        if m != m0 and (m, r0, s0) in have:
            out.append(("measure", f"measure: {label(MEASURE_LABELS, m)}", (m, r0, s0)))
    for base in ordered((_base_rule(d[1])[0] for d in defs), BASE_RULES):
        if base != base0 and (m0, base + suffix, s0) in have:
            out.append(("rule", f"rule: {label(RULE_WORDS, base)}", (m0, base + suffix, s0)))
    for s in ordered((d[2] for d in defs), SCOPES):
        if s != s0 and (m0, r0, s) in have:
            out.append(("scope", f"scope: {label(SCOPE_WORDS, s)}", (m0, r0, s)))
    other = base0 if alt0 else base0 + ALT_SUFFIX
    if (m0, other, s0) in have:
        out.append(("reading", "contested origins read the " + ("primary way" if alt0 else "other way"),
                    (m0, other, s0)))
    return out


def _setting_changes(sub: pd.DataFrame, column: str, value: Any, unit: str) -> list[tuple[str, str, pd.Series]]:
    """The headline definition's other settings of the headline method: later window starts (each at its own
    bandwidth) and the other values of the setting on the full window. ``[(change, words, row), ...]``."""
    out = []
    if "start_offset_months" in sub:
        off = pd.to_numeric(sub["start_offset_months"], errors="coerce").fillna(0)
        for months in sorted(off[off > 0].unique()):
            r = sub[off == months].iloc[0]
            start = date_or_none(r.get("start_date")) if "start_date" in sub else None
            out.append(("window", f"window starts {int(months)} months later"
                        + (f" ({iso(start)})" if start is not None else ""), r))
    full = _full_window(sub)
    for v in _values(full, column):
        if _same(v, value):
            continue
        r = _rows_at(full, column, v).iloc[0]
        if column == "bandwidth_periods":
            words = f"kernel half-width {v:g} {unit} (headline {float(value):g})" if value is not None else \
                f"kernel half-width {v:g} {unit}"
        elif column == "k":
            words = f"run length k = {int(v)} (headline {int(value)})" if value is not None else f"k = {int(v)}"
        else:
            words = _setting_text(column, v, r)
        out.append(("bandwidth" if column in ("bandwidth_periods", "bandwidth_b") else "setting", words, r))
    return out


def _no_estimate_text(kind: str, has_set: bool = False) -> str:
    if has_set:
        return "no single crossing date in the window (its set drawn)"
    return {"no_crossing": "no crossing in the window", "no_data": "no data for this definition",
            "not_yet": "CN not yet ahead for the run length", "no_trend": "no overtaking trend",
            "empty": "empty set"}.get(kind, f"no estimate ({KIND_LABELS.get(kind, kind)})")


def forest_table(sens: pd.DataFrame, definition: Definition, crossover: Mapping, scale: TimeScale, *,
                 alpha: float = 0.05) -> pd.DataFrame:
    """Figure 6's table: every row it draws, and every definition of the grid under every method.

    ``panel`` says where a row goes:

    * ``"a"``: the headline definition under each method of ``crossover.json`` (:func:`our_crossings`, each at the
      setting it records; ``label`` names the method and the setting in words), with ``range_lower_date``/
      ``range_upper_date`` the envelope of that method's sets over the grid's other settings;
    * ``"b"``: the headline method on the headline definition (read from ``crossover.json``), then one change at a
      time (:func:`one_change_definitions`: the other measure, each other rule and scope, the other reading of
      contested origins; then the headline definition's later window starts and other bandwidths), each from the
      grid at the method's setting; the last row (``kind`` "range") spans the estimates under every definition of
      the grid (``lower_date``/``upper_date``), its ``note`` counts them;
    * ``"grid"``: :func:`sensitivity_table`, every definition under every method of the grid. The headline
      method's rows have ``row`` set to the range row's: they are its ticks; the other rows are not drawn (their
      ``change`` says "CSV only").

    ``change`` says what differs from the headline ("headline", "measure", "rule", "scope", "reading", "window",
    "bandwidth", "setting", "all definitions"; "method" in panel (a)); ``pieces`` holds each set whole.
    """
    head = headline_crossing(crossover)
    level = level_text(alpha)
    unit = _unit(definition.frequency)
    hdef = (definition.measure, definition.rule, definition.scope)
    grid = sensitivity_table(sens, definition, head, crossover=crossover, alpha=alpha)
    methods_json = crossover.get("methods") or {}
    rows: list[dict] = []

    def add(panel, row, label_, c_method, est, lo, hi, kind, pieces, *, highlight=False, note="", change="",
            d=hdef, source="sensitivity grid", rng=(None, None)):
        rows.append({"row": float(row), "label": label_, "source": source, "method": c_method,
                     "estimate_date": est, "lower_date": lo, "upper_date": hi, "kind": kind,
                     "highlight": bool(highlight), "level": level if pieces else "", "note": note,
                     "panel": panel, "change": change, "measure": d[0], "rule": d[1], "scope": d[2],
                     "pieces": pieces_json(pieces), "range_lower_date": rng[0], "range_upper_date": rng[1],
                     "definition_row": np.nan})

    # (a) the headline definition under every method
    for i, c in enumerate(our_crossings(crossover, scale)):
        key = "first_passage" if c.method == "first_passage_level" else c.method
        st = (methods_json.get(key) or {}).get("settings")
        g = grid[(grid["method"] == c.method) & (grid["measure"] == hdef[0]) & (grid["rule"] == hdef[1])
                 & (grid["scope"] == hdef[2])]
        rng = (g["range_lower_date"].iloc[0], g["range_upper_date"].iloc[0]) if len(g) else (None, None)
        rng_note = ("; grey bar: " + g["note"].iloc[0].split("; ", 1)[-1]) if len(g) else "; not in the grid"
        pieces = crossing_pieces(c)
        add(PANEL_METHODS, i, _method_row_label(c.method, st, unit), c.method, c.estimate, c.lower, c.upper, c.kind,
            pieces, highlight=c.method == head.method, change="method", source="crossover.json",
            note=c.text(level) + rng_note, rng=(None if pd.isna(rng[0]) else rng[0], None if pd.isna(rng[1])
                                                 else rng[1]))

    # (b) the headline method, one change at a time
    row = 0
    add(PANEL_CHANGES, row, f"Headline: {definition_words(*hdef)}", head.method, head.estimate, head.lower,
        head.upper, head.kind, crossing_pieces(head), highlight=True, change="headline", source="crossover.json",
        note=head.text(level))
    settings = method_settings(sens, definition, crossover) if head.method in set(sens["method"]) else {}
    defs = _definitions(sens, definition)
    if head.method in settings:
        column, value, how = settings[head.method]
        for change, words, d in one_change_definitions(defs, hdef):
            sub = _rows_of(sens, d, head.method)
            if sub.empty:
                continue
            r, v, note_how = _pick(sub, column, value, how)
            kind = _row_kind(r)
            row += 1
            add(PANEL_CHANGES, row, words, head.method, date_or_none(r["estimate_date"]),
                date_or_none(r["lower_date"]), date_or_none(r["upper_date"]), kind, grid_pieces(r), change=change,
                d=d, note=f"{definition_words(*d)}; {_setting_text(column, v, r)}, {note_how}"
                          + (f"; {_no_estimate_text(kind)}" if date_or_none(r["estimate_date"]) is None else ""))
        for change, words, r in _setting_changes(_rows_of(sens, hdef, head.method), column, value, unit):
            kind = _row_kind(r)
            row += 1
            add(PANEL_CHANGES, row, words, head.method, date_or_none(r["estimate_date"]),
                date_or_none(r["lower_date"]), date_or_none(r["upper_date"]), kind, grid_pieces(r), change=change,
                note=f"headline definition; {words}"
                     + (f"; {_no_estimate_text(kind)}" if date_or_none(r["estimate_date"]) is None else ""))
        ticks = grid[grid["method"] == head.method]
        ests = ticks["estimate_date"].dropna()
        n_def, n_est = len(ticks), len(ests)
        row += 1
        lo, hi = (ests.min(), ests.max()) if n_est else (None, None)
        span = f"from {iso(lo)} to {iso(hi)} ({(hi - lo).days} days)" if n_est else "none"
        add(PANEL_CHANGES, row, f"All {n_def} definitions, one tick each", head.method, None, lo, hi, RANGE_KIND,
            [], change="all definitions",
            note=f"estimates under the {n_def} definitions of the grid (headline method at its setting): {span}"
                 + (f"; {n_def - n_est} without an estimate" if n_def > n_est else ""))
        rows[-1]["level"] = ""
        tick_row = row
    else:
        tick_row = np.nan

    out = pd.DataFrame(rows, columns=INTERVAL_COLUMNS + list(FOREST_EXTRA))
    g = grid.copy()
    g["panel"] = PANEL_GRID
    ticked = (g["method"] == head.method) & pd.notna(tick_row)
    g["change"] = np.where(ticked, "every definition (a tick of the last row of b)", "every definition (CSV only)")
    g["row"] = np.where(ticked, tick_row, np.nan)
    out = pd.concat([out, g[out.columns]], ignore_index=True) if len(g) else out
    for c in ("estimate_date", "lower_date", "upper_date", "range_lower_date", "range_upper_date"):
        out[c] = pd.to_datetime(out[c])
    out["highlight"] = out["highlight"].astype(bool)
    out["row"] = out["row"].astype(float)
    out["definition_row"] = out["definition_row"].astype(float)
    for c in ("label", "source", "method", "kind", "level", "note", "panel", "change", "measure", "rule", "scope",
              "pieces"):
        out[c] = out[c].fillna("").astype(str)
    return out


# --------------------------------------------------------------------------------------------------
# drawing
# --------------------------------------------------------------------------------------------------
#: Marks of figure 6 beside those of :func:`analysis.figures.plots.draw_set_row` (gids, keyed in the legend).
MARK_SETTINGS_RANGE = "sensitivity-range"
MARK_REFERENCE = "headline-reference"
MARK_DEFS_RANGE = "definitions-range"
MARK_DEFS_TICK = "definitions-estimate"
#: Decorations that key nothing (row separators).
MARK_SEPARATOR = "row-separator"
#: Most a figure may measure in height (inches): a full page leaves room for the caption below it.
MAX_HEIGHT = 7.9
#: Height per row (inches) of panel (a) (two-line labels) and panel (b), before any shrinking to fit.
ROW_A, ROW_B = 0.34, 0.22
#: What the figure needs besides its rows: titles, date axes, legend, the SIMULATED DATA label (inches).
OVERHEAD = 1.9
#: Smallest text of the figure (points, at its printed size).
MIN_FONT = 6.5
RANGE_GREY = "#D9D9D9"
TICK_COLOR = "#333333"


def figure6_height(n_a: int, n_b: int) -> float:
    """The figure's height for ``n_a`` rows in panel (a) and ``n_b`` in (b), at most :data:`MAX_HEIGHT`."""
    return min(OVERHEAD + ROW_A * n_a + ROW_B * n_b, MAX_HEIGHT)


def _draw_rows(ax, rows: pd.DataFrame, xlim: tuple) -> None:
    lo, hi = xlim
    for _, r in rows.iterrows():
        y = r["row"]
        est = r["estimate_date"] if pd.notna(r["estimate_date"]) else None
        if r["kind"] == RANGE_KIND:
            continue
        pieces = pieces_from_json(r["pieces"])
        if est is None:
            x, ha = lo, "left"
            if pieces:  # a set without a single date: the set, and a note where it leaves room
                draw_set_row(ax, y, None, pieces, xlim, lw=1.0)
                last = pieces[-1][1]
                first = pieces[0][0]
                if last is not None and last < hi:
                    x = last
                elif first is not None and first > lo:
                    x, ha = first, "right"
            ax.text(x, y, ("  " if ha == "left" else "") + _no_estimate_text(r["kind"], bool(pieces))
                    + ("  " if ha == "right" else ""), va="center", ha=ha, fontsize=MIN_FONT, color="#444444",
                    fontstyle="italic")
            continue
        draw_set_row(ax, y, est, pieces, xlim, point=r["kind"] == "point",
                     lw=1.4 if r["highlight"] else 1.0, ms=4.5 if r["highlight"] else 3.8)


def _draw_settings_range(ax, rows: pd.DataFrame, xlim: tuple, offset: float = 0.3) -> None:
    lo, hi = inset_limits(xlim)
    for _, r in rows.iterrows():
        if pd.isna(r["estimate_date"]) or (pd.isna(r["range_lower_date"]) and pd.isna(r["range_upper_date"])
                                           and "grey bar" not in r["note"]):
            continue
        a = r["range_lower_date"] if pd.notna(r["range_lower_date"]) else None
        b = r["range_upper_date"] if pd.notna(r["range_upper_date"]) else None
        y = r["row"] + offset
        ax.plot([lo if a is None else max(a, lo), hi if b is None else min(b, hi)], [y, y], color=BAND_COLOR, lw=2.2,
                solid_capstyle="butt", gid=MARK_SETTINGS_RANGE, zorder=2)
        for end, is_open, mk in ((lo, a is None, "<"), (hi, b is None, ">")):
            if is_open:
                ax.plot([end], [y], marker=mk, color=BAND_COLOR, ms=4.0, ls="none", clip_on=False,
                        gid=MARK_SETTINGS_RANGE, zorder=2)


def _row_labels(ax, rows: pd.DataFrame, size: float) -> None:
    ax.set_yticks(rows["row"].to_numpy(dtype=float), [("▶ " if h else "") + lab for h, lab in
                                                     zip(rows["highlight"], rows["label"])])
    for tick, h in zip(ax.get_yticklabels(), rows["highlight"]):
        tick.set_fontsize(size)
        if h:
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)


def plot_sensitivity_forest(table: pd.DataFrame, *, definition_label: str, simulated: bool = False):
    """Figure 6 from :func:`forest_table`: (a) every method on the headline definition, (b) the headline method
    under one change of definition at a time and under every definition of the grid (ticks and their range).

    Every kind of mark has a legend entry (:func:`analysis.figures.plots.keyed_legend`); the dashed vertical line is
    the headline estimate; no text is smaller than :data:`MIN_FONT` points at the printed size (7.2 in wide, at
    most :data:`MAX_HEIGHT` in high).
    """
    a = table[table["panel"] == PANEL_METHODS].sort_values("row")
    b = table[table["panel"] == PANEL_CHANGES].sort_values("row")
    ticks = table[(table["panel"] == PANEL_GRID) & table["row"].notna()]
    n_a, n_b = max(len(a), 1), max(len(b), 1)
    height = figure6_height(n_a, n_b)
    fig = plt.figure(figsize=(TWO_COLUMN, height))
    gs = fig.add_gridspec(2, 1, height_ratios=[n_a * ROW_A + 0.3, n_b * ROW_B + 0.1])
    ax_a = fig.add_subplot(gs[0])
    ax_b = fig.add_subplot(gs[1], sharex=ax_a)
    drawn = pd.concat([a, b[b["kind"] != RANGE_KIND], ticks])
    xlim = interval_date_limits(drawn)
    ax_a.set_xlim(*xlim)
    lo, hi = xlim
    level = level_of(pd.concat([a, b]))

    # (a)
    _draw_settings_range(ax_a, a, xlim)
    _draw_rows(ax_a, a, xlim)
    _row_labels(ax_a, a, MIN_FONT + 0.5)
    ax_a.set_ylim(n_a - 0.45, -1.0)
    ax_a.set_title("(a) Headline definition under every method", loc="left", fontsize=8)
    ax_a.tick_params(axis="x", labelbottom=False)

    # (b)
    _draw_rows(ax_b, b, xlim)
    rng = b[b["kind"] == RANGE_KIND]
    n_defs = 0
    for _, r in rng.iterrows():
        if pd.notna(r["lower_date"]) and pd.notna(r["upper_date"]):
            ax_b.add_patch(plt.Rectangle((mdates.date2num(max(r["lower_date"], lo)), r["row"] - 0.32),
                                         mdates.date2num(min(r["upper_date"], hi))
                                         - mdates.date2num(max(r["lower_date"], lo)), 0.64,
                                         facecolor=RANGE_GREY, edgecolor="none", zorder=1, gid=MARK_DEFS_RANGE))
        t = ticks["estimate_date"].dropna()
        n_defs = len(ticks)
        ax_b.plot(t.to_numpy(), np.full(len(t), r["row"]), marker="|", ms=7, mew=0.8, color=TICK_COLOR, ls="none",
                  gid=MARK_DEFS_TICK, zorder=3)
        n_none = len(ticks) - len(t)
        span = (f"estimates span {(r['upper_date'] - r['lower_date']).days} days"
                if pd.notna(r["lower_date"]) else "no estimates")
        b.loc[r.name, "label"] = f"{r['label']}\n{span}" + (f", {n_none} without one" if n_none else "")
    groups = b["change"].tolist()
    for y in range(1, len(b)):
        if groups[y] != groups[y - 1]:
            ax_b.axhline(y - 0.5, color="#cccccc", lw=0.5, zorder=0, gid=MARK_SEPARATOR)
    _row_labels(ax_b, b, MIN_FONT + 0.5)
    ax_b.set_ylim(n_b - 0.45, -0.6)
    head_row = b[b["change"] == "headline"]
    method = head_row["method"].iloc[0] if len(head_row) else ""
    ax_b.set_title(f"(b) {METHOD_WORDS.get(method, method).split(' (')[0]}: one change at a time from the headline "
                   "definition", loc="left", fontsize=8)
    ax_b.set_xlabel("Estimated crossover date (CN share passes US share)")
    date_axis(ax_b)

    # the headline date
    handles = set_handles(level)
    handles.append(Line2D([], [], color=BAND_COLOR, lw=2.2, marker=">", ms=4.0, gid=MARK_SETTINGS_RANGE,
                          label="(a) span of the sets over the method's other settings"))
    head_est = head_row["estimate_date"].iloc[0] if len(head_row) else pd.NaT
    if pd.notna(head_est):
        for ax in (ax_a, ax_b):
            ax.axvline(head_est, color=CROSSOVER_COLOR, lw=0.7, ls=(0, (3, 2)), zorder=0, gid=MARK_REFERENCE)
        ax_a.text(head_est, -0.72, f" headline {iso(head_est)}", fontsize=MIN_FONT, va="center", ha="left",
                  color=CROSSOVER_COLOR)
        handles.append(Line2D([], [], color=CROSSOVER_COLOR, lw=0.7, ls=(0, (3, 2)), gid=MARK_REFERENCE,
                              label=f"headline estimate ({iso(head_est)})"))
    if len(rng):
        handles += [Line2D([], [], marker="|", ms=7, mew=0.8, color=TICK_COLOR, ls="none", gid=MARK_DEFS_TICK,
                           label=f"(b) estimate under one of the {n_defs} definitions"),
                    Patch(facecolor=RANGE_GREY, edgecolor="none", gid=MARK_DEFS_RANGE,
                          label=f"(b) range of the {n_defs} definitions' estimates")]
    keyed_legend(fig, handles, loc="outside lower center", ncols=2, fontsize=MIN_FONT + 0.5)
    return finish(fig, simulated)


def _table(ctx: FigureContext) -> pd.DataFrame:
    sens = ctx.inputs.table("sensitivity", SENSITIVITY_READ, read_all=True)
    cross = ctx.inputs.crossover
    scale = TimeScale.from_trends(ctx.inputs.trends, ctx.definition.frequency)
    return forest_table(sens, ctx.definition, cross, scale, alpha=ctx.alpha)


def _caption(ctx: FigureContext, table: pd.DataFrame) -> str:
    b = table[table["panel"] == PANEL_CHANGES]
    rng = b[b["kind"] == RANGE_KIND]
    n_defs = len(table.loc[table["panel"] == PANEL_GRID, ["measure", "rule", "scope"]].drop_duplicates())
    head = b[b["change"] == "headline"]
    method = METHOD_WORDS.get(head["method"].iloc[0], head["method"].iloc[0]).split(" (")[0].lower() \
        if len(head) else "the headline method"
    text = (f"(a) The crossover date of the headline definition ({ctx.definition.label()}) under every method, each "
            f"at the setting crossover.json records (named under the method): marker, the estimate; line, its "
            f"{ctx.level} confidence set (arrow: unbounded on that side); hollow diamond, a date without an interval; "
            "grey bar below, the span of the method's sets over the sensitivity grid's other settings (window "
            f"starts, bandwidths, lags, run lengths; settings without an estimate left out). (b) The {method} under one change at a time from the headline "
            "definition: the other measure, each other attribution rule and scope, the other reading of contested "
            "origins, later window starts and other bandwidths. ")
    if len(rng):
        text += (f"Its last row marks the estimate under each of the {n_defs} definitions of the grid "
                 "(measures x attribution rules x readings of contested origins x scopes) and shades their range: "
                 f"{rng['note'].iloc[0].split(': ', 1)[-1]}. ")
    text += ("The dashed line is the headline estimate. Panel (a) and the top row of (b) are read from "
             "crossover.json, the other rows from the sensitivity grid; the figure's CSV holds every definition "
             "under every method. " + estimand_text(ctx.definition) + " " + lag_text(ctx.definition.measure))
    if ctx.definition.measure == "downloads_30d":
        text += " Rows on the weekly growth of all-time downloads trail it by about half a period instead."
    return text


SPEC = register(FigureSpec(6, "crossover_sensitivity_forest", "Crossover estimate under each method and definition",
                           table=_table, caption=_caption, plot=plot_sensitivity_forest,
                           inputs=("sensitivity", "crossover", "trends")))
