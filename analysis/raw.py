"""The immutable raw store: one Parquet file per snapshot date (and version), written once, with a manifest.

Layout (under ``raw_dir``, i.e. ``data/raw`` or ``data/demo/raw`` for the demo)::

    archive/<YYYY-MM-DD>.parquet     one weekly archive snapshot, normalised to RAW_SCHEMA (version 1)
    archive/<YYYY-MM-DD>.v<N>.parquet
                                     version N of that snapshot: the Hub's file changed after version N-1 was
                                     pulled (a new etag); stored beside the older versions, never over them
    live/<YYYY-MM-DD>.parquet        one live listing of the Hub, normalised to RAW_SCHEMA
    metadata/<YYYY-MM-DD>[.v<N>].part<K>.parquet
                                     thin pulls only: the metadata of some rows of that snapshot (version N), with
                                     each row's number in it (see "Thin snapshots" below)
    live/.<YYYY-MM-DD>.resume/       pages of a live listing still being pulled (resumed the same day)
    manifest.jsonl                   append-only, one JSON object per written file

**Which version the study uses.** The newest version of a snapshot (the manifest's last entry for its kind and
date): :meth:`RawStore.path` returns it, every stage reads it, and notebook 01 shows every snapshot with more than
one version. The older versions stay, with their entries, for comparison.

Invariants, each tested:

* **Nothing is overwritten.** A file is written to a temporary name in the same folder, flushed and
  fsynced, hashed, then hard-linked to its final name; the link fails if the name exists, so an existing
  file is never replaced (:class:`RawStoreError`).
* **Writes are atomic.** A reader sees either no file or the complete file. A process killed mid-write leaves
  only a ``.<date>.parquet.<pid>.partial`` file, removed by :meth:`RawStore.cleanup_partials` under the store
  lock at the start of the next pull.
* **The manifest is complete and verifiable.** Every file has one manifest entry with its SHA-256, row count
  and provenance; :meth:`RawStore.verify` re-hashes every file and names every mismatch, missing file,
  file without an entry, duplicate entry and torn manifest line. The entry is first written, fsynced, to a
  ``.<date>.parquet.pending.json`` file beside the data *before* the data takes its final name, and appended to
  the manifest after; a process killed in between (or a manifest that cannot be written, e.g. a full disk)
  leaves the file and its pending entry, which :meth:`RawStore.recover_pending` records in the manifest at the
  start of the next pull. A pulled file is thus never left without its provenance, and never deleted.
  A file deleted by hand and pulled again gets a second entry that says so (``restores``: the SHA-256 of the lost
  file, and whether the new bytes are identical); verify checks the newest entry. A metadata part deleted by hand
  is fetched again into a new part, whose entry names the lost one (``restores_parts``); verify then accepts its
  absence.
* **What the Hub served is kept as served.** Each entry records the snapshot's implausible rows
  (``quality``, see :mod:`analysis.quality`); the rule is applied when snapshots are read, never to the file.
* **A full disk stops the write cleanly** (:class:`RawStoreFullError`): the partial file is removed.

**Thin snapshots.** A thin pull (``archive.metadata_every`` >= 1, the default; :mod:`analysis.catalog`, "Thin
reads") writes ``archive/<date>.parquet`` with the weekly columns only (:data:`analysis.schema.WEEKLY_SCHEMA`; its
Parquet key-value metadata holds the rule under :data:`analysis.schema.THIN_KEY`), and the metadata of the rows the
rule plans to ``metadata/<date>.part<K>.parquet`` (:data:`analysis.schema.METADATA_SCHEMA`: ``row``, ``id`` and the
metadata columns). Each metadata file is written once, atomically, with its own manifest entry (kind ``metadata``)
naming the snapshot file it belongs to (``for_file``, ``for_sha256``), the rule and the row groups read; a later pull
that needs more rows of the same snapshot writes another part. :func:`thin_snapshot` finds a snapshot's parts;
:meth:`RawStore.read` of a thin snapshot gives the metadata columns of the rows its parts hold and nulls for the
others. A full pull (``metadata_every`` = 0) writes every column of :data:`analysis.schema.RAW_SCHEMA`, as before.

Other stages read raw files only through :class:`RawStore` (``read``, ``iter_batches``) or :func:`thin_snapshot`,
which check the schema.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .quality import clean_snapshot
from .schema import (LATER_COLUMNS, METADATA_SCHEMA, RAW_SCHEMA, REQUIRED_COLUMNS, THIN_KEY, WEEKLY_COLUMNS,
                     WEEKLY_SCHEMA)

#: Kinds of raw files, one sub-folder each (``metadata``: the metadata parts of thin snapshots).
KINDS: tuple[str, ...] = ("archive", "live", "metadata")
#: Kinds that hold snapshots (one file per date and version).
SNAPSHOT_KINDS: tuple[str, ...] = ("archive", "live")
_PARTIAL_SUFFIX = ".partial"
_PENDING_SUFFIX = ".pending.json"
_RESUME_SUFFIX = ".resume"
#: A raw file's name: its date and, from the second version on, ``.v<N>``; matched whole.
_FILE_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})(?:\.v([1-9][0-9]*))?\.parquet\Z")
#: A metadata part's name: its snapshot's date, version (from 2 on) and part number; matched whole.
_PART_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})(?:\.v([1-9][0-9]*))?\.part([1-9][0-9]*)\.parquet\Z")
_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


class RawStoreError(RuntimeError):
    """A raw-store operation that would break an invariant, or a raw file that fails its checks."""


class RawStoreFullError(RawStoreError):
    """The disk holding the raw store is full; the file being written was removed, nothing is half-written."""


def is_disk_full(error: BaseException) -> bool:
    """True if ``error`` (or what caused it) is "No space left on device" (or a disk quota exceeded)."""
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, RawStoreFullError):
            return True
        if isinstance(e, OSError) and (e.errno in _NO_SPACE or "No space left on device" in str(e)):
            return True
        e = e.__cause__ or e.__context__
    return False


def _full(path: Path, raw_dir: Path, error: BaseException) -> RawStoreFullError:
    return RawStoreFullError(f"{path}: no space left on device while writing it ({error}); the partial file was "
                             f"removed, nothing is half-written. Free space on the disk holding {raw_dir} and run "
                             "the pull again (it resumes with what is missing)")


def _as_date(date: dt.date | str, where: str = "date") -> dt.date:
    if isinstance(date, dt.datetime):
        return date.date()
    if isinstance(date, dt.date):
        return date
    try:
        return dt.date.fromisoformat(str(date))
    except ValueError:
        raise RawStoreError(f"{where} {date!r}: expected a date YYYY-MM-DD") from None


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_raw_schema(schema: pa.Schema, where: str, columns: list[str] | None = None, *,
                     written: bool = False) -> None:
    """Raise :class:`RawStoreError` unless ``schema`` has RAW_SCHEMA's columns (or ``columns``) with its types.

    Parameters
    ----------
    schema : pyarrow.Schema
        Schema of a table or file.
    where : str
        Name of the file or table, for the message.
    columns : list of str, optional
        Only check these columns (in any order); default every column of RAW_SCHEMA, in order.
    written : bool
        ``schema`` is that of a raw file already written (reading, verifying): it may lack the trailing columns of
        :data:`analysis.schema.LATER_COLUMNS`, added to the schema after it was pulled (raw files are never
        rewritten). New tables (``written=False``) must have every column.
    """
    names = list(RAW_SCHEMA.names) if columns is None else list(columns)
    if written:
        absent = [n for n in names if n in LATER_COLUMNS and n not in schema.names]
        names = [n for n in names if n not in absent]
        if columns is None and absent and RAW_SCHEMA.names[-len(absent):] != absent:
            raise RawStoreError(f"{where}: lacks columns {absent} that are not the schema's last ones")
    for name in names:
        if name not in RAW_SCHEMA.names:
            raise RawStoreError(f"{where}: column {name!r} is not part of the raw schema "
                                f"({', '.join(RAW_SCHEMA.names)})")
        if name not in schema.names:
            raise RawStoreError(f"{where}: column {name!r} is missing; raw files must have the columns of "
                                "analysis.schema.RAW_SCHEMA")
        want, got = RAW_SCHEMA.field(name).type, schema.field(name).type
        if not got.equals(want):
            raise RawStoreError(f"{where}: column {name!r} has type {got}, expected {want}")
    if columns is None and list(schema.names) != names:
        raise RawStoreError(f"{where}: columns {schema.names} differ from the raw schema {names}")


def _with_later_columns(table: pa.Table, columns: list[str]) -> pa.Table:
    """``table`` with the columns ``columns`` in that order; absent later columns become nulls of their type."""
    if list(table.column_names) == list(columns):
        return table
    arrays = [table[c] if c in table.column_names else pa.nulls(table.num_rows, RAW_SCHEMA.field(c).type)
              for c in columns]
    return pa.Table.from_arrays(arrays, names=list(columns))


def _write_durably(path: Path, text: str) -> None:
    """Write a small file atomically (temporary name, fsync, rename, fsync of the folder)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def thin_rule(schema: pa.Schema) -> dict | None:
    """The thin-read rule recorded in a raw file's schema (:data:`analysis.schema.THIN_KEY`), or None (full file)."""
    md = schema.metadata or {}
    if THIN_KEY not in md:
        return None
    try:
        rule = json.loads(md[THIN_KEY])
    except ValueError:
        rule = None
    if not isinstance(rule, dict) or not isinstance(rule.get("metadata_every"), int):
        raise RawStoreError(f"malformed thin-read rule {md[THIN_KEY][:80]!r} in a raw file's schema")
    return rule


