"""The crossing of cumulative CN and US downloads: known answers and coverage on worlds unlike a straight line."""

import numpy as np
import pandas as pd
import pytest

from analysis.stats.cumulative import cumulative_crossing, increments_by_region, last_crossing

START = pd.Timestamp("2024-01-07")


def _frame(cn, us):
    dates = pd.date_range(START + pd.Timedelta(days=7), periods=len(cn), freq="7D")
    return pd.DataFrame({"date": dates, "start": dates - pd.Timedelta(days=7), "CN": cn, "US": us})


def test_last_crossing_interpolates_and_ignores_undone_leads():
    t = np.arange(6.0)
    assert last_crossing(t, np.array([0.0, -2.0, -1.0, 1.0, 3.0, 5.0])) == pytest.approx(2.5)
    # an early lead that was lost does not count: the last passage does
    assert last_crossing(t, np.array([0.0, 1.0, -1.0, -3.0, 1.0, 2.0])) == pytest.approx(3.75)
    assert last_crossing(t, np.array([0.0, -1.0, -2.0, -1.0, -0.5, -0.1])) is None


def test_noise_free_crossing_is_exact():
    # CN gains 10 + 2k per week, US 40: cumulative difference sum_{k=1..m} (2k - 30) = m(m+1) - 30m = m(m - 29),
    # zero at m = 29 weeks: the crossing is the 29th week's end (interpolated between weeks 29 and 30)
    k = np.arange(1, 61, dtype=float)
    res = cumulative_crossing(_frame(10 + 2 * k, np.full(60, 40.0)), reps=200, seed=1)
    assert res.kind in ("bounded", "unbounded")
    assert pd.Timestamp(res.estimate_date) == START + pd.Timedelta(days=7 * 29)
    assert res.bracket == ((START + pd.Timedelta(days=7 * 29)).strftime("%Y-%m-%d"),
                           (START + pd.Timedelta(days=7 * 30)).strftime("%Y-%m-%d"))
    assert res.ahead_at_end == "CN"
    assert res.cn_total == pytest.approx(float((10 + 2 * k).sum()))


def test_us_still_ahead_is_no_crossing_and_says_so():
    k = np.arange(1, 41, dtype=float)
    res = cumulative_crossing(_frame(10 + k, np.full(40, 60.0)), reps=200, seed=1)
    assert res.kind == "no_crossing" and res.estimate_date is None and res.ahead_at_end == "US"
    assert "still ahead" in res.reading()


def test_bad_input_is_refused():
    k = np.arange(1, 21, dtype=float)
    with pytest.raises(ValueError, match="non-negative"):
        cumulative_crossing(_frame(-k, k), reps=200)
    with pytest.raises(ValueError, match="at least 8 periods"):
        cumulative_crossing(_frame(k[:5], k[:5]), reps=200)
    with pytest.raises(ValueError, match="reps"):
        cumulative_crossing(_frame(k, k), reps=10)


def test_increments_by_region_scales_by_weeks_elapsed():
    rows = []
    dates = pd.to_datetime(["2025-01-05", "2025-01-12", "2025-01-26"])   # a missing week before the third
    for d, cn, us in zip(dates, [np.nan, 100.0, 50.0], [np.nan, 200.0, 80.0]):
        for region, v in (("CN", cn), ("US", us)):
            rows.append({"date": d, "measure": "downloads_alltime_increment", "rule": "lineage", "scope": "all",
                         "region": region, "downloads": v})
    inc = increments_by_region(pd.DataFrame(rows), "lineage", "all")
    assert list(inc["CN"]) == [100.0, 100.0]          # 50 a week over two weeks
    assert list(inc["US"]) == [200.0, 160.0]
    with pytest.raises(ValueError, match="all-time counters"):
        increments_by_region(pd.DataFrame(rows), "uploader", "all")


def _world(shape, n, phi, rng):
    x = np.linspace(0, 1, n)
    total = 1e7 * (1 + x)
    cs = {"jump": 0.18 + 0.2 * x + 0.25 * (x > 0.4), "saturating": 0.15 + 0.55 * (1 - np.exp(-3 * x))}[shape]
    cn, us = total * cs, total * (0.75 - cs)

    def ar():   # AR(1) with innovation sd 0.08, stationary start
        e = np.empty(n)
        e[0] = rng.normal() * 0.08 / np.sqrt(1 - phi ** 2)
        for i in range(1, n):
            e[i] = phi * e[i - 1] + rng.normal() * 0.08
        return e

    market = ar()   # noise shared by both regions (a busy week for everyone) plus each region's own
    return cn, us, cn * np.exp(market + ar()), us * np.exp(market + ar())


