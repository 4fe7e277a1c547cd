"""Factor figures (9 to 13) and their values: tables from notebook 06's files, the drawing, captions, values.

:func:`write_factor_inputs` writes ``factors.parquet`` and ``factors.json`` for a synthetic study root by running
:func:`analysis.factors.compute_factors` on a small handmade Hub (it is also used by ``test_figures.py``).
"""

from __future__ import annotations

from types import SimpleNamespace

import datetime as dt
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pytest  # noqa: E402

from analysis import factors as F  # noqa: E402
from analysis.figures import Definition, FigureInputError, make_all_figures  # noqa: E402
from analysis.figures import data as fdata  # noqa: E402
from analysis.figures.factors import FACTOR_FIGURES, factor_values  # noqa: E402
from analysis.figures.registry import all_figures  # noqa: E402
from analysis.figures.style import ORIGIN_STYLES, paper_style  # noqa: E402
from analysis.paths import Paths  # noqa: E402
from analysis.stats.results import to_jsonable  # noqa: E402

FACTOR_DATES = [dt.date(2024, 8, 7), dt.date(2024, 9, 4), dt.date(2024, 10, 2), dt.date(2024, 12, 4),
                dt.date(2025, 1, 1)]  # November has no snapshot: a gap


def _world(tmp):
    """A small Hub: CN families mostly permissive and Chinese-declaring, US ones under Llama licences."""
    rng = np.random.default_rng(0)
    models, snaps = [], []
    for origin, org, lic, lang in (("CN", "Qwen", "apache-2.0", "zh"), ("US", "meta-llama", "llama3.1", "en")):
        for f in range(12):
            root = f"{org}/base{f}"
            models.append((root, org, "base", root, origin, "2024-05-01"))
            for k in range(3):
                models.append((f"user{k}/{org}-{f}-ft", f"user{k}", "finetune", root, origin,
                               f"2024-{8 + (f + k) % 5:02d}-15"))
    m = pd.DataFrame(models, columns=["id", "author", "relation", "lineage_root", "lineage_region", "createdAt"])
    m["createdAt"] = pd.to_datetime(m["createdAt"], utc=True)
    m["uploader_region"] = m["lineage_region"]
    m["root_author"] = m["lineage_root"].str.split("/").str[0]
    m["first_party"] = m["author"].isin(["Qwen", "meta-llama"])
    m["is_redistributor"] = False
    m["pipeline_tag"] = "text-generation"
    for i, d in enumerate(FACTOR_DATES):
        alive = m[m["createdAt"].dt.date <= d]
        own = [("license:apache-2.0" if r.lineage_region == "CN" else "license:llama3.1") if rng.random() < 0.8
               else "license:mit" for r in alive.itertuples()]
        tags = [[t, "zh" if r.lineage_region == "CN" else "en"] for t, r in zip(own, alive.itertuples())]
        params = [int(7e9) if r.lineage_region == "CN" else int(7e10) for r in alive.itertuples()]
        dl = rng.integers(1, 1000, len(alive)) * (1 + i)
        t = pa.table({"id": alive["id"].tolist(), "downloads": pa.array(dl, pa.int64()),
                      "tags": pa.array(tags, pa.list_(pa.string())), "params_total": pa.array(params, pa.int64())})
        path = tmp / f"factor_snapshot_{d}.parquet"
        pq.write_table(t, path)
        snaps.append((d, path))
    return m, snaps


def write_factor_inputs(paths: Paths) -> None:
    """``factors.parquet`` and ``factors.json`` of a small handmade Hub, split at the crossover.json headline."""
    tmp = paths.root / "factor_world"
    tmp.mkdir(parents=True, exist_ok=True)
    models, snaps = _world(tmp)
    cross = json.loads(paths.crossover_file.read_text()) if paths.crossover_file.is_file() else None
    split = F.choose_split(cross, [d for d, _ in snaps])
    res = F.compute_factors(snaps, models, split=split, reps=99, seed=0)
    paths.locate("factors").parent.mkdir(parents=True, exist_ok=True)
    res.table.to_parquet(paths.locate("factors"), index=False)
    paths.locate("factors_summary").write_text(json.dumps(to_jsonable(res.as_dict()), allow_nan=False))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from test_figures import write_inputs

    return write_inputs(tmp_path_factory.mktemp("factor_study"))


class _Inputs:
    def __init__(self, paths):
        self.paths, self._c = paths, {}

    def _get(self, k, fn):
        if k not in self._c:
            self._c[k] = fn()
        return self._c[k]


def _table(study, number):
    spec = next(f for f in FACTOR_FIGURES if f.number == number)
    return spec, spec.table(SimpleNamespace(inputs=_Inputs(study)))


def test_factor_figures_are_registered_after_the_crossover_figures():
    assert [f.number for f in all_figures()] == list(range(1, 15))   # 14: the scopes side by side
    assert [f.number for f in FACTOR_FIGURES] == list(range(9, 14))
    assert {f.name for f in FACTOR_FIGURES} == {"licence_by_origin", "language_by_origin", "size_by_origin",
                                                "derivative_ecosystem_by_origin", "factor_differences_cn_us"}


