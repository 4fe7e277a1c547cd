"""The streaming panel pass: known answers, and identical results to a plain non-streaming computation."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.simulate.store import StoreSpec, generate_store, store_registry
from analysis.panel import (
    PANEL_COLUMNS,
    RANKING_COLUMNS,
    TOP_N,
    TOP_ORG_COLUMNS,
    TOP_ORGS,
    PanelError,
    build_panel,
    primary_series,
)
from analysis.schema import LLM_PIPELINE_TAGS, RAW_SCHEMA, REGIONS, RULES, SCOPES

D0 = dt.date(2025, 3, 5)


def _write(path, rows: list[dict], alltime: bool = True):
    cols = {f.name: [r.get(f.name) for r in rows] for f in RAW_SCHEMA}
    table = pa.table(cols, schema=RAW_SCHEMA)
    if not alltime:
        table = table.drop_columns(["downloadsAllTime"])
    pq.write_table(table, path)
    return path


def _tags(records: list[tuple]) -> pd.DataFrame:
    """Tagged models from (id, author, root_author, uploader_region, lineage_region, first_party, redis, pipeline)."""
    cols = ["id", "author", "root_author", "uploader_region", "lineage_region", "first_party", "is_redistributor",
            "pipeline_tag"]
    return pd.DataFrame(records, columns=cols)


TAGS = _tags([
    ("qwen/a", "qwen", "qwen", "CN", "CN", True, False, "text-generation"),
    ("meta/b", "meta", "meta", "US", "US", True, False, "text-generation"),
    ("bart/c-GGUF", "bart", "qwen", "UNAFFILIATED", "CN", False, True, "text-generation"),
    ("joe/d", "joe", "meta", "UNAFFILIATED", "US", False, False, "fill-mask"),
])


# ---------------------------------------------------------------------------------------------------------
# known answers
# ---------------------------------------------------------------------------------------------------------

def test_known_shares_counts_and_rankings(tmp_path):
    f = _write(tmp_path / "s.parquet", [
        {"id": "qwen/a", "downloads": 60, "downloadsAllTime": 100},
        {"id": "meta/b", "downloads": 20, "downloadsAllTime": 100},
        {"id": "bart/c-GGUF", "downloads": 15, "downloadsAllTime": 100},
        {"id": "joe/d", "downloads": 0, "downloadsAllTime": 100},
        {"id": "ghost/x", "downloads": 5, "downloadsAllTime": 100},   # not tagged -> UNKNOWN
    ])
    built = build_panel([(D0, f)], TAGS, measures=["downloads_30d"])
    p = built.panel.set_index(["rule", "scope", "region"])
    assert p.loc[("lineage", "all", "CN"), "share"] == pytest.approx(75 / 100)
    assert p.loc[("lineage", "all", "US"), "share"] == pytest.approx(20 / 100)
    assert p.loc[("lineage", "all", "UNKNOWN"), "share"] == pytest.approx(5 / 100)
    assert p.loc[("uploader", "all", "UNAFFILIATED"), "downloads"] == 15
    assert p.loc[("uploader", "all", "UNAFFILIATED"), "n_models"] == 1      # joe/d has no downloads
    assert p.loc[("first_party", "all", "CN"), "share"] == pytest.approx(60 / 80)
    assert p.loc[("lineage", "no_redistributors", "CN"), "share"] == pytest.approx(60 / 85)
    assert p.loc[("lineage", "llm", "UNKNOWN"), "downloads"] == 0          # untagged: not in the llm scope
    assert built.rows_read == 5 and built.rows_used == 4 and built.untagged_rows == 1
    r = built.rankings.set_index(["rule", "top_n", "region"])["share"]
    assert r[("uploader", 10, "CN")] == pytest.approx(0.6)
    assert list(built.rankings.columns) == list(RANKING_COLUMNS)
    top = built.top_orgs[built.top_orgs["rule"] == "lineage"]
    assert top["organisation"].tolist() == ["qwen", "meta"]           # untagged rows have no organisation
    assert top["downloads"].tolist() == [75.0, 20.0] and top["rank"].tolist() == [1, 2]
    assert list(built.top_orgs.columns) == list(TOP_ORG_COLUMNS)


def test_alltime_increments_per_week_negatives_and_missing_weeks(tmp_path):
    a = _write(tmp_path / "a.parquet", [{"id": "qwen/a", "downloads": 1, "downloadsAllTime": 100},
                                        {"id": "meta/b", "downloads": 1, "downloadsAllTime": 500}])
    b = _write(tmp_path / "b.parquet", [{"id": "qwen/a", "downloads": 1, "downloadsAllTime": 170},
                                        {"id": "meta/b", "downloads": 1, "downloadsAllTime": 490},   # decreased
                                        {"id": "joe/d", "downloads": 1, "downloadsAllTime": 9}])     # new: no base
    c = _write(tmp_path / "c.parquet", [{"id": "qwen/a", "downloads": 1, "downloadsAllTime": 190},
                                        {"id": "meta/b", "downloads": 0, "downloadsAllTime": 530},
                                        {"id": "joe/d", "downloads": 0, "downloadsAllTime": 9}])
    # b is one week after a; c two weeks after b (a missing weekly file): increments are per week
    snaps = [(D0, a), (D0 + dt.timedelta(weeks=1), b), (D0 + dt.timedelta(weeks=3), c)]
    built = build_panel(snaps, TAGS, measures=["downloads_alltime_increment"], rules=["uploader"], scopes=["all"])
    p = built.panel.set_index(["date", "region"])
    assert sorted(built.panel["date"].unique()) == [pd.Timestamp(s[0]) for s in snaps[1:]]  # none at the first
    wk1, wk3 = pd.Timestamp(snaps[1][0]), pd.Timestamp(snaps[2][0])
    assert p.loc[(wk1, "CN"), "downloads"] == 70 and p.loc[(wk1, "US"), "downloads"] == 0
    assert p.loc[(wk1, "CN"), "share"] == 1.0
    assert p.loc[(wk3, "CN"), "downloads"] == pytest.approx(10) and p.loc[(wk3, "US"), "downloads"] == 20
    assert p.loc[(wk3, "US"), "n_models"] == 1 and p.loc[(wk3, "UNAFFILIATED"), "n_models"] == 0
    assert built.negative_increments == 1
    # a model with zero 30-day downloads still carries its all-time baseline: no row of c may be dropped
    assert built.rows_used == 2 + 3 + 3


def test_no_alltime_rows_without_the_column(tmp_path):
    a = _write(tmp_path / "a.parquet", [{"id": "qwen/a", "downloads": 3}], alltime=False)
    b = _write(tmp_path / "b.parquet", [{"id": "qwen/a", "downloads": 3, "downloadsAllTime": 50}])
    built = build_panel([(D0, a), (D0 + dt.timedelta(weeks=1), b)], TAGS)
    assert set(built.panel["measure"]) == {"downloads_30d"}
    assert len(built.panel) == 2 * len(RULES) * len(SCOPES) * len(REGIONS)


def test_ranking_ties_are_broken_by_id(tmp_path):
    tags = _tags([(f"o{i}/m", f"o{i}", f"o{i}", "CN" if i % 2 else "US", "CN" if i % 2 else "US", True, False,
                   "text-generation") for i in range(120)])
    rows = [{"id": f"o{i}/m", "downloads": 7} for i in range(120)]  # all tied: the first 10 ids win
    f = _write(tmp_path / "t.parquet", rows[::-1])
    built = build_panel([(D0, f)], tags, measures=["downloads_30d"])
    r = built.rankings.set_index(["rule", "top_n", "region"])["share"]
    ids10 = sorted(f"o{i}/m" for i in range(120))[:10]
    cn10 = sum(int(x[1:].split("/")[0]) % 2 for x in ids10) / 10
    assert r[("uploader", 10, "CN")] == pytest.approx(cn10)
    assert r[("uploader", 100, "CN")] + r[("uploader", 100, "US")] == pytest.approx(1.0)
    top = built.top_orgs[built.top_orgs["rule"] == "uploader"]
    assert top["organisation"].tolist() == sorted(f"o{i}" for i in range(120))[:TOP_ORGS]


def test_errors_name_the_input(tmp_path):
    f = _write(tmp_path / "s.parquet", [{"id": "qwen/a", "downloads": 1}])
    with pytest.raises(PanelError, match="duplicate id 'qwen/a'"):
        build_panel([(D0, f)], pd.concat([TAGS, TAGS.iloc[:1]]))
    with pytest.raises(PanelError, match=r"lacks columns \['root_author'\]"):
        build_panel([(D0, f)], TAGS.drop(columns=["root_author"]))
    with pytest.raises(PanelError, match="unknown scope"):
        build_panel([(D0, f)], TAGS, scopes=["everything"])
    pq.write_table(pa.table({"id": ["qwen/a"]}), tmp_path / "bad.parquet")
    with pytest.raises(PanelError, match=r"bad\.parquet.*lacks required column 'downloads'"):
        build_panel([(D0, tmp_path / "bad.parquet")], TAGS)


def test_primary_series_keeps_missing_snapshots(tmp_path):
    snaps = []
    for w in (0, 1, 3):
        snaps.append((D0 + dt.timedelta(weeks=w),
                      _write(tmp_path / f"{w}.parquet", [{"id": "qwen/a", "downloads": 10 + w},
                                                          {"id": "meta/b", "downloads": 10}])))
    built = build_panel(snaps, TAGS, measures=["downloads_30d"])
    s = primary_series(built.panel, "downloads_30d", "lineage", "all")
    assert len(s) == 4 and s["log_ratio"].isna().tolist() == [False, False, True, False]
    assert s["log_ratio"].iloc[0] == pytest.approx(0.0)                     # 10 CN vs 10 US downloads
    assert s["log_ratio"].iloc[3] == pytest.approx(np.log(13 / 10))


def test_primary_series_two_snapshots_in_one_week_keep_the_earlier(tmp_path):
    snaps = [(D0 + dt.timedelta(days=days),
              _write(tmp_path / f"{days}.parquet", [{"id": "qwen/a", "downloads": cn}, {"id": "meta/b", "downloads": 10}]))
             for days, cn in ((0, 10), (7, 20), (9, 40), (14, 30))]
    built = build_panel(snaps, TAGS, measures=["downloads_30d"])
    s = primary_series(built.panel, "downloads_30d", "lineage", "all")
    assert s["date"].dt.date.tolist() == [D0 + dt.timedelta(weeks=w) for w in range(3)]
    assert s["log_ratio"].tolist() == pytest.approx([0.0, np.log(2.0), np.log(3.0)])  # day 9 (CN 40) not used


# ---------------------------------------------------------------------------------------------------------
# identical to a non-streaming computation on a small simulated Hub
# ---------------------------------------------------------------------------------------------------------

def reference(snapshots, tags: pd.DataFrame):
    """Plain pandas on all snapshots at once (no dropping, no codes, no threads)."""
    frames = []
    for d, p in sorted(snapshots):
        df = pq.read_table(p).to_pandas()
        if "downloadsAllTime" not in df.columns:
            df["downloadsAllTime"] = np.nan
        df["date"] = pd.Timestamp(d)
        frames.append(df[["date", "id", "downloads", "downloadsAllTime"]])
    raw = pd.concat(frames, ignore_index=True)
    t = tags.set_index("id")
    for c in ("uploader_region", "lineage_region"):
        if c + "_alt" not in t.columns:
            t[c + "_alt"] = t[c]
    raw = raw.join(t[["author", "root_author", "uploader_region", "lineage_region", "uploader_region_alt",
                      "lineage_region_alt", "first_party", "is_redistributor", "pipeline_tag"]], on="id")
    tagged = raw["uploader_region"].notna()
    fp = tagged & (raw["first_party"] == True)  # noqa: E712
    region = {"uploader": raw["uploader_region"].where(tagged, "UNKNOWN"),
              "lineage": raw["lineage_region"].where(tagged, "UNKNOWN"),
              "first_party": raw["uploader_region"].where(fp),
              "uploader_alt": raw["uploader_region_alt"].where(tagged, "UNKNOWN"),
              "lineage_alt": raw["lineage_region_alt"].where(tagged, "UNKNOWN"),
              "first_party_alt": raw["uploader_region_alt"].where(fp)}
    llm = tagged & raw["pipeline_tag"].isin(LLM_PIPELINE_TAGS)
    scope = {"all": pd.Series(True, index=raw.index),
             "llm": llm,
             "first_party_llm": llm & fp,
             "no_redistributors": ~(tagged & (raw["is_redistributor"] == True))}  # noqa: E712

    def cells(value: pd.Series, measure: str, dates) -> pd.DataFrame:
        grid = pd.MultiIndex.from_product([dates, list(REGIONS)], names=["date", "region"])
        out = []
        for rule, reg in region.items():
            for sc, m in scope.items():
                sel = m & reg.notna() & (value > 0)
                g = pd.DataFrame({"date": raw["date"][sel], "region": reg[sel], "v": value[sel]})
                sums = g.groupby(["date", "region"])["v"].agg(["sum", "count"]).reindex(grid, fill_value=0)
                total = sums["sum"].groupby(level="date").transform("sum")
                f = sums.reset_index()
                f["share"] = np.where(total.to_numpy() > 0, f["sum"] / total.to_numpy(), np.nan)
                f = f.rename(columns={"sum": "downloads", "count": "n_models"})
                f["measure"], f["rule"], f["scope"] = measure, rule, sc
                out.append(f)
        return pd.concat(out, ignore_index=True)

    dates = sorted(raw["date"].unique())
    parts = [cells(raw["downloads"].astype(float), "downloads_30d", dates)]
    # all-time increments: tagged models present with the count in consecutive files
    wide = raw[tagged].pivot_table(index="id", columns="date", values="downloadsAllTime", aggfunc="last",
                                   dropna=False).reindex(columns=dates)
    inc = pd.Series(np.nan, index=raw.index)
    inc_dates, negatives = [], 0
    for prev, cur in zip(dates[:-1], dates[1:]):
        if wide[cur].notna().any() and wide[prev].notna().any():
            d = (wide[cur] - wide[prev])
            negatives += int((d < 0).sum())
            per_week = d / ((cur - prev).days / 7.0)
            here = (raw["date"] == cur) & tagged
            inc[here] = raw.loc[here, "id"].map(per_week).to_numpy()
            inc_dates.append(cur)
    parts.append(cells(inc.fillna(0.0), "downloads_alltime_increment", inc_dates))
    panel = pd.concat(parts, ignore_index=True)[list(PANEL_COLUMNS)]

    pos = raw[raw["downloads"] > 0].sort_values(["date", "downloads", "id"], ascending=[True, False, True])
    place = pos.groupby("date").cumcount()
    grid = pd.MultiIndex.from_product([dates, list(REGIONS)], names=["date", "region"])
    rank_parts, org_parts = [], []
    for rule in ("uploader", "lineage"):
        reg = region[rule].loc[pos.index]
        for n in TOP_N:
            top = place < n
            s = pos["downloads"][top].astype(float).groupby([pos["date"][top], reg[top]]).sum()
            s = s.rename_axis(["date", "region"]).reindex(grid, fill_value=0.0)
            f = (s / s.groupby(level="date").transform("sum")).rename("share").reset_index()
            f["rule"], f["top_n"] = rule, n
            rank_parts.append(f)
        org = pos["author" if rule == "uploader" else "root_author"]
        g = pd.DataFrame({"date": pos["date"], "organisation": org, "region": reg,
                          "downloads": pos["downloads"].astype(float)})
        g = g[org.notna()].groupby(["date", "organisation", "region"], as_index=False)["downloads"].sum()
        g = g.sort_values(["date", "downloads", "organisation", "region"], ascending=[True, False, True, True])
        g = g.groupby("date").head(TOP_ORGS).copy()
        g["rank"] = g.groupby("date").cumcount() + 1
        g["rule"] = rule
        org_parts.append(g)
    rankings = pd.concat(rank_parts, ignore_index=True)[list(RANKING_COLUMNS)]
    top_orgs = pd.concat(org_parts, ignore_index=True)[list(TOP_ORG_COLUMNS)]
    return panel, rankings, top_orgs, negatives


def _same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]):
    a = a.sort_values(keys).reset_index(drop=True)
    b = b.sort_values(keys).reset_index(drop=True)
    b = b.astype(a.dtypes.to_dict())
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-9)


@pytest.fixture(scope="module")
def small_hub(tmp_path_factory):
    """A simulated Hub of ~1500 models x 40 weeks (with all-time counts from week 31), tagged by tag_models.

    The catalog pass also writes its row codes, so the panel can be built both ways.
    """
    origin = pytest.importorskip("analysis.origin")
    from analysis.catalog import build_catalog

    out = tmp_path_factory.mktemp("bench")
    spec = StoreSpec(models=1500, seed=3)
    folder = generate_store(spec, out, 40, log=lambda *a: None)
    snaps = [(spec.date(w), folder / "archive" / f"{spec.date(w).isoformat()}.parquet") for w in range(40) if w != 33]
    codes = out / "row_codes"
    catalog = build_catalog(snaps, row_codes_dir=codes)
    tags = origin.tag_models(catalog, store_registry())
    extra = catalog.select(["id", "pipeline_tag"]).to_pandas()
    models = tags.merge(extra, on="id", how="left", validate="one_to_one")
    # leave a few models out of the tags table, and shuffle it: their rows must count as UNKNOWN
    models = models.iloc[5:].sample(frac=1.0, random_state=0).reset_index(drop=True)
    return snaps, models, codes


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("use_codes", [False, True])
def test_streaming_equals_reference_on_a_simulated_hub(small_hub, workers, use_codes):
    snaps, models, codes = small_hub
    built = build_panel(snaps, models, workers=workers, row_codes_dir=codes if use_codes else None)
    assert built.snapshots_matched_by_codes == (len(snaps) if use_codes else 0)
    panel, rankings, top_orgs, negatives = reference(snaps, models)
    assert built.untagged_rows > 0 and built.negative_increments == negatives > 0
    assert built.rows_used < built.rows_read   # zero-download rows of files without all-time counts were dropped
    assert set(built.panel["measure"]) == {"downloads_30d", "downloads_alltime_increment"}
    _same(built.panel, panel, ["date", "measure", "rule", "scope", "region"])
    _same(built.rankings, rankings, ["date", "rule", "top_n", "region"])
    _same(built.top_orgs, top_orgs, ["date", "rule", "rank"])


def test_row_codes_of_another_file_are_not_used(small_hub, tmp_path):
    snaps, models, codes = small_hub
    # a copy of the store where one snapshot was re-pulled with its rows in another order
    copies = []
    for i, (d, p) in enumerate(snaps[-6:]):
        t = pq.read_table(p)
        if i == 2:
            t = t.take(np.random.default_rng(0).permutation(t.num_rows))
        pq.write_table(t, tmp_path / p.name)
        copies.append((d, tmp_path / p.name))
    shutil.copytree(codes, tmp_path / "codes")
    index = tmp_path / "codes" / "index.json"
    meta = json.loads(index.read_text())
    for d, p in copies:  # the stamps of the copies, except the re-pulled one: its codes stay those of the old file
        if p.name != copies[2][1].name:
            st = p.stat()
            meta["snapshots"][d.isoformat()].update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    index.write_text(json.dumps(meta))
    built = build_panel(copies, models, row_codes_dir=tmp_path / "codes")
    assert built.snapshots_matched_by_codes == len(copies) - 1
    panel, rankings, top_orgs, _ = reference(copies, models)
    _same(built.panel, panel, ["date", "measure", "rule", "scope", "region"])
    _same(built.rankings, rankings, ["date", "rule", "top_n", "region"])


def test_tagged_models_in_catalog_order_are_mapped_without_hashing_and_give_the_same_panel(small_hub):
    """Notebook 02 keeps the catalog's order: catalog_order.npy then maps catalog rows to tagged models (checked id by
    id); a shuffled or partial table (the fixture's) falls back to matching ids. Both give the reference panel."""
    from analysis.catalog import ROW_CODES_ORDER, build_catalog
    from analysis.origin import tag_models
    from analysis.panel import _in_catalog_order, _prepare_groups

    snaps, shuffled, codes = small_hub
    catalog = build_catalog(snaps)                 # the same catalog, in the order the row-codes pass wrote down
    models = tag_models(catalog, store_registry()).merge(
        catalog.select(["id", "pipeline_tag"]).to_pandas(), on="id", how="left", validate="one_to_one")
    assert (codes / ROW_CODES_ORDER).is_file()
    ids = pq.read_table(codes / "catalog_ids.parquet")["id"].combine_chunks()
    assert _in_catalog_order(codes, ids, _prepare_groups(models)) is not None
    assert _in_catalog_order(codes, ids, _prepare_groups(shuffled)) is None
    swapped = models.copy()
    swapped.loc[[0, 1], "id"] = swapped.loc[[1, 0], "id"].to_numpy()         # same ids, two rows swapped
    assert _in_catalog_order(codes, ids, _prepare_groups(swapped)) is None
    built = build_panel(snaps, models, row_codes_dir=codes)
    assert built.snapshots_matched_by_codes == len(snaps) and built.untagged_rows == 0
    panel, rankings, top_orgs, _ = reference(snaps, models)
    _same(built.panel, panel, ["date", "measure", "rule", "scope", "region"])
    _same(built.rankings, rankings, ["date", "rule", "top_n", "region"])
    _same(built.top_orgs, top_orgs, ["date", "rule", "rank"])


def test_a_tagged_model_listed_twice_is_refused_with_row_codes_in_catalog_order(small_hub, tmp_path):
    """With row codes, the tags' ids are checked distinct only through catalog_order.npy (distinct catalog rows):
    a table and an order file that both repeat a model must still be refused, as without row codes."""
    import shutil

    from analysis.catalog import ROW_CODES_ORDER, build_catalog
    from analysis.origin import tag_models

    snaps, _, codes = small_hub
    catalog = build_catalog(snaps)
    models = tag_models(catalog, store_registry()).merge(
        catalog.select(["id", "pipeline_tag"]).to_pandas(), on="id", how="left", validate="one_to_one")
    folder = tmp_path / "codes"
    shutil.copytree(codes, folder)
    order = np.load(folder / ROW_CODES_ORDER)
    twice = models.copy()
    twice.iloc[1] = twice.iloc[0]                    # the first model listed twice, the second one lost
    order[1] = order[0]
    np.save(folder / ROW_CODES_ORDER, order)
    with pytest.raises(PanelError, match="duplicate id"):
        build_panel(snaps, twice, row_codes_dir=folder)
    with pytest.raises(PanelError, match="duplicate id"):
        build_panel(snaps, twice)
