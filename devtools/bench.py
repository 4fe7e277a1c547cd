"""Hub-scale benchmark of the raw-to-panel chain, and its DuckDB yardstick: ``python -m devtools.bench``.

Usage::

    python -m devtools.bench [--models 2500000] [--weeks 104] [--out data/bench] [--seed 0] [--workers 2]
                             [--metadata-every N] [--duckdb] [--duckdb-memory-limit 12GB] [--duckdb-threads 2]
                             [--repeat K] [--loss] [--floor] [--no-row-codes] [--thin-store]

What it does
------------
1. Builds (or reuses) a simulated raw store at that scale under ``--out`` (default ``data/bench/``, which git
   ignores): one parquet file per weekly snapshot, ``<out>/m<models>-s<seed>/archive/<YYYY-MM-DD>.parquet``, in the
   normalised raw schema the pull writes (:data:`analysis.schema.RAW_SCHEMA`), models listed in creation order,
   10% of them editing their metadata once (:mod:`analysis.simulate.store`). The store is generated in a child
   process, so the memory it needs does not count in the measured peak. A store with at least ``--weeks``
   snapshots for the same models and seed is reused (its first ``--weeks`` snapshots are used).
   With ``--thin-store``, the pass runs instead on a raw store written by the default (thin) pull itself: the
   store's weeks are written as the archive's files (:func:`analysis.simulate.store.write_archive`; the columns
   the study never reads are the light ones of :func:`analysis.simulate.store.light_columns`, so that Hub-scale
   archives fit on the disk: the pull reads the same columns either way), served by the local Hub stand-in and
   pulled with :func:`analysis.hub.pull.pull_all` under ``--metadata-every`` (huggingface_hub over HTTP on
   loopback). The raw store, ``<out>/m<models>-s<seed>/thin-<weeks>w-every<N>/``, is kept and reused; the archive's
   files are deleted once pulled. Its snapshot files hold the weekly columns only, and the metadata
   sits in small part files beside them, as in a real study's store (``raw_read_anchor_files`` then reads the
   weekly columns only; the SQL yardstick reads each model's metadata from the newest part holding it).
   ``--loss`` needs the archive store (it needs every week's metadata).
2. Times, in this process, each stage of the chain from the raw files to the panel, with the calls notebooks 02
   and 03 make, under the thin-read rule ``--metadata-every`` (:mod:`analysis.catalog`):

   ``raw_read``
       The yardstick read: plain pyarrow reads of what the pass reads, one file at a time: ``id, downloads,
       downloadsAllTime`` of every file, and the catalog's metadata columns of the row groups holding a row the
       catalog's plan reads (of a thin snapshot, the metadata parts holding one; the plan is made once before, not
       timed). Done once before and once after the pass; the faster of the two counts (so the pass is not the only
       side to meet a warm page cache). Not part of the pass.
   ``raw_read_anchor_files``
       The yardstick of earlier reports, read once after the pass: the weekly columns of every file and the
       metadata columns of the whole anchor files, but not the row groups the orphans are read from
       (``ratio_to_read_anchor_files``).
   ``catalog``
       :func:`analysis.catalog.catalog_with_plan`: :func:`analysis.catalog.plan_metadata` (every file's ids, once;
       the row codes) and, overlapping it, the planned metadata reads (what :func:`analysis.catalog.build_catalog`
       does in notebook 02).
   ``tagging``
       :func:`analysis.origin.tag_models` on the catalog plus the join of the catalog columns, and writing
       ``models.parquet`` (notebook 02).
   ``aggregation``
       :func:`analysis.panel.build_panel` with the row codes: the panel, the top-N rankings and the top
       organisations, and writing the three tables (notebook 03). ``--no-row-codes`` matches ids instead.

   ``--repeat K`` runs the pass K times (and the yardstick after each run); the report gives medians.
3. With ``--duckdb``, runs the SQL yardstick (:mod:`devtools.duckdb_sql`: the straightforward SQL over the same
   files computing the same panel, every rule, scope and measure, under the same rule) in a child process after
   each pass, with DuckDB's ``memory_limit`` and ``threads`` set (default 12GB and 2: the machine is shared), and
   checks its panel against the project's to 1e-9 (shares absolute, downloads relative, counts exact).
4. With ``--loss``, measures what the rule loses against reading every week's metadata
   (:func:`staleness`): the share of all downloads whose tags and lineage roots are identical.
   With ``--floor``, times the least a pass that follows models from week to week does: the yardstick read plus
   matching each file's ids to the next newer file's (:func:`analysis.catalog.match_rows`), nothing else; its
   ``ratio_to_read`` is the ``ratio_to_read`` the pass would have if metadata, tagging, aggregation and writing
   cost nothing, and ``cpu_seconds_left_at_ratio_1_5`` the CPU seconds a pass at ``ratio_to_read`` 1.5 would have
   left for them with every core busy throughout (1.5 x the read's wall seconds x cores, less the floor's CPU).
5. Prints one JSON object: per stage wall and CPU seconds, rows per second and peak RSS; ``pass_seconds``
   (median), ``ratio_to_read`` = pass / raw_read, ``ratio_to_duckdb`` = pass / DuckDB (both medians; the
   ``_cpu`` ratios divide CPU seconds, all threads, which depend less on what else the machine runs),
   ``ns_per_raw_row`` = pass / raw rows, the peak RSS of the pass (this process) and of DuckDB (its process),
   the panel comparison, the rule's plan and the 1-minute load average before and after (wall times depend on
   what else the machine runs; the CPU seconds less so).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
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
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.simulate.store import StoreSpec, store_dates, store_registry, write_archive

#: Columns every snapshot is read for (the weekly ones); the metadata columns are read from the anchors only.
WEEKLY_COLUMNS = ["id", "downloads", "downloadsAllTime"]


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


def _read_columns(snapshots: list[tuple[dt.date, Path]], metadata_every: int) -> list[tuple[Path, list, list]]:
    """The earlier yardstick's read (``raw_read_anchor_files``), in :func:`_read_planned`'s form: every file's weekly
    columns, and the metadata columns of the whole anchor files."""
    from analysis.catalog import CATALOG_COLUMNS, anchors

    meta_cols = [c for c in CATALOG_COLUMNS if c != "id"]
    newest_first = sorted(snapshots, key=lambda s: s[0], reverse=True)
    is_anchor = anchors([d for d, _ in newest_first], metadata_every)
    return [(path, WEEKLY_COLUMNS, [(path, None, meta_cols)] if anchor else [])
            for (date, path), anchor in zip(newest_first, is_anchor)]


def _read_planned(snapshots: list[tuple[dt.date, Path]], plan) -> list[tuple[Path, list, list]]:
    """The yardstick's read (``raw_read``): what the pass reads, read plainly. For every file (newest first), its
    weekly columns, and where the catalog's plan reads metadata, the metadata columns of the row groups holding a
    planned row (of a thin snapshot: the metadata parts holding one).

    Returns
    -------
    list of (path, weekly columns, metadata reads)
        A metadata read is (file, row groups or None for the whole file, columns).
    """
    from analysis.catalog import CATALOG_COLUMNS, row_groups_holding

    meta_cols = [c for c in CATALOG_COLUMNS if c != "id"]
    newest_first = sorted(snapshots, key=lambda s: s[0], reverse=True)
    out = []
    for k, (date, path) in enumerate(newest_first):
        reads = []
        if k in plan.reads:
            rows = plan.reads[k][0]
            thin = plan.thin.get(k)
            if thin is not None:
                reads += [(part, None, meta_cols) for part in thin.parts_holding(rows)]
            else:
                reads.append((path, row_groups_holding(pq.ParquetFile(path).metadata, rows), meta_cols))
        out.append((path, WEEKLY_COLUMNS, reads))
    return out


def _read_plain(read_plan) -> int:
    """Read ``_read_planned``'s plan with plain pyarrow calls; the rows of the weekly columns."""
    rows = 0
    for path, cols, reads in read_plan:
        names = pq.read_schema(path).names
        rows += pq.read_table(path, columns=[c for c in cols if c in names]).num_rows
        for f, groups, meta_cols in reads:
            pf = pq.ParquetFile(f)
            have = [c for c in meta_cols if c in pf.schema_arrow.names]
            if groups is None:
                pf.read(columns=have)
            else:
                pf.read_row_groups(groups, columns=have)
    return rows


