"""The pull stage: archive history and a live listing into the immutable raw store.

:func:`pull_all` is what notebook 01 and ``python -m analysis pull`` run:

1. check the Hub answers (:func:`check_hub_reachable`; never falls back to simulated data);
2. resolve the archive revision to a commit and list its snapshot dates, keep those in the study window
   (weekly, or the first of each month), skip the dates already in the raw store;
3. read each missing snapshot column-projected (range requests) and stream it, normalised, into
   ``archive/<date>.parquet`` through :class:`analysis.raw.RawStore` (atomic, never overwritten, manifest entry);
4. optionally pull today's live listing into ``live/<date>.parquet``.

A snapshot that fails (after retries) is reported by name in :class:`PullReport` while the others complete.
A rerun pulls only what is missing.

Retries have two layers. The requests the project sends itself (the reachability check, repository info, each
file's HEAD, the revision check made on opening each file, every range read) are retried by the pull's
:class:`~analysis.hub.RetryPolicy`, whose ``max_retry_after`` and ``sleep`` apply to them. The paginated listings
(the archive's tree, the live ``/api/models`` pages) are requested by huggingface_hub's ``http_backoff``, which
first retries each page itself (:data:`~analysis.hub.HF_CLIENT_RETRIES` times, waiting 1-8 s or ``Retry-After`` + 1 s
without a cap, with ``time.sleep``); only once it gives up does the RetryPolicy retry the whole listing.

The Hub token is read by huggingface_hub from ``HF_TOKEN`` or the login saved by ``hf auth login``; this module
never handles or records it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from ..config import StudyConfig, cli_date
from ..paths import Paths
from ..raw import RawStore, RawStoreError
from . import (RETRY_STATUSES, HubRateLimitedError, HubServerError, HubUnreachableError, PullError,
               RetriesExhaustedError, RetryPolicy, _retry_after, _status_of, default_endpoint, public_endpoint)
from .archive import ArchiveListing, list_snapshots, open_projected, open_snapshot, select_dates
from .live import LiveListingStats, LiveQuery, iter_live_batches

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class PullFailure:
    """A snapshot that could not be pulled."""

    kind: str
    date: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.date}: {self.reason}"


@dataclass(frozen=True)
class PullReport:
    """What a pull did.

    Attributes
    ----------
    pulled : tuple of str
        ``kind/date`` of the raw files written by this run.
    already_present : tuple of str
        ``kind/date`` of the selected snapshots already in the raw store (not downloaded again).
    failed : tuple of PullFailure
        Snapshots that failed, with the reason; the run's exit status is non-zero if any.
    bytes_read : int
        Body bytes received for archive snapshots (range reads), as counted by the client.
    remote_bytes : int
        Total size on the Hub of the archive files this run tried to pull (pulled or failed: the same files
        ``bytes_read`` counts).
    retries : int
        Requests retried (429, 5xx, dropped connections).
    commit : str or None
        Archive commit the snapshots were read at.
    endpoint : str
    simulated : bool
        True when the pull wrote into the demo raw store (a simulated Hub).
    missing_in_window : tuple of str
        Weekly dates in the window without a snapshot on the Hub (gaps of the archive), for the record.
    cleaned_partials : tuple of str
        Leftover temporary files of an interrupted earlier pull, removed by this run.
    recovered : tuple of str
        Raw files of an earlier pull interrupted between writing the file and its manifest entry, whose entries
        this run recorded (see :meth:`analysis.raw.RawStore.recover_pending`).
    seconds : float
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
    missing_in_window: tuple[str, ...] = ()
    cleaned_partials: tuple[str, ...] = ()
    recovered: tuple[str, ...] = ()
    seconds: float = 0.0

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
        lines = [f"pull from {self.endpoint}" + (" [SIMULATED DATA]" if self.simulated else ""),
                 f"  pulled {len(self.pulled)}, already present {len(self.already_present)}, "
                 f"failed {len(self.failed)}; read {self.bytes_read:,} bytes{frac}; {self.retries} retries; "
                 f"{self.seconds:.1f} s"]
        if self.missing_in_window:
            lines.append(f"  no snapshot on the Hub for: {', '.join(self.missing_in_window)}")
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


