"""Coverage of the cumulative-downloads crossing (:mod:`analysis.stats.cumulative`) on worlds unlike its model.

Each world has a growing market whose Chinese share follows a straight rise, a release jump at 40% of the window,
saturation, or an S-curve; per-period downloads carry AR(1) noise on the log scale, part shared by both regions (a
busy week for everyone) and part each region's own. The truth is the crossing of the noise-free cumulative totals.
For each shape it prints the share of worlds whose 95% interval holds the truth, the median absolute error of the
estimate and the median width of the interval, in weeks. A fifth world, ``after_window``, crosses just after the
last snapshot (the noise-free totals are 0.7% apart at the end): for it the tool prints the share of worlds where a
bounded interval claims a crossing inside the window (a false claim).

Usage::

    python -m devtools.cumulative_coverage [--n 104] [--phi 0.5 0.8] [--worlds 100] [--reps 1000] [--json]
                                           [--out data/reference/cumulative_calibration.json]

``--out`` also writes the rows, with the command and settings that produced them, to a JSON file (written whole or
not at all): the committed ``data/reference/cumulative_calibration.json`` is this tool's output with the defaults
(about two minutes on two cores), so the measured coverage is read from a file, never typed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.stats.cumulative import cumulative_crossing, last_crossing
from devtools import write_json

SHAPES = ("line", "jump", "saturation", "s_curve")
START = pd.Timestamp("2024-01-07")

#: Seed of the worlds (each shape starts from it).
SEED = 1


def world(shape: str, n: int, phi: float, rng: np.random.Generator, sd: float = 0.08):
    """Noise-free and observed per-period CN and US downloads of one world."""
    x = np.linspace(0, 1, n)
    total = 1e7 * (1 + x)
    cs = {"line": 0.15 + 0.5 * x, "jump": 0.18 + 0.2 * x + 0.25 * (x > 0.4),
          "saturation": 0.15 + 0.55 * (1 - np.exp(-3 * x)),
          "s_curve": 0.15 + 0.5 / (1 + np.exp(-(x - 0.35) * 14)),
          "after_window": 0.20 + 0.31 * x}[shape]
    cn, us = total * cs, total * (0.75 - cs)

    def ar() -> np.ndarray:
        e = np.empty(n)
        e[0] = rng.normal() * sd / np.sqrt(1 - phi ** 2)
        for i in range(1, n):
            e[i] = phi * e[i - 1] + rng.normal() * sd
        return e

    market = ar()
    return cn, us, cn * np.exp(market + ar()), us * np.exp(market + ar())


def run(n: int, phi: float, worlds: int, reps: int, seed: int = SEED) -> list[dict]:
    """One row per shape: coverage, median absolute error and median width (weeks); and the false-claim rate of a
    world crossing after the window."""
    out = []
    rng = np.random.default_rng(seed)
    false = 0
    for r in range(worlds):
        _, _, cn_obs, us_obs = world("after_window", n, phi, rng)
        dates = pd.date_range(START + pd.Timedelta(days=7), periods=n, freq="7D")
        inc = pd.DataFrame({"date": dates, "start": dates - pd.Timedelta(days=7), "CN": cn_obs, "US": us_obs})
        false += cumulative_crossing(inc, reps=reps, seed=r).kind == "bounded"
    after = {"shape": "after_window", "n": n, "phi": phi, "worlds": worlds, "false_claim": false / worlds}
    for shape in SHAPES:
        rng = np.random.default_rng(seed)
        covered, errors, widths, counted = 0, [], [], 0
        for r in range(worlds):
            cn, us, cn_obs, us_obs = world(shape, n, phi, rng)
            dates = pd.date_range(START + pd.Timedelta(days=7), periods=n, freq="7D")
            inc = pd.DataFrame({"date": dates, "start": dates - pd.Timedelta(days=7), "CN": cn_obs, "US": us_obs})
            truth = last_crossing(np.arange(n + 1.0), np.concatenate([[0.0], np.cumsum(cn - us)]))
            if truth is None:
                continue
            counted += 1
            res = cumulative_crossing(inc, reps=reps, seed=r)
            true_date = START + pd.Timedelta(days=7 * truth)
            lo = pd.Timestamp(res.lower_date) if res.lower_date else pd.Timestamp.min
            hi = pd.Timestamp(res.upper_date) if res.upper_date else pd.Timestamp.max
            covered += lo <= true_date <= hi
            if res.estimate_date:
                errors.append(abs((pd.Timestamp(res.estimate_date) - true_date).days) / 7)
            if res.lower_date and res.upper_date:
                widths.append((hi - lo).days / 7)
        cov = covered / counted if counted else float("nan")
        out.append({"shape": shape, "n": n, "phi": phi, "worlds": counted, "coverage": cov,
                    "coverage_se": float(np.sqrt(cov * (1 - cov) / counted)) if counted else float("nan"),
                    "median_abs_error_weeks": float(np.median(errors)) if errors else None,
                    "median_width_weeks": float(np.median(widths)) if widths else None})
    return out + [after]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devtools.cumulative_coverage", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=104, help="periods (weeks) per world")
    ap.add_argument("--phi", type=float, nargs="+", default=[0.5, 0.8], help="AR(1) coefficients of the noise")
    ap.add_argument("--worlds", type=int, default=100, help="worlds per shape")
    ap.add_argument("--reps", type=int, default=1000, help="simulated histories per interval")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--out", type=Path, help="also write the rows, the command and the settings to this JSON file")
    args = ap.parse_args(argv)
    if args.worlds < 1 or args.reps < 100 or args.n < 8 or not args.phi or any(not 0 <= p < 1 for p in args.phi):
        ap.error("--worlds must be at least 1, --reps at least 100 (a 95% interval), --n at least 8, and each --phi "
                 "in [0, 1)")
    t0 = time.perf_counter()
    rows = [r for phi in args.phi for r in run(args.n, phi, args.worlds, args.reps)]
    if args.out is not None:
        shown = argv if argv is not None else sys.argv[1:]
        doc = {"command": " ".join(["python -m devtools.cumulative_coverage", *map(str, shown)]),
               "what": "coverage of the 95% interval of the cumulative-downloads crossing (analysis.stats.cumulative) "
                       "of the noise-free cumulative totals, on worlds unlike its model; median absolute error and "
                       "median width in weeks; for after_window, the share of worlds where a bounded interval claims a "
                       "crossing inside the window",
               "n": args.n, "phi": args.phi, "worlds": args.worlds, "reps": args.reps, "seed": SEED,
               "seconds": round(time.perf_counter() - t0, 1), "rows": rows}
        write_json(args.out, doc)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            if "false_claim" in r:
                print(f"{r['shape']:<11} n={r['n']} phi={r['phi']}: bounded interval inside the window (false claim) "
                      f"in {r['false_claim']:.3f} of {r['worlds']} worlds")
                continue
            print(f"{r['shape']:<11} n={r['n']} phi={r['phi']}: coverage {r['coverage']:.3f} "
                  f"(s.e. {r['coverage_se']:.3f}, {r['worlds']} worlds), median error "
                  f"{r['median_abs_error_weeks']:.1f} wk, median width {r['median_width_weeks']:.1f} wk")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
