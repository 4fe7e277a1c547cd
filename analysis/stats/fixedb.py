"""Fixed-b inference for Bartlett-kernel (Newey-West) t statistics.

Why
---
A Newey-West standard error with a small bandwidth (the textbook ``floor(4 (n/100)^(2/9))`` lags) and a
normal or Student t critical value rejects too often when the errors are autocorrelated (the simulation study,
``python -m devtools.validate --preset calibration``, records the coverage of both kinds of straight-line
crossover sets in ``data/reference/calibration.json``). Kiefer, Vogelsang and Bunzel (2000) and Kiefer and
Vogelsang (2005) treat the bandwidth as a fixed fraction ``b = M/T`` of the sample. The t statistic then has a
non-normal limit that depends on ``b`` and the kernel, and which accounts for the randomness of the HAC
estimate; using its quantiles (with a larger bandwidth, e.g. b = 0.3 to 1) brings the size close to nominal
when the truth is a straight line, though not all the way under strong persistence. These are the straight-line
methods; the study's headline crossover does not assume a straight line (:mod:`analysis.stats.local`).

What is here
------------
* :func:`kv_bartlett_critical_value`: the cubic approximation in ``b`` of Kiefer and Vogelsang (2005) to the
  fixed-b quantiles for the Bartlett kernel. It holds for a mean or stationary regressors, i.e. for
  ``W(1) / sqrt(Q(b))`` with a Brownian bridge in ``Q(b)``.
* :func:`fixed_b_limit_quantile`: a Monte Carlo of the fixed-b limit (partial sums of ``T`` iid normals), for the
  mean (to check the published cubic) or for a linear trend, whose limit differs: the residual process of a
  trend regression is a detrended bridge, so the quantiles are larger (Bunzel and Vogelsang 2005).
* :func:`trend_null`: the null distribution, on the study's own design, of the t statistic of any linear
  combination ``q0 a + q1 b`` of the intercept and slope of a linear trend (the crossover at ``t0`` is the
  combination ``a + b t0 = 0``). It is simulated with iid normal errors on the observed periods (gaps included),
  with exactly the HAC estimator used on the data, so it is the finite-sample version of the fixed-b limit for
  the design at hand. The distribution depends on where ``t0`` lies in the sample; this is why the crossover
  uses it rather than the cubic.

Convention: the Bartlett bandwidth ``M`` gives the weights ``1 - j/M`` for ``j < M`` (Kiefer and Vogelsang's
``k(j/M)``), i.e. Newey-West with ``M - 1`` lags; ``b = M / T`` with T the number of periods spanned.

References
----------
Kiefer, N. M., Vogelsang, T. J., Bunzel, H. (2000). Simple robust testing of regression hypotheses.
Econometrica 68, 695-714.
Kiefer, N. M., Vogelsang, T. J. (2005). A new asymptotic theory for heteroskedasticity-autocorrelation robust
tests. Econometric Theory 21, 1130-1164.
Bunzel, H., Vogelsang, T. J. (2005). Powerful trend function tests that are robust to strong serial
correlation, with an application to the Prebisch-Singer hypothesis. JBES 23, 381-394.
Lazarus, E., Lewis, D. J., Stock, J. H., Watson, M. W. (2018). HAR inference: recommendations for practice.
JBES 36, 541-559.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Kiefer and Vogelsang (2005), cubic fit of the fixed-b quantiles of the t statistic for the Bartlett kernel:
#: ``cv(b) = c0 + c1 b + c2 b^2 + c3 b^3``, keyed by the quantile (0.975 for a two-sided 5% test, 0.95 for a
#: two-sided 10% test). Coefficients as printed in KV (2005) (also reprinted in R code for fixed-b
#: Diebold-Mariano tests, e.g. Minchul Shin's forecast-comparison functions). Checked against our own Monte Carlo
#: of the limit in tests/test_stats_fixedb.py.
KV2005_BARTLETT = {
    0.975: (1.9600, 2.9694, 0.4160, -0.5324),
    0.95: (1.6449, 2.1859, 0.3142, -0.3427),
}

#: Simulated null draws used by :func:`trend_null` unless told otherwise (quantile error about 0.01-0.03).
DEFAULT_NULL_REPS = 20000
#: Seed of those draws (fixed so that results are reproducible).
DEFAULT_NULL_SEED = 20050101


def kv_bartlett_critical_value(b: float, alpha: float = 0.05) -> float:
    """Fixed-b two-sided critical value for the Bartlett kernel, Kiefer and Vogelsang (2005) cubic in ``b``.

    Valid for the t statistic of a mean or of a coefficient on stationary regressors (not for a trend slope;
    see :func:`fixed_b_limit_quantile` and :func:`trend_null`).

    Parameters
    ----------
    b : float
        Bandwidth as a fraction of the sample, ``0 < b <= 1``.
    alpha : {0.05, 0.10}
        Two-sided level; the cubic is published for the 0.975 and 0.95 quantiles.

    Returns
    -------
    float
        ``cv(b)``; at b -> 0 it is the normal quantile.
    """
    q = round(1 - alpha / 2, 6)
    if q not in KV2005_BARTLETT:
        raise ValueError(f"alpha={alpha}: Kiefer and Vogelsang's cubic is tabulated for alpha 0.05 and 0.10 only; "
                         "use fixed_b_limit_quantile for other levels.")
    if not 0 < b <= 1:
        raise ValueError(f"b={b} must lie in (0, 1] (bandwidth as a fraction of the sample).")
    c0, c1, c2, c3 = KV2005_BARTLETT[q]
    return c0 + c1 * b + c2 * b * b + c3 * b ** 3


def bartlett_bandwidth(n_span: int, bandwidth) -> tuple[int, float]:
    """Bartlett bandwidth ``M`` (in periods) and ``b = M / n_span`` from a rule or a fraction.

    Parameters
    ----------
    n_span : int
        Number of periods spanned by the sample (first to last observed period, gaps included).
    bandwidth : float or str
        ``b`` in (0, 1] (M = round(b n_span), at least 2), or "llsw" for ``M = ceil(1.3 sqrt(n_span))``
        (Lazarus, Lewis, Stock and Watson 2018, their rule for the Bartlett kernel with fixed-b critical values).

    Returns
    -------
    tuple of (int, float)
        ``(M, b)``.
    """
    if n_span < 3:
        raise ValueError(f"fixed-b inference needs at least 3 periods; got {n_span}.")
    if isinstance(bandwidth, str):
        if bandwidth != "llsw":
            raise ValueError(f"bandwidth={bandwidth!r}; expected a fraction b in (0, 1] or 'llsw'.")
        m = int(math.ceil(1.3 * math.sqrt(n_span)))
    else:
        b = float(bandwidth)
        if not 0 < b <= 1:
            raise ValueError(f"bandwidth={bandwidth!r} must be a fraction b in (0, 1] of the sample, or 'llsw'.")
        m = int(round(b * n_span))
    m = min(max(m, 2), n_span)
    return m, m / n_span


def bartlett_weights(positions: np.ndarray, m: int) -> np.ndarray:
    """Matrix ``K[i, j] = max(0, 1 - |p_i - p_j| / M)`` of Bartlett weights between observed periods."""
    p = np.asarray(positions, dtype=float)
    return np.clip(1.0 - np.abs(p[:, None] - p[None, :]) / float(m), 0.0, None)


@dataclass(frozen=True)
class TrendNull:
    """Simulated null distribution of HAC t statistics for ``q0 a + q1 b`` in ``y = a + b t + e``.

    For each of ``reps`` iid normal error vectors on the design, the numerator ``q'(beta_hat - beta)`` and the
    HAC variance ``q' V q`` are bilinear in ``q``: ``num = q0 n0 + q1 n1`` and
    ``var = q0^2 v00 + 2 q0 q1 v01 + q1^2 v11``. Storing the five arrays gives the statistic for every ``q``.

    Attributes
    ----------
    t : tuple of float
        Observed times of the design.
    m : int
        Bartlett bandwidth (periods).
    b : float
        ``m`` over the periods spanned.
    use_correction : bool
        Whether the HAC covariance carries the factor n/(n-2) (as the data's does).
    reps, seed : int
    n0, n1, v00, v01, v11 : ndarray
        The simulated bilinear pieces (not written to JSON).
    """

    t: tuple
    m: int
    b: float
    use_correction: bool
    reps: int
    seed: int
    n0: np.ndarray
    n1: np.ndarray
    v00: np.ndarray
    v01: np.ndarray
    v11: np.ndarray

    def statistics(self, q0: float, q1: float) -> np.ndarray:
        """Simulated null t statistics of ``q0 a + q1 b``."""
        var = q0 * q0 * self.v00 + 2 * q0 * q1 * self.v01 + q1 * q1 * self.v11
        return (q0 * self.n0 + q1 * self.n1) / np.sqrt(np.maximum(var, 1e-300))

    def critical(self, q0: float, q1: float, alpha: float = 0.05) -> float:
        """Two-sided critical value: the ``1 - alpha`` quantile of ``|t|`` for ``q0 a + q1 b``."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha={alpha} must be between 0 and 1.")
        return float(np.quantile(np.abs(self.statistics(q0, q1)), 1 - alpha))

    def p_value(self, q0: float, q1: float, stat: float) -> float:
        """Two-sided p-value of an observed t statistic ``stat`` (share of draws with ``|t| >= |stat|``)."""
        s = np.abs(self.statistics(q0, q1))
        return float((np.sum(s >= abs(stat)) + 1) / (s.size + 1))

    def crossing_critical(self, t0: float, alpha: float = 0.05) -> float:
        """Critical value for the hypothesis ``a + b t0 = 0`` (the trend crosses zero at ``t0``).

        ``t0`` far outside the sample tends to the slope test's critical value; it is evaluated as given.
        """
        if not np.isfinite(t0):
            return self.critical(0.0, 1.0, alpha)
        return self.critical(1.0, float(t0), alpha)


