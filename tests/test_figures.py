"""Figures: structure of each figure, tables with known answers, byte-identical reruns, style.

The processed inputs are synthesised in a temporary study root: a panel whose log ratio log(s_CN/s_US) is exactly
``0.1 (t - 20)`` (crossing at week 20, 2024-12-11), trend and crossover results computed by the project's own
estimators, small rankings, models, sensitivity grid and published estimates.
"""

from __future__ import annotations

import datetime as dt
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.figures import Definition, FigureInputError, all_figures, figure, make_all_figures  # noqa: E402
from analysis import contracts  # noqa: E402
from analysis.figures import data as fdata  # noqa: E402
from analysis.figures.cumulative import cumulative_table  # noqa: E402
from analysis.figures.derivatives import derivatives_table, partial_months_text  # noqa: E402
from analysis.figures.log_ratio import log_ratio_table  # noqa: E402
from analysis.figures.published import comparison_table  # noqa: E402
from analysis.figures.rankings import column_dates, rankings_table  # noqa: E402
from analysis.figures.sensitivity import forest_table, sensitivity_table  # noqa: E402
from analysis.figures.share import share_by_origin_table  # noqa: E402
from analysis.figures.style import (ORIGIN_STYLES, ONE_COLUMN, TWO_COLUMN, paper_style, save_figure,  # noqa: E402
                                    style_file)
from analysis.raw import sha256_file  # noqa: E402
from analysis.panel import primary_series  # noqa: E402
from analysis.paths import Paths  # noqa: E402
from analysis.schema import REGIONS  # noqa: E402
from analysis.stats.crossover import crossing_delta, crossing_fieller  # noqa: E402
from analysis.stats.local import local_crossing  # noqa: E402
from analysis.stats.results import to_jsonable  # noqa: E402
from analysis.stats.trend import ols_trend  # noqa: E402
from test_factor_figures import write_factor_inputs  # noqa: E402

START = dt.date(2024, 7, 24)
WEEKS = 40
CROSS_T = 20  # the true crossing, in weeks
DEFN = Definition("downloads_30d", "lineage", "all", "weekly")
OTHER_SHARES = {"EU": 0.15, "OTHER": 0.1, "UNAFFILIATED": 0.1, "UNKNOWN": 0.05}


def _panel() -> pd.DataFrame:
    rows = []
    for i in range(WEEKS):
        if i == 13:  # a missing snapshot, as in real archives
            continue
        d = pd.Timestamp(START + dt.timedelta(weeks=i))
        r = 0.1 * (i - CROSS_T) + 0.01 * np.sin(i)
        cn = 0.6 / (1 + np.exp(-r))
        shares = {"CN": cn, "US": 0.6 - cn, **OTHER_SHARES}
        for measure in ("downloads_30d", "downloads_alltime_increment"):
            if measure == "downloads_alltime_increment" and i == 0:
                continue
            for rule in ("lineage", "uploader"):
                for region in REGIONS:
                    s = shares[region]
                    rows.append({"date": d, "measure": measure, "rule": rule, "scope": "all", "region": region,
                                 "downloads": s * 1e6, "share": s, "n_models": 10})
    return pd.DataFrame(rows)


