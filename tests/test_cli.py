"""The command line: the real study refuses to run without the Hub and never falls back to simulated data."""

from __future__ import annotations

import os
import subprocess
import sys

from analysis.paths import REPO_ROOT


def _run(args, root, **env):
    e = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    e.update(STUDY_ROOT=str(root), CI="true", **env)
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, env=e,
                          cwd=REPO_ROOT, timeout=180)


def test_study_stops_early_when_the_hub_is_unreachable(project_copy):
    # port 9 (discard) on loopback: nothing listens, the connection is refused at once
    r = _run(["run"], project_copy, HF_ENDPOINT="http://127.0.0.1:9")
    assert r.returncode != 0
    assert "make demo" in r.stderr
    assert not (project_copy / "reports").exists()
    assert not (project_copy / "data" / "raw").exists() or not any((project_copy / "data" / "raw").rglob("*.parquet"))
    assert not (project_copy / "data" / "demo").exists()


def test_help_lists_every_command(project_copy):
    r = _run(["--help"], project_copy)
    assert r.returncode == 0
    for cmd in ("run", "demo", "simulate", "pull", "config"):
        assert cmd in r.stdout
    assert "unavailable" not in r.stdout


def test_simulate_command_writes_a_hub_and_refuses_to_overwrite(tmp_path):
    args = ["simulate", "--out", str(tmp_path / "hub"), "--models", "300", "--weeks", "12", "--start", "2025-01-01",
            "--crossover", "2025-02-12", "--seed", "1"]
    r = _run(args, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "true crossover 2025-02-12" in r.stdout and (tmp_path / "hub" / "truth.json").is_file()
    r2 = _run(args, tmp_path)
    assert r2.returncode == 2 and "already there" in r2.stderr
