"""Quotable values: known numbers from a small panel and result files, LaTeX macros, simulated marking."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest

from analysis.figures.data import Definition
from analysis.figures.values import Value, collect_values, fmt_p, tex_escape, write_values
from analysis.schema import REGIONS

DEFN = Definition("downloads_30d", "lineage", "all", "weekly")
SHARES = {"CN": 0.40, "US": 0.25, "EU": 0.15, "OTHER": 0.1, "UNAFFILIATED": 0.1, "UNKNOWN": 0.0}


def _panel() -> pd.DataFrame:
    rows = []
    for d, shift in (("2025-01-01", 0.0), ("2025-01-08", 0.05)):
        for r in REGIONS:
            s = SHARES[r] + (shift if r == "CN" else -shift if r == "US" else 0.0)
            rows.append({"date": pd.Timestamp(d), "measure": "downloads_30d", "rule": "lineage", "scope": "all",
                         "region": r, "downloads": s * 100, "share": s, "n_models": 3})
    return pd.DataFrame(rows)


TRENDS = {"definition": {"measure": "downloads_30d", "rule": "lineage", "scope": "all", "frequency": "weekly"},
          "first_date": "2025-01-01", "last_date": "2025-01-08",
          "ols": {"params": [-1.0, 0.05], "cov": [[0.01, 0.0], [0.0, 0.0001]], "se": [0.1, 0.01],
                  "p_values": [0.01, 0.0004], "hac_lags": 3, "t0_date": "2025-01-01", "period_days": 7.0},
          "mann_kendall": {"original": {"method": "original", "tau": 0.8, "z": 5.0, "p_value": 2e-7, "s": 100},
                           "hamed_rao": {"method": "hamed_rao", "tau": 0.8, "z": 2.0, "p_value": 0.0456, "s": 100}},
          "sens_slope": {"slope": 0.05, "ci_low": 0.04, "ci_high": 0.06},
          "fractional_logit": {"params": [-1.0, 0.05], "p_values": [0.02, 0.0123], "crossing_t": 20.0},
          "breaks": {"pettitt": {"statistic": 600.0, "p_value": 0.0264, "date": "2025-03-05"},
                     "chow": {"f_stat": 8.7298, "p_value": 0.00039, "df": [2, 75], "date": "2025-01-15"},
                     "sup_f": {"statistic": 39.94, "p_value": 0.001, "date": "2024-10-30"},
                     "cusum": {"statistic": 1.4438, "p_value": 0.0309},
                     "bai_perron": {"chosen": 2, "date": ["2024-10-23", "2025-05-28"]}}}
CROSS = {"definition": TRENDS["definition"], "alpha": 0.05,
         "headline": {"method": "fieller", "estimate_date": "2025-05-21", "lower_date": None, "upper_date": None,
                      "kind": "two_rays"},
         "methods": {"fieller": {"estimate": 20.0, "lower": "-inf", "upper": "inf", "kind": "two_rays",
                                 "gap": [5.0, 40.0]},
                     "delta": {"estimate": 20.0, "lower": 10.0, "upper": 30.0},
                     "bootstrap": {"estimate": 20.0, "lower": 12.0, "upper": "inf", "kind": "unbounded",
                                   "share_no_crossing": 0.031},
                     "first_passage": {"date": None, "prob_crossed_by_last_period": 0.2}}}


@pytest.fixture()
def values():
    return {v.key: v for v in collect_values(_panel(), DEFN, TRENDS, CROSS, simulated=True)}


def test_shares_at_latest_date_known_answer(values):
    assert values["share_cn_latest"].value == pytest.approx(0.45)
    assert values["share_cn_latest"].text == "45.0%"
    assert values["share_us_latest"].text == "20.0%"
    assert values["share_gap_cn_us_latest_pp"].text == "+25.0"
    assert values["log_ratio_latest"].value == pytest.approx(math.log(0.45 / 0.20))
    assert values["last_snapshot_date"].value == "2025-01-08"
    assert values["n_snapshots"].value == 2


def test_trend_and_tests(values):
    assert values["trend_slope_per_year"].value == pytest.approx(0.05 * 365.25 / 7)
    assert values["trend_slope_p_value"].text == "< 0.001"
    assert values["mk_hamed_rao_p_value"].text == "0.046"
    assert values["mk_original_z"].value == 5.0
    assert values["sen_slope_per_year"].value == pytest.approx(0.05 * 365.25 / 7)


def test_break_tests_and_fractional_logit(values):
    assert values["break_pettitt_statistic"].value == 600.0
    assert values["break_pettitt_p_value"].text == "0.026"
    assert values["break_pettitt_date"].value == "2025-03-05"
    assert values["break_chow_statistic"].text == "8.73"
    assert values["break_chow_p_value"].text == "< 0.001"
    assert values["break_sup_f_date"].value == "2024-10-30"
    assert values["break_cusum_p_value"].text == "0.031"
    assert "break_cusum_date" not in values  # no date in the file, none invented
    assert values["break_bai_perron_count"].value == 2
    assert values["break_bai_perron_dates"].text == "2024-10-23, 2025-05-28"
    assert values["frac_logit_p_value"].text == "0.012"
    # crossing_t = 20 weeks after the first snapshot 2025-01-01
    assert values["frac_logit_crossing_date"].value == "2025-05-21"


def test_break_values_absent_when_not_in_the_file():
    trends = {k: v for k, v in TRENDS.items() if k not in ("breaks", "fractional_logit")}
    keys = {v.key for v in collect_values(_panel(), DEFN, trends, CROSS, simulated=True)}
    assert not any(k.startswith(("break_", "frac_logit_")) for k in keys)


def test_crossover_values_keep_unbounded_sets_visible(values):
    assert values["crossover_estimate_date"].value == "2025-05-21"
    assert values["crossover_lower_date"].value is None
    assert values["crossover_lower_date"].text == "unbounded"
    assert values["crossover_kind"].text == "two rays"
    # delta method: t = 10 and 30 weeks after 2025-01-01
    assert values["delta_lower_date"].value == "2025-03-12"
    assert values["delta_upper_date"].value == "2025-07-30"
    assert values["bootstrap_upper_date"].text == "unbounded"
    assert values["bootstrap_share_no_crossing"].text == "3.1%"
    assert values["first_passage_date"].text == "not yet"
    assert values["first_passage_prob_crossed"].text == "20.0%"


def test_write_values_json_and_tex(tmp_path, values):
    vals = list(values.values())
    js, tex = write_values(vals, tmp_path / "values.json", tmp_path / "values.tex", simulated=True,
                           source={"config_digest": "abc"})
    doc = json.loads(js.read_text())
    assert doc["simulated"] is True and "SIMULATED DATA" in doc["note"]
    assert doc["values"]["crossover_estimate_date"]["macro"] == "\\StudyCrossoverEstimateDate"
    text = tex.read_text()
    assert "% SIMULATED DATA" in text
    assert "\\renewcommand{\\StudyDataKind}{SIMULATED DATA (demo run)}" in text
    assert "\\renewcommand{\\StudySimulated}{SIMULATED DATA}" in text
    assert "\\renewcommand{\\StudyShareCnLatest}{45.0\\% [SIMULATED DATA]}" in text  # numbers carry the mark
    macros = re.findall(r"\\renewcommand\{\\([A-Za-z]+)\}", text)
    assert len(macros) == len(set(macros)) == len(vals) + 1  # one per value, plus StudyDataKind
    # rerun: same bytes
    before = js.read_bytes(), tex.read_bytes()
    write_values(vals, tmp_path / "values.json", tmp_path / "values.tex", simulated=True,
                 source={"config_digest": "abc"})
    assert (js.read_bytes(), tex.read_bytes()) == before


def test_real_run_is_not_marked_simulated(tmp_path):
    vals = collect_values(_panel(), DEFN, TRENDS, CROSS, simulated=False)
    js, tex = write_values(vals, tmp_path / "v.json", tmp_path / "v.tex", simulated=False)
    assert json.loads(js.read_text())["simulated"] is False
    assert "SIMULATED" not in tex.read_text()


def test_macro_names_are_letters_only():
    assert Value("mk_top_10_share", 1, "1", "").macro == "StudyMkTopOneZeroShare"
    assert tex_escape("50% of a_b & c") == r"50\% of a\_b \& c"
    assert fmt_p(0.0004) == "< 0.001" and fmt_p(0.2) == "0.200" and fmt_p(float("nan")) == "n/a"


def test_tex_escapes_less_and_greater_than():
    # in LaTeX's default OT1 encoding a bare "<" prints as an inverted exclamation mark
    assert tex_escape("< 0.001") == r"\textless{} 0.001"
    assert tex_escape("a > b") == r"a \textgreater{} b"


def test_values_tex_has_no_bare_angle_brackets(tmp_path, values):
    _, tex = write_values(list(values.values()), tmp_path / "v.json", tmp_path / "v.tex", simulated=False)
    text = tex.read_text()
    assert "\\renewcommand{\\StudyTrendSlopePValue}{\\textless{} 0.001}" in text
    assert "<" not in text and ">" not in text


def test_every_number_macro_of_a_demo_run_carries_the_mark(tmp_path, values):
    _, tex = write_values(list(values.values()), tmp_path / "v.json", tmp_path / "v.tex", simulated=True)
    macros = [ln for ln in tex.read_text().splitlines() if ln.startswith("\\providecommand")]
    assert len(macros) == len(values) + 1
    assert all("SIMULATED DATA" in ln for ln in macros)
    assert ("\\providecommand{\\StudyCrossoverEstimateDate}{}"
            "\\renewcommand{\\StudyCrossoverEstimateDate}{2025-05-21 [SIMULATED DATA]}") in macros
    # values.json keeps the plain text (its "simulated" flag and note say what the numbers are)
    doc = json.loads((tmp_path / "v.json").read_text())
    assert doc["values"]["crossover_estimate_date"]["text"] == "2025-05-21"


def test_p_value_description_under_fixed_b_and_newey_west():
    floor = 1 / 20001
    trends = {**TRENDS, "ols": {**TRENDS["ols"], "inference": "fixed_b", "p_values": [floor, floor]}}
    cross = {**CROSS, "headline": {**CROSS["headline"], "inference": {
        "critical_value_source": "fixed-b null of the t statistic simulated on the observed periods (20000 draws, "
                                 "Bartlett kernel, b = 0.500)"}}}
    v = {x.key: x for x in collect_values(_panel(), DEFN, trends, cross, simulated=True)}
    d = v["trend_slope_p_value"].description
    assert "fixed-b" in d and "Monte Carlo" in d and "1/20001" in d and "at that floor" in d
    assert "(HAC, t)" not in d and v["trend_slope_p_value"].text == "< 0.001"
    assert "bandwidth" in v["trend_hac_lags"].description
    # a simulated p-value above the floor is not said to sit at it
    trends["ols"]["p_values"] = [0.01, 0.01]
    d2 = {x.key: x for x in collect_values(_panel(), DEFN, trends, cross, simulated=True)}["trend_slope_p_value"]
    assert "Monte Carlo" in d2.description and "at that floor" not in d2.description
    # classic Newey-West: a t p-value
    nw = {x.key: x for x in collect_values(_panel(), DEFN, TRENDS, CROSS, simulated=True)}["trend_slope_p_value"]
    assert "Student t" in nw.description and "Monte Carlo" not in nw.description


# ---------------------------------------------------------------------------------------------- \input twice
class TexError(Exception):
    """What LaTeX would stop on."""


_DEFINE = re.compile(r"\\(newcommand|renewcommand|providecommand)\{\\([A-Za-z]+)\}")


def _group(text: str, i: int) -> tuple[str, int]:
    """The brace group opening at text[i] (escaped braces do not count) and the index after it."""
    if i >= len(text) or text[i] != "{":
        raise TexError(f"expected '{{' at {text[i:i + 20]!r}")
    depth, j = 0, i
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0:
            return text[i + 1:j], j + 1
        j += 1
    raise TexError("unbalanced braces")


def tex_input(text: str, macros: dict) -> None:
    """Read values.tex as LaTeX would (for what the file may hold): comments, and macro definitions with
    \\newcommand (an error if the macro exists), \\renewcommand (an error if it does not) and \\providecommand
    (defines only a macro that does not exist). Anything else outside a definition is an error, and so is a bare
    special character in a definition's body."""
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("%"):
            continue
        i = 0
        while i < len(line):
            m = _DEFINE.match(line, i)
            if not m:
                raise TexError(f"line {n}: not a definition: {line[i:i + 40]!r}")
            kind, name = m.groups()
            body, i = _group(line, m.end())
            if re.search(r"(?<!\\)[#$&%_^~]", body):
                raise TexError(f"line {n}: unescaped special character in \\{name}: {body!r}")
            if kind == "newcommand" and name in macros:
                raise TexError(f"line {n}: LaTeX Error: Command \\{name} already defined")
            if kind == "renewcommand" and name not in macros:
                raise TexError(f"line {n}: LaTeX Error: \\{name} undefined")
            if kind != "providecommand" or name not in macros:
                macros[name] = body


