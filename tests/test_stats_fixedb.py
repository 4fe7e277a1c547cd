"""Tests of analysis.stats.fixedb and of fixed-b inference in ols_trend, crossing_fieller and crossing_delta.

References
----------
Kiefer, N. M., Vogelsang, T. J. (2005). A new asymptotic theory for heteroskedasticity-autocorrelation robust
tests. Econometric Theory 21, 1130-1164: cubic approximation of the fixed-b quantiles, Bartlett kernel,
0.975 quantile ``1.9600 + 2.9694 b + 0.4160 b^2 - 0.5324 b^3`` and 0.95 quantile
``1.6449 + 2.1859 b + 0.3142 b^2 - 0.3427 b^3`` (copied here so that the test runs without the paper).
"""

import math

import numpy as np
import pytest

from analysis.stats.crossover import crossing_delta, crossing_fieller, trend_crossing
from analysis.stats.fixedb import (bartlett_bandwidth, bartlett_weights, fixed_b_limit_quantile,
                                   kv_bartlett_critical_value, trend_null)
from analysis.stats.trend import ols_trend

KV_975 = (1.9600, 2.9694, 0.4160, -0.5324)
KV_950 = (1.6449, 2.1859, 0.3142, -0.3427)


def _cubic(c, b):
    return c[0] + c[1] * b + c[2] * b * b + c[3] * b ** 3


@pytest.mark.parametrize("b", [0.02, 0.1, 0.5, 1.0])
def test_kv_cubic_as_published(b):
    assert kv_bartlett_critical_value(b, 0.05) == pytest.approx(_cubic(KV_975, b), abs=1e-12)
    assert kv_bartlett_critical_value(b, 0.10) == pytest.approx(_cubic(KV_950, b), abs=1e-12)
    assert kv_bartlett_critical_value(1.0) == pytest.approx(4.8130, abs=1e-4)


def test_kv_cubic_rejects_levels_and_bandwidths_it_does_not_cover():
    with pytest.raises(ValueError, match="alpha 0.05 and 0.10"):
        kv_bartlett_critical_value(0.5, 0.01)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        kv_bartlett_critical_value(1.5)


@pytest.mark.parametrize("b", [0.2, 0.5, 1.0])
def test_our_monte_carlo_of_the_mean_limit_agrees_with_kv_cubic(b):
    # 8000 draws of a 300-step Brownian motion: quantile noise ~0.03-0.06, discretisation bias ~1-2% low
    mc = fixed_b_limit_quantile(b, alpha=0.05, model="mean", n=300, reps=8000, seed=3)
    assert -0.05 < mc / kv_bartlett_critical_value(b) - 1 < 0.02
    assert mc > 1.96 + 2.0 * b  # and far above the normal value the classic Newey-West test uses


@pytest.mark.slow
@pytest.mark.parametrize("b", [0.1, 0.3, 0.5, 1.0])
def test_precise_monte_carlo_of_the_mean_limit_agrees_with_kv_cubic(b):
    # measured (n = 1000 steps, 50000 draws, as KV): 2.215, 2.821, -, 4.700 against the cubic's 2.261, 2.874,
    # 3.482, 4.813, i.e. 1-2.5% below it at every b; the crossover does not use the cubic (it simulates its own
    # design), so this documents the agreement rather than tuning anything to it
    mc = fixed_b_limit_quantile(b, alpha=0.05, model="mean", n=1000, reps=50000, seed=5)
    assert -0.035 < mc / kv_bartlett_critical_value(b) - 1 < 0.01


def test_trend_slope_limit_has_larger_quantiles_than_the_mean():
    # the residuals of a trend regression are a detrended bridge: the fixed-b quantiles are larger than the
    # cubic for a mean (Bunzel and Vogelsang 2005), which is why the crossover simulates its own
    mean = fixed_b_limit_quantile(0.5, model="mean", n=200, reps=6000, seed=2)
    slope = fixed_b_limit_quantile(0.5, model="trend_slope", n=200, reps=6000, seed=2)
    assert slope > mean + 0.5


def test_bandwidth_rules():
    assert bartlett_bandwidth(100, 0.5) == (50, 0.5)
    assert bartlett_bandwidth(100, 1.0) == (100, 1.0)
    assert bartlett_bandwidth(100, "llsw") == (13, 0.13)  # ceil(1.3 sqrt(100))
    assert bartlett_bandwidth(10, 0.01) == (2, 0.2)  # at least 2 periods
    with pytest.raises(ValueError, match="fraction"):
        bartlett_bandwidth(100, 0.0)
    with pytest.raises(ValueError, match="llsw"):
        bartlett_bandwidth(100, "andrews")


def test_bartlett_weights_follow_positions_with_gaps():
    K = bartlett_weights(np.array([0, 1, 3]), 4)
    np.testing.assert_allclose(K, [[1, 0.75, 0.25], [0.75, 1, 0.5], [0.25, 0.5, 1]])


