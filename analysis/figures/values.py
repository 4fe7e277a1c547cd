"""Every number a reader might quote, generated into ``figures/values.json`` and ``figures/values.tex``.

Prose, slides and papers quote these files instead of typing numbers: ``values.json`` for scripts, one LaTeX
macro per value in ``values.tex`` (``\\input{figures/values.tex}`` then ``\\StudyCrossoverEstimateDate``). Each macro
is defined with ``\\providecommand`` then ``\\renewcommand`` (:func:`tex_define`), so the file can be input twice
(or after a file that already defines a macro) without a LaTeX error, and the last input wins. Texts are in words
("Fieller", "Hamed-Rao", "30-day downloads"; :mod:`analysis.figures.labels`), never code names.
Values come from the panel (shares at the latest date) and the result files of notebooks 04 and 05 (trend tests,
crossover estimates). Demo runs say "SIMULATED DATA" in both files (``"simulated": true``; a comment and the
``\\StudyDataKind`` macro in the LaTeX file), and in the LaTeX file every number macro carries the mark as well
(``\\StudyCrossoverEstimateDate`` expands to ``2025-07-14 [SIMULATED DATA]``), so a demo number pasted into a
text says what it is.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..schema import REGIONS
from .data import (METHOD_ORDER, Crossing, Definition, TimeScale, crossover_alpha, headline_crossing, iso,
                   level_text, method_crossing, number)
from .labels import (KIND_LABELS, MEASURE_LABELS, MK_LABELS, RULE_LABELS, SCOPE_LABELS, label, method_label,
                     region_label)


@dataclass(frozen=True)
class Value:
    """One quotable number.

    Attributes
    ----------
    key : str
        snake_case name, e.g. ``crossover_estimate_date``.
    value : str, float, int, bool or None
        Machine-readable value (dates as YYYY-MM-DD, shares as fractions).
    text : str
        How prose shows it (e.g. ``"41.2\\%"`` is written as ``41.2%``; LaTeX escaping happens in the .tex file).
    description : str
        What it is, with its definition.
    """

    key: str
    value: Any
    text: str
    description: str

    @property
    def macro(self) -> str:
        """LaTeX macro name: ``Study`` + CamelCase of the key, digits spelled out (macros allow letters only)."""
        digits = dict(zip("0123456789", ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight",
                                         "Nine"]))
        camel = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", self.key) if p)
        return "Study" + "".join(digits.get(ch, ch) for ch in camel)


def fmt_p(p: float) -> str:
    """p-value for prose: three decimals, or ``< 0.001``."""
    if p is None or not math.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


#: Appended to the text of every number macro of a demo run's values.tex.
TEX_SIMULATED_SUFFIX = " [SIMULATED DATA]"


def _p_value_description(ols: Mapping, crossover: Mapping, p: float) -> str:
    """What ``trend_slope_p_value`` is: a HAC t p-value, or under fixed-b inference a simulated one.

    Under fixed-b inference (``ols.inference == "fixed_b"``) the p-value is the share of draws of the simulated
    null distribution at least as extreme, so it cannot be smaller than 1 / (draws + 1); the number of draws is
    read from ``crossover.json`` (``headline.inference``: ``draws``, or the "(N draws" of its
    ``critical_value_source``) and the description says when the value sits at that floor.
    """
    if ols.get("inference") != "fixed_b":
        return "Two-sided p-value of the OLS slope (Newey-West HAC errors, Student t)"
    inf = (crossover.get("headline") or {}).get("inference") or {}
    draws = inf.get("draws")
    if draws is None:
        m = re.search(r"\((\d+) draws", str(inf.get("critical_value_source", "")))
        draws = int(m.group(1)) if m else None
    text = ("Two-sided p-value of the OLS slope under fixed-b inference (Kiefer and Vogelsang 2005): a Monte Carlo "
            "p-value from the simulated null distribution of the HAC t statistic, not from Student t")
    if draws:
        floor = 1.0 / (int(draws) + 1)
        text += f"; with {int(draws)} draws it cannot be below 1/{int(draws) + 1} = {floor:.3g}"
        if p is not None and math.isfinite(p) and math.isclose(p, floor, rel_tol=1e-6):
            text += ", and it is at that floor: no draw was as extreme, so the p-value is only known to be this small"
    else:
        text += "; it cannot be below 1/(draws + 1), the resolution of the simulation"
    return text


def fmt_num(x: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (``n/a`` when missing)."""
    if x is None or not math.isfinite(x):
        return "n/a" if x is None or math.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.{digits}g}"


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _crossing_values(prefix: str, c: Crossing, what: str, level: str) -> list[Value]:
    out = [Value(f"{prefix}_estimate_date", iso(c.estimate) if c.estimate is not None else None, iso(c.estimate),
                 f"{what}: estimated crossover date (CN share passes US share)"),
           Value(f"{prefix}_lower_date", iso(c.lower) if c.lower is not None else None,
                 iso(c.lower) if c.lower is not None else "unbounded", f"{what}: lower end of the {level} interval"),
           Value(f"{prefix}_upper_date", iso(c.upper) if c.upper is not None else None,
                 iso(c.upper) if c.upper is not None else "unbounded", f"{what}: upper end of the {level} interval"),
           Value(f"{prefix}_kind", c.kind, label(KIND_LABELS, c.kind),
                 f"{what}: shape of the {level} set (bounded, unbounded, two rays, empty, no trend)")]
    return out