def test_values_tex_can_be_input_twice(tmp_path, values):
    vals = list(values.values())
    _, tex = write_values(vals, tmp_path / "v.json", tmp_path / "v.tex", simulated=True)
    text = tex.read_text()
    macros: dict = {}
    tex_input(text, macros)
    first = dict(macros)
    tex_input(text, macros)  # a second \input: no "already defined" error, same values
    assert macros == first
    assert set(macros) == {v.macro for v in vals} | {"StudyDataKind"}
    assert macros["StudyCrossoverEstimateDate"] == "2025-05-21 [SIMULATED DATA]"
    # the check has teeth: the \newcommand file the study wrote before fails on the second input
    old = "\n".join(f"\\newcommand{{\\{k}}}{{{b}}}" for k, b in first.items())
    once: dict = {}
    tex_input(old, once)
    with pytest.raises(TexError, match="already defined"):
        tex_input(old, once)
    with pytest.raises(TexError, match="unescaped"):
        tex_input("\\providecommand{\\StudyX}{}\\renewcommand{\\StudyX}{50%}", {})


def test_text_values_are_words_not_code_names(values):
    assert values["crossover_method"].text == "Fieller"
    trends = {**TRENDS, "mann_kendall": {**TRENDS["mann_kendall"], "primary": "hamed_rao"}}
    assert {v.key: v for v in collect_values(_panel(), DEFN, trends, CROSS, simulated=True)}[
        "mk_primary_method"].text == "Hamed-Rao"
    assert values["definition_measure"].text == "30-day downloads"
    assert values["definition_scope"].text == "all models"
    assert values["crossover_kind"].text == "two rays"
    assert "Hamed-Rao" in values["mk_hamed_rao_p_value"].description
    assert not any("_" in v.text for v in values.values() if isinstance(v.value, str))


