"""Trend tests on one series observed on a regular time grid that may have missing periods.

The study tests the log ratio ``r_t = log(s_CN / s_US)`` of the Chinese and US download shares (and the
difference ``d_t = s_CN - s_US``) rather than the two shares separately: the shares of all origins sum to one,
so two separate tests would not be independent. The period (week or month) is the unit of observation.

Missing periods
---------------
Inputs may hold ``NaN`` for periods without a snapshot. Every function here keeps the TRUE time index ``t``
(default: the position in the array, i.e. one step per period) instead of dropping the missing values and
renumbering the rest, which is what pymannkendall does and which distorts slopes and lags when a period is
missing:

* the Mann-Kendall score S and its variance depend only on the order of the observed values, so they are
  unaffected;
* Sen's slope uses ``(x_j - x_i) / (t_j - t_i)`` with the true times;
* the Hamed-Rao and Yue-Wang corrections detrend with the true times and estimate autocorrelation at lag k
  from the pairs of observations that are exactly k periods apart ("amplitude-modulated" estimator,
  Parzen 1963), divided by the number of observations as in the complete-data estimator;
* the Newey-West covariance sums the score cross-products of observations exactly j periods apart, with the
  missing periods contributing zero (the same amplitude-modulated idea; Datta and Du 2012).

With no missing periods all of these reduce exactly to the textbook (and pymannkendall / statsmodels) values,
which the tests check. ``mann_kendall(..., missing="drop")`` reproduces pymannkendall's drop-and-renumber
behaviour, only to compare with its published regression values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import statsmodels.api as sm
from scipy import stats

MK_METHODS = ("original", "hamed_rao", "yue_wang")


# ----------------------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------------------
def _observed(x, t, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(x, t, observed x, their t, n observed) on the true time index; at least 3 observations or ValueError."""
    x, t = _as_xt(x, t)
    obs = ~np.isnan(x)
    xo, to = x[obs], t[obs]
    n = int(xo.size)
    if n < 3:
        raise ValueError(f"{what} needs at least 3 observed values; got {n} (of {x.size} periods).")
    return x, t, xo, to, n


def _as_xt(x, t=None, name: str = "x") -> tuple[np.ndarray, np.ndarray]:
    """Return float arrays (x, t) of equal length; t defaults to 0, 1, ..., n-1 (one step per period)."""
    x = np.asarray(x, dtype=float).ravel()
    if t is None:
        t = np.arange(x.size, dtype=float)
    else:
        t = np.asarray(t, dtype=float).ravel()
    if t.size != x.size:
        raise ValueError(f"{name} has {x.size} values but t has {t.size}; pass one time value per observation.")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"t (time index of {name}) contains NaN or inf at positions "
                         f"{np.flatnonzero(~np.isfinite(t))[:5].tolist()}; missing periods belong in {name} as NaN, "
                         "not in t.")
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"t (time index of {name}) must be strictly increasing; first offending position "
                         f"{int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1}.")
    return x, t


def _grid_positions(t: np.ndarray) -> np.ndarray | None:
    """Integer period positions of ``t`` relative to its first value, or None if t is not on an integer grid."""
    pos = t - t[0]
    rounded = np.round(pos)
    if np.allclose(pos, rounded, atol=1e-6):
        return rounded.astype(np.int64)
    return None


def default_hac_lags(n: int) -> int:
    """Newey-West default truncation lag ``floor(4 (n/100)^(2/9))`` (Newey and West 1994).

    Parameters
    ----------
    n : int
        Number of observations.

    Returns
    -------
    int
        The lag (0 for n < 1).
    """
    if n < 1:
        return 0
    return int(math.floor(4.0 * (n / 100.0) ** (2.0 / 9.0)))