def _headline_extra_values(head: Mapping) -> list[Value]:
    """The headline's whole set, its shifted date, its settings and the spread across definitions."""
    out: list[Value] = []
    pieces = head.get("pieces_dates") or []
    if pieces:
        text = " and ".join(f"{'open' if (i == 0 and head.get('open_start')) else a} to "
                            f"{'open' if (i == len(pieces) - 1 and head.get('open_end')) else b}"
                            for i, (a, b) in enumerate(pieces))
        out += [Value("crossover_set_pieces", [list(p) for p in pieces], text,
                      "Headline: the whole confidence set, as intervals of dates ('open' where it reaches the "
                      "window's first or last snapshot)"),
                Value("crossover_set_piece_count", len(pieces), str(len(pieces)),
                      "Headline: number of intervals the confidence set is made of")]
    if head.get("crossing_dates") is not None:
        cd = list(head.get("crossing_dates") or [])
        out.append(Value("crossover_all_crossing_dates", cd, ", ".join(cd) if cd else "none",
                         "Every zero crossing of the fitted path (the headline is the last upward one after which "
                         "CN stays ahead)"))
    if "underlying_estimate_date" in head:
        lag = head.get("measure_lag_days")
        out += [Value("crossover_underlying_estimate_date", head.get("underlying_estimate_date"),
                      head.get("underlying_estimate_date") or "n/a",
                      "Headline date moved earlier by the measure's lag: the crossing of the downloads of the day"),
                Value("crossover_measure_lag_days", lag, f"{lag:g}" if lag is not None else "n/a",
                      "Days by which the measure (a trailing count) lags the downloads of the day")]
    st = head.get("settings") or {}
    if "bandwidth_periods" in st:
        out += [Value("crossover_bandwidth_periods", st["bandwidth_periods"], f"{st['bandwidth_periods']:.1f}",
                      f"Headline local-linear kernel half-width, in periods ({st.get('bandwidth_rule', '')})"),
                Value("crossover_noise_ar_coefficient", st.get("noise_ar1_coefficient"),
                      fmt_num(number(st.get("noise_ar1_coefficient"))),
                      "AR(1) coefficient of the fitted noise model of the headline"),
                Value("crossover_noise_window_periods", st.get("noise_window_periods"),
                      str(st.get("noise_window_periods")), "Trailing window of the noise model, in periods")]
    sp = head.get("definition_spread") or {}
    if sp.get("n_rows"):
        out += [Value("crossover_spread_earliest_date", sp.get("earliest_date"), sp.get("earliest_date") or "n/a",
                      "Earliest headline-method date across the sensitivity grid's definitions"),
                Value("crossover_spread_latest_date", sp.get("latest_date"), sp.get("latest_date") or "n/a",
                      "Latest headline-method date across the sensitivity grid's definitions"),
                Value("crossover_spread_definitions", sp.get("n_rows"), str(sp.get("n_rows")),
                      "Definitions (measure, rule, scope, window start, bandwidth) in the spread"),
                Value("crossover_spread_no_estimate", sp.get("n_no_estimate"), str(sp.get("n_no_estimate")),
                      "Definitions of the spread that give no overtaking date")]
    return out


