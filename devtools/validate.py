"""Simulation study of the crossover estimators: coverage, error and how often intervals are unbounded.

Run ``python -m devtools.validate --reps 500`` (minutes; not part of the test suite). Each replicate draws
a log-ratio series ``r_t = b (t - t*) + u_t`` with AR(1) errors ``u_t = phi u_{t-1} + e_t`` (stationary start),
optionally averaged over ``window`` periods (``window = 4`` mimics a 30-day rolling download count sampled
weekly: neighbouring weeks share three of their four weeks), with a few periods missing (missing snapshots;
the same periods in every replicate of a scenario, as in the study where the gaps are fixed). It applies the
estimators exactly as the study does:

* Fieller and delta intervals from the OLS trend with

  - fixed-b inference (``fieller_fixed_b``, ``delta_fixed_b``; the study's default): Bartlett HAC with bandwidth
    ``b`` of the sample and critical values from the fixed-b statistic simulated on the design with AR(1)
    errors matched to the residuals' long-run to short-run variance ratio (``null="lrv"``,
    :func:`analysis.stats.fixedb.null_phi`), for each ``b`` in ``--bandwidths``; with the first ``b`` also
    with the AR(1) at the lag-1 autocorrelation (``fieller_fixed_b_ar1``) and with the iid-error (Kiefer and
    Vogelsang 2005) null (``fieller_fixed_b_iid``, ``delta_fixed_b_iid``);
  - classic Newey-West (``fieller_nw``, ``delta_nw``: default lag rule, small-sample factor, t with n - 2 df)
    and its VAR(1)-prewhitened variant (``fieller_nw_prewhitened``);

* the residual circular block bootstrap: studentized (bootstrap-t Fieller set, fixed-b studentization,
  blocks of ceil(n^(1/3)) periods; ``bootstrap_studentized``) and percentile (twice the Politis-White block;
  ``bootstrap_percentile``);
* the empirical first passage (k consecutive periods with ``r_t > 0``) and, optionally, its
  simulation-smoother interval.

For each scenario it reports the coverage of the nominal 95% intervals (a set that is unbounded or two rays
counts as covering when it contains t*) with its Monte Carlo standard error, the share of unbounded intervals,
the median width of bounded ones, and the median absolute error of each point estimate in periods.

The Fieller set covers t* exactly when the test of "the trend is zero at t*" does not reject, so its coverage
does not depend on the slope; only its width and how often it is unbounded do. ``--preset calibration`` runs
the scenarios of the calibration study (primary: AR(1) 0.5 with a 4-period overlap, n = 80, 100, 120; then
AR 0.3 and 0.8 with overlap, and AR 0.3, 0.5, 0.8 without).
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

from analysis.stats.crossover import DEFAULT_BANDWIDTH, crossing_block_bootstrap, first_passage, trend_crossing
from analysis.stats.results import to_jsonable

#: Scenarios of ``--preset calibration``: (phi, window, n).
CALIBRATION_SCENARIOS = [(0.5, 4, 100), (0.5, 4, 80), (0.5, 4, 120), (0.3, 4, 100), (0.8, 4, 100),
                         (0.3, 1, 100), (0.5, 1, 100), (0.8, 1, 100)]
#: Target band of the calibration (issue 5): coverage of the nominal 95% intervals within it.
TARGET = (0.92, 0.98)


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
        Newey-West lag of the "nw" intervals (None = default rule).
    bandwidths : tuple of float
        Fixed-b bandwidth fractions evaluated.
    n, t_star, n_missing, reps, bootstrap_reps, smoother_reps : int or float
        Design of the scenario.
    missing_periods : tuple of int
        The periods removed in every replicate.
    coverage : dict
        Share of replicates whose interval contains t*, by method.
    coverage_se : dict
        Monte Carlo standard error of each coverage, ``sqrt(p (1 - p) / reps)``.
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
    bandwidths: tuple
    n: int
    t_star: float
    n_missing: int
    missing_periods: tuple
    reps: int
    bootstrap_reps: int
    smoother_reps: int
    coverage: dict
    coverage_se: dict
    median_abs_error: dict
    share_unbounded: dict
    median_width: dict
    seconds: float


def simulate_series(rng: np.random.Generator, n: int, slope: float, t_star: float, phi: float, sigma: float,
                    n_missing: int = 0, window: int = 1, missing=None) -> np.ndarray:
    """One log-ratio series with AR(1) errors and missing interior periods set to NaN.

    ``window > 1`` averages the AR(1) errors over that many periods (a moving sum, as a 30-day rolling download
    count sampled weekly is, roughly, with ``window = 4``), which adds overlap-induced autocorrelation.
    ``missing`` (indices) fixes the missing periods; otherwise ``n_missing`` interior periods are drawn.
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
    if missing is not None:
        y[np.asarray(missing, dtype=int)] = np.nan
    elif n_missing:
        y[rng.choice(np.arange(1, n - 1), size=n_missing, replace=False)] = np.nan
    return y