def write_inputs(root, *, rankings: bool = True) -> Paths:
    """Write synthetic processed inputs under ``root`` and return its Paths (simulated)."""
    paths = Paths(root, simulated=True)
    paths.results_dir.mkdir(parents=True)
    panel = _panel()
    panel.to_parquet(paths.panel_file, index=False)
    s = primary_series(panel, "downloads_30d", "lineage", "all")
    fit = ols_trend(s["log_ratio"].to_numpy(), s["t"].to_numpy())
    a, b = fit.params
    fi = crossing_fieller(a, b, fit.cov, df=fit.df_resid)
    de = crossing_delta(a, b, fit.cov, df=fit.df_resid)
    loc = local_crossing(s["log_ratio"].to_numpy(), s["t"].to_numpy(), window=4, reps=200, seed=1)
    t0 = pd.Timestamp(START)

    def todate(t):
        return None if not np.isfinite(t) else (t0 + pd.Timedelta(days=7 * t)).floor("D").strftime("%Y-%m-%d")

    defn = {"measure": "downloads_30d", "rule": "lineage", "scope": "all", "frequency": "weekly"}
    trends = {"simulated": True, "definition": defn, "first_date": "2024-07-24", "last_date": todate(WEEKS - 1),
              "ols": dict(to_jsonable(fit), t0_date="2024-07-24", period_days=7.0),
              "mann_kendall": {"hamed_rao": {"method": "hamed_rao", "s": 700.0, "z": 8.1, "p_value": 1e-9,
                                             "tau": 0.9}},
              "sens_slope": {"slope": 0.1, "ci_low": 0.09, "ci_high": 0.11, "p_value": 1e-9, "z": 8.0}}
    cross = {"simulated": True, "definition": defn, "alpha": 0.05, "first_date": trends["first_date"],
             "last_date": trends["last_date"],
             "headline": {"method": "fieller", "estimate_date": todate(fi.estimate), "lower_date": todate(fi.lower),
                          "upper_date": todate(fi.upper), "kind": fi.kind, "estimate_t": fi.estimate,
                          "lower_t": fi.lower, "upper_t": fi.upper},
             "methods": {"local_linear": {"kind": loc.kind, "grid_step": loc.grid_step,
                                          "estimate_date": todate(loc.estimate), "lower_date": todate(loc.lower),
                                          "upper_date": todate(loc.upper),
                                          "pieces_dates": [[todate(a), todate(b)] for a, b in loc.pieces],
                                          "path": {"t": list(loc.times), "fitted": list(loc.fitted),
                                                   "se": list(loc.se), "critical": list(loc.critical)}},
                         "fieller": {**to_jsonable(fi), "settings": {"method": "nw", "hac_lags": 2}},
                         "delta": {**to_jsonable(de), "settings": {"method": "nw", "hac_lags": 2}},
                         "first_passage": {"date": todate(CROSS_T + 1), "prob_crossed_by_last_period": 0.99,
                                           "settings": {"k": 3}}}}
    paths.trends_file.write_text(json.dumps(trends))
    paths.crossover_file.write_text(json.dumps(cross))
    sens = pd.DataFrame([
        ("downloads_30d", "lineage", "all", None, 2, "fieller", cross["headline"]["estimate_date"],
         cross["headline"]["lower_date"], cross["headline"]["upper_date"], "bounded", 39),
        ("downloads_30d", "uploader", "all", None, 2, "fieller", "2025-01-15", None, None, "unbounded", 39),
        ("downloads_30d", "uploader", "all", None, 2, "delta", "2025-01-15", "2024-12-01", "2025-03-01", "bounded",
         39),
        ("downloads_30d", "lineage", "llm", None, 2, "fieller", None, None, None, "no_trend", 39),
    ], columns=list(contracts.SENSITIVITY_COLUMNS[:10]) + ["n_periods"])
    sens.to_parquet(paths.sensitivity_file, index=False)
    models = pd.DataFrame({
        "id": [f"m{i}" for i in range(9)],
        "relation": ["finetune", "finetune", "finetune", "quantized", "adapter", "merge", "base", "finetune", "merge"],
        "lineage_region": ["CN", "CN", "US", "CN", "EU", "US", "US", "CN", None],
        "createdAt": pd.to_datetime(["2024-09-03", "2024-09-20", "2024-09-28", "2024-09-05", "2024-10-01",
                                     "2024-10-02", "2024-09-01", "2022-03-02", "2024-10-09"], utc=True)})
    models.to_parquet(paths.models_file, index=False)
    if rankings:
        dates = sorted(panel["date"].unique())
        rk, to = [], []
        for i, d in enumerate(dates):
            for n in (10, 50, 100):
                for region in REGIONS:
                    rk.append((d, "lineage", n, region, {"CN": 0.5, "US": 0.3}.get(region, 0.05)))
            order = ["Qwen", "meta-llama", "mistralai"] if i > 20 else ["meta-llama", "Qwen", "mistralai"]
            for k, org in enumerate(order, 1):
                to.append((d, "lineage", org, {"Qwen": "CN", "meta-llama": "US", "mistralai": "EU"}[org],
                           1000 - k, k))
        pd.DataFrame(rk, columns=list(contracts.RANKING_COLUMNS)).to_parquet(paths.processed_dir / "rankings.parquet")
        pd.DataFrame(to, columns=list(contracts.TOP_ORG_COLUMNS)).to_parquet(paths.processed_dir / "top_orgs.parquet")
    fam = []
    for i, d in enumerate(sorted(panel["date"].unique())):
        for family, dev, origin, base, growth in (("Qwen", "Alibaba Cloud", "CN", 1e5, 1.1),
                                                  ("Llama", "Meta", "US", 4e5, 0.98),
                                                  ("Mistral", "Mistral AI", "EU", 5e4, 1.0),
                                                  ("Yi", "01.AI", "CN", 0.0, 1.0)):  # Yi: never downloaded
            fam.append((d, family, dev, origin, base * growth ** i, 3 if base else 0))
    pd.DataFrame(fam, columns=list(contracts.FAMILY_DOWNLOAD_COLUMNS)).to_parquet(
        paths.processed_dir / "family_downloads.parquet", index=False)
    paths.reference_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([("Brand & Lambert, The ATOM Report (2026)", "cumulative downloads", "llm", "first_party",
                   "overtook in summer 2025", "2025-06-01", "2025-08-31", True),
                  ("Lambert, talk slides (2026)", "new derivatives", "all", "lineage", "10% to 70%", None, None,
                   "V"),
                  ("Qwen team (2026)", "cumulative downloads", "all", "first_party", "passed Llama by Oct 2025", None,
                   "2025-10-31", "S")], columns=["source", "measure", "scope", "rule", "claim", "crossover_period_start",
                                   "crossover_period_end", "verified"]).to_csv(paths.published_estimates_file,
                                                                               index=False)
    head = cross["headline"]
    comparison = pd.DataFrame([
        ("Brand & Lambert, The ATOM Report (2026)", "overtook in summer 2025", "V", "downloads_alltime_increment",
         "first_party", "llm", "2025-06-01", "2025-08-31", "downloads_30d", "lineage", "all", "fieller",
         head["estimate_date"], head["lower_date"], head["upper_date"], head["kind"], None,
         "headline (no sensitivity row for their definition)", "ours_earlier", True),
        ("Lambert, talk slides (2026)", "10% to 70%", "V", "new_derivatives_share", "lineage", "all", None, None,
         "downloads_30d", "lineage", "all", "fieller", head["estimate_date"], head["lower_date"], head["upper_date"],
         head["kind"], None, "headline (no sensitivity row for their definition)", "no crossover date claimed", True),
        ("Qwen team (2026)", "passed Llama by Oct 2025", "S", "downloads_30d", "uploader", "all", None, "2025-10-31",
         "downloads_30d", "uploader", "all", "fieller", "2025-01-15", None, None, "unbounded", None,
         "same definition (headline method)", "not comparable: our interval is unbounded", True),
    ], columns=list(contracts.COMPARISON_COLUMNS))
    comparison.to_csv(paths.locate("published_comparison"), index=False)
    paths.manifest.parent.mkdir(parents=True, exist_ok=True)
    paths.manifest.write_text('{"source": "test"}\n')
    write_factor_inputs(paths)  # figures 9-13: notebook 06's files (tests/test_factor_figures.py)
    return paths


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp("study"))


def _legend_texts(fig) -> list[str]:
    out = []
    for leg in list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        out += [t.get_text() for t in leg.get_texts()]
    return out


def _gids(fig, gid: str) -> list:
    return fig.findobj(lambda a: a.get_gid() == gid)


def _drawn(fig, gid: str) -> list:
    """The artists with ``gid`` drawn in the axes (legend entries left out)."""
    return [a for ax in fig.axes for a in ax.findobj(lambda x: x.get_gid() == gid)]


def _draw(spec_number: int, table, simulated=True):
    spec = figure(spec_number)
    with paper_style():
        fig = spec.plot(table, definition_label=DEFN.label(), simulated=simulated)
    return fig


def _origin_labels() -> set[str]:
    return {ORIGIN_STYLES[r].label for r in REGIONS}


# ------------------------------------------------------------------------------------------------ style
def test_style_file_shipped_and_palette_distinct():
    assert style_file().name == "paper.mplstyle"
    colours = [s.color for s in ORIGIN_STYLES.values()]
    dashes = [str(s.linestyle) for s in ORIGIN_STYLES.values()]
    markers = [s.marker for s in ORIGIN_STYLES.values()]
    assert len(set(colours)) == len(set(dashes)) == len(set(markers)) == len(REGIONS)
    assert (ONE_COLUMN, TWO_COLUMN) == (3.5, 7.2)
    with paper_style():
        assert matplotlib.rcParams["pdf.fonttype"] == 42
        assert matplotlib.rcParams["font.sans-serif"][0] == "DejaVu Sans"


def test_save_figure_is_byte_identical_and_embeds_truetype(tmp_path):
    def once(stem):
        with paper_style():
            fig, ax = plt.subplots()
            ax.plot([0, 1], [0, 1], label="x")
            ax.legend()
            out = save_figure(fig, stem, dpi=60, title="t")
        plt.close(fig)
        return {k: p.read_bytes() for k, p in out.items()}

    a, b = once(tmp_path / "a" / "f"), once(tmp_path / "b" / "f")
    assert a == b
    assert b"/CreationDate" not in a["pdf"]
    assert b"FontFile2" in a["pdf"]  # TrueType font program embedded
    assert b"/Subtype /Type3" not in a["pdf"]
    with pytest.raises(ValueError, match="eps"):
        save_figure(plt.figure(), tmp_path / "x", formats=["eps"])


# ------------------------------------------------------------------------------------------------ figure 1
def test_figure1_share_by_origin_structure(inputs):
    cross = json.loads(inputs.crossover_file.read_text())
    head = fdata.headline_crossing(cross)
    table = share_by_origin_table(pd.read_parquet(inputs.panel_file), DEFN, head)
    fig = _draw(1, table)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Snapshot date"
    assert ax.get_ylabel().startswith("Share of downloads")
    texts = _legend_texts(fig)
    assert _origin_labels() <= set(texts)
    marker = _gids(fig, "crossover")
    assert len(marker) == 1
    assert marker[0].get_xdata()[0] == pd.Timestamp(cross["headline"]["estimate_date"])
    assert f"Crossover estimate {cross['headline']['estimate_date']}" in texts
    assert _gids(fig, "crossover-interval")
    assert _gids(fig, "simulated-watermark")
    plt.close(fig)