def hac_meat(scores: np.ndarray, positions: np.ndarray | None, lags: int, prewhite: bool = False) -> np.ndarray:
    """Bartlett-kernel long-run covariance of score vectors, summed (not averaged) over observations.

    ``sum_i s_i s_i' + sum_{j=1..L} (1 - j/(L+1)) (G_j + G_j')`` with ``G_j = sum s_i s_k'`` over pairs of
    observations exactly ``j`` periods apart (Newey and West 1987). With ``positions=None`` or a complete grid
    this is the usual estimator over consecutive observations; with gaps, missing periods contribute zero
    (amplitude-modulated estimator).

    Parameters
    ----------
    scores : ndarray, shape (n, k)
        Per-observation score contributions (e.g. ``X_i * e_i`` for OLS).
    positions : ndarray of int or None
        Period index of each observation (strictly increasing); None = consecutive.
    lags : int
        Truncation lag L >= 0.
    prewhite : bool
        Prewhiten the scores with a VAR(1) before applying the kernel and recolour afterwards
        (Andrews and Monahan 1992; R ``sandwich::NeweyWest(prewhite=TRUE)``). The VAR is fitted on pairs of
        observations exactly one period apart; its coefficient matrix is shrunk to spectral radius 0.97 if larger.

    Returns
    -------
    ndarray, shape (k, k)
    """
    if prewhite:
        return _prewhitened_meat(np.asarray(scores, dtype=float), positions, lags)
    scores = np.asarray(scores, dtype=float)
    n, k = scores.shape
    if positions is None:
        positions = np.arange(n)
    span = int(positions[-1] - positions[0]) + 1
    grid = np.zeros((span, k))
    grid[positions - positions[0]] = scores
    meat = grid.T @ grid
    for j in range(1, int(lags) + 1):
        if j >= span:
            break
        w = 1.0 - j / (lags + 1.0)
        g = grid[j:].T @ grid[:-j]
        meat += w * (g + g.T)
    return meat


def _prewhitened_meat(scores: np.ndarray, positions: np.ndarray | None, lags: int) -> np.ndarray:
    """VAR(1)-prewhitened Bartlett meat (Andrews and Monahan 1992), on the period grid."""
    n, k = scores.shape
    if positions is None:
        positions = np.arange(n)
    pos = positions - positions[0]
    span = int(pos[-1]) + 1
    grid = np.zeros((span, k))
    seen = np.zeros(span, dtype=bool)
    grid[pos] = scores
    seen[pos] = True
    pair = seen[1:] & seen[:-1]
    s1, s0 = grid[1:][pair], grid[:-1][pair]
    if s0.shape[0] <= k:
        raise ValueError(f"prewhitening needs more than {k} pairs of consecutive periods; got {s0.shape[0]}.")
    A = np.linalg.lstsq(s0, s1, rcond=None)[0].T  # s_t = A s_{t-1} + v_t
    radius = float(np.max(np.abs(np.linalg.eigvals(A))))
    if radius > 0.97:
        A = A * (0.97 / radius)
    v = np.zeros_like(grid)
    keep = np.zeros(span, dtype=bool)
    keep[1:] = pair
    v[1:][pair] = s1 - s0 @ A.T
    v_pos = np.flatnonzero(keep)
    meat_v = hac_meat(v[v_pos], v_pos, lags)  # summed over the n - 1 whitened scores, as R sandwich::meatHAC
    B = np.linalg.inv(np.eye(k) - A)
    return B @ meat_v @ B.T


# ----------------------------------------------------------------------------------------------------------
# Mann-Kendall family
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MannKendallResult:
    """Result of a Mann-Kendall trend test (two-sided, normal approximation with continuity correction).

    Attributes
    ----------
    method : str
        "original", "hamed_rao" or "yue_wang".
    lag : int or None
        Number of autocorrelation lags used by the variance correction (None = all, as in pymannkendall).
    s : float
        Mann-Kendall score S = sum over pairs i<j of sign(x_j - x_i).
    var_s : float
        Variance of S (tie-corrected; multiplied by the autocorrelation correction factor for the modified tests).
    z : float
        Standardised score ``(S - sign(S)) / sqrt(var_s)``.
    p_value : float
        Two-sided p-value from the standard normal.
    tau : float
        Kendall's tau-a, ``S / (n(n-1)/2)`` (as pymannkendall; R's trend::mk.test reports a tie-adjusted tau that
        equals this when there are no ties).
    n : int
        Number of observed (non-missing) values.
    n_missing : int
        Number of missing periods in the input.
    correction : float
        Variance inflation factor ``n/n*`` of the modified tests (1 for the original test).
    missing : str
        How missing periods were treated: "true_time" (default) or "drop" (pymannkendall's renumbering).
    """

    method: str
    lag: int | None
    s: float
    var_s: float
    z: float
    p_value: float
    tau: float
    n: int
    n_missing: int
    correction: float
    missing: str


