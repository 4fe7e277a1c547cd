"""Hub-scale benchmark of the raw-to-panel chain: ``python -m devtools.bench``.

Usage::

    python -m devtools.bench [--models 2500000] [--weeks 104] [--out data/bench] [--seed 0] [--workers 2]
                             [--no-row-codes]

What it does
------------
1. Builds (or reuses) a simulated raw store at that scale under ``--out`` (default ``data/bench/``, which git
   ignores): one parquet file per weekly snapshot, ``<out>/m<models>-s<seed>/archive/<YYYY-MM-DD>.parquet``, in the
   normalised raw schema the pull writes (:data:`analysis.schema.RAW_SCHEMA`). The store is generated in a child
   process, so the memory it needs does not count in the measured peak. A store with at least ``--weeks`` snapshots
   for the same models and seed is reused (its first ``--weeks`` snapshots are used); missing weeks are added.
2. Times, in this process, each stage of the chain from the raw files to the panel, with the calls notebooks 02
   and 03 make:

   ``raw_read``
       The yardstick: a plain ``pyarrow.parquet.read_table`` of every file with the columns the chain reads
       (:data:`PROJECTED_COLUMNS`), one file at a time, done once before and once after the pass; the faster of
       the two counts (so the pass is not the only side to meet a warm page cache). Not part of the pass.
   ``catalog``
       :func:`analysis.catalog.build_catalog`: the union of all models, newest metadata first (notebook 02).
   ``lineage``
       Parent extraction (:func:`analysis.origin.tagging.extract_parents`) and
       :func:`analysis.origin.resolve_lineage` on the union, timed on their own. ``tag_models`` resolves lineage
       again inside ``tagging``, so this stage is reported for information and is not added to the pass.
   ``tagging``
       :func:`analysis.origin.tag_models` on the catalog plus the join of the catalog columns, and writing
       ``models.parquet`` (notebook 02).
   ``aggregation``
       :func:`analysis.panel.build_panel`: the streaming pass over the snapshots that sums downloads into the panel,
       the top-N rankings and the top organisations, and writing the three tables (notebook 03). By default the
       catalog pass writes its row codes (each raw row's catalog row, found anyway when it compares consecutive
       snapshots) to a temporary folder of the store, and this pass uses them instead of reading and hashing every
       snapshot's ids again;
       ``--no-row-codes`` times the pass that matches ids (what notebook 03 does until notebook 02 writes the codes).

3. Prints one JSON object: wall seconds, peak resident memory (after each stage, and overall), rows per second of
   each stage, and ``ratio_to_read`` = (catalog + tagging + aggregation seconds) / raw_read seconds. Because wall
   times depend on what else the machine runs, each stage also reports its CPU seconds (all threads of this
   process), with ``ratio_to_read_cpu`` computed on them, and the report gives the 1-minute load average before
   and after.

The simulated store is :func:`analysis.simulate.store.generate_store`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.simulate.store import PROJECTED_COLUMNS, StoreSpec, store_dates, store_registry


class BenchError(RuntimeError):
    """The benchmark cannot run; the message says what to do."""


# ------------------------------------------------------------------------------------------------------------
# Measurement
# ------------------------------------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB, macOS bytes)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024.0 / (1024.0 if sys.platform == "darwin" else 1.0), 1)




@dataclass(frozen=True)
class StageTiming:
    """Wall time, CPU time (all threads) and rows of one stage, and the peak resident memory after it."""

    seconds: float
    cpu_seconds: float
    rows: int
    peak_rss_mb: float

    def as_dict(self) -> dict:
        return {"seconds": round(self.seconds, 3), "cpu_seconds": round(self.cpu_seconds, 3), "rows": self.rows,
                "rows_per_second": round(self.rows / self.seconds) if self.seconds > 0 else None,
                "peak_rss_mb_after": self.peak_rss_mb}


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _timed(fn, name: str = ""):
    """Run ``fn``; return its result, wall seconds and CPU seconds (this process, all threads)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    el, cpu = time.perf_counter() - t0, time.process_time() - c0
    if name:
        _log(f"{name}: {el:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak_rss_mb():.0f} MB, "
             f"load average {os.getloadavg()[0]:.1f}")
    return out, el, cpu


def _every(name: str, k: int = 10):
    t0 = time.perf_counter()

    def progress(i: int, n: int, date) -> None:
        if i % k == 0 or i == n:
            _log(f"  {name}: {i}/{n} snapshots ({time.perf_counter() - t0:.0f} s)")
    return progress


