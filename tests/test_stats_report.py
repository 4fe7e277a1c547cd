"""Tests of analysis.stats.report (the functions notebooks 04 and 05 call) and of the two notebooks' form."""

import json
import math
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis.stats.published import PUBLISHED_COLUMNS, compare_published, load_published
from analysis.stats.report import estimate_crossover, run_trend_tests
from analysis.stats.sensitivity import SENSITIVITY_COLUMNS, sensitivity_grid
from analysis.stats.series import check_series, t_to_date
from analysis.stats.crossover import trend_crossing
from analysis.stats.results import from_json_number, to_jsonable

ROOT = Path(__file__).resolve().parent.parent
START = pd.Timestamp("2024-07-24")
N = 80
T_STAR = 40.0  # true crossover: 2024-07-24 + 40 weeks = 2025-04-30


def _log_ratio(slope=0.03, phi=0.4, sigma=0.05, seed=0):
    rng = np.random.default_rng(seed)
    u = np.zeros(N)
    for i in range(1, N):
        u[i] = phi * u[i - 1] + sigma * rng.standard_normal()
    return slope * (np.arange(N) - T_STAR) + u


def _series(slope=0.03, missing=(5, 30), seed=0):
    r = _log_ratio(slope=slope, seed=seed)
    total = 0.6
    cn = total * np.exp(r) / (1 + np.exp(r))
    us = total - cn
    s = pd.DataFrame({"date": pd.date_range(START, periods=N, freq="7D"), "t": np.arange(N, dtype=float),
                      "share_CN": cn, "share_US": us})
    s.loc[list(missing), ["share_CN", "share_US"]] = np.nan
    s["log_ratio"] = np.log(s["share_CN"] / s["share_US"])
    s["diff"] = s["share_CN"] - s["share_US"]
    return s


def _panel():
    """A tidy panel (the lead's format) with two rules; one snapshot date is missing."""
    rows = []
    dates = pd.date_range(START, periods=N, freq="7D")
    for rule, shift in (("lineage", 0.0), ("uploader", 0.5)):
        r = _log_ratio(seed=1) - shift
        cn = 0.6 * np.exp(r) / (1 + np.exp(r))
        for i, d in enumerate(dates):
            if i == 12:
                continue
            for region, share in (("CN", cn[i]), ("US", 0.6 - cn[i]), ("OTHER", 0.4)):
                rows.append({"date": d, "measure": "downloads_30d", "rule": rule, "scope": "all", "region": region,
                             "downloads": share * 1e9, "share": share, "n_models": 10})
    p = pd.DataFrame(rows)
    p["n_models"] = p["n_models"].astype("int64")
    return p


DEFN = {"measure": "downloads_30d", "rule": "lineage", "scope": "all", "frequency": "weekly"}


# -------------------------------------------------------------------------------------------------- trends
def test_run_trend_tests_writes_the_required_json(tmp_path):
    rep = run_trend_tests(_series(), mk_method="hamed_rao", mk_lag=3, hac_lags=None, simulated=True,
                          definition=DEFN, sup_f_reps=99)
    path = rep.to_json(tmp_path / "results" / "trends.json")
    d = json.loads(path.read_text())
    assert d["simulated"] is True
    assert d["definition"] == DEFN
    assert d["n_periods"] == N and d["n_observed"] == N - 2  # missing periods are kept as rows
    assert d["first_date"] == "2024-07-24" and d["last_date"] == "2026-01-28"
    ols = d["ols"]
    assert len(ols["params"]) == 2 and np.array(ols["cov"]).shape == (2, 2) and len(ols["se"]) == 2
    # headline trend: fixed-b, Bartlett bandwidth half of the 80 weeks spanned (39 lags)
    assert ols["inference"] == "fixed_b" and ols["bandwidth_b"] == pytest.approx(0.5) and ols["hac_lags"] == 39
    assert ols["use_correction"] is True
    assert d["ols_nw"]["hac_lags"] == 3 and d["ols_nw"]["inference"] == "nw"  # floor(4 (78/100)^(2/9)) = 3
    assert d["ols_nw"]["params"] == ols["params"]
    assert ols["t0_date"] == "2024-07-24" and ols["period_days"] == 7
    assert ols["params"][1] == pytest.approx(0.03, abs=0.005)
    assert set(d["mann_kendall"]) >= {"original", "hamed_rao", "yue_wang"}
    assert d["mann_kendall"]["primary"] == "hamed_rao"
    assert d["mann_kendall"]["hamed_rao"]["lag"] == 3 and d["mann_kendall"]["yue_wang"]["lag"] == 1
    for key in ("sens_slope", "fractional_logit"):
        assert d[key]["reading"]
    assert set(d["breaks"]) == {"pettitt", "chow", "sup_f", "cusum", "bai_perron"}
    for name, test in d["breaks"].items():
        assert test["reading"], name
    assert d["fractional_logit"]["crossing_t"] == pytest.approx(T_STAR, abs=3)