def _pass(snapshots, *, workers: int, row_codes_dir: Path | None, outputs_dir: Path, metadata_every: int,
          registry, timings: dict) -> tuple:
    """One run of the timed pass (catalog, tagging, aggregation); stage timings go to ``timings``."""
    from analysis.catalog import attach_descriptors, catalog_with_plan
    from analysis.contracts import MODEL_EXTRA_COLUMNS
    from analysis.origin import tag_models
    from analysis.panel import build_panel
    from analysis.stage import write_parquet

    def catalog_stage():
        catalog, plan = catalog_with_plan(snapshots, workers=workers, row_codes_dir=row_codes_dir,
                                          metadata_every=metadata_every, progress=_every("catalog ids"))
        return plan, catalog

    (plan, catalog), t_cat, c_cat = _timed(catalog_stage, "catalog")
    timings["catalog"] = (t_cat, c_cat, peak_rss_mb())

    def tagging(catalog):
        tags = tag_models(catalog, registry, None, merge_parent="first")
        out = attach_descriptors(tags, catalog, [*MODEL_EXTRA_COLUMNS, "metadata_date"])
        write_parquet(out, outputs_dir / "models.parquet")      # as notebook 02 writes it
        return out

    models, t_tag, c_tag = _timed(lambda: tagging(catalog), "tagging")
    timings["tagging"] = (t_tag, c_tag, peak_rss_mb())
    n_models = catalog.num_rows
    catalog = None                  # not held through the aggregation

    def aggregation():
        built = build_panel(snapshots, models, workers=workers, progress=_every("aggregation"),
                            row_codes_dir=row_codes_dir)
        for name, table in (("panel", built.panel), ("rankings", built.rankings), ("top_orgs", built.top_orgs)):
            write_parquet(table, outputs_dir / f"{name}.parquet")   # as notebook 03 writes them
        return built

    built, t_agg, c_agg = _timed(aggregation, "aggregation")
    timings["aggregation"] = (t_agg, c_agg, peak_rss_mb())
    return plan, models, built, n_models


