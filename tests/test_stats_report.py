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


def test_trend_readings_state_their_assumptions():
    rep = run_trend_tests(_series(), definition=DEFN, sup_f_reps=0, cusum_reps=499)
    cusum = rep.breaks["cusum"]
    # the design has a trend term, so the CUSUM p-value is simulated on it, not read off the Brownian bridge
    assert cusum.pvalue_method == "simulated" and cusum.mc_reps == 499
    assert rep.as_dict()["breaks"]["cusum"]["mc_reps"] == 499
    r = rep.readings
    assert "499 replicates" in r["break_cusum"] and "over-rejects" in r["break_cusum"]
    assert "Brownian-bridge limit does not apply" in r["break_cusum"]
    assert "logit of the expected share is linear" in r["fractional_logit"]
    assert "classic Newey-West" in r["fractional_logit"] and "no distributional assumption" not in r["fractional_logit"]
    assert "stationary regressors" in r["break_bai_perron"]
    assert "stay honest" not in r["ols"] and "89-92%" in r["ols"]


def test_crossover_readings_say_what_is_estimated():
    rep = estimate_crossover(_series(), bootstrap_reps=100, smoother_reps=50, definition=DEFN)
    r = rep.readings
    assert rep.fieller.kind == "bounded"
    assert r["headline"].startswith("The fitted linear trend of log(CN/US share) crosses zero on ")
    assert "overtakes" not in r["headline"]
    assert "2 missing period(s) are skipped" in r["bootstrap"] and "contiguous" in r["bootstrap"]
    assert "smoothed underlying level" in r["first_passage"] and "complete run of 3" in r["first_passage"]
    assert "last 2 week(s) counts as not yet" in r["first_passage"]


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
def test_estimate_crossover_headline_and_methods(tmp_path):
    rep = estimate_crossover(_series(), k=3, alpha=0.05, bootstrap_reps=300, block_length=None, seed=0,
                             hac_lags=None, simulated=True, definition=DEFN, smoother_reps=100)
    d = json.loads(rep.to_json(tmp_path / "crossover.json").read_text())
    h = d["headline"]
    assert d["simulated"] is True and d["definition"] == DEFN
    assert h["method"] == "fieller" and h["kind"] == "bounded"
    lower, est, upper = (pd.Timestamp(h[k]) for k in ("lower_date", "estimate_date", "upper_date"))
    assert lower < est < upper
    truth = START + pd.Timedelta(weeks=T_STAR)
    assert abs((est - truth).days) <= 21
    assert h["estimate_t"] == pytest.approx(T_STAR, abs=3)
    assert h["within_sample"] is True
    # the headline's inference is fixed-b with the default bandwidth, and says so
    inf = h["inference"]
    assert inf["method"] == "fixed_b" and inf["kernel"] == "bartlett" and inf["bandwidth_b"] == pytest.approx(0.5)
    assert inf["bandwidth_periods"] == inf["hac_lags"] + 1 == 40  # half of the 80 weeks spanned
    assert inf["critical_value"] > 3.0  # far above 1.96: fixed-b, trend design, b = 0.5
    assert "fixed-b" in rep.readings["headline"]
    m = d["methods"]
    assert set(m) == {"fieller", "fieller_nw", "fieller_prewhitened", "delta", "bootstrap", "first_passage"}
    # the classic Newey-West set is narrower (too narrow: it under-covers) and nested in the fixed-b one here
    assert m["fieller"]["lower"] <= m["fieller_nw"]["lower"] < m["fieller_nw"]["upper"] <= m["fieller"]["upper"]
    assert m["bootstrap"]["method"] == "studentized" and m["bootstrap"]["critical"] > 1.96
    assert 0.0 <= m["bootstrap"]["share_no_crossing"] <= 1.0
    assert "date" in m["first_passage"] and 0.0 <= m["first_passage"]["prob_crossed_by_last_period"] <= 1.0
    assert rep.table().shape[0] == 6


def test_estimate_crossover_classic_newey_west_still_available():
    rep = estimate_crossover(_series(), bootstrap_reps=0, smoother_reps=0, definition=DEFN, inference="nw",
                             hac_lags=3)
    inf = rep.headline["inference"]
    assert inf["method"] == "nw" and inf["hac_lags"] == 3 and inf["bandwidth_b"] is None
    assert inf["critical_value"] == pytest.approx(2.0, abs=0.01)  # Student t with 76 df
    assert rep.fieller == rep.fieller_nw


def test_estimate_crossover_reports_no_trend_when_cn_is_not_gaining():
    rep = estimate_crossover(_series(slope=-0.02), bootstrap_reps=0, smoother_reps=0, definition=DEFN)
    h = rep.headline
    assert h["kind"] == "no_trend"
    assert h["estimate_date"] is None and h["lower_date"] is None
    assert "not rising" in rep.readings["headline"]