CAL = {"alpha": 0.05, "reps": 300, "seed": 1, "method": {"settings": None},
       "cells": [{"truth": tr, "n": n, "phi": ph, "reps": 300,
                  "methods": {"local_linear": {"coverage": cov, "coverage_se": 0.012},
                              "fieller_fixed_b": {"coverage": 0.61 if tr != "line" else 0.934, "coverage_se": 0.02}}}
                 for tr in ("line", "release_jump", "s_curve", "saturation") for n in (52, 104)
                 for ph, cov in ((0.5, 0.951), (0.8, 0.927))],
       "after_window": [{"n": 52, "phi": 0.5, "false_claim": 0.013}],
       "break_size": [{"n": 52, "phi": 0.5, "sup_f": 0.047, "sup_f_iid": 0.91, "cusum": 0.05, "pettitt": 0.04,
                       "chow": 0.06}]}


def _cal():
    from analysis.stats.readings import current_settings

    return {**CAL, "method": {"settings": current_settings()}}


def test_trend_readings_state_their_assumptions():
    rep = run_trend_tests(_series(), definition=DEFN, sup_f_reps=0, cusum_reps=499, break_reps=199,
                          calibration=_cal())
    cusum = rep.breaks["cusum"]
    # the design has a trend term, so the CUSUM p-value is simulated on it, not read off the Brownian bridge, with
    # the series' own noise model, calibrated
    assert cusum.pvalue_method == "calibrated noise-model bootstrap" and cusum.mc_reps == 499
    d = rep.as_dict()
    assert d["breaks"]["cusum"]["mc_reps"] == 499
    # every break test's null uses the fitted noise model, and the JSON says which p-value came from which null
    assert d["break_null"]["window_periods"] == 4 and 0 <= d["break_null"]["ar1_coefficient"] < 1
    assert set(d["breaks"]["pettitt"]["p_values_by_null"]) == {"calibrated", "fitted", "iid"}
    r = rep.readings
    assert "p-value simulated on this design with AR(1) noise" in r["break_cusum"]
    assert "calibrated by a double bootstrap" in r["break_cusum"]
    assert "averaged over the measure's 4-week window" in r["break_cusum"]
    # sizes are quoted from the calibration file, never typed
    assert "4.7%-4.7%" in r["break_sup_f"] and "91.0%" in r["break_sup_f"]
    assert "logit of the expected share is linear" in r["fractional_logit"]
    assert "classic Newey-West" in r["fractional_logit"]
    # sup-F was not run (0 draws): Bai-Perron is not reported
    assert "not reported" in r["break_bai_perron"] and d["breaks"]["bai_perron"]["breaks_reported"] == 0
    assert "93.4%-93.4%" in r["ols"] and "straight line" in r["ols"]


def test_trend_readings_say_when_coverage_is_unmeasured():
    rep = run_trend_tests(_series(), definition=DEFN, sup_f_reps=0, cusum_reps=99, break_reps=99, calibration={})
    assert "no measured coverage yet" in rep.readings["ols"]
    assert "size has not been measured" in rep.readings["break_pettitt"]


def test_break_tests_do_not_reject_a_persistent_straight_line_where_iid_nulls_do():
    # a straight line plus AR(1) 0.8 noise seen through a 4-week window: no break
    from analysis.simulate.shapes import TruthShape, observe

    rng = np.random.default_rng(17)
    y = observe(rng, TruthShape("line", N), phi=0.8, sigma=0.1)
    s = _series()
    s["log_ratio"] = y
    rep = run_trend_tests(s, definition=DEFN, sup_f_reps=199, cusum_reps=199, break_reps=199, chow_date=None,
                          calibration={})
    pv = rep.break_p_values
    assert pv["sup_f"]["iid"] < 0.05 < rep.breaks["sup_f"].p_value  # iid null: a false break; ours: none
    assert rep.breaks["sup_f"].p_value == pv["sup_f"]["calibrated"]
    assert rep.bai_perron_reported is False and rep.break_dates["bai_perron"] == []


