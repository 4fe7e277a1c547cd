"""Known-answer tests of tagging (analysis.origin.tagging) and coverage (analysis.origin.coverage)."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.origin.coverage import decision_coverage, tagging_coverage
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
    assert (rep.top_untagged_accounts[0]["registered"], rep.top_untagged_accounts[0]["kind"]) == (False, "unregistered")
    top_up = rep.top_untagged_uploaders[0]
    assert (top_up["account"], top_up["registered"], top_up["kind"]) == ("bartowski", True, "redistributor")
    assert {e["account"]: e["registered"] for e in rep.top_untagged_uploaders} == {
        "bartowski": True, "user00042": False, "user00046": False}
    # the 2-cycle only: the self reference is counted apart, as in LineageResult
    assert rep.lineage["n_cycle_models"] == 2 == tags.attrs["lineage"]["n_cycle_models"]
    assert rep.lineage["n_self_references"] == 1 == tags.attrs["lineage"]["n_self_references"]
    assert rep.lineage["n_cycles"] == 1 and rep.lineage["n_dangling"] == 2
    assert rep.author_namespace == {"n_author_mismatch": 0, "share_downloads_author_mismatch": 0.0}


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
    # every model, dirty lineage included, gets exactly the simulator's origin under each rule
    for col in ("uploader_region", "lineage_region", "first_party"):
        wrong = m.loc[m[col] != m[f"{col}_true"], "id"].tolist()
        assert wrong == [], f"{col}: {len(wrong)} model(s) differ from the truth, e.g. {wrong[:5]}"
    assert m["dirty"].any()  # the simulation does plant cycles, self references and dangling parents
    dirty = set(m.loc[m["dirty"], "id"])
    clean = ~m["dirty"] & ~m["lineage_root"].isin(dirty)
    assert (m.loc[clean, "lineage_root"] == m.loc[clean, "lineage_root_true"]).all()
    assert (m.loc[clean, "lineage_depth"] == m.loc[clean, "lineage_depth_true"]).all()


def test_empty_table_and_unknown_relation(registry):
    empty = pd.DataFrame({"id": pd.Series([], dtype=str), "author": pd.Series([], dtype=str),
                          "tags": pd.Series([], dtype=object), "baseModels": pd.Series([], dtype=object)})
    out = tag_models(empty, registry)
    assert out.empty and list(out.columns) == list(TAG_COLUMNS)
    with pytest.warns(UserWarning, match="LINEAGE ABSENT"):  # no model has a parent
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


def test_work_run_beside_gives_its_result_and_its_error():
    import threading

    from analysis.origin.tagging import _beside

    assert _beside(lambda a, b: (a + b, threading.get_ident()), 2, 3).result()[0] == 5
    assert _beside(threading.get_ident).result() != threading.get_ident()      # another thread did it

    def fail():
        raise ValueError("bad input named here")

    with pytest.raises(ValueError, match="bad input named here"):
        _beside(fail).result()


# --- uploader = the id's namespace -------------------------------------------------------------

def test_uploader_is_the_id_namespace_not_the_author_field(registry):
    frame = pd.DataFrame([
        {"id": "u3/x", "author": "Qwen", "tags": [], "baseModels": None},          # author claims Qwen
        {"id": "Qwen/renamed", "author": "someuser", "tags": [], "baseModels": None},  # author field stale
        {"id": "qwen/lower", "author": "Qwen", "tags": [], "baseModels": None},    # same account, other case
        {"id": "gpt2-like", "author": "Qwen", "tags": [], "baseModels": None},     # no namespace: author used
        {"id": "nonamespace", "author": None, "tags": [], "baseModels": None},
    ])
    t = tag_models(frame, registry).set_index("id")
    assert (t.loc["u3/x", "author"], t.loc["u3/x", "uploader_region"], t.loc["u3/x", "first_party"]) == (
        "u3", "UNAFFILIATED", False)
    assert (t.loc["Qwen/renamed", "author"], t.loc["Qwen/renamed", "uploader_region"],
            t.loc["Qwen/renamed", "first_party"]) == ("Qwen", "CN", True)
    assert t.loc["qwen/lower", "uploader_region"] == "CN"
    assert (t.loc["gpt2-like", "author"], t.loc["gpt2-like", "uploader_region"]) == ("Qwen", "CN")
    assert pd.isna(t.loc["nonamespace", "author"]) and t.loc["nonamespace", "uploader_region"] == "UNKNOWN"
    assert t["author_mismatch"].to_dict() == {"u3/x": True, "Qwen/renamed": True, "qwen/lower": False,
                                              "gpt2-like": False, "nonamespace": False}
    with pytest.warns(UserWarning, match="LINEAGE ABSENT"):  # no model here has a parent
        rep = tagging_coverage(t.reset_index(), pd.Series({"u3/x": 30.0, "Qwen/renamed": 10.0, "qwen/lower": 60.0}))
    assert rep.author_namespace["n_author_mismatch"] == 2
    assert rep.author_namespace["share_downloads_author_mismatch"] == pytest.approx(0.4)


def test_lineage_root_author_is_the_root_namespace(registry):
    frame = pd.DataFrame([
        {"id": QWEN, "author": "someone-else", "tags": [], "baseModels": None},
        {"id": "u7/ft", "author": "u7", "tags": [], "baseModels": bm("finetune", QWEN)},
    ])
    t = tag_models(frame, registry).set_index("id")
    assert (t.loc["u7/ft", "root_author"], t.loc["u7/ft", "root_kind"], t.loc["u7/ft", "lineage_region"]) == (
        "Qwen", "company", "CN")


# --- parent matching and merge choice ------------------------------------------------------------

def test_case_differing_parent_is_not_dangling(registry):
    frame = pd.DataFrame([row(QWEN), row("u/ft", bm("finetune", "qwen/qwen2.5-7b")),
                          row("u/tags", tags=["base_model:finetune:QWEN/QWEN2.5-7B"])])
    out = tag_models(frame, registry)
    t = out.set_index("id")
    for mid in ("u/ft", "u/tags"):
        assert (t.loc[mid, "lineage_root"], t.loc[mid, "lineage_region"], t.loc[mid, "dangling"]) == (QWEN, "CN", False)
    assert out.attrs["lineage"]["n_case_matched"] == 2 and out.attrs["lineage"]["n_dangling"] == 0
    assert tagging_coverage(out, pd.Series({QWEN: 1.0})).lineage["n_case_matched"] == 2


def test_merge_choice_skips_self_and_dangling_parents(registry):
    frame = pd.DataFrame([
        row(QWEN), row(LLAMA),
        row("u/self-first", bm("merge", "u/self-first", QWEN)),
        row("u/dangling-first", bm("merge", "deleted/x", QWEN)),
        row("u/self-last", bm("merge", LLAMA, "U/SELF-LAST")),        # self reference in another case
        row("u/only-bad", bm("merge", "u/only-bad", "deleted/y")),
        row("u/tags-merge", tags=["base_model:merge:gone/z", f"base_model:merge:{LLAMA}"]),
    ])
    first = tag_models(frame, registry).set_index("id")
    t = first.loc["u/self-first"]
    assert (t.parent, t.lineage_root, t.lineage_region, t.self_reference, t.n_parents) == (QWEN, QWEN, "CN", False, 2)
    t = first.loc["u/dangling-first"]
    assert (t.parent, t.lineage_region, t.dangling, t.relation) == (QWEN, "CN", False, "merge")
    assert (first.loc["u/tags-merge", "parent"], first.loc["u/tags-merge", "lineage_region"]) == (LLAMA, "US")
    # only self/dangling parents: the first listed one is kept, as before
    t = first.loc["u/only-bad"]
    assert (t.parent, t.self_reference, t.cycle, t.lineage_root) == ("u/only-bad", True, True, "u/only-bad")
    last = tag_models(frame, registry, merge_parent="last").set_index("id")
    assert (last.loc["u/self-last", "parent"], last.loc["u/self-last", "lineage_region"]) == (LLAMA, "US")
    assert (last.loc["u/self-first", "parent"], last.loc["u/dangling-first", "parent"]) == (QWEN, QWEN)
    t = last.loc["u/only-bad"]
    assert (t.parent, t.dangling, t.self_reference) == ("deleted/y", True, False)


# --- the card fallback reads only the top-level base_model --------------------------------------

def test_card_fallback_reads_only_the_top_level_key(registry):
    nested = {"base_model": None, "model-index": [{"name": "x", "base_model": QWEN}]}
    frame = pd.DataFrame([
        row(QWEN), row(LLAMA),
        row("u/null-top", card=json.dumps(nested)),
        row("u/nested-only", card=json.dumps({"widget": [{"base_model": QWEN}], "license": "mit"})),
        row("u/nested-first", card=json.dumps({"widget": [{"base_model": QWEN}], "base_model": LLAMA})),
        row("u/bad-json", card='{"base_model": "' + QWEN + '"'),
        row("u/not-object", card=json.dumps([{"base_model": QWEN}])),
        row("u/rel-nested", card=json.dumps({"base_model": LLAMA, "x": {"base_model_relation": "quantized"}})),
        row("u/rel-top", card=json.dumps({"base_model": [LLAMA], "base_model_relation": "adapter"})),
        row("u/empty-list", card=json.dumps({"base_model": ["", None, 3]})),
    ])
    t = tag_models(frame, registry).set_index("id")
    for mid in ("u/null-top", "u/nested-only", "u/bad-json", "u/not-object", "u/empty-list"):
        assert t.loc[mid, "relation"] == "base", mid
        assert pd.isna(t.loc[mid, "parent"]) and pd.isna(t.loc[mid, "parent_source"]), mid
    assert (t.loc["u/nested-first", "parent"], t.loc["u/nested-first", "parent_source"]) == (LLAMA, "cardData")
    assert (t.loc["u/rel-nested", "relation"], t.loc["u/rel-top", "relation"]) == ("finetune", "adapter")
    assert t.loc["u/rel-top", "lineage_region"] == "US"


# --- contested origins, decision coverage, absent lineage ------------------------------------------

@pytest.fixture(scope="module")
def contested_registry():
    return registry_from_records([
        dict(account="Qwen", organisation="Alibaba Cloud", country="CN", region="CN", kind="company", evidence="e"),
        dict(account="sentence-transformers", organisation="UKP Lab", country="DE", region="EU", kind="academic",
             evidence="e", alt_country="US", alt_region="US", alt_evidence="e2", alt_basis="maintained by HF"),
        dict(account="intfloat", organisation="Microsoft", country="US", region="US", kind="company",
             evidence="e", alt_country="CN", alt_region="CN", alt_evidence="e2", alt_basis="built at MSRA Beijing"),
        dict(account="bartowski", organisation="bartowski", kind="redistributor", evidence="e", notes="quants"),
        dict(account="hf-internal-testing", organisation="HF test fixtures", country="US", region="US", kind="test",
             evidence="e", notes="CI traffic"),
    ])


ST = "sentence-transformers/all-MiniLM-L6-v2"
E5 = "intfloat/e5-base"


@pytest.fixture(scope="module")
def contested_models():
    return pd.DataFrame([
        row(QWEN),
        row(ST),
        row(E5),
        row("user1/st-ft", bm("finetune", ST)),                      # derivative of a contested root
        row("bartowski/e5-gguf", bm("quantized", E5)),
        row("user2/ft-of-gguf", bm("finetune", "bartowski/e5-gguf")),  # two links from the contested root
        row("hf-internal-testing/tiny", bm("finetune", QWEN)),
        row("user3/base"),
    ])


def test_contested_reading_reaches_uploader_and_lineage(contested_models, contested_registry):
    primary = tag_models(contested_models, contested_registry).set_index("id")
    alt = tag_models(contested_models, contested_registry, contested="alternative").set_index("id")
    assert primary.attrs["contested"] == "primary" and alt.attrs["contested"] == "alternative"
    cols = ["uploader_region", "lineage_region"]
    assert primary.loc[ST, cols].tolist() == ["EU", "EU"] and alt.loc[ST, cols].tolist() == ["US", "US"]
    assert primary.loc[E5, cols].tolist() == ["US", "US"] and alt.loc[E5, cols].tolist() == ["CN", "CN"]
    # derivatives follow the reading of their root; their own uploader stays unaffiliated
    assert primary.loc["user1/st-ft", cols].tolist() == ["UNAFFILIATED", "EU"]
    assert alt.loc["user1/st-ft", cols].tolist() == ["UNAFFILIATED", "US"]
    assert alt.loc["bartowski/e5-gguf", cols].tolist() == ["UNAFFILIATED", "CN"]
    assert alt.loc["user2/ft-of-gguf", cols].tolist() == ["UNAFFILIATED", "CN"]
    # nothing else moves, and the default equals contested="primary"
    same = [i for i in primary.index if i not in (ST, E5, "user1/st-ft", "bartowski/e5-gguf", "user2/ft-of-gguf")]
    pd.testing.assert_frame_equal(primary.loc[same, cols], alt.loc[same, cols])
    explicit = tag_models(contested_models, contested_registry, contested="primary").set_index("id")
    pd.testing.assert_frame_equal(primary, explicit)
    # a test account is unaffiliated even with a country; first_party is unchanged by the reading
    assert primary.loc["hf-internal-testing/tiny", ["uploader_region", "uploader_kind"]].tolist() == [
        "UNAFFILIATED", "test"]
    assert primary["first_party"].equals(alt["first_party"])
    with pytest.raises(ValueError, match="contested='both' is not supported"):
        tag_models(contested_models, contested_registry, contested="both")


def test_both_readings_are_in_every_tag_table(contested_models, contested_registry):
    """The _alt columns carry the alternative reading whatever the main columns use, overrides included."""
    primary = tag_models(contested_models, contested_registry).set_index("id")
    alt = tag_models(contested_models, contested_registry, contested="alternative").set_index("id")
    for col in ("uploader_region", "lineage_region"):
        assert (primary[col + "_alt"] == alt[col]).all()
        assert (alt[col + "_alt"] == alt[col]).all()
    assert primary.loc[ST, ["uploader_region", "uploader_region_alt"]].tolist() == ["EU", "US"]
    same = ~primary.index.isin([ST, E5, "user1/st-ft", "bartowski/e5-gguf", "user2/ft-of-gguf"])
    assert (primary.loc[same, "lineage_region"] == primary.loc[same, "lineage_region_alt"]).all()
    overrides = pd.DataFrame([{"model_id": ST, "rule": "all", "region": "OTHER", "reason": "r", "evidence": "e"}])
    over = tag_models(contested_models, contested_registry, overrides).set_index("id")
    assert over.loc[ST, ["uploader_region", "uploader_region_alt", "lineage_region_alt"]].tolist() == ["OTHER"] * 3
    assert over.loc["user1/st-ft", ["lineage_region", "lineage_region_alt"]].tolist() == ["OTHER", "OTHER"]


def test_decision_columns_and_decision_coverage(contested_models, contested_registry):
    tags = tag_models(contested_models, contested_registry)
    t = tags.set_index("id")
    assert t["uploader_decision"].to_dict() == {
        QWEN: "country", ST: "alternative", E5: "alternative", "user1/st-ft": "unknown",
        "bartowski/e5-gguf": "non_country_kind", "user2/ft-of-gguf": "unknown",
        "hf-internal-testing/tiny": "non_country_kind", "user3/base": "unknown"}
    assert t.loc["user2/ft-of-gguf", "root_decision"] == "alternative"
    assert t.loc["hf-internal-testing/tiny", "root_decision"] == "country"
    downloads = pd.DataFrame({"id": [QWEN, ST, E5, "user1/st-ft", "bartowski/e5-gguf", "hf-internal-testing/tiny",
                                     "user3/base", "not/in-tags"],
                              "downloads": [40, 25, 10, 5, 8, 7, 5, 1000]})
    got = decision_coverage(tags, downloads)
    assert got["uploader"] == pytest.approx(
        {"country": 0.40, "alternative": 0.35, "non_country_kind": 0.15, "unknown": 0.10})
    assert got["lineage"] == pytest.approx(
        {"country": 0.47, "alternative": 0.48, "non_country_kind": 0.0, "unknown": 0.05})
    # the same numbers in the coverage report, and the same for a Series; the reading does not change them
    rep = tagging_coverage(tags, downloads)
    assert rep.decision_share == got
    alt_tags = tag_models(contested_models, contested_registry, contested="alternative")
    assert decision_coverage(alt_tags, downloads.set_index("id")["downloads"]) == got
    assert json.loads(json.dumps(rep.to_dict()))["decision_share"]["uploader"]["alternative"] == pytest.approx(0.35)
    assert decision_coverage(tags, pd.Series(dtype=float))["uploader"] == {
        "country": 0.0, "alternative": 0.0, "non_country_kind": 0.0, "unknown": 0.0}
    with pytest.raises(KeyError, match="uploader_decision"):
        decision_coverage(tags.drop(columns="uploader_decision"), downloads)


def test_lineage_absent_flag(contested_models, contested_registry):
    tags = tag_models(contested_models, contested_registry)
    downloads = pd.Series({QWEN: 50.0, ST: 30.0, "user1/st-ft": 20.0})
    rep = tagging_coverage(tags, downloads)
    assert (rep.lineage_absent, rep.lineage_warning) == (False, "")
    assert rep.share_models_with_parent == pytest.approx(4 / 8)
    assert rep.share_downloads_with_parent == pytest.approx(0.20)
    # the same models with every parent link dropped: lineage equals uploader, and the report says so
    flat = contested_models.assign(baseModels=None)
    flat_tags = tag_models(flat, contested_registry)
    with pytest.warns(UserWarning, match="LINEAGE ABSENT"):
        flat_rep = tagging_coverage(flat_tags, downloads)
    assert flat_rep.lineage_absent and flat_rep.share_models_with_parent == 0.0
    assert "none of the 8 models" in flat_rep.lineage_warning
    assert "lineage rule gives exactly the uploader rule's answer" in flat_rep.lineage_warning
    assert flat_rep.region_share["lineage"] == flat_rep.region_share["uploader"]
    assert json.loads(json.dumps(flat_rep.to_dict()))["lineage_absent"] is True


@pytest.mark.parametrize("merge_parent", ["first", "last", "none"])
def test_lineage_from_the_parents_matched_once_equals_matching_them_again(models, registry, merge_parent):
    """tag_models hands the parent positions found while choosing parents to resolve_lineage; the lineage must be
    what resolving the chosen parent ids from scratch gives (cycles, self references, dangling and case matches)."""
    from analysis.origin.lineage import resolve_lineage
    from analysis.origin.tagging import extract_parents

    models = pd.concat([models, pd.DataFrame([row("u/case-ft", bm("finetune", QWEN.lower())),
                                              row("u/case-tags", tags=["base_model:finetune:" + QWEN.upper()])])],
                       ignore_index=True)
    got = tag_models(models, registry, merge_parent=merge_parent)
    parents = extract_parents(models, merge_parent=merge_parent)
    want = resolve_lineage(parents["id"], parents["parent"])
    assert got["lineage_root"].tolist() == want.root_ids.to_pylist()
    assert got["lineage_depth"].tolist() == want.depth.tolist()
    for col in ("cycle", "self_reference", "dangling", "root_dangling"):
        assert got[col].tolist() == getattr(want, col).tolist(), col
    assert got.attrs["lineage"] == want.counts()
    assert want.n_case_matched > 0 and want.n_cycles > 0 and want.n_self_references > 0


def test_a_null_basemodels_struct_gives_no_parent_even_if_its_lists_hold_values(registry):
    """Arrow lets a null struct keep child values in memory; they must not become parents (nor shift others)."""
    from analysis.schema import BASE_MODELS_TYPE

    full = pa.array([{"relation": "finetune", "models": [{"id": LLAMA}]},
                     {"relation": "finetune", "models": [{"id": QWEN}]},
                     {"relation": "merge", "models": None},
                     {"relation": "merge", "models": [{"id": LLAMA}, {"id": QWEN}]}], BASE_MODELS_TYPE)
    masked = pa.StructArray.from_arrays([full.field(i) for i in range(full.type.num_fields)],
                                        fields=list(full.type), mask=pa.array([True, False, False, False]))
    ids = ["u/null-struct", "u/ft", "u/no-list", "u/merge"]
    frame = pa.table({"id": ids + [QWEN, LLAMA], "author": ["u"] * 4 + ["Qwen", "meta-llama"],
                      "tags": pa.array([[]] * 6, pa.list_(pa.string())),
                      "baseModels": pa.concat_arrays([masked, pa.nulls(2, BASE_MODELS_TYPE)])})
    t = tag_models(frame, registry).set_index("id")
    assert t.loc["u/null-struct", "relation"] == "base" and pd.isna(t.loc["u/null-struct", "parent"])
    assert t.loc["u/ft", "parent"] == QWEN and pd.isna(t.loc["u/no-list", "parent"])
    assert (t.loc["u/merge", "parent"], t.loc["u/merge", "n_parents"], t.loc["u/merge", "relation"]) == (LLAMA, 2, "merge")