def _check_exact(schema: pa.Schema, expected: pa.Schema, where: str) -> None:
    if list(schema.names) != list(expected.names):
        raise RawStoreError(f"{where}: columns {schema.names} differ from {expected.names}")
    for f in expected:
        if not schema.field(f.name).type.equals(f.type):
            raise RawStoreError(f"{where}: column {f.name!r} has type {schema.field(f.name).type}, expected {f.type}")


def check_written_file(schema: pa.Schema, where: str, kind: str) -> None:
    """Check the schema of a raw file already written: a snapshot (full or thin) or a metadata part."""
    if kind == "metadata":
        _check_exact(schema, METADATA_SCHEMA, where)
    elif thin_rule(schema) is not None:
        _check_exact(schema, WEEKLY_SCHEMA, where)
    else:
        check_raw_schema(schema, where, written=True)


def row_group_bounds(meta: pq.FileMetaData) -> np.ndarray:
    """First row of each row group of a parquet file (its metadata), and the file's row count after them."""
    return np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]).astype(np.int64)


def read_groups_holding(pf: pq.ParquetFile, columns: list[str], rows: np.ndarray | None,
                        pick: Callable[[pa.Table, np.ndarray | None], pa.Table]) -> list[pa.Table]:
    """Read the row groups of ``pf`` holding any of ``rows`` (sorted, distinct, within the file; None: every row),
    one at a time, and return ``pick(group, wanted)`` for each: ``wanted`` are the group's rows among ``rows``
    (positions in the group), None when they are all of its rows. So a reader holds one row group's columns at a
    time, and ``pick`` can take and shrink them at once."""
    meta = pf.metadata
    if rows is None:
        return [pick(pf.read_row_group(g, columns=columns), None) for g in range(meta.num_row_groups)]
    bounds = row_group_bounds(meta)
    cut = np.searchsorted(rows, bounds)
    out = []
    for g in np.flatnonzero(np.diff(cut) > 0):
        group = pf.read_row_group(int(g), columns=columns)
        wanted = rows[cut[g]:cut[g + 1]] - bounds[g]
        out.append(pick(group, None if wanted.size == group.num_rows else wanted))
    return out


