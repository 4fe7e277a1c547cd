"""Tests of analysis.stats.crossover.

Reference: investr 1.4.2 tests/testthat/test-calibrate.R, reaction chamber example (Graybill and Iyer 1994,
Regression Analysis: Concepts and Applications, ch. 6, pp. 431-434): regulation at y0 = 400 with the mean
response, 99% level: estimate 66.5, interval 65.07 to 68.03. Regulation solves a + b x = y0, i.e. the zero
crossing of (a - y0) + b x, which is the same algebra as the crossover.
"""

import math

import numpy as np
import pytest
import statsmodels.api as sm
from arch.bootstrap import optimal_block_length as arch_obl

from analysis.stats.crossover import (crossing_block_bootstrap, first_passage_interval, crossing_delta, crossing_fieller,
                                      first_passage, first_run_start, optimal_block_length)

X_DIAL = np.arange(0, 101, 10, dtype=float)
Y_TEMP = np.array([206.36, 225.52, 252.18, 289.33, 318.11, 349.49, 383.03, 410.7, 444.4, 469.14, 501.16])


def _ar1(n, phi, sigma, seed):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n) * sigma
    u = np.empty(n)
    u[0] = e[0] / math.sqrt(1 - phi**2)
    for i in range(1, n):
        u[i] = phi * u[i - 1] + e[i]
    return u


# ---------------------------------------------------------------------------------------------------- Fieller
def test_fieller_reproduces_investr_regulation_interval():
    fit = sm.OLS(Y_TEMP, sm.add_constant(X_DIAL)).fit()
    a, b = fit.params
    r = crossing_fieller(a - 400.0, b, fit.cov_params(), alpha=0.01, df=9)
    assert r.kind == "bounded"
    assert round(r.estimate, 1) == 66.5
    assert round(r.lower, 2) == 65.07
    assert round(r.upper, 2) == 68.03


def _in_set(a, b, cov, c, t):
    v = cov[0][0] + 2 * t * cov[0][1] + t * t * cov[1][1]
    return (a + b * t) ** 2 <= c * c * v


@pytest.mark.parametrize("a, b, cov, kind", [
    (-1.0, 0.05, [[0.01, -0.0001], [-0.0001, 0.00001]], "bounded"),
    (1.0, 0.1, [[0.01, 0.0], [0.0, 0.01]], "two_rays"),
    (0.1, 0.01, [[1.0, 0.0], [0.0, 1.0]], "unbounded"),
])
def test_fieller_kinds_agree_with_brute_force_inversion(a, b, cov, kind):
    r = crossing_fieller(a, b, cov, alpha=0.05)
    assert r.kind == kind
    c = r.critical
    assert c == pytest.approx(1.959963984540054)
    grid = np.linspace(-500, 500, 200001)
    inside = np.array([_in_set(a, b, cov, c, t) for t in grid[::50]])
    if kind == "bounded":
        assert r.lower < r.estimate < r.upper
        members = grid[::50][inside]
        assert members.min() == pytest.approx(r.lower, abs=0.3)
        assert members.max() == pytest.approx(r.upper, abs=0.3)
        assert r.g < 1
    elif kind == "two_rays":
        assert r.gap[0] < r.gap[1] and r.g > 1
        assert _in_set(a, b, cov, c, r.gap[0] - 1e-6) and _in_set(a, b, cov, c, r.gap[1] + 1e-6)
        assert not _in_set(a, b, cov, c, 0.5 * (r.gap[0] + r.gap[1]))
        assert math.isinf(r.lower) and math.isinf(r.upper)
    else:
        assert inside.all()
        assert r.lower == -math.inf and r.upper == math.inf