def covers(f, t_star: float) -> bool:
    """Whether a Fieller-type set (bounded, two rays, a ray or the whole line) contains ``t_star``."""
    if f.kind == "two_rays":
        return not (f.gap[0] < t_star < f.gap[1])
    if f.kind in ("bounded", "unbounded"):
        return f.lower <= t_star <= f.upper
    return False


def _fmt_b(b) -> str:
    return str(b) if isinstance(b, str) else f"{float(b):g}"


def run_scenario(*, phi: float, reps: int = 500, n: int = 100, slope: float = 0.02, sigma: float = 0.1,
                 t_star_frac: float = 0.6, n_missing: int = 3, bootstrap_reps: int = 499, smoother_reps: int = 0,
                 k: int = 3, alpha: float = 0.05, seed: int = 12345, window: int = 1,
                 hac_lags: int | None = None, bandwidths=(DEFAULT_BANDWIDTH,),
                 bootstrap_bandwidth=DEFAULT_BANDWIDTH, percentile: bool = True,
                 other_nulls: bool = True, null_reps: int | None = None) -> ValidationSummary:
    """Simulate ``reps`` series for one scenario and summarise the estimators.

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
        Interior periods removed (the same in every replicate; drawn once from the seed).
    bootstrap_reps : int
        Replicates of the block bootstraps (0 skips them).
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
        Newey-West lag of the "nw" intervals; None = the default rule.
    bandwidths : sequence of float or str
        Fixed-b bandwidths to evaluate with the default ("lrv") null; the first is reported as
        ``fieller_fixed_b``/``delta_fixed_b``, the others with the suffix ``_b<value>``. The first is also run
        with the "ar1" null (``fieller_fixed_b_ar1``) and the iid (Kiefer-Vogelsang) null
        (``fieller_fixed_b_iid``/``delta_fixed_b_iid``).
    bootstrap_bandwidth : float or str
        Fixed-b bandwidth of the studentized bootstrap.
    percentile : bool
        Also run the percentile bootstrap.
    other_nulls : bool
        Also run the first bandwidth with the "ar1" and "iid" nulls.
    null_reps : int or None
        Draws of the simulated fixed-b nulls (None = the study's default; fewer only for quick checks).

    Returns
    -------
    ValidationSummary
    """
    rng = np.random.default_rng(seed)
    t_star = t_star_frac * (n - 1)
    missing = tuple(sorted(int(i) for i in rng.choice(np.arange(1, n - 1), size=n_missing, replace=False)))
    bandwidths = tuple(bandwidths)
    names = ["fieller_nw", "fieller_nw_prewhitened", "delta_nw"]
    for j, bw in enumerate(bandwidths):
        suffix = "" if j == 0 else f"_b{_fmt_b(bw)}"
        names += [f"fieller_fixed_b{suffix}", f"delta_fixed_b{suffix}"]
    if other_nulls:
        names += ["fieller_fixed_b_ar1", "fieller_fixed_b_iid", "delta_fixed_b_iid"]
    if bootstrap_reps:
        names += ["bootstrap_studentized"] + (["bootstrap_percentile"] if percentile else [])
    if smoother_reps:
        names.append("first_passage_smoother")
    cov = {m: [] for m in names}
    unb = {m: [] for m in names}
    width = {m: [] for m in names}
    err = {"ols_crossing": [], "bootstrap_median": [], "first_passage": []}

    def record(name, lo, hi, kind, covered):
        cov[name].append(bool(covered))
        unb[name].append(kind != "bounded")
        if kind == "bounded":
            width[name].append(hi - lo)

    start = time.time()
    for r in range(reps):
        y = simulate_series(rng, n, slope, t_star, phi, sigma, window=window, missing=missing)
        nw = trend_crossing(y, alpha=alpha, inference="nw", hac_lags=hac_lags)
        f = nw.fieller
        record("fieller_nw", f.lower, f.upper, f.kind, covers(f, t_star))
        d = nw.delta
        record("delta_nw", d.lower, d.upper, "bounded", d.lower <= t_star <= d.upper)
        f = trend_crossing(y, alpha=alpha, inference="nw", hac_lags=hac_lags, prewhite=True).fieller
        record("fieller_nw_prewhitened", f.lower, f.upper, f.kind, covers(f, t_star))
        err["ols_crossing"].append(abs(nw.fieller.estimate - t_star))
        for j, bw in enumerate(bandwidths):
            suffix = "" if j == 0 else f"_b{_fmt_b(bw)}"
            fb = trend_crossing(y, alpha=alpha, inference="fixed_b", bandwidth=bw, null_reps=null_reps)
            f, d = fb.fieller, fb.delta
            record(f"fieller_fixed_b{suffix}", f.lower, f.upper, f.kind, covers(f, t_star))
            record(f"delta_fixed_b{suffix}", d.lower, d.upper, "bounded", d.lower <= t_star <= d.upper)
        if other_nulls:
            f = trend_crossing(y, alpha=alpha, inference="fixed_b", bandwidth=bandwidths[0], null="ar1",
                               null_reps=null_reps).fieller
            record("fieller_fixed_b_ar1", f.lower, f.upper, f.kind, covers(f, t_star))
            fb = trend_crossing(y, alpha=alpha, inference="fixed_b", bandwidth=bandwidths[0], null="iid",
                                null_reps=null_reps)
            f, d = fb.fieller, fb.delta
            record("fieller_fixed_b_iid", f.lower, f.upper, f.kind, covers(f, t_star))
            record("delta_fixed_b_iid", d.lower, d.upper, "bounded", d.lower <= t_star <= d.upper)
        if bootstrap_reps:
            bs = crossing_block_bootstrap(y, reps=bootstrap_reps, seed=seed + r, alpha=alpha, method="studentized",
                                          bandwidth=bootstrap_bandwidth)
            record("bootstrap_studentized", bs.lower, bs.upper, bs.kind, covers(bs, t_star))
            err["bootstrap_median"].append(abs(bs.median - t_star))
            if percentile:
                bp = crossing_block_bootstrap(y, reps=bootstrap_reps, seed=seed + r, alpha=alpha,
                                              method="percentile")
                record("bootstrap_percentile", bp.lower, bp.upper, bp.kind, bp.lower <= t_star <= bp.upper)
        fp = first_passage(y, k=k, reps=smoother_reps, seed=seed + r, alpha=alpha, simulate=smoother_reps > 0)
        err["first_passage"].append(abs(fp.index - t_star) if fp.index is not None else np.inf)
        if smoother_reps:
            lo = fp.lower_index if fp.lower_index is not None else np.inf
            hi = fp.upper_index if fp.upper_index is not None else np.inf
            # the smoother dates the first period of the run, i.e. the first integer period after t*
            record("first_passage_smoother", lo, hi, "bounded" if fp.upper_index is not None else "unbounded",
                   lo <= math.ceil(t_star) <= hi)

    def mean(v):
        return float(np.mean(v)) if len(v) else float("nan")

    def med(v):
        return float(np.median(v)) if len(v) else float("nan")

    coverage = {k_: mean(v) for k_, v in cov.items() if len(v)}
    return ValidationSummary(phi=phi, slope=slope, sigma=sigma, window=window, hac_lags=hac_lags,
                             bandwidths=bandwidths, n=n, t_star=t_star, n_missing=n_missing,
                             missing_periods=missing, reps=reps, bootstrap_reps=bootstrap_reps,
                             smoother_reps=smoother_reps, coverage=coverage,
                             coverage_se={k_: math.sqrt(p * (1 - p) / reps) for k_, p in coverage.items()},
                             median_abs_error={k_: med(v) for k_, v in err.items() if len(v)},
                             share_unbounded={k_: mean(v) for k_, v in unb.items() if len(v)},
                             median_width={k_: med(v) for k_, v in width.items() if len(v)},
                             seconds=time.time() - start)


