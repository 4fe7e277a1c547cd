"""The catalog: newest metadata per model, identical to a plain concatenate-and-deduplicate."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from analysis.simulate.store import StoreSpec, generate_store
from analysis.catalog import (CATALOG_COLUMNS, CatalogError, build_catalog, lineage_tags, load_row_codes, ordered_map,
                              plan_metadata)
from analysis.schema import RAW_SCHEMA

D = [dt.date(2025, 1, 1) + dt.timedelta(weeks=w) for w in range(3)]


def _write(path, rows: list[dict], drop: tuple[str, ...] = ()):
    table = pa.table({f.name: [r.get(f.name) for r in rows] for f in RAW_SCHEMA}, schema=RAW_SCHEMA)
    pq.write_table(table.drop_columns(list(drop)), path, row_group_size=2)  # tiny row groups: exercise selection
    return path


def _row(i: str, version: str, dl: int = 1) -> dict:
    return {"id": i, "author": i.split("/")[0], "downloads": dl, "pipeline_tag": f"v{version}",
            "library_name": "transformers", "tags": ["en", f"base_model:base/{version}"],
            "baseModels": {"relation": "finetune", "models": [{"id": f"base/{version}"}]}}


@pytest.fixture
def three(tmp_path):
    old = _write(tmp_path / "1.parquet", [_row("o/a", "1"), _row("o/b", "1"), _row("o/c", "1"), _row("o/e", "1"),
                                          _row("o/f", "1"), _row("o/g", "1")], drop=("library_name",))
    mid = _write(tmp_path / "2.parquet", [_row("o/a", "2"), _row("o/b", "2"), _row("o/d", "2"), _row("o/e", "2"),
                                          _row("o/g", "2")])
    new = _write(tmp_path / "3.parquet", [_row("o/d", "3"), _row("o/f", "3"), _row("o/a", "3")])
    return [(D[0], old), (D[2], new), (D[1], mid)]  # any order


@pytest.mark.parametrize("workers", [1, 2])
def test_newest_metadata_wins_and_deleted_models_keep_their_last_row(three, workers):
    cat = build_catalog(three, workers=workers, metadata_every=1).to_pandas().set_index("id")
    assert sorted(cat.index) == ["o/a", "o/b", "o/c", "o/d", "o/e", "o/f", "o/g"]
    version = cat["pipeline_tag"].to_dict()
    assert version == {"o/a": "v3", "o/b": "v2", "o/c": "v1", "o/d": "v3", "o/e": "v2", "o/f": "v3", "o/g": "v2"}
    assert cat.loc["o/f", "last_seen"] == D[2]          # gone in the middle week, back in the newest
    assert cat.loc["o/c", "last_seen"] == D[0]
    assert pd.isna(cat.loc["o/c", "library_name"])      # column absent from the oldest file -> null
    assert list(cat.loc["o/b", "tags"]) == ["base_model:base/2"]          # lineage tags only (default)
    assert cat.loc["o/c", "baseModels"]["models"][0]["id"] == "base/1"
    assert list(build_catalog(three).column_names) == CATALOG_COLUMNS + ["last_seen", "metadata_date"]


def test_identical_to_concatenate_and_deduplicate(tmp_path):
    spec = StoreSpec(models=3000, seed=5)
    folder = generate_store(spec, tmp_path, 30, log=lambda *a: None)
    snaps = [(spec.date(w), folder / "archive" / f"{spec.date(w).isoformat()}.parquet") for w in range(30)]
    frames = []
    for d, p in snaps:
        t = pq.read_table(p, columns=CATALOG_COLUMNS)
        frames.append(t.append_column("last_seen", pa.array([d] * t.num_rows, pa.date32())))
    ref = pa.concat_tables(frames).to_pandas()
    ref = ref.sort_values("last_seen", ascending=False, kind="stable").drop_duplicates("id")
    ref = ref.sort_values("id").reset_index(drop=True)
    assert (ref["last_seen"] < snaps[-1][0]).sum() > 20        # deleted models are in the test
    for workers in (1, 2):
        got = build_catalog(snaps, workers=workers, lineage_tags_only=False, metadata_every=1)
        got = got.to_pandas().sort_values("id").reset_index(drop=True)
        assert got["id"].tolist() == ref["id"].tolist()
        for col in ref.columns:
            assert got[col].astype(str).tolist() == ref[col].astype(str).tolist(), col


def test_errors_name_the_file(tmp_path):
    pq.write_table(pa.table({"downloads": [1]}), tmp_path / "noid.parquet")
    with pytest.raises(CatalogError, match=r"noid\.parquet.*no 'id' column"):
        build_catalog([(D[0], tmp_path / "noid.parquet")])
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(CatalogError, match=r"broken\.parquet: cannot read raw snapshot of 2025-01-01"):
        build_catalog([(D[0], tmp_path / "broken.parquet")])
    with pytest.raises(CatalogError, match="no raw snapshots"):
        build_catalog([])


def test_ordered_map_keeps_order_and_raises():
    assert list(ordered_map(lambda x: x * x, range(20), workers=2, lookahead=3)) == [x * x for x in range(20)]

    def boom(x):
        if x == 3:
            raise ValueError("x=3")
        return x

    with pytest.raises(ValueError, match="x=3"):
        list(ordered_map(boom, range(6), workers=2))


def test_lineage_tags_keeps_only_base_model_tags_in_order():
    tags = pa.array([["gguf", "base_model:a/b", "en", "base_model:quantized:a/b"], None, [], ["en"],
                     ["base_model:c/d"]], pa.list_(pa.string()))
    got = lineage_tags(pa.chunked_array([tags.slice(0, 2), tags.slice(2)]))
    assert got.to_pylist() == [["base_model:a/b", "base_model:quantized:a/b"], None, [], [], ["base_model:c/d"]]


def test_tagging_is_the_same_on_the_trimmed_catalog(tmp_path):
    origin = pytest.importorskip("analysis.origin")
    from analysis.simulate.store import store_registry

    spec = StoreSpec(models=2000, seed=8)
    folder = generate_store(spec, tmp_path, 3, log=lambda *a: None)
    snaps = [(spec.date(w), folder / "archive" / f"{spec.date(w).isoformat()}.parquet") for w in range(3)]
    full = build_catalog(snaps, lineage_tags_only=False)
    trimmed = build_catalog(snaps)
    assert trimmed["tags"].combine_chunks().values.nbytes < full["tags"].combine_chunks().values.nbytes / 2
    registry = store_registry()
    a, b = origin.tag_models(full, registry), origin.tag_models(trimmed, registry)
    assert (a["parent_source"] == "tags").sum() > 10     # some parents are declared only in tags
    pd.testing.assert_frame_equal(a, b)


def test_row_codes_point_every_row_to_its_catalog_row(three, tmp_path):
    codes_dir = tmp_path / "codes"
    cat = build_catalog(three, row_codes_dir=codes_dir, workers=2)
    index = json.loads((codes_dir / "index.json").read_text())
    assert index["catalog_rows"] == cat.num_rows
    code_ids = pq.read_table(codes_dir / index["ids_file"])["id"]
    assert sorted(code_ids.to_pylist()) == sorted(cat["id"].to_pylist())          # every model once
    for d, p in three:
        codes = load_row_codes(codes_dir, d, index["snapshots"][d.isoformat()]["rows"], cat.num_rows)
        assert codes.dtype == np.int32 and index["snapshots"][d.isoformat()]["rows"] == codes.size
        assert code_ids.take(pa.array(codes)).to_pylist() == pq.read_table(p, columns=["id"])["id"].to_pylist()


@pytest.mark.parametrize("order", ["stable", "shuffled", "reversed"])
def test_match_rows_is_index_in_for_any_order(order):
    from analysis.catalog import match_rows

    rng = np.random.default_rng(3)
    newer = np.array([f"m/{i:06d}" for i in range(50_000)], dtype=object)
    keep = rng.random(newer.size) > 0.03                                 # deleted in between
    older = np.concatenate([[f"gone/{i}" for i in range(40)], newer[keep][:30_000], [f"old/{i}" for i in range(500)],
                            newer[keep][30_000:]]).astype(object)         # rows absent from the newer file, mid-file
    newer = np.concatenate([newer[:20_000], [f"new/{i}" for i in range(3_000)], newer[20_000:]])  # inserted models
    if order == "shuffled":
        older = older[rng.permutation(older.size)]
    elif order == "reversed":
        older = older[::-1]
    a, b = pa.array(older, pa.string()), pa.array(newer, pa.string())
    want = np.asarray(pc.index_in(a, value_set=b).fill_null(-1), dtype=np.int64)
    for window, slack in ((1_000, 50), (16_384, 2_048)):
        got = match_rows(a, b, window=window, slack=slack)
        np.testing.assert_array_equal(got, want)
    assert (want < 0).sum() == 540


def test_match_rows_compares_strings_not_just_their_bytes():
    """Runs compared as bytes: equal bytes split differently, prefixes, empty and non-ASCII ids, sliced, chunked
    and large-string arrays all give index_in's answer."""
    from analysis.catalog import match_rows

    rng = np.random.default_rng(5)
    base = [f"org{i % 7}/m-{i:05d}" + ("é" if i % 11 == 0 else "") for i in range(20_000)]
    newer = list(base)
    older = list(base)
    older[100:102] = ["ab", "c"]          # same bytes as newer's 100:102 below, split differently
    newer[100:102] = ["a", "bc"]
    older[5_000] = newer[5_000] + "x"     # a longer id with the same start
    older[7_000] = newer[7_000][:-1]      # a shorter one
    older[9_000], newer[9_000] = "", ""   # empty ids are equal
    older[12_000] = newer[12_000][:-1] + "Z"   # same length, last byte differs
    for i in rng.choice(np.arange(13_000, 20_000), 50, replace=False):
        older[i] = f"gone/{i}"
    a, b = pa.array(older, pa.string()), pa.array(newer, pa.string())
    want = np.asarray(pc.index_in(a, value_set=b).fill_null(-1), dtype=np.int64)
    assert (want < 0).sum() == 2 + 3 + 50 and want[9_000] == 9_000
    cases = {
        "plain": (a, b),
        "sliced": (pa.array(["pad"] * 3 + older, pa.string()).slice(3), pa.array(["x"] + newer, pa.string()).slice(1)),
        "large": (a.cast(pa.large_string()), b.cast(pa.large_string())),
        "chunked": (pa.chunked_array([a.slice(0, 7_777), a.slice(7_777)]),
                    pa.chunked_array([b.slice(0, 12_345), b.slice(12_345)])),
    }
    for name, (x, y) in cases.items():
        for window, slack in ((1_000, 50), (16_384, 2_048)):
            np.testing.assert_array_equal(match_rows(x, y, window=window, slack=slack), want, err_msg=name)