@dataclasses.dataclass(frozen=True)
class ThinSnapshot:
    """A thin snapshot's metadata parts: which of its rows hold metadata, and how to read them.

    Attributes
    ----------
    path : Path
        The snapshot's raw file (weekly columns only).
    rule : dict
        The thin-read rule it was pulled under (``metadata_every``, ``epoch``).
    parts : tuple of Path
        Its metadata parts (those whose manifest entry names this file with its current SHA-256), in order.
    stored : numpy.ndarray
        Sorted row numbers (0-based, in the snapshot) whose metadata the parts hold, each once.
    """

    path: Path
    rule: dict
    parts: tuple
    stored: np.ndarray
    _where: tuple = ()  # (part index, row within the part) of each stored row

    def parts_holding(self, positions: np.ndarray) -> list[Path]:
        """The metadata parts holding any of the stored rows ``positions`` (those :meth:`read_rows` reads)."""
        positions = np.asarray(positions, dtype=np.int64)
        if not positions.size or not self.stored.size:
            return []
        ix = np.minimum(np.searchsorted(self.stored, positions), self.stored.size - 1)
        held = set(self._where[0][ix[self.stored[ix] == positions]].tolist())
        return [part for k, part in enumerate(self.parts) if k in held]

    def read_rows(self, positions: np.ndarray, columns: list[str] | tuple[str, ...],
                  transform: Callable[[pa.Table], pa.Table] | None = None) -> pa.Table:
        """The metadata ``columns`` of the rows ``positions`` (stored rows), in the order given.

        Parts are read row group by row group, and only the row groups holding a wanted row
        (:func:`read_groups_holding`): a reader holds one row group's columns at a time, not a whole part (the
        newest snapshot's part holds all its rows).

        Parameters
        ----------
        positions : numpy.ndarray
            Row numbers in the snapshot, each stored.
        columns : list of str
            Metadata columns (``row`` is left out).
        transform : callable, optional
            Applied to the wanted rows of each row group as soon as they are read (a row-wise change that makes
            them smaller, e.g. keeping only some tags), so the untransformed columns of one row group at most are
            held at a time.

        Raises
        ------
        RawStoreError
            A row the parts do not hold, or a part that cannot be read.
        """
        positions = np.asarray(positions, dtype=np.int64)
        ix = np.searchsorted(self.stored, positions)
        ok = (ix < self.stored.size) & (self.stored[np.minimum(ix, self.stored.size - 1)] == positions) \
            if self.stored.size else np.zeros(positions.size, dtype=bool)
        if not ok.all():
            raise RawStoreError(f"{self.path}: its metadata parts do not hold row {int(positions[~ok][0])} "
                                f"({int((~ok).sum())} row(s) missing); run `python -m analysis pull`, which fetches "
                                "the rows the thin-read rule needs")
        part_of, row_in = self._where
        cols = [c for c in columns if c != "row"]

        def pick(group: pa.Table, wanted: np.ndarray | None) -> pa.Table:
            rows = group if wanted is None else group.take(pa.array(wanted))
            return transform(rows) if transform is not None else rows

        pieces, order = [], []
        for k, part in enumerate(self.parts):
            sel = np.flatnonzero(part_of[ix] == k)
            if not sel.size:
                continue
            rows = row_in[ix[sel]]
            by_row = np.argsort(rows, kind="stable")
            rows = rows[by_row]
            try:
                pf = pq.ParquetFile(part, page_checksum_verification=True)
                if rows[-1] >= pf.metadata.num_rows:
                    raise RawStoreError(f"{part}: fewer rows than its manifest entry says; run `python -m analysis "
                                        "pull --verify`")
                pieces += read_groups_holding(pf, cols, rows, pick)
            except (pa.ArrowInvalid, OSError) as e:
                raise RawStoreError(f"{part}: unreadable metadata part ({e}); run `python -m analysis pull "
                                    "--verify`") from None
            order.append(sel[by_row])
        if not pieces:
            empty = pa.schema([METADATA_SCHEMA.field(c) for c in cols]).empty_table()
            return transform(empty) if transform is not None else empty
        out = pa.concat_tables(pieces)
        done = np.concatenate(order)
        if np.array_equal(done, np.arange(positions.size)):
            return out                                  # read in the order given
        back = np.empty(positions.size, dtype=np.int64)
        back[done] = np.arange(positions.size)
        return out.take(pa.array(back))


_MANIFEST_CACHE: dict[Path, tuple[tuple, list]] = {}


def _cached_entries(store: "RawStore") -> list[dict[str, Any]]:
    """The store's manifest entries, parsed once per state of the manifest file."""
    p = store.manifest_path
    try:
        st = p.stat()
        key = (st.st_size, st.st_mtime_ns)
    except OSError:
        return []
    hit = _MANIFEST_CACHE.get(p)
    if hit is None or hit[0] != key:
        hit = (key, store.manifest_entries())
        _MANIFEST_CACHE[p] = hit
    return hit[1]


