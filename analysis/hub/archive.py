"""The weekly snapshot archive on the Hub: list snapshot dates, read one snapshot column-projected, normalise.

The archive (``hfmlsoc/hub_weekly_snapshots`` by default) holds ``models/<YYYY-MM-DD>/models.parquet``, about
1.5 GB a week. Only the raw schema's columns are read (and, for ``params_total``, the ``total`` leaves of the
``safetensors`` and ``gguf`` structs): pyarrow reads the Parquet footer, then only the column chunks it needs, through
range requests made by :class:`ProjectedHfFile` (an ``HfFileSystem`` file whose range
fetches go through :class:`analysis.hub.RetryPolicy` and are counted). Types that drift between weeks
(``createdAt`` as a string with or without a UTC offset, or finer than milliseconds; narrower integers, large
lists, dictionary strings, reordered struct fields) are normalised to :data:`analysis.schema.RAW_SCHEMA`, each
conversion recorded in the snapshot's ``schema_drift`` notes; a missing optional column becomes null; a missing
required column, an unconvertible column or a corrupt file raises an error naming the snapshot, the column and
(for corrupt data) the row group, and the snapshot is skipped with nothing written.

Every request made to read a snapshot goes through the project's :class:`analysis.hub.RetryPolicy`: the file's
revision check that ``HfFileSystem`` makes when the file is opened, and each range read. The tree listing of
:func:`list_snapshots` is paginated by huggingface_hub, which also retries each page itself first
(:data:`analysis.hub.HF_CLIENT_RETRIES`).

Snapshot paths are matched whole (``models/<YYYY-MM-DD>/models.parquet`` and nothing more: a trailing newline or
suffix does not match); a date listed twice, and paths that look like snapshots without matching, are reported.
Where a snapshot file carries Parquet page checksums (CRC), every page read is verified. A row group that fails its
checksum or does not decode is read again once (a byte damaged in transit); one that fails twice makes the
snapshot unreadable (nothing is written). Without page checksums a damaged byte inside a value cannot be seen (over
HTTPS, TLS makes that rare).

Simulated or real is read from the data: a simulated Hub's archive repository holds :data:`SIMULATED_MARKER` at its
root (written by :mod:`analysis.simulate`); :func:`list_snapshots` reads it (``ArchiveListing.marker``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..schema import BASE_MODELS_TYPE, DERIVED_COLUMNS, RAW_SCHEMA, REQUIRED_COLUMNS
from ..simulate.hub import SIMULATED_MARKER
from . import (IncompleteReadError, PullError, RetryPolicy, SnapshotSchemaError, SnapshotUnreadableError,
               default_endpoint, public_endpoint)

#: Name of the snapshot file inside each date folder of the archive.
ARCHIVE_FILE = "models.parquet"
#: A snapshot's path in the archive, matched whole (``fullmatch``: no trailing newline, no suffix).
_DATE_PATH = re.compile(r"models/(\d{4}-\d{2}-\d{2})/" + re.escape(ARCHIVE_FILE))
#: Paths that look like a snapshot's (reported when they do not match :data:`_DATE_PATH` whole).
_LOOKALIKE = re.compile(r"models/[^/]*\d{4}-\d{2}-\d{2}[^/]*/[^/]*" + re.escape(ARCHIVE_FILE))


@dataclass(frozen=True)
class ArchiveFile:
    """One snapshot file of the archive."""

    date: dt.date
    path_in_repo: str
    size: int


@dataclass(frozen=True)
class ArchiveListing:
    """The snapshot files of the archive at one commit.

    Attributes
    ----------
    repo_id, revision : str
        Dataset repository and the revision asked for (branch, tag or sha).
    commit : str
        The commit sha the revision resolved to; every file is read at this commit.
    files : tuple of ArchiveFile
        Sorted by date, one per date.
    duplicates : tuple of str
        Dates listed more than once, each with its entries (``"2025-01-08: models/... (123 bytes), ..."``).
        Identical entries are kept once; a date whose entries differ is left out of ``files``.
    ignored : tuple of str
        Paths that look like snapshot files but do not match the snapshot path whole (e.g. a trailing newline);
        never read.
    marker : dict or None
        The content of :data:`SIMULATED_MARKER` when the repository holds it (a simulated Hub), else None.
    conflicts : tuple of datetime.date
        Dates listed more than once with different files (left out of ``files``: which one is the snapshot
        cannot be told).
    """

    repo_id: str
    revision: str
    commit: str
    files: tuple[ArchiveFile, ...]
    duplicates: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    marker: dict | None = None
    conflicts: tuple[dt.date, ...] = ()

    @property
    def simulated(self) -> bool:
        """True if the repository says it is a simulated Hub's (:data:`SIMULATED_MARKER`)."""
        return self.marker is not None

    @property
    def dates(self) -> list[dt.date]:
        return [f.date for f in self.files]

    def file(self, date: dt.date) -> ArchiveFile:
        for f in self.files:
            if f.date == date:
                return f
        raise KeyError(f"{self.repo_id}@{self.commit[:10]}: no snapshot for {date}")


