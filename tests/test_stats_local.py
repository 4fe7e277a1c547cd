"""Tests of the local-linear crossover (analysis.stats.local) and its noise model (analysis.stats.noise).

Known answers: the smoother's weights equal weighted least squares done by hand; the noise model's
autocorrelations equal those of an explicit AR(1) covariance averaged by an explicit window matrix; the variogram
fit recovers a known persistence on a long series, with and without a jump. A small, fast version of the
simulation study (tens of series; the full one is ``python -m devtools.validate --preset calibration``) checks that
the headline covers the truth of a release jump and does not claim an overtaking that has not happened; its bounds
are loose but fail a method with the wrong noise model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.simulate.shapes import TruthShape, measure_crossings, observe
from analysis.stats import local as L
from analysis.stats.noise import PHI_GRID, ar_noise, fit_noise, noise_acf, noise_acf_var


def test_local_weights_are_weighted_least_squares():
    rng = np.random.default_rng(0)
    pos = np.array([0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13], dtype=float)  # gaps at 3 and 8
    y = rng.standard_normal(pos.size)
    for t0, h in ((5.3, 4.0), (0.0, 3.5), (13.0, 6.0)):
        Lw, Bw = L.local_weights(pos, np.array([t0]), h)
        w = np.clip(1 - np.abs(pos - t0) / h, 0, None)
        X = np.column_stack([np.ones(pos.size), pos - t0])
        beta = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w * y))
        assert Lw[0] @ y == pytest.approx(beta[0], abs=1e-12)
        assert Bw[0] @ y == pytest.approx(beta[1], abs=1e-12)
    # a window with fewer than three observations is NaN, not a wild extrapolation
    Lw, _ = L.local_weights(pos, np.array([3.0]), 1.5)
    assert np.isnan(Lw).all()


def test_noise_acf_is_the_window_average_of_an_ar1():
    phi, w, n = 0.6, 4, 30
    k = np.arange(n + w - 1)
    S = phi ** np.abs(k[:, None] - k[None, :])  # unit-variance AR(1) on the extended grid
    A = np.zeros((n, n + w - 1))
    for i in range(n):
        A[i, i:i + w] = 1.0 / w  # trailing mean of w periods
    C = A @ S @ A.T
    np.testing.assert_allclose(noise_acf(phi, w, n - 1), C[0] / C[0, 0], rtol=1e-12)
    assert noise_acf_var(phi, w) == pytest.approx(C[0, 0], rel=1e-12)
    np.testing.assert_allclose(noise_acf(0.3, 1, 5), 0.3 ** np.arange(6), rtol=1e-12)
    u = ar_noise(np.random.default_rng(1), 400, 0.8, 4, 2000)
    assert u.var() == pytest.approx(1.0, abs=0.05)  # unit marginal variance after the window


def test_lag_products_give_the_quadratic_form():
    pos = np.array([0, 1, 2, 3, 5, 6, 7, 8, 9, 12], dtype=float)
    rows = np.random.default_rng(2).standard_normal((3, pos.size))
    acf = noise_acf(0.7, 4, int(pos[-1]))
    S = acf[np.abs(pos[:, None] - pos[None, :]).astype(int)]
    direct = np.einsum("gi,ij,gj->g", rows, S, rows)
    np.testing.assert_allclose(L._lag_products(rows, pos) @ acf, direct, rtol=1e-10)


@pytest.mark.parametrize("phi", [0.3, 0.6, 0.85])
def test_variogram_fit_recovers_persistence_and_ignores_a_jump(phi):
    n = 3000
    rng = np.random.default_rng(int(100 * phi))
    u = 0.1 * ar_noise(rng, n, phi, 4, 1)[:, 0]
    line = 0.001 * np.arange(n)
    m = fit_noise(line + u, window=4, lags=6)
    assert m.phi == pytest.approx(phi, abs=0.06) and m.sigma == pytest.approx(0.1, rel=0.2)
    jumped = line + u + 0.4 * (np.arange(n) >= n // 2)  # a release jump of four noise sds
    mj = fit_noise(jumped, window=4, lags=6)
    assert mj.phi == pytest.approx(phi, abs=0.08)
    assert PHI_GRID[mj.index] == mj.phi


def test_break_null_p_values_with_independent_noise_agree_with_the_iid_null():
    from analysis.stats import breaknull as BN

    n = 60
    t = np.arange(n, dtype=float)
    y = 0.02 * t + np.random.default_rng(8).standard_normal(n)
    fitted = fit_noise(y, t, window=1, lags=6)
    assert fitted.phi <= 0.2
    d = BN.BreakNullDesign(tuple(t), 1, 6, 0.15, 27)
    obs = {k: float(v[0]) for k, v in BN.statistics(y[:, None], d).items()}
    res = BN.calibrated_p_values(obs, d, fitted.index, reps=499, tail=0.35, iid_reps=999)
    for test, r in res.items():
        assert r.p_raw == pytest.approx(r.p_iid, abs=0.12), test  # the noise model is (nearly) independent here
        assert 0 < r.p_value <= 1 and fitted.phi in r.plausible_coefficients
    # the statistics agree with the tests' own functions
    from analysis.stats import breaks as B

    X = np.column_stack([np.ones(n), t])
    assert obs["sup_f"] == pytest.approx(B.sup_f(y, X, mc_reps=0).statistic)
    assert obs["chow"] == pytest.approx(B.chow(y, X, 27).f_stat)
    assert obs["cusum"] == pytest.approx(B.cusum_ols(y, X, pvalue="brownian_bridge").statistic)
    assert obs["pettitt"] == pytest.approx(B.pettitt(y - X @ np.linalg.lstsq(X, y, rcond=None)[0]).statistic)
    assert BN._p(np.array([1.0, 2.0, 3.0]), [0.5, 2.0, 9.0]).tolist() == [1.0, 0.75, 0.25]


def test_pieces_interpolate_the_set_ends():
    times = np.arange(8, dtype=float)
    g = np.array([0.5, -0.5, -1.0, 1.0, 2.0, -1.0, -1.0, -2.0])
    assert L._pieces(times, g) == [(0.5, 2.5), (4 + 2 / 3, 7.0)]
    assert L._pieces(times, np.ones(8)) == []


def test_local_crossing_on_a_clean_line():
    n = 80
    y = 0.03 * (np.arange(n) - 50.0) + 0.002 * np.random.default_rng(3).standard_normal(n)
    r = L.local_crossing(y, window=1, reps=200)
    assert r.estimate == pytest.approx(50.0, abs=0.3)
    assert r.kind == "bounded" and len(r.pieces) == 1 and r.contains(50.0)
    assert r.upper - r.lower < 2.0
    assert r.crossings == (r.estimate,) and r.directions == (1,)
    assert r.bandwidth == pytest.approx(12.0) and r.bandwidth_rule.startswith("0.15")
    s = r.settings()
    assert s["bandwidth_periods"] == 12.0 and s["null_draws"] == 200 and s["noise_window_periods"] == 1
    assert len(r.times) == len(r.fitted) == len(r.se) == len(r.critical) == 4 * (n - 1) + 1


def test_open_ends_and_the_words_for_them():
    n = 60
    t = np.arange(n, dtype=float)
    rng = np.random.default_rng(4)
    y = 0.01 * (t - 61.0) + 0.05 * rng.standard_normal(n)  # crossing just after the window
    r = L.local_crossing(y, window=1, reps=200)
    assert r.open_end and r.kind in ("unbounded", "two_rays") and math.isinf(r.upper)
    assert r.contains(1e6)  # an open end reaches beyond the window
    assert r.estimate is None or r.fitted_end > 0


def test_local_crossing_names_bad_input():
    with pytest.raises(ValueError, match="at least 8 observed periods"):
        L.local_crossing(np.r_[np.full(10, np.nan), np.arange(5.0)])
    with pytest.raises(ValueError, match="bandwidth h=2 periods leaves fewer than three"):
        y = np.arange(40.0)
        y[10:13] = np.nan
        L.local_crossing(y, bandwidth=2.0, reps=200)
    with pytest.raises(ValueError, match="reps=50"):
        L.local_crossing(np.arange(40.0), reps=50)


def test_validation_smoke_release_jump_and_a_crossing_after_the_window():
    """A few dozen series of the study's hard cases; loose bounds that a broken method still fails.

    Release jump, n = 104, AR(1) 0.5 with the 4-week overlap: the headline set must cover the true crossing of the
    measure in most series (the full study's figure is in data/reference/calibration.json; a method with normal
    critical values and no noise model covers far less) and date it to within a few weeks. A truth crossing after
    the window: the headline must almost never claim a bounded overtaking date inside it.
    """
    from devtools.validate import run_cell

    c = run_cell("release_jump", 104, 0.5, reps=30, seed=3, straight=False, local_reps=300)
    loc = c["methods"]["local_linear"]
    assert c["true_headline"] == pytest.approx(measure_crossings(TruthShape("release_jump", 104)).headline)
    assert loc["coverage"] >= 0.83 and loc["median_abs_error"] <= 2.5
    assert c["methods"]["first_passage"]["coverage"] >= 0.83
    aw = run_cell("after_window", 52, 0.5, reps=30, seed=3, straight=False, local_reps=300)
    assert aw["true_headline"] is None and aw["false_claim"] <= 0.1


def test_normal_critical_values_would_under_cover():
    """The same series with the noise ignored (iid errors, 1.96) miss the truth far more often: the smoke test's
    bounds are not met by a broken method."""
    n, phi = 104, 0.5
    tr = TruthShape("release_jump", n)
    theta = measure_crossings(tr).headline
    rng = np.random.default_rng(9)
    hit_naive, hit = [], []
    for _ in range(30):
        y = observe(rng, tr, phi=phi, sigma=0.1)
        Lw, _ = L.local_weights(np.arange(n, dtype=float), np.array([theta]), 15.45)
        e = np.diff(y, 2) / math.sqrt(6)  # iid noise variance from second differences
        se = math.sqrt(np.var(e) * float(Lw[0] @ Lw[0]))
        hit_naive.append(abs(float(Lw[0] @ y)) <= 1.96 * se)
        hit.append(L.local_crossing(y, window=4, reps=300, keep_path=False).contains(theta))
    assert np.mean(hit_naive) < 0.75 < 0.83 <= np.mean(hit)


def test_the_committed_calibration_file_is_for_this_method_and_complete():
    from analysis.paths import REPO_ROOT
    from analysis.stats.readings import calibration_status, coverage_range, load_calibration
    from devtools.validate import CORE_TRUTHS, NS, PHIS, summarise

    cal = load_calibration(REPO_ROOT / "data" / "reference" / "calibration.json")
    assert cal is not None, "data/reference/calibration.json is missing: run python -m devtools.validate --preset " \
                            "calibration"
    ok, why = calibration_status(cal)
    assert ok, why  # a change of the headline's settings needs a new calibration
    cells = {(c["truth"], c["n"], c["phi"]) for c in cal["cells"]}
    assert {(t, n, p) for t in CORE_TRUTHS for n in NS for p in PHIS} <= cells
    assert all(c["reps"] >= 300 for c in cal["cells"]) and len(cal["after_window"]) == 4
    assert {(r["n"], r["phi"]) for r in cal["break_size"]} == {(n, p) for n in NS for p in PHIS}
    assert cal["summary"] == summarise(cal)  # the summary is what the cells say
    r = coverage_range(cal, "local_linear")
    assert r["cells"] == 16 and r["min"] == cal["summary"]["local_linear"]["coverage_min"]


def test_no_coverage_figure_is_typed_in_the_readme():
    import re

    from analysis.paths import REPO_ROOT

    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"\d+(\.\d+)?\s*-\s*\d+(\.\d+)?%", text), "a percentage range typed in README.md"
    assert not re.search(r"cover\w*[^.]{0,80}\b0\.\d{2,3}\b", text), "a coverage figure typed in README.md"
    assert "data/reference/calibration.json" in text
