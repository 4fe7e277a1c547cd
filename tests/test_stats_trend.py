"""Tests of analysis.stats.trend against published reference values.

Reference values are copied here (with their source) so the tests run without the shared reference folder:

* R package trend 1.1.6 vignette (github cran/trend, inst/doc/trend.pdf, sections 1.1/2.1/3.1): ``mk.test`` and
  ``sens.slope`` on the Rhine at Maxau annual series (data ``maxau``, 1965-2009).
* pymannkendall tests/test_pymannkendall.py at commit ec2e3ab (values stated to agree with R modifiedmk, fume,
  rkt, trend): the ``arbitrary_1d_data`` fixture with 8 missing values.
* statsmodels 0.15.0 stats/tests/test_sandwich.py::test_hac_simple and test_diagnostic.py::TestDiagnosticG.test_hac
  (values from R ``sandwich::NeweyWest(prewhite=FALSE)``): Newey-West covariance on ``macrodata``.
* statsmodels 0.15.0 genmod/tests/results/results_glm.py class Star98 (R ``glm(family=binomial)`` output).
"""

import math

import numpy as np
import pymannkendall as pmk
import pytest
import scipy.stats
import statsmodels.api as sm
from statsmodels.stats import sandwich_covariance as sw

from analysis.stats.trend import (default_hac_lags, fit_fractional_logit, fractional_logit_trend, hac_meat,
                                  mann_kendall, ols_hac, ols_trend, sens_slope)

nan = float("nan")

# R trend vignette: maxau[, "Q"] (annual mean discharge) and maxau[, "s"] (suspended sediment load), n = 45
MAXAU_Q = [
    1649.353424657534, 1585.268493150685, 1370.112328767123, 1520.901639344262, 1255.72602739726, 1808.342465753425,
    864.1068493150685, 959.3060109289618, 1141.553424657534, 1216.232876712329, 1344.424657534247,
    861.9098360655738, 1402.923287671233, 1415.838356164384, 1349.797260273973, 1419.099508196721,
    1523.753690410959, 1535.471232876712, 1365.452054794521, 1228.248633879781, 1114.013698630137,
    1339.917808219178, 1537.331506849315, 1448.25956284153, 1000.786301369863, 1095.213698630137, 1055.315068493151,
    1208.972677595629, 1174.008219178082, 1356.641095890411, 1565.47397260274, 1112.543715846994, 1163.920547945205,
    1143.304109589041, 1723.832876712329, 1400.866199453552, 1632.98904109589, 1495.701369863014, 915.7534246575342,
    1062.422677595628, 1048.984539473684, 1263.654794520548, 1286.67397260274, 1205.051912568306, 1112.386301369863
]
MAXAU_S = [
    37.38356164383562, 31.28219178082192, 26.41917808219178, 28.82786885245902, 32.88219178082192,
    37.57260273972603, 27.34246575342466, 29.85792349726776, 35.49315068493151, 28.9041095890411, 25.69315068493151,
    16.96994535519126, 28.9013698630137, 20.25205479452055, 19.26849315068493, 19.19125683060109, 24.33698630136986,
    28.81095890410959, 17.6958904109589, 19.63661202185792, 20.95616438356164, 29.10410958904109, 27.34520547945205,
    27.60382513661202, 20.98904109589041, 26.96986301369863, 27.44383561643836, 32.79234972677595,
    27.56164383561644, 30.72876712328767, 33.14520547945205, 25.77868852459016, 25.28767123287671,
    24.40821917808219, 28.38356164383562, 17.97267759562842, 16.0958904109589, 17.26849315068493, 11.89041095890411,
    13.77049180327869, 21.46896551724138, 23.0986301369863, 16.44413407821229, 15.77322404371585, 13.87362637362637
]