def list_snapshots(repo_id: str, revision: str = "main", *, endpoint: str | None = None,
                   retry: RetryPolicy | None = None) -> ArchiveListing:
    """Resolve ``revision`` to a commit and list the archive's snapshot files at that commit.

    Parameters
    ----------
    repo_id : str
        Dataset repository of the archive.
    revision : str
        Branch, tag or commit sha.
    endpoint : str, optional
        Hub endpoint; default huggingface_hub's configured one.
    retry : RetryPolicy, optional
        Retries the dataset info request, and the whole tree listing once huggingface_hub's own retries of a
        page (:data:`analysis.hub.HF_CLIENT_RETRIES`, not governed by this policy) are exhausted.

    Returns
    -------
    ArchiveListing
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    retry = retry or RetryPolicy()
    ep = default_endpoint(endpoint)
    api = HfApi(endpoint=ep)
    try:
        commit = retry.call(lambda: api.dataset_info(repo_id, revision=revision).sha,
                            f"dataset {repo_id}@{revision}")
    except RevisionNotFoundError:
        raise PullError(f"archive revision {revision!r} does not exist in dataset {repo_id} at "
                        f"{public_endpoint(ep)}: check archive.revision in config/study.yaml (a branch, tag or "
                        "commit sha of that dataset)") from None
    except GatedRepoError:
        raise PullError(f"dataset {repo_id} at {public_endpoint(ep)} is gated: accept its terms on the Hub and set "
                        "HF_TOKEN (or `hf auth login`)") from None
    except RepositoryNotFoundError:
        raise PullError(f"dataset {repo_id} not found at {public_endpoint(ep)} (or not accessible with this token): "
                        "check archive.repo_id in config/study.yaml") from None
    if not commit:
        raise SnapshotUnreadableError(f"dataset {repo_id}@{revision}: the Hub returned no commit sha")
    tree = retry.call(lambda: list(api.list_repo_tree(repo_id, "models", recursive=True, repo_type="dataset",
                                                      revision=commit)),
                      f"dataset {repo_id}@{commit[:10]} tree models/")
    by_date: dict[dt.date, list[ArchiveFile]] = {}
    listed: dict[dt.date, list[str]] = {}  # every entry of each date, as listed
    ignored: list[str] = []
    for entry in tree:
        path = entry.path
        m = _DATE_PATH.fullmatch(path)
        if m is None:
            if _LOOKALIKE.search(path) and getattr(entry, "size", None) is not None:
                ignored.append(repr(path))
            continue
        if getattr(entry, "size", None) is None:
            continue
        try:
            d = dt.date.fromisoformat(m.group(1))
        except ValueError:
            ignored.append(repr(path))  # a folder name that looks like a date but is not one
            continue
        f = ArchiveFile(d, path, int(entry.size))
        listed.setdefault(d, []).append(f"{path} ({entry.size} bytes)")
        if f not in by_date.setdefault(d, []):
            by_date[d].append(f)
    files, duplicates, conflicts = [], [], []
    for d in sorted(by_date):
        entries = listed[d]
        if len(entries) > 1:
            verdict = "the same file listed twice, read once" if len(by_date[d]) == 1 else \
                "entries differ: the date is skipped"
            duplicates.append(f"{d}: {len(entries)} entries ({', '.join(entries)}); {verdict}")
        if len(by_date[d]) == 1:
            files.append(by_date[d][0])
        else:
            conflicts.append(d)
    marker = read_marker(repo_id, commit, endpoint=ep, retry=retry)
    return ArchiveListing(repo_id, revision, commit, tuple(files), tuple(duplicates), tuple(ignored), marker,
                          tuple(conflicts))


def read_marker(repo_id: str, commit: str, *, endpoint: str | None = None,
                retry: RetryPolicy | None = None) -> dict | None:
    """The simulated-Hub marker of a dataset repository at ``commit`` (:data:`SIMULATED_MARKER`), or None.

    Raises
    ------
    PullError
        The repository holds a file by that name that is not a marker (not JSON, or not ``"simulated": true``):
        what the endpoint serves cannot be classified, so nothing is pulled.
    """
    from huggingface_hub import hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    retry = retry or RetryPolicy()
    ep = default_endpoint(endpoint)
    url = hf_hub_url(repo_id, SIMULATED_MARKER, repo_type="dataset", revision=commit, endpoint=ep)

    def once() -> bytes | None:
        r = get_session().get(url, headers=build_hf_headers())
        if r.status_code == 404:
            return None
        hf_raise_for_status(r)
        return r.content

    try:
        body = retry.call(once, f"dataset {repo_id}@{commit[:10]} {SIMULATED_MARKER}")
    except (EntryNotFoundError,):
        return None
    except HfHubHTTPError as e:
        if getattr(getattr(e, "response", None), "status_code", None) == 404:
            return None
        raise
    if body is None:
        return None
    try:
        marker = json.loads(body)
    except ValueError:
        marker = None
    if not isinstance(marker, dict) or marker.get("simulated") is not True:
        raise PullError(f"dataset {repo_id}@{commit[:10]} at {public_endpoint(ep)} holds {SIMULATED_MARKER} but it "
                        "is not a simulated-Hub marker (a JSON object with \"simulated\": true); the data cannot be "
                        "classified as simulated or real, so nothing is pulled")
    return marker


def select_dates(dates: list[dt.date], start: dt.date | None, end: dt.date | None,
                 frequency: str = "weekly") -> list[dt.date]:
    """Snapshot dates within ``[start, end]``, one per period of the study's grid (:mod:`analysis.timegrid`)."""
    from ..timegrid import select_snapshots

    return select_snapshots(dates, start=start, end=end, frequency=frequency)


