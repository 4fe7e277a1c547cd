"""Known-answer tests of tagging (analysis.origin.tagging) and coverage (analysis.origin.coverage)."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.origin.coverage import tagging_coverage
from analysis.origin.registry import registry_from_records
from analysis.origin.tagging import TAG_COLUMNS, extract_parents, tag_models
from analysis.schema import BASE_MODELS_TYPE, REGIONS


@pytest.fixture(scope="module")
def registry():
    return registry_from_records([
        dict(account="Qwen", organisation="Alibaba Cloud", country="CN", region="CN", kind="company", evidence="e"),
        dict(account="meta-llama", organisation="Meta", country="US", region="US", kind="company", evidence="e"),
        dict(account="mistralai", organisation="Mistral AI", country="FR", region="EU", kind="company", evidence="e"),
        dict(account="bartowski", organisation="bartowski", kind="redistributor", evidence="e"),
        dict(account="mlx-community", organisation="MLX Community", kind="community", evidence="e"),
    ])


def bm(relation, *parents):
    return {"relation": relation, "models": [{"id": p} for p in parents]}


def row(mid, base=None, tags=(), card=None):
    return {"id": mid, "author": mid.split("/")[0], "tags": list(tags), "baseModels": base, "cardData": card}


QWEN = "Qwen/Qwen2.5-7B"
LLAMA = "meta-llama/Llama-3.1-8B"
GGUF = "bartowski/Qwen2.5-7B-GGUF"
FT = "user00042/qwen-ft-of-gguf"
MERGE = "user00043/qwen-llama-merge"


@pytest.fixture(scope="module")
def models():
    return pd.DataFrame([
        row(QWEN, tags=["text-generation", "region:us"]),
        row(GGUF, bm("quantized", QWEN), tags=[f"base_model:{QWEN}", f"base_model:quantized:{QWEN}"]),
        row(FT, bm("finetune", GGUF)),
        row(LLAMA),
        row(MERGE, bm("merge", QWEN, LLAMA)),
        row("user00044/cyc-b", bm("finetune", "user00044/cyc-a")),
        row("user00044/cyc-a", bm("finetune", "user00044/cyc-b")),
        row("user00045/self", bm("finetune", "user00045/self")),
        row("user00046/orphan", bm("finetune", "deleted-user/gone")),
        row("user00047/orphan-of-meta", bm("finetune", "meta-llama/Llama-2-7b-gated")),
        row("user00048/tags-only", tags=["base_model:adapter:" + QWEN, "base_model:" + QWEN]),
        row("user00049/card-str", card=json.dumps({"license": "mit", "base_model": LLAMA})),
        row("user00050/card-list", card=json.dumps({"base_model": [QWEN, LLAMA], "base_model_relation": "merge"})),
        row("mlx-community/Mistral-4bit", bm("quantized", "mistralai/Mistral-7B")),
        row("mistralai/Mistral-7B"),
    ])


@pytest.fixture(scope="module")
def tags(models, registry):
    return tag_models(models, registry).set_index("id")


def test_columns_and_types(tags):
    assert list(tags.reset_index().columns) == list(TAG_COLUMNS)
    assert set(tags["uploader_region"]) <= set(REGIONS) and set(tags["lineage_region"]) <= set(REGIONS)
    assert tags["first_party"].dtype == bool and tags["lineage_depth"].dtype == np.int64


def test_qwen_base_model(tags):
    t = tags.loc[QWEN]
    assert (t.relation, t.lineage_root, t.lineage_depth, t.root_author) == ("base", QWEN, 0, "Qwen")
    assert (t.uploader_region, t.lineage_region, t.first_party, t.is_redistributor) == ("CN", "CN", True, False)
    assert pd.isna(t.parent)


def test_bartowski_quantization(tags):
    t = tags.loc[GGUF]
    assert (t.relation, t.parent, t.lineage_root, t.lineage_depth) == ("quantized", QWEN, QWEN, 1)
    assert (t.uploader_kind, t.uploader_region, t.lineage_region) == ("redistributor", "UNAFFILIATED", "CN")
    assert not t.first_party and t.is_redistributor


def test_finetune_of_the_quantization_by_unregistered_user(tags):
    t = tags.loc[FT]
    assert (t.relation, t.parent, t.lineage_root, t.lineage_depth) == ("finetune", GGUF, QWEN, 2)
    assert (t.uploader_kind, t.uploader_region, t.lineage_region) == ("unregistered", "UNAFFILIATED", "CN")
    assert not t.first_party and not t.is_redistributor


def test_merge_first_parent_decides(tags):
    t = tags.loc[MERGE]
    assert (t.relation, t.n_parents, t.parent, t.lineage_root, t.lineage_region) == ("merge", 2, QWEN, QWEN, "CN")
    assert t.uploader_region == "UNAFFILIATED"


def test_merge_rule_alternatives(models, registry):
    last = tag_models(models, registry, merge_parent="last").set_index("id")
    assert (last.loc[MERGE, "parent"], last.loc[MERGE, "lineage_region"]) == (LLAMA, "US")
    assert last.loc["user00050/card-list", "lineage_region"] == "US"
    assert last.loc[FT, "lineage_region"] == "CN"  # single-parent chains do not change
    none = tag_models(models, registry, merge_parent="none").set_index("id")
    assert pd.isna(none.loc[MERGE, "parent"]) and none.loc[MERGE, "lineage_root"] == MERGE
    assert none.loc[MERGE, "lineage_region"] == "UNAFFILIATED" and none.loc[MERGE, "relation"] == "merge"
    with pytest.raises(ValueError, match="merge_parent='random'"):
        tag_models(models, registry, merge_parent="random")


def test_cycle_broken_at_smallest_id(tags):
    a, b = tags.loc["user00044/cyc-a"], tags.loc["user00044/cyc-b"]
    assert a.cycle and b.cycle
    assert a.lineage_root == b.lineage_root == "user00044/cyc-a"
    assert (a.lineage_depth, b.lineage_depth) == (0, 1)
    assert a.lineage_region == b.lineage_region == "UNAFFILIATED"


def test_self_reference(tags):
    t = tags.loc["user00045/self"]
    assert t.self_reference and t.cycle and t.lineage_root == "user00045/self" and t.lineage_depth == 0
    assert t.lineage_region == "UNAFFILIATED"


def test_dangling_parent(tags):
    t = tags.loc["user00046/orphan"]
    assert t.dangling and t.root_dangling and t.lineage_root == "user00046/orphan" and t.lineage_depth == 0
    assert (t.root_author, t.lineage_region) == ("user00046", "UNAFFILIATED")
    # a dangling id whose namespace is a registered account gives the root author
    t = tags.loc["user00047/orphan-of-meta"]
    assert t.dangling and t.lineage_root == "user00047/orphan-of-meta"
    assert (t.root_author, t.lineage_region) == ("meta-llama", "US")


def test_tags_only_and_card_only_fallbacks(tags):
    t = tags.loc["user00048/tags-only"]
    assert (t.parent_source, t.parent, t.relation, t.lineage_region) == ("tags", QWEN, "adapter", "CN")
    assert t.n_parents == 1  # the same parent in two tag forms counts once
    t = tags.loc["user00049/card-str"]
    assert (t.parent_source, t.parent, t.relation, t.lineage_region) == ("cardData", LLAMA, "finetune", "US")
    t = tags.loc["user00050/card-list"]
    assert (t.parent_source, t.parent, t.n_parents, t.relation, t.lineage_region) == ("cardData", QWEN, 2, "merge", "CN")
    assert tags.loc[GGUF, "parent_source"] == "baseModels"


def test_community_quantization_of_european_model(tags):
    t = tags.loc["mlx-community/Mistral-4bit"]
    assert (t.uploader_kind, t.uploader_region, t.lineage_region, t.is_redistributor) == (
        "community", "UNAFFILIATED", "EU", False)


def test_region_us_tag_is_ignored(registry):
    out = tag_models(pd.DataFrame([row("user9/x", tags=["region:us"])]), registry)
    assert out.loc[0, "uploader_region"] == "UNAFFILIATED" and out.loc[0, "lineage_region"] == "UNAFFILIATED"


def test_overrides_applied_last_and_reported(models, registry):
    ov = pd.DataFrame([
        {"model_id": "user00046/orphan", "rule": "lineage", "region": "CN", "reason": "card names Qwen", "evidence": "e"},
        {"model_id": LLAMA, "rule": "uploader", "region": "EU", "reason": "test", "evidence": "e"},
        {"model_id": "absent/model", "rule": "all", "region": "US", "reason": "x", "evidence": "e"},
    ])
    with pytest.warns(UserWarning, match="1 override"):
        out = tag_models(models, registry, ov).set_index("id")
    t = out.loc["user00046/orphan"]
    assert (t.lineage_region, t.uploader_region, t.override_reason, t.override_source) == (
        "CN", "UNAFFILIATED", "card names Qwen", "model")
    t = out.loc[LLAMA]
    assert (t.uploader_region, t.lineage_region, t.override_source, t.first_party) == ("EU", "EU", "model", True)
    # the uploader override of a root reaches its derivatives' lineage region
    t = out.loc["user00049/card-str"]
    assert (t.lineage_region, t.override_source, t.override_reason) == ("EU", "lineage_root", "test")
    assert out.loc[QWEN, "override_reason"] is None or pd.isna(out.loc[QWEN, "override_reason"])
    # orphan, llama and card-str only; orphan-of-meta takes its region from the meta-llama account, which
    # a model override does not change
    assert sorted(out.index[out["override_reason"].notna()]) == sorted(["user00046/orphan", LLAMA, "user00049/card-str"])
    assert out.loc["user00047/orphan-of-meta", "lineage_region"] == "US"


def test_pyarrow_input_equals_pandas_input(models, registry, tags):
    schema = pa.schema([("id", pa.string()), ("author", pa.string()), ("tags", pa.list_(pa.string())),
                        ("baseModels", BASE_MODELS_TYPE), ("cardData", pa.string())])
    table = pa.Table.from_pandas(models, schema=schema, preserve_index=False)
    out = tag_models(table, registry).set_index("id")
    pd.testing.assert_frame_equal(out, tags)


def test_missing_author_uses_namespace_and_bad_input_is_named(registry):
    frame = pd.DataFrame([{"id": QWEN, "author": None, "tags": [], "baseModels": None}])
    assert tag_models(frame, registry).loc[0, "uploader_region"] == "CN"
    with pytest.raises(KeyError, match="baseModels"):
        tag_models(frame.drop(columns="baseModels"), registry)
    with pytest.raises(ValueError, match="repeat"):
        tag_models(pd.concat([frame, frame]), registry)
    parents = extract_parents(frame)
    assert parents.loc[0, "relation"] == "base"


def test_coverage_known_answer(tags):
    downloads = pd.DataFrame({"id": [QWEN, GGUF, FT, LLAMA, "user00046/orphan", "not/tagged"],
                              "downloads": [50, 20, 10, 15, 5, 99]})
    rep = tagging_coverage(tags.reset_index(), downloads)
    assert rep.total_downloads == 100 and rep.n_download_ids_not_tagged == 1
    assert rep.region_share["uploader"]["CN"] == pytest.approx(0.50)
    assert rep.region_share["uploader"]["UNAFFILIATED"] == pytest.approx(0.35)
    assert rep.region_share["lineage"]["CN"] == pytest.approx(0.80)
    assert rep.region_share["first_party"]["EXCLUDED"] == pytest.approx(0.35)
    assert rep.tagged_share["lineage"] == pytest.approx(0.95)
    assert rep.top_untagged_accounts[0]["account"] == "user00046"
    assert rep.top_untagged_uploaders[0]["account"] == "bartowski"
    assert rep.lineage["n_cycle_models"] == 3 and rep.lineage["n_dangling"] == 2


def test_coverage_to_json(tmp_path, tags):
    rep = tagging_coverage(tags.reset_index(), pd.Series({QWEN: 1.0}))
    path = rep.to_json(tmp_path / "out" / "tagging_coverage.json")
    data = json.loads(path.read_text())
    assert data["tagged_share"]["uploader"] == 1.0 and "top_untagged_accounts" in data


def test_simulated_hub_tags_equal_truth(tmp_path):
    """With the committed registry, the simulated Hub's tags equal its truth."""
    from pathlib import Path

    from analysis.origin.registry import load_registry
    from analysis.simulate import SimulationParams, simulate_hub

    hub = simulate_hub(tmp_path / "hub", SimulationParams(models=3000, weeks=10, missing_week=4))
    registry = load_registry(Path(__file__).resolve().parents[1] / "data" / "reference" / "organizations.csv")
    live = pq.read_table(hub.root / "live" / "models.parquet")
    out = tag_models(live, registry)
    truth = pq.read_table(hub.root / "truth_models.parquet").to_pandas()
    m = out.merge(truth, on="id", suffixes=("", "_true")).merge(
        live.select(["id", "downloads"]).to_pandas(), on="id")
    assert len(m) == len(out) == live.num_rows
    assert (m["uploader_region"] == m["uploader_region_true"]).all()
    assert (m["first_party"] == m["first_party_true"]).all()
    wrong = m["lineage_region"] != m["lineage_region_true"]
    # Every disagreement is a descendant of a dirty model (cycle, self reference, dangling parent),
    # which the rules resolve to that dirty model; the simulator's truth follows the hidden parent.
    dirty = set(m.loc[m["dirty"], "id"])
    assert m.loc[wrong, "lineage_root"].isin(dirty).all()
    assert m.loc[~wrong, "downloads"].sum() >= 0.99 * m["downloads"].sum()
    clean = ~m["dirty"] & ~m["lineage_root"].isin(dirty)
    assert (m.loc[clean, "lineage_root"] == m.loc[clean, "lineage_root_true"]).all()
    assert (m.loc[clean, "lineage_depth"] == m.loc[clean, "lineage_depth_true"]).all()


def test_empty_table_and_unknown_relation(registry):
    empty = pd.DataFrame({"id": pd.Series([], dtype=str), "author": pd.Series([], dtype=str),
                          "tags": pd.Series([], dtype=object), "baseModels": pd.Series([], dtype=object)})
    out = tag_models(empty, registry)
    assert out.empty and list(out.columns) == list(TAG_COLUMNS)
    assert tagging_coverage(out, pd.Series(dtype=float)).tagged_share["lineage"] == 0.0
    odd = pd.DataFrame([row(QWEN), row("u/x", bm("distillation", QWEN))])
    t = tag_models(odd, registry).set_index("id").loc["u/x"]
    assert (t.relation, t.lineage_region) == ("finetune", "CN")


def test_base_models_win_over_tags_and_card(registry):
    frame = pd.DataFrame([row(QWEN), row(LLAMA),
                          row("u/y", bm("finetune", LLAMA), tags=[f"base_model:{QWEN}"],
                              card=json.dumps({"base_model": QWEN}))])
    t = tag_models(frame, registry).set_index("id").loc["u/y"]
    assert (t.parent_source, t.parent, t.lineage_region) == ("baseModels", LLAMA, "US")
