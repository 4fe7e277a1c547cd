"""Tables and notes as readers see them in the rendered notebooks, so that the notebooks stay thin.

:func:`show_table` turns a DataFrame into a small object that Jupyter shows as an HTML table (and prints as text):

* no index column (a meaningful index is turned into a first column);
* column names in words (``estimate_date`` -> "Estimate date"; known names from :mod:`analysis.figures.labels`);
* counts with thousands separators (``68163301.0`` -> ``68,163,301``), shares as percentages, p-values as
  ``< 0.001`` or three decimals, dates as ``YYYY-MM-DD``, booleans as yes/no;
* codes in words (origins, rules, measures, scopes, methods, kinds of interval; ``EU`` is "Europe");
* a missing value as a dash, explained under the table.

How a column is formatted follows from its name and type (:func:`column_format`); ``formats`` overrides it.
:func:`captured_warnings` and :func:`notes` show what a library call warned about as plain notes, without the
file paths of the machine that ran it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from .figures.labels import (KIND_LABELS, MEASURE_LABELS, MK_LABELS, REGION_LABELS, RULE_LABELS, SCOPE_LABELS,
                             label, method_label, readable, words)

#: What a missing value is shown as.
DASH = "–"

#: Column names (or name patterns) whose values are counts, shown with thousands separators.
COUNT_PATTERN = re.compile(r"(^n$|^n_|_n$|count|downloads|rows|models|size|bytes|versions|snapshots|periods|"
                           r"duplicate|quarantined|negative|above_ceiling|^rank$|^top_n$|^k$|hac_lag)", re.I)
#: Column names whose values are fractions shown as percentages.
SHARE_PATTERN = re.compile(r"(share|fraction|coverage|prob)", re.I)
#: Column names whose values are p-values.
P_PATTERN = re.compile(r"(^p$|p_value|pvalue)", re.I)
#: Columns holding codes, and how each code reads.
CODE_COLUMNS: dict[str, Callable[[str], str]] = {
    "region": lambda v: REGION_LABELS.get(v, v), "origin": lambda v: REGION_LABELS.get(v, v),
    "lineage_region": lambda v: REGION_LABELS.get(v, v), "uploader_region": lambda v: REGION_LABELS.get(v, v),
    "rule": lambda v: label(RULE_LABELS, v), "measure": lambda v: label(MEASURE_LABELS, v),
    "scope": lambda v: label(SCOPE_LABELS, v), "method": method_label,
    "our_kind": lambda v: label(KIND_LABELS, v), "interval_kind": lambda v: label(KIND_LABELS, v),
    "mk_method": lambda v: label(MK_LABELS, v), "test": readable,
}


def fmt_count(x) -> str:
    """``68163301.0`` -> ``"68,163,301"``."""
    return f"{float(x):,.0f}"


def fmt_share(x, digits: int = 1) -> str:
    """``0.4123`` -> ``"41.2%"``."""
    return f"{100 * float(x):.{digits}f}%"


def fmt_p(x) -> str:
    """A p-value: ``"< 0.001"`` or three decimals."""
    x = float(x)
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def fmt_number(x) -> str:
    """Another number: integers with separators, else four significant digits (separators from 1,000 up)."""
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x.is_integer() and abs(x) < 1e15:
        return f"{x:,.0f}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def fmt_date(x) -> str:
    """A date as ``YYYY-MM-DD`` (with the time of day when it has one)."""
    ts = pd.Timestamp(x)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.strftime("%Y-%m-%d %H:%M") if (ts.hour, ts.minute, ts.second) != (0, 0, 0) else ts.strftime("%Y-%m-%d")


FORMATS: dict[str, Callable] = {"count": fmt_count, "share": fmt_share, "p": fmt_p, "number": fmt_number,
                                "date": fmt_date, "bool": lambda v: "yes" if bool(v) else "no", "text": str}


def _missing(v) -> bool:
    if v is None or v is pd.NaT or v is pd.NA:
        return True
    try:
        return bool(isinstance(v, float) and math.isnan(v)) or (not isinstance(v, (list, tuple, dict, np.ndarray))
                                                               and bool(pd.isna(v)))
    except (TypeError, ValueError):
        return False


def column_format(name: str, values: pd.Series) -> str | Callable:
    """The format of a column from its name and values: ``"date"``, ``"bool"``, ``"share"``, ``"p"``,
    ``"count"``, ``"number"``, a code translator (for the :data:`CODE_COLUMNS`) or ``"text"``."""
    base = str(name).split(" · ")[-1] if isinstance(name, str) else str(name)
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if pd.api.types.is_numeric_dtype(values):
        if P_PATTERN.search(base):
            return "p"
        if SHARE_PATTERN.search(base):
            return "share"
        finite = values.dropna()
        if COUNT_PATTERN.search(base) or (len(finite) and np.all(np.mod(finite.astype(float), 1) == 0)):
            return "count"
        return "number"
    if base in CODE_COLUMNS:
        return CODE_COLUMNS[base]
    non_null = values.dropna()
    if len(non_null) and all(isinstance(v, (dt.date, pd.Timestamp)) for v in non_null):
        return "date"
    if len(non_null) and all(isinstance(v, (bool, np.bool_)) for v in non_null):
        return "bool"
    return "text"


def _name(c) -> str:
    if isinstance(c, (pd.Timestamp, dt.date)):
        return fmt_date(c)
    if isinstance(c, str):
        return CODE_COLUMNS["region"](c) if c in REGION_LABELS else words(c)
    return fmt_number(c) if isinstance(c, (int, float, np.integer, np.floating)) else str(c)


def _flat(col) -> str:
    if isinstance(col, tuple):
        return " · ".join(_name(c) for c in col if str(c) != "")
    return _name(col)


def _cell(v, fmt) -> str:
    if _missing(v):
        return DASH
    f = FORMATS.get(fmt, fmt) if isinstance(fmt, str) else fmt
    try:
        return str(f(v))
    except (TypeError, ValueError):
        return str(v)


@dataclass
class Table:
    """A formatted table: every cell already text, shown as HTML in notebooks and as text when printed.

    Attributes
    ----------
    header : list of str
    rows : list of list of str
    numeric : list of bool
        Right-aligned columns.
    caption : str
    note : str
        Said under the table (what a dash means, rows left out).
    """

    header: list
    rows: list
    numeric: list
    caption: str = ""
    note: str = ""
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The formatted cells as a DataFrame of strings."""
        return pd.DataFrame(self.rows, columns=self.header)

    def _repr_html_(self) -> str:
        esc = html.escape
        th = "".join(f"<th style='text-align:{'right' if n else 'left'}'>{esc(h)}</th>"
                     for h, n in zip(self.header, self.numeric))
        body = "".join("<tr>" + "".join(f"<td style='text-align:{'right' if n else 'left'}'>{esc(c)}</td>"
                                        for c, n in zip(r, self.numeric)) + "</tr>" for r in self.rows)
        cap = f"<caption style='caption-side:top;text-align:left'>{esc(self.caption)}</caption>" if self.caption else ""
        note = f"<p style='font-size:85%;color:#555'>{esc(self.note)}</p>" if self.note else ""
        return f"<table class='study-table'>{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>{note}"

    def __repr__(self) -> str:
        widths = [max([len(h)] + [len(r[i]) for r in self.rows]) for i, h in enumerate(self.header)]

        def line(cells):
            return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, self.numeric))

        out = ([self.caption] if self.caption else []) + [line(self.header)] + [line(r) for r in self.rows]
        return "\n".join(out + ([self.note] if self.note else []))


