"""The catalog: every model seen in the study window, once, with its metadata under the thin-read rule.

Tagging (notebook 02) needs one row per model id with the lineage columns (``baseModels``, ``tags``) and a few
descriptors (``author``, ``createdAt``, ``pipeline_tag``, ``library_name``). These change rarely; ``id``,
``downloads`` and ``downloadsAllTime`` change every week. So every snapshot is read for its ids (and, by the
panel, its download columns), and the metadata columns only where the rule says.

Thin reads: the rule
--------------------
``metadata_every = 1`` (exact)
    Every snapshot is an *anchor*: each model's metadata is its row in the newest snapshot holding it, which is
    what reading every week's metadata gives. Only the rows of the models last seen in a snapshot are read from
    it (all rows of the newest snapshot).
``metadata_every = N > 1``
    Anchors are the newest snapshot of each block of N weeks counted from :data:`METADATA_EPOCH` (the archive's
    first week; a fixed origin, so the anchors of past weeks stay anchors when a week is added), plus the newest
    and the oldest snapshot of the window. A model's metadata is its row in the newest anchor holding it. The
    models no anchor holds (created and gone between two anchors, *orphans*) are read from as few snapshots as
    hold them all: going forward in time, the orphan last seen earliest that no chosen snapshot holds yet has its
    last-seen snapshot chosen (the greedy cover of intervals by points, which uses the fewest), and each orphan
    takes its row in the newest chosen snapshot holding it. (Reading an orphan's row costs a whole row group of
    metadata columns, ``tags`` above all, for a handful of rows: the cover reads about half as many snapshots as
    reading each orphan's last-seen one.)

What N > 1 loses: only models gone from the newest snapshot can differ, and only if they changed their metadata in
the (at most N - 1) weeks between the snapshot their metadata comes from and their last week. ``metadata_date`` says
which snapshot each model's metadata comes from. ``python -m devtools.bench --loss`` measures the share of downloads
whose tags and lineage roots are identical to those of reading every week (module :mod:`devtools.bench`).

How it streams
--------------
:func:`plan_metadata` reads the ``id`` column of every snapshot, newest first, once, and compares each with the next
newer one (:func:`match_rows`: runs of rows compared as bytes, offsets and characters, where both files list the
models in the same order, with small hash look-ups where they differ); a row absent from the newer file is looked up
among the models already seen. This gives every raw row its catalog row (the *row codes*, written for the panel pass
with ``row_codes_dir``), every model's last-seen snapshot and row, and the rule's plan: which rows of which snapshot
to read the metadata of.
:func:`build_catalog` reads those rows' metadata columns, row group by row group (a row group without a planned row
is skipped), by a second small pool of threads, each snapshot as soon as the id pass has decided its rows (an
anchor's while older snapshots' ids are still being compared, the orphans' at the end), so the two passes overlap.
Files are read by pools of threads and consumed in order, so the result does not depend on the number of threads. By
default ``tags`` keeps only the lineage tags (``base_model:...``, the only ones tagging reads), which makes the
catalog several times smaller.

What the pull fetches under the same rule (:mod:`analysis.hub.pull`)
--------------------------------------------------------------------
One setting, ``archive.metadata_every`` in ``config/study.yaml``, drives the pull and this catalog (notebooks 01,
02 and 06 receive it), so they cannot follow different rules. A thin pull (N >= 1, the default 13) reads, with
Parquet range reads of column chunks:

1. every snapshot: the footer, and the ``id``, ``downloads`` and ``downloadsAllTime`` column chunks of every row
   group (the weekly columns), written to ``archive/<date>.parquet`` (:data:`analysis.schema.WEEKLY_SCHEMA`; the
   file records the rule);
2. then, once the window's weekly columns are all in the store, :func:`plan_metadata` on them, and the metadata
   columns (``author, createdAt, likes, pipeline_tag, library_name, tags, baseModels`` and ``params_total`` from the
   ``total`` leaves of ``safetensors`` and ``gguf``: every column the catalog and notebook 06 read) of the row
   groups holding a row the plan reads that the store lacks (``MetadataPlan.missing``): every row group of a new
   newest snapshot; for older anchors, those holding models gone before the next newer anchor; in the snapshots the
   rule chooses for orphans, those holding their rows. The planned rows, with their row numbers, go to a metadata
   file ``metadata/<date>.part<K>.parquet`` with its own manifest entry (the rule, the row groups read, the file and
   SHA-256 of the snapshot it belongs to).

A backfill thus pulls the weekly columns of the whole window first, then plans and fetches the metadata. An
incremental pull of a new week fetches its weekly columns and, since it is the newest snapshot, the metadata of
every row group; the week pulled as the newest before keeps its whole metadata, which the plan uses (a thin
snapshot's stored rows count wherever they are, see :func:`plan_metadata`), so nothing older is read again. A pull
interrupted between the two steps resumes with the missing metadata. The full pull (N = 0) reads every column of
every row group, as before; its stores (and raw stores pulled before the thin pull existed) are read as above.

A store pulled thin under N serves N and any rule whose plan its parts cover; a rule that needs rows the parts lack
(a finer one, or another window) is refused by :func:`build_catalog`, naming the rules and saying that a pull under
the new setting fetches exactly those rows. ``python -m devtools.bytes_read`` runs the pull itself against the
local Hub stand-in and measures its bytes against the archive's size (and, with ``--loss``, what it loses).

Row codes
---------
With ``row_codes_dir`` the id pass writes, for each snapshot, the catalog row of each of its rows (int32, in file
order; consecutive snapshots list most models in the same order, so the codes come in runs of consecutive values,
and a file whose runs are at least four rows long on average stores where each run starts and its first code
instead: :func:`load_row_codes` reads either), and :func:`analysis.panel.build_panel` then sums the snapshots without
reading or hashing their ids again. :func:`build_catalog` adds ``catalog_order.npy``, the catalog row (in
``catalog_ids.parquet``) of each row of the table it returns: the panel then maps catalog rows to the tagged models,
which notebook 02 keeps in that order, without hashing ids (it checks the ids row by row, and hashes them when they
differ).
"""

from __future__ import annotations

import bisect
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

from .raw import RawStoreError, ThinSnapshot, read_groups_holding, row_group_bounds, thin_snapshot
from .schema import RAW_SCHEMA

CATALOG_COLUMNS = ["id", "author", "createdAt", "pipeline_tag", "library_name", "tags", "baseModels"]

#: Prefix of the tags that declare lineage (``base_model:<id>``, ``base_model:<relation>:<id>``).
LINEAGE_TAG_PREFIX = "base_model:"

#: Files of a row-codes folder (see ``build_catalog(row_codes_dir=...)``).
ROW_CODES_INDEX = "index.json"
ROW_CODES_IDS = "catalog_ids.parquet"
ROW_CODES_ORDER = "catalog_order.npy"

#: Threads used to prepare snapshots (reading and hashing); results never depend on it.
DEFAULT_WORKERS = 2

