"""Tests of the account registry and overrides loaders (analysis.origin.registry)."""

from pathlib import Path

import pandas as pd
import pytest

from analysis.origin.registry import (
    KINDS,
    REGISTRY_COLUMNS,
    RegistryError,
    expected_region,
    load_overrides,
    load_registry,
)
from analysis.schema import REGIONS

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "data" / "reference"
HEADER = ",".join(REGISTRY_COLUMNS)

GOOD_ROWS = [
    "Qwen,Alibaba Cloud (Qwen team),CN,CN,company,Alibaba Group,https://example.org/qwen,",
    "meta-llama,Meta Platforms,US,US,company,Meta,https://example.org/meta,",
    "mistralai,Mistral AI,FR,EU,company,,https://example.org/mistral,",
    "tiiuae,Technology Innovation Institute,AE,OTHER,government,,https://example.org/tii,",
    "bartowski,bartowski,,,redistributor,,https://huggingface.co/bartowski,",
    "someone,A Person,GB,EU,individual,,https://example.org/p,",
]


def write(tmp_path, rows, header=HEADER, name="organizations.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_good_registry_loads_and_looks_up_case_insensitively(tmp_path):
    reg = load_registry(write(tmp_path, GOOD_ROWS))
    assert len(reg) == 6
    found = reg.lookup(["qwen", "META-LLAMA", "nobody", None])
    assert found["registered"].tolist() == [True, True, False, False]
    assert found["organisation"].iloc[0] == "Alibaba Cloud (Qwen team)"
    assert found["account"].iloc[1] == "META-LLAMA"


def test_uploader_region_rules(tmp_path):
    reg = load_registry(write(tmp_path, GOOD_ROWS))
    got = reg.region_of_uploader(["Qwen", "meta-llama", "MistralAI", "tiiuae", "bartowski", "someone",
                                  "user00042", None]).tolist()
    assert got == ["CN", "US", "EU", "OTHER", "UNAFFILIATED", "UNAFFILIATED", "UNAFFILIATED", "UNKNOWN"]
    assert reg.kind_of(["bartowski", "user00042"]).tolist() == ["redistributor", "unregistered"]


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ("x,X Corp,CN,ASIA,company,,https://e.org,", "unknown region"),
        ("x,X Corp,CN,CN,startup,,https://e.org,", "unknown kind"),
        ("x,X Corp,CN,CN,company,,,", "missing evidence"),
        ("x,X Corp,CHN,CN,company,,https://e.org,", "bad country code"),
        ("x,X Corp,XX,OTHER,company,,https://e.org,", "bad country code"),
        ("x,X Corp,cn,CN,company,,https://e.org,", "bad country code"),
        ("x,X Corp,,,company,,https://e.org,", "blank country for an organisation"),
        ("x,X Corp,FR,US,company,,https://e.org,", "region does not match the country"),
        ("x,X Corp,,CN,community,,https://e.org,", "region given without a country"),
    ],
)
def test_each_validation_error_names_file_and_row(tmp_path, bad_row, message):
    path = write(tmp_path, GOOD_ROWS[:2] + [bad_row] + GOOD_ROWS[2:])
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    text = str(err.value)
    assert message in text
    assert str(path) in text
    assert "row(s) 3:" in text  # third data row (line 4 of the file)


def test_duplicate_accounts_are_case_insensitive(tmp_path):
    path = write(tmp_path, GOOD_ROWS + ["QWEN,Someone else,CN,CN,company,,https://e.org,"])
    with pytest.raises(RegistryError, match=r"duplicate account.*'qwen' at rows 1, 7"):
        load_registry(path)


def test_all_problems_reported_at_once(tmp_path):
    path = write(tmp_path, ["a,A,CN,CN,company,,,", "b,B,US,US,robot,,https://e.org,"])
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert "2 problem(s)" in str(err.value)


