"""Coverage of the factor intervals (notebook 06) on simulated Hubs with injected licence, language and size.

For each seed, a simulated Hub is written (:func:`analysis.simulate.simulate_hub`, which injects licence, language
and size distributions that differ by origin, :func:`analysis.simulate.hub.inject_factors`); the factors are computed
from its archive snapshots and its true lineage (the truth's tags, so tagging errors do not enter), split in the
middle of the window; and every CN minus US interval is checked against the injected difference. The download
weights are the simulation's heavy-tailed ones (a few base models hold most downloads), the attributes cluster
within families (derivatives inherit their base's), and rare classes have probabilities of a few percent: a world
that stresses a percentile bootstrap of download-weighted shares.

Usage::

    python -m devtools.factor_coverage --seeds 100 --models 20000 --weeks 12 --resample family
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis.factors import THIN_NEFF, choose_split, compute_factors
from analysis.hub.archive import normalise_table, projected_columns
from analysis.simulate import SimulationParams, simulate_hub
from analysis.simulate.hub import REDISTRIBUTORS
from analysis.timegrid import select_snapshots


def models_from_truth(root: Path) -> pd.DataFrame:
    """The tagged-models table of a simulated Hub built from its truth (true lineage and origins)."""
    truth = pq.read_table(root / "truth_models.parquet").to_pandas()
    live = pq.read_table(root / "live" / "models.parquet",
                         columns=["id", "createdAt", "pipeline_tag", "baseModels"]).to_pandas()
    m = truth.merge(live, on="id", how="left")
    m["relation"] = [b["relation"] if isinstance(b, dict) and b.get("relation") else "base" for b in m["baseModels"]]
    # a derivative whose baseModels is only in its tags has relation None in the struct: read it from the truth
    m.loc[(m["relation"] == "base") & (m["lineage_depth"] > 0), "relation"] = "finetune"
    author = dict(zip(m["id"], m["author"]))
    m["root_author"] = m["lineage_root"].map(author)
    m["is_redistributor"] = m["author"].isin(REDISTRIBUTORS)
    return m


def one_hub(seed: int, models: int, weeks: int, resample: str, reps: int, work: Path) -> pd.DataFrame:
    """Intervals of one simulated Hub beside the injected differences."""
    root = work / f"hub{seed}"
    p = SimulationParams(models=models, weeks=weeks, seed=seed, start=dt.date(2025, 1, 1),
                         crossover=dt.date(2025, 1, 1) + dt.timedelta(weeks=weeks // 2), missing_week=None)
    hub = simulate_hub(root, p)
    truth = json.loads((root / "truth.json").read_text())["factors"]["difference_cn_minus_us"]
    dates = select_snapshots(hub.snapshot_dates, frequency="monthly")
    snaps = []
    for d in dates:  # the pull's normalisation (params_total from the safetensors and GGUF totals), no HTTP
        f = hub.archive_file(d)
        pf = pq.ParquetFile(f)
        raw = normalise_table(pf.read(columns=list(projected_columns(pf.schema_arrow))), str(d))
        out = root / "raw" / f"{d}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(raw, out)
        snaps.append((d, out))
    split = choose_split(None, dates, override=dates[len(dates) // 2] if len(dates) > 1 else None)
    res = compute_factors(snaps, models_from_truth(root), split=split, reps=reps, seed=seed, resample=resample)
    shutil.rmtree(root)
    rows = []
    for d in res.differences:
        key = f"{d.factor}:{d.level}"
        if key in truth:
            rows.append({"seed": seed, "measure": key, "period": d.period, "truth": truth[key],
                         "estimate": d.difference,
                         "lower": d.lower, "upper": d.upper, "neff": min(d.neff_cn, d.neff_us),
                         "covered": bool(d.lower <= truth[key] <= d.upper) if np.isfinite(d.lower) else False})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--models", type=int, default=20000)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--reps", type=int, default=499)
    ap.add_argument("--resample", choices=("family", "model"), default="family")
    ap.add_argument("--out", type=Path, default=None, help="CSV of every interval (default: none)")
    args = ap.parse_args(argv)
    t0 = time.time()
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in range(args.first_seed, args.first_seed + args.seeds):
            frames.append(one_hub(s, args.models, args.weeks, args.resample, args.reps, Path(tmp)))
    res = pd.concat(frames, ignore_index=True)
    if args.out:
        res.to_csv(args.out, index=False)
    table = res.groupby("measure").agg(truth=("truth", "first"), coverage=("covered", "mean"),
                                       mean_estimate=("estimate", "mean"), n=("covered", "size"))
    table["mc_se"] = np.sqrt(table["coverage"] * (1 - table["coverage"]) / table["n"])
    print(f"# {args.seeds} simulated Hubs of {args.models} models x {args.weeks} weeks, seeds {args.first_seed}-"
          f"{args.first_seed + args.seeds - 1}, {args.reps} bootstrap replicates, resampling by {args.resample}; "
          f"both periods pooled; {time.time() - t0:.0f} s")
    print(table.round(3).to_string())
    thin = res["neff"] < THIN_NEFF
    print(f"# intervals whose thinner origin has fewer than {THIN_NEFF:g} effective units: {thin.mean():.3f} of them, "
          f"coverage {res.loc[thin, 'covered'].mean():.3f}; the others: coverage "
          f"{res.loc[~thin, 'covered'].mean():.3f}")
    print(f"# all measures: coverage {res['covered'].mean():.3f} over {len(res)} intervals")
    return 0


if __name__ == "__main__":
    sys.exit(main())
