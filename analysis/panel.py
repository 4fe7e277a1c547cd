"""From tagged raw snapshots to tidy time series of download shares by origin.

The panel has one row per snapshot date x measure x rule x scope x region (see :data:`PANEL_COLUMNS`).
The same pass also gives the two tables the figures need: the share of the top-N most downloaded models held by
each region (:data:`RANKING_COLUMNS`) and the most downloaded organisations (:data:`TOP_ORG_COLUMNS`).

How it streams
--------------
One snapshot at a time: each raw file is read with only the columns needed (``id``, ``downloads`` and, when the
all-time measure is built and the file has it, ``downloadsAllTime``). Rows with zero 30-day downloads are dropped
right after the read whenever no result can depend on them (every file when only ``downloads_30d`` is built, and
files without ``downloadsAllTime``); the all-time measure needs every row of a file, since a model's count in one
week is the baseline of its increment the next week. The remaining rows are matched to the tagged models by
integer codes. Every tagged model belongs to one *group*, the combination of what the rules and scopes read (its
uploader and lineage region under both readings of contested origins, first-party, LLM and redistributor flags: at
most 6^4 x 8 combinations, far fewer in practice); a snapshot's downloads are summed once per group with
``numpy.bincount``, and the groups with rows are then summed per rule, scope and region (the same sums, added in
another order: equal to a direct sum to rounding). The codes come either from the catalog pass
(``row_codes_dir``: :func:`analysis.catalog.build_catalog` already finds every raw row's model when it compares
consecutive snapshots, and can write that down, so this pass then reads no ids at all; each file's codes are used
only if its name, size, modification time and row count are those the codes were written for; catalog rows are
mapped to tagged models through ``catalog_order.npy`` when the table keeps the catalog's order, else by id) or, for any
snapshot without valid codes, from matching ids (``pyarrow.compute.index_in``). A small pool of threads
reads and matches the next snapshots while the current one is summed (Arrow releases the GIL), and snapshots are
summed strictly in date order, so the results do not depend on the number of threads. Memory: the tagged models'
codes, one all-time vector per model, and at most ``workers + 1`` snapshots' projected columns.

Measures
--------
``downloads_30d``
    The Hub's rolling 30-day download count as of the snapshot.
``downloads_alltime_increment``
    Growth of ``downloadsAllTime`` since the previous snapshot, per week elapsed (so a missing weekly file does not
    double a period). Only models present, with the count, in both snapshots contribute. Negative increments (the
    Hub's counter has been seen to decrease) count as zero; the number of such model-periods is reported by
    :func:`build_panel`. No rows for a date whose file, or whose previous file, lacks the column (before
    2025-02-26).

Rules (who a model's downloads belong to; see :mod:`analysis.origin`)
    ``uploader`` (the publishing account), ``lineage`` (the root base model's uploader), ``first_party`` (only repos
    published by a registered organisation, attributed to it; the others are left out).

Scopes
    ``all``; ``llm`` (pipeline tags in :data:`analysis.schema.LLM_PIPELINE_TAGS`); ``no_redistributors``
    (without repos of redistributors and quantizers).

Rankings and top organisations (30-day downloads, scope ``all``, rules ``uploader`` and ``lineage``)
    ``rankings``: for the top N models of each snapshot (N in :data:`TOP_N`; models ordered by downloads, ties by
    id), the share of their downloads held by each region. ``top_orgs``: downloads summed per organisation (the
    uploading account under ``uploader``, the lineage root's author, ``root_author``, under ``lineage``) and region
    (an organisation some of whose models carry an override appears once per region), the top
    :data:`TOP_ORGS` per date and rule, ties by name. Rows whose id is not in the tagged table count as ``UNKNOWN``
    in the 30-day measure and the rankings, and are left out of ``top_orgs`` (they have no known organisation) and of
    the all-time increments (without a tagged model there is no slot to take the week-to-week difference in). In
    the study's chain there are none: notebook 02 tags every model of the snapshots that notebook 03 sums, and
    :attr:`PanelBuild.untagged_rows` counts them if tags and snapshots ever disagree.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import timegrid
from .catalog import DEFAULT_WORKERS, ROW_CODES_INDEX, ROW_CODES_ORDER, load_row_codes, ordered_map
from .contracts import PANEL_COLUMNS, RANKING_COLUMNS, TOP_ORG_COLUMNS
from .quality import clean_snapshot
from .schema import ALT_SUFFIX, LLM_PIPELINE_TAGS, MEASURES, REGIONS, RULES, SCOPES

#: Columns of the tagged models table the panel needs.
MODEL_COLUMNS_USED = ["id", "author", "root_author", "uploader_region", "lineage_region", "first_party",
               "is_redistributor", "pipeline_tag"]

#: Rules of the rankings and top organisations.
RANKING_RULES: tuple[str, ...] = ("uploader", "lineage")

#: Sizes of the top-N rankings.
TOP_N: tuple[int, ...] = (10, 50, 100)

#: Organisations kept per date and rule in ``top_orgs``.
TOP_ORGS = 15

_UNKNOWN = REGIONS.index("UNKNOWN")
_REGION_NAMES = np.array(REGIONS, dtype=str)


class PanelError(ValueError):
    """Inputs the panel cannot be built from; the message names the file and what to do."""


@dataclass(frozen=True)
class PanelBuild:
    """A built panel, the rankings from the same pass, and what happened while building them.

    Attributes
    ----------
    panel : pandas.DataFrame
        Tidy panel with :data:`PANEL_COLUMNS`.
    rankings : pandas.DataFrame
        Top-N shares with :data:`RANKING_COLUMNS` (empty if ``downloads_30d`` was not built).
    top_orgs : pandas.DataFrame
        Top organisations with :data:`TOP_ORG_COLUMNS` (empty if ``downloads_30d`` was not built).
    dates : list of datetime.date
        Snapshot dates used.
    rows_read : int
        Raw rows in the snapshot files.
    rows_used : int
        Rows left after dropping those no result depends on (zero 30-day downloads where allowed).
    untagged_rows : int
        Rows with positive 30-day downloads whose model id is absent from the tagged models table
        (counted as UNKNOWN).
    negative_increments : int
        Model-periods whose ``downloadsAllTime`` decreased (counted as zero growth).
    snapshots_matched_by_codes : int
        Snapshots matched through the catalog's row codes instead of by id (see ``row_codes_dir``).
    """

    panel: pd.DataFrame
    rankings: pd.DataFrame
    top_orgs: pd.DataFrame
    dates: list
    rows_read: int
    rows_used: int
    untagged_rows: int
    negative_increments: int
    snapshots_matched_by_codes: int = 0


def _region_codes(values: pd.Series | pa.Array) -> np.ndarray:
    arr = pa.array(values) if not isinstance(values, (pa.Array, pa.ChunkedArray)) else values
    codes = pc.index_in(arr, value_set=pa.array(REGIONS)).to_numpy(zero_copy_only=False)
    codes = np.where(pd.isna(codes), _UNKNOWN, codes)
    return codes.astype(np.int64)


@dataclass(frozen=True)
class _Orgs:
    """Per tagged model (plus the untagged slot): organisation code (-1 = none), and each code's name and region."""

    codes: np.ndarray
    names: np.ndarray
    regions: np.ndarray


