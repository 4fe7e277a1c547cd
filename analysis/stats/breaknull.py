"""Break-test p-values with honest size under persistent, overlapping noise: a calibrated parametric bootstrap.

The statistics of :mod:`analysis.stats.breaks` (sup-F, OLS-CUSUM, Pettitt on the detrended series, Chow at a
stated date) are invariant to the trend's coefficients and to the scale of the errors, so under "no break" their
distribution depends only on the errors' correlation. The study models that correlation with
:mod:`analysis.stats.noise` (an AR(1) seen through the measure's trailing window, fitted to the robust
second-difference variogram) and simulates each statistic on the series' own periods:

1. raw p-value: the statistic's null simulated with the fitted noise coefficient;
2. calibrated p-value (the double bootstrap, or prepivoting, of Beran 1988): the raw p-value is itself a
   statistic whose distribution depends on how well the coefficient is estimated. For a noise coefficient ``j``,
   series simulated with it are put through the same procedure (fit the noise, simulate with the fitted
   coefficient, take the raw p-value); the calibrated p-value is the share of them whose raw p-value is at most
   the observed one. It is computed for every coefficient the data do not rule out (the observed estimate lies in
   neither ``tail`` of the estimates that coefficient produces) and the largest is reported.

Simulations depend only on the design (observed periods, window, lags, test settings) and the coefficient
(on :data:`analysis.stats.noise.PHI_GRID`), so they are cached: one series costs a few seconds, the simulation
study's thousands of series on the same design little more.

References
----------
Beran, R. (1988). Prepivoting test statistics: a bootstrap view of asymptotic refinements. JASA 83, 687-697.
Berger, R. L., Boos, D. D. (1994). P values maximized over a confidence set for the nuisance parameter. JASA 89,
1012-1016.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import breaks as _b
from .noise import PHI_GRID, ar_noise, fit_log_variogram, log_variogram, model_log_variogram, variogram_triplets

#: Tests this module calibrates.
TESTS = ("sup_f", "cusum", "pettitt", "chow")
#: Tail probability that defines the noise coefficients over which the study maximises the break tests' calibrated
#: p-values (``tail`` of :func:`calibrated_p_values`); chosen in the calibration study (devtools.validate).
BREAK_PLAUSIBLE = 0.35


@dataclass(frozen=True)
class BreakNullDesign:
    """What the simulated nulls depend on: observed periods, noise window and lags, and the tests' settings."""

    positions: tuple
    window: int
    lags: int
    trim: float
    chow_split: int | None


def _design_arrays(d: BreakNullDesign):
    pos = np.asarray(d.positions, dtype=float)
    X = np.column_stack([np.ones(pos.size), pos])
    q, _ = np.linalg.qr(X)
    n = pos.size
    lo = max(int(np.floor(d.trim * n)), 2)
    hi = min(n - int(np.floor(d.trim * n)), n - 2)
    return pos, X, q, range(lo, hi + 1)


def statistics(E: np.ndarray, d: BreakNullDesign) -> dict:
    """Every test's statistic for each column of ``E`` (rows = observed periods)."""
    pos, X, q, splits = _design_arrays(d)
    R = E - q @ (q.T @ E)
    out = {"sup_f": _b._f_path(E, X, splits).max(axis=0), "cusum": _b._cusum_stats(E, X),
           "pettitt": _b._pettitt_stats(R)}
    if d.chow_split is not None:
        out["chow"] = _b._f_path(E, X, range(d.chow_split, d.chow_split + 1))[0] / X.shape[1]
    return out


@lru_cache(maxsize=512)
def _world(d: BreakNullDesign, j: int, reps: int, seed: int) -> tuple[np.ndarray, dict]:
    """Series of pure noise at coefficient ``PHI_GRID[j]``: the coefficient the fit returns for each, and every
    test's statistic (sorted copies are kept for the p-value functions)."""
    pos = np.asarray(d.positions, dtype=float)
    rng = np.random.default_rng([int(seed), int(j), 11])
    U = ar_noise(rng, int(pos[-1]) + 1, float(PHI_GRID[j]), d.window, int(reps))[pos.astype(int)]
    k, _ = fit_log_variogram(log_variogram(U, variogram_triplets(pos, d.lags)), model_log_variogram(d.window, d.lags))
    return k, statistics(U, d)


def _p(sorted_null: np.ndarray, s) -> np.ndarray:
    """``(1 + #{null >= s}) / (1 + reps)`` for each s."""
    s = np.asarray(s, dtype=float)
    return (1.0 + sorted_null.size - np.searchsorted(sorted_null, s, side="left")) / (1.0 + sorted_null.size)


@dataclass(frozen=True)
class CalibratedPValue:
    """A break test's p-values under the noise model.

    Attributes
    ----------
    test : str
    statistic : float
    p_value : float
        The calibrated p-value (largest over the plausible noise coefficients).
    p_raw : float
        The p-value with the null simulated at the fitted coefficient.
    p_iid : float or None
        The p-value under independent normal errors (for comparison; not used).
    fitted_coefficient : float
    plausible_coefficients : tuple of float
    reps : int
    """

    test: str
    statistic: float
    p_value: float
    p_raw: float
    p_iid: float | None
    fitted_coefficient: float
    plausible_coefficients: tuple
    reps: int


def calibrated_p_values(observed: dict, d: BreakNullDesign, j0: int, *, reps: int = 499, seed: int = 0,
                        tail: float = 0.2, iid_reps: int = 0) -> dict:
    """Calibrated p-values of the observed statistics (see the module docstring).

    Parameters
    ----------
    observed : dict
        ``{test: statistic}`` on the data (tests of :data:`TESTS`; "chow" only with ``d.chow_split``).
    d : BreakNullDesign
    j0 : int
        Grid index of the noise coefficient fitted to the data.
    reps : int
        Simulated series per noise coefficient.
    seed : int
    tail : float
        Tail probability below which a coefficient is ruled out.
    iid_reps : int
        Draws of the comparison p-value under independent errors (0 skips it).

    Returns
    -------
    dict of str to CalibratedPValue
    """
    n_phi = PHI_GRID.size

    def world(j: int):
        return _world(d, j, reps, seed)

    @lru_cache(maxsize=None)
    def sorted_null(j: int, test: str) -> np.ndarray:
        return np.sort(world(j)[1][test])

    worlds = [j0]
    for step in (1, -1):
        j = j0 + step
        while 0 <= j < n_phi:
            k = world(j)[0]
            share = np.mean(k <= j0) if step > 0 else np.mean(k >= j0)
            if share < tail:
                break
            worlds.append(j)
            j += step
    out = {}
    for test, s_obs in observed.items():
        p_raw = float(_p(sorted_null(j0, test), [s_obs])[0])
        p_cal = 0.0
        for j in worlds:
            kj, stats_j = world(j)
            raw = np.empty(kj.size)
            for k in np.unique(kj):
                cols = kj == k
                raw[cols] = _p(sorted_null(int(k), test), stats_j[test][cols])
            p_cal = max(p_cal, float((1.0 + np.sum(raw <= p_raw + 1e-12)) / (1.0 + raw.size)))
        p_iid = None
        if iid_reps:
            rng = np.random.default_rng([int(seed), 99])
            null = statistics(rng.standard_normal((len(d.positions), int(iid_reps))), d)[test]
            p_iid = float(_p(np.sort(null), [s_obs])[0])
        out[test] = CalibratedPValue(test, float(s_obs), min(p_cal, 1.0), p_raw, p_iid, float(PHI_GRID[j0]),
                                     tuple(float(PHI_GRID[j]) for j in sorted(worlds)), int(reps))
    return out