def _calibration_values(head: Mapping) -> list[Value]:
    """Coverage figures of the calibration study, as quoted by crossover.json (never typed)."""
    cal = head.get("calibration") or {}
    if not cal or not any(k.endswith("_coverage") for k in cal):
        return []
    note = "" if cal.get("usable", True) else f" (NOTE: {cal.get('note')})"
    src = f"calibration study: {cal.get('command')}, {cal.get('reps')} series per scenario, seed {cal.get('seed')}"
    out = [Value("calibration_command", cal.get("command"), str(cal.get("command")),
                 "Command that wrote data/reference/calibration.json"),
           Value("calibration_reps", cal.get("reps"), str(cal.get("reps")),
                 "Simulated series per scenario of the calibration study")]
    names = {"local_linear": "headline local-linear set", "fieller_fixed_b": "straight-line Fieller set (fixed-b)",
             "bootstrap_studentized": "straight-line studentized bootstrap",
             "first_passage": "first-passage interval", "fieller_fixed_b_line_only":
             "straight-line Fieller set (fixed-b) on straight-line truths only"}
    for key, what in names.items():
        r = cal.get(f"{key}_coverage") if key != "fieller_fixed_b_line_only" else cal.get(
            "fieller_fixed_b_coverage_line_only")
        if not r:
            continue
        pre = f"calibration_{key}"
        out += [Value(f"{pre}_coverage_min", r["min"], f"{100 * r['min']:.1f}%",
                      f"Lowest coverage of the {what} over {r['cells']} scenarios ({src}){note}"),
                Value(f"{pre}_coverage_max", r["max"], f"{100 * r['max']:.1f}%",
                      f"Highest coverage of the {what} over {r['cells']} scenarios ({src}){note}"),
                Value(f"{pre}_coverage_se_max", r["se_max"], f"{100 * r['se_max']:.1f}",
                      "Largest Monte Carlo standard error of those coverages, in percentage points")]
    if cal.get("after_window_false_claim_max") is not None:
        v = cal["after_window_false_claim_max"]
        out.append(Value("calibration_after_window_false_claim_max", v, f"{100 * v:.1f}%",
                         "Largest share of simulated series whose true crossing comes after the window in which the "
                         f"headline claimed a bounded overtaking date inside it ({src}){note}"))
    for test, r in (cal.get("break_size") or {}).items():
        out += [Value(f"calibration_break_size_{test}_min", r["min"], f"{100 * r['min']:.1f}%",
                      f"Lowest rejection rate of the {test.replace('_', '-')} test at nominal 5% on simulated series "
                      f"without a break ({src}){note}"),
                Value(f"calibration_break_size_{test}_max", r["max"], f"{100 * r['max']:.1f}%",
                      f"Highest rejection rate of the {test.replace('_', '-')} test at nominal 5% on simulated "
                      f"series without a break ({src}){note}")]
    return out


def _mk_variants(mk: Any) -> dict[str, Mapping]:
    if not isinstance(mk, Mapping):
        return {}
    if "p_value" in mk or "z" in mk:
        return {str(mk.get("method", "primary")): mk}
    return {str(k): v for k, v in mk.items() if isinstance(v, Mapping) and ("p_value" in v or "z" in v)}


def _fractional_logit_values(trends: Mapping) -> list[Value]:
    """Slope, p-value and the date the fitted share crosses one half, of the fractional logit (notebook 04)."""
    fl = trends.get("fractional_logit")
    if not isinstance(fl, Mapping) or "params" not in fl:
        return []
    b = number(fl["params"][1])
    pv = fl.get("p_values")
    p_b = number(pv[1]) if isinstance(pv, (list, tuple)) and len(pv) > 1 else math.nan
    out = [Value("frac_logit_slope_per_period", _clean(b), fmt_num(b),
                 "Fractional logit: slope of logit(CN share of CN+US downloads) per period"),
           Value("frac_logit_p_value", _clean(p_b), fmt_p(p_b), "Fractional logit: two-sided p-value of the slope (HAC)")]
    t = number(fl.get("crossing_t"))
    if math.isfinite(t):  # same time index as the OLS trend (periods since the first snapshot)
        scale = TimeScale.from_trends(trends, (trends.get("definition") or {}).get("frequency", "weekly"))
        d = iso(scale.to_date(t))
        out.append(Value("frac_logit_crossing_date", d, d,
                         "Fractional logit: date at which the fitted CN share of CN+US downloads passes one half"))
    return out