def registry_rows(registry) -> list[list]:
    """The registry as the SQL yardstick's table: lower-cased account, kind, uploader-rule region, organisation, and
    the region under the alternative reading of contested origins."""
    from analysis.origin.registry import ORGANISATION_KINDS

    accounts = list(registry.table.index)
    regions = registry.region_of_uploader(accounts).tolist()
    alt = registry.region_of_uploader(accounts, contested="alternative").tolist()
    kinds = registry.table["kind"].tolist()
    return [[a, k, r, k in ORGANISATION_KINDS, ra] for a, k, r, ra in zip(accounts, kinds, regions, alt)]


def run_duckdb(snapshots, *, metadata_every: int, registry, out: Path, memory_limit: str, threads: int,
               temp_directory: Path) -> dict:
    """Run the SQL yardstick (:mod:`devtools.duckdb_sql`) in a child process; its report, with the wall time seen."""
    from analysis.catalog import anchors
    from analysis.paths import REPO_ROOT
    from analysis.raw import thin_snapshot
    from analysis.schema import LLM_PIPELINE_TAGS, REGIONS, RULES, SCOPES

    newest_first = sorted(snapshots, key=lambda s: s[0], reverse=True)
    flags = anchors([d for d, _ in newest_first], metadata_every)
    thin = [thin_snapshot(p) for _, p in newest_first]
    if any(t is None for t in thin) and any(t is not None for t in thin):
        raise BenchError("the SQL yardstick reads a store of thin snapshots or of full ones, not both")
    parts = [[d.isoformat(), str(Path(part).resolve())] for (d, _), t in zip(newest_first, thin) if t is not None
             for part in t.parts]
    spec = {"files": [[d.isoformat(), str(Path(p).resolve()), bool(a)] for (d, p), a in zip(newest_first, flags)],
            "metadata_parts": parts or None,
            "rules": list(RULES), "scopes": list(SCOPES), "regions": list(REGIONS),
            "llm_pipeline_tags": list(LLM_PIPELINE_TAGS), "registry": registry_rows(registry),
            "memory_limit": memory_limit, "threads": threads, "temp_directory": str(temp_directory),
            "out": str(out)}
    spec_file = out.with_suffix(".json")
    spec_file.write_text(json.dumps(spec))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "devtools.duckdb_sql", str(spec_file)], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise BenchError(f"the DuckDB yardstick failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["process_wall_seconds"] = round(wall, 3)
    _log(f"duckdb: {report['seconds']:.1f} s, peak RSS {report['peak_rss_mb']:.0f} MB")
    return report


def compare_panels(ours: pd.DataFrame, theirs: pd.DataFrame, tol: float = 1e-9) -> dict:
    """How far two panels are apart: same rows, shares within ``tol``, downloads within ``tol`` relative, counts."""
    keys = ["date", "measure", "rule", "scope", "region"]
    a = ours.assign(date=pd.to_datetime(ours["date"])).set_index(keys).sort_index()
    b = theirs.assign(date=pd.to_datetime(theirs["date"])).set_index(keys).sort_index()
    same_rows = a.index.equals(b.index)
    joined = a.join(b, how="outer", suffixes=("_ours", "_sql"))
    sa, sb = joined["share_ours"].to_numpy(float), joined["share_sql"].to_numpy(float)
    both_nan = np.isnan(sa) & np.isnan(sb)
    share_diff = np.where(both_nan, 0.0, np.abs(sa - sb))
    da, db = joined["downloads_ours"].to_numpy(float), joined["downloads_sql"].to_numpy(float)
    rel = np.abs(da - db) / np.maximum(np.abs(db), 1.0)
    n_equal = bool((joined["n_models_ours"].fillna(-1).to_numpy() == joined["n_models_sql"].fillna(-1).to_numpy()).all())
    max_share = float(np.nanmax(share_diff)) if share_diff.size else 0.0
    max_rel = float(np.nanmax(rel)) if rel.size else 0.0
    return {"rows_ours": len(a), "rows_sql": len(b), "same_rows": bool(same_rows),
            "max_abs_share_diff": max_share if np.isfinite(max_share) else None,
            "max_rel_downloads_diff": max_rel if np.isfinite(max_rel) else None,
            "n_models_equal": n_equal, "tolerance": tol,
            "equal": bool(same_rows and n_equal and np.all(np.isfinite(share_diff)) and max_share <= tol
                          and max_rel <= tol)}


def staleness(snapshots, thin: pd.DataFrame, plan, *, workers: int, registry, row_codes_dir: Path) -> dict:
    """What the thin-read rule loses against reading every week's metadata, weighted by downloads.

    Builds the catalog with ``metadata_every=1`` (each model's newest row: what a read-every-week pull gives),
    tags it, and compares, model by model, :data:`devtools.bytes_read.STALENESS_COLUMNS` with the thin pass's
    tags. Each model weighs its 30-day downloads summed over every snapshot (through the row codes of the thin pass).
    """
    from analysis.catalog import ROW_CODES_IDS, attach_descriptors, build_catalog, load_row_codes
    from analysis.origin import tag_models

    from devtools.bytes_read import tags_agreement

    exact_cat = build_catalog(snapshots, workers=workers, metadata_every=1)
    exact = attach_descriptors(tag_models(exact_cat, registry, None, merge_parent="first"), exact_cat,
                               ["pipeline_tag"])
    del exact_cat
    ids = pq.read_table(row_codes_dir / ROW_CODES_IDS)["id"].to_pandas()
    weight = np.zeros(len(ids))
    for date, path in snapshots:
        dl = pq.read_table(path, columns=["downloads"])["downloads"].to_numpy().astype(float)
        codes = load_row_codes(row_codes_dir, date, len(dl), len(ids))
        weight += np.bincount(codes, weights=dl, minlength=len(ids))
    return {**tags_agreement(thin, exact, pd.Series(weight, index=ids.to_numpy())), "plan": plan.summary()}


def measure(snapshots: list[tuple[dt.date, Path]], *, workers: int = 2, row_codes_dir: Path | None = None,
            outputs_dir: Path | None = None, metadata_every: int | None = None, duckdb: bool = False,
            duckdb_memory_limit: str = "12GB", duckdb_threads: int = 2, repeat: int = 1,
            loss: bool = False, scratch: Path | None = None, floor: bool = False) -> dict:
    """Time every stage of the raw-to-panel chain on ``snapshots`` (see the module docstring).

    Parameters
    ----------
    snapshots : list of (date, path)
        Raw snapshot files.
    workers : int
        Threads for the catalog and panel passes.
    row_codes_dir : Path, optional
        Folder for the catalog's row codes, which the panel pass then uses instead of matching ids (as the
        notebooks do); None matches every snapshot by id.
    outputs_dir : Path, optional
        Folder the timed stages write their outputs to, as notebooks 02 and 03 do; default a temporary folder.
    metadata_every : int, optional
        The thin-read rule (:func:`analysis.catalog.build_catalog`); default the library's.
    duckdb : bool
        Also run the SQL yardstick (:mod:`devtools.duckdb_sql`) in the same run and compare its panel.
    duckdb_memory_limit, duckdb_threads : str, int
        DuckDB's ``memory_limit`` and ``threads``.
    repeat : int
        Runs of the pass (and of the yardstick), alternating; medians are reported.
    loss : bool
        Also measure what the thin-read rule loses (:func:`staleness`), after the timings.
    floor : bool
        Also time the floor: the yardstick read plus the week-to-week id matching, nothing else.
    scratch : Path, optional
        Folder for DuckDB's output and spill files (default a temporary folder).

    Returns
    -------
    dict
        The report (see the module docstring).
    """
    from analysis.catalog import DEFAULT_METADATA_EVERY

    every = DEFAULT_METADATA_EVERY if metadata_every is None else int(metadata_every)
    registry = store_registry()
    t_start = time.perf_counter()
    notes: dict[str, str] = {}
    from analysis.catalog import plan_metadata

    _log("planning the yardstick's read (the catalog's plan, not timed)")
    read_plan = _read_planned(snapshots, plan_metadata(snapshots, every, workers=workers))
    anchor_plan = _read_columns(snapshots, every)

    def read_all():
        return _read_plain(read_plan)

    def read_anchor_files():
        return _read_plain(anchor_plan)

    def read_and_match():
        """The yardstick read, and each file's ids matched to the next newer file's (newest first)."""
        from analysis.catalog import match_rows

        rows, newer = 0, None
        for path, cols, reads in read_plan:
            ids = pq.read_table(path, columns=["id"])["id"]                      # in its row-group chunks
            _read_plain([(path, [c for c in cols if c != "id"], reads)])        # the rest of the read
            if newer is not None:
                match_rows(ids, newer)
            newer, rows = ids, rows + len(ids)
        return rows

    own_outputs = outputs_dir is None
    outputs_dir = Path(tempfile.mkdtemp(prefix="bench-outputs-")) if own_outputs else Path(outputs_dir)
    outputs_dir.mkdir(parents=True, exist_ok=True)
    own_scratch = scratch is None
    scratch = Path(tempfile.mkdtemp(prefix="bench-scratch-")) if own_scratch else Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    # the yardstick read runs before and after the pass, and the faster read counts, so that neither side
    # of ratio_to_read is the only one to pay for a cold page cache
    raw_rows, t_read_before, c_read_before = _timed(read_all, "raw read (before the pass)")
    runs: list[dict] = []
    sql_runs: list[dict] = []
    plan = models = built = None
    n_models = 0
    for k in range(max(repeat, 1)):
        timings: dict = {}
        plan = models = built = None    # a run never holds the previous run's outputs
        plan, models, built, n_models = _pass(snapshots, workers=workers, row_codes_dir=row_codes_dir,
                                              outputs_dir=outputs_dir, metadata_every=every, registry=registry,
                                              timings=timings)
        runs.append(timings)
        if duckdb:
            sql_runs.append(run_duckdb(snapshots, metadata_every=every, registry=registry,
                                       out=scratch / "duckdb_panel.parquet", memory_limit=duckdb_memory_limit,
                                       threads=duckdb_threads, temp_directory=scratch / "duckdb_tmp"))
    pass_peak = peak_rss_mb()
    _, t_read_after, c_read_after = _timed(read_all, "raw read (after the pass)")
    t_read, c_read = min(t_read_before, t_read_after), min(c_read_before, c_read_after)
    _, t_anchor, c_anchor = _timed(read_anchor_files, "raw read of whole anchor files (earlier yardstick)")
    t_floor = c_floor = None
    if floor:
        _, t_floor, c_floor = _timed(read_and_match, "read and match (the floor)")

    def med(stage: str, i: int) -> float:
        return float(np.median([r[stage][i] for r in runs]))

    stages = {"raw_read": StageTiming(t_read, c_read, raw_rows, peak_rss_mb()).as_dict()}
    notes["raw_read"] = (f"the faster of two plain reads, before ({t_read_before:.1f} s) and after "
                         f"({t_read_after:.1f} s) the pass, of what the pass reads: id, downloads, "
                         f"downloadsAllTime of every file and the metadata columns of the row groups holding a row "
                         f"the catalog's plan reads (metadata_every={every})")
    stages["raw_read_anchor_files"] = StageTiming(t_anchor, c_anchor, raw_rows, peak_rss_mb()).as_dict()
    notes["raw_read_anchor_files"] = ("the yardstick of earlier reports, read once after the pass: id, downloads, "
                                      "downloadsAllTime of every file and the metadata columns of the whole anchor "
                                      "files (not the orphans' row groups); ratio_to_read_anchor_files divides by it")
    rows_of = {"catalog": raw_rows, "tagging": n_models, "aggregation": built.rows_read}
    for stage in ("catalog", "tagging", "aggregation"):
        stages[stage] = StageTiming(med(stage, 0), med(stage, 1), rows_of[stage],
                                    max(r[stage][2] for r in runs)).as_dict()
    notes["catalog"] = ("catalog_with_plan: plan_metadata (every file's ids, row codes) and, overlapping it, the "
                        "metadata reads of the plan")
    notes["tagging"] = "tag_models + join of the catalog columns + writing models.parquet"
    notes["aggregation"] = "build_panel: panel + rankings + top organisations in one streaming pass, and writing them"
    pass_runs = [sum(r[s][0] for s in ("catalog", "tagging", "aggregation")) for r in runs]
    pass_cpu_runs = [sum(r[s][1] for s in ("catalog", "tagging", "aggregation")) for r in runs]
    pass_seconds = float(np.median(pass_runs))
    pass_cpu = float(np.median(pass_cpu_runs))
    shares = built.panel.groupby(["date", "measure", "rule", "scope"])["share"].sum(min_count=1).dropna()
    report: dict = {"metadata_every": every, "repeat": len(runs)}
    report["checks"] = {
        "panel_rows": len(built.panel), "rankings_rows": len(built.rankings), "top_orgs_rows": len(built.top_orgs),
        "rows_used_by_panel": built.rows_used, "untagged_rows": built.untagged_rows,
        "snapshots_matched_by_row_codes": built.snapshots_matched_by_codes,
        "row_codes_bytes": sum(f.stat().st_size for f in Path(row_codes_dir).iterdir()) if row_codes_dir else 0,
        "shares_sum_to_one": bool(np.allclose(shares.to_numpy(), 1.0)),
        "all_rows_tagged": built.untagged_rows == 0,
        "metadata_plan": plan.summary(),
    }
    if duckdb:
        sql_seconds = float(np.median([r["seconds"] for r in sql_runs]))
        theirs = pd.read_parquet(scratch / "duckdb_panel.parquet")
        sql_cpu = float(np.median([r.get("cpu_seconds", np.nan) for r in sql_runs]))
        report["duckdb"] = {"seconds": sql_seconds, "seconds_runs": [r["seconds"] for r in sql_runs],
                            "cpu_seconds": sql_cpu,
                            "peak_rss_mb": max(r["peak_rss_mb"] for r in sql_runs),
                            "memory_limit": duckdb_memory_limit, "threads": duckdb_threads,
                            "version": sql_runs[0]["duckdb"], "steps_seconds": sql_runs[-1]["steps_seconds"],
                            "models": sql_runs[-1]["models"]}
        report["ratio_to_duckdb"] = round(pass_seconds / sql_seconds, 3) if sql_seconds > 0 else None
        report["ratio_to_duckdb_cpu"] = round(pass_cpu / sql_cpu, 3) if sql_cpu > 0 else None
        report["panel_vs_duckdb"] = compare_panels(built.panel, theirs)
    report.update({
        "snapshots": len(snapshots), "raw_rows": raw_rows, "models_in_union": n_models,
        "stages": stages,
        "pass_seconds": round(pass_seconds, 3), "pass_seconds_runs": [round(x, 3) for x in pass_runs],
        "ratio_to_read": round(pass_seconds / t_read, 3) if t_read > 0 else None,
        "ratio_to_read_anchor_files": round(pass_seconds / t_anchor, 3) if t_anchor > 0 else None,
        "pass_cpu_seconds": round(pass_cpu, 2),
        "ratio_to_read_cpu": round(pass_cpu / c_read, 3) if c_read > 0 else None,
        "ns_per_raw_row": round(pass_seconds / raw_rows * 1e9, 1) if raw_rows else None,
        "peak_rss_mb": pass_peak,
    })
    if floor:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        left = 1.5 * t_read * cores - c_floor       # CPU a pass at ratio_to_read 1.5 has beyond the floor
        report["floor"] = {"seconds": round(t_floor, 3), "cpu_seconds": round(c_floor, 3),
                           "ratio_to_read": round(t_floor / t_read, 3) if t_read > 0 else None,
                           "pass_ratio_to_floor": round(pass_seconds / t_floor, 3) if t_floor > 0 else None,
                           "cores": cores, "cpu_seconds_left_at_ratio_1_5": round(left, 3),
                           "tagging_cpu_seconds": round(med("tagging", 1), 3)}
        notes["floor"] = ("the yardstick read plus matching each file's ids to the next newer file's "
                          "(analysis.catalog.match_rows), nothing else: the least a pass that follows models from week "
                          "to week does. floor.ratio_to_read is what ratio_to_read would be if metadata, tagging, "
                          "aggregation and writing cost nothing. floor.cpu_seconds_left_at_ratio_1_5 = 1.5 x "
                          "raw_read seconds x cores - floor CPU seconds: the CPU time a pass with ratio_to_read 1.5 "
                          "would have, at best (every core busy throughout), for metadata, tagging (the pass's "
                          "tagging_cpu_seconds, median), aggregation and writing; below tagging_cpu_seconds, no "
                          "pass doing this tagging can reach 1.5 on this machine")
    if loss:
        if row_codes_dir is None:
            raise BenchError("--loss needs the row codes (drop --no-row-codes)")
        report["staleness"] = staleness(snapshots, models, plan, workers=workers, registry=registry,
                                        row_codes_dir=row_codes_dir)
    del models, built
    report.update({"load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                   "wall_seconds": round(time.perf_counter() - t_start, 2), "notes": notes})
    if own_outputs:
        shutil.rmtree(outputs_dir, ignore_errors=True)
    if own_scratch:
        shutil.rmtree(scratch, ignore_errors=True)
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
    parser.add_argument("--metadata-every", type=int, default=None,
                        help="thin-read rule: metadata from the newest snapshot and every N-th before it "
                             "(default: the library's, analysis.catalog.DEFAULT_METADATA_EVERY)")
    parser.add_argument("--duckdb", action="store_true",
                        help="also run the DuckDB SQL yardstick on the same files and compare the panels "
                             "(needs the bench extra: pip install -e '.[bench]')")
    parser.add_argument("--duckdb-memory-limit", default="12GB", help="DuckDB's memory_limit (default 12GB)")
    parser.add_argument("--duckdb-threads", type=int, default=2, help="DuckDB's threads (default 2)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of the pass and of the yardstick, alternating; medians reported (default 1)")
    parser.add_argument("--loss", action="store_true",
                        help="also measure what the thin-read rule loses against reading every week's metadata")
    parser.add_argument("--thin-store", action="store_true",
                        help="run the pass on a raw store written by the default thin pull (built once through the "
                             "local Hub stand-in; needs disk for the archive's files while it is built)")
    parser.add_argument("--floor", action="store_true",
                        help="also time the floor: the yardstick read plus matching each file's ids to the next "
                             "newer file's, nothing else")




def _run_child(code: str, args: list, what: str) -> None:
    """Run ``python -c code args`` with the repo importable (for building stores in a child process, so their
    memory does not count in this process's peak RSS); its messages go to stderr."""
    from analysis.paths import REPO_ROOT

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, stdout=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"{what} failed (exit {done.returncode}); see the messages above")


def _generate_in_child(spec: StoreSpec, out: Path, weeks: int) -> None:
    """Build the store in a child process, so its memory does not count in this process's peak RSS."""
    code = ("import sys; from pathlib import Path; from analysis.simulate.store import StoreSpec, generate_store; "
            "generate_store(StoreSpec(int(sys.argv[1]), int(sys.argv[2])), Path(sys.argv[3]), int(sys.argv[4]), "
            "log=lambda m: print(m, file=sys.stderr, flush=True))")
    _run_child(code, [spec.models, spec.seed, out, weeks], f"building the simulated store in {spec.folder(out)}")


def _thin_folder(spec: StoreSpec, out: Path, weeks: int, metadata_every: int) -> Path:
    return spec.folder(out) / f"thin-{weeks}w-every{metadata_every}"


def build_thin_store(spec: StoreSpec, out: Path, weeks: int, metadata_every: int) -> None:
    """Write the store's first ``weeks`` weeks as the archive's files (with the light columns), serve them with the
    local Hub stand-in and run the project's pull into the thin store's folder; the archive's files are deleted
    afterwards, and ``complete.json`` marks the store as whole."""
    from devtools.bytes_read import REPO_ID, pull_store
    from devtools.fakehub import FakeHub

    folder = _thin_folder(spec, out, weeks, metadata_every)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    hub_dir = Path(tempfile.mkdtemp(prefix="bench-archive-", dir=spec.folder(out)))
    try:
        write_archive(spec, hub_dir, weeks, REPO_ID, heavy=False, log=_log)
        t0 = time.perf_counter()
        with FakeHub(hub_dir) as hub:
            pulled = pull_store(hub, folder, metadata_every, spec.date(0))
        _log(f"pulled {pulled['served']:,} bytes in {time.perf_counter() - t0:.0f} s")
    finally:
        shutil.rmtree(hub_dir, ignore_errors=True)
    (folder / "complete.json").write_text(json.dumps({"weeks": weeks, "metadata_every": metadata_every,
                                                      "archive_columns": "light", "bytes_pulled": pulled["served"]}))


def thin_store(spec: StoreSpec, out: Path, weeks: int, metadata_every: int) -> list[tuple[dt.date, Path]]:
    """The snapshots of a raw store written by the default pull under ``metadata_every``: built once, in a child
    process (so its memory does not count in the measured peak), by :func:`build_thin_store`, then reused. A store
    left incomplete (no ``complete.json``) is built again."""
    from analysis.paths import Paths
    from analysis.raw import RawStore

    folder = _thin_folder(spec, out, weeks, metadata_every)
    if not (folder / "complete.json").is_file():
        _log(f"building {folder} with the thin pull (the archive written, served and pulled; minutes at Hub scale)")
        spec.folder(out).mkdir(parents=True, exist_ok=True)
        code = ("import sys; from pathlib import Path; from analysis.simulate.store import StoreSpec; "
                "from devtools.bench import build_thin_store; build_thin_store(StoreSpec(int(sys.argv[1]), "
                "int(sys.argv[2])), Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))")
        _run_child(code, [spec.models, spec.seed, out, weeks, metadata_every], f"building the thin store {folder}")
    store = RawStore(Paths(folder, simulated=False).raw_dir)
    snaps = [(d, store.path("archive", d)) for d in store.snapshot_dates("archive")]
    if len(snaps) != weeks:
        raise BenchError(f"{folder}: {len(snaps)} snapshots where {weeks} were pulled; delete the folder and rerun")
    return snaps


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m devtools.bench``: build or reuse the store, measure, print one JSON line."""
    from analysis.paths import Paths

    if args.models < 100 or args.weeks < 2:
        print("error: --models must be at least 100 and --weeks at least 2", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else Paths.default().root / "data" / "bench"
    spec = StoreSpec(models=args.models, seed=args.seed)
    t0 = time.perf_counter()
    if args.thin_store and args.loss:
        print("error: --loss runs on the archive store only (it needs every week's metadata); leave out "
              "--thin-store for it", file=sys.stderr)
        return 2
    folder = spec.folder(out)
    if args.thin_store:
        from analysis.catalog import DEFAULT_METADATA_EVERY

        every = DEFAULT_METADATA_EVERY if args.metadata_every is None else args.metadata_every
        if every < 1:
            print("error: --metadata-every must be at least 1 with --thin-store (the thin pull)", file=sys.stderr)
            return 2
        snaps = thin_store(spec, out, args.weeks, every)
        store_folder = _thin_folder(spec, out, args.weeks, every)
        store_bytes = sum(p.stat().st_size for p in store_folder.rglob("*.parquet"))   # metadata parts included
    else:
        have = store_dates(spec, out)
        if len(have) < args.weeks or any(spec.date(w) not in set(have) for w in range(args.weeks)):
            print(f"bench: building the simulated store {spec.folder(out)} ({args.weeks} weeks)", file=sys.stderr)
            _generate_in_child(spec, out, args.weeks)
        snaps = [(spec.date(w), folder / "archive" / f"{spec.date(w).isoformat()}.parquet")
                 for w in range(args.weeks)]
        store_folder, store_bytes = folder, sum(p.stat().st_size for _, p in snaps)
    build_seconds = time.perf_counter() - t0
    report = {"models": args.models, "weeks": args.weeks, "seed": args.seed, "workers": args.workers,
              "row_codes": bool(args.row_codes), "thin_store": bool(args.thin_store),
              "store": str(store_folder), "store_bytes": store_bytes,
              "store_build_seconds": round(build_seconds, 1)}
    if args.duckdb:
        if importlib.util.find_spec("duckdb") is None:
            print("error: --duckdb needs the duckdb package: pip install -e '.[bench]'", file=sys.stderr)
            return 2
    codes = folder / f"row-codes-{args.weeks}w" if args.row_codes else None
    scratch = folder / f"scratch-{args.weeks}w"
    try:
        report.update(measure(snaps, workers=args.workers, row_codes_dir=codes, metadata_every=args.metadata_every,
                              duckdb=args.duckdb, duckdb_memory_limit=args.duckdb_memory_limit,
                              duckdb_threads=args.duckdb_threads, repeat=args.repeat, loss=args.loss,
                              scratch=scratch, floor=args.floor))
    finally:
        for folder_ in (codes, scratch):
            if folder_ is not None and folder_.exists():
                shutil.rmtree(folder_)
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
