"""Our crossover beside published estimates (``published_comparison.csv`` of notebook 05)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..contracts import COMPARISON_COLUMNS, PUBLISHED_COLUMNS
from .report import CrossoverReport



def load_published(path: str | Path) -> pd.DataFrame:
    """Read ``data/reference/published_estimates.csv`` and check its columns and values."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; it ships with the repository (data/reference/).")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in PUBLISHED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected at least {list(PUBLISHED_COLUMNS)}.")
    for i, row in df.iterrows():
        if row["verified"] not in ("V", "S"):
            raise ValueError(f"{path}, row {i + 2}, column 'verified': {row['verified']!r}; expected V or S.")
        for c in ("crossover_period_start", "crossover_period_end"):
            if row[c]:
                try:
                    pd.Timestamp(row[c])
                except ValueError as exc:
                    raise ValueError(f"{path}, row {i + 2}, column {c!r}: {row[c]!r} is not a YYYY-MM-DD "
                                     "date.") from exc
    return df


def compare_published(crossover_report: CrossoverReport, published_csv: str | Path,
                      sensitivity: pd.DataFrame | None = None) -> pd.DataFrame:
    """Set our crossover estimate beside each published claim, on the closest matching definition.

    For each published row, our estimate is the headline method's row (``local_linear``, full window, the
    headline's bandwidth rule) of the sensitivity grid with the same measure, rule and scope when ``sensitivity``
    is given and has it; otherwise the headline. ``our_method`` names the method; ``our_lower_date``/
    ``our_upper_date`` are the ends of our set, empty where it is open (unbounded on that side);
    ``our_pieces_dates`` holds the whole set when it is made of several intervals (JSON list of [from, to], null
    where open). ``agreement`` says whether the published crossover period overlaps our set ("overlaps",
    "ours_earlier", "ours_later"; a set open on one side is compared by its finite end), or why it cannot be
    compared.

    Parameters
    ----------
    crossover_report : CrossoverReport
        The headline crossover.
    published_csv : str or Path
        ``data/reference/published_estimates.csv``.
    sensitivity : pandas.DataFrame, optional
        Output of :func:`sensitivity_grid`.

    Returns
    -------
    pandas.DataFrame
    """
    pub = load_published(published_csv)
    head = crossover_report.headline
    hdef = crossover_report.definition
    method = head.get("method", "local_linear")
    rows = []
    for _, p in pub.iterrows():
        ours = {"our_measure": hdef.get("measure"), "our_rule": hdef.get("rule"), "our_scope": hdef.get("scope"),
                "our_method": method, "our_estimate_date": head.get("estimate_date"),
                "our_lower_date": head.get("lower_date"), "our_upper_date": head.get("upper_date"),
                "our_kind": head.get("kind"), "our_pieces_dates": _pieces_text(head.get("pieces_dates"),
                                                                              head.get("open_start"),
                                                                              head.get("open_end")),
                "matched": "headline (no sensitivity row for their definition)"}
        if sensitivity is not None and len(sensitivity):
            m = sensitivity[(sensitivity["method"] == head.get("method", "local_linear"))
                            & (sensitivity["measure"] == p["measure"]) & (sensitivity["rule"] == p["rule"])
                            & (sensitivity["scope"] == p["scope"])]
            if "start_offset_months" in m:
                m = m[m["start_offset_months"].fillna(0) == 0]
            if len(m) and "bandwidth_periods" in m and m["bandwidth_periods"].notna().any():
                bw = m["bandwidth_periods"].astype(float)
                mid = float(np.sort(bw.dropna().unique())[(bw.dropna().nunique() - 1) // 2])
                m = m[np.isclose(bw, mid)]
                setting = f"local-linear, bandwidth {mid:.1f} periods, full window"
            else:
                setting = "headline method"
            if len(m):
                g = m.iloc[0]
                one_set = g["kind"] in ("bounded", "unbounded")
                ours = {"our_measure": g["measure"], "our_rule": g["rule"], "our_scope": g["scope"],
                        "our_method": g["method"], "our_estimate_date": g["estimate_date"],
                        "our_lower_date": _text(g.get("lower_date")) if one_set else None,
                        "our_upper_date": _text(g.get("upper_date")) if one_set else None, "our_kind": g["kind"],
                        "our_pieces_dates": _pieces_text(g.get("pieces_dates"), g.get("open_start"),
                                                         g.get("open_end")),
                        "matched": f"same definition ({setting})"}
        start, end = p["crossover_period_start"] or None, p["crossover_period_end"] or None
        rows.append({"source": p["source"], "claim": p["claim"], "verified": p["verified"],
                     "their_measure": p["measure"], "their_rule": p["rule"], "their_scope": p["scope"],
                     "their_period_start": start, "their_period_end": end, **ours,
                     "agreement": _agreement(start, end, ours), "simulated": crossover_report.simulated})
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _text(v) -> str | None:
    """A date cell as text, None when empty."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT or v == "":
        return None
    return str(v)


def _pieces_text(pieces, open_start=None, open_end=None) -> str | None:
    """A set of several intervals as JSON (null where open); None for a set of one interval or none."""
    if isinstance(pieces, str):
        try:
            pieces = json.loads(pieces)
        except ValueError:
            return None
    if not isinstance(pieces, (list, tuple)) or len(pieces) < 2:
        return None
    out = [[_text(a), _text(b)] for a, b in pieces]
    if open_start is True or (open_start is not None and not pd.isna(open_start) and bool(open_start)):
        out[0][0] = None
    if open_end is True or (open_end is not None and not pd.isna(open_end) and bool(open_end)):
        out[-1][1] = None
    return json.dumps(out)


def _agreement(start: str | None, end: str | None, ours: dict) -> str:
    """Whether the published period [start, end] overlaps our set (each of its pieces, open ends unbounded)."""
    if not (start or end):
        return "no crossover date claimed"
    kind = ours["our_kind"]
    lo, hi = ours["our_lower_date"], ours["our_upper_date"]
    if kind not in ("bounded", "unbounded") or (lo is None and hi is None):
        return f"not comparable: our interval is {kind}"
    pieces = json.loads(ours["our_pieces_dates"]) if ours.get("our_pieces_dates") else [[lo, hi]]
    ps = pd.Timestamp(start) if start else pd.Timestamp.min
    pe = pd.Timestamp(end) if end else pd.Timestamp.max
    spans = [(pd.Timestamp(a) if a else pd.Timestamp.min, pd.Timestamp(b) if b else pd.Timestamp.max)
             for a, b in pieces]
    if any(a <= pe and ps <= b for a, b in spans):
        return "overlaps"
    return "ours_earlier" if max(b for _, b in spans) < ps else ("ours_later" if min(a for a, _ in spans) > pe
                                                                 else "between our pieces")