def thin_snapshot(path: str | Path) -> ThinSnapshot | None:
    """The metadata parts of a thin snapshot file of a raw store (None if the file is a full one).

    The store is the file's grandparent folder (``<raw_dir>/archive/<date>.parquet``). Only parts whose manifest
    entry names this file with the SHA-256 of its current entry are used, and only those present on disk
    (:meth:`RawStore.verify` names the others).
    """
    path = Path(path)
    try:
        rule = thin_rule(pq.read_schema(path))
    except (pa.ArrowInvalid, OSError) as e:
        raise RawStoreError(f"{path}: unreadable raw file ({e}); run `python -m analysis pull --verify`") from None
    if rule is None:
        return None
    store = RawStore(path.parent.parent)
    rel = path.relative_to(store.raw_dir).as_posix()
    entries = _cached_entries(store)
    own = [e for e in entries if e.get("file") == rel]
    sha = own[-1].get("sha256") if own else None
    parts = [store.raw_dir / e["file"] for e in entries if e.get("kind") == "metadata" and
             e.get("for_file") == rel and sha is not None and e.get("for_sha256") == sha and e.get("file")]
    parts = [p for p in dict.fromkeys(parts) if p.is_file()]
    rows, part_of, row_in = [], [], []
    for k, part in enumerate(parts):
        try:
            r = pq.read_table(part, columns=["row"])["row"].to_numpy()
        except (pa.ArrowInvalid, OSError) as e:
            raise RawStoreError(f"{part}: unreadable metadata part ({e}); run `python -m analysis pull "
                                "--verify`") from None
        rows.append(r.astype(np.int64))
        part_of.append(np.full(r.size, k, dtype=np.int64))
        row_in.append(np.arange(r.size, dtype=np.int64))
    if rows:
        allrows, allpart, allin = np.concatenate(rows), np.concatenate(part_of), np.concatenate(row_in)
        order = np.lexsort((allpart, allrows))                      # by row, earliest part first
        allrows, allpart, allin = allrows[order], allpart[order], allin[order]
        first = np.r_[True, allrows[1:] != allrows[:-1]]             # a row held twice: the first part's copy
        stored, where = allrows[first], (allpart[first], allin[first])
    else:
        stored, where = np.zeros(0, dtype=np.int64), (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    return ThinSnapshot(path=path, rule=rule, parts=tuple(parts), stored=stored, _where=where)


class RawWriter:
    """Streams one raw file into a temporary file; see :meth:`RawStore.open_writer`."""

    def __init__(self, store: "RawStore", kind: str, date: dt.date, meta: Mapping[str, Any], version: int = 1,
                 part: int | None = None, thin: Mapping[str, Any] | None = None) -> None:
        self.store, self.kind, self.date, self.meta, self.version = store, kind, date, dict(meta), version
        if kind == "metadata":
            self.schema = METADATA_SCHEMA
            self.final = store.metadata_path(date, version, part or 1)
        else:
            self.schema = RAW_SCHEMA if thin is None else WEEKLY_SCHEMA.with_metadata(
                {THIN_KEY: json.dumps(dict(thin), sort_keys=True)})
            self.final = store.version_path(kind, date, version)
        self.tmp = self.final.with_name(f".{self.final.name}.{os.getpid()}{_PARTIAL_SUFFIX}")
        self.rows = 0
        self.entry: dict[str, Any] | None = None
        try:
            self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd", write_page_checksum=True)
        except OSError as e:
            self.tmp.unlink(missing_ok=True)
            if is_disk_full(e):
                raise _full(self.final, store.raw_dir, e) from None
            raise

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        """Append rows; ``table`` must have exactly the file's schema (RAW_SCHEMA, or a thin pull's WEEKLY_SCHEMA or
        METADATA_SCHEMA) and no nulls in required columns."""
        where = f"{self.kind} {self.date} (rows {self.rows}..)"
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if self.schema is RAW_SCHEMA:
            check_raw_schema(table.schema, where)
        else:
            _check_exact(table.schema, self.schema, where)
        for col in REQUIRED_COLUMNS + ("row",):
            nulls = table[col].null_count if col in table.column_names else 0
            if nulls:
                raise RawStoreError(f"{where}: required column {col!r} has {nulls} null values")
        try:
            self._writer.write_table(table.cast(self.schema))
        except OSError as e:
            if is_disk_full(e):
                raise _full(self.final, self.store.raw_dir, e) from None
            raise
        self.rows += table.num_rows

    def _commit(self) -> dict[str, Any]:
        try:
            return self._commit_unguarded()
        except OSError as e:
            if is_disk_full(e):
                raise _full(self.final, self.store.raw_dir, e) from None
            raise

    def _commit_unguarded(self) -> dict[str, Any]:
        self._writer.close()
        with open(self.tmp, "rb+") as f:
            f.flush()
            os.fsync(f.fileno())
        digest = sha256_file(self.tmp)
        size = self.tmp.stat().st_size
        entry = {**self.meta, "kind": self.kind, "date": self.date.isoformat(), "version": self.version,
                 "file": self.final.relative_to(self.store.raw_dir).as_posix(), "rows": self.rows,
                 "file_size": size, "sha256": digest,
                 "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        if self.kind != "metadata":
            quality = clean_snapshot(pq.read_table(self.tmp, columns=list(WEEKLY_COLUMNS))).quality
            entry["quality"] = quality.as_dict()
        pending = self.store.pending_path(self.final)
        _write_durably(pending, json.dumps(entry, sort_keys=True, default=str) + "\n")
        try:
            os.link(self.tmp, self.final)  # fails if the final name exists: never replace a raw file
        except FileExistsError:
            pending.unlink(missing_ok=True)
            raise RawStoreError(f"{self.final}: already exists; raw files are immutable and are never "
                                "overwritten (delete it by hand only if you know it is wrong)") from None
        except BaseException:
            pending.unlink(missing_ok=True)
            raise
        finally:
            self.tmp.unlink(missing_ok=True)
        _fsync_dir(self.final.parent)
        try:
            self.store._append_manifest(entry)
        except OSError as e:
            error = RawStoreFullError if is_disk_full(e) else RawStoreError
            raise error(f"{self.store.manifest_path}: could not record {self.final.name} ({e}); the file "
                                f"and its pending entry {pending.name} are kept, and the next pull records it "
                                "once the manifest can be written") from None
        pending.unlink(missing_ok=True)
        self.entry = entry
        return entry

    def _abort(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
        self.tmp.unlink(missing_ok=True)


class RawStore:
    """The raw store under ``raw_dir`` (see the module docstring for layout and invariants).

    Parameters
    ----------
    raw_dir : str or Path
        ``Paths.raw_dir``: ``data/raw`` (real pulls) or ``data/demo/raw`` (demo pulls).
    """

    def __init__(self, raw_dir: str | Path) -> None:
        self.raw_dir = Path(raw_dir)

    @property
    def manifest_path(self) -> Path:
        return self.raw_dir / "manifest.jsonl"

    # --- locations ---------------------------------------------------------------------------------
    def _kind(self, kind: str) -> str:
        if kind not in KINDS:
            raise RawStoreError(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
        return kind

    def version_path(self, kind: str, date: dt.date | str, version: int = 1) -> Path:
        """Where version ``version`` (1, 2, ...) of the raw file of ``kind`` for ``date`` lives (it may not exist)."""
        if not isinstance(version, int) or version < 1:
            raise RawStoreError(f"version {version!r}: expected an integer >= 1")
        suffix = "" if version == 1 else f".v{version}"
        return self.raw_dir / self._kind(kind) / f"{_as_date(date).isoformat()}{suffix}.parquet"

    def metadata_path(self, date: dt.date | str, version: int = 1, part: int = 1) -> Path:
        """Where part ``part`` of the metadata rows of version ``version`` of an archive snapshot lives."""
        if not isinstance(part, int) or part < 1:
            raise RawStoreError(f"part {part!r}: expected an integer >= 1")
        suffix = "" if version == 1 else f".v{version}"
        return self.raw_dir / "metadata" / f"{_as_date(date).isoformat()}{suffix}.part{part}.parquet"

    def metadata_entries(self, date: dt.date | str, version: int = 1) -> list[dict[str, Any]]:
        """Manifest entries of the metadata parts of version ``version`` of the archive snapshot of ``date``."""
        key = _as_date(date).isoformat()
        return [e for e in self.manifest_entries() if e.get("kind") == "metadata" and e.get("date") == key
                and int(e.get("version", 1)) == version]

    def path(self, kind: str, date: dt.date | str) -> Path:
        """The raw file of ``kind`` for ``date`` the study uses: its newest version (it may not exist).

        The newest version is the file of the manifest's last entry for ``kind`` and ``date``; without an entry,
        the newest version file present; without either, version 1's path.
        """
        e = self.entry(kind, date)
        if e is not None and e.get("file"):
            return self.raw_dir / e["file"]
        versions = self.versions(kind, date)
        return self.version_path(kind, date, versions[-1] if versions else 1)

    def versions(self, kind: str, date: dt.date | str) -> list[int]:
        """Version numbers of the files of ``kind`` for ``date`` present in the store, ascending."""
        want = _as_date(date).isoformat()
        return sorted(v for d, v, _ in self._files(kind) if d == want)

    def _files(self, kind: str) -> list[tuple[str, int, Path]]:
        """(date, version, path) of every raw file of ``kind`` present (names matched whole)."""
        d = self.raw_dir / self._kind(kind)
        if not d.is_dir():
            return []
        out = []
        pattern = _PART_NAME if kind == "metadata" else _FILE_NAME
        for f in d.iterdir():
            m = pattern.fullmatch(f.name)
            if m and f.is_file():
                with contextlib.suppress(RawStoreError):
                    _as_date(m.group(1))
                    out.append((m.group(1), int(m.group(2) or 1), f))
        return out

    def has(self, kind: str, date: dt.date | str) -> bool:
        """True if any version of the raw file of ``kind`` for ``date`` is present."""
        return bool(self.versions(kind, date))

    @staticmethod
    def pending_path(final: Path) -> Path:
        """Where the manifest entry of ``final`` waits until it is appended to the manifest."""
        return final.with_name(f".{final.name}{_PENDING_SUFFIX}")

    def snapshot_dates(self, kind: str = "archive") -> list[dt.date]:
        """Sorted dates of the raw files of ``kind`` present in the store (each date once, whatever its versions)."""
        return sorted({_as_date(d) for d, _, _ in self._files(kind)})

    def resume_dir(self, kind: str, date: dt.date | str) -> Path:
        """Where the pages of a listing of ``kind`` for ``date`` wait until the listing is complete."""
        return self.raw_dir / self._kind(kind) / f".{_as_date(date).isoformat()}{_RESUME_SUFFIX}"

    def resume_dirs(self, kind: str = "live") -> list[tuple[dt.date, Path]]:
        """(date, folder) of every listing of ``kind`` left incomplete, oldest first."""
        d = self.raw_dir / self._kind(kind)
        if not d.is_dir():
            return []
        out = []
        for f in d.glob(f".*{_RESUME_SUFFIX}"):
            with contextlib.suppress(RawStoreError):
                out.append((_as_date(f.name[1:-len(_RESUME_SUFFIX)]), f))
        return sorted(out)

    # --- reading -----------------------------------------------------------------------------------
    def _existing(self, kind: str, date: dt.date | str) -> Path:
        p = self.path(kind, date)
        if not p.is_file():
            have = ", ".join(d.isoformat() for d in self.snapshot_dates(kind)) or "none"
            raise RawStoreError(f"{p}: no raw {kind} snapshot for {_as_date(date)} (present: {have}); "
                                "run `python -m analysis pull` first")
        return p

    def read(self, kind: str, date: dt.date | str, columns: list[str] | None = None) -> pa.Table:
        """Read one raw file (all or some columns), checked against RAW_SCHEMA.

        A column of :data:`analysis.schema.LATER_COLUMNS` that the file predates is returned as nulls.
        """
        p = self._existing(kind, date)
        try:
            schema = pq.read_schema(p)
        except (pa.ArrowInvalid, OSError) as e:
            raise RawStoreError(f"{p}: unreadable raw file ({e}); run `python -m analysis pull --verify`") from None
        if thin_rule(schema) is not None:
            return self._read_thin(p, columns, schema)
        try:
            present = schema.names
            want = list(RAW_SCHEMA.names) if columns is None else list(columns)
            table = pq.read_table(p, columns=[c for c in want if c in present or c not in LATER_COLUMNS],
                                  page_checksum_verification=True)
        except (pa.ArrowInvalid, OSError) as e:
            raise RawStoreError(f"{p}: unreadable raw file ({e}); run `python -m analysis pull --verify`") from None
        check_raw_schema(table.schema, str(p), columns, written=True)
        return _with_later_columns(table, want)

    def _read_thin(self, p: Path, columns: list[str] | None, schema: pa.Schema) -> pa.Table:
        """A thin snapshot (file ``p`` with ``schema``) as RAW_SCHEMA columns: the metadata of the rows its parts hold,
        nulls for the others."""
        want = list(RAW_SCHEMA.names) if columns is None else list(columns)
        check_raw_schema(RAW_SCHEMA, str(p), want)
        try:
            weekly = pq.read_table(p, columns=[c for c in want if c in WEEKLY_COLUMNS] or ["id"],
                                   page_checksum_verification=True)
        except (pa.ArrowInvalid, OSError) as e:
            raise RawStoreError(f"{p}: unreadable raw file ({e}); run `python -m analysis pull --verify`") from None
        _check_exact(schema, WEEKLY_SCHEMA, str(p))
        meta_cols = [c for c in want if c not in WEEKLY_COLUMNS]
        n = weekly.num_rows
        filled: dict[str, pa.Array] = {}
        if meta_cols:
            thin = thin_snapshot(p)
            got = thin.read_rows(thin.stored, meta_cols) if thin is not None else None
            if got is None or not got.num_rows:
                filled = {c: pa.nulls(n, RAW_SCHEMA.field(c).type) for c in meta_cols}
            else:
                slot = np.full(n, -1, dtype=np.int64)      # row -> its place among the stored rows (-1: none)
                slot[thin.stored] = np.arange(thin.stored.size)
                take = pa.array(slot, mask=slot < 0)
                filled = {c: got[c].combine_chunks().take(take) for c in meta_cols}
        return pa.Table.from_arrays([weekly[c] if c in WEEKLY_COLUMNS else filled[c] for c in want],
                                    schema=pa.schema([RAW_SCHEMA.field(c) for c in want]))

    def iter_batches(self, kind: str, date: dt.date | str, columns: list[str] | None = None,
                     batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
        """Yield record batches of one raw file, checked against RAW_SCHEMA (later columns it predates: nulls)."""
        p = self._existing(kind, date)
        schema = pq.read_schema(p)
        if thin_rule(schema) is not None:
            yield from self._read_thin(p, columns, schema).to_batches(max_chunksize=batch_size)
            return
        pf = pq.ParquetFile(p)
        check_raw_schema(pf.schema_arrow, str(p), columns, written=True)
        want = list(RAW_SCHEMA.names) if columns is None else list(columns)
        read = [c for c in want if c in pf.schema_arrow.names]
        for batch in pf.iter_batches(batch_size=batch_size, columns=read):
            if read == want:
                yield batch
            else:
                yield pa.RecordBatch.from_arrays(
                    [batch.column(c) if c in read else pa.nulls(batch.num_rows, RAW_SCHEMA.field(c).type)
                     for c in want], names=want)

    # --- manifest ----------------------------------------------------------------------------------
    def _read_manifest(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Entries and problems (malformed lines) of the manifest."""
        if not self.manifest_path.is_file():
            return [], []
        raw = self.manifest_path.read_bytes()
        lines = raw.split(b"\n")
        torn = not raw.endswith(b"\n") and raw != b""
        entries, problems = [], []
        for i, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            last = i == len(lines)
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
            except ValueError as e:
                kind = ("torn last line (a write was interrupted; the next pull drops the fragment and records "
                        "the entry kept pending beside its file)") if (last and torn) else f"malformed line ({e})"
                problems.append(f"{self.manifest_path}: line {i}: {kind}")
                continue
            entries.append(obj)
        return entries, problems

    def manifest_entries(self) -> list[dict[str, Any]]:
        """Every complete manifest entry, in the order written (malformed lines are skipped; see verify)."""
        return self._read_manifest()[0]

    def entry(self, kind: str, date: dt.date | str) -> dict[str, Any] | None:
        """The manifest entry of the raw file the study uses for ``kind`` and ``date`` (its newest version), or None."""
        found = self.entries(kind, date)
        return found[-1] if found else None

    def entries(self, kind: str, date: dt.date | str) -> list[dict[str, Any]]:
        """Every manifest entry of ``kind`` and ``date`` (every version, re-pulls included), in the order written."""
        key = (self._kind(kind), _as_date(date).isoformat())
        return [e for e in self.manifest_entries() if (e.get("kind"), e.get("date")) == key]

    def _append_manifest(self, entry: Mapping[str, Any]) -> None:
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        if self.manifest_path.is_file() and self.manifest_path.stat().st_size:
            with open(self.manifest_path, "r+b") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":  # a torn last line left by an interrupted append (a kill, a full disk)
                    f.seek(0)
                    data = f.read()
                    keep = data.rfind(b"\n") + 1
                    try:
                        whole = isinstance(json.loads(data[keep:]), dict)
                    except ValueError:
                        whole = False
                    if whole:  # a complete entry that only lacks its newline: kept
                        line = "\n" + line
                    else:  # a fragment: its entry is still pending beside its file and is appended whole
                        f.truncate(keep)
                        f.flush()
                        os.fsync(f.fileno())
        with open(self.manifest_path, "ab") as f:
            f.write(line.encode())
            f.flush()
            os.fsync(f.fileno())

    def is_simulated(self) -> bool:
        """True if the store has entries and every one of them comes from a simulated Hub."""
        entries = self.manifest_entries()
        return bool(entries) and all(e.get("simulated") is True for e in entries)

    # --- writing -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def open_writer(self, kind: str, date: dt.date | str, meta: Mapping[str, Any],
                    version: int = 1, *, part: int | None = None,
                    thin: Mapping[str, Any] | None = None) -> Iterator[RawWriter]:
        """Stream a raw file; committed atomically (with its manifest entry) only if the block succeeds.

        Parameters
        ----------
        kind, date
            Which snapshot.
        meta : mapping
            Provenance recorded in the manifest entry.
        version : int
            1 for a snapshot's first file; N for the file that replaces version N-1 in the study (a changed file on
            the Hub), written beside it. For ``kind="metadata"``: the version of the snapshot the rows belong to.
        part : int, optional
            ``kind="metadata"`` only: the part number (1, 2, ...).
        thin : mapping, optional
            The thin-read rule of a thin snapshot (``metadata_every``, ``epoch``): the file holds the weekly columns
            only (:data:`analysis.schema.WEEKLY_SCHEMA`) and records the rule in its schema.

        Raises
        ------
        RawStoreError
            The file already exists (before or at commit time), or a batch does not fit RAW_SCHEMA.
        RawStoreFullError
            The disk is full; the partial file was removed.
        """
        date = _as_date(date)
        final = self.metadata_path(date, version, part or 1) if kind == "metadata" else \
            self.version_path(kind, date, version)
        if final.exists():
            raise RawStoreError(f"{final}: already exists; raw files are immutable and are never overwritten")
        final.parent.mkdir(parents=True, exist_ok=True)
        w = RawWriter(self, kind, date, meta, version, part=part, thin=thin)
        try:
            yield w
        except BaseException:
            w._abort()
            raise
        try:
            w._commit()
        except BaseException:
            w._abort()
            raise

    def write(self, kind: str, date: dt.date | str, table: pa.Table, meta: Mapping[str, Any],
              version: int = 1) -> dict[str, Any]:
        """Write one raw file atomically and append its manifest entry; returns the entry.

        Raises
        ------
        RawStoreError
            The file exists already (never overwritten) or the table does not fit RAW_SCHEMA.
        """
        with self.open_writer(kind, date, meta, version) as w:
            w.write(table)
        assert w.entry is not None
        return w.entry

    # --- maintenance -------------------------------------------------------------------------------
    def partial_files(self) -> list[Path]:
        """Temporary files left by interrupted writes."""
        return sorted(p for k in KINDS if (self.raw_dir / k).is_dir()
                      for p in (self.raw_dir / k).glob(f".*{_PARTIAL_SUFFIX}"))

    def cleanup_partials(self) -> list[Path]:
        """Delete temporary files of interrupted writes; call it only while holding :meth:`lock`."""
        removed = self.partial_files()
        for p in removed:
            p.unlink(missing_ok=True)
        return removed

    def pending_files(self) -> list[Path]:
        """Manifest entries written beside their file but not yet appended to the manifest."""
        return sorted(p for k in KINDS if (self.raw_dir / k).is_dir()
                      for p in (self.raw_dir / k).glob(f".*.parquet{_PENDING_SUFFIX}"))

    def recover_pending(self) -> tuple[list[str], list[str]]:
        """Finish commits that were interrupted between the file and its manifest entry.

        Call it only while holding :meth:`lock` (the pull does, before anything else). For each pending entry:
        if its file exists with the SHA-256 the entry records and the manifest has no entry for it, the entry is
        appended; a pending entry whose file never got its final name is dropped (that write did not happen).

        Returns
        -------
        (recorded, problems) : tuple of lists of str
            The files whose entries were recorded, and pending entries that could not be resolved (left in place;
            :meth:`verify` names them too).
        """
        recorded: list[str] = []
        problems: list[str] = []
        known = {e.get("file") for e in self.manifest_entries()}
        for pending in self.pending_files():
            final = pending.with_name(pending.name[1:-len(_PENDING_SUFFIX)])
            try:
                entry = json.loads(pending.read_text(encoding="utf-8"))
                rel = entry["file"]
                digest = entry["sha256"]
            except (ValueError, KeyError, TypeError) as e:
                if not final.exists():  # torn before the data was linked: that write never happened
                    pending.unlink(missing_ok=True)
                else:
                    problems.append(f"{pending}: unreadable pending manifest entry ({e}) for existing {final}")
                continue
            if not final.exists():
                pending.unlink(missing_ok=True)
            elif rel in known:
                pending.unlink(missing_ok=True)
            elif sha256_file(final) != digest:
                problems.append(f"{final}: its pending manifest entry records SHA-256 {digest}, the file has "
                                "another; left as is for you to inspect")
            else:
                self._append_manifest(entry)
                known.add(rel)
                pending.unlink(missing_ok=True)
                recorded.append(rel)
        return recorded, problems

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive lock of the store for one writing process (raises RawStoreError if already held)."""
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        f = open(self.raw_dir / ".lock", "a")
        try:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EACCES):
                    raise RawStoreError(f"{self.raw_dir}: another pull is writing to this raw store; "
                                        "wait for it to finish") from None
                raise
            yield
        finally:
            f.close()

    def is_locked(self) -> bool:
        """True if a pull holds the store's lock now (its partial and pending files are in flight, not leftovers)."""
        p = self.raw_dir / ".lock"
        if not p.exists():
            return False
        with open(p, "a") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EACCES):
                    return True
                raise
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return False

    def notes(self) -> list[str]:
        """What :meth:`verify` saw that is not a problem: files of a pull in flight, listings left to resume."""
        out = []
        if self.is_locked():
            out.append(f"{self.raw_dir}: a pull is running now (it holds the store's lock); the files it is writing "
                       "are in flight, not leftovers")
            for p in self.partial_files() + self.pending_files():
                out.append(f"{p}: being written by the pull running now (not checked)")
        for d, folder in self.resume_dirs("live"):
            pages = len(list(folder.glob("page-*.parquet")))
            out.append(f"{folder}: {pages} page(s) of the live listing of {d}, not yet complete; a pull on {d} resumes "
                       "it, a pull on a later day records it as an incomplete listing")
        return out

    def quality_table(self, kind: str = "archive", dates: Iterable[Any] | None = None):
        """Per-snapshot counts of the rule for implausible rows (:mod:`analysis.quality`), from the manifest; computed
        from the file for entries without them.

        Parameters
        ----------
        kind : {"archive", "live"}
        dates : iterable of dates, optional
            Only these snapshots (default: every one of ``kind``).

        Returns
        -------
        pandas.DataFrame
            One row per snapshot: ``date, file, rows, duplicate_rows, negative, above_ceiling, quarantined, empty``
            and ``named`` (the models named).
        """
        import pandas as pd

        from .quality import SnapshotQuality, clean_snapshot

        store = self
        wanted = None if dates is None else {str(d) for d in dates}
        rows = []
        for d in store.snapshot_dates(kind):
            if wanted is not None and d.isoformat() not in wanted:
                continue
            e = store.entry(kind, d) or {}
            q = e.get("quality")
            if q is None:  # pulled before the rule was recorded: apply it now
                cols = [c for c in ("id", "downloads", "downloadsAllTime")]
                q = clean_snapshot(store.read(kind, d, columns=cols)).quality.as_dict()
            sq = SnapshotQuality.from_dict(q)
            rows.append({"date": d.isoformat(), "file": e.get("file", store.path(kind, d).name), "rows": sq.rows,
                         "duplicate_rows": sq.duplicate_rows, "negative": sum(sq.negative.values()),
                         "above_ceiling": sum(sq.above_ceiling.values()), "quarantined": sq.quarantined_values,
                         "empty": sq.empty, "named": "; ".join(sq.problems())})
        columns = ["date", "file", "rows", "duplicate_rows", "negative", "above_ceiling", "quarantined", "empty", "named"]
        return pd.DataFrame(rows, columns=columns)


    def quality_summary(self, dates: Iterable[Any], kind: str = "archive") -> str:
        """Counts of the rule over the snapshots of ``dates`` (one line each: totals, then each snapshot it changed)."""
        from .quality import ALLTIME_CEILING, DOWNLOADS_CEILING

        q = self.quality_table(kind, dates)
        lines = [f"implausible rows in {len(q)} raw {kind} snapshot(s), kept as served and handled by the rule of "
                 f"analysis.quality when read: {int(q['duplicate_rows'].sum()):,} duplicate row(s) dropped (first row of "
                 f"an id kept), {int(q['quarantined'].sum()):,} count(s) quarantined (negative, or above "
                 f"{DOWNLOADS_CEILING:.0e} / {ALLTIME_CEILING:.0e} all-time), {int(q['empty'].sum())} empty snapshot(s)"]
        lines += [f"  {r.date}: {r.named}" for r in q.itertuples() if r.named]
        return "\n".join(lines)

    def verify(self) -> list[str]:
        """Re-hash every raw file against the manifest; return one message per problem (empty = all good).

        Checks: each file's newest entry matches it (the file exists, its SHA-256, row count and schema);
        each file has one entry, or later entries that say which entry they restore (a deleted file pulled
        again); every file has an entry; no malformed manifest line; no leftover partial file or pending entry.
        While a pull holds the store's lock, its partial and pending files are in flight and not reported
        (:meth:`notes` lists them).
        """
        entries, problems = self._read_manifest()
        # metadata parts lost and fetched again into a later part (``restores_parts`` of that part's entry)
        restored = {(r.get("file"), r.get("sha256")) for e in entries if e.get("kind") == "metadata"
                    for r in (e.get("restores_parts") or []) if isinstance(r, dict)}
        by_file: dict[str, list[dict[str, Any]]] = {}
        for e in entries:
            rel = e.get("file")
            if not rel or "sha256" not in e:
                problems.append(f"{self.manifest_path}: entry {e.get('kind')}/{e.get('date')} lacks 'file' or "
                                "'sha256'")
                continue
            by_file.setdefault(rel, []).append(e)
        for rel, es in by_file.items():
            p = self.raw_dir / rel
            for prev, nxt in zip(es, es[1:]):
                restores = nxt.get("restores")
                if not isinstance(restores, dict) or restores.get("sha256") != prev.get("sha256"):
                    problems.append(f"{p}: {len(es)} manifest entries (expected one, or entries of re-pulls that "
                                    "say which entry they restore)")
                    break
            e = es[-1]
            if not p.is_file() and (rel, e.get("sha256")) in restored:
                continue   # its rows were fetched again into a later part, whose entry says so
            if not p.is_file():
                problems.append(f"{p}: listed in the manifest but missing (the next pull pulls an archive snapshot "
                                "again; a listing of a past day cannot be pulled again)")
                continue
            digest = sha256_file(p)
            if digest != e["sha256"]:
                problems.append(f"{p}: SHA-256 {digest} does not match the manifest ({e['sha256']}); "
                                "the file was changed after it was written. Restore it from a backup of the raw "
                                "store; the pull never replaces it (an archive snapshot can be pulled again into "
                                "a fresh raw store; a listing of a past day cannot)")
                continue
            try:
                meta = pq.read_metadata(p)
                check_written_file(meta.schema.to_arrow_schema(), str(p), str(e.get("kind")))
            except (RawStoreError, pa.ArrowInvalid, OSError) as err:
                problems.append(f"{p}: {err}")
                continue
            if meta.num_rows != e.get("rows"):
                problems.append(f"{p}: {meta.num_rows} rows, the manifest says {e.get('rows')}")
            if e.get("kind") == "metadata":
                of = [x for x in entries if x.get("file") == e.get("for_file")]
                if not of or of[-1].get("sha256") != e.get("for_sha256"):
                    problems.append(f"{p}: holds metadata rows of {e.get('for_file')} with SHA-256 "
                                    f"{str(e.get('for_sha256'))[:12]}, which the manifest does not record (or records "
                                    "with another hash); the catalog does not use it")
        for kind in KINDS:
            for _, _, f in sorted(self._files(kind)):
                rel = f.relative_to(self.raw_dir).as_posix()
                if rel not in by_file:
                    problems.append(f"{f}: no manifest entry (provenance unknown)")
        if not self.is_locked():
            for p in self.partial_files():
                problems.append(f"{p}: partial file of an interrupted write (the next pull removes it)")
            for p in self.pending_files():
                problems.append(f"{p}: manifest entry of an interrupted commit (the next pull records it)")
        return problems
