"""What every figure's table is built from: reading inputs, definitions, crossings, rows, CSV output.

Each figure's module (see :mod:`analysis.figures.registry`) has a ``*_table`` function that returns the exact
table the figure draws; the figure's CSV file is that table, so a reader can redraw or check every mark. This
module holds what those functions share. Two layouts are used:

* time-series figures (1 to 5) use :data:`SERIES_COLUMNS`: one row per plotted point or mark, with
  ``element`` saying what it is (``"share"``, ``"trend"``, ``"crossover"``, ``"interval"``, ...), ``panel`` which
  sub-plot it belongs to, ``group`` the origin (or organisation) it is drawn for, ``date``/``date_end`` its
  position, ``value``/``lower``/``upper`` its height and ``note`` anything said about it in the figure;
* interval figures (6 and 7) use :data:`INTERVAL_COLUMNS`: one row per estimate with its interval and ``level``
  its confidence level, plus columns of their own (figure 6: ``panel``, ``change``, the definition, ``pieces`` (the
  whole set, :func:`pieces_json`) and ``range_lower_date``/``range_upper_date``, the envelope over the grid's other
  settings; figure 7: the claim, the pair it belongs to, ``role``, the definition in words, ``pieces``); read one
  back with :func:`read_interval_csv`.

Time series are written on their full period grid (every week, or every month): a period without a snapshot is a
row whose ``value`` is empty (NaN), drawn as a gap in the line, never bridged. Every figure CSV ends with the
constant column :data:`DATA_KIND_COLUMN` (``"SIMULATED DATA"`` on demo runs, see :func:`data_kind`), so a CSV
copied out of the project still says what it holds.

Missing inputs raise :class:`FigureInputError`, naming the file and the notebook that writes it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import timegrid
from ..schema import PERIOD_DAYS
from .labels import MEASURE_LABELS, RULE_LABELS, SCOPE_LABELS, label

SERIES_COLUMNS = ["element", "panel", "group", "date", "date_end", "value", "lower", "upper", "n", "note"]
INTERVAL_COLUMNS = ["row", "label", "source", "method", "estimate_date", "lower_date", "upper_date", "kind",
                    "highlight", "level", "note"]

#: Constant last column of every figure CSV: what the numbers are (see :func:`data_kind`).
DATA_KIND_COLUMN = "data_kind"
#: Note of a row standing for a period of the grid that has no snapshot.
NO_SNAPSHOT_NOTE = "no snapshot for this period"

class FigureInputError(ValueError):
    """An input of the figures cannot be used; the message names the file and what to do."""


# --------------------------------------------------------------------------------------------------
# reading inputs
# --------------------------------------------------------------------------------------------------
def read_json(path: Path, producer: str) -> dict:
    """Read a result JSON written by an earlier notebook.

    Parameters
    ----------
    path : Path
        The file, e.g. ``data/processed/results/crossover.json``.
    producer : str
        The notebook that writes it, named in the error message.
    """
    path = Path(path)
    if not path.is_file():
        raise FigureInputError(f"{path}: file not found; run {producer} first (python -m analysis run)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise FigureInputError(f"{path}: not valid JSON ({e}); rerun {producer}") from None
    if not isinstance(data, dict):
        raise FigureInputError(f"{path}: expected a JSON object at the top level; rerun {producer}")
    return data


def read_table(path: Path, producer: str, columns: list[str], *, only: bool = False) -> pd.DataFrame:
    """Read a Parquet or CSV input and check it has the columns a figure needs.

    Parameters
    ----------
    path : Path
        ``.parquet`` or ``.csv`` file.
    producer : str
        Who writes it (a notebook, or a curated reference file), named in the error message.
    columns : list of str
        Required columns.
    only : bool
        Read only ``columns`` (a parquet file's other columns are not read at all).
    """
    path = Path(path)
    if not path.is_file():
        raise FigureInputError(f"{path}: file not found; it is written by {producer}. Run that step first.")
    try:
        if path.suffix == ".csv":
            df = pd.read_csv(path)
        elif only:
            import pyarrow.parquet as pq

            have = set(pq.read_schema(path).names)
            df = pd.read_parquet(path, columns=[c for c in columns if c in have])
        else:
            df = pd.read_parquet(path)
    except Exception as e:  # pyarrow and pandas raise many types for unreadable files
        raise FigureInputError(f"{path}: cannot read it ({type(e).__name__}: {e}); rebuild it with {producer}") \
            from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise FigureInputError(f"{path}: lacks column(s) {', '.join(missing)} (has {', '.join(map(str, df.columns))});"
                               f" rebuild it with {producer}")
    return df


def number(value: Any) -> float:
    """A number from a result JSON: ``None`` -> NaN, ``"inf"``/``"-inf"`` -> infinities."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        if value in ("inf", "+inf", "Infinity"):
            return math.inf
        if value in ("-inf", "-Infinity"):
            return -math.inf
    return float(value)


def date_or_none(value: Any) -> pd.Timestamp | None:
    """A ``YYYY-MM-DD`` string (or null) from a result JSON as a Timestamp (or None).

    The words the statistics write for dates beyond 1900-2100 ("before 1900-01-01", "after 2100-12-31") are far
    off any axis and read as None (an open end).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    if isinstance(value, str) and value.startswith(("before ", "after ")):
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return None if pd.isna(ts) else ts.normalize()


def iso(ts: pd.Timestamp | None) -> str:
    """``YYYY-MM-DD`` or ``"n/a"``."""
    return "n/a" if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------------------------------
# definitions and time scale
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Definition:
    """The series a result was computed on."""

    measure: str
    rule: str
    scope: str
    frequency: str = "weekly"

    @classmethod
    def from_result(cls, result: Mapping, path: str = "result JSON") -> "Definition":
        """Read ``result["definition"]``; raises FigureInputError naming the missing key."""
        d = result.get("definition")
        if not isinstance(d, Mapping):
            raise FigureInputError(f"{path}: lacks the 'definition' object (measure, rule, scope, frequency); "
                                   "rerun notebooks 04 and 05")
        for key in ("measure", "rule", "scope"):
            if key not in d:
                raise FigureInputError(f"{path}: definition lacks {key!r}; rerun notebooks 04 and 05")
        return cls(str(d["measure"]), str(d["rule"]), str(d["scope"]), str(d.get("frequency", "weekly")))

    def label(self) -> str:
        """Short text, e.g. ``30-day downloads, lineage rule, all models``."""
        return (f"{label(MEASURE_LABELS, self.measure)}, {label(RULE_LABELS, self.rule)} rule, "
                f"{label(SCOPE_LABELS, self.scope)}")


@dataclass(frozen=True)
class TimeScale:
    """Conversion between the trend's time index ``t`` (periods) and dates."""

    t0: pd.Timestamp
    period_days: float

    @classmethod
    def from_trends(cls, trends: Mapping, frequency: str = "weekly") -> "TimeScale":
        """From ``trends.json``: ``ols.t0_date`` and ``ols.period_days`` (else ``first_date`` and the frequency)."""
        ols = trends.get("ols") or {}
        t0 = date_or_none(ols.get("t0_date")) or date_or_none(trends.get("first_date"))
        if t0 is None:
            raise FigureInputError("trends.json: lacks ols.t0_date and first_date, so trend times cannot be "
                                   "turned into dates; rerun notebook 04")
        pdays = ols.get("period_days")
        if pdays is None:
            pdays = PERIOD_DAYS.get(frequency, 7.0)
        return cls(t0, float(pdays))

    def to_date(self, t: float) -> pd.Timestamp | None:
        """Date of period ``t`` (None when t is not finite or the date falls outside 1900-2100)."""
        if t is None or not math.isfinite(t):
            return None
        days = float(t) * self.period_days
        if not -1e6 < days < 1e6:
            return None
        d = (self.t0 + pd.Timedelta(days=days)).floor("D")
        return d if pd.Timestamp("1900-01-01") <= d <= pd.Timestamp("2100-12-31") else None

    def to_t(self, date: pd.Timestamp) -> float:
        return (pd.Timestamp(date) - self.t0) / pd.Timedelta(days=self.period_days)


@dataclass(frozen=True)
class Crossing:
    """A crossover estimate with its confidence set, in dates.

    ``lower``/``upper`` are None when that end is unbounded; ``gap`` holds the excluded middle of a "two_rays"
    set; ``pieces`` the intervals of a set made of several (each end None where open). ``kind`` is one of
    "bounded", "unbounded", "two_rays", "empty", "no_trend", "no_crossing".
    """

    method: str
    estimate: pd.Timestamp | None
    lower: pd.Timestamp | None
    upper: pd.Timestamp | None
    kind: str
    gap: tuple | None = None
    pieces: tuple | None = None

    def text(self, level: str = "95%") -> str:
        """Sentence fragment for captions and annotations."""
        if self.pieces and len(self.pieces) > 1:
            parts = " and ".join(f"{iso(a) if a is not None else 'open'} to {iso(b) if b is not None else 'open'}"
                                 for a, b in self.pieces)
            head = f"crossover {iso(self.estimate)}" if self.estimate is not None else "no overtaking date"
            return f"{head} ({level} set of {len(self.pieces)} intervals: {parts})"
        if self.kind in ("empty", "no_trend", "no_crossing") or self.estimate is None:
            return f"no crossover estimate ({self.kind.replace('_', ' ')})"
        if self.kind == "point":
            return f"crossover {iso(self.estimate)} (no interval in dates)"
        if self.kind == "bounded":
            return f"crossover {iso(self.estimate)} ({level} interval {iso(self.lower)} to {iso(self.upper)})"
        if self.kind == "two_rays" and self.gap:
            return (f"crossover {iso(self.estimate)} ({level} set excludes only {iso(self.gap[0])} to "
                    f"{iso(self.gap[1])}: unbounded)")
        return (f"crossover {iso(self.estimate)} ({level} interval {iso(self.lower) if self.lower else '-inf'} to "
                f"{iso(self.upper) if self.upper else '+inf'}: unbounded)")


def pieces_of(h: Mapping) -> tuple | None:
    """The pieces of a set in dates (open ends as None) from a ``pieces_dates`` list and its open flags."""
    pd_ = h.get("pieces_dates")
    if not isinstance(pd_, (list, tuple)) or not pd_:
        return None
    out = []
    for i, piece in enumerate(pd_):
        lo = None if (i == 0 and h.get("open_start")) else date_or_none(piece[0])
        hi = None if (i == len(pd_) - 1 and h.get("open_end")) else date_or_none(piece[1])
        out.append((lo, hi))
    return tuple(out)


def headline_crossing(crossover: Mapping) -> Crossing:
    """The headline crossing of ``crossover.json`` (with every piece of its set)."""
    h = crossover.get("headline")
    if not isinstance(h, Mapping):
        raise FigureInputError("crossover.json: lacks the 'headline' object; rerun notebook 05 (crossover)")
    return Crossing(str(h.get("method", "?")), date_or_none(h.get("estimate_date")), date_or_none(h.get("lower_date")),
                    date_or_none(h.get("upper_date")), str(h.get("kind", "unbounded")), pieces=pieces_of(h))


def method_crossing(crossover: Mapping, method: str, scale: TimeScale) -> Crossing | None:
    """One method's crossing from ``crossover.json["methods"]`` (dates if given, else its ``t`` values)."""
    m = (crossover.get("methods") or {}).get("first_passage" if method == "first_passage_level" else method)
    if not isinstance(m, Mapping):
        return None
    head = crossover.get("headline") or {}
    if head.get("method") == method:  # the dates notebook 05 wrote win over a conversion here
        h = headline_crossing(crossover)
        return Crossing(h.method, h.estimate, h.lower, h.upper, h.kind,
                        _gap_dates(m, scale) if h.kind == "two_rays" and not h.pieces else None, h.pieces)
    if method == "first_passage":
        # the empirical first passage is a date without an interval; the interval of notebook 05 belongs to the
        # passage of the model's smoothed level (see first_passage_level)
        est = date_or_none(m.get("date", m.get("estimate_date")))
        return Crossing(method, est, None, None, "point" if est is not None else "no_trend")
    if method == "first_passage_level":
        fp = (crossover.get("methods") or {}).get("first_passage") or {}
        est = date_or_none(fp.get("smoothed_date"))
        lo, hi = date_or_none(fp.get("lower_date")), date_or_none(fp.get("upper_date"))
        if est is None:
            return None
        kind = "bounded" if lo is not None and hi is not None else "unbounded"
        return Crossing(method, est, lo, hi, kind)

    def pick(name: str) -> pd.Timestamp | None:
        if f"{name}_date" in m:
            return date_or_none(m[f"{name}_date"])
        key = name if name in m else f"{name}_t"
        return scale.to_date(number(m.get(key))) if key in m else None

    return Crossing(method, pick("estimate"), pick("lower"), pick("upper"), str(m.get("kind", "bounded")),
                    _gap_dates(m, scale))


def _gap_dates(m: Mapping, scale: TimeScale) -> tuple | None:
    """The excluded middle of a two-rays set: notebook 05's ``gap_dates`` if given, else its ``gap`` in periods."""
    gd = m.get("gap_dates")
    if isinstance(gd, (list, tuple)) and len(gd) == 2 and all(g is not None for g in gd):
        return date_or_none(gd[0]), date_or_none(gd[1])
    gap = m.get("gap")
    if isinstance(gap, (list, tuple)) and len(gap) == 2:
        return scale.to_date(number(gap[0])), scale.to_date(number(gap[1]))
    return None


def interval_rows(c: Crossing, panel: str, lo: pd.Timestamp, hi: pd.Timestamp, level: str) -> list[dict]:
    """Rows marking a crossing on a time axis running from ``lo`` to ``hi`` (sets clipped to the axis)."""
    rows = []
    if c.estimate is not None and c.kind not in ("empty", "no_trend"):
        inside = lo <= c.estimate <= hi
        rows.append(series_row("crossover", panel, "CN=US", c.estimate, value=0.0,
                               note=c.text(level) + ("" if inside else "; outside the plotted dates")))
    if c.kind == "bounded" and c.lower is not None and c.upper is not None:
        level = f"{level} interval {iso(c.lower)} to {iso(c.upper)}"
    else:
        level = f"{level}"
    segments: list[tuple] = []
    if c.pieces and len(c.pieces) > 1:
        base = level.split(" interval")[0]
        for a, b in c.pieces:
            segments.append((a, b, f"{base} set piece {iso(a) if a is not None else 'open'} to "
                                   f"{iso(b) if b is not None else 'open'}"))
    elif c.kind == "bounded" and c.lower is not None and c.upper is not None:
        segments.append((c.lower, c.upper, level))
    elif c.kind == "two_rays" and c.gap:
        segments += [(None, c.gap[0], f"{level} set, continues before the axis"),
                     (c.gap[1], None, f"{level} set, continues past the axis")]
    elif c.kind == "unbounded" and c.estimate is not None:
        segments.append((c.lower, c.upper, f"{level} set, unbounded"))
    for a, b, note in segments:
        a2 = lo if a is None or a < lo else a
        b2 = hi if b is None or b > hi else b
        if a2 <= b2:
            rows.append(series_row("interval", panel, "CN=US", a2, date_end=b2, note=note))
            # a set cut by the axis: an arrow at that edge (value -1 left, +1 right) says it goes on
            if a is None or a < lo:
                rows.append(series_row("open_end", panel, "CN=US", a2, value=-1.0, note=OPEN_END_NOTE))
            if b is None or b > hi:
                rows.append(series_row("open_end", panel, "CN=US", b2, value=1.0, note=OPEN_END_NOTE))
    return rows


#: Legend text of the arrows at the edge of a confidence set cut by the plotted dates.
OPEN_END_NOTE = "Set continues beyond the plotted dates (unbounded or open)"


def series_row(element: str, panel: str, group: str, date, *, date_end=None, value=np.nan, lower=np.nan,
               upper=np.nan, n=np.nan, note: str = "") -> dict:
    """One row of a time-series figure table (:data:`SERIES_COLUMNS`)."""
    return {"element": element, "panel": panel, "group": group, "date": date, "date_end": date_end, "value": value,
            "lower": lower, "upper": upper, "n": n, "note": note}


def frame(rows: list[dict]) -> pd.DataFrame:
    """Rows of a time-series figure as a table with the dtypes the plots expect."""
    df = pd.DataFrame(rows, columns=SERIES_COLUMNS)
    for c in ("date", "date_end"):
        df[c] = pd.to_datetime(df[c])
    for c in ("value", "lower", "upper", "n"):
        df[c] = df[c].astype(float)
    for c in ("element", "panel", "group", "note"):
        df[c] = df[c].fillna("").astype(str)
    return df.reset_index(drop=True)


def level_text(alpha: float) -> str:
    """``0.05`` -> ``"95%"``."""
    return f"{100 * (1 - alpha):g}%"


def crossover_alpha(crossover: Mapping) -> float:
    """The confidence level used by notebook 05 (``alpha``; 0.05 if not recorded)."""
    for src in (crossover, crossover.get("definition") or {}, (crossover.get("methods") or {}).get("fieller") or {}):
        if isinstance(src, Mapping) and src.get("alpha") is not None:
            return float(src["alpha"])
    return 0.05


def data_kind(simulated: bool) -> str:
    """Value of the :data:`DATA_KIND_COLUMN` of the figure CSVs: ``"SIMULATED DATA"`` on demo runs."""
    return "SIMULATED DATA" if simulated else "Hugging Face Hub snapshots"


def missing_periods(dates, frequency: str = "weekly") -> list[pd.Timestamp]:
    """Periods of the series' grid (:mod:`analysis.timegrid`) between its first and last date without a snapshot.

    Parameters
    ----------
    dates : iterable of datetime-like
        The snapshot dates of a series.
    frequency : {"daily", "weekly", "monthly"}

    Returns
    -------
    list of pandas.Timestamp
        The grid dates without a snapshot, in order (empty when the series is complete).
    """
    ds = [pd.Timestamp(d).date() for d in dates if not pd.isna(d)]
    return [pd.Timestamp(g) for g in timegrid.missing_periods(ds, frequency)]


def with_gaps(rows: list[dict], missing: list[pd.Timestamp], **fields) -> list[dict]:
    """``rows`` (one line of a figure) plus a NaN row at each missing period, sorted by date."""
    if not missing:
        return rows
    extra = [series_row(fields.get("element", rows[0]["element"] if rows else "share"), fields.get("panel", ""),
                  fields.get("group", ""), d, note=fields.get("note", NO_SNAPSHOT_NOTE)) for d in missing]
    return sorted(rows + extra, key=lambda r: pd.Timestamp(r["date"]))


def select(panel: pd.DataFrame, measure: str, rule: str, scope: str) -> pd.DataFrame:
    """The panel's rows of one series (measure, rule, scope); raises FigureInputError when it has none."""
    sel = panel[(panel["measure"] == measure) & (panel["rule"] == rule) & (panel["scope"] == scope)]
    if sel.empty:
        raise FigureInputError(f"panel.parquet has no rows for measure={measure!r}, rule={rule!r}, scope={scope!r}; "
                               "rerun notebook 03 (panel) or check the panel/origin settings in config/study.yaml")
    return sel


def iv_frame(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows of an interval figure (:data:`INTERVAL_COLUMNS` plus ``extra``) with their dtypes."""
    df = pd.DataFrame(rows, columns=INTERVAL_COLUMNS + list(extra))
    for c in ("estimate_date", "lower_date", "upper_date") + tuple(c for c in extra if c.endswith("_date")):
        df[c] = pd.to_datetime(df[c])
    if df["row"].isna().all():
        df["row"] = np.arange(len(df), dtype=float)
    df["row"] = df["row"].astype(float)
    df["highlight"] = df["highlight"].astype(bool)
    for c in ("label", "source", "method", "kind", "level", "note"):
        df[c] = df[c].fillna("").astype(str)
    return df


#: Order in which methods are listed (figures 6 and 7, values); unknown methods follow in name order.
METHOD_ORDER = ("local_linear", "fieller", "fieller_nw", "fieller_prewhitened", "delta", "bootstrap",
                "first_passage")


def snapshot_range(panel: pd.DataFrame) -> tuple[str, str]:
    """First and last snapshot dates of the panel as ``YYYY-MM-DD``."""
    return iso(pd.Timestamp(panel["date"].min())), iso(pd.Timestamp(panel["date"].max()))


def to_csv_bytes(table: pd.DataFrame, data_kind: str | None = None) -> bytes:
    """The figure table as CSV with fixed formatting (dates YYYY-MM-DD, floats with 10 significant digits).

    Parameters
    ----------
    table : pandas.DataFrame
        The table the figure draws.
    data_kind : str, optional
        Written as the constant last column :data:`DATA_KIND_COLUMN` (see :func:`data_kind`).
    """
    df = table.copy()
    if data_kind is not None:
        df[DATA_KIND_COLUMN] = data_kind
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].dt.strftime("%Y-%m-%d")
    return df.to_csv(index=False, float_format="%.10g", lineterminator="\n").encode("utf-8")


def read_series_csv(path: str | Path) -> pd.DataFrame:
    """Read back a time-series figure CSV (:data:`SERIES_COLUMNS`) with the dtypes the plot functions expect."""
    df = pd.read_csv(path, dtype={c: "string" for c in ("element", "panel", "group", "note")}, keep_default_na=True)
    missing = [c for c in SERIES_COLUMNS if c not in df.columns]
    if missing:
        raise FigureInputError(f"{path}: lacks column(s) {', '.join(missing)}; expected a figure CSV with "
                               f"{', '.join(SERIES_COLUMNS)}")
    return frame(df.to_dict("records"))


# --------------------------------------------------------------------------------------------------
# what captions say about every crossing
# --------------------------------------------------------------------------------------------------
def estimand_text(definition: Definition) -> str:
    """The caption's sentence on what the crossover date estimates, for the measure as defined."""
    return (f"The estimated date is that at which the underlying Chinese and US shares of "
            f"{label(MEASURE_LABELS, definition.measure)} cross ({label(RULE_LABELS, definition.rule)} rule, "
            f"{label(SCOPE_LABELS, definition.scope)}), for that measure as defined; it is not the first date an "
            "observed, noisy share happens to pass.")


def lag_text(measure: str) -> str:
    """The caption's sentence on how far the measure trails the daily download rate."""
    if measure == "downloads_30d":
        return ("A 30-day count at a snapshot sums the 30 days before it, so it trails the daily download rate by "
                "about 15 days: shares of daily downloads cross about 15 days before the shares of 30-day counts.")
    if measure == "downloads_alltime_increment":
        return ("Each value is the growth of the all-time counters since the previous snapshot, so it trails the "
                "daily download rate by about half a period.")
    return ""


# --------------------------------------------------------------------------------------------------
# the pieces of a confidence set, for the interval figures (6 and 7)
# --------------------------------------------------------------------------------------------------
#: Kinds of a row that carry an estimate with a confidence set (drawn as line pieces).
SET_KINDS = ("bounded", "unbounded", "two_rays")


def crossing_pieces(c: Crossing) -> list[tuple]:
    """The intervals of a crossing's confidence set as ``[(from, to), ...]`` (None where the set is open).

    A set of several intervals gives each; a "two_rays" set the two rays around its excluded middle; a bounded or
    unbounded set its one interval; anything else (a date without an interval, no crossing) no piece. A set
    without an estimate (the estimate lies outside the window) is given too.
    """
    if c.kind not in SET_KINDS or (c.estimate is None and c.lower is None and c.upper is None and not c.pieces):
        return []
    if c.pieces:
        return [tuple(p) for p in c.pieces]
    if c.kind == "two_rays":
        return [(None, c.gap[0]), (c.gap[1], None)] if c.gap else [(None, None)]
    return [(c.lower, c.upper)]


def grid_pieces(row: Mapping) -> list[tuple]:
    """The intervals of one sensitivity-grid row's set (as :func:`crossing_pieces`).

    Local-linear rows carry the whole set in ``pieces_dates`` (JSON) with ``open_start``/``open_end``; a "two_rays"
    straight-line set is the two rays around ``gap_lower_date``/``gap_upper_date``; any other set is
    ``lower_date``/``upper_date``.
    """
    if str(row.get("kind")) not in SET_KINDS:
        return []
    raw = row.get("pieces_dates")
    if isinstance(raw, str) and raw.strip().startswith("["):
        try:
            pieces = json.loads(raw)
        except ValueError:
            pieces = None
        if pieces:
            out = [[date_or_none(a), date_or_none(b)] for a, b in pieces]
            if _truthy_flag(row.get("open_start")):
                out[0][0] = None
            if _truthy_flag(row.get("open_end")):
                out[-1][1] = None
            return [tuple(p) for p in out]
    if str(row.get("kind")) == "two_rays":
        return [(None, date_or_none(row.get("gap_lower_date"))), (date_or_none(row.get("gap_upper_date")), None)]
    return [(date_or_none(row.get("lower_date")), date_or_none(row.get("upper_date")))]


def _truthy_flag(v: Any) -> bool:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return False
    try:
        return bool(v) and not pd.isna(v)
    except (TypeError, ValueError):
        return bool(v)


def pieces_json(pieces: list[tuple]) -> str:
    """The pieces of a set as JSON for a figure CSV: ``[["2025-05-26", null], ...]`` (null: open); "" when none."""
    if not pieces:
        return ""
    return json.dumps([[None if a is None else iso(a), None if b is None else iso(b)] for a, b in pieces])


def pieces_from_json(text: Any) -> list[tuple]:
    """The inverse of :func:`pieces_json`."""
    if not isinstance(text, str) or not text.strip():
        return []
    return [(date_or_none(a), date_or_none(b)) for a, b in json.loads(text)]


def our_crossings(crossover: Mapping, scale: TimeScale) -> list[Crossing]:
    """The headline crossing followed by every other method of ``crossover.json`` (each once, in a fixed order)."""
    head = headline_crossing(crossover)
    out = [head]
    methods = list((crossover.get("methods") or {}).keys())
    methods.sort(key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m))
    if "first_passage" in methods:
        methods.append("first_passage_level")
    for m in methods:
        if m == head.method:
            continue
        c = method_crossing(crossover, m, scale)
        if c is not None:
            out.append(c)
    return out


def read_interval_csv(path: str | Path) -> pd.DataFrame:
    """Read back an interval figure's CSV (figures 6 and 7: :data:`INTERVAL_COLUMNS` and their extra columns) with
    the dtypes the plot functions expect: dates for ``*_date`` columns, floats for ``row``/``height``/
    ``definition_row``, booleans for ``highlight``, text (empty, not NaN) for the rest."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in INTERVAL_COLUMNS if c not in df.columns]
    if missing:
        raise FigureInputError(f"{path}: lacks column(s) {', '.join(missing)}; expected an interval figure CSV with "
                               f"{', '.join(INTERVAL_COLUMNS)}")
    for c in df.columns:
        if c.endswith("_date"):
            df[c] = pd.to_datetime(df[c].replace("", None))
        elif c in ("row", "height", "definition_row", "pair"):
            df[c] = pd.to_numeric(df[c].replace("", None), errors="coerce").astype(float)
    df["highlight"] = df["highlight"].str.lower().isin(("true", "1"))
    return df
