"""Simulation study of the crossover estimators: coverage, error and how often intervals are unbounded.

Run ``python -m analysis.stats.validate --reps 500`` (minutes; not part of the test suite). Each replicate draws
a log-ratio series ``r_t = b (t - t*) + u_t`` with AR(1) errors ``u_t = phi u_{t-1} + e_t`` (stationary start),
removes a few periods at random (missing snapshots), and applies the estimators exactly as the study does:

* Fieller and delta intervals from the OLS trend with Newey-West errors (default lag rule, small-sample factor,
  t critical values with n - 2 df);
* the residual circular block bootstrap (Politis-White block length);
* the empirical first passage (k consecutive periods with ``r_t > 0``) and, optionally, its
  simulation-smoother interval.

For each AR coefficient it reports the coverage of the nominal 95% intervals (a set that is unbounded or two
rays counts as covering when it contains t*), the median absolute error of each point estimate in periods,
the share of unbounded intervals and the median width of bounded ones. The Fieller set is computed with the
plain Newey-West covariance (the study's specification) and with the VAR(1)-prewhitened one.

Note: the Fieller set covers t* exactly when the t test of "the trend is zero at t*" does not reject, so its
coverage does not depend on the slope (only its width and how often it is unbounded do). The default slopes are
a strong trend (0.02 per period) and a weak one (0.002 per period) whose Fieller sets are often unbounded.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .crossover import crossing_block_bootstrap, crossing_delta, crossing_fieller, first_passage
from .results import to_jsonable
from .trend import ols_trend


@dataclass(frozen=True)
class ValidationSummary:
    """Operating characteristics of the crossover estimators in one simulation scenario.

    Attributes
    ----------
    phi, slope, sigma : float
        AR(1) coefficient, trend slope per period, innovation standard deviation.
    window : int
        Moving-average window of the errors (1 = plain AR(1)).
    hac_lags : int or None
        Newey-West lag used (None = default rule).
    n, t_star, n_missing, reps, bootstrap_reps : int or float
        Design of the scenario.
    coverage : dict
        Share of replicates whose interval contains t*, by method.
    median_abs_error : dict
        Median of ``|estimate - t*|`` (periods), by point estimator.
    share_unbounded : dict
        Share of replicates with an unbounded (or two-ray) interval, by method.
    median_width : dict
        Median width of the bounded intervals (periods), by method.
    seconds : float
        Run time.
    """

    phi: float
    slope: float
    sigma: float
    window: int
    hac_lags: int | None
    n: int
    t_star: float
    n_missing: int
    reps: int
    bootstrap_reps: int
    smoother_reps: int
    coverage: dict
    median_abs_error: dict
    share_unbounded: dict
    median_width: dict
    seconds: float


def simulate_series(rng: np.random.Generator, n: int, slope: float, t_star: float, phi: float, sigma: float,
                    n_missing: int, window: int = 1) -> np.ndarray:
    """One log-ratio series with AR(1) errors and ``n_missing`` interior periods set to NaN.

    ``window > 1`` averages the AR(1) errors over that many periods (a moving sum, as a 30-day rolling download
    count sampled weekly is, roughly, with ``window = 4``), which adds overlap-induced autocorrelation.
    """
    m = n + window - 1
    e = rng.standard_normal(m) * sigma
    u = np.empty(m)
    u[0] = e[0] / math.sqrt(1 - phi**2)
    for i in range(1, m):
        u[i] = phi * u[i - 1] + e[i]
    if window > 1:
        u = np.convolve(u, np.ones(window) / window, mode="valid")
    y = slope * (np.arange(n) - t_star) + u
    if n_missing:
        y[rng.choice(np.arange(1, n - 1), size=n_missing, replace=False)] = np.nan
    return y


def _covers_fieller(f, t_star: float) -> bool:
    if f.kind == "bounded":
        return f.lower <= t_star <= f.upper
    if f.kind == "two_rays":
        return not (f.gap[0] < t_star < f.gap[1])
    if f.kind == "unbounded":
        if f.gap is not None:  # single ray
            return f.lower <= t_star <= f.upper
        return True
    return False


def run_scenario(*, phi: float, reps: int = 500, n: int = 100, slope: float = 0.02, sigma: float = 0.1,
                 t_star_frac: float = 0.6, n_missing: int = 3, bootstrap_reps: int = 499, smoother_reps: int = 0,
                 k: int = 3, alpha: float = 0.05, seed: int = 12345, window: int = 1,
                 hac_lags: int | None = None) -> ValidationSummary:
    """Simulate ``reps`` series for one AR coefficient and summarise the estimators.

    Parameters
    ----------
    phi : float
        AR(1) coefficient of the errors.
    reps : int
        Number of simulated series.
    n : int
        Periods per series.
    slope : float
        True slope of the log ratio per period.
    sigma : float
        Innovation standard deviation.
    t_star_frac : float
        True crossing as a fraction of the sample length.
    n_missing : int
        Interior periods removed at random from every series.
    bootstrap_reps : int
        Replicates of the block bootstrap (0 skips it).
    smoother_reps : int
        Simulation-smoother draws for the first-passage interval (0 skips it; slow).
    k : int
        Run length of the first passage.
    alpha : float
        1 - nominal level.
    seed : int
        Seed of the simulation.
    window : int
        Moving-average window applied to the AR(1) errors (1 = none; 4 mimics weekly samples of a 30-day count).
    hac_lags : int or None
        Newey-West lag of the Fieller and delta intervals; None = the default rule.

    Returns
    -------
    ValidationSummary
    """
    rng = np.random.default_rng(seed)
    t_star = t_star_frac * (n - 1)
    cov = {"fieller": [], "fieller_prewhitened": [], "delta": [], "bootstrap": [], "first_passage_smoother": []}
    err = {"ols_crossing": [], "bootstrap_median": [], "first_passage": []}
    unb = {"fieller": [], "fieller_prewhitened": [], "bootstrap": [], "first_passage_smoother": []}
    width = {"fieller": [], "fieller_prewhitened": [], "delta": [], "bootstrap": [], "first_passage_smoother": []}
    start = time.time()
    for r in range(reps):
        y = simulate_series(rng, n, slope, t_star, phi, sigma, n_missing, window=window)
        fit = ols_trend(y, hac_lags=hac_lags)
        a, b = fit.params
        f = crossing_fieller(a, b, fit.cov, alpha=alpha, df=fit.df_resid)
        fit_pw = ols_trend(y, hac_lags=hac_lags, prewhite=True)
        f_pw = crossing_fieller(*fit_pw.params, fit_pw.cov, alpha=alpha, df=fit_pw.df_resid)
        cov["fieller_prewhitened"].append(_covers_fieller(f_pw, t_star))
        unb["fieller_prewhitened"].append(f_pw.kind != "bounded")
        if f_pw.kind == "bounded":
            width["fieller_prewhitened"].append(f_pw.upper - f_pw.lower)
        d = crossing_delta(a, b, fit.cov, alpha=alpha, df=fit.df_resid)
        cov["fieller"].append(_covers_fieller(f, t_star))
        unb["fieller"].append(f.kind != "bounded")
        if f.kind == "bounded":
            width["fieller"].append(f.upper - f.lower)
        cov["delta"].append(d.lower <= t_star <= d.upper)
        width["delta"].append(d.upper - d.lower)
        err["ols_crossing"].append(abs(f.estimate - t_star))
        if bootstrap_reps:
            bs = crossing_block_bootstrap(y, reps=bootstrap_reps, seed=seed + r, alpha=alpha)
            cov["bootstrap"].append(bs.lower <= t_star <= bs.upper)
            unb["bootstrap"].append(bs.kind != "bounded")
            if bs.kind == "bounded":
                width["bootstrap"].append(bs.upper - bs.lower)
            err["bootstrap_median"].append(abs(bs.median - t_star))
        fp = first_passage(y, k=k, reps=smoother_reps, seed=seed + r, alpha=alpha, simulate=smoother_reps > 0)
        err["first_passage"].append(abs(fp.index - t_star) if fp.index is not None else np.inf)
        if smoother_reps:
            lo = fp.lower_index if fp.lower_index is not None else np.inf
            hi = fp.upper_index if fp.upper_index is not None else np.inf
            # the smoother dates the first period of the run, i.e. the first integer period after t*
            cov["first_passage_smoother"].append(lo <= math.ceil(t_star) <= hi)
            unb["first_passage_smoother"].append(fp.upper_index is None)
            if fp.upper_index is not None:
                width["first_passage_smoother"].append(hi - lo)

    def mean(v):
        return float(np.mean(v)) if len(v) else float("nan")

    def med(v):
        return float(np.median(v)) if len(v) else float("nan")

    return ValidationSummary(phi=phi, slope=slope, sigma=sigma, window=window, hac_lags=hac_lags, n=n,
                             t_star=t_star, n_missing=n_missing, reps=reps,
                             bootstrap_reps=bootstrap_reps, smoother_reps=smoother_reps,
                             coverage={k_: mean(v) for k_, v in cov.items() if len(v)},
                             median_abs_error={k_: med(v) for k_, v in err.items() if len(v)},
                             share_unbounded={k_: mean(v) for k_, v in unb.items() if len(v)},
                             median_width={k_: med(v) for k_, v in width.items() if len(v)},
                             seconds=time.time() - start)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the scenarios and print (and optionally save) the summary."""
    p = argparse.ArgumentParser(prog="python -m analysis.stats.validate", description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=500, help="simulated series per scenario (default 500)")
    p.add_argument("--phi", type=float, nargs="+", default=[0.3, 0.6, 0.8], help="AR(1) coefficients")
    p.add_argument("--n", type=int, default=100, help="periods per series")
    p.add_argument("--slope", type=float, nargs="+", default=[0.02, 0.002],
                   help="true slopes per period (a strong and a weak trend by default)")
    p.add_argument("--sigma", type=float, default=0.1, help="innovation standard deviation")
    p.add_argument("--missing", type=int, default=3, help="periods removed from each series")
    p.add_argument("--window", type=int, default=1,
                   help="moving-average window of the errors; 4 mimics weekly samples of a 30-day count")
    p.add_argument("--hac-lags", type=int, default=None, help="Newey-West lag (default: the default rule)")
    p.add_argument("--bootstrap-reps", type=int, default=499, help="bootstrap replicates per series (0 = skip)")
    p.add_argument("--smoother-reps", type=int, default=0, help="simulation-smoother draws (0 = skip; slow)")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--out", type=Path, default=None, help="write the summaries as JSON to this file")
    args = p.parse_args(argv)
    out = []
    scenarios = [(slope, phi) for slope in args.slope for phi in args.phi]
    for slope, phi in scenarios:
        s = run_scenario(phi=phi, reps=args.reps, n=args.n, slope=slope, sigma=args.sigma,
                         n_missing=args.missing, bootstrap_reps=args.bootstrap_reps,
                         smoother_reps=args.smoother_reps, seed=args.seed, window=args.window,
                         hac_lags=args.hac_lags)
        out.append(s)
        print(f"slope={slope} phi={phi:.2f} sigma={s.sigma} window={s.window} hac_lags={s.hac_lags} n={s.n} "
              f"t*={s.t_star:.1f} "
              f"missing={s.n_missing} "
              f"reps={s.reps} ({s.seconds:.0f}s)")
        print("  coverage        " + ", ".join(f"{k}={v:.3f}" for k, v in s.coverage.items()))
        print("  median |error|  " + ", ".join(f"{k}={v:.2f}" for k, v in s.median_abs_error.items()))
        print("  share unbounded " + ", ".join(f"{k}={v:.3f}" for k, v in s.share_unbounded.items()))
        print("  median width    " + ", ".join(f"{k}={v:.1f}" for k, v in s.median_width.items()))
        sys.stdout.flush()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(to_jsonable(out), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
