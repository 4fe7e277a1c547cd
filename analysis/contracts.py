"""Every stage's files, declared once: where each lives, what it holds, what it is built from.

Stages talk only through files. Each file a stage writes is declared here as a :class:`FileSpec`: its folder and
name, its format, its columns (tables) or top-level keys (JSON), the stage that writes it, the files it is built from
(``inputs``) and the configuration keys that shape it (``config``). Producers take their column lists from here;
readers check what they read against it; nothing else declares a file's layout.

Provenance
----------
Every declared file carries a provenance record (:data:`PROVENANCE_FIELDS`): the run kind (``simulated`` or
``real``, known from the data: the raw manifest records what the Hub served), the source (endpoints, archive
repository and commits, snapshot range), the values and digest of the configuration keys that shaped it, the
SHA-256 of every input, the package version and the git commit. Parquet files keep it in their schema metadata
(key ``study.provenance``), JSON files under the top-level key ``provenance``, CSV files in a sidecar
``<name>.provenance.json``, folders in ``_provenance.json``. :func:`read_provenance` reads all of them.

A file is *stale* for a run (:func:`file_problems`) when it is missing, has no provenance, was written by the
other run kind, was shaped by other values of its configuration keys, or was built from inputs that have changed
since. A stage refuses stale inputs and names the stage to rerun (:mod:`analysis.stage`); ``run --from NN`` reruns
the earliest stale stage like make (:mod:`analysis.pipeline`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

#: The stages of the chain, in order: number -> notebook stem.
STAGES: dict[str, str] = {
    "01": "01_pull",
    "02": "02_tag_origin",
    "03": "03_panel",
    "04": "04_trend_tests",
    "05": "05_crossover",
    "06": "06_factors",
    "07": "07_figures",
}

#: Fields of every provenance record.
PROVENANCE_FIELDS: tuple[str, ...] = ("file", "stage", "run_kind", "source", "config", "config_digest", "inputs",
                                      "package_version", "git_commit")

#: Key of the provenance record in parquet schema metadata.
PARQUET_PROVENANCE_KEY = b"study.provenance"

#: Run kinds.
RUN_KINDS: tuple[str, ...] = ("real", "simulated")

#: Folders of a run's tree (see :class:`analysis.paths.Paths`).
FOLDERS: tuple[str, ...] = ("processed", "results", "figures", "reports")

#: Pseudo-inputs that are not declared files: the raw snapshots of the window and the curated reference files.
RAW = "raw"
REFERENCE_FILES: dict[str, str] = {
    "organizations": "organizations.csv",
    "model_overrides": "model_overrides.csv",
    "published_estimates": "published_estimates.csv",
    "model_families": "model_families.csv",
}

#: Configuration keys that select the snapshots of the window (every raw-derived file depends on them).
WINDOW_KEYS: tuple[str, ...] = ("study.start", "study.end", "study.frequency")
#: Configuration keys of the headline series.
HEADLINE_KEYS: tuple[str, ...] = ("panel.measure", "origin.rule", "origin.contested", "panel.scope", "study.frequency")
#: Configuration keys of the trend inference shared by notebooks 04 and 05.
INFERENCE_KEYS: tuple[str, ...] = ("trends.hac_lags", "trends.inference", "trends.bandwidth", "trends.fixed_b_null")


@dataclass(frozen=True)
class FileSpec:
    """One file (or folder) a stage writes.

    Attributes
    ----------
    key : str
        Short name used in code and provenance (``"panel"``).
    stage : str
        Number of the stage that writes it (``"03"``).
    folder : str
        One of :data:`FOLDERS`; :meth:`analysis.paths.Paths.locate` resolves it in the run's tree.
    name : str
        File name (content-named, see the design's principle 8).
    format : str
        ``parquet``, ``json``, ``csv`` or ``dir``.
    description : str
        What a reader finds in it.
    columns : tuple of str
        Columns of a table, in order (parquet, csv).
    keys : tuple of str
        Top-level keys a JSON file must have (besides ``provenance``).
    inputs : tuple of str
        Keys of the declared files, :data:`RAW` or :data:`REFERENCE_FILES` it is built from.
    config : tuple of str
        ``section.key`` names of the configuration values that shape it.
    """

    key: str
    stage: str
    folder: str
    name: str
    format: str
    description: str
    columns: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    config: tuple[str, ...] = ()

    @property
    def notebook(self) -> str:
        """Stem of the notebook that writes the file."""
        return STAGES[self.stage]


# --------------------------------------------------------------------------------------------------------------
# column lists (producers import these)
# --------------------------------------------------------------------------------------------------------------

#: Columns of the table :func:`analysis.origin.tagging.tag_models` returns, in order.
TAG_COLUMNS: tuple[str, ...] = (
    "id", "author", "author_mismatch", "relation", "parent", "n_parents", "parent_source", "lineage_root",
    "lineage_depth", "root_author", "uploader_kind", "root_kind", "uploader_decision", "root_decision",
    "uploader_region", "lineage_region", "uploader_region_alt", "lineage_region_alt",
    "first_party", "is_redistributor", "cycle", "self_reference", "dangling", "root_dangling", "override_reason",
    "override_source",
)
#: Catalog columns notebook 02 joins to the tags.
MODEL_EXTRA_COLUMNS: tuple[str, ...] = ("createdAt", "pipeline_tag", "library_name", "last_seen")
#: Share of each snapshot's downloads by kind of registry decision (country, alternative, reasoned non-country
#: kind, unknown), under the uploader and lineage rules.
DECISION_COVERAGE_COLUMNS: tuple[str, ...] = ("date", "rule", "decision", "share", "downloads")
#: The accounts holding the most downloads without a country: what to research and add to the registry next.
CANDIDATE_COLUMNS: tuple[str, ...] = ("rule", "rank", "account", "downloads", "share", "n_models", "kind",
                                      "registered")
#: Tidy panel: one row per snapshot date x measure x rule x scope x region.
PANEL_COLUMNS: tuple[str, ...] = ("date", "measure", "rule", "scope", "region", "downloads", "share", "n_models")
#: Share of the top-N models' 30-day downloads held by each region.
RANKING_COLUMNS: tuple[str, ...] = ("date", "rule", "top_n", "region", "share")
#: The most downloaded organisations per date.
TOP_ORG_COLUMNS: tuple[str, ...] = ("date", "rule", "organisation", "region", "downloads", "rank")
#: 30-day downloads per model family (the family of a model is that of its lineage root; :mod:`analysis.families`).
FAMILY_DOWNLOAD_COLUMNS: tuple[str, ...] = ("date", "family", "developer", "origin", "downloads", "n_models")
#: The crossover under every definition (notebook 05).
SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "measure", "rule", "scope", "k", "hac_lag", "method", "estimate_date", "lower_date", "upper_date", "kind",
    "n_periods", "n_observed", "estimate_t", "lower_t", "upper_t", "note", "inference", "bandwidth_b", "critical",
    "gap_lower_t", "gap_upper_t", "gap_lower_date", "gap_upper_date", "start_offset_months", "start_date",
    "bandwidth_periods", "n_pieces", "pieces_dates", "open_start", "open_end",
)
#: Adoption factors by origin (notebook 06): download-weighted shares per snapshot and ecosystem counts per month.
FACTOR_COLUMNS: tuple[str, ...] = ("date", "factor", "level", "region", "value", "downloads", "n_models")
#: Configuration keys of the adoption factors.
FACTOR_KEYS: tuple[str, ...] = ("factors.frequency", "factors.size_bins", "factors.resample", "factors.bootstrap_reps",
                                "factors.seed", "factors.split_date")
#: Columns of ``data/reference/published_estimates.csv`` the study reads.
PUBLISHED_COLUMNS: tuple[str, ...] = ("source", "citation", "measure", "scope", "rule", "claim",
                                      "crossover_period_start", "crossover_period_end", "verified", "url")
#: Our estimate beside each published claim (notebook 05).
COMPARISON_COLUMNS: tuple[str, ...] = (
    "source", "claim", "verified", "their_measure", "their_rule", "their_scope", "their_period_start",
    "their_period_end", "our_measure", "our_rule", "our_scope", "our_method", "our_estimate_date", "our_lower_date",
    "our_upper_date", "our_kind", "our_pieces_dates", "matched", "agreement", "simulated",
)


# --------------------------------------------------------------------------------------------------------------
# the files
# --------------------------------------------------------------------------------------------------------------
_TAG_INPUTS = (RAW, "organizations", "model_overrides")
_TAG_CONFIG = WINDOW_KEYS + ("origin.merge_parent", "archive.metadata_every")
_FACTOR_CONFIG = WINDOW_KEYS + ("origin.rule", "panel.scope", "crossover.alpha", "archive.metadata_every") + FACTOR_KEYS

FILES: dict[str, FileSpec] = {f.key: f for f in (
    FileSpec("models", "02", "processed", "models.parquet", "parquet",
             "One row per model seen in the window: lineage and origin under every rule (notebook 02).",
             columns=TAG_COLUMNS + MODEL_EXTRA_COLUMNS, inputs=_TAG_INPUTS, config=_TAG_CONFIG),
    FileSpec("tagging_coverage", "02", "processed", "tagging_coverage.json", "json",
             "How much of the latest snapshot's downloads reaches an origin, and what to add to the registry.",
             keys=("region_share", "tagged_share"), inputs=_TAG_INPUTS, config=_TAG_CONFIG),
    FileSpec("decision_coverage", "02", "processed", "decision_coverage.parquet", "parquet",
             "Share of each snapshot's downloads decided by a country, a contested country, a reasoned non-country "
             "kind, or nothing.", columns=DECISION_COVERAGE_COLUMNS, inputs=_TAG_INPUTS, config=_TAG_CONFIG),
    FileSpec("registry_candidates", "02", "processed", "registry_candidates.csv", "csv",
             "The accounts to research and add to the registry next, ranked by downloads without a country.",
             columns=CANDIDATE_COLUMNS, inputs=_TAG_INPUTS, config=_TAG_CONFIG),
    FileSpec("row_codes", "02", "processed", "row_codes", "dir",
             "Each raw row's catalog row (a cache that spares notebook 03 matching ids again).",
             inputs=(RAW,), config=WINDOW_KEYS),
    FileSpec("panel", "03", "processed", "panel.parquet", "parquet",
             "Downloads and shares by snapshot date x measure x rule x scope x region.",
             columns=PANEL_COLUMNS, inputs=(RAW, "models"), config=WINDOW_KEYS),
    FileSpec("rankings", "03", "processed", "rankings.parquet", "parquet",
             "Share of the 10, 50 and 100 most downloaded models' 30-day downloads held by each region.",
             columns=RANKING_COLUMNS, inputs=(RAW, "models"), config=WINDOW_KEYS),
    FileSpec("top_orgs", "03", "processed", "top_orgs.parquet", "parquet",
             "The most downloaded organisations per snapshot date, under the uploader and lineage rules.",
             columns=TOP_ORG_COLUMNS, inputs=(RAW, "models"), config=WINDOW_KEYS),
    FileSpec("family_downloads", "03", "processed", "family_downloads.parquet", "parquet",
             "30-day downloads of each model family of data/reference/model_families.csv, per snapshot date.",
             columns=FAMILY_DOWNLOAD_COLUMNS, inputs=(RAW, "models", "model_families"), config=WINDOW_KEYS),
    FileSpec("trends", "04", "results", "trends.json", "json",
             "Trend and break tests on the headline series.",
             keys=("definition", "ols", "mann_kendall", "sens_slope", "breaks"), inputs=("panel",),
             config=HEADLINE_KEYS + INFERENCE_KEYS + ("trends.mk_method", "trends.mk_lag", "trends.break_reps")),
    FileSpec("crossover", "05", "results", "crossover.json", "json",
             "The crossover date of the headline series by every method, with the settings each used.",
             keys=("definition", "headline", "methods"), inputs=("panel", "organizations"),
             config=HEADLINE_KEYS + INFERENCE_KEYS + ("crossover.k", "crossover.alpha", "crossover.bootstrap_reps",
                                                      "crossover.block_length", "crossover.bootstrap_method",
                                                      "crossover.seed", "crossover.local_bandwidth",
                                                      "crossover.local_reps", "crossover.start_offsets")),
    FileSpec("sensitivity", "05", "results", "crossover_sensitivity.parquet", "parquet",
             "The crossover under every measure, rule, scope and method setting.",
             columns=SENSITIVITY_COLUMNS, inputs=("panel",),
             config=("study.frequency", "crossover.alpha", "crossover.local_bandwidth", "crossover.start_offsets")
             + INFERENCE_KEYS),
    FileSpec("published_comparison", "05", "results", "published_comparison.csv", "csv",
             "Each published claim beside our estimate under the nearest definition.",
             columns=COMPARISON_COLUMNS, inputs=("crossover", "sensitivity", "published_estimates"),
             config=HEADLINE_KEYS),
    FileSpec("factors", "06", "results", "factors.parquet", "parquet",
             "Licence, language, size and derivative-ecosystem measures by origin over time (notebook 06).",
             columns=FACTOR_COLUMNS, inputs=(RAW, "models", "crossover"),
             config=_FACTOR_CONFIG),
    FileSpec("factors_summary", "06", "results", "factors.json", "json",
             "CN minus US differences of every factor before and after the crossover with bootstrap intervals, the "
             "split, the classification rules, the unparseable fields and the readings.",
             keys=("definition", "split", "classes", "differences", "changes", "unparseable", "readings"),
             inputs=(RAW, "models", "crossover"), config=_FACTOR_CONFIG),
    FileSpec("figures_index", "07", "figures", "figures.json", "json",
             "Title, caption, files, hashes and citation of every figure.",
             keys=("figures",), inputs=("panel", "models", "rankings", "top_orgs", "family_downloads", "trends",
                                         "crossover", "sensitivity", "factors", "factors_summary",
                                         "published_estimates", "published_comparison"),
             config=HEADLINE_KEYS + ("figures.formats", "figures.dpi")),
    FileSpec("values", "07", "figures", "values.json", "json",
             "Every number a reader may quote (also as LaTeX macros in values.tex).",
             keys=("values",), inputs=("panel", "trends", "crossover", "sensitivity", "factors_summary"),
             config=HEADLINE_KEYS),
)}


def spec(key: str) -> FileSpec:
    """The declaration of one file; a clear error for an unknown key."""
    try:
        return FILES[key]
    except KeyError:
        raise KeyError(f"no file declared as {key!r}; declared: {', '.join(FILES)}") from None


def outputs_of(stage: str) -> list[FileSpec]:
    """The files a stage writes."""
    return [f for f in FILES.values() if f.stage == stage]


def inputs_of(stage: str) -> list[str]:
    """Keys of the declared files (of earlier stages) that a stage's outputs are built from, in chain order."""
    keys: list[str] = []
    for f in outputs_of(stage):
        for k in f.inputs:
            if k in FILES and FILES[k].stage < stage and k not in keys:
                keys.append(k)
    return sorted(keys, key=lambda k: (FILES[k].stage, list(FILES).index(k)))


def config_keys_of(stage: str) -> tuple[str, ...]:
    """Every configuration key that shapes a stage's outputs."""
    out: list[str] = []
    for f in outputs_of(stage):
        out += [k for k in f.config if k not in out]
    return tuple(out)


# --------------------------------------------------------------------------------------------------------------
# provenance
# --------------------------------------------------------------------------------------------------------------
def digest(obj: Any) -> str:
    """A short SHA-256 of a JSON-able object (sorted keys): configuration values, lists of hashes."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def config_values(keys: tuple[str, ...], flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{section.key: value}`` for ``keys`` from flattened parameters ``{section_key: value}``.

    Raises
    ------
    KeyError
        A key the parameters lack (the message names it).
    """
    out = {}
    for k in keys:
        name = k.replace(".", "_", 1)
        if name not in flat:
            raise KeyError(f"configuration value {k} ({name}) is not among the run's parameters")
        v = flat[name]
        out[k] = list(v) if isinstance(v, tuple) else v
    return out


def read_provenance(path: str | Path, fmt: str | None = None) -> dict | None:
    """The provenance record of a declared file, or None when it has none (or cannot be read)."""
    path = Path(path)
    fmt = fmt or ("dir" if path.is_dir() else path.suffix.lstrip("."))
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            meta = pq.read_schema(path).metadata or {}
            raw = meta.get(PARQUET_PROVENANCE_KEY)
            return json.loads(raw) if raw else None
        if fmt == "json":
            return json.loads(path.read_text(encoding="utf-8")).get("provenance")
        if fmt == "csv":
            side = sidecar(path)
            return json.loads(side.read_text(encoding="utf-8")) if side.is_file() else None
        if fmt == "dir":
            side = path / "_provenance.json"
            return json.loads(side.read_text(encoding="utf-8")) if side.is_file() else None
    except (OSError, ValueError, AttributeError):
        return None
    return None


def sidecar(path: str | Path) -> Path:
    """The provenance sidecar of a CSV file."""
    path = Path(path)
    return path.with_name(path.name + ".provenance.json")


def file_hash(path: str | Path) -> str | None:
    """SHA-256 of a declared file's content (a folder: of its provenance record); None if absent."""
    from .raw import sha256_file

    path = Path(path)
    if path.is_dir():
        side = path / "_provenance.json"
        return sha256_file(side) if side.is_file() else None
    return sha256_file(path) if path.is_file() else None


@dataclass(frozen=True)
class Problem:
    """Why a file cannot be used by this run, and which stage makes it again."""

    key: str
    path: Path
    reason: str
    rerun: str

    def __str__(self) -> str:
        return f"{self.path.name}: {self.reason}; rerun stage {self.rerun} ({STAGES[self.rerun]})"


@dataclass(frozen=True)
class RunState:
    """What a run is: its kind, its parameters (flattened), and how to hash its pseudo-inputs."""

    run_kind: str
    params: Mapping[str, Any]
    input_hashes: Mapping[str, str | None] = field(default_factory=dict)


def file_problems(f: FileSpec, path: Path, state: RunState, current_hash) -> list[Problem]:
    """Why ``path`` (declared as ``f``) is stale for the run ``state``; empty when it can be used.

    Parameters
    ----------
    f : FileSpec
    path : Path
        Where the run's tree keeps it.
    state : RunState
        The run kind and parameters the file must match.
    current_hash : callable
        ``current_hash(input_key) -> str | None``: the current hash of one of the file's inputs (a declared file's
        content hash, the raw digest of the window, a reference file's hash).
    """
    if not (path.is_dir() if f.format == "dir" else path.is_file()):
        return [Problem(f.key, path, "missing", f.stage)]
    prov = read_provenance(path, f.format)
    if not prov:
        return [Problem(f.key, path, "has no provenance record (written by an older version of the study)",
                        f.stage)]
    out = []
    if prov.get("run_kind") != state.run_kind:
        out.append(Problem(f.key, path, f"was written by a {prov.get('run_kind')} run, and this is a "
                                        f"{state.run_kind} run", f.stage))
        return out
    try:
        want = config_values(f.config, state.params)
    except KeyError as e:
        return [Problem(f.key, path, str(e).strip("'\""), f.stage)]
    have = prov.get("config") or {}
    changed = [k for k in f.config if json.dumps(have.get(k), default=str) != json.dumps(want[k], default=str)]
    if changed:
        what = ", ".join(f"{k} {have.get(k)!r} -> {want[k]!r}" for k in changed)
        out.append(Problem(f.key, path, f"was built with other settings ({what})", f.stage))
    recorded = prov.get("inputs") or {}
    for k in f.inputs:
        now = current_hash(k)
        if recorded.get(k) != now:
            name = FILES[k].name if k in FILES else (REFERENCE_FILES.get(k) or "the raw snapshots of the window")
            out.append(Problem(f.key, path, f"was built from a {name} that has changed since", f.stage))
    return out
