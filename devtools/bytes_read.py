"""How many of the archive's bytes a pull reads: the pull as it is, and the thin pull of the thin-read rule.

Writes a simulated archive whose files carry the archive's heavy columns (:func:`analysis.simulate.store.
write_archive`; their assumed sizes are :data:`analysis.simulate.store.HEAVY_COLUMNS`), serves it with the local
Hub stand-in, and reads every weekly file through the pull's own range reads (:func:`analysis.hub.archive.
open_projected`, huggingface_hub over HTTP), twice:

``raw_schema``
    what the pull reads today: every column of the raw schema, from every row group of every file;
``thin``
    what a pull under the thin-read rule (:mod:`analysis.catalog`, "Thin reads") reads: ``id``, ``downloads`` and
    ``downloadsAllTime`` of every file, and the metadata columns (``author, createdAt, pipeline_tag,
    library_name, tags, baseModels``) only of the row groups that hold a row the rule reads the metadata of (the
    anchors' rows of models no newer anchor holds, and the rows of the models no anchor holds).

It reports the body bytes the stand-in served for each against the files' total size, the per-column bytes of
the newest file, and the rule's plan. The rule's plan is computed by :func:`analysis.catalog.plan_metadata` from
the files' ids, as the catalog computes it; a real thin pull reads the ids first (they are among the weekly
columns) and then the planned metadata, so the bytes are the same.

Usage::

    python -m devtools.bytes_read [--models 50000] [--weeks 104] [--metadata-every 13] [--row-groups 10]
                                  [--order creation|shuffled] [--json]

``--row-groups`` sets how many row groups the newest file has (the archive's own row-group size is not
published; the fraction the thin pull reads grows with it, since a row group holding one wanted row is read whole).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from analysis.catalog import CATALOG_COLUMNS, plan_metadata
from analysis.hub import RetryPolicy
from analysis.hub.archive import list_snapshots, open_projected
from analysis.schema import RAW_SCHEMA
from analysis.simulate.store import HEAVY_COLUMNS, StoreSpec, write_archive

from devtools.fakehub import FakeHub

REPO_ID = "hfmlsoc/hub_weekly_snapshots"

#: Columns a thin pull reads from every file.
WEEKLY_COLUMNS = ["id", "downloads", "downloadsAllTime"]

#: Columns a thin pull reads only where the rule reads metadata.
METADATA_COLUMNS = [c for c in CATALOG_COLUMNS if c != "id"]


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


def _row_groups_of(path: Path, rows: np.ndarray) -> list[int]:
    md = pq.ParquetFile(path).metadata
    bounds = np.cumsum([0] + [md.row_group(g).num_rows for g in range(md.num_row_groups)])
    return sorted(set(np.searchsorted(bounds, rows, side="right") - 1)) if rows.size else []


def measure(models: int, weeks: int, metadata_every: int, row_groups: int, order: str, workdir: Path,
            log=print) -> dict:
    """Write the archive, plan the thin reads, serve, read both ways; return the figures."""
    spec = StoreSpec(models=models, seed=0)
    rg_size = max(int(np.ceil(models / row_groups)), 1)
    t0 = time.perf_counter()
    files = write_archive(spec, workdir / "hub", weeks, REPO_ID, order=order, row_group_size=rg_size, log=log)
    snaps = [(spec.date(w), f) for w, f in enumerate(files)]
    plan = plan_metadata(snaps, metadata_every)
    newest_first = [p for _, p in sorted(snaps, key=lambda s: s[0], reverse=True)]
    metadata_groups = {newest_first[k]: _row_groups_of(newest_first[k], pos) for k, (pos, _) in plan.reads.items()}
    archive_bytes = sum(f.stat().st_size for f in files)
    raw_cols = list(RAW_SCHEMA.names)
    out = {"models": models, "weeks": weeks, "files": len(files), "order": order, "row_group_rows": rg_size,
           "metadata_every": metadata_every, "archive_bytes": archive_bytes,
           "rows_newest": pq.ParquetFile(files[-1]).metadata.num_rows,
           "bytes_per_row_newest": column_bytes(files[-1]),
           "assumed_heavy_bytes_per_row": HEAVY_COLUMNS, "plan": plan.summary(),
           "write_seconds": round(time.perf_counter() - t0, 1)}
    with FakeHub(workdir / "hub") as hub:
        listing = list_snapshots(REPO_ID, endpoint=hub.endpoint)
        by_date = {f.date: f for f in listing.files}
        retry = RetryPolicy(base_delay=0.1)

        def read(kind: str) -> tuple[int, int]:
            before_b, before_r = hub.stats.total_bytes("/resolve/"), hub.stats.total_requests("/resolve/")
            for date, path in snaps:
                af = by_date[date]
                fobj = open_projected(REPO_ID, listing.commit, af.path_in_repo, af.size, endpoint=hub.endpoint,
                                      retry=retry)
                pf = pq.ParquetFile(fobj)
                names = pf.schema_arrow.names
                for g in range(pf.metadata.num_row_groups):
                    if kind == "raw_schema":
                        cols = [c for c in raw_cols if c in names]
                    else:
                        cols = WEEKLY_COLUMNS + (METADATA_COLUMNS if g in metadata_groups.get(path, ()) else [])
                        cols = [c for c in cols if c in names]
                    pf.read_row_group(g, columns=cols)
                fobj.close()
            return (hub.stats.total_bytes("/resolve/") - before_b, hub.stats.total_requests("/resolve/") - before_r)

        t1 = time.perf_counter()
        full, full_req = read("raw_schema")
        thin, thin_req = read("thin")
        out["read_seconds"] = round(time.perf_counter() - t1, 1)
    groups_total = sum(pq.ParquetFile(f).metadata.num_row_groups for f in files)
    out.update({
        "raw_schema_bytes": full, "raw_schema_fraction": full / archive_bytes, "raw_schema_requests": full_req,
        "thin_bytes": thin, "thin_fraction": thin / archive_bytes, "thin_requests": thin_req,
        "thin_vs_raw_schema": thin / full if full else None,
        "metadata_row_groups_read": int(sum(len(v) for v in metadata_groups.values())),
        "row_groups_total": int(groups_total),
    })
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m devtools.bytes_read``: print the figures; exit 1 if the thin pull reads more than 8%."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=50_000)
    p.add_argument("--weeks", type=int, default=104)
    p.add_argument("--metadata-every", type=int, default=13)
    p.add_argument("--row-groups", type=int, default=10, help="row groups of the newest file (default 10)")
    p.add_argument("--order", choices=["creation", "shuffled"], default="creation",
                   help="models in creation order in every file, or shuffled anew every week")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        m = measure(args.models, args.weeks, args.metadata_every, args.row_groups, args.order, Path(tmp),
                    log=lambda s: print(s, file=sys.stderr))
    if args.json:
        print(json.dumps(m, indent=1))
    else:
        print(f"{m['models']} models x {m['weeks']} weeks, {m['row_group_rows']} rows per row group, "
              f"models in {m['order']} order; archive {m['archive_bytes']:,} bytes")
        print(f"pull of the raw schema: {m['raw_schema_bytes']:,} bytes = {m['raw_schema_fraction']:.1%}")
        print(f"thin pull (metadata every {m['metadata_every']}): {m['thin_bytes']:,} bytes = "
              f"{m['thin_fraction']:.1%} ({m['metadata_row_groups_read']} of {m['row_groups_total']} row groups "
              "read for metadata)")
    return 0 if m["thin_fraction"] <= 0.08 else 1


if __name__ == "__main__":
    sys.exit(main())