# --- column-projected range reads ----------------------------------------------------------------------
def _projected_file_class() -> type:
    from huggingface_hub import hf_hub_url
    from huggingface_hub.hf_file_system import HfFileSystemFile
    from huggingface_hub.utils import get_session, hf_raise_for_status

    class ProjectedHfFile(HfFileSystemFile):
        """An ``HfFileSystem`` file for column projection: no read-ahead, retried and counted range fetches.

        ``fetch_errors`` keeps every error a range fetch raised to its caller (after retries), so that a reader
        can tell a transport failure from corrupt bytes when pyarrow passes the error on.
        """

        def __init__(self, fs: Any, path: str, *, size: int, retry: RetryPolicy,
                     on_bytes: Callable[[int], None] | None = None,
                     on_retry: Callable[[int, float, BaseException], None] | None = None, **kwargs: Any) -> None:
            self.retry, self.on_bytes, self.on_retry = retry, on_bytes, on_retry
            self.bytes_read = 0
            self.requests = 0
            self.fetch_errors: list[BaseException] = []
            # resolving the path sends GET /api/{type}s/{repo}/revision/{rev}: the caller retries this constructor
            super().__init__(fs, path, mode="rb", cache_type="none", size=size, **kwargs)
            rp = self.resolved_path  # the file's URL, built locally (fs.url() would also list the path's tree)
            self._url = hf_hub_url(rp.repo_id, rp.path_in_repo, repo_type=rp.repo_type, revision=rp.revision,
                                   endpoint=fs.endpoint)

        def _fetch_range(self, start: int, end: int) -> bytes:
            if end <= start:
                return b""
            headers = {"range": f"bytes={start}-{end - 1}", **self.fs._api._build_hf_headers()}

            def once() -> bytes:
                # no timeout of its own: inside a pull, analysis.hub.hub_client applies pull.read_timeout
                r = get_session().get(self._url, headers=headers)
                hf_raise_for_status(r)
                body = r.content
                self.requests += 1
                self.bytes_read += len(body)
                if self.on_bytes is not None:
                    self.on_bytes(len(body))
                if r.status_code == 200:  # a server that ignores Range sends the whole file
                    body = body[start:end]
                if len(body) != end - start:
                    raise IncompleteReadError(f"{self.path}: asked for bytes {start}-{end - 1}, got {len(body)} bytes")
                return body

            try:
                return self.retry.call(once, f"{self.path} bytes {start}-{end - 1}", self.on_retry)
            except BaseException as e:
                self.fetch_errors.append(e)
                raise

    return ProjectedHfFile