def test_break_tests_find_a_release_jump():
    from analysis.simulate.shapes import TruthShape, observe

    y = observe(np.random.default_rng(3), TruthShape("release_jump", N, jump=0.6), phi=0.5, sigma=0.05)
    s = _series()
    s["log_ratio"] = y
    rep = run_trend_tests(s, definition=DEFN, sup_f_reps=199, cusum_reps=199, break_reps=199, chow_date=None,
                          calibration={})
    assert rep.breaks["sup_f"].p_value < 0.05 and rep.bai_perron_reported
    jump = START + pd.Timedelta(weeks=0.4 * (N - 1))
    assert abs((pd.Timestamp(rep.break_dates["sup_f"]) - jump).days) <= 6 * 7


def test_run_trend_tests_accepts_negative_lag_as_default_rule():
    a = run_trend_tests(_series(), hac_lags=-1, definition=DEFN, sup_f_reps=0)
    b = run_trend_tests(_series(), hac_lags=None, definition=DEFN, sup_f_reps=0)
    assert a.ols == b.ols and a.ols_nw == b.ols_nw
    assert run_trend_tests(_series(), hac_lags=1, definition=DEFN, sup_f_reps=0).ols_nw.hac_lags == 1
    assert run_trend_tests(_series(), hac_lags=1, inference="nw", definition=DEFN, sup_f_reps=0).ols.hac_lags == 1


def test_check_series_names_missing_columns():
    with pytest.raises(ValueError, match="lacks columns \\['log_ratio', 'diff'\\]"):
        check_series(_series().drop(columns=["log_ratio", "diff"]))


# ------------------------------------------------------------------------------------------------ crossover
@pytest.fixture(scope="module")
def report():
    return estimate_crossover(_series(), k=3, alpha=0.05, bootstrap_reps=300, seed=0, simulated=True,
                              definition=DEFN, smoother_reps=400, calibration=_cal())


def test_estimate_crossover_headline_is_the_local_linear_set(report, tmp_path):
    d = json.loads(report.to_json(tmp_path / "crossover.json").read_text())
    h = d["headline"]
    assert d["simulated"] is True and d["definition"] == DEFN
    assert h["method"] == "local_linear" and h["kind"] == "bounded"
    lower, est, upper = (pd.Timestamp(h[k]) for k in ("lower_date", "estimate_date", "upper_date"))
    assert lower < est < upper
    truth = START + pd.Timedelta(weeks=T_STAR)
    assert abs((est - truth).days) <= 21
    assert h["estimate_t"] == pytest.approx(T_STAR, abs=3) and h["lower_t"] < T_STAR < h["upper_t"]
    # the whole set, every crossing, the rule that picks the headline
    assert h["pieces_t"] == [[h["lower_t"], h["upper_t"]]]
    assert h["pieces_dates"] == [[h["lower_date"], h["upper_date"]]]
    assert h["crossing_directions"][-1] == 1 and h["crossing_dates"][-1] == h["estimate_date"]
    assert "last upward crossing" in h["headline_rule"]
    # the 30-day count lags daily downloads by about 15 days: the shifted date is given
    assert h["measure_lag_days"] == 15.0
    assert (est - pd.Timestamp(h["underlying_estimate_date"])).days == 15
    # the settings of every method are recorded (issue 10)
    st = d["settings"]
    assert st["local_linear"]["bandwidth_periods"] == pytest.approx(12.0)  # 0.15 x 80 periods
    assert st["local_linear"]["noise_window_periods"] == 4 and st["local_linear"]["null_draws"] == 400
    assert st["fieller"]["bandwidth_b"] == pytest.approx(0.5) and st["fieller"]["hac_lags"] == 39
    assert st["fieller_nw"]["hac_lags"] == 3 and st["bootstrap"]["block_length"] == 5  # ceil(78^(1/3))
    assert st["first_passage"]["k"] == 3
    m = d["methods"]
    for name, entry in m.items():
        assert "settings" in entry, name
    assert set(m) == {"local_linear", "fieller", "fieller_nw", "fieller_prewhitened", "delta", "bootstrap",
                      "first_passage"}
    for name in ("fieller", "fieller_nw", "fieller_prewhitened", "delta", "bootstrap"):
        assert m[name]["assumes"] == "one straight line over the window"
    assert len(m["local_linear"]["path"]["t"]) == len(m["local_linear"]["path"]["fitted"]) > 4 * (N - 2)
    # the straight-line fixed-b set is still there, around the classic NW one
    assert m["fieller"]["lower"] <= m["fieller_nw"]["lower"] < m["fieller_nw"]["upper"] <= m["fieller"]["upper"]
    assert m["bootstrap"]["method"] == "studentized" and m["bootstrap"]["critical"] > 1.96
    assert report.table().shape[0] == 7


