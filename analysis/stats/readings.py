"""Plain-language readings of every result: what a method assumes, what it found, how sure it is.

Every sentence a notebook shows or a result file stores about a statistic is built here, from the result objects
and from the calibration file (``data/reference/calibration.json``, written by
``python -m devtools.validate --preset calibration``). No coverage figure or rejection rate is typed into a
sentence: they are read from that file, and when it is missing or was made with other settings the sentence says
so instead of quoting a number.

Units come from the series' frequency (``day``, ``week`` or ``month``; :func:`analysis.stats.series.unit_of`).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

CALIBRATION_COMMAND = "python -m devtools.validate --preset calibration"
#: How readings name the download measures.
MEASURE_LABELS = {"downloads_30d": "30-day downloads", "downloads_alltime_increment": "all-time download increments"}
#: Keys of the must-show grid of the calibration file (truth shapes the headline must cover in every cell).
CORE_TRUTHS = ("line", "release_jump", "s_curve", "saturation")


# ----------------------------------------------------------------------------------------------------------
# small formatters
# ----------------------------------------------------------------------------------------------------------
def pct(p: float) -> str:
    """A p-value for prose: ``p < 0.001`` or ``p = 0.012``."""
    if p is None or not math.isfinite(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_date(d: str | None, open_word: str = "open (unbounded)") -> str:
    """A date, or words for a missing one."""
    return d if d else open_word


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def share(x: float) -> str:
    """0.934 -> "93.4%"."""
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


# ----------------------------------------------------------------------------------------------------------
# the calibration file
# ----------------------------------------------------------------------------------------------------------
def calibration_path() -> Path:
    """``data/reference/calibration.json`` of the study (the reference folder of :class:`analysis.paths.Paths`),
    falling back to the copy beside the code when the study root has none."""
    from ..paths import REPO_ROOT, Paths

    p = Paths.default().reference_dir / "calibration.json"
    return p if p.is_file() else REPO_ROOT / "data" / "reference" / "calibration.json"


@lru_cache(maxsize=8)
def _read(path: str, mtime: float) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_calibration(path: str | Path | None = None) -> dict | None:
    """The calibration file as a dict, or None when it is absent or unreadable."""
    p = Path(path) if path is not None else calibration_path()
    if not p.is_file():
        return None
    return _read(str(p), p.stat().st_mtime)


def current_settings() -> dict:
    """The settings of the headline method and the break tests that a calibration file must have been made with."""
    from . import local
    from .breaknull import BREAK_PLAUSIBLE

    return {"bandwidth_fraction": local.BANDWIDTH_FRACTION, "min_bandwidth": local.MIN_BANDWIDTH,
            "lags_rule": "max(3, round(h / 3))", "plausible_tail": local.PLAUSIBLE, "alpha": 0.05,
            "break_lags_rule": "max(3, round(0.05 n))", "break_plausible_tail": BREAK_PLAUSIBLE}


def calibration_status(cal: Mapping | None) -> tuple[bool, str]:
    """(usable, reason): whether the file exists and was made with the current headline settings."""
    if not cal:
        return False, f"no calibration file yet (run {CALIBRATION_COMMAND})"
    made = (cal.get("method") or {}).get("settings") or {}
    want = current_settings()
    diff = [k for k, v in want.items() if made.get(k) != v]
    if diff:
        return False, (f"the calibration file was made with other settings ({', '.join(diff)}); rerun "
                       f"{CALIBRATION_COMMAND}")
    return True, ""


def coverage_range(cal: Mapping | None, method: str, truths=CORE_TRUTHS) -> dict | None:
    """Coverage of ``method`` over the cells of the given truths: min, max, largest Monte Carlo s.e., cells, reps.

    Returns None when the file lacks the method.
    """
    if not cal:
        return None
    cells = [c for c in cal.get("cells", []) if c.get("truth") in truths and method in (c.get("methods") or {})]
    vals = [c["methods"][method] for c in cells if c["methods"][method].get("coverage") is not None]
    if not vals:
        return None
    return {"min": min(v["coverage"] for v in vals), "max": max(v["coverage"] for v in vals),
            "se_max": max(v.get("coverage_se", 0.0) for v in vals), "cells": len(vals),
            "reps_min": min(int(c.get("reps", 0)) for c in cells)}


def coverage_phrase(cal: Mapping | None, method: str, truths=CORE_TRUTHS, what: str = "the true date") -> str:
    """"covered the true date in 92.4-97.1% of simulated series (16 scenarios, ...)" or why no figure is given.

    The phrase starts with a verb, to follow "the set" or "it".
    """
    ok, why = calibration_status(cal)
    r = coverage_range(cal, method, truths) if cal else None
    if r is None:
        return f"has no measured coverage yet ({why or 'the calibration file lacks it'})"
    note = "" if ok else f"; NOTE: {why}"
    labels = {"line": "straight line", "release_jump": "release jump", "s_curve": "S-curve",
              "saturation": "saturation"}
    scen = ", ".join(labels.get(t, t.replace("_", " ")) for t in truths)
    return (f"covered {what} in {share(r['min'])}-{share(r['max'])} of simulated series at nominal "
            f"{100 * (1 - float(cal.get('alpha', 0.05))):.0f}% ({r['cells']} scenarios: {scen}; Monte Carlo s.e. at "
            f"most {100 * r['se_max']:.1f} points; {CALIBRATION_COMMAND}){note}")


def false_claim_phrase(cal: Mapping | None) -> str:
    """The after-window false-claim rate, in words."""
    rows = (cal or {}).get("after_window") or []
    if not rows:
        return ""
    hi = max(r["false_claim"] for r in rows)
    return (f"when the true crossing comes after the last snapshot, it claimed a bounded overtaking date inside the "
            f"window in at most {share(hi)} of simulated series")


def break_size_phrase(cal: Mapping | None, test: str) -> str:
    """Rejection rate of a break test on simulated series without a break, in words."""
    rows = (cal or {}).get("break_size") or []
    vals = [r[test] for r in rows if r.get(test) is not None]
    if not vals:
        return "its size has not been measured (run " + CALIBRATION_COMMAND + ")"
    iid = [r.get(f"{test}_iid") for r in rows if r.get(f"{test}_iid") is not None]
    out = (f"on simulated series without a break (straight line, AR(1) noise 0.5 and 0.8 seen through a 4-period "
           f"window) it rejected in {share(min(vals))}-{share(max(vals))} of series at nominal 5%")
    if iid:
        out += f" (with independent-noise p-values: {share(min(iid))}-{share(max(iid))})"
    return out


# ----------------------------------------------------------------------------------------------------------
# trend readings (notebook 04)
# ----------------------------------------------------------------------------------------------------------
def ols_reading(ols, ols_nw, ols_pw, unit: str, cal: Mapping | None) -> str:
    """The straight-line trend of the log ratio."""
    a, b = ols.params
    if ols.inference == "fixed_b":
        how = (f"Newey-West errors with {ols.hac_lags} lags, i.e. a Bartlett bandwidth of "
               f"{100 * ols.bandwidth_b:.0f}% of the sample, with fixed-b p-values simulated for this design "
               "(Kiefer and Vogelsang 2005); the straight-line crossover set built this way "
               + coverage_phrase(cal, "fieller_fixed_b", ("line",), "the true date when the truth IS a straight "
                                 "line")
               + ", less when it is not (see notebook 05)")
    else:
        how = f"Newey-West errors with {ols.hac_lags} lags, small-sample factor applied, t with {ols.df_resid} df"
    sure = ("The slope is clearly different from zero." if ols.p_values[1] < 0.01 else
            "The slope is distinguishable from zero at the 5% level." if ols.p_values[1] < 0.05 else
            "The slope is NOT distinguishable from zero.")
    return (f"Linear trend of log(CN/US share) by OLS ({how}); assumes a straight-line trend plus stationary noise, "
            f"so it is the average direction over the window, not the path. Slope {b:+.4f} per {unit} "
            f"(SE {ols.se[1]:.4f}, {pct(ols.p_values[1])}), i.e. the CN/US ratio changes by "
            f"{100 * (math.exp(b) - 1):+.1f}% per {unit}. {sure} Classic Newey-West ({ols_nw.hac_lags} lags, t): "
            f"{pct(ols_nw.p_values[1])}; with VAR(1)-prewhitened Newey-West errors the SE is {ols_pw.se[1]:.4f} "
            f"({pct(ols_pw.p_values[1])}).")


def mk_reading(name: str, r) -> str:
    """One Mann-Kendall variant."""
    assumes = {
        "original": "assumes independent periods (autocorrelation makes it too confident)",
        "hamed_rao": f"allows autocorrelation in the first {r.lag if r.lag is not None else 'all'} lags of the ranks "
                     "(Hamed-Rao variance correction)",
        "yue_wang": f"allows autocorrelation in the first {r.lag if r.lag is not None else 'all'} lag(s) "
                    "(Yue-Wang effective sample size)",
    }[name]
    direction = "upward (CN gaining on US)" if r.s > 0 else "downward (CN losing ground)" if r.s < 0 else "flat"
    sure = ("a clear monotonic trend" if r.p_value < 0.01 else "some evidence of a trend" if r.p_value < 0.05
            else "no convincing evidence of a trend")
    return (f"Mann-Kendall ({name}): rank test for a monotonic trend in log(CN/US share); {assumes}. "
            f"Direction {direction}, tau = {r.tau:.2f}, z = {r.z:.2f}, {pct(r.p_value)}: {sure}.")


def sens_reading(sen, unit: str) -> str:
    return (f"Sen's slope: median of all pairwise slopes of log(CN/US), robust to outliers, with a rank-based "
            f"{int(100 * (1 - sen.alpha))}% interval that assumes independent periods. {sen.slope:+.4f} per {unit} "
            f"[{sen.ci_low:+.4f}, {sen.ci_high:+.4f}].")


def flogit_reading(fl, unit: str, crossing_date: str | None) -> str:
    return ("Fractional logit of the CN share of CN+US downloads (binomial quasi-likelihood): assumes the logit of "
            "the expected share is linear in time (a logistic curve), but nothing about the distribution around that "
            f"mean. Its p-value uses classic Newey-West errors ({fl.hac_lags} lags) with a normal critical value, "
            "which is too confident when the noise is autocorrelated. Slope "
            f"{fl.params[1]:+.4f} per {unit} on the logit scale ({pct(fl.p_values[1])}); the fitted share crosses one "
            f"half at {crossing_date or 'no finite date'}.")


def noise_phrase(noise, unit: str) -> str:
    """The fitted noise model the simulated nulls use."""
    return (f"AR(1) noise of coefficient {noise.phi:.2f} per {unit}"
            + (f" averaged over the measure's {noise.window}-{unit} window" if noise.window > 1 else "")
            + f", fitted to the robust second-difference variogram (lags 1-{noise.lags})")


def break_readings(*, pett, chow_res, chow_reason: str, chow_date: str | None, supf, cusum, bp, bp_tested: bool,
                   obs_date, pett_date: str | None, n_obs: int, noise, plausible_phi: float, unit: str,
                   cal: Mapping | None) -> dict:
    """Readings of the break tests; each says what the test can and cannot tell with autocorrelated noise."""
    nul = (f"p-value simulated on this design with {noise_phrase(noise, unit)}, calibrated by a double bootstrap "
           f"and the largest over the noise coefficients the data do not rule out (up to {plausible_phi:.2f})")

    def verdict(p: float, what: str) -> str:
        if p < 0.05:
            return (f"Evidence of {what} beyond a straight-line trend and noise this persistent; it does not say "
                    "whether the change was a jump or a bend.")
        return (f"No evidence of {what} beyond a straight-line trend plus noise this persistent; with persistent "
                "noise a moderate break can go unseen, so this is not evidence that the path is a straight line.")

    out = {
        "break_pettitt": (f"Pettitt rank test on the detrended log ratio ({nul}): largest shift after "
                          f"{pett_date or '-'}, {pct(pett.p_value)}. " + verdict(pett.p_value, "a shift")
                          + " " + _size_note(cal, "pettitt")),
        "break_sup_f": (f"sup-F test for one break in level and slope at an unknown date (15% trimming; {nul}); "
                        f"most likely break after {obs_date(supf.location)}, sup-F = {supf.statistic:.2f}, "
                        f"{pct(supf.p_value)}. " + verdict(supf.p_value, "a break") + " " + _size_note(cal, "sup_f")),
        "break_cusum": (f"OLS-CUSUM test of stable trend coefficients ({nul}): statistic {cusum.statistic:.2f}, "
                        f"{pct(cusum.p_value)}; largest cumulated deviation at {obs_date(cusum.location)}. "
                        + verdict(cusum.p_value, "unstable coefficients") + " " + _size_note(cal, "cusum")),
    }
    if chow_res is not None:
        out["break_chow"] = (f"Chow F test for a change in level and slope after {obs_date(chow_res.split)} (stated in "
                             f"advance: {chow_date}; {chow_res.split} periods before, {n_obs - chow_res.split} after; "
                             f"{nul}). F = {chow_res.f_stat:.2f}, {pct(chow_res.p_value)}. "
                             + verdict(chow_res.p_value, "a change at that date") + " " + _size_note(cal, "chow"))
    else:
        out["break_chow"] = chow_reason or "Chow test not requested."
    if bp_tested:
        dates = "; ".join(f"after {obs_date(iv.estimate)} ({int(100 * bp.level)}% interval "
                          f"{obs_date(iv.lower) or '?'} to {obs_date(iv.upper) or '?'})" for iv in bp.intervals)
        out["break_bai_perron"] = (f"Bai-Perron dating (all dates tried, minimum segment {bp.min_size} periods): the "
                                   f"sup-F test rejected, so breaks are dated; the BIC chose {bp.chosen}"
                                   + (f": {dates}" if bp.chosen else "")
                                   + ". The BIC and the Bai (1997) intervals assume serially uncorrelated errors and "
                                     "stationary regressors within segments (the trend term is not), so read the "
                                     "number of breaks and the intervals as approximate.")
    else:
        out["break_bai_perron"] = ("Bai-Perron dating not reported: it dates breaks only when the sup-F test rejects "
                                   "(its BIC, which assumes independent errors, finds breaks in persistent noise "
                                   "almost always), and sup-F did not reject.")
    return out


def _size_note(cal: Mapping | None, test: str) -> str:
    rows = (cal or {}).get("break_size") or []
    if not rows:
        return f"(Its size has not been measured; run {CALIBRATION_COMMAND}.)"
    return "(Calibration: " + break_size_phrase(cal, test) + ".)"


# ----------------------------------------------------------------------------------------------------------
# crossover readings (notebook 05)
# ----------------------------------------------------------------------------------------------------------
def set_text(pieces_dates: list, open_start: bool, open_end: bool, first_date: str, last_date: str) -> str:
    """A confidence set of dates in words: its pieces, with open ends said as such."""
    if not pieces_dates:
        return "empty"
    parts = []
    for i, (a, b) in enumerate(pieces_dates):
        lo = f"before {first_date} (the first snapshot) to" if (i == 0 and open_start) else f"{a} to"
        hi = f"after {last_date} (the last snapshot)" if (i == len(pieces_dates) - 1 and open_end) else b
        parts.append(f"{lo} {hi}")
    return " and ".join(parts) if len(parts) <= 2 else "; ".join(parts[:-1]) + "; and " + parts[-1]


def local_reading(loc, *, unit: str, level: int, dates: dict, first_date: str, last_date: str,
                  cal: Mapping | None) -> str:
    """The local-linear set and its method."""
    s = loc.settings()
    how = (f"local-linear fit (triangular kernel, half-width {loc.bandwidth:.1f} {unit}s: "
           f"{loc.bandwidth_rule}) with {noise_words(loc, unit)}; critical values {loc.critical_min:.2f}-"
           f"{loc.critical_max:.2f} from a parametric bootstrap-t with {s['null_draws']} draws per noise coefficient, "
           f"its level calibrated by a double bootstrap at the least favourable plausible coefficient")
    found = (f"The {level}% set of dates at which the underlying log ratio may be zero is "
             f"{set_text(dates['pieces_dates'], loc.open_start, loc.open_end, first_date, last_date)}")
    from .local import LEVELS

    if loc.level_max >= float(LEVELS[-1]):
        found += (". The calibration reached its largest level (the bootstrap's 99.9% quantile) somewhere in the "
                  "window: the data do not rule out noise so persistent that even these critical values may be too "
                  "small there")
    fc = false_claim_phrase(cal)
    return (f"Local-linear crossover (no shape assumed over the window): {how}. {found}. Every crossing of the fitted "
            f"curve: {', '.join(dates['crossing_dates']) or 'none'}. In the calibration study this set "
            + coverage_phrase(cal, "local_linear") + (f"; {fc}" if fc else "") + ".")


def noise_words(loc, unit: str) -> str:
    return (f"AR(1) noise of coefficient {loc.phi:.2f} per {unit}"
            + (f" averaged over the measure's {loc.window}-{unit} window" if loc.window > 1 else "")
            + f" (fitted to the robust second-difference variogram, lags 1-{loc.variogram_lags})")


def headline_reading(*, head: Mapping, loc, unit: str, level: int, first_date: str, last_date: str,
                     lag_days: float, measure: str | None, cal: Mapping | None,
                     spread: Mapping | None = None) -> str:
    """The headline sentence: the date, the set, what is estimated, how sure, and the spread across definitions."""
    kind = head["kind"]
    est = head.get("estimate_date")
    meas = MEASURE_LABELS.get(measure or "", (measure or "the measure").replace("_", " "))
    estimand = (f"the date at which the noise-free CN and US shares of {meas} cross (a trailing count lags the "
                f"downloads of the day by about {lag_days:.0f} days, so the crossing of daily downloads is about "
                f"{lag_days:.0f} days earlier: {head.get('underlying_estimate_date') or 'n/a'})")
    setw = set_text(head.get("pieces_dates") or [], loc.open_start, loc.open_end, first_date, last_date)
    cov = coverage_phrase(cal, "local_linear")
    if kind == "no_crossing":
        who = "CN" if loc.fitted_end > 0 else "the US"
        text = (f"The data exclude a crossing of the underlying CN and US shares anywhere between {first_date} and "
                f"{last_date}: {who} is ahead throughout (at the {level}% level). Estimand: {estimand}. ")
    elif est is None:
        text = (f"The fitted log ratio does not end with CN ahead, so there is no overtaking date; the {level}% set of "
                f"dates at which the shares may be equal is {setw}. Estimand: {estimand}. ")
    else:
        multi = len(head.get("crossing_dates") or []) > 1
        text = (f"CN's share overtook the US share on {est} (the last upward crossing of the fitted path, after which "
                "CN stays ahead to the last snapshot"
                + (f"; the fitted path crosses {len(head['crossing_dates'])} times: "
                   f"{', '.join(head['crossing_dates'])}" if multi else "")
                + f"). {level}% confidence set: {setw}"
                + (" (open-ended: the data cannot exclude a crossing outside the window)" if kind != "bounded" else "")
                + f". Estimand: {estimand}. ")
    text += ("No straight line is assumed: the path is fitted locally (" + f"{loc.bandwidth:.1f} {unit}s either side"
             + f"), with {noise_words(loc, unit)}. In the calibration study this set {cov}.")
    if spread:
        text += " " + spread_reading(spread)
    return text


def spread_reading(spread: Mapping) -> str:
    """The spread of the date across defensible definitions, next to the statistical interval."""
    n = spread.get("n_rows", 0)
    nodata = spread.get("n_no_data", 0)
    skipped = (f" ({nodata} other definition(s) could not be estimated: the panel lacks them or their window is "
               "too short)") if nodata else ""
    if not n or not spread.get("earliest_date"):
        return "No definition of the sensitivity grid gives an overtaking date" + skipped + "."
    lo, hi = spread.get("earliest_date"), spread.get("latest_date")
    none = spread.get("n_no_estimate", 0)
    return (f"Across {n} defensible definitions (measure, attribution rule, scope, later window starts, half or "
            f"double the bandwidth) the estimated date ranges from {lo} to {hi}"
            + (f"; {none} of them give no overtaking date (CN not ahead at their last snapshot)" if none else "")
            + skipped + ".")


def fieller_reading(f, label: str, td) -> str:
    return (f"{label}: {kind_text(f.kind)}"
            + (f", {td(f.lower)} to {td(f.upper)}" if f.kind == "bounded" else "")
            + (f" (excluded: {td(f.gap[0])} to {td(f.gap[1])})" if f.kind == "two_rays" and f.gap else "")
            + f"; critical value {f.critical:.2f}, g = {f.g:.3f} (bounded iff g < 1).")


def kind_text(kind: str) -> str:
    return {"bounded": "a bounded interval", "two_rays": "two rays (the data cannot exclude very early or very late "
            "dates)", "unbounded": "the whole time line (no information on the date)",
            "empty": "empty (degenerate input)", "no_crossing": "empty (no crossing in the window)",
            "no_trend": "not defined (the straight line is not rising)"}.get(kind, kind)


def straight_line_reading(fie, main, td, unit: str, cal: Mapping | None, first_date: str, last_date: str) -> str:
    """The straight-line Fieller set, labelled as assuming linearity."""
    b = main.fit.params[1]
    if not (math.isfinite(b) and b > 0):
        return (f"Straight-line Fieller set (ASSUMES ONE STRAIGHT LINE over {first_date} to {last_date}): the fitted "
                f"line is not rising (slope {b:+.4f} per {unit}), so it gives no overtaking date.")
    return (f"Straight-line Fieller set (ASSUMES ONE STRAIGHT LINE over {first_date} to {last_date}; fixed-b "
            f"inference, Bartlett bandwidth {main.bandwidth_periods} {unit}s): the line crosses zero on "
            f"{td(fie.estimate)}; {kind_text(fie.kind)}"
            + (f" {td(fie.lower)} to {td(fie.upper)}" if fie.kind == "bounded" else "")
            + f" (critical value {fie.critical:.2f}). It is the zero of the average trend, not of the path: when the "
              "shares jump, bend or saturate the two differ. In the calibration study it "
            + coverage_phrase(cal, "fieller_fixed_b", ("line",), "the true date of a straight-line truth")
            + "; over all four truth shapes it " + coverage_phrase(cal, "fieller_fixed_b") + ".")


def bootstrap_reading(boot, lvl: int, td, n_gap: int, cal: Mapping | None) -> str:
    if boot is None:
        return "Bootstrap skipped."
    gap_text = ((f" The {n_gap} missing period(s) are skipped: the residuals are resampled in time order as if the "
                 "observed periods were contiguous, so blocks run across the gaps.") if n_gap else "")
    if boot.method == "studentized":
        rule_text = {"n_cbrt": "the cube root of the number of observed periods, rounded up"}.get(
            boot.block_rule, boot.block_rule.replace('_', '-'))
        return (f"Residual circular block bootstrap of the straight line (ASSUMES ONE STRAIGHT LINE), studentized "
                f"({boot.reps} replicates, block length {boot.block_length}, {rule_text}): critical value "
                f"{boot.critical:.2f} for the Fieller set, which is "
                + (f"{fmt_date(td(boot.lower))} to {fmt_date(td(boot.upper))}" if boot.kind == "bounded"
                   else kind_text(boot.kind))
                + f"; {100 * boot.share_no_crossing:.1f}% of replicates never cross. Over the four truth shapes it "
                + coverage_phrase(cal, "bootstrap_studentized") + "." + gap_text)
    return (f"Residual circular block bootstrap of the straight line ({boot.reps} replicates, block length "
            f"{boot.block_length}, {boot.block_rule.replace('_', '-')}): {lvl}% percentile interval "
            f"{fmt_date(td(boot.lower))} to {fmt_date(td(boot.upper))}; {100 * boot.share_no_crossing:.1f}% of "
            "replicates never cross. Percentile intervals of a ratio under-cover; read with caution." + gap_text)


def first_passage_reading(*, k: int, unit: str, date: str | None, lower: str | None, upper: str | None,
                          cal: Mapping | None) -> str:
    """The empirical first passage and its interval (derived from the headline set)."""
    iv = (f"The underlying shares' first passage (the first {unit} of {k} in a row with CN ahead of the noise-free "
          f"path) lies between {fmt_date(lower, 'before the first snapshot')} and "
          f"{fmt_date(upper, 'after the last snapshot')}: the headline set in whole {unit}s (for a path that stays "
          "ahead once it has crossed, the first passage is the first period after the crossing). In the calibration "
          "study this interval " + coverage_phrase(cal, "first_passage", what="the true first passage") + ".")
    return (f"First {unit} from which the OBSERVED CN share is ahead of the US share for {k} consecutive {unit}s: "
            f"{date or 'not reached in the sample'}. It is a fact about this noisy sample, not an estimate with a "
            f"known error: noise can make it early or late. {iv} A state-space (local linear trend) interval for it "
            "was dropped: its fitted observation variance collapsed to zero on overlapping 30-day counts, so its "
            "draws reproduced the data and its intervals were far too narrow.")


def delta_reading(dlt, td) -> str:
    return (f"Delta-method interval of the straight-line crossing {td(dlt.lower)} to {td(dlt.upper)} (critical value "
            f"{dlt.critical:.2f}): assumes one straight line, symmetric by construction and always bounded, so it "
            "overstates precision when the slope is weak; secondary.")


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


#: What each scope counts, in words, for the side-by-side readings.
SCOPE_WORDS = {"all": "all models", "llm": "generative models (text generation and image-text-to-text)",
               "first_party_llm": "first-party generative models of organisations (the trackers' scope)",
               "no_redistributors": "models not uploaded by redistributors"}


def _answer_text(a: Mapping) -> str:
    kind = a.get("kind")
    if kind in (None, "no_data"):
        return "not estimable (the panel lacks this series or its window is too short)"
    if not a.get("estimate_date"):
        return f"no overtaking date ({str(kind).replace('_', ' ')})"
    pieces = a.get("pieces_dates") or []
    if isinstance(pieces, (list, tuple)) and len(pieces) > 1:
        parts = " and ".join(f"{p[0]} to {p[1]}" for p in pieces)
        return f"{a['estimate_date']} (95% set of {len(pieces)} intervals: {parts})"
    lo = a.get("lower_date") or ("open" if a.get("open_start") else "?")
    hi = a.get("upper_date") or ("open" if a.get("open_end") else "?")
    if not a.get("lower_date") and not a.get("upper_date"):
        return f"{a['estimate_date']} (set unbounded)"
    return f"{a['estimate_date']} (set {lo} to {hi})"


def scopes_reading(by_scope: Mapping, definition: Mapping) -> str:
    """The crossover for all models and for generative models side by side, and which one a claim means."""
    parts = [f"{SCOPE_WORDS.get(sc, sc)}: {_answer_text(a)}" for sc, a in by_scope.items()]
    measure = MEASURE_LABELS.get(str(definition.get("measure")), str(definition.get("measure")))
    rule = str(definition.get("rule"))
    rule = rule.removesuffix("_alt") + " rule" + (", contested origins read the alternative way"
                                                  if rule.endswith("_alt") else "")
    return ("Side by side (" + f"{measure}, {rule}): " + "; ".join(parts)
            + ". A claim about \"AI models\" overtaking, as the trackers and the Hub's own reports make it, concerns "
              "generative models; \"all models\" also counts embedding, speech, vision and classic language models, "
              "where a few accounts (sentence-transformers, google-bert, BAAI) hold much of the downloads, and the "
              "sign of the answer can differ between the two.")


def contested_reading(other: Mapping, rule: str) -> str:
    """The headline definition with the contested origins read the other way."""
    names = ", ".join(other.get("contested_accounts") or []) or "the contested accounts"
    which = "alternative" if not str(rule).endswith("_alt") else "primary"
    return (f"With the contested origins read the {which} way ({names}; data/reference/README.md): "
            f"{_answer_text(other)}.")


def conclusion(crossover: Mapping, simulated: bool = False) -> str:
    """Notebook 05's closing paragraph in plain words, from ``crossover.json`` content.

    It says, in order: whether and when CN overtook the US on the headline definition and how sure that is; how
    far the date moves across defensible definitions; whether the answer depends on which models are counted; what
    the contested origins change; and what the cumulative totals say. Nothing in it is typed: every date comes
    from the results.
    """
    h = crossover.get("headline") or {}
    d = crossover.get("definition") or {}
    measure = MEASURE_LABELS.get(str(d.get("measure")), str(d.get("measure")))
    scope = SCOPE_WORDS.get(str(d.get("scope")), str(d.get("scope")))
    out = []
    if simulated:
        out.append("These are simulated data: the sentences below describe the demo's invented Hub, not the real one.")
    if h.get("estimate_date"):
        out.append(f"On the headline definition ({measure}, {scope}, {d.get('rule')} rule), models of Chinese origin "
                   f"overtook those of US origin around {h['estimate_date']}; the data are consistent with any date "
                   f"from {fmt_date(h.get('lower_date'), 'before the first snapshot')} to "
                   f"{fmt_date(h.get('upper_date'), 'after the last snapshot')} (95% confidence set).")
    else:
        out.append(f"On the headline definition ({measure}, {scope}, {d.get('rule')} rule), the data do not show "
                   f"models of Chinese origin ahead of those of US origin at the last snapshot "
                   f"({kind_text(str(h.get('kind')))}).")
    sp = h.get("definition_spread") or {}
    if sp.get("earliest_date"):
        out.append(f"That interval is only the statistical uncertainty. The choice of definition matters as much: "
                   f"across {sp.get('n_rows')} defensible definitions the date runs from {sp['earliest_date']} to "
                   f"{sp['latest_date']}" + (f", and {sp['n_no_estimate']} of them show no overtaking yet"
                                              if sp.get("n_no_estimate") else "") + ".")
    by = h.get("by_scope") or {}
    if by:
        parts = [f"{SCOPE_WORDS.get(sc, sc)} {_answer_text(a)}" for sc, a in by.items()]
        out.append("Which models are counted changes the answer: " + "; ".join(parts) + ".")
    other = h.get("other_reading") or {}
    if other:
        out.append("Reading the contested origins the other way gives " + _answer_text(other) + ".")
    cum = h.get("cumulative") or {}
    if cum.get("kind") and cum.get("kind") != "no_data":
        if cum.get("estimate_date"):
            when = ""
            if h.get("estimate_date"):
                when = " later than the shares," if cum["estimate_date"] > h["estimate_date"] else \
                    " no later than the shares,"
            out.append(f"Cumulative downloads (counted from {cum.get('start_date')}), the quantity some trackers "
                       f"report, crossed{when} around {cum['estimate_date']} (95% interval from simulated histories "
                       f"{cum.get('lower_date')} to {cum.get('upper_date') or 'after the last snapshot'}).")
        else:
            out.append(f"Cumulative downloads (counted from {cum.get('start_date')}) still favour the US at the last "
                       "snapshot.")
    lineage = " under the lineage rule a download of a fine-tune or quantization counts for its base model's origin;" \
        if str(d.get("rule", "")).startswith("lineage") else ""
    out.append("What this does not say: downloads are not use (one deployment can download a model many times);"
               + lineage + " and the Hub is one distribution channel among several.")
    return " ".join(out)
