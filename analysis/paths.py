"""Where every file of the study lives: one module, anchored at the repository root.

Every other module and notebook asks :class:`Paths` for a location instead of building one.
The root is the repository checkout (the folder holding ``pyproject.toml``) unless the environment
variable ``STUDY_ROOT`` names another folder, which the tests use to run the chain in a scratch copy.

Demo runs (``simulated=True``) keep their raw pulls and the simulated Hub under ``data/demo/`` so that
simulated pulls can never mix with, block or overwrite real pulls in ``data/raw/``. Derived outputs
(``data/processed/``, ``figures/``, ``reports/``) are shared: they are rebuilt by every run and marked
as simulated on demo runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The repository root: the parent of the ``analysis`` package.
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Paths:
    """Locations of the study's inputs and outputs.

    Parameters
    ----------
    root : Path
        Project root; everything else is relative to it.
    simulated : bool
        True for demo runs: raw data comes from the simulated Hub under ``data/demo/``.
    """

    root: Path
    simulated: bool = False

    @classmethod
    def default(cls, simulated: bool = False) -> "Paths":
        """Paths anchored at ``$STUDY_ROOT`` if set, else at the repository root."""
        env = os.environ.get("STUDY_ROOT")
        return cls(Path(env).resolve() if env else REPO_ROOT, simulated=simulated)

    # configuration and curated inputs -------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.root / "config" / "study.yaml"

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def reference_dir(self) -> Path:
        return self.root / "data" / "reference"

    @property
    def organizations_file(self) -> Path:
        return self.reference_dir / "organizations.csv"

    @property
    def overrides_file(self) -> Path:
        return self.reference_dir / "model_overrides.csv"

    @property
    def published_estimates_file(self) -> Path:
        return self.reference_dir / "published_estimates.csv"

    # raw store (immutable) ---------------------------------------------------------------
    @property
    def demo_dir(self) -> Path:
        return self.root / "data" / "demo"

    @property
    def sim_hub_dir(self) -> Path:
        """The simulated Hub served by the local stand-in on demo runs."""
        return self.demo_dir / "hub"

    @property
    def raw_dir(self) -> Path:
        return self.demo_dir / "raw" if self.simulated else self.root / "data" / "raw"

    @property
    def archive_dir(self) -> Path:
        return self.raw_dir / "archive"

    @property
    def live_dir(self) -> Path:
        return self.raw_dir / "live"

    @property
    def manifest(self) -> Path:
        return self.raw_dir / "manifest.jsonl"

    # derived outputs (rebuilt by every run) ------------------------------------------------
    @property
    def processed_dir(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def models_file(self) -> Path:
        """One row per model with its origin under every rule (notebook 02)."""
        return self.processed_dir / "models.parquet"

    @property
    def coverage_file(self) -> Path:
        return self.processed_dir / "tagging_coverage.json"

    @property
    def panel_file(self) -> Path:
        """Tidy download shares by date x measure x rule x scope x region (notebook 03)."""
        return self.processed_dir / "panel.parquet"

    @property
    def rankings_file(self) -> Path:
        """Share of the top-N models' downloads by region (notebook 03)."""
        return self.processed_dir / "rankings.parquet"

    @property
    def top_orgs_file(self) -> Path:
        """The most downloaded organisations per date (notebook 03)."""
        return self.processed_dir / "top_orgs.parquet"

    @property
    def row_codes_dir(self) -> Path:
        """Each raw row's catalog row, written by notebook 02 so notebook 03 need not match ids again."""
        return self.processed_dir / "row_codes"

    @property
    def results_dir(self) -> Path:
        return self.processed_dir / "results"

    @property
    def trends_file(self) -> Path:
        return self.results_dir / "trends.json"

    @property
    def crossover_file(self) -> Path:
        return self.results_dir / "crossover.json"

    @property
    def sensitivity_file(self) -> Path:
        return self.results_dir / "crossover_sensitivity.parquet"

    @property
    def figures_dir(self) -> Path:
        return self.root / "figures"

    @property
    def values_json(self) -> Path:
        return self.figures_dir / "values.json"

    @property
    def values_tex(self) -> Path:
        return self.figures_dir / "values.tex"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def ensure_output_dirs(self) -> None:
        """Create the folders runs write into (never touches existing files)."""
        for d in (self.archive_dir, self.live_dir, self.processed_dir, self.results_dir,
                  self.figures_dir, self.reports_dir):
            d.mkdir(parents=True, exist_ok=True)
