"""Today's state of the Hub through ``HfApi.list_models(expand=[...])``, in the raw schema.

The Hub keeps no download history, so a live listing is a snapshot nobody else keeps. Models are listed
sorted by 30-day downloads (most downloaded first); the listing stops at the first model below
``min_downloads`` (or after ``top_n`` models). Pages are chained by the Hub's ``Link`` header, followed by
huggingface_hub. The listing is converted and written in batches (:func:`iter_live_batches`), so a listing of
millions of models never sits in memory whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa

from ..schema import RAW_SCHEMA
from . import PullError, default_endpoint

#: Properties asked for with ``expand[]``: exactly the raw schema's columns (``id`` always comes back).
LIVE_EXPAND: tuple[str, ...] = tuple(n for n in RAW_SCHEMA.names if n != "id")


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


def iter_live_models(query: LiveQuery, *, endpoint: str | None = None) -> Iterator[Any]:
    """Yield ``ModelInfo`` objects, most downloaded first, while they satisfy the query.

    Raises
    ------
    PullError
        The listing is not sorted by downloads as requested (stopping early would then lose models).
    """
    from huggingface_hub import HfApi

    api = HfApi(endpoint=default_endpoint(endpoint))
    previous: int | None = None
    for n, m in enumerate(api.list_models(sort=query.sort, expand=list(query.expand), limit=query.top_n), 1):
        downloads = m.downloads if m.downloads is not None else 0
        if previous is not None and downloads > previous:
            raise PullError(f"live listing: model {n} ({m.id}) has {downloads} downloads after one with {previous}; "
                            "the listing is not sorted by downloads, so it cannot be cut at min_downloads")
        previous = downloads
        if downloads < query.min_downloads:
            return
        yield m


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
    return pa.table({n: pa.array(cols[n], RAW_SCHEMA.field(n).type) for n in RAW_SCHEMA.names}, schema=RAW_SCHEMA)


#: Models converted and written per batch of a live listing (bounds the memory of a listing of millions).
LIVE_BATCH_SIZE = 50_000


def iter_live_batches(query: LiveQuery, *, endpoint: str | None = None, batch_size: int | None = None,
                      on_model: Callable[[int], None] | None = None) -> Iterator[pa.Table]:
    """The live listing as RAW_SCHEMA tables of at most ``batch_size`` models, most downloaded first.

    Only one batch of ``ModelInfo`` values is held at a time, so a listing of millions of models streams to disk
    (:meth:`analysis.raw.RawStore.open_writer`). ``batch_size`` defaults to :data:`LIVE_BATCH_SIZE`.
    ``on_model(n)`` is called with the number of models listed so far.
    """
    batch_size = LIVE_BATCH_SIZE if batch_size is None else batch_size
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be at least 1")
    batch: list[Any] = []
    for n, m in enumerate(iter_live_models(query, endpoint=endpoint), 1):
        batch.append(m)
        if on_model is not None:
            on_model(n)
        if len(batch) >= batch_size:
            yield models_to_table(batch)
            batch = []
    if batch:
        yield models_to_table(batch)