@dataclass(frozen=True)
class _Groups:
    """Per tagged model: region code under each rule (-1 = excluded), group and organisations; per group: region
    under each rule and membership of each scope.

    Every array has one extra slot at the end for rows whose id is not in the tags table.
    """

    ids: pa.Array
    rule_codes: dict
    orgs: dict
    key: np.ndarray          # per tagged model (+ the untagged slot): its group, the same for every rule and scope
    key_region: dict         # rule -> region code of each group (-1 = excluded)
    key_scope: dict          # scope -> bool of each group

    @property
    def n_tags(self) -> int:
        return len(self.ids)


def _orgs(names: pd.Series, regions: np.ndarray) -> _Orgs:
    """Organisation codes: one per distinct (name, region) pair, with Arrow's hash kernel (no Python strings)."""
    arr = pa.array(names.array if hasattr(names.array, "__arrow_array__") else names.astype(object), pa.string(),
                   from_pandas=True)
    enc = pc.dictionary_encode(arr).combine_chunks() if isinstance(arr, pa.ChunkedArray) else \
        pc.dictionary_encode(arr)
    name_ix = np.asarray(enc.indices.fill_null(-1), dtype=np.int64)
    valid = name_ix >= 0
    pair = name_ix * len(REGIONS) + regions
    # the pairs present, in increasing order, and each model's rank among them: what np.unique(return_inverse=True)
    # gives, from a table over the (small) range of pairs instead of a sort of every model's pair
    present = np.zeros(len(enc.dictionary) * len(REGIONS), dtype=bool)
    present[pair[valid]] = True
    uniq = np.flatnonzero(present)
    rank = np.cumsum(present) - 1
    codes = np.where(valid, rank[np.where(valid, pair, 0)], -1) if present.size else np.full(name_ix.size, -1)
    return _Orgs(codes=np.append(codes, -1),
                 names=np.asarray(enc.dictionary.take(pa.array(uniq // len(REGIONS))).to_pylist(), dtype=object),
                 regions=(uniq % len(REGIONS)).astype(np.int64))


def _check_distinct(groups: _Groups, tags: pd.DataFrame) -> None:
    """Raise if a tagged model's id is listed twice."""
    if len(pc.dictionary_encode(groups.ids).dictionary) != len(groups.ids):   # Arrow's hash: cheaper than pandas'
        dup = tags.loc[tags["id"].duplicated(), "id"].iloc[0]
        raise PanelError(f"tagged models table has duplicate id {dup!r}; rerun notebook 02 (tag origin)")


def _prepare_groups(tags: pd.DataFrame) -> _Groups:
    """The groups of the tagged models (their ids are not checked to be distinct here: see :func:`_check_distinct`)."""
    missing = [c for c in MODEL_COLUMNS_USED if c not in tags.columns]
    if missing:
        raise PanelError(f"tagged models table lacks columns {missing}; rerun notebook 02 (tag origin)")
    if tags["id"].isna().any():
        row = int(np.flatnonzero(tags["id"].isna().to_numpy())[0])
        raise PanelError(f"tagged models table has a row without an id (row {row}); rerun notebook 02 (tag origin)")
    ids = pa.array(tags["id"].array if hasattr(tags["id"].array, "__arrow_array__") else tags["id"].astype(str),
                   pa.string(), from_pandas=True)
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    up = _region_codes(tags["uploader_region"].astype("string"))
    lin = _region_codes(tags["lineage_region"].astype("string"))
    # the alternative reading of contested origins (tables made before it existed: the same as the primary)
    up_alt = _region_codes(tags.get("uploader_region_alt", tags["uploader_region"]).astype("string"))
    lin_alt = _region_codes(tags.get("lineage_region_alt", tags["lineage_region"]).astype("string"))
    fp = tags["first_party"].fillna(False).to_numpy(dtype=bool)
    rule_codes = {
        "uploader": np.append(up, _UNKNOWN),
        "lineage": np.append(lin, _UNKNOWN),
        "first_party": np.append(np.where(fp, up, -1), -1),
        "uploader" + ALT_SUFFIX: np.append(up_alt, _UNKNOWN),
        "lineage" + ALT_SUFFIX: np.append(lin_alt, _UNKNOWN),
        "first_party" + ALT_SUFFIX: np.append(np.where(fp, up_alt, -1), -1),
    }
    llm = tags["pipeline_tag"].isin(LLM_PIPELINE_TAGS).to_numpy(dtype=bool)
    redis = tags["is_redistributor"].fillna(False).to_numpy(dtype=bool)
    orgs = {"uploader": _orgs(tags["author"], up), "lineage": _orgs(tags["root_author"], lin)}
    # one group per combination of what rules and scopes read: uploader and lineage region under both readings,
    # first party, LLM, redistributor; a snapshot is summed once per group, then the groups are summed per rule
    # and scope
    nreg = len(REGIONS)
    u, lr = rule_codes["uploader"], rule_codes["lineage"]
    ua, la = rule_codes["uploader" + ALT_SUFFIX], rule_codes["lineage" + ALT_SUFFIX]
    f = np.append(fp, False)
    regions = ((u * nreg + lr) * nreg + ua) * nreg + la
    key = (((regions * 2 + f) * 2 + np.append(llm, False)) * 2 + np.append(redis, False)).astype(np.int32)
    g = np.arange(nreg ** 4 * 8)
    g_redis, g_llm, g_fp = g % 2 == 1, (g // 2) % 2 == 1, (g // 4) % 2 == 1
    g_reg = g // 8
    g_la, g_ua, g_lin, g_up = g_reg % nreg, (g_reg // nreg) % nreg, (g_reg // nreg ** 2) % nreg, g_reg // nreg ** 3
    key_region = {"uploader": g_up, "lineage": g_lin, "first_party": np.where(g_fp, g_up, -1),
                  "uploader" + ALT_SUFFIX: g_ua, "lineage" + ALT_SUFFIX: g_la,
                  "first_party" + ALT_SUFFIX: np.where(g_fp, g_ua, -1)}
    key_scope = {"all": np.ones(g.size, dtype=bool), "llm": g_llm, "first_party_llm": g_llm & g_fp,
                 "no_redistributors": ~g_redis}
    return _Groups(ids=ids,
                   rule_codes=rule_codes, orgs=orgs, key=key, key_region=key_region,
                   key_scope=key_scope)


@dataclass(frozen=True)
class _Snapshot:
    """One snapshot's rows after reading, dropping and matching (what the summing step needs)."""

    date: dt.date
    rows_read: int
    code_ix: np.ndarray | None     # tag row of each kept row (n_tags = not tagged), kept only with ``alltime``
    downloads: np.ndarray | None   # (not kept: summed per group in the worker)
    alltime: np.ndarray | None     # downloadsAllTime of each kept row (NaN = null), None if not read
    top_codes: np.ndarray          # the (at least) max(TOP_N) most downloaded rows, sorted by downloads, then id
    top_downloads: np.ndarray
    matched_by_codes: bool         # rows matched through the catalog's row codes (else by id)
    rows_used: int = 0             # rows kept after dropping those no result depends on
    untagged: int = 0              # rows with 30-day downloads whose id is not tagged
    group_sums: np.ndarray | None = None     # 30-day downloads per group (see _Groups.key)
    group_counts: np.ndarray | None = None   # rows with 30-day downloads per group
    org_sums: dict | None = None             # rule -> 30-day downloads per organisation code


@dataclass(frozen=True)
class _Slots:
    """What a raw row's slot (a tags row, or a catalog row with row codes) gives the summing step."""

    key: np.ndarray          # group (see _Groups.key) of each slot
    org: dict                # rule -> organisation code + 1 of each slot (0: none)
    untagged: np.ndarray     # the slot is no tagged model
    any_untagged: bool


def _slots(groups: _Groups, to_tag: np.ndarray | None = None) -> _Slots:
    """The slots of the tags rows (``to_tag`` None, the last slot being the untagged one), or of the catalog rows
    (``to_tag``: each catalog row's tags row), composed once so that a snapshot gathers each array once."""
    pick = (lambda a: a) if to_tag is None else (lambda a: a[to_tag])
    untagged = np.zeros(groups.n_tags + 1, dtype=bool)
    untagged[groups.n_tags] = True
    untagged = pick(untagged)
    return _Slots(key=pick(groups.key), org={r: pick(o.codes + 1).astype(np.int32) for r, o in groups.orgs.items()},
                  untagged=untagged, any_untagged=bool(untagged.any()))


@dataclass(frozen=True)
class _RowCodes:
    """Row codes written by the catalog pass (``build_catalog(row_codes_dir=...)``), mapped to the tags table."""

    folder: Path
    ids: pa.Array            # catalog ids, by catalog row
    to_tag: np.ndarray       # catalog row -> tags row (n_tags: not tagged)
    in_order: bool           # the tags rows are the catalog rows in catalog order (checked id by id)
    stamps: dict             # date -> {"file", "size", "mtime_ns", "rows"} of the raw file the codes belong to
    slots: _Slots            # per catalog row: group, organisations, untagged

    def codes(self, date: dt.date, path: Path) -> np.ndarray | None:
        """The catalog row of each row of this raw file, or None if absent or written for another file."""
        want = self.stamps.get(date.isoformat())
        try:
            st = Path(path).stat()
        except OSError:
            return None
        if want is None or want.get("file") != Path(path).name or want.get("size") != st.st_size or \
                want.get("mtime_ns") != st.st_mtime_ns or not isinstance(want.get("rows"), int):
            return None
        return load_row_codes(self.folder, date, want["rows"], len(self.ids))


def _in_catalog_order(folder: Path, ids: pa.Array, groups: _Groups) -> np.ndarray | None:
    """Catalog row -> tags row, when the tagged models are the catalog table's rows in its order (what notebook 02
    writes; ``catalog_order.npy`` gives each table row's catalog row): checked id by id, no hashing. None otherwise.

    The tags rows are then distinct catalog rows, so their ids are distinct: the catalog gives each id one row."""
    try:
        order = np.load(folder / ROW_CODES_ORDER)
    except (OSError, ValueError):
        return None
    n = groups.n_tags
    if order.ndim != 1 or order.size != n or (n and (order.min() < 0 or order.max() >= len(ids))):
        return None
    seen = np.zeros(len(ids), dtype=bool)
    seen[order] = True
    if int(np.count_nonzero(seen)) != n:     # a catalog row given twice
        return None
    if n and not pc.all(pc.equal(ids.take(pa.array(order)), groups.ids)).as_py():
        return None
    to_tag = np.full(len(ids), n, dtype=np.int64)
    to_tag[order] = np.arange(n)
    return to_tag


def _row_codes(folder: Path | None, groups: _Groups) -> _RowCodes | None:
    if folder is None:
        return None
    folder = Path(folder)
    try:
        index = json.loads((folder / ROW_CODES_INDEX).read_text())
        ids = pq.read_table(folder / index["ids_file"], columns=["id"])["id"].combine_chunks()
    except (OSError, ValueError, KeyError, pa.ArrowInvalid):
        return None  # no usable codes: every snapshot is matched by id
    if len(ids) != index.get("catalog_rows"):
        return None
    to_tag = _in_catalog_order(folder, ids, groups)
    in_order = to_tag is not None
    if not in_order:   # the tagged models are not the catalog's rows in its order: match them by id
        to_tag = pc.fill_null(pc.index_in(ids, value_set=groups.ids), groups.n_tags).to_numpy().astype(np.int64)
    return _RowCodes(folder=folder, ids=ids, to_tag=to_tag, in_order=in_order, stamps=index.get("snapshots", {}),
                     slots=_slots(groups, to_tag))


def _load(job: tuple) -> _Snapshot:
    """Read, drop and match one snapshot (runs in a worker thread)."""
    date, path, groups, need_alltime, top_k, row_codes, tag_slots = job
    try:
        names = set(pq.read_schema(path).names)
    except (OSError, pa.ArrowInvalid) as e:
        raise PanelError(f"{path}: cannot read raw snapshot of {date} ({e}); run "
                         "`python -m analysis pull --verify` to check the raw store") from None
    for c in ("id", "downloads"):
        if c not in names:
            raise PanelError(f"{path}: raw snapshot of {date} lacks required column {c!r}; "
                             "run `python -m analysis pull --verify` to check the raw store")
    cat_rows = row_codes.codes(date, path) if row_codes is not None else None
    want = (["id"] if cat_rows is None else []) + ["downloads"] + \
        (["downloadsAllTime"] if need_alltime and "downloadsAllTime" in names else [])
    try:
        table = pq.read_table(path, columns=want)
    except (OSError, pa.ArrowInvalid) as e:
        raise PanelError(f"{path}: cannot read raw snapshot of {date} ({e}); run "
                         "`python -m analysis pull --verify` to check the raw store") from None
    rows_read = table.num_rows
    if cat_rows is not None and cat_rows.size != rows_read:
        raise PanelError(f"{path}: {rows_read} rows but {cat_rows.size} row codes in {row_codes.folder}; "
                         "delete that folder and rerun notebook 02")
    # the study's rule for implausible rows (analysis.quality): one row per model, absurd counts quarantined
    key = "id" if cat_rows is None else "_row_code"
    table = clean_snapshot(table if cat_rows is None else table.append_column(key, pa.array(cat_rows)), key=key).table
    if cat_rows is not None:
        cat_rows, table = table[key].to_numpy(), table.drop_columns([key])
    has_alltime = "downloadsAllTime" in table.column_names and \
        table["downloadsAllTime"].null_count < table.num_rows
    if not has_alltime:  # nothing can depend on rows without 30-day downloads: drop them before matching
        keep = pc.greater(pc.fill_null(table["downloads"], 0), 0)
        table = table.select([c for c in ("id", "downloads") if c in table.column_names]).filter(keep)
        if cat_rows is not None:
            cat_rows = cat_rows[np.asarray(keep, dtype=bool)]
    if cat_rows is None:
        ix = pc.index_in(table["id"], value_set=groups.ids).to_numpy(zero_copy_only=False)
        slot, slots = np.where(pd.isna(ix), groups.n_tags, ix).astype(np.int64), tag_slots
    else:
        slot, slots = cat_rows, row_codes.slots

    def tag_rows(of: np.ndarray) -> np.ndarray:
        return of if cat_rows is None else row_codes.to_tag[of]

    dl = pc.fill_null(table["downloads"], 0).to_numpy().astype(float)     # a missing count adds nothing
    alltime = np.asarray(table["downloadsAllTime"].to_numpy(zero_copy_only=False), dtype=float) if has_alltime else None
    used = np.flatnonzero(dl > 0)            # the rows that add to a sum: a row without downloads adds nothing
    # candidates for the top-N: every row at least as downloaded as the top_k-th (ties kept), ordered by id
    pos = used
    if pos.size > top_k:
        thresh = np.partition(dl[pos], pos.size - top_k)[pos.size - top_k]
        pos = pos[dl[pos] >= thresh]
    if pos.size:
        id_source = table["id"].take(pa.array(pos)) if cat_rows is None else row_codes.ids.take(pa.array(cat_rows[pos]))
        cand_ids = id_source.to_numpy(zero_copy_only=False)
        pos = pos[np.lexsort((cand_ids.astype(str), -dl[pos]))]
    top_codes, top_downloads = tag_rows(slot[pos]), dl[pos]
    rows_used = slot.size
    # sums over the rows with downloads, in row order: the same sums as over every row with the others adding 0.0
    used_slot, weight = slot[used], dl[used]
    n_groups = groups.key_scope["all"].size
    keys = slots.key[used_slot]
    org_sums = {rule: np.bincount(slots.org[rule][used_slot], weights=weight,
                                  minlength=len(groups.orgs[rule].names) + 1)[1:] for rule in RANKING_RULES}
    untagged = int(np.count_nonzero(slots.untagged[used_slot])) if slots.any_untagged else 0
    # only the all-time measure needs each row's tags row
    code_ix = tag_rows(slot) if alltime is not None else None
    return _Snapshot(date=date, rows_read=rows_read, code_ix=code_ix, downloads=None, alltime=alltime,
                     top_codes=top_codes, top_downloads=top_downloads, matched_by_codes=cat_rows is not None,
                     untagged=untagged, rows_used=rows_used,
                     group_sums=np.bincount(keys, weights=weight, minlength=n_groups),
                     group_counts=np.bincount(keys, minlength=n_groups), org_sums=org_sums)


def _targets(groups: _Groups, rules: Sequence[str], scopes: Sequence[str]) -> np.ndarray:
    """Per group (rows) and rule x scope (columns, rule by rule): the region code its sums go to (-1: left out)."""
    cols = [np.where(groups.key_scope[scope] & (groups.key_region[rule] >= 0), groups.key_region[rule], -1)
            for rule in rules for scope in scopes]
    return np.stack(cols, axis=1) if cols else np.zeros((groups.key_scope["all"].size, 0), dtype=np.int64)


def _expand(date: dt.date, measure: str, sums: np.ndarray, counts: np.ndarray, targets: np.ndarray,
            rules: Sequence[str], scopes: Sequence[str]) -> dict[str, np.ndarray]:
    """Panel rows of one date and measure (as columns, in :data:`PANEL_COLUMNS` order) from the sums and counts per
    group (see ``_Groups.key``; ``targets`` from :func:`_targets`): one row per rule, scope and region, in that
    nesting. Each region's sum adds its groups in group order, as a sum per rule and scope would."""
    nreg = len(REGIONS)
    k = len(rules) * len(scopes)
    nz = np.flatnonzero(counts)              # a group without rows has nothing to add
    t = targets[nz]
    valid = t >= 0
    bins = (np.arange(k) * nreg + t)[valid]   # row by row (group order), then rule x scope
    downloads = np.bincount(bins, weights=np.broadcast_to(sums[nz, None], t.shape)[valid],
                            minlength=k * nreg).reshape(k, nreg)
    n = np.bincount(bins, weights=np.broadcast_to(counts[nz, None], t.shape)[valid],
                    minlength=k * nreg).reshape(k, nreg)
    downloads = downloads.astype(float)
    total = downloads.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, downloads / np.where(total > 0, total, 1.0), np.nan)
    k = len(rules) * len(scopes) * nreg
    return {"date": np.full(k, date, dtype=object), "measure": np.full(k, measure, dtype=object),
            "rule": np.repeat(np.asarray(rules, dtype=object), len(scopes) * nreg),
            "scope": np.tile(np.repeat(np.asarray(scopes, dtype=object), nreg), len(rules)),
            "region": np.tile(np.asarray(REGIONS, dtype=object), len(rules) * len(scopes)),
            "downloads": downloads.ravel(), "share": share.ravel(),
            "n_models": np.rint(n).astype(np.int64).ravel()}


def _rankings(snap: _Snapshot, groups: _Groups) -> list[dict]:
    rows = []
    for rule in RANKING_RULES:
        region = groups.rule_codes[rule][snap.top_codes]
        for n in TOP_N:
            sums = np.bincount(region[:n], weights=snap.top_downloads[:n], minlength=len(REGIONS))
            total = sums.sum()
            for k, name in enumerate(REGIONS):
                rows.append({"date": snap.date, "rule": rule, "top_n": n, "region": name,
                             "share": float(sums[k] / total) if total > 0 else np.nan})
    return rows


def _top_orgs(date: dt.date, org_sums: dict, groups: _Groups) -> list[dict]:
    rows = []
    for rule in RANKING_RULES:
        org = groups.orgs[rule]
        sums = org_sums[rule]
        cand = np.flatnonzero(sums > 0)
        if cand.size > TOP_ORGS:
            thresh = np.partition(sums[cand], cand.size - TOP_ORGS)[cand.size - TOP_ORGS]
            cand = cand[sums[cand] >= thresh]
        order = np.lexsort((_REGION_NAMES[org.regions[cand]], org.names[cand].astype(str), -sums[cand]))
        for rank, j in enumerate(cand[order][:TOP_ORGS], start=1):
            rows.append({"date": date, "rule": rule, "organisation": str(org.names[j]),
                         "region": REGIONS[int(org.regions[j])], "downloads": float(sums[j]), "rank": rank})
    return rows


def build_panel(snapshots: Sequence[tuple[dt.date, Path]], tags: pd.DataFrame, *,
                measures: Sequence[str] = MEASURES, rules: Sequence[str] = RULES,
                scopes: Sequence[str] = SCOPES, progress=None, workers: int = DEFAULT_WORKERS,
                row_codes_dir: Path | None = None) -> PanelBuild:
    """Aggregate raw snapshots into the tidy panel, the top-N rankings and the top organisations.

    Parameters
    ----------
    snapshots : sequence of (date, path)
        Raw snapshot files (normalised schema, see :data:`analysis.schema.RAW_SCHEMA`), any order.
    tags : pandas.DataFrame
        Tagged models (notebook 02's ``models.parquet``), with :data:`MODEL_COLUMNS_USED`.
    measures, rules, scopes : sequences of str
        Which series to build (default: all). Rankings and top organisations come with ``downloads_30d``.
    progress : callable, optional
        Called as ``progress(i, n, date)`` after each snapshot.
    workers : int
        Threads reading and matching snapshots ahead (1 = none); the results are the same for any value.
    row_codes_dir : Path, optional
        Row codes written by ``analysis.catalog.build_catalog(row_codes_dir=...)`` over the same snapshots. A
        snapshot whose codes match its raw file (name, size, modification time, rows) is then summed without
        reading or hashing its ids; any other snapshot is matched by id as usual. The results are the same.

    Returns
    -------
    PanelBuild

    Raises
    ------
    PanelError
        An unknown measure, rule or scope; no snapshots; a tags table without the needed columns or with duplicate
        ids; a raw file that cannot be read or lacks ``id`` or ``downloads``.
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
    n_tags = groups.n_tags
    want_30d = "downloads_30d" in measures
    want_alltime = "downloads_alltime_increment" in measures
    rows: list[dict[str, np.ndarray]] = []
    rank_rows: list[dict] = []
    org_rows: list[dict] = []
    prev_alltime: np.ndarray | None = None
    spare: np.ndarray | None = None          # the all-time buffer of two weeks ago, filled again
    has_prev = False
    diff_buf = np.empty(n_tags + 1) if want_alltime else None
    prev_date: dt.date | None = None
    rows_read = rows_used = untagged = negatives = 0
    snaps = sorted(snapshots, key=lambda s: s[0])
    row_codes = _row_codes(row_codes_dir, groups)
    if row_codes is None or not row_codes.in_order:
        # (tags rows equal to the catalog's rows, in order, are distinct: the catalog gives each id one row)
        _check_distinct(groups, tags)
    tag_slots = _slots(groups)
    targets = _targets(groups, rules, scopes)
    jobs = ((date, path, groups, want_alltime, max(TOP_N), row_codes, tag_slots) for date, path in snaps)
    by_codes = 0
    n_groups = groups.key_scope["all"].size
    for i, snap in enumerate(ordered_map(_load, jobs, workers)):
        date = snap.date
        rows_read += snap.rows_read
        rows_used += snap.rows_used
        by_codes += snap.matched_by_codes
        untagged += snap.untagged
        if want_30d:
            rows.append(_expand(date, "downloads_30d", snap.group_sums, snap.group_counts, targets, rules, scopes))
            rank_rows += _rankings(snap, groups)
            org_rows += _top_orgs(date, snap.org_sums, groups)
        if want_alltime:
            # each week's all-time counts by tags row (NaN: no count), in one of two buffers used in turn
            cur = spare if spare is not None else np.empty(n_tags + 1)
            cur.fill(np.nan)
            if snap.alltime is not None:
                cur[snap.code_ix] = snap.alltime
                cur[n_tags] = np.nan
            has_cur = not np.isnan(cur).all()
            if prev_alltime is not None and has_cur and has_prev:
                weeks = max((date - prev_date).days / 7.0, 1e-9)
                diff = np.subtract(cur, prev_alltime, out=diff_buf)
                with np.errstate(invalid="ignore"):
                    negatives += int(np.count_nonzero(diff < 0))
                    grew = np.flatnonzero(diff > 0)
                keys = groups.key[grew]
                rows.append(_expand(date, "downloads_alltime_increment",
                                    np.bincount(keys, weights=diff[grew] / weeks, minlength=n_groups),
                                    np.bincount(keys, minlength=n_groups), targets, rules, scopes))
            spare, has_prev = prev_alltime, has_cur
            prev_alltime, prev_date = cur, date
        if progress is not None:
            progress(i + 1, len(snaps), date)
    panel = pd.DataFrame({c: np.concatenate([r[c] for r in rows]) if rows else [] for c in PANEL_COLUMNS},
                         columns=list(PANEL_COLUMNS))
    panel["date"] = pd.to_datetime(panel["date"])
    panel["n_models"] = panel["n_models"].astype(np.int64)
    rankings = pd.DataFrame(rank_rows, columns=list(RANKING_COLUMNS))
    rankings["date"] = pd.to_datetime(rankings["date"])
    rankings["top_n"] = rankings["top_n"].astype(np.int64)
    top_orgs = pd.DataFrame(org_rows, columns=list(TOP_ORG_COLUMNS))
    top_orgs["date"] = pd.to_datetime(top_orgs["date"])
    top_orgs["rank"] = top_orgs["rank"].astype(np.int64)
    return PanelBuild(panel=panel, rankings=rankings, top_orgs=top_orgs, dates=[d for d, _ in snaps],
                      rows_read=rows_read, rows_used=rows_used, untagged_rows=untagged,
                      negative_increments=negatives, snapshots_matched_by_codes=by_codes)


def primary_series(panel: pd.DataFrame, measure: str, rule: str, scope: str,
                   frequency: str = "weekly") -> pd.DataFrame:
    """One series of the panel on its full period grid, for the trend and crossover tests.

    Parameters
    ----------
    panel : pandas.DataFrame
        The tidy panel.
    measure, rule, scope : str
        Which series.
    frequency : {"daily", "weekly", "monthly"}
        Grid of expected periods (:mod:`analysis.timegrid`; weekly periods end at the latest snapshot). Missing
        snapshots stay as rows with NaN values, never dropped, so time is never silently re-indexed.

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
    # one snapshot per period, as the window's selection keeps it: weekly the latest, monthly the first
    keep = set(timegrid.select_snapshots(dates, frequency=frequency))
    wide = wide[[d in keep for d in dates]]
    last = max(keep)
    wide.index = [timegrid.period_key(d, last, frequency) for d in sorted(keep)]
    grid = timegrid.grid(wide.index[0], wide.index[-1], frequency)
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
