"""The study's time grid: which snapshots a window keeps, and the periods a series is observed on.

Frequencies (:data:`analysis.schema.FREQUENCIES`):

``daily``
    One period per calendar day; every snapshot of the window (at most one a day).
``weekly``
    Seven-day periods counted back from the latest snapshot of the window, so the grid always ends at the latest
    snapshot, whatever weekday the first one fell on. A period keeps its latest snapshot and is dated by the grid
    date that ends it.
``monthly``
    Calendar months, dated by their first day; a month keeps its first snapshot.

A period without a snapshot stays on the grid as a missing period; time is never re-indexed.

A window must hold at least :data:`MIN_PERIODS` periods and span at least :data:`MIN_SPAN_DAYS` days
(:func:`check_window`): the trend and crossover statistics need eight periods, and the Hub's 30-day download
counts of periods closer than 30 days overlap, so a shorter window holds fewer than four independent windows of
counts. The configuration is checked against this before any notebook runs.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Iterable

from .schema import FREQUENCIES, PERIOD_DAYS

#: Fewest periods a window may hold (the trend and break tests need eight observed periods).
MIN_PERIODS = 8
#: Shortest span of a window, in days: four 30-day download windows.
MIN_SPAN_DAYS = 120


class GridError(ValueError):
    """A frequency or window the study cannot use; the message says what is allowed."""


def _check_frequency(frequency: str) -> None:
    if frequency not in FREQUENCIES:
        raise GridError(f"frequency {frequency!r} is not allowed; choose one of {', '.join(FREQUENCIES)}")


def select_snapshots(dates: Iterable[dt.date], *, start: dt.date | None = None, end: dt.date | None = None,
                     frequency: str = "weekly") -> list[dt.date]:
    """Snapshot dates inside ``[start, end]``, one per period of the grid (see the module docstring).

    Parameters
    ----------
    dates : iterable of datetime.date
        Available snapshot dates (any order, duplicates allowed).
    start, end : datetime.date or None
        Inclusive window; None = unbounded.
    frequency : {"daily", "weekly", "monthly"}

    Returns
    -------
    list of datetime.date
        Sorted; the latest snapshot of the window is always kept except under ``monthly`` when its month holds an
        earlier one.
    """
    _check_frequency(frequency)
    ds = sorted({d for d in dates if (start is None or d >= start) and (end is None or d <= end)})
    if not ds or frequency == "daily":
        return ds
    keys = [period_key(d, ds[-1], frequency) for d in ds]
    keep: dict = {}
    for key, d in zip(keys, ds):
        if frequency == "weekly":
            keep[key] = d  # dates ascend: the latest of the period wins
        else:
            keep.setdefault(key, d)  # the first of the month
    return sorted(keep.values())


def period_key(date: dt.date, anchor: dt.date, frequency: str) -> dt.date:
    """The grid date of the period holding ``date`` (``anchor``: the latest date of the window, weekly grids)."""
    _check_frequency(frequency)
    if frequency == "daily":
        return date
    if frequency == "weekly":
        back = (anchor - date).days // 7
        return anchor - dt.timedelta(weeks=back)
    return dt.date(date.year, date.month, 1)


def grid(first: dt.date, last: dt.date, frequency: str) -> list[dt.date]:
    """Every grid date from the period of ``first`` to the period of ``last`` (weekly: anchored at ``last``)."""
    _check_frequency(frequency)
    a, b = period_key(first, last, frequency), period_key(last, last, frequency)
    if frequency == "daily":
        return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]
    if frequency == "weekly":
        return [a + dt.timedelta(weeks=i) for i in range((b - a).days // 7 + 1)]
    out, y, m = [], a.year, a.month
    while (y, m) <= (b.year, b.month):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def n_periods(start: dt.date, end: dt.date, frequency: str) -> int:
    """Number of grid periods a window ``[start, end]`` spans."""
    return len(grid(start, end, frequency)) if end >= start else 0


def check_window(start: dt.date, end: dt.date, frequency: str, where: str = "study window") -> None:
    """Refuse a window too short for the statistics (see the module docstring).

    Raises
    ------
    GridError
        Naming the window, its number of periods and span, and the minimum.
    """
    n = n_periods(start, end, frequency)
    span = n * PERIOD_DAYS[frequency]
    if n < MIN_PERIODS or span < MIN_SPAN_DAYS:
        need = max(MIN_PERIODS, math.ceil(MIN_SPAN_DAYS / PERIOD_DAYS[frequency]))
        raise GridError(
            f"{where} {start} to {end} holds {n} {frequency} period(s) ({span:.0f} days); the study needs at "
            f"least {need} {frequency} periods (at least {MIN_PERIODS} periods and {MIN_SPAN_DAYS} days: the trend "
            "and crossover statistics need eight periods, and 30-day download counts closer than 30 days overlap). "
            "Widen the window (study.start / study.end) or choose a longer frequency")


def missing_periods(dates: Iterable[dt.date], frequency: str) -> list[dt.date]:
    """Grid dates between the first and the last of ``dates`` whose period holds none of them."""
    ds = sorted(set(dates))
    if len(ds) < 2:
        return []
    have = {period_key(d, ds[-1], frequency) for d in ds}
    return [g for g in grid(ds[0], ds[-1], frequency) if g not in have]
