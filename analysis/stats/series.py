"""The primary series every statistic takes, and the conversion of times in periods to calendar dates.

The primary series is the output of :func:`analysis.panel.primary_series`: one row per expected period (missing
snapshots are NaN rows), columns ``date, t, share_CN, share_US, log_ratio, diff``. ``t`` is in periods since the
first date; :func:`t_to_date` converts it back to a calendar date (interpolating on the date grid inside the sample,
extrapolating by the period length outside it; dates before 1900 or after 2100 are written as words, never
computed).

The period length comes from the frequency (:data:`analysis.schema.PERIOD_DAYS`: daily, weekly or monthly); so do
the unit words of the readings (:func:`unit_of`) and the overlap of a trailing count (:func:`measure_window`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import PERIOD_DAYS, SERIES_COLUMNS

#: Dates outside this range are not computed; :func:`t_to_date` returns these words instead.
EARLIEST, LATEST = pd.Timestamp("1900-01-01"), pd.Timestamp("2100-12-31")
BEFORE_EARLIEST, AFTER_LATEST = "before 1900-01-01", "after 2100-12-31"
#: Length of the trailing window of each download measure, in days (None = the period between snapshots).
MEASURE_WINDOW_DAYS = {"downloads_30d": 30.0, "downloads_alltime_increment": None}


def unit_of(frequency: str) -> str:
    """The period as a word: "day", "week" or "month"."""
    units = {"daily": "day", "weekly": "week", "monthly": "month"}
    if frequency not in units:
        raise ValueError(f"frequency={frequency!r}; expected one of {sorted(units)}.")
    return units[frequency]


def measure_window(measure: str | None, frequency: str) -> int:
    """Periods covered by one value of the measure: the overlap the noise model allows for.

    The Hub's ``downloads`` is a trailing 30-day count, so weekly snapshots average about four weeks (4), daily
    ones 30 days (30) and monthly ones one month (1). An all-time increment between snapshots covers one period (1).
    An unknown measure is treated as one period.
    """
    days = MEASURE_WINDOW_DAYS.get(measure) if measure else None
    if days is None:
        return 1
    return max(1, int(round(days / PERIOD_DAYS[frequency])))


def measure_lag_days(measure: str | None, frequency: str) -> float:
    """How far the measure lags the downloads of the day, in days: half of the span it sums over.

    A trailing 30-day count of a quantity that rises steadily equals the daily value of about 15 days earlier, so
    its crossing comes about 15 days after the crossing of daily downloads. An increment between snapshots sums one
    period, half a period late.
    """
    days = MEASURE_WINDOW_DAYS.get(measure) if measure else None
    return (days if days is not None else PERIOD_DAYS[frequency]) / 2.0


# ----------------------------------------------------------------------------------------------------------
def check_series(series: pd.DataFrame) -> pd.DataFrame:
    """Validate a primary series (columns, order, t on the grid) and return it with a sorted index.

    Raises
    ------
    ValueError
        Naming the missing column or the offending row.
    """
    missing = [c for c in SERIES_COLUMNS if c not in series.columns]
    if missing:
        raise ValueError(f"the series lacks columns {missing}; expected the output of analysis.panel.primary_series "
                         f"with columns {list(SERIES_COLUMNS)}.")
    s = series.reset_index(drop=True)
    if len(s) < 4:
        raise ValueError(f"the series has {len(s)} periods; the trend and crossover statistics need at least 4.")
    dates = pd.to_datetime(s["date"])
    if dates.isna().any() or not dates.is_monotonic_increasing or dates.duplicated().any():
        raise ValueError("series['date'] must be increasing, unique and without NaT (one row per expected period).")
    t = s["t"].to_numpy(dtype=float)
    if np.any(~np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError("series['t'] must be finite and strictly increasing (periods since the first date).")
    return s.assign(date=dates)


def infer_frequency(series: pd.DataFrame) -> str:
    """Return "daily", "weekly" or "monthly" from the median spacing of the dates."""
    step = float(np.median(np.diff(pd.to_datetime(series["date"]).to_numpy()).astype("timedelta64[D]").astype(float)))
    return "daily" if step < 3 else "weekly" if step < 15 else "monthly"


def t_to_date(tval: float | None, series: pd.DataFrame, period_days: float) -> str | None:
    """Convert a time in periods to a YYYY-MM-DD date (None for NaN or infinite times).

    Inside the sample the date is interpolated between the grid dates; outside it is extrapolated from the
    nearest end by ``period_days`` per period. A date before 1900-01-01 or after 2100-12-31 (e.g. the end of a
    far gap of a two-rays set) is returned as the words :data:`BEFORE_EARLIEST` / :data:`AFTER_LATEST`; this
    function never raises on a finite time.
    """
    if tval is None or not np.isfinite(tval):
        return None
    t = series["t"].to_numpy(dtype=float)
    first = pd.Timestamp(series["date"].iloc[0])
    days = (pd.to_datetime(series["date"]) - first).dt.days.to_numpy(dtype=float)
    with np.errstate(over="ignore"):
        if tval < t[0]:
            d = days[0] + (tval - t[0]) * period_days
        elif tval > t[-1]:
            d = days[-1] + (tval - t[-1]) * period_days
        else:
            d = float(np.interp(tval, t, days))
    lo, hi = (EARLIEST - first).days, (LATEST - first).days
    if d < lo:
        return BEFORE_EARLIEST
    if d > hi:
        return AFTER_LATEST
    return (first + pd.Timedelta(days=round(d))).strftime("%Y-%m-%d")


def shift_date(date: str | None, days: float) -> str | None:
    """A YYYY-MM-DD date moved by ``days`` (words and None pass through unchanged)."""
    if not date or not date[:1].isdigit():
        return date
    ts = pd.Timestamp(date) + pd.Timedelta(days=round(days))
    if ts < EARLIEST:
        return BEFORE_EARLIEST
    if ts > LATEST:
        return AFTER_LATEST
    return ts.strftime("%Y-%m-%d")


def definition_of(series: pd.DataFrame, definition: dict | None) -> dict:
    base = {"measure": None, "rule": None, "scope": None, "frequency": None}
    base.update({k: v for k, v in (series.attrs or {}).items() if k in base})
    if definition:
        base.update({k: definition[k] for k in base if k in definition})
    if base["frequency"] is None:
        base["frequency"] = infer_frequency(series)
    if base["frequency"] not in PERIOD_DAYS:
        raise ValueError(f"definition frequency={base['frequency']!r}; expected one of {sorted(PERIOD_DAYS)}.")
    return base
