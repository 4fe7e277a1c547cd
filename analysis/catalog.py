"""The catalog: every model seen in the study window, once, with its latest metadata.

Tagging (notebook 02) needs one row per model id with the lineage columns (``baseModels``, ``tags``) and a few
descriptors. For each id the catalog keeps the row of the newest snapshot that has it; a model deleted from the Hub
keeps its last known metadata.

How it streams
--------------
Snapshots are read newest first, one file at a time, with the catalog columns only. The newest snapshot gives every
model it holds. Each older snapshot is compared with the next newer one on ``id``: only its rows whose id is
missing from the newer file can be new to the catalog (a model deleted in between, or one that comes back later),
and such a candidate is kept if no newer snapshot had it. Each file is read once (its ``id`` column is handed to
the comparison of the next older file), so at any time the pass holds the catalog, a Python set of its ids and at
most ``workers + 1`` snapshots. Files are read and compared by a small pool of threads (Arrow releases the GIL
while it reads and hashes) and consumed strictly newest first, so the result does not depend on the number of
threads. By default ``tags`` keeps only the lineage tags (``base_model:...``, the only ones tagging reads), which
makes the catalog several times smaller.

Row codes
---------
Comparing a snapshot with the next newer one finds, for each of its rows, that row's place in the newer file, hence
its catalog row. With ``row_codes_dir`` the pass writes these (one int32 per raw row and snapshot, about 4 bytes per
row on disk), and :func:`analysis.panel.build_panel` then sums the snapshots without reading or hashing their ids
again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CATALOG_COLUMNS = ["id", "author", "createdAt", "pipeline_tag", "library_name", "tags", "baseModels"]

#: Prefix of the tags that declare lineage (``base_model:<id>``, ``base_model:<relation>:<id>``).
LINEAGE_TAG_PREFIX = "base_model:"

#: Files of a row-codes folder (see ``build_catalog(row_codes_dir=...)``).
ROW_CODES_INDEX = "index.json"
ROW_CODES_IDS = "catalog_ids.parquet"

#: Threads used to prepare snapshots (reading and hashing); results never depend on it.
DEFAULT_WORKERS = 2

T = TypeVar("T")
R = TypeVar("R")


class CatalogError(ValueError):
    """A raw snapshot that cannot be read into the catalog."""


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int = DEFAULT_WORKERS,
                lookahead: int | None = None) -> Iterator[R]:
    """``map(fn, items)`` computed by a thread pool, yielded in input order with bounded lookahead.

    Parameters
    ----------
    fn : callable
        Work on one item (should spend its time in code that releases the GIL, e.g. Arrow).
    items : iterable
        Inputs, consumed lazily.
    workers : int
        Threads (1 = run in the calling thread, no pool).
    lookahead : int, optional
        Items in flight at most (default ``workers``); bounds memory to that many results.

    Yields
    ------
    The results, in the order of ``items``.
    """
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    ahead = max(lookahead or workers, 1)
    with ThreadPoolExecutor(max_workers=workers) as ex:
        pending: deque = deque()
        for item in items:
            pending.append(ex.submit(fn, item))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _schema_names(path: Path, date: dt.date) -> list[str]:
    try:
        return pq.read_schema(path).names
    except (OSError, pa.ArrowInvalid) as e:
        raise CatalogError(f"{path}: cannot read raw snapshot of {date} ({e}); "
                           "run `python -m analysis pull --verify`") from None


def _read(path: Path, date: dt.date, columns: Sequence[str]) -> pa.Table:
    names = _schema_names(path, date)
    if "id" not in names:
        raise CatalogError(f"{path}: raw snapshot of {date} has no 'id' column; every raw file needs one")
    cols = [c for c in columns if c in names]
    try:
        return pq.read_table(path, columns=cols)
    except (OSError, pa.ArrowInvalid) as e:
        raise CatalogError(f"{path}: cannot read raw snapshot of {date} ({e}); "
                           "run `python -m analysis pull --verify`") from None


def lineage_tags(tags: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Keep, in each list of tags, only the lineage tags (``base_model:...``), in their order; nulls stay null.

    These are the only tags :func:`analysis.origin.tag_models` reads; the others (library, licence, languages, ...)
    are most of the column's size.
    """
    arr = tags.combine_chunks() if isinstance(tags, pa.ChunkedArray) else tags
    if isinstance(arr.type, pa.LargeListType):
        arr = arr.cast(pa.list_(arr.type.value_type))
    lengths = np.asarray(pc.list_value_length(arr).fill_null(0), dtype=np.int64)
    flat = pc.list_flatten(arr)
    keep = pc.starts_with(flat, LINEAGE_TAG_PREFIX).fill_null(False)
    rows = np.repeat(np.arange(len(arr)), lengths)[np.asarray(keep, dtype=bool)]
    offsets = np.zeros(len(arr) + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=len(arr)), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), flat.filter(keep), mask=pc.is_null(arr))


