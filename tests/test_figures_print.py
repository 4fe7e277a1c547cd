"""Figures 6 and 7 at their printed size: readable text, every mark keyed, a page's height, like-for-like pairs.

Figure 6 is drawn from a hand-made sensitivity grid of the study's full size (2 measures x 3 rules x 2 readings of
contested origins x 4 scopes = 48 definitions under 6 methods, with later window starts and other bandwidths) whose
estimates are known: definition ``j`` crosses ``3 j`` days after 2025-05-01. Figure 7 is drawn from a hand-made
comparison table (notebook 05's ``published_comparison.csv``) with known pairs.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from analysis import contracts  # noqa: E402
from analysis.figures import figure  # noqa: E402
from analysis.figures import data as fdata  # noqa: E402
from analysis.figures.plots import keyed_legend  # noqa: E402
from analysis.figures.published import comparison_table  # noqa: E402
from analysis.figures.sensitivity import forest_table  # noqa: E402
from analysis.figures.style import TWO_COLUMN, paper_style  # noqa: E402
from analysis.schema import MEASURES, RULES, SCOPES  # noqa: E402
from analysis.stats.published import compare_published  # noqa: E402

DEFN = fdata.Definition("downloads_30d", "lineage", "all", "weekly")
BASE = pd.Timestamp("2025-05-01")
T0 = pd.Timestamp("2024-07-24")
#: Smallest text a journal accepts (points, at the printed size).
MIN_PT = 6.0
#: Tallest figure that leaves room for its caption on a page (inches).
MAX_IN = 8.0
#: Drawn artists that key nothing (row separators).
DECORATIONS = {"row-separator"}
#: The definition without an estimate (no crossing in its window).
NO_CROSSING = ("downloads_alltime_increment", "uploader_alt", "llm")


def _defs() -> list[tuple]:
    return [(m, r, s) for m in MEASURES for r in RULES for s in SCOPES]


def _est(j: int) -> pd.Timestamp:
    return BASE + pd.Timedelta(days=3 * j)


def _day(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


def full_grid() -> pd.DataFrame:
    """A sensitivity grid of the study's size: every definition j crosses at :func:`_est` (j) under every method
    and setting; intervals 30 days either side (wider for later window starts)."""
    rows = []
    for j, (m, r, s) in enumerate(_defs()):
        base = {"measure": m, "rule": r, "scope": s, "n_periods": 80}
        est = _est(j)
        if (m, r, s) == NO_CROSSING:
            for off, bw in ((0, 12.0), (3, 9.9), (6, 7.95), (12, 6.0), (0, 6.0), (0, 24.0)):
                rows.append({**base, "method": "local_linear", "kind": "no_crossing", "start_offset_months": off,
                             "bandwidth_periods": bw, "n_pieces": 0, "pieces_dates": "[]"})
        else:
            for off, bw, w in ((0, 12.0, 30), (3, 9.9, 35), (6, 7.95, 40), (12, 6.0, 60), (0, 6.0, 45),
                               (0, 24.0, 20)):
                lo, hi = est - pd.Timedelta(days=w), est + pd.Timedelta(days=w)
                rows.append({**base, "method": "local_linear", "kind": "bounded", "estimate_date": _day(est),
                             "lower_date": _day(lo), "upper_date": _day(hi), "start_offset_months": off,
                             "start_date": _day(T0 + pd.DateOffset(months=off)), "bandwidth_periods": bw,
                             "n_pieces": 1, "pieces_dates": json.dumps([[_day(lo), _day(hi)]]),
                             "open_start": False, "open_end": False})
        for method in ("fieller", "delta"):
            for b, lag, w in ((0.5, 39, 50), (0.3, 23, 40), (1.0, 79, 70)):
                rows.append({**base, "method": method, "kind": "bounded", "estimate_date": _day(est),
                             "lower_date": _day(est - pd.Timedelta(days=w)),
                             "upper_date": _day(est + pd.Timedelta(days=w)), "bandwidth_b": b, "hac_lag": lag,
                             "inference": "fixed_b"})
        for method in ("fieller_nw", "fieller_prewhitened"):
            for lag in (1, 2, 3, 4):
                rows.append({**base, "method": method, "kind": "bounded", "estimate_date": _day(est),
                             "lower_date": _day(est - pd.Timedelta(days=5 * lag)),
                             "upper_date": _day(est + pd.Timedelta(days=5 * lag)), "hac_lag": lag, "inference": "nw"})
        for k in (1, 3, 6):
            rows.append({**base, "method": "first_passage", "kind": "passed", "k": k,
                         "estimate_date": _day(est + pd.Timedelta(days=7 * k))})
    return pd.DataFrame(rows)


def full_crossover() -> dict:
    """``crossover.json`` of the headline definition (lineage, all models: definition index 4)."""
    j = _defs().index(("downloads_30d", "lineage", "all"))
    est = _est(j)
    iv = {"estimate_date": _day(est), "lower_date": _day(est - pd.Timedelta(days=32)),
          "upper_date": _day(est + pd.Timedelta(days=31)), "kind": "bounded"}
    fixed_b = {"method": "fixed_b", "bandwidth_b": 0.5, "hac_lags": 39}
    return {"alpha": 0.05, "definition": {"measure": "downloads_30d", "rule": "lineage", "scope": "all"},
            "headline": {"method": "local_linear", **iv,
                         "pieces_dates": [[iv["lower_date"], iv["upper_date"]]]},
            "methods": {"local_linear": {**iv, "settings": {"bandwidth_periods": 12.0}},
                        "fieller": {**iv, "settings": fixed_b}, "delta": {**iv, "settings": fixed_b},
                        "fieller_nw": {**iv, "settings": {"method": "nw", "hac_lags": 3}},
                        "fieller_prewhitened": {**iv, "settings": {"method": "nw", "hac_lags": 3, "prewhite": True}},
                        "bootstrap": {**iv, "settings": {"method": "studentized", "block_length": 5,
                                                         "bandwidth_b": 0.5}},
                        "first_passage": {"date": _day(est + pd.Timedelta(days=21)), "settings": {"k": 3}}}}


def _plot(number: int, table: pd.DataFrame):
    with paper_style():
        fig = figure(number).plot(table, definition_label=DEFN.label(), simulated=True)
        fig.canvas.draw()
    return fig


# ------------------------------------------------------------------------------------------------ print checks
def small_texts(fig) -> list[tuple[str, float]]:
    """Visible texts smaller than :data:`MIN_PT` points at the printed size (the figure is drawn at its size)."""
    return [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_PT]


def texts_outside(fig) -> list[str]:
    """Visible texts that run past the figure's edges (cut off when printed)."""
    renderer = fig.canvas.get_renderer()
    w, h = fig.bbox.width, fig.bbox.height
    ticks, drawn_ticks = set(), set()  # tick labels are drawn only for the ticks in view
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks |= {id(tick.label1), id(tick.label2)}
            for tick in axis._update_ticks():
                drawn_ticks |= {id(tick.label1), id(tick.label2)}
    out = []
    for t in fig.findobj(Text):
        if not (t.get_visible() and t.get_text().strip()) or t.get_gid() == "simulated-watermark":
            continue
        if id(t) in ticks and id(t) not in drawn_ticks:
            continue
        bb = t.get_window_extent(renderer)
        if bb.x0 < -1 or bb.y0 < -1 or bb.x1 > w + 1 or bb.y1 > h + 1:
            out.append(t.get_text())
    return out