def test_figure1_unbounded_set_is_labelled_not_hidden(inputs):
    panel = pd.read_parquet(inputs.panel_file)
    c = fdata.Crossing("fieller", pd.Timestamp("2024-12-11"), None, None, "two_rays",
                       (pd.Timestamp("2024-10-01"), pd.Timestamp("2025-02-01")))
    table = share_by_origin_table(panel, DEFN, c)
    iv = table[table["element"] == "interval"]
    assert len(iv) == 2 and all("continues" in n for n in iv["note"])
    assert iv["date"].min() == panel["date"].min() and iv["date_end"].max() == panel["date"].max()


def test_figure1_missing_week_is_a_nan_row_and_a_line_gap(inputs):
    panel = pd.read_parquet(inputs.panel_file)
    table = share_by_origin_table(panel, DEFN, None)
    missing = pd.Timestamp(START + dt.timedelta(weeks=13))  # the fixture has no snapshot that week
    cn = table[(table["element"] == "share") & (table["group"] == "CN")]
    assert len(cn) == WEEKS and cn["date"].is_monotonic_increasing  # the full weekly grid
    gap = cn[cn["date"] == missing]
    assert len(gap) == 1 and np.isnan(gap["value"].iloc[0]) and gap["note"].iloc[0] == fdata.NO_SNAPSHOT_NOTE
    assert table.loc[table["date"] == missing, "value"].isna().all()
    fig = _draw(1, table)
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == ORIGIN_STYLES["CN"].label]
    x = pd.to_datetime(mdates.num2date(mdates.date2num(line.get_xdata()))).tz_localize(None)
    y = np.asarray(line.get_ydata(), dtype=float)
    assert np.isnan(y[list(x).index(missing)]) and np.isfinite(np.delete(y, list(x).index(missing))).all()
    plt.close(fig)


def test_missing_periods_weekly_and_monthly():
    # weekly periods end at the latest snapshot (02-06): grid 01-02, 01-09, 01-16, 01-23, 01-30, 02-06
    d = pd.to_datetime(["2025-01-01", "2025-01-08", "2025-01-29", "2025-02-06"])
    assert fdata.missing_periods(d) == [pd.Timestamp("2025-01-16"), pd.Timestamp("2025-01-23")]
    assert fdata.missing_periods(pd.to_datetime(["2025-01-01", "2025-04-01"]), "monthly") == [
        pd.Timestamp("2025-02-01"), pd.Timestamp("2025-03-01")]
    assert fdata.missing_periods(d[:2]) == []


# ------------------------------------------------------------------------------------------------ figure 2
def test_figure2_band_contains_zero_exactly_on_the_set(inputs):
    trends = json.loads(inputs.trends_file.read_text())
    cross = json.loads(inputs.crossover_file.read_text())
    table = log_ratio_table(pd.read_parquet(inputs.panel_file), DEFN, trends, cross)
    path = table[table["element"] == "path"]
    loc = cross["methods"]["local_linear"]
    assert len(path) == len(loc["path"]["t"])
    # the band is fitted -/+ critical x se, so it holds zero exactly where the set is (away from its interpolated ends)
    step = 7 * loc["grid_step"]
    pieces = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in loc["pieces_dates"]]
    assert pieces
    for d, lo, hi in zip(path["date"], path["lower"], path["upper"]):
        if any(abs((d - e).days) <= step for p in pieces for e in p):
            continue
        assert (lo <= 0 <= hi) == any(a <= d <= b for a, b in pieces)
    a, b = trends["ols"]["params"]
    st = table[table["element"] == "straight"]
    assert np.allclose(st["value"], a + b * np.arange(len(st)))   # the straight line, for comparison
    obs = table[table["element"] == "observed"]
    assert len(obs) == WEEKS and obs["value"].isna().sum() == 1  # the missing week stays as a NaN row
    # known answer: the crossing is at week 20 (2024-12-11) within a week
    est = pd.Timestamp(cross["headline"]["estimate_date"])
    assert abs((est - pd.Timestamp("2024-12-11")).days) <= 7
    assert not (table["element"] == "open_end").any()        # a bounded set inside the window needs no arrow


def test_figure2_structure(inputs):
    trends = json.loads(inputs.trends_file.read_text())
    cross = json.loads(inputs.crossover_file.read_text())
    fig = _draw(2, log_ratio_table(pd.read_parquet(inputs.panel_file), DEFN, trends, cross))
    ax = fig.axes[0]
    assert ax.get_ylabel() == "log(share CN / share US)"
    assert ax.get_xlabel() == "Date"
    texts = _legend_texts(fig)
    assert {"Local-linear path", "95% band", "One straight line (for comparison)"} <= set(texts)
    assert any(t.startswith("Set: 95% interval") for t in texts)
    (m,) = _gids(fig, "crossover")
    assert m.get_ydata()[0] == 0.0
    assert _gids(fig, "path-band") and _gids(fig, "crossover-interval") and _gids(fig, "straight-line")
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ figure 3
def test_figure3_cumulative_known_answer_and_structure(inputs):
    panel = pd.read_parquet(inputs.panel_file)
    table = cumulative_table(panel, "lineage", "all")
    eu = table[(table["group"] == "EU")]
    # EU gets 0.15e6 downloads per week elapsed; the missing week counts double (2 weeks elapsed)
    assert eu["value"].iloc[0] == 0.0
    assert eu["value"].iloc[-1] == pytest.approx(0.15e6 * (WEEKS - 1))
    fig = _draw(3, table)
    assert fig.axes[0].get_ylabel() == "Cumulative downloads"
    assert _origin_labels() <= set(_legend_texts(fig))
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ figure 4
def test_figure4_rankings_structure(inputs):
    rk = pd.read_parquet(inputs.processed_dir / "rankings.parquet")
    to = pd.read_parquet(inputs.processed_dir / "top_orgs.parquet")
    table = rankings_table(rk, to, "lineage")
    fig = _draw(4, table)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert any("Top 10" in t for t in titles) and any("Top 100" in t for t in titles)
    assert _origin_labels() <= set(_legend_texts(fig))
    slope = fig.axes[-1]
    assert slope.get_ylabel().startswith("Rank")
    lo, hi = slope.get_ylim()
    assert lo > hi  # rank 1 on top
    ticks = [t.get_text() for t in slope.get_yticklabels()]
    assert ticks[0] == "1" and ticks[-1] == "lower"  # rank 1 has its tick
    # four dates; Qwen leads after week 20, meta-llama before: the first column lists meta-llama first
    cols = [t.get_text() for t in slope.get_xticklabels()]
    last = (START + dt.timedelta(weeks=WEEKS - 1)).isoformat()
    assert len(cols) == 4 and cols[0] == "2024-07-24" and cols[-1] == last
    boxes = {(round(t.get_position()[0]), t.get_position()[1]): t.get_text() for t in slope.texts}
    assert boxes[(0, 1.0)] == "meta-llama" and boxes[(3, 1.0)] == "Qwen" and boxes[(3, 3.0)] == "mistralai"
    plt.close(fig)