# pymannkendall test fixture arbitrary_1d_data (360 monthly rainfall-like values, 8 missing)
ARBITRARY = [
    32, 20, 25, 189, 240, 193, 379, 278, 301, 0, 0, 82, 0, 4, nan, nan, 121, 234, 360, 262, 120, 30, 11, 1, 7, 3,
    31, 31, 355, 102, 248, 274, 308, nan, 5, 26, 11, 16, 6, 48, 388, 539, 431, 272, 404, 186, 0, 2, 0, 4, 1, 54,
    272, 459, 235, 164, 365, 135, 2, nan, nan, 4, 0, 128, 210, 163, 446, 225, 462, 467, 19, 13, 0, 3, 17, 132, 178,
    338, 525, 623, 145, 31, 19, 3, 0, 29, 25, 87, 259, 756, 486, 180, 292, 43, 92, 1, 0, 16, 2, 0, 130, 253, 594,
    111, 273, 30, 0, 4, 0, 27, 24, 41, 292, 378, 499, 265, 320, 227, 4, 0, 4, 14, 8, 48, 416, 240, 404, 207, 733,
    105, 0, 112, 0, 14, 0, 30, 140, 202, 289, 159, 424, 106, 3, 0, 65, 3, 14, 58, 268, 466, 432, 266, 240, 95, 1, 0,
    10, 26, 4, 114, 94, 289, 173, 208, 263, 156, 5, 0, 16, 16, 14, 0, 111, 475, 534, 432, 471, 117, 70, 1, 3, 28, 7,
    401, 184, 283, 338, 171, 335, 176, 0, 0, 10, 11, 9, 140, 102, 208, 298, 245, 220, 29, 2, 27, 10, 13, 26, 84,
    143, 367, 749, 563, 283, 353, 10, 0, 0, 0, 0, 9, 246, 265, 343, 429, 168, 133, 17, 0, 18, 35, 76, 158, 272, 250,
    190, 289, 466, 84, 0, 0, 0, 0, 0, 22, 217, 299, 185, 115, 344, 203, 8, nan, nan, 0, 5, 284, 123, 254, 476, 496,
    326, 27, 20, 0, 4, 53, 72, 113, 214, 364, 219, 220, 156, 264, 0, 13, 0, 0, 45, 90, 137, 638, 529, 261, 206, 251,
    0, 0, 5, 9, 58, 72, 138, 130, 471, 328, 356, 523, 0, 1, 0, 0, 12, 143, 193, 184, 192, 138, 174, 69, 1, 0, 0, 18,
    25, 28, 92, 732, 320, 256, 302, 131, 15, 0, 27, 0, 22, 20, 213, 393, 474, 374, 109, 159, 0, 0, 0, 3, 3, 49, 205,
    128, 194, 570, 169, 89, 0, 0, 0, 0, 0, 26, 185, 286, 92, 225, 244, 190, 3, 20
]


def _autocorrelated(n, phi, seed):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x + 0.01 * np.arange(n)


# ---------------------------------------------------------------------------------------------- Mann-Kendall
def test_mk_original_matches_r_trend_maxau():
    r = mann_kendall(MAXAU_Q)
    assert r.n == 45
    assert r.s == -144.0
    assert r.var_s == 10450.0
    assert round(r.z, 4) == -1.3989
    assert round(r.p_value, 4) == 0.1619
    assert round(r.tau, 7) == -0.1454545


def test_mk_tau_equals_scipy_kendall_tau_b_without_ties():
    # identity (Kendall 1975): with no ties MK tau = Kendall tau-b of (time, x)
    tau_b = scipy.stats.kendalltau(np.arange(45), MAXAU_Q).statistic
    assert mann_kendall(MAXAU_Q).tau == pytest.approx(tau_b, abs=1e-12)
    assert round(tau_b, 7) == -0.1454545


