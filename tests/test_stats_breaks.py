"""Tests of analysis.stats.breaks against R (strucchange, trend) values and hand-computed answers.

Sources of the reference values (copied here so the tests run anywhere):

* Nile (annual flow of the Nile at Aswan, 1871-1970, R ``datasets::Nile``).
* OLS-CUSUM: statsmodels 0.15.0 stats/tests/test_diagnostic.py::test_cusum_ols (R strucchange values for the
  macrodata regression) and strucchange's example output ``sctest(efp(Nile ~ 1, type = "OLS-CUSUM"))``
  (S0 = 2.9518, p-value = 5.409e-08; the same value is trend::br.test's R/sqrt(n) in the trend vignette).
* strucchange's documented examples for the Nile series (``Fstats(Nile ~ 1)``: sup.F = 75.93 at observation 28;
  ``summary(breakpoints(Nile ~ 1))``: break sets, RSS and BIC for m = 0..5; ``confint(breakpoints(Nile ~ 1))``:
  2.5% 25, breakpoint 28, 97.5% 32), as printed in strucchange's example output (tests/Examples/
  strucchange-Ex.Rout.save).
* Pettitt on R ``datasets::UKDriverDeaths`` (monthly car drivers killed or seriously injured in Great Britain,
  Jan 1969 - Dec 1984, Harvey and Durbin 1986): U* = 5178 at K = 72, p = 3.029e-10. These are NOT copied from a
  citable R output; they are hand-checked values: the test recomputes U* and K from Pettitt's (1979) definition
  ``U_t = sum_{i <= t} sum_{j > t} sgn(x_i - x_j)`` by brute force (independent of the rank formula of the code),
  and p from the closed form ``2 exp(-6 U*^2 / (n^3 + n^2))``; plus a small example computed by hand below and a
  simulated series with a known break.
* OLS-CUSUM with a trend term: no published reference; the simulated p-value is checked by its size (rejection
  rate at 5% under iid normal errors) and by its 95% quantile, against the Brownian-bridge p-value that
  almost never rejects on that design.
"""

import math

import numpy as np
import pytest
import statsmodels.api as sm

from analysis.stats.breaks import (_cusum_stats, argmax_cdf, bai_perron, chow, cusum_ols, has_trend_regressor,
                                  pettitt, sup_f)

UK_DRIVER_DEATHS = np.array([
    1687, 1508, 1507, 1385, 1632, 1511, 1559, 1630, 1579, 1653, 2152, 2148, 1752, 1765, 1717, 1558,
    1575, 1520, 1805, 1800, 1719, 2008, 2242, 2478, 2030, 1655, 1693, 1623, 1805, 1746, 1795, 1926,
    1619, 1992, 2233, 2192, 2080, 1768, 1835, 1569, 1976, 1853, 1965, 1689, 1778, 1976, 2397, 2654,
    2097, 1963, 1677, 1941, 2003, 1813, 2012, 1912, 2084, 2080, 2118, 2150, 1608, 1503, 1548, 1382,
    1731, 1798, 1779, 1887, 2004, 2077, 2092, 2051, 1577, 1356, 1652, 1382, 1519, 1421, 1442, 1543,
    1656, 1561, 1905, 2199, 1473, 1655, 1407, 1395, 1530, 1309, 1526, 1327, 1627, 1748, 1958, 2274,
    1648, 1401, 1411, 1403, 1394, 1520, 1528, 1643, 1515, 1685, 2000, 2215, 1956, 1462, 1563, 1459,
    1446, 1622, 1657, 1638, 1643, 1683, 2050, 2262, 1813, 1445, 1762, 1461, 1556, 1431, 1427, 1554,
    1645, 1653, 2016, 2207, 1665, 1361, 1506, 1360, 1453, 1522, 1460, 1552, 1548, 1827, 1737, 1941,
    1474, 1458, 1542, 1404, 1522, 1385, 1641, 1510, 1681, 1938, 1868, 1726, 1456, 1445, 1456, 1365,
    1487, 1558, 1488, 1684, 1594, 1850, 1998, 2079, 1494, 1057, 1218, 1168, 1236, 1076, 1174, 1139,
    1427, 1487, 1483, 1513, 1357, 1165, 1282, 1110, 1297, 1185, 1222, 1284, 1444, 1575, 1737, 1763
], dtype=float)