def test_trend_null_reproduces_the_statistic_ols_trend_computes():
    """The simulated bilinear pieces give exactly the fixed-b t statistic of ols_trend on the same errors."""
    t = np.delete(np.arange(40, dtype=float), [7, 20])
    null = trend_null(t, 20, use_correction=True, reps=1000, seed=11)
    # regenerate the first error vector of the simulation (same generator, same first draw)
    u = np.random.default_rng(11).standard_normal((t.size, 1000))[:, 0]
    y = np.full(40, np.nan)
    y[t.astype(int)] = u
    fit = ols_trend(y, inference="fixed_b", bandwidth=0.5)
    assert fit.hac_lags == 19 and fit.bandwidth_b == 0.5
    assert null.statistics(0.0, 1.0)[0] == pytest.approx(fit.t_values[1], rel=1e-9)
    assert null.statistics(1.0, 0.0)[0] == pytest.approx(fit.t_values[0], rel=1e-9)
    a, b = fit.params
    t0 = 17.0
    se = math.sqrt(fit.cov[0][0] + 2 * t0 * fit.cov[0][1] + t0 * t0 * fit.cov[1][1])
    assert null.statistics(1.0, t0)[0] == pytest.approx((a + b * t0) / se, rel=1e-9)


def test_trend_null_crossing_critical_values_depend_on_position():
    null = trend_null(np.arange(100.0), 50, reps=20000)
    mid, end, slope = null.crossing_critical(50.0), null.crossing_critical(0.0), null.crossing_critical(math.inf)
    assert 3.5 < mid < end < 5.5  # larger than the mean's KV value 3.48 at b = 0.5; smallest mid-sample
    assert slope == pytest.approx(null.critical(0.0, 1.0))
    # time reversal: t0 and 99 - t0 have the same null distribution
    assert null.crossing_critical(20.0) == pytest.approx(null.crossing_critical(79.0), rel=0.03)


def test_ols_trend_fixed_b_is_calibrated_under_the_null_of_no_trend():
    """Under iid errors and no trend, fixed-b p-values of the slope are (close to) uniform."""
    rng = np.random.default_rng(0)
    p = np.array([ols_trend(rng.standard_normal(60), inference="fixed_b", null="iid").p_values[1]
                  for _ in range(300)])
    assert 0.02 <= np.mean(p < 0.05) <= 0.09
    assert 0.4 <= np.median(p) <= 0.6


def test_ols_trend_fixed_b_argument_checks():
    y = np.arange(20.0)
    with pytest.raises(ValueError, match="hac_lags is set by the bandwidth"):
        ols_trend(y, hac_lags=3, inference="fixed_b")
    with pytest.raises(ValueError, match="bandwidth is only used"):
        ols_trend(y, bandwidth=0.5, inference="nw")
    with pytest.raises(ValueError, match="inference"):
        ols_trend(y, inference="kv")
    nw = ols_trend(y + np.sin(y), inference="nw")
    assert nw.inference == "nw" and nw.bandwidth_b is None


def test_fieller_with_a_given_critical_value_is_the_same_quadratic():
    a, b, cov = -1.0, 0.05, [[0.01, -0.0001], [-0.0001, 0.00001]]
    f = crossing_fieller(a, b, cov, critical=3.1)
    assert f.critical == 3.1 and f.critical_source == "given" and f.df is None
    grid = np.linspace(0, 60, 60001)
    v = cov[0][0] + 2 * grid * cov[0][1] + grid ** 2 * cov[1][1]
    inside = grid[(a + b * grid) ** 2 <= 3.1 ** 2 * v]
    assert f.lower == pytest.approx(inside.min(), abs=2e-3) and f.upper == pytest.approx(inside.max(), abs=2e-3)
    # a constant function gives the same set; a function of t is taken at its largest over the set
    g = crossing_fieller(a, b, cov, critical=lambda t: 3.1)
    assert (g.lower, g.upper, g.critical) == pytest.approx((f.lower, f.upper, 3.1))
    h = crossing_fieller(a, b, cov, critical=lambda t: 3.0 + 0.01 * abs(t - 20.0))
    assert h.critical_source == "function" and h.critical > 3.0
    assert h.critical == pytest.approx(3.0 + 0.01 * max(abs(h.lower - 20), abs(h.upper - 20)), abs=0.01)
    d = crossing_delta(a, b, cov, critical=3.1)
    assert d.critical == 3.1 and d.upper - d.estimate == pytest.approx(3.1 * d.se)
    with pytest.raises(ValueError, match="positive finite"):
        crossing_fieller(a, b, cov, critical=-1.0)


