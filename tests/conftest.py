"""Shared fixtures: a small simulated Hub, scratch project roots."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from analysis.paths import REPO_ROOT
from analysis.simulate import SimulationParams, simulate_hub

#: A small simulated Hub: fast to build, still with every kind of model and dirty data.
SMALL_HUB = SimulationParams(models=1500, weeks=40, start=dt.date(2025, 1, 1), crossover=dt.date(2025, 6, 4),
                             seed=7, missing_week=17)


#: A tiny simulated Hub for the pull and stand-in tests (12 weeks, one of them missing).
TINY_HUB = SimulationParams(models=300, weeks=12, start=dt.date(2025, 1, 1), crossover=dt.date(2025, 2, 12),
                            missing_week=5)


@pytest.fixture(scope="session")
def hub_root(tmp_path_factory) -> Path:
    """A tiny simulated Hub folder, shared by the pull and stand-in tests (read-only: copy it to change it)."""
    root = tmp_path_factory.mktemp("tiny_hub")
    simulate_hub(root, TINY_HUB)
    return root


@pytest.fixture(scope="session")
def small_hub(tmp_path_factory) -> Path:
    """A simulated Hub folder (read-only for tests: copy it before changing anything)."""
    root = tmp_path_factory.mktemp("small_hub")
    simulate_hub(root, SMALL_HUB)
    return root


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """A scratch project root with the repository's notebooks, config and reference data (no data, no outputs)."""
    for sub in ("notebooks", "config", "data/reference"):
        shutil.copytree(REPO_ROOT / sub, tmp_path / sub)
    return tmp_path


@pytest.fixture(scope="session")
def real_hub_root(hub_root, tmp_path_factory) -> Path:
    """The tiny Hub without the simulated-Hub marks: no SIMULATED_HUB.json, no simulated tag (data of a real kind)."""
    return strip_simulated_marks(hub_root, tmp_path_factory.mktemp("real_kind_hub"))


def strip_simulated_marks(hub: Path, root: Path) -> Path:
    """A copy of a simulated Hub in ``root`` without its marks (marker file, simulated tag): data of a real kind."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.simulate.hub import SIMULATED_MARKER, SIMULATED_TAG

    shutil.copytree(hub / "datasets", root / "datasets")
    shutil.copytree(hub / "live", root / "live")
    next(root.glob(f"datasets/*/*/{SIMULATED_MARKER}")).unlink()
    for f in list((root / "datasets").rglob("*.parquet")) + [root / "live" / "models.parquet"]:
        t = pq.read_table(f)
        tags = pa.array([None if x is None else [tag for tag in x if tag != SIMULATED_TAG]
                         for x in t["tags"].to_pylist()], t.schema.field("tags").type)
        pq.write_table(t.set_column(t.schema.get_field_index("tags"), "tags", tags), f)
    return root