LOCAL_CROSS = {
    "definition": TRENDS["definition"], "alpha": 0.05,
    "headline": {"method": "local_linear", "kind": "bounded", "estimate_date": "2025-06-04",
                 "lower_date": "2025-02-05", "upper_date": "2025-07-02", "estimate_t": 22.0, "lower_t": 5.0,
                 "upper_t": 26.0, "pieces_dates": [["2025-02-05", "2025-02-26"], ["2025-05-21", "2025-07-02"]],
                 "open_start": False, "open_end": False, "crossing_dates": ["2025-02-12", "2025-03-05", "2025-06-04"],
                 "underlying_estimate_date": "2025-05-20", "measure_lag_days": 15.0,
                 "settings": {"bandwidth_periods": 6.0, "bandwidth_rule": "0.15 of the periods spanned, at least 6",
                              "noise_ar1_coefficient": 0.52, "noise_window_periods": 4},
                 "definition_spread": {"n_rows": 108, "earliest_date": "2025-05-14", "latest_date": "2025-08-20",
                                       "n_no_estimate": 3},
                 "calibration": {"command": "python -m devtools.validate --preset calibration", "reps": 300,
                                 "seed": 12345, "usable": True, "note": "",
                                 "local_linear_coverage": {"min": 0.9233, "max": 0.9767, "se_max": 0.0154,
                                                           "cells": 16},
                                 "fieller_fixed_b_coverage": {"min": 0.41, "max": 1.0, "se_max": 0.028, "cells": 16},
                                 "after_window_false_claim_max": 0.0133,
                                 "break_size": {"sup_f": {"min": 0.037, "max": 0.063}}}},
    "methods": {"local_linear": {"kind": "bounded", "settings": {"bandwidth_periods": 6.0}},
                "first_passage": {"date": "2025-06-11", "lower_date": "2025-02-05", "upper_date": "2025-07-02"}}}


