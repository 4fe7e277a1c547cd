"""The reports notebooks 04 and 05 write: trend and break tests, and the crossover date by several methods.

Notebook 04 calls :func:`run_trend_tests` and writes ``trends.json``; notebook 05 calls :func:`estimate_crossover`
(``crossover.json``), then :func:`analysis.stats.sensitivity.sensitivity_grid` (whose spread of dates across
definitions :meth:`CrossoverReport.with_spread` adds to the headline) and
:func:`analysis.stats.published.compare_published`.

Every function takes the primary series (:mod:`analysis.stats.series`). Each result carries a short plain-language
``reading`` (built in :mod:`analysis.stats.readings`): what the method assumes, what it found, how sure.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from . import breaknull as _bnull
from . import breaks as _breaks
from . import crossover as _cross
from . import local as _local
from . import noise as _noise
from . import readings as _read
from . import trend as _trend
from ..schema import ALT_SUFFIX
from .results import to_jsonable, write_json
from .series import (PERIOD_DAYS, check_series, definition_of, measure_lag_days, measure_window, shift_date,
                     t_to_date, unit_of)

#: Date tested by the Chow test: the public release of DeepSeek-R1 (20 January 2025), the most cited candidate
#: for a step change in Chinese model downloads. The break is placed after the last period before this date.
CHOW_DATE = "2025-01-20"
#: Scopes whose crossover is given side by side with the headline (all models, generative models, the trackers'
#: first-party generative models).
SIDE_BY_SIDE_SCOPES = ("all", "llm", "first_party_llm")


def break_lags(n_span: int) -> int:
    """Variogram lags of the break tests' noise model: ``max(3, round(0.05 n_span))``, as the crossover's.

    Under "no break" second differences at any lag are pure noise, but a jump contaminates every second difference
    that straddles it, more of them the longer the lag: long lags would mistake the break for persistence and hide
    it, so the lags are kept as short as the crossover's.
    """
    return max(3, int(round(0.05 * n_span)))


# ----------------------------------------------------------------------------------------------------------
# trend report
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrendReport:
    """Trend and break tests on the primary series (one definition).

    The JSON written by :meth:`to_json` mirrors these attributes (see :meth:`as_dict`).

    Attributes
    ----------
    simulated : bool
        True for demo runs on a simulated Hub.
    definition : dict
        ``measure, rule, scope, frequency`` of the series.
    n_periods, n_observed : int
        Periods on the grid, and periods with both CN and US shares.
    first_date, last_date : str
        First and last grid dates (YYYY-MM-DD).
    period_days : float
        Days per period (7 or 365.2425/12), used to turn times into dates.
    ols : OLSTrendResult
        Linear trend of the log ratio with the requested inference (fixed-b by default; Kiefer and Vogelsang
        2005).
    ols_prewhitened : OLSTrendResult
        The same with VAR(1)-prewhitened Newey-West errors (Andrews and Monahan 1992).
    ols_diff : OLSTrendResult
        Linear trend of the difference ``share_CN - share_US``, same inference as ``ols``.
    mann_kendall : dict of str to MannKendallResult
        "original" (Mann 1945; Kendall 1975), "hamed_rao" (Hamed and Rao 1998) and "yue_wang" (Yue and Wang
        2004) variants.
    primary_mk : str
        Key of the primary Mann-Kendall variant.
    sens_slope : SensSlopeResult
        Sen (1968) slope with its rank interval.
    fractional_logit : FractionalLogitResult
        Fractional logit trend of the CN share of CN+US (Papke and Wooldridge 1996), classic Newey-West errors.
    breaks : dict
        "pettitt" (Pettitt 1979, on the detrended series), "chow" (Chow 1960; None when skipped), "sup_f"
        (Andrews 1993), "cusum" (Ploberger and Kraemer 1992) and "bai_perron" (Bai and Perron 2003) results. The
        p-values of the first four are simulated on the design with the fitted noise model (``noise``), the largest
        over the noise coefficients the data do not rule out.
    break_dates : dict
        Date of the last period before each break (a list for "bai_perron").
    readings : dict of str
        Plain-language reading of each result: what it assumes, what it found, how sure.
    ols_nw : OLSTrendResult or None
        Classic Newey-West fit (default lag rule, Student t), for comparison.
    noise : dict
        The fitted noise model of the break tests' nulls and the most persistent plausible coefficient.
    break_p_values : dict
        For each break test, its p-value under the fitted noise model, under the most persistent plausible one and
        under independent normal errors (the last for comparison only).
    bai_perron_reported : bool
        Whether the Bai-Perron breaks are reported (only when the sup-F test rejects at 5%).
    """

    simulated: bool
    definition: dict
    n_periods: int
    n_observed: int
    first_date: str
    last_date: str
    period_days: float
    ols: _trend.OLSTrendResult
    ols_prewhitened: _trend.OLSTrendResult
    ols_diff: _trend.OLSTrendResult
    mann_kendall: dict
    primary_mk: str
    sens_slope: _trend.SensSlopeResult
    fractional_logit: _trend.FractionalLogitResult
    breaks: dict
    break_dates: dict = field(default_factory=dict)
    readings: dict = field(default_factory=dict)
    ols_nw: _trend.OLSTrendResult | None = None
    noise: dict = field(default_factory=dict)
    break_p_values: dict = field(default_factory=dict)
    bai_perron_reported: bool = False

    def as_dict(self) -> dict:
        """JSON-ready content (see the module docstring of :mod:`analysis.stats.results`)."""
        ols = to_jsonable(self.ols)
        ols.update(t0_date=self.first_date, period_days=self.period_days, response="log_ratio",
                   reading=self.readings["ols"])
        out = {
            "simulated": bool(self.simulated),
            "definition": self.definition,
            "n_periods": self.n_periods,
            "n_observed": self.n_observed,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "ols": ols,
            "ols_prewhitened": {**to_jsonable(self.ols_prewhitened), "t0_date": self.first_date,
                                "period_days": self.period_days, "response": "log_ratio"},
            "ols_diff": {**to_jsonable(self.ols_diff), "t0_date": self.first_date, "period_days": self.period_days,
                         "response": "diff"},
            **({"ols_nw": {**to_jsonable(self.ols_nw), "t0_date": self.first_date, "period_days": self.period_days,
                           "response": "log_ratio"}} if self.ols_nw is not None else {}),
            "mann_kendall": {"primary": self.primary_mk,
                             **{k: {**to_jsonable(v), "reading": self.readings[f"mk_{k}"]}
                                for k, v in self.mann_kendall.items()}},
            "sens_slope": {**to_jsonable(self.sens_slope), "reading": self.readings["sens_slope"]},
            "fractional_logit": {**to_jsonable(self.fractional_logit), "response": "share_CN/(share_CN+share_US)",
                                 "reading": self.readings["fractional_logit"]},
            "breaks": {k: ({**to_jsonable(v), "date": self.break_dates.get(k),
                            "p_values_by_null": self.break_p_values.get(k),
                            "reading": self.readings.get(f"break_{k}", "")}
                           if v is not None else {"skipped": True, "reading": self.readings.get(f"break_{k}", "")})
                       for k, v in self.breaks.items()},
            "break_null": self.noise,
        }
        bp = out["breaks"].get("bai_perron")
        if isinstance(bp, dict) and not bp.get("skipped"):
            bp["reported"] = bool(self.bai_perron_reported)
            bp["breaks_reported"] = int(self.breaks["bai_perron"].chosen) if self.bai_perron_reported else 0
        return to_jsonable(out)

    def to_json(self, path: str | Path) -> Path:
        """Write the report as JSON (e.g. ``data/processed/results/trends.json``)."""
        return write_json(self.as_dict(), path)

    def table(self) -> pd.DataFrame:
        """One row per test: statistic, p-value and reading, for display."""
        rows = [("OLS trend of log ratio (HAC)", self.ols.params[1], self.ols.p_values[1], self.readings["ols"])]
        for k, v in self.mann_kendall.items():
            rows.append((f"Mann-Kendall ({k})", v.z, v.p_value, self.readings[f"mk_{k}"]))
        rows.append(("Sen's slope", self.sens_slope.slope, self.sens_slope.p_value, self.readings["sens_slope"]))
        rows.append(("Fractional logit trend (HAC)", self.fractional_logit.params[1],
                     self.fractional_logit.p_values[1], self.readings["fractional_logit"]))
        for k, v in self.breaks.items():
            if v is None:
                rows.append((f"Break: {k}", np.nan, np.nan, self.readings.get(f"break_{k}", "")))
                continue
            stat = getattr(v, "statistic", getattr(v, "f_stat", np.nan))
            rows.append((f"Break: {k}", stat if not isinstance(v, _breaks.BaiPerronResult) else v.chosen,
                         getattr(v, "p_value", np.nan), self.readings.get(f"break_{k}", "")))
        return pd.DataFrame(rows, columns=["test", "statistic", "p_value", "reading"])


def run_trend_tests(series: pd.DataFrame, *, mk_method: str = "hamed_rao", mk_lag: int = 3,
                    hac_lags: int | None = None, simulated: bool = False, definition: dict | None = None,
                    inference: str = _cross.DEFAULT_INFERENCE, bandwidth=_cross.DEFAULT_BANDWIDTH,
                    null: str = _cross.DEFAULT_NULL,
                    chow_date: str | None = CHOW_DATE, max_breaks: int = 5, sup_f_reps: int = 999,
                    cusum_reps: int = 999, break_reps: int = 999, window: int | None = None,
                    calibration: dict | None = None) -> TrendReport:
    """Run every trend and break test on the primary series.

    Parameters
    ----------
    series : pandas.DataFrame
        Output of :func:`analysis.panel.primary_series` (NaN rows = missing periods).
    mk_method : {"original", "hamed_rao", "yue_wang"}
        Primary Mann-Kendall variant (all three are always reported; Hamed-Rao uses ``mk_lag``, Yue-Wang lag 1).
    mk_lag : int
        Lag of the Hamed-Rao correction (3 by default, Hamed and Rao 1998).
    hac_lags : int or None
        Newey-West lag for the classic ("nw") OLS trend and the fractional-logit trend; None or a negative value
        = default rule.
    simulated : bool
        True for demo runs; carried into the JSON.
    inference : {"fixed_b", "nw"}
        Inference of the OLS trend of the log ratio and of the difference (``ols``, ``ols_diff``): "fixed_b" =
        Bartlett bandwidth ``bandwidth`` of the sample with p-values from the fixed-b null simulated on the
        design (Kiefer and Vogelsang 2005); "nw" = ``hac_lags`` with Student t. The classic Newey-West fit is also
        reported as ``ols_nw``.
    bandwidth : float or str
        Fixed-b bandwidth fraction (or "llsw").
    null : {"lrv", "ar1", "iid"}
        Simulated fixed-b null (see :func:`analysis.stats.fixedb.null_phi`).
    definition : dict, optional
        ``measure, rule, scope, frequency`` of the series (else taken from ``series.attrs``; frequency inferred).
    chow_date : str or None
        Date of the stated break for the Chow test (None skips it).
    max_breaks : int
        Largest number of breaks for the Bai-Perron dating.
    sup_f_reps, cusum_reps, break_reps : int
        Simulated null draws of the sup-F, OLS-CUSUM, and Pettitt and Chow p-values (0 for sup-F skips its p-value
        and with it the Bai-Perron report).
    window : int or None
        Trailing window of the measure in periods for the noise model; None = from the definition
        (:func:`analysis.stats.series.measure_window`).
    calibration : dict or None
        Contents of the calibration file (None = read ``data/reference/calibration.json``), quoted in readings.

    Returns
    -------
    TrendReport
    """
    s = check_series(series)
    if mk_method not in _trend.MK_METHODS:
        raise ValueError(f"mk_method={mk_method!r}; expected one of {_trend.MK_METHODS}.")
    if hac_lags is not None and hac_lags < 0:
        hac_lags = None
    defin = definition_of(s, definition)
    period_days = PERIOD_DAYS[defin["frequency"]]
    unit = unit_of(defin["frequency"])
    cal = _read.load_calibration() if calibration is None else calibration
    r = s["log_ratio"].to_numpy(dtype=float)
    t = s["t"].to_numpy(dtype=float)
    obs = ~np.isnan(r)
    if obs.sum() < 8:
        raise ValueError(f"the series has {int(obs.sum())} periods with both CN and US shares; the tests need >= 8.")

    if inference == "fixed_b":
        fb = {"inference": "fixed_b", "bandwidth": bandwidth, "null": null}
    elif inference == "nw":
        fb = {"inference": "nw", "hac_lags": hac_lags}
    else:
        raise ValueError(f"inference={inference!r}; expected 'fixed_b' or 'nw'.")
    nw = {"inference": "nw", "hac_lags": hac_lags}
    ols = _trend.ols_trend(r, t, use_correction=True, **fb)
    ols_nw = _trend.ols_trend(r, t, use_correction=True, **nw)
    ols_pw = _trend.ols_trend(r, t, use_correction=True, prewhite=True, **nw)
    ols_diff = _trend.ols_trend(s["diff"].to_numpy(dtype=float), t, use_correction=True, **fb)
    mk = {
        "original": _trend.mann_kendall(r, "original", t=t),
        "hamed_rao": _trend.mann_kendall(r, "hamed_rao", lag=mk_lag, t=t),
        "yue_wang": _trend.mann_kendall(r, "yue_wang", lag=1, t=t),
    }
    sen = _trend.sens_slope(r, t=t)
    cn, us = s["share_CN"].to_numpy(dtype=float), s["share_US"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = cn / (cn + us)
    rel[~np.isfinite(rel)] = np.nan
    flogit = _trend.fractional_logit_trend(rel, t, hac_lags=hac_lags)

    # breaks, in a model with a trend term, on the observed periods (true t kept in X); nulls with the fitted noise
    yo, to = r[obs], t[obs]
    dates_o = s["date"].to_numpy()[obs]
    X = np.column_stack([np.ones(obs.sum()), to])
    w = measure_window(defin["measure"], defin["frequency"]) if window is None else int(window)
    n_span = int(round(to[-1] - to[0])) + 1
    lags = min(break_lags(n_span), max(2, (yo.size - 1) // 4))
    fitted = _noise.fit_noise(yo, to, window=w, lags=lags)
    split = int(np.sum(dates_o < np.datetime64(pd.Timestamp(chow_date)))) if chow_date is not None else None
    chow_res, chow_reason = None, ""
    if split is not None:
        try:
            chow_res = _breaks.chow(yo, X, split)
        except ValueError as exc:
            chow_reason, split = f"Chow test at {chow_date} skipped: {exc}", None
    design = _bnull.BreakNullDesign(tuple(float(v) for v in to - to[0]), w, lags, 0.15, split)
    observed = {k: float(v[0]) for k, v in _bnull.statistics(yo[:, None], design).items()}
    reps = {"sup_f": sup_f_reps, "cusum": cusum_reps, "pettitt": break_reps, "chow": break_reps}
    calibrated = {}
    for test, stat in observed.items():
        if reps[test] > 0:
            calibrated[test] = _bnull.calibrated_p_values({test: stat}, design, fitted.index, reps=reps[test],
                                                          tail=_bnull.BREAK_PLAUSIBLE, iid_reps=reps[test])[test]
    p_values = {k: {"calibrated": v.p_value, "fitted": v.p_raw, "iid": v.p_iid} for k, v in calibrated.items()}
    plausible = next(iter(calibrated.values())).plausible_coefficients if calibrated else (fitted.phi,)

    def pv(test: str) -> float:
        return calibrated[test].p_value if test in calibrated else float("nan")

    base_pett = _breaks.pettitt(yo - X @ np.linalg.lstsq(X, yo, rcond=None)[0])
    pett = _breaks.PettittResult(statistic=base_pett.statistic, location=base_pett.location,
                                 p_value=pv("pettitt"), n=base_pett.n)
    if chow_res is not None:
        chow_res = dataclasses.replace(chow_res, p_value=pv("chow"), p_value_method="calibrated noise-model bootstrap",
                                       mc_reps=int(break_reps))
    supf = _breaks.sup_f(yo, X, trim=0.15, mc_reps=0)
    supf = dataclasses.replace(supf, p_value=pv("sup_f"), mc_reps=int(sup_f_reps))
    cusum = dataclasses.replace(_breaks.cusum_ols(yo, X, pvalue="brownian_bridge"), p_value=pv("cusum"),
                                pvalue_method="calibrated noise-model bootstrap", mc_reps=int(cusum_reps), seed=0)
    bp = _breaks.bai_perron(yo, X, max_breaks=max_breaks)
    bp_reported = bool(math.isfinite(supf.p_value) and supf.p_value < 0.05)

    def obs_date(i1: int | None) -> str | None:
        """Date of the 1-based observed row i1 (the last period before a break)."""
        if i1 is None or i1 < 1 or i1 > dates_o.size:
            return None
        return pd.Timestamp(dates_o[i1 - 1]).strftime("%Y-%m-%d")

    first_date = s["date"].iloc[0].strftime("%Y-%m-%d")
    last_date = s["date"].iloc[-1].strftime("%Y-%m-%d")
    readings = {
        "ols": _read.ols_reading(ols, ols_nw, ols_pw, unit, cal),
        "sens_slope": _read.sens_reading(sen, unit),
        "fractional_logit": _read.flogit_reading(flogit, unit, t_to_date(flogit.crossing_t, s, period_days)),
        **_read.break_readings(pett=pett, chow_res=chow_res, chow_reason=chow_reason, chow_date=chow_date,
                               supf=supf, cusum=cusum, bp=bp, bp_tested=bp_reported, obs_date=obs_date,
                               pett_date=obs_date(pett.location), n_obs=int(yo.size), noise=fitted,
                               plausible_phi=max(plausible), unit=unit, cal=cal),
    }
    for k, v in mk.items():
        readings[f"mk_{k}"] = _read.mk_reading(k, v)
    breaks = {"pettitt": pett, "chow": chow_res, "sup_f": supf, "cusum": cusum, "bai_perron": bp}
    noise = {**fitted.describe(), "plausible_coefficients": list(plausible),
             "plausible_tail": _bnull.BREAK_PLAUSIBLE,
             "p_value_rule": ("double bootstrap (Beran 1988): share of series simulated with a plausible noise "
                              "coefficient whose noise-model p-value is at most the observed one; the largest over "
                              "the plausible coefficients")}
    return TrendReport(simulated=bool(simulated), definition=defin, n_periods=int(len(s)), n_observed=int(obs.sum()),
                       first_date=first_date, last_date=last_date, period_days=period_days, ols=ols,
                       ols_prewhitened=ols_pw, ols_diff=ols_diff, ols_nw=ols_nw, mann_kendall=mk, primary_mk=mk_method,
                       sens_slope=sen, fractional_logit=flogit, breaks=breaks, readings=readings,
                       break_dates={
                           "pettitt": obs_date(pett.location),
                           "chow": obs_date(chow_res.split) if chow_res else None,
                           "sup_f": obs_date(supf.location), "cusum": obs_date(cusum.location),
                           "bai_perron": [obs_date(i) for i in (bp.breaks[bp.chosen] if bp.chosen and bp_reported
                                                                 else ())]},
                       noise=to_jsonable(noise), break_p_values=p_values, bai_perron_reported=bp_reported)


# ----------------------------------------------------------------------------------------------------------
# crossover report
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrossoverReport:
    """The crossover date of the primary series: the local-linear headline and the straight-line methods beside it.

    Attributes
    ----------
    simulated : bool
        True for demo runs on a simulated Hub.
    definition : dict
        ``measure, rule, scope, frequency`` of the series.
    n_periods, n_observed : int
        Periods on the grid, and periods with both CN and US shares.
    first_date, last_date : str
        First and last grid dates (YYYY-MM-DD).
    period_days : float
        Days per period.
    local : LocalCrossingResult
        The headline: local-linear confidence set for the crossing of the underlying shares
        (:mod:`analysis.stats.local`).
    ols : OLSTrendResult
        The straight-line trend fit behind the secondary Fieller and delta sets.
    fieller : FiellerResult
        Straight-line Fieller (1954) set of ``-a/b`` (fixed-b by default); assumes one straight line.
    fieller_prewhitened : FiellerResult
        Straight-line Fieller set with VAR(1)-prewhitened Newey-West errors (Andrews and Monahan 1992).
    delta : DeltaResult
        Straight-line delta-method interval.
    bootstrap : BootstrapCrossingResult or None
        Residual circular block bootstrap of the straight line; None when skipped.
    first_passage : FirstPassageResult
        Empirical first passage of the observed series, with an interval for the underlying one from the headline.
    headline : dict
        The headline answer (see :func:`estimate_crossover`).
    dates : dict
        Calendar dates of every method's estimate and set, keyed by method.
    readings : dict of str
        Plain-language reading of the headline and of each method.
    fieller_nw : FiellerResult or None
        Straight-line Fieller set with classic Newey-West errors and a t critical value.
    inference : dict
        Inference settings of the straight-line trend (kernel, bandwidth, critical values and their source).
    settings : dict
        Every method's settings (bandwidths, lags, block length, k, draws), so that nothing downstream guesses them.
    """

    simulated: bool
    definition: dict
    n_periods: int
    n_observed: int
    first_date: str
    last_date: str
    period_days: float
    local: _local.LocalCrossingResult
    ols: _trend.OLSTrendResult
    fieller: _cross.FiellerResult
    fieller_prewhitened: _cross.FiellerResult
    delta: _cross.DeltaResult
    bootstrap: _cross.BootstrapCrossingResult | None
    first_passage: _cross.FirstPassageResult
    headline: dict
    dates: dict
    readings: dict
    fieller_nw: _cross.FiellerResult | None = None
    inference: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-ready content."""
        d = self.dates
        loc = {k: v for k, v in to_jsonable(self.local).items() if k not in ("times", "fitted", "se", "critical")}
        methods = {
            "local_linear": {**loc, **d["local_linear"], "settings": self.settings["local_linear"],
                             "path": {"t": list(self.local.times), "fitted": list(self.local.fitted),
                                      "se": list(self.local.se), "critical": list(self.local.critical)},
                             "reading": self.readings["local_linear"]},
            "fieller": {**to_jsonable(self.fieller), **d["fieller"], "settings": self.settings["fieller"],
                        "assumes": "one straight line over the window", "reading": self.readings["fieller"]},
            "fieller_prewhitened": {**to_jsonable(self.fieller_prewhitened), **d["fieller_prewhitened"],
                                    "settings": self.settings["fieller_prewhitened"],
                                    "assumes": "one straight line over the window",
                                    "reading": self.readings["fieller_prewhitened"]},
            **({"fieller_nw": {**to_jsonable(self.fieller_nw), **d["fieller_nw"],
                               "settings": self.settings["fieller_nw"], "assumes": "one straight line over the window",
                               "reading": self.readings["fieller_nw"]}}
               if self.fieller_nw is not None else {}),
            "delta": {**to_jsonable(self.delta), **d["delta"], "settings": self.settings["delta"],
                      "assumes": "one straight line over the window", "reading": self.readings["delta"]},
            "bootstrap": ({**to_jsonable(self.bootstrap), **d["bootstrap"], "settings": self.settings["bootstrap"],
                           "assumes": "one straight line over the window", "reading": self.readings["bootstrap"]}
                          if self.bootstrap is not None else {"skipped": True, "reading": self.readings["bootstrap"]}),
            "first_passage": {**to_jsonable(self.first_passage), **d["first_passage"],
                              "settings": self.settings["first_passage"], "reading": self.readings["first_passage"]},
        }
        return to_jsonable({
            "simulated": bool(self.simulated), "definition": self.definition, "n_periods": self.n_periods,
            "n_observed": self.n_observed, "first_date": self.first_date, "last_date": self.last_date,
            "period_days": self.period_days,
            "trend": {**to_jsonable(self.ols), "t0_date": self.first_date, "period_days": self.period_days},
            "headline": {**self.headline, "reading": self.readings["headline"],
                         **({"scopes_reading": self.readings["scopes"]} if "scopes" in self.readings else {}),
                         **({"contested_reading": self.readings["contested"]} if "contested" in self.readings
                            else {})},
            "methods": methods,
            "settings": self.settings,
        })

    def to_json(self, path: str | Path) -> Path:
        """Write the report as JSON (e.g. ``data/processed/results/crossover.json``)."""
        return write_json(self.as_dict(), path)

    def table(self) -> pd.DataFrame:
        """One row per method: estimate and set dates, kind, reading."""
        rows = []
        for m in ("local_linear", "fieller", "fieller_nw", "fieller_prewhitened", "delta", "bootstrap",
                  "first_passage"):
            if m not in self.dates:
                continue
            dd = self.dates[m]
            est = dd.get("date") if m == "first_passage" else dd.get("estimate_date")
            rows.append({"method": m, "estimate_date": est, "lower_date": dd.get("lower_date"),
                         "upper_date": dd.get("upper_date"), "kind": dd.get("kind"), "reading": self.readings[m]})
        return pd.DataFrame(rows)

    def with_spread(self, grid: pd.DataFrame) -> "CrossoverReport":
        """The report with the spread of the headline date across the definitions of a sensitivity grid.

        The spread is taken over the grid's headline-method rows (``method == "local_linear"``): every measure,
        attribution rule and scope, window start and bandwidth the grid holds. The headline gains
        ``definition_spread`` and its reading a sentence giving the range next to the statistical set.

        Parameters
        ----------
        grid : pandas.DataFrame
            Output of :func:`analysis.stats.sensitivity.sensitivity_grid`.

        Returns
        -------
        CrossoverReport
        """
        rows = grid[grid["method"] == "local_linear"] if len(grid) else grid
        n_no_data = int((rows["kind"] == "no_data").sum()) if len(rows) else 0
        rows = rows[rows["kind"] != "no_data"] if len(rows) else rows
        ests = pd.to_datetime(rows["estimate_date"], errors="coerce") if len(rows) else pd.Series(dtype=float)
        spread = {"n_rows": int(len(rows)), "n_with_estimate": int(ests.notna().sum()) if len(rows) else 0,
                  "n_no_estimate": int(ests.isna().sum()) if len(rows) else 0, "n_no_data": n_no_data,
                  "earliest_date": ests.min().strftime("%Y-%m-%d") if ests.notna().any() else None,
                  "latest_date": ests.max().strftime("%Y-%m-%d") if ests.notna().any() else None,
                  "dimensions": ["measure", "rule", "scope", "start_offset_months", "bandwidth_periods"],
                  "method": "local_linear"}
        head = {**self.headline, "definition_spread": spread}
        readings = {**self.readings, "headline": self.readings["headline"] + " " + _read.spread_reading(spread)}
        return dataclasses.replace(self, headline=head, readings=readings)


    def with_cumulative(self, cumulative) -> "CrossoverReport":
        """The report with the crossing of cumulative downloads (:mod:`analysis.stats.cumulative`) beside it.

        Parameters
        ----------
        cumulative : analysis.stats.cumulative.CumulativeCrossing

        Returns
        -------
        CrossoverReport
            ``headline["cumulative"]`` holds the result, ``readings["cumulative"]`` its sentence.
        """
        head = {**self.headline, "cumulative": cumulative.as_dict()}
        return dataclasses.replace(self, headline=head, readings={**self.readings, "cumulative": cumulative.reading()})

    def with_definitions(self, grid: pd.DataFrame, *, contested_accounts: Iterable[str] = ()) -> "CrossoverReport":
        """The report with the answer under the definitions a reader asks about, side by side with the headline.

        From the sensitivity grid's headline-method rows on the full window at the headline's bandwidth:

        * ``headline["by_scope"]``: the crossover for all models, for generative models (``llm``: text generation
          and image-text-to-text, what a claim about "AI models" usually means) and for the first-party generative
          models of organisations (``first_party_llm``: the scope trackers of this race use), under the headline's
          measure and rule (the headline's own scope is the headline itself);
        * ``headline["other_reading"]``: the headline definition with the contested origins read the other way.

        Parameters
        ----------
        grid : pandas.DataFrame
            Output of :func:`analysis.stats.sensitivity.sensitivity_grid`.
        contested_accounts : iterable of str
            The contested accounts (:meth:`analysis.origin.registry.Registry.contested`), named in the reading.

        Returns
        -------
        CrossoverReport
        """
        d = self.definition
        rule = str(d.get("rule"))
        base = rule.removesuffix(ALT_SUFFIX)
        other = base if rule.endswith(ALT_SUFFIX) else base + ALT_SUFFIX
        bw = (self.settings.get("local_linear") or {}).get("bandwidth_periods")

        def answer(scope: str, rule_: str) -> dict:
            if scope == d.get("scope") and rule_ == rule:
                h = self.headline
                out = {k: h.get(k) for k in ("estimate_date", "lower_date", "upper_date", "kind", "pieces_dates",
                                              "open_start", "open_end")}
                return {**out, "source": "the headline (crossover.json)"}
            rows = grid[(grid["method"] == "local_linear") & (grid["measure"] == d.get("measure"))
                        & (grid["rule"] == rule_) & (grid["scope"] == scope)] if len(grid) else grid
            if "start_offset_months" in rows:
                rows = rows[pd.to_numeric(rows["start_offset_months"], errors="coerce").fillna(0) == 0]
            if len(rows) and bw is not None and "bandwidth_periods" in rows:
                gap = (pd.to_numeric(rows["bandwidth_periods"], errors="coerce") - float(bw)).abs()
                rows = rows.loc[[gap.idxmin()]] if gap.notna().any() else rows
            if not len(rows):
                return {"kind": "no_data", "source": "not in the sensitivity grid"}
            r = rows.iloc[0]
            pieces = r.get("pieces_dates")
            out = {"estimate_date": r.get("estimate_date"), "lower_date": r.get("lower_date"),
                   "upper_date": r.get("upper_date"), "kind": r.get("kind"),
                   "pieces_dates": json.loads(pieces) if isinstance(pieces, str) and pieces.startswith("[") else pieces,
                   "open_start": None if pd.isna(r.get("open_start")) else bool(r.get("open_start")),
                   "open_end": None if pd.isna(r.get("open_end")) else bool(r.get("open_end")),
                   "source": "sensitivity grid (full window, the headline's bandwidth; fewer null draws than the "
                             "headline)"}
            return to_jsonable(out)

        by_scope = {sc: {"scope": sc, **answer(sc, rule)} for sc in SIDE_BY_SIDE_SCOPES}
        other_reading = {"rule": other, "contested_accounts": sorted(contested_accounts),
                         **answer(str(d.get("scope")), other)}
        head = {**self.headline, "by_scope": by_scope, "other_reading": other_reading}
        readings = {**self.readings, "scopes": _read.scopes_reading(by_scope, d),
                    "contested": _read.contested_reading(other_reading, rule)}
        return dataclasses.replace(self, headline=head, readings=readings)