def open_projected(repo_id: str, commit: str, path_in_repo: str, size: int, *, endpoint: str | None = None,
                   retry: RetryPolicy | None = None, on_bytes: Callable[[int], None] | None = None,
                   on_retry: Callable[[int, float, BaseException], None] | None = None) -> Any:
    """Open one archive file for range reads (a seekable, read-only binary file object).

    Opening sends one request, ``GET /api/datasets/{repo_id}/revision/{commit}`` (``HfFileSystem`` checks that
    the repository and commit exist); it is retried under ``retry`` like every range read.
    Its ``bytes_read`` and ``requests`` attributes count the range reads fetched from the server.

    Raises
    ------
    RetriesExhaustedError
        The revision check kept failing (429, 5xx, dropped connections) through every retry.
    FileNotFoundError
        The repository or the commit does not exist (not retried).
    """
    from huggingface_hub import HfFileSystem

    retry = retry or RetryPolicy()
    fs = HfFileSystem(endpoint=default_endpoint(endpoint), skip_instance_cache=True)
    cls = _projected_file_class()
    return retry.call(lambda: cls(fs, f"datasets/{repo_id}/{path_in_repo}", revision=commit, size=size,
                                  retry=retry, on_bytes=on_bytes, on_retry=on_retry),
                      f"dataset {repo_id}@{commit[:10]} {path_in_repo}: revision check on opening the file",
                      on_retry)


# --- normalisation ---------------------------------------------------------------------------------
def _null(type_: pa.DataType, n: int) -> pa.Array:
    return pa.nulls(n, type_)


def _base_models_from_py(values: list[Any], where: str) -> pa.Array:
    out = []
    for i, v in enumerate(values):
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except ValueError:
                raise SnapshotSchemaError(f"{where}: column 'baseModels' row {i}: not JSON ({v[:60]!r})") from None
        if v is None:
            out.append(None)
            continue
        if not isinstance(v, dict):
            raise SnapshotSchemaError(f"{where}: column 'baseModels' row {i}: expected an object with relation and "
                                      f"models, got {type(v).__name__}")
        models = v.get("models")
        if isinstance(models, list):
            models = [{"id": m.get("id") if isinstance(m, dict) else str(m)} for m in models]
        out.append({"relation": v.get("relation"), "models": models})
    return pa.array(out, BASE_MODELS_TYPE)


def _json_list(value: str | None, where: str, row: int) -> list[str] | None:
    if value is None:
        return None
    try:
        out = json.loads(value)
    except ValueError:
        out = None
    if not isinstance(out, list):
        raise SnapshotSchemaError(f"{where}: column 'tags' row {row}: expected a JSON list of strings, "
                                  f"got {value[:60]!r}")
    return [str(x) for x in out]


