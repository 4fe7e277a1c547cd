"""Today's state of the Hub through the ``/api/models`` listing, in the raw schema, page by page.

The Hub keeps no download history, so a live listing is a snapshot nobody else keeps. Models are listed
sorted by 30-day downloads (most downloaded first), with the same query ``HfApi.list_models(sort="downloads",
expand=[...])`` sends. The pages are chained by the Hub's ``Link`` header and requested one by one with
huggingface_hub's HTTP client (``http_backoff`` with no retries of its own); the pull's
:class:`~analysis.hub.RetryPolicy` retries a page that fails (429, 5xx, a dropped connection, a timeout) or whose
body is not complete JSON (a truncated page), within the ``Retry-After`` cap and the deadline. Each record becomes a ``huggingface_hub.ModelInfo`` exactly as ``list_models`` builds it.

Robust to what the Hub sends
    A record that is not a usable model (no id, a count that is not an integer, a date that does not parse, tags
    that are not a list of strings, anything ``ModelInfo`` refuses) is skipped, counted and named
    (:class:`LiveListingStats` ``malformed``, ``malformed_examples``); the rest of the listing is kept.

Counts change while it is paged
    Counts change on the Hub while a listing of a thousand pages or more is paged, so the order is only nearly
    sorted: a model may have more downloads than the one before it (an *inversion*, mostly at page boundaries).
    Inversions are tolerated and counted (``out_of_order``); models below ``min_downloads`` are left out, and the
    listing stops only after :data:`LIVE_PATIENCE` consecutive models below ``min_downloads`` (or after ``top_n``
    models, or at its end). A listing where most pairs of neighbours are inverted is not sorted at all and raises
    an error. A model listed a second time (the cursor is an offset) keeps its first listing.

Resumable
    :func:`iter_live_pages` yields each complete page with the state needed to continue after it
    (:class:`LiveState`); the pull saves both, so a listing that fails part-way resumes from the last complete
    page (the same day: a later day's listing is another snapshot).

Simulated or real
    Every model of a simulated Hub carries :data:`analysis.simulate.hub.SIMULATED_TAG`. The listing is simulated
    if every model of its first page carries it, real otherwise; a later model that contradicts the first page
    stops the listing (:class:`~analysis.hub.RunKindError`). A real model that happens to carry the tag is counted
    (``tagged``), nothing more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa

from ..quality import NAMED
from ..schema import DERIVED_COLUMNS, RAW_SCHEMA
from ..simulate.hub import SIMULATED_TAG
from . import (IncompleteReadError, PullError, RetryPolicy, RunKindError, default_endpoint, public_endpoint)

#: Properties asked for with ``expand[]``: the raw schema's columns (``id`` always comes back), where a column is
#: derived from other properties (``params_total`` from ``safetensors`` and ``gguf``) those properties instead.
LIVE_EXPAND: tuple[str, ...] = tuple(dict.fromkeys(
    p for n in RAW_SCHEMA.names if n != "id" for p in DERIVED_COLUMNS.get(n, (n,))))

#: The listing stops after this many consecutive models below ``min_downloads`` (a patience window: counts that
#: change while the listing is paged can put a model above the threshold after some below it).
LIVE_PATIENCE = 1000

#: Pairs of neighbours with different download counts seen before the listing may be judged unsorted.
UNSORTED_MIN_PAIRS = 100

#: Share of those pairs that are inversions above which the listing is not sorted at all (an error).
UNSORTED_SHARE = 0.5

#: Models converted and written per batch of a live listing (bounds the memory of a listing of millions).
LIVE_BATCH_SIZE = 50_000


@dataclass(frozen=True)
class LiveQuery:
    """What a live listing asks the Hub for (recorded in the manifest).

    Attributes
    ----------
    min_downloads : int
        Keep models with at least this many 30-day downloads.
    top_n : int or None
        Keep only the N most downloaded models (None = no cap).
    """

    min_downloads: int = 1
    top_n: int | None = None
    sort: str = "downloads"
    expand: tuple[str, ...] = LIVE_EXPAND

    def as_dict(self) -> dict[str, Any]:
        return {"method": "HfApi.list_models", "sort": self.sort, "direction": "descending",
                "expand": list(self.expand), "min_downloads": self.min_downloads, "top_n": self.top_n}

    def params(self) -> dict[str, Any]:
        """Query parameters of the first page, as ``HfApi.list_models`` sends them."""
        out: dict[str, Any] = {"sort": self.sort, "expand": list(self.expand)}
        if self.top_n is not None:
            out["limit"] = self.top_n
        return out


@dataclass
class LiveListingStats:
    """What one live listing saw (filled in while it is listed; the pull records it in the manifest entry).

    Attributes
    ----------
    listed : int
        Models received from the Hub, kept or not (malformed records included).
    kept : int
        Models kept (at least ``min_downloads``, well formed, first listing).
    out_of_order : int
        Inversions: models with more downloads than the model listed just before them.
    ordered_pairs : int
        Pairs of neighbours with different download counts (inversions included).
    duplicates : int
        Models listed a second time (the Hub's cursor is an offset, so a model whose count fell while the
        listing was paged can come round again); only their first listing is kept.
    malformed : int
        Records skipped because they are not a usable model; ``malformed_examples`` names up to
        :data:`analysis.quality.NAMED` of them (id and what is wrong).
    pages : int
        Complete pages received; ``page_retries``: pages asked again after an answer that was not complete JSON.
    resumed_at_page : int
        Pages of an earlier, interrupted attempt the listing resumed after (0: it started from the first page).
    simulated : bool or None
        Whether the listing is a simulated Hub's (every model of its first page carries the tag); None before
        the first model. ``tagged`` counts the models kept that carry the tag.
    stopped : str
        Why the listing ended: ``"patience"`` (a run of :data:`LIVE_PATIENCE` models below ``min_downloads``),
        or ``"end"`` (the Hub's last page, or ``top_n`` models).
    patience : int
        The patience window used.
    """

    listed: int = 0
    kept: int = 0
    out_of_order: int = 0
    ordered_pairs: int = 0
    duplicates: int = 0
    malformed: int = 0
    malformed_examples: list = field(default_factory=list)
    pages: int = 0
    page_retries: int = 0
    resumed_at_page: int = 0
    simulated: bool | None = None
    tagged: int = 0
    stopped: str = ""
    patience: int = field(default=LIVE_PATIENCE)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LiveState:
    """Where a listing stands after a complete page: enough to continue it in another process.

    Attributes
    ----------
    next_url : str or None
        The next page's URL (the ``Link`` header of the last page received); None before the first page.
    stats : LiveListingStats
    previous : int or None
        Downloads of the last model listed (for the inversion count).
    below : int
        Consecutive models below ``min_downloads`` at the end of the last page.
    done : bool
        True once the listing has ended.
    """

    next_url: str | None = None
    stats: LiveListingStats = field(default_factory=LiveListingStats)
    previous: int | None = None
    below: int = 0
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"next_url": self.next_url, "stats": self.stats.as_dict(), "previous": self.previous,
                "below": self.below, "done": self.done}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LiveState":
        return cls(next_url=d.get("next_url"), stats=LiveListingStats(**d.get("stats", {})),
                   previous=d.get("previous"), below=int(d.get("below", 0)), done=bool(d.get("done", False)))


@dataclass(frozen=True)
class LivePage:
    """One complete page: its kept models (RAW_SCHEMA) and the state after it."""

    number: int
    table: pa.Table
    state: LiveState


def _int_or_none(item: dict, key: str) -> str | None:
    v = item.get(key)
    if v is None or (isinstance(v, int) and not isinstance(v, bool)):
        return None
    return f"{key}={v!r}"


def _check_record(item: Any) -> tuple[Any, str | None]:
    """(ModelInfo, None) for a usable record; (None, "<id>: <what is wrong>") for a malformed one."""
    from huggingface_hub import ModelInfo

    if not isinstance(item, dict):
        return None, f"record {str(item)[:60]!r}: not a JSON object"
    mid = item.get("id")
    if not isinstance(mid, str) or not mid.strip():
        return None, f"record without a usable id ({str(mid)[:60]!r})"
    problems = [p for p in (_int_or_none(item, k) for k in ("downloads", "downloadsAllTime", "likes")) if p]
    tags = item.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        problems.append(f"tags={str(tags)[:40]!r}")
    for k in ("author", "pipeline_tag", "library_name"):
        if item.get(k) is not None and not isinstance(item.get(k), str):
            problems.append(f"{k}={str(item.get(k))[:40]!r}")
    bm = item.get("baseModels")
    if bm is not None and not isinstance(bm, dict):
        problems.append(f"baseModels={str(bm)[:40]!r}")
    if problems:
        return None, f"{mid}: {', '.join(problems)}"
    try:
        m = ModelInfo(**{**item, "siblings": item.get("siblings")})
        _created_at(m.created_at)
    except Exception as e:  # whatever ModelInfo (or the date) refuses makes the record unusable
        return None, f"{mid}: {type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''}"
    return m, None


class _Stop(Exception):
    pass


def _fetch_page(url: str, params: dict | None, number: int, shown: str) -> tuple[list, str | None]:
    """One page of the listing: (records, next page URL). A body that is not a complete JSON list is retryable."""
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_backoff

    # one try here: the pull's RetryPolicy retries the page (Retry-After cap, deadline), not a second layer
    r = http_backoff("GET", url, params=params, headers=build_hf_headers(), max_retries=0)
    hf_raise_for_status(r)
    try:
        items = r.json()
    except ValueError as e:
        raise IncompleteReadError(f"live listing page {number} from {shown}/api/models: the answer is not complete "
                                  f"JSON ({len(r.content)} bytes; {str(e).splitlines()[0]})") from None
    if not isinstance(items, list):
        raise IncompleteReadError(f"live listing page {number} from {shown}/api/models: expected a JSON list of "
                                  f"models, got {type(items).__name__}")
    return items, r.links.get("next", {}).get("url")


def iter_live_pages(query: LiveQuery, *, endpoint: str | None = None, state: LiveState | None = None,
                    seen: set[str] | None = None, retry: RetryPolicy | None = None,
                    expect_simulated: bool | None = None,
                    on_retry: Callable[[int, float, BaseException], None] | None = None,
                    on_model: Callable[[int], None] | None = None) -> Iterator[LivePage]:
    """The listing, one complete page at a time, each with the state to continue after it.

    Parameters
    ----------
    query : LiveQuery
    endpoint : str, optional
        Hub endpoint; default huggingface_hub's configured one.
    state : LiveState, optional
        Continue an interrupted listing after its last complete page (``state.next_url``); with it, ``seen``
        must hold the ids kept so far.
    seen : set of str, optional
        Ids kept so far (filled in as the listing goes).
    retry : RetryPolicy, optional
        Retries of each page (HTTP errors once huggingface_hub's own retries are spent, truncated bodies).
    expect_simulated : bool, optional
        The kind of Hub the caller expects; a first page of the other kind raises
        :class:`~analysis.hub.RunKindError` before anything is yielded.
    on_retry, on_model : callable, optional
        ``on_retry(attempt, delay, error)`` before each wait; ``on_model(n)`` with the number of models kept.

    Raises
    ------
    PullError
        The listing is not sorted by downloads at all (after :data:`UNSORTED_MIN_PAIRS` pairs of neighbours with
        different counts, more than :data:`UNSORTED_SHARE` of them are inversions). Not retried.
    RunKindError
        The listing is not of the expected kind, or its models contradict its first page.
    RetriesExhaustedError
        A page kept failing.
    """
    ep = default_endpoint(endpoint)
    shown = public_endpoint(ep)
    retry = retry or RetryPolicy()
    state = state or LiveState()
    seen = set() if seen is None else seen
    stats = state.stats
    stats.patience = patience = LIVE_PATIENCE
    if patience < 1:
        raise ValueError(f"LIVE_PATIENCE={patience} must be at least 1")
    if state.done:
        return
    number = stats.pages
    url, params = (state.next_url, None) if state.next_url else (f"{ep}/api/models", query.params())
    while url is not None:
        number += 1
        what = f"live listing page {number} ({shown}/api/models)"

        def counted_retry(attempt: int, wait: float, error: BaseException) -> None:
            if isinstance(error, IncompleteReadError):
                stats.page_retries += 1
            if on_retry is not None:
                on_retry(attempt, wait, error)

        items, next_url = retry.call(lambda: _fetch_page(url, params, number, shown), what, counted_retry)
        rows: list[Any] = []
        previous, below = state.previous, state.below
        checked = [_check_record(item) for item in items]
        try:
            for m, bad in checked:
                stats.listed += 1
                if m is None:
                    stats.malformed += 1
                    if len(stats.malformed_examples) < NAMED:
                        stats.malformed_examples.append(bad)
                    continue
                downloads = m.downloads if m.downloads is not None else 0
                if previous is not None and downloads != previous:
                    stats.ordered_pairs += 1
                    if downloads > previous:
                        stats.out_of_order += 1
                    if stats.ordered_pairs >= UNSORTED_MIN_PAIRS and \
                            stats.out_of_order > UNSORTED_SHARE * stats.ordered_pairs:
                        raise PullError(
                            f"live listing: {stats.out_of_order} of the first {stats.ordered_pairs} pairs of "
                            f"neighbouring models (with different counts) are out of order (model {stats.listed}, "
                            f"{m.id}, has {downloads} downloads after one with {previous}); the listing is not sorted "
                            f"by {query.sort} as asked, so it cannot be cut at min_downloads. Check the endpoint "
                            "(HF_ENDPOINT) and try again later.")
                previous = downloads
                tagged = SIMULATED_TAG in (m.tags or [])
                if stats.simulated is None:  # the first model: the whole first page (its usable models) decides
                    stats.simulated = all(SIMULATED_TAG in (x.tags or []) for x, _ in checked if x is not None)
                    if expect_simulated is not None and stats.simulated != expect_simulated:
                        seen_as = ("every model of its first page carries the simulated-Hub tag" if stats.simulated
                                   else "its first page has models without the simulated-Hub tag")
                        raise RunKindError(
                            f"the live listing at {shown}/api/models is {_kind(stats.simulated)} ({seen_as} "
                            f"{SIMULATED_TAG!r}), but this pull stores {_kind(expect_simulated)} data; nothing of it "
                            "was stored")
                elif stats.simulated and not tagged:
                    raise RunKindError(
                        f"the live listing at {shown}/api/models mixes kinds: its first page is a simulated Hub's, "
                        f"but model {m.id} (model {stats.listed}) does not carry the tag {SIMULATED_TAG!r}; nothing of "
                        "it was stored")
                if downloads < query.min_downloads:
                    below += 1
                    if below >= patience:
                        stats.stopped = "patience"
                        raise _Stop
                    continue
                below = 0
                if m.id in seen:  # listed again after its count changed: the first listing stays
                    stats.duplicates += 1
                    continue
                seen.add(m.id)
                stats.kept += 1
                stats.tagged += tagged
                rows.append(m)
                if on_model is not None:
                    on_model(stats.kept)
                if query.top_n is not None and stats.listed >= query.top_n:
                    stats.stopped = "end"
                    raise _Stop
            done = next_url is None
            if done:
                stats.stopped = "end"
        except _Stop:
            done = True
        stats.pages = number
        state = LiveState(next_url=next_url, stats=stats, previous=previous, below=below, done=done)
        yield LivePage(number, models_to_table(rows), state)
        if done:
            return
        url, params = next_url, None


def _kind(simulated: bool) -> str:
    return "SIMULATED" if simulated else "real"


def _created_at(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _base_models(value: Any) -> dict[str, Any] | None:
    if not value:
        return None
    models = value.get("models") if isinstance(value, dict) else None
    return {"relation": value.get("relation") if isinstance(value, dict) else None,
            "models": [{"id": m.get("id") if isinstance(m, dict) else str(m)} for m in models]
            if isinstance(models, list) else None}


def _whole(value: Any) -> int | None:
    """A parameter count as an int, or None when it is absent or not a whole number within int64."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value) if not isinstance(value, int) else value
        i = int(f)
    except (TypeError, ValueError, OverflowError):
        return None
    return i if i == f and -2**63 <= i < 2**63 else None


def params_total(model: Any) -> int | None:
    """The total parameter count of a ``ModelInfo``: its safetensors total, else its GGUF total, else None.

    Same rule as the archive's :func:`analysis.hub.archive.params_total_column`; a total that is not a whole number
    is None (the live listing has no drift notes; notebook 06 reads the archive snapshots only).
    """
    st = getattr(model, "safetensors", None)
    total = _whole(st.get("total") if isinstance(st, dict) else getattr(st, "total", None))
    if total is None:
        gg = getattr(model, "gguf", None)
        total = _whole(gg.get("total") if isinstance(gg, dict) else None)
    return total


def models_to_table(models: Iterable[Any]) -> pa.Table:
    """Convert ``ModelInfo`` objects to a table with exactly RAW_SCHEMA."""
    cols: dict[str, list[Any]] = {n: [] for n in RAW_SCHEMA.names}
    for m in models:
        cols["id"].append(m.id)
        cols["author"].append(m.author)
        cols["createdAt"].append(_created_at(m.created_at))
        cols["downloads"].append(int(m.downloads or 0))
        cols["downloadsAllTime"].append(m.downloads_all_time)
        cols["likes"].append(m.likes)
        cols["pipeline_tag"].append(m.pipeline_tag)
        cols["library_name"].append(m.library_name)
        cols["tags"].append(m.tags)
        cols["baseModels"].append(_base_models(getattr(m, "base_models", None)))
        cols["params_total"].append(params_total(m))
    return pa.table({n: pa.array(cols[n], RAW_SCHEMA.field(n).type) for n in RAW_SCHEMA.names}, schema=RAW_SCHEMA)


def iter_live_batches(query: LiveQuery, *, endpoint: str | None = None, batch_size: int | None = None,
                      on_model: Callable[[int], None] | None = None,
                      stats: LiveListingStats | None = None, retry: RetryPolicy | None = None) -> Iterator[pa.Table]:
    """The live listing as RAW_SCHEMA tables of at most ``batch_size`` models, most downloaded first.

    The listing in one go, without saving pages (see :func:`iter_live_pages` for a resumable one). Only one batch
    is held at a time. ``batch_size`` defaults to :data:`LIVE_BATCH_SIZE`. ``on_model(n)`` is called with the
    number of models kept so far; ``stats`` is filled in.
    """
    batch_size = LIVE_BATCH_SIZE if batch_size is None else batch_size
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be at least 1")
    state = LiveState(stats=stats if stats is not None else LiveListingStats())
    pending: list[pa.Table] = []
    held = 0
    for page in iter_live_pages(query, endpoint=endpoint, state=state, retry=retry, on_model=on_model):
        pending.append(page.table)
        held += page.table.num_rows
        while held >= batch_size:
            t = pa.concat_tables(pending)
            yield t.slice(0, batch_size)
            rest = t.slice(batch_size)
            pending, held = [rest], rest.num_rows
    if held:
        yield pa.concat_tables(pending)