#: The thin-read rule's default (module docstring, "Thin reads"): metadata from one anchor snapshot in 13 weeks (a
#: quarter), plus the newest and the oldest. Measured on the simulated store (10% of models editing their metadata
#: once): tags, lineage roots and pipeline tags identical to reading every week's metadata for 99.96% of downloads at
#: 0.5 million models x 104 weeks and 99.97% at 2.5 million x 104 (``python -m devtools.bench --loss``). 1 reads each
#: model's newest row (exact).
DEFAULT_METADATA_EVERY = 13

_COLUMN_TYPES = {f.name: f.type for f in RAW_SCHEMA}

#: Origin of the anchors' grid of N-week blocks: the archive's first snapshot. A fixed origin keeps the anchors of
#: the weeks already pulled when a new week arrives, so an incremental pull and a backfill follow the same rule.
METADATA_EPOCH = dt.date(2024, 7, 24)

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


def lineage_tags(tags: pa.Array | pa.ChunkedArray, rows: np.ndarray | None = None) -> pa.Array:
    """Keep, in each list of tags, only the lineage tags (``base_model:...``), in their order; nulls stay null.

    These are the only tags :func:`analysis.origin.tag_models` reads; the others (library, licence, languages, ...)
    are most of the column's size.

    Parameters
    ----------
    tags : pyarrow.Array or pyarrow.ChunkedArray
        ``list<string>`` (or ``large_list``).
    rows : numpy.ndarray, optional
        Rows to return, in this order (default all).

    Returns
    -------
    pyarrow.ListArray
        ``list<string>``, one per row.
    """
    arr = tags.combine_chunks() if isinstance(tags, pa.ChunkedArray) else tags
    if isinstance(arr.type, pa.LargeListType):
        arr = arr.cast(pa.list_(arr.type.value_type))
    n = len(arr)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    offsets = arr.offsets.to_numpy().astype(np.int64)           # absolute positions into arr.values
    valid = np.asarray(arr.is_valid(), dtype=bool) if arr.null_count else np.ones(n, dtype=bool)
    if 4 * rows.size < n or (rows.size > 1 and not (rows[1:] > rows[:-1]).all()):
        # a few rows, or rows in another order: the tags of those rows only, then the lineage ones among them
        starts = offsets[rows]
        lengths = np.where(valid[rows], offsets[rows + 1] - starts, 0)
        ends = np.cumsum(lengths)
        pos = np.arange(int(ends[-1]) if ends.size else 0) + np.repeat(starts - (ends - lengths), lengths)
        picked = arr.values.take(pa.array(pos))
        keep = np.asarray(pc.starts_with(picked, LINEAGE_TAG_PREFIX).fill_null(False), dtype=bool)
        kept = picked.filter(pa.array(keep)).cast(pa.string())
        slot = np.repeat(np.arange(rows.size), lengths)[keep]
    else:
        # most rows, in order: the lineage tags of the whole array (few), each with its row, then those of the rows
        # asked for (no copy of the other tags)
        kept, slot = _lineage_of_rows(arr, offsets, valid, rows)
    out_offsets = np.zeros(rows.size + 1, dtype=np.int32)
    np.cumsum(np.bincount(slot, minlength=rows.size), out=out_offsets[1:])
    return pa.ListArray.from_arrays(pa.array(out_offsets), kept, mask=pa.array(~valid[rows]))


