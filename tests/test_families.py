"""Model families: the curated map, which family a model belongs to, and family downloads with known answers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.families import FamilyMapError, family_downloads, family_of, load_families, model_families
from analysis.origin.registry import load_registry
from analysis.paths import REPO_ROOT

MAP = REPO_ROOT / "data" / "reference" / "model_families.csv"


@pytest.fixture(scope="module")
def families():
    return load_families(MAP)


def test_committed_map_is_valid_and_agrees_with_the_registry(families):
    names = [f.family for f in families]
    for must in ("Qwen", "Llama", "DeepSeek", "Gemma", "Mistral", "Phi", "GLM"):
        assert must in names
    registry = pd.read_csv(REPO_ROOT / "data" / "reference" / "organizations.csv", dtype=str, keep_default_na=False)
    region = {a.lower(): r for a, r in zip(registry["account"], registry["region"])}
    country = {a.lower(): c for a, c in zip(registry["account"], registry["country"])}
    load_registry(REPO_ROOT / "data" / "reference" / "organizations.csv")  # the registry itself is valid
    for f in families:
        assert f.evidence.startswith("https://"), f.family
        for a in f.accounts:
            # every account is in the registry, with the origin and country the family map gives it
            assert a.lower() in region, f"{f.family}: account {a} is not in organizations.csv"
            assert (region[a.lower()], country[a.lower()]) == (f.origin, f.country), (f.family, a)


@pytest.mark.parametrize("model_id,family", [
    ("Qwen/Qwen2.5-7B-Instruct", "Qwen"), ("qwen/QwQ-32B", "Qwen"),  # accounts match case-insensitively
    ("google/gemma-2-9b-it", "Gemma"), ("google/paligemma-3b-pt-224", "Gemma"), ("google/t5-v1_1-base", ""),
    ("microsoft/phi-2", "Phi"), ("microsoft/Phi-4-mini-instruct", "Phi"), ("microsoft/graphite-base", ""),
    ("nvidia/Llama-3.1-Nemotron-70B-Instruct", "Nemotron"), ("nvidia/parakeet-tdt-0.6b-v2", ""),
    ("THUDM/chatglm3-6b", "GLM"), ("zai-org/GLM-4.5", "GLM"), ("zai-org/CogVideoX-5b", ""),
    ("openai/gpt-oss-20b", "gpt-oss"), ("openai/whisper-large-v3", ""), ("meta-llama/Llama-3.1-8B", "Llama"),
    ("mistralai/Mixtral-8x7B-v0.1", "Mistral"), ("CohereLabs/c4ai-command-r-v01", "Command"),
    ("CohereLabs/aya-vision-8b", ""), ("tiiuae/falcon-7b", "Falcon"), ("bartowski/Qwen2.5-7B-GGUF", ""),
    ("gpt2", ""), ("", ""),
])
def test_family_of_known_answers(families, model_id, family):
    assert family_of([model_id], families).iloc[0] == family


def test_a_model_counts_for_the_family_of_its_lineage_root(families):
    models = pd.DataFrame({"id": ["bartowski/Qwen2.5-7B-GGUF", "user/my-llama-ft", "Qwen/Qwen3-8B", "user/x"],
                           "lineage_root": ["Qwen/Qwen2.5-7B", "meta-llama/Llama-3.1-8B", None, "user/x"]})
    assert model_families(models, families).tolist() == ["Qwen", "Llama", "Qwen", ""]


def _snapshot(tmp_path, date, rows):
    path = tmp_path / f"{date}.parquet"
    pq.write_table(pa.table({"id": [r[0] for r in rows], "downloads": pa.array([r[1] for r in rows], pa.int64())}),
                   path)
    return dt.date.fromisoformat(date), path


def test_family_downloads_known_answer(tmp_path, families):
    models = pd.DataFrame({"id": ["Qwen/Qwen3-8B", "bartowski/Qwen3-8B-GGUF", "meta-llama/Llama-3.1-8B",
                                  "user/llama-ft", "user/other"],
                           "lineage_root": ["Qwen/Qwen3-8B", "Qwen/Qwen3-8B", None, "meta-llama/Llama-3.1-8B",
                                            "user/other"]})
    snaps = [
        _snapshot(tmp_path, "2025-01-01", [("Qwen/Qwen3-8B", 100), ("bartowski/Qwen3-8B-GGUF", 50),
                                           ("meta-llama/Llama-3.1-8B", 300), ("user/other", 999),
                                           ("Qwen/Qwen3-8B", 7)]),  # a second row of an id: the first is kept
        _snapshot(tmp_path, "2025-01-08", [("Qwen/Qwen3-8B", 200), ("user/llama-ft", 40),
                                           ("meta-llama/Llama-3.1-8B", -5),  # negative: treated as unknown
                                           ("unknown/model", 10)]),
    ]
    out = family_downloads(snaps, models, families).set_index(["date", "family"])
    d1, d2 = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-08")
    assert out.loc[(d1, "Qwen"), "downloads"] == 150 and out.loc[(d1, "Qwen"), "n_models"] == 2
    assert out.loc[(d1, "Llama"), "downloads"] == 300
    assert out.loc[(d2, "Qwen"), "downloads"] == 200
    assert out.loc[(d2, "Llama"), "downloads"] == 40 and out.loc[(d2, "Llama"), "n_models"] == 1
    assert out.loc[(d2, "DeepSeek"), "downloads"] == 0  # every family of the map, every date
    assert len(out) == 2 * len(families)
    assert out.loc[(d1, "Mistral"), "origin"] == "EU" and out.loc[(d1, "Qwen"), "developer"].startswith("Alibaba")


@pytest.mark.parametrize("change,match", [
    (lambda d: d.assign(origin=["XX"] + list(d["origin"][1:])), "origin 'XX'"),
    (lambda d: d.assign(name_pattern=["(" ] + list(d["name_pattern"][1:])), "not a regular expression"),
    (lambda d: pd.concat([d, d.head(1)]), "also row 1"),
    (lambda d: d.assign(evidence=[""] + list(d["evidence"][1:])), "'evidence' is empty"),
    (lambda d: d.drop(columns="developer"), "lacks column"),
])
def test_map_errors_name_the_row(tmp_path, change, match):
    bad = change(pd.read_csv(MAP, dtype=str, keep_default_na=False))
    path = tmp_path / "model_families.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(FamilyMapError, match=match):
        load_families(path)
