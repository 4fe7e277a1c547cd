"""Live listings through HfApi.list_models over HTTP, paginated by Link headers."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from analysis.config import load_config
from analysis.hub import RetryPolicy
from devtools.fakehub import Fault, FakeHub
from analysis.hub import live as live_module
from analysis.hub.live import LIVE_EXPAND, LiveListingStats, LiveQuery, iter_live_batches
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


def _served_order(table: pa.Table) -> pa.Table:
    """The table in the order the stand-in lists it with sort=downloads (stable, most downloaded first)."""
    return table.take(pc.array_sort_indices(table["downloads"], order="descending", null_placement="at_end"))


def _ordered_pairs(downloads: list[int]) -> int:
    return sum(a != b for a, b in zip(downloads, downloads[1:]))


def test_live_listing_over_several_pages(hub_root, tmp_path, monkeypatch):
    monkeypatch.setattr(live_module, "LIVE_PATIENCE", 30)
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
    # the listing stops after a run of LIVE_PATIENCE (30) models below min_downloads, not at the first one
    listed = expected.num_rows + 30
    assert src.num_rows > listed and pages == -(-listed // 20) >= 3
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
    ranked = _served_order(src)["downloads"].to_pylist()[:listed]
    assert e["out_of_order"] == 0
    assert e["listing"] == {"listed": listed, "kept": raw.num_rows, "out_of_order": 0,
                            "ordered_pairs": _ordered_pairs(ranked), "duplicates": 0, "stopped": "patience",
                            "patience": 30, "malformed": 0, "malformed_examples": [], "pages": pages,
                            "page_retries": 0, "resumed_at_page": 0, "simulated": True, "tagged": raw.num_rows}
    assert e["complete"] is True and e["simulated_evidence"].startswith("every model carries the tag")
    assert store.verify() == []


def test_counts_that_change_while_paging_are_kept_and_counted(hub_root, tmp_path, monkeypatch):
    """Counts double on the Hub after two pages: the model at the boundary is out of order, nothing is lost."""
    monkeypatch.setattr(live_module, "LIVE_PATIENCE", 30)
    src = pq.read_table(hub_root / "live" / "models.parquet")
    doubled = src.set_column(src.schema.get_field_index("downloads"), "downloads", pc.multiply(src["downloads"], 2))
    old, new = _served_order(src), _served_order(doubled)
    old_d, new_d = old["downloads"].to_pylist(), new["downloads"].to_pylist()
    threshold = old_d[39] + 1  # the last model of page 2 falls below min_downloads: a first-below stop ends here
    assert old_d[38] >= threshold and new_d[40] > old_d[39]  # ... and page 3, with new counts, is above again
    served_ids = old["id"].to_pylist()[:40] + new["id"].to_pylist()[40:]
    served_d = old_d[:40] + new_d[40:]
    last_kept = max(i for i, d in enumerate(served_d) if d >= threshold)
    assert last_kept > 40 and all(d < threshold for d in served_d[last_kept + 1:last_kept + 31])
    expected = [(i, d) for i, d in zip(served_ids[:last_kept + 1], served_d) if d >= threshold]
    with FakeHub(hub_root, models_page_size=20) as hub:
        hub.replace_live(doubled, after_pages=2)
        report = _live_pull(hub, tmp_path, **{"live.min_downloads": str(threshold)})
        pages = hub.stats.total_requests("^/api/models$")
    assert report.ok and "live/2026-03-01" in report.pulled
    store = RawStore(tmp_path / "data" / "demo" / "raw")
    raw = store.read("live", TODAY)
    assert list(zip(raw["id"].to_pylist(), raw["downloads"].to_pylist())) == expected
    assert len(expected) == 39 + sum(d >= threshold for d in new_d[40:])  # every model above, old page or new
    listed = last_kept + 1 + 30
    assert pages == -(-listed // 20)
    e = store.entry("live", TODAY)
    assert e["out_of_order"] == 1  # page 3's first model has more downloads than page 2's last
    assert e["listing"]["listed"] == listed and e["listing"]["kept"] == len(expected)
    assert e["listing"]["stopped"] == "patience" and e["rows"] == len(expected)


def test_a_model_listed_twice_while_counts_change_is_kept_once(hub_root, tmp_path, monkeypatch):
    """After page 1 the top model's count drops below page 2's: the offset cursor lists it again on page 2."""
    monkeypatch.setattr(live_module, "LIVE_PATIENCE", 30)
    src = _served_order(pq.read_table(hub_root / "live" / "models.parquet"))
    top = src["id"][0].as_py()
    d = src["downloads"].to_pylist()
    d[0] = d[30]  # now it sorts among ranks 30-31, i.e. on page 2 of the new order
    changed = src.set_column(src.schema.get_field_index("downloads"), "downloads", pa.array(d, pa.int64()))
    with FakeHub(hub_root, models_page_size=20) as hub:
        hub.replace_live(changed, after_pages=1)
        report = _live_pull(hub, tmp_path, **{"live.min_downloads": "5"})
    assert report.ok
    store = RawStore(tmp_path / "data" / "demo" / "raw")
    ids = store.read("live", TODAY)["id"].to_pylist()
    assert len(ids) == len(set(ids)) and ids.count(top) == 1 and ids[0] == top  # its first listing is kept
    e = store.entry("live", TODAY)
    assert e["listing"]["duplicates"] == 1 and e["rows"] == len(ids)


def _live_root(hub_root, tmp_path, table):
    root = tmp_path / "hub"
    (root / "live").mkdir(parents=True)
    (root / "datasets").symlink_to(hub_root / "datasets", target_is_directory=True)
    pq.write_table(table, root / "live" / "models.parquet")
    return root


def test_a_few_inversions_are_counted_exactly(hub_root, tmp_path):
    src = _served_order(pq.read_table(hub_root / "live" / "models.parquet"))
    order = list(range(src.num_rows))
    swaps = 0
    for k in range(0, src.num_rows - 1, 10):  # swap every tenth pair of neighbours
        order[k], order[k + 1] = order[k + 1], order[k]
        downloads = src["downloads"].to_pylist()
        swaps += downloads[k] != downloads[k + 1]  # a swap of equal counts is no inversion
    table = src.take(pa.array(order))
    assert swaps >= 10
    stats = LiveListingStats()
    with FakeHub(_live_root(hub_root, tmp_path, table), models_page_size=50, models_sorted=False) as hub:
        rows = pa.concat_tables(iter_live_batches(LiveQuery(min_downloads=0), endpoint=hub.endpoint, stats=stats))
    assert rows["id"].to_pylist() == table["id"].to_pylist()  # every model kept, in the order served
    assert stats.out_of_order == swaps and stats.stopped == "end"
    assert stats.listed == stats.kept == src.num_rows
    assert stats.ordered_pairs == _ordered_pairs(table["downloads"].to_pylist())


def test_a_listing_not_sorted_at_all_is_an_error(hub_root, tmp_path):
    src = pq.read_table(hub_root / "live" / "models.parquet")
    ascending = src.take(pc.sort_indices(src, sort_keys=[("downloads", "ascending")]))
    with FakeHub(_live_root(hub_root, tmp_path, ascending), models_page_size=20, models_sorted=False) as hub:
        with pytest.raises(live_module.PullError, match=r"100 of the first 100 pairs of neighbouring models"):
            list(iter_live_batches(LiveQuery(min_downloads=0), endpoint=hub.endpoint))
        report = _live_pull(hub, tmp_path, **{"live.min_downloads": "0"})
    assert [(f.kind, f.date) for f in report.failed] == [("live", "2026-03-01")]
    assert "not sorted by downloads as asked" in report.failed[0].reason
    assert report.retries == 0  # an unsorted listing is not retried
    store = RawStore(tmp_path / "data" / "demo" / "raw")
    assert not store.has("live", TODAY) and store.partial_files() == []


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
    stats = LiveListingStats()
    with FakeHub(hub_root, models_page_size=20) as hub:
        batches = list(iter_live_batches(LiveQuery(min_downloads=5), endpoint=hub.endpoint, batch_size=25,
                                         on_model=counts.append, stats=stats))
    n = pc.sum(pc.greater_equal(src["downloads"], 5)).as_py()
    assert [b.num_rows for b in batches] == [25] * (n // 25) + ([n % 25] if n % 25 else [])
    assert all(b.schema.equals(RAW_SCHEMA) for b in batches)
    assert counts == list(range(1, n + 1))
    # fewer models below min_downloads than the default patience (1,000): the listing runs to its end
    assert live_module.LIVE_PATIENCE == 1000 and src.num_rows - n < 1000
    assert (stats.listed, stats.kept, stats.out_of_order, stats.stopped) == (src.num_rows, n, 0, "end")


def test_a_page_that_keeps_failing_is_asked_again_alone(hub_root, tmp_path):
    """Page 3 is refused five times: the pull asks for page 3 again, never for the pages it already has."""
    src = pq.read_table(hub_root / "live" / "models.parquet")
    expected = pc.sum(pc.greater_equal(src["downloads"], 5)).as_py()
    sleep: list[float] = []
    with FakeHub(hub_root, models_page_size=20) as hub:
        hub.faults = [Fault(path=r"^/api/models\?.*cursor=40", status=429, retry_after=2, times=5)]
        report = pull_all(load_config(overrides={"study.start": "2025-03-19", "live.enabled": "true",
                                                 "live.min_downloads": "5"}),
                          Paths(tmp_path, simulated=True), endpoint=hub.endpoint,
                          retry=RetryPolicy(base_delay=0.001, sleep=sleep.append), progress=False, today=TODAY,
                          log=lambda line: None)
        assert hub.stats.statuses[429] == 5
        pages = hub.stats.total_requests("^/api/models$")
    assert report.ok and report.retries == 5 and "live/2026-03-01" in report.pulled
    assert sleep == [2.0] * 5  # the Retry-After, waited by the pull's policy (within its cap) and by no one else
    one_listing = -(-src.num_rows // 20)  # fewer models below min_downloads than LIVE_PATIENCE: to the end
    assert pages == one_listing + 5  # page 3 asked five times more, nothing else asked twice
    store = RawStore(tmp_path / "data" / "demo" / "raw")
    raw = store.read("live", TODAY)
    assert raw.num_rows == expected and len(set(raw["id"].to_pylist())) == expected
    assert store.partial_files() == [] and store.verify() == [] and store.resume_dirs() == []
    assert len([e for e in store.manifest_entries() if e["kind"] == "live"]) == 1