def test_missing_column_and_missing_file(tmp_path):
    path = write(tmp_path, ["Qwen,Alibaba,CN,CN,company"], header="account,organisation,country,region,kind")
    with pytest.raises(RegistryError, match="missing column"):
        load_registry(path)
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "nope.csv")


def test_expected_region():
    assert [expected_region(c) for c in ["CN", "HK", "US", "GB", "CH", "FR", "AE", "KR", "TW", "RU"]] == [
        "CN", "CN", "US", "EU", "EU", "EU", "OTHER", "OTHER", "OTHER", "OTHER"]


def test_overrides_validation(tmp_path):
    header = "model_id,rule,region,reason,evidence"
    good = write(tmp_path, ["a/m,lineage,CN,base not declared,https://e.org", "b/m,all,US,re-upload,https://e.org"],
                 header=header, name="o.csv")
    ov = load_overrides(good)
    assert ov["rule"].tolist() == ["lineage", "all"]
    assert load_overrides(None).empty
    bad = write(tmp_path, ["a/m,lineage,ASIA,x,https://e.org", "a/m,sometimes,CN,x,https://e.org",
                           "c/m,uploader,CN,,https://e.org"], header=header, name="bad.csv")
    with pytest.raises(RegistryError) as err:
        load_overrides(bad)
    text = str(err.value)
    assert "row(s) 1: unknown region" in text and "row(s) 2: unknown rule" in text and "row(s) 3: missing reason" in text
    twice = write(tmp_path, ["a/m,all,CN,x,https://e.org", "a/m,lineage,US,y,https://e.org"], header=header, name="t.csv")
    with pytest.raises(RegistryError, match="rows 1 and 2: model 'a/m' overridden twice for rule 'lineage'"):
        load_overrides(twice)


# --- the committed reference files ---------------------------------------------------------------

SIMULATED_ACCOUNTS = {
    "CN": ["Qwen", "deepseek-ai", "THUDM", "zai-org", "BAAI", "internlm", "01-ai", "baichuan-inc", "moonshotai",
           "MiniMaxAI", "tencent", "OpenGVLab", "Alibaba-NLP", "Wan-AI", "thenlper", "stepfun-ai"],
    "US": ["meta-llama", "google", "microsoft", "openai", "openai-community", "google-bert", "FacebookAI", "nvidia",
           "ibm-granite", "allenai"],
    "EU": ["mistralai", "stabilityai", "black-forest-labs"],
    "OTHER": ["CohereForAI", "tiiuae", "LGAI-EXAONE"],
}
SIMULATED_UNAFFILIATED = ["bartowski", "TheBloke", "mradermacher", "lmstudio-community", "mlx-community", "QuantFactory"]


@pytest.fixture(scope="module")
def registry():
    return load_registry(REFERENCE / "organizations.csv")


def test_committed_registry_is_large_and_valid(registry):
    assert len(registry) >= 300
    assert set(registry.table["kind"]) <= set(KINDS)
    assert (registry.table["evidence"] != "").all()


def test_committed_registry_gives_the_simulated_hub_its_truth(registry):
    for region, accounts in SIMULATED_ACCOUNTS.items():
        got = registry.region_of_uploader(accounts)
        assert got.tolist() == [region] * len(accounts), dict(zip(accounts, got))
        assert registry.kind_of(accounts).isin(["company", "academic", "non-profit", "government"]).all()
    got = registry.region_of_uploader(SIMULATED_UNAFFILIATED)
    assert set(got) == {"UNAFFILIATED"}
    assert registry.kind_of(SIMULATED_UNAFFILIATED).isin(["redistributor", "community"]).all()
    assert registry.region_of_uploader(["user00042"]).tolist() == ["UNAFFILIATED"]


def test_committed_overrides_are_valid():
    ov = load_overrides(REFERENCE / "model_overrides.csv")
    assert set(ov["region"]) <= set(REGIONS)
    assert isinstance(ov, pd.DataFrame)
