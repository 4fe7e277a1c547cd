"""Implausible values in raw snapshots: one stated rule, applied wherever a snapshot's downloads are summed.

Raw files hold exactly what the Hub served; they are never cleaned (they are the record). What the study does
with implausible rows is decided here, once, and applied by every stage that sums downloads, through
:func:`clean_snapshot`:

1. **Duplicate ids.** The first row of each model id, in file order, is kept; later rows of the same id are
   dropped (counted, and the ids named). A model is therefore counted once per snapshot. (The live listing keeps
   a model's first listing for the same reason, and the catalog keeps the first row of an id.)
2. **Negative counts and counts above a ceiling** are quarantined: the value is set to null, so the model adds
   nothing to that snapshot's 30-day sums, and no all-time increment is computed from or to that value. The row
   stays (the model exists). The ceilings are :data:`DOWNLOADS_CEILING` for ``downloads`` (30 days) and
   :data:`ALLTIME_CEILING` for ``downloadsAllTime``. They are far above any real count (the most downloaded
   models on the Hub had in the order of 10^8 downloads in 30 days in 2025, and a few 10^9 over their lifetime),
   so they never touch a real value; they catch corrupt values such as 2^62 or a sign flip. A wrong value below
   the ceiling is not caught by this rule.
3. **An empty snapshot** (no rows) adds nothing: the panel has no shares for its date, which is a gap in the
   series like a missing week.

The pull records the same counts in each raw file's manifest entry (``quality``, from
:meth:`SnapshotQuality.as_dict`), so a reader can see them without reading the file
(:meth:`analysis.raw.RawStore.quality_table`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: 30-day downloads above this are implausible (quarantined): ten billion, far above the whole Hub's monthly
#: downloads of any model.
DOWNLOADS_CEILING = 10**10

#: ``downloadsAllTime`` above this is implausible (quarantined): a trillion.
ALLTIME_CEILING = 10**12

#: Ceiling of each count column.
CEILINGS: dict[str, int] = {"downloads": DOWNLOADS_CEILING, "downloadsAllTime": ALLTIME_CEILING}

#: How many model ids a report names (the counts are always complete).
NAMED = 20


@dataclass(frozen=True)
class SnapshotQuality:
    """What :func:`clean_snapshot` found in one snapshot.

    Attributes
    ----------
    rows : int
        Rows in the snapshot as served.
    duplicate_rows : int
        Rows dropped because an earlier row had the same id.
    duplicate_ids : tuple of str
        Up to :data:`NAMED` of those ids.
    negative, above_ceiling : dict
        Values quarantined per count column (``{"downloads": n, ...}``; columns without any are left out).
    quarantined : tuple of str
        Up to :data:`NAMED` of the quarantined values, as ``"<id>: <column>=<value>"``.
    """

    rows: int
    duplicate_rows: int = 0
    duplicate_ids: tuple[str, ...] = ()
    negative: dict[str, int] = field(default_factory=dict)
    above_ceiling: dict[str, int] = field(default_factory=dict)
    quarantined: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.rows == 0

    @property
    def quarantined_values(self) -> int:
        return sum(self.negative.values()) + sum(self.above_ceiling.values())

    @property
    def ok(self) -> bool:
        """True if the rule changed nothing and the snapshot has rows."""
        return not (self.empty or self.duplicate_rows or self.quarantined_values)

    def problems(self) -> list[str]:
        """One line per kind of problem, naming the models (empty if :attr:`ok`)."""
        out = []
        if self.empty:
            out.append("0 rows: the snapshot adds nothing (its date is a gap)")
        if self.duplicate_rows:
            out.append(f"{self.duplicate_rows} duplicate row(s) dropped (the first row of an id is kept): "
                       + _names(self.duplicate_ids, self.duplicate_rows))
        for what, counts in (("negative", self.negative), ("above the ceiling", self.above_ceiling)):
            for col, n in counts.items():
                ceiling = f" {CEILINGS[col]:.0e}" if what != "negative" else ""
                out.append(f"{n} {what}{ceiling} value(s) of {col} quarantined (treated as unknown)")
        if self.quarantined:
            out.append("quarantined: " + _names(self.quarantined, self.quarantined_values))
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the manifest's ``quality`` field)."""
        return {"rows": self.rows, "duplicate_rows": self.duplicate_rows, "duplicate_ids": list(self.duplicate_ids),
                "negative": dict(self.negative), "above_ceiling": dict(self.above_ceiling),
                "quarantined": list(self.quarantined),
                "ceilings": {c: v for c, v in CEILINGS.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SnapshotQuality":
        return cls(rows=int(d.get("rows", 0)), duplicate_rows=int(d.get("duplicate_rows", 0)),
                   duplicate_ids=tuple(d.get("duplicate_ids", ())), negative=dict(d.get("negative", {})),
                   above_ceiling=dict(d.get("above_ceiling", {})), quarantined=tuple(d.get("quarantined", ())))


def _names(names: Iterable[str], total: int) -> str:
    names = list(names)
    more = f" (and {total - len(names)} more)" if total > len(names) else ""
    return ", ".join(names) + more


@dataclass(frozen=True)
class CleanSnapshot:
    """A snapshot with the rule applied, and what the rule found."""

    table: pa.Table
    quality: SnapshotQuality


def _first_rows(keys: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """Boolean mask of the first row of each key, or None when every key is distinct."""
    if len(keys) == 0:
        return None
    if pa.types.is_integer(keys.type) and keys.null_count == 0:
        # integer keys (row codes): a bitmap over their range instead of a hash table, when the range is small
        codes = np.asarray(keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys)
        lo, hi = int(codes.min()), int(codes.max())
        if hi - lo < 8 * codes.size + 1024:
            seen = np.zeros(hi - lo + 1, dtype=bool)
            seen[codes - lo if lo else codes] = True
            if int(np.count_nonzero(seen)) == codes.size:
                return None
            _, first = np.unique(codes, return_index=True)
            mask = np.zeros(codes.size, dtype=bool)
            mask[first] = True
            return mask
    if pc.count_distinct(keys, mode="all").as_py() == len(keys):
        return None
    group = pc.index_in(keys, value_set=pc.unique(keys)).to_numpy(zero_copy_only=False)
    _, first = np.unique(group, return_index=True)
    mask = np.zeros(len(keys), dtype=bool)
    mask[first] = True
    return mask


def clean_snapshot(table: pa.Table, *, key: str = "id") -> CleanSnapshot:
    """Apply the study's rule for implausible rows to one snapshot (see the module docstring).

    Parameters
    ----------
    table : pyarrow.Table
        Rows of one snapshot in file order, with ``key`` and any of ``downloads``, ``downloadsAllTime`` (other
        columns are carried along).
    key : str
        Column identifying a model: ``"id"``, or any column with one value per model (e.g. row codes that map
        each row to its model); duplicates are named only when the key is ``"id"``.

    Returns
    -------
    CleanSnapshot
        The table without duplicate rows and with implausible counts set to null, and the counts.
    """
    rows = table.num_rows
    named_ids = key == "id" and key in table.column_names
    dup_rows, dup_ids = 0, ()
    if key in table.column_names:
        first = _first_rows(table[key])
        if first is not None:
            dropped = np.flatnonzero(~first)
            dup_rows = int(dropped.size)
            if named_ids:
                names = table[key].take(pa.array(dropped[:10 * NAMED])).to_pylist()
                dup_ids = tuple(dict.fromkeys(str(x) for x in names))[:NAMED]
            table = table.filter(pa.array(first))
    negative: dict[str, int] = {}
    above: dict[str, int] = {}
    examples: list[str] = []
    for col, ceiling in CEILINGS.items():
        if col not in table.column_names:
            continue
        values = table[col]
        if not pa.types.is_integer(values.type) and not pa.types.is_floating(values.type):
            continue
        if pa.types.is_integer(values.type):   # the usual case, in one pass: every count within [0, ceiling]
            bounds = pc.min_max(values)
            if bounds["min"].as_py() is None or (bounds["min"].as_py() >= 0 and bounds["max"].as_py() <= ceiling):
                continue
        low = pc.fill_null(pc.less(values, 0), False)
        high = pc.fill_null(pc.greater(values, ceiling), False)
        n_low, n_high = int(pc.sum(low).as_py() or 0), int(pc.sum(high).as_py() or 0)
        if pa.types.is_floating(values.type):  # NaN in a float column is no count either
            nan = pc.fill_null(pc.is_nan(values), False)
            n_high += int(pc.sum(nan).as_py() or 0)
            high = pc.or_(high, nan)
        if not (n_low or n_high):
            continue
        if n_low:
            negative[col] = n_low
        if n_high:
            above[col] = n_high
        bad = pc.or_(low, high)
        if len(examples) < NAMED:
            pos = np.flatnonzero(np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool))[:NAMED - len(examples)]
            vals = values.take(pa.array(pos)).to_pylist()
            ids = table[key].take(pa.array(pos)).to_pylist() if named_ids else [f"row {p}" for p in pos]
            examples += [f"{i}: {col}={v}" for i, v in zip(ids, vals)]
        table = table.set_column(table.schema.get_field_index(col), table.schema.field(col),
                                 pc.if_else(bad, pa.scalar(None, values.type), values))
    quality = SnapshotQuality(rows=rows, duplicate_rows=dup_rows, duplicate_ids=dup_ids, negative=negative,
                              above_ceiling=above, quarantined=tuple(examples))
    return CleanSnapshot(table, quality)