def test_fieller_with_a_critical_function_is_conservative_within_the_first_set():
    # c(t) largest at the estimate (t* = 10) and falling away from it: the set uses c(10) = 3 everywhere, so it
    # contains every t that passes its own test, plus some that do not (the docstring's "superset")
    a, b, cov = -1.0, 0.1, np.array([[0.04, -0.002], [-0.002, 0.0004]])

    def crit(t):
        return 3.0 - (0.1 * min(abs(t - 10.0), 9.0) if np.isfinite(t) else 2.1)

    res = crossing_fieller(a, b, cov, critical=crit)
    first = crossing_fieller(a, b, cov, critical=crit(10.0))
    assert res.critical == pytest.approx(3.0) and res.critical_source == "function"
    assert res.lower <= first.lower and first.upper <= res.upper
    g = np.linspace(0.0, 40.0, 40001)
    stat = np.abs(a + b * g) / np.sqrt(cov[0, 0] + 2 * g * cov[0, 1] + g * g * cov[1, 1])
    own = stat <= np.array([crit(x) for x in g])
    inside = (g >= res.lower) & (g <= res.upper)
    assert np.all(inside[own])  # every t passing its own test is reported
    assert np.any(inside & ~own)  # but not every reported t passes its own test


def test_fieller_and_delta_agree_when_slope_is_precise():
    cov = [[1e-4, -1e-6], [-1e-6, 1e-7]]
    f = crossing_fieller(-2.0, 0.05, cov)
    d = crossing_delta(-2.0, 0.05, cov)
    assert f.estimate == d.estimate == pytest.approx(40.0)
    assert f.lower == pytest.approx(d.lower, abs=0.02)
    assert f.upper == pytest.approx(d.upper, abs=0.02)


def test_delta_standard_error_matches_numerical_gradient():
    a, b = -1.3, 0.04
    cov = np.array([[0.02, -0.0003], [-0.0003, 0.00002]])
    d = crossing_delta(a, b, cov, alpha=0.1, df=30)
    h = 1e-7
    g = np.array([(-(a + h) / b + a / b) / h, (-a / (b + h) + a / b) / h])
    assert d.se == pytest.approx(math.sqrt(g @ cov @ g), rel=1e-5)
    assert d.upper - d.estimate == pytest.approx(d.critical * d.se)


def test_crossing_rejects_malformed_covariance():
    with pytest.raises(ValueError, match="2x2"):
        crossing_fieller(1.0, 1.0, [[1.0]])
    with pytest.raises(ValueError, match="not symmetric"):
        crossing_delta(1.0, 1.0, [[1.0, 0.5], [0.1, 1.0]])


# -------------------------------------------------------------------------------------------------- bootstrap
def test_block_bootstrap_covers_known_crossing_and_is_reproducible():
    n = 100
    t = np.arange(n, dtype=float)
    y = 0.02 * (t - 60.0) + _ar1(n, 0.5, 0.1, seed=2)
    y[[5, 6, 50]] = np.nan
    r1 = crossing_block_bootstrap(y, reps=400, seed=3)
    r2 = crossing_block_bootstrap(y, reps=400, seed=3)
    assert r1 == r2
    assert r1.kind == "bounded" and r1.share_no_crossing == 0.0
    assert r1.lower < 60.0 < r1.upper
    assert r1.block_rule == "n_cbrt" and r1.block_length == math.ceil(np.isfinite(y).sum() ** (1 / 3))
    fixed = crossing_block_bootstrap(y, reps=400, seed=3, block_length=5)
    assert fixed.block_length == 5 and fixed.block_rule == "given"
    pct = crossing_block_bootstrap(y, reps=400, seed=3, method="percentile")
    obs = np.isfinite(y)
    resid = y[obs] - np.polyval(np.polyfit(t[obs], y[obs], 1), t[obs])
    pw = math.ceil(optimal_block_length(resid).circular)
    assert pct.block_rule == "politis_white_x2" and pct.block_length == min(2 * pw, 48)
    assert pct.lower < 60.0 < pct.upper


def test_block_bootstrap_reports_no_crossing_for_flat_series():
    y = _ar1(80, 0.3, 0.1, seed=9)
    r = crossing_block_bootstrap(y, reps=400, seed=1, method="percentile")
    assert r.share_no_crossing > 0.025  # more than alpha/2 never cross, so the interval is open
    assert r.kind == "unbounded" and math.isinf(r.upper)
    s = crossing_block_bootstrap(y, reps=400, seed=1)  # studentized: the Fieller set of a flat trend is open too
    assert s.method == "studentized" and s.kind in ("two_rays", "unbounded") and math.isinf(s.upper)
    assert s.share_no_crossing > 0.025