def test_first_passage_interval_comes_from_the_headline_set(report):
    fp = report.first_passage
    h = report.headline
    assert fp.interval_source.startswith("the headline local-linear set")
    assert fp.lower_index >= h["lower_t"] > fp.lower_index - 1  # t = grid position here (no leading gap)
    assert fp.upper_index >= h["upper_t"] > fp.upper_index - 1


def test_crossover_readings_say_what_is_estimated_and_quote_the_calibration(report):
    r = report.readings
    assert r["headline"].startswith("CN's share overtook the US share on " + report.headline["estimate_date"])
    assert "noise-free CN and US shares of 30-day downloads" in r["headline"]
    assert "about 15 days earlier: " + report.headline["underlying_estimate_date"] in r["headline"]
    assert "No straight line is assumed" in r["headline"]
    assert "92.7%-95.1%" in r["headline"]  # from the calibration dict, not typed
    assert "ASSUMES ONE STRAIGHT LINE" in r["fieller"] and "93.4%-93.4%" in r["fieller"]
    assert "61.0%-93.4%" in r["fieller"]
    assert "2 missing period(s) are skipped" in r["bootstrap"] and "contiguous" in r["bootstrap"]
    assert "OBSERVED" in r["first_passage"] and "was dropped" in r["first_passage"]
    assert "per week" in r["headline"]


def test_spread_across_definitions_goes_next_to_the_interval(report):
    grid = pd.DataFrame({"method": ["local_linear"] * 4 + ["fieller"],
                         "estimate_date": ["2025-04-23", "2025-06-04", None, None, "2024-01-01"],
                         "kind": ["bounded", "unbounded", "bounded", "no_data", "bounded"]})
    rep = report.with_spread(grid)
    sp = rep.headline["definition_spread"]
    assert (sp["n_rows"], sp["n_with_estimate"], sp["n_no_estimate"], sp["n_no_data"]) == (3, 2, 1, 1)
    assert (sp["earliest_date"], sp["latest_date"]) == ("2025-04-23", "2025-06-04")  # the fieller row is not used
    text = rep.readings["headline"]
    assert text.startswith(report.readings["headline"])
    assert "ranges from 2025-04-23 to 2025-06-04; 1 of them give no overtaking date" in text
    assert "1 other definition(s) could not be estimated" in text
    assert rep.as_dict()["headline"]["definition_spread"] == sp


def test_estimate_crossover_classic_newey_west_still_available():
    rep = estimate_crossover(_series(), bootstrap_reps=0, smoother_reps=200, definition=DEFN, inference="nw",
                             hac_lags=3, calibration={})
    inf = rep.headline["inference"]
    assert inf["method"] == "nw" and inf["hac_lags"] == 3 and inf["bandwidth_b"] is None
    assert inf["critical_value"] == pytest.approx(2.0, abs=0.01)  # Student t with 76 df
    assert rep.fieller == rep.fieller_nw
    assert rep.headline["method"] == "local_linear"  # the inference option concerns the straight-line sets


