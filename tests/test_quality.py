"""Implausible values: one stated rule, recorded at the pull, applied where snapshots are read; the panel never
double-counts and one absurd value cannot move the headline series."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from analysis.catalog import build_catalog
from analysis.config import load_config
from analysis.hub import RetryPolicy
from analysis.hub.pull import pull_all
from analysis.origin.registry import load_registry
from analysis.origin.tagging import tag_models
from analysis.panel import build_panel, primary_series
from analysis.paths import REPO_ROOT, Paths
from analysis.quality import ALLTIME_CEILING, DOWNLOADS_CEILING, NAMED, clean_snapshot
from analysis.raw import RawStore
from devtools.fakehub import FakeHub

REPO = "hfmlsoc/hub_weekly_snapshots"
FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
ABSURD = 2**62


def test_the_rule_on_a_known_table():
    t = pa.table({"id": ["a/1", "b/2", "a/1", "c/3", "d/4", "e/5", "b/2"],
                  "downloads": [10, 20, 99, -5, ABSURD, 7, 1],
                  "downloadsAllTime": [100, None, 5, 50, 60, ALLTIME_CEILING + 1, 3]})
    out = clean_snapshot(t)
    assert out.table["id"].to_pylist() == ["a/1", "b/2", "c/3", "d/4", "e/5"]  # first row of an id kept
    assert out.table["downloads"].to_pylist() == [10, 20, None, None, 7]
    assert out.table["downloadsAllTime"].to_pylist() == [100, None, 50, 60, None]
    q = out.quality
    assert (q.rows, q.duplicate_rows, q.duplicate_ids) == (7, 2, ("a/1", "b/2"))
    assert q.negative == {"downloads": 1} and q.above_ceiling == {"downloads": 1, "downloadsAllTime": 1}
    assert q.quarantined == ("c/3: downloads=-5", f"d/4: downloads={ABSURD}", f"e/5: downloadsAllTime={ALLTIME_CEILING + 1}")
    text = "\n".join(q.problems())
    assert "2 duplicate row(s) dropped (the first row of an id is kept): a/1, b/2" in text
    assert "1 negative value(s) of downloads quarantined" in text and "above the ceiling 1e+10" in text
    assert not q.ok and q.quarantined_values == 3
    # nothing to do: the same table back, the counts say so
    clean = pa.table({"id": ["a/1", "b/2"], "downloads": [1, DOWNLOADS_CEILING]})
    same = clean_snapshot(clean)
    assert same.table.equals(clean) and same.quality.ok
    empty = clean_snapshot(clean.slice(0, 0)).quality
    assert empty.empty and not empty.ok and "0 rows" in empty.problems()[0]


def test_many_problems_name_a_few_and_count_all():
    n = 500
    t = pa.table({"id": [f"m/{i % 100}" for i in range(n)], "downloads": [-1] * n})
    q = clean_snapshot(t).quality
    assert q.duplicate_rows == 400 and len(q.duplicate_ids) == NAMED
    assert q.negative == {"downloads": 100} and len(q.quarantined) == NAMED
    assert "(and 380 more)" in "\n".join(q.problems())


def test_any_key_column_dedupes_without_names():
    t = pa.table({"code": pa.array([3, 1, 3], pa.int32()), "downloads": [5, 6, 7]})
    out = clean_snapshot(t, key="code")
    assert out.table["downloads"].to_pylist() == [5, 6] and out.quality.duplicate_ids == ()


@pytest.mark.parametrize("spread", [10, 10**9])  # a dense range (bitmap) and a sparse one (hash)
def test_integer_keys_keep_the_first_row_of_each_code_whatever_their_range(spread):
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 50, 400) * spread
    t = pa.table({"code": pa.array(codes, pa.int64()), "downloads": np.arange(400)})
    out = clean_snapshot(t, key="code")
    _, first = np.unique(codes, return_index=True)
    assert out.table["downloads"].to_pylist() == sorted(first.tolist())
    assert out.quality.duplicate_rows == 400 - len(first)
    distinct = pa.table({"code": pa.array(rng.permutation(1000) * spread, pa.int64()), "downloads": np.ones(1000)})
    assert clean_snapshot(distinct, key="code").quality.duplicate_rows == 0


# --- through the pull, the catalog, the tags and the panel ----------------------------------------------------
@pytest.fixture(scope="module")
def faulty_root(hub_root, tmp_path_factory):
    """The tiny Hub with implausible rows in two weeks and an empty week.

    2025-01-15: the most downloaded model listed a second time with 2^62 downloads; a new model with 2^62 and one
    with -5. 2025-01-29: no rows at all. 2025-03-05: the most downloaded model's all-time count is 2^62.
    """
    root = tmp_path_factory.mktemp("faulty_hub")
    shutil.copytree(hub_root / "datasets", root / "datasets")
    shutil.copytree(hub_root / "live", root / "live")
    models = root / "datasets" / REPO / "models"
    f = models / "2025-01-15" / "models.parquet"
    t = pq.read_table(f)
    top = int(np.argmax(t["downloads"].to_numpy()))
    extra = t.take(pa.array([top, top, top]))
    ids = extra["id"].to_pylist()
    extra = extra.set_column(0, "id", pa.array([ids[0], "evil/absurd", "evil/negative"], pa.string()))
    extra = extra.set_column(extra.schema.get_field_index("downloads"), "downloads",
                             pa.array([ABSURD, ABSURD, -5], pa.int64()))
    pq.write_table(pa.concat_tables([t, extra]), f)
    g = models / "2025-03-05" / "models.parquet"
    t = pq.read_table(g)
    at = t.schema.get_field_index("downloadsAllTime")
    top = int(np.argmax(t["downloads"].to_numpy()))
    values = t["downloadsAllTime"].to_pylist()
    values[top] = ABSURD
    pq.write_table(t.set_column(at, "downloadsAllTime", pa.array(values, pa.int64())), g)
    h = models / "2025-01-29" / "models.parquet"
    pq.write_table(pq.read_table(h).slice(0, 0), h)
    return root


def _chain(root, hub_root, out):
    """Pull through the stand-in, then catalog, tags and panel as notebooks 02 and 03 build them."""
    cfg = load_config(overrides={"study.start": "2025-01-01", "study.end": "2025-03-19", "live.enabled": "false"})
    with FakeHub(root) as hub:
        report = pull_all(cfg, Paths(out, simulated=True), endpoint=hub.endpoint, retry=FAST, progress=False,
                          log=lambda line: None)
    store = RawStore(out / "data" / "demo" / "raw")
    dates = store.snapshot_dates("archive")
    snaps = [(d, store.path("archive", d)) for d in dates]
    catalog = build_catalog(snaps, row_codes_dir=out / "codes")
    tags = tag_models(catalog, load_registry(REPO_ROOT / "data/reference/organizations.csv"))
    tags = tags.merge(catalog.select(["id", "pipeline_tag"]).to_pandas(), on="id", how="left", validate="one_to_one")
    by_codes = build_panel(snaps, tags, row_codes_dir=out / "codes")
    by_id = build_panel(snaps, tags)
    return report, store, by_codes, by_id


def test_the_panel_never_double_counts_and_an_absurd_value_cannot_move_the_headline(hub_root, faulty_root, tmp_path):
    report, store, by_codes, by_id = _chain(faulty_root, hub_root, tmp_path / "faulty")
    _, _, clean, _ = _chain(hub_root, hub_root, tmp_path / "clean")
    assert report.ok and len(report.pulled) == 11
    # the raw files keep what the Hub served; the manifest names the problems
    raw = store.read("archive", "2025-01-15")
    assert pc.max(raw["downloads"]).as_py() == ABSURD and raw.num_rows == pq.read_metadata(
        faulty_root / "datasets" / REPO / "models" / "2025-01-15" / "models.parquet").num_rows
    q = store.entry("archive", "2025-01-15")["quality"]
    assert q["duplicate_rows"] == 1 and q["negative"] == {"downloads": 1} and q["above_ceiling"] == {"downloads": 1}
    assert q["quarantined"] == [f"evil/absurd: downloads={ABSURD}", "evil/negative: downloads=-5"]
    assert store.entry("archive", "2025-03-05")["quality"]["above_ceiling"] == {"downloadsAllTime": 1}
    assert store.entry("archive", "2025-01-29")["quality"]["rows"] == 0
    flagged = "\n".join(report.flagged)
    assert "archive/2025-01-15: 1 duplicate row(s) dropped" in flagged and "evil/absurd" in flagged
    assert "archive/2025-01-29: 0 rows" in flagged
    # summed without the rule, the absurd rows would swamp the week
    assert raw["downloads"].to_numpy().astype(float).sum() > 1e18  # (as the panel sums: in floating point)
    # with it, the 30-day panel is the clean Hub's, week for week (the empty week aside), by codes and by id
    for built in (by_codes, by_id):
        a = built.panel[built.panel["measure"] == "downloads_30d"].reset_index(drop=True)
        b = clean.panel[(clean.panel["measure"] == "downloads_30d")
                        & (clean.panel["date"] != "2025-01-29")].reset_index(drop=True)
        a = a[a["date"] != "2025-01-29"].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    assert by_codes.snapshots_matched_by_codes == len(store.snapshot_dates("archive"))
    # the headline series: identical values, the empty week a gap (not a zero share, not an infinite ratio)
    s = primary_series(by_codes.panel, "downloads_30d", "lineage", "all")
    c = primary_series(clean.panel, "downloads_30d", "lineage", "all")
    gap = s["date"] == pd.Timestamp("2025-01-29")
    assert s.loc[gap, "log_ratio"].isna().all() and np.isfinite(c.loc[gap, "log_ratio"]).all()
    pd.testing.assert_series_equal(s.loc[~gap, "log_ratio"], c.loc[~gap, "log_ratio"])
    # the all-time increments never see the absurd count (the weeks before and after it are computed)
    for built in (by_codes, by_id):
        inc = built.panel[built.panel["measure"] == "downloads_alltime_increment"]
        assert set(inc["date"].dt.date.astype(str)) >= {"2025-03-05", "2025-03-12"}
        assert 0 < inc["downloads"].max() < 1e10


def test_notebooks_show_the_counts(hub_root, faulty_root, tmp_path):
    _, store, _, _ = _chain(faulty_root, hub_root, tmp_path)
    table = store.quality_table("archive")
    row = table.set_index("date").loc["2025-01-15"]
    assert (row["duplicate_rows"], row["negative"], row["above_ceiling"], row["quarantined"]) == (1, 1, 1, 2)
    assert bool(table.set_index("date").loc["2025-01-29", "empty"])
    text = store.quality_summary([dt.date(2025, 1, 15), dt.date(2025, 1, 29)])
    assert text.startswith("implausible rows in 2 raw archive snapshot(s)")
    assert "1 duplicate row(s) dropped" in text and "2 count(s) quarantined" in text and "1 empty snapshot(s)" in text
    assert "2025-01-15: 1 duplicate row(s) dropped" in text and "2025-01-29: 0 rows" in text
