"""The immutable raw store: one Parquet file per snapshot date, written once, with a manifest.

Layout (under ``raw_dir``, i.e. ``data/raw`` or ``data/demo/raw`` for the demo)::

    archive/<YYYY-MM-DD>.parquet     one weekly archive snapshot, normalised to RAW_SCHEMA
    live/<YYYY-MM-DD>.parquet        one live listing of the Hub, normalised to RAW_SCHEMA
    manifest.jsonl                   append-only, one JSON object per written file

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

Other stages read raw files only through :class:`RawStore` (``read``, ``iter_batches``), which checks the schema.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from .schema import LATER_COLUMNS, RAW_SCHEMA, REQUIRED_COLUMNS

#: Kinds of raw snapshots, one sub-folder each.
KINDS: tuple[str, ...] = ("archive", "live")
_PARTIAL_SUFFIX = ".partial"
_PENDING_SUFFIX = ".pending.json"


class RawStoreError(RuntimeError):
    """A raw-store operation that would break an invariant, or a raw file that fails its checks."""


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
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class RawWriter:
    """Streams one raw file into a temporary file; see :meth:`RawStore.open_writer`."""

    def __init__(self, store: "RawStore", kind: str, date: dt.date, meta: Mapping[str, Any]) -> None:
        self.store, self.kind, self.date, self.meta = store, kind, date, dict(meta)
        self.final = store.path(kind, date)
        self.tmp = self.final.with_name(f".{self.final.name}.{os.getpid()}{_PARTIAL_SUFFIX}")
        self.rows = 0
        self.entry: dict[str, Any] | None = None
        self._writer = pq.ParquetWriter(self.tmp, RAW_SCHEMA, compression="zstd")

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        """Append rows; ``table`` must have exactly RAW_SCHEMA and no nulls in required columns."""
        where = f"{self.kind} {self.date} (rows {self.rows}..)"
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        check_raw_schema(table.schema, where)
        for col in REQUIRED_COLUMNS:
            nulls = table[col].null_count
            if nulls:
                raise RawStoreError(f"{where}: required column {col!r} has {nulls} null values")
        self._writer.write_table(table.cast(RAW_SCHEMA))
        self.rows += table.num_rows

    def _commit(self) -> dict[str, Any]:
        self._writer.close()
        with open(self.tmp, "rb+") as f:
            f.flush()
            os.fsync(f.fileno())
        digest = sha256_file(self.tmp)
        size = self.tmp.stat().st_size
        entry = {**self.meta, "kind": self.kind, "date": self.date.isoformat(),
                 "file": self.final.relative_to(self.store.raw_dir).as_posix(), "rows": self.rows,
                 "file_size": size, "sha256": digest,
                 "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
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
            raise RawStoreError(f"{self.store.manifest_path}: could not record {self.final.name} ({e}); the file "
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

    def path(self, kind: str, date: dt.date | str) -> Path:
        """Where the raw file of ``kind`` for ``date`` lives (it may not exist)."""
        return self.raw_dir / self._kind(kind) / f"{_as_date(date).isoformat()}.parquet"

    def has(self, kind: str, date: dt.date | str) -> bool:
        return self.path(kind, date).is_file()

    @staticmethod
    def pending_path(final: Path) -> Path:
        """Where the manifest entry of ``final`` waits until it is appended to the manifest."""
        return final.with_name(f".{final.name}{_PENDING_SUFFIX}")

    def snapshot_dates(self, kind: str = "archive") -> list[dt.date]:
        """Sorted dates of the raw files of ``kind`` present in the store."""
        d = self.raw_dir / self._kind(kind)
        if not d.is_dir():
            return []
        out = []
        for f in d.glob("*.parquet"):
            with contextlib.suppress(RawStoreError):
                out.append(_as_date(f.stem))
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
            present = pq.read_schema(p).names
            want = list(RAW_SCHEMA.names) if columns is None else list(columns)
            table = pq.read_table(p, columns=[c for c in want if c in present or c not in LATER_COLUMNS])
        except (pa.ArrowInvalid, OSError) as e:
            raise RawStoreError(f"{p}: unreadable raw file ({e}); run `python -m analysis pull --verify`") from None
        check_raw_schema(table.schema, str(p), columns, written=True)
        return _with_later_columns(table, want)

    def iter_batches(self, kind: str, date: dt.date | str, columns: list[str] | None = None,
                     batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
        """Yield record batches of one raw file, checked against RAW_SCHEMA (later columns it predates: nulls)."""
        p = self._existing(kind, date)
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
                kind = "torn last line (a write was interrupted)" if (last and torn) else f"malformed line ({e})"
                problems.append(f"{self.manifest_path}: line {i}: {kind}")
                continue
            entries.append(obj)
        return entries, problems

    def manifest_entries(self) -> list[dict[str, Any]]:
        """Every complete manifest entry, in the order written (malformed lines are skipped; see verify)."""
        return self._read_manifest()[0]

    def entry(self, kind: str, date: dt.date | str) -> dict[str, Any] | None:
        """The manifest entry of one raw file, or None."""
        key = (self._kind(kind), _as_date(date).isoformat())
        found = [e for e in self.manifest_entries() if (e.get("kind"), e.get("date")) == key]
        return found[-1] if found else None

    def _append_manifest(self, entry: Mapping[str, Any]) -> None:
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        with open(self.manifest_path, "ab") as f:
            if f.tell() > 0:
                with open(self.manifest_path, "rb") as r:
                    r.seek(-1, os.SEEK_END)
                    if r.read(1) != b"\n":  # isolate a torn line left by an interrupted append
                        line = "\n" + line
            f.write(line.encode())
            f.flush()
            os.fsync(f.fileno())

    def is_simulated(self) -> bool:
        """True if the store has entries and every one of them comes from a simulated Hub."""
        entries = self.manifest_entries()
        return bool(entries) and all(e.get("simulated") is True for e in entries)

    # --- writing -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def open_writer(self, kind: str, date: dt.date | str, meta: Mapping[str, Any]) -> Iterator[RawWriter]:
        """Stream a raw file; committed atomically (with its manifest entry) only if the block succeeds.

        Raises
        ------
        RawStoreError
            The file already exists (before or at commit time), or a batch does not fit RAW_SCHEMA.
        """
        date = _as_date(date)
        final = self.path(kind, date)
        if final.exists():
            raise RawStoreError(f"{final}: already exists; raw files are immutable and are never overwritten")
        final.parent.mkdir(parents=True, exist_ok=True)
        w = RawWriter(self, kind, date, meta)
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

    def write(self, kind: str, date: dt.date | str, table: pa.Table, meta: Mapping[str, Any]) -> dict[str, Any]:
        """Write one raw file atomically and append its manifest entry; returns the entry.

        Raises
        ------
        RawStoreError
            The file exists already (never overwritten) or the table does not fit RAW_SCHEMA.
        """
        with self.open_writer(kind, date, meta) as w:
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

    def verify(self) -> list[str]:
        """Re-hash every raw file against the manifest; return one message per problem (empty = all good).

        Checks: each entry's file exists, its SHA-256 and row count match, its schema is RAW_SCHEMA; each file
        has exactly one entry; no malformed manifest line; no leftover partial file.
        """
        entries, problems = self._read_manifest()
        seen: dict[str, int] = {}
        for e in entries:
            rel = e.get("file")
            if not rel or "sha256" not in e:
                problems.append(f"{self.manifest_path}: entry {e.get('kind')}/{e.get('date')} lacks 'file' or "
                                "'sha256'")
                continue
            seen[rel] = seen.get(rel, 0) + 1
            p = self.raw_dir / rel
            if not p.is_file():
                problems.append(f"{p}: listed in the manifest but missing")
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
                check_raw_schema(meta.schema.to_arrow_schema(), str(p), written=True)
            except (RawStoreError, pa.ArrowInvalid, OSError) as err:
                problems.append(f"{p}: {err}")
                continue
            if meta.num_rows != e.get("rows"):
                problems.append(f"{p}: {meta.num_rows} rows, the manifest says {e.get('rows')}")
        for rel, n in seen.items():
            if n > 1:
                problems.append(f"{self.raw_dir / rel}: {n} manifest entries (expected one)")
        for kind in KINDS:
            for d in self.snapshot_dates(kind):
                rel = self.path(kind, d).relative_to(self.raw_dir).as_posix()
                if rel not in seen:
                    problems.append(f"{self.raw_dir / rel}: no manifest entry (provenance unknown)")
        for p in self.partial_files():
            problems.append(f"{p}: partial file of an interrupted write (the next pull removes it)")
        for p in self.pending_files():
            problems.append(f"{p}: manifest entry of an interrupted commit (the next pull records it)")
        return problems
