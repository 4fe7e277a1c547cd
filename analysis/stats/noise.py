"""The noise model behind the study's simulated nulls: an AR(1) seen through the measure's trailing window.

A download share measured by a trailing count (the Hub's 30-day ``downloads``) sampled more often than its window
is an average of overlapping periods: weekly snapshots of a 30-day count share about three of their four weeks.
The noise of the log ratio is modelled as ``ubar_t = (1/w) sum_{j<w} u_{t-j}`` with ``u`` an AR(1) of coefficient
``phi``: persistence of the download mix (``phi``) seen through the overlap (``w``, known from the measure, see
:func:`analysis.stats.series.measure_window`).

Its two parameters are fitted to the robust second-difference variogram of the series,

    V_k = median_t (y_{t+k} - 2 y_t + y_{t-k})^2 / 0.4549,   k = 1..K,

whose expectation under the model is ``sigma^2 (6 - 8 rho(k) + 2 rho(2k))``: second differences remove a locally
linear path without fitting it, and the median ignores the few differences that straddle a jump (difference-based
estimation of dependent errors in nonparametric regression; Hall and Van Keilegom 2003). The fit is least squares
on the log scale over a grid of coefficients (:data:`PHI_GRID`), so simulated nulls can be cached per coefficient.

References
----------
Hall, P., Van Keilegom, I. (2003). Using difference-based methods for inference in nonparametric regression with
time series errors. JRSS B 65, 443-456.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: AR(1) coefficients of the noise model; estimates are rounded to this grid (so simulated nulls are cached).
PHI_GRID = np.round(np.arange(0.0, 0.9701, 0.02), 2)
#: Median of a chi-square with one degree of freedom (scales a median of squares to a variance).
CHI2_1_MEDIAN = 0.454936423119572


def noise_acf(phi: float, window: int, maxlag: int) -> np.ndarray:
    """Autocorrelations at lags 0..maxlag of an AR(1) with coefficient ``phi`` averaged over ``window`` periods.

    Parameters
    ----------
    phi : float
        AR(1) coefficient in [0, 1).
    window : int
        Trailing window in periods (1 = no overlap).
    maxlag : int
        Largest lag.

    Returns
    -------
    ndarray
    """
    k = np.arange(maxlag + 1, dtype=float)
    g = np.zeros(maxlag + 1)
    for i in range(int(window)):
        for j in range(int(window)):
            lag = np.abs(k + i - j)
            g += phi ** lag if phi > 0 else (lag == 0).astype(float)
    return g / g[0]


def ar_noise(rng: np.random.Generator, span: int, phi: float, window: int, reps: int) -> np.ndarray:
    """Unit-variance AR(1) noise (stationary start) averaged over a trailing window: ``span`` x ``reps``."""
    z = rng.standard_normal((span + window - 1, reps))
    u = np.empty_like(z)
    u[0] = z[0]
    c = math.sqrt(1.0 - phi * phi)
    for i in range(1, z.shape[0]):
        u[i] = phi * u[i - 1] + c * z[i]
    if window > 1:
        cs = np.cumsum(np.vstack([np.zeros((1, reps)), u]), axis=0)
        u = (cs[window:] - cs[:-window]) / window
    u /= math.sqrt(noise_acf_var(phi, window))
    return u


def noise_acf_var(phi: float, window: int) -> float:
    """Variance of the window average of a unit-variance AR(1)."""
    k = np.arange(-(window - 1), window, dtype=float)
    return float(np.sum((window - np.abs(k)) * (phi ** np.abs(k) if phi > 0 else (k == 0)))) / window ** 2


def variogram_triplets(pos: np.ndarray, lags: int) -> tuple:
    """Index triplets ``(t - k, t, t + k)`` of observed periods, one array per lag k = 1..lags."""
    index = {int(round(p)): i for i, p in enumerate(np.asarray(pos, dtype=float))}
    out = []
    for k in range(1, lags + 1):
        tr = [(index[c - k], index[c], index[c + k]) for c in index if c - k in index and c + k in index]
        if len(tr) < 5:
            raise ValueError(f"the noise variogram at lag {k} has only {len(tr)} complete triples of periods; the "
                             "series is too short or has too many missing periods for the noise model.")
        out.append(np.array(tr, dtype=np.int64))
    return tuple(out)


def log_variogram(Y: np.ndarray, triplets: tuple) -> np.ndarray:
    """Log robust second-difference variogram, lags x columns of ``Y`` (observed periods x series)."""
    Yt = np.ascontiguousarray(np.asarray(Y, dtype=float).T)     # series x periods: medians along the last axis
    out = np.empty((len(triplets), Yt.shape[0]))
    for i, tr in enumerate(triplets):
        d = Yt[:, tr[:, 0]] - 2.0 * Yt[:, tr[:, 1]] + Yt[:, tr[:, 2]]
        out[i] = np.median(d * d, axis=1) / CHI2_1_MEDIAN
    return np.log(np.maximum(out, 1e-300))


def model_log_variogram(window: int, lags: int) -> np.ndarray:
    """Log expected second-difference variogram of unit-variance model noise: (coefficients of PHI_GRID) x lags."""
    ks = np.arange(1, lags + 1)
    out = np.empty((PHI_GRID.size, lags))
    for i, p in enumerate(PHI_GRID):
        r = noise_acf(float(p), window, 2 * lags)
        out[i] = np.log(6.0 - 8.0 * r[ks] + 2.0 * r[2 * ks])
    return out


def fit_log_variogram(log_v: np.ndarray, log_model: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares on the log scale, per column: grid index of the coefficient and log marginal variance."""
    resid = log_v[None, :, :] - log_model[:, :, None]            # phi x lags x columns
    level = resid.mean(axis=1)                                    # phi x columns
    sse = ((resid - level[:, None, :]) ** 2).sum(axis=1)
    k = np.argmin(sse, axis=0)
    return k, level[k, np.arange(log_v.shape[1])]