def _mk_score(x: np.ndarray) -> float:
    d = np.sign(x[None, :] - x[:, None])
    return float(np.triu(d, 1).sum())


def _mk_variance(x: np.ndarray) -> float:
    n = x.size
    _, counts = np.unique(x, return_counts=True)
    ties = counts[counts > 1].astype(float)
    return float((n * (n - 1) * (2 * n + 5) - np.sum(ties * (ties - 1) * (2 * ties + 5))) / 18.0)


def _z_score(s: float, var_s: float) -> float:
    if s > 0:
        return (s - 1.0) / math.sqrt(var_s)
    if s < 0:
        return (s + 1.0) / math.sqrt(var_s)
    return 0.0


def _acf_gap_aware(values: np.ndarray, positions: np.ndarray, nlags: int) -> np.ndarray:
    """Autocorrelations at lags 0..nlags from pairs exactly k periods apart, denominator n (as the complete case)."""
    y = values - values.mean()
    n = y.size
    span = int(positions[-1] - positions[0]) + 1
    grid = np.zeros(span)
    grid[positions - positions[0]] = y
    acov = np.empty(nlags + 1)
    for k in range(nlags + 1):
        acov[k] = np.dot(grid[k:], grid[: span - k]) / n if k < span else 0.0
    return acov / acov[0]