def _marker_kind(marker) -> str:
    m = str(marker)
    if m in ("None", "none", "", " "):
        return ""
    return "arrow" if m in ("<", ">") else m


def unkeyed_marks(fig) -> set:
    """Kinds of marks drawn in the axes (gid, and marker for markers) without an entry in a legend.

    Every data artist must carry a gid naming its kind; an artist without one is reported as ``(None, ...)``.
    """
    keyed = set()
    for leg in list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        for h in getattr(leg, "legend_handles", []):
            if h.get_gid() is None:
                continue
            keyed.add(h.get_gid())
            if isinstance(h, Line2D):
                keyed.add((h.get_gid(), _marker_kind(h.get_marker())))
    missing = set()
    for ax in fig.axes:
        for art in list(ax.lines) + list(ax.patches) + list(ax.collections):
            gid = art.get_gid()
            if gid in DECORATIONS:
                continue
            if gid not in keyed:
                missing.add((gid, type(art).__name__))
            if isinstance(art, Line2D) and _marker_kind(art.get_marker()) and \
                    (gid, _marker_kind(art.get_marker())) not in keyed:
                missing.add((gid, _marker_kind(art.get_marker())))
    return missing


def _date(x) -> pd.Timestamp:
    """An x value of a drawn mark as a date (matplotlib keeps dates as given, or as day numbers)."""
    if isinstance(x, (int, float)):
        return pd.Timestamp(mdates.num2date(x)).tz_localize(None)
    return pd.Timestamp(x)


