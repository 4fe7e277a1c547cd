"""Noise-free truths of log(share_CN / share_US) and the noisy series the study would see: the one simulator of
truths, shared by the demo Hub (:mod:`analysis.simulate.hub`) and the simulation study (:mod:`devtools.validate`).

A truth is a path ``m(t)`` of the log ratio of the CN and US shares of downloads in one period (t in periods since
the first snapshot). The study does not see ``m``: the Hub's ``downloads`` is a trailing 30-day count, so a weekly
snapshot sees roughly the mean of the last four weeks (``window = 4``). The series it sees is

    y_t = mbar(t) + ubar_t,   mbar(t) = (1/w) sum_{j<w} m(t - j),   ubar_t = (1/w) sum_{j<w} u_{t-j},

with ``u`` an AR(1) noise (stationary start). The noise-free measure ``mbar`` is what the study can estimate: its
zero crossing is the estimand (:func:`measure_crossings`). A trailing window of w periods lags the underlying path
by (w - 1)/2 periods when the path is straight (1.5 weeks here; about 15 days for a 30-day count of daily
downloads), which :class:`Truth` reports as ``underlying`` crossings beside the measure's.

Shapes (:data:`SHAPES`), all rising on average by ``slope`` per period, with the crossing of the underlying path at
``crossing`` (a fraction of the window, 0.6 by default) unless said otherwise:

* ``line``: a straight line, the world the straight-line methods assume.
* ``release_jump``: the line, but everything before ``jump_at`` (0.4 of the window) lower by ``jump`` (0.35): a
  release such as DeepSeek-R1 that moves the ratio at once; the crossing comes after it.
* ``s_curve``: a logistic rise centred at half the window with scale 0.08 of the window, crossing past its centre
  (where it bends), with slope ``slope`` at the crossing.
* ``saturation``: ``A - B exp(-t / tau)``, a rise that slows down, with slope ``slope`` at the crossing.
* ``two_crossings``: the line crossing at 0.7 of the window plus a temporary surge centred at 0.35 that takes CN
  ahead for a while and falls back: three crossings (up, down, up).
* ``after_window``: the line crossing 5% of the window after its last period: no overtaking inside the window.

The headline crossing of a truth is the last upward crossing after which CN stays ahead to the end of the window
(None when CN is behind at the end).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize

#: The truth shapes (see the module docstring).
SHAPES = ("line", "release_jump", "s_curve", "saturation", "two_crossings", "after_window")


@dataclass(frozen=True)
class TruthShape:
    """A noise-free path of the log ratio over a window of ``n`` periods.

    Parameters
    ----------
    shape : str
        One of :data:`SHAPES`.
    n : int
        Periods in the window (t = 0 .. n - 1).
    slope : float
        Rise of the log ratio per period (at the crossing, for the curved shapes).
    crossing : float or None
        Crossing of the underlying path as a fraction of the window (None = the shape's default: 0.6; 0.7 for
        ``two_crossings``; 1.05 for ``after_window``).
    jump : float
        Size of the release jump (``release_jump``) in log-ratio units.
    jump_at : float
        Position of the jump as a fraction of the window.
    shift : float
        Added to t (periods): ``m(t) = f(t - shift)``; used to place a crossing on a given date.
    """

    shape: str
    n: int
    slope: float = 0.02
    crossing: float | None = None
    jump: float = 0.35
    jump_at: float = 0.4
    shift: float = 0.0

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"shape={self.shape!r}; expected one of {SHAPES}.")
        if self.n < 10:
            raise ValueError(f"n={self.n}: a truth needs at least 10 periods.")
        if not self.slope > 0:
            raise ValueError(f"slope={self.slope} must be positive (CN gaining on the US).")

    @property
    def crossing_frac(self) -> float:
        if self.crossing is not None:
            return float(self.crossing)
        return {"two_crossings": 0.7, "after_window": 1.05}.get(self.shape, 0.6)

    def path(self, t) -> np.ndarray:
        """The underlying log ratio ``m(t)`` (no trailing window, no noise) at times ``t`` (periods)."""
        t = np.asarray(t, dtype=float) - self.shift
        span = self.n - 1.0
        b = self.slope
        theta = self.crossing_frac * span
        if self.shape in ("line", "after_window"):
            return b * (t - theta)
        if self.shape == "release_jump":
            return b * (t - theta) - self.jump * (t < self.jump_at * span)
        if self.shape == "s_curve":
            c, s = 0.5 * span, 0.08 * span
            z = (theta - c) / s
            if abs(z) > 30:
                raise ValueError(f"crossing={self.crossing_frac}: too far from the S-curve's centre (0.5 of the "
                                 "window) to cross with a finite rise")
            sz = 1.0 / (1.0 + math.exp(-z))
            d = b * s / (sz * (1.0 - sz))  # slope b at the crossing
            return d * (1.0 / (1.0 + np.exp(-(t - c) / s)) - sz)
        if self.shape == "saturation":
            tau = theta  # crossing where t = tau; slope b there
            a = b * tau
            return a - a * math.e * np.exp(-t / tau)
        # two_crossings: the line plus a temporary surge
        c, w = 0.35 * span, 0.07 * span
        base = b * (c - theta)
        return b * (t - theta) + (-base + 0.25) * np.exp(-0.5 * ((t - c) / w) ** 2)

    def measure(self, t, window: int = 4) -> np.ndarray:
        """The noise-free measure: the mean of the underlying path over the trailing ``window`` periods."""
        t = np.asarray(t, dtype=float)
        return np.mean([self.path(t - j) for j in range(int(window))], axis=0)

    def describe(self) -> dict:
        """The parameters as a plain dict (for JSON)."""
        return {**asdict(self), "crossing": self.crossing_frac}


@dataclass(frozen=True)
class Crossings:
    """Zero crossings of a noise-free path within a range of times.

    Attributes
    ----------
    times : tuple of float
        Every crossing (periods), in order.
    directions : tuple of int
        +1 for an upward crossing (CN overtakes), -1 for a downward one.
    headline : float or None
        The last upward crossing after which the path stays above zero to the end of the range; None when the path
        ends below zero (or never crosses upward).
    ahead_at_start, ahead_at_end : bool
        Whether the path is above zero at the first and last time.
    """

    times: tuple
    directions: tuple
    headline: float | None
    ahead_at_start: bool
    ahead_at_end: bool


def zero_crossings(fn, lo: float, hi: float, step: float = 0.05) -> Crossings:
    """Zero crossings of a continuous function on ``[lo, hi]`` (grid search then Brent's method).

    Parameters
    ----------
    fn : callable
        Vectorised function of time.
    lo, hi : float
        Range searched.
    step : float
        Grid step of the search (periods); crossings closer than this may be missed.

    Returns
    -------
    Crossings
    """
    grid = np.arange(lo, hi + step / 2, step)
    v = np.asarray(fn(grid), dtype=float)
    times, dirs = [], []
    for i in np.flatnonzero(np.sign(v[:-1]) != np.sign(v[1:])):
        if v[i] == 0 and i > 0:
            continue
        a, b = grid[i], grid[i + 1]
        r = a if v[i] == 0 else optimize.brentq(lambda x: float(fn(np.array([x]))[0]), a, b, xtol=1e-9)
        times.append(float(r))
        dirs.append(1 if v[i + 1] > v[i] else -1)
    ahead_end = bool(v[-1] > 0)
    head = times[-1] if (times and dirs[-1] > 0 and ahead_end) else None
    return Crossings(tuple(times), tuple(dirs), head, bool(v[0] > 0), ahead_end)


def measure_crossings(truth: TruthShape, window: int = 4, lo: float = 0.0, hi: float | None = None) -> Crossings:
    """Crossings of the noise-free measure (the estimand) over the window ``[lo, hi]`` (default 0 .. n - 1)."""
    hi = truth.n - 1.0 if hi is None else hi
    return zero_crossings(lambda t: truth.measure(t, window), lo, hi)


def underlying_crossings(truth: TruthShape, lo: float = 0.0, hi: float | None = None) -> Crossings:
    """Crossings of the underlying path (downloads in the period itself, no trailing window)."""
    hi = truth.n - 1.0 if hi is None else hi
    return zero_crossings(truth.path, lo, hi)


def ar1_noise(rng: np.random.Generator, size: int, phi: float, sigma: float) -> np.ndarray:
    """A stationary AR(1) series ``u_t = phi u_{t-1} + e_t`` with ``e_t ~ N(0, sigma^2)``."""
    if not 0 <= phi < 1:
        raise ValueError(f"phi={phi} must lie in [0, 1).")
    e = rng.standard_normal(size) * sigma
    u = np.empty(size)
    u[0] = e[0] / math.sqrt(1 - phi * phi)
    for i in range(1, size):
        u[i] = phi * u[i - 1] + e[i]
    return u


def observe(rng: np.random.Generator, truth: TruthShape, *, phi: float, sigma: float, window: int = 4,
            missing=()) -> np.ndarray:
    """The series the study sees: trailing-window mean of (path + AR(1) noise) on t = 0 .. n - 1.

    Parameters
    ----------
    rng : numpy.random.Generator
    truth : TruthShape
    phi, sigma : float
        AR(1) coefficient and innovation standard deviation of the period noise.
    window : int
        Trailing window in periods (4 = a 30-day count sampled weekly; 1 = none).
    missing : sequence of int
        Periods without a snapshot (NaN).

    Returns
    -------
    ndarray
        ``y_t`` for t = 0 .. n - 1, NaN at the missing periods.
    """
    n, w = truth.n, int(window)
    u = ar1_noise(rng, n + w - 1, phi, sigma)
    if w > 1:
        u = np.convolve(u, np.ones(w) / w, mode="valid")
    y = truth.measure(np.arange(n, dtype=float), w) + u
    if len(missing):
        y[np.asarray(missing, dtype=int)] = np.nan
    return y


def daily_measure(truth: TruthShape, t, days: int = 30, per_period: int = 7) -> np.ndarray:
    """The noise-free measure when downloads are counted per day over a trailing window of ``days`` days and the
    snapshot is taken every ``per_period`` days: the mean of the daily path over the window ending at ``t``."""
    t = np.asarray(t, dtype=float)
    return np.mean([truth.path(t - d / per_period) for d in range(int(days))], axis=0)


def observe_daily(rng: np.random.Generator, truth: TruthShape, *, phi_day: float, sigma_day: float,
                  days: int = 30, per_period: int = 7, missing=()) -> np.ndarray:
    """A series seen the way the Hub shows it: daily AR(1) noise, a trailing ``days``-day count, weekly snapshots.

    Unlike :func:`observe`, the noise of the snapshots is not an AR(1) averaged over whole periods, so the noise
    model of the study's methods is only an approximation here (a world unlike the methods' own).

    Parameters
    ----------
    rng : numpy.random.Generator
    truth : TruthShape
        Path in periods (weeks).
    phi_day, sigma_day : float
        Daily AR(1) coefficient and innovation standard deviation.
    days : int
        Trailing window of the count (30 on the Hub).
    per_period : int
        Days between snapshots (7 = weekly).
    missing : sequence of int
        Snapshots left out.

    Returns
    -------
    ndarray
        One value per snapshot, t = 0 .. n - 1.
    """
    n = truth.n
    total = (n - 1) * per_period + days
    u = ar1_noise(rng, total, phi_day, sigma_day)
    cs = np.concatenate([[0.0], np.cumsum(u)])
    end = (np.arange(n) * per_period + days)                  # exclusive end index of each snapshot's window
    ubar = (cs[end] - cs[end - days]) / days
    y = daily_measure(truth, np.arange(n, dtype=float), days, per_period) + ubar
    if len(missing):
        y[np.asarray(missing, dtype=int)] = np.nan
    return y


def daily_noise_scale(phi_day: float, days: int = 30) -> float:
    """Standard deviation of the ``days``-day mean of a unit-innovation daily AR(1) (to match noise levels)."""
    k = np.arange(-(days - 1), days, dtype=float)
    acov = phi_day ** np.abs(k) / (1.0 - phi_day ** 2)
    return float(math.sqrt(np.sum((days - np.abs(k)) * acov) / days ** 2))


def place_crossing(shape: str, n: int, t_cross: float, *, window: int = 4, **kw) -> TruthShape:
    """A truth of the given shape whose noise-free MEASURE crosses (last upward crossing) at ``t_cross`` periods.

    The underlying crossing (``TruthShape.crossing``) is solved for numerically; other shape parameters (``slope``,
    ``jump``, ``jump_at``) are passed through. ``t_cross`` may lie outside the window.

    Raises
    ------
    ValueError
        When no truth of that shape crosses there (e.g. a crossing inside a release jump's ramp).
    """
    lo_t, hi_t = min(0.0, t_cross) - 3 * n, max(n - 1.0, t_cross) + 3 * n

    def headline(c: float) -> float:
        try:
            tr = TruthShape(shape, n, crossing=c, **kw)
            with np.errstate(over="ignore"):
                h = zero_crossings(lambda t: tr.measure(t, window), lo_t, hi_t, step=0.1).headline
        except ValueError:
            return math.nan
        return math.nan if h is None else h

    span = n - 1.0
    grid = np.linspace(lo_t / span, hi_t / span, 400)
    vals = np.array([headline(c) for c in grid])
    ok = np.isfinite(vals)
    diff = vals[ok] - t_cross
    cs = grid[ok]
    idx = np.flatnonzero(np.sign(diff[:-1]) != np.sign(diff[1:]))
    if not idx.size and not np.any(np.isclose(diff, 0.0)):
        raise ValueError(f"no {shape} truth over {n} periods crosses at period {t_cross:.2f}; choose another "
                         "crossover date or shape.")
    if np.any(np.isclose(diff, 0.0)):
        c = float(cs[np.flatnonzero(np.isclose(diff, 0.0))[0]])
    else:
        i = int(idx[0])
        c = float(optimize.brentq(lambda v: headline(v) - t_cross, cs[i], cs[i + 1], xtol=1e-10))
    got = headline(c)
    if not abs(got - t_cross) < 1e-3:
        raise ValueError(f"no {shape} truth over {n} periods crosses at period {t_cross:.2f} (closest "
                         f"{got:.2f}); choose another crossover date or shape.")
    return TruthShape(shape, n, crossing=c, **kw)
