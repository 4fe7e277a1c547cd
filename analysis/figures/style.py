"""The study's one figure style: the package-shipped ``paper.mplstyle``, a fixed look per origin, sizes, saving.

Every figure of the study is drawn inside :func:`paper_style` and written by :func:`save_figure`, so that

* each origin always has the same colour, line style and marker. The colours stay at least
  :data:`analysis.figures.cvd.MIN_DELTA_E` (CIEDE2000) apart under normal vision, deuteranopia and protanopia
  (Machado et al. 2009; checked over every figure by the tests), and the line style and marker keep the origins
  apart in greyscale print;
* widths match journal columns: :data:`ONE_COLUMN` (3.5 in) and :data:`TWO_COLUMN` (7.2 in);
* PDF files embed TrueType fonts (Type 42), PNG files are 300 dpi by default;
* file metadata carry no date, no random id and no software build string, so a rerun on the same inputs with the
  same library versions writes byte-identical PDF, SVG and PNG files.

Demo runs put a visible "SIMULATED DATA" mark on every figure (:func:`mark_simulated`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator, Sequence

import matplotlib

from ..schema import REGIONS

#: Width of a one-column figure in inches.
ONE_COLUMN = 3.5
#: Width of a two-column (full page width) figure in inches.
TWO_COLUMN = 7.2
#: Default height of a one-column figure.
ONE_COLUMN_HEIGHT = 2.6

#: File formats the study writes, in the order they are written.
FORMATS = ("pdf", "svg", "png")

#: Text of the demo watermark; also put in every caption of a demo run.
SIMULATED_MARK = "SIMULATED DATA"

#: Salt for SVG element ids (matplotlib otherwise salts them with a random UUID).
SVG_HASHSALT = "analysis-figures"


@dataclass(frozen=True)
class OriginStyle:
    """How one origin is drawn.

    Attributes
    ----------
    label : str
        Legend text.
    color : str
        Hex colour.
    linestyle : str or tuple
        Matplotlib dash pattern; differs between origins so they stay apart in greyscale.
    marker : str
        Marker drawn every few points; differs between origins.
    """

    label: str
    color: str
    linestyle: object
    marker: str

    def line_kwargs(self, n_points: int | None = None) -> dict:
        """Keyword arguments for ``Axes.plot`` (markers on about 12 points of a long line)."""
        every = max(1, (n_points or 1) // 12)
        return {"color": self.color, "linestyle": self.linestyle, "marker": self.marker,
                "markevery": every, "label": self.label}


#: Fixed style per origin label of :data:`analysis.schema.REGIONS`. Colours: vermillion, blue and bluish green of
#: Okabe and Ito (2008) for China, the United States and Europe; sky blue (Okabe-Ito) for other countries; wine
#: (Tol's muted scheme) for unaffiliated accounts; light grey for unknown. Among the Okabe-Ito and Tol colours dark
#: enough for lines on white, these six keep the largest least CIEDE2000 difference under normal vision,
#: deuteranopia and protanopia (18 or more; the Okabe-Ito orange, reddish purple and dark grey the study used
#: before fell to 12-15, and Europe, Unaffiliated and Unknown looked alike under deuteranopia).
ORIGIN_STYLES: dict[str, OriginStyle] = {
    "CN": OriginStyle("China (CN)", "#D55E00", "-", "o"),
    "US": OriginStyle("United States (US)", "#0072B2", (0, (4, 1.5)), "s"),
    "EU": OriginStyle("Europe", "#009E73", "-.", "^"),
    "OTHER": OriginStyle("Other countries", "#56B4E9", ":", "D"),
    "UNAFFILIATED": OriginStyle("Unaffiliated", "#882255", (0, (5, 1, 1, 1, 1, 1)), "v"),
    "UNKNOWN": OriginStyle("Unknown", "#BBBBBB", (0, (1, 2.5)), "x"),
}
assert tuple(ORIGIN_STYLES) == REGIONS, "ORIGIN_STYLES must cover analysis.schema.REGIONS in order"

#: Colour of the crossover estimate and its interval.
CROSSOVER_COLOR = "#000000"
#: Fill colour of confidence bands and intervals.
BAND_COLOR = "#BBBBBB"


def origin_style(region: str) -> OriginStyle:
    """The fixed style of an origin label; raises ``KeyError`` naming the allowed labels."""
    try:
        return ORIGIN_STYLES[region]
    except KeyError:
        raise KeyError(f"origin {region!r} has no figure style; expected one of {', '.join(REGIONS)}") from None


def style_file() -> Path:
    """Path of the package-shipped ``paper.mplstyle``."""
    path = Path(str(resources.files("analysis.figures") / "paper.mplstyle"))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the figure style file is missing from the analysis package; "
                                "reinstall the package or restore analysis/figures/paper.mplstyle")
    return path


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Context in which matplotlib uses the study's style (and nothing of the user's matplotlibrc)."""
    import matplotlib.pyplot as plt

    with plt.style.context(["default", str(style_file())]):
        matplotlib.rcParams["svg.hashsalt"] = SVG_HASHSALT
        yield