def _drawn(fig, gid: str) -> list:
    return [a for ax in fig.axes for a in ax.findobj(lambda x: x.get_gid() == gid)]


def test_the_print_checks_catch_what_they_look_for():
    """The checks fail on a figure with tiny text, text past its edge and an unkeyed mark."""
    with paper_style():
        fig, ax = plt.subplots(figsize=(TWO_COLUMN, 3))
        (line,) = ax.plot([0, 1], [0, 1], gid="keyed", label="keyed")
        ax.plot([0.5], [0.5], marker="s", ls="none", gid="keyed")  # same gid, but its marker is not keyed
        ax.plot([0, 1], [1, 0], label="no gid")  # no gid at all
        ax.text(0.5, 0.5, "tiny", fontsize=5)
        ax.text(1.2, 0.5, "far past the right edge of the figure", transform=ax.transAxes)
        keyed_legend(fig, [line], loc="outside lower center")
        fig.canvas.draw()
    assert small_texts(fig) == [("tiny", 5.0)]
    assert texts_outside(fig) == ["far past the right edge of the figure"]
    assert unkeyed_marks(fig) == {("keyed", "s"), (None, "Line2D")}
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ figure 6
@pytest.fixture(scope="module")
def forest():
    scale = fdata.TimeScale(T0, 7.0)
    table = forest_table(full_grid(), DEFN, full_crossover(), scale)
    fig = _plot(6, table)
    yield table, fig
    plt.close(fig)


def _reads_at_printed_size(fig) -> None:
    """Two columns wide, at most a page high, no text below the smallest printed size, none outside the figure,
    every mark keyed in the legend."""
    w, h = fig.get_size_inches()
    assert w == pytest.approx(TWO_COLUMN) and h <= MAX_IN
    assert not small_texts(fig), small_texts(fig)
    assert not texts_outside(fig), texts_outside(fig)
    assert not unkeyed_marks(fig), unkeyed_marks(fig)


def test_figure6_fits_a_page_and_reads_at_printed_size(forest):
    table, fig = forest
    _reads_at_printed_size(fig)  # 48 definitions x 6 methods on one page


def test_figure6_panels_hold_the_methods_and_one_change_at_a_time(forest):
    table, _ = forest
    a, b = table[table["panel"] == "a"], table[table["panel"] == "b"]
    assert list(a["method"]) == ["local_linear", "fieller", "fieller_nw", "fieller_prewhitened", "delta",
                                 "bootstrap", "first_passage"]
    assert list(a["label"].str.split("\n").str[1]) == [
        "kernel half-width 12 weeks", "fixed-b, b = 0.5 (39 lags)", "classic Newey-West, 3 lags",
        "prewhitened Newey-West, 3 lags", "fixed-b, b = 0.5 (39 lags)", "studentized, blocks of 5 weeks",
        "CN ahead 3 weeks running; no interval"]
    # the local-linear span over its settings: the widest set, of the 12-month later start (60 days either side)
    head_j = _defs().index(("downloads_30d", "lineage", "all"))
    ll = a.iloc[0]
    assert (ll["range_lower_date"], ll["range_upper_date"]) == (_est(head_j) - pd.Timedelta(days=60),
                                                                _est(head_j) + pd.Timedelta(days=60))
    assert list(b["change"]) == ["headline", "measure", "rule", "rule", "scope", "scope", "scope", "reading",
                                 "window", "window", "window", "bandwidth", "bandwidth", "all definitions"]
    assert list(b["label"][1:8]) == [
        "measure: weekly growth of all-time downloads",
        "rule: uploader (the account that published the model)",
        "rule: first party (organisations' own uploads only)",
        "scope: generative models (LLMs and VLMs)", "scope: organisations' own generative models",
        "scope: without redistributors' and quantizers' copies", "contested origins read the other way"]
    assert b["label"].iloc[8] == "window starts 3 months later (2024-10-24)"
    assert list(b["label"][11:13]) == ["kernel half-width 6 weeks (headline 12)",
                                      "kernel half-width 24 weeks (headline 12)"]
    # known answers: each changed definition's own estimate and set (full window, headline bandwidth)
    for (_, r), d in zip(b.iloc[1:8].iterrows(), [
            ("downloads_alltime_increment", "lineage", "all"), ("downloads_30d", "uploader", "all"),
            ("downloads_30d", "first_party", "all"), ("downloads_30d", "lineage", "llm"),
            ("downloads_30d", "lineage", "first_party_llm"), ("downloads_30d", "lineage", "no_redistributors"),
            ("downloads_30d", "lineage_alt", "all")]):
        j = _defs().index(d)
        assert (r["measure"], r["rule"], r["scope"]) == d
        assert (r["estimate_date"], r["lower_date"], r["upper_date"]) == (
            _est(j), _est(j) - pd.Timedelta(days=30), _est(j) + pd.Timedelta(days=30))
    assert b.iloc[9]["lower_date"] == _est(head_j) - pd.Timedelta(days=40)  # the 6-month later start
    # the range over all 48 definitions: the first and last estimate; the one without an estimate is counted
    rng = b.iloc[-1]
    assert (rng["lower_date"], rng["upper_date"]) == (_est(0), _est(47))
    assert "48 definitions" in rng["note"] and "1 without an estimate" in rng["note"]
    # the CSV keeps every definition under every method
    grid = table[table["panel"] == "grid"]
    assert len(grid[["measure", "rule", "scope"]].drop_duplicates()) == 48
    assert len(grid) == 48 * 6


