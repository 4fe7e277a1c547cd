"""Every stage's files declared once, with provenance; a stage refuses inputs that do not belong to its run."""

from __future__ import annotations

import ast
import datetime as dt
import json
import shutil

import pandas as pd
import pyarrow as pa
import pytest

from analysis import contracts as C
from analysis.config import load_config
from analysis.paths import REPO_ROOT, Paths
from analysis.raw import RawStore
from analysis.schema import RAW_SCHEMA
from analysis.stage import OutputError, Stage, StaleInputError, open_stage, stale_stages, write_run_config

START = dt.date(2025, 1, 1)


def _snapshot(n: int = 3) -> pa.Table:
    cols = {f.name: pa.nulls(n, f.type) for f in RAW_SCHEMA}
    cols["id"] = pa.array([f"org/m{i}" for i in range(n)])
    cols["downloads"] = pa.array(list(range(1, n + 1)), pa.int64())
    return pa.Table.from_pydict(cols, schema=RAW_SCHEMA)


@pytest.fixture()
def tree(tmp_path):
    """A project root with two real raw snapshots pulled from a mirror, and the run's parameters recorded."""
    for sub in ("config", "data/reference"):
        shutil.copytree(REPO_ROOT / sub, tmp_path / sub)
    paths = Paths(tmp_path, simulated=False)
    store = RawStore(paths.raw_dir)
    for w in range(2):
        store.write("archive", START + dt.timedelta(weeks=w), _snapshot(),
                    {"simulated": False, "endpoint": "http://mirror.example:8080", "commit": "abc"})
    cfg = load_config(tmp_path / "config" / "study.yaml", {"study.start": START.isoformat()})
    write_run_config(paths, cfg.notebook_parameters(), source="test", digest=cfg.digest())
    return paths, cfg.notebook_parameters()


def _panel() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in C.PANEL_COLUMNS})


def test_every_declared_file_has_a_stage_a_known_format_and_known_inputs():
    for f in C.FILES.values():
        assert f.stage in C.STAGES and f.format in ("parquet", "json", "csv", "dir") and f.folder in C.FOLDERS
        assert (f.columns != ()) == (f.format in ("parquet", "csv")), f.key
        for k in f.inputs:
            assert k == C.RAW or k in C.REFERENCE_FILES or (k in C.FILES and C.FILES[k].stage <= f.stage), (f.key, k)
        params = load_config().notebook_parameters()
        C.config_values(f.config, params)  # every config key exists


def test_column_lists_are_declared_only_in_contracts():
    """No module of the library assigns a *_COLUMNS list of its own for a declared file (one declaration)."""
    declared = {n for n in dir(C) if n.endswith("_COLUMNS")}
    for path in (REPO_ROOT / "analysis").rglob("*.py"):
        if path.name == "contracts.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                assert not (names & declared), f"{path.name} declares {names & declared} again"


def test_outputs_carry_provenance_in_every_format(tree):
    paths, params = tree
    st = Stage("03", paths, dict(params), False)
    st.write_table("panel", _panel())
    import pyarrow.parquet as pq

    back = pd.read_parquet(paths.panel_file)
    pd.testing.assert_frame_equal(back, _panel()[list(back.columns)], check_exact=True)   # values round-trip
    meta = pq.ParquetFile(paths.panel_file).metadata
    assert all(meta.row_group(0).column(i).statistics is None for i in range(meta.num_columns))  # none computed
    prov = C.read_provenance(paths.panel_file)
    assert set(C.PROVENANCE_FIELDS) <= set(prov)
    assert prov["run_kind"] == "real" and prov["stage"] == "03"
    assert prov["source"]["endpoints"] == ["http://mirror.example:8080"]
    assert prov["source"]["n_snapshots"] == 2 and prov["inputs"]["raw"]
    assert prov["config"]["study.start"] == START.isoformat()
    # csv: a sidecar; json: a key; folders: a file inside
    st5 = Stage("05", paths, dict(params), False)
    st5.write_table("published_comparison", pd.DataFrame({c: [] for c in C.COMPARISON_COLUMNS}))
    assert C.read_provenance(paths.locate("published_comparison"))["stage"] == "05"
    st5.write_json("crossover", {"definition": {}, "headline": {}, "methods": {}})
    assert C.read_provenance(paths.crossover_file)["source"] == prov["source"]  # inherited from the panel
    st2 = Stage("02", paths, dict(params), False)
    st2.seal_dir("row_codes")
    assert C.read_provenance(paths.row_codes_dir)["file"] == "row_codes"


