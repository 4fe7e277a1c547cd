"""Adoption factors (notebook 06): classification rules, the split, shares and ecosystem counts with known answers,
the bootstrap's unit, unparseable fields counted, the parameter count at the pull, and the config."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import factors as F
from analysis.config import ConfigError, load_config
from analysis.hub.archive import normalise_table, projected_columns
from analysis.hub.live import params_total
from analysis.raw import RawStore, RawStoreError
from analysis.schema import LATER_COLUMNS, RAW_SCHEMA

TAGS = pa.array([
    ["transformers", "license:apache-2.0", "en", "zh"],          # 0 permissive, en + zh
    ["license:llama3.1", "en"],                                  # 1 restricted, en
    ["License:CC-BY-NC-4.0", "zh-CN", "fr"],                      # 2 non-commercial (case), zh by subtag, other
    ["license:other", "yue"],                                    # 3 other, Cantonese is Chinese
    ["gguf", "region:us"],                                       # 4 no licence tag, no language
    ["license:Apache 2.0", "multilingual"],                      # 5 unknown value -> unparseable; multilingual=other
    ["license:mit", "license:llama3", "chinese"],                # 6 conflicting classes; a language name
    ["license:mit", "license:apache-2.0", "EN"],                 # 7 two permissive tags: fine; EN is English
    None,                                                        # 8 no tags at all
], pa.list_(pa.string()))


def test_licence_classes_and_unparseable_values():
    rf = F.classify_rows(TAGS)
    cls = [F.LICENCE_CLASSES[i] for i in rf.licence]
    assert cls == ["permissive", "restricted", "non_commercial", "other_unknown", "other_unknown", "other_unknown",
                   "other_unknown", "permissive", "other_unknown"]
    assert rf.licence_status.tolist() == [0, 0, 0, 0, 1, 2, 3, 0, 1]
    assert rf.licence_values == ["apache 2.0"]


def test_languages_by_code_with_subtags_and_names_not_used():
    rf = F.classify_rows(TAGS)
    assert rf.zh.tolist() == [True, False, True, True, False, False, False, False, False]
    assert rf.en.tolist() == [True, True, False, False, False, False, False, True, False]
    assert rf.other.tolist() == [False, False, True, False, False, True, False, False, False]
    assert rf.none.tolist() == [False, False, False, False, True, False, True, False, True]
    assert rf.language_names.tolist() == [False] * 6 + [True, False, False] and rf.name_values == ["chinese"]


def test_size_bins_edges_and_status():
    p = np.array([5e8, 1e9 - 1, 1e9, 9.99e9, 1e10, 1e11, 4e11, np.nan, 0, -7])
    b, st = F.size_bins(p, (1, 10, 100))
    assert b.tolist() == [0, 0, 1, 1, 2, 3, 3, -1, -1, -1]
    assert st.tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 2, 2]
    assert F.size_levels((1, 10, 100)) == ("under_1b", "1b_10b", "10b_100b", "over_100b")
    assert F.size_levels((0.5, 7)) == ("under_0p5b", "0p5b_7b", "over_7b")
    with pytest.raises(F.FactorError, match="strictly increasing"):
        F.check_size_edges((10, 1))


DATES = [dt.date(2025, 1, 1), dt.date(2025, 2, 5), dt.date(2025, 3, 5), dt.date(2025, 4, 2)]


@pytest.mark.parametrize("head,override,want,basis", [
    ({"kind": "bounded", "estimate_date": "2025-02-20", "lower_date": "2025-02-10", "upper_date": "2025-03-01"},
     None, dt.date(2025, 2, 20), "bounded_crossover"),
    ({"kind": "unbounded", "estimate_date": "2025-02-20"}, None, dt.date(2025, 2, 20), "unbounded_crossover_estimate"),
    ({"kind": "bounded", "estimate_date": "2026-06-01"}, None, dt.date(2025, 2, 15), "window_middle"),
    ({}, None, dt.date(2025, 2, 15), "window_middle"),
    ({"kind": "bounded", "estimate_date": "2025-02-20"}, dt.date(2025, 3, 5), dt.date(2025, 3, 5), "config"),
    ({"kind": "bounded", "estimate_date": "2025-02-20"}, dt.date(2024, 3, 5), None, "none"),
])
def test_split_date_and_its_basis(head, override, want, basis):
    s = F.choose_split({"headline": head}, DATES, override)
    assert (s.date, s.basis) == (want, basis)
    assert s.note  # always said in words


# ----------------------------------------------------------------------------------------------- a small world
def _models() -> pd.DataFrame:
    rows = [  # id, author, relation, root, region, created
        ("Qwen/base", "Qwen", "base", "Qwen/base", "CN", "2024-06-01"),
        ("u1/ft", "u1", "finetune", "Qwen/base", "CN", "2025-01-10"),
        ("u2/lora", "u2", "adapter", "Qwen/base", "CN", "2025-02-10"),
        ("Qwen/q", "Qwen", "quantized", "Qwen/base", "CN", "2025-02-11"),   # first party: not a builder
        ("meta-llama/base", "meta-llama", "base", "meta-llama/base", "US", "2024-06-01"),
        ("u1/llama-lora", "u1", "adapter", "meta-llama/nobody", "US", "2025-01-20"),  # root without a count
        ("meta-llama/b2", "meta-llama", "base", "meta-llama/b2", "US", "2024-06-01"),
    ]
    m = pd.DataFrame(rows, columns=["id", "author", "relation", "lineage_root", "lineage_region", "createdAt"])
    m["createdAt"] = pd.to_datetime(m["createdAt"], utc=True)
    m["uploader_region"] = m["lineage_region"]
    m["root_author"] = m["lineage_root"].str.split("/").str[0]
    m["first_party"] = m["author"].isin(["Qwen", "meta-llama"])
    m["is_redistributor"] = False
    m["pipeline_tag"] = "text-generation"
    return m


def _snapshot(path, rows):
    t = pa.table({"id": [r[0] for r in rows], "downloads": pa.array([r[1] for r in rows], pa.int64()),
                  "tags": pa.array([r[2] for r in rows], pa.list_(pa.string())),
                  "params_total": pa.array([r[3] for r in rows], pa.int64())})
    pq.write_table(t, path)
    return path


@pytest.fixture
def world(tmp_path):
    a = _snapshot(tmp_path / "a.parquet", [
        ("Qwen/base", 300, ["license:apache-2.0", "zh", "en"], 7_000_000_000),
        ("u1/ft", 100, ["license:mit", "en"], 7_000_000_000),
        ("u2/lora", 100, ["license:Apache 2.0"], 20_000_000),          # adapter: its root's 7B
        ("Qwen/q", 0, ["license:apache-2.0"], 900_000_000),              # no downloads: ignored in shares
        ("meta-llama/base", 600, ["license:llama3.1", "en"], 70_000_000_000),
        ("u1/llama-lora", 200, ["license:llama3.1", "en"], 30_000_000),  # adapter, root absent: unknown
        ("meta-llama/b2", 200, ["license:llama3.1", "english"], None),    # no count: unknown
        ("ghost/model", 50, ["license:mit"], 1),                          # not in the tagged table
    ])
    b = _snapshot(tmp_path / "b.parquet", [
        ("Qwen/base", 500, ["license:apache-2.0", "zh"], 7_000_000_000),
        ("Qwen/q", 500, ["license:apache-2.0"], 0),                        # quantization, bad own count: root's 7B
        ("meta-llama/base", 1000, ["license:llama3.1", "en"], 70_000_000_000),
        ("meta-llama/b2", 0, ["license:mit"], 2_000_000_000),
    ])
    return [(dt.date(2025, 1, 1), a), (dt.date(2025, 3, 5), b)]


def test_shares_known_answer(world):
    split = F.choose_split({"headline": {"kind": "bounded", "estimate_date": "2025-02-01"}}, [d for d, _ in world])
    res = F.compute_factors(world, _models(), split=split, reps=99, seed=1)
    t = res.table.set_index(["date", "factor", "level", "region"])["value"]
    d1, d2 = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-05")
    assert t[(d1, "licence", "permissive", "CN")] == pytest.approx(400 / 500)
    assert t[(d1, "licence", "other_unknown", "CN")] == pytest.approx(100 / 500)   # the malformed value
    assert t[(d1, "licence", "restricted", "US")] == pytest.approx(1.0)
    assert t[(d1, "language", "zh", "CN")] == pytest.approx(300 / 500)
    assert t[(d1, "language", "none", "CN")] == pytest.approx(100 / 500)
    assert t[(d1, "language", "none", "US")] == pytest.approx(200 / 1000)  # "english" is not a code
    assert t[(d1, "size", "1b_10b", "CN")] == pytest.approx(1.0)              # the adapter counts as 7B
    assert t[(d1, "size", "over_100b", "US")] == 0 and t[(d1, "size", "10b_100b", "US")] == pytest.approx(1.0)
    assert t[(d1, "size", "unknown", "US")] == pytest.approx(400 / 1000)     # adapter without root count, b2
    assert t[(d2, "size", "1b_10b", "CN")] == pytest.approx(1.0)              # quantization takes its root's
    assert t[(d1, "derivative", "share", "CN")] == pytest.approx(200 / 500)
    assert t[(d1, "licence", "permissive", "UNKNOWN")] == pytest.approx(1.0)  # the untagged row
    eco = res.table[res.table["factor"] == "ecosystem"].set_index(["date", "level", "region"])["value"]
    jan, feb = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")
    assert eco[(jan, "new_derivatives", "CN")] == 1 and eco[(feb, "new_derivatives", "CN")] == 2
    assert eco[(feb, "builder_accounts", "CN")] == 1          # u2; Qwen's own quantization is not a builder
    assert eco[(feb, "derivatives_per_base", "CN")] == 3 and eco[(jan, "derivatives_per_base", "US")] == 0.5
    assert eco[(d1, "derivative_downloads", "CN")] == 200 and eco[(d2, "derivative_downloads", "CN")] == 500
    # differences: period sums over snapshots; CN before = snapshot a, after = snapshot b
    diff = {(x.factor, x.level, x.period): x for x in res.differences}
    assert diff[("licence", "permissive", "before")].cn == pytest.approx(0.8)
    assert diff[("licence", "permissive", "before")].difference == pytest.approx(0.8 - 0.0)
    assert diff[("language", "zh", "after")].cn == pytest.approx(500 / 1000)
    assert diff[("ecosystem", "new_derivatives", "before")].cn == pytest.approx(1 / (31 / (365.2425 / 12)))
    # unparseable fields, counted on the rows with downloads
    u = res.unparseable
    assert (u["licence_unknown_value"]["models"], u["licence_unknown_value"]["values"]) == (1, {"apache 2.0": 1})
    assert u["language_name_not_code"]["models"] == 1 and u["size_not_positive"]["models"] == 1
    assert u["size_no_count"]["models"] == 1 and u["origin_unknown_rows"]["rows"] == 1
    assert u["licence_unknown_value"]["download_share"] == pytest.approx(100 / (1550 + 2000))
    ch = {(c.factor, c.level): c for c in res.changes}
    assert ch[("licence", "permissive")].change == pytest.approx((1.0 - 0.0) - (0.8 - 0.0))
    # concentration: one CN family; US downloads 600, 200, 200 in three families
    before = diff[("licence", "permissive", "before")]
    assert (before.n_cn, before.n_us) == (1, 3) and before.neff_cn == pytest.approx(1.0)
    assert before.neff_us == pytest.approx(1000 ** 2 / (600 ** 2 + 200 ** 2 + 200 ** 2))
    assert "unreliable" in F.readings(res)["concentration"]


def test_scope_and_rule_select_the_models(world):
    split = F.choose_split(None, [d for d, _ in world])
    m = _models()
    m.loc[m["id"] == "u1/ft", "pipeline_tag"] = "fill-mask"
    res = F.compute_factors(world, m, rule="uploader", scope="llm", split=split, reps=99)
    t = res.table.set_index(["date", "factor", "level", "region"])["value"]
    assert t[(pd.Timestamp("2025-01-01"), "licence", "permissive", "CN")] == pytest.approx(300 / 400)
    with pytest.raises(F.FactorError, match="panel.scope"):
        F.compute_factors(world, m, scope="nope", split=split)


def test_result_is_deterministic_and_json_ready(world):
    from analysis.stats.results import to_jsonable

    split = F.choose_split(None, [d for d, _ in world])
    a = F.compute_factors(world, _models(), split=split, reps=199, seed=5)
    b = F.compute_factors(world, _models(), split=split, reps=199, seed=5)
    assert a.difference_table().equals(b.difference_table())
    doc = json.loads(json.dumps(to_jsonable(a.as_dict()), allow_nan=False))
    assert set(doc) == {"definition", "split", "classes", "differences", "changes", "unparseable", "readings"}
    assert "association" in doc["readings"]["caveats"] or "associations" in doc["readings"]["caveats"]


def _clustered(seed: int, n_fam: int = 60, size: int = 8):
    """Synthetic units: families whose members share one attribute, equal downloads."""
    rng = np.random.default_rng(seed)
    rows = []
    for origin, p in (("CN", 0.6), ("US", 0.4)):
        for f in range(n_fam):
            a = rng.random() < p
            for k in range(size):
                rows.append((f"{origin}{f}/m{k}", origin, f"{origin}{f}/m0", a))
    return pd.DataFrame(rows, columns=["id", "region", "root", "attr"])


def test_family_resampling_is_wider_than_model_resampling_when_attributes_cluster(tmp_path):
    """Members of a family share their attribute, so resampling models understates the uncertainty."""
    u = _clustered(0)
    m = pd.DataFrame({"id": u["id"], "author": u["id"].str.split("/").str[0], "lineage_root": u["root"],
                      "relation": np.where(u["id"] == u["root"], "base", "finetune"), "lineage_region": u["region"],
                      "uploader_region": u["region"], "root_author": u["root"].str.split("/").str[0],
                      "first_party": False, "is_redistributor": False, "pipeline_tag": "text-generation",
                      "createdAt": pd.Timestamp("2024-01-01", tz="UTC")})
    snap = _snapshot(tmp_path / "s.parquet", [(i, 10, ["license:mit" if a else "license:llama3"], 1) for i, a in
                                              zip(u["id"], u["attr"])])
    split = F.Split(None, "none", None, None, None, None, "")
    width = {}
    for unit in ("family", "model"):
        res = F.compute_factors([(dt.date(2025, 1, 1), snap)], m, split=split, reps=499, seed=2, resample=unit)
        d = next(x for x in res.differences if (x.factor, x.level) == ("licence", "permissive"))
        width[unit] = d.upper - d.lower
        assert d.unit == unit
    assert width["family"] > 2 * width["model"]  # about sqrt(8) wider


# ----------------------------------------------------------------------------------------------- the pull
def test_params_total_from_safetensors_else_gguf_with_drift_notes():
    st = pa.array([{"parameters": {"BF16": 5}, "total": 5}, None, {"parameters": {"BF16": 7}, "total": 7}, None],
                  pa.struct([("parameters", pa.struct([("BF16", pa.int64())])), ("total", pa.int64())]))
    gg = pa.array([{"total": 9}, {"total": 11}, None, None], pa.struct([("total", pa.int64())]))
    t = pa.table({"id": ["a", "b", "c", "d"], "downloads": [1, 2, 3, 4], "safetensors": st, "gguf": gg})
    drift: list[str] = []
    out = normalise_table(t, "test", drift)
    assert out.schema.equals(RAW_SCHEMA) and out["params_total"].to_pylist() == [5, 11, 7, None]
    # a week storing the struct as JSON text, with a fraction and garbage: parsed, bad values null and counted
    t2 = pa.table({"id": ["a", "b", "c"], "downloads": [1, 2, 3],
                   "safetensors": ['{"total": 12}', '{"total": 1.5}', 'oops']})
    drift = []
    out = normalise_table(t2, "test", drift)
    assert out["params_total"].to_pylist() == [12, None, None]
    assert any("JSON" in n for n in drift) and any("2 value(s)" in n for n in drift)
    # without either source: null, noted as absent
    drift = []
    out = normalise_table(pa.table({"id": ["a"], "downloads": [1]}), "test", drift)
    assert out["params_total"].to_pylist() == [None] and "params_total: absent, written as null" in drift


def test_projection_reads_only_the_total_leaves():
    schema = pa.schema([("id", pa.string()), ("downloads", pa.int64()),
                        ("safetensors", pa.struct([("parameters", pa.map_(pa.string(), pa.int64())),
                                                   ("total", pa.int64())])),
                        ("gguf", pa.string())])
    cols = projected_columns(schema)
    assert "safetensors.total" in cols and "gguf" in cols and "safetensors" not in cols


def test_live_params_total():
    class M:
        safetensors = {"parameters": {"BF16": 3}, "total": 3}
        gguf = {"total": 8}

    class G:
        safetensors = None
        gguf = {"total": 8.0}

    class N:
        safetensors = None
        gguf = {"total": "many"}

    assert (params_total(M()), params_total(G()), params_total(N())) == (3, 8, None)


def test_raw_files_pulled_before_params_total_stay_valid(tmp_path):
    """Raw pulls are immutable: a file written before the column existed is read with nulls, and verifies."""
    assert "params_total" in LATER_COLUMNS and RAW_SCHEMA.names[-1] == "params_total"
    old_schema = pa.schema([f for f in RAW_SCHEMA if f.name != "params_total"])
    store = RawStore(tmp_path)
    table = pa.table({f.name: pa.nulls(2, f.type) if f.name not in ("id", "downloads") else
                      pa.array(["a", "b"] if f.name == "id" else [1, 2], f.type) for f in old_schema},
                     schema=old_schema)
    (tmp_path / "archive").mkdir()
    path = store.path("archive", "2025-01-01")
    pq.write_table(table, path)
    got = store.read("archive", "2025-01-01")
    assert got.column_names == RAW_SCHEMA.names and got["params_total"].null_count == 2
    assert store.read("archive", "2025-01-01", columns=["id", "params_total"]).num_rows == 2
    assert [b.num_rows for b in store.iter_batches("archive", "2025-01-01")] == [2]
    with pytest.raises(RawStoreError):  # new writes must have the column
        store.write("archive", "2025-01-08", table, {"source": "test"})


# ----------------------------------------------------------------------------------------------- config
def test_factor_config_is_validated(tmp_path):
    cfg = load_config()
    assert cfg.factors.size_bins == (1.0, 10.0, 100.0) and cfg.factors.resample == "family"
    assert cfg.notebook_parameters()["factors_split_date"] is None
    for bad, match in (("factors.size_bins=10,1", "strictly increasing"), ("factors.resample=tag", "choose one"),
                       ("factors.bootstrap_reps=10", "minimum"), ("factors.split_date=2025-13-01", "date")):
        k, v = bad.split("=")
        with pytest.raises(ConfigError, match=match):
            load_config(overrides={k: v})


def test_bootstrap_sums_pair_matrices_and_bound_memory(monkeypatch):
    """Every replicate draws n units; matrices share the draws; chunking changes nothing but memory."""
    monkeypatch.setattr(F, "CHUNK_CELLS", 7)  # 7 cells: one replicate of 5 units at a time
    m = np.arange(10.0).reshape(5, 2)
    out = F.bootstrap_sums(np.random.default_rng(3), {"ones": np.ones((5, 1)), "m": m, "2m": 2 * m}, 5, 40)
    assert out["ones"].shape == (40, 1) and (out["ones"] == 5).all()
    assert np.array_equal(out["2m"], 2 * out["m"]) and out["m"].std(axis=0).min() > 0
    assert F.bootstrap_sums(np.random.default_rng(3), {"x": np.ones((0, 1))}, 0, 4)["x"].shape == (4, 1)
