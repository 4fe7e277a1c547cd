"""The time grid: which snapshots a window keeps, the periods of a series, and the shortest window allowed."""

from __future__ import annotations

import datetime as dt

import pytest

from analysis import timegrid as tg

D = dt.date


def test_weekly_grid_ends_at_the_latest_snapshot_whatever_the_first_weekday():
    # daily pulls from a Monday to a Friday 26 days later: the weekly grid is counted back from the Friday
    days = [D(2025, 3, 3) + dt.timedelta(days=i) for i in range(26)]
    kept = tg.select_snapshots(days, frequency="weekly")
    assert kept[-1] == days[-1]  # the latest snapshot is never dropped
    assert kept == [D(2025, 3, 7), D(2025, 3, 14), D(2025, 3, 21), D(2025, 3, 28)]
    assert tg.grid(days[0], days[-1], "weekly") == kept  # 03-03 falls in the period ending 03-07


def test_daily_and_monthly_selection():
    ds = [D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 3), D(2025, 2, 10), D(2025, 2, 20)]
    assert tg.select_snapshots(ds, frequency="daily") == [D(2025, 1, 1), D(2025, 1, 3), D(2025, 2, 10), D(2025, 2, 20)]
    assert tg.select_snapshots(ds, frequency="monthly") == [D(2025, 1, 1), D(2025, 2, 10)]
    assert tg.select_snapshots(ds, start=D(2025, 1, 2), end=D(2025, 2, 15), frequency="daily") == \
        [D(2025, 1, 3), D(2025, 2, 10)]
    assert tg.missing_periods([D(2025, 1, 1), D(2025, 1, 4)], "daily") == [D(2025, 1, 2), D(2025, 1, 3)]
    assert tg.missing_periods([D(2025, 1, 5), D(2025, 4, 1)], "monthly") == [D(2025, 2, 1), D(2025, 3, 1)]


def test_unknown_frequency_is_named():
    with pytest.raises(tg.GridError, match="'hourly'.*daily, weekly, monthly"):
        tg.select_snapshots([D(2025, 1, 1)], frequency="hourly")


@pytest.mark.parametrize("start, end, freq, ok", [
    (D(2025, 1, 1), D(2025, 1, 16), "daily", False),    # 16 days of daily snapshots: too short
    (D(2025, 1, 1), D(2025, 4, 30), "daily", True),     # 120 days
    (D(2025, 1, 1), D(2025, 4, 22), "weekly", False),   # 17 weeks = 119 days
    (D(2025, 1, 1), D(2025, 4, 30), "weekly", True),    # 18 weekly periods
    (D(2025, 1, 1), D(2025, 7, 1), "monthly", False),   # 7 months
    (D(2025, 1, 1), D(2025, 8, 1), "monthly", True),
])
def test_window_minimum(start, end, freq, ok):
    if ok:
        tg.check_window(start, end, freq)
    else:
        with pytest.raises(tg.GridError, match=r"needs at least \d+ " + freq):
            tg.check_window(start, end, freq)