def test_column_dates_known_answer():
    weekly = pd.date_range("2025-01-01", periods=10, freq="7D")
    # first, last, and the dates nearest to 1/3 and 2/3 of the way (days 21 and 42)
    assert column_dates(weekly, 4) == [weekly[0], weekly[3], weekly[6], weekly[9]]
    assert column_dates(weekly[:3], 4) == list(weekly[:3])  # fewer dates than columns: every date


def _slope_inputs(names=("Qwen", "meta-llama", "tencent", "mistralai"), ranks=None):
    dates = pd.to_datetime(["2025-01-01", "2025-01-08", "2025-01-15", "2025-01-22"])
    rankings = pd.DataFrame([{"date": d, "rule": "lineage", "top_n": 10, "region": r, "share": 1 / len(REGIONS)}
                             for d in dates for r in REGIONS])
    regions = {"Qwen": "CN", "meta-llama": "US", "tencent": "CN", "mistralai": "EU"}
    ranks = ranks or {"Qwen": [1, 1, 2, 1], "meta-llama": [2, 2, 1, 2], "tencent": [3, None, None, 3],
                      "mistralai": [4, 3, 3, 4]}
    top = pd.DataFrame([{"date": d, "rule": "lineage", "organisation": o, "region": regions.get(o, "US"),
                         "downloads": 100.0 / k, "rank": k} for o in names for d, k in zip(dates, ranks[o])
                        if k is not None])
    return rankings, top


def test_figure4_slope_chart_ranks_and_an_organisation_leaving_the_list():
    rankings, top = _slope_inputs()
    table = rankings_table(rankings, top, "lineage", n_orgs=3)
    ranks = table[table["element"] == "rank"]
    # the organisations in the top 3 at any date, each at every date; tencent is not ranked on the middle dates
    assert list(dict.fromkeys(ranks["group"])) == ["Qwen", "meta-llama", "tencent", "mistralai"]
    ten = ranks[ranks["group"] == "tencent"]
    assert ten["value"].isna().tolist() == [False, True, True, False]
    assert ten["note"].iloc[1].startswith("CN; outside the 4 ranked")
    assert ranks.loc[ranks["group"] == "mistralai", "value"].tolist() == [4, 3, 3, 4]
    fig = _draw(4, table)
    slope = fig.axes[-1]
    boxes = [(round(t.get_position()[0]), t.get_position()[1], t.get_text()) for t in slope.texts]
    # a box for every rank within the top 3; none for tencent in the middle, nor for mistralai's 4th places
    assert sorted(b for b in boxes if b[2] == "tencent") == [(0, 3.0, "tencent"), (3, 3.0, "tencent")]
    assert sorted(b for b in boxes if b[2] == "mistralai") == [(1, 3.0, "mistralai"), (2, 3.0, "mistralai")]
    lines = [ln for ln in slope.get_lines() if ln.get_gid() == "rank-tencent"]
    # tencent leaves the list and comes back: faint segments down to the "lower" row (4) and up again
    assert [list(ln.get_ydata()) for ln in lines] == [[3.0, 4.0], [4.0, 3.0]]
    assert all(ln.get_alpha() < 1 for ln in lines)
    assert all(ln.get_color() == ORIGIN_STYLES["CN"].color for ln in lines)
    plt.close(fig)


def test_figure4_missing_week_is_a_gap_in_the_top_share_lines(inputs):
    rk = pd.read_parquet(inputs.processed_dir / "rankings.parquet")
    to = pd.read_parquet(inputs.processed_dir / "top_orgs.parquet")
    table = rankings_table(rk, to, "lineage")
    missing = pd.Timestamp(START + dt.timedelta(weeks=13))
    gap = table[table["date"] == missing]
    assert set(gap["element"]) == {"top_share"} and gap["value"].isna().all()
    assert (gap["note"] == fdata.NO_SNAPSHOT_NOTE).all()
    assert len(table[(table["element"] == "top_share") & (table["panel"] == "top 10") & (table["group"] == "CN")]) \
        == WEEKS
    assert missing not in set(table.loc[table["element"] == "rank", "date"])  # no column on a missing week
    fig = _draw(4, table)
    top10 = fig.axes[0]
    (cn,) = [ln for ln in top10.get_lines() if ln.get_label() == ORIGIN_STYLES["CN"].label]
    assert np.isnan(np.asarray(cn.get_ydata(), dtype=float)[13])
    plt.close(fig)


def test_figure4_slope_chart_boxes_do_not_overlap():
    names = [f"organisation-with-a-long-name-{i}" for i in range(10)]
    rankings, top = _slope_inputs(names, {n: [i + 1, (i + 3) % 10 + 1, 10 - i, i + 1] for i, n in enumerate(names)})
    fig = _draw(4, rankings_table(rankings, top, "lineage"))
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    slope = fig.axes[-1]
    assert len(slope.texts) == 40
    assert all(t.get_text().endswith("…") and len(t.get_text()) <= 22 for t in slope.texts)  # long names cut
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in slope.texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1), "slope chart boxes overlap"
    ax_box = slope.get_window_extent()
    assert all(ax_box.x0 - 1 <= b.x0 and b.x1 <= ax_box.x1 + 1 for b in boxes)  # inside the axes
    plt.close(fig)


def test_figure4_missing_rankings_file_fails_naming_it(tmp_path):
    paths = write_inputs(tmp_path, rankings=False)
    with pytest.raises(FigureInputError, match="rankings.parquet"):
        make_all_figures(paths, DEFN, formats=["png"], dpi=20, simulated=True, only=[4])


# ------------------------------------------------------------------------------------------------ figure 5
def test_figure5_derivatives_known_answer_and_structure(inputs):
    models = pd.read_parquet(inputs.models_file)
    table = derivatives_table(models, pd.Timestamp("2024-07-24"), pd.Timestamp("2025-04-23"))
    sep = table[(table["panel"] == "Fine-tunes") & (table["date"] == "2024-09-01")].set_index("group")
    assert sep.loc["CN", "value"] == pytest.approx(2 / 3) and sep.loc["US", "value"] == pytest.approx(1 / 3)
    assert sep.loc["CN", "n"] == 3  # the 2022-03-02 placeholder date is outside the window
    oct_merge = table[(table["panel"] == "Merges") & (table["date"] == "2024-10-01")].set_index("group")
    assert oct_merge.loc["UNKNOWN", "value"] == pytest.approx(0.5)  # no lineage region counts as UNKNOWN
    fig = _draw(5, table)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
    assert any("Fine-tunes" in t for t in titles) and any("Merges" in t for t in titles)
    shares = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_ylabel() for ax in shares] == ["Share of new models", "", "Share of new models", ""]
    assert _origin_labels() <= set(_legend_texts(fig))
    # the counts the shares are of, as bars under each panel: September's three new fine-tunes
    (fine,) = [ax for ax in fig.axes if "Fine-tunes" in ax.get_title(loc="left")]
    strip = fig.axes[fig.axes.index(fine) + 1]
    heights = {mdates.num2date(b.get_x() + b.get_width() / 2).strftime("%Y-%m"): b.get_height()
               for b in strip.patches if b.get_gid() == "monthly-count"}
    assert heights["2024-09"] == 3
    assert not _gids(fig, "partial-month")  # the partial first and last months have no new models here
    plt.close(fig)