def test_anchors_are_a_fixed_grid_plus_the_newest_and_the_oldest():
    from analysis.catalog import METADATA_EPOCH, anchors

    weeks = [METADATA_EPOCH + dt.timedelta(weeks=w) for w in range(3, 30)]
    got = [w + 3 for w in np.flatnonzero(anchors(weeks, 13))]
    assert got == [3, 12, 25, 29]                    # oldest, last week of blocks 0-12 and 13-25, newest
    assert anchors(weeks[::-1], 13)[::-1].tolist() == anchors(weeks, 13).tolist()   # any order
    assert anchors(weeks[:-4], 13).sum() == 3        # adding weeks keeps the grid: 12 is still an anchor
    assert anchors(weeks, 1).all()
    assert anchors(weeks, 0).all()                   # 0 (the full pull's setting) reads every snapshot too
    with pytest.raises(CatalogError, match="metadata_every=-1"):
        anchors(weeks, -1)


def _meta(i: str, version: str, dl: int = 1) -> dict:
    row = _row(i, version, dl)
    row["pipeline_tag"] = f"v{version}"
    return row


def test_thin_rule_known_answers(tmp_path):
    from analysis.catalog import METADATA_EPOCH

    d = [METADATA_EPOCH + dt.timedelta(weeks=w) for w in range(6)]   # anchors with N=3: weeks 0, 2, 5
    rows = {
        0: [_meta("o/a", "0"), _meta("o/old", "0")],
        1: [_meta("o/a", "1"), _meta("o/old", "1"), _meta("o/orphan", "1")],
        2: [_meta("o/a", "2"), _meta("o/gone", "2")],
        3: [_meta("o/a", "3"), _meta("o/gone", "3"), _meta("o/orphan2", "3"), _meta("o/brief", "3")],
        4: [_meta("o/a", "4"), _meta("o/gone", "4"), _meta("o/orphan2", "4")],
        5: [_meta("o/a", "5")],
    }
    snaps = [(d[w], _write(tmp_path / f"{w}.parquet", r)) for w, r in rows.items()]
    thin = build_catalog(snaps, metadata_every=3).to_pandas().set_index("id")
    exact = build_catalog(snaps, metadata_every=1).to_pandas().set_index("id")
    assert exact["pipeline_tag"].to_dict() == {"o/a": "v5", "o/old": "v1", "o/orphan": "v1", "o/gone": "v4",
                                               "o/orphan2": "v4", "o/brief": "v3"}
    assert thin["pipeline_tag"].to_dict() == {"o/a": "v5", "o/old": "v0",      # newest anchor holding it: week 0
                                              "o/orphan": "v1",                # in no anchor: its last week
                                              "o/gone": "v2",                  # stale: anchor 2, last seen in 4
                                              "o/brief": "v3",                 # in no anchor: its last week, which
                                              "o/orphan2": "v3"}               # also holds this one (read once)
    assert thin.loc["o/gone", "metadata_date"] == d[2] and thin.loc["o/gone", "last_seen"] == d[4]
    assert thin.loc["o/orphan2", "metadata_date"] == d[3] and thin.loc["o/orphan2", "last_seen"] == d[4]
    plan = plan_metadata(snaps, 3)
    assert sorted(plan.dates[k] for k in plan.reads) == [d[0], d[1], d[2], d[3], d[5]]   # not week 4
    assert (exact["metadata_date"] == exact["last_seen"]).all()


