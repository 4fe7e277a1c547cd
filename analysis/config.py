"""The study's parameters: load ``config/study.yaml``, validate it, freeze it.

Every parameter of the study lives in one YAML file. :func:`load_config` reads it, applies command-line
overrides (``section.key=value``), checks every key and value, and returns a frozen :class:`StudyConfig`.
A problem raises :class:`ConfigError` naming the file, the key, the value and what is allowed, before
anything runs. Notebooks receive the parameters flattened as ``<section>_<key>``
(see :meth:`StudyConfig.notebook_parameters`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .schema import BASE_RULES, FREQUENCIES, MEASURES, READINGS, SCOPES


class ConfigError(ValueError):
    """A study configuration that cannot be used; the message says where and what to do."""


def _choice(*allowed: str) -> dict:
    return {"choices": allowed}


@dataclass(frozen=True)
class StudySection:
    """The study window."""

    start: dt.date = dt.date(2024, 7, 24)
    end: dt.date | None = None
    frequency: str = field(default="weekly", metadata=_choice(*FREQUENCIES))


@dataclass(frozen=True)
class ArchiveSection:
    """Where the weekly snapshot archive lives on the Hub."""

    repo_id: str = field(default="hfmlsoc/hub_weekly_snapshots",
                         metadata={"pattern": (r"[A-Za-z0-9][\w.\-]*/[\w.\-]+", "a dataset id owner/name")})
    revision: str = field(default="main", metadata={"pattern": (r"[^\s]+", "a branch, tag or commit sha")})
    #: The thin-read rule (:mod:`analysis.catalog`), one setting for the pull and the catalog: model metadata is
    #: read from one anchor snapshot in N weeks (plus the newest and the oldest). 0 = the full pull: every column
    #: of every week, and each model's metadata from the newest snapshot holding it.
    metadata_every: int = field(default=13, metadata={"min": 0, "max": 520})


@dataclass(frozen=True)
class LiveSection:
    """Today's state of the Hub, pulled with ``HfApi.list_models``."""

    enabled: bool = True
    min_downloads: int = field(default=1, metadata={"min": 0, "max": 10**9})
    top_n: int | None = field(default=None, metadata={"min": 1, "max": 10**8})


@dataclass(frozen=True)
class PullSection:
    """Limits every request of a pull runs under (see :class:`analysis.hub.PullLimits`)."""

    connect_timeout: float = field(default=10.0, metadata={"min": 0.1, "max": 600})
    read_timeout: float = field(default=60.0, metadata={"min": 0.1, "max": 3600})
    deadline: float | None = field(default=28800.0, metadata={"min": 1, "max": 7 * 86400})
    max_retry_after: float = field(default=300.0, metadata={"min": 0, "max": 86400})


@dataclass(frozen=True)
class OriginSection:
    """How downloads are attributed to an origin."""

    rule: str = field(default="lineage", metadata=_choice(*BASE_RULES))
    merge_parent: str = field(default="first", metadata=_choice("first", "last", "none"))
    contested: str = field(default="primary", metadata=_choice(*READINGS))


@dataclass(frozen=True)
class PanelSection:
    """The headline series."""

    measure: str = field(default="downloads_30d", metadata=_choice(*MEASURES))
    scope: str = field(default="all", metadata=_choice(*SCOPES))


@dataclass(frozen=True)
class TrendsSection:
    """Trend tests."""

    mk_method: str = field(default="hamed_rao", metadata=_choice("original", "hamed_rao", "yue_wang"))
    mk_lag: int = field(default=3, metadata={"min": 1, "max": 52})
    hac_lags: int | None = field(default=None, metadata={"min": 0, "max": 104})
    inference: str = field(default="fixed_b", metadata=_choice("fixed_b", "nw"))
    bandwidth: float = field(default=0.5, metadata={"min": 0.02, "max": 1.0})
    fixed_b_null: str = field(default="lrv", metadata=_choice("lrv", "ar1", "iid"))
    break_reps: int = field(default=999, metadata={"min": 99, "max": 100_000})


@dataclass(frozen=True)
class CrossoverSection:
    """Crossover estimation."""

    k: int = field(default=3, metadata={"min": 1, "max": 52})
    alpha: float = field(default=0.05, metadata={"min": 0.001, "max": 0.5})
    bootstrap_reps: int = field(default=2000, metadata={"min": 50, "max": 100_000})
    block_length: int | None = field(default=None, metadata={"min": 1, "max": 104})
    bootstrap_method: str = field(default="studentized", metadata=_choice("studentized", "percentile"))
    seed: int = field(default=0, metadata={"min": 0, "max": 2**32 - 1})
    local_bandwidth: float | None = field(default=None, metadata={"min": 1.5, "max": 1000})
    local_reps: int = field(default=2000, metadata={"min": 200, "max": 100_000})
    start_offsets: tuple[int, ...] = field(default=(0, 3, 6, 12), metadata={"min": 0, "max": 60, "non_empty": True})