def test_figure5_partial_first_and_last_months_are_marked():
    models = pd.DataFrame({"id": ["a", "b", "c", "d"], "relation": ["finetune"] * 4,
                           "lineage_region": ["CN", "US", "CN", "CN"],
                           "createdAt": pd.to_datetime(["2024-07-30", "2024-08-15", "2024-10-02", "2024-10-10"],
                                                       utc=True)})
    t = derivatives_table(models, pd.Timestamp("2024-07-24"), pd.Timestamp("2024-10-15"))
    notes = t.groupby("date")["note"].first()
    assert notes[pd.Timestamp("2024-07-01")] == "partial month: the window starts 2024-07-24"
    assert notes[pd.Timestamp("2024-08-01")] == ""
    assert notes[pd.Timestamp("2024-10-01")] == "partial month: the window ends 2024-10-15"
    whole = derivatives_table(models, pd.Timestamp("2024-07-01"), pd.Timestamp("2024-10-31"))
    assert (whole["note"] == "").all()  # the window covers whole months
    assert "2024-07 and 2024-10" in partial_months_text(t)
    assert "whole calendar month" in partial_months_text(whole)
    fig = _draw(5, t)
    assert len(_gids(fig, "partial-month")) == 2 * len(fig.axes)  # both partial months hatched in every axes
    assert "Partial month\n(hollow markers)" in _legend_texts(fig)
    hollow = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_markerfacecolor() in ("white", "w")
              or ln.get_markerfacecolor() == (1.0, 1.0, 1.0, 1.0)]
    assert {mdates.num2date(x).strftime("%Y-%m") for ln in hollow for x in mdates.date2num(ln.get_xdata())} == {
        "2024-07", "2024-10"}
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ figure 6
def test_figure6_forest_structure(inputs):
    sens = pd.read_parquet(inputs.sensitivity_file)
    cross = json.loads(inputs.crossover_file.read_text())
    trends = json.loads(inputs.trends_file.read_text())
    head = fdata.headline_crossing(cross)
    grid = sensitivity_table(sens, DEFN, head, crossover=cross)
    assert grid["highlight"].sum() == 1
    first = grid[grid["definition_row"] == 0]
    assert list(first["label"]) == ["lineage · all models"] and first["highlight"].all()  # the headline comes first
    two = grid[grid["label"] == "uploader · all models"]
    assert list(two["method"]) == ["fieller", "delta"] and two["row"].tolist() == [1.9, 2.1]
    table = forest_table(sens, DEFN, cross, fdata.TimeScale.from_trends(trends))
    a, b = table[table["panel"] == "a"], table[table["panel"] == "b"]
    # (a): the headline definition under every method of crossover.json, in words, with the setting it used
    assert list(a["method"]) == ["fieller", "local_linear", "delta", "first_passage"]
    assert a["label"].iloc[0] == "Straight line, Fieller set\nclassic Newey-West, 2 lags"
    assert a["label"].iloc[3] == "First passage of the observed shares\nCN ahead 3 weeks running; no interval"
    assert a["kind"].iloc[3] == "point"
    # (b): the headline, then one change at a time (the other rule, the other scope), then the range row
    assert list(b["change"]) == ["headline", "rule", "scope", "all definitions"]
    assert b["label"].iloc[1] == "rule: uploader (the account that published the model)"
    assert b["kind"].iloc[1] == "unbounded" and b["kind"].iloc[2] == "no_trend"
    rng = b.iloc[3]
    ests = [pd.Timestamp(cross["headline"]["estimate_date"]), pd.Timestamp("2025-01-15")]
    assert (rng["lower_date"], rng["upper_date"]) == (min(ests), max(ests))
    assert "3 definitions" in rng["note"] and "1 without an estimate" in rng["note"]
    # the CSV keeps every definition under every method; the headline method's rows are the range row's ticks
    g = table[table["panel"] == "grid"]
    assert len(g) == len(grid) == 4 and set(g.loc[g["method"] == "fieller", "row"]) == {3.0}
    fig = _draw(6, table)
    ax_a, ax_b = fig.axes[:2]
    labels = [t.get_text() for t in ax_b.get_yticklabels()]
    assert labels[0].startswith("▶ Headline: 30-day downloads, lineage rule, all models")
    assert [t.get_fontweight() for t in ax_b.get_yticklabels()].count("bold") == 1
    # fieller, local linear and delta in (a); in (b) the headline and the uploader rule; the llm scope has no
    # trend: no mark...
    assert len(_drawn(fig, "crossover")) == 5
    assert any(t.get_text().strip() == "no overtaking trend" for t in ax_b.texts)  # ...but says so
    assert len(_drawn(fig, "crossover-point")) == 1  # the first passage: a date without an interval
    assert ax_b.get_xlabel().startswith("Estimated crossover date")
    assert {"estimated crossover date", "95% confidence set", "set unbounded on that side",
            "(a) span of the sets over the method's other settings"} <= set(_legend_texts(fig))
    plt.close(fig)


def test_figure6_envelope_over_settings():
    sens = pd.DataFrame([
        ("downloads_30d", "lineage", "all", None, lag, "fieller", "2025-06-10", lo, hi, "bounded")
        for lag, lo, hi in ((1, "2025-06-01", "2025-06-20"), (2, "2025-05-20", "2025-06-25"), (3, None, None))
    ] + [("downloads_30d", "lineage", "all", k, None, "first_passage", d, None, None, "passed")
         for k, d in ((1, "2025-06-04"), (3, "2025-06-18"), (6, "2025-07-02"))],
        columns=list(contracts.SENSITIVITY_COLUMNS[:10]))
    head = fdata.Crossing("fieller", pd.Timestamp("2025-06-10"), None, None, "bounded")
    cross = {"methods": {"fieller": {"settings": {"hac_lags": 2}}, "first_passage": {"settings": {"k": 3}}}}
    t = sensitivity_table(sens, DEFN, head, crossover=cross).set_index("method")
    assert t.loc["fieller", "lower_date"] == pd.Timestamp("2025-05-20")  # the headline lag's own interval
    assert pd.isna(t.loc["fieller", "range_lower_date"])  # lag 3 is unbounded: so is the envelope
    assert t.loc["first_passage", "kind"] == "point"
    assert t.loc["first_passage", "estimate_date"] == pd.Timestamp("2025-06-18")
    assert (t.loc["first_passage", "range_lower_date"], t.loc["first_passage", "range_upper_date"]) == (
        pd.Timestamp("2025-06-04"), pd.Timestamp("2025-07-02"))


def _grid_rows(measure, n, lags_fb):
    """Grid rows of one definition: fixed-b fieller at b = 0.3/0.5/1.0 (lags depend on n) and classic NW at lags
    1-4; every setting gives its own interval, in periods (t) and dates."""
    t0 = pd.Timestamp("2024-07-24")
    rows = []

    def row(method, lag, b, lo, hi, inference):
        d = lambda t: (t0 + pd.Timedelta(days=7 * t)).strftime("%Y-%m-%d")  # noqa: E731
        rows.append({"measure": measure, "rule": "lineage", "scope": "all", "k": None, "hac_lag": lag,
                     "method": method, "estimate_date": d(50), "lower_date": d(lo), "upper_date": d(hi),
                     "kind": "bounded", "estimate_t": 50.0, "lower_t": lo, "upper_t": hi, "inference": inference,
                     "bandwidth_b": b})

    for (b, lag), w in zip(zip((0.5, 0.3, 1.0), lags_fb), (3.0, 2.0, 4.0)):
        row("fieller", lag, b, 50 - w, 50 + w, "fixed_b")
    for lag in (1, 2, 3, 4):
        row("fieller_nw", lag, None, 50 - lag / 5, 50 + lag / 5, "nw")
    return rows


