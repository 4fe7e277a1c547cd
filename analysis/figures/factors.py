"""The adoption-factor figures (9 to 13) and their quotable numbers, each figure declared in one place.

Notebook 06 writes ``factors.parquet`` (series by origin) and ``factors.json`` (split, rules, CN minus US
differences with intervals); these figures draw them. Each figure's :class:`~analysis.figures.registry.FigureSpec` holds, together, how its table is
built from those files (``table``), its caption (``caption``) and its drawing (``plot``), so that the figure's CSV
is exactly what is drawn and the caption says what the table holds:

9. licence classes, 10. declared languages, 11. size bins: download-weighted shares by origin over time, one facet
   per class (seaborn's ``FacetGrid``), the origins in the study's fixed styles, the split date as a dashed line;
12. the derivative ecosystem by base-model origin (new derivatives and builder accounts per month, derivatives per
    base model, downloads of derivatives), one facet per measure with its own scale;
13. the CN minus US difference of every measure before and after the split with its bootstrap interval.

:func:`factor_values` gives the numbers of ``factors.json`` as :class:`~analysis.figures.values.Value` rows for
``values.json`` / ``values.tex``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Mapping

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .. import timegrid
from ..contracts import FACTOR_COLUMNS
from ..schema import REGIONS
from .data import FigureInputError, frame as _frame, level_text, read_json, read_table, series_row as _row
from .style import CROSSOVER_COLOR, TWO_COLUMN, mark_simulated, origin_style
from .registry import FigureSpec, register
from .values import Value

#: Producer named in the error messages when an input is missing.
PRODUCER = "notebook 06 (factors)"
#: Columns of the CSV of figure 12 (one row per measure and period).
DIFFERENCE_COLUMNS = ["row", "factor", "level", "label", "period", "start", "end", "cn", "us", "difference", "lower",
                      "upper", "scale", "unit", "confidence", "changed", "note"]
#: Headings of the factors.
FACTOR_TITLES = {"licence": "Licence", "language": "Language", "size": "Size (share of known-size downloads)",
                 "derivative": "Derivatives", "ecosystem": "Derivative ecosystem"}
SPLIT_LABEL = "Split (crossover)"
_PLURAL = {"family": "families (a base model with its derivatives)", "model": "models"}
#: Short facet and row labels (the captions and ``factors.json`` give the full definitions).
SHORT_LABELS: dict[str, dict[str, str]] = {
    "licence": {"permissive": "Permissive", "restricted": "Restricted open weights", "non_commercial": "Non-commercial",
                "other_unknown": "Other, custom or none"},
    "language": {"zh": "Chinese (zh)", "other": "Other than en and zh", "en": "English (en)", "none": "No language"},
    "size": {"unknown": "Unknown size"},
    "derivative": {"share": "Downloads to derivatives"},
    "ecosystem": {"new_derivatives": "New derivatives per month", "builder_accounts": "Builder accounts per month",
                  "derivatives_per_base": "Derivatives per base model",
                  "derivative_downloads": "Derivative downloads (30 days)"},
}


# --------------------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------------------
def _series(inputs) -> pd.DataFrame:
    path = inputs.paths.locate("factors")
    return inputs._get("factors", lambda: read_table(path, PRODUCER, list(FACTOR_COLUMNS)))


def _summary(inputs) -> dict:
    path = inputs.paths.locate("factors_summary")
    doc = inputs._get("factors_summary", lambda: read_json(path, PRODUCER))
    missing = [k for k in ("definition", "split", "classes", "differences", "changes") if k not in doc]
    if missing:
        raise FigureInputError(f"{path}: lacks {', '.join(missing)}; rerun {PRODUCER}")
    return doc


def _labels(summary: Mapping, factor: str) -> dict[str, str]:
    """Short labels of a factor's levels (size bins: "1-10B" from the edges of ``factors.json``)."""
    c = summary["classes"]
    sizes = {k: v[:1].upper() + v[1:] for k, v in c.get("size_labels", {}).items()}
    return {**({"size": sizes}.get(factor, {})), **SHORT_LABELS.get(factor, {})}


