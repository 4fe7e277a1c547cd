"""The crossover under every definition: the robustness grid of notebook 05 (``crossover_sensitivity.parquet``)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..contracts import SENSITIVITY_COLUMNS
from . import crossover as _cross
from .series import PERIOD_DAYS, check_series, t_to_date



def sensitivity_grid(panel: pd.DataFrame, *, measures: Iterable[str], rules: Iterable[str], scopes: Iterable[str],
                     ks: Iterable[int] = (1, 3, 6), hac_lags: Iterable[int] = (1, 2, 3, 4), alpha: float = 0.05,
                     frequency: str = "weekly",
                     series_fn: Callable[..., pd.DataFrame] | None = None,
                     inference: str = _cross.DEFAULT_INFERENCE,
                     bandwidths: Iterable = (_cross.DEFAULT_BANDWIDTH, 0.3, 1.0),
                     null: str = _cross.DEFAULT_NULL) -> pd.DataFrame:
    """Crossover estimate and interval under every definition, for the robustness table.

    The grid is NOT the full cross measure x rule x scope x k x HAC lag. Each measure x rule x scope is crossed
    with each setting of the dimension that applies to a method: the HAC lags 1..4 apply to the classic and
    prewhitened Newey-West Fieller sets only; the headline fixed-b rows vary the fixed-b bandwidth instead (their
    lag is set by the bandwidth, so a lag of 1..4 would not be fixed-b); k varies only the empirical first
    passage, which has a point estimate but no interval here. For each measure x rule x scope:

    * with ``inference="fixed_b"`` (default, as the headline): a "fieller" and a "delta" row per fixed-b
      bandwidth in ``bandwidths`` (the headline's first; ``bandwidth_b`` is the requested fraction, ``hac_lag``
      the Newey-West lags it gives on that series, i.e. the Bartlett bandwidth minus one), then
    * a "fieller_nw" (classic Newey-West, t critical value) and a "fieller_prewhitened" row per HAC lag in
      ``hac_lags`` (for ``inference="nw"`` these are "fieller", "fieller_prewhitened" and "delta" rows, as
      before the calibration study);
    * one empirical first-passage row per ``k`` (``hac_lag`` empty; no interval).

    For a "two_rays" Fieller set, ``lower_t``/``upper_t`` are infinite and the excluded middle is stored in
    ``gap_lower_t``/``gap_upper_t`` (and as dates); these are empty for other kinds.

    The bootstrap and the simulation smoother are left out to keep the grid fast (seconds); the headline
    definition has them in ``crossover.json``. A definition the panel lacks (e.g. all-time increments before
    2025-02-26) gives one row with kind "no_data" and the reason in ``note``.

    Parameters
    ----------
    panel : pandas.DataFrame
        The tidy panel (``data/processed/panel.parquet``).
    measures, rules, scopes : iterable of str
        Definitions to cross.
    ks : iterable of int
        Run lengths for the first passage.
    hac_lags : iterable of int
        Newey-West lags.
    alpha : float
        1 - confidence level.
    frequency : {"weekly", "monthly"}
        Period grid.
    series_fn : callable, optional
        ``series_fn(panel, measure, rule, scope, frequency=...)``; default :func:`analysis.panel.primary_series`.
    inference : {"fixed_b", "nw"}
        Inference of the "fieller" and "delta" rows (see :func:`analysis.stats.crossover.trend_crossing`).
    bandwidths : iterable of float or str
        Fixed-b bandwidth fractions (with ``inference="fixed_b"``).
    null : {"lrv", "ar1", "iid"}
        Simulated fixed-b null (see :func:`analysis.stats.fixedb.null_phi`).

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
                                 "gap_upper_date": t_to_date(gap[1], s, pdays)})
                for kk in ks:
                    fp = _cross.first_passage(s["diff"].to_numpy(dtype=float), k=kk, simulate=False)
                    date = None if fp.index is None else s["date"].iloc[fp.index].strftime("%Y-%m-%d")
                    rows.append({**base, "k": kk, "method": "first_passage", "estimate_date": date,
                                 "kind": "passed" if date else "not_yet", "n_periods": n, "n_observed": n_obs,
                                 "estimate_t": float(t[fp.index]) if fp.index is not None else np.nan,
                                 "note": "empirical; no interval in the grid"})
    out = pd.DataFrame(rows).reindex(columns=list(SENSITIVITY_COLUMNS))
    out["k"] = out["k"].astype("Int64")
    out["hac_lag"] = out["hac_lag"].astype("Int64")
    out["n_periods"] = out["n_periods"].astype("Int64")
    out["n_observed"] = out["n_observed"].astype("Int64")
    for c in ("estimate_t", "lower_t", "upper_t", "bandwidth_b", "critical", "gap_lower_t", "gap_upper_t"):
        out[c] = out[c].astype(float)
    for c in ("measure", "rule", "scope", "method", "estimate_date", "lower_date", "upper_date", "kind", "note",
              "inference", "gap_lower_date", "gap_upper_date"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out