def table(summaries: list[ValidationSummary]) -> str:
    """Plain-text table: one row per scenario and method (coverage, MC s.e., unbounded share, median width)."""
    lines = [f"{'phi':>4} {'win':>3} {'n':>4} {'slope':>6} {'method':<34} {'coverage':>8} {'(se)':>7} "
             f"{'in target':>9} {'unbounded':>9} {'med.width':>9}"]
    for s in summaries:
        for m, c in s.coverage.items():
            ok = "yes" if TARGET[0] <= c <= TARGET[1] else "NO"
            lines.append(f"{s.phi:>4.2f} {s.window:>3d} {s.n:>4d} {s.slope:>6g} {m:<34} {c:>8.3f} "
                         f"({s.coverage_se[m]:.3f}) {ok:>9} {s.share_unbounded.get(m, float('nan')):>9.3f} "
                         f"{s.median_width.get(m, float('nan')):>9.1f}")
        lines.append(f"{'':>4} {'':>3} {'':>4} {'':>6} median |error| (periods): "
                     + ", ".join(f"{k}={v:.2f}" for k, v in s.median_abs_error.items())
                     + f"  [{s.reps} reps, {s.seconds:.0f}s]")
    return "\n".join(lines)


def _run_kwargs(kw: dict) -> ValidationSummary:
    return run_scenario(**kw)


