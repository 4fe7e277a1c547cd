"""When cumulative Chinese downloads pass cumulative US downloads (the quantity some trackers report).

A share of 30-day downloads answers "who is downloaded more now"; a cumulative total answers "who has been
downloaded more since a start date". The cumulative crossing comes later than the share's (it must make up the
earlier lead) and depends on where the sum starts, so it is reported with its start date.

What is reported
----------------
``observed``
    The date at which the observed cumulative CN total passes the US total and stays ahead to the last snapshot
    (linear interpolation between the two snapshots around it; the snapshots themselves bracket it). The sums are
    exact counts of the Hub's counters, so this date carries no sampling error for that start date; its resolution
    is the snapshot spacing.
``interval``
    How surely a process like the observed one crosses there: week-to-week download counts are noisy and
    persistent, and a slightly different history (a release a week later, a few busy weeks fewer) would move the
    date. Each region's log per-period downloads are split into a smooth path (a centred running mean over
    ``2 * half_window + 1`` periods) and noise. The noise is modelled as AR(1), fitted by the robust
    second-difference variogram (:mod:`analysis.stats.noise`, which a smooth trend does not confuse), at the most
    persistent plausible coefficient (the fit is imprecise on a hundred periods and an underestimate narrows the
    interval), with CN and US innovations correlated as their residuals are. Histories are simulated on the smooth
    path, re-summed, and the crossing found in each; the interval is the ``alpha/2, 1 - alpha/2`` quantiles of
    those dates' deviations from the smooth path's own crossing, placed around the observed crossing. Simulated histories that do not cross within the window cross after it: when more than
    ``alpha/2`` of them do, the interval is open at its end.

This is a statement about the noise around the observed path, not a model of the path's shape, so it holds for
jumps and saturation as long as the smooth path follows them. Its coverage of the noise-free crossing on worlds
with a straight rise, a release jump, saturation and an S-curve, with persistent noise shared by the two regions,
is checked in ``tests/test_stats_cumulative.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import noise as _noise

#: The measure the sums are built from: each period's growth of the Hub's all-time counters.
CUMULATIVE_MEASURE = "downloads_alltime_increment"
#: Tail probability below which a noise coefficient is implausible (as for the headline set).
PLAUSIBLE = 0.2


@dataclass(frozen=True)
class CumulativeCrossing:
    """The crossing of cumulative CN and US downloads.

    Attributes
    ----------
    start_date : str or None
        First date of the sums (the snapshot before the first period with counter growth).
    estimate_date : str or None
        Observed date at which cumulative CN passes cumulative US for good (interpolated); None if CN is not
        ahead at the last snapshot.
    bracket : tuple of str
        The two snapshots between which the observed crossing lies (empty if none).
    lower_date, upper_date : str or None
        The interval's ends; ``upper_date`` None when the interval is open at its end (more than ``alpha/2`` of
        the simulated histories do not cross within the window).
    kind : str
        "bounded", "unbounded" (open at the end) or "no_crossing" (CN is not ahead at the last snapshot).
    ahead_at_end : str
        "CN" or "US": who leads the cumulative totals at the last snapshot.
    cn_total, us_total : float
        The totals at the last snapshot.
    share_not_crossing : float
        Fraction of simulated histories that do not cross within the window.
    reps, half_window, seed : int
        Replicated histories, half-width of the smooth path, seed.
    phi_cn, phi_us, sigma_cn, sigma_us, rho : float
        The noise simulated on the log downloads: AR(1) coefficients (least favourable plausible), marginal
        standard deviations, and the correlation of CN and US innovations.
    plausible : float
        Tail probability of the plausible coefficients.
    alpha : float
    measure, rule, scope : str
        The definition the sums use.
    n_periods : int
        Periods with counter growth.
    note : str
        Why there is no estimate, when ``kind`` is "no_data".
    """

    start_date: str | None
    estimate_date: str | None
    bracket: tuple
    lower_date: str | None
    upper_date: str | None
    kind: str
    ahead_at_end: str
    cn_total: float
    us_total: float
    share_not_crossing: float
    reps: int
    phi_cn: float
    phi_us: float
    sigma_cn: float
    sigma_us: float
    rho: float
    plausible: float
    half_window: int
    seed: int
    alpha: float
    measure: str
    rule: str
    scope: str
    n_periods: int
    note: str = ""

    def as_dict(self) -> dict:
        """JSON-ready content (with the method in words)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["bracket"] = list(self.bracket)
        out["reading"] = self.reading()
        out["method"] = ("observed crossing of the cumulative totals; interval from histories simulated on a smooth "
                         "path with AR(1) noise at the least favourable plausible coefficient")
        return out

    def reading(self) -> str:
        """One sentence in plain words."""
        start = self.start_date or "the first snapshot"
        if self.kind == "no_data":
            return f"No cumulative crossing: {self.note}."
        if self.kind == "no_crossing":
            return (f"Counting downloads from {start}, the cumulative US total is still ahead of the Chinese one at "
                    f"the last snapshot ({_short(self.us_total)} vs {_short(self.cn_total)}).")
        lvl = f"{100 * (1 - self.alpha):g}%"
        end = self.upper_date or "after the last snapshot"
        return (f"Counting downloads from {start}, the cumulative Chinese total passed the US total on "
                f"{self.estimate_date} (between the snapshots of {self.bracket[0]} and {self.bracket[1]}); allowing for the "
                f"persistent week-to-week noise of the counts, the {lvl} interval from simulated histories is "
                f"{self.lower_date} to {end}. The date depends on where the sums start, and a total that integrates "
                "an earlier lead crosses later than the shares do.")