def _ar1_errors(rng: np.random.Generator, pos: np.ndarray, phi: float, reps: int) -> np.ndarray:
    """Stationary AR(1) errors with unit innovation variance on the period grid, kept at ``pos``."""
    span = int(pos[-1]) + 1
    z = rng.standard_normal((span, reps))
    u = np.empty_like(z)
    u[0] = z[0] / math.sqrt(1 - phi * phi)
    for i in range(1, span):
        u[i] = phi * u[i - 1] + z[i]
    return u[pos.astype(np.int64)]


def _simulate_trend_null(t: np.ndarray, m: int, use_correction: bool, reps: int, seed: int,
                         phi: float = 0.0) -> tuple:
    t = np.asarray(t, dtype=float)
    n = t.size
    pos = np.round(t - t[0])
    X = np.column_stack([np.ones(n), t])
    xtx_inv = np.linalg.inv(X.T @ X)
    H = X @ xtx_inv  # row i: (X'X)^-1 x_i
    K = bartlett_weights(pos, m)
    rng = np.random.default_rng(seed)
    n0, n1 = np.empty(reps), np.empty(reps)
    v00, v01, v11 = np.empty(reps), np.empty(reps), np.empty(reps)
    factor = n / (n - 2) if use_correction else 1.0
    chunk = 5000
    for s in range(0, reps, chunk):
        r = min(chunk, reps - s)
        U = rng.standard_normal((n, r)) if phi == 0 else _ar1_errors(rng, pos, phi, r)
        E = U - X @ (xtx_inv @ (X.T @ U))
        W0, W1 = H[:, [0]] * E, H[:, [1]] * E
        KW0, KW1 = K @ W0, K @ W1
        n0[s:s + r], n1[s:s + r] = H[:, 0] @ U, H[:, 1] @ U
        v00[s:s + r] = factor * np.sum(W0 * KW0, axis=0)
        v01[s:s + r] = factor * np.sum(W0 * KW1, axis=0)
        v11[s:s + r] = factor * np.sum(W1 * KW1, axis=0)
    return n0, n1, v00, v01, v11