def test_values_quote_the_calibration_and_the_whole_headline_set(tmp_path):
    v = {x.key: x for x in collect_values(_panel(), DEFN, TRENDS, LOCAL_CROSS, simulated=False)}
    assert v["crossover_method"].text == "local linear"
    assert v["crossover_set_pieces"].text == "2025-02-05 to 2025-02-26 and 2025-05-21 to 2025-07-02"
    assert v["crossover_set_piece_count"].value == 2
    assert v["crossover_all_crossing_dates"].text == "2025-02-12, 2025-03-05, 2025-06-04"
    assert v["crossover_underlying_estimate_date"].value == "2025-05-20"
    assert v["crossover_bandwidth_periods"].text == "6.0" and v["crossover_noise_window_periods"].value == 4
    assert (v["crossover_spread_earliest_date"].value, v["crossover_spread_latest_date"].value) == (
        "2025-05-14", "2025-08-20")
    # coverage figures come from crossover.json's calibration block, formatted, never typed
    assert v["calibration_local_linear_coverage_min"].text == "92.3%"
    assert v["calibration_local_linear_coverage_max"].text == "97.7%"
    assert v["calibration_local_linear_coverage_se_max"].text == "1.5"
    assert "16 scenarios" in v["calibration_local_linear_coverage_min"].description
    assert v["calibration_after_window_false_claim_max"].text == "1.3%"
    assert v["calibration_break_size_sup_f_max"].text == "6.3%"
    assert v["first_passage_lower_date"].value == "2025-02-05"
    _, tex = write_values(list(v.values()), tmp_path / "v.json", tmp_path / "v.tex", simulated=False)
    t = tex.read_text()
    assert "\\renewcommand{\\StudyCalibrationLocalLinearCoverageMin}{92.3\\%}" in t
    assert "\\renewcommand{\\StudyCrossoverSetPieces}{2025-02-05 to 2025-02-26 and 2025-05-21 to 2025-07-02}" in t


def test_values_say_when_the_calibration_file_did_not_match():
    cross = json.loads(json.dumps(LOCAL_CROSS))
    cross["headline"]["calibration"].update(usable=False, note="the calibration file was made with other settings")
    v = {x.key: x for x in collect_values(_panel(), DEFN, TRENDS, cross, simulated=False)}
    assert "other settings" in v["calibration_local_linear_coverage_min"].description
    cross["headline"].pop("calibration")
    v = {x.key: x for x in collect_values(_panel(), DEFN, TRENDS, cross, simulated=False)}
    assert not any(k.startswith("calibration_") for k in v)