def _levels(summary: Mapping, factor: str) -> list[str]:
    c = summary["classes"]
    if factor == "licence":
        return list(c["licence"])
    if factor == "language":
        return list(c["language_levels"])
    if factor == "size":
        return list(c["size_levels"]) + ["unknown"]
    if factor == "ecosystem":
        return list(c["ecosystem_levels"])
    return ["share"]


def _split_date(summary: Mapping) -> pd.Timestamp | None:
    d = (summary.get("split") or {}).get("date")
    return pd.Timestamp(d) if d else None


def _facet_table(inputs, factor: str) -> pd.DataFrame:
    """Rows of one factor, facets labelled, on the full period grid (a period without a snapshot: an empty value)."""
    series, summary = _series(inputs), _summary(inputs)
    labels = _labels(summary, factor)
    sel = series[series["factor"] == factor].copy()
    sel["date"] = pd.to_datetime(sel["date"])
    freq = "monthly" if factor == "ecosystem" else (summary["definition"].get("frequency") or "monthly")
    snaps = [pd.Timestamp(d).date() for d in summary["definition"].get("snapshots", [])]
    gaps = [pd.Timestamp(g) for g in timegrid.missing_periods(snaps, freq)] if factor != "ecosystem" else []
    rows = []
    element = "count" if factor == "ecosystem" else "share"
    for lv in _levels(summary, factor):
        part = sel[sel["level"] == lv]
        for region in REGIONS:
            r = part[part["region"] == region]
            if r.empty:
                continue
            for _, x in r.iterrows():
                rows.append(_row(element, labels.get(lv, lv), region, x["date"], value=x["value"], n=x["n_models"]))
            for g in gaps:  # an empty row breaks the line
                rows.append(_row(element, labels.get(lv, lv), region, g, note="no snapshot for this period"))
    split = _split_date(summary)
    if split is not None:
        rows.append(_row("split", "", "", split, note=summary["split"].get("basis", "")))
    out = _frame(rows)
    panel_order = {labels.get(lv, lv): i for i, lv in enumerate(_levels(summary, factor))}
    region_order = {r: i for i, r in enumerate(REGIONS)}
    key = out["panel"].map(panel_order).fillna(-1) * 100 + out["group"].map(region_order).fillna(-1)
    return out.assign(_k=key).sort_values(["_k", "date"], kind="stable").drop(columns="_k").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------
# drawing
# --------------------------------------------------------------------------------------------------------------
def _facet_lines(data: pd.DataFrame, **_: Any) -> None:
    """Draw each origin of one facet in its fixed style (NaN values break the line)."""
    ax = plt.gca()
    for region in REGIONS:
        r = data[data["group"] == region].sort_values("date")
        if not r.empty:
            ax.plot(r["date"], r["value"], **origin_style(region).line_kwargs(len(r)))


