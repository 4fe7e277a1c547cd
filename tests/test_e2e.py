"""End to end: the whole chain, offline, on a small simulated Hub served over HTTP by the local stand-in."""

from __future__ import annotations

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
    for nb in ("01_pull", "02_tag_origin", "03_panel", "04_trend_tests", "05_crossover", "07_figures"):
        assert f"{nb}.ipynb" in r.stdout and (root / "data/demo/reports" / f"{nb}.html").is_file()
    assert (root / "data/demo/reports" / "index.html").is_file()
    assert "demo report: " in r.stdout and "data/demo/reports/index.html" in r.stdout
    assert len(list((root / "data/demo/raw/archive").glob("*.parquet"))) == 39  # one week missing on the Hub
    for f in ("models.parquet", "panel.parquet", "results/trends.json", "results/crossover.json"):
        assert (root / "data/demo/processed" / f).is_file(), f
    assert list((root / "data/demo/figures").glob("*.pdf")) and list((root / "data/demo/figures").glob("*.png"))
    values = json.loads((root / "data/demo/figures" / "values.json").read_text())
    assert values.get("simulated") is True
    index = (root / "data/demo/reports" / "index.html").read_text()
    assert "SIMULATED DATA" in index
    assert "Data source: SIMULATED Hub (demo run) at http://127.0.0.1:" in index
    assert "Which models: " in index and "generative models" in index and "Contested origins: " in index
    values = json.loads((root / "data/demo/figures/values.json").read_text())["values"]
    assert {"crossover_scope_all_estimate_date", "crossover_scope_llm_estimate_date",
            "crossover_scope_first_party_llm_estimate_date", "crossover_other_reading_estimate_date"} <= set(values)
    assert "Configuration: config/study.yaml" in index and str(root) not in index  # no local paths
    for real in ("data/processed", "figures", "reports"):  # the demo never writes into the real study's tree
        assert not (root / real).exists() or not [p for p in (root / real).rglob("*") if p.is_file()], real
    assert not (root / "data" / "raw" / "archive").exists() or not any((root / "data/raw/archive").iterdir())


def test_demo_estimate_recovers_the_true_crossover(demo_run):
    root, r = demo_run
    check = json.loads((root / "data/demo/processed/results/demo_truth_check.json").read_text())
    assert check["true_crossover_date"] == "2025-06-04"
    assert abs(check["error_weeks"]) <= 6, check
    assert check["truth_inside_interval"], check


def test_demo_tags_match_the_simulation_truth(demo_run):
    root, _ = demo_run
    models = pd.read_parquet(root / "data/demo/processed/models.parquet")
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


def _run(root, *args, timeout=300):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(STUDY_ROOT=str(root), CI="true")
    cmd = [sys.executable, "-m", "analysis", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=timeout)


def test_every_processed_and_results_file_carries_its_provenance(demo_run):
    from analysis import contracts as C
    from analysis.paths import Paths

    root, _ = demo_run
    paths = Paths(root, simulated=True)
    for f in C.FILES.values():
        prov = C.read_provenance(paths.locate(f), f.format)
        assert prov and set(C.PROVENANCE_FIELDS) <= set(prov), f.name
        assert prov["run_kind"] == "simulated" and prov["stage"] == f.stage, f.name
        assert prov["source"]["endpoints"] and prov["source"]["endpoints"][0].startswith("http://127.0.0.1:"), f.name


def test_switching_run_kind_refuses_the_other_kinds_inputs(demo_run, tmp_path):
    """The demo's processed files copied into the real tree: a real `--only 07` stops and names the stage."""
    import shutil

    root, _ = demo_run
    other = tmp_path / "copy"
    for sub in ("notebooks", "config", "data/reference"):
        shutil.copytree(REPO_ROOT / sub, other / sub)
    shutil.copytree(root / "data/demo/processed", other / "data/processed")
    r = _run(other, "run", "--only", "07", *sum((["--set", s] for s in DEMO_SETTINGS), []))
    assert r.returncode != 0
    assert "written by a simulated run, and this is a real run" in r.stdout, r.stdout[-2000:]
    assert "Rerun from stage 03" in r.stdout or "rerun stage 03" in r.stdout
    assert not (other / "figures" / "values.json").exists()


def test_from_reruns_what_is_stale_and_only_refuses_it(demo_run, tmp_path):
    import shutil

    root, _ = demo_run
    other = tmp_path / "copy"
    shutil.copytree(root, other, ignore=shutil.ignore_patterns("reports"))
    settings = sum((["--set", s] for s in DEMO_SETTINGS + ["panel.scope=llm"]), [])
    r = _run(other, "demo", "--only", "05", *settings)  # 05 reads only the panel, which holds every scope
    assert r.returncode == 0, r.stdout[-2000:]
    r = _run(other, "demo", "--only", "07", *settings)  # but 07 also reads 04's trends.json, built for "all"
    assert r.returncode != 0 and "panel.scope 'all' -> 'llm'" in r.stdout and "rerun stage 04" in r.stdout
    r = _run(other, "demo", "--from", "05", *settings)  # 04's trends.json was built for scope "all": rerun it too
    assert r.returncode == 0, r.stdout[-2000:]
    assert "starting at stage 04 instead of 05" in r.stdout
    trends = json.loads((other / "data/demo/processed/results/trends.json").read_text())
    assert trends["definition"]["scope"] == "llm" and trends["provenance"]["config"]["panel.scope"] == "llm"


def test_a_window_too_short_is_refused_before_anything_runs(tmp_path):
    import shutil

    for sub in ("notebooks", "config", "data/reference"):
        shutil.copytree(REPO_ROOT / sub, tmp_path / sub)
    r = _run(tmp_path, "run", "--set", "study.frequency=daily", "--set", "study.start=2025-03-01",
             "--set", "study.end=2025-03-16")
    assert r.returncode == 2
    assert "holds 16 daily period(s)" in r.stderr and "needs at least 120 daily periods" in r.stderr
    assert "nothing was run" in r.stderr and not (tmp_path / "reports").exists()


def test_check_reports_passes_on_the_demo_and_on_its_reports_shared_alone(demo_run, tmp_path):
    """The rendered demo has no warning, traceback, local path or external resource, its index shows every
    figure, and a copy of the reports folder alone still shows them (headless Chromium where installed)."""
    import shutil

    from devtools import check_reports

    root, r = demo_run
    assert r.returncode == 0
    reports = root / "data/demo/reports"
    chromium = check_reports.find_chromium()
    lines: list = []
    failed = check_reports.check_reports(reports, chromium, log=lines.append)
    assert failed == 0, "\n".join(lines)
    doc = json.loads((root / "data/demo/figures/figures.json").read_text())
    assert f"ok   index.html: {len(doc['figures'])} image(s), 0 broken" in lines or chromium is None
    shared = tmp_path / "shared" / "reports"
    shutil.copytree(reports, shared)
    assert check_reports.index_figure_problems(shared) == []
    if chromium is not None:
        page = check_reports.check_page(shared / "index.html", chromium, expect_images=len(doc["figures"]))
        assert page.ok and page.images == len(doc["figures"]), page.problems
