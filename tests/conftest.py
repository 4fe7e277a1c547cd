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
