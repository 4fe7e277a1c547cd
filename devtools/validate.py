"""Simulation study of the crossover and break-test methods on worlds that break their assumptions.

``python -m devtools.validate --preset calibration`` (a few hours on two shared cores; ``--jobs 2`` runs two
scenarios at a time) writes ``data/reference/calibration.json``, the file every reading, README line and
values.tex macro quotes for coverage figures. Not part of the test suite (a small, fast version of it is:
``tests/test_stats_local.py``).

Each replicate draws a series from :mod:`analysis.simulate.shapes`, the one simulator of truths (the demo Hub uses
it too): a noise-free path of log(share_CN / share_US) of a given shape, plus AR(1) noise, both seen through a
trailing 4-period window (weekly snapshots of a 30-day count), with two snapshots missing (the same ones in every
replicate of a scenario). The estimand is the crossing of the noise-free measure.

Scenarios of the calibration preset
-----------------------------------
* ``cells``: truths {line, release_jump, s_curve, saturation} x n {52, 104} x AR(1) {0.5, 0.8}: coverage of every
  crossover set (a set that reaches the window's end counts as covering a crossing beyond it; the headline
  local-linear set, the straight-line Fieller set with fixed-b and with classic Newey-West inference, the
  studentized block bootstrap, the first-passage interval), Monte Carlo standard errors, median absolute error of
  the point estimates (a series without an estimate counts as an infinite error), median width of bounded sets and
  the share of open sets; plus ``two_crossings`` (coverage of each crossing and of all of them at once);
* ``after_window``: a straight line crossing 5% of the window after its end: how often the headline claims a bounded
  overtaking date inside the window (a false claim);
* ``robustness``: daily AR(1) noise counted over a trailing 30 days and snapshotted weekly (noise that is NOT an
  AR(1) averaged over whole weeks, the methods' model), line and release jump, n = 104;
* ``break_size``: the break tests on a straight line (no break) at each n and AR(1): share of p-values below 0.05,
  with the study's calibrated noise-model p-values and, for comparison, uncalibrated ones and independent-noise
  nulls.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from analysis.simulate.shapes import (SHAPES, TruthShape, ar1_noise, daily_measure, daily_noise_scale, observe,
                                      observe_daily, underlying_crossings, zero_crossings)
from analysis.stats import breaknull as BN
from analysis.stats import breaks as B
from analysis.stats import local as L
from analysis.stats.crossover import (FirstPassageResult, crossing_block_bootstrap, first_passage_interval,
                                      first_run_start, trend_crossing)
from analysis.stats.noise import fit_noise
from analysis.stats.readings import current_settings
from analysis.stats.report import break_lags
from analysis.stats.results import to_jsonable
from devtools import write_json

CORE_TRUTHS = ("line", "release_jump", "s_curve", "saturation")
NS = (52, 104)
PHIS = (0.5, 0.8)
#: Target band of the headline coverage (nominal 95%).
TARGET = (0.92, 0.98)
DEFAULT_OUT = Path("data/reference/calibration.json")
#: Parts of the calibration file (scenario groups).
PARTS = ("cells", "after_window", "robustness", "break_size")


def _missing(rng: np.random.Generator, n: int, count: int) -> tuple:
    return tuple(sorted(int(i) for i in rng.choice(np.arange(2, n - 2), size=count, replace=False)))


def _covers_fieller(f, theta: float) -> bool:
    if f.kind == "two_rays":
        return not (f.gap[0] < theta < f.gap[1])
    if f.kind in ("bounded", "unbounded"):
        return bool(f.lower <= theta <= f.upper)
    return False


class _Tally:
    """Coverage, error and width of one method over the replicates of a scenario."""

    def __init__(self):
        self.cov, self.err, self.width, self.open, self.none = [], [], [], [], []

    def add(self, covered: bool | None, err: float | None = None, width: float | None = None,
            is_open: bool = False):
        if covered is not None:
            self.cov.append(bool(covered))
        if err is not None:
            self.err.append(err)
            self.none.append(not math.isfinite(err))
        if width is not None:
            self.width.append(width)
        self.open.append(bool(is_open))

    def summary(self) -> dict:
        n = len(self.cov)
        p = float(np.mean(self.cov)) if n else None
        e = np.array(self.err, dtype=float)
        fin = e[np.isfinite(e)]
        return {"coverage": p, "coverage_se": math.sqrt(p * (1 - p) / n) if n else None, "n": n,
                "median_abs_error": float(np.median(e)) if e.size else None,
                "median_abs_error_given_estimate": float(np.median(fin)) if fin.size else None,
                "share_no_estimate": float(np.mean(~np.isfinite(e))) if e.size else None,
                "median_width": float(np.median(self.width)) if self.width else None,
                "share_open": float(np.mean(self.open)) if self.open else None}


def true_first_passage(values_at_grid: np.ndarray, k: int) -> int | None:
    """First grid period starting a run of ``k`` periods with the noise-free measure above zero."""
    return first_run_start(values_at_grid > 0, k)


def run_cell(truth: str, n: int, phi: float, *, reps: int = 300, seed: int = 12345, sigma: float = 0.1,
             slope: float = 0.02, window: int = 4, n_missing: int = 2, k: int = 3, alpha: float = 0.05,
             straight: bool = True, bootstrap_reps: int = 199, local_reps: int = L.DEFAULT_LOCAL_REPS,
             noise: str = "weekly", local: bool = True, null_reps: int | None = None) -> dict:
    """Simulate ``reps`` series of one scenario and summarise every crossover method.

    Parameters
    ----------
    truth : str
        Shape (:data:`analysis.simulate.shapes.SHAPES`).
    n : int
        Periods.
    phi : float
        AR(1) coefficient of the period noise (weekly world) or the weekly-equivalent coefficient (daily world:
        daily coefficient ``phi ** (1/7)``).
    reps : int
        Series.
    seed : int
        Seed.
    sigma : float
        Innovation sd of the period noise (the daily world matches the sd of the snapshots' noise to it).
    slope : float
        Rise of the log ratio per period.
    window : int
        Trailing window in periods (weekly world) and the window the methods assume.
    n_missing : int
        Snapshots missing (the same in every replicate).
    k : int
        First-passage run length.
    alpha : float
        1 - nominal level.
    straight : bool
        Also run the straight-line methods (Fieller fixed-b and classic Newey-West, block bootstrap).
    bootstrap_reps : int
        Bootstrap replicates (0 skips the bootstrap).
    local_reps : int
        Null draws of the local-linear test.
    noise : {"weekly", "daily"}
        "weekly": AR(1) per period averaged over ``window`` periods (the methods' model); "daily": daily AR(1)
        counted over 30 days, snapshotted every 7 days.
    local : bool
        Run the headline local-linear set (and the first-passage interval derived from it).
    null_reps : int or None
        Draws of the straight-line fixed-b nulls (None = the study's default; fewer only for quick checks).

    Returns
    -------
    dict
    """
    rng = np.random.default_rng([seed, int(round(1000 * phi)), n, SHAPES.index(truth), 0 if noise == "weekly" else 1])
    tr = TruthShape(truth, n, slope=slope)
    grid = np.arange(n, dtype=float)
    if noise == "daily":
        meas = lambda t: daily_measure(tr, t)  # noqa: E731
        lag = 29 / 14.0
        phi_day = phi ** (1 / 7)
        ref = np.std(np.convolve(ar1_noise(np.random.default_rng(0), 20000, phi, sigma), np.ones(window) / window,
                                 "valid"))
        sigma_day = ref / daily_noise_scale(phi_day)
    else:
        meas = lambda t: tr.measure(t, window)  # noqa: E731
        lag = (window - 1) / 2.0
    cross = zero_crossings(meas, 0.0, n - 1.0)
    under = underlying_crossings(tr)
    theta = cross.headline
    fp_true = true_first_passage(meas(grid), k)
    missing = _missing(rng, n, n_missing)
    tallies = {m: _Tally() for m in ("local_linear", "first_passage", "fieller_fixed_b", "fieller_nw",
                                      "bootstrap_studentized")}
    shift_err, kinds, each, joint, n_found, false_claim, bounded, line_false = [], {}, [], [], [], [], [], []
    start = time.time()
    for r in range(reps):
        if noise == "daily":
            y = observe_daily(rng, tr, phi_day=phi_day, sigma_day=sigma_day, missing=missing)
        else:
            y = observe(rng, tr, phi=phi, sigma=sigma, window=window, missing=missing)
        if local:
            _local_replicate(y, window, alpha, local_reps, theta, under, lag, cross, fp_true, k, grid, n, tallies,
                             kinds, shift_err, false_claim, bounded, each, joint, n_found)
        if straight:
            fb = trend_crossing(y, alpha=alpha, null_reps=null_reps)
            f = fb.fieller
            rising = fb.fit.params[1] > 0
            e = abs(f.estimate - theta) if (theta is not None and rising) else (math.inf if theta is not None
                                                                                  else None)
            tallies["fieller_fixed_b"].add(_covers_fieller(f, theta) if theta is not None else None, e,
                                           f.upper - f.lower if f.kind == "bounded" else None, f.kind != "bounded")
            line_false.append(rising and f.kind == "bounded" and f.estimate <= n - 1)
            nw = trend_crossing(y, alpha=alpha, inference="nw").fieller
            tallies["fieller_nw"].add(_covers_fieller(nw, theta) if theta is not None else None, None,
                                      nw.upper - nw.lower if nw.kind == "bounded" else None, nw.kind != "bounded")
            if bootstrap_reps:
                bs = crossing_block_bootstrap(y, reps=bootstrap_reps, seed=seed + r, alpha=alpha,
                                              method="studentized")
                tallies["bootstrap_studentized"].add(_covers_fieller(bs, theta) if theta is not None else None,
                                                     None, bs.upper - bs.lower if bs.kind == "bounded" else None,
                                                     bs.kind != "bounded")
    out = {"truth": truth, "n": n, "phi": phi, "noise_world": noise, "reps": reps, "seed": seed, "sigma": sigma,
           "slope": slope, "window": window, "missing": list(missing), "k": k,
           "true_crossings": list(cross.times), "true_directions": list(cross.directions), "true_headline": theta,
           "true_underlying_headline": under.headline, "true_first_passage": fp_true,
           "methods": {m: t.summary() for m, t in tallies.items() if t.cov or t.open},
           "kinds": {kk: v / reps for kk, v in kinds.items()}, "seconds": round(time.time() - start, 1)}
    if shift_err:
        out["underlying_shift"] = {"lag_periods": lag, "median_abs_error": float(np.median(shift_err))}
    if theta is None and false_claim:
        p = float(np.mean(false_claim))
        out["false_claim"] = p
        out["false_claim_se"] = math.sqrt(p * (1 - p) / reps)
        out["share_bounded"] = float(np.mean(bounded))
        if line_false:
            out["straight_line_false_claim"] = float(np.mean(line_false))
    if each:
        ea = np.array(each, dtype=float)
        out["two_crossings"] = {"coverage_each": ea.mean(axis=0).tolist(), "coverage_joint": float(np.mean(joint)),
                                "share_found_all": float(np.mean(np.array(n_found) >= len(cross.times)))}
    L._null.cache_clear()
    L._coverage.cache_clear()
    L._design.cache_clear()
    return to_jsonable(out)


def run_break_size(n: int, phi: float, *, reps: int = 300, seed: int = 12345, sigma: float = 0.1,
                   slope: float = 0.02, window: int = 4, n_missing: int = 2, mc_reps: int = 499) -> dict:
    """Size of the break tests on a straight line (no break): share of p-values below 0.05.

    Each test's p-value is the one the study reports (:func:`analysis.stats.report.run_trend_tests`): simulated
    with the fitted noise model and calibrated by a double bootstrap over the plausible noise coefficients
    (:mod:`analysis.stats.breaknull`); the Chow test is at 45% of the window. ``<test>_raw`` is the share with the
    uncalibrated noise-model p-value and ``<test>_iid`` with independent-normal nulls (for comparison);
    ``bai_perron`` is the share of series with a reported break (Bai-Perron is reported only when sup-F rejects),
    ``bai_perron_bic`` the share where the BIC alone picks a break.
    """
    rng = np.random.default_rng([seed, int(round(1000 * phi)), n, 99])
    tr = TruthShape("line", n, slope=slope)
    missing = _missing(rng, n, n_missing)
    t = np.arange(n, dtype=float)
    rej = {f"{k}{suffix}": [] for k in BN.TESTS for suffix in ("", "_raw", "_iid")}
    rej.update(bai_perron=[], bai_perron_bic=[])
    start = time.time()
    for r in range(reps):
        y = observe(rng, tr, phi=phi, sigma=sigma, window=window, missing=missing)
        obs = np.isfinite(y)
        yo, to = y[obs], t[obs]
        X = np.column_stack([np.ones(yo.size), to])
        lags = min(break_lags(n), max(2, (yo.size - 1) // 4))
        fitted = fit_noise(yo, to, window=window, lags=lags)
        design = BN.BreakNullDesign(tuple(float(v) for v in to - to[0]), window, lags, 0.15, int(0.45 * yo.size))
        observed = {k: float(v[0]) for k, v in BN.statistics(yo[:, None], design).items()}
        res = BN.calibrated_p_values(observed, design, fitted.index, reps=mc_reps, tail=BN.BREAK_PLAUSIBLE,
                                     iid_reps=mc_reps)
        for test, v in res.items():
            rej[test].append(v.p_value < 0.05)
            rej[f"{test}_raw"].append(v.p_raw < 0.05)
            rej[f"{test}_iid"].append(v.p_iid < 0.05)
        chosen = B.bai_perron(yo, X).chosen
        rej["bai_perron"].append(res["sup_f"].p_value < 0.05 and chosen > 0)
        rej["bai_perron_bic"].append(chosen > 0)
    BN._world.cache_clear()
    return {"n": n, "phi": phi, "reps": reps, "seed": seed, "mc_reps": mc_reps, "missing": list(missing),
            "plausible_tail": BN.BREAK_PLAUSIBLE, **{k: float(np.mean(v)) for k, v in rej.items()},
            "se": math.sqrt(0.05 * 0.95 / reps), "seconds": round(time.time() - start, 1)}


def _local_replicate(y, window, alpha, local_reps, theta, under, lag, cross, fp_true, k, grid, n, tallies, kinds,
                     shift_err, false_claim, bounded, each, joint, n_found) -> None:
    """One replicate of the headline local-linear set and of the first-passage interval derived from it."""
    loc = L.local_crossing(y, window=window, alpha=alpha, reps=local_reps, keep_path=False)
    kinds[loc.kind] = kinds.get(loc.kind, 0) + 1
    width = loc.upper - loc.lower if loc.kind == "bounded" else None
    is_open = loc.kind in ("unbounded", "two_rays")
    err = abs(loc.estimate - theta) if (theta is not None and loc.estimate is not None) else math.inf
    tallies["local_linear"].add(loc.contains(theta) if theta is not None else None,
                                err if theta is not None else None, width, is_open)
    if theta is not None and under.headline is not None:
        shift_err.append(abs(loc.estimate - lag - under.headline) if loc.estimate is not None else math.inf)
    false_claim.append(loc.kind == "bounded" and loc.estimate is not None)
    bounded.append(loc.kind == "bounded")
    if len(cross.times) > 1:
        cov_each = [loc.contains(c) for c in cross.times]
        each.append(cov_each)
        joint.append(all(cov_each))
        n_found.append(len(loc.crossings))
    # first passage of the underlying measure: the headline set in whole periods
    if fp_true is not None:
        fp = FirstPassageResult(k, None, None, None, "", n)
        if loc.kind != "no_crossing":
            fp = first_passage_interval(fp, grid, loc.lower, loc.upper, "local")
        lo_ok = (loc.kind != "no_crossing") and (fp.lower_index is None or fp.lower_index <= fp_true)
        hi_ok = (loc.kind != "no_crossing") and (fp.upper_index is None or fp_true <= fp.upper_index)
        tallies["first_passage"].add(lo_ok and hi_ok, None,
                                     (fp.upper_index - fp.lower_index) if (fp.lower_index is not None and
                                                                           fp.upper_index is not None) else None,
                                     fp.lower_index is None or fp.upper_index is None)


def _task(spec: tuple) -> tuple:
    kind, kw = spec
    return kind, (run_break_size(**kw) if kind == "break_size" else run_cell(**kw))


def calibration_tasks(reps: int, seed: int, bootstrap_reps: int, break_reps: int, mc_reps: int) -> list:
    """The scenarios of ``--preset calibration``, slowest first."""
    tasks = []
    for n in sorted(NS, reverse=True):
        for phi in PHIS:
            for truth in CORE_TRUTHS + ("two_crossings", "after_window"):
                tasks.append(("cells" if truth in CORE_TRUTHS + ("two_crossings",) else "after_window",
                              dict(truth=truth, n=n, phi=phi, reps=reps, seed=seed, bootstrap_reps=bootstrap_reps,
                                   straight=True)))
            tasks.append(("break_size", dict(n=n, phi=phi, reps=break_reps, seed=seed, mc_reps=mc_reps)))
    for truth in ("line", "release_jump"):
        for phi in PHIS:
            tasks.append(("robustness", dict(truth=truth, n=104, phi=phi, reps=reps, seed=seed, noise="daily",
                                             straight=False)))
    return tasks


def summarise(doc: dict) -> dict:
    """Coverage range of each method over the core cells, and the worst cells, for the file's summary."""
    out = {}
    core = [c for c in doc.get("cells", []) if c["truth"] in CORE_TRUTHS]
    for m in ("local_linear", "first_passage", "fieller_fixed_b", "fieller_nw", "bootstrap_studentized"):
        vals = [(c["methods"][m]["coverage"], c) for c in core if m in c["methods"]
                and c["methods"][m].get("coverage") is not None]
        if vals:
            lo = min(vals, key=lambda v: v[0])
            hi = max(vals, key=lambda v: v[0])
            out[m] = {"coverage_min": lo[0], "coverage_max": hi[0],
                      "worst_cell": {k: lo[1][k] for k in ("truth", "n", "phi")},
                      "cells_in_target": sum(TARGET[0] <= v[0] <= TARGET[1] for v in vals), "cells": len(vals)}
    aw = doc.get("after_window") or []
    if aw:
        out["after_window_false_claim_max"] = max(r["false_claim"] for r in aw)
    bs = doc.get("break_size") or []
    for test in ("sup_f", "cusum", "pettitt", "chow", "bai_perron"):
        v = [r[test] for r in bs if test in r]
        if v:
            out[f"break_size_{test}"] = {"min": min(v), "max": max(v)}
    return out


def table(doc: dict) -> str:
    """Plain-text table of the file's scenarios."""
    lines = [f"{'truth':<14}{'n':>4}{'phi':>5}  {'method':<22}{'cover':>6}{'(se)':>7}{'med|err|':>9}"
             f"{'width':>7}{'open':>6}"]
    for c in doc.get("cells", []) + doc.get("robustness", []):
        for m, v in c["methods"].items():
            if v.get("coverage") is None:
                continue
            lines.append(f"{c['truth'] + ('*' if c.get('noise_world') == 'daily' else ''):<14}{c['n']:>4}"
                         f"{c['phi']:>5.1f}  {m:<22}{v['coverage']:>6.3f} ({v['coverage_se']:.3f})"
                         f"{_f(v.get('median_abs_error')):>9}{_f(v.get('median_width')):>7}"
                         f"{_f(v.get('share_open')):>6}")
    for c in doc.get("after_window", []):
        lines.append(f"after_window  {c['n']:>4}{c['phi']:>5.1f}  false claim {c['false_claim']:.3f} "
                     f"({c['false_claim_se']:.3f}); straight line {c.get('straight_line_false_claim', float('nan')):.3f}")
    for r in doc.get("break_size", []):
        lines.append(f"break size    {r['n']:>4}{r['phi']:>5.1f}  " + ", ".join(
            f"{t}={r[t]:.3f} (raw {r.get(t + '_raw', float('nan')):.3f}, iid {r.get(t + '_iid', float('nan')):.3f})"
            for t in ("sup_f", "cusum", "pettitt", "chow"))
                     + f", bai_perron={r['bai_perron']:.3f} (BIC alone {r['bai_perron_bic']:.3f})")
    lines.append("* daily AR(1) noise counted over 30 days, weekly snapshots (not the methods' noise model)")
    return "\n".join(lines)


def _f(v) -> str:
    return "  -" if v is None else ("inf" if not math.isfinite(v) else f"{v:.2f}")


def main(argv: list[str] | None = None) -> int:
    """Command line: run the scenarios, print the table, write the JSON."""
    p = argparse.ArgumentParser(prog="python -m devtools.validate", description=__doc__.splitlines()[0])
    p.add_argument("--preset", choices=["calibration"], default=None,
                   help="the calibration study: writes data/reference/calibration.json unless --out is given")
    p.add_argument("--reps", type=int, default=300, help="series per scenario (default 300)")
    p.add_argument("--break-reps", type=int, default=None, help="series per break-size scenario (default --reps)")
    p.add_argument("--mc-reps", type=int, default=499, help="simulated null draws of each break-test p-value")
    p.add_argument("--bootstrap-reps", type=int, default=199, help="block-bootstrap replicates (0 = skip)")
    p.add_argument("--truth", nargs="+", default=["line"], help="truth shapes (without --preset)")
    p.add_argument("--n", type=int, nargs="+", default=[104], help="periods (without --preset)")
    p.add_argument("--phi", type=float, nargs="+", default=[0.5], help="AR(1) coefficients (without --preset)")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--jobs", type=int, default=1, help="scenarios run in parallel processes")
    p.add_argument("--out", type=Path, default=None, help="JSON file to write")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                   help="run only these parts of the preset; the others are kept from an existing --out file")
    args = p.parse_args(argv)
    if args.preset == "calibration":
        tasks = [t for t in calibration_tasks(args.reps, args.seed, args.bootstrap_reps, args.break_reps or args.reps,
                                              args.mc_reps) if t[0] in args.parts]
        out = args.out or DEFAULT_OUT
    else:
        tasks = [("cells" if t != "after_window" else "after_window",
                  dict(truth=t, n=n, phi=phi, reps=args.reps, seed=args.seed, bootstrap_reps=args.bootstrap_reps))
                 for t in args.truth for n in args.n for phi in args.phi]
        out = args.out
    command = "python -m devtools.validate " + " ".join(argv if argv is not None else sys.argv[1:])
    doc = {"command": command.strip(), "seed": args.seed, "reps": args.reps, "alpha": 0.05, "target": list(TARGET),
           "method": {"headline": "local_linear", "settings": current_settings(),
                      "null_draws": L.DEFAULT_LOCAL_REPS, "bootstrap_reps": args.bootstrap_reps,
                      "break_mc_reps": args.mc_reps},
           "design": {"sigma": 0.1, "slope": 0.02, "window": 4, "n_missing": 2, "k": 3,
                      "shapes": "analysis.simulate.shapes (TruthShape defaults)"},
           "cells": [], "after_window": [], "robustness": [], "break_size": []}
    if out is not None and out.is_file() and set(args.parts) != set(PARTS):
        old = json.loads(out.read_text(encoding="utf-8"))
        for part in set(PARTS) - set(args.parts):
            doc[part] = old.get(part, [])
        doc["commands"] = sorted(set(old.get("commands", [old.get("command", "")]) + [command.strip()]) - {""})
    start = time.time()

    def record(kind: str, res: dict) -> None:
        doc[kind].append(res)
        rows = table({kind: [res]}).split("\n")[1:-1]
        print("\n".join(rows) + f"   [{res.get('seconds')}s]", flush=True)
        if out is not None:
            write_json(out.with_suffix(out.suffix + ".partial"), doc)

    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(_task, t) for t in tasks]
            for fut in as_completed(futures):
                kind, res = fut.result()
                record(kind, res)
    else:
        for t in tasks:
            kind, res = _task(t)
            record(kind, res)
    for key in ("cells", "after_window", "robustness"):
        doc[key].sort(key=lambda c: (c["truth"], c["n"], c["phi"]))
    doc["break_size"].sort(key=lambda c: (c["n"], c["phi"]))
    doc["summary"] = summarise(doc)
    doc["seconds"] = round(time.time() - start, 1)
    print(table(doc), flush=True)
    if out is not None:
        write_json(out, doc)
        partial = out.with_suffix(out.suffix + ".partial")
        if partial.exists():
            partial.unlink()
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