#: ``createdAt`` strings whose time of day ends with a UTC offset (``Z``, ``+02:00``, ``+0200``, ``+02``).
_HAS_OFFSET = r"\d{2}:\d{2}(:\d{2}(\.\d*)?)?([Zz]|[+-]\d{2}(:?\d{2})?)$"
#: A fraction of a second finer than milliseconds (the raw schema's unit).
_SUB_MS = r"(\.\d{3})\d+"


def _count(mask: pa.Array | pa.ChunkedArray) -> int:
    return int(pc.sum(pc.cast(pc.fill_null(mask, False), pa.int64())).as_py() or 0)


def _created_at_from_strings(col: pa.ChunkedArray | pa.Array, want: pa.DataType,
                             drift: list[str]) -> pa.Array | pa.ChunkedArray:
    """ISO 8601 strings to ``want`` (timestamp[ms, UTC]): offset-less values read as UTC, finer ones truncated."""
    drift.append(f"createdAt: {col.type} parsed as {want}")
    col = pc.cast(col, pa.string())
    sub_ms = _count(pc.match_substring_regex(col, _SUB_MS))
    if sub_ms:  # truncating the digits of an ISO string rounds towards the past, like a timestamp floor
        col = pc.replace_substring_regex(col, _SUB_MS, r"\1")
        drift.append(f"createdAt: {sub_ms} value(s) finer than milliseconds truncated to ms")
    has_offset = pc.match_substring_regex(col, _HAS_OFFSET)
    naive = _count(pc.invert(has_offset))
    if not naive:
        return pc.cast(col, want)
    drift.append(f"createdAt: {naive} value(s) without a UTC offset read as UTC")
    # strings with and without an offset parse to different types; parse each subset with the other one nulled
    aware = pc.cast(pc.if_else(has_offset, col, pa.scalar(None, pa.string())), want)
    local = pc.cast(pc.if_else(has_offset, pa.scalar(None, pa.string()), col), pa.timestamp(want.unit))
    return pc.if_else(has_offset, aware, pc.assume_timezone(local, "UTC"))


def _created_at_from_timestamps(col: pa.ChunkedArray | pa.Array, want: pa.DataType,
                                drift: list[str]) -> pa.Array | pa.ChunkedArray:
    """Timestamps of any unit or zone to ``want``: zone-less values read as UTC, finer ones truncated."""
    got = col.type
    drift.append(f"createdAt: {got} cast to {want}")
    if got.tz is None:
        col = pc.assume_timezone(col, "UTC")
        drift.append(f"createdAt: {got} without a time zone read as UTC")
    if got.unit in ("us", "ns"):
        floored = pc.floor_temporal(col, unit="millisecond")
        finer = _count(pc.not_equal(col, floored))
        if finer:
            drift.append(f"createdAt: {finer} value(s) finer than milliseconds truncated to ms")
            col = floored
    return pc.cast(col, want)


def _normalise_column(name: str, col: pa.ChunkedArray, where: str, drift: list[str]) -> pa.Array | pa.ChunkedArray:
    want = RAW_SCHEMA.field(name).type
    got = col.type
    if got.equals(want):
        return col
    if pa.types.is_dictionary(got):
        col = col.cast(got.value_type)
        got = col.type
        if got.equals(want):
            return col
    try:
        if name == "createdAt":
            if pa.types.is_string(got) or pa.types.is_large_string(got):
                return _created_at_from_strings(col, want, drift)
            if pa.types.is_timestamp(got):
                return _created_at_from_timestamps(col, want, drift)
            if pa.types.is_date(got):
                drift.append(f"createdAt: {got} cast to {want}")
                return pc.cast(col, want)
            raise SnapshotSchemaError(f"{where}: column 'createdAt' has type {got}; expected a timestamp or an "
                                      "ISO 8601 string")
        if name == "baseModels":
            try:
                out = col.cast(want)
                drift.append(f"baseModels: {got} cast to {want}")
                return out
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                drift.append(f"baseModels: {got} rebuilt as {want}")
                return _base_models_from_py(col.to_pylist(), where)
        if name == "tags" and (pa.types.is_string(got) or pa.types.is_large_string(got)):
            drift.append(f"tags: {got} (JSON lists) parsed as {want}")
            return pa.array([_json_list(v, where, i) for i, v in enumerate(col.to_pylist())], want)
        out = col.cast(want)  # safe cast: a lossy conversion raises ArrowInvalid
        drift.append(f"{name}: {got} cast to {want}")
        return out
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
        raise SnapshotSchemaError(f"{where}: column {name!r} has type {got}, which cannot be converted to {want} "
                                  f"({str(e).splitlines()[0]})") from None