def measure(snapshots: list[tuple[dt.date, Path]], *, workers: int = 2, row_codes_dir: Path | None = None,
            outputs_dir: Path | None = None) -> dict:
    """Time every stage of the raw-to-panel chain on ``snapshots`` (see the module docstring).

    Parameters
    ----------
    snapshots : list of (date, path)
        Raw snapshot files.
    workers : int
        Threads for the catalog and panel passes.
    row_codes_dir : Path, optional
        Folder for the catalog's row codes, which the panel pass then uses instead of matching ids (as the
        notebooks do when wired so); None matches every snapshot by id.
    outputs_dir : Path, optional
        Folder the timed stages write their outputs to, as notebooks 02 and 03 do (``models.parquet``;
        ``panel.parquet``, ``rankings.parquet``, ``top_orgs.parquet``); default a temporary folder, removed after.

    Returns
    -------
    dict
        The report: ``stages`` (seconds, rows, rows per second, peak RSS after), ``pass_seconds``,
        ``ratio_to_read``, ``peak_rss_mb``, ``wall_seconds`` and checks of the outputs.
    """
    from analysis.catalog import build_catalog
    from analysis.panel import build_panel

    t_start = time.perf_counter()
    stages: dict[str, dict] = {}
    notes: dict[str, str] = {}

    def read_all():
        rows = 0
        for _, path in snapshots:
            names = pq.read_schema(path).names
            rows += pq.read_table(path, columns=[c for c in PROJECTED_COLUMNS if c in names]).num_rows
        return rows

    own_outputs = outputs_dir is None
    outputs_dir = Path(tempfile.mkdtemp(prefix="bench-outputs-")) if own_outputs else Path(outputs_dir)
    outputs_dir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    # the yardstick is read before and again after the pass, and the faster read counts, so that neither side
    # of ratio_to_read is the only one to pay for a cold page cache
    raw_rows, t_read_before, c_read_before = _timed(read_all, "raw read (before the pass)")

    catalog, t_cat, c_cat = _timed(lambda: build_catalog(snapshots, workers=workers, progress=_every("catalog"),
                                                         row_codes_dir=row_codes_dir), "catalog")
    stages["catalog"] = StageTiming(t_cat, c_cat, raw_rows, peak_rss_mb()).as_dict()
    n_models = catalog.num_rows

    try:
        from analysis.origin import resolve_lineage, tag_models
        from analysis.origin.tagging import extract_parents
    except ImportError as e:  # the tagging package is built by another part of the project
        tag_models = None
        notes["lineage"] = notes["tagging"] = f"unavailable: {e}"
    models = None
    t_tag = None
    if tag_models is not None:
        registry = store_registry()

        def lineage():
            parents = extract_parents(catalog.select(["id", "author", "tags", "baseModels"]))
            return resolve_lineage(pa.array(parents["id"], pa.string()), pa.array(parents["parent"], pa.string()))

        lin, t_lin, c_lin = _timed(lineage, "lineage")
        stages["lineage"] = StageTiming(t_lin, c_lin, n_models, peak_rss_mb()).as_dict()
        notes["lineage"] = ("parent extraction + resolve_lineage on the union, timed alone; tag_models does it "
                            "again inside 'tagging', so it is not added to pass_seconds")
        del lin

        def tagging():
            tags = tag_models(catalog, registry, None, merge_parent="first")
            extra = catalog.select(["id", "createdAt", "pipeline_tag", "library_name", "last_seen"]).to_pandas()
            out = tags.merge(extra, on="id", how="left", validate="one_to_one")
            out.to_parquet(outputs_dir / "models.parquet", index=False)
            return out

        models, t_tag, c_tag = _timed(tagging, "tagging")
        stages["tagging"] = StageTiming(t_tag, c_tag, n_models, peak_rss_mb()).as_dict()
        notes["tagging"] = ("tag_models (includes its own lineage resolution) + join of the catalog columns + "
                            "writing models.parquet")
    del catalog
    report: dict = {}
    if models is not None:
        def aggregation():
            built = build_panel(snapshots, models, workers=workers, progress=_every("aggregation"),
                                row_codes_dir=row_codes_dir)
            for name, table in (("panel", built.panel), ("rankings", built.rankings), ("top_orgs", built.top_orgs)):
                table.to_parquet(outputs_dir / f"{name}.parquet", index=False)
            return built

        built, t_agg, c_agg = _timed(aggregation, "aggregation")
        stages["aggregation"] = StageTiming(t_agg, c_agg, built.rows_read, peak_rss_mb()).as_dict()
        notes["aggregation"] = ("build_panel: panel + rankings + top organisations in one streaming pass, and "
                                "writing them")
        pass_seconds = t_cat + t_tag + t_agg
        pass_cpu = c_cat + c_tag + c_agg
        shares = built.panel.groupby(["date", "measure", "rule", "scope"])["share"].sum(min_count=1).dropna()
        report["checks"] = {
            "panel_rows": len(built.panel), "rankings_rows": len(built.rankings), "top_orgs_rows": len(built.top_orgs),
            "rows_used_by_panel": built.rows_used, "untagged_rows": built.untagged_rows,
            "snapshots_matched_by_row_codes": built.snapshots_matched_by_codes,
            "row_codes_bytes": sum(f.stat().st_size for f in Path(row_codes_dir).iterdir()) if row_codes_dir else 0,
            "shares_sum_to_one": bool(np.allclose(shares.to_numpy(), 1.0)),
            "all_rows_tagged": built.untagged_rows == 0,
        }
    else:
        notes["aggregation"] = "unavailable: needs the tagged models"
        pass_seconds = pass_cpu = None
    del models
    _, t_read_after, c_read_after = _timed(read_all, "raw read (after the pass)")
    t_read, c_read = min(t_read_before, t_read_after), min(c_read_before, c_read_after)
    stages = {"raw_read": StageTiming(t_read, c_read, raw_rows, peak_rss_mb()).as_dict(), **stages}
    notes["raw_read"] = (f"the faster of two plain reads, before ({t_read_before:.1f} s) and after "
                         f"({t_read_after:.1f} s) the pass")
    if own_outputs:
        shutil.rmtree(outputs_dir, ignore_errors=True)
    report.update({
        "snapshots": len(snapshots), "raw_rows": raw_rows, "models_in_union": n_models,
        "stages": stages,
        "pass_seconds": round(pass_seconds, 3) if pass_seconds is not None else None,
        "ratio_to_read": round(pass_seconds / t_read, 3) if pass_seconds is not None and t_read > 0 else None,
        "pass_cpu_seconds": round(pass_cpu, 2) if pass_cpu is not None else None,
        "ratio_to_read_cpu": round(pass_cpu / c_read, 3) if pass_cpu is not None and c_read > 0 else None,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mb": peak_rss_mb(),
        "wall_seconds": round(time.perf_counter() - t_start, 2),
        "notes": notes,
    })
    return report