@lru_cache(maxsize=256)
def _cached_trend_null(t: tuple, m: int, use_correction: bool, reps: int, seed: int, phi: float = 0.0) -> TrendNull:
    pieces = _simulate_trend_null(np.asarray(t), m, use_correction, reps, seed, phi)
    span = int(round(t[-1] - t[0])) + 1
    return TrendNull(t, m, m / span, use_correction, reps, seed, *pieces)


def trend_null(t, m: int, use_correction: bool = True, reps: int = DEFAULT_NULL_REPS,
               seed: int = DEFAULT_NULL_SEED, phi: float = 0.0) -> TrendNull:
    """Null distribution of fixed-b t statistics for a linear trend on the observed times ``t``.

    With ``phi = 0`` the errors are iid standard normal: the fixed-b limit does not depend on the errors'
    autocorrelation, only on the kernel, the bandwidth fraction and the design, so this is the finite-sample
    version of the Kiefer-Vogelsang limit for the design. With ``phi > 0`` the errors are a stationary AR(1)
    with that coefficient: a parametric (AR(1) sieve) bootstrap of the fixed-b statistic, which also carries
    the finite-sample distortion that strong autocorrelation causes and the limit ignores (see
    :func:`null_phi`). Results are cached per design.

    Parameters
    ----------
    t : array_like
        Times of the observed periods (integers on the period grid; gaps allowed).
    m : int
        Bartlett bandwidth in periods (weights ``1 - j/m``).
    use_correction : bool
        Apply the factor n/(n-2) as the data's covariance does.
    reps : int
        Simulated draws.
    seed : int
        Seed of the draws.
    phi : float
        AR(1) coefficient of the simulated errors in [0, 1) (0 = iid); see :func:`null_phi`.

    Returns
    -------
    TrendNull
    """
    t = tuple(float(v) for v in np.asarray(t, dtype=float).ravel())
    if len(t) < 4:
        raise ValueError(f"the fixed-b trend null needs at least 4 observed periods; got {len(t)}.")
    if reps < 1000:
        raise ValueError(f"reps={reps} is too few for a tail quantile; use at least 1000.")
    phi = round(float(phi), 4)
    if not 0 <= phi < 1:
        raise ValueError(f"phi={phi} must lie in [0, 1).")
    return _cached_trend_null(t, int(m), bool(use_correction), int(reps), int(seed), phi)