def _facets(table: pd.DataFrame, *, simulated: bool, col_wrap: int, height: float, share: bool,
            sharey: bool = True):
    """A seaborn FacetGrid of the table's series, one facet per panel, origins in their styles, the split marked."""
    data = table[table["element"].isin(["share", "count"])]
    order = list(dict.fromkeys(data["panel"]))
    ncol = min(col_wrap, len(order), 2 if len(order) <= 4 else 3)
    with warnings.catch_warnings():  # FacetGrid lays itself out once (tight); the study's layout engine follows
        warnings.simplefilter("ignore", UserWarning)
        g = sns.FacetGrid(data, col="panel", col_order=order, col_wrap=ncol, height=height,
                          aspect=(TWO_COLUMN - 1.4) / ncol / height, sharey=sharey, sharex=True, despine=False)
        g.map_dataframe(_facet_lines)
    fig = g.figure
    fig.set_layout_engine("constrained")
    split = table[table["element"] == "split"]
    for i, ax in enumerate(g.axes.flat):
        for _, s in split.iterrows():
            ax.axvline(s["date"], color=CROSSOVER_COLOR, ls="--", lw=0.8, gid="factor-split")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0) if share else FuncFormatter(_compact))
        if share and sharey:
            ax.set_ylim(0, 1)
        loc = mdates.AutoDateLocator(minticks=3, maxticks=5)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))
        ax.tick_params(axis="x", labelbottom=True)
        ax.set_title(f"{'abcdefgh'[i]}  {order[i]}" if i < len(order) else "", loc="left", fontsize=7)
        ax.set_xlabel("")
        ax.set_ylabel("Share of downloads" if share and i % ncol == 0 else "")
    regions = [r for r in REGIONS if r in set(data["group"])]
    handles = [Line2D([], [], **origin_style(r).line_kwargs(1)) for r in regions]
    if not split.empty:
        handles.append(Line2D([], [], color=CROSSOVER_COLOR, ls="--", lw=0.8,
                              label=f"{SPLIT_LABEL}\n{split['date'].iloc[0]:%Y-%m-%d}"))
    fig.legend(handles=handles, loc="outside right center", title="Origin")
    if simulated:
        mark_simulated(fig)
    return fig


def _compact(x: float, _pos=None) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:g}{suffix}"
    return f"{x:g}"


def plot_share_facets(table: pd.DataFrame, *, definition_label: str = "", simulated: bool = False):
    """Figures 8 to 10: download-weighted shares by origin over time, one facet per class."""
    return _facets(table, simulated=simulated, col_wrap=3, height=1.5, share=True)


def plot_ecosystem(table: pd.DataFrame, *, definition_label: str = "", simulated: bool = False):
    """Figure 11: the derivative ecosystem by base-model origin, one facet (and scale) per measure."""
    return _facets(table, simulated=simulated, col_wrap=2, height=1.5, share=False, sharey=False)


def plot_differences(table: pd.DataFrame, *, definition_label: str = "", simulated: bool = False):
    """Figure 13: CN minus US of every measure, before (open squares, dashed) and after (filled dots) the split."""
    shares = table[table["scale"] == "share"]
    counts = table[table["scale"] == "count"]
    count_levels = list(dict.fromkeys(counts["level"]))
    n_rows = max(len(set(shares["row"])), 1)
    fig = plt.figure(figsize=(TWO_COLUMN, max(3.4, 0.2 * n_rows + 1.0)))
    gs = fig.add_gridspec(max(len(count_levels), 1), 2, width_ratios=[1.25, 1])
    ax = fig.add_subplot(gs[:, 0])
    _forest(ax, shares, scale=100.0)
    ax.set_xlabel("CN minus US (percentage points)")
    ax.set_title("a  Download-weighted shares", loc="left", fontsize=7)
    for i, lv in enumerate(count_levels):
        axc = fig.add_subplot(gs[i, 1])
        part = counts[counts["level"] == lv]
        _forest(axc, part, scale=1.0)
        axc.set_yticks([])
        axc.xaxis.set_major_formatter(FuncFormatter(_compact))
        axc.set_title(f"{'bcdefgh'[i]}  {part['label'].iloc[0]}", loc="left", fontsize=7)
    handles = [Line2D([], [], marker="s", mfc="white", color="#333333", ls=(0, (2, 1.2)), label="before the split"),
               Line2D([], [], marker="o", color="#333333", ls="-", label="after the split")]
    fig.legend(handles=handles, loc="outside lower center", ncol=2)
    if simulated:
        mark_simulated(fig)
    return fig