# --- parameter counts (params_total) -------------------------------------------------------------------
# The archive has no parameter-count column of its own: ``safetensors`` (a struct ``{parameters: {dtype: count},
# total}``, the sum over the repo's safetensors files) and ``gguf`` (a struct with ``total``, ``architecture``,
# ``context_length``, ...) carry it. The pull reads only their ``total`` leaves (a few bytes per row; see
# :func:`projected_columns`) and writes ``params_total``: the safetensors total, else the GGUF total, else null.
# A week where a source is a JSON string instead of a struct is parsed row by row (recorded as drift); a total that
# is not a whole number (a fraction, text, a count beyond int64) becomes null and is counted in the drift notes, so
# notebook 06 can report it. Zero and negative totals are kept as they are (notebook 06 counts them as unparseable).

def _whole_numbers(values: list[Any]) -> tuple[list[int | None], int]:
    """Python values to whole numbers (None where a value is not one) and how many were not."""
    out: list[int | None] = []
    bad = 0
    for v in values:
        if v is None:
            out.append(None)
            continue
        try:
            if isinstance(v, bool):
                raise ValueError
            f = float(v) if not isinstance(v, int) else v
            i = int(f)
            if i != f or not -2**63 <= i < 2**63:
                raise ValueError
            out.append(i)
        except (TypeError, ValueError, OverflowError):
            out.append(None)
            bad += 1
    return out, bad


def _total_of(col: pa.ChunkedArray | pa.Array, source: str, where: str, drift: list[str]) -> pa.Array | None:
    """The ``total`` of one source column (``safetensors`` or ``gguf``) as int64, or None if it has none."""
    got = col.type
    if pa.types.is_string(got) or pa.types.is_large_string(got):
        totals = []
        for v in col.to_pylist():
            try:
                d = json.loads(v) if v is not None else None
            except ValueError:
                d = {"total": "<not JSON>"}
            totals.append(d.get("total") if isinstance(d, dict) else (None if d is None else "<not an object>"))
        drift.append(f"params_total: {source} as {got} (JSON) parsed row by row")
    elif pa.types.is_struct(got) and got.get_field_index("total") >= 0:
        total = pc.struct_field(col, "total")
        if pa.types.is_integer(total.type):
            try:
                return pc.cast(total, pa.int64())
            except pa.ArrowInvalid:  # an unsigned count beyond int64
                pass
        totals = total.to_pylist()
    else:
        drift.append(f"params_total: {source} has type {got} without a total; not used")
        return None
    values, bad = _whole_numbers(totals)
    if bad:
        drift.append(f"params_total: {bad} value(s) of {source}.total not a whole number, written as null")
    return pa.array(values, pa.int64())


def params_total_column(table: pa.Table, where: str, drift: list[str]) -> pa.Array | None:
    """``params_total`` of a snapshot table: the ``safetensors`` total, else the ``gguf`` total.

    Returns None when the table has neither source column (``normalise_table`` then writes nulls and notes it).
    """
    out = None
    for source in DERIVED_COLUMNS["params_total"]:
        if source not in table.column_names:
            continue
        col = table[source]
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        total = _total_of(col, source, where, drift)
        if total is not None:
            out = total if out is None else pc.coalesce(out, total)
    return out