def test_estimate_crossover_unbounded_when_no_trend_signal():
    rng = np.random.default_rng(4)
    s = _series()
    s["log_ratio"] = 0.001 * s["t"] + 0.3 * rng.standard_normal(N)
    rep = estimate_crossover(s, bootstrap_reps=200, smoother_reps=0, definition=DEFN)
    assert rep.headline["kind"] in ("two_rays", "unbounded", "no_trend")
    assert rep.headline["lower_date"] is None and rep.headline["upper_date"] is None
    d = rep.as_dict()
    assert d["methods"]["fieller"]["upper"] in ("inf", None) or d["headline"]["kind"] == "no_trend"


def test_t_to_date_interpolates_and_extrapolates():
    s = _series()
    assert t_to_date(0.0, s, 7.0) == "2024-07-24"
    assert t_to_date(2.0, s, 7.0) == "2024-08-07"
    assert t_to_date(N - 1 + 4.0, s, 7.0) == (START + pd.Timedelta(weeks=N + 3)).strftime("%Y-%m-%d")
    assert t_to_date(-1.0, s, 7.0) == "2024-07-17"
    assert t_to_date(math.inf, s, 7.0) is None and t_to_date(math.nan, s, 7.0) is None


def test_json_keeps_infinity_visible():
    assert to_jsonable({"a": math.inf, "b": -math.inf, "c": math.nan}) == {"a": "inf", "b": "-inf", "c": None}
    assert from_json_number("inf") == math.inf and math.isnan(from_json_number(None))


# ----------------------------------------------------------------------------------------------- sensitivity
def test_sensitivity_grid_with_the_panel_module():
    grid = sensitivity_grid(_panel(), measures=["downloads_30d", "downloads_alltime_increment"],
                            rules=["lineage", "uploader"], scopes=["all"], ks=(1, 3, 6), hac_lags=(1, 2, 3, 4),
                            bandwidths=(0.5, 1.0))
    assert list(grid.columns) == list(SENSITIVITY_COLUMNS)
    ok = grid[grid["measure"] == "downloads_30d"]
    # per rule: fixed-b fieller + delta per bandwidth, classic + prewhitened fieller per lag, first passage per k
    assert len(ok) == 2 * (2 * 2 + 4 * 2 + 3)
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
                            series_fn=lambda *a, **k: s)
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
    grid = sensitivity_grid(_panel(), measures=["downloads_30d"], rules=["lineage"], scopes=["all", "llm"])
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
    rep = estimate_crossover(_series(), bootstrap_reps=0, smoother_reps=0, definition=DEFN)
    grid = sensitivity_grid(_panel(), measures=["downloads_30d"], rules=["lineage", "uploader"], scopes=["all"])
    table = compare_published(rep, ROOT / "data" / "reference" / "published_estimates.csv", sensitivity=grid)
    assert len(table) == 7
    longpre = table[table["source"].str.startswith("Longpre")].iloc[0]
    assert longpre["matched"].startswith("same definition") and longpre["our_rule"] == "uploader"
    slides = table[table["source"].str.startswith("Lambert 2026")].iloc[0]
    assert slides["agreement"] == "no crossover date claimed"
    assert set(table["agreement"]) <= {"overlaps", "ours_earlier", "ours_later", "no crossover date claimed",
                                       "not comparable: our interval is two_rays",
                                       "not comparable: our interval is unbounded",
                                       "not comparable: our interval is no_trend"}


def test_load_published_names_bad_rows(tmp_path):
    bad = tmp_path / "p.csv"
    bad.write_text(",".join(PUBLISHED_COLUMNS) + "\nA,B,downloads_30d,all,uploader,claim,2025-01-01,,X,\n")
    with pytest.raises(ValueError, match="row 2, column 'verified'"):
        load_published(bad)


# ------------------------------------------------------------------------------------------------ notebooks
@pytest.mark.parametrize("name, params", [
    ("04_trend_tests.ipynb", ["panel_measure", "origin_rule", "panel_scope", "study_frequency", "trends_mk_method",
                              "trends_mk_lag", "trends_hac_lags", "trends_inference", "trends_bandwidth",
                              "trends_fixed_b_null", "simulated"]),
    ("05_crossover.ipynb", ["crossover_k", "crossover_alpha", "crossover_bootstrap_reps", "crossover_block_length",
                            "crossover_bootstrap_method", "crossover_seed", "trends_inference", "trends_bandwidth",
                            "trends_fixed_b_null", "simulated"]),
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
    rep = run_trend_tests(s, definition={**DEFN, "frequency": "monthly"}, sup_f_reps=19)
    d = json.loads(rep.to_json(tmp_path / "t.json").read_text())
    assert d["ols"]["period_days"] == pytest.approx(30.436875)
    assert d["breaks"]["sup_f"]["date"] is not None
    assert pd.Timestamp(d["breaks"]["sup_f"]["date"]).day == 1
