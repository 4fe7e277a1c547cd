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


def test_a_demo_hub_made_by_another_simulator_version_is_rebuilt(tmp_path):
    """A simulated Hub left by an older version of the simulator is not reused with the same parameters."""
    import json as _json

    from analysis.cli import _demo_hub
    from analysis.config import load_config
    from analysis.paths import Paths
    from analysis.simulate.hub import HUB_GENERATOR_VERSION

    cfg = load_config(overrides={"demo.models": 400, "demo.weeks": 30, "demo.start": "2024-07-24",
                                 "demo.crossover": "2024-11-20"})
    paths = Paths(tmp_path, simulated=True)
    logs: list[str] = []
    hub = _demo_hub(cfg, paths, log=logs.append)
    truth = _json.loads((hub / "truth.json").read_text())
    assert truth["generator_version"] == HUB_GENERATOR_VERSION
    logs.clear()
    _demo_hub(cfg, paths, log=logs.append)
    assert logs == []                                      # same version and parameters: reused as it is
    truth["generator_version"] = HUB_GENERATOR_VERSION - 1
    (hub / "truth.json").write_text(_json.dumps(truth))
    _demo_hub(cfg, paths, log=logs.append)
    assert any("another version of the simulator" in line for line in logs)
    assert _json.loads((hub / "truth.json").read_text())["generator_version"] == HUB_GENERATOR_VERSION