def projected_columns(schema: pa.Schema, want: pa.Schema = RAW_SCHEMA) -> tuple[str, ...]:
    """What to read of a snapshot: the columns of ``want`` (default the raw schema's) it has, and, if ``want`` has
    ``params_total``, the ``total`` leaves of its sources (the whole column only where a week stores it as JSON
    text)."""
    names = schema.names
    cols = [c for c in want.names if c in names]
    if "params_total" in want.names and "params_total" not in names:
        for source in DERIVED_COLUMNS["params_total"]:
            if source not in names:
                continue
            t = schema.field(source).type
            if pa.types.is_struct(t):
                if t.get_field_index("total") >= 0:
                    cols.append(f"{source}.total")
            else:
                cols.append(source)
    return tuple(cols)


def missing_required(names: list[str]) -> list[str]:
    """Required raw columns absent from ``names``."""
    return [c for c in REQUIRED_COLUMNS if c not in names]


def normalise_table(table: pa.Table, where: str, drift: list[str] | None = None,
                    schema: pa.Schema = RAW_SCHEMA) -> pa.Table:
    """Convert a snapshot table (any column order, drifting types, extra columns) to RAW_SCHEMA.

    Parameters
    ----------
    table : pyarrow.Table
    where : str
        Snapshot name for error messages (e.g. ``archive 2025-01-01``).
    drift : list of str, optional
        Receives one note per conversion made (absent columns, casts), for the manifest.
    schema : pyarrow.Schema
        Which of RAW_SCHEMA's columns to produce, in its order (a thin pull's weekly or metadata columns); the
        required columns are checked only when it has them.

    Raises
    ------
    SnapshotSchemaError
        A required column is absent or has nulls, or a column cannot be converted.
    """
    drift = [] if drift is None else drift
    missing = [c for c in missing_required(table.column_names) if c in schema.names]
    if missing:
        raise SnapshotSchemaError(f"{where}: required column {missing[0]!r} is absent "
                                  f"(columns present: {', '.join(table.column_names)}); snapshot skipped")
    arrays = []
    for f in schema:
        if f.name not in table.column_names and f.name in DERIVED_COLUMNS:
            derived = params_total_column(table, where, drift) if f.name == "params_total" else None
            if derived is not None:
                arrays.append(derived)
                continue
        if f.name not in table.column_names:
            note = f"{f.name}: absent, written as null"
            if note not in drift:
                drift.append(note)
            arrays.append(_null(f.type, table.num_rows))
            continue
        col = _normalise_column(f.name, table[f.name], where, drift)
        if not f.nullable and col.null_count:
            raise SnapshotSchemaError(f"{where}: required column {f.name!r} has {col.null_count} null values; "
                                      "snapshot skipped")
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=schema)


_COUNTED_NOTE = re.compile(r"^(\S+): (\d+) (value\(s\) .*)$")


def _dedupe(notes: list[str]) -> list[str]:
    """Notes once each, in first-seen order; counted notes of several row groups are summed into one."""
    out: dict[str, int | None] = {}
    for note in notes:
        m = _COUNTED_NOTE.match(note)
        if m:
            key = f"{m.group(1)}: {{}} {m.group(3)}"
            out[key] = (out.get(key) or 0) + int(m.group(2))
        else:
            out.setdefault(note, None)
    return [k.format(n) if n is not None else k for k, n in out.items()]


def _is_transport_error(error: BaseException, file_obj: Any) -> bool:
    """True if ``error`` (or what caused it) came from fetching bytes, not from decoding them."""
    import httpx2

    fetched = getattr(file_obj, "fetch_errors", ())
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (PullError, httpx2.HTTPError)) or any(e is f for f in fetched):
            return True
        e = e.__cause__ or e.__context__
    return False


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