def test_estimate_crossover_reports_no_crossing_when_cn_is_always_behind():
    s = _series()
    s["log_ratio"] = s["log_ratio"] - 3.0  # far below zero throughout
    rep = estimate_crossover(s, bootstrap_reps=0, smoother_reps=200, definition=DEFN, calibration={})
    h = rep.headline
    assert h["kind"] == "no_crossing" and h["ahead_at_end"] == "US" and h["pieces_t"] == []
    assert h["estimate_date"] is None and h["lower_date"] is None and h["estimate_t"] is None
    assert "exclude a crossing" in rep.readings["headline"]
    assert "the US is ahead throughout" in rep.readings["headline"]


def test_estimate_crossover_when_cn_falls_behind_gives_no_overtaking_date():
    rep = estimate_crossover(_series(slope=-0.02), bootstrap_reps=0, smoother_reps=200, definition=DEFN,
                             calibration={})
    h = rep.headline
    assert h["crossing_directions"] == [-1] and h["crossings_t"][0] == pytest.approx(T_STAR, abs=4)
    assert h["estimate_t"] is None and h["ahead_at_end"] == "US"
    assert h["kind"] == "bounded" and h["lower_t"] < h["crossings_t"][0] < h["upper_t"]
    assert "does not end with CN ahead" in rep.readings["headline"]
    assert rep.dates["fieller"]["kind"] == "no_trend"  # the straight line is falling
    assert "not rising" in rep.readings["fieller"]


def test_estimate_crossover_open_set_when_the_data_cannot_date_it():
    rng = np.random.default_rng(4)
    s = _series()
    s["log_ratio"] = 0.001 * (s["t"] - 40) + 0.3 * rng.standard_normal(N)
    rep = estimate_crossover(s, bootstrap_reps=0, smoother_reps=200, definition=DEFN, calibration={})
    h = rep.headline
    assert h["kind"] in ("two_rays", "unbounded")
    assert h["lower_date"] is None or h["upper_date"] is None
    assert h["open_start"] or h["open_end"]


def test_estimate_crossover_reports_every_crossing_and_the_last_upward_one():
    from analysis.simulate.shapes import TruthShape

    tr = TruthShape("two_crossings", N)
    s = _series()
    s["log_ratio"] = tr.measure(s["t"].to_numpy(), 4) + 0.005 * np.random.default_rng(1).standard_normal(N)
    s.loc[[5, 30], "log_ratio"] = np.nan
    rep = estimate_crossover(s, bootstrap_reps=0, smoother_reps=200, definition=DEFN, calibration={})
    h = rep.headline
    assert h["crossing_directions"] == [1, -1, 1]
    assert h["estimate_t"] == pytest.approx(h["crossings_t"][-1])
    assert len(h["pieces_t"]) == 3  # one piece around each crossing, reported whole
    assert h["lower_t"] == h["pieces_t"][0][0] and h["upper_t"] == h["pieces_t"][-1][1]
    assert "crosses 3 times" in rep.readings["headline"]


def test_daily_series_uses_days_in_readings_and_its_own_window():
    n = 120
    s = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=n, freq="D"), "t": np.arange(n, dtype=float)})
    r = 0.01 * (s["t"] - 70) + 0.02 * np.random.default_rng(2).standard_normal(n)
    s["share_CN"] = 0.6 / (1 + np.exp(-r))
    s["share_US"] = 0.6 - s["share_CN"]
    s["log_ratio"], s["diff"] = r, s["share_CN"] - s["share_US"]
    rep = estimate_crossover(s, bootstrap_reps=0, smoother_reps=200,
                             definition={**DEFN, "frequency": "daily"}, calibration={})
    assert rep.period_days == 1.0 and rep.local.window == 30  # a 30-day count sampled daily overlaps 30 days
    assert "per day" in rep.readings["headline"] and "week" not in rep.readings["headline"]
    assert abs(rep.headline["estimate_t"] - 70) < 10


def test_t_to_date_interpolates_and_extrapolates():
    s = _series()
    assert t_to_date(0.0, s, 7.0) == "2024-07-24"
    assert t_to_date(2.0, s, 7.0) == "2024-08-07"
    assert t_to_date(N - 1 + 4.0, s, 7.0) == (START + pd.Timedelta(weeks=N + 3)).strftime("%Y-%m-%d")
    assert t_to_date(-1.0, s, 7.0) == "2024-07-17"
    assert t_to_date(math.inf, s, 7.0) is None and t_to_date(math.nan, s, 7.0) is None


