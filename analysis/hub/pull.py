"""The pull stage: archive history and a live listing into the immutable raw store.

:func:`pull_all` is what notebook 01 and ``python -m analysis pull`` run:

1. check the Hub answers (:func:`check_hub_reachable`; never falls back to simulated data);
2. resolve the archive revision to a commit and list its snapshot dates (paths matched whole; a date listed twice
   and lookalike paths are reported), and read whether the endpoint is a simulated Hub **from the data**: the
   archive repository's :data:`~analysis.simulate.hub.SIMULATED_MARKER`, and the tag every simulated model
   carries in the live listing. A simulated Hub's data is never stored in the real raw store, nor real data in the
   demo's (:class:`~analysis.hub.RunKindError`, naming the endpoint and what it saw); any endpoint, loopback mirrors
   included, can serve a real pull. Each manifest entry records ``simulated`` (from the data), the evidence and the
   ``endpoint`` (without credentials);
3. keep the dates in the study window (weekly, or the first of each month) and, for every snapshot already in the
   raw store, compare the Hub's current file (its etag, at the archive's current commit) with the one pulled: a
   changed file is pulled again as a new version beside the old one (``<date>.v2.parquet``; the study uses the
   newest), a file gone from the Hub is reported; a raw file deleted by hand is pulled again (its entry says so);
4. read each missing snapshot column-projected (range requests) and stream it, normalised, into the raw store
   (atomic, never overwritten, manifest entry with the snapshot's implausible rows, see :mod:`analysis.quality`).
   A thin pull (``archive.metadata_every`` >= 1, the default) reads the weekly columns only; then, on the window's
   snapshots in the store, it plans the metadata reads with :func:`analysis.catalog.plan_metadata` (the catalog's
   own rule) and fetches the rows the store lacks, row group by row group, into metadata parts (module
   :mod:`analysis.catalog`, "What the pull fetches"); the full pull (0) reads every raw-schema column;
5. optionally pull today's live listing into ``live/<date>.parquet``, page by page: a listing that fails resumes
   from its last complete page on the next pull the same day; on a later day, what was listed is recorded as an
   incomplete listing (never lost).

A snapshot that fails (after retries) is reported by name in :class:`PullReport` while the others complete. A full
disk or the pull's deadline stops the pull at once, naming what was not tried. A rerun pulls only what is missing.

Every request runs under :func:`analysis.hub.hub_client`: connect and read timeouts, a ``Retry-After`` cap and the
pull's deadline (config section ``pull``). The requests the project sends itself (the reachability check,
repository info, each file's HEAD, the revision check made on opening each file, every range read, every page of
the live listing) are retried by the pull's :class:`~analysis.hub.RetryPolicy`. The archive's tree is requested by
huggingface_hub's ``http_backoff``, which first retries each page itself (:data:`~analysis.hub.HF_CLIENT_RETRIES`
times, waiting 1-8 s or ``Retry-After`` + 1 s); only once it gives up does the RetryPolicy retry the whole tree.

The Hub token is read by huggingface_hub from ``HF_TOKEN`` or the login saved by ``hf auth login``; this module
never handles or records it. Every line the pull logs or reports, every error it raises and every manifest entry
it writes is redacted (:func:`analysis.hub.redact`): credentials in ``HF_ENDPOINT`` (``user:password@``), tokens
in queries or headers, and the token itself never appear.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..catalog import METADATA_EPOCH, CatalogError, plan_metadata
from ..config import StudyConfig, cli_date
from ..paths import Paths
from ..quality import SnapshotQuality
from ..raw import KINDS, RawStore, RawStoreError, RawStoreFullError, is_disk_full
from ..schema import METADATA_COLUMNS, METADATA_SCHEMA, RAW_SCHEMA, WEEKLY_SCHEMA
from ..simulate.hub import SIMULATED_MARKER, SIMULATED_TAG
from . import (RETRY_STATUSES, HubRateLimitedError, HubServerError, HubUnreachableError,
               PullDeadlineError, PullError, PullLimits, RetriesExhaustedError, RetryPolicy, RunKindError,
               SnapshotUnreadableError,
               _retry_after, _status_of, default_endpoint, hub_client, known_secrets, public_endpoint, redact,
               redact_obj)
from .archive import ArchiveListing, list_snapshots, open_projected, open_snapshot, select_dates
from .live import LIVE_BATCH_SIZE, LiveListingStats, LiveQuery, LiveState, iter_live_pages


@dataclass(frozen=True)
class PullFailure:
    """A snapshot that could not be pulled (or checked)."""

    kind: str
    date: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.date}: {self.reason}"


@dataclass(frozen=True)
class PullReport:
    """What a pull did and saw.

    Attributes
    ----------
    pulled : tuple of str
        ``kind/date`` of the raw files written by this run (``kind/date vN`` for a new version).
    already_present : tuple of str
        ``kind/date`` of the selected snapshots already in the raw store, unchanged on the Hub (not downloaded).
    failed : tuple of PullFailure
        Snapshots that failed or were not tried, with the reason; the run's exit status is non-zero if any.
    bytes_read : int
        Body bytes received for archive snapshots (range reads), as counted by the client.
    remote_bytes : int
        Total size on the Hub of the archive files this run tried to pull (pulled or failed: the same files
        ``bytes_read`` counts).
    retries : int
        Requests retried (429, 5xx, dropped connections, truncated pages).
    commit : str or None
        Archive commit the snapshots were read at.
    endpoint : str
        The endpoint, without credentials.
    simulated : bool
        What the data said: True if the endpoint serves a simulated Hub (the archive's marker).
    evidence : str
        What that was read from.
    missing_in_window : tuple of str
        Weekly dates in the window without a snapshot on the Hub (gaps of the archive), for the record.
    changed_upstream : tuple of str
        Snapshots whose file on the Hub differs from the one pulled (another etag), or is gone from the Hub.
    restored : tuple of str
        Raw files listed in the manifest but missing on disk, pulled again (identical or not).
    flagged : tuple of str
        Raw files written by this run with implausible rows (duplicate ids, negative or absurd counts, no rows),
        kept as served; the rule of :mod:`analysis.quality` applies when they are read.
    listing_notes : tuple of str
        What the archive's listing got wrong: dates listed twice, lookalike paths ignored.
    stopped : str
        Why the pull stopped before the end ("" if it did not): a full disk or its deadline.
    cleaned_partials : tuple of str
        Leftover temporary files of an interrupted earlier pull, removed by this run.
    recovered : tuple of str
        Raw files of an earlier pull interrupted between writing the file and its manifest entry, whose entries
        this run recorded (see :meth:`analysis.raw.RawStore.recover_pending`), and incomplete live listings of
        earlier days recorded as such.
    seconds : float
    metadata_pulled : tuple of str
        Thin pulls: the metadata parts written by this run (``metadata/<date> (<rows> rows, part <k>)``).
    metadata_every : int
        The thin-read rule the pull ran under (``archive.metadata_every``; 0 = the full pull).
    """

    pulled: tuple[str, ...] = ()
    already_present: tuple[str, ...] = ()
    failed: tuple[PullFailure, ...] = ()
    bytes_read: int = 0
    remote_bytes: int = 0
    retries: int = 0
    commit: str | None = None
    endpoint: str = ""
    simulated: bool = False
    evidence: str = ""
    missing_in_window: tuple[str, ...] = ()
    changed_upstream: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()
    flagged: tuple[str, ...] = ()
    listing_notes: tuple[str, ...] = ()
    stopped: str = ""
    cleaned_partials: tuple[str, ...] = ()
    recovered: tuple[str, ...] = ()
    seconds: float = 0.0
    metadata_pulled: tuple[str, ...] = ()
    metadata_every: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def bytes_fraction(self) -> float | None:
        """Bytes read / total remote size of the archive files tried (None if none was)."""
        return self.bytes_read / self.remote_bytes if self.remote_bytes else None

    def summary(self) -> str:
        """A few lines for a terminal or a notebook."""
        frac = f" ({self.bytes_fraction:.1%} of {self.remote_bytes:,} bytes)" if self.bytes_fraction is not None else ""
        kind = "SIMULATED DATA" if self.simulated else "real data"
        how = ("full pull (every column of every week)" if not self.metadata_every else
               f"thin pull (metadata every {self.metadata_every} weeks)") + \
            (f": metadata of {len(self.metadata_pulled)} snapshot(s) fetched" if self.metadata_pulled or
             self.metadata_every else "")
        lines = [f"pull from {self.endpoint} [{kind}: {self.evidence}]" if self.evidence else
                 f"pull from {self.endpoint}" + (" [SIMULATED DATA]" if self.simulated else ""),
                 f"  pulled {len(self.pulled)}, already present {len(self.already_present)}, "
                 f"failed {len(self.failed)}; read {self.bytes_read:,} bytes{frac}; {self.retries} retries; "
                 f"{self.seconds:.1f} s",
                 f"  {how}"]
        if self.stopped:
            lines.append(f"  STOPPED: {self.stopped}")
        if self.missing_in_window:
            lines.append(f"  no snapshot on the Hub for: {', '.join(self.missing_in_window)}")
        for title, items in (("changed on the Hub since pulled", self.changed_upstream),
                             ("pulled again (missing on disk)", self.restored),
                             ("implausible rows, kept as served and handled when read", self.flagged),
                             ("archive listing", self.listing_notes)):
            for item in items:
                lines.append(f"  {title}: {item}")
        if self.recovered:
            lines.append(f"  recorded the manifest entries of an interrupted pull: {', '.join(self.recovered)}")
        for f in self.failed:
            lines.append(f"  FAILED {f}")
        return "\n".join(lines)


def _versions() -> dict[str, str]:
    import huggingface_hub
    import pyarrow

    return {"huggingface_hub": huggingface_hub.__version__, "pyarrow": pyarrow.__version__}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class _HubAnswered(PullError):
    """A retryable HTTP status from the reachability check, carrying its response (for RetryPolicy)."""

    def __init__(self, response: Any) -> None:
        super().__init__(f"HTTP {response.status_code} from the Hub reachability check")
        self.response = response


def check_hub_reachable(endpoint: str | None = None, repo_id: str = "hfmlsoc/hub_weekly_snapshots",
                        timeout: float = 5.0, *, retry: RetryPolicy | None = None,
                        on_retry: Callable[[int, float, BaseException], None] | None = None) -> None:
    """A quick request to the archive's dataset info, retried under ``retry``; raise if the Hub cannot be used.

    HTTP 408, 429 and 5xx answers and dropped connections are retried (``Retry-After`` honoured, up to
    ``retry.max_retry_after``). A failed connection (DNS, refused, connect timeout) is not retried: the Hub is
    not there, and the check stops at once.

    Parameters
    ----------
    endpoint : str, optional
        Hub endpoint; default huggingface_hub's configured one.
    repo_id : str
        The archive dataset, whose info is asked for.
    timeout : float
        Seconds per attempt.
    retry : RetryPolicy, optional
        Backoff of the check (default :class:`~analysis.hub.RetryPolicy`).
    on_retry : callable, optional
        Called as ``on_retry(attempt, delay, error)`` before each wait.

    Raises
    ------
    HubUnreachableError
        No connection or a timeout at ``endpoint``. The message names ``make demo`` as the offline
        alternative; nothing falls back to simulated data.
    HubRateLimitedError
        HTTP 429 after every retry (or a ``Retry-After`` longer than the policy waits); the message gives the
        ``Retry-After`` and says to wait and run again. A subclass of HubUnreachableError.
    HubServerError
        HTTP 5xx (or 408) after every retry: the Hub's side failed, not the network. A subclass of
        HubUnreachableError.
    PullError
        The Hub answered but the archive repository is not there (or not accessible).
    """
    import httpx2
    from huggingface_hub.utils import build_hf_headers, get_session

    retry = retry or RetryPolicy()
    ep = default_endpoint(endpoint)
    shown = public_endpoint(ep)
    url = f"{ep}/api/datasets/{repo_id}"
    offline = ("or run `make demo` for the offline demo on a simulated Hub. The study never falls back to simulated "
               "data.")
    attempts = 0

    def once() -> Any:
        nonlocal attempts
        attempts += 1
        try:
            r = get_session().get(url, headers=build_hf_headers(), timeout=timeout)
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as e:  # nobody there: no point in waiting
            raise HubUnreachableError(
                f"The Hugging Face Hub could not be reached at {shown} ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else 'no answer'}). Check the network connection (or "
                f"HF_ENDPOINT), {offline}") from None
        if r.status_code in RETRY_STATUSES:
            raise _HubAnswered(r)
        return r

    try:
        r = retry.call(once, f"Hub reachability check {shown}/api/datasets/{repo_id}", on_retry)
    except RetriesExhaustedError as e:
        cause = e.__cause__
        status = _status_of(cause) if cause is not None else None
        tries = f"{attempts} attempt(s)"
        if status == 429:
            ra = _retry_after(cause)
            wait = f"Retry-After: {ra:g} s" if ra is not None else "no Retry-After given"
            raise HubRateLimitedError(
                f"The Hugging Face Hub at {shown} is rate-limiting this client (HTTP 429, {wait}; {tries}, waiting "
                f"up to {retry.max_retry_after:g} s for a Retry-After). Nothing was pulled: wait"
                f"{f' {ra:g} s' if ra is not None else ' a few minutes'} and run the pull again (a token, from "
                "HF_TOKEN or `hf auth login`, gets a higher rate limit).") from None
        if status is not None:
            raise HubServerError(
                f"The Hugging Face Hub at {shown} answered HTTP {status} (a server error on the Hub's side, not a "
                f"network problem) to {tries}. Nothing was pulled: try again later (https://status.huggingface.co "
                f"shows outages), {offline}") from None
        raise HubUnreachableError(
            f"The Hugging Face Hub could not be reached at {shown} (the connection kept failing: "
            f"{str(e).split(': ', 1)[-1]}). Check the network connection (or HF_ENDPOINT), {offline}") from None
    if r.status_code != 200:
        raise PullError(f"The Hub at {shown} answered HTTP {r.status_code} for the archive dataset {repo_id}: "
                        "check archive.repo_id in config/study.yaml (and HF_TOKEN if the dataset is gated).")


def _auto_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    in_notebook = "ipykernel" in sys.modules
    return bool(sys.stderr.isatty() and not os.environ.get("CI") and not in_notebook)


class _Bars:
    """tqdm bars for dates and bytes, or nothing."""

    def __init__(self, enabled: bool, n_dates: int) -> None:
        self.dates = self.bytes = None
        if enabled and n_dates:
            from tqdm import tqdm

            self.dates = tqdm(total=n_dates, desc="snapshots", unit="file", position=0)
            # no total: a column-projected read fetches an unknown part of each file (about a fifth)
            self.bytes = tqdm(desc="bytes read", unit="B", unit_scale=True, position=1)

    def add_bytes(self, n: int) -> None:
        if self.bytes is not None:
            self.bytes.update(n)

    def add_date(self, label: str) -> None:
        if self.dates is not None:
            self.dates.set_postfix_str(label)
            self.dates.update(1)

    def close(self) -> None:
        for b in (self.dates, self.bytes):
            if b is not None:
                b.close()


class _LiveBar:
    """A tqdm bar counting the models of the live listing (the total is known only with ``top_n``), or nothing."""

    def __init__(self, enabled: bool, total: int | None) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="live models", unit=" models")

    def update(self, n: int) -> None:
        if self.bar is not None:
            if n < self.bar.n:  # the listing restarted after a failure
                self.bar.reset(total=self.bar.total)
            self.bar.update(n - self.bar.n)

    def __enter__(self) -> "_LiveBar":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


# --- live listing: pages saved as they come, resumed the same day -------------------------------------------
_PAGE = "page-{:06d}"


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and is_disk_full(e):
            raise RawStoreFullError(f"{path}: no space left on device while saving a page of the live listing; "
                                    f"free space on the disk holding {path.parent} and run the pull again (it "
                                    "resumes from the last complete page, the same day)") from None
        raise


def _save_page(folder: Path, page: Any, listing: dict[str, Any]) -> None:
    """Save one complete page (its models, then the state after it: a page counts once its state is there).

    ``listing`` (the query, the endpoint, when the listing started) is saved with the first page.
    """
    folder.mkdir(parents=True, exist_ok=True)
    listing_file = folder / "listing.json"
    if not listing_file.exists():
        _write_atomically(listing_file, lambda p: p.write_text(json.dumps(listing, sort_keys=True)))
    name = _PAGE.format(page.number)
    _write_atomically(folder / f"{name}.parquet", lambda p: pq.write_table(page.table, p))
    _write_atomically(folder / f"{name}.json", lambda p: p.write_text(json.dumps(page.state.as_dict())))


def _load_pages(folder: Path) -> tuple[LiveState | None, list[Path], dict]:
    """The state after the last complete page saved in ``folder``, the page files up to it, and the listing's
    query, endpoint and start (``{}`` if unknown)."""
    if not folder.is_dir():
        return None, [], {}
    state, files = None, []
    number = 1
    while True:
        name = _PAGE.format(number)
        data, meta = folder / f"{name}.parquet", folder / f"{name}.json"
        if not (data.is_file() and meta.is_file()):
            break
        try:
            pq.read_metadata(data)
            state = LiveState.from_dict(json.loads(meta.read_text()))
        except (OSError, ValueError, TypeError, pa.ArrowInvalid):
            break  # a page damaged by a crash: the listing resumes before it
        files.append(data)
        number += 1
    try:
        listing = json.loads((folder / "listing.json").read_text())
    except (OSError, ValueError):
        listing = {}
    return state, files, listing if isinstance(listing, dict) else {}


def _commit_pages(store: RawStore, day: dt.date, files: list[Path], meta: dict[str, Any]) -> dict[str, Any]:
    """Write the saved pages, in order, as the raw live file of ``day``; returns its manifest entry."""
    with store.open_writer("live", day, meta) as w:
        pending: list[pa.Table] = []
        held = 0
        for f in files:
            t = pq.read_table(f)
            pending.append(t)
            held += t.num_rows
            if held >= LIVE_BATCH_SIZE:
                w.write(pa.concat_tables(pending))
                pending, held = [], 0
        if pending:
            w.write(pa.concat_tables(pending))
    assert w.entry is not None
    return w.entry


def _pull_live(store: RawStore, day: dt.date, query: LiveQuery, base_meta: dict[str, Any], *, endpoint: str,
               shown: str, retry: RetryPolicy, expect_simulated: bool, on_model: Callable[[int], None],
               on_retry: Callable[[int, float, BaseException], None], log: Callable[[str], None]) -> dict[str, Any]:
    """Pull (or resume) the live listing of ``day`` page by page, then commit it; returns its manifest entry."""
    folder = store.resume_dir("live", day)
    state, files, saved = _load_pages(folder)
    seen: set[str] = set()
    listing = {"query": query.as_dict(), "endpoint": shown, "accessed_at": _now()}
    if state is not None:
        for f in files:
            seen.update(pq.read_table(f, columns=["id"])["id"].to_pylist())
        state.stats.resumed_at_page = state.stats.pages
        saved_query = saved.get("query")
        if saved_query and saved_query != query.as_dict():
            log(f"pull: the live listing of {day} was started with {saved_query}; it resumes with that query")
            query = LiveQuery(min_downloads=saved_query["min_downloads"], top_n=saved_query["top_n"])
        listing = {**listing, **saved, "resumed_at": listing["accessed_at"]}
        log(f"pull: live/{day}: resuming after page {state.stats.pages} ({state.stats.kept:,} models kept so far)")
    try:
        for page in iter_live_pages(query, endpoint=endpoint, state=state, seen=seen, retry=retry,
                                    expect_simulated=expect_simulated, on_retry=on_retry, on_model=on_model):
            _save_page(folder, page, listing)
    except RunKindError:  # a listing of the wrong kind (or of mixed kinds) is never kept, not even in part
        shutil.rmtree(folder, ignore_errors=True)
        raise
    state, files, _ = _load_pages(folder)
    stats = state.stats if state is not None else LiveListingStats(stopped="end")
    meta = {**base_meta, "source": f"{listing['endpoint']}/api/models", "query": query.as_dict(),
            "accessed_at": listing["accessed_at"], "bytes_read": None, "complete": True, "out_of_order": stats.out_of_order, "listing": stats.as_dict(),
            "simulated": bool(stats.simulated) if stats.simulated is not None else base_meta["simulated"],
            "simulated_evidence": _live_evidence(stats)}
    if "resumed_at" in listing:
        meta["resumed_at"] = listing["resumed_at"]
    entry = _commit_pages(store, day, files, meta)
    shutil.rmtree(folder, ignore_errors=True)
    return entry


def _live_evidence(stats: LiveListingStats) -> str:
    if stats.simulated is None:
        return "the listing held no model"
    if stats.simulated:
        return f"every model carries the tag {SIMULATED_TAG!r}"
    return f"models without the tag {SIMULATED_TAG!r} ({stats.tagged} kept model(s) carry it)"


def _finish_earlier_listings(store: RawStore, today: dt.date, base_meta: dict[str, Any],
                             log: Callable[[str], None]) -> list[str]:
    """Record, as incomplete listings, the live listings of earlier days that never completed (nothing is lost)."""
    done = []
    for day, folder in store.resume_dirs("live"):
        if day >= today:
            continue
        state, files, listing = _load_pages(folder)
        if store.entry("live", day) is not None or state is None:  # recorded already, or nothing in it
            why = "its listing is recorded already" if state is not None else "no complete page in it"
            log(f"pull: removed {folder} (live listing of {day}): {why}")
            shutil.rmtree(folder, ignore_errors=True)
            continue
        stats = state.stats
        meta = {**base_meta, "source": f"{listing.get('endpoint', base_meta['endpoint'])}/api/models",
                "endpoint": listing.get("endpoint", base_meta["endpoint"]), "query": listing.get("query"),
                "accessed_at": listing.get("accessed_at"), "bytes_read": None, "complete": False,
                "out_of_order": stats.out_of_order, "listing": stats.as_dict(),
                "simulated_evidence": _live_evidence(stats),
                "note": f"incomplete: the listing of {day} stopped after page {stats.pages} and could not be resumed "
                        "on a later day (a later listing is another snapshot); kept as listed"}
        if stats.simulated is not None:
            meta["simulated"] = bool(stats.simulated)
        _commit_pages(store, day, files, meta)
        shutil.rmtree(folder, ignore_errors=True)
        done.append(f"live/{day} (incomplete: {stats.kept:,} models in {stats.pages} page(s))")
        log(f"pull: recorded the interrupted live listing of {day} as incomplete ({stats.pages} page(s))")
    return done


# --- archive snapshots -------------------------------------------------------------------------------------
def _head(listing: ArchiveListing, path_in_repo: str, *, endpoint: str, retry: RetryPolicy,
          on_retry: Callable[[int, float, BaseException], None]) -> Any:
    """HEAD of one archive file at the listing's commit (size, etag), retried."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(listing.repo_id, path_in_repo, repo_type="dataset", revision=listing.commit, endpoint=endpoint)
    return retry.call(lambda: get_hf_file_metadata(url, endpoint=endpoint, timeout=None), f"HEAD {path_in_repo}",
                      on_retry)


def thin_rule(metadata_every: int) -> dict[str, Any] | None:
    """The rule a thin pull records (None for the full pull, ``metadata_every`` = 0)."""
    if metadata_every == 0:
        return None
    return {"metadata_every": int(metadata_every), "epoch": METADATA_EPOCH.isoformat()}


def _pull_archive_date(store: RawStore, listing: ArchiveListing, date: dt.date, base_meta: dict[str, Any], *,
                       endpoint: str, retry: RetryPolicy, on_bytes: Callable[[int], None],
                       on_retry: Callable[[int, float, BaseException], None], version: int = 1,
                       extra: dict[str, Any] | None = None, thin: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read one snapshot column-projected and write it to the raw store; returns its manifest entry.

    With ``thin`` (a thin pull's rule), only the weekly columns are read, from every row group; the metadata rows
    the rule plans are fetched afterwards (:func:`_pull_metadata`).
    """
    f = listing.file(date)
    where = f"archive {date} ({listing.repo_id}/{f.path_in_repo}@{listing.commit[:10]})"
    head = _head(listing, f.path_in_repo, endpoint=endpoint, retry=retry, on_retry=on_retry)
    accessed_at = _now()
    fobj = open_projected(listing.repo_id, listing.commit, f.path_in_repo, head.size or f.size, endpoint=endpoint,
                          retry=retry, on_bytes=on_bytes, on_retry=on_retry)
    snap = open_snapshot(fobj, where, RAW_SCHEMA if thin is None else WEEKLY_SCHEMA)
    drift: list[str] = []
    meta = {**base_meta, "source": f"hf://datasets/{listing.repo_id}/{f.path_in_repo}",
            "repo_id": listing.repo_id, "revision": listing.revision, "commit": listing.commit,
            "path": f.path_in_repo, "remote_size": head.size or f.size, "etag": head.etag,
            "accessed_at": accessed_at, "columns_read": list(snap.columns),
            "metadata_every": 0 if thin is None else thin["metadata_every"], **(extra or {})}
    if thin is not None:
        meta["thin"] = dict(thin)
        meta["source_row_groups"] = snap.row_group_rows
    with store.open_writer("archive", date, meta, version, thin=thin) as w:
        for table in snap.iter_tables(drift):
            w.write(table)
        _record_transfer(w, fobj, snap, drift)
    assert w.entry is not None
    return w.entry


def _record_transfer(w, fobj, snap, drift: list[str]) -> None:
    """What reading a remote file took, into the manifest entry of the raw file written from it."""
    w.meta["bytes_read"] = fobj.bytes_read
    w.meta["range_requests"] = fobj.requests
    w.meta["schema_drift"] = drift
    w.meta["reread_row_groups"] = list(snap.rereads)


#: The columns a thin pull reads for the rows the rule plans (normalised like the full pull's).
_METADATA_READ = pa.schema([RAW_SCHEMA.field(c) for c in METADATA_COLUMNS])


def _pull_metadata(store: RawStore, date: dt.date, positions: np.ndarray, base_meta: dict[str, Any],
                   rule: dict[str, Any], *, endpoint: str, retry: RetryPolicy, on_bytes: Callable[[int], None],
                   on_retry: Callable[[int, float, BaseException], None]) -> dict[str, Any]:
    """Fetch the metadata of some rows of a thin snapshot already pulled; write them as its next metadata part.

    The rows are read from the same file as the snapshot's weekly columns (the commit its manifest entry records),
    row group by row group (only the row groups holding a wanted row); the footer's row groups must be those the
    entry records. Returns the part's manifest entry.
    """
    entry = store.entry("archive", date)
    if entry is None or not entry.get("thin"):
        raise PullError(f"archive/{date}: not a thin snapshot of this raw store; nothing to fetch")
    for key in ("repo_id", "commit", "path", "remote_size"):
        if not entry.get(key):
            raise PullError(f"archive/{date}: its manifest entry lacks {key!r}; its metadata cannot be fetched")
    version = int(entry.get("version", 1))
    repo_id, commit, path_in_repo = entry["repo_id"], entry["commit"], entry["path"]
    where = f"archive {date} metadata ({repo_id}/{path_in_repo}@{commit[:10]})"
    accessed_at = _now()
    fobj = open_projected(repo_id, commit, path_in_repo, int(entry["remote_size"]), endpoint=endpoint, retry=retry,
                          on_bytes=on_bytes, on_retry=on_retry)
    snap = open_snapshot(fobj, where, _METADATA_READ)
    if snap.row_group_rows != list(entry.get("source_row_groups") or []):
        raise SnapshotUnreadableError(f"{where}: its row groups ({len(snap.row_group_rows)}, {snap.num_rows} rows) "
                                      f"differ from those of the file pulled as {entry['file']} "
                                      f"({sum(entry.get('source_row_groups') or [])} rows); nothing was written")
    positions = np.unique(np.asarray(positions, dtype=np.int64))
    bounds = np.cumsum([0] + snap.row_group_rows)
    if positions.size and (positions[0] < 0 or positions[-1] >= bounds[-1]):
        raise PullError(f"{where}: rows {positions[0]}..{positions[-1]} outside the file's {bounds[-1]} rows")
    groups = sorted(set((np.searchsorted(bounds, positions, side="right") - 1).tolist()))
    ids = pq.read_table(store.raw_dir / entry["file"], columns=["id"])["id"].combine_chunks()
    taken = store.metadata_entries(date, version)
    part = 1 + max([int(e.get("part", 0)) for e in taken] + [0])
    while store.metadata_path(date, version, part).exists():
        part += 1
    # parts listed in the manifest whose file was lost (deleted by hand): this part fetches their rows again
    lost = [{"file": e["file"], "sha256": e.get("sha256")} for e in taken
            if e.get("file") and not (store.raw_dir / e["file"]).is_file()]
    drift: list[str] = []
    meta = {**base_meta, "source": f"hf://datasets/{repo_id}/{path_in_repo}", "repo_id": repo_id,
            "revision": entry.get("revision"), "commit": commit, "path": path_in_repo,
            "remote_size": entry["remote_size"], "etag": entry.get("etag"), "accessed_at": accessed_at,
            "for_file": entry["file"], "for_sha256": entry["sha256"], "part": part, "thin": dict(rule),
            "metadata_every": rule["metadata_every"], "columns_read": list(snap.columns),
            "row_groups_read": groups, "row_groups_total": len(snap.row_group_rows)}
    if lost:
        meta["restores_parts"] = lost
    with store.open_writer("metadata", date, meta, version, part=part) as w:
        for g, table in zip(groups, snap.iter_tables(drift, groups)):
            lo, hi = np.searchsorted(positions, [bounds[g], bounds[g + 1]])
            rows = positions[lo:hi]
            picked = table.take(pa.array(rows - bounds[g]))
            w.write(pa.Table.from_arrays([pa.array(rows, pa.int64()), ids.take(pa.array(rows))]
                                         + [picked[c] for c in METADATA_COLUMNS], schema=METADATA_SCHEMA))
        _record_transfer(w, fobj, snap, drift)
    assert w.entry is not None
    return w.entry


def _kind_error(listing: ArchiveListing, shown: str, raw_dir: Path) -> RunKindError:
    at = f"{listing.repo_id}@{listing.commit[:10]}"
    if listing.simulated:
        params = listing.marker.get("parameters") or {}
        seed = f", seed {params['seed']}" if "seed" in params else ""
        return RunKindError(
            f"The Hub at {shown} is a SIMULATED Hub: its archive {at} holds {SIMULATED_MARKER} "
            f"({listing.marker.get('generator', 'a simulated Hub')}{seed}). Simulated data is never stored in the "
            f"real raw store {raw_dir}: pull it with `python -m analysis pull --demo` (make demo does), or point "
            "HF_ENDPOINT at the real Hub (or a mirror of it). Nothing was pulled.")
    return RunKindError(
        f"The Hub at {shown} serves real data: its archive {at} has no {SIMULATED_MARKER}. Real data is never stored "
        f"in the demo's raw store {raw_dir}: pull it without --demo (into data/raw), or point HF_ENDPOINT at the "
        "simulated Hub's stand-in. Nothing was pulled.")


def _redacted(error: BaseException, secrets: list[str]) -> BaseException:
    """The same error with every credential removed from its message (a PullError if it cannot be rebuilt)."""
    known = isinstance(error, (PullError, RawStoreError))
    if known:
        text = redact(str(error), secrets)
    else:  # unexpected: say where it happened, since the traceback (which may hold a credential) is dropped
        import traceback

        frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        at = f" at {Path(frame.filename).name}:{frame.lineno} ({frame.name})" if frame else ""
        text = redact(f"{type(error).__name__}{at}: {error}", secrets)
    if known:
        try:
            return type(error)(text)
        except TypeError:
            pass
    return PullError(text)


def pull_all(cfg: StudyConfig, paths: Paths, *, since: dt.date | None = None, until: dt.date | None = None,
             live: bool | None = None, endpoint: str | None = None, progress: bool | None = None,
             retry: RetryPolicy | None = None, today: dt.date | None = None,
             log: Callable[[str], None] | None = None, check_upstream: bool = True) -> PullReport:
    """Pull every missing archive snapshot of the study window, and a live listing, into the raw store.

    Parameters
    ----------
    cfg : StudyConfig
        ``study`` (window, frequency), ``archive`` (repo, revision), ``live`` and ``pull`` (timeouts, deadline,
        ``Retry-After`` cap) sections are used.
    paths : Paths
        ``paths.raw_dir`` is the store: ``data/raw`` for real data, ``data/demo/raw`` (``paths.simulated``) for a
        simulated Hub's. The data must be of that kind (see the module docstring).
    since, until : datetime.date, optional
        Override the study window (``study.start`` / ``study.end``).
    live : bool, optional
        Override ``live.enabled``.
    endpoint : str, optional
        Hub endpoint; default huggingface_hub's configured one (``HF_ENDPOINT``).
    progress : bool, optional
        Progress bars; default only on a terminal, never in CI (``CI`` set) nor in a notebook.
    retry : RetryPolicy, optional
        Backoff of the requests the project sends (tests inject short delays); default from ``pull``
        (``max_retry_after``). Its ``max_retry_after`` is also the cap applied to huggingface_hub's own waits.
    today : datetime.date, optional
        Date of the live snapshot; default today's UTC date.
    log : callable, optional
        Receives one line per retry, failure and finding (default: print to stderr); redacted.
    check_upstream : bool
        Compare every snapshot already pulled with the Hub's current file (one HEAD request each).

    Returns
    -------
    PullReport
        Failures are listed, not raised; check ``report.ok``.

    Raises
    ------
    HubUnreachableError
        The Hub did not answer, or kept answering 429 (:class:`~analysis.hub.HubRateLimitedError`) or 5xx
        (:class:`~analysis.hub.HubServerError`) through every retry of the reachability check (nothing is written).
    RunKindError
        The endpoint serves simulated data and the store is the real one, or the reverse (nothing is written).
    PullError
        The archive or its revision does not exist; the deadline passed before the listing; any other error,
        redacted.
    RawStoreError
        Another pull holds the store's lock.
    """
    ep = default_endpoint(endpoint)
    secrets = known_secrets(ep)
    sink = log or (lambda line: print(line, file=sys.stderr, flush=True))

    def safe_log(line: str) -> None:
        sink(redact(line, secrets))

    cap = retry.max_retry_after if retry is not None else cfg.pull.max_retry_after
    limits = PullLimits(connect_timeout=cfg.pull.connect_timeout, read_timeout=cfg.pull.read_timeout,
                        deadline=cfg.pull.deadline, max_retry_after=cap)
    try:
        with hub_client(limits, secrets=secrets) as guard:
            policy = dataclasses.replace(retry or RetryPolicy(max_retry_after=cap), deadline_at=guard.deadline_at)
            report = _pull_all(cfg, paths, since=since, until=until, live=live, ep=ep, progress=progress,
                               retry=policy, today=today, log=safe_log, check_upstream=check_upstream)
    except Exception as e:  # every error leaves redacted, without a chain that could hold a credential
        raise _redacted(e, secrets) from None
    return _redact_report(report, secrets)


def _redact_report(report: PullReport, secrets: list[str]) -> PullReport:
    changes = {}
    for f in dataclasses.fields(report):
        v = getattr(report, f.name)
        if isinstance(v, str):
            changes[f.name] = redact(v, secrets)
        elif isinstance(v, tuple):
            changes[f.name] = tuple(PullFailure(x.kind, x.date, redact(x.reason, secrets)) if isinstance(x, PullFailure)
                                    else redact(x, secrets) if isinstance(x, str) else x for x in v)
    return dataclasses.replace(report, **changes)


def _pull_all(cfg: StudyConfig, paths: Paths, *, since: dt.date | None, until: dt.date | None, live: bool | None,
              ep: str, progress: bool | None, retry: RetryPolicy, today: dt.date | None,
              log: Callable[[str], None], check_upstream: bool) -> PullReport:
    t0 = time.monotonic()
    shown = public_endpoint(ep)
    secrets = known_secrets(ep)
    since = since or cfg.study.start
    until = until if until is not None else cfg.study.end
    if until is not None and since > until:
        raise PullError(f"pull window {since} .. {until} is empty: the first date is after the last one "
                        "(check --since/--until or study.start/study.end)")
    live = cfg.live.enabled if live is None else live
    store = RawStore(paths.raw_dir)
    counters = {"bytes": 0, "remote": 0, "retries": 0}

    def on_retry(attempt: int, wait: float, error: BaseException) -> None:
        counters["retries"] += 1
        log(f"pull: retry {attempt}/{retry.max_attempts - 1} in {wait:g}s after {_short(error)}")

    check_hub_reachable(ep, cfg.archive.repo_id, retry=retry, on_retry=on_retry)
    listing = list_snapshots(cfg.archive.repo_id, cfg.archive.revision, endpoint=ep, retry=retry)
    if listing.simulated != paths.simulated:
        raise _kind_error(listing, shown, paths.raw_dir)
    evidence = (f"{SIMULATED_MARKER} in {listing.repo_id}@{listing.commit[:10]}" if listing.simulated else
                f"no {SIMULATED_MARKER} in {listing.repo_id}@{listing.commit[:10]}")
    notes = list(listing.duplicates) + [f"ignored {p}: not a snapshot path (matched whole)" for p in listing.ignored]
    for n in notes:
        log(f"pull: archive listing: {n}")
    dates = select_dates(listing.dates, since, until, cfg.study.frequency)
    ambiguous = [d for d in listing.conflicts if since <= d and (until is None or d <= until)]
    missing_weeks: list[str] = []
    if cfg.study.frequency == "weekly" and dates:
        have = set(listing.dates)
        d = dates[0]
        while d <= dates[-1]:
            if d not in have and d not in ambiguous:
                missing_weeks.append(d.isoformat())
            d += dt.timedelta(weeks=1)
    base_meta = {**_versions(), "simulated": listing.simulated, "simulated_evidence": evidence, "endpoint": shown}
    if listing.marker is not None:
        base_meta["simulated_hub"] = {k: listing.marker.get(k) for k in ("generator", "tag", "parameters")}
    base_meta = redact_obj(base_meta, secrets)
    pulled: list[str] = []
    present: list[str] = []
    failed: list[PullFailure] = [PullFailure("archive", d.isoformat(), "listed more than once with different files "
                                            "on the Hub; which one is the snapshot cannot be told, so it is not "
                                            "pulled (see the archive listing notes)") for d in ambiguous]
    changed: list[str] = []
    restored: list[str] = []
    flagged: list[str] = []
    stopped = ""

    def note_quality(kind: str, entry: dict[str, Any]) -> None:
        q = SnapshotQuality.from_dict(entry.get("quality") or {"rows": entry.get("rows", 0)})
        if not q.ok:
            line = f"{kind}/{entry['date']}: " + "; ".join(q.problems())
            flagged.append(line)
            log(f"pull: flagged {line}")

    rule = thin_rule(cfg.archive.metadata_every)
    metadata_pulled: list[str] = []
    with store.lock():
        cleaned = [p.name for p in store.cleanup_partials()]
        recovered, unresolved = store.recover_pending()
        for rel in recovered:
            log(f"pull: recorded the manifest entry of {rel}, left pending by an interrupted pull")
        for problem in unresolved:
            log(f"pull: {problem}")
        day = today or dt.datetime.now(dt.timezone.utc).date()
        recovered += _finish_earlier_listings(store, day, base_meta, log)

        # --- what to pull: new snapshots, files missing on disk, files changed on the Hub ---------------
        todo: list[tuple[dt.date, int, dict[str, Any]]] = []
        for d in dates:
            entry = store.entry("archive", d)
            if entry is None:
                if store.has("archive", d):  # a file nobody can vouch for: never used silently, never replaced
                    failed.append(PullFailure("archive", d.isoformat(), "raw file without a manifest entry "
                                              "(provenance unknown); it is kept as is: see `python -m analysis pull "
                                              "--verify`"))
                else:
                    todo.append((d, 1, {}))
                continue
            version = int(entry.get("version", 1))
            if not (store.raw_dir / entry["file"]).is_file():
                log(f"pull: {entry['file']} is in the manifest but missing on disk; pulling it again")
                todo.append((d, version, {"restores": {"sha256": entry["sha256"], "etag": entry.get("etag"),
                                                       "written_at": entry.get("written_at")}}))
                continue
            if check_upstream and entry.get("etag"):
                try:
                    head = _head(listing, listing.file(d).path_in_repo, endpoint=ep, retry=retry, on_retry=on_retry)
                except PullDeadlineError:
                    raise
                except Exception as e:  # the comparison could not be made: said, not guessed
                    failed.append(PullFailure("archive", d.isoformat(), f"could not compare with the Hub's current "
                                              f"file: {_short(e)}"))
                    present.append(f"archive/{d}")
                    continue
                if head.etag and head.etag != entry["etag"]:
                    newest = max(store.versions("archive", d) + [version])
                    line = (f"archive/{d}: the Hub's file changed (etag {entry['etag'][:12]} -> {head.etag[:12]} at "
                            f"{listing.commit[:10]}); pulling it as version {newest + 1} beside {entry['file']}")
                    changed.append(line)
                    log(f"pull: {line}")
                    todo.append((d, newest + 1, {"previous": {"file": entry["file"], "sha256": entry["sha256"],
                                                              "etag": entry["etag"], "commit": entry.get("commit")}}))
                    continue
            present.append(f"archive/{d}")
        if check_upstream:
            for d in store.snapshot_dates("archive"):
                if since <= d and (until is None or d <= until) and d not in set(listing.dates):
                    e = store.entry("archive", d)
                    if e is not None and e.get("repo_id") == listing.repo_id:
                        line = (f"archive/{d}: no longer on the Hub at {listing.commit[:10]} (the raw file pulled "
                                "earlier is kept and used)")
                        changed.append(line)
                        log(f"pull: {line}")

        bars = _Bars(_auto_progress(progress), len(todo))

        def on_bytes(n: int) -> None:
            counters["bytes"] += n
            bars.add_bytes(n)

        def stop(reason: str, rest: list[str]) -> None:
            nonlocal stopped
            stopped = reason
            for label in rest:
                kind, _, date = label.partition("/")
                failed.append(PullFailure(kind, date, f"not tried: the pull stopped ({reason})"))
            log(f"pull: STOPPED: {reason}")

        try:
            for i, (d, version, extra) in enumerate(todo):
                counters["remote"] += int(listing.file(d).size or 0)
                label = f"archive/{d}" + (f" v{version}" if version > 1 else "")
                try:
                    entry = _pull_archive_date(store, listing, d, base_meta, endpoint=ep, retry=retry,
                                               on_bytes=on_bytes, on_retry=on_retry, version=version, extra=extra,
                                               thin=rule)
                    pulled.append(label)
                    note_quality("archive", entry)
                    if "restores" in extra:
                        same = entry["sha256"] == extra["restores"]["sha256"]
                        restored.append(f"{entry['file']}: " + ("identical to the file lost" if same else
                                                                  "differs from the file lost (SHA-256 "
                                                                  f"{extra['restores']['sha256'][:12]} -> "
                                                                  f"{entry['sha256'][:12]})"))
                except Exception as e:  # a pull or client error: report the snapshot by name, keep going
                    failed.append(PullFailure("archive", d.isoformat(), _short(e)))
                    log(f"pull: FAILED {label}: {_short(e)}")
                    rest = [f"archive/{x}" for x, _, _ in todo[i + 1:]] + (["live/" + day.isoformat()] if live else [])
                    if is_disk_full(e):
                        stop(f"the disk holding {store.raw_dir} is full (no space left on device); nothing is "
                             "half-written; free space and run the pull again", rest)
                        break
                    if isinstance(e, PullDeadlineError) or isinstance(e.__cause__, PullDeadlineError):
                        stop(f"its deadline of {cfg.pull.deadline:g} s (pull.deadline) passed; the next pull "
                             "resumes with what is missing", rest)
                        break
                bars.add_date(d.isoformat())
            if not stopped:  # a full pull too, where the window holds thin snapshots pulled before
                stopped = _pull_planned_metadata(
                    store, cfg, since, until, rule or {"metadata_every": 0, "epoch": METADATA_EPOCH.isoformat()},
                    base_meta, {x for x, _, _ in todo}, counters, metadata_pulled,
                    failed,
                    endpoint=ep, retry=retry, on_bytes=on_bytes, on_retry=on_retry, log=log, note=stop,
                    live_label=["live/" + day.isoformat()] if live else [])
        finally:
            bars.close()
        if live and not stopped:
            if store.entry("live", day) is not None and store.has("live", day):
                present.append(f"live/{day}")
            elif store.has("live", day):
                failed.append(PullFailure("live", day.isoformat(), "raw file without a manifest entry (provenance "
                                          "unknown); it is kept as is: see `python -m analysis pull --verify`"))
            else:
                try:
                    query = LiveQuery(min_downloads=cfg.live.min_downloads, top_n=cfg.live.top_n)
                    with _LiveBar(_auto_progress(progress), cfg.live.top_n) as bar:
                        entry = _pull_live(store, day, query, base_meta, endpoint=ep, shown=shown, retry=retry,
                                           expect_simulated=paths.simulated, on_model=bar.update,
                                           on_retry=on_retry, log=log)
                    pulled.append(f"live/{day}")
                    note_quality("live", entry)
                    listing_stats = entry.get("listing", {})
                    if listing_stats.get("malformed"):
                        line = (f"live/{day}: {listing_stats['malformed']} malformed record(s) skipped: "
                                + "; ".join(listing_stats.get("malformed_examples", [])))
                        flagged.append(line)
                        log(f"pull: flagged {line}")
                except Exception as e:  # reported by name; the archive part is kept
                    pages = _load_pages(store.resume_dir("live", day))[0]
                    after = (f"; {pages.stats.pages} complete page(s) saved: the next pull today resumes after them"
                             if pages is not None else "")
                    failed.append(PullFailure("live", day.isoformat(), _short(e) + after))
                    log(f"pull: FAILED live/{day}: {_short(e)}{after}")
                    if is_disk_full(e):
                        stopped = f"the disk holding {store.raw_dir} is full (no space left on device)"
                    elif isinstance(e, PullDeadlineError):
                        stopped = f"its deadline of {cfg.pull.deadline:g} s (pull.deadline) passed"
    return PullReport(pulled=tuple(pulled), already_present=tuple(present), failed=tuple(failed),
                      bytes_read=counters["bytes"], remote_bytes=counters["remote"], retries=counters["retries"],
                      commit=listing.commit, endpoint=shown, simulated=listing.simulated, evidence=evidence,
                      missing_in_window=tuple(missing_weeks), changed_upstream=tuple(changed),
                      restored=tuple(restored), flagged=tuple(flagged), listing_notes=tuple(notes), stopped=stopped,
                      cleaned_partials=tuple(cleaned), recovered=tuple(recovered), seconds=time.monotonic() - t0,
                      metadata_pulled=tuple(metadata_pulled), metadata_every=cfg.archive.metadata_every)


def _pull_planned_metadata(store: RawStore, cfg: StudyConfig, since: dt.date, until: dt.date | None,
                           rule: dict[str, Any], base_meta: dict[str, Any], counted: set,
                           counters: dict[str, int], pulled: list[str], failed: list[PullFailure], *, endpoint: str,
                           retry: RetryPolicy, on_bytes: Callable[[int], None],
                           on_retry: Callable[[int, float, BaseException], None], log: Callable[[str], None],
                           note: Callable[[str, list[str]], None], live_label: list[str]) -> str:
    """The second step of a thin pull: plan the window's metadata reads and fetch the rows its files lack.

    The plan is :func:`analysis.catalog.plan_metadata` on the window's snapshots in the store (what the catalog
    will read): the rows it needs that no metadata part holds are fetched, snapshot by snapshot (for a new week,
    the newest snapshot: all its rows). Returns why the pull stopped ("" if it did not).
    """
    from ..timegrid import select_snapshots

    window = select_snapshots(store.snapshot_dates("archive"), start=since, end=until, frequency=cfg.study.frequency)
    snaps = [(d, store.path("archive", d)) for d in window if store.entry("archive", d) is not None]
    if not any(store.entry("archive", d).get("thin") for d, _ in snaps):
        return ""  # full snapshots only: they hold every row's metadata
    try:
        plan = plan_metadata(snaps, rule["metadata_every"])
    except (CatalogError, RawStoreError) as e:
        failed.append(PullFailure("metadata", f"{snaps[0][0]}..{snaps[-1][0]}", f"cannot plan the metadata reads: "
                                  f"{_short(e)}"))
        log(f"pull: FAILED planning the metadata reads: {_short(e)}")
        return ""
    todo = list(plan.missing.items())
    for n, (k, (positions, _codes)) in enumerate(todo):
        d = plan.dates[k]
        entry = store.entry("archive", d) or {}
        try:
            part = _pull_metadata(store, d, positions, base_meta, rule, endpoint=endpoint, retry=retry,
                                  on_bytes=on_bytes, on_retry=on_retry)
            pulled.append(f"metadata/{d} ({part['rows']:,} rows, part {part['part']})")
            if d not in counted:  # a snapshot pulled by an earlier run: its file's size joins the bytes' base
                counters["remote"] += int(entry.get("remote_size") or 0)
        except Exception as e:
            failed.append(PullFailure("metadata", d.isoformat(), _short(e)))
            log(f"pull: FAILED metadata/{d}: {_short(e)}")
            rest = [f"metadata/{plan.dates[x]}" for x, _ in todo[n + 1:]] + live_label
            if is_disk_full(e):
                reason = (f"the disk holding {store.raw_dir} is full (no space left on device); nothing is "
                          "half-written; free space and run the pull again")
                note(reason, rest)
                return reason
            if isinstance(e, PullDeadlineError) or isinstance(e.__cause__, PullDeadlineError):
                reason = (f"its deadline of {cfg.pull.deadline:g} s (pull.deadline) passed; the next pull resumes "
                          "with what is missing")
                note(reason, rest)
                return reason
    return ""


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    status = getattr(getattr(error, "response", None), "status_code", None)
    first = text[0] if text else ""
    if status is not None and str(status) not in first:
        first = f"HTTP {status}: {first}"
    if is_disk_full(error) and not isinstance(error, RawStoreError):
        return f"no space left on device ({first})"
    return f"{type(error).__name__}: {first}" if not isinstance(error, (PullError, RawStoreError)) else first


def verify_raw(paths: Paths) -> list[str]:
    """Re-hash every raw file against the manifest (see :meth:`analysis.raw.RawStore.verify`)."""
    return RawStore(paths.raw_dir).verify()


def verify_remote(cfg: StudyConfig, paths: Paths, *, endpoint: str | None = None,
                  retry: RetryPolicy | None = None) -> tuple[list[str], int]:
    """Compare every archive snapshot the study uses with the Hub's current file, without pulling anything.

    Returns
    -------
    (changes, compared) : (list of str, int)
        One line per snapshot whose file on the Hub has another etag than the one pulled, or is gone from the
        Hub; and the number of snapshots compared.

    Raises
    ------
    PullError
        The Hub cannot be reached, or its archive is not of the store's kind.
    """
    ep = default_endpoint(endpoint)
    secrets = known_secrets(ep)
    cap = retry.max_retry_after if retry is not None else cfg.pull.max_retry_after
    limits = PullLimits(connect_timeout=cfg.pull.connect_timeout, read_timeout=cfg.pull.read_timeout,
                        deadline=cfg.pull.deadline, max_retry_after=cap)
    store = RawStore(paths.raw_dir)
    changes: list[str] = []
    compared = 0
    try:
        with hub_client(limits, secrets=secrets) as guard:
            policy = dataclasses.replace(retry or RetryPolicy(max_retry_after=cap), deadline_at=guard.deadline_at)
            listing = list_snapshots(cfg.archive.repo_id, cfg.archive.revision, endpoint=ep, retry=policy)
            if listing.simulated != paths.simulated:
                raise _kind_error(listing, public_endpoint(ep), paths.raw_dir)
            on_hub = set(listing.dates)
            for d in store.snapshot_dates("archive"):
                e = store.entry("archive", d)
                if e is None or e.get("repo_id") not in (None, listing.repo_id):
                    continue
                compared += 1
                if d not in on_hub:
                    changes.append(f"archive/{d}: no longer on the Hub at {listing.commit[:10]}")
                    continue
                head = _head(listing, listing.file(d).path_in_repo, endpoint=ep, retry=policy,
                             on_retry=lambda *a: None)
                if e.get("etag") and head.etag and head.etag != e["etag"]:
                    changes.append(f"archive/{d}: the Hub's file changed since {e['file']} was pulled (etag "
                                   f"{e['etag'][:12]} -> {head.etag[:12]} at {listing.commit[:10]}); the next pull "
                                   "stores it as a new version beside it")
    except Exception as e:
        raise _redacted(e, secrets) from None
    return [redact(c, secrets) for c in changes], compared


# --- command line ------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m analysis pull``."""
    parser.add_argument("--since", type=cli_date, help="first snapshot date to pull (default: study.start)")
    parser.add_argument("--until", type=cli_date, help="last snapshot date to pull (default: study.end)")
    parser.add_argument("--live", action=argparse.BooleanOptionalAction, default=None,
                        help="also pull today's live listing (default: live.enabled)")
    parser.add_argument("--verify", action="store_true",
                        help="only re-hash every raw file against the manifest and name every mismatch")
    parser.add_argument("--remote", action="store_true",
                        help="with --verify: also compare every archive snapshot with the Hub's current file "
                             "(etag) and name those that changed on the Hub")
    parser.add_argument("--config", help="study config file (default: config/study.yaml)")
    parser.add_argument("--demo", action="store_true",
                        help="pull the simulated Hub into data/demo/raw (HF_ENDPOINT must serve a simulated Hub)")


def run(args: argparse.Namespace) -> int:
    """Run ``python -m analysis pull``.

    Exit status: 0 if everything asked for succeeded; 1 if a snapshot failed (the others were pulled) or verify
    found a problem or a change on the Hub; 2 if nothing could be done (bad configuration, unreachable Hub, wrong
    kind of data, bad archive revision), with one line saying why.
    """
    from ..config import ConfigError, load_config

    paths = Paths.default(simulated=bool(getattr(args, "demo", False)))
    if getattr(args, "verify", False):
        store = RawStore(paths.raw_dir)
        problems = verify_raw(paths)
        for p in problems:
            print(f"verify: {p}")
        for n in store.notes():
            print(f"verify: note: {n}")
        n = len(store.manifest_entries())
        files = sum(len(store._files(k)) for k in KINDS)
        print(f"verify: {files} raw files, {n} manifest entries, {len(problems)} problem(s) in {paths.raw_dir}")
        changes: list[str] = []
        if getattr(args, "remote", False):
            try:
                cfg = load_config(args.config)
                changes, compared = verify_remote(cfg, paths)
            except (ConfigError, PullError, RawStoreError) as e:
                print(f"verify: {e}", file=sys.stderr)
                return 2
            for c in changes:
                print(f"verify: remote: {c}")
            print(f"verify: {compared} archive snapshot(s) compared with the Hub, {len(changes)} changed")
        return 1 if problems or changes else 0
    try:
        cfg = load_config(args.config)
        report = pull_all(cfg, paths, since=args.since, until=args.until, live=args.live)
    except (ConfigError, PullError, RawStoreError) as e:
        print(f"pull: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.ok else 1