def _short(v: float) -> str:
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suf}"
    return f"{v:.3g}"


def last_crossing(t: np.ndarray, diff: np.ndarray) -> float | None:
    """Time at which ``diff`` (CN minus US, cumulative) turns positive for good, interpolated; None if not ahead
    at the end.

    Parameters
    ----------
    t : numpy.ndarray
        Increasing times.
    diff : numpy.ndarray
        Cumulative CN minus US at those times.
    """
    if diff.size == 0 or not diff[-1] > 0:
        return None
    nonpos = np.flatnonzero(diff <= 0)
    if nonpos.size == 0:
        return float(t[0])            # ahead from the first time given
    i = int(nonpos[-1])
    d0, d1 = diff[i], diff[i + 1]
    frac = 0.0 if d1 == d0 else (0.0 - d0) / (d1 - d0)
    return float(t[i] + frac * (t[i + 1] - t[i]))


def _smooth(logx: np.ndarray, half: int) -> np.ndarray:
    """Centred running mean with the window shrinking at the ends."""
    n = logx.size
    c = np.concatenate([[0.0], np.cumsum(logx)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return (c[hi] - c[lo]) / (hi - lo)


def _ar1(z: np.ndarray, phi: float, sigma: float) -> np.ndarray:
    """AR(1) paths with marginal standard deviation ``sigma`` from standard normals ``z`` (reps x periods)."""
    e = np.empty_like(z)
    e[:, 0] = sigma * z[:, 0]
    inn = sigma * math.sqrt(1.0 - phi * phi)
    for i in range(1, z.shape[1]):
        e[:, i] = phi * e[:, i - 1] + inn * z[:, i]
    return e


def _plausible_noise(y: np.ndarray, n: int, *, tail: float, seed: int, draws: int = 200) -> tuple[float, float]:
    """The most persistent plausible AR(1) coefficient of a log series' noise, with its marginal sd.

    The noise is fitted by the robust second-difference variogram (:func:`analysis.stats.noise.fit_noise`), which a
    smooth trend does not confuse. Its coefficient is estimated with much error on a hundred periods, and an
    underestimate narrows the interval; so the coefficient used is the largest on the grid under which the fitted
    one is not in the lower ``tail`` of what the fit gives (the least favourable plausible coefficient).
    """
    fitted = _noise.fit_noise(y, lags=4)
    trip = _noise.variogram_triplets(np.arange(n, dtype=float), 4)
    log_model = _noise.model_log_variogram(1, 4)
    rng = np.random.default_rng(seed)
    best = fitted.index
    for j in range(fitted.index + 1, _noise.PHI_GRID.size):
        sims = _noise.ar_noise(rng, n, float(_noise.PHI_GRID[j]), 1, draws)
        k, _ = _noise.fit_log_variogram(_noise.log_variogram(sims, trip), log_model)
        if np.mean(k <= fitted.index) < tail:
            break
        best = j
    return float(_noise.PHI_GRID[best]), float(fitted.sigma)


def increments_by_region(panel: pd.DataFrame, rule: str, scope: str,
                         measure: str = CUMULATIVE_MEASURE) -> pd.DataFrame:
    """Per-period CN and US downloads (the counters' growth times the weeks elapsed) from the panel.

    Returns
    -------
    pandas.DataFrame
        Columns ``date, start, CN, US`` (``start`` is the previous snapshot), periods in date order; periods where
        either region is missing are dropped.
    """
    sel = panel[(panel["measure"] == measure) & (panel["rule"] == rule) & (panel["scope"] == scope)]
    if sel.empty:
        raise ValueError(f"the panel has no series measure={measure!r}, rule={rule!r}, scope={scope!r}; "
                         "the cumulative crossing needs the all-time counters (rerun notebook 03 with that measure)")
    all_dates = np.sort(panel["date"].unique())
    prev = {d: (all_dates[i - 1] if i > 0 else None) for i, d in enumerate(all_dates)}
    wide = sel.pivot_table(index="date", columns="region", values="downloads", aggfunc="first").sort_index()
    rows = []
    for d, r in wide.iterrows():
        p = prev.get(d)
        if p is None or pd.isna(r.get("CN")) or pd.isna(r.get("US")):
            continue
        weeks = (pd.Timestamp(d) - pd.Timestamp(p)).days / 7.0
        rows.append({"date": pd.Timestamp(d), "start": pd.Timestamp(p), "CN": float(r["CN"]) * weeks,
                     "US": float(r["US"]) * weeks})
    return pd.DataFrame(rows, columns=["date", "start", "CN", "US"])


def cumulative_crossing(increments: pd.DataFrame, *, alpha: float = 0.05, reps: int = 2000,
                        half_window: int = 4, plausible: float = PLAUSIBLE, seed: int = 0,
                        measure: str = CUMULATIVE_MEASURE, rule: str = "", scope: str = "") -> CumulativeCrossing:
    """Date at which cumulative CN downloads pass cumulative US downloads, with an interval from simulated histories.

    Parameters
    ----------
    increments : pandas.DataFrame
        Output of :func:`increments_by_region`: per-period downloads ``CN`` and ``US`` ending at ``date``.
    alpha : float
        1 - level of the interval.
    reps : int
        Replicated histories.
    half_window : int
        Half-width (periods) of the running mean of the log downloads that gives the smooth path.
    seed : int
        Seed of the simulated histories.
    measure, rule, scope : str
        Recorded with the result.

    Returns
    -------
    CumulativeCrossing
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if reps < 100:
        raise ValueError(f"reps must be at least 100 for a {100 * (1 - alpha):g}% interval, got {reps!r}")
    inc = increments.sort_values("date").reset_index(drop=True)
    n = len(inc)
    if n < 8:
        raise ValueError(f"the cumulative crossing needs at least 8 periods with counter growth, got {n}")
    cn = inc["CN"].to_numpy(float)
    us = inc["US"].to_numpy(float)
    if np.any(cn < 0) or np.any(us < 0) or not np.all(np.isfinite(cn)) or not np.all(np.isfinite(us)):
        raise ValueError("per-period downloads must be finite and non-negative")
    start = inc["start"].iloc[0]
    t = np.concatenate([[0.0], ((inc["date"] - start).dt.days / 7.0).to_numpy(float)])
    diff = np.concatenate([[0.0], np.cumsum(cn - us)])

    def to_date(x: float | None) -> str | None:
        return None if x is None else (start + pd.Timedelta(days=7.0 * x)).strftime("%Y-%m-%d")

    est = last_crossing(t, diff)      # diff starts at 0: ahead from the first period means a crossing in it
    bracket: tuple = ()
    if est is not None:
        k = int(np.searchsorted(t, est, side="right"))
        k = min(max(k, 1), len(t) - 1)
        dates = [start] + list(inc["date"])
        bracket = (dates[k - 1].strftime("%Y-%m-%d"), dates[k].strftime("%Y-%m-%d"))

    # simulated histories: the smooth path of the logs plus AR(1) noise at the least favourable plausible coefficient
    floor = max(1.0, 1e-6 * float(max(cn.max(), us.max())))
    lc, lu = np.log(np.maximum(cn, floor)), np.log(np.maximum(us, floor))
    sc, su = _smooth(lc, half_window), _smooth(lu, half_window)
    rng = np.random.default_rng(seed)
    noise_c = _plausible_noise(lc, n, tail=plausible, seed=seed)
    noise_u = _plausible_noise(lu, n, tail=plausible, seed=seed + 1)
    dc, du = np.diff(lc - sc), np.diff(lu - su)
    rho = float(np.corrcoef(dc, du)[0, 1]) if dc.std() > 0 and du.std() > 0 else 0.0
    rho = min(max(rho, -1.0), 1.0)
    z1 = rng.standard_normal((reps, n))
    z2 = rho * z1 + math.sqrt(1.0 - rho * rho) * rng.standard_normal((reps, n))
    cn_r = np.exp(sc[None, :] + _ar1(z1, *noise_c))
    us_r = np.exp(su[None, :] + _ar1(z2, *noise_u))
    d_r = np.concatenate([np.zeros((reps, 1)), np.cumsum(cn_r - us_r, axis=1)], axis=1)
    crossings = np.full(reps, np.nan)
    for i in range(reps):
        c = last_crossing(t, d_r[i])
        if c is not None:
            crossings[i] = c
    never = float(np.mean(np.isnan(crossings)))
    # a history that has not crossed by the window's end crosses after it: +inf in the quantiles
    ranked = np.where(np.isnan(crossings), np.inf, crossings)
    # the simulated dates scatter around the smooth path's crossing; their deviations from it are carried over to
    # the observed crossing, so the interval is centred where the data cross (and always holds the estimate)
    centre = last_crossing(t, np.concatenate([[0.0], np.cumsum(np.exp(sc) - np.exp(su))]))
    if est is not None and centre is not None:
        ranked = ranked - centre + est
    lo_t, hi_t = np.quantile(ranked, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    if est is not None:
        lo_t, hi_t = min(lo_t, est), max(hi_t, est)
    ahead = "CN" if diff[-1] > 0 else "US"
    if est is None:
        kind = "no_crossing"
    else:
        kind = "bounded" if math.isfinite(hi_t) else "unbounded"
    return CumulativeCrossing(
        start_date=start.strftime("%Y-%m-%d"), estimate_date=to_date(est), bracket=bracket,
        lower_date=to_date(float(lo_t)) if math.isfinite(lo_t) else None,
        upper_date=to_date(float(hi_t)) if math.isfinite(hi_t) else None, kind=kind, ahead_at_end=ahead,
        cn_total=float(cn.sum()), us_total=float(us.sum()), share_not_crossing=never, reps=int(reps),
        phi_cn=noise_c[0], phi_us=noise_u[0], sigma_cn=noise_c[1], sigma_us=noise_u[1], rho=rho,
        plausible=float(plausible), half_window=int(half_window), seed=int(seed), alpha=float(alpha), measure=measure,
        rule=rule, scope=scope, n_periods=n)


def cumulative_from_panel(panel: pd.DataFrame, rule: str, scope: str, **kwargs) -> CumulativeCrossing:
    """:func:`cumulative_crossing` of a panel's series, or a result of kind "no_data" saying why there is none
    (the panel lacks the all-time counters, or has too few periods with them).

    Parameters
    ----------
    panel : pandas.DataFrame
        The tidy panel.
    rule, scope : str
        The series (the panel's rule name, e.g. ``lineage`` or ``lineage_alt``).
    **kwargs
        Passed to :func:`cumulative_crossing`.
    """
    try:
        inc = increments_by_region(panel, rule, scope)
        if len(inc) < 8:
            raise ValueError(f"only {len(inc)} periods have the all-time counters' growth (at least 8 needed)")
    except ValueError as exc:
        return CumulativeCrossing(
            start_date=None, estimate_date=None, bracket=(), lower_date=None, upper_date=None, kind="no_data",
            ahead_at_end="", cn_total=float("nan"), us_total=float("nan"), share_not_crossing=float("nan"),
            reps=int(kwargs.get("reps", 2000)), phi_cn=float("nan"), phi_us=float("nan"), sigma_cn=float("nan"),
            sigma_us=float("nan"), rho=float("nan"), plausible=float(kwargs.get("plausible", PLAUSIBLE)),
            half_window=int(kwargs.get("half_window", 4)), seed=int(kwargs.get("seed", 0)),
            alpha=float(kwargs.get("alpha", 0.05)), measure=CUMULATIVE_MEASURE, rule=rule, scope=scope, n_periods=0,
            note=str(exc))
    return cumulative_crossing(inc, rule=rule, scope=scope, **kwargs)
