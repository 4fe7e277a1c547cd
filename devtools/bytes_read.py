"""Measure how many bytes a column-projected archive pull reads, against the archive files' total size.

Simulates a Hub (heavy columns included: tags, cardData, siblings, config), serves it with the local stand-in,
pulls every weekly snapshot through huggingface_hub over HTTP into a scratch raw store, and reports the body bytes
the stand-in served for the archive files (``/resolve/`` requests) against the files' total size.

Usage::

    python -m devtools.bytes_read [--models 20000] [--weeks 12] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

from analysis.config import load_config
from analysis.hub import RetryPolicy
from analysis.hub.pull import pull_all
from analysis.paths import Paths
from analysis.simulate import SimulationParams, simulate_hub

from devtools.fakehub import FakeHub


def measure(models: int, weeks: int, workdir: Path) -> dict:
    """Simulate, serve, pull; return the measured figures."""
    start = dt.date(2025, 1, 1)
    params = SimulationParams(models=models, weeks=weeks, start=start,
                              crossover=start + dt.timedelta(weeks=weeks // 2), missing_week=weeks // 3)
    hub_root = workdir / "hub"
    simulate_hub(hub_root, params)
    files = sorted((hub_root / "datasets").rglob("models.parquet"))
    total = sum(f.stat().st_size for f in files)
    cfg = load_config(overrides={"study.start": start.isoformat(), "live.enabled": "false"})
    with FakeHub(hub_root) as hub:
        t0 = time.monotonic()
        report = pull_all(cfg, Paths(workdir / "study", simulated=True), endpoint=hub.endpoint,
                          retry=RetryPolicy(base_delay=0.1), progress=False)
        seconds = time.monotonic() - t0
        served = hub.stats.total_bytes("/resolve/")
        requests = hub.stats.total_requests("/resolve/")
    return {"models": models, "weeks": weeks, "files": len(files), "pulled": len(report.pulled),
            "archive_bytes": total, "bytes_served": served, "bytes_read_client": report.bytes_read,
            "fraction": served / total, "resolve_requests": requests, "seconds": round(seconds, 2),
            "ok": report.ok}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=20000)
    p.add_argument("--weeks", type=int, default=12)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        m = measure(args.models, args.weeks, Path(tmp))
    if args.json:
        print(json.dumps(m, indent=1))
    else:
        print(f"{m['models']} models x {m['weeks']} weeks: pulled {m['pulled']} of {m['files']} archive files "
              f"in {m['seconds']} s with {m['resolve_requests']} file requests")
        print(f"bytes served {m['bytes_served']:,} of {m['archive_bytes']:,} archive bytes = {m['fraction']:.1%}")
    return 0 if m["ok"] and m["fraction"] <= 0.25 else 1


if __name__ == "__main__":
    sys.exit(main())