@dataclass(frozen=True)
class NoiseModel:
    """A fitted noise model: AR(1) of coefficient ``phi`` averaged over ``window`` periods, marginal sd ``sigma``.

    Attributes
    ----------
    phi : float
        AR(1) coefficient (on :data:`PHI_GRID`).
    sigma : float
        Marginal standard deviation of the noise of the measure (after the window).
    window : int
        Trailing window in periods.
    lags : int
        Variogram lags used to fit it.
    index : int
        Position of ``phi`` on :data:`PHI_GRID`.
    """

    phi: float
    sigma: float
    window: int
    lags: int
    index: int

    def simulate(self, rng: np.random.Generator, positions, reps: int) -> np.ndarray:
        """Unit-variance noise at the observed ``positions`` (integer periods): len(positions) x reps."""
        pos = np.round(np.asarray(positions, dtype=float) - float(positions[0])).astype(int)
        return ar_noise(rng, int(pos[-1]) + 1, self.phi, self.window, int(reps))[pos]

    def errors(self, positions):
        """A function ``errors(rng, reps)`` drawing null errors at ``positions`` (the ``errors`` argument of the
        simulated p-values of :mod:`analysis.stats.breaks`)."""
        def draw(rng: np.random.Generator, reps: int) -> np.ndarray:
            return self.simulate(rng, positions, reps)
        return draw

    def describe(self) -> dict:
        """Plain dict for JSON."""
        return {"model": "AR(1) averaged over the trailing window", "ar1_coefficient": self.phi,
                "sd": self.sigma, "window_periods": self.window, "variogram_lags": self.lags,
                "fit": "robust second-difference variogram (median), least squares on the log scale"}


def fit_noise(y, t=None, *, window: int = 1, lags: int = 4) -> NoiseModel:
    """Fit :class:`NoiseModel` to a series by its robust second-difference variogram at lags 1..``lags``.

    Parameters
    ----------
    y : array_like
        The series (NaN = missing period).
    t : array_like, optional
        Integer period times; default 0 .. n - 1.
    window : int
        Trailing window of the measure in periods.
    lags : int
        Largest variogram lag (at least 2).

    Returns
    -------
    NoiseModel
    """
    y = np.asarray(y, dtype=float).ravel()
    t = np.arange(y.size, dtype=float) if t is None else np.asarray(t, dtype=float).ravel()
    if lags < 2:
        raise ValueError(f"lags={lags}: the noise variogram needs at least 2 lags.")
    obs = np.isfinite(y)
    pos = np.round(t[obs] - t[obs][0])
    trip = variogram_triplets(pos, int(lags))
    k, lg = fit_log_variogram(log_variogram(y[obs][:, None], trip), model_log_variogram(int(window), int(lags)))
    j = int(k[0])
    return NoiseModel(phi=float(PHI_GRID[j]), sigma=math.sqrt(math.exp(float(lg[0]))), window=int(window),
                      lags=int(lags), index=j)