def _forest(ax, rows: pd.DataFrame, scale: float) -> None:
    """Markers and intervals; rows are ``row`` positions, before slightly above after."""
    labels = {}
    for _, r in rows.iterrows():
        y = r["row"] + (-0.17 if r["period"] == "before" else 0.17 if r["period"] == "after" else 0.0)
        labels[r["row"]] = r["label"] + (" *" if r["changed"] is True or r["changed"] == "True" else "")
        est, lo, hi = (scale * r[c] if pd.notna(r[c]) else np.nan for c in ("difference", "lower", "upper"))
        filled = r["period"] != "before"
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [y, y], color="#333333", lw=0.9, ls="-" if filled else (0, (2, 1.2)),
                    gid="factor-interval")
        if np.isfinite(est):
            ax.plot([est], [y], marker="o" if filled else "s", ms=3, color="#333333",
                    mfc="#333333" if filled else "white", ls="none", gid="factor-difference", zorder=3)
    ax.axvline(0, color="#999999", lw=0.6, zorder=0)
    ax.set_yticks(list(labels), [labels[k] for k in labels], fontsize=6)
    ax.set_ylim(max(labels, default=0) + 0.7, min(labels, default=0) - 0.7)
    ax.tick_params(axis="x", labelsize=6)


# --------------------------------------------------------------------------------------------------------------
# tables and captions
# --------------------------------------------------------------------------------------------------------------
def _rule_text(summary: Mapping) -> str:
    d = summary["definition"]
    return f"{d.get('rule', '?')} rule, scope {d.get('scope', '?')}"


def _split_text(summary: Mapping) -> str:
    s = summary.get("split") or {}
    if not s.get("date"):
        return "No split date: " + s.get("note", "")
    return f"Dashed line: the split, {s['date']} ({s.get('basis', '').replace('_', ' ')}). {s.get('note', '')}"


def _share_caption(what: str, extra: str = "") -> Callable:
    def caption(table: pd.DataFrame, inputs) -> str:
        summary = _summary(inputs)
        freq = summary["definition"].get("frequency") or "monthly"
        return (f"{what} by origin ({_rule_text(summary)}), weighted by 30-day downloads at each {freq} snapshot; "
                f"one panel per class, lines: origins. {extra}{_split_text(summary)} Gaps: periods without a "
                "snapshot. Associations, not causes: see notebook 06.")
    return caption


def _ecosystem_caption(table: pd.DataFrame, inputs) -> str:
    summary = _summary(inputs)
    return ("Derivatives (fine-tunes, quantizations, adapters, merges) built on base models of each origin (the "
            "origin of the lineage root, whatever the headline rule): a new derivatives created per month; b "
            "accounts publishing them per month (the base's own account excluded); c derivatives per base model "
            "(both counted by the end of each month); d 30-day downloads of derivatives at each snapshot. Months "
            "are calendar months of creation; the last one counts models created up to the latest snapshot. "
            f"{_split_text(summary)}")


def _differences_caption(table: pd.DataFrame, inputs) -> str:
    summary = _summary(inputs)
    d = summary["definition"]
    lvl = level_text(float(d.get("alpha", 0.05)))
    periods = d.get("periods") or {}
    span = "; ".join(f"{p} {v.get('first_snapshot')} to {v.get('last_snapshot')}" for p, v in periods.items()
                     if isinstance(v, Mapping))
    return (f"CN minus US for each measure ({_rule_text(summary)}) before (open markers) and after (filled) the "
            f"split, with {lvl} percentile bootstrap intervals ({d.get('bootstrap_reps')} replicates; resampling "
            f"{_PLURAL.get(d.get('resample'), d.get('resample'))} within each origin for the shares and b-d, "
            "accounts for the builder accounts). "
            f"a: shares in percentage points (size bins: of the downloads with a known size); b-e: counts in their "
            f"own units. *: the difference changed across the split (the paired interval of after minus before "
            f"excludes zero; with this many measures about one in twenty does so by chance). Periods: {span}. "
            f"{_split_text(summary)}")