def test_outputs_must_match_their_declaration(tree):
    paths, params = tree
    st = Stage("03", paths, dict(params), False)
    with pytest.raises(OutputError, match="panel.parquet: columns .* differ"):
        st.write_table("panel", _panel().drop(columns="share"))
    with pytest.raises(OutputError, match="written by stage 05, not by stage 03"):
        st.write_json("crossover", {"definition": {}, "headline": {}, "methods": {}})
    with pytest.raises(OutputError, match="lacks the declared keys \\['methods'\\]"):
        Stage("05", paths, dict(params), False).write_json("crossover", {"definition": {}, "headline": {}})
    assert not paths.panel_file.exists()


def test_a_stage_refuses_missing_stale_and_foreign_inputs_and_names_the_stage(tree):
    paths, params = tree
    with pytest.raises(StaleInputError, match=r"(?s)panel.parquet: missing; rerun stage 03.*--from 03"):
        open_stage("04", {"simulated": False}, paths=paths)
    Stage("03", paths, dict(params), False).write_table("panel", _panel())
    open_stage("04", {"simulated": False}, paths=paths)  # up to date: no error

    # another setting of a key that shaped the panel (the notebook's own parameter overrides run_config.json)
    with pytest.raises(StaleInputError, match=r"(?s)other settings \(study.frequency 'weekly' -> 'monthly'\).*stage 03"):
        open_stage("04", {"simulated": False, "study_frequency": "monthly"}, paths=paths)

    # the other run kind: a demo's files copied into the real tree
    prov_sim = Stage("03", paths, dict(params), True)
    prov_sim.write_table("panel", _panel())
    with pytest.raises(StaleInputError, match="written by a simulated run, and this is a real run"):
        open_stage("04", {"simulated": False}, paths=paths)

    # inputs changed since: a new snapshot pulled inside the window
    Stage("03", paths, dict(params), False).write_table("panel", _panel())
    RawStore(paths.raw_dir).write("archive", START + dt.timedelta(weeks=2), _snapshot(),
                                  {"simulated": False, "endpoint": "http://mirror.example:8080"})
    with pytest.raises(StaleInputError, match="raw snapshots of the window that has changed since"):
        open_stage("04", {"simulated": False}, paths=paths)


def test_a_file_without_provenance_is_refused(tree):
    paths, _ = tree
    paths.panel_file.parent.mkdir(parents=True, exist_ok=True)
    _panel().to_parquet(paths.panel_file)
    with pytest.raises(StaleInputError, match="no provenance record"):
        open_stage("04", {"simulated": False}, paths=paths)


def test_stale_stages_finds_the_earliest_stage_to_rerun(tree):
    paths, params = tree
    for number, key in (("03", "panel"), ("03", "rankings"), ("03", "top_orgs"), ("03", "family_downloads")):
        Stage(number, paths, dict(params), False).write_table(key, pd.DataFrame(
            {c: [] for c in C.spec(key).columns}))
    st = stale_stages(paths, params, simulated=False)
    assert st["03"] == [] and st["04"] and st["04"][0].reason == "missing"
    changed = dict(params, study_frequency="monthly")
    assert "other settings" in stale_stages(paths, changed, simulated=False)["03"][0].reason


def test_snapshots_of_the_other_run_kind_are_refused(tree):
    paths, params = tree
    with pytest.raises(StaleInputError, match="recorded as real data, and this is a simulated run"):
        Stage("02", paths, dict(params), True).snapshots()
    assert len(Stage("02", paths, dict(params), False).snapshots()) == 2


def test_demo_and_study_trees_are_apart(tmp_path):
    real, demo = Paths(tmp_path), Paths(tmp_path, simulated=True)
    real_files = {real.locate(k) for k in C.FILES} | {real.raw_dir, real.reports_dir}
    demo_files = {demo.locate(k) for k in C.FILES} | {demo.raw_dir, demo.reports_dir}
    for d in demo_files:
        assert (tmp_path / "data" / "demo") in d.parents
    for r in real_files:
        assert (tmp_path / "data" / "demo") not in r.parents
    assert json.dumps(sorted(map(str, real_files & demo_files))) == "[]"
