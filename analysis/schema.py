"""Schemas and labels shared by every stage of the study.

The raw snapshot schema is the normalised form of one weekly file of the Hub archive
(``hfmlsoc/hub_weekly_snapshots``, ``models/<YYYY-MM-DD>/models.parquet``) or of one live listing,
restricted to the columns the study needs. Column names follow the Hub API (see the project's
data notes): ``downloads`` is the rolling 30-day count, ``downloadsAllTime`` the cumulative count
(absent before 2025-02-26), ``baseModels`` the declared lineage.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

#: Origin labels, in the order figures and tables show them.
REGIONS: tuple[str, ...] = ("CN", "US", "EU", "OTHER", "UNAFFILIATED", "UNKNOWN")

#: Attribution rules (see ``analysis.origin``).
BASE_RULES: tuple[str, ...] = ("uploader", "lineage", "first_party")
#: Readings of the contested origins (``data/reference/README.md``): the registry's ``region`` or its ``alt_region``.
READINGS: tuple[str, ...] = ("primary", "alternative")
#: Suffix of a rule under the alternative reading (``lineage_alt``: the lineage rule, contested origins read the other
#: way). The panel and the sensitivity grid carry every rule under both readings.
ALT_SUFFIX = "_alt"
#: Every rule of the panel: each attribution rule under each reading of the contested origins.
RULES: tuple[str, ...] = BASE_RULES + tuple(r + ALT_SUFFIX for r in BASE_RULES)


def rule_key(rule: str, contested: str = "primary") -> str:
    """The panel's name of an attribution rule under a reading of the contested origins (``lineage_alt``)."""
    if rule not in BASE_RULES:
        raise ValueError(f"rule {rule!r}: expected one of {', '.join(BASE_RULES)}")
    if contested not in READINGS:
        raise ValueError(f"contested {contested!r}: expected one of {', '.join(READINGS)}")
    return rule + (ALT_SUFFIX if contested == "alternative" else "")

#: Download measures the panel can be built on.
MEASURES: tuple[str, ...] = ("downloads_30d", "downloads_alltime_increment")

#: Scopes: which models a share is computed over.
#: ``llm`` holds the generative models (text-generation and image-text-to-text: what a claim about "AI models" usually
#: means); ``first_party_llm`` the generative models uploaded by a registered organisation with a known region (the
#: scope trackers of this race use: first-party LLM repos of the organisations they follow).
SCOPES: tuple[str, ...] = ("all", "llm", "first_party_llm", "no_redistributors")

#: Period grids of the panel and the statistics, and the days in one period (for converting times to dates).
FREQUENCIES: tuple[str, ...] = ("daily", "weekly", "monthly")
PERIOD_DAYS: dict[str, float] = {"daily": 1.0, "weekly": 7.0, "monthly": 365.2425 / 12.0}

#: Columns of the primary series (:func:`analysis.panel.primary_series`), the input of every statistic.
SERIES_COLUMNS: tuple[str, ...] = ("date", "t", "share_CN", "share_US", "log_ratio", "diff")

#: Pipeline tags that make up the ``llm`` scope.
LLM_PIPELINE_TAGS: tuple[str, ...] = ("text-generation", "image-text-to-text")

BASE_MODELS_TYPE = pa.struct(
    [
        pa.field("relation", pa.string()),
        pa.field("models", pa.list_(pa.struct([pa.field("id", pa.string())]))),
    ]
)

#: The normalised raw snapshot schema written by the pull stage.
RAW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("author", pa.string()),
        pa.field("createdAt", pa.timestamp("ms", tz="UTC")),
        pa.field("downloads", pa.int64(), nullable=False),
        pa.field("downloadsAllTime", pa.int64()),
        pa.field("likes", pa.int64()),
        pa.field("pipeline_tag", pa.string()),
        pa.field("library_name", pa.string()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("baseModels", BASE_MODELS_TYPE),
        # total parameter count: the archive's ``safetensors.total``, else its ``gguf.total`` (see
        # analysis.hub.archive.params_total_column); null when the repo declares neither
        pa.field("params_total", pa.int64()),
    ]
)

#: Columns of :data:`RAW_SCHEMA` that change every week: a thin pull (``archive.metadata_every`` >= 1, see
#: :mod:`analysis.catalog`) reads them from every row group of every snapshot and writes them, alone, to the
#: snapshot's raw file ``archive/<date>.parquet``.
WEEKLY_COLUMNS: tuple[str, ...] = ("id", "downloads", "downloadsAllTime")
WEEKLY_SCHEMA = pa.schema([RAW_SCHEMA.field(c) for c in WEEKLY_COLUMNS])

#: The other columns of :data:`RAW_SCHEMA` (model metadata, and ``likes``): a thin pull reads them only for the rows
#: the thin-read rule plans and writes them to metadata files ``metadata/<date>.part<K>.parquet``, with each row's
#: number in the snapshot (``row``, 0-based) and its ``id``.
METADATA_COLUMNS: tuple[str, ...] = tuple(c for c in RAW_SCHEMA.names if c not in WEEKLY_COLUMNS)
METADATA_SCHEMA = pa.schema([pa.field("row", pa.int64(), nullable=False), RAW_SCHEMA.field("id")]
                            + [RAW_SCHEMA.field(c) for c in METADATA_COLUMNS])

#: Key of a thin raw file's Parquet key-value metadata holding its rule (JSON: ``metadata_every``, ``epoch``).
THIN_KEY = b"study.thin"

#: Columns added to :data:`RAW_SCHEMA` after raw files were first written, with when and why. Raw pulls are
#: immutable, so a raw file written before a column existed keeps its schema and stays valid: it simply lacks the
#: trailing columns named here (readers get nulls; :func:`analysis.raw.check_raw_schema` accepts their absence).
LATER_COLUMNS: dict[str, str] = {
    "params_total": "added for the adoption factors (notebook 06); raw files pulled before it have no parameter counts",
}

#: Where the pull finds :data:`RAW_SCHEMA` columns that the Hub does not serve under their own name: raw column ->
#: the Hub's columns (archive) or ``expand`` properties (live listing), in order of preference.
DERIVED_COLUMNS: dict[str, tuple[str, ...]] = {"params_total": ("safetensors", "gguf")}

#: Columns a snapshot must have; the others become null when absent (schema drift).
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "downloads")

#: First snapshot date of the archive that has ``downloadsAllTime`` (the column is absent or null before it).
ALLTIME_FROM = dt.date(2025, 2, 26)

#: Placeholder ``createdAt`` the Hub gives repositories older than this date (not a real date).
CREATED_AT_PLACEHOLDER = "2022-03-02T23:29:04Z"