@pytest.mark.parametrize("shape", ["jump", "saturating"])
def test_interval_covers_the_noise_free_crossing_on_hard_worlds(shape):
    """Coverage of the noise-free cumulative crossing (not of the estimator's own model: the shares jump at a
    release or saturate; the noise is persistent and shared). 60 worlds, n = 104, AR 0.5: at least 0.88."""
    rng = np.random.default_rng(7)
    covered, n = 0, 104
    for r in range(60):
        cn, us, cn_obs, us_obs = _world(shape, n, 0.5, rng)
        truth = last_crossing(np.arange(n + 1.0), np.concatenate([[0.0], np.cumsum(cn - us)]))
        res = cumulative_crossing(_frame(cn_obs, us_obs), reps=300, seed=r)
        true_date = START + pd.Timedelta(days=7 * truth)
        lo = pd.Timestamp(res.lower_date)
        hi = pd.Timestamp(res.upper_date) if res.upper_date else pd.Timestamp.max
        covered += lo <= true_date <= hi
        assert lo <= pd.Timestamp(res.estimate_date) <= hi      # the set holds its own estimate
    assert covered / 60 >= 0.88


def test_panel_without_counters_gives_a_reason_not_an_error():
    from analysis.stats.cumulative import cumulative_from_panel
    panel = pd.DataFrame({"date": pd.to_datetime(["2025-01-05"]), "measure": ["downloads_30d"], "rule": ["lineage"],
                          "scope": ["all"], "region": ["CN"], "downloads": [1.0]})
    res = cumulative_from_panel(panel, "lineage", "all", reps=200)
    assert res.kind == "no_data" and "all-time counters" in res.reading()


def test_truth_check_and_conclusion_read_the_results():
    from analysis.simulate.hub import truth_check, truth_reading
    from analysis.stats.readings import conclusion

    cross = {"definition": {"measure": "downloads_30d", "rule": "lineage", "scope": "all"},
             "headline": {"estimate_date": "2025-07-20", "lower_date": "2025-05-26", "upper_date": "2025-09-14",
                          "kind": "bounded",
                          "definition_spread": {"n_rows": 48, "earliest_date": "2025-07-01",
                                                "latest_date": "2025-12-08", "n_no_estimate": 3},
                          "by_scope": {"llm": {"estimate_date": "2025-08-27", "lower_date": "2025-08-02",
                                               "upper_date": "2025-09-19", "kind": "bounded"}},
                          "cumulative": {"kind": "bounded", "estimate_date": "2025-10-28", "start_date": "2025-03-01",
                                         "lower_date": "2025-10-01", "upper_date": "2025-11-20"}}}
    check = truth_check(cross, {"crossover_date": "2025-07-16", "crossover_definition": "x"})
    assert check["error_weeks"] == 0.57 and check["truth_inside_interval"] is True
    assert "inside" in truth_reading(check) and "0.6 weeks late" in truth_reading(check)
    far = truth_check(cross, {"crossover_date": "2025-10-01"})
    assert far["truth_inside_interval"] is False and "OUTSIDE" in truth_reading(far)
    text = conclusion(cross, simulated=True)
    assert text.startswith("These are simulated data")
    for date in ("2025-07-20", "2025-05-26", "2025-09-14", "2025-07-01", "2025-12-08", "2025-08-27", "2025-10-28"):
        assert date in text
    assert "3 of them show no overtaking yet" in text
    gone = {**cross, "headline": {"estimate_date": None, "kind": "no_crossing"}}
    assert "do not show models of Chinese origin ahead" in conclusion(gone)


def test_the_coverage_tool_writes_its_rows_and_settings_and_the_committed_file_is_its_output(tmp_path):
    """The measured coverage of the cumulative crossing is read from a file the tool writes, never typed."""
    import json
    from pathlib import Path

    from devtools.cumulative_coverage import SHAPES, main, run

    out = tmp_path / "cc.json"
    assert main(["--worlds", "2", "--reps", "100", "--phi", "0.5", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["rows"] == json.loads(json.dumps(run(104, 0.5, 2, 100)))          # seeded: the same rows again
    assert (doc["worlds"], doc["reps"], doc["phi"], doc["n"]) == (2, 100, [0.5], 104)
    committed = json.loads((Path(__file__).resolve().parents[1] / "data" / "reference"
                            / "cumulative_calibration.json").read_text())
    assert committed["command"] == ("python -m devtools.cumulative_coverage --out "
                                    "data/reference/cumulative_calibration.json")     # the defaults
    assert (committed["worlds"], committed["reps"], committed["phi"]) == (100, 1000, [0.5, 0.8])
    rows = {(r["shape"], r["phi"]): r for r in committed["rows"]}
    assert set(rows) == {(s, p) for s in (*SHAPES, "after_window") for p in (0.5, 0.8)}
    for (shape, _), r in rows.items():
        assert r["worlds"] == 100
        if shape == "after_window":
            assert 0 <= r["false_claim"] <= 1
        else:
            assert 0 <= r["coverage"] <= 1 and r["median_width_weeks"] > 0