def test_thin_catalog_equals_a_plain_reference(tmp_path):
    from analysis.catalog import anchors

    spec = StoreSpec(models=20000, seed=6)
    folder = generate_store(spec, tmp_path, 40, log=lambda *a: None)
    snaps = [(spec.date(w), folder / "archive" / f"{spec.date(w).isoformat()}.parquet") for w in range(40)]
    flags = anchors([s[0] for s in snaps], 10)
    frames = []
    for (d, p), anchor in zip(snaps, flags):
        t = pq.read_table(p, columns=CATALOG_COLUMNS).to_pandas()
        frames.append(t.assign(date=d, anchor=anchor))
    allrows = pd.concat(frames).sort_values("date", ascending=False, kind="stable")
    last_seen = allrows.drop_duplicates("id").set_index("id")["date"]
    ref = allrows[allrows["anchor"]].drop_duplicates("id").set_index("id")
    # orphans (held by no anchor): going forward in time, the orphan last seen earliest that no chosen week holds
    # has its last week chosen; each orphan then takes its row in the newest chosen week holding it
    orph = allrows[~allrows["id"].isin(ref.index)]
    alive = orph.groupby("id")["date"].agg(set)
    chosen: list = []
    for mid, last in orph.groupby("id")["date"].max().sort_values(kind="stable").items():
        if not any(d in alive[mid] for d in chosen):
            chosen.append(last)
    pick = {m: max(d for d in days if d in chosen) for m, days in alive.items()}
    orphans = orph[orph["date"] == orph["id"].map(pick)].drop_duplicates("id").set_index("id")
    ref = pd.concat([ref, orphans]).sort_index()
    assert len(orphans) > 0 and len(chosen) < orph.drop_duplicates("id")["date"].nunique()  # fewer weeks read
    got = build_catalog(snaps, metadata_every=10, lineage_tags_only=False).to_pandas().set_index("id").sort_index()
    assert got.index.tolist() == ref.index.tolist()
    for col in ("pipeline_tag", "tags", "baseModels", "author", "createdAt", "library_name"):
        assert got[col].astype(str).tolist() == ref[col].astype(str).tolist(), col
    assert (got["metadata_date"] == ref["date"]).all()
    assert (got["last_seen"] == last_seen.reindex(got.index)).all()
    stale = got["metadata_date"] != got["last_seen"]
    assert stale.sum() > 0
    exact = build_catalog(snaps, metadata_every=1, lineage_tags_only=False).to_pandas().set_index("id").sort_index()
    changed = got["pipeline_tag"].fillna("-") != exact["pipeline_tag"].fillna("-")
    assert changed.sum() > 0 and (~stale[changed]).sum() == 0      # only models read from an older anchor differ


