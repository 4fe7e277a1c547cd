"""Where every file of the study lives: one module, anchored at the repository root.

Every other module and notebook asks :class:`Paths` for a location instead of building one.
The root is the repository checkout (the folder holding ``pyproject.toml``) unless the environment
variable ``STUDY_ROOT`` names another folder, which the tests use to run the chain in a scratch copy.

Each run kind has its own tree, so that a demo never touches the real study's files:

=================  ===============================  ==========================================
                   real study (``simulated=False``)  demo (``simulated=True``)
=================  ===============================  ==========================================
raw pulls          ``data/raw/``                     ``data/demo/raw/``
processed data     ``data/processed/``               ``data/demo/processed/``
results            ``data/processed/results/``       ``data/demo/processed/results/``
figures            ``figures/``                      ``data/demo/figures/``
reports            ``reports/``                      ``data/demo/reports/``
=================  ===============================  ==========================================

The simulated Hub the demo serves lives in ``data/demo/hub/``. Where each declared file of a stage lives in a tree
is :meth:`Paths.locate` of its declaration in :mod:`analysis.contracts`.
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

    # derived outputs (rebuilt by every run; one tree per run kind) ------------------------------
    @property
    def tree(self) -> Path:
        """Base of the run kind's tree of derived outputs (see the module docstring)."""
        return self.demo_dir if self.simulated else self.root

    @property
    def processed_dir(self) -> Path:
        return self.tree / "data" / "processed" if not self.simulated else self.tree / "processed"

    def locate(self, key_or_spec) -> Path:
        """Where this tree keeps a declared file (a key of :data:`analysis.contracts.FILES`, or its spec)."""
        from .contracts import spec

        f = spec(key_or_spec) if isinstance(key_or_spec, str) else key_or_spec
        base = {"processed": self.processed_dir, "results": self.results_dir, "figures": self.figures_dir,
                "reports": self.reports_dir}[f.folder]
        return base / f.name

    @property
    def run_config_file(self) -> Path:
        """The configuration of the latest run of the chain in this tree (written by the runner)."""
        return self.processed_dir / "run_config.json"

    @property
    def models_file(self) -> Path:
        return self.locate("models")

    @property
    def coverage_file(self) -> Path:
        return self.locate("tagging_coverage")

    @property
    def panel_file(self) -> Path:
        return self.locate("panel")

    @property
    def rankings_file(self) -> Path:
        return self.locate("rankings")

    @property
    def top_orgs_file(self) -> Path:
        return self.locate("top_orgs")

    @property
    def row_codes_dir(self) -> Path:
        return self.locate("row_codes")

    @property
    def results_dir(self) -> Path:
        return self.processed_dir / "results"

    @property
    def trends_file(self) -> Path:
        return self.locate("trends")

    @property
    def crossover_file(self) -> Path:
        return self.locate("crossover")

    @property
    def sensitivity_file(self) -> Path:
        return self.locate("sensitivity")

    @property
    def figures_dir(self) -> Path:
        return self.tree / "figures"

    @property
    def values_json(self) -> Path:
        return self.locate("values")

    @property
    def values_tex(self) -> Path:
        return self.figures_dir / "values.tex"

    @property
    def reports_dir(self) -> Path:
        return self.tree / "reports"

    @property
    def demo_truth_check_file(self) -> Path:
        """The demo's estimated crossover against the simulation's truth (demo runs only)."""
        return self.results_dir / "demo_truth_check.json"

    def ensure_output_dirs(self) -> None:
        """Create the folders runs write into (never touches existing files)."""
        for d in (self.archive_dir, self.live_dir, self.processed_dir, self.results_dir,
                  self.figures_dir, self.reports_dir):
            d.mkdir(parents=True, exist_ok=True)
