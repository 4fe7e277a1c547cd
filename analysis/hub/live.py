"""Today's state of the Hub through ``HfApi.list_models(expand=[...])``, in the raw schema.

The Hub keeps no download history, so a live listing is a snapshot nobody else keeps. Models are listed
sorted by 30-day downloads (most downloaded first). Pages are chained by the Hub's ``Link`` header, followed by
huggingface_hub, which retries each page itself (:data:`analysis.hub.HF_CLIENT_RETRIES`) before the pull's
:class:`~analysis.hub.RetryPolicy` restarts the listing.

Counts change on the Hub while a listing of a thousand pages or more is paged, so the order is only nearly
sorted: a model may have more downloads than the one before it (an *inversion*, mostly at page boundaries).
Inversions are tolerated and counted (:class:`LiveListingStats`, recorded in the manifest entry as
``out_of_order``); models below ``min_downloads`` are left out, and the listing stops only after
:data:`LIVE_PATIENCE` consecutive models below ``min_downloads`` (or after ``top_n`` models, or at its end).
A listing where most pairs of neighbours are inverted is not sorted at all and raises an error.

The listing is converted and written in batches (:func:`iter_live_batches`), so a listing of millions of models
never sits in memory whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa

from ..schema import DERIVED_COLUMNS, RAW_SCHEMA
from . import PullError, default_endpoint

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


@dataclass
class LiveListingStats:
    """What one live listing saw (filled in while it is listed; the pull records it in the manifest entry).

    Attributes
    ----------
    listed : int
        Models received from the Hub, kept or not.
    kept : int
        Models yielded (at least ``min_downloads``).
    out_of_order : int
        Inversions: models with more downloads than the model listed just before them.
    ordered_pairs : int
        Pairs of neighbours with different download counts (inversions included).
    duplicates : int
        Models listed a second time (the Hub's cursor is an offset, so a model whose count fell while the
        listing was paged can come round again); only their first listing is kept.
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
    stopped: str = ""
    patience: int = field(default=LIVE_PATIENCE)

    def as_dict(self) -> dict[str, Any]:
        return {"listed": self.listed, "kept": self.kept, "out_of_order": self.out_of_order,
                "ordered_pairs": self.ordered_pairs, "duplicates": self.duplicates, "stopped": self.stopped,
                "patience": self.patience}


def iter_live_models(query: LiveQuery, *, endpoint: str | None = None,
                     stats: LiveListingStats | None = None) -> Iterator[Any]:
    """Yield ``ModelInfo`` objects with at least ``min_downloads``, in the Hub's (nearly sorted) order.

    Parameters
    ----------
    query : LiveQuery
    endpoint : str, optional
        Hub endpoint; default huggingface_hub's configured one.
    stats : LiveListingStats, optional
        Filled in as the listing goes: models listed and kept, inversions, why it stopped.

    Notes
    -----
    Models below ``min_downloads`` are skipped; the listing stops after :data:`LIVE_PATIENCE` of them in a row
    (read when the listing starts). Inversions (more downloads than the previous model) are counted, not fatal.
    A model listed a second time is skipped and counted (``stats.duplicates``), so the file has one row per id.

    Raises
    ------
    PullError
        The listing is not sorted by downloads at all: after :data:`UNSORTED_MIN_PAIRS` pairs of neighbours with
        different counts, more than :data:`UNSORTED_SHARE` of them are inversions. Not retried.
    """
    from huggingface_hub import HfApi

    stats = LiveListingStats() if stats is None else stats
    stats.patience = patience = LIVE_PATIENCE
    if patience < 1:
        raise ValueError(f"LIVE_PATIENCE={patience} must be at least 1")
    api = HfApi(endpoint=default_endpoint(endpoint))
    previous: int | None = None
    below = 0  # consecutive models below min_downloads
    seen: set[str] = set()  # ids kept so far (about 100 bytes each)
    for m in api.list_models(sort=query.sort, expand=list(query.expand), limit=query.top_n):
        stats.listed += 1
        downloads = m.downloads if m.downloads is not None else 0
        if previous is not None and downloads != previous:
            stats.ordered_pairs += 1
            if downloads > previous:
                stats.out_of_order += 1
            if stats.ordered_pairs >= UNSORTED_MIN_PAIRS and stats.out_of_order > UNSORTED_SHARE * stats.ordered_pairs:
                raise PullError(
                    f"live listing: {stats.out_of_order} of the first {stats.ordered_pairs} pairs of neighbouring "
                    f"models (with different counts) are out of order (model {stats.listed}, {m.id}, has {downloads} "
                    f"downloads after one with {previous}); the listing is not sorted by {query.sort} as asked, so "
                    "it cannot be cut at min_downloads. Check the endpoint (HF_ENDPOINT) and try again later.")
        previous = downloads
        if downloads < query.min_downloads:
            below += 1
            if below >= patience:
                stats.stopped = "patience"
                return
            continue
        below = 0
        if m.id in seen:  # listed again after its count changed: the first listing stays
            stats.duplicates += 1
            continue
        seen.add(m.id)
        stats.kept += 1
        yield m
    stats.stopped = "end"


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


#: Models converted and written per batch of a live listing (bounds the memory of a listing of millions).
LIVE_BATCH_SIZE = 50_000


def iter_live_batches(query: LiveQuery, *, endpoint: str | None = None, batch_size: int | None = None,
                      on_model: Callable[[int], None] | None = None,
                      stats: LiveListingStats | None = None) -> Iterator[pa.Table]:
    """The live listing as RAW_SCHEMA tables of at most ``batch_size`` models, most downloaded first.

    Only one batch of ``ModelInfo`` values is held at a time, so a listing of millions of models streams to disk
    (:meth:`analysis.raw.RawStore.open_writer`). ``batch_size`` defaults to :data:`LIVE_BATCH_SIZE`.
    ``on_model(n)`` is called with the number of models kept so far; ``stats`` is passed to
    :func:`iter_live_models`.
    """
    batch_size = LIVE_BATCH_SIZE if batch_size is None else batch_size
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be at least 1")
    batch: list[Any] = []
    for n, m in enumerate(iter_live_models(query, endpoint=endpoint, stats=stats), 1):
        batch.append(m)
        if on_model is not None:
            on_model(n)
        if len(batch) >= batch_size:
            yield models_to_table(batch)
            batch = []
    if batch:
        yield models_to_table(batch)