def test_trend_crossing_fixed_b_widens_the_classic_interval():
    rng = np.random.default_rng(5)
    n = 100
    u = np.zeros(n)
    for i in range(1, n):
        u[i] = 0.6 * u[i - 1] + 0.1 * rng.standard_normal()
    y = 0.02 * (np.arange(n) - 60.0) + u
    fb = trend_crossing(y)
    nw = trend_crossing(y, inference="nw")
    assert fb.inference == "fixed_b" and fb.bandwidth_periods == 50 and fb.fit.hac_lags == 49
    assert fb.fieller.estimate == pytest.approx(nw.fieller.estimate)
    assert fb.fieller.lower < nw.fieller.lower and fb.fieller.upper > nw.fieller.upper
    s = fb.inference_summary()
    assert s["method"] == "fixed_b" and s["critical_value"] == fb.fieller.critical > 3.5
    assert nw.inference_summary()["critical_value"] == pytest.approx(1.9845, abs=1e-3)  # t with 98 df
    with pytest.raises(ValueError, match="inference"):
        trend_crossing(y, inference="bootstrap")


def test_null_phi_is_the_clipped_lag_one_autocorrelation_over_exact_pairs():
    from analysis.stats.fixedb import null_phi

    e = np.array([1.0, 0.8, 0.5, 0.6, 0.2, -0.1])
    t = np.array([0, 1, 2, 4, 5, 6], dtype=float)  # period 3 missing: the pair (2, 4) is not a lag-1 pair
    pairs = [(0, 1), (1, 2), (3, 4), (4, 5)]
    rho = sum(e[j] * e[i] for i, j in pairs) / sum(e[i] ** 2 for i, _ in pairs)
    assert rho > 0 and null_phi(e, t, "ar1") == pytest.approx(round(rho / 0.02) * 0.02)  # on the 0.02 grid
    assert null_phi(e, t, "iid") == 0.0
    assert null_phi(np.array([1.0, -1, 1, -1, 1, -1]), np.arange(6.0), "ar1") == 0.0  # negative: clipped at 0
    assert null_phi(np.arange(50.0), np.arange(50.0), "ar1") == 0.94  # clipped to the grid's end
    with pytest.raises(ValueError, match="null"):
        null_phi(e, t, "garch")
    with pytest.raises(ValueError, match="bandwidth"):
        null_phi(e, t, "lrv")


def test_lrv_null_recovers_an_ar1_coefficient_and_stays_near_zero_for_white_noise():
    from analysis.stats.fixedb import PHI_GRID, _kernel_ratio_curve, null_phi

    t = np.arange(300.0)
    curve = _kernel_ratio_curve(tuple(t), 60)
    assert np.all(np.diff(curve) > 0)  # more persistence, larger kernel-weighted variance
    est = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        u = np.zeros(300)
        for i in range(1, 300):
            u[i] = 0.7 * u[i - 1] + rng.standard_normal()
        e = u - np.polyval(np.polyfit(t, u, 1), t)
        est.append(null_phi(e, t, "lrv", m=60))
    assert 0.55 <= np.median(est) <= 0.85
    # near zero the ratio is flat in the coefficient, so noise maps to moderate coefficients (measured median
    # 0.29 over these 8 white-noise series): the null then errs slightly on the conservative side
    white = [null_phi(np.random.default_rng(s).standard_normal(300), t, "lrv", m=60) for s in range(8)]
    assert np.median(white) <= 0.4 and set(white) <= set(PHI_GRID.tolist())


def test_ar1_null_raises_critical_values_with_persistence():
    t = np.arange(80.0)
    c = [trend_null(t, 40, phi=phi, reps=4000).crossing_critical(47.0) for phi in (0.0, 0.5, 0.9)]
    assert c[0] < c[1] < c[2]
    assert c[2] > 1.2 * c[0]


def test_ols_trend_fixed_b_p_values_under_both_nulls():
    rng = np.random.default_rng(1)
    y = 0.01 * np.arange(60.0) + rng.standard_normal(60)
    iid = ols_trend(y, inference="fixed_b", null="iid")
    ar1 = ols_trend(y, inference="fixed_b", null="ar1")
    lrv = ols_trend(y, inference="fixed_b")
    assert iid.null == "iid" and iid.null_phi == 0.0 and ar1.null == "ar1" and 0.0 <= ar1.null_phi < 0.3
    assert lrv.null == "lrv" and 0.0 <= lrv.null_phi < 0.3
    assert iid.params == ar1.params == lrv.params and iid.cov == ar1.cov == lrv.cov  # only p-values change
    assert ar1.p_values[1] >= iid.p_values[1] - 0.01


def test_coverage_smoke_fixed_b_is_calibrated_where_newey_west_is_not():
    """On a straight-line truth (the straight-line methods' own world) fixed-b covers where classic NW does not.

    AR(1) 0.5 noise seen through a 4-period window, n = 60, 60 series, fixed seed. With 60 series the Monte Carlo
    error is about 0.03-0.05, so the bounds are loose; a regression to normal or t critical values fails them.
    """
    from devtools.validate import run_cell

    c = run_cell("line", 60, 0.5, reps=60, seed=7, bootstrap_reps=0, local=False, null_reps=4000)
    m = c["methods"]
    assert m["fieller_nw"]["coverage"] < 0.9
    assert m["fieller_fixed_b"]["coverage"] >= 0.88
    assert m["fieller_fixed_b"]["coverage"] - m["fieller_nw"]["coverage"] >= 0.07