def _difference_table(inputs) -> pd.DataFrame:
    summary = _summary(inputs)
    d = summary["definition"]
    lvl = level_text(float(d.get("alpha", 0.05)))
    changed = {(c["factor"], c["level"]): c.get("changed") for c in summary["changes"]}
    order = [("licence", lv) for lv in _levels(summary, "licence")] + \
        [("language", lv) for lv in _levels(summary, "language")] + \
        [("size", lv) for lv in _levels(summary, "size")] + [("derivative", "share")] + \
        [("ecosystem", lv) for lv in _levels(summary, "ecosystem")]
    pos = {k: i for i, k in enumerate(order)}
    rows = []
    for x in summary["differences"]:
        key = (x["factor"], x["level"])
        if key not in pos:
            continue
        label = _labels(summary, x["factor"]).get(x["level"], x["level"])
        if x["factor"] in ("licence", "language", "size"):
            label = f"{x['factor'].capitalize()}: {label}"
        rows.append({"row": float(pos[key]), "factor": x["factor"], "level": x["level"], "label": label,
                     "period": x["period"], "start": x["start"], "end": x["end"], "cn": _num(x["cn"]),
                     "us": _num(x["us"]), "difference": _num(x["difference"]), "lower": _num(x["lower"]),
                     "upper": _num(x["upper"]), "scale": x["scale"], "unit": x["unit"], "confidence": lvl,
                     "changed": changed.get(key), "note": "" if math.isfinite(_num(x["lower"]))
                     else "interval undefined"})
    if not rows:
        raise FigureInputError(f"{inputs.paths.locate('factors_summary')}: no differences; rerun {PRODUCER}")
    out = pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)
    out["changed"] = out["changed"].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                                        else str(bool(v)))
    return out


def _num(v: Any) -> float:
    if v is None:
        return math.nan
    if isinstance(v, str):
        return {"inf": math.inf, "-inf": -math.inf}.get(v, math.nan)
    return float(v)


def _spec(number: int, name: str, title: str, table: Callable, caption: Callable, plot: Callable) -> FigureSpec:
    """Register one factor figure (its table and caption read notebook 06's files through the figure context)."""
    return register(FigureSpec(number, name, title, table=lambda ctx: table(ctx.inputs),
                               caption=lambda ctx, tab: caption(tab, ctx.inputs), plot=plot,
                               inputs=("factors", "factors_summary")))


FACTOR_FIGURES: tuple[FigureSpec, ...] = (
    _spec(9, "licence_by_origin", "Licence of downloaded models by origin",
          lambda inputs: _facet_table(inputs, "licence"),
          _share_caption("Share of downloads going to models under each licence class, read from the repos' "
                         "licence tags",
                         "Custom licences (tag 'other', e.g. Qwen's or DeepSeek's own) are in 'other, custom "
                         "or no licence'. "),
          plot_share_facets),
    _spec(10, "language_by_origin", "Languages declared by downloaded models, by origin",
          lambda inputs: _facet_table(inputs, "language"),
          _share_caption("Share of downloads going to models declaring each language (ISO codes among their "
                         "tags; a model may declare several)"),
          plot_share_facets),
    _spec(11, "size_by_origin", "Size of downloaded models by origin",
          lambda inputs: _facet_table(inputs, "size"),
          _share_caption("Share of downloads going to models of each size (total parameters from safetensors "
                         "or GGUF; adapters and quantizations take their base model's count)",
                         "Size bins are shares of the downloads with a known size; the last panel is the "
                         "share of all downloads whose size is unknown. "),
          plot_share_facets),
    _spec(12, "derivative_ecosystem_by_origin", "Derivative ecosystem by base-model origin",
          lambda inputs: _facet_table(inputs, "ecosystem"), _ecosystem_caption, plot_ecosystem),
    _spec(13, "factor_differences_cn_us", "Chinese minus US models: every factor before and after the crossover",
          _difference_table, _differences_caption, plot_differences),
)


# --------------------------------------------------------------------------------------------------------------
# quotable numbers
# --------------------------------------------------------------------------------------------------------------
def _fmt(x: float, scale: str) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    if scale == "share":
        return f"{100 * x:.1f}%"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _fmt_diff(x: float, scale: str) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:+.1f} pp" if scale == "share" else (f"{x:+,.0f}" if abs(x) >= 100 else f"{x:+.3g}")