def test_descriptors_attach_row_for_row_whatever_the_order_of_the_tags(three):
    from analysis.catalog import attach_descriptors
    from analysis.origin import tag_models
    from analysis.simulate.store import store_registry

    cat = build_catalog(three, metadata_every=1)
    tags = tag_models(cat, store_registry())
    cols = ["pipeline_tag", "last_seen"]
    want = tags.merge(cat.select(["id", *cols]).to_pandas(), on="id", how="left", validate="one_to_one")
    pd.testing.assert_frame_equal(attach_descriptors(tags, cat, cols), want)              # positional
    shuffled = tags.iloc[::-1].reset_index(drop=True)
    got = attach_descriptors(shuffled, cat, cols).set_index("id").sort_index()            # by id
    pd.testing.assert_frame_equal(got, want.set_index("id").sort_index())
    assert got.loc["o/c", "pipeline_tag"] == "v1" and got.loc["o/a", "pipeline_tag"] == "v3"
    with pytest.raises(CatalogError, match="one to one"):
        attach_descriptors(pd.concat([tags, tags.iloc[:1]], ignore_index=True), cat, cols)
    with pytest.raises(CatalogError, match="lacks column"):
        attach_descriptors(tags, cat, ["no_such_column"])


def test_lineage_tags_of_chosen_rows():
    tags = pa.array([["gguf", "base_model:a/b", "en", "base_model:quantized:a/b"], None, [], ["en", None],
                     ["base_model:c/d"], ["x", "base_model:a/b"]], pa.list_(pa.string()))
    sliced = tags.slice(1)  # offsets that do not start at zero
    got = lineage_tags(sliced, np.array([4, 0, 3, 2]))
    assert got.type == pa.list_(pa.string())
    assert got.to_pylist() == [["base_model:a/b"], None, ["base_model:c/d"], []]
    assert lineage_tags(tags).to_pylist() == [["base_model:a/b", "base_model:quantized:a/b"], None, [], [],
                                              ["base_model:c/d"], ["base_model:a/b"]]
    assert lineage_tags(tags, np.zeros(0, dtype=np.int64)).to_pylist() == []