# ------------------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m devtools.bench``."""
    parser.add_argument("--models", type=int, default=2_500_000,
                        help="models in the last week of the simulated Hub (default 2,500,000)")
    parser.add_argument("--weeks", type=int, default=104, help="weekly snapshots to process (default 104)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for simulated stores, reused between runs (default data/bench/, git-ignored)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated store (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="threads of the catalog and panel passes (default 2)")
    parser.add_argument("--no-row-codes", dest="row_codes", action="store_false",
                        help="match every snapshot by id in the panel pass instead of using the catalog's row codes")




def _generate_in_child(spec: StoreSpec, out: Path, weeks: int) -> None:
    """Build the store in a child process, so its memory does not count in this process's peak RSS."""
    from analysis.paths import REPO_ROOT

    code = ("import sys; from pathlib import Path; from analysis.simulate.store import StoreSpec, generate_store; "
            "generate_store(StoreSpec(int(sys.argv[1]), int(sys.argv[2])), Path(sys.argv[3]), int(sys.argv[4]), "
            "log=lambda m: print(m, file=sys.stderr, flush=True))")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-c", code, str(spec.models), str(spec.seed), str(out), str(weeks)],
                          env=env, stdout=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"building the simulated store in {spec.folder(out)} failed (exit {done.returncode}); "
                         "see the messages above")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m devtools.bench``: build or reuse the store, measure, print one JSON line."""
    from analysis.paths import Paths

    if args.models < 100 or args.weeks < 2:
        print("error: --models must be at least 100 and --weeks at least 2", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else Paths.default().root / "data" / "bench"
    spec = StoreSpec(models=args.models, seed=args.seed)
    t0 = time.perf_counter()
    have = store_dates(spec, out)
    if len(have) < args.weeks or any(spec.date(w) not in set(have) for w in range(args.weeks)):
        print(f"bench: building the simulated store {spec.folder(out)} ({args.weeks} weeks)", file=sys.stderr)
        _generate_in_child(spec, out, args.weeks)
    build_seconds = time.perf_counter() - t0
    folder = spec.folder(out)
    snaps = [(spec.date(w), folder / "archive" / f"{spec.date(w).isoformat()}.parquet") for w in range(args.weeks)]
    report = {"models": args.models, "weeks": args.weeks, "seed": args.seed, "workers": args.workers,
              "row_codes": bool(args.row_codes),
              "store": str(folder), "store_bytes": sum(p.stat().st_size for _, p in snaps),
              "store_build_seconds": round(build_seconds, 1)}
    codes = folder / f"row-codes-{args.weeks}w" if args.row_codes else None
    try:
        report.update(measure(snaps, workers=args.workers, row_codes_dir=codes))
    finally:
        if codes is not None and codes.exists():
            shutil.rmtree(codes)
    report["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "pyarrow": pa.__version__,
                         "numpy": np.__version__}
    print(json.dumps(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m devtools.bench``."""
    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
