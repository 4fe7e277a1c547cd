"""Live listings through HfApi.list_models over HTTP, paginated by Link headers."""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis.config import load_config
from analysis.hub import RetryPolicy
from analysis.hub.fakehub import Fault, FakeHub
from analysis.hub import live as live_module
from analysis.hub.live import LIVE_EXPAND, LiveQuery, iter_live_batches
from analysis.hub.pull import pull_all
from analysis.paths import Paths
from analysis.raw import RawStore
from analysis.schema import RAW_SCHEMA

FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
TODAY = dt.date(2026, 3, 1)



def _live_pull(hub, root, **cfg):
    overrides = {"study.start": "2025-03-19", "live.enabled": "true"}
    overrides.update(cfg)
    return pull_all(load_config(overrides=overrides), Paths(root, simulated=True), endpoint=hub.endpoint,
                    retry=FAST, progress=False, today=TODAY, log=lambda line: None)


def test_live_listing_over_several_pages(hub_root, tmp_path):
    src = pq.read_table(hub_root / "live" / "models.parquet")
    expected = src.filter(pc.greater_equal(src["downloads"], 5))
    with FakeHub(hub_root, models_page_size=20) as hub:
        report = _live_pull(hub, tmp_path, **{"live.min_downloads": "5"})
        pages = hub.stats.total_requests("^/api/models$")
    assert report.ok and "live/2026-03-01" in report.pulled
    store = RawStore(tmp_path / "data" / "demo" / "raw")
    raw = store.read("live", TODAY)
    assert raw.schema.equals(RAW_SCHEMA)
    assert raw.num_rows == expected.num_rows > 60
    # the listing stops at the first page holding a model below min_downloads
    assert pages == -(-(expected.num_rows + 1) // 20) >= 3
    assert raw["downloads"].to_pylist() == sorted(expected["downloads"].to_pylist(), reverse=True)
    by_id = {r["id"]: r for r in expected.to_pylist()}
    for r in raw.to_pylist():
        s = by_id[r["id"]]
        assert (r["author"], r["downloads"], r["tags"], r["baseModels"]) == \
            (s["author"], s["downloads"], s["tags"], s["baseModels"])
        assert r["downloadsAllTime"] == s["downloadsAllTime"]
        created = s["createdAt"]
        if isinstance(created, str):
            created = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
        assert r["createdAt"] == created
    e = store.entry("live", TODAY)
    assert e["query"]["expand"] == list(LIVE_EXPAND) and e["query"]["min_downloads"] == 5
    assert e["simulated"] is True and e["rows"] == raw.num_rows
    assert store.verify() == []


def test_top_n_and_already_present(hub_root, tmp_path):
    src = pq.read_table(hub_root / "live" / "models.parquet")
    top = sorted(src["downloads"].to_pylist(), reverse=True)[:15]
    with FakeHub(hub_root, models_page_size=20) as hub:
        first = _live_pull(hub, tmp_path, **{"live.top_n": "15"})
        hub.stats.reset()
        second = _live_pull(hub, tmp_path, **{"live.top_n": "15"})
        assert hub.stats.total_requests("^/api/models$") == 0
    raw = RawStore(tmp_path / "data" / "demo" / "raw").read("live", TODAY)
    assert raw["downloads"].to_pylist() == top
    assert "live/2026-03-01" in first.pulled and "live/2026-03-01" in second.already_present


def test_live_listing_survives_a_rate_limit(hub_root):
    with FakeHub(hub_root, models_page_size=50) as hub:
        hub.faults = [Fault(path=r"^/api/models\?.*cursor=50", status=429, retry_after=0, times=1)]
        rows = sum(t.num_rows for t in iter_live_batches(LiveQuery(min_downloads=0), endpoint=hub.endpoint))
        assert hub.stats.statuses[429] == 1
    assert rows == pq.read_metadata(hub_root / "live" / "models.parquet").num_rows


def test_live_listing_streams_in_batches_and_reports_progress(hub_root):
    src = pq.read_table(hub_root / "live" / "models.parquet")
    counts: list[int] = []
    with FakeHub(hub_root, models_page_size=20) as hub:
        batches = list(iter_live_batches(LiveQuery(min_downloads=5), endpoint=hub.endpoint, batch_size=25,
                                         on_model=counts.append))
    n = pc.sum(pc.greater_equal(src["downloads"], 5)).as_py()
    assert [b.num_rows for b in batches] == [25] * (n // 25) + ([n % 25] if n % 25 else [])
    assert all(b.schema.equals(RAW_SCHEMA) for b in batches)
    assert counts == list(range(1, n + 1))


def test_live_listing_that_fails_part_way_leaves_nothing_and_restarts(hub_root, tmp_path, monkeypatch):
    """Two batches are written before page 3 fails: the partial file is discarded and the listing starts again."""
    monkeypatch.setattr(live_module, "LIVE_BATCH_SIZE", 20)
    src = pq.read_table(hub_root / "live" / "models.parquet")
    expected = pc.sum(pc.greater_equal(src["downloads"], 5)).as_py()
    with FakeHub(hub_root, models_page_size=20) as hub:
        # more 429s than huggingface_hub's own retries of one page: the client gives up and the pull restarts
        hub.faults = [Fault(path=r"^/api/models\?.*cursor=40", status=429, retry_after=0, times=6)]
        report = _live_pull(hub, tmp_path, **{"live.min_downloads": "5"})
        assert hub.stats.statuses[429] == 6
        first_pages = hub.stats.total_requests("^/api/models$")
    assert report.ok and report.retries >= 1 and "live/2026-03-01" in report.pulled
    assert first_pages > -(-(expected + 1) // 20)  # some pages were listed twice
    store = RawStore(tmp_path / "data" / "demo" / "raw")
    raw = store.read("live", TODAY)
    assert raw.num_rows == expected and len(set(raw["id"].to_pylist())) == expected
    assert store.partial_files() == [] and store.verify() == []
    assert len([e for e in store.manifest_entries() if e["kind"] == "live"]) == 1