def test_t_to_date_never_raises_on_far_dates():
    s = _series()
    # a two-rays gap end can be centuries away (issue 11: year -342 aborted notebook 05)
    assert t_to_date(-123456.0, s, 7.0) == "before 1900-01-01"
    assert t_to_date(1e12, s, 7.0) == "after 2100-12-31"
    assert t_to_date(1e308, s, 30.0) == "after 2100-12-31"


def test_json_keeps_infinity_visible():
    assert to_jsonable({"a": math.inf, "b": -math.inf, "c": math.nan}) == {"a": "inf", "b": "-inf", "c": None}
    assert from_json_number("inf") == math.inf and math.isnan(from_json_number(None))


# ----------------------------------------------------------------------------------------------- sensitivity
def test_sensitivity_grid_with_the_panel_module():
    grid = sensitivity_grid(_panel(), measures=["downloads_30d", "downloads_alltime_increment"],
                            rules=["lineage", "uploader"], scopes=["all"], ks=(1, 3, 6), hac_lags=(1, 2, 3, 4),
                            bandwidths=(0.5, 1.0), local_reps=200, start_offsets=(0, 12),
                            bandwidth_factors=(1.0, 2.0))
    assert list(grid.columns) == list(SENSITIVITY_COLUMNS)
    ok = grid[grid["measure"] == "downloads_30d"]
    # per rule: local-linear per window start (2) and other bandwidth (1), fixed-b fieller + delta per bandwidth,
    # classic + prewhitened fieller per lag, first passage per k
    assert len(ok) == 2 * (2 + 1 + 2 * 2 + 4 * 2 + 3)
    loc = ok[(ok["method"] == "local_linear") & (ok["rule"] == "lineage")]
    assert loc["start_offset_months"].tolist() == [0, 12, 0]
    assert loc["start_date"].tolist()[:2] == ["2024-07-24", "2025-07-30"]
    assert loc["n_periods"].tolist()[:2] == [N, N - 53]  # the window restarts 12 months later
    full = loc[loc["start_offset_months"] == 0]
    assert full["bandwidth_periods"].tolist() == pytest.approx([12.0, 24.0])  # the rule, doubled
    assert (loc["kind"] != "no_data").all() and loc["pieces_dates"].map(json.loads).map(len).ge(0).all()
    head = full.iloc[0]
    assert pd.Timestamp(head["estimate_date"]) == pytest.approx(START + pd.Timedelta(weeks=T_STAR),
                                                                abs=pd.Timedelta(weeks=4))
    fb = ok[(ok["method"] == "fieller") & (ok["rule"] == "lineage")]
    assert (fb["inference"] == "fixed_b").all() and fb["bandwidth_b"].tolist() == [0.5, 1.0]
    assert fb["hac_lag"].tolist() == [39, 79]  # Bartlett bandwidth b * 80 periods, minus one
    nw = ok[(ok["method"] == "fieller_nw") & (ok["rule"] == "lineage")]
    assert nw["hac_lag"].tolist() == [1, 2, 3, 4] and (nw["inference"] == "nw").all()
    assert (fb["critical"] > nw["critical"].max()).all()
    missing = grid[grid["measure"] == "downloads_alltime_increment"]
    assert (missing["kind"] == "no_data").all() and len(missing) == 2
    lineage = ok[(ok["rule"] == "lineage") & (ok["method"] == "fieller")]
    assert (lineage["kind"] == "bounded").all()
    assert int(lineage["n_periods"].iloc[0]) == N and int(lineage["n_observed"].iloc[0]) == N - 1
    # the uploader series is shifted down by 0.5 on the log scale: its crossover is later
    up = ok[(ok["rule"] == "uploader") & (ok["method"] == "fieller") & (ok["bandwidth_b"] == 0.5)]
    lin = lineage[lineage["bandwidth_b"] == 0.5]
    assert pd.Timestamp(up["estimate_date"].iloc[0]) > pd.Timestamp(lin["estimate_date"].iloc[0])
    fp = ok[ok["method"] == "first_passage"]
    assert sorted(fp["k"].dropna().unique().tolist()) == [1, 3, 6]


