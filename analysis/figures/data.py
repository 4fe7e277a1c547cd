"""Small aggregations that feed the figures, read from the processed files of the earlier stages.

Each ``*_table`` function returns the exact table a figure draws; the figure's CSV file is that table, so a
reader can redraw or check every mark. Two layouts are used:

* time-series figures (1 to 5) use :data:`SERIES_COLUMNS`: one row per plotted point or mark, with
  ``element`` saying what it is (``"share"``, ``"trend"``, ``"crossover"``, ``"interval"``, ...), ``panel`` which
  sub-plot it belongs to, ``group`` the origin (or organisation) it is drawn for, ``date``/``date_end`` its
  position, ``value``/``lower``/``upper`` its height and ``note`` anything said about it in the figure;
* interval figures (6 and 7) use :data:`INTERVAL_COLUMNS`: one row per estimate with its interval and ``level``
  its confidence level (figure 6 adds ``range_lower_date``/``range_upper_date``, the envelope over the grid's other
  settings, and ``definition_row``).

Time series are written on their full period grid (every week, or every month): a period without a snapshot is a
row whose ``value`` is empty (NaN), drawn as a gap in the line, never bridged. Every figure CSV ends with the
constant column :data:`DATA_KIND_COLUMN` (``"SIMULATED DATA"`` on demo runs, see :func:`data_kind`), so a CSV
copied out of the project still says what it holds.

Missing inputs raise :class:`FigureInputError`, naming the file and the notebook that writes it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import expected_dates, primary_series
from ..schema import PERIOD_DAYS, REGIONS

SERIES_COLUMNS = ["element", "panel", "group", "date", "date_end", "value", "lower", "upper", "n", "note"]
INTERVAL_COLUMNS = ["row", "label", "source", "method", "estimate_date", "lower_date", "upper_date", "kind",
                    "highlight", "level", "note"]

#: Constant last column of every figure CSV: what the numbers are (see :func:`data_kind`).
DATA_KIND_COLUMN = "data_kind"
#: Note of a row standing for a period of the grid that has no snapshot.
NO_SNAPSHOT_NOTE = "no snapshot for this period"

#: Relations counted as derivatives in figure 5, with their display names.
DERIVATIVE_RELATIONS = {"finetune": "Fine-tunes", "quantized": "Quantizations", "adapter": "Adapters",
                        "merge": "Merges"}

#: How far past the last snapshot the log-ratio figure extends its trend to show a future crossing.
MAX_PROJECTION_DAYS = 3 * 365


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


def read_table(path: Path, producer: str, columns: list[str]) -> pd.DataFrame:
    """Read a Parquet or CSV input and check it has the columns a figure needs.

    Parameters
    ----------
    path : Path
        ``.parquet`` or ``.csv`` file.
    producer : str
        Who writes it (a notebook, or a curated reference file), named in the error message.
    columns : list of str
        Required columns.
    """
    path = Path(path)
    if not path.is_file():
        raise FigureInputError(f"{path}: file not found; it is written by {producer}. Run that step first.")
    try:
        df = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
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
        return f"{MEASURE_LABELS.get(self.measure, self.measure)}, {self.rule} rule, {SCOPE_LABELS.get(self.scope, self.scope)}"


MEASURE_LABELS = {"downloads_30d": "30-day downloads", "downloads_alltime_increment": "weekly all-time increments"}
SCOPE_LABELS = {"all": "all models", "llm": "LLMs only", "no_redistributors": "without redistributors"}


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


def _pieces_of(h: Mapping) -> tuple | None:
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
                    date_or_none(h.get("upper_date")), str(h.get("kind", "unbounded")), pieces=_pieces_of(h))


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
        rows.append(_row("crossover", panel, "CN=US", c.estimate, value=0.0,
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
            rows.append(_row("interval", panel, "CN=US", a2, date_end=b2, note=note))
    return rows


def _row(element: str, panel: str, group: str, date, *, date_end=None, value=np.nan, lower=np.nan, upper=np.nan,
         n=np.nan, note: str = "") -> dict:
    return {"element": element, "panel": panel, "group": group, "date": date, "date_end": date_end, "value": value,
            "lower": lower, "upper": upper, "n": n, "note": note}


def _frame(rows: list[dict]) -> pd.DataFrame:
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
    """Periods of the grid between the first and last date that have no snapshot.

    The grid is that of :func:`analysis.panel.primary_series`: every 7 days from the first date (a snapshot counts
    for the grid week nearest to it), or every calendar month (first of the month) when ``frequency="monthly"``.

    Parameters
    ----------
    dates : iterable of datetime-like
        The snapshot dates of a series.
    frequency : {"weekly", "monthly"}

    Returns
    -------
    list of pandas.Timestamp
        The grid dates without a snapshot, in order (empty when the series is complete).
    """
    ds = sorted({pd.Timestamp(d).normalize() for d in dates if not pd.isna(d)})
    if len(ds) < 2:
        return []
    first = ds[0].date()
    if frequency == "monthly":
        have = {(d.year, d.month) for d in ds}
        grid = expected_dates(first, ds[-1].date(), "monthly")
        return [pd.Timestamp(g) for g in grid if (g.year, g.month) not in have]
    if frequency != "weekly":
        raise ValueError(f"frequency {frequency!r} is not allowed; choose weekly or monthly")
    have = {round((d.date() - first).days / 7) for d in ds}
    grid = expected_dates(first, first + dt.timedelta(weeks=max(have)), "weekly")
    return [pd.Timestamp(g) for i, g in enumerate(grid) if i not in have]


def _with_gaps(rows: list[dict], missing: list[pd.Timestamp], **fields) -> list[dict]:
    """``rows`` (one line of a figure) plus a NaN row at each missing period, sorted by date."""
    if not missing:
        return rows
    extra = [_row(fields.get("element", rows[0]["element"] if rows else "share"), fields.get("panel", ""),
                  fields.get("group", ""), d, note=fields.get("note", NO_SNAPSHOT_NOTE)) for d in missing]
    return sorted(rows + extra, key=lambda r: pd.Timestamp(r["date"]))


# --------------------------------------------------------------------------------------------------
# figure 1: shares by origin
# --------------------------------------------------------------------------------------------------
def _select(panel: pd.DataFrame, measure: str, rule: str, scope: str) -> pd.DataFrame:
    sel = panel[(panel["measure"] == measure) & (panel["rule"] == rule) & (panel["scope"] == scope)]
    if sel.empty:
        raise FigureInputError(f"panel.parquet has no rows for measure={measure!r}, rule={rule!r}, scope={scope!r}; "
                               "rerun notebook 03 (panel) or check the panel/origin settings in config/study.yaml")
    return sel


def share_by_origin_table(panel: pd.DataFrame, definition: Definition, crossing: Crossing | None,
                          alpha: float = 0.05) -> pd.DataFrame:
    """Figure 1: share of downloads by origin over time, with the headline crossover and its interval.

    Each origin's line is on the full period grid of ``definition.frequency``: a period without a snapshot is a
    NaN row (note :data:`NO_SNAPSHOT_NOTE`), drawn as a gap.

    Parameters
    ----------
    panel : pandas.DataFrame
        The tidy panel (``data/processed/panel.parquet``).
    definition : Definition
        Which series (measure, rule, scope).
    crossing : Crossing or None
        The headline crossover (None draws no mark).
    alpha : float
        1 - confidence level, for the labels.
    """
    sel = _select(panel, definition.measure, definition.rule, definition.scope)
    missing = missing_periods(sel["date"].unique(), definition.frequency)
    rows = []
    for region in REGIONS:
        r = sel[sel["region"] == region].sort_values("date")
        line = [_row("share", "", region, d, value=s, n=n) for d, s, n in zip(r["date"], r["share"], r["n_models"])]
        rows += _with_gaps(line, missing, element="share", group=region) if line else []
    lo, hi = sel["date"].min(), sel["date"].max()
    if crossing is not None:
        rows += interval_rows(crossing, "", lo, hi, level_text(alpha))
    return _frame(rows)


# --------------------------------------------------------------------------------------------------
# figure 2: log ratio with trend
# --------------------------------------------------------------------------------------------------
def log_ratio_table(panel: pd.DataFrame, definition: Definition, trends: Mapping, crossover: Mapping) -> pd.DataFrame:
    """Figure 2: log(share_CN/share_US), its OLS trend with the HAC confidence band, the crossing and Fieller set.

    The band is ``a + b t +/- c * se(t)`` with ``se(t)^2 = V_aa + 2 t V_ab + t^2 V_bb`` (the HAC covariance of
    ``trends.json``) and ``c`` the critical value of the Fieller interval, so the band meets zero exactly at the
    ends of the Fieller set. The trend is drawn beyond the last snapshot (as a projection) up to the crossing
    and its interval, at most :data:`MAX_PROJECTION_DAYS` days. The trend rows' ``note`` names the band with the
    confidence level of ``crossover.json`` (e.g. ``"HAC 95% band"``); the legend shows it.
    """
    ols = trends.get("ols")
    if not isinstance(ols, Mapping) or "params" not in ols or "cov" not in ols:
        raise FigureInputError("trends.json: lacks ols.params and ols.cov (the HAC trend of the log ratio); "
                               "rerun notebook 04 (trends)")
    a, b = (number(v) for v in ols["params"])
    cov = np.array([[number(v) for v in row] for row in ols["cov"]], dtype=float)
    scale = TimeScale.from_trends(trends, definition.frequency)
    series = primary_series(panel, definition.measure, definition.rule, definition.scope,
                            frequency=definition.frequency)
    alpha = crossover_alpha(crossover)
    fieller = (crossover.get("methods") or {}).get("fieller") or {}
    crit = number(fieller.get("critical")) if fieller.get("critical") is not None else math.nan
    if not math.isfinite(crit):
        df = ols.get("df_resid")
        df = int(df) if df is not None else int(series["log_ratio"].notna().sum()) - 2
        crit = float(stats.t.ppf(1 - alpha / 2, max(df, 1)))
    crossing = method_crossing(crossover, "fieller", scale) or headline_crossing(crossover)
    first, last = series["date"].iloc[0], series["date"].iloc[-1]
    end = last
    for d in (crossing.estimate, crossing.upper, crossing.lower) + tuple(crossing.gap or ()):
        if d is not None and d > end:
            end = d
    end = min(end + pd.Timedelta(days=28), last + pd.Timedelta(days=MAX_PROJECTION_DAYS)) if end > last else last
    rows = [_row("observed", "", "log(CN/US)", d, value=v) for d, v in zip(series["date"], series["log_ratio"])]
    t_end = scale.to_t(end)
    ts = np.arange(0.0, math.floor(t_end) + 1.0)
    fit = a + b * ts
    se = np.sqrt(np.maximum(cov[0, 0] + 2 * ts * cov[0, 1] + ts * ts * cov[1, 1], 0.0))
    t_last = scale.to_t(last)
    band = f"HAC {level_text(alpha)} band"
    for t, f, s in zip(ts, fit, se):
        rows.append(_row("trend" if t <= t_last + 1e-9 else "projection", "", "log(CN/US)", scale.to_date(t),
                         value=f, lower=f - crit * s, upper=f + crit * s, note=band))
    rows += interval_rows(crossing, "", first, end, level_text(alpha))
    out = _frame(rows)
    out.loc[out["element"] == "interval", "note"] = "Fieller " + out.loc[out["element"] == "interval", "note"]
    return out


# --------------------------------------------------------------------------------------------------
# figure 3: cumulative downloads
# --------------------------------------------------------------------------------------------------
def cumulative_table(panel: pd.DataFrame, rule: str, scope: str) -> pd.DataFrame:
    """Figure 3: cumulative downloads by origin.

    Uses the growth of the Hub's all-time counters (``downloads_alltime_increment``, downloads per week elapsed)
    times the weeks elapsed since the previous snapshot, summed from the first snapshot that has the counter
    (cumulative = 0 there). If the panel lacks that measure, it falls back to 30-day downloads times the days
    elapsed / 30, marked ``approximate`` in ``note``.

    The all-time increments of notebook 03 only count models present, with the counter, in both snapshots of a
    period, and count a counter that decreased as zero: the totals therefore leave out each new model's
    downloads up to its first snapshot, and never go down.
    """
    all_dates = np.sort(panel["date"].unique())
    has_inc = (panel["measure"] == "downloads_alltime_increment").any()
    measure = "downloads_alltime_increment" if has_inc else "downloads_30d"
    sel = _select(panel, measure, rule, scope)
    dates = np.sort(sel["date"].unique())
    pos = {d: i for i, d in enumerate(all_dates)}
    prev = {d: all_dates[pos[d] - 1] if pos[d] > 0 else None for d in dates}
    note = "since the first snapshot with all-time counters" if has_inc else \
        "approximate: 30-day downloads x days elapsed / 30"
    rows = []
    for region in REGIONS:
        r = sel[sel["region"] == region].set_index("date")["downloads"]
        total = 0.0
        started = False
        for d in dates:
            if prev[d] is None:
                if has_inc:
                    continue
                days = 7.0
            else:
                days = (pd.Timestamp(d) - pd.Timestamp(prev[d])).days
            if not started:
                start = prev[d] if prev[d] is not None else d
                rows.append(_row("cumulative", "", region, start, value=0.0, note=note))
                started = True
            v = float(r.get(d, np.nan))
            if math.isnan(v):
                continue
            total += v * (days / 7.0 if has_inc else days / 30.0)
            rows.append(_row("cumulative", "", region, d, value=total, note=note))
    return _frame(rows)


# --------------------------------------------------------------------------------------------------
# figure 4: rankings
# --------------------------------------------------------------------------------------------------
RANKINGS_COLUMNS = ["date", "rule", "top_n", "region", "share"]
TOP_ORGS_COLUMNS = ["date", "rule", "organisation", "region", "downloads", "rank"]


def rankings_rule(rule: str) -> str:
    """The rankings only exist under the uploader and lineage rules; first_party maps to uploader."""
    return rule if rule in ("uploader", "lineage") else "uploader"


def rankings_table(rankings: pd.DataFrame, top_orgs: pd.DataFrame, rule: str, n_orgs: int = 10,
                   frequency: str = "weekly") -> pd.DataFrame:
    """Figure 4: share of the top 10/50/100 models' downloads by origin, and the rank of the top organisations.

    Lines are on the full period grid: a period without a snapshot is a NaN row (``top_share`` rows with note
    :data:`NO_SNAPSHOT_NOTE`; ``rank`` rows keep the organisation's origin in ``note``, as every rank row does,
    and have an empty ``value``). An organisation outside the top list on a date has no row for it.

    Parameters
    ----------
    rankings : pandas.DataFrame
        ``data/processed/rankings.parquet`` (date, rule, top_n, region, share).
    top_orgs : pandas.DataFrame
        ``data/processed/top_orgs.parquet`` (date, rule, organisation, region, downloads, rank).
    rule : str
        ``"uploader"`` or ``"lineage"``.
    n_orgs : int
        Organisations drawn in the bump chart: the top ``n_orgs`` at the last date.
    frequency : {"weekly", "monthly"}
        The period grid (``study.frequency``).
    """
    rk = rankings[rankings["rule"] == rule]
    if rk.empty:
        raise FigureInputError(f"rankings.parquet has no rows for rule={rule!r}; rerun notebook 03 (panel)")
    to = top_orgs[top_orgs["rule"] == rule]
    if to.empty:
        raise FigureInputError(f"top_orgs.parquet has no rows for rule={rule!r}; rerun notebook 03 (panel)")
    missing = missing_periods(np.concatenate([rk["date"].unique(), to["date"].unique()]), frequency)
    rows = []
    for top_n in sorted(rk["top_n"].unique()):
        part = rk[rk["top_n"] == top_n]
        for region in REGIONS:
            r = part[part["region"] == region].sort_values("date")
            line = [_row("top_share", f"top {int(top_n)}", region, d, value=s) for d, s in zip(r["date"], r["share"])]
            rows += _with_gaps(line, missing, element="top_share", panel=f"top {int(top_n)}", group=region) \
                if line else []
    last = to["date"].max()
    leaders = to[(to["date"] == last)].sort_values(["rank", "organisation"]).head(n_orgs)["organisation"].tolist()
    for org in leaders:
        r = to[to["organisation"] == org].sort_values("date")
        line = [_row("rank", "organisations", org, d, value=float(k), n=dl, note=str(reg))
                for d, k, dl, reg in zip(r["date"], r["rank"], r["downloads"], r["region"])]
        rows += _with_gaps(line, missing, element="rank", panel="organisations", group=org,
                           note=str(r["region"].iloc[-1]))
    return _frame(rows)


# --------------------------------------------------------------------------------------------------
# figure 5: derivatives
# --------------------------------------------------------------------------------------------------
DERIVATIVE_COLUMNS = ["id", "relation", "lineage_region", "createdAt"]


def derivatives_table(models: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Figure 5: per month, the share of new derivatives of each kind by the origin of their base model.

    A model counts in the month of its ``createdAt`` if that falls between ``start`` and ``end`` (the panel's
    date range); its base-model origin is its ``lineage_region``. ``n`` is the number of new models of that
    kind in that month (all origins); ``value`` the share of them whose root base model has that origin.
    ``note`` says "partial month" for the first month when ``start`` is not its first day and for the last month
    when ``end`` is not its last day: those months cover only part of the calendar month.
    """
    created = pd.to_datetime(models["createdAt"], utc=True, errors="coerce").dt.tz_convert(None)
    d = models.assign(_created=created)
    d = d[d["relation"].isin(list(DERIVATIVE_RELATIONS)) & d["_created"].between(start, end + pd.Timedelta(days=1))]
    d = d.assign(_month=d["_created"].dt.to_period("M").dt.to_timestamp(),
                 _region=d["lineage_region"].fillna("UNKNOWN").astype(str))
    rows = []
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    partial = {}
    if start.day != 1:
        partial[start.to_period("M").to_timestamp()] = f"partial month: the window starts {iso(start)}"
    if not end.is_month_end:
        m = end.to_period("M").to_timestamp()
        partial[m] = (partial[m] + f" and ends {iso(end)}") if m in partial else \
            f"partial month: the window ends {iso(end)}"
    for rel, label in DERIVATIVE_RELATIONS.items():
        part = d[d["relation"] == rel]
        counts = part.groupby(["_month", "_region"]).size().unstack(fill_value=0)
        for month, row in counts.iterrows():
            total = row.sum()
            note = partial.get(month, "")
            for region in REGIONS:
                rows.append(_row("share", label, region, month, value=row.get(region, 0) / total, n=total, note=note))
    return _frame(rows)