@dataclass(frozen=True)
class FactorsSection:
    """Adoption factors by origin (notebook 06): licence, language, size, derivative ecosystem."""

    frequency: str = field(default="monthly", metadata=_choice("weekly", "monthly"))
    size_bins: tuple[float, ...] = field(default=(1.0, 10.0, 100.0), metadata={"min": 0.001, "increasing": True})
    resample: str = field(default="family", metadata=_choice("family", "model"))
    bootstrap_reps: int = field(default=999, metadata={"min": 99})
    seed: int = field(default=0, metadata={"min": 0})
    split_date: dt.date | None = None


@dataclass(frozen=True)
class FiguresSection:
    """Figure output."""

    formats: tuple[str, ...] = field(default=("pdf", "svg", "png"),
                                     metadata={**_choice("pdf", "svg", "png"), "non_empty": True, "unique": True})
    dpi: int = field(default=300, metadata={"min": 50, "max": 1200})


@dataclass(frozen=True)
class DemoSection:
    """The simulated Hub of the offline demo."""

    models: int = field(default=20000, metadata={"min": 100, "max": 5_000_000})
    weeks: int = field(default=80, metadata={"min": 10, "max": 520})
    start: dt.date = dt.date(2024, 7, 24)
    crossover: dt.date = dt.date(2025, 7, 16)
    seed: int = field(default=20240724, metadata={"min": 0, "max": 2**32 - 1})


