"""Run kinds never mix: a real-kind pull through a local mirror, then a demo in the same project."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

from test_e2e import DEMO_SETTINGS, _run

from analysis.paths import REPO_ROOT


def test_a_real_kind_run_through_a_local_mirror_then_a_demo_leaves_every_real_output_byte_identical(tmp_path):
    """A real-kind Hub served on 127.0.0.1 (a mirror) is pulled and recorded as real with its endpoint; a demo
    afterwards writes only under data/demo/: every file of the real study's tree keeps its bytes."""
    import hashlib
    import shutil

    from conftest import strip_simulated_marks
    from devtools.fakehub import FakeHub

    from analysis.raw import RawStore
    from analysis.simulate import SimulationParams, simulate_hub

    root = tmp_path / "project"
    for sub in ("notebooks", "config", "data/reference"):
        shutil.copytree(REPO_ROOT / sub, root / sub)
    sim = simulate_hub(tmp_path / "sim", SimulationParams(models=1500, weeks=40, start=dt.date(2025, 1, 1),
                                                          crossover=dt.date(2025, 6, 4), seed=11))
    mirror = strip_simulated_marks(sim.root, tmp_path / "mirror")
    settings = sum((["--set", s] for s in DEMO_SETTINGS), [])
    with FakeHub(mirror) as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env.update(STUDY_ROOT=str(root), CI="true", HF_ENDPOINT=hub.endpoint)
        r = subprocess.run([sys.executable, "-m", "analysis", "run", *settings], capture_output=True, text=True,
                           env=env, cwd=REPO_ROOT, timeout=600)
        endpoint = hub.endpoint
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert endpoint.startswith("http://127.0.0.1:")
    entries = RawStore(root / "data/raw").manifest_entries()
    assert entries and all(e["simulated"] is False and e["endpoint"] == endpoint for e in entries)
    values = json.loads((root / "figures/values.json").read_text())
    assert values["simulated"] is False and values["provenance"]["source"]["endpoints"] == [endpoint]
    assert f"Data source: the Hub at {endpoint}" in (root / "reports/index.html").read_text()

    def tree():
        out = {}
        for top in ("data/raw", "data/processed", "figures", "reports"):
            for p in sorted((root / top).rglob("*")):
                if p.is_file():
                    out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
        return out

    before = tree()
    assert any(k.startswith("figures/") for k in before) and any(k.startswith("data/raw/") for k in before)
    r = _run(root, "demo", *settings, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:]
    assert tree() == before
    assert (root / "data/demo/figures/values.json").is_file()
