"""The primary series every statistic takes, and the conversion of times in periods to calendar dates.

The primary series is the output of :func:`analysis.panel.primary_series`: one row per expected period (missing
snapshots are NaN rows), columns ``date, t, share_CN, share_US, log_ratio, diff``. ``t`` is in periods since the
first date; :func:`t_to_date` converts it back to a calendar date (interpolating on the date grid inside the sample,
extrapolating by the period length outside it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import PERIOD_DAYS, SERIES_COLUMNS

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
    """Return "weekly" or "monthly" from the median spacing of the dates."""
    step = float(np.median(np.diff(pd.to_datetime(series["date"]).to_numpy()).astype("timedelta64[D]").astype(float)))
    return "weekly" if step < 15 else "monthly"


def t_to_date(tval: float | None, series: pd.DataFrame, period_days: float) -> str | None:
    """Convert a time in periods to a YYYY-MM-DD date (None for NaN or infinite times).

    Inside the sample the date is interpolated between the grid dates; outside it is extrapolated from the
    nearest end by ``period_days`` per period.
    """
    if tval is None or not np.isfinite(tval):
        return None
    t = series["t"].to_numpy(dtype=float)
    days = (pd.to_datetime(series["date"]) - pd.Timestamp(series["date"].iloc[0])).dt.days.to_numpy(dtype=float)
    if tval < t[0]:
        d = days[0] + (tval - t[0]) * period_days
    elif tval > t[-1]:
        d = days[-1] + (tval - t[-1]) * period_days
    else:
        d = float(np.interp(tval, t, days))
    return (pd.Timestamp(series["date"].iloc[0]) + pd.Timedelta(days=round(d))).strftime("%Y-%m-%d")


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
