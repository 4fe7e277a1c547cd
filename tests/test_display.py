"""Tables as readers see them in the rendered notebooks: known answers for every format."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis.display import DASH, captured_warnings, facts, notes, show_table


def test_formats_follow_names_and_types():
    df = pd.DataFrame({"date": pd.to_datetime(["2025-01-01", "2025-01-08"]), "region": ["EU", "CN"],
                       "downloads": [68163301.0, np.nan], "share": [0.41234, 0.2], "p_value": [0.00001, 0.2],
                       "estimate_date": ["2025-07-14", None], "registered": [True, False], "rule": ["first_party",
                                                                                                    "lineage"]})
    t = show_table(df)
    assert t.header == ["Date", "Region", "Downloads", "Share", "P-value", "Estimate", "Registered", "Rule"]
    assert t.rows[0] == ["2025-01-01", "Europe", "68,163,301", "41.2%", "< 0.001", "2025-07-14", "yes", "first party"]
    assert t.rows[1] == ["2025-01-08", "China", DASH, "20.0%", "0.200", DASH, "no", "lineage"]
    assert t.note == f"{DASH}: no value."  # a dash is explained under the table
    assert t.numeric == [False, False, True, True, True, False, False, False]
    html = t._repr_html_()
    assert "<th" in html and "index" not in html.lower() and "NaN" not in html and "nan" not in html
    assert "text-align:right'>68,163,301" in html


def test_index_pivots_and_row_limits():
    df = pd.DataFrame({"region": ["CN", "US", "CN", "US"], "rule": ["lineage", "lineage", "uploader", "uploader"],
                       "top_n": [10, 10, 10, 10], "share": [0.5, 0.2, 0.25, 0.4]})
    t = show_table(df.pivot_table(index="region", columns=["rule", "top_n"], values="share"), default="share")
    assert t.header == ["Region", "Lineage · 10", "Uploader · 10"]
    assert t.rows == [["China", "50.0%", "25.0%"], ["United States", "20.0%", "40.0%"]]
    plain = show_table(pd.DataFrame({"n_models": range(50)}), max_rows=5)
    assert plain.header == ["Models"] and len(plain.rows) == 5 and "5 of 50 rows shown." in plain.note
    assert plain.rows[-1] == ["4"]
    series = show_table(pd.Series({"uploader": 0.42}, name="share of downloads with a country").rename_axis("rule"),
                        default="share")
    assert series.rows == [["uploader", "42.0%"]] and series.header[0] == "Rule"


def test_facts_format_each_value_by_its_name():
    t = facts({"n_cycle_models": 40, "share_downloads_root_dangling": 0.0123, "n_case_matched": 1234567})
    assert t.rows == [["Number of cycle models", "40"], ["Share of downloads root dangling", "1.2%"],
                      ["Number of case matched", "1,234,567"]]


def test_warnings_become_notes_without_paths():
    with captured_warnings() as caught:
        warnings.warn("2 override(s) name models not in the table", UserWarning)
        warnings.warn("2 override(s) name models not in the table", UserWarning)
    md = notes(caught, "Notes from tagging").data
    assert md.count("override(s)") == 1 and md.startswith("**Notes from tagging**")
    assert ".py" not in md
