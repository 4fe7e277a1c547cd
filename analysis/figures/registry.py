"""The set of figures: each figure declared once, as a :class:`FigureSpec`, in its own module.

A figure is one object holding everything about it: its number, file name and title, the declared files it reads
(``inputs``, keys of :mod:`analysis.contracts` or of its reference files), how its table is built from them
(``table``), its caption (``caption``) and how it is drawn from that table alone (``plot``). Each figure's module
creates its spec and calls :func:`register`; :func:`all_figures` imports every module of the
:mod:`analysis.figures` package, so a module added there (for example ``analysis/figures/factors.py``) contributes
its figures to :func:`analysis.figures.make_all_figures` just by registering them::

    from .registry import FigureContext, FigureSpec, register

    def my_table(ctx: FigureContext) -> pd.DataFrame: ...
    def my_caption(ctx: FigureContext, table: pd.DataFrame) -> str: ...
    def plot_my_figure(table, *, definition_label, simulated=False): ...

    SPEC = register(FigureSpec(9, "my_figure", "What it shows", table=my_table, caption=my_caption,
                               plot=plot_my_figure, inputs=("panel",)))

Figure modules import from the package's modules (``.registry``, ``.data``, ``.plots``, ``.style``, ``.labels``),
never from the package itself, which imports them. Numbers and names must be unique (:func:`register` refuses a
second figure with the same number or name and names both).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from .. import contracts as C
from ..paths import Paths
from .data import Definition, FigureInputError, crossover_alpha, level_text, read_json, read_table

#: Modules of the package that hold no figure (they are not imported by :func:`all_figures`' discovery).
SUPPORT_MODULES = frozenset({"cvd", "data", "labels", "plots", "provenance", "registry", "style", "values"})


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the study, declared in one place.

    Attributes
    ----------
    number : int
        Figure number (unique).
    name : str
        File stem (unique), e.g. ``download_share_by_origin``.
    title : str
    table : callable
        ``table(ctx: FigureContext) -> DataFrame``: exactly the data the figure draws (written as its CSV).
        Raises :class:`FigureInputError` when an input is missing or does not fit.
    caption : callable
        ``caption(ctx, table) -> str``: the caption's text after "Figure N. Title." (the driver adds the
        SIMULATED DATA mark, the number and title, and the span of snapshots).
    plot : callable
        ``plot(table, *, definition_label: str, simulated: bool) -> matplotlib.figure.Figure``.
    inputs : tuple of str
        Keys of the declared files (:data:`analysis.contracts.FILES`) and reference files
        (:data:`analysis.contracts.REFERENCE_FILES`) it reads; they must be inputs of ``figures.json``.
    span : callable, optional
        ``span(ctx, table) -> str``: the caption's last sentence when it is not "Snapshots A to B.".
    module : str
        The module that declared it (set by :func:`register`).
    """

    number: int
    name: str
    title: str
    table: Callable
    caption: Callable
    plot: Callable
    inputs: tuple[str, ...] = ()
    span: Callable | None = None
    module: str = field(default="", compare=False)


_REGISTRY: dict[str, FigureSpec] = {}