def _trim(table: pa.Table, trim_tags: bool) -> pa.Table:
    if trim_tags and "tags" in table.column_names:
        i = table.column_names.index("tags")
        return table.set_column(i, "tags", lineage_tags(table["tags"]))
    return table


class _IdRelay:
    """Hands each snapshot's ``id`` column from the job that read it to the job of the next older snapshot.

    Each file is read once: the job of snapshot i publishes its ids under ``i``; the job of snapshot i + 1 waits
    for them (jobs are started in order, so the wait cannot deadlock) and removes them. A failed read publishes
    its error, so the waiting job fails too instead of hanging.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[int, Future] = {}

    def _slot(self, key: int) -> Future:
        with self._lock:
            return self._slots.setdefault(key, Future())

    def put(self, key: int, ids: pa.ChunkedArray | None, error: BaseException | None = None) -> None:
        slot = self._slot(key)
        if error is not None:
            slot.set_exception(error)
        else:
            slot.set_result(ids)

    def take(self, key: int) -> pa.ChunkedArray:
        ids = self._slot(key).result()
        with self._lock:
            self._slots.pop(key, None)
        return ids


@dataclass(frozen=True)
class _Part:
    """What a worker hands back for one snapshot: its candidate rows and how its other rows map to the newer file."""

    table: pa.Table                 # candidate rows (all rows of the newest snapshot)
    rows: int                       # rows in the file
    fresh: np.ndarray | None        # positions of the candidate rows in the file (None: all rows)
    newer_row: np.ndarray | None    # for every row, its row in the next newer file (-1: absent); None if not asked


def _read_rows(path: Path, date: dt.date, columns: Sequence[str], rows: np.ndarray | None,
               trim_tags: bool) -> pa.Table:
    """Some rows (None: all) of some columns, read row group by row group; groups without a wanted row are skipped.

    Only one row group's columns are decoded at a time (and its tags trimmed at once), so a worker holds one row
    group, not one snapshot.
    """
    try:
        pf = pq.ParquetFile(path)
        meta = pf.metadata
        bounds = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
        pieces = []
        for g in range(meta.num_row_groups):
            if rows is None:
                pieces.append(_trim(pf.read_row_group(g, columns=list(columns)), trim_tags))
                continue
            lo, hi = np.searchsorted(rows, [bounds[g], bounds[g + 1]])
            if hi > lo:
                part = pf.read_row_group(g, columns=list(columns))
                pieces.append(_trim(part.take(pa.array(rows[lo:hi] - bounds[g])), trim_tags))
        if not pieces:
            return pf.schema_arrow.empty_table().select(list(columns))
        return pa.concat_tables(pieces)
    except (OSError, pa.ArrowInvalid) as e:
        raise CatalogError(f"{path}: cannot read raw snapshot of {date} ({e}); "
                           "run `python -m analysis pull --verify`") from None


def _candidates(job: tuple) -> _Part:
    """Rows of snapshot ``i`` (newest first) whose id is absent from the next newer snapshot (all rows for i=0)."""
    i, date, path, cols, trim_tags, relay, want_rows = job
    try:
        names = _schema_names(path, date)
        ids = _read(path, date, ["id"])["id"]
    except BaseException as e:
        relay.put(i, None, e)
        raise
    relay.put(i, ids)
    rest = [c for c in cols if c != "id" and c in names]
    newer_row = fresh = None
    if i:
        try:
            newer_ids = relay.take(i - 1)
        except CatalogError:  # the newer file's own job reports its error first (results come in order)
            return _Part(pa.table({"id": pa.array([], pa.string())}), 0, np.zeros(0, np.int64), None)
        newer = newer_ids.combine_chunks()
        if want_rows:
            newer_row = pc.fill_null(pc.index_in(ids, value_set=newer), -1).to_numpy().astype(np.int64)
            fresh = np.flatnonzero(newer_row < 0)
        else:
            absent = pc.invert(pc.is_in(ids, value_set=newer)).fill_null(True)
            fresh = np.flatnonzero(np.asarray(absent.to_numpy(zero_copy_only=False), dtype=bool))
    others = _read_rows(path, date, rest, fresh, trim_tags)
    cand_ids = ids if fresh is None else ids.take(pa.array(fresh))
    table = pa.Table.from_arrays([cand_ids.combine_chunks()] + list(others.columns), names=["id"] + rest)
    return _Part(table, len(ids), fresh, newer_row)


def _stamp(path: Path) -> dict:
    st = Path(path).stat()
    return {"file": Path(path).name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _save_codes(codes_dir: Path, date: dt.date, codes: np.ndarray) -> None:
    f = codes_dir / f"{date.isoformat()}.npy"
    tmp = codes_dir / f".{date.isoformat()}.npy.tmp"
    with open(tmp, "wb") as fh:
        np.save(fh, codes.astype(np.int32))
    os.replace(tmp, f)


def build_catalog(snapshots: Sequence[tuple[dt.date, Path]], columns: Sequence[str] = CATALOG_COLUMNS,
                  progress=None, workers: int = DEFAULT_WORKERS, lineage_tags_only: bool = True,
                  row_codes_dir: Path | None = None) -> pa.Table:
    """Union of all models over the snapshots, newest metadata first.

    Parameters
    ----------
    snapshots : sequence of (date, path)
        Raw snapshot files in the normalised raw schema.
    columns : sequence of str
        Columns to keep (``id`` is always kept). Columns absent from a file are null for its rows.
    progress : callable, optional
        Called as ``progress(i, n, date)`` after each snapshot.
    workers : int
        Threads preparing snapshots (reading, comparing ids); the result is the same for any value.
    lineage_tags_only : bool
        Keep in ``tags`` only the lineage tags (``base_model:...``, see :func:`lineage_tags`), the only ones tagging
        reads (same tagging result, tested): the catalog's ``tags`` column is then several times smaller. False keeps
        all tags.
    row_codes_dir : Path, optional
        If given, also write there, for every snapshot, the catalog row of each of its rows (``<date>.npy``, int32,
        in file order), the catalog ids (``catalog_ids.parquet``) and ``index.json`` (each raw file's name, size
        and modification time). :func:`analysis.panel.build_panel` can then sum a snapshot without reading and
        hashing its ids again (it checks each file's stamp and falls back to matching ids when it differs). The
        comparison with the next newer file already finds each row there, so the codes cost next to nothing.

    Returns
    -------
    pyarrow.Table
        One row per model id, with a ``last_seen`` date column: first the models of the newest snapshot in its row
        order, then those last seen in each older snapshot (newest first), each in file order.

    Raises
    ------
    CatalogError
        No snapshots, or a file that cannot be read or has no ``id`` column.
    """
    cols = ["id"] + [c for c in columns if c != "id"]
    snaps = sorted(snapshots, key=lambda s: s[0], reverse=True)
    if not snaps:
        raise CatalogError("no raw snapshots to build the catalog from; run notebook 01 (pull) first")
    relay = _IdRelay()
    want_rows = row_codes_dir is not None
    if want_rows:
        row_codes_dir = Path(row_codes_dir)
        row_codes_dir.mkdir(parents=True, exist_ok=True)
        (row_codes_dir / ROW_CODES_INDEX).unlink(missing_ok=True)  # written last: no index, no valid codes
    jobs = [(i, d, p, cols, lineage_tags_only, relay, want_rows) for i, (d, p) in enumerate(snaps)]
    parts: list[pa.Table] = []
    seen: dict[str, int] = {}  # id -> catalog row
    stamps: dict[str, dict] = {}
    newer_codes: np.ndarray | None = None
    for i, ((date, path), part) in enumerate(zip(snaps, ordered_map(_candidates, jobs, workers))):
        cand = part.table
        ids = cand["id"].to_pylist()
        cand_codes = np.empty(len(ids), dtype=np.int64)
        keep: list[int] = []
        for j, x in enumerate(ids):  # first row wins; older rows of a seen id are dropped
            if x is None:
                raise CatalogError(f"{path}: raw snapshot of {date} has a row without an id; "
                                   "run `python -m analysis pull --verify`")
            code = seen.get(x)
            if code is None:
                code = seen[x] = len(seen)
                keep.append(j)
            cand_codes[j] = code
        if keep:
            t = cand if len(keep) == cand.num_rows else cand.take(pa.array(keep))
            parts.append(t.append_column("last_seen", pa.array([date] * t.num_rows, pa.date32())))
        if want_rows:
            if part.newer_row is None:       # the newest snapshot: every row is a candidate
                codes = cand_codes
            else:
                codes = np.empty(part.rows, dtype=np.int64)
                found = part.newer_row >= 0
                codes[found] = newer_codes[part.newer_row[found]]
                codes[part.fresh] = cand_codes
            _save_codes(row_codes_dir, date, codes)
            stamps[date.isoformat()] = _stamp(path) | {"rows": int(part.rows)}
            newer_codes = codes
        if progress is not None:
            progress(i + 1, len(snaps), date)
    if not parts:
        raise CatalogError("the raw snapshots hold no rows; run notebook 01 (pull) first")
    catalog = pa.concat_tables(parts, promote_options="default")
    if want_rows:
        pq.write_table(catalog.select(["id"]), row_codes_dir / ROW_CODES_IDS)
        index = {"catalog_rows": catalog.num_rows, "ids_file": ROW_CODES_IDS, "snapshots": stamps}
        (row_codes_dir / ROW_CODES_INDEX).write_text(json.dumps(index, indent=1) + "\n")
    return catalog
