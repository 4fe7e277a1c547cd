"""The thin pull (archive.metadata_every >= 1): weekly columns of every week, metadata only where the rule reads it.

Every pull runs huggingface_hub over HTTP against the local stand-in. Known answers: on a Hub whose models never
change their metadata, a thin store gives the catalog, tags, panel and factors of a full pull; on a Hub where 10% of
the models edit their metadata and some are deleted, a thin store under rule N gives exactly the catalog the full
store gives under the same rule, and a finer rule is refused until a pull fetches the rows it needs.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.catalog import CatalogError, build_catalog, plan_metadata
from analysis.config import load_config
from analysis.factors import choose_split, compute_factors, thin_metadata
from analysis.hub import RetryPolicy
from analysis.hub.pull import pull_all
from analysis.origin import tag_models
from analysis.panel import build_panel
from analysis.paths import Paths
from analysis.raw import RawStore, thin_snapshot
from analysis.schema import METADATA_COLUMNS, WEEKLY_COLUMNS, WEEKLY_SCHEMA
from analysis.simulate.store import StoreSpec, store_registry, write_archive
from devtools.fakehub import FakeHub

REPO = "hfmlsoc/hub_weekly_snapshots"
FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)


def _pull(endpoint, root, every, *, simulated=True, start="2025-01-01", **cfg):
    config = load_config(overrides={"study.start": start, "live.enabled": "false",
                                    "archive.metadata_every": str(every), **cfg})
    return pull_all(config, Paths(root, simulated=simulated), endpoint=endpoint, retry=FAST, progress=False,
                    log=lambda line: None)


def _store(root, simulated=True) -> RawStore:
    return RawStore(Paths(root, simulated=simulated).raw_dir)


def _snaps(store: RawStore):
    return [(d, store.path("archive", d)) for d in store.snapshot_dates("archive")]


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by("id")


@pytest.fixture(scope="module")
def tiny_pulls(hub_root, tmp_path_factory):
    """The tiny simulated Hub (static metadata, no model deleted) pulled thin (rule 13) and full."""
    thin_root, full_root = tmp_path_factory.mktemp("thin"), tmp_path_factory.mktemp("full")
    with FakeHub(hub_root) as hub:
        thin = _pull(hub.endpoint, thin_root, 13)
        thin_bytes = hub.stats.total_bytes(r"/resolve/.*\.parquet$")
        hub.stats.reset()
        full = _pull(hub.endpoint, full_root, 0)
        full_bytes = hub.stats.total_bytes(r"/resolve/.*\.parquet$")
    assert thin.ok and full.ok
    return {"thin": _store(thin_root), "full": _store(full_root), "thin_report": thin, "full_report": full,
            "thin_bytes": thin_bytes, "full_bytes": full_bytes}


def test_thin_store_holds_the_weekly_columns_of_every_week_and_the_planned_metadata(hub_root, tiny_pulls):
    thin, full = tiny_pulls["thin"], tiny_pulls["full"]
    dates = thin.snapshot_dates("archive")
    assert dates == full.snapshot_dates("archive") and len(dates) == 11
    newest = dates[-1]
    for d in dates:
        path = thin.path("archive", d)
        assert pq.read_schema(path).remove_metadata().equals(WEEKLY_SCHEMA)
        assert pq.read_table(path).equals(full.read("archive", d, columns=list(WEEKLY_COLUMNS)))
        e = thin.entry("archive", d)
        assert e["thin"] == {"metadata_every": 13, "epoch": "2024-07-24"} and e["metadata_every"] == 13
        assert e["columns_read"] == [c for c in WEEKLY_COLUMNS if c in pq.read_schema(
            hub_root / "datasets" / REPO / "models" / d.isoformat() / "models.parquet").names]
        assert sum(e["source_row_groups"]) == e["rows"]
        # the metadata the parts hold is the full pull's, row for row
        ts = thin_snapshot(path)
        if ts.stored.size:
            got = ts.read_rows(ts.stored, ["id"] + list(METADATA_COLUMNS))
            want = full.read("archive", d).take(pa.array(ts.stored)).select(["id"] + list(METADATA_COLUMNS))
            assert got.equals(want), d
    # the newest snapshot's metadata is fetched whole; no model disappears on this Hub, so nothing else is needed
    assert thin_snapshot(thin.path("archive", newest)).stored.size == thin.entry("archive", newest)["rows"]
    parts = [e for e in thin.manifest_entries() if e["kind"] == "metadata"]
    assert [(e["date"], e["part"]) for e in parts] == [(newest.isoformat(), 1)]
    assert tiny_pulls["thin_report"].metadata_pulled == (f"metadata/{newest} ({parts[0]['rows']:,} rows, part 1)",)
    p = parts[0]
    assert p["thin"]["metadata_every"] == 13 and p["for_file"] == thin.entry("archive", newest)["file"]
    assert p["for_sha256"] == thin.entry("archive", newest)["sha256"]
    assert p["row_groups_read"] == list(range(p["row_groups_total"]))
    assert p["bytes_read"] > 0 and p["commit"] == thin.entry("archive", newest)["commit"]
    assert thin.verify() == [] and full.verify() == []
    # reading a thin snapshot as raw rows: metadata where stored, nulls elsewhere
    oldest = thin.read("archive", dates[0])
    assert oldest.num_rows == thin.entry("archive", dates[0])["rows"] and oldest["tags"].null_count == oldest.num_rows
    # (on 300 models the files' footers weigh most of what is read: the bytes are measured on a larger Hub below)
    assert tiny_pulls["thin_bytes"] < tiny_pulls["full_bytes"]
    assert tiny_pulls["thin_report"].bytes_read == tiny_pulls["thin_bytes"]


def test_metadata_parts_are_read_row_group_by_row_group_in_the_order_asked(tmp_path):
    """``ThinSnapshot.read_rows`` reads only the row groups holding a wanted row, hands each one's wanted rows to
    ``transform`` at once, and returns the rows in the order given, across parts."""
    from analysis.raw import RawStoreError, ThinSnapshot

    def part(path, rows, group):
        pq.write_table(pa.table({"row": pa.array(rows, pa.int64()), "id": [f"o/m{r}" for r in rows],
                                 "tags": [[f"t{r}", "base_model:x"] for r in rows]}), path, row_group_size=group)
        return path

    even, odd = list(range(0, 40, 2)), [1, 3, 5]
    parts = (part(tmp_path / "a.parquet", even, 6), part(tmp_path / "b.parquet", odd, 2))
    stored = np.array(sorted(even + odd))
    where = (np.array([0 if r % 2 == 0 else 1 for r in stored]),
             np.array([even.index(r) if r % 2 == 0 else odd.index(r) for r in stored]))
    ts = ThinSnapshot(path=tmp_path / "s.parquet", rule={}, parts=parts, stored=stored, _where=where)
    seen = []

    def keep_first_tag(t):
        seen.append(t.num_rows)
        return t.set_column(t.column_names.index("tags"), "tags", pa.array([x[:1] for x in t["tags"].to_pylist()]))

    asked = np.array([32, 1, 4, 5, 20, 0, 38, 22])
    got = ts.read_rows(asked, ["row", "id", "tags"], transform=keep_first_tag)
    assert got.column_names == ["id", "tags"]
    assert got["id"].to_pylist() == [f"o/m{r}" for r in asked]
    assert got["tags"].to_pylist() == [[f"t{r}"] for r in asked]
    # part a's row groups hold rows 0-10, 12-22, 24-34 and 36-38 (wanted: 0 4 | 20 22 | 32 | 38); part b's, 1-3
    # and 5 (wanted: 1 | 5): each row group's wanted rows, transformed as read
    assert seen == [2, 2, 1, 1, 1, 1]
    assert ts.read_rows(stored, ["id"])["id"].to_pylist() == [f"o/m{r}" for r in stored]
    with pytest.raises(RawStoreError, match="do not hold row 7"):
        ts.read_rows(np.array([7]), ["id"])


def test_thin_store_gives_the_full_pulls_catalog_tags_panel_and_factors(tiny_pulls, tmp_path):
    """Known answer: no model of this Hub changes its metadata, so every rule gives the same catalog."""
    thin, full = _snaps(tiny_pulls["thin"]), _snaps(tiny_pulls["full"])
    exact = build_catalog(full, metadata_every=1)
    got = build_catalog(thin, metadata_every=13, row_codes_dir=tmp_path / "codes")
    assert _sorted(got).equals(_sorted(exact))
    assert _sorted(build_catalog(full, metadata_every=13)).equals(_sorted(exact))
    registry = store_registry()

    def models(cat):  # what notebook 02 writes: the tags and the catalog's descriptors
        tags = tag_models(cat, registry)
        return tags.merge(cat.select(["id", "createdAt", "pipeline_tag", "library_name", "last_seen"]).to_pandas(),
                          on="id", validate="one_to_one").sort_values("id").reset_index(drop=True)

    models_thin, models_full = models(got), models(exact)
    pd.testing.assert_frame_equal(models_thin, models_full)
    panel_thin = build_panel(thin, models_thin, row_codes_dir=tmp_path / "codes").panel
    panel_full = build_panel(full, models_full).panel
    pd.testing.assert_frame_equal(panel_thin, panel_full)
    # the factors: thin snapshots take each model's metadata under the rule; here the same as every row's own
    models = models_full
    dates = [d for d, _ in full]
    split = choose_split(None, dates, dates[len(dates) // 2])
    kw = dict(split=split, reps=99, seed=3, frequency="weekly")
    with pytest.raises(Exception, match="pulled thin"):
        compute_factors(thin, models, **kw)
    a = compute_factors(thin, models, metadata=thin_metadata(thin, 13), **kw)
    b = compute_factors(full, models, **kw)
    assert thin_metadata(full, 13) is None
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.differences == b.differences


def test_an_incremental_pull_reads_all_the_metadata_of_the_new_week(hub_root, tmp_path):
    with FakeHub(hub_root) as hub:
        first = _pull(hub.endpoint, tmp_path, 13, **{"study.end": "2025-02-26"})
        store = _store(tmp_path)
        before = {p: p.read_bytes() for p in store.raw_dir.rglob("*.parquet")}
        hub.stats.reset()
        second = _pull(hub.endpoint, tmp_path, 13, **{"study.end": "2025-03-05"})
        older = hub.stats.total_bytes(r"/resolve/.*models/2025-0[12]-\d\d/models\.parquet$")
        new = hub.stats.total_bytes(r"/resolve/.*models/2025-03-05/models\.parquet$")
    assert first.ok and second.ok and second.pulled == ("archive/2025-03-05",)
    assert older == 0 and new > 0                          # the older weeks are not read again
    rows = store.entry("archive", "2025-03-05")["rows"]
    assert second.metadata_pulled == (f"metadata/2025-03-05 ({rows:,} rows, part 1)",)
    assert thin_snapshot(store.path("archive", "2025-03-05")).stored.tolist() == list(range(rows))
    assert all(p.read_bytes() == b for p, b in before.items())  # write-once: nothing rewritten
    # the week pulled as the newest before keeps its whole metadata; the store serves the rule
    assert thin_snapshot(store.path("archive", "2025-02-26")).stored.size == store.entry("archive", "2025-02-26")["rows"]
    plan = plan_metadata(_snaps(store), 13)
    assert plan.missing == {} and plan.summary()["metadata_rows_read"] == len(plan.ids)
    assert store.verify() == []


def test_bench_yardstick_reads_the_thin_parts_the_catalog_reads(tiny_pulls):
    """On a thin store the yardstick's metadata reads are the parts holding the plan's rows."""
    from devtools.bench import _read_plain, _read_planned

    store = tiny_pulls["thin"]
    snaps = _snaps(store)
    plan = plan_metadata(snaps, 13)
    read_plan = _read_planned(snaps, plan)
    newest_first = sorted(snaps, key=lambda s: s[0], reverse=True)
    for k, (path, _, reads) in enumerate(read_plan):
        if k not in plan.reads:
            assert reads == []
            continue
        thin = plan.thin[k]
        assert [f for f, _, _ in reads] == thin.parts_holding(plan.reads[k][0]) != []
        day = newest_first[k][0].isoformat()
        assert all(f.parent.name == "metadata" and f.name.startswith(day) for f, _, _ in reads)
    assert thin.parts_holding(np.array([10**9])) == []                    # a row no part holds
    assert _read_plain(read_plan) == sum(store.entry("archive", d)["rows"] for d in store.snapshot_dates("archive"))


def test_a_pull_stopped_before_its_metadata_resumes_with_exactly_the_missing_rows(hub_root, tmp_path):
    with FakeHub(hub_root) as hub:
        _pull(hub.endpoint, tmp_path, 13, **{"study.end": "2025-01-22"})
        store = _store(tmp_path)
        # as if the pull was killed after writing the weekly files, before the metadata step
        part = next(e for e in store.manifest_entries() if e["kind"] == "metadata")
        (store.raw_dir / part["file"]).unlink()
        lines = store.manifest_path.read_text().splitlines(keepends=True)
        store.manifest_path.write_text("".join(x for x in lines if json.loads(x)["kind"] != "metadata"))
        assert store.verify() == []
        with pytest.raises(CatalogError, match=r"missing \(2025-01-22 \(\d+ rows\)\).*python -m analysis pull"):
            build_catalog(_snaps(store), metadata_every=13)
        hub.stats.reset()
        report = _pull(hub.endpoint, tmp_path, 13, **{"study.end": "2025-01-22"})
        assert hub.stats.total_bytes(r"/resolve/.*models/2025-01-(01|08|15)/models\.parquet$") == 0
    assert report.ok and report.pulled == () and len(report.metadata_pulled) == 1
    again = next(e for e in store.manifest_entries() if e["kind"] == "metadata")
    assert again["rows"] == part["rows"] and again["row_groups_read"] == part["row_groups_read"]
    assert store.verify() == []
    assert build_catalog(_snaps(store), metadata_every=13).num_rows == part["rows"]


@pytest.fixture(scope="module")
def edited_hub(tmp_path_factory):
    """An archive where 10% of the models edit their metadata once and some are deleted (heavy columns too)."""
    root = tmp_path_factory.mktemp("edited_hub")
    spec = StoreSpec(models=4000, seed=3)
    write_archive(spec, root, 14, REPO, row_group_size=300, log=lambda *a: None)
    return root, spec


def test_on_a_hub_that_edits_metadata_the_thin_store_serves_its_rule_and_refuses_a_finer_one(edited_hub,
                                                                                             tmp_path):
    root, spec = edited_hub
    start = spec.date(0).isoformat()
    thin_root, full_root = tmp_path / "thin", tmp_path / "full"
    with FakeHub(root) as hub:
        assert _pull(hub.endpoint, thin_root, 4, simulated=False, start=start).ok
        thin_bytes = hub.stats.total_bytes(r"/resolve/")
        assert _pull(hub.endpoint, full_root, 0, simulated=False, start=start).ok
        full_bytes = hub.stats.total_bytes(r"/resolve/") - thin_bytes
        thin, full = _store(thin_root, False), _store(full_root, False)
        archive = sum(p.stat().st_size for p in root.rglob("*.parquet"))
        # the rule's catalog, exactly as the full store gives it under the same rule (edits and deletions included)
        got = build_catalog(_snaps(thin), metadata_every=4)
        assert _sorted(got).equals(_sorted(build_catalog(_snaps(full), metadata_every=4)))
        assert not _sorted(got).equals(_sorted(build_catalog(_snaps(full), metadata_every=1)))  # the rule loses some
        # a finer rule needs rows the thin pull did not fetch: refused, naming both rules and what to do
        with pytest.raises(CatalogError, match=r"pulled thin under archive\.metadata_every = 4 and the run asks for "
                                               r"the finer rule 1.*python -m analysis pull"):
            build_catalog(_snaps(thin), metadata_every=1)
        # a pull under the finer rule fetches exactly those rows (new parts); then the store serves it. Here the
        # full pull's setting (0: every week's metadata, the same plan as 1): new weeks would come whole, and the
        # thin weeks already pulled get the rows the plan needs
        missing = plan_metadata(_snaps(thin), 1).missing
        assert missing
        hub.stats.reset()
        finer = _pull(hub.endpoint, thin_root, 0, simulated=False, start=start)
        assert finer.ok and finer.pulled == () and len(finer.metadata_pulled) == len(missing)
        assert plan_metadata(_snaps(thin), 0).missing == {}
        assert {e["thin"]["metadata_every"] for e in thin.manifest_entries() if e["kind"] == "metadata"} == {4, 0}
    assert _sorted(build_catalog(_snaps(thin), metadata_every=1)).equals(
        _sorted(build_catalog(_snaps(full), metadata_every=1)))
    assert thin.verify() == []
    # the bytes: every column of the raw schema read every week costs several times the thin pull
    assert thin_bytes < full_bytes < archive / 3  # (the bytes bound: tests/test_bench.py, devtools.bytes_read)


def test_a_metadata_part_deleted_by_hand_is_fetched_again_and_verify_accepts_its_absence(hub_root, tmp_path):
    with FakeHub(hub_root) as hub:
        _pull(hub.endpoint, tmp_path, 13, **{"study.end": "2025-01-22"})
        store = _store(tmp_path)
        part = next(e for e in store.manifest_entries() if e["kind"] == "metadata")
        (store.raw_dir / part["file"]).unlink()                 # lost by hand; its manifest entry stays
        assert any("listed in the manifest but missing" in p for p in store.verify())
        with pytest.raises(CatalogError, match="python -m analysis pull"):
            build_catalog(_snaps(store), metadata_every=13)
        report = _pull(hub.endpoint, tmp_path, 13, **{"study.end": "2025-01-22"})
    assert report.ok and len(report.metadata_pulled) == 1
    again = [e for e in store.manifest_entries() if e["kind"] == "metadata"][-1]
    assert again["file"] != part["file"] and again["rows"] == part["rows"]
    assert again["restores_parts"] == [{"file": part["file"], "sha256": part["sha256"]}]
    assert store.verify() == []
    assert build_catalog(_snaps(store), metadata_every=13).num_rows == part["rows"]
