"""Colour-vision deficiency: how a figure's colours look to readers with deuteranopia or protanopia.

The study's colour keys must stay apart for every reader. This module simulates the two common red-green
deficiencies and measures colour differences, so that a test can check every figure:

* :func:`simulate` applies the matrices of Machado, Oliveira and Fernandes (2009), "A physiologically-based model
  for simulation of color vision deficiency" (IEEE TVCG 15(6)), at severity 1.0 (dichromacy), to linear sRGB;
* :func:`delta_e2000` is the CIEDE2000 colour difference (Sharma, Wu and Dalal 2005) in CIELAB (D65);
* :func:`legend_keys` reads the keys a reader decodes a figure with (every legend entry: label, colour, line
  style, marker, hatch);
* :func:`check_keys` applies the study's criterion, :data:`MIN_DELTA_E`.

The criterion
-------------
Within each legend of a figure:

* entries that encode the origins of models (:data:`analysis.figures.style.ORIGIN_STYLES`) must stay at least
  :data:`MIN_DELTA_E` (CIEDE2000) apart in colour under normal vision, deuteranopia and protanopia, *and* differ in
  line style or marker, so that they also stay apart in greyscale print;
* any other two entries must not look alike: they either differ in the kind of mark (line, marker, patch) or its
  line style, marker or hatch, or their colours stay :data:`MIN_DELTA_E` apart in all three visions.

Colours are taken as drawn on white (alpha blended).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

#: Machado et al. (2009) simulation matrices at severity 1.0, applied to linear RGB.
MACHADO_2009: dict[str, np.ndarray] = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
#: The visions checked: normal and the two dichromacies.
VISIONS: tuple[str, ...] = ("normal", "deuteranopia", "protanopia")

#: Least CIEDE2000 difference between two colour keys of one legend, in every vision. About 2 is a just-noticeable
#: difference between large patches, and the difference needed grows several-fold as marks get as thin as lines
#: and as small as markers (Stone, Szafir and Setlur 2014), so the study asks for 15.
MIN_DELTA_E = 15.0

_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])


def _to_linear(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _to_srgb(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def simulate(rgb, vision: str) -> np.ndarray:
    """sRGB colour(s) in [0, 1] as seen with ``vision`` (``"normal"``, ``"deuteranopia"``, ``"protanopia"``).

    Parameters
    ----------
    rgb : array-like, shape (..., 3)
    vision : str

    Returns
    -------
    numpy.ndarray
        Simulated sRGB in [0, 1], same shape.
    """
    rgb = np.asarray(rgb, dtype=float)
    if vision == "normal":
        return rgb.copy()
    try:
        m = MACHADO_2009[vision]
    except KeyError:
        raise ValueError(f"vision {vision!r}: expected one of {', '.join(VISIONS)}") from None
    return _to_srgb(_to_linear(rgb) @ m.T)


def to_lab(rgb) -> np.ndarray:
    """CIELAB (D65) of sRGB colour(s) in [0, 1]."""
    xyz = _to_linear(np.asarray(rgb, dtype=float)) @ _RGB_TO_XYZ.T / _WHITE_D65
    d = 6 / 29
    f = np.where(xyz > d ** 3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e2000(lab1, lab2) -> float:
    """CIEDE2000 difference between two CIELAB colours (kL = kC = kH = 1)."""
    L1, a1, b1 = (float(v) for v in lab1)
    L2, a2, b2 = (float(v) for v in lab2)
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = L2 - L1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    else:
        dh = h2p - h1p
        if dh > 180:
            dh -= 360
        elif dh < -180:
            dh += 360
    dH = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_bar, cp_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6)) - 0.20 * math.cos(math.radians(4 * h_bar - 63)))
    d_theta = 30 * math.exp(-(((h_bar - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cp_bar ** 7 / (cp_bar ** 7 + 25 ** 7))
    sl = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    sc = 1 + 0.045 * cp_bar
    sh = 1 + 0.015 * cp_bar * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dH / sh) ** 2 + rt * (dc / sc) * (dH / sh))


def colour_distance(rgb1, rgb2, vision: str = "normal") -> float:
    """CIEDE2000 between two sRGB colours as seen with ``vision``."""
    return delta_e2000(to_lab(simulate(rgb1, vision)), to_lab(simulate(rgb2, vision)))


@dataclass(frozen=True)
class LegendKey:
    """One legend entry as a reader sees it.

    Attributes
    ----------
    legend : int
        Which legend of the figure (in :func:`legend_keys` order).
    label : str
    rgb : tuple of float or None
        The entry's colour on white (None: no colour, e.g. an invisible handle).
    linestyle, marker, hatch : str
        ``""`` when the handle has none.
    kind : str
        ``"line"`` (a line, with or without markers), ``"marker"`` (markers alone), ``"patch"`` or ``"other"``.
    """

    legend: int
    label: str
    rgb: tuple | None
    linestyle: str
    marker: str
    hatch: str
    kind: str = "line"

    @property
    def shape(self) -> tuple:
        """What tells the entry apart without colour."""
        return (self.kind, self.linestyle, self.marker, self.hatch)


def _on_white(rgba) -> tuple | None:
    if rgba is None:
        return None
    r, g, b, a = (float(v) for v in rgba)
    if a <= 0:
        return None
    return tuple(a * np.array([r, g, b]) + (1 - a) * np.ones(3))


def _handle_key(i: int, label: str, handle) -> LegendKey:
    import matplotlib.colors as mcolors
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rgb, ls, mk, hatch, kind = None, "", "", "", "other"
    if isinstance(handle, Line2D):
        style = handle.get_linestyle()
        ls = "" if style in ("None", "none", " ", "") else f"{style}{getattr(handle, '_unscaled_dash_pattern', '')}"
        mk = "" if handle.get_marker() in (None, "None", "none", "", " ") else str(handle.get_marker())
        colour = handle.get_color()
        if not ls and mk:  # a marker alone: its face colour unless hollow, else its edge
            face = handle.get_markerfacecolor()
            hollow = face in (None, "none", "None") or mcolors.to_rgba(face)[3] == 0 or \
                mcolors.to_rgb(face) == (1.0, 1.0, 1.0)
            colour = handle.get_markeredgecolor() if hollow else face
        rgb = _on_white(mcolors.to_rgba(colour, handle.get_alpha()))
        kind = "line" if ls else "marker"
    elif isinstance(handle, Patch):
        kind = "patch"
        face = handle.get_facecolor()
        hatch = handle.get_hatch() or ""
        rgb = _on_white(face)
        if rgb is not None and np.allclose(rgb, 1.0):  # a white (hatched or outlined) patch: its edge is its colour
            rgb = _on_white(handle.get_edgecolor())
    elif isinstance(handle, Collection):
        fc = handle.get_facecolor()
        rgb = _on_white(fc[0]) if len(fc) else _on_white(handle.get_edgecolor()[0])
    return LegendKey(i, label, rgb, ls, mk, hatch, kind)


def legend_keys(fig) -> list[LegendKey]:
    """Every entry of every legend of a figure (figure legends, then axes legends, in order)."""
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    keys = []
    for i, leg in enumerate(legends):
        handles = getattr(leg, "legend_handles", None) or getattr(leg, "legendHandles", [])
        for text, handle in zip(leg.get_texts(), handles):
            if handle is None:
                continue
            keys.append(_handle_key(i, text.get_text(), handle))
    return keys


@dataclass(frozen=True)
class KeyProblem:
    """Two legend entries a reader may not tell apart."""

    vision: str
    first: str
    second: str
    delta_e: float
    reason: str

    def __str__(self) -> str:
        return f"{self.first!r} and {self.second!r}: {self.reason} (CIEDE2000 {self.delta_e:.1f} under {self.vision})"


def check_keys(keys: list[LegendKey], origin_labels: set[str] | frozenset = frozenset(),
               min_delta_e: float = MIN_DELTA_E) -> list[KeyProblem]:
    """The pairs of legend entries that break the study's criterion (see the module docstring).

    Parameters
    ----------
    keys : list of LegendKey
        From :func:`legend_keys`.
    origin_labels : set of str
        Labels of entries that encode origins (they must also differ in shape).
    min_delta_e : float

    Returns
    -------
    list of KeyProblem
        Empty when every entry stays distinguishable.
    """
    problems = []
    for a, b in combinations(keys, 2):
        if a.legend != b.legend or a.rgb is None or b.rgb is None:
            continue
        both_origins = a.label in origin_labels and b.label in origin_labels
        if both_origins and a.shape == b.shape:
            problems.append(KeyProblem("greyscale", a.label, b.label, 0.0, "same line style, marker and hatch"))
        if not both_origins and a.shape != b.shape:
            continue  # told apart by the mark itself
        for vision in VISIONS:
            d = colour_distance(a.rgb, b.rgb, vision)
            if d < min_delta_e:
                problems.append(KeyProblem(vision, a.label, b.label, d, f"colours closer than {min_delta_e:g}"))
    return problems