@dataclass(frozen=True)
class StudyConfig:
    """All study parameters, validated. Build it with :func:`load_config`."""

    study: StudySection = StudySection()
    archive: ArchiveSection = ArchiveSection()
    live: LiveSection = LiveSection()
    pull: PullSection = PullSection()
    origin: OriginSection = OriginSection()
    panel: PanelSection = PanelSection()
    trends: TrendsSection = TrendsSection()
    crossover: CrossoverSection = CrossoverSection()
    factors: FactorsSection = FactorsSection()
    figures: FiguresSection = FiguresSection()
    demo: DemoSection = DemoSection()
    source: str = "<defaults>"

    def notebook_parameters(self) -> dict[str, Any]:
        """Flatten to ``{"<section>_<key>": value}`` with JSON-friendly values (dates as ISO strings)."""
        out: dict[str, Any] = {}
        for sec in _SECTIONS:
            for f in dataclasses.fields(type(getattr(self, sec))):
                v = getattr(getattr(self, sec), f.name)
                if isinstance(v, dt.date):
                    v = v.isoformat()
                elif isinstance(v, tuple):
                    v = list(v)
                out[f"{sec}_{f.name}"] = v
        return out

    def digest(self) -> str:
        """A short SHA-256 of the parameters, recorded beside every output."""
        blob = json.dumps(self.notebook_parameters(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that leaves dates as text, so that a bad date is reported with its key."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_SECTIONS = [f.name for f in dataclasses.fields(StudyConfig) if f.name != "source"]


def _type_name(tp: Any) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
             dt.date: "a date YYYY-MM-DD", type(None): "null"}
    args = typing.get_args(tp)
    if args and typing.get_origin(tp) is not tuple:
        return " or ".join(_type_name(a) for a in args)
    if typing.get_origin(tp) is tuple:
        return "a list"
    return names.get(tp, str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a YAML value to the declared type or raise ConfigError."""
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(_coerce(v, args[0], where) for v in value)
    if args:  # Optional[...] / unions
        if value is None or (isinstance(value, str) and value.strip().lower() in ("null", "none", "")):
            if type(None) in args:
                return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except ConfigError as e:
                errors.append(str(e))
        if len(errors) == 1 and "finite" in errors[0]:
            raise ConfigError(errors[0])
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        out = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out = float(value)
        elif isinstance(value, str):
            try:
                out = float(value)
            except ValueError:
                pass
        if out is None:
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(out):
            raise ConfigError(f"{where}: {value!r} is not a finite number; give a number (NaN and infinities are "
                              "refused)")
        return out
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    if tp is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a date YYYY-MM-DD, got {value!r}")
    raise ConfigError(f"{where}: unsupported type {tp}")  # pragma: no cover


def _check_bounds(value: Any, f: dataclasses.Field, where: str) -> None:
    meta = f.metadata
    vals = value if isinstance(value, tuple) else (value,)
    if isinstance(value, tuple):
        if meta.get("non_empty") and not value:
            allowed = f"; choose from {', '.join(meta['choices'])}" if "choices" in meta else ""
            raise ConfigError(f"{where}: the list is empty; give at least one value{allowed}")
        if meta.get("unique") and len(set(value)) != len(value):
            raise ConfigError(f"{where}: {list(value)} repeats a value; give each value once")
    for v in vals:
        if v is None:
            continue
        if "pattern" in meta and isinstance(v, str):
            rx, what = meta["pattern"]
            if not re.fullmatch(rx, v):
                raise ConfigError(f"{where}: {v!r} is not {what}")
        if "choices" in meta and v not in meta["choices"]:
            raise ConfigError(f"{where}: {v!r} is not allowed; choose one of {', '.join(meta['choices'])}")
        if "min" in meta and v < meta["min"]:
            raise ConfigError(f"{where}: {v!r} is below the minimum {meta['min']}")
        if "max" in meta and v > meta["max"]:
            raise ConfigError(f"{where}: {v!r} is above the maximum {meta['max']}")
    if meta.get("increasing") and isinstance(value, tuple):
        if not value or any(b <= a for a, b in zip(value, value[1:])):
            raise ConfigError(f"{where}: {list(value)!r} must be a non-empty list in strictly increasing order")


def _build_section(cls: type, data: Any, where: str, overridden: frozenset = frozenset()) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(fields)}")
    kwargs = {}
    for name, value in data.items():
        key_where = f"{where}.{name}" + (" (set by an override, e.g. --set)" if name in overridden else "")
        v = _coerce(value, hints[name], key_where)
        _check_bounds(v, fields[name], key_where)
        kwargs[name] = v
    return cls(**kwargs)


def cli_date(value: str) -> dt.date:
    """``argparse`` type for a date given on the command line as YYYY-MM-DD."""
    import argparse

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def parse_overrides(items: list[str] | None) -> dict[str, str]:
    """Parse ``["section.key=value", ...]`` into a dict; raises ConfigError on a malformed item."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. crossover.k=6")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> StudyConfig:
    """Load, override and validate the study configuration.

    Parameters
    ----------
    path : str or Path, optional
        The YAML file; default ``config/study.yaml`` of the project (see :mod:`analysis.paths`).
    overrides : mapping, optional
        ``{"section.key": value}`` applied on top of the file (values may be strings, as from ``--set``).

    Returns
    -------
    StudyConfig

    Raises
    ------
    ConfigError
        The file is missing or not YAML, a key is unknown, a value has the wrong type or is out of range,
        or the study window is empty. The message names the file and the key.
    """
    from .paths import Paths

    path = Path(path) if path is not None else Paths.default().config_file
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; pass --config FILE or restore config/study.yaml")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e}); fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected sections ({', '.join(_SECTIONS)}) at the top level")
    data = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    for key, value in (overrides or {}).items():
        sec, _, name = key.partition(".")
        if sec not in _SECTIONS or not name:
            raise ConfigError(f"{path}: override {key!r}: unknown section {sec!r}; allowed sections are "
                              f"{', '.join(_SECTIONS)}")
        if data.get(sec) is None:
            data[sec] = {}
        data[sec][name] = value
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown section {unknown[0]!r}; allowed sections are {', '.join(_SECTIONS)}")
    hints = typing.get_type_hints(StudyConfig)
    overridden = {s: frozenset(k.partition(".")[2] for k in (overrides or {}) if k.partition(".")[0] == s)
                  for s in _SECTIONS}
    sections = {s: _build_section(hints[s], data.get(s), f"{path}: {s}", overridden[s]) for s in _SECTIONS}
    cfg = StudyConfig(**sections, source=str(path))
    st = cfg.study
    if st.end is not None and st.start > st.end:
        raise ConfigError(f"{path}: study.start ({st.start}) is after study.end ({st.end}); "
                          "the window must run forwards")
    return cfg


def check_window(cfg: StudyConfig, path: str | Path = "<config>", *, simulated: bool = False,
                 today: dt.date | None = None) -> None:
    """Refuse a study window too short for the statistics (:func:`analysis.timegrid.check_window`).

    The real study's window ends at ``study.end`` or, when it is null, today; the demo's is the part of the study
    window the simulated Hub covers (``demo.start`` and ``demo.weeks`` weekly snapshots).

    Raises
    ------
    ConfigError
        Naming the file, the window and the minimum number of periods.
    """
    from .timegrid import GridError, check_window as _check

    st = cfg.study
    if simulated:
        d = cfg.demo
        start = max(st.start, d.start)
        end = d.start + dt.timedelta(weeks=d.weeks - 1)
        if st.end is not None:
            end = min(end, st.end)
        where = (f"the demo's window (study.start {st.start}, study.end {st.end or 'null'}, demo.start {d.start}, "
                 f"demo.weeks {d.weeks}):")
    else:
        start, end = st.start, st.end or (today or dt.date.today())
        where = "the study window (study.start .. study.end, or today when study.end is null):"
    try:
        _check(start, end, st.frequency, where=where)
    except GridError as e:
        raise ConfigError(f"{path}: {e}") from None
