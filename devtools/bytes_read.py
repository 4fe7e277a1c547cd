"""How many of the archive's bytes the pull reads, and what the thin pull loses: measured on the real pull.

Writes a simulated archive whose files carry the archive's heavy columns (:func:`analysis.simulate.store.
write_archive`; their assumed sizes are :data:`analysis.simulate.store.HEAVY_COLUMNS`, with 10% of the models
editing their metadata once and some deleted along the way), serves it with the local Hub stand-in and runs the
pull itself (:func:`analysis.hub.pull.pull_all`, huggingface_hub over HTTP) into two raw stores:

``thin``
    the default pull (``archive.metadata_every`` = N): ``id``, ``downloads`` and ``downloadsAllTime`` of every row
    group of every file, then the metadata columns of the row groups holding the rows the thin-read rule plans
    (:mod:`analysis.catalog`, "Thin reads");
``full``
    the read-every-week pull (``archive.metadata_every`` = 0): every column of the raw schema, every row group.

It reports the body bytes the stand-in served for each against the files' total size (and checks the client
counted the same), the per-column bytes of the newest file, the row groups read for metadata and the rule's plan.
With ``--loss`` it also builds, end to end, the catalog of each store as notebook 02 does (the thin store under
rule N; the full store under rule 1, each model's newest row: what reading every week's metadata gives), tags both
and reports the share of downloads (30-day downloads summed over every snapshot) whose tags and lineage roots
(:data:`STALENESS_COLUMNS`) are identical.

Usage::

    python -m devtools.bytes_read [--models 50000] [--weeks 104] [--metadata-every 13] [--row-groups 10]
                                  [--order creation|shuffled] [--loss] [--json]

``--row-groups`` sets how many row groups the newest file has (the archive's own row-group size is not
published; the fraction the thin pull reads grows with it, since a row group holding one wanted row is read whole).
Exit status 1 if the thin pull reads more than 8% of the archive's bytes, or (with ``--loss``) if fewer than 99.9%
of downloads keep identical tags and lineage roots.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis.catalog import attach_descriptors, build_catalog, plan_metadata
from analysis.config import load_config
from analysis.hub import RetryPolicy
from analysis.hub.pull import pull_all
from analysis.paths import Paths
from analysis.raw import RawStore
from analysis.schema import METADATA_COLUMNS as RAW_METADATA_COLUMNS
from analysis.schema import WEEKLY_COLUMNS as RAW_WEEKLY_COLUMNS
from analysis.simulate.store import HEAVY_COLUMNS, StoreSpec, store_registry, write_archive

from devtools.fakehub import FakeHub

REPO_ID = "hfmlsoc/hub_weekly_snapshots"

#: Columns a thin pull reads from every file.
WEEKLY_COLUMNS = list(RAW_WEEKLY_COLUMNS)

#: Columns a thin pull reads only where the rule reads metadata (``params_total`` from the ``total`` leaves of
#: ``safetensors`` and ``gguf`` where the archive has no such column).
METADATA_COLUMNS = list(RAW_METADATA_COLUMNS)

#: The bound the thin pull must meet (issue 15).
MAX_FRACTION = 0.08
#: Share of downloads whose tags and lineage roots must be identical to a read-every-week pull's.
MIN_IDENTICAL = 0.999
#: Columns whose agreement the staleness check asks for (tags and lineage roots, and what the scopes read).
STALENESS_COLUMNS = ["relation", "parent", "lineage_root", "root_author", "uploader_region", "lineage_region",
                     "first_party", "is_redistributor", "pipeline_tag"]


def tags_agreement(thin: pd.DataFrame, exact: pd.DataFrame, weight: pd.Series) -> dict:
    """Model by model, whether :data:`STALENESS_COLUMNS` of ``thin`` equal those of ``exact`` (both with ``id``), and
    the share of downloads (``weight``, indexed by id) of the models where all are equal."""
    a = thin.set_index("id")[STALENESS_COLUMNS]
    b = exact.set_index("id")[STALENESS_COLUMNS].reindex(a.index)
    same = pd.Series(True, index=a.index)
    per_column = {}
    for c in STALENESS_COLUMNS:
        eq = (a[c] == b[c]) | (a[c].isna() & b[c].isna())
        per_column[c] = int((~eq).sum())
        same &= eq
    wt = weight.reindex(a.index).fillna(0.0)
    total = float(wt.sum())
    return {"models": len(a), "models_differing": int((~same).sum()), "differing_by_column": per_column,
            "share_of_downloads_identical": float(wt[same].sum() / total) if total > 0 else None,
            "downloads_weight": "30-day downloads summed over every snapshot"}


def column_bytes(path: Path) -> dict[str, float]:
    """Compressed bytes per row of each top-level column of a Parquet file."""
    md = pq.ParquetFile(path).metadata
    sizes: dict[str, int] = {}
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for i in range(rg.num_columns):
            c = rg.column(i)
            top = c.path_in_schema.split(".")[0]
            sizes[top] = sizes.get(top, 0) + c.total_compressed_size
    return {k: round(v / max(md.num_rows, 1), 1) for k, v in sizes.items()}


def _snapshots(store: RawStore) -> list[tuple[dt.date, Path]]:
    return [(d, store.path("archive", d)) for d in store.snapshot_dates("archive")]


def pull_store(hub: FakeHub, root: Path, metadata_every: int, start: dt.date) -> dict:
    """Run the pull into ``root`` under ``metadata_every``; the bytes served and counted, and the store."""
    cfg = load_config(overrides={"study.start": start.isoformat(), "live.enabled": "false",
                                 "archive.metadata_every": str(metadata_every)})
    files = r"/resolve/.*\.parquet$"
    before = hub.stats.total_bytes(files)
    report = pull_all(cfg, Paths(root, simulated=False), endpoint=hub.endpoint, retry=RetryPolicy(base_delay=0.1),
                      progress=False, log=lambda line: None)
    if not report.ok:
        raise RuntimeError(f"the pull failed: {report.summary()}")
    return {"served": hub.stats.total_bytes(files) - before, "counted": report.bytes_read,
            "store": RawStore(Paths(root, simulated=False).raw_dir), "report": report}


def loss(thin: RawStore, full: RawStore, metadata_every: int) -> dict:
    """Tags and lineage roots of the thin store's catalog (rule N) against the full store's under rule 1."""
    from analysis.origin import tag_models

    registry = store_registry()

    def tagged(store: RawStore, every: int) -> pd.DataFrame:
        cat = build_catalog(_snapshots(store), metadata_every=every)
        return attach_descriptors(tag_models(cat, registry, None, merge_parent="first"), cat, ["pipeline_tag"])

    weight = pd.Series(dtype=float)
    for _, path in _snapshots(thin):
        t = pq.read_table(path, columns=["id", "downloads"]).to_pandas()
        weight = weight.add(t.groupby("id")["downloads"].sum().astype(float), fill_value=0.0)
    return {**tags_agreement(tagged(thin, metadata_every), tagged(full, 1), weight),
            "compared_with": "the full pull's store, catalog under metadata_every = 1 (each model's newest row)"}


def measure(models: int, weeks: int, metadata_every: int, row_groups: int, order: str, workdir: Path,
            log=print, with_loss: bool = False) -> dict:
    """Write the archive, serve it, pull it thin and full with the project's pull; return the figures."""
    spec = StoreSpec(models=models, seed=0)
    rg_size = max(int(np.ceil(models / row_groups)), 1)
    t0 = time.perf_counter()
    files = write_archive(spec, workdir / "hub", weeks, REPO_ID, order=order, row_group_size=rg_size, log=log)
    archive_bytes = sum(f.stat().st_size for f in files)
    out = {"models": models, "weeks": weeks, "files": len(files), "order": order, "row_group_rows": rg_size,
           "metadata_every": metadata_every, "archive_bytes": archive_bytes,
           "rows_newest": pq.ParquetFile(files[-1]).metadata.num_rows,
           "bytes_per_row_newest": column_bytes(files[-1]),
           "assumed_heavy_bytes_per_row": HEAVY_COLUMNS, "write_seconds": round(time.perf_counter() - t0, 1)}
    t1 = time.perf_counter()
    with FakeHub(workdir / "hub") as hub:
        thin = pull_store(hub, workdir / "thin", metadata_every, spec.date(0))
        full = pull_store(hub, workdir / "full", 0, spec.date(0))
    out["pull_seconds"] = round(time.perf_counter() - t1, 1)
    store = thin["store"]
    parts = [e for e in store.manifest_entries() if e.get("kind") == "metadata"]
    plan = plan_metadata(_snapshots(store), metadata_every)
    groups_total = sum(pq.ParquetFile(f).metadata.num_row_groups for f in files)
    out.update({
        "thin_bytes": thin["served"], "thin_fraction": thin["served"] / archive_bytes,
        "thin_bytes_counted_by_client": thin["counted"],
        "full_bytes": full["served"], "full_fraction": full["served"] / archive_bytes,
        "full_bytes_counted_by_client": full["counted"],
        "thin_vs_full": thin["served"] / full["served"] if full["served"] else None,
        "metadata_snapshots_fetched": len(parts),
        "metadata_rows_stored": int(sum(e["rows"] for e in parts)),
        "metadata_row_groups_read": int(sum(len(e["row_groups_read"]) for e in parts)),
        "row_groups_total": int(groups_total),
        "plan": plan.summary(),
        "raw_store_bytes": {"thin": sum(p.stat().st_size for p in store.raw_dir.rglob("*.parquet")),
                            "full": sum(p.stat().st_size for p in full["store"].raw_dir.rglob("*.parquet"))},
    })
    if with_loss:
        t2 = time.perf_counter()
        out["loss"] = loss(store, full["store"], metadata_every)
        out["loss_seconds"] = round(time.perf_counter() - t2, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m devtools.bytes_read``: print the figures; exit 1 if a bound of issue 15 is not met."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=50_000)
    p.add_argument("--weeks", type=int, default=104)
    p.add_argument("--metadata-every", type=int, default=13)
    p.add_argument("--row-groups", type=int, default=10, help="row groups of the newest file (default 10)")
    p.add_argument("--order", choices=["creation", "shuffled"], default="creation",
                   help="models in creation order in every file, or shuffled anew every week")
    p.add_argument("--loss", action="store_true", help="also measure the thin store's tags against the full one's")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    if args.metadata_every < 1:
        p.error("--metadata-every must be >= 1 (the thin pull); the full pull is measured beside it anyway")
    with tempfile.TemporaryDirectory() as tmp:
        m = measure(args.models, args.weeks, args.metadata_every, args.row_groups, args.order, Path(tmp),
                    log=lambda s: print(s, file=sys.stderr), with_loss=args.loss)
    if args.json:
        print(json.dumps(m, indent=1))
    else:
        print(f"{m['models']} models x {m['weeks']} weeks, {m['row_group_rows']} rows per row group, "
              f"models in {m['order']} order; archive {m['archive_bytes']:,} bytes")
        print(f"full pull (every column of every week): {m['full_bytes']:,} bytes = {m['full_fraction']:.1%}")
        print(f"thin pull (metadata every {m['metadata_every']}): {m['thin_bytes']:,} bytes = "
              f"{m['thin_fraction']:.2%} ({m['metadata_row_groups_read']} of {m['row_groups_total']} row groups "
              f"read for metadata, in {m['metadata_snapshots_fetched']} snapshots)")
        if "loss" in m:
            print(f"tags and lineage roots identical to the read-every-week pull for "
                  f"{m['loss']['share_of_downloads_identical']:.4%} of downloads "
                  f"({m['loss']['models_differing']} of {m['loss']['models']} models differ)")
    ok = m["thin_fraction"] <= MAX_FRACTION
    if "loss" in m:
        ok = ok and (m["loss"]["share_of_downloads_identical"] or 0) >= MIN_IDENTICAL
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
