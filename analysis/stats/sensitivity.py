"""The crossover under every definition: the robustness grid of notebook 05 (``crossover_sensitivity.parquet``).

The grid varies what moves the answer: the definition of the series (measure, attribution rule, scope), where the
window starts (later by 3, 6 and 12 months), the smoothing bandwidth of the headline (half and double), and the
shape the method assumes (the local-linear headline beside the straight-line sets).
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..contracts import SENSITIVITY_COLUMNS
from . import crossover as _cross
from . import local as _local
from .series import PERIOD_DAYS, check_series, measure_window, t_to_date

#: Later window starts of the grid, in months.
START_OFFSETS = (0, 3, 6, 12)
#: Multiples of the headline's local-linear bandwidth in the grid.
BANDWIDTH_FACTORS = (0.5, 1.0, 2.0)
#: Null draws of the grid's local-linear rows (the headline in crossover.json has the study's full number).
GRID_LOCAL_REPS = 1000


def later_start(s: pd.DataFrame, months: int) -> pd.DataFrame:
    """The series from ``months`` months after its first date, its time index restarted at 0."""
    if months <= 0:
        return s
    start = pd.Timestamp(s["date"].iloc[0]) + pd.DateOffset(months=int(months))
    out = s[pd.to_datetime(s["date"]) >= start].reset_index(drop=True)
    if len(out) == 0:
        raise ValueError(f"no period is left after starting {months} months later")
    return out.assign(t=out["t"] - out["t"].iloc[0])


def _local_row(s: pd.DataFrame, pdays: float, window: int, alpha: float, h: float | None, reps: int) -> dict:
    r = s["log_ratio"].to_numpy(dtype=float)
    t = s["t"].to_numpy(dtype=float)
    loc = _local.local_crossing(r, t, bandwidth=h, window=window, alpha=alpha, reps=reps, keep_path=False)

    def td(v):
        return t_to_date(v, s, pdays)

    open_lo, open_hi = not math.isfinite(loc.lower), not math.isfinite(loc.upper)
    empty = loc.kind == "no_crossing"
    note = {"bounded": "", "unbounded": "the set reaches the window's first or last period",
            "two_rays": "the set reaches both ends of the window",
            "no_crossing": "the data exclude a crossing in the window"}[loc.kind]
    if loc.estimate is None and not empty:
        note = (note + "; " if note else "") + "the fitted path does not end with CN ahead: no overtaking date"
    return {"method": "local_linear", "estimate_date": td(loc.estimate) if loc.estimate is not None else None,
            "lower_date": None if (open_lo or empty) else td(loc.lower),
            "upper_date": None if (open_hi or empty) else td(loc.upper), "kind": loc.kind,
            "estimate_t": loc.estimate if loc.estimate is not None else np.nan,
            "lower_t": loc.lower if not empty else np.nan, "upper_t": loc.upper if not empty else np.nan,
            "note": note, "inference": "local_linear", "bandwidth_periods": loc.bandwidth,
            "critical": loc.critical_max, "n_pieces": len(loc.pieces),
            "pieces_dates": json.dumps([[td(a), td(b)] for a, b in loc.pieces]),
            "open_start": bool(loc.open_start), "open_end": bool(loc.open_end)}


def sensitivity_grid(panel: pd.DataFrame, *, measures: Iterable[str], rules: Iterable[str], scopes: Iterable[str],
                     ks: Iterable[int] = (1, 3, 6), hac_lags: Iterable[int] = (1, 2, 3, 4), alpha: float = 0.05,
                     frequency: str = "weekly",
                     series_fn: Callable[..., pd.DataFrame] | None = None,
                     inference: str = _cross.DEFAULT_INFERENCE,
                     bandwidths: Iterable = (_cross.DEFAULT_BANDWIDTH, 0.3, 1.0),
                     null: str = _cross.DEFAULT_NULL, start_offsets: Iterable[int] = START_OFFSETS,
                     local_bandwidth: float | None = None, bandwidth_factors: Iterable[float] = BANDWIDTH_FACTORS,
                     local_reps: int = GRID_LOCAL_REPS) -> pd.DataFrame:
    """Crossover estimate and set under every definition, for the robustness table and the headline's spread.

    For each measure x rule x scope:

    * the headline method, ``local_linear`` (:func:`analysis.stats.local.local_crossing`): one row per window start
      in ``start_offsets`` (months after the first snapshot, at the headline bandwidth) and one per bandwidth
      factor other than 1 in ``bandwidth_factors`` (times the headline bandwidth, full window). ``pieces_dates``
      holds the whole set (a JSON list of [from, to] dates), ``open_start``/``open_end`` whether it reaches the
      window's ends, ``bandwidth_periods`` the kernel half-width, ``start_offset_months``/``start_date`` the window;
    * the straight-line methods (they assume one straight line; full window only): with
      ``inference="fixed_b"`` a "fieller" and a "delta" row per fixed-b bandwidth in ``bandwidths``
      (``bandwidth_b`` the fraction, ``hac_lag`` the lags it gives), then a "fieller_nw" and a
      "fieller_prewhitened" row per HAC lag in ``hac_lags`` (for ``inference="nw"`` these are "fieller",
      "fieller_prewhitened" and "delta" rows);
    * one empirical first-passage row per ``k`` (no interval).

    For a "two_rays" straight-line set, ``lower_t``/``upper_t`` are infinite and the excluded middle is stored in
    ``gap_lower_t``/``gap_upper_t`` (and as dates). A definition (or window) the panel cannot supply gives one row
    with kind "no_data" and the reason in ``note``. The bootstrap is left out (seconds per row).

    Parameters
    ----------
    panel : pandas.DataFrame
        The tidy panel (``data/processed/panel.parquet``).
    measures, rules, scopes : iterable of str
        Definitions to cross.
    ks : iterable of int
        Run lengths for the first passage.
    hac_lags : iterable of int
        Newey-West lags of the classic straight-line sets.
    alpha : float
        1 - confidence level.
    frequency : {"daily", "weekly", "monthly"}
        Period grid.
    series_fn : callable, optional
        ``series_fn(panel, measure, rule, scope, frequency=...)``; default :func:`analysis.panel.primary_series`.
    inference : {"fixed_b", "nw"}
        Inference of the straight-line "fieller" and "delta" rows.
    bandwidths : iterable of float or str
        Fixed-b bandwidth fractions of the straight-line rows.
    null : {"lrv", "ar1", "iid"}
        Simulated fixed-b null.
    start_offsets : iterable of int
        Window starts of the local-linear rows, in months after the first snapshot (0 = the full window).
    local_bandwidth : float or None
        The headline's kernel half-width in periods (None = the calibrated rule for each series).
    bandwidth_factors : iterable of float
        Multiples of that bandwidth for the local-linear rows on the full window.
    local_reps : int
        Null draws of the local-linear rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``SENSITIVITY_COLUMNS``.
    """
    if series_fn is None:
        from analysis.panel import primary_series as series_fn  # noqa: N813
    pdays = PERIOD_DAYS[frequency]
    rows: list[dict[str, Any]] = []
    ks, hac_lags = tuple(ks), tuple(hac_lags)
    for measure in measures:
        window = measure_window(measure, frequency)
        for rule in rules:
            for scope in scopes:
                base = {"measure": measure, "rule": rule, "scope": scope}
                try:
                    s = check_series(series_fn(panel, measure, rule, scope, frequency=frequency))
                    r = s["log_ratio"].to_numpy(dtype=float)
                    n_obs = int(np.sum(~np.isnan(r)))
                    if n_obs < 8:
                        raise ValueError(f"only {n_obs} periods with both CN and US shares (need 8)")
                except Exception as exc:  # a definition the panel cannot supply is reported, not fatal
                    rows.append({**base, "method": "none", "kind": "no_data", "note": str(exc)[:300]})
                    continue
                t = s["t"].to_numpy(dtype=float)
                n = int(len(s))
                first = s["date"].iloc[0].strftime("%Y-%m-%d")
                h0 = local_bandwidth if local_bandwidth is not None else _local.default_bandwidth(
                    int(round(t[~np.isnan(r)][-1] - t[~np.isnan(r)][0])) + 1)[0]
                local_specs = [(int(m), None) for m in start_offsets] + \
                              [(0, float(f)) for f in bandwidth_factors if not math.isclose(float(f), 1.0)]
                for months, factor in local_specs:
                    info = {**base, "start_offset_months": months}
                    try:
                        ss = later_start(s, months)
                        rr = ss["log_ratio"].to_numpy(dtype=float)
                        n_ss = int(np.sum(~np.isnan(rr)))
                        if n_ss < 8:
                            raise ValueError(f"only {n_ss} periods with both shares after starting {months} months "
                                             "later (need 8)")
                        h = (None if (factor is None and local_bandwidth is None) else
                             (h0 * (factor or 1.0)))
                        row = _local_row(ss, pdays, window, alpha, h, local_reps)
                    except Exception as exc:
                        rows.append({**info, "method": "local_linear", "kind": "no_data", "note": str(exc)[:300]})
                        continue
                    rows.append({**info, **row, "start_date": ss["date"].iloc[0].strftime("%Y-%m-%d"),
                                 "n_periods": int(len(ss)), "n_observed": n_ss})
                fits = []  # (method, Fieller or delta result, TrendCrossingResult, inference, requested b)
                if inference == "fixed_b":
                    for bw in bandwidths:
                        tc = _cross.trend_crossing(r, t, alpha=alpha, inference="fixed_b", bandwidth=bw, null=null)
                        fits += [("fieller", tc.fieller, tc, "fixed_b", bw), ("delta", tc.delta, tc, "fixed_b", bw)]
                    nw_names = ("fieller_nw", "fieller_prewhitened")
                else:
                    nw_names = ("fieller", "fieller_prewhitened", "delta")
                for lag in hac_lags:
                    tc = _cross.trend_crossing(r, t, alpha=alpha, inference="nw", hac_lags=lag)
                    pw = _cross.trend_crossing(r, t, alpha=alpha, inference="nw", hac_lags=lag, prewhite=True)
                    fits += [(nw_names[0], tc.fieller, tc, "nw", None), (nw_names[1], pw.fieller, pw, "nw", None)]
                    if len(nw_names) == 3:
                        fits.append((nw_names[2], tc.delta, tc, "nw", None))
                for method, res, tc, inf, bw in fits:
                    b = tc.fit.params[1]
                    est = res.estimate
                    note = "" if b > 0 else "slope not positive: no overtaking trend"
                    if b > 0 and not (t[0] <= est <= t[-1]):
                        note = "estimate outside the observed periods (extrapolated trend)"
                    if isinstance(res, _cross.DeltaResult):
                        kind = "bounded" if np.isfinite(res.se) else "empty"
                    else:
                        kind = res.kind
                    gap = (getattr(res, "gap", None) or (None, None)) if getattr(res, "kind", "") == "two_rays" \
                        else (None, None)
                    rows.append({**base, "hac_lag": tc.fit.hac_lags, "method": method,
                                 "estimate_date": t_to_date(est, s, pdays),
                                 "lower_date": t_to_date(res.lower, s, pdays),
                                 "upper_date": t_to_date(res.upper, s, pdays),
                                 "kind": kind if b > 0 else "no_trend", "n_periods": n, "n_observed": n_obs,
                                 "estimate_t": est, "lower_t": res.lower, "upper_t": res.upper, "note": note,
                                 "inference": inf, "bandwidth_b": bw, "critical": res.critical,
                                 "gap_lower_t": gap[0], "gap_upper_t": gap[1],
                                 "gap_lower_date": t_to_date(gap[0], s, pdays),
                                 "gap_upper_date": t_to_date(gap[1], s, pdays), "start_offset_months": 0,
                                 "start_date": first})
                for kk in ks:
                    fp = _cross.first_passage(s["diff"].to_numpy(dtype=float), k=kk)
                    date = None if fp.index is None else s["date"].iloc[fp.index].strftime("%Y-%m-%d")
                    rows.append({**base, "k": kk, "method": "first_passage", "estimate_date": date,
                                 "kind": "passed" if date else "not_yet", "n_periods": n, "n_observed": n_obs,
                                 "estimate_t": float(t[fp.index]) if fp.index is not None else np.nan,
                                 "note": "empirical; no interval in the grid", "start_offset_months": 0,
                                 "start_date": first})
    out = pd.DataFrame(rows).reindex(columns=list(SENSITIVITY_COLUMNS))
    for c in ("k", "hac_lag", "n_periods", "n_observed", "start_offset_months", "n_pieces"):
        out[c] = out[c].astype("Int64")
    for c in ("estimate_t", "lower_t", "upper_t", "bandwidth_b", "critical", "gap_lower_t", "gap_upper_t",
              "bandwidth_periods"):
        out[c] = out[c].astype(float)
    for c in ("open_start", "open_end"):
        out[c] = out[c].astype("boolean")
    for c in ("measure", "rule", "scope", "method", "estimate_date", "lower_date", "upper_date", "kind", "note",
              "inference", "gap_lower_date", "gap_upper_date", "start_date", "pieces_dates"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out
