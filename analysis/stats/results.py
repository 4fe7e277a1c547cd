"""Turn the frozen result dataclasses of :mod:`analysis.stats` into plain JSON.

Every statistical function of the package returns a frozen dataclass. The notebooks write these results to
``data/processed/results/*.json``; this module holds the one conversion they share, so that numpy scalars,
arrays, dates and non-finite numbers are always written the same way:

* numpy scalars become Python numbers, numpy arrays become (nested) lists;
* ``NaN`` becomes ``null`` (JSON has no NaN), ``+inf``/``-inf`` become the strings ``"inf"``/``"-inf"``,
  so that an unbounded interval stays visibly unbounded instead of silently turning into ``null``;
* dates and timestamps become ``YYYY-MM-DD`` strings.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def to_jsonable(obj: Any) -> Any:
    """Convert a result (dataclass, mapping, sequence, numpy value) to JSON-compatible Python objects.

    Parameters
    ----------
    obj : Any
        A frozen result dataclass, or any nesting of dicts, lists, tuples, numpy arrays and scalars.

    Returns
    -------
    Any
        The same content made only of dict, list, str, int, float, bool and None.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        ts = pd.Timestamp(obj)
        return None if pd.isna(ts) else ts.strftime("%Y-%m-%d")
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, Path):
        return obj.as_posix()
    raise TypeError(
        f"cannot convert a {type(obj).__name__} to JSON; expected a dataclass, dict, list, numpy value, "
        "number, string or date. Convert it before storing it in a result."
    )


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON to ``path`` (folders are created), atomically.

    Parameters
    ----------
    obj : Any
        Anything :func:`to_jsonable` accepts.
    path : str or Path
        Destination file.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def from_json_number(value: Any) -> float:
    """Read back a number written by :func:`to_jsonable` (``None`` -> NaN, ``"inf"`` -> inf)."""
    if value is None:
        return float("nan")
    if value == "inf":
        return float("inf")
    if value == "-inf":
        return float("-inf")
    return float(value)