def _break_values(trends: Mapping) -> list[Value]:
    """Statistics, p-values and dates of the break tests of ``trends.json`` (Pettitt, Chow, sup-F, OLS-CUSUM,
    Bai-Perron); a test missing from the file gives no values."""
    breaks = trends.get("breaks")
    if not isinstance(breaks, Mapping):
        return []
    names = {"pettitt": "Pettitt test", "chow": "Chow test", "sup_f": "sup-F test", "cusum": "OLS-CUSUM test"}
    out: list[Value] = []
    for key, name in names.items():
        res = breaks.get(key)
        if not isinstance(res, Mapping):
            continue
        stat = number(res.get("f_stat", res.get("statistic")))
        p = number(res.get("p_value"))
        out += [Value(f"break_{key}_statistic", _clean(stat), fmt_num(stat), f"{name}: statistic"),
                Value(f"break_{key}_p_value", _clean(p), fmt_p(p), f"{name}: p-value")]
        if isinstance(res.get("date"), str):
            what = ("stated break date (last period before it)" if key == "chow"
                    else "date of the most likely break (last period before it)")
            out.append(Value(f"break_{key}_date", res["date"], res["date"], f"{name}: {what}"))
    bp = breaks.get("bai_perron")
    if isinstance(bp, Mapping) and "chosen" in bp:
        # breaks are reported only when sup-F rejects (notebook 04); older files have only the BIC's choice
        n = int(bp["breaks_reported"]) if "breaks_reported" in bp else int(bp["chosen"])
        dates = bp.get("date") or []
        dates = [dates] if isinstance(dates, str) else list(dates)
        out += [Value("break_bai_perron_count", n, str(n), "Bai-Perron: number of breaks chosen by BIC"),
                Value("break_bai_perron_dates", dates, ", ".join(dates) if dates else "none",
                      "Bai-Perron: dates of the chosen breaks (last period before each)")]
    return out