def factor_values(summary: Mapping) -> list[Value]:
    """The quotable numbers of ``factors.json``: the split, each measure's CN and US values and CN minus US with
    its interval per period, the change across the split, and the unparseable counts.

    Parameters
    ----------
    summary : mapping
        The content of ``factors.json``.

    Returns
    -------
    list of Value
        Keys start with ``factor_`` (e.g. ``factor_licence_permissive_after_diff``).
    """
    d = summary.get("definition") or {}
    lvl = level_text(float(d.get("alpha", 0.05)))
    split = summary.get("split") or {}
    out = [Value("factor_split_date", split.get("date"), split.get("date") or "none",
                 "Date splitting the factors into before and after the crossover"),
           Value("factor_split_basis", split.get("basis"), str(split.get("basis", "")).replace("_", " "),
                 "Why the factors are split at that date (bounded crossover, config, fallback)")]
    for x in summary.get("differences") or []:
        k = f"factor_{x['factor']}_{x['level']}_{x['period']}"
        what = f"{x['factor']} {x['level']}, {x['period']} ({x['start']} to {x['end']})"
        sc = x["scale"]
        vals = {c: _num(x[c]) for c in ("cn", "us", "difference", "lower", "upper")}
        out += [Value(f"{k}_cn", _clean(vals["cn"]), _fmt(vals["cn"], sc), f"Factors: CN value of {what}"),
                Value(f"{k}_us", _clean(vals["us"]), _fmt(vals["us"], sc), f"Factors: US value of {what}"),
                Value(f"{k}_diff", _clean(vals["difference"]), _fmt_diff(vals["difference"], sc),
                      f"Factors: CN minus US, {what}"),
                Value(f"{k}_lower", _clean(vals["lower"]), _fmt_diff(vals["lower"], sc),
                      f"Factors: lower end of the {lvl} bootstrap interval of CN minus US, {what}"),
                Value(f"{k}_upper", _clean(vals["upper"]), _fmt_diff(vals["upper"], sc),
                      f"Factors: upper end of the {lvl} bootstrap interval of CN minus US, {what}")]
    for c in summary.get("changes") or []:
        k = f"factor_{c['factor']}_{c['level']}_change"
        what = f"{c['factor']} {c['level']}"
        sc = c["scale"]
        vals = {f: _num(c[f]) for f in ("change", "lower", "upper")}
        changed = c.get("changed")
        out += [Value(k, _clean(vals["change"]), _fmt_diff(vals["change"], sc),
                      f"Factors: change of CN minus US from before to after the split, {what}"),
                Value(f"{k}_lower", _clean(vals["lower"]), _fmt_diff(vals["lower"], sc),
                      f"Factors: lower end of the {lvl} paired bootstrap interval of that change, {what}"),
                Value(f"{k}_upper", _clean(vals["upper"]), _fmt_diff(vals["upper"], sc),
                      f"Factors: upper end of the {lvl} paired bootstrap interval of that change, {what}"),
                Value(f"{k}_detected", changed, {True: "yes", False: "no"}.get(changed, "undefined"),
                      f"Factors: whether the change's interval excludes zero, {what}")]
    for key, u in (summary.get("unparseable") or {}).items():
        if not isinstance(u, Mapping) or "models" not in u:
            continue
        out += [Value(f"factor_unparseable_{key}_models", int(u["models"]), f"{int(u['models']):,}",
                      f"Factors: models with {key.replace('_', ' ')} (among those with downloads, over the snapshots "
                      "read)"),
                Value(f"factor_unparseable_{key}_download_share", _clean(_num(u["download_share"])),
                      _fmt(_num(u["download_share"]), "share"),
                      f"Factors: share of downloads of the models with {key.replace('_', ' ')}")]
    return out


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)