def _sen_pairs(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(x.size, 1)
    return (x[j] - x[i]) / (t[j] - t[i])


def mann_kendall(x, method: str = "original", lag: int | None = None, t=None, alpha: float = 0.05,
                 missing: Literal["true_time", "drop"] = "true_time") -> MannKendallResult:
    """Mann-Kendall test for a monotonic trend, with optional autocorrelation corrections.

    Methods: the original test (Mann 1945; Kendall 1975), the Hamed and Rao (1998) variance correction computed
    on the ranks of the Sen-detrended series, keeping only autocorrelations significant at level ``alpha``,
    and the Yue and Wang (2004) effective-sample-size correction on the Sen-detrended series. The algorithms
    follow pymannkendall 1.4.3 (Hussain and Mahmud 2019) exactly on complete data; see the module docstring for
    how missing periods are handled.

    Parameters
    ----------
    x : array_like
        Series, one value per period; NaN = missing period.
    method : {"original", "hamed_rao", "yue_wang"}
        Test variant. The study's primary variant is Hamed-Rao with lag 3 (Hamed and Rao 1998 suggest the first
        few lags); Yue-Wang is usually used with lag 1.
    lag : int or None
        Number of autocorrelation lags in the correction; None = all lags (pymannkendall's default).
    t : array_like, optional
        Time index of each value (periods); default 0..n-1. Must lie on an integer grid for the corrections.
    alpha : float
        Significance level used by Hamed-Rao to screen autocorrelations (not the test level).
    missing : {"true_time", "drop"}
        "true_time" (default) keeps true times; "drop" renumbers the observed values 1..n as pymannkendall does.

    Returns
    -------
    MannKendallResult

    References
    ----------
    Mann, H. B. (1945). Nonparametric tests against trend. Econometrica 13, 245-259.
    Kendall, M. G. (1975). Rank Correlation Methods. Griffin.
    Hamed, K. H., Rao, A. R. (1998). A modified Mann-Kendall trend test for autocorrelated data.
    Journal of Hydrology 204, 182-196.
    Yue, S., Wang, C. Y. (2004). The Mann-Kendall test modified by effective sample size to detect trend in
    serially correlated hydrological series. Water Resources Management 18, 201-218.
    """
    if method not in MK_METHODS:
        raise ValueError(f"method={method!r} is not a Mann-Kendall variant; expected one of {MK_METHODS}.")
    if missing not in ("true_time", "drop"):
        raise ValueError(f"missing={missing!r}; expected 'true_time' or 'drop'.")
    if lag is not None and lag < 0:
        raise ValueError(f"lag={lag} must be >= 0 or None.")
    x, t, xo, to, n = _observed(x, t, "Mann-Kendall")
    s = _mk_score(xo)
    var_s = _mk_variance(xo)
    tau = s / (0.5 * n * (n - 1))
    correction = 1.0
    if method != "original":
        nlags = n - 1 if lag is None else min(int(lag), n - 1)
        slope = float(np.median(_sen_pairs(xo, to)))
        if missing == "drop":
            positions = np.arange(n)
            detrended = xo - np.arange(1, n + 1) * slope
        else:
            positions = _grid_positions(to)
            if positions is None:
                raise ValueError("the Hamed-Rao and Yue-Wang corrections need t on an integer period grid; "
                                 "pass t in periods (e.g. weeks since the first date).")
            detrended = xo - to * slope
        if method == "hamed_rao":
            ranks = stats.rankdata(detrended)
            rho = _acf_gap_aware(ranks, positions, nlags)
            bound = stats.norm.ppf(1 - alpha / 2) / math.sqrt(n)
            i = np.arange(1, nlags + 1)
            keep = np.abs(rho[1:]) > bound
            sni = np.sum(((n - i) * (n - i - 1) * (n - i - 2) * rho[1:])[keep])
            correction = 1.0 + 2.0 / (n * (n - 1) * (n - 2)) * sni
        else:
            rho = _acf_gap_aware(detrended, positions, nlags)
            i = np.arange(1, nlags + 1)
            correction = 1.0 + 2.0 * np.sum((1.0 - i / n) * rho[1:])
        var_s = var_s * correction
    z = _z_score(s, var_s)
    p = 2.0 * stats.norm.sf(abs(z))
    return MannKendallResult(method=method, lag=lag, s=s, var_s=float(var_s), z=float(z), p_value=float(p),
                             tau=float(tau), n=n, n_missing=int(x.size - n), correction=float(correction),
                             missing=missing)


# ----------------------------------------------------------------------------------------------------------
# Sen's slope
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SensSlopeResult:
    """Sen's slope with the rank-based confidence interval.

    Attributes
    ----------
    slope : float
        Median of the pairwise slopes (per period).
    intercept : float
        Conover's intercept ``median(x) - median(t) * slope`` (t = true times).
    ci_low, ci_high : float
        Rank-based ``1 - alpha`` confidence interval (Sen 1968), as R's trend::sens.slope.
    alpha : float
        1 - confidence level.
    z, p_value : float
        Mann-Kendall statistic and two-sided p-value (as reported by trend::sens.slope).
    n : int
        Number of observed values.
    n_pairs : int
        Number of pairwise slopes.
    """

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    alpha: float
    z: float
    p_value: float
    n: int
    n_pairs: int


def _round_half_even(v: float) -> int:
    return int(np.round(v))  # numpy rounds half to even, like R's round()


def sens_slope(x, alpha: float = 0.05, t=None) -> SensSlopeResult:
    """Sen's (1968) slope estimator with its distribution-free confidence interval.

    The interval takes order statistics of the N sorted pairwise slopes at ranks
    ``round((N - C)/2)`` and ``round((N + C)/2 + 1)`` (1-based, round half to even) with
    ``C = z_{1-alpha/2} sqrt(Var S)`` and the tie-corrected Mann-Kendall variance, exactly as R's
    ``trend::sens.slope`` (Pohlert 2023) and Hollander and Wolfe (1973). Slopes use the true times of the
    observations (missing periods are skipped, never renumbered).

    Parameters
    ----------
    x : array_like
        Series, NaN = missing period.
    alpha : float
        1 - confidence level.
    t : array_like, optional
        Time of each value in periods; default 0..n-1.

    Returns
    -------
    SensSlopeResult

    References
    ----------
    Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's tau. JASA 63, 1379-1389.
    Theil, H. (1950). A rank-invariant method of linear and polynomial regression analysis. Indag. Math. 12.
    Hollander, M., Wolfe, D. A. (1973). Nonparametric Statistical Methods. Wiley.
    Pohlert, T. (2023). trend: Non-Parametric Trend Tests and Change-Point Detection. R package 1.1.6.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must be between 0 and 1.")
    x, t, xo, to, n = _observed(x, t, "Sen's slope")
    d = np.sort(_sen_pairs(xo, to))
    n_pairs = d.size
    slope = float(np.median(d))
    var_s = _mk_variance(xo)
    c = stats.norm.ppf(1 - alpha / 2) * math.sqrt(var_s)
    lo = _round_half_even((n_pairs - c) / 2.0)
    up = _round_half_even((n_pairs + c) / 2.0 + 1.0)
    ci_low = float(d[lo - 1]) if 1 <= lo <= n_pairs else float("-inf")
    ci_high = float(d[up - 1]) if 1 <= up <= n_pairs else float("inf")
    s = _mk_score(xo)
    z = _z_score(s, var_s)
    return SensSlopeResult(slope=slope, intercept=float(np.median(xo) - np.median(to) * slope), ci_low=ci_low,
                           ci_high=ci_high, alpha=alpha, z=float(z), p_value=float(2 * stats.norm.sf(abs(z))),
                           n=n, n_pairs=int(n_pairs))


# ----------------------------------------------------------------------------------------------------------
# OLS with Newey-West errors
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OLSTrendResult:
    """Linear trend ``y_t = a + b t + e_t`` fitted by OLS with Newey-West (HAC) covariance.

    Attributes
    ----------
    params : tuple of float
        (a, b): intercept at t = 0 and slope per period.
    cov : tuple of tuple of float
        2x2 HAC covariance of (a, b).
    se : tuple of float
        Standard errors.
    t_values, p_values : tuple of float
        t statistics and two-sided p-values from Student's t with ``df_resid`` degrees of freedom.
    df_resid : int
        n - 2.
    n : int
        Number of observed periods used.
    n_missing : int
        Missing periods (inside the input) skipped.
    hac_lags : int
        Bartlett truncation lag used.
    use_correction : bool
        Whether the small-sample factor n/(n-k) was applied.
    rss : float
        Residual sum of squares.
    prewhite : bool
        Whether the scores were VAR(1)-prewhitened.
    inference : str
        "nw" (Student t with ``df_resid`` df, the usual Newey-West inference) or "fixed_b" (Kiefer and
        Vogelsang 2005: Bartlett bandwidth a fixed fraction of the sample, p-values from the fixed-b null
        simulated on this design by :func:`analysis.stats.fixedb.trend_null`).
    bandwidth_b : float or None
        For "fixed_b", ``b = M / T`` (M = ``hac_lags + 1`` periods, T = periods spanned).
    null, null_phi : str or None, float or None
        For "fixed_b", the simulated null ("lrv", "ar1" or "iid") and the AR(1) coefficient of its errors
        (:func:`analysis.stats.fixedb.null_phi`).
    """

    params: tuple[float, float]
    cov: tuple[tuple[float, float], tuple[float, float]]
    se: tuple[float, float]
    t_values: tuple[float, float]
    p_values: tuple[float, float]
    df_resid: int
    n: int
    n_missing: int
    hac_lags: int
    use_correction: bool
    rss: float
    prewhite: bool = False
    inference: str = "nw"
    bandwidth_b: float | None = None
    null: str | None = None
    null_phi: float | None = None


INFERENCES = ("nw", "fixed_b")


def ols_hac(y: np.ndarray, X: np.ndarray, positions: np.ndarray | None, hac_lags: int,
            use_correction: bool, prewhite: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS coefficients, Newey-West covariance and residuals for complete rows of (y, X).

    The covariance is ``(X'X)^-1 M (X'X)^-1`` times ``n/(n-k)`` when ``use_correction`` (R's
    ``sandwich::NeweyWest(adjust=TRUE)``); M is :func:`hac_meat` of the scores ``X_i e_i``.
    Note the statsmodels defaults differ: ``OLS.fit(cov_type="HAC")`` uses ``use_correction=False`` while
    ``statsmodels.stats.sandwich_covariance.cov_hac`` uses ``use_correction=True``; here it is always explicit.
    """
    n, k = X.shape
    fit = sm.OLS(y, X).fit()
    beta = np.asarray(fit.params)
    resid = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    cov = bread @ hac_meat(X * resid[:, None], positions, hac_lags, prewhite=prewhite) @ bread
    if use_correction:
        cov = cov * n / (n - k)
    return beta, cov, resid


def ols_trend(y, t=None, hac_lags: int | None = None, use_correction: bool = True,
              prewhite: bool = False, inference: str = "fixed_b", bandwidth=None, null: str = "lrv",
              null_reps: int | None = None) -> OLSTrendResult:
    """OLS of ``y`` on ``[1, t]`` with Newey-West (Bartlett kernel, no prewhitening) standard errors.

    The period is the unit of observation. The default is the study's inference, ``inference="fixed_b"``: a
    Bartlett bandwidth proportional to the sample and fixed-b critical values (Kiefer and Vogelsang 2005).
    ``inference="nw"`` (classic Newey-West with a few lags and Student's t with n - 2 degrees of freedom, which
    over-rejects when the errors are autocorrelated) must be asked for, and is the only one that takes
    ``hac_lags`` or ``prewhite``. Missing
    periods (NaN in ``y``) are skipped without renumbering ``t``; the HAC lags are counted in periods (see the
    module docstring).

    Parameters
    ----------
    y : array_like
        Response, NaN = missing period.
    t : array_like, optional
        Time in periods; default 0..n-1.
    hac_lags : int or None
        Truncation lag; None = ``floor(4 (n/100)^(2/9))`` (Newey and West 1994) with n observed periods.
    use_correction : bool
        Multiply the covariance by n/(n-2) (R sandwich ``adjust=TRUE``). Default True.
    prewhite : bool
        VAR(1)-prewhiten the scores before the kernel (Andrews and Monahan 1992). Default False (the study's
        specification); the simulation study (:mod:`devtools.validate`) reports both.
    inference : {"fixed_b", "nw"}
        "fixed_b" (default, the study's): the Bartlett bandwidth is ``bandwidth`` times the periods spanned and
        the p-values come from the fixed-b null distribution simulated on this design (Kiefer, Vogelsang and
        Bunzel 2000; Kiefer and Vogelsang 2005), which keeps the size of the test under autocorrelated errors;
        ``hac_lags`` must then be None. "nw": the lag is ``hac_lags`` (or the default rule) and p-values use
        Student t (the classic).
    bandwidth : float or str or None
        For "fixed_b": ``b`` in (0, 1] or "llsw" (see :func:`analysis.stats.fixedb.bartlett_bandwidth`);
        None = 0.5.
    null : {"lrv", "ar1", "iid"}
        For "fixed_b": errors of the simulated null: "lrv" (default; AR(1) matched to the residuals' kernel-
        weighted to plain variance ratio), "ar1" (AR(1) with the lag-1 autocorrelation; conservative) or "iid"
        (Kiefer-Vogelsang). The AR(1) nulls also correct the finite-sample distortion that strong
        autocorrelation causes; see :func:`analysis.stats.fixedb.null_phi`.
    null_reps : int or None
        Draws of the simulated null (None = :data:`analysis.stats.fixedb.DEFAULT_NULL_REPS`).

    Returns
    -------
    OLSTrendResult

    References
    ----------
    Andrews, D. W. K., Monahan, J. C. (1992). An improved heteroskedasticity and autocorrelation consistent
    covariance matrix estimator. Econometrica 60, 953-966.
    Newey, W. K., West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity and autocorrelation
    consistent covariance matrix. Econometrica 55, 703-708.
    Newey, W. K., West, K. D. (1994). Automatic lag selection in covariance matrix estimation. RES 61, 631-653.
    Zeileis, A. (2004). Econometric computing with HC and HAC covariance matrix estimators. JSS 11(10).
    Kiefer, N. M., Vogelsang, T. J., Bunzel, H. (2000). Simple robust testing of regression hypotheses.
    Econometrica 68, 695-714.
    Kiefer, N. M., Vogelsang, T. J. (2005). A new asymptotic theory for heteroskedasticity-autocorrelation
    robust tests. Econometric Theory 21, 1130-1164.
    """
    y, t = _as_xt(y, t, name="y")
    obs = ~np.isnan(y)
    yo, to = y[obs], t[obs]
    n = int(yo.size)
    if n < 4:
        raise ValueError(f"a trend regression needs at least 4 observed periods; got {n}.")
    if inference not in INFERENCES:
        raise ValueError(f"inference={inference!r}; expected one of {INFERENCES}.")
    positions = _grid_positions(to)
    b_frac = None
    if inference == "fixed_b":
        if hac_lags is not None:
            raise ValueError("hac_lags is set by the bandwidth under inference='fixed_b'; pass bandwidth=b "
                             "(a fraction of the sample) and hac_lags=None.")
        if prewhite:
            raise ValueError("prewhite=True is not combined with inference='fixed_b' (the fixed-b null simulated "
                             "here is for the plain Bartlett estimator).")
        if positions is None:
            raise ValueError("inference='fixed_b' needs t on an integer period grid (gaps allowed).")
        from .fixedb import bartlett_bandwidth
        m, b_frac = bartlett_bandwidth(int(positions[-1]) + 1, 0.5 if bandwidth is None else bandwidth)
        lags = m - 1
    else:
        if bandwidth is not None:
            raise ValueError("bandwidth is only used with inference='fixed_b'; use hac_lags for 'nw'.")
        lags = default_hac_lags(n) if hac_lags is None else int(hac_lags)
    if lags < 0:
        raise ValueError(f"hac_lags={hac_lags} must be >= 0 or None.")
    X = np.column_stack([np.ones(n), to])
    beta, cov, resid = ols_hac(yo, X, positions, lags, use_correction, prewhite=prewhite)
    se = np.sqrt(np.diag(cov))
    tv = beta / se
    df = n - 2
    null_name, phi = None, None
    if inference == "fixed_b":
        from .fixedb import DEFAULT_NULL_REPS, null_phi, trend_null
        null_name, phi = null, null_phi(resid, to, null, m=lags + 1)
        dist = trend_null(to, lags + 1, use_correction=use_correction, phi=phi,
                          reps=DEFAULT_NULL_REPS if null_reps is None else int(null_reps))
        p = np.array([dist.p_value(1.0, 0.0, tv[0]), dist.p_value(0.0, 1.0, tv[1])])
    else:
        p = 2 * stats.t.sf(np.abs(tv), df)
    return OLSTrendResult(params=(float(beta[0]), float(beta[1])),
                          cov=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
                          se=(float(se[0]), float(se[1])), t_values=(float(tv[0]), float(tv[1])),
                          p_values=(float(p[0]), float(p[1])), df_resid=df, n=n, n_missing=int((~obs).sum()),
                          hac_lags=lags, use_correction=bool(use_correction), rss=float(resid @ resid),
                          prewhite=bool(prewhite), inference=inference, bandwidth_b=b_frac, null=null_name,
                          null_phi=phi)


# ----------------------------------------------------------------------------------------------------------
# fractional logit
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FractionalLogitResult:
    """Fractional logit (binomial quasi-likelihood) trend ``logit E[s_t] = a + b t`` with HAC covariance.

    Attributes
    ----------
    params : tuple of float
        (a, b) on the logit scale; for the CN share of CN+US downloads, logit(s) = log(s_CN/s_US).
    cov : tuple of tuple of float
        Robust covariance of (a, b): sandwich with Newey-West meat (``cov_type``="hac") or the model-based one.
    se, z_values, p_values : tuple of float
        Standard errors, z statistics, two-sided normal p-values.
    n, n_missing : int
        Observed and missing periods.
    hac_lags : int or None
        Truncation lag (None for the model-based covariance).
    cov_type : str
        "hac" or "nonrobust".
    crossing_t : float
        ``-a / b``: the time at which the fitted share crosses one half (NaN if b = 0).
    """

    params: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    se: tuple[float, ...]
    z_values: tuple[float, ...]
    p_values: tuple[float, ...]
    n: int
    n_missing: int
    hac_lags: int | None
    cov_type: str
    crossing_t: float


def fit_fractional_logit(y, X, var_weights=None, cov_type: str = "hac", hac_lags: int | None = None,
                         positions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Binomial-logit quasi-likelihood fit of proportions (Papke and Wooldridge 1996) and its covariance.

    Parameters
    ----------
    y : array_like
        Proportions in [0, 1] (complete rows only).
    X : array_like
        Design matrix.
    var_weights : array_like, optional
        Prior weights (e.g. number of trials for grouped binomial data).
    cov_type : {"hac", "nonrobust"}
        "hac": sandwich ``H^-1 M H^-1`` with the Newey-West meat of the score contributions
        ``w_i x_i (y_i - mu_i)`` (no small-sample factor, as statsmodels' GLM ``cov_type="HAC"``);
        "nonrobust": ``H^-1`` (binomial variance, scale 1), as R's ``glm(family=binomial)``.
    hac_lags : int or None
        Truncation lag for "hac"; None = Newey-West default rule.
    positions : ndarray of int, optional
        Period index of each row (gaps allowed) for the HAC meat.

    Returns
    -------
    params : ndarray
    cov : ndarray
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    if np.any((y < 0) | (y > 1)):
        bad = int(np.flatnonzero((y < 0) | (y > 1))[0])
        raise ValueError(f"fractional logit needs proportions in [0, 1]; row {bad} has {y[bad]!r}.")
    w = np.ones(y.size) if var_weights is None else np.asarray(var_weights, dtype=float)
    model = sm.GLM(y, X, family=sm.families.Binomial(), var_weights=w)
    beta = np.asarray(model.fit(tol=1e-12, maxiter=200).params)
    mu = 1.0 / (1.0 + np.exp(-(X @ beta)))
    hessian = (X * (w * mu * (1 - mu))[:, None]).T @ X
    h_inv = np.linalg.inv(hessian)
    if cov_type == "nonrobust":
        return beta, h_inv
    if cov_type != "hac":
        raise ValueError(f"cov_type={cov_type!r}; expected 'hac' or 'nonrobust'.")
    lags = default_hac_lags(y.size) if hac_lags is None else int(hac_lags)
    scores = X * (w * (y - mu))[:, None]
    return beta, h_inv @ hac_meat(scores, positions, lags) @ h_inv


def fractional_logit_trend(share, t=None, hac_lags: int | None = None) -> FractionalLogitResult:
    """Fractional logit trend of a share, ``logit E[s_t] = a + b t``, with Newey-West covariance.

    Papke and Wooldridge (1996) show that the Bernoulli quasi-likelihood gives consistent estimates for a
    fractional response whatever its true variance; the binomial variance is certainly wrong for download
    shares (overdispersion, serial dependence), so only the robust (here HAC) covariance is used for inference.
    Applied to the CN share of CN+US downloads, ``logit(s) = log(s_CN/s_US)``, so this is the GLM companion of
    the OLS trend on the log ratio, and ``-a/b`` is the time at which the fitted share crosses one half.

    The quasi-likelihood makes no assumption about the distribution of the share beyond its mean, but it does
    assume that mean: ``logit E[s_t]`` linear in ``t`` (a logistic curve). The inference is classic Newey-West
    with the default lag and normal p-values, the kind the calibration study of :mod:`devtools.validate`
    found too narrow under autocorrelated errors (see ``fieller_nw`` in ``data/reference/calibration.json``), so
    its p-values overstate certainty; the fixed-b OLS trend on the log ratio is the study's inference.

    Parameters
    ----------
    share : array_like
        Proportions in [0, 1]; NaN = missing period.
    t : array_like, optional
        Time in periods; default 0..n-1.
    hac_lags : int or None
        Truncation lag; None = ``floor(4 (n/100)^(2/9))``.

    Returns
    -------
    FractionalLogitResult

    References
    ----------
    Papke, L. E., Wooldridge, J. M. (1996). Econometric methods for fractional response variables with an
    application to 401(k) plan participation rates. Journal of Applied Econometrics 11, 619-632.
    """
    share, t = _as_xt(share, t, name="share")
    obs = ~np.isnan(share)
    so, to = share[obs], t[obs]
    n = int(so.size)
    if n < 4:
        raise ValueError(f"a fractional logit trend needs at least 4 observed periods; got {n}.")
    lags = default_hac_lags(n) if hac_lags is None else int(hac_lags)
    X = np.column_stack([np.ones(n), to])
    beta, cov = fit_fractional_logit(so, X, cov_type="hac", hac_lags=lags, positions=_grid_positions(to))
    se = np.sqrt(np.diag(cov))
    z = beta / se
    p = 2 * stats.norm.sf(np.abs(z))
    crossing = float(-beta[0] / beta[1]) if beta[1] != 0 else float("nan")
    return FractionalLogitResult(params=tuple(float(v) for v in beta),
                                 cov=tuple(tuple(float(v) for v in row) for row in cov),
                                 se=tuple(float(v) for v in se), z_values=tuple(float(v) for v in z),
                                 p_values=tuple(float(v) for v in p), n=n, n_missing=int((~obs).sum()),
                                 hac_lags=lags, cov_type="hac", crossing_t=crossing)