def collect_values(panel: pd.DataFrame, definition: Definition, trends: Mapping, crossover: Mapping, *,
                   simulated: bool) -> list[Value]:
    """Gather the quotable numbers of a run.

    Parameters
    ----------
    panel : pandas.DataFrame
        The tidy panel.
    definition : Definition
        The headline series (measure, rule, scope, frequency).
    trends, crossover : mapping
        Contents of ``trends.json`` and ``crossover.json``.
    simulated : bool
        Demo run.

    Returns
    -------
    list of Value
    """
    alpha = crossover_alpha(crossover)
    level = level_text(alpha)
    vals = [Value("simulated", bool(simulated), "SIMULATED DATA" if simulated else "real Hub data",
                  "Whether these numbers come from the simulated Hub of the offline demo"),
            Value("definition_measure", definition.measure, label(MEASURE_LABELS, definition.measure),
                  "Headline download measure"),
            Value("definition_rule", definition.rule, label(RULE_LABELS, definition.rule), "Headline attribution rule"),
            Value("definition_scope", definition.scope, label(SCOPE_LABELS, definition.scope), "Headline scope"),
            Value("confidence_level", 1 - alpha, level, "Confidence level of every interval")]
    sel = panel[(panel["measure"] == definition.measure) & (panel["rule"] == definition.rule)
                & (panel["scope"] == definition.scope)]
    first, last = sel["date"].min(), sel["date"].max()
    n_dates = int(sel["date"].nunique())
    vals += [Value("first_snapshot_date", iso(first), iso(first), "First snapshot date of the headline series"),
             Value("last_snapshot_date", iso(last), iso(last), "Latest snapshot date of the headline series"),
             Value("n_snapshots", n_dates, f"{n_dates}", "Number of snapshots in the headline series")]
    latest = sel[sel["date"] == last].set_index("region")
    for region in REGIONS:
        s = float(latest["share"].get(region, math.nan))
        vals.append(Value(f"share_{region.lower()}_latest", _clean(s), f"{100 * s:.1f}%" if math.isfinite(s) else "n/a",
                          f"Share of {definition.label()} held by origin {region_label(region)} ({region}) at the latest snapshot"))
    cn, us = float(latest["share"].get("CN", math.nan)), float(latest["share"].get("US", math.nan))
    gap = 100 * (cn - us)
    vals.append(Value("share_gap_cn_us_latest_pp", _clean(gap), f"{gap:+.1f}" if math.isfinite(gap) else "n/a",
                      "CN share minus US share at the latest snapshot, in percentage points"))
    ratio = math.log(cn / us) if cn > 0 and us > 0 else math.nan
    vals.append(Value("log_ratio_latest", _clean(ratio), fmt_num(ratio), "log(share CN / share US) at the latest snapshot"))

    ols = trends.get("ols") or {}
    if "params" in ols:
        scale = TimeScale.from_trends(trends, definition.frequency)
        b = number(ols["params"][1])
        se = ols.get("se")
        se_b = number(se[1]) if isinstance(se, (list, tuple)) and len(se) > 1 else math.nan
        per_year = 365.25 / scale.period_days
        pv = ols.get("p_values")
        p_b = number(pv[1]) if isinstance(pv, (list, tuple)) and len(pv) > 1 else math.nan
        vals += [Value("trend_slope_per_year", _clean(b * per_year), fmt_num(b * per_year),
                       "OLS slope of log(share CN / share US) per year"),
                 Value("trend_slope_se_per_year", _clean(se_b * per_year), fmt_num(se_b * per_year),
                       "Newey-West (HAC) standard error of that slope, per year"),
                 Value("trend_slope_p_value", _clean(p_b), fmt_p(p_b), _p_value_description(ols, crossover, p_b)),
                 Value("trend_hac_lags", ols.get("hac_lags"), str(ols.get("hac_lags", "n/a")),
                       "Newey-West truncation lag, in periods" + (
                           " (fixed-b: the Bartlett bandwidth is this lag + 1 periods)"
                           if ols.get("inference") == "fixed_b" else ""))]
    mk_all = trends.get("mann_kendall")
    if isinstance(mk_all, Mapping) and isinstance(mk_all.get("primary"), str):
        vals.append(Value("mk_primary_method", mk_all["primary"], label(MK_LABELS, mk_all["primary"]),
                          "Mann-Kendall variant reported as primary (config trends.mk_method)"))
    for name, mk in _mk_variants(mk_all).items():
        key = re.sub(r"[^a-z0-9]+", "_", name.lower())
        words = label(MK_LABELS, name)
        vals += [Value(f"mk_{key}_tau", _clean(number(mk.get("tau"))), fmt_num(number(mk.get("tau"))),
                       f"Mann-Kendall ({words}) Kendall's tau of the log ratio"),
                 Value(f"mk_{key}_z", _clean(number(mk.get("z"))), fmt_num(number(mk.get("z"))),
                       f"Mann-Kendall ({words}) standardised score z"),
                 Value(f"mk_{key}_p_value", _clean(number(mk.get("p_value"))), fmt_p(number(mk.get("p_value"))),
                       f"Mann-Kendall ({words}) two-sided p-value")]
    sen = trends.get("sens_slope")
    if isinstance(sen, Mapping) and "slope" in sen:
        scale = TimeScale.from_trends(trends, definition.frequency)
        per_year = 365.25 / scale.period_days
        for k, desc in (("slope", "Sen's slope"), ("ci_low", "lower end of Sen's slope interval"),
                        ("ci_high", "upper end of Sen's slope interval")):
            v = number(sen.get(k)) * per_year
            vals.append(Value(f"sen_{k}_per_year", _clean(v), fmt_num(v), f"{desc}, log ratio per year"))

    vals += _fractional_logit_values(trends)
    vals += _break_values(trends)

    head = headline_crossing(crossover)
    vals.append(Value("crossover_method", head.method, method_label(head.method),
                      "Method of the headline crossover estimate"))
    vals += _crossing_values("crossover", head, "Headline", level)
    vals += _headline_extra_values(crossover.get("headline") or {})
    vals += _calibration_values(crossover.get("headline") or {})
    scale = TimeScale.from_trends(trends, definition.frequency) if trends else None
    methods = crossover.get("methods") or {}
    for m in sorted(methods, key=lambda x: (METHOD_ORDER.index(x) if x in METHOD_ORDER else 99, x)):
        if m in ("first_passage", head.method) or scale is None:
            continue
        c = method_crossing(crossover, m, scale)
        if c is not None:
            words = method_label(m)
            vals += _crossing_values(m, c, words[:1].upper() + words[1:], level)
    boot = methods.get("bootstrap") or {}
    if "share_no_crossing" in boot:
        v = number(boot["share_no_crossing"])
        vals.append(Value("bootstrap_share_no_crossing", _clean(v), f"{100 * v:.1f}%",
                          "Share of bootstrap replicates whose trend never crosses"))
    fp = methods.get("first_passage") or {}
    if fp:
        d = fp.get("date") or fp.get("estimate_date")
        vals.append(Value("first_passage_date", d, d or "not yet",
                          "First period with CN ahead of US for k consecutive periods"))
        if "lower_date" in fp and (fp.get("lower_date") or fp.get("upper_date")):
            vals += [Value("first_passage_lower_date", fp.get("lower_date"), fp.get("lower_date") or "open",
                           "First passage of the underlying shares: earliest period (from the headline set)"),
                     Value("first_passage_upper_date", fp.get("upper_date"), fp.get("upper_date") or "open",
                           "First passage of the underlying shares: latest period (from the headline set)")]
        if "prob_crossed_by_last_period" in fp:
            p = number(fp["prob_crossed_by_last_period"])
            vals.append(Value("first_passage_prob_crossed", _clean(p), f"{100 * p:.1f}%",
                              "Model-based probability that CN had passed US by the latest snapshot"))
    vals += definition_values(crossover)
    keys = [v.key for v in vals]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError(f"duplicate value key(s) {sorted(dup)}; every quotable value needs its own name")
    return vals