def figure_size(width: str = "one", height: float | None = None) -> tuple[float, float]:
    """(width, height) in inches for a ``"one"``- or ``"two"``-column figure."""
    if width not in ("one", "two"):
        raise ValueError(f"width={width!r}: expected 'one' (3.5 in) or 'two' (7.2 in) columns")
    w = ONE_COLUMN if width == "one" else TWO_COLUMN
    return (w, float(height) if height is not None else ONE_COLUMN_HEIGHT if width == "one" else 3.2)


def mark_simulated(fig) -> None:
    """Put a visible "SIMULATED DATA" mark on a figure: a label at the top and a faint diagonal watermark."""
    fig.text(0.5, 0.5, SIMULATED_MARK, transform=fig.transFigure, ha="center", va="center", rotation=25,
             fontsize=22, color="#B00020", alpha=0.18, fontweight="bold", zorder=1000, gid="simulated-watermark")
    # a super-title: the layout engine makes room for it, so it never covers data or legends
    fig.suptitle(SIMULATED_MARK + " (demo run, not a finding)", x=0.01, ha="left", fontsize=7, color="white",
                 fontweight="bold", gid="simulated-label",
                 bbox={"boxstyle": "square,pad=0.25", "facecolor": "#B00020", "edgecolor": "none"})


def _metadata(fmt: str, title: str) -> dict:
    from .. import __version__

    creator = f"analysis {__version__} (matplotlib {matplotlib.__version__})"
    if fmt == "pdf":
        # no CreationDate/ModDate: they would change the bytes on every run
        return {"Title": title, "Creator": creator, "Producer": creator, "CreationDate": None, "ModDate": None}
    if fmt == "svg":
        return {"Title": title, "Creator": creator, "Date": None}
    if fmt == "png":
        return {"Title": title, "Software": None}
    raise ValueError(f"figure format {fmt!r} is not supported; choose from {', '.join(FORMATS)}")


def save_figure(fig, stem: str | Path, formats: Sequence[str] = FORMATS, dpi: int = 300,
                title: str = "") -> dict[str, Path]:
    """Write a figure in each format with deterministic metadata.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    stem : str or Path
        Output path without suffix, e.g. ``figures/download_share_by_origin``.
    formats : sequence of {"pdf", "svg", "png"}
        Formats to write.
    dpi : int
        Resolution of raster output (PNG).
    title : str
        Title stored in the file metadata.

    Returns
    -------
    dict
        ``{format: path}`` of the files written.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"figure format {bad[0]!r} is not supported; choose from {', '.join(FORMATS)} "
                         "(config figures.formats)")
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = {}
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT, "pdf.fonttype": 42, "ps.fonttype": 42}):
        for fmt in formats:
            path = stem.with_suffix("." + fmt)
            tmp = path.with_name(path.name + ".tmp")
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_metadata(fmt, title))
            tmp.replace(path)
            out[fmt] = path
    return out