@pytest.mark.parametrize("method, lag, expected", [
    ("original", None, dict(p=0.37591058740506833, z=-0.8854562842589916, s=-1959.0, var_s=4889800.333333333,
                            tau=-0.03153167653875869)),
    ("hamed_rao", None, dict(p=0.00012203829241275166, z=-3.8419950613710894, s=-1959.0,
                             var_s=259723.81316716125, tau=-0.03153167653875869)),
    ("hamed_rao", 3, dict(p=0.6037112685123898, z=-0.5190709455046154, s=-1959.0, var_s=14228919.889368296)),
    ("yue_wang", None, dict(p=0.008401398144858296, z=-2.6354977553857504, s=-1959.0, var_s=551950.4269211816)),
    ("yue_wang", 1, dict(p=0.5433112864060043, z=-0.6078133313683783, s=-1959.0, var_s=10377313.384506395)),
])
def test_mk_family_matches_pymannkendall_reference_in_drop_mode(method, lag, expected):
    r = mann_kendall(ARBITRARY, method, lag=lag, missing="drop")
    assert r.s == expected["s"]
    assert r.var_s == pytest.approx(expected["var_s"], rel=1e-9)
    assert r.z == pytest.approx(expected["z"], rel=1e-9)
    assert r.p_value == pytest.approx(expected["p"], rel=1e-9)
    if "tau" in expected:
        assert r.tau == pytest.approx(expected["tau"], rel=1e-12)


@pytest.mark.parametrize("method, lag", [("hamed_rao", 3), ("yue_wang", 1), ("hamed_rao", None), ("original", None)])
def test_mk_equals_pymannkendall_on_complete_data(method, lag):
    x = _autocorrelated(120, 0.6, seed=7)
    ref = {"hamed_rao": pmk.hamed_rao_modification_test, "yue_wang": pmk.yue_wang_modification_test,
           "original": lambda v, lag=None: pmk.original_test(v)}[method](x, lag=lag)
    for missing in ("true_time", "drop"):
        r = mann_kendall(x, method, lag=lag, missing=missing)
        assert r.z == pytest.approx(ref.z, rel=1e-10)
        assert r.var_s == pytest.approx(ref.var_s, rel=1e-10)


def test_mk_true_time_with_gaps_detrends_and_correlates_on_true_time():
    x = _autocorrelated(80, 0.5, seed=3)
    x[[10, 11, 40]] = nan
    r = mann_kendall(x, "yue_wang", lag=2)
    # independent hand computation: Sen slope on true times, detrend on true times, autocorrelation from pairs
    # exactly k periods apart divided by the number of observations
    t = np.arange(80.0)
    obs = ~np.isnan(x)
    xo, to = x[obs], t[obs]
    slopes = [(xo[j] - xo[i]) / (to[j] - to[i]) for i in range(xo.size) for j in range(i + 1, xo.size)]
    det = xo - to * np.median(slopes)
    y = det - det.mean()
    n = xo.size
    c0 = np.sum(y * y) / n
    rho = []
    for k in (1, 2):
        acc = sum(y[i] * y[j] for i in range(n) for j in range(n) if to[j] - to[i] == k)
        rho.append(acc / n / c0)
    factor = 1 + 2 * sum((1 - k / n) * rho[k - 1] for k in (1, 2))
    assert r.correction == pytest.approx(factor, rel=1e-10)
    assert r.n == 77 and r.n_missing == 3
    # renumbering (pymannkendall) gives a different answer when periods are missing
    assert mann_kendall(x, "yue_wang", lag=2, missing="drop").correction != pytest.approx(factor, rel=1e-6)
    # the score S does not depend on spacing
    assert r.s == mann_kendall(x, "yue_wang", lag=2, missing="drop").s


def test_mk_rejects_unknown_method_and_too_short_input():
    with pytest.raises(ValueError, match="not a Mann-Kendall variant"):
        mann_kendall([1.0, 2.0, 3.0], method="spearman")
    with pytest.raises(ValueError, match="at least 3 observed"):
        mann_kendall([1.0, nan, 2.0])