def _answer_values(prefix: str, a: Mapping, what: str) -> list[Value]:
    """Estimate, set ends and kind of one side-by-side answer of ``crossover.json``."""
    est, lo, hi, kind = (a.get(k) for k in ("estimate_date", "lower_date", "upper_date", "kind"))
    kind_text = label(KIND_LABELS, str(kind)) if kind else "not estimated"
    return [Value(f"{prefix}_estimate_date", est, est or f"no overtaking date ({kind_text})",
                  f"Crossover estimate, {what}"),
            Value(f"{prefix}_lower_date", lo, lo or ("open" if est else "none"), f"Lower end of its set, {what}"),
            Value(f"{prefix}_upper_date", hi, hi or ("open" if est else "none"), f"Upper end of its set, {what}"),
            Value(f"{prefix}_kind", kind, kind_text, f"Kind of its confidence set, {what}")]


def definition_values(crossover: Mapping) -> list[Value]:
    """The crossover for all models, generative models and the trackers' scope side by side, and with the contested
    origins read the other way (``crossover.json`` headline ``by_scope`` and ``other_reading``)."""
    h = crossover.get("headline") or {}
    out: list[Value] = []
    for scope, a in (h.get("by_scope") or {}).items():
        out += _answer_values(f"crossover_scope_{scope}", a, f"scope: {label(SCOPE_LABELS, scope)}")
    other = h.get("other_reading")
    if other:
        names = ", ".join(other.get("contested_accounts") or []) or "the contested accounts"
        out += _answer_values("crossover_other_reading", other,
                              f"headline definition with the contested origins read the other way ({names})")
    cum = h.get("cumulative")
    if cum and cum.get("kind") != "no_data":
        what = f"cumulative downloads counted from {cum.get('start_date')}"
        out += _answer_values("crossover_cumulative", cum, what)
        out.append(Value("crossover_cumulative_start_date", cum.get("start_date"), str(cum.get("start_date")),
                         "First date of the cumulative sums"))
    return out