NILE = np.array([
    1120, 1160, 963, 1210, 1160, 1160, 813, 1230, 1370, 1140, 995, 935, 1110, 994, 1020, 960, 1180, 799, 958, 1140,
    1100, 1210, 1150, 1250, 1260, 1220, 1030, 1100, 774, 840, 874, 694, 940, 833, 701, 916, 692, 1020, 1050, 969,
    831, 726, 456, 824, 702, 1120, 1100, 832, 764, 821, 768, 845, 864, 862, 698, 845, 744, 796, 1040, 759, 781, 865,
    845, 944, 984, 897, 822, 1010, 771, 676, 649, 846, 812, 742, 801, 1040, 860, 874, 848, 890, 744, 749, 838, 1050,
    918, 986, 797, 923, 975, 815, 1020, 906, 901, 1170, 912, 746, 919, 718, 714, 740
], dtype=float)


# ---------------------------------------------------------------------------------------------------- Pettitt
def test_pettitt_uk_driver_deaths_hand_checked():
    r = pettitt(UK_DRIVER_DEATHS)
    assert r.n == 192
    assert r.statistic == 5178.0
    assert r.location == 72
    assert float(f"{r.p_value:.4g}") == 3.029e-10
    # independent check: Pettitt's double sum of signs, not the rank formula used by the code
    x = UK_DRIVER_DEATHS
    sg = np.sign(x[:, None] - x[None, :])
    u = np.array([sg[:t, t:].sum() for t in range(1, x.size)])
    assert np.abs(u).max() == 5178 and int(np.argmax(np.abs(u))) + 1 == 72
    assert 2 * math.exp(-6 * 5178**2 / (192**3 + 192**2)) == pytest.approx(3.029e-10, rel=2e-4)


def test_pettitt_hand_computed_example():
    # x = 1, 2, 3, 10, 11, 12: ranks 1..6, U_k = 2 sum_{i<=k} r_i - 7k = -5, -8, -9, -8, -5, 0
    r = pettitt([1, 2, 3, 10, 11, 12])
    assert r.statistic == 9.0
    assert r.location == 3
    assert r.p_value == pytest.approx(2 * math.exp(-6 * 81 / (6**3 + 6**2)), rel=1e-12)


def test_pettitt_location_indexes_the_input_with_missing_values():
    r = pettitt([1, np.nan, 2, 3, 10, np.nan, 11, 12])
    assert r.statistic == 9.0 and r.n == 6
    assert r.location == 4  # the value 3 sits at position 4 (1-based) of the input


def test_pettitt_finds_a_simulated_shift():
    rng = np.random.default_rng(42)
    x = np.concatenate([rng.standard_normal(60), rng.standard_normal(60) + 2.0])
    r = pettitt(x)
    assert abs(r.location - 60) <= 3
    assert r.p_value < 1e-6
    null = pettitt(rng.standard_normal(120))
    assert null.p_value > 0.05


# --------------------------------------------------------------------------------------------------- Chow
def test_chow_equals_nested_model_f_test():
    rng = np.random.default_rng(1)
    t = np.arange(50.0)
    y = 0.3 + 0.05 * t + rng.standard_normal(50) * 0.2
    y[30:] += 0.4
    X = np.column_stack([np.ones(50), t])
    r = chow(y, X, 30)
    d = (np.arange(50) >= 30).astype(float)
    full = sm.OLS(y, np.column_stack([X, d, d * t])).fit()
    restricted = sm.OLS(y, X).fit()
    f, p, df = full.compare_f_test(restricted)
    assert r.f_stat == pytest.approx(f, rel=1e-10)
    assert r.p_value == pytest.approx(p, rel=1e-8)
    assert r.df == (2, 46)


