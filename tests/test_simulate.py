"""The simulated Hub: deterministic, in the archive's layout, with a truth the shares obey."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis.simulate import SimulationParams, load_truth, simulate_hub

TINY = SimulationParams(models=400, weeks=12, start=dt.date(2025, 1, 1), crossover=dt.date(2025, 2, 12), seed=3,
                        missing_week=5)


def _digest(root):
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_hub(tmp_path):
    a, b, c = (simulate_hub(tmp_path / n, p) for n, p in
               (("a", TINY), ("b", TINY), ("c", SimulationParams(**{**TINY.__dict__, "seed": 4}))))
    assert _digest(a.root) == _digest(b.root)
    assert _digest(a.root) != _digest(c.root)


def test_layout_schema_and_truth(small_hub):
    truth = load_truth(small_hub)
    dates = truth["snapshot_dates"]
    assert truth["crossover_date"] == "2025-06-04"
    assert len(dates) == 39 and truth["missing_snapshot_dates"] == ["2025-04-30"]
    files = sorted((small_hub / "datasets/hfmlsoc/hub_weekly_snapshots/models").glob("*/models.parquet"))
    assert [f.parent.name for f in files] == dates
    cols = set(pq.read_schema(files[-1]).names)
    assert {"id", "author", "createdAt", "downloads", "downloadsAllTime", "tags", "baseModels", "cardData",
            "siblings", "config"} <= cols
    assert "downloadsAllTime" not in pq.read_schema(files[0]).names  # absent before 2025-02-26
    kinds = {str(pq.read_schema(f).field("createdAt").type) for f in files}
    assert kinds == {"timestamp[ms, tz=UTC]", "string"}  # type drift between weeks
    assert truth["accounts"]["Qwen"]["region"] == "CN" and truth["accounts"]["bartowski"]["region"] == "UNAFFILIATED"


def test_lineage_shares_equal_the_target_shares(small_hub):
    truth = load_truth(small_hub)
    tm = pd.read_parquet(small_hub / "truth_models.parquet")
    for date in truth["snapshot_dates"][::9]:
        t = pq.read_table(small_hub / f"datasets/hfmlsoc/hub_weekly_snapshots/models/{date}/models.parquet",
                          columns=["id", "downloads"]).to_pandas().merge(tm, on="id")
        share = t.groupby("lineage_region")["downloads"].sum() / t["downloads"].sum()
        for region, target in truth["target_shares"][date].items():
            assert share.get(region, 0.0) == pytest.approx(target, abs=2e-4)


def test_long_tail_heavy_tail_and_dirty_lineage(small_hub):
    truth = load_truth(small_hub)
    last = truth["snapshot_dates"][-1]
    t = pq.read_table(small_hub / f"datasets/hfmlsoc/hub_weekly_snapshots/models/{last}/models.parquet").to_pandas()
    assert 0.4 < (t["downloads"] == 0).mean() < 0.7
    top = t["downloads"].sort_values(ascending=False)
    assert top.iloc[:10].sum() > 0.2 * top.sum()
    assert set(t["author"]) >= {"Qwen", "meta-llama", "bartowski"}
    assert truth["dirty_counts"]["dangling"] > 0 and truth["dirty_counts"]["cycle_members"] >= 2
    rel = {b["relation"] for b in t["baseModels"].dropna()}
    assert rel == {"finetune", "quantized", "adapter", "merge"}


def test_refuses_to_overwrite_and_bad_parameters(tmp_path):
    simulate_hub(tmp_path, TINY)
    with pytest.raises(FileExistsError, match="already there"):
        simulate_hub(tmp_path, TINY)
    with pytest.raises(ValueError, match="at least 100 models"):
        SimulationParams(models=5)


def test_injected_factors_follow_their_distributions_and_are_recorded(small_hub):
    """Licence, languages and size are drawn per family by origin (known truth), kept by derivatives, written to the
    archive (tags, safetensors/GGUF totals) and recorded in truth.json and truth_models.parquet."""
    from analysis.simulate.hub import SIM_KEEP_LICENCE, SIM_LANGUAGE, SIM_LICENCE, SIM_SIZE, inject_factors

    n = 6000
    uploader = np.array(["Qwen", "meta-llama"] * (n // 2) + ["user00001"] * (2 * n), dtype=object)
    root = np.concatenate([np.arange(n), np.arange(n), np.arange(n)])
    relation = np.array([""] * n + ["finetune"] * n + ["adapter"] * n, dtype=object)
    f = inject_factors(uploader, root, relation, seed=1)
    base = np.arange(3 * n) < n
    for origin, acct in (("CN", "Qwen"), ("US", "meta-llama")):
        fam = base & (uploader == acct)
        got = pd.Series(f.licence_class[fam]).value_counts(normalize=True)
        for c, p in SIM_LICENCE[origin].items():
            assert abs(got.get(c, 0.0) - p) < 4 * np.sqrt(p * (1 - p) / fam.sum()) + 1e-9
        assert abs(f.declares_zh[fam].mean() - SIM_LANGUAGE[origin]["zh"]) < 0.04
        sizes = pd.Series(f.size_bin[fam & (f.size_bin != "unknown")]).value_counts(normalize=True)
        for b, p in SIM_SIZE[origin].items():
            assert abs(sizes.get(b, 0.0) - p) < 4 * np.sqrt(p * (1 - p) / fam.sum()) + 1e-9
    ft = relation == "finetune"
    assert (f.licence_class[ft] == f.licence_class[root[ft]]).mean() >= SIM_KEEP_LICENCE
    positive = np.array([w is not None and w > 0 for w in f.params_written])
    ad = (relation == "adapter") & positive & positive[root]
    fam_params = np.array([f.params_written[r] for r in root[ad]], dtype=float)
    assert (np.array([f.params_written[i] for i in np.flatnonzero(ad)], dtype=float) < fam_params / 10 + 1).all()
    assert f.unparseable["licence_tags"] == int((f.licence_tag == "Apache 2.0 ").sum()) > 0
    # written to the archive and recorded
    truth = load_truth(small_hub)["factors"]
    assert truth["difference_cn_minus_us"]["licence:permissive"] == pytest.approx(
        SIM_LICENCE["CN"]["permissive"] - SIM_LICENCE["US"]["permissive"])
    last = load_truth(small_hub)["snapshot_dates"][-1]
    t = pq.read_table(small_hub / f"datasets/hfmlsoc/hub_weekly_snapshots/models/{last}/models.parquet",
                      columns=["id", "tags", "safetensors", "gguf"]).to_pandas()
    assert t["tags"].map(lambda x: any(str(v).startswith("license:") for v in x)).mean() > 0.7
    assert t["safetensors"].notna().mean() > 0.5 and t["gguf"].notna().any()
    tm = pd.read_parquet(small_hub / "truth_models.parquet")
    assert {"licence_class", "declares_zh", "size_bin", "licence_tag", "params_written"} <= set(tm.columns)


# ------------------------------------------------------------------------------------------- truth shapes
def test_truth_shapes_cross_where_they_are_built_to():
    from analysis.simulate.shapes import SHAPES, TruthShape, measure_crossings, underlying_crossings

    for shape in SHAPES:
        for n in (52, 104):
            tr = TruthShape(shape, n)
            u = underlying_crossings(tr)
            m = measure_crossings(tr)
            if shape == "after_window":
                assert u.headline is None and m.headline is None and not m.ahead_at_end
                continue
            assert u.headline == pytest.approx(tr.crossing_frac * (n - 1), abs=1e-3), shape
            if shape != "two_crossings":  # a 4-week trailing mean of a path straight near the crossing: 1.5 later
                assert m.headline == pytest.approx(u.headline + 1.5, abs=0.15), shape
    two = measure_crossings(TruthShape("two_crossings", 104))
    assert two.directions == (1, -1, 1) and two.headline == two.times[-1]
    jump = TruthShape("release_jump", 104)
    t = np.arange(104.0)
    steps = np.diff(jump.path(t))
    assert steps.max() == pytest.approx(0.35 + 0.02) and int(np.argmax(steps)) + 1 == math.ceil(0.4 * 103)


def test_observe_averages_path_and_noise_over_the_window():
    from analysis.simulate.shapes import TruthShape, ar1_noise, observe

    tr = TruthShape("line", 30)
    y = observe(np.random.default_rng(7), tr, phi=0.5, sigma=0.1, window=4, missing=(3, 9))
    u = ar1_noise(np.random.default_rng(7), 33, 0.5, 0.1)
    expect = tr.measure(np.arange(30.0), 4) + np.convolve(u, np.ones(4) / 4, mode="valid")
    assert np.isnan(y[[3, 9]]).all()
    keep = ~np.isnan(y)
    np.testing.assert_allclose(y[keep], expect[keep], rtol=1e-12)


def test_place_crossing_puts_the_measure_crossing_on_the_date():
    from analysis.simulate.shapes import measure_crossings, place_crossing

    for shape, n, t in (("release_jump", 80, 51.0), ("s_curve", 52, 30.2), ("line", 10, 28.0)):
        tr = place_crossing(shape, n, t)
        lo_hi = (0.0, max(n - 1.0, t) + 5)
        assert measure_crossings(tr, 4, *lo_hi).headline == pytest.approx(t, abs=1e-3)


def test_demo_truth_is_a_release_jump_on_the_measure(tmp_path):
    hub = simulate_hub(tmp_path / "h", TINY)
    truth = load_truth(hub.root)
    assert truth["truth_shape"]["shape"] == "release_jump" and truth["release_date"] == "2025-01-20"
    assert truth["measure_crossing_dates"][-1] == truth["crossover_date"] == "2025-02-12"
    # the underlying weekly path crosses 1.5 weeks before the 4-week measure (a straight path near the crossing)
    under = dt.date.fromisoformat(truth["underlying_crossover_date"])
    assert (dt.date(2025, 2, 12) - under).days in (10, 11)
    nf = truth["noise_free_log_ratio"]
    dates = sorted(nf)
    before = [nf[d] for d in dates if d < "2025-02-12"]
    after = [nf[d] for d in dates if d > "2025-02-12"]
    assert max(before) < 0 < min(after)
    # the release jump shows in the noise-free measure as a rise of 0.35 spread over four weeks
    rises = np.diff([nf[d] for d in dates])
    slope = 1.6 / 52
    np.testing.assert_allclose(np.sort(rises)[-4:], slope + 0.35 / 4, atol=1e-5)
    np.testing.assert_allclose(np.sort(rises)[:-4], slope, atol=1e-5)