#: LaTeX specials and their escapes. ``<`` and ``>`` are included: in LaTeX's default OT1 font encoding they print
#: as "¡" and "¿" outside math mode.
TEX_SPECIALS = {"\\": r"\textbackslash{}", "%": r"\%", "_": r"\_", "&": r"\&", "#": r"\#", "$": r"\$",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "<": r"\textless{}", ">": r"\textgreater{}"}


def tex_escape(text: str) -> str:
    """Escape LaTeX special characters."""
    return "".join(TEX_SPECIALS.get(ch, ch) for ch in text)


def tex_define(macro: str, body: str) -> str:
    """One line defining ``\\macro`` as ``body`` (already escaped) whether or not it is defined yet.

    ``\\providecommand`` defines it when it is not; ``\\renewcommand`` then sets it. Unlike ``\\newcommand``, this never
    stops LaTeX with "Command already defined", so values.tex can be input twice.
    """
    return "\\providecommand{\\%s}{}\\renewcommand{\\%s}{%s}" % (macro, macro, body)


def write_values(values: list[Value], json_path: Path, tex_path: Path, *, simulated: bool,
                 source: Mapping | None = None, provenance: Mapping | None = None) -> tuple[Path, Path]:
    """Write ``values.json`` and ``values.tex`` (deterministic: no time stamps).

    Parameters
    ----------
    values : list of Value
    json_path, tex_path : Path
    simulated : bool
        Demo run: both files say SIMULATED DATA, and every number macro of the LaTeX file ends with
        :data:`TEX_SIMULATED_SUFFIX`.
    source : mapping, optional
        Where the numbers come from, written into values.json (e.g. config digest, raw manifest hash).
    provenance : mapping, optional
        The file's provenance record (:mod:`analysis.contracts`), written under ``provenance``.
    """
    doc = {"simulated": bool(simulated),
           "note": ("SIMULATED DATA: demo run on a simulated Hub; these numbers are not findings."
                    if simulated else "Generated from the study's processed data; quote these, never retype them."),
           "source": dict(source or {}),
           "values": {v.key: {"value": v.value, "text": v.text, "macro": "\\" + v.macro,
                              "description": v.description} for v in values}}
    if provenance is not None:
        doc["provenance"] = dict(provenance)
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    lines = ["% Generated by analysis.figures.values (notebook 07). Do not edit: rerun the study instead.",
             "% Use: \\input{figures/values.tex} in the preamble, then e.g. \\StudyCrossoverEstimateDate.",
             "% Each macro is set with \\providecommand then \\renewcommand: inputting this file twice is safe."]
    if simulated:
        lines.append("% SIMULATED DATA: demo run on a simulated Hub; these numbers are not findings.")
    kind = "SIMULATED DATA (demo run)" if simulated else "Hugging Face Hub snapshots"
    lines.append(tex_define("StudyDataKind", kind))
    for v in values:
        text = v.text
        if simulated and "SIMULATED DATA" not in text:
            text += TEX_SIMULATED_SUFFIX
        lines.append(f"% {tex_escape(v.description)}")
        lines.append(tex_define(v.macro, tex_escape(text)))
    tex_path = Path(tex_path)
    tex_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, tex_path


def values_table(values: list[Value]) -> pd.DataFrame:
    """The values as a table for display (key, text, macro, description)."""
    return pd.DataFrame([{"key": v.key, "text": v.text, "macro": "\\" + v.macro, "description": v.description}
                         for v in values])


def as_dict(values: list[Value]) -> dict:
    """``{key: value}``."""
    return {v.key: asdict(v)["value"] for v in values}


def data_source_value(source: Mapping, simulated: bool) -> Value:
    """Where the data behind every value came from: the Hub endpoint(s) the raw manifest records."""
    endpoints = list(source.get("endpoints") or [])
    text = ", ".join(endpoints) if endpoints else "not recorded"
    kind = "a simulated Hub (demo run)" if simulated else "the Hub"
    return Value("data_source_endpoint", endpoints, text,
                 f"Endpoint(s) of {kind} the raw snapshots were pulled from, as the raw manifest records them")