# ------------------------------------------------------------------------------------------------ Sen's slope
def test_sens_slope_matches_r_trend_maxau():
    r = sens_slope(MAXAU_S)
    assert round(r.slope, 7) == -0.2876139
    assert round(r.ci_low, 7) == -0.4196477
    assert round(r.ci_high, 7) == -0.1519026
    assert round(r.z, 4) == -3.8445
    assert round(r.p_value, 7) == 0.0001208
    assert r.n == 45


def test_sens_slope_matches_pymannkendall_reference_with_missing_values():
    r = sens_slope(ARBITRARY)
    assert r.slope == pytest.approx(-0.006369426751592357, rel=1e-12)
    assert r.intercept == pytest.approx(96.15286624203821, rel=1e-12)


def test_sens_slope_uses_true_time_across_gaps():
    x = np.array([0.0, 2.0, 4.0, nan, nan, 10.0, 12.0])
    r = sens_slope(x)
    assert r.slope == 2.0 and r.ci_low == 2.0 and r.ci_high == 2.0
    assert r.intercept == 0.0


# --------------------------------------------------------------------------------------------- Newey-West OLS
@pytest.fixture(scope="module")
def macro():
    d = sm.datasets.macrodata.load_pandas().data
    g = 400 * np.diff(np.log(d["realgdp"].to_numpy()))
    inv = 400 * np.diff(np.log(d["realinv"].to_numpy()))
    X = np.column_stack([np.ones(g.size), g, d["realint"].to_numpy()[:-1]])
    return inv, X


MACRO_PARAMS = [-9.48167277465485, 4.3742216647032, -0.613996969478989]
COV_LAG4_ADJ = [[1.406438998786788, -0.31803287070833297, -0.06062111121648861],
                [-0.3180328707083329, 0.10973083489998187, 0.000395311760301478],
                [-0.06062111121648865, 0.0003953117603014895, 0.08751152891247099]]
COV_LAG4_NOADJ = [[1.3855512908840137, -0.3133096102522685, -0.05972079768357048],
                  [-0.3133096102522685, 0.10810116903513062, 0.000389440793564339],
                  [-0.0597207976835705, 0.000389440793564336, 0.08621185274050362]]
COV_LAG10_NOADJ = [[1.257386180080192, -0.2871560199899845, -0.03958300024627578],
                   [-0.2871560199899846, 0.1049107028987101, 0.0003896205316866961],
                   [-0.03958300024627573, 0.0003896205316866944, 0.0985539340694839]]
BSE_LAG4_NOADJ = [1.1770944273438788, 0.3287874222581068, 0.29361854972140916]


def test_newey_west_matches_r_sandwich(macro):
    y, X = macro
    beta, cov, _ = ols_hac(y, X, None, 4, True)
    np.testing.assert_allclose(beta, MACRO_PARAMS, rtol=1e-12)
    np.testing.assert_allclose(cov, COV_LAG4_ADJ, rtol=1e-10)
    _, cov, _ = ols_hac(y, X, None, 4, False)
    np.testing.assert_allclose(cov, COV_LAG4_NOADJ, rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), BSE_LAG4_NOADJ, rtol=1e-10)
    _, cov, _ = ols_hac(y, X, None, 10, False)
    np.testing.assert_allclose(cov, COV_LAG10_NOADJ, rtol=1e-10)


def test_statsmodels_hac_defaults_differ_as_documented(macro):
    # OLS.fit(cov_type="HAC") defaults to use_correction=False (R adjust=FALSE) ...
    y, X = macro
    res = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": 4})
    np.testing.assert_allclose(res.cov_params(), COV_LAG4_NOADJ, rtol=1e-10)
    # ... while sandwich_covariance.cov_hac defaults to use_correction=True (R adjust=TRUE)
    np.testing.assert_allclose(sw.cov_hac(sm.OLS(y, X).fit(), nlags=4), COV_LAG4_ADJ, rtol=1e-10)