def _bandwidth_arg(v: str):
    return v if v == "llsw" else float(v)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the scenarios, print the table and optionally save the summaries as JSON."""
    p = argparse.ArgumentParser(prog="python -m devtools.validate", description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=500, help="simulated series per scenario (default 500)")
    p.add_argument("--preset", choices=["calibration"], default=None,
                   help="run the calibration scenarios (AR 0.5 with 4-period overlap at n = 80, 100, 120; AR 0.3 "
                        "and 0.8 with overlap; AR 0.3, 0.5, 0.8 without); overrides --phi/--window/--n")
    p.add_argument("--phi", type=float, nargs="+", default=[0.5], help="AR(1) coefficients")
    p.add_argument("--window", type=int, nargs="+", default=[4],
                   help="moving-average windows of the errors; 4 mimics weekly samples of a 30-day count")
    p.add_argument("--n", type=int, nargs="+", default=[100], help="periods per series")
    p.add_argument("--slope", type=float, nargs="+", default=[0.02], help="true slopes per period")
    p.add_argument("--sigma", type=float, default=0.1, help="innovation standard deviation")
    p.add_argument("--missing", type=int, default=3, help="periods removed from each series")
    p.add_argument("--hac-lags", type=int, default=None, help="Newey-West lag of the nw intervals")
    p.add_argument("--bandwidths", type=_bandwidth_arg, nargs="+", default=[DEFAULT_BANDWIDTH],
                   help="fixed-b bandwidth fractions b (or 'llsw'); the first is the headline one")
    p.add_argument("--bootstrap-bandwidth", type=_bandwidth_arg, default=DEFAULT_BANDWIDTH,
                   help="fixed-b bandwidth of the studentized bootstrap")
    p.add_argument("--bootstrap-reps", type=int, default=499, help="bootstrap replicates per series (0 = skip)")
    p.add_argument("--no-percentile", action="store_true", help="skip the percentile bootstrap")
    p.add_argument("--smoother-reps", type=int, default=0, help="simulation-smoother draws (0 = skip; slow)")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--jobs", type=int, default=1, help="scenarios run in parallel processes (default 1)")
    p.add_argument("--out", type=Path, default=None,
                   help="write the summaries as JSON to this file (e.g. data/processed/results/validation.json)")
    args = p.parse_args(argv)
    if args.preset == "calibration":
        scenarios = [(slope, phi, w, n) for slope in args.slope for phi, w, n in CALIBRATION_SCENARIOS]
    else:
        scenarios = [(slope, phi, w, n) for slope in args.slope for phi in args.phi for w in args.window
                     for n in args.n]
    kwargs = [dict(phi=phi, reps=args.reps, n=n, slope=slope, sigma=args.sigma, n_missing=args.missing,
                   bootstrap_reps=args.bootstrap_reps, smoother_reps=args.smoother_reps, seed=args.seed,
                   window=window, hac_lags=args.hac_lags, bandwidths=tuple(args.bandwidths),
                   bootstrap_bandwidth=args.bootstrap_bandwidth, percentile=not args.no_percentile)
              for slope, phi, window, n in scenarios]
    out: list[ValidationSummary] = []
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for s in pool.map(_run_kwargs, kwargs):  # in scenario order
                out.append(s)
                print(table([s]).split("\n", 1)[1] if len(out) > 1 else table([s]), flush=True)
    else:
        for kw in kwargs:
            out.append(run_scenario(**kw))
            print(table([out[-1]]).split("\n", 1)[1] if len(out) > 1 else table([out[-1]]), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        doc = {"command": "python -m devtools.validate " + " ".join(argv if argv is not None else sys.argv[1:]),
               "target": list(TARGET), "scenarios": to_jsonable(out)}
        args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