def test_figure6_each_method_at_its_own_setting():
    # the headline series has 80 periods (fixed-b lags 39/23/79), the all-time one 48 (lags 23/13/47); the
    # classic Newey-West rows only have lags 1-4; crossover.json records lag 3 for fieller_nw and b = 0.5
    sens = pd.DataFrame(_grid_rows("downloads_30d", 80, (39, 23, 79))
                        + _grid_rows("downloads_alltime_increment", 48, (23, 13, 47)))
    cross = {"headline": {"method": "fieller"},
             "methods": {"fieller": {"settings": {"bandwidth_b": 0.5, "hac_lags": 39}},
                         "fieller_nw": {"settings": {"hac_lags": 3}}}}
    head = fdata.Crossing("fieller", pd.Timestamp("2025-07-09"), None, None, "bounded")
    t = sensitivity_table(sens, DEFN, head, crossover=cross)
    get = lambda m, d: t[(t["method"] == m) & (t["definition_row"] == d)].iloc[0]  # noqa: E731
    t0 = pd.Timestamp("2024-07-24")
    week = lambda x: (t0 + pd.Timedelta(days=7 * x)).floor("D")  # noqa: E731
    for d in (0, 1):  # the headline definition, and the all-time one with other fixed-b lags
        nw = get("fieller_nw", d)
        assert (nw["lower_date"], nw["upper_date"]) == (week(49.4), week(50.6)), nw["note"]  # lag 3, not lag 1
        assert nw["note"].startswith("HAC lag 3, as recorded in crossover.json")
        fb = get("fieller", d)
        assert (fb["lower_date"], fb["upper_date"]) == (week(47), week(53))  # b = 0.5 in both definitions
        assert fb["note"].startswith(f"fixed-b bandwidth b = 0.5 ({39 if d == 0 else 23} lags)")
    assert set(t["level"]) == {"95%"}
    # nothing is guessed: a crossover.json without the settings is refused, naming the method
    with pytest.raises(FigureInputError, match="methods.fieller_nw lacks its settings"):
        sensitivity_table(sens, DEFN, head, crossover={"methods": {
            "fieller": {"settings": {"bandwidth_b": 0.5}}, "fieller_nw": {"lower": 49.4, "upper": 50.6}}})


def test_figure6_shows_the_headline_at_its_bandwidth_and_the_whole_set():
    t0 = pd.Timestamp("2024-07-24")
    d = lambda t: (t0 + pd.Timedelta(days=7 * t)).strftime("%Y-%m-%d")  # noqa: E731
    rows = []
    for start, bw, est, lo, hi in ((0, 12.0, 50, 45, 55), (3, 10.1, 49, 43, 56), (12, 6.0, 52, 40, 60),
                                   (0, 6.0, 51, 44, 57), (0, 24.0, 48, 46, 52)):
        rows.append({"measure": "downloads_30d", "rule": "lineage", "scope": "all", "k": None, "hac_lag": None,
                     "method": "local_linear", "estimate_date": d(est), "lower_date": d(lo), "upper_date": d(hi),
                     "kind": "bounded", "start_offset_months": start, "bandwidth_periods": bw})
    sens = pd.DataFrame(rows)
    cross = {"headline": {"method": "local_linear"},
             "methods": {"local_linear": {"settings": {"bandwidth_periods": 12.0}}}}
    head = fdata.Crossing("local_linear", pd.Timestamp(d(50)), None, None, "bounded")
    r = sensitivity_table(sens, DEFN, head, crossover=cross).iloc[0]
    assert (r["lower_date"], r["upper_date"]) == (pd.Timestamp(d(45)), pd.Timestamp(d(55)))  # full window, h = 12
    assert r["note"].startswith("local-linear bandwidth 12.0 periods, full window, as recorded in crossover.json")
    assert (r["range_lower_date"], r["range_upper_date"]) == (pd.Timestamp(d(40)), pd.Timestamp(d(60)))
    assert "range over 5 setting(s) of window start and bandwidth" in r["note"]
    # a set of several intervals is drawn whole: one segment per piece
    two = fdata.Crossing("local_linear", pd.Timestamp(d(50)), pd.Timestamp(d(20)), pd.Timestamp(d(55)), "bounded",
                         pieces=((pd.Timestamp(d(20)), pd.Timestamp(d(25))), (pd.Timestamp(d(45)),
                                                                             pd.Timestamp(d(55)))))
    seg = [x for x in fdata.interval_rows(two, "", t0, t0 + pd.Timedelta(weeks=80), "95% interval")
           if x["element"] == "interval"]
    assert [(x["date"], x["date_end"]) for x in seg] == [(pd.Timestamp(d(20)), pd.Timestamp(d(25))),
                                                         (pd.Timestamp(d(45)), pd.Timestamp(d(55)))]
    assert "set of 2 intervals" in two.text()


def test_confidence_level_comes_from_crossover_json(tmp_path):
    paths = write_inputs(tmp_path)
    cross = json.loads(paths.crossover_file.read_text())
    del cross["alpha"]  # as notebook 05 writes it: the level sits with the methods
    cross["methods"]["fieller"]["alpha"] = 0.1
    paths.crossover_file.write_text(json.dumps(cross))
    run, figs = make_all_figures(paths, DEFN, formats=["png"], dpi=20, simulated=True, only=[2, 6, 7])
    texts = {name: _legend_texts(f) for name, f in figs.items()}
    for f in figs.values():
        plt.close(f)
    assert "90% band" in texts["log_ratio_trend_crossover"]
    assert "90% confidence set" in texts["crossover_sensitivity_forest"]
    assert "This study: 90% confidence set" in texts["published_estimates_comparison"]
    assert not any("95%" in t for ts in texts.values() for t in ts)
    assert all("95%" not in r.caption for r in run.records)


def test_captions_follow_the_result_files(tmp_path):
    paths = write_inputs(tmp_path)
    trends = json.loads(paths.trends_file.read_text())
    trends["ols"].update(inference="fixed_b", hac_lags=19, bandwidth_b=0.5)
    paths.trends_file.write_text(json.dumps(trends))
    cross = json.loads(paths.crossover_file.read_text())
    cross["headline"]["inference"] = {"method": "fixed_b", "bandwidth_b": 0.5, "bandwidth_periods": 20,
                                      "hac_lags": 19}
    paths.crossover_file.write_text(json.dumps(cross))
    panel = pd.read_parquet(paths.panel_file)
    late = (panel["measure"] == "downloads_alltime_increment") & (panel["date"] < pd.Timestamp(START)
                                                                   + pd.Timedelta(weeks=5))
    panel[~late].to_parquet(paths.panel_file, index=False)  # all-time counters from week 4 on
    run, figs = make_all_figures(paths, DEFN, formats=["png"], dpi=20, simulated=True, only=[2, 3])
    for f in figs.values():
        plt.close(f)
    cap = {r.number: r.caption for r in run.records}
    assert "Bartlett bandwidth 20 periods" in cap[2] and "bandwidth 19" not in cap[2]
    first = (START + dt.timedelta(weeks=4)).isoformat()  # the baseline of the first increment
    assert f"Plotted from {first} to" in cap[3]
    assert "left out" in cap[3] and "decreased counts as zero" in cap[3]


