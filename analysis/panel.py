"""From tagged raw snapshots to tidy time series of download shares by origin.

The panel has one row per snapshot date x measure x rule x scope x region (see :data:`PANEL_COLUMNS`).
It is built snapshot by snapshot: each raw file is read with only the columns needed (``id``,
``downloads``, ``downloadsAllTime``), its rows are matched to the tagged models by integer codes, and the
downloads are summed per group with ``numpy.bincount``. Nothing larger than one snapshot is held in memory.

Measures
--------
``downloads_30d``
    The Hub's rolling 30-day download count as of the snapshot.
``downloads_alltime_increment``
    Growth of ``downloadsAllTime`` since the previous snapshot, per week elapsed (so a missing weekly file does not
    double a period). Negative increments (the Hub's counter has been seen to decrease) count as zero; the number of
    such models is reported by :func:`build_panel`. Not defined before the column exists (2025-02-26).

Rules (who a model's downloads belong to; see :mod:`analysis.origin`)
    ``uploader`` (the publishing account), ``lineage`` (the root base model's uploader), ``first_party`` (only repos
    published by a registered organisation, attributed to it; the others are left out).

Scopes
    ``all``; ``llm`` (pipeline tags in :data:`analysis.schema.LLM_PIPELINE_TAGS`); ``no_redistributors``
    (without repos of redistributors and quantizers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .schema import LLM_PIPELINE_TAGS, MEASURES, REGIONS, RULES, SCOPES

PANEL_COLUMNS = ["date", "measure", "rule", "scope", "region", "downloads", "share", "n_models"]

#: Columns of the tagged models table the panel needs.
TAG_COLUMNS = ["id", "uploader_region", "lineage_region", "first_party", "is_redistributor", "pipeline_tag"]


class PanelError(ValueError):
    """Inputs the panel cannot be built from; the message names the file and what to do."""


@dataclass(frozen=True)
class PanelBuild:
    """A built panel and what happened while building it.

    Attributes
    ----------
    panel : pandas.DataFrame
        Tidy panel with :data:`PANEL_COLUMNS`.
    dates : list of datetime.date
        Snapshot dates used.
    rows_read : int
        Raw rows read over all snapshots.
    untagged_rows : int
        Rows whose model id is absent from the tagged models table (counted as UNKNOWN).
    negative_increments : int
        Model-periods whose ``downloadsAllTime`` decreased (counted as zero growth).
    """

    panel: pd.DataFrame
    dates: list
    rows_read: int
    untagged_rows: int
    negative_increments: int


def _region_codes(values: pd.Series | pa.Array) -> np.ndarray:
    arr = pa.array(values) if not isinstance(values, (pa.Array, pa.ChunkedArray)) else values
    codes = pc.index_in(arr, value_set=pa.array(REGIONS)).to_numpy(zero_copy_only=False)
    codes = np.where(pd.isna(codes), REGIONS.index("UNKNOWN"), codes)
    return codes.astype(np.int64)


@dataclass(frozen=True)
class _Groups:
    """Per tagged model: region code under each rule (-1 = excluded) and scope masks."""

    ids: pa.Array
    rule_codes: dict
    scope_masks: dict


def _prepare_groups(tags: pd.DataFrame) -> _Groups:
    missing = [c for c in TAG_COLUMNS if c not in tags.columns]
    if missing:
        raise PanelError(f"tagged models table lacks columns {missing}; rerun notebook 02 (tag origin)")
    if tags["id"].duplicated().any():
        dup = tags.loc[tags["id"].duplicated(), "id"].iloc[0]
        raise PanelError(f"tagged models table has duplicate id {dup!r}; rerun notebook 02 (tag origin)")
    up = _region_codes(tags["uploader_region"].astype("string"))
    lin = _region_codes(tags["lineage_region"].astype("string"))
    fp = tags["first_party"].fillna(False).to_numpy(dtype=bool)
    n = len(tags)
    # one extra slot at the end for rows whose id is not in the tags table (UNKNOWN everywhere)
    unknown = REGIONS.index("UNKNOWN")
    rule_codes = {
        "uploader": np.append(up, unknown),
        "lineage": np.append(lin, unknown),
        "first_party": np.append(np.where(fp, up, -1), -1),
    }
    llm = tags["pipeline_tag"].isin(LLM_PIPELINE_TAGS).to_numpy(dtype=bool)
    redis = tags["is_redistributor"].fillna(False).to_numpy(dtype=bool)
    scope_masks = {
        "all": np.ones(n + 1, dtype=bool),
        "llm": np.append(llm, False),
        "no_redistributors": np.append(~redis, True),
    }
    return _Groups(ids=pa.array(tags["id"].astype(str).to_numpy(), pa.string()),
                   rule_codes=rule_codes, scope_masks=scope_masks)


def _aggregate(date: dt.date, measure: str, code_ix: np.ndarray, values: np.ndarray,
               groups: _Groups, rules: Sequence[str], scopes: Sequence[str]) -> list[dict]:
    rows = []
    nreg = len(REGIONS)
    pos = values > 0
    for rule in rules:
        codes = groups.rule_codes[rule][code_ix]
        for scope in scopes:
            keep = groups.scope_masks[scope][code_ix] & (codes >= 0)
            c = codes[keep]
            v = values[keep]
            sums = np.bincount(c, weights=v, minlength=nreg)
            counts = np.bincount(c[pos[keep]], minlength=nreg)
            total = sums.sum()
            for k, region in enumerate(REGIONS):
                rows.append({"date": date, "measure": measure, "rule": rule, "scope": scope, "region": region,
                             "downloads": float(sums[k]),
                             "share": float(sums[k] / total) if total > 0 else np.nan,
                             "n_models": int(counts[k])})
    return rows


def select_snapshots(dates: Iterable[dt.date], *, start: dt.date | None = None, end: dt.date | None = None,
                     frequency: str = "weekly") -> list[dt.date]:
    """Snapshot dates inside the study window, thinned to the first of each month when ``frequency="monthly"``."""
    ds = sorted(d for d in dates if (start is None or d >= start) and (end is None or d <= end))
    if frequency == "weekly":
        return ds
    if frequency == "monthly":
        seen, out = set(), []
        for d in ds:
            if (d.year, d.month) not in seen:
                seen.add((d.year, d.month))
                out.append(d)
        return out
    raise PanelError(f"frequency {frequency!r} is not allowed; choose weekly or monthly")


def build_panel(snapshots: Sequence[tuple[dt.date, Path]], tags: pd.DataFrame, *,
                measures: Sequence[str] = MEASURES, rules: Sequence[str] = RULES,
                scopes: Sequence[str] = SCOPES, progress=None) -> PanelBuild:
    """Aggregate raw snapshots into the tidy panel.

    Parameters
    ----------
    snapshots : sequence of (date, path)
        Raw snapshot files (normalised schema, see :data:`analysis.schema.RAW_SCHEMA`), any order.
    tags : pandas.DataFrame
        Tagged models (notebook 02's ``models.parquet``), with :data:`TAG_COLUMNS`.
    measures, rules, scopes : sequences of str
        Which series to build (default: all).
    progress : callable, optional
        Called as ``progress(i, n, date)`` after each snapshot.

    Returns
    -------
    PanelBuild
    """
    for name, given, allowed in (("measure", measures, MEASURES), ("rule", rules, RULES),
                                 ("scope", scopes, SCOPES)):
        bad = [g for g in given if g not in allowed]
        if bad:
            raise PanelError(f"unknown {name} {bad[0]!r}; choose from {', '.join(allowed)}")
    if not snapshots:
        raise PanelError("no raw snapshots in the study window; run notebook 01 (pull) first "
                         "or widen study.start/study.end")
    groups = _prepare_groups(tags)
    n_tags = len(groups.ids)
    rows: list[dict] = []
    prev_alltime: np.ndarray | None = None
    prev_date: dt.date | None = None
    rows_read = untagged = negatives = 0
    snaps = sorted(snapshots)
    for i, (date, path) in enumerate(snaps):
        want = ["id", "downloads"] + (["downloadsAllTime"] if "downloads_alltime_increment" in measures else [])
        try:
            schema_names = set(pq.read_schema(path).names)
            table = pq.read_table(path, columns=[c for c in want if c in schema_names])
        except (OSError, pa.ArrowInvalid) as e:
            raise PanelError(f"{path}: cannot read raw snapshot of {date} ({e}); run "
                             "`python -m analysis pull --verify` to check the raw store") from None
        for c in ("id", "downloads"):
            if c not in table.column_names:
                raise PanelError(f"{path}: raw snapshot of {date} lacks required column {c!r}")
        rows_read += table.num_rows
        ix = pc.index_in(table["id"], value_set=groups.ids).to_numpy(zero_copy_only=False)
        miss = pd.isna(ix)
        untagged += int(miss.sum())
        code_ix = np.where(miss, n_tags, ix).astype(np.int64)
        dl = table["downloads"].to_numpy(zero_copy_only=False).astype(float)
        dl = np.nan_to_num(dl, nan=0.0)
        if "downloads_30d" in measures:
            rows += _aggregate(date, "downloads_30d", code_ix, dl, groups, rules, scopes)
        if "downloads_alltime_increment" in measures:
            cur = np.full(n_tags + 1, np.nan)
            if "downloadsAllTime" in table.column_names:
                vals = table["downloadsAllTime"].to_numpy(zero_copy_only=False).astype(float)
                cur[code_ix] = vals
                cur[n_tags] = np.nan
            if prev_alltime is not None and not np.all(np.isnan(cur)):
                weeks = max((date - prev_date).days / 7.0, 1e-9)
                inc = (cur - prev_alltime) / weeks
                negatives += int(np.sum(inc < 0))
                inc = np.where(np.isnan(inc) | (inc < 0), 0.0, inc)
                if np.any(~np.isnan(prev_alltime)):
                    rows += _aggregate(date, "downloads_alltime_increment", np.arange(n_tags + 1), inc,
                                       groups, rules, scopes)
            prev_alltime, prev_date = cur, date
        if progress is not None:
            progress(i + 1, len(snaps), date)
    panel = pd.DataFrame(rows, columns=PANEL_COLUMNS)
    panel["date"] = pd.to_datetime(panel["date"])
    return PanelBuild(panel=panel, dates=[d for d, _ in snaps], rows_read=rows_read,
                      untagged_rows=untagged, negative_increments=negatives)


def expected_dates(first: dt.date, last: dt.date, frequency: str = "weekly") -> list[dt.date]:
    """The full grid of periods between two snapshot dates: every 7 days, or every month (first of month)."""
    if frequency == "weekly":
        n = (last - first).days // 7
        return [first + dt.timedelta(weeks=i) for i in range(n + 1)]
    if frequency == "monthly":
        out, y, m = [], first.year, first.month
        while (y, m) <= (last.year, last.month):
            out.append(dt.date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    raise PanelError(f"frequency {frequency!r} is not allowed; choose weekly or monthly")


def primary_series(panel: pd.DataFrame, measure: str, rule: str, scope: str,
                   frequency: str = "weekly") -> pd.DataFrame:
    """One series of the panel on its full period grid, for the trend and crossover tests.

    Parameters
    ----------
    panel : pandas.DataFrame
        The tidy panel.
    measure, rule, scope : str
        Which series.
    frequency : {"weekly", "monthly"}
        Grid of expected periods. Missing snapshots stay as rows with NaN values, never dropped, so time is never
        silently re-indexed.

    Returns
    -------
    pandas.DataFrame
        Columns ``date, t, share_CN, share_US, log_ratio, diff``; ``t`` counts periods from the first date.
    """
    sel = panel[(panel["measure"] == measure) & (panel["rule"] == rule) & (panel["scope"] == scope)]
    if sel.empty:
        raise PanelError(f"the panel has no series measure={measure!r}, rule={rule!r}, scope={scope!r}; "
                         f"available measures: {sorted(panel['measure'].unique())}")
    wide = sel.pivot_table(index="date", columns="region", values="share", aggfunc="first")
    wide = wide.dropna(how="all")
    dates = [d.date() for d in wide.index]
    if frequency == "monthly":
        wide.index = [dt.date(d.year, d.month, 1) for d in dates]
        wide = wide[~wide.index.duplicated(keep="first")]
    else:
        first = dates[0]
        wide.index = [first + dt.timedelta(weeks=round((d - first).days / 7)) for d in dates]
    grid = expected_dates(wide.index[0], wide.index[-1], frequency)
    wide = wide.reindex(grid)
    out = pd.DataFrame({
        "date": pd.to_datetime(grid),
        "t": np.arange(len(grid), dtype=float),
        "share_CN": wide.get("CN", pd.Series(np.nan, index=wide.index)).to_numpy(dtype=float),
        "share_US": wide.get("US", pd.Series(np.nan, index=wide.index)).to_numpy(dtype=float),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log_ratio"] = np.log(out["share_CN"] / out["share_US"])
    out.loc[~np.isfinite(out["log_ratio"]), "log_ratio"] = np.nan
    out["diff"] = out["share_CN"] - out["share_US"]
    return out