NULLS = ("lrv", "ar1", "iid")
#: Grid of AR(1) coefficients of the simulated nulls (coefficients are rounded to it, so nulls can be cached).
PHI_GRID = np.round(np.arange(0.0, 0.951, 0.02), 2)


@lru_cache(maxsize=64)
def _kernel_ratio_curve(t: tuple, m: int) -> np.ndarray:
    """Expected ``e'Ke / e'e`` of trend residuals under AR(1) errors, for each coefficient of :data:`PHI_GRID`.

    With ``M`` the residual maker of ``[1, t]``, ``Sigma`` the AR(1) correlation matrix and ``K`` the Bartlett
    weights: ``tr(M K M Sigma) / tr(M Sigma M)`` (ratio of expectations), exact for the design.
    """
    to = np.asarray(t, dtype=float)
    n = to.size
    pos = to - to[0]
    X = np.column_stack([np.ones(n), to])
    M = np.eye(n) - X @ np.linalg.inv(X.T @ X) @ X.T
    MKM = M @ bartlett_weights(pos, m) @ M
    D = np.abs(pos[:, None] - pos[None, :])
    out = np.empty(PHI_GRID.size)
    for i, r in enumerate(PHI_GRID):
        S = r ** D
        out[i] = np.sum(MKM * S) / np.sum(M * S)  # tr(MKM S) / tr(M S M), M symmetric idempotent
    return out


