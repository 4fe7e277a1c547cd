"""Every figure stays readable with deuteranopia and protanopia (Machado et al. 2009), by the criterion of
:mod:`analysis.figures.cvd`: within a legend, entries in different colours stay at least ``MIN_DELTA_E``
(CIEDE2000) apart in normal vision and both simulated deficiencies; origins also differ in line style or marker.

The simulation and the colour difference are checked against published values first (CIEDE2000: Sharma, Wu and
Dalal 2005, Table 1; Machado: the matrix maps a pure red to a dark yellow and leaves greys grey).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from analysis.figures import Definition, all_figures  # noqa: E402
from analysis.figures.cvd import (MIN_DELTA_E, VISIONS, LegendKey, check_keys, colour_distance,  # noqa: E402
                                  delta_e2000, legend_keys, simulate)
from analysis.figures.registry import FigureContext, Inputs  # noqa: E402
from analysis.figures.style import ORIGIN_STYLES, paper_style  # noqa: E402
from analysis.schema import REGIONS  # noqa: E402

from test_figures import write_inputs  # noqa: E402

DEFN = Definition("downloads_30d", "lineage", "all", "weekly")
ORIGIN_LABELS = {s.label for s in ORIGIN_STYLES.values()}

#: The palette the study used before: Okabe-Ito orange, reddish purple and a dark grey for other countries,
#: unaffiliated and unknown accounts.
OLD_PALETTE = {"CN": "#D55E00", "US": "#0072B2", "EU": "#009E73", "OTHER": "#E69F00", "UNAFFILIATED": "#CC79A7",
               "UNKNOWN": "#666666"}


@pytest.mark.parametrize("lab1,lab2,want", [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((84.25, 5.74, 96.0), (84.46, 8.88, 96.49), 1.6743),
])
def test_ciede2000_matches_sharma_2005(lab1, lab2, want):
    assert delta_e2000(lab1, lab2) == pytest.approx(want, abs=1e-4)
    assert delta_e2000(lab2, lab1) == pytest.approx(want, abs=1e-4)


def test_machado_simulation_known_behaviour():
    for vision in ("deuteranopia", "protanopia"):
        for grey in (0.0, 0.5, 1.0):  # the matrices' rows sum to one: greys stay grey
            assert simulate([grey] * 3, vision) == pytest.approx([grey] * 3, abs=2e-3)
        r, g, b = simulate([1.0, 0.0, 0.0], vision)
        assert r > b and g > b  # pure red is seen as a yellowish colour
    # red and green, far apart in normal vision, come close under both deficiencies (under protanopia the red
    # also darkens, so a difference in lightness is left)
    red, green = mcolors.to_rgb("#D00000"), mcolors.to_rgb("#00A000")
    normal = colour_distance(red, green)
    assert normal > 50
    assert colour_distance(red, green, "deuteranopia") < 10 and colour_distance(red, green, "protanopia") < normal / 2


def _keys(palette: dict) -> list[LegendKey]:
    return [LegendKey(0, ORIGIN_STYLES[r].label, mcolors.to_rgb(palette[r]), str(ORIGIN_STYLES[r].linestyle),
                      ORIGIN_STYLES[r].marker, "") for r in REGIONS]


def test_the_old_palette_fails_the_criterion_and_the_new_one_passes():
    old = check_keys(_keys(OLD_PALETTE), ORIGIN_LABELS)
    pairs = {frozenset((p.first, p.second)) for p in old if p.vision == "deuteranopia"}
    # under deuteranopia Europe came within reach of Unknown, and orange of vermillion
    assert frozenset(("Europe", "Unknown")) in pairs and frozenset(("China (CN)", "Other countries")) in pairs
    assert not check_keys(_keys({r: s.color for r, s in ORIGIN_STYLES.items()}), ORIGIN_LABELS)
    worst = min(colour_distance(mcolors.to_rgb(a.color), mcolors.to_rgb(b.color), v)
                for i, a in enumerate(ORIGIN_STYLES.values()) for b in list(ORIGIN_STYLES.values())[i + 1:]
                for v in VISIONS)
    assert worst >= MIN_DELTA_E


def test_origins_that_share_a_look_are_flagged():
    same = [LegendKey(0, "China (CN)", (0.8, 0.4, 0.0), "-", "o", ""),
            LegendKey(0, "Europe", (0.0, 0.6, 0.45), "-", "o", "")]
    assert any(p.vision == "greyscale" for p in check_keys(same, ORIGIN_LABELS))


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    paths = write_inputs(tmp_path_factory.mktemp("cvd"))
    inputs = Inputs(paths)
    return FigureContext(paths, DEFN, inputs, ("2024-07-24", "2025-04-23"), simulated=True)


@pytest.mark.parametrize("spec", all_figures(), ids=lambda s: s.name)
def test_every_figure_passes_the_colour_vision_check(spec, context):
    table = spec.table(context)
    with paper_style():
        fig = spec.plot(table, definition_label=DEFN.label(), simulated=True)
    keys = legend_keys(fig)
    plt.close(fig)
    assert keys, f"figure {spec.number} has no legend to decode its colours with"
    assert all(k.rgb is not None for k in keys), [k.label for k in keys if k.rgb is None]
    problems = check_keys(keys, ORIGIN_LABELS)
    assert not problems, "\n".join(map(str, problems))
    drawn = {k.label for k in keys} & ORIGIN_LABELS
    if drawn:  # origins are keyed in the study's colours
        for k in keys:
            if k.label in ORIGIN_LABELS:
                region = next(r for r, s in ORIGIN_STYLES.items() if s.label == k.label)
                assert np.allclose(k.rgb, mcolors.to_rgb(ORIGIN_STYLES[region].color), atol=1 / 255)


def test_a_figure_drawn_in_the_old_palette_fails(context, monkeypatch):
    import dataclasses

    from analysis.figures import figure

    for region, colour in OLD_PALETTE.items():
        monkeypatch.setitem(ORIGIN_STYLES, region, dataclasses.replace(ORIGIN_STYLES[region], color=colour))
    spec = figure(1)
    with paper_style():
        fig = spec.plot(spec.table(context), definition_label=DEFN.label(), simulated=True)
    problems = check_keys(legend_keys(fig), {s.label for s in ORIGIN_STYLES.values()})
    plt.close(fig)
    assert any({p.first, p.second} == {"Europe", "Unknown"} and p.vision == "deuteranopia" for p in problems)
