"""The catalog: every model seen in the study window, once, with its latest metadata.

Tagging (notebook 02) needs one row per model id with the lineage columns (``baseModels``, ``tags``) and a few
descriptors. The catalog is built by reading snapshots newest first, with only those columns, and keeping for each
id the row of the newest snapshot that has it; a model deleted from the Hub keeps its last known metadata.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CATALOG_COLUMNS = ["id", "author", "createdAt", "pipeline_tag", "library_name", "tags", "baseModels"]


class CatalogError(ValueError):
    """A raw snapshot that cannot be read into the catalog."""


def build_catalog(snapshots: Sequence[tuple[dt.date, Path]], columns: Sequence[str] = CATALOG_COLUMNS,
                  progress=None) -> pa.Table:
    """Union of all models over the snapshots, newest metadata first.

    Parameters
    ----------
    snapshots : sequence of (date, path)
        Raw snapshot files in the normalised raw schema.
    columns : sequence of str
        Columns to keep (``id`` is always kept). Columns absent from a file are null for its rows.
    progress : callable, optional
        Called as ``progress(i, n, date)`` after each snapshot.

    Returns
    -------
    pyarrow.Table
        One row per model id, with a ``last_seen`` date column.
    """
    cols = ["id"] + [c for c in columns if c != "id"]
    parts: list[pa.Table] = []
    seen: pa.Array | None = None
    snaps = sorted(snapshots, reverse=True)
    for i, (date, path) in enumerate(snaps):
        try:
            names = set(pq.read_schema(path).names)
            t = pq.read_table(path, columns=[c for c in cols if c in names])
        except (OSError, pa.ArrowInvalid) as e:
            raise CatalogError(f"{path}: cannot read raw snapshot of {date} ({e}); "
                               "run `python -m analysis pull --verify`") from None
        if "id" not in t.column_names:
            raise CatalogError(f"{path}: raw snapshot of {date} has no 'id' column")
        if seen is not None:
            t = t.filter(pc.invert(pc.is_in(t["id"], value_set=seen)))
        if t.num_rows:
            t = t.append_column("last_seen", pa.array([date] * t.num_rows, pa.date32()))
            parts.append(t)
            seen = t["id"].combine_chunks() if seen is None else pa.concat_arrays([seen, t["id"].combine_chunks()])
        if progress is not None:
            progress(i + 1, len(snaps), date)
    if not parts:
        raise CatalogError("no raw snapshots to build the catalog from; run notebook 01 (pull) first")
    return pa.concat_tables(parts, promote_options="default")