@dataclass(frozen=True)
class ProjectedSnapshot:
    """An open archive snapshot ready to be read row group by row group.

    Attributes
    ----------
    columns : tuple of str
        Raw-schema columns present in the file and the ``total`` leaves of ``safetensors`` and ``gguf``
        (``safetensors.total``), the only ones read (:func:`projected_columns`).
    num_rows, num_row_groups : int
    """

    where: str
    parquet: pq.ParquetFile
    columns: tuple[str, ...]
    num_rows: int
    num_row_groups: int
    source: Any = None
    rereads: list = field(default_factory=list)  # row groups read again after a checksum or decoding failure
    schema: pa.Schema = RAW_SCHEMA                # the columns produced (normalised to)

    @property
    def row_group_rows(self) -> list[int]:
        """Rows of each row group, in order."""
        md = self.parquet.metadata
        return [md.row_group(g).num_rows for g in range(md.num_row_groups)]

    def _corrupt_column(self, i: int) -> str | None:
        """The first projected column of row group ``i`` that fails to decode on its own (None if none does)."""
        for c in self.columns:
            try:
                self.parquet.read_row_group(i, columns=[c])
            except (pa.ArrowInvalid, OSError) as e:
                if _is_transport_error(e, self.source):
                    raise
                return c
        return None

    def iter_tables(self, drift: list[str], row_groups: list[int] | None = None) -> Iterator[pa.Table]:
        """Yield each row group (or those of ``row_groups``, in that order), projected and normalised to
        :attr:`schema`.

        Raises
        ------
        SnapshotUnreadableError
            A row group does not decode (corrupt page, thrift header or compressed data); the message names
            the row group and, where it can be found, the column. Transport errors propagate unchanged.
        """
        for i in (range(self.num_row_groups) if row_groups is None else row_groups):
            try:
                try:
                    t = self.parquet.read_row_group(i, columns=list(self.columns))
                except (pa.ArrowInvalid, OSError) as e:
                    if _is_transport_error(e, self.source):
                        raise
                    # a page failed its checksum or did not decode: the bytes may have been damaged in transit
                    # (a file damaged on the Hub fails again); fetch them again, once
                    self.rereads.append(f"row group {i}: {_first_line(e)}")
                    t = self.parquet.read_row_group(i, columns=list(self.columns))
            except (pa.ArrowInvalid, OSError) as e:  # pyarrow reports corrupt pages as OSError
                if _is_transport_error(e, self.source):
                    raise
                column = self._corrupt_column(i)
                at = f"row group {i} of {self.num_row_groups}" + (f", column {column!r}," if column else "")
                twice = " (it failed twice: read again after the first failure)"
                raise SnapshotUnreadableError(
                    f"{self.where}: {at} is corrupt ({_first_line(e)}){twice}; snapshot skipped, nothing was "
                    "written for it (the next pull tries it again; if it persists, the archive's file is damaged)"
                ) from e
            yield normalise_table(t, self.where, drift, self.schema)
        drift[:] = _dedupe(drift)


def open_snapshot(file_obj: Any, where: str, schema: pa.Schema = RAW_SCHEMA) -> ProjectedSnapshot:
    """Read the Parquet footer of a snapshot and check its columns before anything is written.

    ``schema`` says which of the raw schema's columns are read (a thin pull's weekly or metadata columns).

    Raises
    ------
    SnapshotUnreadableError
        The file is not readable Parquet (bad magic bytes, a corrupt footer). Transport errors (HTTP errors,
        retries exhausted) propagate unchanged.
    SnapshotSchemaError
        A required column is absent.
    """
    try:
        pf = pq.ParquetFile(file_obj, page_checksum_verification=True)
    except (pa.ArrowInvalid, OSError) as e:  # a corrupt footer is an OSError ("Couldn't deserialize thrift")
        if _is_transport_error(e, file_obj):  # HfHubHTTPError is an OSError too: never called corrupt
            raise
        raise SnapshotUnreadableError(f"{where}: not a readable Parquet file, footer unreadable "
                                      f"({_first_line(e)}); snapshot skipped, nothing was written for it") from None
    names = pf.schema_arrow.names
    missing = missing_required(names)
    if missing:
        raise SnapshotSchemaError(f"{where}: required column {missing[0]!r} is absent (columns present: "
                                  f"{', '.join(names)}); snapshot skipped")
    cols = projected_columns(pf.schema_arrow, schema)
    return ProjectedSnapshot(where, pf, cols, pf.metadata.num_rows, pf.metadata.num_row_groups, file_obj,
                             schema=schema)
