"""Where a figure comes from: hashes, versions, git commit and a suggested citation (``figures/figures.json``).

Every figure file can be traced to the data and code that made it: the entry records the SHA-256 of each
written file and of the raw manifest (``data/raw/manifest.jsonl``, or ``data/demo/raw/manifest.jsonl`` on demo
runs), the configuration digest of the run, the package version and git commit, and a citation built from
``CITATION.cff``. No entry holds a time stamp, so a rerun on the same inputs writes the same ``figures.json``.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from ..raw import sha256_file

#: Folders whose uncommitted changes make a git commit an incomplete description of the code.
CODE_DIRS = ("analysis", "notebooks", "config", "data/reference")


@dataclass(frozen=True)
class Provenance:
    """What every figure of one run shares.

    Attributes
    ----------
    snapshot_range : tuple of str
        First and last snapshot date (YYYY-MM-DD) of the data drawn.
    raw_manifest : str
        Repository-relative path of the raw manifest.
    raw_manifest_sha256 : str or None
        SHA-256 of its bytes (None if the file is missing).
    config_digest : str
        Digest of the run's configuration (:meth:`analysis.config.StudyConfig.digest`), "" if not given.
    package_version : str
    git_commit : str
        ``git rev-parse HEAD`` of the checkout, or "unknown".
    git_dirty : bool or None
        True when analysis/, notebooks/, config/ or data/reference/ differ from that commit (None if unknown).
    versions : dict
        Python and the plotting/data libraries.
    simulated : bool
    citation : str
        Suggested citation of the study.
    """

    snapshot_range: tuple[str, str]
    raw_manifest: str
    raw_manifest_sha256: str | None
    config_digest: str
    package_version: str
    git_commit: str
    git_dirty: bool | None
    versions: dict = field(default_factory=dict)
    simulated: bool = False
    citation: str = ""


def git_state(root: Path) -> tuple[str, bool | None]:
    """(commit, dirty) of the git checkout at ``root``; ("unknown", None) outside git or before a first commit."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    try:
        diff = subprocess.run(["git", "-C", str(root), "diff", "--quiet", "HEAD", "--", *CODE_DIRS],
                              capture_output=True, timeout=10)
        dirty = None if diff.returncode not in (0, 1) else diff.returncode == 1
    except (OSError, subprocess.SubprocessError):
        dirty = None
    return commit, dirty


def library_versions() -> dict:
    """Versions of Python and the libraries that shape the figures' bytes."""
    import matplotlib
    import numpy
    import pandas

    return {"python": platform.python_version(), "matplotlib": matplotlib.__version__, "numpy": numpy.__version__,
            "pandas": pandas.__version__}


#: What CITATION.cff holds where the authors have not been filled in yet.
AUTHOR_PLACEHOLDER = "FILL IN"


def study_citation(root: Path) -> str:
    """A one-line citation of the study from ``CITATION.cff`` at ``root`` ("" if the file is absent).

    The ``preferred-citation`` (the study report) is cited when the file has one, else the software entry. Authors
    still marked :data:`AUTHOR_PLACEHOLDER` are cited as "[authors: fill in CITATION.cff]", never as the placeholder.
    """
    path = Path(root) / "CITATION.cff"
    if not path.is_file():
        return ""
    try:
        cff = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e}); fix CITATION.cff") from None
    ref = cff.get("preferred-citation") or cff
    names = []
    for a in ref.get("authors") or cff.get("authors") or []:
        if "family-names" in a:
            names.append(f"{a['family-names']}, {a.get('given-names', '')}".strip(", "))
        elif "name" in a:
            names.append(str(a["name"]))
    if any(AUTHOR_PLACEHOLDER in n for n in names):
        names = ["[authors: fill in CITATION.cff]"]
    year = str(ref.get("date-released", ref.get("year", cff.get("date-released", ""))))[:4]
    who = " and ".join(names) or "Anonymous"
    kind = "Report." if ref.get("type") == "report" else ""
    version = ref.get("version") or cff.get("version")
    repo = ref.get("repository-code") or cff.get("repository-code")
    doi = ref.get("doi") or cff.get("doi")
    parts = [f"{who} ({year})." if year else f"{who}.", f"{' '.join(str(ref.get('title', '')).split())}.", kind,
             f"Version {version}." if version else "", f"{repo}" if repo else "", f"doi:{doi}" if doi else ""]
    return " ".join(p for p in parts if p)


def collect(root: Path, manifest: Path, snapshot_range: tuple[str, str], *, config_digest: str = "",
            simulated: bool = False) -> Provenance:
    """Gather the provenance shared by a run's figures."""
    from .. import __version__

    root = Path(root)
    commit, dirty = git_state(root)
    try:
        rel = Path(manifest).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = Path(manifest).name
    return Provenance(snapshot_range=tuple(snapshot_range), raw_manifest=rel,
                      raw_manifest_sha256=sha256_file(manifest) if Path(manifest).is_file() else None,
                      config_digest=config_digest, package_version=__version__, git_commit=commit,
                      git_dirty=dirty, versions=library_versions(), simulated=simulated,
                      citation=study_citation(root))


@dataclass(frozen=True)
class FigureRecord:
    """One figure's entry in ``figures/figures.json``.

    Attributes
    ----------
    name : str
        File stem, e.g. ``download_share_by_origin``.
    number : int
        Figure number in the study.
    title, caption : str
        Caption starts with "SIMULATED DATA" on demo runs.
    files : dict
        ``{format: {"path": repo-relative path, "sha256": hex}}``, including ``csv`` (the data plotted).
    citation : str
        Suggested citation of this figure.
    width_in, height_in : float
        Size in inches (3.5 = one journal column, 7.2 = two columns).
    """

    name: str
    number: int
    title: str
    caption: str
    files: dict
    citation: str
    width_in: float = 0.0
    height_in: float = 0.0


def figure_citation(prov: Provenance, number: int, title: str, path: str, sha: str) -> str:
    """Suggested citation of one figure: the study's citation, the figure, its file and hash."""
    study = prov.citation or "Open-model origins on the Hugging Face Hub (study)"
    sim = " SIMULATED DATA (demo run), not a finding." if prov.simulated else ""
    return (f"Figure {number}, \"{title}\", {path} (sha256 {sha[:12]}), data {prov.snapshot_range[0]} to "
            f"{prov.snapshot_range[1]}, commit {prov.git_commit[:12]}. In: {study}{sim}")


def write_figures_json(path: Path, prov: Provenance, records: list[FigureRecord], run: dict | None = None) -> Path:
    """Write ``figures.json`` (run provenance plus one entry per figure), deterministic and atomic.

    ``run`` is the file's provenance record (:mod:`analysis.contracts`: run kind, source, configuration, inputs);
    the figures' own provenance (snapshot range, manifest hash, versions, citation) is merged into it.
    """
    doc = {"simulated": prov.simulated, "provenance": {**(run or {}), **asdict(prov)},
           "figures": [asdict(r) for r in records]}
    doc["provenance"]["snapshot_range"] = list(prov.snapshot_range)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