def test_figure6_marks_the_headline_date_and_every_definition(forest):
    table, fig = forest
    head = pd.Timestamp(full_crossover()["headline"]["estimate_date"])
    refs = _drawn(fig, "headline-reference")
    assert len(refs) == 2  # in both panels
    assert all(_date(r.get_xdata()[0]) == head for r in refs)
    assert any(t.get_text().strip() == f"headline {head:%Y-%m-%d}" for t in fig.axes[0].texts)
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert f"headline estimate ({head:%Y-%m-%d})" in legend
    # one tick per definition with an estimate, and a shaded range in its own row (hiding no interval line)
    (ticks,) = _drawn(fig, "definitions-estimate")
    assert len(ticks.get_xdata()) == 47
    (band,) = _drawn(fig, "definitions-range")
    ax_b = fig.axes[1]
    rng_row = table[(table["panel"] == "b") & (table["kind"] == "range")]["row"].iloc[0]
    assert band.get_y() == pytest.approx(rng_row - 0.32)
    intervals = [ln for ln in ax_b.lines if ln.get_gid() == "crossover-interval"]
    assert intervals and all(abs(ln.get_ydata()[0] - rng_row) >= 1 for ln in intervals)
    assert [t.get_text() for t in ax_b.get_yticklabels()][-1] == \
        "All 48 definitions, one tick each\nestimates span 141 days, 1 without one"


# ------------------------------------------------------------------------------------------------ figure 7
COMPARISON = pd.DataFrame([
    # a claim read in its source, matched to the same definition; our set bounded
    ("Alpha et al. 2025", "China ahead in summer 2025", "V", "downloads_30d", "uploader", "all", "2025-06-01",
     "2025-08-31", "downloads_30d", "uploader", "all", "local_linear", "2025-09-10", "2025-08-20", "2025-10-01",
     "bounded", None, "same definition (local-linear, bandwidth 12.0 periods, full window)", "overlaps", True),
    # a claim seen only in secondary reports, open on the left ("by Oct 2025"); our set open on the right
    ("Beta blog 2026", "passed by Oct 2025", "S", "downloads_alltime_increment", "first_party", "llm", None,
     "2025-10-31", "downloads_alltime_increment", "first_party", "llm", "local_linear", "2025-12-20", "2025-11-02",
     None, "unbounded", None, "same definition (local-linear, bandwidth 7.2 periods, full window)", "ours_later",
     True),
    # a claim with no date and a long quote; paired with our headline
    ("Gamma slides 2026", "Share of new derivative models by the country of their base model rose from one in ten "
     "to seven in ten while Europe's fell from more than half to a few per cent, a shift the talk calls decisive",
     "V", "new_derivatives_share", "lineage", "all", None, None, "downloads_30d", "lineage", "all", "local_linear",
     "2025-07-20", "2025-05-26", "2025-09-14", "bounded", None, "headline (no sensitivity row for their definition)",
     "no crossover date claimed", True),
], columns=list(contracts.COMPARISON_COLUMNS))


@pytest.fixture(scope="module")
def pairs():
    table = comparison_table(COMPARISON)
    fig = _plot(7, table)
    yield table, fig
    plt.close(fig)