def _lineage_of_rows(arr: pa.ListArray, offsets: np.ndarray, valid: np.ndarray,
                     rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """The lineage tags of ``rows`` (ascending, distinct) and, for each, its place in ``rows``."""
    n = len(arr)
    lo, hi = int(offsets[0]), int(offsets[-1])
    values = arr.values.slice(lo, hi - lo)
    hit = np.flatnonzero(np.asarray(pc.starts_with(values, LINEAGE_TAG_PREFIX).fill_null(False), dtype=bool))
    owner = np.searchsorted(offsets, hit + lo, side="right") - 1
    wanted = np.zeros(n, dtype=bool)
    wanted[rows] = True
    wanted &= valid
    keep = wanted[owner]
    hit, owner = hit[keep], owner[keep]
    return values.take(pa.array(hit)).cast(pa.string()), np.searchsorted(rows, owner)


def _trim(table: pa.Table, trim_tags: bool, rows: np.ndarray | None = None) -> pa.Table:
    """Some rows (None: all) of a table, with only the lineage tags kept in ``tags`` when ``trim_tags``."""
    if trim_tags and "tags" in table.column_names:
        cols = {c: (lineage_tags(table[c], rows) if c == "tags" else
                    table[c] if rows is None else table[c].take(pa.array(rows))) for c in table.column_names}
        return pa.table(cols)
    return table if rows is None else table.take(pa.array(rows))


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
    """What a worker hands back for one snapshot: its ids and how its rows map to the next newer file."""

    ids: pa.ChunkedArray            # the snapshot's ids, in file order (one chunk per row group)
    rows: int                       # rows in the file
    fresh: np.ndarray | None        # positions of the rows absent from the newer file (None: the newest file)
    newer_row: np.ndarray | None    # for every row, its row in the next newer file (-1: absent); None for the newest
    thin: ThinSnapshot | None = None  # a thin snapshot's metadata parts (None: a full file)


def row_groups_holding(meta: pq.FileMetaData, rows: np.ndarray) -> list[int]:
    """The row groups of a file (its parquet metadata) holding any of ``rows`` (sorted): those the catalog reads
    the metadata of (``devtools.bench`` reads the same ones for its yardstick)."""
    bounds = row_group_bounds(meta)
    return np.unique(np.searchsorted(bounds, np.asarray(rows, dtype=np.int64), side="right") - 1).tolist()


def _read_rows(path: Path, date: dt.date, columns: Sequence[str], rows: np.ndarray | None,
               trim_tags: bool) -> pa.Table:
    """Some rows (None: all) of some columns, read row group by row group; groups without a wanted row are skipped.

    Only one row group's columns are decoded at a time (and its tags trimmed at once), so a worker holds one row
    group, not one snapshot.
    """
    try:
        pf = pq.ParquetFile(path)
        pieces = read_groups_holding(pf, list(columns), rows, lambda group, wanted: _trim(group, trim_tags, wanted))
        if not pieces:
            return _trim(pf.schema_arrow.empty_table().select(list(columns)), trim_tags)
        return pa.concat_tables(pieces)
    except (OSError, pa.ArrowInvalid) as e:
        raise CatalogError(f"{path}: cannot read raw snapshot of {date} ({e}); "
                           "run `python -m analysis pull --verify`") from None


#: Rows of an older snapshot matched at a time against the nearby rows of the newer one (see :func:`match_rows`).
MATCH_WINDOW = 16_384

#: Rows of the newer snapshot on each side of the expected place added to each window.
MATCH_SLACK = 2_048


#: Rows looked up around the expected place after a difference in the row-by-row comparison (see :func:`match_rows`).
MATCH_RESYNC = 64

#: Rows compared at a time by the row-by-row comparison after a difference (see :func:`match_rows`); doubled after
#: each run of equal rows.
MATCH_CHUNK = 2_048

#: Differences resolved row by row in a window before the rest of the window is looked up as a whole.
MATCH_RESYNCS_PER_WINDOW = 32

#: The most rows the row-by-row comparison compares at a time (it doubles from :data:`MATCH_CHUNK` up to this).
MATCH_CHUNK_MAX = 262_144


class _Strings:
    """A string array's offsets and bytes as numpy views (no copy), to compare runs of rows as bytes.

    Two runs of rows hold the same strings exactly when their lengths are the same row by row and their bytes are
    the same; both are checked without making a Python or Arrow value per row. A chunked array is kept in its chunks
    (a run compared at once stays inside one chunk of each side): joining them would copy every id.
    """

    def __init__(self, arr: pa.Array | pa.ChunkedArray) -> None:
        chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
        self.off, self.data, self.bytes = [], [], []
        for c in chunks:
            if not (pa.types.is_string(c.type) or pa.types.is_large_string(c.type)):
                c = c.cast(pa.string())
            if c.null_count:
                raise CatalogError("internal error: ids to match hold a null; please report it")
            _, offsets, data = c.buffers()
            width = np.int64 if pa.types.is_large_string(c.type) else np.int32
            self.off.append(np.frombuffer(offsets, dtype=width)[c.offset:c.offset + len(c) + 1])
            data = data if data is not None else pa.py_buffer(b"")
            self.data.append(data)
            self.bytes.append(np.frombuffer(data, dtype=np.uint8))
        self.starts = np.cumsum([0] + [len(c) for c in chunks]).tolist()

    def _at(self, i: int) -> tuple[int, int]:
        """Chunk holding row ``i``, and the row's place in it."""
        c = bisect.bisect_right(self.starts, i) - 1
        return c, i - self.starts[c]

    def equal_prefix(self, p: int, other: "_Strings", q: int, length: int) -> tuple[int, int]:
        """How many rows from row ``p`` are equal to ``other``'s from row ``q``, counted from the first, and how many
        were compared (``length``, or fewer at the end of a chunk of either side)."""
        ca, i = self._at(p)
        cb, j = other._at(q)
        span = min(length, len(self.off[ca]) - 1 - i, len(other.off[cb]) - 1 - j)
        a, b = self.off[ca][i:i + span + 1], other.off[cb][j:j + span + 1]
        rel_a, rel_b = a - a[0], b - b[0]
        differ = np.flatnonzero(rel_a != rel_b)
        k = int(differ[0]) - 1 if differ.size else span     # rows before k have the same lengths
        nbytes, a0, b0 = int(rel_a[k]), int(a[0]), int(b[0])
        if nbytes == 0 or self.data[ca].slice(a0, nbytes).equals(other.data[cb].slice(b0, nbytes)):
            return k, span
        first = int(np.argmax(self.bytes[ca][a0:a0 + nbytes] != other.bytes[cb][b0:b0 + nbytes]))
        return int(np.searchsorted(rel_a[:k + 1], first, side="right")) - 1, span   # the row of that byte

    def value(self, i: int) -> bytes:
        """Row ``i``'s bytes."""
        c, j = self._at(i)
        off = self.off[c]
        return self.bytes[c][off[j]:off[j + 1]].tobytes()


#: Random 64-bit values per byte value for the id keys (:func:`_id_keys`): fixed, so a key does not depend on the run.
_KEY_TABLES = np.random.default_rng(20260822).integers(1, 2**63, size=(3, 256), dtype=np.uint64)


def _id_keys(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit key per id, from its bytes (a sum of random values per byte), its first and last byte and its length.

    Equal ids have equal keys; different ids rarely share one (ids that hold the same bytes in another order between
    the same first and last byte can), and every match on a key is checked on the bytes. Two passes over the bytes,
    no Python object per id.
    """
    strings = _Strings(arr)
    parts = []
    for off, data in zip(strings.off, strings.bytes):
        off = off.astype(np.int64)
        lengths = np.diff(off)
        key = lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        full = np.flatnonzero(lengths > 0)
        if full.size:
            first, last = off[:-1][full], off[1:][full] - 1
            key[full] += np.add.reduceat(_KEY_TABLES[0][data[off[0]:off[-1]]], first - off[0])
            key[full] ^= _KEY_TABLES[1][data[first]] + _KEY_TABLES[2][data[last]]
        parts.append(key)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


class _SeenIds:
    """The ids given a catalog row so far: the newest file's, kept as Arrow strings and found by their keys
    (:func:`_id_keys`, sorted once: no Python object per id), and the few met later, in a dict."""

    def __init__(self) -> None:
        self.extra: dict[str, int] = {}
        self.bulk: _Strings | None = None
        self.keys = np.zeros(0, dtype=np.uint64)
        self.order = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.order) + len(self.extra)

    def load(self, ids: pa.ChunkedArray) -> bool:
        """Take the newest file's ids as catalog rows 0, 1, ... if they are distinct (else take none: False)."""
        keys = _id_keys(ids)
        order = np.argsort(keys)
        ordered = keys[order]
        strings = _Strings(ids)
        shared = ordered[1:] == ordered[:-1]      # a shared key: the same id twice, or (rarely) different ids
        if shared.any():
            edges = np.diff(np.r_[False, shared, False].astype(np.int8))
            for a, b in zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()):
                values = [strings.value(int(r)) for r in order[a:b + 1]]   # sorted keys a..b are one key
                if len(set(values)) < len(values):
                    return False
        self.bulk, self.keys, self.order = strings, ordered, order
        return True

    def lookup(self, names: list[str], keys: np.ndarray) -> list[int | None]:
        """The catalog row of each id (None: not seen); ``keys`` are their :func:`_id_keys`."""
        at = np.searchsorted(self.keys, keys).tolist()
        out: list[int | None] = []
        for name, key, p in zip(names, keys.tolist(), at):
            code = self.extra.get(name)
            if code is None and self.bulk is not None:
                raw = name.encode()
                while p < len(self.keys) and int(self.keys[p]) == key:
                    if self.bulk.value(int(self.order[p])) == raw:
                        code = int(self.order[p])
                        break
                    p += 1
            out.append(code)
        return out


def _take(arr: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``arr.take(rows)`` as one array; a chunked array is taken from chunk by chunk (Arrow's ``take`` on a chunked
    array first joins its chunks, a copy of every value, for however few rows)."""
    rows = np.asarray(rows, dtype=np.int64)
    if not isinstance(arr, pa.ChunkedArray):
        return arr.take(pa.array(rows))
    order = None if rows.size < 2 or bool((rows[1:] >= rows[:-1]).all()) else np.argsort(rows, kind="stable")
    ordered = rows if order is None else rows[order]
    starts = np.cumsum([0] + [len(c) for c in arr.chunks])
    if ordered.size and (ordered[0] < 0 or ordered[-1] >= starts[-1]):
        raise IndexError(f"rows out of range for an array of {starts[-1]} rows")
    bounds = np.searchsorted(ordered, starts)
    parts = [arr.chunk(c).take(pa.array(ordered[bounds[c]:bounds[c + 1]] - starts[c]))
             for c in range(arr.num_chunks) if bounds[c + 1] > bounds[c]]
    out = pa.concat_arrays(parts) if parts else pa.array([], arr.type)
    if order is None:
        return out
    back = np.empty_like(order)
    back[order] = np.arange(order.size)
    return out.take(pa.array(back))


def match_rows(ids: pa.Array | pa.ChunkedArray, newer: pa.Array | pa.ChunkedArray, window: int = MATCH_WINDOW,
               slack: int = MATCH_SLACK) -> np.ndarray:
    """The row of each id in ``newer`` (-1 where absent): ``pyarrow.compute.index_in``, computed window by window.

    Consecutive snapshots list most models in the same order (the archive lists them in creation order, and a week
    adds models and removes a few). So each window of ``window`` rows of ``ids`` is first compared row by row with
    the rows of ``newer`` at the current offset (as bytes, see :class:`_Strings`: no hashing), and the rows before
    the first difference are matched; at a difference, the next :data:`MATCH_RESYNC` ids are looked up among the
    rows of ``newer`` around the expected place, which gives the new offset (a removed model shifts it by one), and
    the comparison resumes. A window with many differences is looked up as a whole among the rows of ``newer``
    around the place where the previous window's last match points (``slack`` rows on each side), which keeps
    Arrow's hash table small enough to stay in the processor's cache. The ids not found there are looked up among
    the rows of ``newer`` that nothing matched (ids are unique in a snapshot, so a row matched once cannot be
    another id's row). The result is the same as ``index_in(ids, value_set=newer)`` for files with unique ids, in
    any order; when the first windows find little (files in unrelated orders) the whole look-up is done at once
    instead.

    Parameters
    ----------
    ids, newer : pyarrow.Array or pyarrow.ChunkedArray
        Ids of the older and of the newer snapshot (strings, no nulls).
    window, slack : int
        Window size and margin (the result does not depend on them).

    Returns
    -------
    numpy.ndarray
        int64, one per id.
    """
    n, m = len(ids), len(newer)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or m == 0:
        return out
    old_s, new_s = _Strings(ids), _Strings(newer)
    offset = 0
    poor = 0

    def lookup(start: int, stop: int, margin: int = slack) -> np.ndarray:
        lo, hi = max(start + offset - margin, 0), min(stop + offset + margin, m)
        if hi <= lo:
            return np.zeros(0, dtype=np.int64)
        ix = np.asarray(pc.index_in(ids.slice(start, stop - start), value_set=newer.slice(lo, hi - lo))
                        .fill_null(-1), dtype=np.int64)
        hit = np.flatnonzero(ix >= 0)
        out[start + hit] = ix[hit] + lo
        return hit

    def aligned(start: int, stop: int) -> int:
        """Match rows from ``start`` row by row at the current offset; the first row left unmatched."""
        nonlocal offset
        p, resyncs, chunk = start, 0, MATCH_CHUNK
        while p < stop and resyncs <= MATCH_RESYNCS_PER_WINDOW:
            q = p + offset
            length = min(stop - p, m - q, chunk) if 0 <= q < m else 0
            if length <= 0:
                return p
            k, span = old_s.equal_prefix(p, new_s, q, length)
            out[p:p + k] = np.arange(q, q + k)
            p += k
            if p >= stop or k == span:
                chunk = min(2 * chunk, MATCH_CHUNK_MAX)   # a run of equal rows: compare more at a time
                continue
            chunk = MATCH_CHUNK
            resyncs += 1
            q = p + offset
            # the usual difference: a few models of the older file are gone from the newer one
            gone = next((d for d in range(1, 4) if p + d + 1 < n and q + 1 < m
                         and old_s.value(p + d) == new_s.value(q)
                         and old_s.value(p + d + 1) == new_s.value(q + 1)), 0)
            if gone:
                offset -= gone
                p += gone          # the gone rows stay unmatched: the final look-up confirms they are absent
                continue
            e = min(p + MATCH_RESYNC, stop)
            hit = lookup(p, e, margin=4 * MATCH_RESYNC)
            if not hit.size:
                return e
            offset = int(out[p + hit[-1]]) - int(p + hit[-1])
            p = e
        return p

    k = 0
    for start in range(0, n, window):
        stop = min(start + window, n)
        if poor > 8 and poor > k // 4:      # unrelated orders: one whole look-up of the rest is cheaper
            rest = np.flatnonzero(out[start:] < 0) + start
            ix = np.asarray(pc.index_in(_take(ids, rest), value_set=newer).fill_null(-1), dtype=np.int64)
            out[rest] = ix
            break
        k += 1
        begin = aligned(start, stop)
        if begin >= stop:
            continue
        hit = lookup(begin, stop)
        if 2 * hit.size < stop - begin:     # the newer file's rows moved: find where a sample of this window went
            poor += 1
            step = max((stop - begin) // 16, 1)
            sample = _take(ids, np.arange(begin, stop, step))
            where = np.asarray(pc.index_in(newer, value_set=sample).fill_null(-1), dtype=np.int64)
            at = np.flatnonzero(where >= 0)
            if at.size:
                offset = int(np.median(at - (begin + where[at] * step)))
                hit = lookup(begin, stop)
        if hit.size:
            offset = int(out[begin + hit[-1]]) - int(begin + hit[-1])
    rest = np.flatnonzero(out < 0)
    if rest.size:
        used = np.zeros(m, dtype=bool)
        used[out[out >= 0]] = True
        free = np.flatnonzero(~used)
        if free.size:
            ix = np.asarray(pc.index_in(_take(ids, rest), value_set=_take(newer, free))
                            .fill_null(-1), dtype=np.int64)
            hit = ix >= 0
            out[rest[hit]] = free[ix[hit]]
    return out


def _compare(job: tuple) -> _Part:
    """The ids of snapshot ``i`` (newest first) and, for ``i > 0``, each row's row in the next newer snapshot."""
    i, date, path, relay = job
    try:
        ids = _read(path, date, ["id"])["id"]   # once: both comparisons of this file use it; kept in its chunks
    except BaseException as e:
        relay.put(i, None, e)
        raise
    relay.put(i, ids)
    try:
        thin = thin_snapshot(path)
    except RawStoreError as e:
        raise CatalogError(str(e)) from None
    if ids.null_count:
        raise CatalogError(f"{path}: raw snapshot of {date} has a row without an id; "
                           "run `python -m analysis pull --verify`")
    newer_row = fresh = None
    if i:
        try:
            newer_ids = relay.take(i - 1)
        except CatalogError:  # the newer file's own job reports its error first (results come in order)
            return _Part(pa.array([], pa.string()), 0, np.zeros(0, np.int64), None)
        newer_row = match_rows(ids, newer_ids)
        fresh = np.flatnonzero(newer_row < 0)
    return _Part(ids, len(ids), fresh, newer_row, thin)


def anchors(dates: Sequence[dt.date], every: int) -> np.ndarray:
    """Which snapshots are metadata anchors under the thin-read rule (module docstring, "Thin reads").

    Parameters
    ----------
    dates : sequence of datetime.date
        Snapshot dates, in any order (the result follows it).
    every : int
        1 (or 0, the full pull's setting): every snapshot is an anchor. N > 1: the newest snapshot of each block of
        N weeks counted from :data:`METADATA_EPOCH`, and the newest and the oldest snapshot.

    Returns
    -------
    numpy.ndarray
        bool per date.
    """
    if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 0:
        raise CatalogError(f"metadata_every={every!r}: read the metadata of every snapshot (1, or 0 for the full "
                           "pull) or of one snapshot in N weeks (N > 1); it must be an integer >= 0")
    days = np.array([(d - METADATA_EPOCH).days for d in dates], dtype=np.int64)
    if days.size == 0 or every <= 1:
        return np.ones(days.size, dtype=bool)
    block = days // (7 * every)
    flags = np.zeros(days.size, dtype=bool)
    order = np.lexsort((days, block))                     # by block, then date: the last of each block is its newest
    last = np.r_[block[order][1:] != block[order][:-1], True]
    flags[order[last]] = True
    flags[days == days.max()] = True
    flags[days == days.min()] = True
    return flags


@dataclass(frozen=True)
class MetadataPlan:
    """Which rows of which snapshot a thin pass reads the metadata columns of (see the module docstring).

    Attributes
    ----------
    dates : list of datetime.date
        Snapshot dates, newest first.
    anchor : numpy.ndarray
        bool per snapshot (newest first): a metadata anchor.
    ids : pyarrow.Array
        Catalog ids, by catalog row.
    last_seen : numpy.ndarray
        Index (newest first) of the newest snapshot holding each catalog row's model.
    source : numpy.ndarray
        Index of the snapshot the model's metadata is read from: the newest anchor holding it, or, for a
        model no anchor holds, the newest snapshot of the orphans' cover holding it (module docstring; equal to
        ``last_seen`` when every snapshot is an anchor).
    reads : dict
        Snapshot index -> (row positions in the file, sorted; their catalog rows): the rows whose metadata
        columns are read from that snapshot. Snapshots absent from it are read for their weekly columns only.
    rows : numpy.ndarray
        Rows of each snapshot.
    codes_written : int
        Snapshots whose row codes were written.
    missing : dict
        Snapshot index -> (row positions, sorted; their catalog rows): rows the rule reads the metadata of from a
        thin snapshot whose metadata parts do not hold them. A pull fetches them
        (:func:`analysis.hub.pull.pull_all`); :func:`build_catalog` refuses a plan with missing rows.
    thin : dict
        Snapshot index -> :class:`analysis.raw.ThinSnapshot` for the thin snapshots (the others are full files).
    """

    dates: list
    anchor: np.ndarray
    ids: pa.Array
    last_seen: np.ndarray
    source: np.ndarray
    reads: dict
    rows: np.ndarray
    codes_written: int = 0
    missing: dict = None  # type: ignore[assignment]
    thin: dict = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in ("missing", "thin"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, {})

    def store_rules(self) -> list[int]:
        """The ``metadata_every`` of the rules the thin snapshots were pulled under (distinct, ascending)."""
        return sorted({int(t.rule["metadata_every"]) for t in self.thin.values()})

    @property
    def orphans(self) -> int:
        """Models that no anchor holds (their metadata comes from the orphans' cover, module docstring)."""
        return int(np.sum(~self.anchor[self.source]))

    def summary(self) -> dict:
        """Counts for reports: anchors, snapshots with metadata reads, rows read, orphans, stale-able models."""
        return {"snapshots": len(self.dates), "anchors": int(self.anchor.sum()),
                "snapshots_with_metadata_reads": len(self.reads),
                "metadata_rows_read": int(sum(len(p) for p, _ in self.reads.values())),
                "thin_snapshots": len(self.thin),
                "metadata_rows_missing": int(sum(len(p) for p, _ in self.missing.values())),
                "models": len(self.ids), "orphans": self.orphans,
                "metadata_older_than_last_seen": int(np.sum(self.source != self.last_seen))}


def plan_metadata(snapshots: Sequence[tuple[dt.date, Path]], metadata_every: int = 1, *,
                  workers: int = DEFAULT_WORKERS, row_codes_dir: Path | None = None,
                  progress=None, on_read: Callable | None = None) -> MetadataPlan:
    """Read the ids of every snapshot once and decide which rows' metadata to read (the thin-read rule).

    Parameters
    ----------
    snapshots : sequence of (date, path)
        Raw snapshot files, any order.
    metadata_every : int
        1 (or 0): every snapshot is an anchor, so each model's metadata comes from the newest snapshot holding it
        (the same as reading every week's metadata). N > 1: anchors are the newest snapshot and every N-th before
        it.

        Thin snapshots (written by a thin pull, :mod:`analysis.raw`) hold the metadata of some rows only. A model
        takes its row in the newest snapshot that is either an anchor holding it or a thin snapshot whose metadata
        parts hold its row (a thin pull stores exactly the rows this rule reads, and a snapshot pulled while it was
        the newest is stored whole, so a store grown week by week gives metadata at least as recent as the
        rule's). Rows the rule needs from a thin snapshot that its parts lack are listed in ``missing``.
    workers : int
        Threads reading and comparing ids; the result does not depend on it.
    row_codes_dir : Path, optional
        Where to write each snapshot's row codes (see :func:`build_catalog`).
    progress : callable, optional
        ``progress(i, n, date)`` after each snapshot.
    on_read : callable, optional
        ``on_read(k, positions, codes, rows, thin)`` as soon as the rows to read from snapshot ``k`` (newest first)
        are final, with the entry of ``reads`` and the snapshot's row count and :class:`ThinSnapshot` (or None): an
        anchor's during the id pass, the orphans' cover at its end. :func:`build_catalog` starts reading them
        there, while the id pass goes on.

    Returns
    -------
    MetadataPlan

    Raises
    ------
    CatalogError
        No snapshots, an unreadable file, a file without ``id`` or with a null id, or ``metadata_every < 1``.
    """
    snaps = sorted(snapshots, key=lambda s: s[0], reverse=True)
    if not snaps:
        raise CatalogError("no raw snapshots to build the catalog from; run notebook 01 (pull) first")
    anchor = anchors([d for d, _ in snaps], metadata_every)
    want_codes = row_codes_dir is not None
    if want_codes:
        row_codes_dir = Path(row_codes_dir)
        row_codes_dir.mkdir(parents=True, exist_ok=True)
        (row_codes_dir / ROW_CODES_INDEX).unlink(missing_ok=True)  # written last: no index, no valid codes
        (row_codes_dir / ROW_CODES_ORDER).unlink(missing_ok=True)  # written by build_catalog, after the metadata
    relay = _IdRelay()
    jobs = [(i, d, p, relay) for i, (d, p) in enumerate(snaps)]
    seen = _SeenIds()                           # id -> catalog row
    id_parts: list[pa.ChunkedArray] = []
    last_seen = _Grow(np.int32)
    source = _Grow(np.int32)
    pending: list[tuple[int, np.ndarray, np.ndarray]] = []   # (snapshot, rows, codes) still unsourced there
    reads: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    missing: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    thin: dict[int, ThinSnapshot] = {}
    rows = np.zeros(len(snaps), dtype=np.int64)
    stamps: dict[str, dict] = {}
    newer_codes: np.ndarray | None = None
    for i, ((date, path), part) in enumerate(zip(snaps, ordered_map(_compare, jobs, workers))):
        rows[i] = part.rows
        fresh = np.arange(part.rows) if part.fresh is None else part.fresh
        if part.newer_row is not None and newer_codes.size:
            # rows absent from the newer file (-1) take its last row's code here, and their own below
            codes = newer_codes[part.newer_row]
        else:
            codes = np.empty(part.rows, dtype=np.int32)
        fresh_ids = _take(part.ids, fresh) if part.fresh is not None else part.ids
        new_pos: list[int] | np.ndarray = []
        if not len(seen) and part.rows and seen.load(part.ids):   # the newest file, its ids distinct: in one go
            codes[fresh] = np.arange(part.rows, dtype=np.int32)
            new_pos = fresh
        elif len(fresh):
            names = fresh_ids.to_pylist()
            for j, x, code in zip(fresh.tolist(), names, seen.lookup(names, _id_keys(fresh_ids))):
                if code is None:               # rows absent from the newer file, and from every newer one
                    code = seen.extra.get(x)   # (or listed twice in this file)
                if code is None:
                    code = seen.extra[x] = len(seen)
                    new_pos.append(j)
                codes[j] = code
        if len(new_pos):
            pos = np.asarray(new_pos, dtype=np.int64)
            id_parts.append(_take(part.ids, pos) if part.fresh is not None or len(pos) != part.rows
                            else part.ids)
            last_seen.extend(np.full(pos.size, i))
            source.extend(np.full(pos.size, -1))
        if part.thin is None:
            need = np.flatnonzero(source.values[codes] < 0)    # rows of models no newer anchor holds
            if need.size and anchor[i]:
                reads[i] = _first_of_each(need, codes[need])
                source.values[reads[i][1]] = i
                if on_read is not None:
                    on_read(i, *reads[i], part.rows, None)
            elif need.size:
                pending.append((i, need, codes[need]))
        else:  # a thin snapshot: the rows its parts hold, and (at an anchor) the rows they should hold
            thin[i] = part.thin
            unsourced = source.values[codes] < 0
            held = np.zeros(part.rows, dtype=bool)
            held[part.thin.stored[part.thin.stored < part.rows]] = True
            use = np.flatnonzero(unsourced & held)
            if use.size:
                reads[i] = _first_of_each(use, codes[use])
                source.values[reads[i][1]] = i
                if on_read is not None:
                    on_read(i, *reads[i], part.rows, part.thin)
            lack = np.flatnonzero(unsourced & ~held & (source.values[codes] < 0))
            if lack.size and anchor[i]:
                missing[i] = _first_of_each(lack, codes[lack])
                source.values[missing[i][1]] = i
            elif lack.size:
                pending.append((i, lack, codes[lack]))
        if want_codes:
            _save_codes(row_codes_dir, date, codes)
            stamps[date.isoformat()] = _stamp(path) | {"rows": int(part.rows)}
        newer_codes = codes
        if progress is not None:
            progress(i + 1, len(snaps), date)
    if not len(seen):
        raise CatalogError("the raw snapshots hold no rows; run notebook 01 (pull) first")
    ids = pa.chunked_array([c for part in id_parts for c in getattr(part, "chunks", [part])],
                           id_parts[0].type).combine_chunks()
    last = last_seen.values.astype(np.int64)
    src = source.values.astype(np.int64)
    for k, (pos, members) in _orphan_sources(pending, src).items():   # models held by no anchor
        src[members] = k
        # a thin snapshot's parts cannot hold them (they would have been used above): missing
        (missing if k in thin else reads)[k] = (pos, members)
        if k not in thin and on_read is not None:
            on_read(k, pos, members, int(rows[k]), None)
    if want_codes:
        # every id once: a dictionary would not shrink it, and statistics would not be read
        pq.write_table(pa.table({"id": ids}), row_codes_dir / ROW_CODES_IDS, use_dictionary=False,
                       write_statistics=False)
        index = {"catalog_rows": len(ids), "ids_file": ROW_CODES_IDS, "snapshots": stamps}
        (row_codes_dir / ROW_CODES_INDEX).write_text(json.dumps(index, indent=1) + "\n")
    return MetadataPlan(dates=[d for d, _ in snaps], anchor=anchor, ids=ids, last_seen=last, source=src,
                        reads=dict(sorted(reads.items())), rows=rows,
                        codes_written=len(snaps) if want_codes else 0, missing=dict(sorted(missing.items())),
                        thin=thin)


def _first_of_each(rows: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (ascending) and their catalog rows, keeping the first row of a model listed twice in a file."""
    if codes.size < 2 or np.bincount(codes).max() < 2:
        return rows, codes
    _, first = np.unique(codes, return_index=True)
    first.sort()
    return rows[first], codes[first]


def _orphan_sources(pending: list[tuple[int, np.ndarray, np.ndarray]],
                    source: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Where the models no anchor holds (orphans) take their metadata: the fewest snapshots that hold them all.

    Parameters
    ----------
    pending : list of (snapshot, rows, catalog rows)
        For each snapshot (newest first) that is no anchor, the rows of the models no newer anchor held there.
    source : numpy.ndarray
        Snapshot each catalog row's metadata comes from so far (-1: none yet; these are the orphans).

    Returns
    -------
    dict
        Snapshot -> (rows, sorted; their catalog rows), every orphan once.

    Notes
    -----
    Going forward in time, the orphan last seen earliest that no chosen snapshot holds yet has its last-seen snapshot
    chosen (the classic greedy cover of intervals by points: the fewest snapshots holding every orphan); each orphan
    then takes its row in the newest chosen snapshot that holds it. Orphans are models created and gone between two
    anchors, so an orphan's metadata comes from a snapshot at most ``N - 1`` weeks before its last week, as with the
    models an anchor holds.
    """
    if not pending:
        return {}
    snap = np.concatenate([np.full(r.size, i, dtype=np.int64) for i, r, _ in pending])
    pos = np.concatenate([r for _, r, _ in pending])
    code = np.concatenate([c for _, _, c in pending])
    keep = source[code] < 0
    snap, pos, code = snap[keep], pos[keep], code[keep]
    if not code.size:
        return {}
    models, inv = np.unique(code, return_inverse=True)
    last = np.full(models.size, np.iinfo(np.int64).max)
    np.minimum.at(last, inv, snap)                       # newest-first index: the smallest is the last-seen
    order = np.argsort(snap, kind="stable")
    bounds = np.searchsorted(snap[order], np.arange(snap.max() + 2))   # the rows of snapshot k: bounds[k]:bounds[k+1]
    covered = np.zeros(models.size, dtype=bool)
    chosen = []
    for j in np.argsort(-last, kind="stable"):           # last seen earliest first
        if not covered[j]:
            k = int(last[j])
            chosen.append(k)
            covered[inv[order[bounds[k]:bounds[k + 1]]]] = True   # every orphan with a row in snapshot k
    in_chosen = np.isin(snap, chosen)
    best = np.full(models.size, np.iinfo(np.int64).max)
    np.minimum.at(best, inv[in_chosen], snap[in_chosen])  # the newest chosen snapshot holding each orphan
    out = {}
    for k in sorted(set(chosen)):
        sel = np.flatnonzero((snap == k) & (best[inv] == k))
        sel = sel[np.argsort(pos[sel], kind="stable")]
        out[k] = _first_of_each(pos[sel], code[sel])
    return out


class _Grow:
    """A growable numpy vector."""

    def __init__(self, dtype) -> None:
        self._a = np.empty(1024, dtype=dtype)
        self._n = 0

    def extend(self, values: np.ndarray) -> None:
        need = self._n + values.size
        if need > self._a.size:
            a = np.empty(max(need, 2 * self._a.size), dtype=self._a.dtype)
            a[:self._n] = self._a[:self._n]
            self._a = a
        self._a[self._n:need] = values
        self._n = need

    @property
    def values(self) -> np.ndarray:
        return self._a[:self._n]


def _stamp(path: Path) -> dict:
    st = Path(path).stat()
    return {"file": Path(path).name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _save_codes(codes_dir: Path, date: dt.date, codes: np.ndarray) -> None:
    codes = codes.astype(np.int32, copy=False)
    starts = np.flatnonzero(np.diff(codes) != 1) + 1 if codes.size else np.zeros(0, dtype=np.int64)
    if 4 * (starts.size + 1) < codes.size:     # runs of consecutive codes: store where each run starts
        starts = np.concatenate([[0], starts])
        # each run's first row and code, then (rows, -1): the end, which says how many rows the codes are for
        codes = np.stack([np.append(starts, codes.size), np.append(codes[starts], -1)], axis=1).astype(np.int32)
    _save_array(codes_dir / f"{date.isoformat()}.npy", codes)


def load_row_codes(codes_dir: Path, date: dt.date, rows: int, n_catalog: int) -> np.ndarray | None:
    """The row codes of one snapshot (module docstring, "Row codes"), or None if absent or inconsistent.

    Parameters
    ----------
    codes_dir : Path
        The row-codes folder.
    date : datetime.date
        The snapshot.
    rows : int
        Its number of rows (from the folder's ``index.json``).
    n_catalog : int
        Catalog rows (models in ``catalog_ids.parquet``): every code must be below it.

    Returns
    -------
    numpy.ndarray or None
        int32, the catalog row of each row of the snapshot in file order.
    """
    try:
        stored = np.load(Path(codes_dir) / f"{date.isoformat()}.npy")
    except (OSError, ValueError):
        return None
    if stored.dtype != np.int32:
        return None
    if stored.ndim == 1:
        codes = stored
    elif stored.ndim == 2 and stored.shape[1] == 2 and stored.shape[0] > 1 and stored[0, 0] == 0 and \
            tuple(stored[-1]) == (rows, -1):
        starts, first = stored[:-1, 0].astype(np.int64), stored[:-1, 1]
        lengths = np.diff(stored[:, 0].astype(np.int64))
        if (lengths <= 0).any():
            return None
        codes = np.repeat(first - starts.astype(np.int32), lengths)
        codes += np.arange(rows, dtype=np.int32)
    else:
        return None
    if codes.size != rows or (codes.size and (codes.min() < 0 or codes.max() >= n_catalog)):
        return None
    return codes


def _save_array(f: Path, values: np.ndarray) -> None:
    tmp = f.with_name(f".{f.name}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, values)
    os.replace(tmp, f)


def _metadata_rows(job: tuple) -> pa.Table:
    """The metadata columns of some rows of one snapshot, with their catalog rows (``_code``) attached."""
    date, path, cols, positions, codes, trim_tags, n_rows, thin = job
    if thin is not None:
        rest = [c for c in cols if c != "id" and c in _COLUMN_TYPES]
        try:
            table = thin.read_rows(positions, rest, transform=lambda t: _trim(t, trim_tags))   # row group by row group
        except RawStoreError as e:
            raise CatalogError(str(e)) from None
        return table.append_column("_code", pa.array(codes, pa.int64()))
    names = _schema_names(path, date)
    rest = [c for c in cols if c != "id" and c in names]
    every = len(positions) == n_rows      # positions are sorted and distinct: all rows, in file order
    table = _read_rows(path, date, rest, None if every else positions, trim_tags)
    return table.append_column("_code", pa.array(codes, pa.int64()))


def missing_message(plan: MetadataPlan, asked: int | None = None) -> str:
    """Why a thin store cannot serve the rule asked for, and what to do (for :class:`CatalogError`)."""
    n = sum(len(p) for p, _ in plan.missing.values())
    where = ", ".join(f"{plan.dates[k]} ({len(p):,} rows)" for k, (p, _) in list(plan.missing.items())[:5])
    more = f" and {len(plan.missing) - 5} more" if len(plan.missing) > 5 else ""
    rules = plan.store_rules()
    finer = asked is not None and rules and max(asked, 1) < max(rules)
    why = (f"the raw store was pulled thin under archive.metadata_every = {', '.join(map(str, rules))} and the run "
           f"asks for the finer rule {asked}, which needs metadata rows the pull did not fetch" if finer else
           "the window's snapshots lack metadata rows the thin-read rule reads (a pull with another window or rule, "
           "or one interrupted before it fetched them)")
    return (f"cannot build the catalog: {why}: {n:,} row(s) of {len(plan.missing)} snapshot(s) are missing "
            f"({where}{more}). Run `python -m analysis pull` with the same archive.metadata_every and study window "
            "(it fetches exactly those rows), or set archive.metadata_every back to the rule the store was pulled "
            "under.")


def build_catalog(snapshots: Sequence[tuple[dt.date, Path]], columns: Sequence[str] = CATALOG_COLUMNS,
                  progress=None, workers: int = DEFAULT_WORKERS, lineage_tags_only: bool = True,
                  row_codes_dir: Path | None = None, metadata_every: int = DEFAULT_METADATA_EVERY,
                  plan: MetadataPlan | None = None) -> pa.Table:
    """Union of all models over the snapshots, each with its metadata under the thin-read rule.

    Parameters
    ----------
    snapshots : sequence of (date, path)
        Raw snapshot files in the normalised raw schema.
    columns : sequence of str
        Columns to keep (``id`` is always kept). Columns absent from a file are null for its rows.
    progress : callable, optional
        Called as ``progress(i, n, date)`` after each snapshot of the id pass.
    workers : int
        Threads reading snapshots; the result is the same for any value.
    lineage_tags_only : bool
        Keep in ``tags`` only the lineage tags (``base_model:...``, see :func:`lineage_tags`), the only ones tagging
        reads (same tagging result, tested): the catalog's ``tags`` column is then several times smaller. False keeps
        all tags.
    row_codes_dir : Path, optional
        If given, also write there, for every snapshot, the catalog row of each of its rows (``<date>.npy``, int32,
        in file order), the ids they point to (``catalog_ids.parquet``) and ``index.json`` (each raw file's name, size
        and modification time). :func:`analysis.panel.build_panel` can then sum a snapshot without reading and
        hashing its ids again (it checks each file's stamp and falls back to matching ids when it differs).
    metadata_every : int
        The thin-read rule (module docstring): 1 reads each model's metadata from the newest snapshot holding it
        (what reading every week's metadata gives); N > 1 reads it from the newest anchor (the newest snapshot and
        every N-th before it) holding the model, or, if no anchor holds it, from the orphans' cover (module
        docstring).
    plan : MetadataPlan, optional
        A plan already made by :func:`plan_metadata` on the same snapshots (then ``metadata_every`` and
        ``row_codes_dir`` are those of the plan).

    Returns
    -------
    pyarrow.Table
        One row per model id, with ``last_seen`` (date of the newest snapshot holding the model) and
        ``metadata_date`` (date of the snapshot its metadata was read from) columns, in the order the metadata was
        read: snapshot by snapshot, newest first, each in file order (with ``metadata_every=1``: the models of the
        newest snapshot, then those last seen in each older one). The row codes point into
        ``catalog_ids.parquet`` (every model once, in the order the id pass met them), not into this table.

    Raises
    ------
    CatalogError
        No snapshots, a file that cannot be read or has no ``id`` column, or ``metadata_every < 1``.
    """
    return catalog_with_plan(snapshots, columns, progress=progress, workers=workers,
                             lineage_tags_only=lineage_tags_only, row_codes_dir=row_codes_dir,
                             metadata_every=metadata_every, plan=plan)[0]


def catalog_with_plan(snapshots: Sequence[tuple[dt.date, Path]], columns: Sequence[str] = CATALOG_COLUMNS, *,
                      progress=None, workers: int = DEFAULT_WORKERS, lineage_tags_only: bool = True,
                      row_codes_dir: Path | None = None, metadata_every: int = DEFAULT_METADATA_EVERY,
                      plan: MetadataPlan | None = None) -> tuple[pa.Table, MetadataPlan]:
    """:func:`build_catalog` (same parameters), and the :class:`MetadataPlan` it followed.

    Without a ``plan``, the metadata rows of each snapshot are read by a second pool of ``workers`` threads as soon as
    the id pass has decided them (``plan_metadata(on_read=...)``: an anchor's while the older snapshots' ids are
    still being read, the orphans' at the end), so the two passes overlap; the result is the same as reading them
    after the plan.
    """
    cols = ["id"] + [c for c in columns if c != "id"]
    snaps = sorted(snapshots, key=lambda s: s[0], reverse=True)
    given = plan is not None

    def job(k: int, pos: np.ndarray, codes: np.ndarray, n_rows: int, thin: ThinSnapshot | None) -> tuple:
        return snaps[k][0], snaps[k][1], cols, pos, codes, lineage_tags_only, int(n_rows), thin

    if plan is None:
        started: dict[int, Future] = {}
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            def on_read(k: int, *args) -> None:
                started[k] = pool.submit(_metadata_rows, job(k, *args))
            try:
                plan = plan_metadata(snaps, metadata_every, workers=workers, row_codes_dir=row_codes_dir,
                                     progress=progress, on_read=on_read)
                if plan.missing:
                    raise CatalogError(missing_message(plan, metadata_every))
                if set(started) != set(plan.reads):
                    raise CatalogError("internal error: the metadata reads started differ from the plan's; "
                                       "please report it")
                parts = [started[k].result() for k in plan.reads]
            except BaseException:
                for f in started.values():
                    f.cancel()
                raise
    else:
        if plan.missing:
            raise CatalogError(missing_message(plan, metadata_every))
        jobs = [job(k, pos, codes, plan.rows[k], plan.thin.get(k)) for k, (pos, codes) in plan.reads.items()]
        parts = list(ordered_map(_metadata_rows, jobs, workers))
    meta = pa.concat_tables(parts, promote_options="default")
    code = np.asarray(meta["_code"].combine_chunks() if meta.num_rows else pa.array([], pa.int64()), dtype=np.int64)
    if code.size != len(plan.ids) or np.bincount(code, minlength=len(plan.ids)).max(initial=1) != 1:
        raise CatalogError("internal error: the metadata reads do not cover every model once; please report it")
    # rows stay in the order they were read (snapshot by snapshot, in file order): no copy of the list columns
    dates = pa.array(plan.dates, pa.date32())
    take = pa.array(code)
    out = {"id": plan.ids.take(take)}
    for c in cols[1:]:
        out[c] = meta[c] if c in meta.column_names else pa.nulls(len(code), _COLUMN_TYPES.get(c, pa.string()))
    out["last_seen"] = dates.take(pa.array(plan.last_seen[code]))
    out["metadata_date"] = dates.take(pa.array(plan.source[code]))
    if row_codes_dir is not None and plan.codes_written and not given:
        _save_array(Path(row_codes_dir) / ROW_CODES_ORDER, code.astype(np.int32))
    return pa.table(out), plan


def attach_descriptors(tags, catalog: pa.Table, columns: Sequence[str] | None = None):
    """The tagged models with the catalog's descriptor columns (notebook 02's ``models`` table).

    Parameters
    ----------
    tags : pandas.DataFrame
        :func:`analysis.origin.tag_models` of ``catalog`` (one row per catalog row, same order).
    catalog : pyarrow.Table
        :func:`build_catalog`'s table.
    columns : sequence of str, optional
        Catalog columns to attach (default :data:`analysis.contracts.MODEL_EXTRA_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        ``tags`` with ``columns`` appended. Rows are matched by id: positionally when ``tags`` lists the catalog's
        ids in the catalog's order (what :func:`analysis.origin.tag_models` returns, checked id by id), else by a
        one-to-one join on ``id``.

    Raises
    ------
    CatalogError
        A column the catalog lacks, or ids that do not match one to one.
    """
    import pandas as pd

    from .contracts import MODEL_EXTRA_COLUMNS

    cols = list(MODEL_EXTRA_COLUMNS if columns is None else columns)
    lacking = [c for c in cols if c not in catalog.column_names]
    if lacking:
        raise CatalogError(f"the catalog lacks column(s) {lacking}; rebuild it with analysis.catalog.build_catalog")
    ids = catalog["id"].combine_chunks() if catalog.num_rows else pa.array([], pa.string())
    same = len(tags) == len(ids) and (len(ids) == 0 or pc.all(pc.equal(
        pa.array(tags["id"].array, pa.string()), ids)).as_py())
    extra = catalog.select(cols).to_pandas()
    if same:
        extra.index = tags.index
        return pd.concat([tags, extra], axis=1)
    extra.insert(0, "id", catalog.select(["id"]).to_pandas()["id"])
    try:
        return tags.merge(extra, on="id", how="left", validate="one_to_one")
    except pd.errors.MergeError as e:
        raise CatalogError(f"the tagged models and the catalog do not match one to one by id ({e}); "
                           "tag the catalog built from the same snapshots") from None
