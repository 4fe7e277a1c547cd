"""Structural-break tests and break dating for a regression with a trend term.

The study asks whether the relation between Chinese and US download shares changed abruptly, so every
break test here is run on a model WITH a trend term (``X = [1, t]``): a smooth trend alone must not be
mistaken for a break. Pettitt's rank test has no regressors; :func:`analysis.stats.report.run_trend_tests`
applies it to the residuals of the linear trend for that reason.

Conventions
-----------
* A break location is the 1-based index of the LAST observation before the change (R's strucchange and trend
  packages use the same convention), counted in observed rows of ``y``.
* ``y`` and ``X`` must be complete here (no NaN). Missing periods are handled by the caller, which drops them
  and keeps the true time in the trend column of ``X``, so a break location maps back to a date through the
  observed rows.

Null distributions
------------------
The simulated p-values (sup-F, OLS-CUSUM with a trend, and the Chow test when asked) draw the null errors from
``errors(rng, reps)``, an ``n x reps`` array; by default independent standard normals, which is exact for iid
Gaussian errors but over-rejects badly with autocorrelated noise (sup-F rejected a straight line plus AR(1) 0.5
noise seen through a 4-period window most of the time; ``data/reference/calibration.json`` has the measured
rates). Every statistic here is invariant to the trend coefficients and to the scale of the errors, so only the
noise's correlation matters: the study's p-values come from :mod:`analysis.stats.breaknull`, a parametric
bootstrap with the fitted noise model of :mod:`analysis.stats.noise`, calibrated by a double bootstrap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import ruptures as rpt
from scipy import optimize, stats
from statsmodels.stats.diagnostic import breaks_cusumolsresid


def _check_yx(y, X) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).ravel()
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[0] != y.size:
        raise ValueError(f"y has {y.size} rows but X has {X.shape[0]}; pass one row of X per observation.")
    bad = ~np.isfinite(y) | ~np.all(np.isfinite(X), axis=1)
    if bad.any():
        raise ValueError(f"y/X contain NaN or inf at rows {np.flatnonzero(bad)[:5].tolist()}; drop missing periods "
                         "before a break test (keep the true time in the trend column of X).")
    return y, X


def iid_errors(rng: np.random.Generator, reps: int, n: int) -> np.ndarray:
    """Independent standard normal null errors, ``n x reps`` (the default null of the simulated p-values)."""
    return rng.standard_normal((n, reps))


def _draw(errors, rng: np.random.Generator, reps: int, n: int) -> np.ndarray:
    E = iid_errors(rng, reps, n) if errors is None else np.asarray(errors(rng, reps), dtype=float)
    if E.shape != (n, reps):
        raise ValueError(f"errors(rng, {reps}) returned shape {E.shape}; expected ({n}, {reps}) (one row per "
                         "observation of y).")
    return E


def simulated_p_value(statistic, observed: float, n: int, errors=None, reps: int = 999, seed: int = 0,
                      chunk: int = 1000) -> float:
    """Monte Carlo p-value ``(1 + #{S* >= observed}) / (1 + reps)`` of a statistic under simulated null errors.

    Parameters
    ----------
    statistic : callable
        Maps an ``n x m`` array of null errors to ``m`` statistics.
    observed : float
        The statistic on the data.
    n : int
        Observations.
    errors : callable or None
        ``errors(rng, m)`` -> ``n x m`` null errors; None = iid standard normal.
    reps : int
        Draws.
    seed : int
        Seed of the draws.
    chunk : int
        Draws per batch (memory).

    Returns
    -------
    float
    """
    if reps < 1:
        raise ValueError(f"reps={reps} must be >= 1 for a simulated p-value.")
    rng = np.random.default_rng(seed)
    exceed = 0
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        exceed += int(np.sum(statistic(_draw(errors, rng, m, n)) >= observed))
    return (1.0 + exceed) / (1.0 + reps)


def _rss(y: np.ndarray, X: np.ndarray) -> float:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    e = y - X @ beta
    return float(e @ e)


# ----------------------------------------------------------------------------------------------------------
# Pettitt
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PettittResult:
    """Pettitt's (1979) rank test for a single change point.

    Attributes
    ----------
    statistic : float
        ``U* = max_k |U_k|`` with ``U_k = 2 sum_{i<=k} r_i - k (n + 1)`` (r = mid-ranks).
    location : int
        1-based index, in the INPUT array (missing periods included), of the last value before the change
        (first maximiser of ``|U_k|``).
    p_value : float
        Approximate two-sided p-value ``min(1, 2 exp(-6 U*^2 / (n^3 + n^2)))``.
    n : int
        Number of observed values.
    """

    statistic: float
    location: int
    p_value: float
    n: int


def pettitt(x) -> PettittResult:
    """Pettitt's non-parametric test for one change in location.

    Implements the statistic and approximate p-value of Pettitt (1979) as in R's ``trend::pettitt.test``
    (Pohlert 2023). Missing values (NaN) are skipped; the reported location indexes the original input.
    The test assumes independent observations and no trend: apply it to detrended data.

    Parameters
    ----------
    x : array_like
        Series; NaN = missing period.

    Returns
    -------
    PettittResult

    References
    ----------
    Pettitt, A. N. (1979). A non-parametric approach to the change-point problem. Applied Statistics 28,
    126-135.
    """
    x = np.asarray(x, dtype=float).ravel()
    obs_idx = np.flatnonzero(~np.isnan(x))
    xo = x[obs_idx]
    n = xo.size
    if n < 3:
        raise ValueError(f"Pettitt's test needs at least 3 observed values; got {n}.")
    r = stats.rankdata(xo)
    k = np.arange(1, n + 1)
    uk = 2.0 * np.cumsum(r) - k * (n + 1)
    ua = np.abs(uk)
    u = float(ua.max())
    kk = int(np.flatnonzero(ua == u)[0])
    p = min(1.0, 2.0 * math.exp(-6.0 * u**2 / (n**3 + n**2)))
    return PettittResult(statistic=u, location=int(obs_idx[kk]) + 1, p_value=float(p), n=int(n))


def _pettitt_stats(R: np.ndarray) -> np.ndarray:
    """Pettitt's ``U*`` of every column of R (no missing values)."""
    n = R.shape[0]
    ranks = np.argsort(np.argsort(R, axis=0), axis=0).astype(float) + 1.0  # ties have probability zero here
    k = np.arange(1, n + 1, dtype=float)[:, None]
    return np.abs(2.0 * np.cumsum(ranks, axis=0) - k * (n + 1)).max(axis=0)


# ----------------------------------------------------------------------------------------------------------
# Chow and sup-F
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChowResult:
    """Chow (1960) F test for a break in all coefficients after observation ``split``.

    Attributes
    ----------
    f_stat : float
        ``((RSS_0 - RSS_1 - RSS_2)/k) / ((RSS_1 + RSS_2)/(n - 2k))``.
    p_value : float
        Upper tail of F(k, n - 2k); exact under iid normal errors.
    df : tuple of int
        (k, n - 2k).
    split : int
        Number of observations in the first segment (1-based index of the last one).
    """

    f_stat: float
    p_value: float
    df: tuple[int, int]
    split: int
    p_value_method: str = "F"
    mc_reps: int = 0


def chow(y, X, split: int, errors=None, mc_reps: int = 0, seed: int = 0) -> ChowResult:
    """Chow test of equal coefficients before and after a stated break.

    Parameters
    ----------
    y : array_like
        Response (complete).
    X : array_like
        Regressors (include the constant and the trend).
    split : int
        Number of observations before the break (the break follows row ``split``, 1-based).
    errors : callable or None
        Null errors for a simulated p-value (see :func:`simulated_p_value`); used when ``mc_reps > 0``.
    mc_reps : int
        0 (default) = the F distribution's p-value (exact for iid normal errors); > 0 = simulated with ``errors``.
    seed : int
        Seed of the simulation.

    Returns
    -------
    ChowResult

    References
    ----------
    Chow, G. C. (1960). Tests of equality between sets of coefficients in two linear regressions.
    Econometrica 28, 591-605.
    """
    y, X = _check_yx(y, X)
    n, k = X.shape
    split = int(split)
    if not k <= split <= n - k:
        raise ValueError(f"split={split} leaves a segment with fewer than k={k} observations (n={n}); choose a "
                         f"split between {k} and {n - k}.")
    rss0 = _rss(y, X)
    rss_u = _rss(y[:split], X[:split]) + _rss(y[split:], X[split:])
    df2 = n - 2 * k
    f = ((rss0 - rss_u) / k) / (rss_u / df2)
    if mc_reps > 0:
        p = simulated_p_value(lambda E: _f_path(E, X, range(split, split + 1))[0] / k, f, n, errors,
                              mc_reps, seed)
        return ChowResult(f_stat=float(f), p_value=float(p), df=(k, df2), split=split,
                          p_value_method="simulated", mc_reps=int(mc_reps))
    return ChowResult(f_stat=float(f), p_value=float(stats.f.sf(f, k, df2)), df=(k, df2), split=split)


@dataclass(frozen=True)
class SupFResult:
    """Andrews' (1993) sup-F test of no break against one break at an unknown date.

    Attributes
    ----------
    statistic : float
        ``max_i F_i`` where ``F_i = (RSS_0 - RSS_i) / (RSS_i / (n - 2k))`` is the Wald form used by R's
        ``strucchange::Fstats`` (k times the Chow F).
    location : int
        Maximising split (1-based index of the last observation before the break).
    p_value : float
        Monte Carlo p-value ``(1 + #{sim >= stat}) / (1 + reps)`` (NaN when ``mc_reps = 0``) under iid normal
        errors on the SAME design (exact in finite samples for iid
        Gaussian errors; the trend regressor makes Andrews' tabulated asymptotics inapplicable).
    mc_reps : int
        Monte Carlo replicates used for the p-value.
    trim : float
        Fraction trimmed at each end.
    candidates : tuple of int
        First and last candidate split.
    f_path : tuple of float
        F statistic at each candidate split.
    """

    statistic: float
    location: int
    p_value: float
    mc_reps: int
    trim: float
    candidates: tuple[int, int]
    f_path: tuple[float, ...]


def _f_path(Y: np.ndarray, X: np.ndarray, splits: range) -> np.ndarray:
    """F statistics (Wald form) for every split and every column of Y (n x reps)."""
    n, k = X.shape

    def rss_cols(Ys, Xs):
        beta, *_ = np.linalg.lstsq(Xs, Ys, rcond=None)
        e = Ys - Xs @ beta
        return np.einsum("ij,ij->j", e, e)

    rss0 = rss_cols(Y, X)
    out = np.empty((len(splits), Y.shape[1]))
    for row, i in enumerate(splits):
        rss_u = rss_cols(Y[:i], X[:i]) + rss_cols(Y[i:], X[i:])
        out[row] = (rss0 - rss_u) / (rss_u / (n - 2 * k))
    return out


def sup_f(y, X, trim: float = 0.15, mc_reps: int = 999, seed: int = 0, errors=None) -> SupFResult:
    """Sup-F (Quandt likelihood ratio) test for one break at an unknown date, with trimming.

    Candidate splits run from ``floor(trim n)`` to ``n - floor(trim n)`` as in ``strucchange::Fstats``.
    The p-value is simulated on the actual design under iid N(0, 1) errors (the statistic does not depend on
    the coefficients or the error scale under the null), because with a deterministic trend regressor the
    usual Andrews (1993) critical values do not apply. Serially correlated errors make the test over-reject;
    the report says so.

    Parameters
    ----------
    y : array_like
        Response (complete).
    X : array_like
        Regressors, including the constant and trend.
    trim : float
        Trimming fraction (0.15 by default, Andrews 1993).
    mc_reps : int
        Monte Carlo replicates for the p-value.
    seed : int
        Seed of the Monte Carlo.
    errors : callable or None
        Null errors (see :func:`simulated_p_value`); None = iid standard normal.

    Returns
    -------
    SupFResult

    References
    ----------
    Andrews, D. W. K. (1993). Tests for parameter instability and structural change with unknown change
    point. Econometrica 61, 821-856.
    Zeileis, A., Leisch, F., Hornik, K., Kleiber, C. (2002). strucchange: An R package for testing for
    structural change in linear regression models. JSS 7(2).
    """
    y, X = _check_yx(y, X)
    n, k = X.shape
    if not 0 < trim < 0.5:
        raise ValueError(f"trim={trim} must be between 0 and 0.5.")
    lo = max(int(math.floor(trim * n)), k)
    hi = min(n - int(math.floor(trim * n)), n - k)
    if hi < lo:
        raise ValueError(f"n={n} is too short for trim={trim} with k={k} regressors.")
    splits = range(lo, hi + 1)
    path = _f_path(y[:, None], X, splits)[:, 0]
    best = int(np.argmax(path))
    stat = float(path[best])
    p = (simulated_p_value(lambda E: _f_path(E, X, splits).max(axis=0), stat, n, errors,
                           mc_reps, seed) if mc_reps > 0 else float("nan"))
    return SupFResult(statistic=stat, location=int(splits[best]), p_value=float(p), mc_reps=int(mc_reps),
                      trim=trim, candidates=(lo, hi), f_path=tuple(float(v) for v in path))


# ----------------------------------------------------------------------------------------------------------
# OLS-CUSUM
# ----------------------------------------------------------------------------------------------------------
CUSUM_PVALUES = ("auto", "brownian_bridge", "simulated")


@dataclass(frozen=True)
class CusumResult:
    """OLS-CUSUM test (Ploberger and Kraemer 1992).

    Attributes
    ----------
    statistic : float
        ``sup |W(t)|`` of the scaled cumulated OLS residuals.
    p_value : float
        Brownian-bridge (Kolmogorov) p-value when the regressors are stationary; for a design with a trend term,
        the Monte Carlo p-value ``(1 + #{sim >= stat}) / (1 + mc_reps)`` under iid normal errors on the SAME
        design (see ``pvalue_method``).
    location : int
        1-based row where the cumulated residual process is largest in absolute value.
    pvalue_method : str
        "brownian_bridge" (asymptotic limit of Ploberger and Kraemer 1992, stationary regressors) or
        "simulated" (finite-sample null on the design; the trend makes the limit a different process).
    mc_reps : int
        Monte Carlo replicates of the simulated p-value (0 for "brownian_bridge").
    seed : int or None
        Seed of the Monte Carlo (None for "brownian_bridge").
    """

    statistic: float
    p_value: float
    location: int
    pvalue_method: str = "brownian_bridge"
    mc_reps: int = 0
    seed: int | None = None


def has_trend_regressor(X) -> bool:
    """True if a column of ``X`` is a deterministic trend (non-constant and monotone in the row order).

    The Brownian-bridge limit of the OLS-CUSUM process (Ploberger and Kraemer 1992) needs regressors whose
    running mean settles, ``n^-1 sum_{t <= rn} x_t -> r c`` for every ``r`` in [0, 1]. A column that is monotone
    and not constant, such as the time index ``t`` (gaps allowed), violates it; the residual partial sums then
    have another limit (MacNeill 1978; for ``X = [1, t]`` the second-level Brownian bridge of Kwiatkowski et
    al. 1992).

    Parameters
    ----------
    X : array_like
        Regressor matrix (one row per observation).

    Returns
    -------
    bool
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[0] < 3:
        return False
    d = np.diff(X, axis=0)
    nonconstant = np.ptp(X, axis=0) > 0
    monotone = np.all(d >= 0, axis=0) | np.all(d <= 0, axis=0)
    return bool(np.any(nonconstant & monotone))


def _cusum_stats(E: np.ndarray, X: np.ndarray) -> np.ndarray:
    """OLS-CUSUM statistic of every column of E (n x reps) regressed on X (ddof = k scaling)."""
    n, k = X.shape
    q, _ = np.linalg.qr(X)
    R = E - q @ (q.T @ E)
    nobssigma2 = np.einsum("ij,ij->j", R, R) / (n - k) * n
    return np.abs(np.cumsum(R, axis=0)).max(axis=0) / np.sqrt(nobssigma2)


def cusum_ols(y, X, pvalue: str = "auto", mc_reps: int = 9999, seed: int = 0, errors=None) -> CusumResult:
    """OLS-based CUSUM test of parameter constancy.

    The statistic is that of ``statsmodels.stats.diagnostic.breaks_cusumolsresid`` with ``ddof = k`` (the
    scaling of R's ``strucchange::efp(type="OLS-CUSUM")``; both are checked against R in the tests). Its
    Brownian-bridge (Kolmogorov) limit (Ploberger and Kraemer 1992) holds for stationary regressors only. With a
    deterministic trend in ``X`` (the study's ``X = [1, t]``) the partial sums of the OLS residuals converge to
    a different Gaussian process, the second-level Brownian bridge (MacNeill 1978; Kwiatkowski et al. 1992),
    whose quantiles are much smaller (95% quantile about 0.84 at n = 100 against the Kolmogorov 1.358), so the
    Kolmogorov p-value would almost never reject (share of p < 0.05 about 0.000 under iid errors). For such
    designs the p-value is simulated on the actual design under iid N(0, 1) errors, as :func:`sup_f` does: the
    statistic depends neither on the coefficients nor on the error scale under the null, so this is exact in
    finite samples for iid Gaussian errors (size 0.049 at 5% in the test suite). Serially correlated errors make
    the test over-reject, because the residual partial sums grow with the long-run, not the short-run, variance
    (about 0.6 rejection at 5% with AR(1) 0.5 errors, n = 100).

    Parameters
    ----------
    y : array_like
        Response (complete).
    X : array_like
        Regressors, including the constant.
    pvalue : {"auto", "brownian_bridge", "simulated"}
        "auto" (default): "simulated" if a column of ``X`` is a deterministic trend
        (:func:`has_trend_regressor`), else "brownian_bridge".
    mc_reps : int
        Monte Carlo replicates of the simulated p-value.
    seed : int
        Seed of the Monte Carlo.
    errors : callable or None
        Null errors of the simulated p-value (see :func:`simulated_p_value`); None = iid standard normal.

    Returns
    -------
    CusumResult

    References
    ----------
    Ploberger, W., Kraemer, W. (1992). The CUSUM test with OLS residuals. Econometrica 60, 271-285.
    MacNeill, I. B. (1978). Properties of sequences of partial sums of polynomial regression residuals with
    applications to tests for change of regression at unknown times. Annals of Statistics 6, 422-433.
    Kwiatkowski, D., Phillips, P. C. B., Schmidt, P., Shin, Y. (1992). Testing the null hypothesis of
    stationarity against the alternative of a unit root. Journal of Econometrics 54, 159-178.
    Zeileis, A., Leisch, F., Hornik, K., Kleiber, C. (2002). strucchange: An R package for testing for
    structural change in linear regression models. JSS 7(2).
    """
    y, X = _check_yx(y, X)
    n, k = X.shape
    if pvalue not in CUSUM_PVALUES:
        raise ValueError(f"pvalue={pvalue!r}; expected one of {CUSUM_PVALUES}.")
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    stat, p, _ = breaks_cusumolsresid(resid, ddof=k)
    location = int(np.argmax(np.abs(np.cumsum(resid)))) + 1
    method = pvalue if pvalue != "auto" else ("simulated" if has_trend_regressor(X) else "brownian_bridge")
    if method == "brownian_bridge":
        return CusumResult(statistic=float(stat), p_value=float(p), location=location)
    if mc_reps < 1:
        raise ValueError(f"mc_reps={mc_reps} must be >= 1 for a simulated p-value.")
    p_sim = simulated_p_value(lambda E: _cusum_stats(E, X), stat, n, errors, mc_reps, seed, chunk=2000)
    return CusumResult(statistic=float(stat), p_value=float(p_sim), location=location, pvalue_method="simulated",
                       mc_reps=int(mc_reps), seed=int(seed))


# ----------------------------------------------------------------------------------------------------------
# Bai-Perron dating and Bai (1997) intervals
# ----------------------------------------------------------------------------------------------------------
def argmax_cdf(x: float, xi: float = 1.0, phi1: float = 1.0, phi2: float = 1.0) -> float:
    """CDF of the location of the maximum of a two-sided Brownian motion with drift (Bai 1997).

    This is the limiting distribution of a rescaled break-date estimator when the regressors' second moments
    (ratio ``xi``) and the error variances (``phi1^2``, ``phi2^2``) may differ across the break
    (Bai 1997, Proposition 3; the same closed form is used by ``strucchange::confint.breakpointsfull``).

    Parameters
    ----------
    x : float
        Point at which to evaluate the CDF.
    xi, phi1, phi2 : float
        ``delta' Q_2 delta / delta' Q_1 delta`` and the error standard deviations before/after the break.

    Returns
    -------
    float
    """
    phi = xi * (phi2 / phi1) ** 2
    ax = abs(x)
    if x < 0:
        frac = xi / phi
        return float(
            -math.exp(math.log(ax) / 2 - ax / 8 - math.log(2 * math.pi) / 2) if ax > 0 else 0.0
        ) - (phi / xi * (phi + 2 * xi) / (phi + xi)) * math.exp(
            frac * (1 + frac) * ax / 2 + stats.norm.logcdf(-(0.5 + frac) * math.sqrt(ax))
        ) + math.exp(
            math.log(ax / 2 - 2 + (phi + 2 * xi) ** 2 / ((phi + xi) * xi)) + stats.norm.logcdf(-math.sqrt(ax) / 2)
        )
    frac = xi**2 / phi
    first = math.sqrt(frac) * math.exp(math.log(ax) / 2 - frac * ax / 8 - math.log(2 * math.pi) / 2) if ax > 0 else 0.0
    return float(
        1.0 + first
        + (xi / phi * (2 * phi + xi) / (phi + xi)) * math.exp(
            (phi + xi) * ax / 2 + stats.norm.logcdf(-(phi + xi / 2) / math.sqrt(phi) * math.sqrt(ax)))
        - math.exp(math.log((2 * phi + xi) ** 2 / ((phi + xi) * phi) - 2 + frac * ax / 2)
                   + stats.norm.logcdf(-math.sqrt(frac) * math.sqrt(ax) / 2))
    )


@dataclass(frozen=True)
class BreakInterval:
    """Bai (1997) confidence interval of one break (1-based indices of the last observation before it).

    The interval comes from the limiting distribution of the break-date estimator, which Bai (1997) derives for
    serially uncorrelated errors and stationary regressors; with a trend term in ``X`` it is an approximation.

    Attributes
    ----------
    lower : int or None
        Lower end: 1-based index of the last observation before the break at the ``alpha/2`` quantile. None
        when the interval cannot be computed (the limiting distribution puts less than ``alpha/2`` on one side
        of the estimate, as strucchange warns).
    estimate : int
        The estimated break (1-based index of the last observation before it).
    upper : int or None
        Upper end at the ``1 - alpha/2`` quantile; None as for ``lower``.
    """

    lower: int | None
    estimate: int
    upper: int | None


@dataclass(frozen=True)
class BaiPerronResult:
    """Least-squares dating of multiple breaks (Bai and Perron 2003) with BIC model choice.

    Attributes
    ----------
    breaks : tuple of tuple of int
        For m = 0..max_breaks, the optimal break locations (1-based index of the last observation of each
        segment but the last).
    rss : tuple of float
        Residual sum of squares of the optimal m-break partition.
    bic : tuple of float
        ``n (log RSS + 1 - log n + log 2 pi) + log(n) (k + 1)(m + 1)`` (as strucchange's summary).
    chosen : int
        Number of breaks minimising the BIC.
    intervals : tuple of BreakInterval
        Bai (1997) intervals for the chosen breaks (segment-specific regressor moments and error variances).
    min_size : int
        Minimum segment length h.
    level : float
        Confidence level of the intervals.
    """

    breaks: tuple[tuple[int, ...], ...]
    rss: tuple[float, ...]
    bic: tuple[float, ...]
    chosen: int
    intervals: tuple[BreakInterval, ...]
    min_size: int
    level: float


def _bai_intervals(y: np.ndarray, X: np.ndarray, bps: tuple[int, ...], level: float) -> tuple[BreakInterval, ...]:
    """Bai (1997) break-date intervals, heterogeneous regressors and errors across segments."""
    n = y.size
    a2 = (1 - level) / 2
    edges = [0, *bps, n]
    segs = []
    for i in range(len(edges) - 1):
        Xs, ys = X[edges[i]:edges[i + 1]], y[edges[i]:edges[i + 1]]
        beta, *_ = np.linalg.lstsq(Xs, ys, rcond=None)
        e = ys - Xs @ beta
        segs.append((beta, Xs.T @ Xs / Xs.shape[0], float(e @ e) / Xs.shape[0]))
    out = []
    for j, bp in enumerate(bps):
        (b1, q1, s1), (b2, q2, s2) = segs[j], segs[j + 1]
        delta = b2 - b1
        qp1, qp2 = float(delta @ q1 @ delta), float(delta @ q2 @ delta)
        xi = qp2 / qp1
        phi1, phi2 = math.sqrt(s1), math.sqrt(s2)
        p0 = argmax_cdf(0.0, xi, phi1, phi2)
        if not np.isfinite(p0) or p0 < a2 or p0 > 1 - a2:
            out.append(BreakInterval(lower=None, estimate=int(bp), upper=None))
            continue
        ub, lb = 0.0, 0.0
        while argmax_cdf(ub, xi, phi1, phi2) < 1 - a2:
            ub += 1000.0
        while argmax_cdf(lb, xi, phi1, phi2) > a2:
            lb -= 1000.0
        up = optimize.brentq(lambda v: argmax_cdf(v, xi, phi1, phi2) - (1 - a2), 0.0, ub, xtol=1e-10)
        lo = optimize.brentq(lambda v: argmax_cdf(v, xi, phi1, phi2) - a2, lb, 0.0, xtol=1e-10)
        scale = phi1**2 / qp1
        out.append(BreakInterval(lower=int(bp - math.ceil(up * scale)), estimate=int(bp),
                                 upper=int(bp - math.floor(lo * scale))))
    return tuple(out)


def bai_perron(y, X, max_breaks: int = 5, min_size: int | None = None, level: float = 0.95) -> BaiPerronResult:
    """Date up to ``max_breaks`` breaks in all coefficients of ``y ~ X`` and choose their number by BIC.

    The globally optimal partitions for each number of breaks come from dynamic programming
    (``ruptures.Dynp`` with the linear-regression cost and ``jump=1``, i.e. every date is a candidate), the
    algorithm of Bai and Perron (2003). The number of breaks minimises the BIC of Yao (1988) in the form used
    by ``strucchange`` (Zeileis et al. 2003). Intervals for the chosen break dates follow Bai (1997), allowing
    different regressor moments and error variances in adjacent segments; they assume serially uncorrelated
    errors and stationary regressors (``X'X/n`` converging within each segment). The study's trend term is not
    stationary, so with ``X = [1, t]`` the intervals are approximate.

    Parameters
    ----------
    y : array_like
        Response (complete).
    X : array_like
        Regressors, including the constant and trend.
    max_breaks : int
        Largest number of breaks considered (capped at ``ceil(n/h) - 2`` as strucchange does).
    min_size : int or None
        Minimum segment length h; None = ``floor(0.15 n)``.
    level : float
        Confidence level of the break-date intervals.

    Returns
    -------
    BaiPerronResult

    References
    ----------
    Bai, J. (1997). Estimation of a change point in multiple regression models. Review of Economics and
    Statistics 79, 551-563.
    Bai, J., Perron, P. (2003). Computation and analysis of multiple structural change models. Journal of
    Applied Econometrics 18, 1-22.
    Yao, Y.-C. (1988). Estimating the number of change-points via Schwarz' criterion. Statistics and
    Probability Letters 6, 181-189.
    Zeileis, A., Kleiber, C., Kraemer, W., Hornik, K. (2003). Testing and dating of structural changes in
    practice. Computational Statistics and Data Analysis 44, 109-123.
    Truong, C., Oudre, L., Vayatis, N. (2020). Selective review of offline change point detection methods.
    Signal Processing 167 (ruptures).
    """
    y, X = _check_yx(y, X)
    n, k = X.shape
    h = int(math.floor(0.15 * n)) if min_size is None else int(min_size)
    if h <= k:
        raise ValueError(f"min_size={h} must exceed the number of regressors k={k} (n={n}).")
    if h > n // 2:
        raise ValueError(f"min_size={h} must be at most half the number of observations (n={n}).")
    max_breaks = int(min(max_breaks, math.ceil(n / h) - 2))
    algo = rpt.Dynp(model="linear", min_size=h, jump=1).fit(np.column_stack([y, X]))
    breaks, rss, bic = [], [], []
    for m in range(0, max_breaks + 1):
        if m == 0:
            bps: tuple[int, ...] = ()
        else:
            try:
                bps = tuple(int(b) for b in algo.predict(n_bkps=m)[:-1])
            except rpt.exceptions.BadSegmentationParameters:
                break  # m breaks of at least min_size periods do not fit
        edges = [0, *bps, n]
        r = sum(_rss(y[a:b], X[a:b]) for a, b in zip(edges[:-1], edges[1:]))
        breaks.append(bps)
        rss.append(float(r))
        bic.append(float(n * (math.log(r) + 1 - math.log(n) + math.log(2 * math.pi)) + math.log(n) * (k + 1) * (m + 1)))
    chosen = int(np.argmin(bic))
    intervals = _bai_intervals(y, X, breaks[chosen], level) if chosen > 0 else ()
    return BaiPerronResult(breaks=tuple(breaks), rss=tuple(rss), bic=tuple(bic), chosen=chosen,
                           intervals=intervals, min_size=h, level=level)