@pytest.mark.parametrize("every", [1, 13])
def test_a_model_listed_twice_in_its_last_file_keeps_its_first_row(tmp_path, every):
    d = [dt.date(2025, 1, 1) + dt.timedelta(weeks=k) for k in range(3)]
    snaps = [(d[0], _write(tmp_path / "0.parquet", [_meta("a/x", "0"), _meta("a/y", "0"), _meta("a/y", "9")])),
             (d[1], _write(tmp_path / "1.parquet", [_meta("a/x", "1"), _meta("a/x", "8"), _meta("a/z", "1")])),
             (d[2], _write(tmp_path / "2.parquet", [_meta("a/x", "2")]))]
    cat = build_catalog(snaps, metadata_every=every).to_pandas().set_index("id")
    assert cat["pipeline_tag"].to_dict() == {"a/x": "v2", "a/y": "v0", "a/z": "v1"}


def test_lineage_tags_of_most_rows_equal_those_of_a_few_rows_at_a_time():
    """Most rows in order are trimmed from the lineage tags of the whole array; a few rows (or rows out of order)
    from their own tags: both give the same lists."""
    rng = np.random.default_rng(11)
    words = ["en", "base_model:a/b", "gguf", "base_model:finetune:c/d", "license:mit", None]
    lists = [None if rng.random() < 0.1 else [words[k] for k in rng.integers(0, len(words), rng.integers(0, 6))]
             for _ in range(400)]
    tags = pa.array(lists, pa.list_(pa.string())).slice(7, 380)

    def want(rows):
        out = []
        for r in rows:
            v = lists[7 + r]
            out.append(None if v is None else [t for t in v if t is not None and t.startswith("base_model:")])
        return out

    most = np.sort(rng.choice(380, 300, replace=False))          # more than a quarter, ascending: whole-array path
    few = np.sort(rng.choice(380, 20, replace=False))
    shuffled = rng.permutation(380)[:200]
    for rows in (np.arange(380), most, few, shuffled, np.array([5, 5, 2])):
        assert lineage_tags(tags, rows).to_pylist() == want(rows)
    assert lineage_tags(tags).to_pylist() == want(range(380))


@pytest.mark.parametrize("workers", [1, 2])
def test_metadata_read_while_the_ids_are_compared_equals_reading_after_the_plan(tmp_path, workers):
    from analysis.catalog import catalog_with_plan

    spec = StoreSpec(models=20000, seed=6)
    folder = generate_store(spec, tmp_path, 40, log=lambda *a: None)
    snaps = [(spec.date(w), folder / "archive" / f"{spec.date(w).isoformat()}.parquet") for w in range(40)]
    plan = plan_metadata(snaps, 10)
    assert plan.orphans > 0 and sum(plan.anchor) > 2                   # anchors read during the id pass, orphans after
    after = build_catalog(snaps, plan=plan, workers=workers)
    during, plan2 = catalog_with_plan(snaps, metadata_every=10, workers=workers)
    assert during.equals(after)
    assert plan2.summary() == plan.summary() and set(plan2.reads) == set(plan.reads)
    assert build_catalog(snaps, metadata_every=10, workers=workers).equals(after)