def test_hac_with_gaps_equals_pairwise_definition():
    rng = np.random.default_rng(11)
    y = _autocorrelated(60, 0.4, seed=5)
    y[[3, 4, 30]] = nan
    res = ols_trend(y, hac_lags=3, use_correction=False, inference="nw")
    t = np.arange(60.0)
    obs = ~np.isnan(y)
    X = np.column_stack([np.ones(obs.sum()), t[obs]])
    beta = np.linalg.lstsq(X, y[obs], rcond=None)[0]
    np.testing.assert_allclose(res.params, beta, rtol=1e-10)
    s = X * (y[obs] - X @ beta)[:, None]
    meat = np.zeros((2, 2))
    to = t[obs]
    for i in range(s.shape[0]):
        for j in range(s.shape[0]):
            lag = abs(to[i] - to[j])
            if lag <= 3:
                meat += (1 - lag / 4) * np.outer(s[i], s[j])
    bread = np.linalg.inv(X.T @ X)
    np.testing.assert_allclose(res.cov, bread @ meat @ bread, rtol=1e-10)
    assert res.n == 57 and res.n_missing == 3 and res.df_resid == 55
    del rng


def test_ols_trend_recovers_known_line_and_uses_default_lag():
    t = np.arange(100.0)
    y = 1.5 - 0.25 * t + np.where(np.arange(100) % 2, 0.1, -0.1)
    r = ols_trend(y, inference="nw")
    assert r.params[0] == pytest.approx(1.5, abs=5e-3)
    assert r.params[1] == pytest.approx(-0.25, abs=1e-4)
    assert r.hac_lags == 4 and r.use_correction
    assert r.p_values[1] < 1e-10


def test_ols_trend_defaults_to_the_studys_fixed_b_inference():
    y = _autocorrelated(80, 0.5, seed=3) + 0.01 * np.arange(80.0)
    r = ols_trend(y)
    assert r.inference == "fixed_b" and r.bandwidth_b == pytest.approx(0.5) and r.hac_lags == 39
    assert r.null == "lrv" and r.null_phi is not None
    with pytest.raises(ValueError, match="hac_lags is set by the bandwidth"):
        ols_trend(y, hac_lags=3)  # classic lags must be asked for with inference="nw"


@pytest.mark.parametrize("n, lag", [(100, 4), (80, 3), (50, 3), (200, 4), (300, 5), (20, 2)])
def test_default_hac_lag_rule(n, lag):
    assert default_hac_lags(n) == lag == math.floor(4 * (n / 100) ** (2 / 9))


def test_hac_meat_lag0_is_outer_product_sum():
    s = np.arange(12.0).reshape(6, 2)
    np.testing.assert_allclose(hac_meat(s, None, 0), s.T @ s)


# -------------------------------------------------------------------------------------------- fractional logit
# As printed in statsmodels' results_glm.Star98 (from R): params to 10 decimal places, bse to 7 significant digits.
STAR98_PARAMS = [-0.0168150366, 0.0099254766, -0.0187242148, -0.0142385609, 0.2544871730, 0.2406936644,
                 0.0804086739, -1.9521605027, -0.3340864748, -0.1690221685, 0.0049167021, -0.0035799644,
                 -0.0140765648, -0.0040049918, -0.0039063958, 0.0917143006, 0.0489898381, 0.0080407389,
                 0.0002220095, -0.0022492486, 2.9588779262]
STAR98_BSE = [4.339467e-04, 6.013714e-04, 7.435499e-04, 4.338655e-04, 2.994576e-02, 5.713824e-02, 1.392359e-02,
              3.168109e-01, 6.126411e-02, 3.270139e-02, 1.253877e-03, 2.254633e-04, 1.904573e-03, 4.739838e-04,
              9.623650e-04, 1.450923e-02, 7.451666e-03, 1.499497e-03, 2.988794e-05, 3.489838e-04, 1.546712e+00]


