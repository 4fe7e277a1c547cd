"""When did the Chinese share overtake the US share? Point estimates and honest intervals.

The crossover is where the log ratio ``r_t = log(s_CN/s_US)`` crosses zero. With a linear trend
``r_t = a + b t + e_t`` it is the x-intercept ``t* = -a/b``, a ratio of estimated coefficients:

* :func:`crossing_fieller` inverts the t test of ``a + b t = 0`` (Fieller 1954). The set it returns can be a
  bounded interval, two rays or the whole line; which one is part of the result and is never hidden.
* :func:`trend_crossing` fits the trend and returns the Fieller and delta intervals with the study's inference:
  by default fixed-b (Kiefer, Vogelsang and Bunzel 2000; Kiefer and Vogelsang 2005), i.e. a Bartlett HAC
  covariance with a bandwidth of half the sample and critical values simulated on the observed design
  (:mod:`analysis.stats.fixedb`). Classic Newey-West with a few lags and t critical values under-covers with
  autocorrelated noise (``data/reference/calibration.json``); it stays available as ``inference="nw"``.
* :func:`crossing_delta` is the symmetric delta-method interval (secondary: it is always bounded, even when
  the data cannot exclude "never").
* :func:`crossing_block_bootstrap` resamples blocks of trend residuals (circular block bootstrap; block length
  ceil(n^(1/3)) for the studentized and twice Politis and White 2004 for the percentile method when not
  given) and reports the share of replicates whose trend never crosses. By
  default it is a bootstrap-t: the fixed-b studentized statistic's bootstrap quantile is the critical value of a
  Fieller set (Goncalves and Vogelsang 2011); the percentile interval remains as ``method="percentile"``.
* :func:`first_passage` is model-free: the first period in which CN is ahead for k consecutive periods on the
  observed series; :func:`first_passage_interval` turns a confidence set for the crossing into an interval for the
  first passage of the underlying shares.

All of these assume ONE STRAIGHT LINE over the window. The study's headline does not: see
:mod:`analysis.stats.local`.

``t`` is measured in periods since the first date of the series; callers convert it to dates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from arch.bootstrap import CircularBlockBootstrap
from arch.bootstrap import optimal_block_length as _arch_optimal_block_length
from scipy import stats

from .trend import _as_xt

KINDS = ("bounded", "unbounded", "two_rays", "empty")


def _critical(alpha: float, df: int | None) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must be between 0 and 1.")
    return float(stats.norm.ppf(1 - alpha / 2) if df is None else stats.t.ppf(1 - alpha / 2, df))


def _critical_source(alpha: float, df: int | None, critical) -> tuple[float | None, str]:
    """First critical value and its source label: ("t"|"normal"|"given"|"function")."""
    if critical is None:
        return _critical(alpha, df), ("normal" if df is None else "t")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must be between 0 and 1.")
    if callable(critical):
        return None, "function"
    c = float(critical)
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"critical={critical!r} must be a positive finite number or a function of t.")
    return c, "given"


def _cov2(cov) -> tuple[float, float, float]:
    c = np.asarray(cov, dtype=float)
    if c.shape != (2, 2):
        raise ValueError(f"cov must be the 2x2 covariance of (a, b); got shape {c.shape}.")
    if not np.allclose(c[0, 1], c[1, 0], rtol=1e-8, atol=1e-15):
        raise ValueError(f"cov is not symmetric: cov[0,1]={c[0, 1]!r}, cov[1,0]={c[1, 0]!r}.")
    return float(c[0, 0]), float(c[0, 1]), float(c[1, 1])


# ----------------------------------------------------------------------------------------------------------
# Fieller and delta
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FiellerResult:
    """Fieller confidence set for the zero crossing ``t* = -a/b`` of ``a + b t``.

    Attributes
    ----------
    estimate : float
        ``-a/b`` (NaN if b = 0).
    lower, upper : float
        Ends of the set's hull: finite for "bounded"; ``-inf``/``inf`` otherwise.
    kind : str
        "bounded" (slope significantly non-zero), "two_rays" (the set is ``(-inf, gap[0]] U [gap[1], inf)``),
        "unbounded" (the whole line or a single ray), or "empty" (numerically degenerate input).
    gap : tuple of float or None
        For "two_rays", the excluded interval ``(gap[0], gap[1])``; for a single ray, its finite end twice.
    g : float
        Fieller's ``g = c^2 Var(b) / b^2``; the set is bounded iff ``g < 1`` (b significant at level alpha).
    critical : float
        The critical value c (Student t with ``df``, standard normal, or as given, e.g. fixed-b).
    alpha : float
    df : int or None
    critical_source : str
        "t", "normal", "given" (a number passed in) or "function" (a function of t, e.g. the fixed-b critical
        value of the hypothesis "the trend is zero at t", taken at its largest over the set; see
        :func:`crossing_fieller`).
    """

    estimate: float
    lower: float
    upper: float
    kind: str
    gap: tuple[float, float] | None
    g: float
    critical: float
    alpha: float
    df: int | None
    critical_source: str = "t"


def crossing_fieller(a: float, b: float, cov, alpha: float = 0.05, df: int | None = None,
                     critical=None) -> FiellerResult:
    """Fieller (1954) confidence set for the x-intercept ``-a/b`` of a fitted line.

    The set is ``{t : (a + b t)^2 <= c^2 (V_aa + 2 t V_ab + t^2 V_bb)}``: all times at which the hypothesis
    "the trend is zero at t" is not rejected. It is the same algebra as inverse regression / calibration
    ("regulation" with the mean response, Graybill and Iyer 1994, ch. 6; R's investr::calibrate) with
    ``y0 = 0``. Unlike the delta method it is exact for normal estimates and admits unbounded sets, which is
    the honest answer when the slope is not clearly non-zero (Franz 2007).

    Parameters
    ----------
    a, b : float
        Intercept and slope.
    cov : array_like, shape (2, 2)
        Covariance of (a, b), e.g. the HAC covariance of :func:`analysis.stats.trend.ols_trend`.
    alpha : float
        1 - confidence level.
    df : int or None
        Degrees of freedom of the t critical value; None = normal. Ignored when ``critical`` is given.
    critical : float or callable or None
        Critical value to use instead of the t/normal quantile, e.g. a fixed-b critical value (Kiefer and
        Vogelsang 2005): the set is the same quadratic with ``c = critical``. A callable ``critical(t)`` gives
        the critical value of the hypothesis "a + b t = 0" (fixed-b quantiles depend on where t lies in the
        sample; :meth:`analysis.stats.fixedb.TrendNull.crossing_critical`). The set is then computed with c at
        the point estimate, and again with c raised to its largest value over that first set (on a grid of 41
        points, or the slope test's value and the gap ends when the set is unbounded). Using one, larger c for
        every t makes the result conservative: within the first set it contains every t that passes its own test
        (up to the grid, a superset of the exact inversion there), so some t in it may NOT pass their own test;
        a t outside the first set that would pass its own test is not guaranteed to be included.

    Returns
    -------
    FiellerResult

    References
    ----------
    Fieller, E. C. (1954). Some problems in interval estimation. JRSS B 16, 175-185.
    Graybill, F. A., Iyer, H. K. (1994). Regression Analysis: Concepts and Applications. Duxbury.
    Franz, V. H. (2007). Ratios: a short guide to confidence limits and proper use. arXiv:0710.2024.
    """
    a, b = float(a), float(b)
    vaa, vab, vbb = _cov2(cov)
    c, source = _critical_source(alpha, df, critical)
    if source == "function":
        est0 = -a / b if b != 0 else float("inf")
        c1 = float(critical(est0))
        first = _fieller_set(a, b, vaa, vab, vbb, c1, alpha, df)
        if first.kind == "bounded":
            grid = np.linspace(first.lower, first.upper, 41)
            c = max(c1, max(float(critical(g)) for g in grid))
        else:  # the set reaches infinity: include the slope test's value and the ends of any gap
            ends = [g for g in (first.gap or ()) if np.isfinite(g)]
            c = max([c1, float(critical(float("inf")))] + [float(critical(g)) for g in ends])
        res = _fieller_set(a, b, vaa, vab, vbb, c, alpha, None)
    else:
        res = _fieller_set(a, b, vaa, vab, vbb, c, alpha, df if source in ("t", "normal") else None)
    return FiellerResult(res.estimate, res.lower, res.upper, res.kind, res.gap, res.g, res.critical, alpha,
                         res.df, source)


def _fieller_set(a: float, b: float, vaa: float, vab: float, vbb: float, c: float, alpha: float,
                 df: int | None) -> FiellerResult:
    """The Fieller quadratic ``(a + b t)^2 <= c^2 (V_aa + 2 t V_ab + t^2 V_bb)`` solved for t."""
    c2 = c * c
    A = b * b - c2 * vbb
    B = 2.0 * (a * b - c2 * vab)
    C = a * a - c2 * vaa
    est = -a / b if b != 0 else float("nan")
    g = c2 * vbb / (b * b) if b != 0 else float("inf")
    disc = B * B - 4.0 * A * C
    inf = float("inf")
    scale = max(abs(A), abs(B), abs(C), 1e-300)
    if abs(A) <= 1e-14 * scale:  # degenerate: linear inequality B t + C <= 0
        if B == 0:
            nan = float("nan")
            kind, lo, hi, gap = ("unbounded", -inf, inf, None) if C <= 0 else ("empty", nan, nan, None)
        else:
            root = -C / B
            lo, hi = (-inf, root) if B > 0 else (root, inf)
            kind, gap = "unbounded", (root, root)
        return FiellerResult(est, lo, hi, kind, gap, g, c, alpha, df)
    if disc < 0:
        if A > 0:
            return FiellerResult(est, float("nan"), float("nan"), "empty", None, g, c, alpha, df)
        return FiellerResult(est, -inf, inf, "unbounded", None, g, c, alpha, df)
    sq = math.sqrt(disc)
    # numerically stable roots
    q = -0.5 * (B + math.copysign(sq, B))
    r1, r2 = (q / A, C / q) if q != 0 else (-B / (2 * A), -B / (2 * A))
    lo_root, hi_root = min(r1, r2), max(r1, r2)
    if A > 0:
        return FiellerResult(est, lo_root, hi_root, "bounded", None, g, c, alpha, df)
    return FiellerResult(est, -inf, inf, "two_rays", (lo_root, hi_root), g, c, alpha, df)


@dataclass(frozen=True)
class DeltaResult:
    """Delta-method interval for ``t* = -a/b``.

    Attributes
    ----------
    estimate, se, lower, upper : float
        ``-a/b``, its first-order standard error and ``estimate -/+ c se``.
    critical, alpha : float
    df : int or None
    """

    estimate: float
    se: float
    lower: float
    upper: float
    critical: float
    alpha: float
    df: int | None


def crossing_delta(a: float, b: float, cov, alpha: float = 0.05, df: int | None = None,
                   critical=None) -> DeltaResult:
    """Delta-method (first-order Taylor) interval for the x-intercept ``-a/b``.

    ``Var(-a/b) ~ (V_aa + 2 t* V_ab + t*^2 V_bb) / b^2``. Always symmetric and bounded, so it overstates
    precision when the slope is weak; reported as a secondary interval beside Fieller's (Hirschberg and Lye
    2010 compare the two).

    Parameters
    ----------
    a, b : float
        Intercept and slope.
    cov : array_like, shape (2, 2)
        Covariance of (a, b).
    alpha : float
        1 - confidence level.
    df : int or None
        Degrees of freedom for a t critical value; None = normal. Ignored when ``critical`` is given.
    critical : float or callable or None
        Critical value instead of the t/normal one (e.g. fixed-b); a callable is evaluated at the estimate.

    Returns
    -------
    DeltaResult

    References
    ----------
    Hirschberg, J., Lye, J. (2010). A geometric comparison of the delta and Fieller confidence intervals.
    The American Statistician 64, 234-241.
    """
    a, b = float(a), float(b)
    vaa, vab, vbb = _cov2(cov)
    c, source = _critical_source(alpha, df, critical)
    if source == "function":
        c = float(critical(-a / b if b != 0 else float("inf")))
    if source in ("function", "given"):
        df = None
    if b == 0:
        nan = float("nan")
        return DeltaResult(nan, nan, nan, nan, c, alpha, df)
    est = -a / b
    var = (vaa + 2 * est * vab + est * est * vbb) / (b * b)
    se = math.sqrt(max(var, 0.0))
    return DeltaResult(est, se, est - c * se, est + c * se, c, alpha, df)


# ----------------------------------------------------------------------------------------------------------
# block bootstrap
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockLengthResult:
    """Politis and White (2004) automatic block lengths (with the Patton, Politis and White 2009 correction).

    Attributes
    ----------
    stationary : float
        Expected block length for the stationary bootstrap.
    circular : float
        Block length for the circular block bootstrap.
    n : int
        Number of observations used (missing values dropped).
    """

    stationary: float
    circular: float
    n: int


def optimal_block_length(x) -> BlockLengthResult:
    """Automatic block length for block bootstraps, from ``arch.bootstrap.optimal_block_length``.

    Parameters
    ----------
    x : array_like
        Series (e.g. trend residuals); NaN values are dropped.

    Returns
    -------
    BlockLengthResult

    References
    ----------
    Politis, D. N., White, H. (2004). Automatic block-length selection for the dependent bootstrap.
    Econometric Reviews 23, 53-70.
    Patton, A., Politis, D. N., White, H. (2009). Correction to "Automatic block-length selection for the
    dependent bootstrap". Econometric Reviews 28, 372-375.
    """
    x = np.asarray(x, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if x.size < 8:
        raise ValueError(f"automatic block length needs at least 8 observed values; got {x.size}.")
    res = _arch_optimal_block_length(x)
    return BlockLengthResult(stationary=float(res["stationary"].iloc[0]), circular=float(res["circular"].iloc[0]),
                             n=int(x.size))


@dataclass(frozen=True)
class BootstrapCrossingResult:
    """Residual circular-block-bootstrap interval for the crossing ``-a/b``.

    Attributes
    ----------
    estimate : float
        ``-a/b`` from the original fit.
    lower, upper : float
        Ends of the interval (hull of the set for "two_rays"); ``inf``/``-inf`` when open.
    kind : str
        "bounded", "unbounded" or (studentized only) "two_rays", as for :class:`FiellerResult`.
    share_no_crossing : float
        Share of replicates whose slope has the opposite sign to (or equals zero, unlike) the original slope,
        so their trend never crosses in the same direction; counted as crossing at ``+inf``.
    median : float
        Median of the replicate crossings.
    block_length : int
        Block length used.
    block_rule : str
        "given", "n_cbrt" (``ceil(n ** (1/3))``, n = observed periods; the studentized default) or
        "politis_white_x2" (twice the Politis-White circular block length, rounded up; the percentile
        interval's rule), see :func:`crossing_block_bootstrap`.
    reps, seed : int
    alpha : float
    method : str
        "studentized" (bootstrap-t Fieller set) or "percentile".
    critical : float or None
        Studentized: the bootstrap critical value (``1 - alpha`` quantile of ``|t*|``).
    bandwidth_b : float or None
        Studentized: fixed-b bandwidth fraction of the HAC studentization.
    gap : tuple of float or None
        Studentized "two_rays": the excluded interval.
    """

    estimate: float
    lower: float
    upper: float
    kind: str
    share_no_crossing: float
    median: float
    block_length: int
    block_rule: str
    reps: int
    seed: int
    alpha: float
    method: str = "percentile"
    critical: float | None = None
    bandwidth_b: float | None = None
    gap: tuple[float, float] | None = None


BOOTSTRAP_METHODS = ("studentized", "percentile")


def crossing_block_bootstrap(y, t=None, block_length: int | None = None, reps: int = 2000, seed: int = 0,
                             alpha: float = 0.05, method: str = "studentized", bandwidth=0.5,
                             use_correction: bool = True) -> BootstrapCrossingResult:
    """Residual block bootstrap of the zero crossing of a linear trend.

    Fits ``y = a + b t`` by OLS, resamples the residuals (in time order, missing periods skipped) with the
    circular block bootstrap of Politis and Romano (1992), rebuilds ``y* = a + b t + e*`` on the observed
    periods and refits. Skipping the missing periods treats the observed residuals as contiguous: a block can
    run across a gap as if the periods on either side were neighbours (and the Politis-White length of the
    percentile method is computed on the residuals with the gaps dropped); the report's reading says so.
    Replicates whose slope does not have the sign of the original slope never cross in that direction; their
    share is reported (``share_no_crossing``).

    * ``method="studentized"`` (default): a bootstrap-t for the Fieller statistic. In every replicate the
      statistic ``(a* + b* t_hat) / se*(t_hat)`` (``t_hat = -a/b``, the crossing of the bootstrap world) is
      studentized with the same fixed-b Bartlett HAC estimator (bandwidth ``b`` of the sample) as the data;
      the ``1 - alpha`` quantile of its absolute value replaces the normal/t critical value in the Fieller set
      of the original fit. Studentizing with the fixed-b HAC estimator makes the naive block bootstrap mimic
      the fixed-b limit (Goncalves and Vogelsang 2011), and the blocks add the finite-sample effect of the
      dependence; the set can be bounded, two rays or the whole line, exactly as Fieller's.
    * ``method="percentile"``: percentile interval of the replicate crossings ``-a*/b*`` (never-crossing
      replicates counted at ``+inf``). It shares the downward bias of small-block variance estimates and
      under-covered in the simulation study; kept for comparison.

    Parameters
    ----------
    y : array_like
        Response, NaN = missing period.
    t : array_like, optional
        Time in periods; default 0..n-1.
    block_length : int or None
        Block length; None = the default rule of the method. Studentized: ``ceil(n ** (1/3))`` with ``n`` the
        observed periods (5 for n = 80-120; rule "n_cbrt"), the n^(1/3) rate of block lengths (Hall, Horowitz
        and Jing 1995). With fixed-b studentization the naive block bootstrap mimics the fixed-b limit of the
        statistic (Goncalves and Vogelsang 2011), so the block length is not what makes the studentization
        valid and need not be tuned to the long-run variance. In an exploratory comparison of block rules on
        straight-line truths (AR(1) 0.5 errors with a 4-period overlap) the Politis-White length (Politis and
        White 2004; Patton, Politis and White 2009), and longer blocks even more, made the interval under-cover,
        while ``ceil(n ** (1/3))`` came close to nominal; its coverage on straight and curved truths is recorded
        as ``bootstrap_studentized`` in ``data/reference/calibration.json``.
        Percentile: twice the Politis-White circular block length of the residuals, rounded up (capped at
        n/2; its coverage improves with longer blocks).
    reps : int
        Number of replicates.
    seed : int
        Seed of the resampling.
    alpha : float
        1 - confidence level.
    method : {"studentized", "percentile"}
        See above.
    bandwidth : float or str
        Studentized: fixed-b bandwidth ``b`` (or "llsw"), see :func:`analysis.stats.fixedb.bartlett_bandwidth`.
    use_correction : bool
        Studentized: apply n/(n-2) to the HAC variance (it cancels in the bootstrap-t; kept for clarity).

    Returns
    -------
    BootstrapCrossingResult

    References
    ----------
    Politis, D. N., Romano, J. P. (1992). A circular block-resampling procedure for stationary data. In
    Exploring the Limits of Bootstrap, Wiley, 263-270.
    Lahiri, S. N. (2003). Resampling Methods for Dependent Data. Springer.
    Hall, P., Horowitz, J. L., Jing, B.-Y. (1995). On blocking rules for the bootstrap with dependent data.
    Biometrika 82, 561-574.
    Politis, D. N., White, H. (2004). Automatic block-length selection for the dependent bootstrap.
    Econometric Reviews 23, 53-70.
    Patton, A., Politis, D. N., White, H. (2009). Correction to "Automatic block-length selection for the
    dependent bootstrap". Econometric Reviews 28, 372-375.
    Goncalves, S., Vogelsang, T. J. (2011). Block bootstrap HAC robust tests: the sophistication of the naive
    bootstrap. Econometric Theory 27, 745-791.
    """
    if reps < 10:
        raise ValueError(f"reps={reps} is too few for a percentile interval; use at least 10 (2000 recommended).")
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"method={method!r}; expected one of {BOOTSTRAP_METHODS}.")
    y, t = _as_xt(y, t, name="y")
    obs = ~np.isnan(y)
    yo, to = y[obs], t[obs]
    n = yo.size
    if n < 8:
        raise ValueError(f"the block bootstrap needs at least 8 observed periods; got {n}.")
    X = np.column_stack([np.ones(n), to])
    beta, *_ = np.linalg.lstsq(X, yo, rcond=None)
    fitted = X @ beta
    resid = yo - fitted
    if block_length is None:
        if method == "percentile":
            block = max(1, int(math.ceil(optimal_block_length(resid).circular)))
            block, rule = min(2 * block, n // 2), "politis_white_x2"
        else:
            block, rule = max(1, int(math.ceil(n ** (1 / 3)))), "n_cbrt"
    else:
        block, rule = int(block_length), "given"
        if block < 1:
            raise ValueError(f"block_length={block_length} must be >= 1 or None.")
    bs = CircularBlockBootstrap(block, resid, seed=np.random.default_rng(seed))
    E = np.empty((n, reps))
    for r, (data, _) in enumerate(bs.bootstrap(reps)):
        E[:, r] = data[0]
    Ystar = fitted[:, None] + E
    B, *_ = np.linalg.lstsq(X, Ystar, rcond=None)
    a_s, b_s = B[0], B[1]
    sign = np.sign(beta[1])
    crosses = np.sign(b_s) == sign
    if sign == 0:
        crosses[:] = False
    tstar = np.full(reps, np.inf)
    tstar[crosses] = -a_s[crosses] / b_s[crosses]
    srt = np.sort(tstar)
    est = float(-beta[0] / beta[1]) if beta[1] != 0 else float("nan")
    common = dict(estimate=est, share_no_crossing=float(1 - crosses.mean()), median=float(np.median(srt)),
                  block_length=block, block_rule=rule, reps=int(reps), seed=int(seed), alpha=alpha)
    if method == "percentile":
        lo_i = max(int(math.floor(alpha / 2 * reps)), 0)
        hi_i = min(int(math.ceil((1 - alpha / 2) * reps)) - 1, reps - 1)
        lower, upper = float(srt[lo_i]), float(srt[hi_i])
        kind = "bounded" if np.isfinite(lower) and np.isfinite(upper) else "unbounded"
        return BootstrapCrossingResult(lower=lower, upper=upper, kind=kind, method="percentile", **common)

    # studentized (bootstrap-t) Fieller set with fixed-b HAC studentization
    from .fixedb import bartlett_bandwidth, bartlett_weights
    from .trend import hac_meat

    pos = np.round(to - to[0])
    m, b_frac = bartlett_bandwidth(int(pos[-1]) + 1, bandwidth)
    xtx_inv = np.linalg.inv(X.T @ X)
    factor = n / (n - 2) if use_correction else 1.0
    cov = factor * xtx_inv @ hac_meat(X * resid[:, None], pos.astype(np.int64), m - 1) @ xtx_inv
    t_hat = est if np.isfinite(est) else float(to.mean())
    q = np.array([1.0, t_hat])
    h = X @ xtx_inv @ q
    K = bartlett_weights(pos, m)
    R = Ystar - X @ B
    W = h[:, None] * R
    var_s = factor * np.sum(W * (K @ W), axis=0)
    num_s = q @ (B - beta[:, None])
    stat = np.abs(num_s) / np.sqrt(np.maximum(var_s, 1e-300))
    c_boot = float(np.quantile(stat, 1 - alpha))
    f = crossing_fieller(beta[0], beta[1], cov, alpha=alpha, critical=c_boot)
    return BootstrapCrossingResult(lower=f.lower, upper=f.upper, kind=f.kind, method="studentized",
                                   critical=c_boot, bandwidth_b=b_frac, gap=f.gap, **common)


# ----------------------------------------------------------------------------------------------------------
# first passage
# ----------------------------------------------------------------------------------------------------------
def first_run_start(ahead: np.ndarray, k: int) -> int | None:
    """Index of the first period that starts a run of ``k`` consecutive True values (None if none).

    Parameters
    ----------
    ahead : ndarray of bool
        One value per period on the full grid; a missing period must be passed as False (it breaks a run).
    k : int
        Run length, >= 1.
    """
    run = 0
    for i, v in enumerate(ahead):
        run = run + 1 if v else 0
        if run >= k:
            return i - k + 1
    return None


def _first_run_starts(ahead: np.ndarray, k: int) -> np.ndarray:
    """Vectorised :func:`first_run_start` over the rows of a 2-D boolean array; -1 where there is no run."""
    reps, n = ahead.shape
    run = np.zeros(reps, dtype=np.int64)
    out = np.full(reps, -1, dtype=np.int64)
    for i in range(n):
        run = np.where(ahead[:, i], run + 1, 0)
        hit = (run >= k) & (out < 0)
        out[hit] = i - k + 1
    return out


@dataclass(frozen=True)
class FirstPassageResult:
    """Empirical first passage of CN ahead of US for ``k`` consecutive periods, and an interval for the underlying one.

    Attributes
    ----------
    k : int
        Required run length.
    index : int or None
        0-based grid position of the first period of the first run of ``k`` observed periods with
        ``diff > 0`` (None = no such run in the sample). Missing periods break a run. A fact about this noisy
        sample, not an estimate with a known error.
    lower_index, upper_index : int or None
        Interval for the first passage of the UNDERLYING (noise-free) shares: the grid positions of the first period
        at or after each end of a confidence set for the crossing (see :func:`first_passage_interval`); None on an
        open side.
    interval_source : str
        Where the interval comes from ("" when there is none).
    n_periods : int
        Length of the grid.
    """

    k: int
    index: int | None
    lower_index: int | None
    upper_index: int | None
    interval_source: str
    n_periods: int


def first_passage(diff, k: int = 3) -> FirstPassageResult:
    """First period from which CN is ahead of the US for ``k`` consecutive periods, on the observed series.

    A model-free description of the sample. Its uncertainty as an estimate of when the underlying shares passed is
    not computed here: :func:`first_passage_interval` derives an interval from a confidence set for the crossing.
    (A local-linear-trend state-space interval was used before; on overlapping 30-day counts its fitted
    observation variance collapsed to zero, so its draws reproduced the data and it covered the true passage in
    far fewer than 95% of simulated series. It was dropped.)

    Parameters
    ----------
    diff : array_like
        ``share_CN - share_US`` on the full period grid; NaN = missing period.
    k : int
        Consecutive periods required (3 by default).

    Returns
    -------
    FirstPassageResult
    """
    if k < 1:
        raise ValueError(f"k={k} must be >= 1.")
    d = np.asarray(diff, dtype=float).ravel()
    if np.sum(~np.isnan(d)) < 4:
        raise ValueError(f"first_passage needs at least 4 observed periods; got {int(np.sum(~np.isnan(d)))}.")
    index = first_run_start(np.nan_to_num(d, nan=-np.inf) > 0, k)
    return FirstPassageResult(k=int(k), index=index, lower_index=None, upper_index=None, interval_source="",
                              n_periods=int(d.size))


def first_passage_interval(fp: FirstPassageResult, t, lower: float, upper: float,
                           source: str) -> FirstPassageResult:
    """Attach an interval for the underlying first passage: the grid periods at or after the ends of a crossing set.

    For a path that stays ahead once it has crossed, the first passage of the noise-free shares is the first period
    at or after the crossing, so a confidence set ``[lower, upper]`` for the crossing gives the periods
    ``[first t >= lower, first t >= upper]``. Infinite or NaN ends leave that side open (None).

    Parameters
    ----------
    fp : FirstPassageResult
    t : array_like
        Times of the grid (periods).
    lower, upper : float
        Ends of the crossing set (its hull).
    source : str
        Where the set comes from, in words.

    Returns
    -------
    FirstPassageResult
    """
    t = np.asarray(t, dtype=float)

    def at_or_after(v: float) -> int | None:
        if not math.isfinite(v):
            return None
        i = int(np.searchsorted(t, v - 1e-9))
        return i if i < t.size else None

    lo = at_or_after(lower) if math.isfinite(lower) else None
    hi = at_or_after(upper) if math.isfinite(upper) else None
    return FirstPassageResult(k=fp.k, index=fp.index, lower_index=lo, upper_index=hi, interval_source=source,
                              n_periods=fp.n_periods)


# ----------------------------------------------------------------------------------------------------------
# the trend crossing with its inference in one call
# ----------------------------------------------------------------------------------------------------------
#: Default inference of the crossover intervals, chosen by the calibration study (devtools.validate).
DEFAULT_INFERENCE = "fixed_b"
#: Default fixed-b bandwidth fraction b = M/T of the Bartlett kernel (see devtools.validate).
DEFAULT_BANDWIDTH = 0.5
#: Default errors of the simulated fixed-b null (see analysis.stats.fixedb.null_phi).
DEFAULT_NULL = "lrv"


@dataclass(frozen=True)
class TrendCrossingResult:
    """Fieller and delta intervals for the zero crossing of a linear trend, with the inference that made them.

    Attributes
    ----------
    fit : OLSTrendResult
        The trend fit (its covariance is the Bartlett HAC covariance with the bandwidth below).
    fieller : FiellerResult
    delta : DeltaResult
    inference : str
        "fixed_b" or "nw".
    bandwidth_b : float or None
        Fixed-b bandwidth fraction ``M/T``.
    bandwidth_periods : int
        Bartlett bandwidth M in periods (Newey-West lags + 1).
    critical : float
        Critical value used by the Fieller set.
    critical_slope : float
        Critical value of the slope's t test under the same inference.
    critical_source : str
        Where the critical values come from, in words.
    """

    fit: object
    fieller: FiellerResult
    delta: DeltaResult
    inference: str
    bandwidth_b: float | None
    bandwidth_periods: int
    critical: float
    critical_slope: float
    critical_source: str

    def inference_summary(self) -> dict:
        """Plain dict of the inference settings (the "inference" block of crossover.json)."""
        return {"method": self.inference, "kernel": "bartlett", "bandwidth_b": self.bandwidth_b,
                "bandwidth_periods": self.bandwidth_periods, "hac_lags": self.fit.hac_lags,
                "critical_value": self.critical, "critical_value_slope": self.critical_slope,
                "critical_value_source": self.critical_source, "null": self.fit.null,
                "null_ar1_coefficient": self.fit.null_phi, "prewhite": bool(self.fit.prewhite),
                "small_sample_factor": bool(self.fit.use_correction)}


def trend_crossing(y, t=None, *, alpha: float = 0.05, inference: str = DEFAULT_INFERENCE, bandwidth=None,
                   hac_lags: int | None = None, prewhite: bool = False,
                   null: str = DEFAULT_NULL, null_reps: int | None = None) -> TrendCrossingResult:
    """Fit the trend of ``y`` and return the Fieller and delta intervals of its zero crossing.

    Parameters
    ----------
    y : array_like
        Response (the log ratio), NaN = missing period.
    t : array_like, optional
        Time in periods; default 0..n-1.
    alpha : float
        1 - confidence level.
    inference : {"fixed_b", "nw"}
        "fixed_b" (default): Bartlett HAC with bandwidth ``b`` of the sample and critical values from the fixed-b
        null distribution simulated on the observed design (Kiefer and Vogelsang 2005; see
        :mod:`analysis.stats.fixedb`); the Fieller critical value depends on where the crossing lies and is
        taken at its largest over the set. "nw": Newey-West with ``hac_lags`` (default rule) and Student t
        with n - 2 df (the pre-calibration specification; under-covers with autocorrelated errors).
    bandwidth : float or str or None
        Fixed-b ``b`` in (0, 1] or "llsw"; None = :data:`DEFAULT_BANDWIDTH`.
    hac_lags : int or None
        Newey-West lag for "nw".
    prewhite : bool
        VAR(1) prewhitening (only with "nw").
    null : {"lrv", "ar1", "iid"}
        Errors of the simulated fixed-b null (:func:`analysis.stats.fixedb.null_phi`): "lrv" (default) = AR(1)
        matched to the residuals' ratio of kernel-weighted to plain sum of squares, a parametric bootstrap of the
        fixed-b statistic that also corrects the finite-sample under-coverage of pure fixed-b critical values
        under strong autocorrelation; "ar1" = AR(1) with the lag-1 autocorrelation (conservative when the
        autocorrelation decays faster than an AR(1)'s); "iid" = the Kiefer-Vogelsang fixed-b null on the design.
    null_reps : int or None
        Draws of the simulated null (None = :data:`analysis.stats.fixedb.DEFAULT_NULL_REPS`; fewer only for
        quick checks).

    Returns
    -------
    TrendCrossingResult

    References
    ----------
    Kiefer, N. M., Vogelsang, T. J. (2005). Econometric Theory 21, 1130-1164.
    Goncalves, S., Vogelsang, T. J. (2011). Block bootstrap HAC robust tests: the sophistication of the naive
    bootstrap. Econometric Theory 27, 745-791.
    Buhlmann, P. (1997). Sieve bootstrap for time series. Bernoulli 3, 123-148.
    """
    from .fixedb import DEFAULT_NULL_REPS, trend_null
    from .trend import ols_trend

    if inference == "fixed_b":
        bw = DEFAULT_BANDWIDTH if bandwidth is None else bandwidth
        reps = DEFAULT_NULL_REPS if null_reps is None else int(null_reps)
        fit = ols_trend(y, t, inference="fixed_b", bandwidth=bw, null=null, null_reps=reps)
        yy, tt = _as_xt(y, t, name="y")
        dist = trend_null(tt[~np.isnan(yy)], fit.hac_lags + 1, use_correction=fit.use_correction,
                          phi=fit.null_phi, reps=reps)
        a, b = fit.params

        def crit(t0: float) -> float:
            return dist.crossing_critical(t0, alpha)

        fie = crossing_fieller(a, b, fit.cov, alpha=alpha, critical=crit)
        dlt = crossing_delta(a, b, fit.cov, alpha=alpha, critical=crit)
        c_slope = dist.critical(0.0, 1.0, alpha)
        how = {"lrv": "matched to the residuals' long-run to short-run variance ratio",
               "ar1": "the residuals' lag-1 autocorrelation", "iid": ""}[fit.null]
        errors = ("iid normal errors" if fit.null_phi == 0 else
                  f"AR(1) errors with coefficient {fit.null_phi:.2f} ({how})")
        source = (f"fixed-b null of the t statistic simulated on the observed periods with {errors} "
                  f"({reps} draws, Bartlett kernel, b = {fit.bandwidth_b:.3f}); largest value over "
                  "the Fieller set")
        return TrendCrossingResult(fit, fie, dlt, "fixed_b", fit.bandwidth_b, fit.hac_lags + 1, fie.critical,
                                   c_slope, source)
    if inference != "nw":
        raise ValueError(f"inference={inference!r}; expected 'fixed_b' or 'nw'.")
    fit = ols_trend(y, t, hac_lags=hac_lags, prewhite=prewhite, inference="nw")
    a, b = fit.params
    fie = crossing_fieller(a, b, fit.cov, alpha=alpha, df=fit.df_resid)
    dlt = crossing_delta(a, b, fit.cov, alpha=alpha, df=fit.df_resid)
    return TrendCrossingResult(fit, fie, dlt, "nw", None, fit.hac_lags + 1, fie.critical, fie.critical,
                               f"Student t with {fit.df_resid} df")