def test_studentized_bootstrap_is_a_fieller_set_with_the_bootstrap_critical_value():
    from analysis.stats.fixedb import bartlett_bandwidth
    from analysis.stats.trend import ols_trend

    n = 100
    t = np.arange(n, dtype=float)
    y = 0.02 * (t - 60.0) + _ar1(n, 0.5, 0.1, seed=2)
    y[[5, 6, 50]] = np.nan
    r = crossing_block_bootstrap(y, reps=400, seed=3, bandwidth=0.5)
    fit = ols_trend(y, inference="fixed_b", bandwidth=0.5)
    f = crossing_fieller(*fit.params, fit.cov, critical=r.critical)
    assert (r.lower, r.upper, r.kind) == pytest.approx((f.lower, f.upper, f.kind))
    assert r.bandwidth_b == bartlett_bandwidth(100, 0.5)[1] == 0.5
    # the bootstrap critical value is of the size of the fixed-b one (about 4.5 here), far from 1.96
    assert 3.0 < r.critical < 7.0
    with pytest.raises(ValueError, match="method"):
        crossing_block_bootstrap(y, reps=50, method="bca")


def test_optimal_block_length_wraps_arch_and_drops_missing():
    x = _ar1(200, 0.7, 1.0, seed=4)
    ref = arch_obl(x)
    xm = np.concatenate([x[:50], [np.nan], x[50:]])
    r = optimal_block_length(xm)
    assert r.stationary == pytest.approx(float(ref["stationary"].iloc[0]))
    assert r.circular == pytest.approx(float(ref["circular"].iloc[0]))
    assert r.n == 200


# ---------------------------------------------------------------------------------------------- first passage
def test_first_run_start_hand_examples():
    ahead = np.array([False, False, True, False, True, True, True, True])
    assert first_run_start(ahead, 3) == 4
    assert first_run_start(ahead, 1) == 2
    assert first_run_start(ahead, 5) is None


def test_first_passage_missing_period_breaks_a_run():
    d = np.array([-0.1, -0.1, 0.1, 0.1, np.nan, 0.1, 0.1, 0.1, 0.2])
    r = first_passage(d, k=3)
    assert r.index == 5
    assert first_passage(d, k=2).index == 2
    assert r.lower_index is None and r.upper_index is None and r.interval_source == ""


def test_first_passage_not_reached_when_always_behind():
    d = -0.2 + 0.01 * np.random.default_rng(1).standard_normal(60)
    assert first_passage(d, k=3).index is None


def test_first_passage_in_the_last_k_minus_1_periods_counts_as_not_yet():
    # CN ahead only in the last two of 60 periods: a 2-period passage is complete, a 3-period one is not (yet)
    n = 60
    t = np.arange(n, dtype=float)
    d = 0.01 * (t - 57.5) + 0.002 * np.random.default_rng(3).standard_normal(n)
    assert (d[-2:] > 0).all() and (d[:-2] < 0).all()
    assert first_passage(d, k=2).index == 58
    assert first_passage(d, k=3).index is None


def test_first_passage_interval_is_the_first_periods_at_or_after_the_set_ends():
    fp = first_passage(np.linspace(-1, 1, 20), k=3)
    t = np.arange(20, dtype=float)
    r = first_passage_interval(fp, t, 7.2, 11.0, "a set")
    assert (r.lower_index, r.upper_index, r.interval_source) == (8, 11, "a set")
    assert r.index == fp.index and r.k == 3
    open_end = first_passage_interval(fp, t, 7.2, np.inf, "a set")
    assert open_end.lower_index == 8 and open_end.upper_index is None
    beyond = first_passage_interval(fp, t, -3.0, 19.5, "a set")
    assert beyond.lower_index == 0 and beyond.upper_index is None  # after the last period: not on the grid