def null_phi(resid, t, null: str = "lrv", m: int | None = None) -> float:
    """AR(1) coefficient of the errors of the simulated null (:func:`trend_null`) for the chosen ``null``.

    * "iid": 0, the Kiefer-Vogelsang fixed-b null on the design.
    * "lrv" (the study's default): the AR(1) whose expected ratio ``e'Ke / e'e`` of kernel-weighted to plain
      sum of squares of the trend residuals (K = Bartlett weights with bandwidth ``m``) equals the observed
      one. The ratio measures the persistence at the scale the HAC estimator sees, and its expectation is
      computed exactly for the design (detrending and kernel bias included), so the AR(1) matches the data's
      long-run to short-run variance ratio rather than only its first autocorrelation. A method-of-moments
      AR(1) sieve for the parametric bootstrap of the fixed-b statistic.
    * "ar1": the lag-1 autocorrelation of the residuals (pairs exactly one period apart). For series whose
      autocorrelation decays faster than an AR(1)'s (overlapping 30-day windows sampled weekly) it overstates
      the persistence, so its intervals are conservative (over-cover) in the calibration study.

    The coefficient is clipped to [0, 0.95] and rounded to the grid :data:`PHI_GRID` (steps of 0.02).

    Parameters
    ----------
    resid : array_like
        Residuals of the trend fit at the observed periods.
    t : array_like
        Their times (periods).
    null : {"lrv", "ar1", "iid"}
    m : int, optional
        Bartlett bandwidth (periods); required for "lrv".

    Returns
    -------
    float
    """
    if null not in NULLS:
        raise ValueError(f"null={null!r}; expected one of {NULLS}.")
    if null == "iid":
        return 0.0
    e = np.asarray(resid, dtype=float)
    t = np.asarray(t, dtype=float)
    if null == "ar1":
        pair = np.diff(t) == 1
        den = float(np.sum(e[:-1][pair] ** 2))
        if pair.sum() < 3 or den <= 0:
            return 0.0
        rho = float(np.sum(e[1:][pair] * e[:-1][pair])) / den
    else:
        if m is None:
            raise ValueError("null='lrv' needs the Bartlett bandwidth m.")
        ratio = float(e @ bartlett_weights(t - t[0], m) @ e) / float(e @ e)
        curve = _kernel_ratio_curve(tuple(float(v) for v in t), int(m))
        # the curve increases with the coefficient; below its start the data look less persistent than iid
        rho = 0.0 if ratio <= curve[0] else float(np.interp(ratio, curve, PHI_GRID))
    rho = min(max(rho, 0.0), float(PHI_GRID[-1]))
    return float(PHI_GRID[int(np.argmin(np.abs(PHI_GRID - rho)))])


def fixed_b_limit_quantile(b: float, alpha: float = 0.05, model: str = "mean", n: int = 1000, reps: int = 20000,
                           seed: int = 1) -> float:
    """Monte Carlo ``1 - alpha`` quantile of ``|t|`` under the fixed-b limit (Bartlett kernel, ``M = b n``).

    The Brownian motions of the limit are approximated by partial sums of ``n`` iid normals (as Kiefer and
    Vogelsang 2005 do with n = 1000).

    Parameters
    ----------
    b : float
        Bandwidth fraction in (0, 1].
    alpha : float
        Two-sided level.
    model : {"mean", "trend_slope"}
        The t statistic of a mean (the case of KV's cubic) or of the slope of a linear trend.
    n : int
        Steps of the discretised Brownian motion.
    reps : int
        Draws.
    seed : int
        Seed.

    Returns
    -------
    float
    """
    if model not in ("mean", "trend_slope"):
        raise ValueError(f"model={model!r}; expected 'mean' or 'trend_slope'.")
    m, _ = bartlett_bandwidth(n, b)
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    K = bartlett_weights(t, m)
    stats_ = []
    for s in range(0, reps, 2000):
        r = min(2000, reps - s)
        U = rng.standard_normal((n, r))
        if model == "mean":
            num = U.sum(axis=0) / n
            E = U - U.mean(axis=0)
            h = np.full(n, 1.0 / n)
        else:
            X = np.column_stack([np.ones(n), t])
            xtx_inv = np.linalg.inv(X.T @ X)
            h = (X @ xtx_inv)[:, 1]
            num = h @ U
            E = U - X @ (xtx_inv @ (X.T @ U))
        W = h[:, None] * E
        var = np.sum(W * (K @ W), axis=0)
        stats_.append(num / np.sqrt(var))
    return float(np.quantile(np.abs(np.concatenate(stats_)), 1 - alpha))