def test_take_from_chunks_is_arrows_take():
    from analysis.catalog import _take

    rng = np.random.default_rng(8)
    values = [f"m/{i}" for i in range(1_000)]
    chunked = pa.chunked_array([pa.array(values[:10]), pa.array([], pa.string()), pa.array(values[10:700]),
                                pa.array(values[700:])])
    for rows in (np.arange(0, 1_000, 7), rng.integers(0, 1_000, 300), np.array([999, 0, 10, 9, 10]),
                 np.zeros(0, dtype=np.int64)):
        got = _take(chunked, rows)
        assert isinstance(got, pa.Array) and got.to_pylist() == [values[r] for r in rows]
    with pytest.raises(IndexError):
        _take(chunked, np.array([1_000]))


@pytest.mark.parametrize("kind", ["runs", "shuffled", "empty", "one"])
def test_row_codes_round_trip_as_runs_or_plain(tmp_path, kind):
    """Codes in long runs of consecutive values are stored as runs, others as they are; both read back exactly, and
    a file that does not fit the snapshot (rows, range, shape) reads as None."""
    from analysis.catalog import _save_codes

    rng = np.random.default_rng(4)
    day = dt.date(2025, 1, 1)
    if kind == "runs":     # a week later: a few models gone, a few new ones appended, one re-listed far away
        codes = np.concatenate([np.arange(0, 4_000), np.arange(4_003, 9_000), [12_345], np.arange(9_001, 10_000),
                                np.arange(20_000, 20_050)])
    elif kind == "shuffled":
        codes = rng.permutation(10_000)
    elif kind == "empty":
        codes = np.zeros(0, dtype=np.int64)
    else:
        codes = np.array([7])
    _save_codes(tmp_path, day, codes)
    stored = np.load(tmp_path / f"{day.isoformat()}.npy")
    assert stored.ndim == (2 if kind == "runs" else 1)
    if kind == "runs":
        assert stored.shape == (5 + 1, 2)                 # five runs and the end
    n_catalog = 30_000
    got = load_row_codes(tmp_path, day, codes.size, n_catalog)
    assert got.dtype == np.int32 and got.tolist() == codes.tolist()
    assert load_row_codes(tmp_path, day, codes.size + 1, n_catalog) is None          # another file's row count
    if codes.size:
        assert load_row_codes(tmp_path, day, codes.size, int(codes.max())) is None   # codes beyond the catalog
    assert load_row_codes(tmp_path, dt.date(2025, 1, 8), codes.size, n_catalog) is None   # no file


@pytest.mark.parametrize("keys", ["hashed", "colliding"])
def test_catalog_rows_follow_first_appearance_newest_first(tmp_path, monkeypatch, keys):
    """Every id gets the catalog row of its first appearance, files newest first and rows in file order: with ids
    that leave and come back, are listed twice (in the newest file too) and share a hash key (forced)."""
    import analysis.catalog as catalog

    if keys == "colliding":   # every id of the same length shares a key: matches must be checked on the bytes
        monkeypatch.setattr(catalog, "_id_keys", lambda arr: np.asarray(
            pc.utf8_length(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr), dtype=np.uint64))
    rng = np.random.default_rng(11)
    pool = [f"org{i % 5}/m{i:04d}" for i in range(400)]
    weeks = []
    for w in range(6):                       # oldest first; each week lists a random subset in creation order
        listed = [x for x in pool if rng.random() < 0.7]
        if w == 5:
            listed = listed[:50] + [listed[3]] + listed[50:]          # the newest file lists an id twice
        if w == 2:
            listed = listed + [listed[0]]                              # so does an older one
        weeks.append(listed)
    snaps = []
    for w, listed in enumerate(weeks):
        d = dt.date(2025, 1, 1) + dt.timedelta(weeks=w)
        f = tmp_path / f"{d.isoformat()}.parquet"
        pq.write_table(pa.table({"id": pa.array(listed, pa.string())}), f, row_group_size=64)
        snaps.append((d, f))
    ref: dict[str, int] = {}
    for listed in reversed(weeks):
        for x in listed:
            ref.setdefault(x, len(ref))
    codes_dir = tmp_path / "codes"
    plan = plan_metadata(snaps, 1, row_codes_dir=codes_dir)
    assert plan.ids.to_pylist() == list(ref)
    for (d, _), listed in zip(snaps, weeks):
        assert load_row_codes(codes_dir, d, len(listed), len(ref)).tolist() == [ref[x] for x in listed]
