"""Each figure is declared once (one FigureSpec per module) and other modules can add figures to the set."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis import contracts as C  # noqa: E402
from analysis.figures import all_figures, figure, make_all_figures  # noqa: E402
from analysis.figures.registry import FigureSpec, register, unregister  # noqa: E402

from test_figures import DEFN, write_inputs  # noqa: E402


def test_every_figure_is_declared_once_in_its_own_module():
    specs = all_figures()
    assert [s.number for s in specs] == sorted({s.number for s in specs})  # unique numbers, in order
    assert len({s.name for s in specs}) == len(specs)
    from collections import Counter

    shared = {m for m, n in Counter(s.module for s in specs).items() if n > 1}
    assert shared <= {"analysis.figures.factors"}  # one module per figure; the five factor figures share theirs
    assert [s.number for s in specs][:8] == list(range(1, 9))
    declared = set(C.FILES["figures_index"].inputs)
    for s in specs:
        assert s.inputs and set(s.inputs) <= declared, (s.name, set(s.inputs) - declared)
        assert figure(s.number) is figure(s.name)


def test_registration_refuses_clashes_and_undeclared_inputs():
    one = figure(1)
    with pytest.raises(ValueError, match="clashes with figure 1"):
        register(FigureSpec(1, "another_name", "t", table=one.table, caption=one.caption, plot=one.plot))
    with pytest.raises(ValueError, match="clashes"):
        register(FigureSpec(99, one.name, "t", table=one.table, caption=one.caption, plot=one.plot))
    with pytest.raises(ValueError, match="not declared files"):
        register(FigureSpec(98, "bad_inputs", "t", table=one.table, caption=one.caption, plot=one.plot,
                            inputs=("no_such_file",)))
    with pytest.raises(KeyError, match="no figure 97"):
        figure(97)


def _table(ctx):
    panel = ctx.inputs.panel
    return pd.DataFrame({"date": sorted(panel["date"].unique())[:3], "value": [1.0, 2.0, 3.0]})


def _caption(ctx, table):
    return f"A figure another module added ({len(table)} points)."


def _plot(table, *, definition_label, simulated=False):
    fig, ax = plt.subplots()
    ax.plot(table["date"], table["value"], label="x")
    ax.legend()
    return fig


def test_a_module_can_add_a_figure_to_the_set(tmp_path):
    spec = register(FigureSpec(42, "contributed_figure", "Contributed", table=_table, caption=_caption, plot=_plot,
                               inputs=("panel",)))
    try:
        assert spec.module == __name__ and spec in all_figures()
        paths = write_inputs(tmp_path)
        run, figs = make_all_figures(paths, DEFN, formats=["png"], dpi=20, simulated=True, only=[42])
        for f in figs.values():
            plt.close(f)
        (rec,) = run.records
        assert rec.name == "contributed_figure" and rec.caption.startswith("SIMULATED DATA")
        assert "Figure 42. Contributed. A figure another module added (3 points)." in rec.caption
        assert (paths.figures_dir / "contributed_figure.png").is_file()
        assert len(pd.read_csv(paths.figures_dir / "contributed_figure.csv")) == 3
    finally:
        unregister("contributed_figure")
    assert "contributed_figure" not in {s.name for s in all_figures()}