def test_figure7_reads_at_printed_size_and_keys_every_mark(pairs):
    table, fig = pairs
    _reads_at_printed_size(fig)
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert {"Published period, read in the source", "Published period, seen only in secondary reports",
            "Published period open on that side", "No crossover date given (claim quoted)",
            "This study: estimate (local-linear fit, nearest definition)", "This study: 95% confidence set",
            "This study: set unbounded on that side"} == set(legend)


def test_figure7_pairs_each_claim_with_our_nearest_definition(pairs):
    table, fig = pairs
    assert list(table["role"]) == ["published", "this study"] * 3
    ours = table[table["role"] == "this study"].reset_index(drop=True)
    pub = table[table["role"] == "published"].reset_index(drop=True)
    assert list(ours["pair"]) == list(pub["pair"]) == [0, 1, 2]
    want = [("2025-09-10", "2025-08-20", "2025-10-01"), ("2025-12-20", "2025-11-02", None),
            ("2025-07-20", "2025-05-26", "2025-09-14")]
    for (_, r), (est, lo, hi) in zip(ours.iterrows(), want):
        assert r["estimate_date"] == pd.Timestamp(est) and r["lower_date"] == pd.Timestamp(lo)
        assert (pd.isna(r["upper_date"]) if hi is None else r["upper_date"] == pd.Timestamp(hi))
    assert list(ours["label"]) == [
        "This study, nearest definition:\n30-day downloads, uploader rule, all models",
        "This study, nearest definition:\nweekly growth of all-time downloads,\nfirst party rule, generative models "
        "(LLMs and VLMs)",
        "This study, headline (none nearer):\n30-day downloads, lineage rule, all models"]
    assert list(ours["method"]) == ["local_linear"] * 3
    assert list(pub["kind"]) == ["verified", "secondary", "no_date"]
    # in the figure: our estimate sits right beneath its claim, at our date; the open end of the set is an arrow
    marks = sorted(_drawn(fig, "crossover"), key=lambda m: m.get_ydata()[0])
    assert [m.get_ydata()[0] for m in marks] == pytest.approx(list(ours["row"]))
    assert [_date(m.get_xdata()[0]) for m in marks] == [
        pd.Timestamp(e) for e, _, _ in want]
    for p, o in zip(pub["row"], ours["row"]):
        assert 0 < o - p < 0.5  # inches apart: beneath it, before the next claim
    arrows = _drawn(fig, "unbounded-end")
    assert [a.get_marker() for a in arrows] == [">"] and arrows[0].get_ydata()[0] == pytest.approx(ours["row"][1])
    (bar_open,) = _drawn(fig, "published-open-end")
    assert bar_open.get_marker() == "<"


def test_figure7_quotes_a_claim_without_a_date_whole(pairs):
    table, fig = pairs
    claim = COMPARISON["claim"].iloc[2]
    (note,) = [t for t in fig.axes[0].texts if "No crossover date given" in t.get_text()]
    words = note.get_text().split()
    assert " ".join(words) == "No crossover date given. Claim: " + claim  # every word, none cut
    assert note.get_text().count("\n") >= 1  # wrapped, not run off the axes
    renderer = fig.canvas.get_renderer()
    box, ax_box = note.get_window_extent(renderer), fig.axes[0].get_window_extent(renderer)
    assert ax_box.x0 <= box.x0 and box.x1 <= ax_box.x1


def test_figure7_table_is_built_from_notebook_05s_comparison(tmp_path):
    """The registered figure reads published_comparison.csv (declared in analysis.contracts)."""
    spec = figure(7)
    assert "published_comparison" in spec.inputs
    assert "published_comparison" in contracts.FILES["figures_index"].inputs


# ------------------------------------------------------------------------------------------------ notebook 05's side
def _report(headline: dict) -> SimpleNamespace:
    return SimpleNamespace(headline=headline, simulated=True,
                           definition={"measure": "downloads_30d", "rule": "lineage", "scope": "all"})