def test_sensitivity_grid_stores_the_gap_of_two_rays_sets():
    s = _series()
    s["log_ratio"] = -1.0 + 0.004 * s["t"] + 0.5 * np.random.default_rng(2).standard_normal(N)
    grid = sensitivity_grid(pd.DataFrame(), measures=["m"], rules=["r"], scopes=["s"], bandwidths=(0.5,),
                            series_fn=lambda *a, **k: s, start_offsets=(0,), bandwidth_factors=(1.0,),
                            local_reps=200)
    fie = grid[grid["method"].str.startswith("fieller")]
    rays, bounded = fie[fie["kind"] == "two_rays"], fie[fie["kind"] == "bounded"]
    assert len(rays) and len(bounded)  # this series gives both kinds over the HAC lags
    assert (rays["gap_lower_t"] < rays["gap_upper_t"]).all() and rays["gap_lower_date"].notna().all()
    assert np.isinf(rays["lower_t"]).all() and np.isinf(rays["upper_t"]).all()
    assert bounded["gap_lower_t"].isna().all() and bounded["gap_upper_date"].isna().all()
    lag = int(rays[rays["method"] == "fieller_nw"]["hac_lag"].iloc[0])
    ref = trend_crossing(s["log_ratio"].to_numpy(), s["t"].to_numpy(), inference="nw", hac_lags=lag).fieller
    row = rays[(rays["method"] == "fieller_nw") & (rays["hac_lag"] == lag)].iloc[0]
    assert ref.kind == "two_rays" and (row["gap_lower_t"], row["gap_upper_t"]) == pytest.approx(ref.gap)


def test_sensitivity_grid_parquet_roundtrip(tmp_path):
    grid = sensitivity_grid(_panel(), measures=["downloads_30d"], rules=["lineage"], scopes=["all", "llm"],
                            start_offsets=(0, 12), bandwidth_factors=(1.0,), local_reps=200)
    grid.to_parquet(tmp_path / "g.parquet")
    back = pd.read_parquet(tmp_path / "g.parquet")
    assert len(back) == len(grid)


# ----------------------------------------------------------------------------------------------- published
def test_published_estimates_file_is_valid():
    df = load_published(ROOT / "data" / "reference" / "published_estimates.csv")
    assert list(df.columns[:len(PUBLISHED_COLUMNS)]) == list(PUBLISHED_COLUMNS)
    assert len(df) == 7
    assert set(df["verified"]) <= {"V", "S"}


def test_compare_published_sets_estimates_side_by_side():
    rep = estimate_crossover(_series(), bootstrap_reps=0, smoother_reps=200, definition=DEFN, calibration={})
    grid = sensitivity_grid(_panel(), measures=["downloads_30d"], rules=["lineage", "uploader"], scopes=["all"],
                            local_reps=200)
    table = compare_published(rep, ROOT / "data" / "reference" / "published_estimates.csv", sensitivity=grid)
    assert len(table) == 7
    longpre = table[table["source"].str.startswith("Longpre")].iloc[0]
    assert longpre["matched"].startswith("same definition (local-linear") and longpre["our_rule"] == "uploader"
    ours = grid[(grid["method"] == "local_linear") & (grid["rule"] == "uploader")
                & (grid["start_offset_months"] == 0)].sort_values("bandwidth_periods").iloc[1]
    assert longpre["our_estimate_date"] == ours["estimate_date"]  # the full window at the headline bandwidth
    slides = table[table["source"].str.startswith("Lambert 2026")].iloc[0]
    assert slides["agreement"] == "no crossover date claimed"
    assert set(table["agreement"]) <= {"overlaps", "ours_earlier", "ours_later", "no crossover date claimed",
                                       "not comparable: our interval is two_rays",
                                       "not comparable: our interval is unbounded",
                                       "not comparable: our interval is no_trend",
                                       "not comparable: our interval is no_crossing"}


def test_load_published_names_bad_rows(tmp_path):
    bad = tmp_path / "p.csv"
    bad.write_text(",".join(PUBLISHED_COLUMNS) + "\nA,B,downloads_30d,all,uploader,claim,2025-01-01,,X,\n")
    with pytest.raises(ValueError, match="row 2, column 'verified'"):
        load_published(bad)


