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
RULES: tuple[str, ...] = ("uploader", "lineage", "first_party")

#: Download measures the panel can be built on.
MEASURES: tuple[str, ...] = ("downloads_30d", "downloads_alltime_increment")

#: Scopes: which models a share is computed over.
SCOPES: tuple[str, ...] = ("all", "llm", "no_redistributors")

#: Period grids of the panel and the statistics, and the days in one period (for converting times to dates).
FREQUENCIES: tuple[str, ...] = ("weekly", "monthly")
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
    ]
)

#: Columns a snapshot must have; the others become null when absent (schema drift).
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "downloads")

#: First snapshot date of the archive that has ``downloadsAllTime`` (the column is absent or null before it).
ALLTIME_FROM = dt.date(2025, 2, 26)

#: Placeholder ``createdAt`` the Hub gives repositories older than this date (not a real date).
CREATED_AT_PLACEHOLDER = "2022-03-02T23:29:04Z"