def test_compare_published_keeps_the_finite_end_of_a_one_sided_set(tmp_path):
    pub = tmp_path / "published.csv"
    pd.DataFrame([
        ("A", "cite", "downloads_30d", "llm", "first_party", "summer", "2025-06-01", "2025-08-31", "V", ""),
        ("B", "cite", "downloads_30d", "llm", "first_party", "by Dec", "", "2025-12-31", "S", ""),
        ("C", "cite", "downloads_30d", "all", "uploader", "in autumn", "2025-09-01", "2025-11-30", "S", ""),
    ], columns=list(contracts.PUBLISHED_COLUMNS)).to_csv(pub, index=False)
    grid = pd.DataFrame([
        {"measure": "downloads_30d", "rule": "first_party", "scope": "llm", "method": "local_linear",
         "start_offset_months": 0, "bandwidth_periods": 12.0, "estimate_date": "2025-12-22",
         "lower_date": "2025-11-02", "upper_date": None, "kind": "unbounded",
         "pieces_dates": json.dumps([["2025-11-02", "2026-01-28"]]), "open_start": False, "open_end": True},
        {"measure": "downloads_30d", "rule": "uploader", "scope": "all", "method": "local_linear",
         "start_offset_months": 0, "bandwidth_periods": 12.0, "estimate_date": "2025-08-01",
         "lower_date": "2025-06-01", "upper_date": "2026-01-10", "kind": "bounded",
         "pieces_dates": json.dumps([["2025-06-01", "2025-08-20"], ["2025-12-01", "2026-01-10"]]),
         "open_start": False, "open_end": False},
    ])
    head = {"method": "local_linear", "estimate_date": "2025-07-20", "lower_date": "2025-05-26",
            "upper_date": "2025-09-14", "kind": "bounded"}
    table = compare_published(_report(head), pub, sensitivity=grid)
    a, b, c = (table.iloc[i] for i in range(3))
    assert (a["our_lower_date"], a["our_kind"]) == ("2025-11-02", "unbounded") and pd.isna(a["our_upper_date"])
    assert a["our_method"] == "local_linear"
    assert a["agreement"] == "ours_later"  # the set starts after their summer: comparable by its finite end
    assert b["agreement"] == "overlaps"  # "by Dec" reaches into [2025-11-02, open)
    # a set of two pieces is kept whole, and their autumn falls in its gap
    assert json.loads(c["our_pieces_dates"]) == [["2025-06-01", "2025-08-20"], ["2025-12-01", "2026-01-10"]]
    assert c["agreement"] == "between our pieces"
    # the figure draws both pieces of the set
    fig = _plot(7, comparison_table(table))
    rows = comparison_table(table)
    ours_c = rows[(rows["role"] == "this study") & (rows["pair"] == 2)]["row"].iloc[0]
    segs = [ln for ln in _drawn(fig, "crossover-interval") if ln.get_ydata()[0] == pytest.approx(ours_c)]
    assert len(segs) == 2
    plt.close(fig)


def test_figures_6_and_7_redraw_from_their_csv(tmp_path):
    """Each figure's CSV is what it draws: read back, it gives the same marks at the same places."""
    from analysis.figures.data import read_interval_csv, to_csv_bytes

    for number, table in ((6, forest_table(full_grid(), DEFN, full_crossover(), fdata.TimeScale(T0, 7.0))),
                          (7, comparison_table(COMPARISON))):
        path = tmp_path / f"fig{number}.csv"
        path.write_bytes(to_csv_bytes(table, "SIMULATED DATA"))
        again = read_interval_csv(path)
        marks = []
        for t in (table, again):
            fig = _plot(number, t)
            marks.append(sorted((round(m.get_ydata()[0], 6), _date(m.get_xdata()[0]), m.get_gid())
                                for gid in ("crossover", "crossover-point", "unbounded-end")
                                for m in _drawn(fig, gid)))
            plt.close(fig)
        assert marks[0] == marks[1] and len(marks[0]) > 3


def test_captions_of_figures_6_and_7_state_the_estimand_and_the_lag(tmp_path):
    from test_figures import write_inputs

    from analysis.figures import make_all_figures

    paths = write_inputs(tmp_path)
    run, figs = make_all_figures(paths, DEFN, formats=["png"], dpi=20, simulated=True, only=[6, 7])
    for f in figs.values():
        plt.close(f)
    cap = {r.number: r.caption for r in run.records}
    assert set(cap) == {6, 7}
    for c in cap.values():
        assert "underlying Chinese and US shares" in c and "not the first date an observed, noisy share" in c
        assert "trails the daily download rate by about 15 days" in c  # the 30-day measure's lag
    assert "headline definition (30-day downloads, lineage rule, all models)" in cap[6]
    assert "3 definitions of the grid" in cap[6]  # the fixture's grid holds 3
    assert "1 claim gives no date and is quoted" in cap[7]