# ------------------------------------------------------------------------------------------------ notebooks
@pytest.mark.parametrize("name, params", [
    ("04_trend_tests.ipynb", ["panel_measure", "origin_rule", "panel_scope", "study_frequency", "trends_mk_method",
                              "trends_mk_lag", "trends_hac_lags", "trends_inference", "trends_bandwidth",
                              "trends_fixed_b_null", "trends_break_reps", "simulated"]),
    ("05_crossover.ipynb", ["crossover_k", "crossover_alpha", "crossover_bootstrap_reps", "crossover_block_length",
                            "crossover_bootstrap_method", "crossover_seed", "trends_inference", "trends_bandwidth",
                            "trends_fixed_b_null", "crossover_local_bandwidth", "crossover_local_reps",
                            "crossover_start_offsets", "simulated"]),
])
def test_notebook_conventions(name, params):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    assert nb.nbformat == 4
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("#")
    cell = nb.cells[1]
    assert cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", [])
    for p in params:
        assert f"{p}:" in cell.source, p
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None
            assert "\ndef " not in "\n" + c.source and "\nclass " not in "\n" + c.source


def test_monthly_series_dates_and_break_dates_in_json(tmp_path):
    s = _series()
    s["date"] = pd.date_range("2024-08-01", periods=N, freq="MS")
    assert t_to_date(1.5, s, 365.2425 / 12) == "2024-09-16"  # halfway between 1 Sep and 1 Oct
    rep = run_trend_tests(s, definition={**DEFN, "frequency": "monthly"}, sup_f_reps=19, cusum_reps=99,
                          break_reps=99, calibration={})
    d = json.loads(rep.to_json(tmp_path / "t.json").read_text())
    assert d["ols"]["period_days"] == pytest.approx(30.436875)
    assert d["breaks"]["sup_f"]["date"] is not None
    assert pd.Timestamp(d["breaks"]["sup_f"]["date"]).day == 1


def test_with_definitions_puts_scopes_and_the_other_reading_beside_the_headline(report, tmp_path):
    """All models, generative models and the trackers' scope side by side, and the contested origins read the
    other way, from the grid's headline-method rows at the headline's bandwidth on the full window."""
    from analysis.figures.values import definition_values

    bw = report.settings["local_linear"]["bandwidth_periods"]
    base = {"measure": "downloads_30d", "method": "local_linear", "start_offset_months": 0, "kind": "bounded",
            "open_start": False, "open_end": False}
    grid = pd.DataFrame([
        {**base, "rule": "lineage", "scope": "llm", "bandwidth_periods": bw, "estimate_date": "2025-03-05",
         "lower_date": "2025-02-01", "upper_date": "2025-04-01", "pieces_dates": '[["2025-02-01", "2025-04-01"]]'},
        {**base, "rule": "lineage", "scope": "llm", "bandwidth_periods": 2 * bw, "estimate_date": "2026-01-01"},
        {**base, "rule": "lineage", "scope": "llm", "bandwidth_periods": bw, "start_offset_months": 3,
         "estimate_date": "2026-02-01"},
        {**base, "rule": "lineage_alt", "scope": "all", "bandwidth_periods": bw, "estimate_date": "2025-06-10",
         "lower_date": None, "upper_date": None, "kind": "unbounded", "open_start": True, "open_end": True},
    ])
    rep = report.with_definitions(grid, contested_accounts=["sentence-transformers", "intfloat"])
    h = rep.headline
    assert h["by_scope"]["all"]["estimate_date"] == report.headline["estimate_date"]  # the headline itself
    assert (h["by_scope"]["llm"]["estimate_date"], h["by_scope"]["llm"]["upper_date"]) == ("2025-03-05", "2025-04-01")
    assert h["by_scope"]["first_party_llm"]["kind"] == "no_data"
    assert h["other_reading"]["rule"] == "lineage_alt" and h["other_reading"]["kind"] == "unbounded"
    assert "generative models" in rep.readings["scopes"] and "2025-03-05" in rep.readings["scopes"]
    assert "sentence-transformers" in rep.readings["contested"] and "unbounded" in rep.readings["contested"]
    doc = json.loads(rep.to_json(tmp_path / "c.json").read_text())
    assert doc["headline"]["scopes_reading"] == rep.readings["scopes"]
    vals = {v.key: v for v in definition_values(doc)}
    assert vals["crossover_scope_llm_estimate_date"].value == "2025-03-05"
    assert vals["crossover_other_reading_upper_date"].text == "open"
    assert vals["crossover_scope_first_party_llm_estimate_date"].value is None