def test_chow_rejects_split_leaving_too_few_observations():
    with pytest.raises(ValueError, match="split=1"):
        chow(np.arange(10.0), np.column_stack([np.ones(10), np.arange(10.0)]), 1)


def test_break_tests_refuse_missing_values():
    y = np.arange(10.0)
    y[3] = np.nan
    with pytest.raises(ValueError, match="rows \\[3\\]"):
        cusum_ols(y, np.ones((10, 1)))


# -------------------------------------------------------------------------------------------------- sup-F
def test_sup_f_matches_strucchange_fstats_nile():
    r = sup_f(NILE, np.ones((100, 1)), mc_reps=199)
    assert round(r.statistic, 2) == 75.93
    assert r.location == 28
    assert r.candidates == (15, 85)
    assert r.p_value == pytest.approx(1 / 200)  # no simulated statistic comes near 75.9


def test_sup_f_path_is_k_times_chow_f():
    rng = np.random.default_rng(3)
    t = np.arange(40.0)
    X = np.column_stack([np.ones(40), t])
    y = 0.1 * t + rng.standard_normal(40)
    r = sup_f(y, X, mc_reps=0)
    for i, f in zip(range(r.candidates[0], r.candidates[1] + 1), r.f_path):
        assert f == pytest.approx(2 * chow(y, X, i).f_stat, rel=1e-10)


def test_sup_f_detects_trend_break_and_not_noise():
    rng = np.random.default_rng(5)
    t = np.arange(100.0)
    X = np.column_stack([np.ones(100), t])
    y = 0.02 * t + 0.3 * rng.standard_normal(100)
    y[60:] += 0.05 * (t[60:] - 60)
    r = sup_f(y, X, mc_reps=199, seed=1)
    assert r.p_value <= 0.01
    assert abs(r.location - 60) <= 6
    null = sup_f(0.02 * t + 0.3 * rng.standard_normal(100), X, mc_reps=199, seed=1)
    assert null.p_value > 0.05


# --------------------------------------------------------------------------------------------------- CUSUM
def test_cusum_matches_strucchange_macrodata():
    d = sm.datasets.macrodata.load_pandas().data
    g = 400 * np.diff(np.log(d["realgdp"].to_numpy()))
    inv = 400 * np.diff(np.log(d["realinv"].to_numpy()))
    X = np.column_stack([np.ones(g.size), g, d["realint"].to_numpy()[:-1]])
    r = cusum_ols(inv, X)
    assert r.statistic == pytest.approx(1.055750610401214, rel=1e-10)
    assert r.p_value == pytest.approx(0.2149567397376543, rel=1e-8)


def test_cusum_matches_strucchange_nile():
    r = cusum_ols(NILE, np.ones((100, 1)))
    assert round(r.statistic, 4) == 2.9518
    assert float(f"{r.p_value:.4g}") == 5.409e-08
    assert r.location == 28


def test_cusum_keeps_the_brownian_bridge_for_stationary_regressors():
    d = sm.datasets.macrodata.load_pandas().data
    g = 400 * np.diff(np.log(d["realgdp"].to_numpy()))
    X = np.column_stack([np.ones(g.size), g, d["realint"].to_numpy()[:-1]])
    assert not has_trend_regressor(X) and not has_trend_regressor(np.ones((100, 1)))
    r = cusum_ols(NILE, np.ones((100, 1)))
    assert r.pvalue_method == "brownian_bridge" and r.mc_reps == 0


def test_cusum_simulates_the_p_value_for_a_trend_design():
    t = np.arange(100.0)
    t_gaps = np.delete(t, [10, 11, 50])  # missing periods keep the true time: still a trend
    assert has_trend_regressor(np.column_stack([np.ones(97), t_gaps]))
    X = np.column_stack([np.ones(100), t])
    rng = np.random.default_rng(11)
    y = 0.5 + 0.01 * t + rng.standard_normal(100)
    r = cusum_ols(y, X, mc_reps=999, seed=4)
    assert r.pvalue_method == "simulated" and r.mc_reps == 999 and r.seed == 4
    assert r == cusum_ols(y, X, mc_reps=999, seed=4)  # seeded, reproducible
    bridge = cusum_ols(y, X, pvalue="brownian_bridge")
    assert bridge.statistic == r.statistic and bridge.p_value > r.p_value
    # the 95% quantile of the statistic on this design is about 0.84, far below Kolmogorov's 1.358
    sims = _cusum_stats(np.random.default_rng(0).standard_normal((100, 20000)), X)
    assert 0.80 < np.quantile(sims, 0.95) < 0.87