def show_table(df: pd.DataFrame | pd.Series, *, formats: Mapping[str, str | Callable] | None = None,
          labels: Mapping[str, str] | None = None, index: bool | None = None, max_rows: int | None = 30,
          caption: str = "", note: str = "", default: str | None = None) -> Table:
    """A DataFrame formatted for readers (see the module docstring).

    Parameters
    ----------
    df : pandas.DataFrame or Series
    formats : mapping, optional
        ``{column: format}`` overriding :func:`column_format`: a name of :data:`FORMATS` or a callable.
    labels : mapping, optional
        ``{column: header}`` overriding the column names in words.
    index : bool, optional
        Show the index as a first column (default: when it is named or is not a plain 0..n-1 range).
    max_rows : int, optional
        Show at most this many rows (the note says how many are left out); None for all.
    caption, note : str
        Said above and under the table.
    default : str, optional
        Format of the numeric columns that ``formats`` does not name (e.g. ``"share"`` for a pivot of shares).

    Returns
    -------
    Table
    """
    if isinstance(df, pd.Series):
        df = df.to_frame()
    df = df.copy()
    if index is None:
        index = bool(any(n is not None for n in df.index.names)) or not isinstance(df.index, pd.RangeIndex)
    index_cols: list = []
    if index:
        n_levels = df.index.nlevels
        df = df.reset_index()
        index_cols = list(df.columns[:n_levels])
    formats = dict(formats or {})
    labels = dict(labels or {})
    cols = list(df.columns)
    fmts = []
    for c in cols:
        f = formats.get(c, formats.get(_flat(c)))
        if f is None and default is not None and c not in index_cols and pd.api.types.is_numeric_dtype(df[c]) \
                and not pd.api.types.is_bool_dtype(df[c]):
            f = default
        base = next((x for x in reversed(c) if str(x) != ""), "") if isinstance(c, tuple) else c
        fmts.append(f or column_format(base, df[c]))
    header = [labels.get(c, _flat(c)) for c in cols]
    numeric = [f in ("count", "share", "p", "number") for f in fmts]
    total = len(df)
    shown = df if max_rows is None or total <= max_rows else df.head(max_rows)
    rows = [[_cell(v, f) for v, f in zip(r, fmts)] for r in shown.itertuples(index=False, name=None)]
    notes = [note] if note else []
    if any(DASH in r for r in rows):
        notes.append(f"{DASH}: no value.")
    if len(shown) < total:
        notes.append(f"{len(shown)} of {total:,} rows shown.")
    return Table(header, rows, numeric, caption, " ".join(notes), df)


@contextlib.contextmanager
def captured_warnings() -> Iterator[list]:
    """Record the warnings raised inside the block (instead of printing them with the caller's file path)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def notes(caught: list, title: str = "Notes") -> "object":
    """The recorded warnings as a Markdown list for display (their messages only, each once)."""
    from IPython.display import Markdown

    msgs = list(dict.fromkeys(str(w.message) for w in caught))
    if not msgs:
        return Markdown("")
    return Markdown(f"**{title}**\n\n" + "\n".join(f"- {html.escape(m)}" for m in msgs))


def facts(mapping: Mapping, *, caption: str = "", value: str = "Value") -> Table:
    """A mapping of named quantities (``{"n_cycles": 20, "share_downloads_root_dangling": 0.0}``) as a two-column
    table, each value formatted by its own name (counts, shares, p-values) and each name in words."""
    rows, numeric = [], []
    for k, v in mapping.items():
        fmt = column_format(str(k), pd.Series([v]))
        rows.append([words(str(k)), _cell(v, fmt)])
        numeric.append(fmt in ("count", "share", "p", "number"))
    right = bool(rows) and all(numeric)
    return Table(["Item", value], rows, [False, right], caption,
                 f"{DASH}: no value." if any(r[1] == DASH for r in rows) else "")