# ------------------------------------------------------------------------------------------------ figure 7
def test_figure7_published_structure(inputs):
    comp = pd.read_csv(inputs.locate("published_comparison"))
    table = comparison_table(comp, headline_method="fieller")
    assert list(table["role"]) == ["published", "this study"] * 3  # each claim with our estimate right beneath it
    pub, ours = table[table["role"] == "published"], table[table["role"] == "this study"]
    assert list(pub["kind"]) == ["verified", "no_date", "secondary"]
    assert pub["note"].iloc[1] == "No crossover date given. Claim: 10% to 70%"
    assert ours["label"].iloc[0] == "This study, headline (none nearer):\n30-day downloads, lineage rule, all models"
    assert ours["label"].iloc[2] == "This study, nearest definition:\n30-day downloads, uploader rule, all models"
    fig = _draw(7, table)
    ax = fig.axes[0]
    assert "Brand & Lambert, The ATOM Report (2026)" in [t.get_text() for t in ax.get_yticklabels()]
    bars = _drawn(fig, "published-period") + _drawn(fig, "published-period-secondary")
    assert len(bars) == 2
    # "by Oct 2025": the bar is open to the left, starting at the axis edge, with an arrow head
    assert bars[1].get_x() == pytest.approx(ax.get_xlim()[0])
    assert bars[1].get_hatch() == "////"
    assert len(_drawn(fig, "published-open-end")) == 1 and len(_drawn(fig, "published-no-date")) == 1
    assert len(_drawn(fig, "crossover")) == 3
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ the whole run
def _run_twice(tmp_path, formats, only=None) -> list[dict]:
    hashes = []
    for run in ("a", "b"):
        paths = write_inputs(tmp_path / run)
        _, figs = make_all_figures(paths, DEFN, formats=formats, dpi=40, simulated=True, config_digest="cafe",
                                   only=only)
        for f in figs.values():
            plt.close(f)
        hashes.append({p.name: sha256_file(p) for p in sorted(paths.figures_dir.iterdir())})
    return hashes


def test_rerun_gives_identical_bytes(tmp_path):
    a, b = _run_twice(tmp_path, ["pdf", "svg", "png"], only=[2])
    assert a == b
    assert {"log_ratio_trend_crossover.pdf", "log_ratio_trend_crossover.svg", "log_ratio_trend_crossover.png",
            "log_ratio_trend_crossover.csv", "values.json", "values.tex", "figures.json"} <= set(a)


@pytest.mark.slow
def test_rerun_gives_identical_bytes_for_every_figure(tmp_path):
    a, b = _run_twice(tmp_path, ["pdf", "svg", "png"])
    assert a == b and len([n for n in a if n.endswith(".pdf")]) == len(all_figures())


def test_make_all_figures_writes_every_figure_with_provenance(tmp_path):
    paths = write_inputs(tmp_path)
    run, figs = make_all_figures(paths, DEFN, formats=["png"], dpi=20, simulated=True, config_digest="cafe")
    for f in figs.values():
        plt.close(f)
    names = {s.name for s in all_figures()}
    written = {p.name for p in paths.figures_dir.iterdir()}
    assert {f"{n}.{ext}" for n in names for ext in ("png", "csv")} <= written
    assert not run.failures
    doc = json.loads((paths.figures_dir / "figures.json").read_text())
    assert doc["simulated"] is True and len(doc["figures"]) == len(all_figures())
    for f in doc["figures"]:
        assert f["caption"].startswith("SIMULATED DATA")
        assert f["files"]["png"]["sha256"] == sha256_file(paths.root / f["files"]["png"]["path"])
        assert f["files"]["csv"]["path"] == f"{paths.figures_dir.relative_to(paths.root).as_posix()}/{f['name']}.csv"
        assert f"Figure {f['number']}" in f["citation"]
    prov = doc["provenance"]
    assert prov["config_digest"] == "cafe"
    assert prov["raw_manifest_sha256"] == sha256_file(paths.manifest)
    assert prov["snapshot_range"] == ["2024-07-24", (START + dt.timedelta(weeks=WEEKS - 1)).isoformat()]
    csv = pd.read_csv(paths.figures_dir / "download_share_by_origin.csv")
    assert set(csv.loc[csv["element"] == "share", "group"]) == set(REGIONS)
    for name in names:  # every CSV says what its numbers are, on every row
        kinds = pd.read_csv(paths.figures_dir / f"{name}.csv")[fdata.DATA_KIND_COLUMN]
        assert list(pd.read_csv(paths.figures_dir / f"{name}.csv").columns)[-1] == fdata.DATA_KIND_COLUMN
        assert (kinds == "SIMULATED DATA").all() and len(kinds) > 0
    # the CSV is exactly what was plotted: redrawing from it gives the same crossover mark
    fig = _draw(1, fdata.read_series_csv(paths.figures_dir / "download_share_by_origin.csv"))
    (m,) = _gids(fig, "crossover")
    cross = json.loads(paths.crossover_file.read_text())
    assert m.get_xdata()[0] == pd.Timestamp(cross["headline"]["estimate_date"])
    plt.close(fig)


def test_real_run_csv_says_hub_snapshots(tmp_path):
    paths = write_inputs(tmp_path)
    _, figs = make_all_figures(paths, DEFN, formats=["png"], dpi=20, simulated=False, only=[1])
    for f in figs.values():
        plt.close(f)
    kinds = pd.read_csv(paths.figures_dir / "download_share_by_origin.csv")[fdata.DATA_KIND_COLUMN]
    assert set(kinds) == {"Hugging Face Hub snapshots"}


def test_definition_mismatch_is_an_error(inputs, tmp_path):
    other = Definition("downloads_30d", "uploader", "all")
    paths = Paths(inputs.root, simulated=True)
    with pytest.raises(FigureInputError, match="rerun notebooks 04 and 05"):
        make_all_figures(paths, other, formats=["png"], dpi=20, simulated=True, only=[2])


def test_missing_panel_names_the_file_and_notebook(tmp_path):
    with pytest.raises(FigureInputError, match=r"panel.parquet.*notebook 03"):
        make_all_figures(Paths(tmp_path), DEFN)


def test_date_conversion_of_trend_time():
    scale = fdata.TimeScale(pd.Timestamp("2024-07-24"), 7.0)
    assert scale.to_date(2.5) == pd.Timestamp("2024-08-10")  # 17.5 days later, floored
    assert scale.to_date(float("inf")) is None
    assert mdates.date2num(scale.to_date(0)) == mdates.date2num(pd.Timestamp("2024-07-24"))


