"""End to end: the whole chain, offline, on a small simulated Hub served over HTTP by the local stand-in."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from analysis.paths import REPO_ROOT

DEMO_SETTINGS = ["demo.models=1500", "demo.weeks=40", "demo.start=2025-01-01", "demo.crossover=2025-06-04",
                 "demo.seed=11", "study.start=2025-01-01", "crossover.bootstrap_reps=200"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    import shutil

    for sub in ("notebooks", "config", "data/reference"):
        shutil.copytree(REPO_ROOT / sub, root / sub)
    args = [sys.executable, "-m", "analysis", "demo"]
    for s in DEMO_SETTINGS:
        args += ["--set", s]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(STUDY_ROOT=str(root), CI="true")
    r = subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=900)
    return root, r


def test_demo_chain_runs_and_writes_every_output(demo_run):
    root, r = demo_run
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for nb in ("01_pull", "02_tag_origin", "03_panel", "04_trend_tests", "05_crossover", "06_figures"):
        assert f"{nb}.ipynb" in r.stdout and (root / "reports" / f"{nb}.html").is_file()
    assert (root / "reports" / "index.html").is_file()
    assert len(list((root / "data/demo/raw/archive").glob("*.parquet"))) == 39  # one week missing on the Hub
    for f in ("models.parquet", "panel.parquet", "results/trends.json", "results/crossover.json"):
        assert (root / "data/processed" / f).is_file(), f
    assert list((root / "figures").glob("*.pdf")) and list((root / "figures").glob("*.png"))
    values = json.loads((root / "figures" / "values.json").read_text())
    assert values.get("simulated") is True
    assert "SIMULATED DATA" in (root / "reports" / "index.html").read_text()
    assert not (root / "data" / "raw" / "archive").exists() or not any((root / "data/raw/archive").iterdir())


def test_demo_estimate_recovers_the_true_crossover(demo_run):
    root, r = demo_run
    check = json.loads((root / "data/processed/results/demo_truth_check.json").read_text())
    assert check["true_crossover_date"] == "2025-06-04"
    assert abs(check["error_weeks"]) <= 6, check
    assert check["truth_inside_interval"], check


def test_demo_tags_match_the_simulation_truth(demo_run):
    root, _ = demo_run
    models = pd.read_parquet(root / "data/processed/models.parquet")
    truth = pd.read_parquet(root / "data/demo/hub/truth_models.parquet")
    m = truth.merge(models, on="id", suffixes=("_true", ""))
    assert len(m) == len(models)
    assert (m["uploader_region_true"] == m["uploader_region"]).all()
    assert (m["lineage_region_true"] == m["lineage_region"]).all()
    assert (m["first_party_true"] == m["first_party"]).all()


def test_rerun_pulls_nothing_new_and_keeps_raw_files(demo_run):
    root, _ = demo_run
    manifest = (root / "data/demo/raw/manifest.jsonl").read_text().splitlines()
    stamps = {p.name: p.stat().st_mtime_ns for p in (root / "data/demo/raw/archive").glob("*.parquet")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(STUDY_ROOT=str(root), CI="true")
    args = [sys.executable, "-m", "analysis", "demo", "--only", "01"]
    for s in DEMO_SETTINGS:
        args += ["--set", s]
    r = subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    after = {p.name: p.stat().st_mtime_ns for p in (root / "data/demo/raw/archive").glob("*.parquet")}
    assert after == stamps
    new_lines = (root / "data/demo/raw/manifest.jsonl").read_text().splitlines()
    assert new_lines[: len(manifest)] == manifest