def _is_loopback(endpoint: str) -> bool:
    return (urlsplit(endpoint).hostname or "") in _LOOPBACK


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


def _pull_live(store: RawStore, day: dt.date, query: LiveQuery, base_meta: dict[str, Any], *, endpoint: str,
               shown: str, on_model: Callable[[int], None]) -> dict[str, Any]:
    """Stream one live listing into the raw store, batch by batch; returns its manifest entry.

    The file is committed only when the listing has ended; a listing that fails part-way leaves nothing behind
    (the writer discards its partial file), so the caller can start it again.
    """
    meta = {**base_meta, "source": f"{shown}/api/models", "query": query.as_dict(), "accessed_at": _now(),
            "bytes_read": None}
    stats = LiveListingStats()
    with store.open_writer("live", day, meta) as w:
        for table in iter_live_batches(query, endpoint=endpoint, on_model=on_model, stats=stats):
            w.write(table)
        # counts change while the Hub is paged: models listed out of order are kept and counted here
        w.meta["out_of_order"] = stats.out_of_order
        w.meta["listing"] = stats.as_dict()
    assert w.entry is not None
    return w.entry


def _pull_archive_date(store: RawStore, listing: ArchiveListing, date: dt.date, base_meta: dict[str, Any], *,
                       endpoint: str, retry: RetryPolicy, on_bytes: Callable[[int], None],
                       on_retry: Callable[[int, float, BaseException], None]) -> dict[str, Any]:
    """Read one snapshot column-projected and write it to the raw store; returns its manifest entry."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    f = listing.file(date)
    where = f"archive {date} ({listing.repo_id}/{f.path_in_repo}@{listing.commit[:10]})"
    url = hf_hub_url(listing.repo_id, f.path_in_repo, repo_type="dataset", revision=listing.commit,
                     endpoint=endpoint)
    head = retry.call(lambda: get_hf_file_metadata(url, endpoint=endpoint), f"HEAD {f.path_in_repo}", on_retry)
    accessed_at = _now()
    fobj = open_projected(listing.repo_id, listing.commit, f.path_in_repo, head.size or f.size, endpoint=endpoint,
                          retry=retry, on_bytes=on_bytes, on_retry=on_retry)
    snap = open_snapshot(fobj, where)
    drift: list[str] = []
    meta = {**base_meta, "source": f"hf://datasets/{listing.repo_id}/{f.path_in_repo}",
            "repo_id": listing.repo_id, "revision": listing.revision, "commit": listing.commit,
            "path": f.path_in_repo, "remote_size": head.size or f.size, "etag": head.etag,
            "accessed_at": accessed_at, "columns_read": list(snap.columns)}
    with store.open_writer("archive", date, meta) as w:
        for table in snap.iter_tables(drift):
            w.write(table)
        w.meta["bytes_read"] = fobj.bytes_read
        w.meta["range_requests"] = fobj.requests
        w.meta["schema_drift"] = drift
    assert w.entry is not None
    return w.entry


def pull_all(cfg: StudyConfig, paths: Paths, *, since: dt.date | None = None, until: dt.date | None = None,
             live: bool | None = None, endpoint: str | None = None, progress: bool | None = None,
             retry: RetryPolicy | None = None, today: dt.date | None = None,
             log: Callable[[str], None] | None = None) -> PullReport:
    """Pull every missing archive snapshot of the study window, and a live listing, into the raw store.

    Parameters
    ----------
    cfg : StudyConfig
        ``study`` (window, frequency), ``archive`` (repo, revision) and ``live`` sections are used.
    paths : Paths
        ``paths.raw_dir`` is the store; ``paths.simulated`` marks every manifest entry as simulated.
    since, until : datetime.date, optional
        Override the study window (``study.start`` / ``study.end``).
    live : bool, optional
        Override ``live.enabled``.
    endpoint : str, optional
        Hub endpoint; default huggingface_hub's configured one (``HF_ENDPOINT``).
    progress : bool, optional
        Progress bars; default only on a terminal, never in CI (``CI`` set) nor in a notebook.
    retry : RetryPolicy, optional
        Backoff of the requests the project sends (reachability check, repository info, HEAD, revision checks,
        range reads; tests inject short delays), and of whole listings once huggingface_hub's own retries of a
        page are exhausted. Each page of the tree and ``/api/models`` listings is first retried by
        huggingface_hub itself (:data:`~analysis.hub.HF_CLIENT_RETRIES` times, ``Retry-After`` + 1 s without a cap,
        ``time.sleep``): ``retry.max_retry_after`` and ``retry.sleep`` do not apply to those waits.
    today : datetime.date, optional
        Date of the live snapshot; default today's UTC date.
    log : callable, optional
        Receives one line per retry and per failure (default: print to stderr).

    Returns
    -------
    PullReport
        Failures are listed, not raised; check ``report.ok``.

    Raises
    ------
    HubUnreachableError
        The Hub did not answer, or kept answering 429 (:class:`~analysis.hub.HubRateLimitedError`) or 5xx
        (:class:`~analysis.hub.HubServerError`) through every retry of the reachability check (nothing is written).
    PullError
        A demo pull aimed at the real Hub, or a real pull aimed at a local stand-in; the archive is missing.
    RawStoreError
        Another pull holds the store's lock.
    """
    t0 = time.monotonic()
    retry = retry or RetryPolicy()
    ep = default_endpoint(endpoint)
    shown = public_endpoint(ep)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    if paths.simulated and not _is_loopback(ep):
        raise PullError(f"demo pull aimed at {shown}: a demo pull reads the simulated Hub through the local "
                        "stand-in; start `python -m analysis fakehub --root data/demo/hub` and set HF_ENDPOINT "
                        "to the endpoint it prints (make demo does this)")
    if not paths.simulated and _is_loopback(ep):
        raise PullError(f"study pull aimed at a local endpoint {shown}: real raw data must come from the Hub; "
                        "use --demo for the simulated Hub, or unset HF_ENDPOINT")
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
    dates = select_dates(listing.dates, since, until, cfg.study.frequency)
    missing_weeks: list[str] = []
    if cfg.study.frequency == "weekly" and dates:
        have = set(listing.dates)
        d = dates[0]
        while d <= dates[-1]:
            if d not in have:
                missing_weeks.append(d.isoformat())
            d += dt.timedelta(weeks=1)
    base_meta = {**_versions(), "simulated": paths.simulated, "endpoint": shown}
    pulled: list[str] = []
    present: list[str] = []
    failed: list[PullFailure] = []

    with store.lock():
        cleaned = [p.name for p in store.cleanup_partials()]
        recovered, unresolved = store.recover_pending()
        for rel in recovered:
            log(f"pull: recorded the manifest entry of {rel}, left pending by an interrupted pull")
        for problem in unresolved:
            log(f"pull: {problem}")
        recorded = {e.get("file") for e in store.manifest_entries()}

        def already_there(kind: str, d: dt.date) -> bool:
            """True if the store has the file; a file without a manifest entry is reported as a failure."""
            if not store.has(kind, d):
                return False
            if store.path(kind, d).relative_to(store.raw_dir).as_posix() in recorded:
                present.append(f"{kind}/{d}")
            else:  # a file nobody can vouch for: never used silently, never replaced
                failed.append(PullFailure(kind, d.isoformat(), "raw file without a manifest entry (provenance "
                                          "unknown); it is kept as is: see `python -m analysis pull --verify`"))
            return True

        todo = [d for d in dates if not already_there("archive", d)]
        bars = _Bars(_auto_progress(progress), len(todo))

        def on_bytes(n: int) -> None:
            counters["bytes"] += n
            bars.add_bytes(n)

        try:
            for d in todo:
                counters["remote"] += int(listing.file(d).size or 0)
                try:
                    _pull_archive_date(store, listing, d, base_meta, endpoint=ep, retry=retry,
                                       on_bytes=on_bytes, on_retry=on_retry)
                    pulled.append(f"archive/{d}")
                except Exception as e:  # a pull or client error: report the snapshot by name, keep going
                    failed.append(PullFailure("archive", d.isoformat(), _short(e)))
                    log(f"pull: FAILED archive/{d}: {_short(e)}")
                bars.add_date(d.isoformat())
        finally:
            bars.close()
        if live:
            day = today or dt.datetime.now(dt.timezone.utc).date()
            if not already_there("live", day):
                try:
                    query = LiveQuery(min_downloads=cfg.live.min_downloads, top_n=cfg.live.top_n)
                    with _LiveBar(_auto_progress(progress), cfg.live.top_n) as bar:
                        retry.call(lambda: _pull_live(store, day, query, base_meta, endpoint=ep, shown=shown,
                                                      on_model=bar.update),
                                   f"live listing at {shown}/api/models", on_retry)
                    pulled.append(f"live/{day}")
                except Exception as e:  # reported by name; the archive part is kept
                    failed.append(PullFailure("live", day.isoformat(), _short(e)))
                    log(f"pull: FAILED live/{day}: {_short(e)}")
    return PullReport(pulled=tuple(pulled), already_present=tuple(present), failed=tuple(failed),
                      bytes_read=counters["bytes"], remote_bytes=counters["remote"], retries=counters["retries"],
                      commit=listing.commit, endpoint=shown, simulated=paths.simulated,
                      missing_in_window=tuple(missing_weeks), cleaned_partials=tuple(cleaned),
                      recovered=tuple(recovered), seconds=time.monotonic() - t0)


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    status = getattr(getattr(error, "response", None), "status_code", None)
    first = text[0] if text else ""
    if status is not None and str(status) not in first:
        first = f"HTTP {status}: {first}"
    return f"{type(error).__name__}: {first}" if not isinstance(error, PullError) else first


def verify_raw(paths: Paths) -> list[str]:
    """Re-hash every raw file against the manifest (see :meth:`analysis.raw.RawStore.verify`)."""
    return RawStore(paths.raw_dir).verify()


# --- command line ------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m analysis pull``."""
    parser.add_argument("--since", type=cli_date, help="first snapshot date to pull (default: study.start)")
    parser.add_argument("--until", type=cli_date, help="last snapshot date to pull (default: study.end)")
    parser.add_argument("--live", action=argparse.BooleanOptionalAction, default=None,
                        help="also pull today's live listing (default: live.enabled)")
    parser.add_argument("--verify", action="store_true",
                        help="only re-hash every raw file against the manifest and name every mismatch")
    parser.add_argument("--config", help="study config file (default: config/study.yaml)")
    parser.add_argument("--demo", action="store_true",
                        help="pull the simulated Hub into data/demo/raw (HF_ENDPOINT must point at the stand-in)")


def run(args: argparse.Namespace) -> int:
    """Run ``python -m analysis pull``; exit status 0 only if everything asked for succeeded."""
    from ..config import ConfigError, load_config

    paths = Paths.default(simulated=bool(getattr(args, "demo", False)))
    if getattr(args, "verify", False):
        problems = verify_raw(paths)
        for p in problems:
            print(f"verify: {p}")
        n = len(RawStore(paths.raw_dir).manifest_entries())
        print(f"verify: {n} manifest entries, {len(problems)} problem(s) in {paths.raw_dir}")
        return 1 if problems else 0
    try:
        cfg = load_config(args.config)
        report = pull_all(cfg, paths, since=args.since, until=args.until, live=args.live)
    except (ConfigError, PullError, RawStoreError) as e:
        print(f"pull: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.ok else 1