def test_study_citation_from_citation_cff(tmp_path):
    from analysis.figures.provenance import study_citation

    assert study_citation(tmp_path) == ""
    (tmp_path / "CITATION.cff").write_text("cff-version: 1.2.0\ntitle: A study\nversion: 1.0\n"
                                           "date-released: 2026-01-02\nauthors:\n  - family-names: Doe\n"
                                           "    given-names: Jane\n  - name: The Team\n")
    assert study_citation(tmp_path) == "Doe, Jane and The Team (2026). A study. Version 1.0."
    from analysis.paths import REPO_ROOT

    if (REPO_ROOT / "CITATION.cff").is_file():  # the shipped file parses and names the study report
        cited = study_citation(REPO_ROOT)
        assert "Hugging Face Hub" in cited and "Report." in cited
        assert "FILL IN" not in cited  # unfilled authors are named as such, not printed as a placeholder
    (tmp_path / "CITATION.cff").write_text(
        "cff-version: 1.2.0\ntitle: Software\nauthors:\n  - name: FILL IN\npreferred-citation:\n  type: report\n"
        "  title: The  report\n  authors:\n    - family-names: 'FILL IN: family name'\n")
    assert study_citation(tmp_path) == "[authors: fill in CITATION.cff]. The report. Report."


def test_citation_cff_has_the_fields_cff_1_2_requires():
    import yaml

    from analysis.paths import REPO_ROOT

    cff = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["message"] and cff["title"] and cff["authors"]
    pref = cff["preferred-citation"]
    assert pref["type"] == "report" and pref["title"] and pref["authors"]
    for a in cff["authors"] + pref["authors"]:  # a person (family-names) or an entity (name)
        assert set(a) & {"family-names", "name"} and set(a) <= {"family-names", "given-names", "name", "orcid",
                                                                "affiliation", "email"}


@pytest.mark.parametrize("kind", ["two_rays", "no_crossing"])
def test_figure2_honest_about_unbounded_or_missing_crossings(inputs, kind):
    trends = json.loads(inputs.trends_file.read_text())
    cross = json.loads(inputs.crossover_file.read_text())
    first, last = cross["first_date"], cross["last_date"]
    if kind == "two_rays":   # open at both ends with an excluded middle
        cross["headline"].update(estimate_date="2024-12-11", lower_date=None, upper_date=None, kind="two_rays",
                                 pieces_dates=[[first, "2024-08-21"], ["2025-03-05", last]], open_start=True,
                                 open_end=True)
    else:
        cross["headline"].update(estimate_date=None, lower_date=None, upper_date=None, kind="no_crossing",
                                 pieces_dates=[], open_start=False, open_end=False)
    table = log_ratio_table(pd.read_parquet(inputs.panel_file), DEFN, trends, cross)
    fig = _draw(2, table)
    texts = _legend_texts(fig)
    if kind == "two_rays":
        sets = [t for t in texts if t.startswith("Set:")]
        assert len(sets) == 2 and all("open" in t for t in sets)       # both rays drawn and named
        arrows = _gids(fig, "open-end")
        assert sorted(a.get_marker() for a in arrows) == ["<", ">"]     # and shown to go on past both edges
        assert any(t.startswith("Set continues beyond") for t in texts)
    else:
        assert not _gids(fig, "crossover") and not _gids(fig, "crossover-interval")
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ figure 8
def test_figure8_families_known_answer_and_structure(inputs):
    from analysis.figures.families import family_table

    fd = pd.read_parquet(inputs.processed_dir / "family_downloads.parquet")
    table = family_table(fd)
    # ranked by downloads at the latest snapshot: Qwen grew 10% a week past Llama; Yi never had a download
    assert list(dict.fromkeys(table["panel"])) == ["Qwen", "Llama", "Mistral"]
    qwen = table[table["panel"] == "Qwen"]
    assert len(qwen) == WEEKS and qwen["value"].isna().sum() == 1  # the missing week is a gap
    assert qwen["value"].iloc[-1] == pytest.approx(1e5 * 1.1 ** (WEEKS - 2))  # 39 snapshots, one missing
    assert set(qwen["group"]) == {"CN"} and set(qwen["note"]) == {"Alibaba Cloud"}
    fig = _draw(8, table)
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in panels] == ["Qwen", "Llama", "Mistral"]
    assert all(ax.get_yscale() == "log" for ax in panels)
    assert len({ax.get_ylim() for ax in panels}) == 1  # one scale shared by every panel
    (line,) = [ln for ln in panels[0].get_lines() if ln.get_gid() == "family-Qwen"]
    assert line.get_color() == ORIGIN_STYLES["CN"].color
    assert {"China (CN)", "United States (US)", "Europe"} == set(_legend_texts(fig))
    plt.close(fig)


# ------------------------------------------------------------------------------------- figures 1, 3 and 14 (views)
def test_figure1_shows_the_spread_across_definitions(inputs):
    from analysis.figures.share import share_by_origin_table

    spread = {"n_rows": 48, "earliest_date": "2024-11-20", "latest_date": "2025-02-05"}
    cross = json.loads(inputs.crossover_file.read_text())
    table = share_by_origin_table(pd.read_parquet(inputs.panel_file), DEFN, fdata.headline_crossing(cross),
                                  spread=spread)
    (row,) = table[table["element"] == "spread"].itertuples()
    assert (row.date, row.date_end) == (pd.Timestamp("2024-11-20"), pd.Timestamp("2025-02-05"))
    fig = _draw(1, table)
    assert any(t.startswith("Date across 48 definitions: 2024-11-20 to 2025-02-05") for t in _legend_texts(fig))
    assert _gids(fig, "definition-spread")
    plt.close(fig)


def test_figure3_marks_the_cumulative_crossing(inputs):
    from analysis.figures.cumulative import cumulative_crossing_rows, cumulative_table

    base = cumulative_table(pd.read_parquet(inputs.panel_file), "lineage", "all")
    cum = {"estimate_date": "2025-01-15", "lower_date": "2025-01-01", "upper_date": None, "kind": "unbounded"}
    table = cumulative_crossing_rows(base, cum, "95%")
    assert table.loc[table["element"] == "crossover", "date"].iloc[0] == pd.Timestamp("2025-01-15")
    (iv,) = table[table["element"] == "interval"].itertuples()
    assert iv.date == pd.Timestamp("2025-01-01") and iv.date_end == base["date"].max()   # cut at the last date
    assert list(table.loc[table["element"] == "open_end", "value"]) == [1.0]            # with an arrow there
    assert cumulative_crossing_rows(base, {"kind": "no_data"}, "95%").equals(base)


def test_figure14_one_panel_per_scope_with_its_own_answer(inputs):
    from analysis.figures.scopes import plot_scope_shares, scope_shares_table

    panel = pd.read_parquet(inputs.panel_file)
    llm = panel[panel["scope"] == "all"].assign(scope="llm")
    panel = pd.concat([panel, llm], ignore_index=True)
    by_scope = {"all": {"estimate_date": "2024-12-11", "lower_date": "2024-11-27", "upper_date": "2024-12-25",
                        "kind": "bounded"},
                "llm": {"estimate_date": None, "kind": "no_crossing"}}
    table = scope_shares_table(panel, "downloads_30d", "lineage", "weekly", by_scope, "95%")
    assert set(table["panel"]) == {"all", "llm"}          # the panel lacks first_party_llm: no empty panel
    assert set(table.loc[table["element"] == "share", "group"]) == {"CN", "US"}
    assert table.loc[(table["panel"] == "llm") & (table["element"] == "no_crossing"), "note"].iloc[0] == \
        "no overtaking date (no crossing)"
    fig = plot_scope_shares(table, definition_label="30-day downloads, lineage rule, all models")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].endswith("crossover 2024-12-11") and titles[1].endswith("no overtaking date (no crossing)")
    plt.close(fig)