# --------------------------------------------------------------------------------------------------
# figures 6 and 7: interval rows
# --------------------------------------------------------------------------------------------------
SENSITIVITY_COLUMNS = ["measure", "rule", "scope", "k", "hac_lag", "method", "estimate_date", "lower_date",
                       "upper_date", "kind"]


def _iv_frame(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
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


#: Order of the methods within a row of the forest plot; unknown methods follow in name order.
METHOD_ORDER = ("local_linear", "fieller", "fieller_nw", "fieller_prewhitened", "delta", "bootstrap",
                "first_passage")
#: Vertical distance between the methods of one definition (in rows).
METHOD_OFFSET = 0.2


#: Grid columns that hold a method's setting, and how the notes name them.
SETTING_NAMES = {"bandwidth_b": "fixed-b bandwidth b", "hac_lag": "HAC lag", "k": "k",
                 "bandwidth_periods": "local-linear bandwidth"}
#: The key of ``crossover.json["methods"][m]["settings"]`` that holds each grid column's setting.
SETTING_KEYS = {"bandwidth_b": "bandwidth_b", "hac_lag": "hac_lags", "k": "k", "bandwidth_periods": "bandwidth_periods"}


def _setting_column(sub: pd.DataFrame) -> str:
    """The grid column that varies a method's answer: ``k`` (first passage), ``bandwidth_periods`` (the
    local-linear headline), ``bandwidth_b`` (fixed-b rows, whose lag depends on the series length) or
    ``hac_lag`` (classic Newey-West rows)."""
    if "k" in sub and sub["k"].notna().any():
        return "k"
    if "method" in sub and (sub["method"] == "local_linear").all() and "bandwidth_periods" in sub:
        return "bandwidth_periods"
    if "bandwidth_b" in sub and pd.to_numeric(sub["bandwidth_b"], errors="coerce").notna().any():
        return "bandwidth_b"
    return "hac_lag"


def _full_window(sub: pd.DataFrame) -> pd.DataFrame:
    """Rows of the full window (the grid's later starts are for the envelope, not the setting)."""
    if "start_offset_months" in sub:
        return sub[pd.to_numeric(sub["start_offset_months"], errors="coerce").fillna(0) == 0]
    return sub


def _values(sub: pd.DataFrame, column: str) -> list:
    vals = pd.to_numeric(sub[column], errors="coerce").dropna().unique() if column in sub else []
    return sorted(float(v) for v in vals)


def _same(a: Any, b: Any) -> bool:
    try:
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return False


def _rows_at(sub: pd.DataFrame, column: str, value: Any) -> pd.DataFrame:
    if value is None or column not in sub:
        return sub.iloc[0:0]
    return sub[pd.to_numeric(sub[column], errors="coerce").map(lambda v: _same(v, value))]


def _method_json(crossover: Mapping | None, method: str) -> Mapping:
    m = ((crossover or {}).get("methods") or {}).get(method)
    return m if isinstance(m, Mapping) else {}


def _headline_setting(sub: pd.DataFrame, column: str, method: str, crossover: Mapping | None) -> tuple[Any, str]:
    """The setting of the grid at which ``method`` gives what ``crossover.json`` reports: the one it records.

    ``crossover.json["methods"][method]["settings"]`` holds every method's setting (HAC lags, fixed-b bandwidth,
    local-linear bandwidth, k); nothing is guessed from the intervals. Returns (value, how it was found); a file
    without the settings raises :class:`FigureInputError`.
    """
    vals = _values(sub, column)
    if not vals:
        return None, "not in the grid"
    settings = _method_json(crossover, method).get("settings")
    if not isinstance(settings, Mapping):
        raise FigureInputError(f"crossover.json: methods.{method} lacks its settings (written by notebook 05 since "
                               "the settings are recorded); rerun notebook 05 (crossover)")
    key = SETTING_KEYS[column]
    v = settings.get(key)
    if v is None:
        raise FigureInputError(f"crossover.json: methods.{method}.settings lacks {key!r}; rerun notebook 05")
    if any(_same(v, x) for x in vals):
        return float(v), "as recorded in crossover.json"
    return vals[(len(vals) - 1) // 2], f"grid middle (crossover.json records {key} {v:g}, not in the grid)"


def _setting_text(column: str, value: Any, row: Mapping | None = None) -> str:
    if value is None:
        return "as in grid"
    v = float(value)
    if column == "bandwidth_periods":
        return f"{SETTING_NAMES[column]} {v:.1f} periods, full window"
    text = f"{SETTING_NAMES[column]} {'= ' if column == 'bandwidth_b' else ''}" \
           f"{int(v) if v.is_integer() and column != 'bandwidth_b' else f'{v:g}'}"
    if column == "bandwidth_b" and row is not None and not pd.isna(row.get("hac_lag")):
        text += f" ({int(row['hac_lag'])} lags)"
    return text


def _envelope(rows: pd.DataFrame) -> tuple:
    """(earliest, latest) date over a setting's rows: interval ends, or estimates where there is no interval;
    None for an end that is unbounded in any row."""
    ests = rows["estimate_date"].map(date_or_none)
    if ests.isna().all():
        return None, None
    has_iv = rows["lower_date"].notna() | rows["upper_date"].notna()
    if not has_iv.any():
        return ests.min(), ests.max()
    lows = rows.loc[ests.notna(), "lower_date"].map(date_or_none)
    highs = rows.loc[ests.notna(), "upper_date"].map(date_or_none)
    return (None if lows.isna().any() else lows.min()), (None if highs.isna().any() else highs.max())


def sensitivity_table(sens: pd.DataFrame, definition: Definition, headline: Crossing, *, hac_lag: int | None = None,
                      k: int | None = None, crossover: Mapping | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Figure 6: for each definition (measure, rule, scope) of the grid, each method's crossover and interval.

    One plotted row per definition, the headline first; within it one mark per method (offset vertically).
    Each method is shown at the setting ``crossover.json`` records for it (see :func:`_headline_setting`): the
    local-linear headline at its bandwidth on the full window, the fixed-b methods at their bandwidth fraction
    ``bandwidth_b`` (their lag depends on the series length, so it differs between definitions), the classic
    Newey-West methods at their HAC lag, the first passage at its run length ``k``. Every other definition uses
    the same setting of that method (the grid's middle one if it lacks it, said in ``note``).
    ``range_lower_date``/``range_upper_date`` give the envelope over all settings of that definition and method
    (for the headline: its later window starts and other bandwidths), drawn as a thin bar: how much the other
    settings move the answer.

    Parameters
    ----------
    sens : pandas.DataFrame
        ``crossover_sensitivity.parquet``.
    definition : Definition
        The headline series.
    headline : Crossing
        The headline crossing (its method is highlighted).
    hac_lag, k : int, optional
        Not used: every method's setting is the one ``crossover.json`` records (``methods[m].settings``); kept so
        that existing callers need not change.
    crossover : mapping, optional
        Contents of ``crossover.json``: its ``methods[m]`` fix each method's setting.
    alpha : float
        1 - confidence level, written in ``level``.
    """
    defs = list(dict.fromkeys(zip(sens["measure"], sens["rule"], sens["scope"])))
    head = (definition.measure, definition.rule, definition.scope)
    defs.sort(key=lambda d: (d != head, d))
    varying = [i for i in range(3) if len({d[i] for d in defs}) > 1]
    methods = sorted(sens["method"].unique(), key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m))
    short = {"downloads_30d": "30-day", "downloads_alltime_increment": "all-time incr."}

    def rows_of(d, m):
        return sens[(sens["measure"] == d[0]) & (sens["rule"] == d[1]) & (sens["scope"] == d[2])
                    & (sens["method"] == m)]

    settings = {}
    for m in methods:
        sub = rows_of(head, m)
        if sub.empty:  # the headline definition lacks the method: choose on the first definition that has it
            sub = next((rows_of(d, m) for d in defs if not rows_of(d, m).empty), sub)
        column = _setting_column(sub)
        settings[m] = (column,) + _headline_setting(_full_window(sub), column, m, crossover)
    rows = []
    for i, d in enumerate(defs):
        label = " · ".join(short.get(d[j], str(d[j])) for j in varying) or "headline"
        present = [m for m in methods if not rows_of(d, m).empty]
        for j, m in enumerate(present):
            sub = rows_of(d, m)
            column, value, how = settings[m]
            full = _full_window(sub)
            pick = _rows_at(full, column, value)
            note_how = how
            if pick.empty:  # this definition lacks the headline setting: the grid's middle one
                vals = _values(full, column)
                value = vals[(len(vals) - 1) // 2] if vals else None
                pick = _rows_at(full, column, value)
                note_how = "grid middle: the headline setting is not in the grid for this definition"
            r = (pick if not pick.empty else sub).iloc[0]
            est, lo, hi = (date_or_none(r["estimate_date"]), date_or_none(r["lower_date"]),
                           date_or_none(r["upper_date"]))
            kind = str(r["kind"])
            if est is not None and lo is None and hi is None and kind not in ("unbounded", "two_rays"):
                kind = "point"  # an estimate without an interval (e.g. the empirical first passage)
            rng_lo, rng_hi = _envelope(sub)
            hl = d == head and m == headline.method
            n_set = len(sub) if column == "bandwidth_periods" else (len(_values(sub, column)) or len(sub))
            rows.append({"row": i + (j - (len(present) - 1) / 2) * METHOD_OFFSET, "label": label,
                         "source": "this study", "method": m, "estimate_date": est, "lower_date": lo,
                         "upper_date": hi, "kind": kind, "highlight": bool(hl),
                         "level": level_text(alpha) if kind != "point" else "",
                         "note": f"{_setting_text(column, value, r)}, {note_how}; range over {n_set} setting(s) of "
                                 + ("window start and bandwidth" if column == "bandwidth_periods"
                                    else SETTING_NAMES[column]),
                         "range_lower_date": rng_lo, "range_upper_date": rng_hi, "definition_row": i})
    return _iv_frame(rows, extra=("range_lower_date", "range_upper_date", "definition_row"))


PUBLISHED_COLUMNS = ["source", "measure", "claim", "crossover_period_start", "crossover_period_end", "verified"]


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "yes", "v", "1", "verified")
    return bool(v) and not (isinstance(v, float) and math.isnan(v))


def published_table(published: pd.DataFrame, ours: list[Crossing], definition: Definition,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Figure 7: our crossover estimates beside the published ones.

    Published claims give a period (start, end) in which the crossover happened, not an estimate with an
    interval; they are drawn as a span. Claims without a period are listed with the note "no date given".
    ``highlight`` marks our rows; ``kind`` is "verified" or "secondary" for published rows (read in the primary
    source, or only in secondary reports).
    """
    rows = []
    for c in ours:
        rows.append({"row": np.nan, "label": f"This study: {c.method}", "source": "this study", "method": c.method,
                     "estimate_date": c.estimate, "lower_date": c.lower, "upper_date": c.upper, "kind": c.kind,
                     "highlight": True, "level": level_text(alpha) if c.kind != "point" else "",
                     "note": f"{definition.label()}; {level_text(alpha)} interval"})
    for _, r in published.iterrows():
        src = str(r["source"])
        short = src.split(",")[0].split("(")[0].strip()
        label = short if len(short) <= 38 else short[:37] + "…"
        start, end = date_or_none(r["crossover_period_start"]), date_or_none(r["crossover_period_end"])
        rows.append({"row": np.nan, "label": label, "source": src, "method": str(r.get("measure", "")),
                     "estimate_date": None, "lower_date": start, "upper_date": end,
                     "kind": "verified" if _truthy(r["verified"]) else "secondary", "highlight": False, "level": "",
                     "note": str(r["claim"]) if start is not None or end is not None else
                     "no date given: " + str(r["claim"])})
    return _iv_frame(rows)


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
    return _frame(df.to_dict("records"))