def test_cusum_size_under_iid_errors_with_a_trend_design():
    # 1000 series of iid normal errors around a trend: share of p < 0.05 within 3 Monte Carlo s.e. of 0.05
    # (s.e. 0.0069); the Brownian-bridge p-value rejected none of them
    n, reps = 100, 1000
    t = np.arange(n, dtype=float)
    X = np.column_stack([np.ones(n), t])
    rng = np.random.default_rng(2024)
    p_sim, p_bridge = [], []
    for i in range(reps):
        y = 1.0 - 0.02 * t + rng.standard_normal(n)
        p_sim.append(cusum_ols(y, X, mc_reps=499, seed=i).p_value)  # a fresh null sample per series
        p_bridge.append(cusum_ols(y, X, pvalue="brownian_bridge").p_value)
    size = np.mean(np.asarray(p_sim) < 0.05)
    assert abs(size - 0.05) < 3 * math.sqrt(0.05 * 0.95 / reps)
    assert np.mean(np.asarray(p_bridge) < 0.05) < 0.005


def test_cusum_detects_a_level_shift_in_a_trend_model():
    t = np.arange(100.0)
    X = np.column_stack([np.ones(100), t])
    y = 0.01 * t + 0.3 * np.random.default_rng(6).standard_normal(100)
    y[50:] += 0.6
    assert cusum_ols(y, X, mc_reps=999).p_value < 0.01


def test_cusum_rejects_an_unknown_p_value_method():
    with pytest.raises(ValueError, match="pvalue="):
        cusum_ols(NILE, np.ones((100, 1)), pvalue="kolmogorov")


# --------------------------------------------------------------------------------------------- Bai-Perron
NILE_BREAKS = [(), (28,), (28, 83), (28, 68, 83), (28, 45, 68, 83), (15, 30, 45, 68, 83)]
NILE_RSS = [2835157, 1597457, 1552924, 1538097, 1507888, 1659994]
NILE_BIC = [1318, 1270, 1276, 1285, 1292, 1311]


def test_bai_perron_matches_strucchange_nile():
    r = bai_perron(NILE, np.ones((100, 1)), max_breaks=5)
    assert r.min_size == 15
    assert [tuple(b) for b in r.breaks] == NILE_BREAKS
    assert [round(v) for v in r.rss] == NILE_RSS
    assert [round(v) for v in r.bic] == NILE_BIC
    assert r.chosen == 1
    assert len(r.intervals) == 1
    iv = r.intervals[0]
    assert (iv.lower, iv.estimate, iv.upper) == (25, 28, 32)


def test_bai_perron_dates_a_simulated_trend_break():
    rng = np.random.default_rng(8)
    t = np.arange(120.0)
    X = np.column_stack([np.ones(120), t])
    y = 0.01 * t + 0.1 * rng.standard_normal(120)
    y[70:] += 1.0
    r = bai_perron(y, X, max_breaks=3)
    assert r.chosen == 1
    iv = r.intervals[0]
    assert iv.lower <= 70 <= iv.upper
    assert abs(iv.estimate - 70) <= 2


def test_argmax_cdf_is_a_symmetric_distribution_in_the_symmetric_case():
    assert argmax_cdf(0.0) == pytest.approx(0.5, abs=1e-12)
    assert argmax_cdf(-5.0) == pytest.approx(1 - argmax_cdf(5.0), abs=1e-12)
    vals = [argmax_cdf(x) for x in (-200, -20, -2, 2, 20, 200)]
    assert vals == sorted(vals)
    assert vals[0] < 1e-6 and vals[-1] > 1 - 1e-6
