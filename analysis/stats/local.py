"""The crossover without a straight line: invert a local-linear test of "the log ratio is zero at t0".

The estimand is the date at which the noise-free log ratio of the measure, ``mu(t) = E log(s_CN / s_US)``,
crosses zero. No global shape is assumed: near any time ``t0``, ``mu`` is approximated by a line fitted with
triangular kernel weights that vanish ``h`` periods away (local-linear regression; Fan and Gijbels 1996), so a
release jump, an S-curve or saturation far from ``t0`` does not move the answer there.

The confidence set is the set of times at which the hypothesis ``mu(t0) = 0`` is not rejected (test inversion, as
Fieller's set inverts the straight-line test). It can be one interval, several (the path may come close to zero
more than once), or reach the first or last period (the data cannot exclude a crossing before or after the
window); it is reported whole, never narrowed. It covers the true crossing whenever the test at the true crossing
does not reject, so its coverage is one minus the size of that single test.

Inference allows autocorrelated noise and the overlap of a trailing count:

* Noise model (for inference only): an AR(1) seen through the measure's trailing window of ``window`` periods
  (a 30-day count sampled weekly averages about four weeks; ``window = 1`` for no overlap). Its coefficient and
  variance are fitted to the robust second-difference variogram of the data at lags 1..K,
  ``median_t (y_{t+k} - 2 y_t + y_{t-k})^2``: second differences remove a locally linear trend, and the median
  ignores the few differences that straddle a jump, so the noise estimate needs no pilot fit of the path
  (difference-based estimation in nonparametric regression with dependent errors: Hall and Van Keilegom 2003).
* Standard error of ``mu_hat(t0)``: exact for the fitted noise model, ``sigma^2 l' Sigma l`` with ``l`` the
  smoother's weights at ``t0``.
* Critical values: a parametric bootstrap-t. The studentized statistic is simulated under the null with noise from
  the fitted model, re-estimating the noise in every draw, so the estimation error of the noise model is part of
  the critical value (Buhlmann 1997 for the AR sieve). The statistic's distribution still depends on the unknown
  coefficient, and in short series its estimate is imprecise, so the bootstrap's nominal level is itself
  calibrated (the double bootstrap, or "prepivoting", of Beran 1987): for every coefficient the data do not reject
  (the observed estimate lies in neither :data:`PLAUSIBLE` tail of the estimates that coefficient produces), the
  level at which the whole procedure covers ``1 - alpha`` of series simulated with that coefficient is found, and
  the largest of these levels is used: calibration at the least favourable plausible coefficient, in the spirit of
  Berger and Boos (1994) (without their Bonferroni term, so the guarantee is checked by simulation instead).

The point estimate is the last upward zero crossing of the fitted curve ``mu_hat`` after which it stays above zero
to the last period; every crossing of ``mu_hat`` is reported.

Simulated nulls depend only on the design (observed periods, bandwidth, window) and the noise coefficient
(rounded to :data:`PHI_GRID`), so they are cached.

References
----------
Beran, R. (1987). Prepivoting to reduce level error of confidence sets. Biometrika 74, 457-468.
Berger, R. L., Boos, D. D. (1994). P values maximized over a confidence set for the nuisance parameter. JASA 89,
1012-1016.
Buhlmann, P. (1997). Sieve bootstrap for time series. Bernoulli 3, 123-148.
Fan, J., Gijbels, I. (1996). Local Polynomial Modelling and Its Applications. Chapman & Hall.
Hall, P., Van Keilegom, I. (2003). Using difference-based methods for inference in nonparametric regression with
time series errors. JRSS B 65, 443-456.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .noise import (PHI_GRID, ar_noise, fit_log_variogram, log_variogram, model_log_variogram, noise_acf,
                    variogram_triplets)

#: Default simulated null draws of the local test.
DEFAULT_LOCAL_REPS = 2000
#: Seed of those draws.
DEFAULT_LOCAL_SEED = 20250120
#: Step of the grid of times at which the test is inverted (periods).
GRID_STEP = 0.25
#: Quantile levels among which the double bootstrap chooses the calibrated one.
LEVELS = np.round(np.concatenate([np.arange(0.80, 0.99, 0.0025), np.arange(0.99, 0.9991, 0.0005)]), 6)
#: Default kernel half-width as a fraction of the periods spanned, and its floor in periods.
BANDWIDTH_FRACTION = 0.15
MIN_BANDWIDTH = 6.0
#: Tail probability below which a noise coefficient is ruled out by the observed estimate (calibration set).
PLAUSIBLE = 0.2


# --------------------------------------------------------------------------------------------------------------
# the smoother
# --------------------------------------------------------------------------------------------------------------
def local_weights(pos: np.ndarray, t0: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Equivalent-kernel weights of the local-linear level and slope at each ``t0``.

    ``mu_hat(t0) = sum_i L[g, i] y_i`` and ``slope_hat(t0) = sum_i B[g, i] y_i`` for the weighted least squares
    fit of ``y_i`` on ``[1, pos_i - t0]`` with triangular weights ``(1 - |pos_i - t0| / h)_+``.

    Parameters
    ----------
    pos : ndarray
        Times of the observed periods.
    t0 : ndarray
        Times at which to fit.
    h : float
        Half-width of the triangular kernel (periods).

    Returns
    -------
    L, B : ndarray, shape (len(t0), len(pos))
        NaN rows where fewer than three observations carry weight.
    """
    pos = np.asarray(pos, dtype=float)
    t0 = np.asarray(t0, dtype=float)
    d = pos[None, :] - t0[:, None]
    w = np.clip(1.0 - np.abs(d) / h, 0.0, None)
    s0 = w.sum(axis=1, keepdims=True)
    s1 = (w * d).sum(axis=1, keepdims=True)
    s2 = (w * d * d).sum(axis=1, keepdims=True)
    det = s0 * s2 - s1 * s1
    enough = ((w > 0).sum(axis=1, keepdims=True) >= 3) & (det > 1e-12 * np.maximum(s0 * s2, 1e-300))
    with np.errstate(invalid="ignore", divide="ignore"):
        L = np.where(enough, w * (s2 - s1 * d) / det, np.nan)
        B = np.where(enough, w * (s0 * d - s1) / det, np.nan)
    return L, B


