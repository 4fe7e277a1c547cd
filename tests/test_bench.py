"""The Hub-scale benchmark, at a tiny size: the simulated store and the JSON report."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis.schema import ALLTIME_FROM
from analysis.simulate.store import StoreSpec, generate_store, store_dates
from devtools.bench import add_arguments, run
from analysis.schema import RAW_SCHEMA


def _files(folder, spec, weeks):
    return [folder / "archive" / f"{spec.date(w).isoformat()}.parquet" for w in range(weeks)]


def test_store_is_realistic_and_deterministic(tmp_path):
    spec = StoreSpec(models=4000, seed=1)
    folder = generate_store(spec, tmp_path / "a", 36, log=lambda *a: None)
    files = _files(folder, spec, 36)
    last = pq.read_table(files[-1])
    assert last.schema.equals(RAW_SCHEMA)
    assert pc.count_distinct(last["id"]).as_py() == last.num_rows
    assert 0.9 * 4000 * 0.8 < last.num_rows < 4000 * 1.05        # about `models` at the horizon's pace
    dl = last["downloads"].to_numpy()
    assert 0.4 < np.mean(dl == 0) < 0.85 and dl.max() > 100 * np.median(dl[dl > 0])   # zero tail, heavy tail
    lengths = pc.utf8_length(last["id"]).to_numpy()
    assert 20 < lengths.mean() < 70 and np.all(pc.match_substring(last["id"], "/").to_numpy(zero_copy_only=False))
    assert {"Qwen", "meta-llama", "bartowski"} <= set(last["author"].to_pylist())
    meta = json.loads((folder / "store.json").read_text())
    assert max(int(k) for k in meta["lineage_depth_counts"]) >= 4
    # declared parents: most exist, some dangle (not a model of the store)
    parents = pc.list_flatten(pc.struct_field(last["baseModels"], "models"))
    parent_ids = pc.struct_field(parents, "id")
    union = pa.concat_arrays([pq.read_table(f, columns=["id"])["id"].combine_chunks() for f in files])
    known = pc.is_in(parent_ids, value_set=pc.unique(union)).to_numpy(zero_copy_only=False)
    assert 0.9 < known.mean() < 1.0
    # downloadsAllTime: absent before 2025-02-26, then present and (almost always) monotone
    for w, f in enumerate(files):
        at = pq.read_table(f, columns=["downloadsAllTime"])["downloadsAllTime"]
        assert (at.null_count == len(at)) == (spec.date(w) < ALLTIME_FROM)
    # deterministic: a second build elsewhere gives the same tables
    other = generate_store(spec, tmp_path / "b", 3, log=lambda *a: None)
    for a, b in zip(files[:3], _files(other, spec, 3)):
        assert pq.read_table(a).equals(pq.read_table(b))


def test_store_is_reused_and_extended(tmp_path):
    spec = StoreSpec(models=300, seed=2)
    folder = generate_store(spec, tmp_path, 3, log=lambda *a: None)
    stamps = [f.stat().st_mtime_ns for f in _files(folder, spec, 3)]
    messages = []
    generate_store(spec, tmp_path, 5, log=messages.append)
    assert [f.stat().st_mtime_ns for f in _files(folder, spec, 3)] == stamps   # kept, not rewritten
    assert len(store_dates(spec, tmp_path)) == 5 and "writing 2 weekly snapshots" in messages[0]
    messages.clear()
    generate_store(spec, tmp_path, 4, log=messages.append)
    assert messages == []                                                       # nothing to do


def _args(tmp_path, flags=(), **kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = ["--models", "400", "--weeks", "34", "--out", str(tmp_path)]
    for k, v in kw.items():
        argv += [f"--{k}", str(v)]
    return parser.parse_args(argv + list(flags))


def _args_no_codes(tmp_path) -> argparse.Namespace:
    args = _args(tmp_path, weeks=10)
    args.row_codes = False
    return args


def test_bench_prints_one_json_report(tmp_path, capsys):
    pytest.importorskip("analysis.origin")
    assert run(_args(tmp_path)) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    report = json.loads(out[0])
    stages = report["stages"]
    assert set(stages) == {"raw_read", "raw_read_anchor_files", "catalog", "tagging", "aggregation"}
    assert report["ratio_to_read_anchor_files"] == pytest.approx(
        report["pass_seconds"] / stages["raw_read_anchor_files"]["seconds"], rel=0.1)
    assert stages["raw_read"]["rows"] == stages["aggregation"]["rows"] == report["raw_rows"] > 34 * 300
    assert stages["tagging"]["rows"] == report["models_in_union"]
    for s in stages.values():
        assert s["seconds"] >= 0 and s["cpu_seconds"] >= 0 and s["peak_rss_mb_after"] > 0
        assert s["rows_per_second"] is None or s["rows_per_second"] > 0
    total = stages["catalog"]["seconds"] + stages["tagging"]["seconds"] + stages["aggregation"]["seconds"]
    assert report["pass_seconds"] == pytest.approx(total, abs=0.005)
    # the ratio is computed before rounding; stage seconds are rounded to 0.001 s
    assert report["ratio_to_read"] == pytest.approx(report["pass_seconds"] / stages["raw_read"]["seconds"], rel=0.1)
    assert report["ratio_to_read_cpu"] > 0 and len(report["load_average_before_after"]) == 2
    assert report["checks"]["shares_sum_to_one"] and report["checks"]["all_rows_tagged"]
    assert report["checks"]["rows_used_by_panel"] < report["raw_rows"]
    assert report["peak_rss_mb"] > 0 and report["wall_seconds"] >= report["pass_seconds"]
    assert report["ns_per_raw_row"] == pytest.approx(report["pass_seconds"] / report["raw_rows"] * 1e9, rel=0.01)
    from analysis.catalog import DEFAULT_METADATA_EVERY

    assert report["metadata_every"] == DEFAULT_METADATA_EVERY > 1
    assert report["checks"]["metadata_plan"]["anchors"] < report["snapshots"]
    assert report["checks"]["snapshots_matched_by_row_codes"] == report["snapshots"] == 34
    assert not list((tmp_path / "m400-s0").glob("row-codes-*"))                 # temporary codes removed
    first_build = report["store_build_seconds"]
    # a second run reuses the store
    assert run(_args(tmp_path, ["--floor"], weeks=10)) == 0
    again = json.loads(capsys.readouterr().out.strip())
    assert again["snapshots"] == 10 and again["store_build_seconds"] < first_build
    floor = again["floor"]                       # the read plus the week-to-week matching, timed in the same run
    assert floor["seconds"] > 0 and floor["ratio_to_read"] > 0 and "floor" not in report
    # computed before rounding; the seconds shown are rounded to 0.001 s (a few ms here)
    rounding = 0.0006 / floor["seconds"] + 0.0006 / again["pass_seconds"]
    assert floor["pass_ratio_to_floor"] == pytest.approx(again["pass_seconds"] / floor["seconds"],
                                                         rel=0.01 + rounding)
    # the CPU a pass at ratio_to_read 1.5 would have left beyond the floor, every core busy
    read = again["stages"]["raw_read"]["seconds"]
    assert floor["cores"] >= 1 and floor["tagging_cpu_seconds"] > 0
    assert floor["cpu_seconds_left_at_ratio_1_5"] == pytest.approx(
        1.5 * read * floor["cores"] - floor["cpu_seconds"], abs=0.002 * floor["cores"] + 0.002)
    # matching ids instead of using the row codes gives the same outputs
    assert run(_args_no_codes(tmp_path)) == 0
    plain = json.loads(capsys.readouterr().out.strip())
    assert plain["checks"]["snapshots_matched_by_row_codes"] == 0
    for k in ("panel_rows", "rankings_rows", "top_orgs_rows", "rows_used_by_panel", "untagged_rows"):
        assert plain["checks"][k] == again["checks"][k]


def test_bench_rejects_tiny_sizes(tmp_path, capsys):
    assert run(_args(tmp_path, models=10)) == 2
    assert "--models must be at least 100" in capsys.readouterr().err


def test_bench_runs_the_duckdb_yardstick_and_their_panels_agree(tmp_path, capsys):
    pytest.importorskip("duckdb")
    pytest.importorskip("analysis.origin")
    for every in (1, 6):
        args = _args(tmp_path, ("--duckdb", "--loss"), models=3000, weeks=30, repeat=2,
                     **{"metadata-every": every})
        assert run(args) == 0
        report = json.loads(capsys.readouterr().out.strip())
        assert report["repeat"] == 2 and len(report["pass_seconds_runs"]) == 2
        assert len(report["duckdb"]["seconds_runs"]) == 2 and report["duckdb"]["peak_rss_mb"] > 0
        assert report["duckdb"]["cpu_seconds"] > 0 and report["ratio_to_duckdb_cpu"] > 0
        assert report["duckdb"]["models"] == report["models_in_union"]
        assert report["ratio_to_duckdb"] == pytest.approx(report["pass_seconds"] / report["duckdb"]["seconds"],
                                                          rel=0.01)
        agree = report["panel_vs_duckdb"]
        assert agree["equal"] and agree["same_rows"] and agree["max_abs_share_diff"] <= 1e-9, agree
        loss = report["staleness"]
        if every == 1:
            assert loss["models_differing"] == 0 and loss["share_of_downloads_identical"] == 1.0
        else:
            assert report["checks"]["metadata_plan"]["metadata_older_than_last_seen"] > 0
            assert 0.99 < loss["share_of_downloads_identical"] <= 1.0


def test_duckdb_yardstick_on_a_store_written_by_the_thin_pull_agrees(tmp_path, capsys):
    """On a thin store the SQL reads the models' metadata from the metadata parts the pull wrote under the rule (one
    pull stores each model's row once, so "the newest part holding it" is that row); its panel equals the pass's."""
    pytest.importorskip("duckdb")
    args = _args(tmp_path, ("--duckdb", "--thin-store"), models=3000, weeks=30, **{"metadata-every": 6})
    assert run(args) == 0
    report = json.loads(capsys.readouterr().out.strip())
    assert report["thin_store"] and report["checks"]["metadata_plan"]["thin_snapshots"] == 30
    plan = report["checks"]["metadata_plan"]
    assert plan["snapshots_with_metadata_reads"] > 1 and plan["metadata_older_than_last_seen"] > 0   # older parts
    assert report["duckdb"]["models"] == report["models_in_union"]
    agree = report["panel_vs_duckdb"]
    assert agree["equal"] and agree["same_rows"] and agree["max_abs_share_diff"] <= 1e-9, agree


def test_compare_panels_finds_a_difference():
    from devtools.bench import compare_panels

    a = pd.DataFrame({"date": pd.to_datetime(["2025-01-01"] * 2), "measure": "downloads_30d", "rule": "lineage",
                      "scope": "all", "region": ["CN", "US"], "downloads": [3.0, 1.0], "share": [0.75, 0.25],
                      "n_models": [2, 1]})
    assert compare_panels(a, a.copy())["equal"]
    b = a.copy()
    b.loc[0, "share"] += 1e-6
    assert not compare_panels(a, b)["equal"] and compare_panels(a, b)["max_abs_share_diff"] == pytest.approx(1e-6)
    c = a.copy()
    c.loc[1, "n_models"] = 2
    assert not compare_panels(a, c)["equal"]
    assert not compare_panels(a, a.iloc[:1])["equal"]


def test_bytes_read_measures_the_real_thin_pull_below_the_bound(tmp_path):
    """The pull itself, thin and full, against the stand-in serving an archive with heavy columns (small case)."""
    from devtools.bytes_read import MAX_FRACTION, MIN_IDENTICAL, WEEKLY_COLUMNS, measure

    m = measure(8000, 26, 13, 10, "creation", tmp_path, log=lambda *a: None, with_loss=True)
    assert m["files"] == 26 and m["plan"]["anchors"] == 3 and m["plan"]["metadata_rows_missing"] == 0
    # what crossed the wire, as the stand-in served it and as the client counted it
    assert m["thin_bytes"] == m["thin_bytes_counted_by_client"] and m["full_bytes"] == m["full_bytes_counted_by_client"]
    assert m["thin_fraction"] <= MAX_FRACTION          # measured 6.3% at 8,000 models (a real run: see the README)
    assert m["thin_bytes"] < 0.6 * m["full_bytes"] < m["archive_bytes"] / 5
    # what the thin pull must read at least: the weekly columns of every file
    need = 0
    for f in sorted((tmp_path / "hub").rglob("models.parquet")):
        md = pq.ParquetFile(f).metadata
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            for i in range(rg.num_columns):
                if rg.column(i).path_in_schema.split(".")[0] in WEEKLY_COLUMNS:
                    need += rg.column(i).total_compressed_size
    assert m["thin_bytes"] > need
    assert 0 < m["metadata_row_groups_read"] < m["row_groups_total"] / 3
    assert m["bytes_per_row_newest"]["cardData"] > 100          # heavy columns sized as assumed
    assert m["loss"]["share_of_downloads_identical"] >= MIN_IDENTICAL and m["loss"]["models_differing"] > 0


def _parents(column) -> list:
    """Each baseModels struct as (relation, parent ids), whichever library built it (None for a null)."""
    return [None if not isinstance(x, dict) else
            (x["relation"], tuple(m["id"] for m in (x["models"] if x["models"] is not None else [])))
            for x in column]


def test_the_sql_yardstick_reads_each_models_metadata_where_the_catalog_does(tmp_path):
    """The SQL's metadata step follows the catalog's thin-read rule, orphans included (the greedy cover of the
    weeks that hold them), on a store where models edit their metadata and many are created and gone between
    anchors."""
    duckdb = pytest.importorskip("duckdb")
    from analysis.catalog import anchors, build_catalog
    from analysis.schema import LLM_PIPELINE_TAGS, REGIONS, RULES, SCOPES
    from devtools.duckdb_sql import panel_sql

    spec = StoreSpec(models=20000, seed=6)
    folder = generate_store(spec, tmp_path, 40, log=lambda *a: None)
    snaps = [(spec.date(w), folder / "archive" / f"{spec.date(w).isoformat()}.parquet") for w in range(40)]
    newest_first = sorted(snaps, reverse=True)
    for every in (1, 10):
        flags = anchors([d for d, _ in newest_first], every)
        sql = panel_sql({"files": [[d.isoformat(), str(p), bool(a)] for (d, p), a in zip(newest_first, flags)],
                         "rules": list(RULES), "scopes": list(SCOPES), "regions": list(REGIONS),
                         "llm_pipeline_tags": list(LLM_PIPELINE_TAGS)})
        con = duckdb.connect()
        for stmt in sql[:next(i for i, x in enumerate(sql) if "TABLE meta AS" in x) + 1]:
            con.execute(stmt)
        theirs = con.execute("SELECT id, pipeline_tag, baseModels FROM meta ORDER BY id").df().set_index("id")
        cat = build_catalog(snaps, metadata_every=every).to_pandas().set_index("id").sort_index()
        assert theirs.index.tolist() == cat.index.tolist()
        assert theirs["pipeline_tag"].fillna("-").tolist() == cat["pipeline_tag"].fillna("-").tolist()
        assert _parents(theirs["baseModels"]) == _parents(cat["baseModels"])
        if every > 1:   # the orphans: the SQL reads each from the week the catalog does
            weeks = con.execute("""SELECT r.id, max(r.date) AS week FROM orphan_rows r
                                   WHERE r.date IN (SELECT date FROM orphan_weeks) GROUP BY r.id""").df().set_index("id")
            anchor_weeks = {d for (d, _), a in zip(newest_first, flags) if a}
            orphans = cat[~cat["metadata_date"].isin(anchor_weeks)]
            assert sorted(weeks.index) == sorted(orphans.index)
            assert [w.date() for w in pd.to_datetime(weeks.loc[orphans.index, "week"])] == \
                orphans["metadata_date"].tolist()
            assert (orphans["metadata_date"] != orphans["last_seen"]).any()   # some are read before their last week


def test_yardstick_reads_the_row_groups_the_catalog_reads(tmp_path):
    """The yardstick's metadata reads are the row groups holding the plan's rows: every planned row is in one of them,
    and each of them holds a planned row (so it reads what the pass reads, no more, no less)."""
    from analysis.catalog import plan_metadata
    from devtools.bench import WEEKLY_COLUMNS, _read_planned, _read_plain
    spec = StoreSpec(models=10_000, seed=2)
    folder = generate_store(spec, tmp_path, 40, log=lambda *a: None)
    snaps = []
    for w, f in enumerate(_files(folder, spec, 40)):
        pq.write_table(pq.read_table(f), f, row_group_size=1_000)        # several row groups per file
        snaps.append((spec.date(w), f))
    plan = plan_metadata(snaps, 13)
    assert plan.summary()["orphans"] > 0 and len(plan.reads) > plan.summary()["anchors"]
    read_plan = _read_planned(snaps, plan)
    assert len(read_plan) == 40 and all(cols == WEEKLY_COLUMNS for _, cols, _ in read_plan)
    newest_first = sorted(snaps, key=lambda s: s[0], reverse=True)
    for k, (path, _, reads) in enumerate(read_plan):
        assert path == newest_first[k][1]
        if k not in plan.reads:
            assert reads == []
            continue
        (f, groups, cols), = reads
        meta = pq.ParquetFile(f).metadata
        bounds = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
        rows = plan.reads[k][0]
        in_group = np.searchsorted(bounds, rows, side="right") - 1
        assert sorted(set(in_group.tolist())) == groups and "tags" in cols and "id" not in cols
    assert _read_plain(read_plan) == sum(pq.ParquetFile(p).metadata.num_rows for _, p in snaps)


def test_light_archive_columns_have_the_heavy_ones_schema_at_a_fraction_of_the_bytes(tmp_path):
    from analysis.simulate.store import write_archive

    spec = StoreSpec(models=500, seed=0)
    heavy = write_archive(spec, tmp_path / "heavy", 3, "o/r", log=lambda *a: None)
    light = write_archive(spec, tmp_path / "light", 3, "o/r", heavy=False, log=lambda *a: None)
    raw = [f.name for f in RAW_SCHEMA if f.name != "params_total"]
    for h, li in zip(heavy, light):
        assert pq.read_schema(li).equals(pq.read_schema(h))          # what the pull sees is the same columns
        assert pq.read_table(li, columns=raw).equals(pq.read_table(h, columns=raw))
        assert li.stat().st_size < h.stat().st_size / 4
        totals = pc.struct_field(pq.read_table(li, columns=["safetensors"])["safetensors"], "total")
        assert 0.15 < totals.is_valid().to_numpy(zero_copy_only=False).mean() < 0.3   # counts on about 23%


def test_bench_on_a_store_written_by_the_thin_pull_gives_the_archive_stores_outputs(tmp_path, capsys):
    """``--thin-store``: the project's pull writes the store through the Hub stand-in (weekly columns in the
    snapshot files, metadata in part files); the timed pass on it gives the same outputs as on the archive store."""
    from devtools.bench import measure, thin_store

    spec = StoreSpec(models=600, seed=0)
    thin = thin_store(spec, tmp_path, 8, 3)
    folder = tmp_path / "m600-s0" / "thin-8w-every3"
    assert (folder / "complete.json").is_file()
    assert not list((tmp_path / "m600-s0").glob("bench-archive-*"))            # the archive's files are deleted
    assert "tags" not in pq.read_schema(thin[-1][1]).names                       # weekly columns only
    snapshot_files = {p for _, p in thin}
    assert [p for p in folder.rglob("*.parquet") if p not in snapshot_files]    # and the metadata parts
    archive = generate_store(spec, tmp_path, 8, log=lambda *a: None)
    full = [(spec.date(w), f) for w, f in enumerate(_files(archive, spec, 8))]
    assert [d for d, _ in thin] == [d for d, _ in full]
    outs = {}
    for name, snaps in (("thin", thin), ("archive", full)):
        report = measure(snaps, outputs_dir=tmp_path / f"out-{name}", row_codes_dir=tmp_path / f"codes-{name}",
                         metadata_every=3)
        assert report["checks"]["metadata_plan"]["thin_snapshots"] == (8 if name == "thin" else 0)
        outs[name] = report
    assert outs["thin"]["raw_rows"] == outs["archive"]["raw_rows"]
    for table in ("models", "panel", "rankings", "top_orgs"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out-thin" / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "out-archive" / f"{table}.parquet"))


def test_bench_thin_store_option_builds_once_and_refuses_the_loss(tmp_path, capsys):
    argv = ["--thin-store", "--metadata-every", "2"]
    assert run(_args(tmp_path, argv, models=300, weeks=5)) == 0
    report = json.loads(capsys.readouterr().out.strip())
    assert report["thin_store"] and report["snapshots"] == 5
    assert report["checks"]["metadata_plan"]["thin_snapshots"] == 5
    assert report["checks"]["shares_sum_to_one"] and report["checks"]["all_rows_tagged"]
    done = tmp_path / "m300-s0" / "thin-5w-every2" / "complete.json"
    stamp = done.stat().st_mtime_ns
    assert run(_args(tmp_path, argv, models=300, weeks=5)) == 0                   # reused, not pulled again
    assert json.loads(capsys.readouterr().out.strip())["raw_rows"] == report["raw_rows"]
    assert done.stat().st_mtime_ns == stamp
    assert not (tmp_path / "m300-s0" / "archive").exists()                        # no archive store was built
    assert run(_args(tmp_path, [*argv, "--loss"], models=300, weeks=5)) == 2
    assert "archive store only" in capsys.readouterr().err
