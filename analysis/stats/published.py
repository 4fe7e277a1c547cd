"""Our crossover beside published estimates (``published_comparison.csv`` of notebook 05)."""

from __future__ import annotations

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
    is given and has it; otherwise the headline. ``agreement`` says whether the published crossover period overlaps our interval
    ("overlaps", "ours_earlier", "ours_later"), or why it cannot be compared.

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
    rows = []
    for _, p in pub.iterrows():
        ours = {"our_measure": hdef.get("measure"), "our_rule": hdef.get("rule"), "our_scope": hdef.get("scope"),
                "our_estimate_date": head.get("estimate_date"), "our_lower_date": head.get("lower_date"),
                "our_upper_date": head.get("upper_date"), "our_kind": head.get("kind"),
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
                ours = {"our_measure": g["measure"], "our_rule": g["rule"], "our_scope": g["scope"],
                        "our_estimate_date": g["estimate_date"],
                        "our_lower_date": g["lower_date"] if g["kind"] == "bounded" else None,
                        "our_upper_date": g["upper_date"] if g["kind"] == "bounded" else None, "our_kind": g["kind"],
                        "matched": f"same definition ({setting})"}
        start, end = p["crossover_period_start"] or None, p["crossover_period_end"] or None
        if not (start or end):
            agreement = "no crossover date claimed"
        elif ours["our_kind"] != "bounded" or not ours["our_lower_date"]:
            agreement = f"not comparable: our interval is {ours['our_kind']}"
        else:
            lo, hi = pd.Timestamp(ours["our_lower_date"]), pd.Timestamp(ours["our_upper_date"])
            ps = pd.Timestamp(start) if start else pd.Timestamp.min
            pe = pd.Timestamp(end) if end else pd.Timestamp.max
            agreement = "overlaps" if (lo <= pe and ps <= hi) else ("ours_earlier" if hi < ps else "ours_later")
        rows.append({"source": p["source"], "claim": p["claim"], "verified": p["verified"],
                     "their_measure": p["measure"], "their_rule": p["rule"], "their_scope": p["scope"],
                     "their_period_start": start, "their_period_end": end, **ours, "agreement": agreement,
                     "simulated": crossover_report.simulated})
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