def _lag_products(rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``C[g, k] = sum_{i, j: |p_i - p_j| = k} l_gi l_gj`` for every row, so that ``l' Sigma l = C @ acf``."""
    span = int(round(pos[-1] - pos[0])) + 1
    grid = np.zeros((rows.shape[0], span))
    grid[:, np.round(pos - pos[0]).astype(int)] = np.nan_to_num(rows)
    size = 1 << int(math.ceil(math.log2(2 * span)))
    f = np.fft.rfft(grid, size, axis=1)
    ac = np.fft.irfft(f * np.conj(f), size, axis=1)[:, :span]
    ac[:, 1:] *= 2.0
    return ac


# --------------------------------------------------------------------------------------------------------------
# the design: everything that does not depend on the data
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Design:
    pos: np.ndarray          # observed times relative to the first
    h: float
    lags: int                # K: variogram lags 1..K
    window: int
    triplets: tuple          # per lag k: index triplets (t-k, t, t+k), all observed
    log_vario: np.ndarray    # (phi grid) x K: log model variogram of unit-variance noise
    acf: np.ndarray          # (phi grid) x span: noise autocorrelations
    cpos: np.ndarray         # times (every few periods) at which critical values are simulated
    Lc: np.ndarray           # level weights at cpos
    qc: np.ndarray           # cpos x (phi grid): l' Sigma_phi l


@lru_cache(maxsize=32)
def _design(pos_key: tuple, h: float, lags: int, window: int) -> _Design:
    pos = np.asarray(pos_key, dtype=float)
    span = int(round(pos[-1])) + 1
    triplets = variogram_triplets(pos, lags)
    acf = np.array([noise_acf(float(p), window, span - 1) for p in PHI_GRID])
    log_vario = model_log_variogram(window, lags)
    stride = max(1, int(round(h / 8)))  # critical values vary slowly with t0: simulate on a coarser grid
    cpos = np.unique(np.append(np.arange(0.0, float(span), stride), float(span - 1)))
    Lc, _ = local_weights(pos, cpos, h)
    if np.isnan(Lc).any():
        bad = cpos[np.isnan(Lc).any(axis=1)]
        raise ValueError(f"bandwidth h={h:g} periods leaves fewer than three observed periods around period(s) "
                         f"{bad[:5].tolist()} of the series; use a larger bandwidth.")
    qc = _lag_products(Lc, pos) @ acf.T
    return _Design(pos, h, lags, window, triplets, log_vario, acf, cpos, Lc, qc)


@lru_cache(maxsize=256)
def _null(pos_key: tuple, h: float, lags: int, window: int, j: int, reps: int, seed: int):
    """Simulated studentized null at noise coefficient ``PHI_GRID[j]``.

    Returns the quantile table (LEVELS x cpos) of ``|T*|``, the coefficients the procedure estimates in each draw
    (grid indices) and the draws themselves (cpos x reps, float32).
    """
    des = _design(pos_key, h, lags, window)
    rng = np.random.default_rng([int(seed), int(j)])
    u = ar_noise(rng, int(round(des.pos[-1])) + 1, float(PHI_GRID[j]), window, int(reps))
    U = u[np.round(des.pos).astype(int)]
    k, lg = fit_log_variogram(log_variogram(U, des.triplets), des.log_vario)
    var = np.exp(lg)[None, :] * des.qc[:, k]
    stat = (np.abs(des.Lc @ U) / np.sqrt(var)).astype(np.float32)
    table = np.quantile(stat, LEVELS, axis=1)
    return table, k, stat


@lru_cache(maxsize=1024)
def _coverage(pos_key: tuple, h: float, lags: int, window: int, j: int, reps: int, seed: int) -> np.ndarray:
    """Coverage of the bootstrap-t procedure at each nominal level and time, for series from world ``j``.

    In world ``j`` each simulated series has its own estimated coefficient ``k``; the procedure compares its
    statistic with the quantile at that level of the null simulated at ``k``. Returns LEVELS x cpos.
    """
    _, kj, stat = _null(pos_key, h, lags, window, j, reps, seed)
    cover = np.zeros((LEVELS.size, stat.shape[0]))
    for k in np.unique(kj):
        cols = kj == k
        tab = _null(pos_key, h, lags, window, int(k), reps, seed)[0]
        cover += (stat[None, :, cols] <= tab[:, :, None]).sum(axis=2)
    return cover / kj.size


def _critical(pos_key: tuple, h: float, lags: int, window: int, j0: int, alpha: float, reps: int,
              seed: int, plausible: float) -> tuple[np.ndarray, np.ndarray]:
    """Critical values at the design's simulation times, at the nominal level calibrated by the double bootstrap.

    For each noise coefficient the data do not reject (each grid value ``j`` from which the observed estimate
    ``j0`` is not in either ``plausible`` tail of the estimates it produces), the level at each time is the
    smallest of :data:`LEVELS` at which the procedure covers ``1 - alpha`` of the series simulated with that
    coefficient; the largest of these levels is used (the least favourable plausible coefficient).
    """
    n_phi = PHI_GRID.size

    def tails(j: int) -> tuple[float, float]:
        k = _null(pos_key, h, lags, window, j, reps, seed)[1]
        return float(np.mean(k <= j0)), float(np.mean(k >= j0))

    worlds = [j0]
    for step in (1, -1):  # walk away from the estimate while the coefficient stays plausible
        j = j0 + step
        while 0 <= j < n_phi:
            below, above = tails(j)
            if (below if step > 0 else above) < plausible:
                break
            worlds.append(j)
            j += step
    level = np.zeros(_design(pos_key, h, lags, window).cpos.size, dtype=int)
    for j in worlds:
        ok = _coverage(pos_key, h, lags, window, j, reps, seed) >= 1.0 - alpha
        level = np.maximum(level, np.where(ok.any(axis=0), ok.argmax(axis=0), LEVELS.size - 1))
    table0 = _null(pos_key, h, lags, window, j0, reps, seed)[0]
    return table0[level, np.arange(table0.shape[1])], LEVELS[level]


# --------------------------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalCrossingResult:
    """Local-linear confidence set and estimate of the zero crossing(s) of the log ratio.

    Attributes
    ----------
    estimate : float or None
        The headline crossing (periods): last upward zero of the fitted curve after which it stays above zero to
        the last period. None when the fitted curve ends below zero or never crosses upward.
    crossings : tuple of float
        Every zero crossing of the fitted curve within the observed periods.
    directions : tuple of int
        +1 upward (CN overtakes), -1 downward, per crossing.
    pieces : tuple of tuple of float
        The confidence set as disjoint intervals ``(lower, upper)`` of times within the observed periods. The first
        piece is open to the left when ``open_start``, the last open to the right when ``open_end``.
    open_start, open_end : bool
        Whether the set reaches the first / last observed period: the data cannot exclude a crossing before the
        first or after the last snapshot.
    kind : str
        "bounded" (strictly inside the window), "unbounded" (reaches one end, or both ends without a gap),
        "two_rays" (reaches both ends with an excluded middle) or "no_crossing" (empty: the data exclude a crossing
        anywhere in the window).
    lower, upper : float
        Hull of the set; ``-inf`` / ``inf`` on an open side; NaN when empty.
    fitted_start, fitted_end : float
        Fitted log ratio at the first and last observed period (their signs say who is ahead).
    bandwidth : float
        Kernel half-width h (periods).
    bandwidth_rule : str
        How h was chosen.
    window : int
        Trailing window of the noise model (periods).
    variogram_lags : int
        K, the lags of the noise variogram.
    phi : float
        Fitted AR(1) coefficient of the noise (before the window).
    sigma : float
        Fitted marginal standard deviation of the noise (of the measure, after the window).
    critical_min, critical_max : float
        Range of the critical values over the window.
    level_min, level_max : float
        Range of the calibrated nominal levels of the bootstrap quantiles (the double bootstrap's choice).
    alpha : float
    reps, seed : int
        Simulated null draws per coefficient and their seed.
    grid_step : float
        Step of the grid of tested times (periods); set ends are interpolated between grid points.
    plausible : float
        Tail probability of the calibration set of noise coefficients.
    times, fitted, se, critical : tuple of float
        The tested times with the fitted log ratio, its standard error and the critical value.
    """

    estimate: float | None
    crossings: tuple
    directions: tuple
    pieces: tuple
    open_start: bool
    open_end: bool
    kind: str
    lower: float
    upper: float
    fitted_start: float
    fitted_end: float
    bandwidth: float
    bandwidth_rule: str
    window: int
    variogram_lags: int
    phi: float
    sigma: float
    critical_min: float
    critical_max: float
    level_min: float
    level_max: float
    alpha: float
    reps: int
    seed: int
    grid_step: float
    plausible: float = PLAUSIBLE
    times: tuple = ()
    fitted: tuple = ()
    se: tuple = ()
    critical: tuple = ()

    def contains(self, t: float) -> bool:
        """Whether time ``t`` lies in the set (an open side extends it beyond the window)."""
        for i, (a, b) in enumerate(self.pieces):
            lo = -math.inf if (i == 0 and self.open_start) else a
            hi = math.inf if (i == len(self.pieces) - 1 and self.open_end) else b
            if lo <= t <= hi:
                return True
        return False

    def settings(self) -> dict:
        """The settings that made the set (recorded in crossover.json so that nothing downstream guesses them)."""
        return {"method": "local_linear", "kernel": "triangular", "bandwidth_periods": self.bandwidth,
                "bandwidth_rule": self.bandwidth_rule, "noise_model": "AR(1) seen through the trailing window",
                "noise_window_periods": self.window, "noise_variogram_lags": self.variogram_lags,
                "noise_ar1_coefficient": self.phi, "noise_sd": self.sigma, "null_draws": self.reps,
                "null_seed": self.seed, "alpha": self.alpha, "grid_step_periods": self.grid_step,
                "critical_value_min": self.critical_min, "critical_value_max": self.critical_max,
                "calibrated_level_min": self.level_min, "calibrated_level_max": self.level_max,
                "calibration": "double bootstrap at the least favourable plausible noise coefficient",
                "plausible_tail": self.plausible}


def default_bandwidth(n_span: int) -> tuple[float, str]:
    """Kernel half-width in periods for a window of ``n_span`` periods (the calibrated rule).

    ``h = max(BANDWIDTH_FRACTION * n_span, MIN_BANDWIDTH)``: long enough for a stable local slope, short enough
    that a release jump or a bend a fifth of the window away does not reach the fit at the crossing (see
    :mod:`devtools.validate`).
    """
    h = max(BANDWIDTH_FRACTION * n_span, MIN_BANDWIDTH)
    return float(h), f"{BANDWIDTH_FRACTION:g} of the periods spanned, at least {MIN_BANDWIDTH:g} periods"


def default_lags(h: float) -> int:
    """Lags 1..K of the noise variogram: ``K = max(3, round(h / 3))`` (longer lags see more of a curved path or a
    jump, shorter ones say less about persistence)."""
    return max(3, int(round(h / 3)))


def _zeros(times: np.ndarray, f: np.ndarray) -> tuple[list, list]:
    out, dirs = [], []
    s = np.sign(f)
    for i in np.flatnonzero((s[:-1] != s[1:]) & np.isfinite(f[:-1]) & np.isfinite(f[1:])):
        if f[i] == 0 and i > 0:
            continue
        a, b = times[i], times[i + 1]
        out.append(float(a if f[i] == 0 else a + (b - a) * f[i] / (f[i] - f[i + 1])))
        dirs.append(1 if f[i + 1] > f[i] else -1)
    return out, dirs


def _pieces(times: np.ndarray, g: np.ndarray) -> list[tuple[float, float]]:
    """Intervals where ``g <= 0`` (g = |T| - c), ends interpolated linearly between grid points."""
    inside = g <= 0
    out = []
    i, n = 0, times.size
    while i < n:
        if not inside[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and inside[j + 1]:
            j += 1
        lo = times[i] if i == 0 else times[i - 1] + (times[i] - times[i - 1]) * g[i - 1] / (g[i - 1] - g[i])
        hi = times[j] if j == n - 1 else times[j] + (times[j + 1] - times[j]) * g[j] / (g[j] - g[j + 1])
        out.append((float(lo), float(hi)))
        i = j + 1
    return out


def local_crossing(y, t=None, *, bandwidth: float | None = None, window: int = 1, alpha: float = 0.05,
                   reps: int = DEFAULT_LOCAL_REPS, seed: int = DEFAULT_LOCAL_SEED, grid_step: float = GRID_STEP,
                   lags: int | None = None, plausible: float = PLAUSIBLE,
                   keep_path: bool = True) -> LocalCrossingResult:
    """Local-linear confidence set and estimate of the zero crossing(s) of ``y`` (see the module docstring).

    Parameters
    ----------
    y : array_like
        The log ratio on the period grid; NaN = missing period.
    t : array_like, optional
        Times in periods (integers, gaps allowed); default 0 .. n - 1.
    bandwidth : float or None
        Half-width h of the triangular kernel in periods; None = :func:`default_bandwidth`.
    window : int
        Trailing window of the measure in periods (4 for a 30-day count sampled weekly, 1 for none); the noise
        model is an AR(1) averaged over it.
    alpha : float
        1 - confidence level.
    reps : int
        Simulated null draws per noise coefficient (at least 200; 2000 by default).
    seed : int
        Seed of the simulated nulls.
    grid_step : float
        Step of the tested times (periods).
    lags : int or None
        Lags of the noise variogram; None = :func:`default_lags`.
    plausible : float
        Tail probability defining the noise coefficients the calibration guards against (see the module docstring).
    keep_path : bool
        Keep the fitted curve, standard errors and critical values on the grid in the result.

    Returns
    -------
    LocalCrossingResult
    """
    y = np.asarray(y, dtype=float).ravel()
    t = np.arange(y.size, dtype=float) if t is None else np.asarray(t, dtype=float).ravel()
    if t.size != y.size:
        raise ValueError(f"y has {y.size} values but t has {t.size}; pass one time per value.")
    if not 0 < alpha < 0.2:
        raise ValueError(f"alpha={alpha}: the local-linear set is calibrated for levels between 80% and 99.9%.")
    if reps < 200:
        raise ValueError(f"reps={reps}: the simulated critical values need at least 200 draws.")
    if int(window) < 1:
        raise ValueError(f"window={window} must be at least 1 period.")
    window = int(window)
    obs = np.isfinite(y)
    if obs.sum() < 8:
        raise ValueError(f"the local-linear crossing needs at least 8 observed periods; got {int(obs.sum())}.")
    yo, to = y[obs], t[obs]
    if not np.allclose(to, np.round(to)) or np.any(np.diff(to) <= 0):
        raise ValueError("t must be increasing and on an integer period grid (gaps allowed).")
    t_first = float(to[0])
    pos = np.round(to - t_first)
    n_span = int(pos[-1]) + 1
    if bandwidth is None:
        h, rule = default_bandwidth(n_span)
    else:
        h, rule = float(bandwidth), "given"
        if not h > 1.5:
            raise ValueError(f"bandwidth={bandwidth}: the kernel half-width must exceed 1.5 periods.")
    K = default_lags(h) if lags is None else int(lags)
    if K < 2:
        raise ValueError(f"lags={lags}: the noise variogram needs at least 2 lags.")
    key = tuple(float(p) for p in pos)
    des = _design(key, h, K, window)
    k, lg = fit_log_variogram(log_variogram(yo[:, None], des.triplets), des.log_vario)
    j0, var0 = int(k[0]), float(math.exp(lg[0]))
    grid = np.arange(0.0, pos[-1] + grid_step / 2, grid_step)
    grid[-1] = min(grid[-1], pos[-1])
    L, _ = local_weights(pos, grid, h)
    if np.isnan(L).any():
        bad = grid[np.isnan(L).any(axis=1)] + t_first
        raise ValueError(f"bandwidth h={h:g} periods leaves fewer than three observed periods around period(s) "
                         f"{bad[:5].tolist()} of the series; use a larger bandwidth.")
    fit = L @ yo
    q = _lag_products(L, pos) @ des.acf[j0]
    se = np.sqrt(var0 * q)
    crit_int, levels = _critical(key, h, K, window, j0, float(alpha), int(reps), int(seed), float(plausible))
    crit = np.interp(grid, des.cpos, crit_int)
    g = np.abs(fit) / se - crit
    pieces = _pieces(grid, g)
    zs, dirs = _zeros(grid, fit)
    est = zs[-1] if (zs and dirs[-1] > 0 and fit[-1] > 0) else None
    open_start = bool(pieces and g[0] <= 0)
    open_end = bool(pieces and g[-1] <= 0)
    if not pieces:
        kind, lo, hi = "no_crossing", math.nan, math.nan
    elif open_start and open_end:
        kind = "two_rays" if len(pieces) > 1 else "unbounded"
        lo, hi = -math.inf, math.inf
    elif open_start or open_end:
        kind = "unbounded"
        lo = -math.inf if open_start else pieces[0][0]
        hi = math.inf if open_end else pieces[-1][1]
    else:
        kind, lo, hi = "bounded", pieces[0][0], pieces[-1][1]

    def sh(v: float) -> float:
        return v + t_first if math.isfinite(v) else v

    return LocalCrossingResult(
        estimate=None if est is None else sh(est), crossings=tuple(sh(z) for z in zs), directions=tuple(dirs),
        pieces=tuple((sh(a), sh(b)) for a, b in pieces), open_start=open_start, open_end=open_end, kind=kind,
        lower=sh(lo), upper=sh(hi), fitted_start=float(fit[0]), fitted_end=float(fit[-1]), bandwidth=h,
        bandwidth_rule=rule, window=window, variogram_lags=K, phi=float(PHI_GRID[j0]),
        sigma=math.sqrt(var0), critical_min=float(crit_int.min()), critical_max=float(crit_int.max()),
        level_min=float(levels.min()), level_max=float(levels.max()), alpha=float(alpha), reps=int(reps),
        seed=int(seed), grid_step=float(grid_step), plausible=float(plausible),
        times=tuple(float(v) for v in grid + t_first) if keep_path else (),
        fitted=tuple(float(v) for v in fit) if keep_path else (),
        se=tuple(float(v) for v in se) if keep_path else (),
        critical=tuple(float(v) for v in crit) if keep_path else ())