def _td(s: pd.DataFrame, pdays: float):
    def td(v):
        return t_to_date(v, s, pdays)
    return td


def estimate_crossover(series: pd.DataFrame, *, k: int = 3, alpha: float = 0.05, bootstrap_reps: int = 2000,
                       block_length: int | None = None, seed: int = 0, hac_lags: int | None = None,
                       simulated: bool = False, definition: dict | None = None,
                       smoother_reps: int = _local.DEFAULT_LOCAL_REPS, prewhite: bool = False,
                       inference: str = _cross.DEFAULT_INFERENCE, bandwidth=_cross.DEFAULT_BANDWIDTH,
                       bootstrap_method: str = "studentized", null: str = _cross.DEFAULT_NULL,
                       local_bandwidth: float | None = None, window: int | None = None,
                       calibration: dict | None = None) -> CrossoverReport:
    """Estimate when the CN share overtook the US share.

    Estimand: the date at which the noise-free log ratio of the CN and US shares of the measure crosses zero. The
    headline is the local-linear set of :func:`analysis.stats.local.local_crossing`: no shape is assumed over the
    window, the noise may be autocorrelated and overlapping, and the set (possibly several intervals, possibly
    open at the window's ends) is reported whole. If the fitted path crosses more than once, every crossing is
    reported and the headline date is the last upward crossing after which CN stays ahead to the last snapshot
    (the overtaking that has lasted; an earlier one was undone). A trailing 30-day count lags the downloads of the
    day by about 15 days; the headline also gives that shifted date (``underlying_estimate_date``).

    The straight-line methods stay as secondary, labelled as assuming one straight line: the Fieller set of the zero
    of the fitted line with fixed-b inference (Kiefer and Vogelsang 2005), with classic and prewhitened Newey-West
    errors, the delta method and the studentized residual block bootstrap.

    Parameters
    ----------
    series : pandas.DataFrame
        Output of :func:`analysis.panel.primary_series`.
    k : int
        Consecutive periods for the first passage.
    alpha : float
        1 - confidence level of every set.
    bootstrap_reps : int
        Block-bootstrap replicates of the straight line (0 skips the bootstrap).
    block_length : int or None
        Bootstrap block length; None or 0 = the method's rule.
    seed : int
        Seed of the bootstrap.
    hac_lags : int or None
        Newey-West lag of the "nw" sets; None or negative = default rule.
    simulated : bool
        True for demo runs.
    definition : dict, optional
        ``measure, rule, scope, frequency`` of the series.
    smoother_reps : int
        Simulated null draws per noise coefficient of the local-linear smoother's test (the headline); values
        below 200 are raised to 200 (quick checks only; the study uses 2000).
    prewhite : bool
        With ``inference="nw"``: VAR(1)-prewhitened Newey-West for the straight-line Fieller set.
    inference : {"fixed_b", "nw"}
        Inference of the straight-line Fieller and delta sets.
    bandwidth : float or str
        Fixed-b bandwidth fraction of the straight-line sets (also used to studentize the bootstrap).
    bootstrap_method : {"studentized", "percentile"}
        See :func:`analysis.stats.crossover.crossing_block_bootstrap`.
    null : {"lrv", "ar1", "iid"}
        Simulated fixed-b null of the straight-line sets.
    local_bandwidth : float or None
        Half-width of the local-linear kernel in periods; None = the calibrated rule.
    window : int or None
        Trailing window of the measure in periods (noise model); None = from the definition.
    calibration : dict or None
        Contents of the calibration file (None = read ``data/reference/calibration.json``), quoted in readings.

    Returns
    -------
    CrossoverReport
        ``headline`` holds ``method`` ("local_linear"), ``kind`` ("bounded", "unbounded", "two_rays" or
        "no_crossing"), ``estimate_t``, ``lower_t``, ``upper_t`` (periods since the first date; the hull of the
        set; None where open), the same as dates, ``pieces_t``/``pieces_dates`` (the whole set),
        ``crossings_t``/``crossing_dates``/``crossing_directions``, ``underlying_estimate_date`` and
        ``measure_lag_days``, the settings and the calibration it is quoted against.
    """
    s = check_series(series)
    if hac_lags is not None and hac_lags < 0:
        hac_lags = None
    if block_length is not None and block_length <= 0:
        block_length = None
    if inference == "fixed_b" and prewhite:
        raise ValueError("prewhite=True applies to inference='nw' only; the fixed-b straight-line set uses the plain "
                         "Bartlett estimator (the prewhitened Newey-West set is reported beside it).")
    defin = definition_of(s, definition)
    pdays = PERIOD_DAYS[defin["frequency"]]
    unit = unit_of(defin["frequency"])
    cal = _read.load_calibration() if calibration is None else calibration
    r = s["log_ratio"].to_numpy(dtype=float)
    t = s["t"].to_numpy(dtype=float)
    n_obs = int(np.sum(~np.isnan(r)))
    if n_obs < 8:
        raise ValueError(f"the series has {n_obs} periods with both CN and US shares; the crossover needs >= 8.")
    w = measure_window(defin["measure"], defin["frequency"]) if window is None else int(window)
    lag_days = measure_lag_days(defin["measure"], defin["frequency"])
    td = _td(s, pdays)
    first_date = s["date"].iloc[0].strftime("%Y-%m-%d")
    last_date = s["date"].iloc[-1].strftime("%Y-%m-%d")
    lvl = int(round(100 * (1 - alpha)))

    # the headline: local-linear set
    loc = _local.local_crossing(r, t, bandwidth=local_bandwidth, window=w, alpha=alpha,
                                reps=max(int(smoother_reps), 200))
    pieces_dates = [[td(a), td(b)] for a, b in loc.pieces]
    crossing_dates = [td(z) for z in loc.crossings]
    open_lo, open_hi = not math.isfinite(loc.lower), not math.isfinite(loc.upper)
    est_date = td(loc.estimate) if loc.estimate is not None else None
    local_dates = {"estimate_date": est_date,
                   "lower_date": None if (open_lo or loc.kind == "no_crossing") else td(loc.lower),
                   "upper_date": None if (open_hi or loc.kind == "no_crossing") else td(loc.upper),
                   "kind": loc.kind, "pieces_dates": pieces_dates, "crossing_dates": crossing_dates, "gap_dates": None}

    # the straight-line methods
    main = _cross.trend_crossing(r, t, alpha=alpha, inference=inference, bandwidth=bandwidth, hac_lags=hac_lags,
                                 prewhite=prewhite, null=null)
    ols, fie, dlt = main.fit, main.fieller, main.delta
    a, b = ols.params
    nw = _cross.trend_crossing(r, t, alpha=alpha, inference="nw", hac_lags=hac_lags)
    pw = _cross.trend_crossing(r, t, alpha=alpha, inference="nw", hac_lags=hac_lags, prewhite=True)
    fie_nw, fie_pw = nw.fieller, pw.fieller
    boot = (_cross.crossing_block_bootstrap(r, t, block_length=block_length, reps=bootstrap_reps, seed=seed,
                                            alpha=alpha, method=bootstrap_method,
                                            bandwidth=bandwidth if inference == "fixed_b" else
                                            _cross.DEFAULT_BANDWIDTH)
            if bootstrap_reps > 0 else None)
    fp = _cross.first_passage(s["diff"].to_numpy(dtype=float), k=k)
    if loc.kind != "no_crossing":
        fp = _cross.first_passage_interval(fp, t, loc.lower, loc.upper, "the headline local-linear set, in whole "
                                                                        "periods")

    def grid_date(i):
        return None if i is None else s["date"].iloc[i].strftime("%Y-%m-%d")

    def fdates(f):
        rising = np.isfinite(b) and b > 0
        return {"estimate_date": td(f.estimate), "lower_date": td(f.lower), "upper_date": td(f.upper),
                "kind": f.kind if rising else "no_trend", "gap_dates": [td(g) for g in f.gap] if f.gap else None}

    dates = {
        "local_linear": local_dates,
        "fieller": fdates(fie),
        "fieller_nw": fdates(fie_nw),
        "fieller_prewhitened": fdates(fie_pw),
        "delta": {"estimate_date": td(dlt.estimate), "lower_date": td(dlt.lower), "upper_date": td(dlt.upper),
                  "kind": "bounded" if np.isfinite(dlt.se) else "empty"},
        "bootstrap": ({"estimate_date": td(boot.estimate), "lower_date": td(boot.lower),
                       "upper_date": td(boot.upper), "kind": boot.kind,
                       "gap_dates": [td(g) for g in boot.gap] if boot.gap else None} if boot else {"kind": "skipped"}),
        "first_passage": {"date": grid_date(fp.index), "lower_date": grid_date(fp.lower_index),
                          "upper_date": grid_date(fp.upper_index),
                          "kind": "passed" if fp.index is not None else "not_yet"},
    }
    inference_block = main.inference_summary()
    settings = {
        "local_linear": loc.settings(),
        "fieller": {**inference_block, "assumes": "one straight line"},
        "fieller_nw": {"method": "nw", "hac_lags": nw.fit.hac_lags, "bandwidth_periods": nw.bandwidth_periods,
                       "critical_value": nw.critical, "df": nw.fit.df_resid},
        "fieller_prewhitened": {"method": "nw", "prewhite": True, "hac_lags": pw.fit.hac_lags,
                                "bandwidth_periods": pw.bandwidth_periods, "critical_value": pw.critical},
        "delta": {**inference_block},
        "bootstrap": ({"method": boot.method, "reps": boot.reps, "block_length": boot.block_length,
                       "block_rule": boot.block_rule, "bandwidth_b": boot.bandwidth_b, "seed": seed}
                      if boot is not None else {"skipped": True}),
        "first_passage": {"k": int(k), "interval_source": fp.interval_source},
    }
    calib = _calibration_block(cal)
    lo_t = loc.lower if math.isfinite(loc.lower) else None
    hi_t = loc.upper if math.isfinite(loc.upper) else None
    headline = {
        "method": "local_linear", "kind": loc.kind,
        "estimate_t": loc.estimate, "lower_t": lo_t, "upper_t": hi_t,
        "estimate_date": est_date, "lower_date": local_dates["lower_date"], "upper_date": local_dates["upper_date"],
        "pieces_t": [list(p) for p in loc.pieces], "pieces_dates": pieces_dates,
        "open_start": loc.open_start, "open_end": loc.open_end,
        "crossings_t": list(loc.crossings), "crossing_dates": crossing_dates,
        "crossing_directions": list(loc.directions),
        "headline_rule": "last upward crossing of the fitted path after which CN stays ahead to the last snapshot",
        "underlying_estimate_date": shift_date(est_date, -lag_days), "measure_lag_days": lag_days,
        "estimand": (f"date at which the noise-free CN and US shares of "
                     f"{_read.MEASURE_LABELS.get(defin['measure'] or '', defin['measure'] or 'the measure')} cross; "
                     f"the measure lags the downloads of the day by about {lag_days:g} days"),
        "ahead_at_end": "CN" if loc.fitted_end > 0 else "US",
        "within_sample": bool(loc.estimate is not None),
        "settings": loc.settings(), "calibration": calib,
        "slope_per_period": b, "slope_p_value": ols.p_values[1],
        "inference": inference_block,
    }
    n_gap = int(len(s) - n_obs)
    readings = {
        "headline": _read.headline_reading(head=headline, loc=loc, unit=unit, level=lvl, first_date=first_date,
                                           last_date=last_date, lag_days=lag_days, measure=defin["measure"], cal=cal),
        "local_linear": _read.local_reading(loc, unit=unit, level=lvl, dates=local_dates, first_date=first_date,
                                            last_date=last_date, cal=cal),
        "fieller": _read.straight_line_reading(fie, main, td, unit, cal, first_date, last_date),
        "fieller_nw": _read.fieller_reading(fie_nw, f"Straight-line Fieller set with classic Newey-West errors "
                                                    f"({nw.fit.hac_lags} lags, t with {nw.fit.df_resid} df; assumes "
                                                    "one straight line and is too narrow under autocorrelation)", td),
        "fieller_prewhitened": _read.fieller_reading(fie_pw, "Straight-line Fieller set with VAR(1)-prewhitened "
                                                             "Newey-West errors (Andrews-Monahan; t critical value; "
                                                             "assumes one straight line)", td),
        "delta": _read.delta_reading(dlt, td),
        "bootstrap": _read.bootstrap_reading(boot, lvl, td, n_gap, cal),
        "first_passage": _read.first_passage_reading(k=k, unit=unit, date=grid_date(fp.index),
                                                     lower=grid_date(fp.lower_index),
                                                     upper=grid_date(fp.upper_index), cal=cal),
    }
    return CrossoverReport(simulated=bool(simulated), definition=defin, n_periods=int(len(s)), n_observed=n_obs,
                           first_date=first_date, last_date=last_date, period_days=pdays, local=loc, ols=ols,
                           fieller=fie, fieller_prewhitened=fie_pw, delta=dlt, bootstrap=boot, first_passage=fp,
                           headline=to_jsonable(headline), dates=dates, readings=readings, fieller_nw=fie_nw,
                           inference=to_jsonable(inference_block), settings=to_jsonable(settings))


def _calibration_block(cal: dict | None) -> dict:
    """What the calibration file says about the methods of this report (quoted in crossover.json)."""
    ok, why = _read.calibration_status(cal)
    out = {"file": "data/reference/calibration.json", "command": _read.CALIBRATION_COMMAND, "usable": ok,
           "note": why}
    if not cal:
        return out
    out.update(seed=cal.get("seed"), reps=cal.get("reps"), target=cal.get("target"))
    for m in ("local_linear", "fieller_fixed_b", "bootstrap_studentized", "first_passage"):
        r = _read.coverage_range(cal, m)
        if r:
            out[f"{m}_coverage"] = r
    line = _read.coverage_range(cal, "fieller_fixed_b", ("line",))
    if line:
        out["fieller_fixed_b_coverage_line_only"] = line
    aw = cal.get("after_window") or []
    if aw:
        out["after_window_false_claim_max"] = max(r["false_claim"] for r in aw)
    bs = cal.get("break_size") or []
    if bs:
        out["break_size"] = {t: {"min": min(r[t] for r in bs), "max": max(r[t] for r in bs)}
                             for t in ("sup_f", "cusum", "pettitt", "chow", "bai_perron") if all(t in r for r in bs)}
    return out