def test_fractional_logit_point_estimates_match_r_glm_star98():
    d = sm.datasets.star98.load()
    trials = d.endog.sum(axis=1).to_numpy(dtype=float)
    prop = d.endog["NABOVE"].to_numpy(dtype=float) / trials
    X = np.column_stack([d.exog.to_numpy(dtype=float), np.ones(prop.size)])
    beta, cov = fit_fractional_logit(prop, X, var_weights=trials, cov_type="nonrobust")
    # half a unit of the last published digit: 0.5e-10 for the params, 0.5e-6 of the leading power of ten for bse
    np.testing.assert_allclose(beta, STAR98_PARAMS, rtol=0, atol=0.5e-10)
    bse = np.sqrt(np.diag(cov))
    half_unit = 0.5 * 10.0 ** (np.floor(np.log10(np.abs(STAR98_BSE))) - 6)
    assert np.all(np.abs(bse - np.asarray(STAR98_BSE)) <= half_unit)


def test_fractional_logit_hac_equals_statsmodels_glm_hac_on_complete_data():
    t = np.arange(70.0)
    share = 1 / (1 + np.exp(-(-1.0 + 0.03 * t))) + 0.03 * np.sin(t)
    X = np.column_stack([np.ones(t.size), t])
    ref = sm.GLM(share, X, family=sm.families.Binomial()).fit(cov_type="HAC", cov_kwds={"maxlags": 3})
    r = fractional_logit_trend(share, hac_lags=3)
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-7)
    np.testing.assert_allclose(np.asarray(r.cov), ref.cov_params(), rtol=1e-6)


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_fractional_logit_trend_recovers_exact_logistic_curve_and_crossing():
    t = np.arange(60.0)
    share = 1 / (1 + np.exp(-(-2.0 + 0.05 * t)))
    share[[7, 8]] = nan
    r = fractional_logit_trend(share)
    assert r.params[0] == pytest.approx(-2.0, abs=1e-6)
    assert r.params[1] == pytest.approx(0.05, abs=1e-7)
    assert r.crossing_t == pytest.approx(40.0, abs=1e-4)
    assert r.n == 58 and r.n_missing == 2


def test_fractional_logit_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match="proportions in"):
        fractional_logit_trend(np.array([0.2, 0.4, 1.3, 0.5, 0.6]))


# ------------------------------------------------------------------------------------------------ prewhitening
def test_prewhitened_meat_follows_andrews_monahan_on_complete_data():
    # R sandwich::meatHAC(prewhite=1): VAR(1) without intercept on the scores, Bartlett kernel on its residuals
    # (summed over the n - 1 residuals), recoloured by (I - A)^-1
    y = _autocorrelated(90, 0.7, seed=12)
    t = np.arange(90.0)
    X = np.column_stack([np.ones(90), t])
    e = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    s = X * e[:, None]
    A = np.linalg.lstsq(s[:-1], s[1:], rcond=None)[0].T
    v = s[1:] - s[:-1] @ A.T
    L = 3
    meat_v = v.T @ v
    for j in range(1, L + 1):
        g = v[j:].T @ v[:-j]
        meat_v += (1 - j / (L + 1)) * (g + g.T)
    B = np.linalg.inv(np.eye(2) - A)
    np.testing.assert_allclose(hac_meat(s, None, L, prewhite=True), B @ meat_v @ B.T, rtol=1e-10)


def test_prewhitening_widens_standard_errors_under_strong_autocorrelation():
    y = _autocorrelated(100, 0.8, seed=21)
    plain = ols_trend(y, inference="nw")
    pw = ols_trend(y, prewhite=True, inference="nw")
    assert pw.params == plain.params and pw.prewhite and not plain.prewhite
    assert pw.se[1] > 1.2 * plain.se[1]