def test_licence_table_facets_origins_gap_and_split(study):
    spec, t = _table(study, 9)
    shares = t[t["element"] == "share"]
    assert list(dict.fromkeys(shares["panel"])) == ["Permissive", "Restricted open weights", "Non-commercial",
                                                    "Other, custom or none"]
    assert set(shares["group"]) == {"CN", "US"}
    gap = shares[shares["date"] == pd.Timestamp("2024-11-01")]  # the monthly grid's November: no snapshot
    assert len(gap) == 8 and gap["value"].isna().all()
    summary = json.loads(study.locate("factors_summary").read_text())
    split = t[t["element"] == "split"]
    assert len(split) == 1 and split["date"].iloc[0] == pd.Timestamp(summary["split"]["date"])
    # values equal the series of factors.parquet
    series = pd.read_parquet(study.locate("factors"))
    want = series[(series["factor"] == "licence") & (series["level"] == "permissive") & (series["region"] == "CN")]
    got = shares[(shares["panel"] == "Permissive") & (shares["group"] == "CN")].dropna(subset=["value"])
    assert np.allclose(got["value"].to_numpy(), want.sort_values("date")["value"].to_numpy())


def test_share_figure_draws_one_facet_per_class_with_origin_styles_and_split(study):
    spec, t = _table(study, 9)
    with paper_style():
        fig = spec.plot(t, definition_label="", simulated=True)
    axes = [a for a in fig.axes if a.get_visible() and a.lines]
    assert len(axes) == 4
    for ax in axes:
        assert len([a for a in ax.lines if a.get_gid() == "factor-split"]) == 1
        colours = {matplotlib.colors.to_hex(line.get_color()).upper() for line in ax.lines
                   if line.get_gid() != "factor-split"}
        assert colours == {ORIGIN_STYLES["CN"].color.upper(), ORIGIN_STYLES["US"].color.upper()}
    assert fig.findobj(lambda a: a.get_gid() == "simulated-watermark")
    plt.close(fig)


def test_difference_figure_marks_every_estimate_and_interval(study):
    spec, t = _table(study, 13)
    with paper_style():
        fig = spec.plot(t, definition_label="", simulated=False)
    marks = fig.findobj(lambda a: a.get_gid() == "factor-difference")
    bars = fig.findobj(lambda a: a.get_gid() == "factor-interval")
    assert len(marks) == int(np.isfinite(t["difference"]).sum())
    assert len(bars) == int((np.isfinite(t["lower"]) & np.isfinite(t["upper"])).sum()) > 0
    assert not fig.findobj(lambda a: a.get_gid() == "simulated-watermark")
    plt.close(fig)
    assert set(t["period"]) == {"before", "after"} and set(t["scale"]) == {"share", "count"}


def test_captions_files_and_values_of_the_factor_figures(study):
    run, figs = make_all_figures(study, Definition("downloads_30d", "lineage", "all", "weekly"), formats=["png"],
                                 dpi=30, simulated=True, only=[9, 10, 11, 12, 13])
    for f in figs.values():
        plt.close(f)
    assert not run.failures and [r.number for r in run.records] == [9, 10, 11, 12, 13]
    summary = json.loads(study.locate("factors_summary").read_text())
    for rec in run.records:
        assert rec.caption.startswith("SIMULATED DATA") and f"Figure {rec.number}." in rec.caption
        assert summary["split"]["date"] in rec.caption
        csv = pd.read_csv(study.figures_dir / f"{rec.name}.csv")
        assert (csv[fdata.DATA_KIND_COLUMN] == "SIMULATED DATA").all()
    vals = json.loads(study.values_json.read_text())["values"]
    d = next(x for x in summary["differences"] if (x["factor"], x["level"], x["period"]) ==
             ("licence", "permissive", "after"))
    assert vals["factor_licence_permissive_after_diff"]["value"] == pytest.approx(d["difference"])
    assert vals["factor_split_date"]["value"] == summary["split"]["date"]
    keys = [v.key for v in factor_values(summary)]
    assert len(keys) == len(set(keys))


def test_missing_factor_files_fail_those_figures_only(tmp_path):
    from test_figures import write_inputs

    paths = write_inputs(tmp_path)
    paths.locate("factors").unlink()
    paths.locate("factors_summary").unlink()
    with pytest.raises(FigureInputError, match="notebook 06"):
        make_all_figures(paths, Definition("downloads_30d", "lineage", "all", "weekly"), formats=["png"], dpi=20,
                         simulated=True, only=[1, 9])
    run, figs = make_all_figures(paths, Definition("downloads_30d", "lineage", "all", "weekly"), formats=["png"],
                                 dpi=20, simulated=True, only=[1, 9], raise_on_failure=False)
    for f in figs.values():
        plt.close(f)
    assert [r.number for r in run.records] == [1] and "licence_by_origin" in run.failures