def register(spec: FigureSpec) -> FigureSpec:
    """Add a figure to the set (call it at import time of the figure's module); returns the spec.

    Raises
    ------
    ValueError
        Another figure already has this number or name, or an input is not a declared file.
    """
    import inspect

    frame = inspect.currentframe()
    caller = frame.f_back.f_globals.get("__name__", "") if frame and frame.f_back else ""
    spec = FigureSpec(**{**spec.__dict__, "module": spec.module or caller})
    old = _REGISTRY.get(spec.name)
    if old is not None and old.module == spec.module:  # the same module imported again (e.g. reloaded)
        _REGISTRY[spec.name] = spec
        return spec
    for other in _REGISTRY.values():
        if other.name == spec.name or other.number == spec.number:
            raise ValueError(f"figure {spec.number} ({spec.name}, in {spec.module}) clashes with figure "
                             f"{other.number} ({other.name}, in {other.module}): numbers and names must be unique")
    unknown = [k for k in spec.inputs if k not in C.FILES and k not in C.REFERENCE_FILES]
    if unknown:
        raise ValueError(f"figure {spec.number} ({spec.name}): inputs {unknown} are not declared files or reference "
                         "files (analysis/contracts.py)")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a figure from the set (for tests)."""
    _REGISTRY.pop(name, None)


def discover() -> None:
    """Import every figure module of the :mod:`analysis.figures` package (each registers its figures)."""
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in SUPPORT_MODULES and not info.name.startswith("_"):
            importlib.import_module(f"{__package__}.{info.name}")


def all_figures() -> tuple[FigureSpec, ...]:
    """Every registered figure, in number order (figure modules of the package are imported first)."""
    discover()
    return tuple(sorted(_REGISTRY.values(), key=lambda s: s.number))


def figure(key: int | str) -> FigureSpec:
    """One figure by number or name; a KeyError names the figures there are."""
    for spec in all_figures():
        if key in (spec.number, spec.name):
            return spec
    raise KeyError(f"no figure {key!r}; the figures are "
                   + ", ".join(f"{s.number} ({s.name})" for s in all_figures()))


class Inputs:
    """The processed files of a run, read lazily and once, so a missing file fails only the figures that need it."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self._cache: dict = {}

    def _get(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    @property
    def panel(self) -> pd.DataFrame:
        return self.table("panel")

    @property
    def trends(self) -> dict:
        return self.json("trends")

    @property
    def crossover(self) -> dict:
        return self.json("crossover")

    def json(self, key: str) -> dict:
        """A declared JSON file (e.g. ``"crossover"``)."""
        f = C.spec(key)
        return self._get(key, lambda: read_json(self.paths.locate(f), f"notebook {f.notebook}"))

    def table(self, key: str, columns: list[str] | None = None, *, read_all: bool = False) -> pd.DataFrame:
        """A declared table (checked for its declared columns) or a reference CSV (for ``columns``).

        Parameters
        ----------
        key : str
            A key of :data:`analysis.contracts.FILES` or :data:`analysis.contracts.REFERENCE_FILES`.
        columns : list of str, optional
            The columns required; default: every declared column.
        read_all : bool
            Read every column of the file (default: only ``columns`` when they are given).
        """
        if key in C.REFERENCE_FILES:
            path = self.paths.reference_dir / C.REFERENCE_FILES[key]
            producer = "the curated reference file (see data/reference/README.md)"
            want = list(columns or [])
        else:
            f = C.spec(key)
            path = self.paths.locate(f)
            producer = f"notebook {f.notebook}"
            want = list(columns or f.columns)
        only = columns is not None and not read_all
        cache_key = (key, tuple(columns) if only else None)
        return self._get(cache_key, lambda: read_table(path, producer, want, only=only))


@dataclass
class FigureContext:
    """What a figure's table and caption are built from: the run's files, the headline definition, the run kind.

    Attributes
    ----------
    paths : Paths
    definition : Definition
        The headline series (measure, rule, scope, frequency).
    inputs : Inputs
    snapshot_range : tuple of str
        First and last snapshot date of the panel (YYYY-MM-DD).
    simulated : bool
    """

    paths: Paths
    definition: Definition
    inputs: Inputs
    snapshot_range: tuple[str, str]
    simulated: bool = False

    @property
    def alpha(self) -> float:
        """1 - the confidence level ``crossover.json`` records (0.05 without it)."""
        try:
            return crossover_alpha(self.inputs.crossover)
        except FigureInputError:
            return 0.05

    @property
    def level(self) -> str:
        """The confidence level as text, e.g. ``"95%"``."""
        return level_text(self.alpha)

    def check_definition(self, key: str) -> dict:
        """A result JSON (``"trends"`` or ``"crossover"``), after checking it was computed on the headline series."""
        result = self.inputs.json(key)
        path = self.paths.locate(key)
        got = Definition.from_result(result, str(path))
        want = self.definition
        if (got.measure, got.rule, got.scope) != (want.measure, want.rule, want.scope):
            raise FigureInputError(
                f"{path}: computed for measure={got.measure}, rule={got.rule}, scope={got.scope}, but the figures "
                f"are asked for measure={want.measure}, rule={want.rule}, scope={want.scope}; rerun notebooks 04 "
                "and 05 with the same configuration (python -m analysis run --from 04)")
        return result
