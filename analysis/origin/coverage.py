"""How much of the downloads the registry attributes, and what to add to it next.

``tagging_coverage(tags, downloads)`` weighs the output of
:func:`analysis.origin.tagging.tag_models` by downloads (e.g. the latest snapshot's 30-day
count) and reports, under each rule, the share of downloads per region, the share that is
tagged (CN, US, EU or OTHER), the share decided by each kind of registry decision
(``decision_share``: a country, a country with a recorded alternative, a reasoned non-country
kind, or nothing), the accounts that hold the most untagged downloads, the lineage data problems
(cycles, self references, dangling parents), a loud flag when no model has a parent at all
(``lineage_absent``: the lineage rule then equals the uploader rule), the models whose
``author`` field disagrees with their id's namespace, and the overrides applied.

``decision_coverage(tags, downloads)`` gives the decision shares of one downloads vector, so that
it can be computed for every snapshot.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from analysis.origin.registry import DECISIONS, REGISTRY_REGIONS
from analysis.schema import REGIONS

#: Labels that count as "not tagged" (the registry could not name a country).
UNTAGGED: tuple[str, ...] = ("UNAFFILIATED", "UNKNOWN")

#: Tag columns holding the registry decision for the account each rule reads.
DECISION_COLUMNS: dict[str, str] = {"uploader": "uploader_decision", "lineage": "root_decision"}


def lineage_absent_warning(n_models: int, n_with_parent: int) -> str:
    """The plain-words warning of :attr:`CoverageReport.lineage_warning` ('' when lineage is present)."""
    if n_with_parent > 0:
        return ""
    return (f"LINEAGE ABSENT: none of the {n_models} models in the tag table names a parent model, so every "
            "model is its own lineage root and the lineage rule gives exactly the uploader rule's answer. "
            "Results 'under the lineage rule' then say nothing new. Check that the input carries the "
            "baseModels column or base_model: tags (a pull without them loses all lineage).")


@dataclass(frozen=True)
class CoverageReport:
    """Coverage of the origin tagging, weighted by downloads.

    Attributes
    ----------
    n_models : int
        Models in the tag table.
    n_models_with_downloads : int
        Of those, models with a positive download count.
    total_downloads : float
        Sum of the downloads over tagged models.
    n_download_ids_not_tagged : int
        Ids in ``downloads`` that are absent from the tag table (their downloads are left out).
    region_share : dict
        ``{rule: {label: share of total downloads}}`` for the rules ``uploader`` and ``lineage``
        (labels ``REGIONS``) and the ``first_party`` scope (labels ``CN, US, EU, OTHER`` plus
        ``EXCLUDED``, the downloads of models that are not first-party).
    tagged_share : dict
        ``{rule: share of downloads in CN, US, EU or OTHER}``.
    top_untagged_accounts : list of dict
        Under the lineage rule, the accounts (``root_author``, the owner of the lineage root) with
        the most untagged downloads: ``account, downloads, share, n_models, label, registered,
        kind, uploader_kind``. ``registered`` is True for an account already in the registry
        (an individual, community, redistributor or test account, ``UNAFFILIATED`` by design, or
        an organisation whose country is still to be found, ``UNKNOWN``; ``kind`` says which) and
        False for an account not in it (``kind`` ``unregistered``); the unregistered ones and the
        organisations awaiting a country are the accounts to research next. ``uploader_kind`` lists the registry kinds of the
        accounts that uploaded those models.
    top_untagged_uploaders : list of dict
        The same under the uploader rule, grouped by uploading account (there ``kind`` and
        ``uploader_kind`` are the same).
    lineage : dict
        Counts: ``n_cycle_models`` (models on cycles of two or more models; self references are
        not included, as in :class:`~analysis.origin.lineage.LineageResult`), ``n_self_references``,
        ``n_dangling``, ``n_root_dangling``, ``n_case_matched`` (parent ids that matched a model
        id only case-insensitively) and ``n_cycles`` (when the tags carry the lineage counts),
        plus the share of downloads whose lineage ends at a dangling parent.
    author_namespace : dict
        ``n_author_mismatch``: models whose raw ``author`` field names another account than their
        id's namespace (the namespace is used as the uploader), and their download share.
    overrides : dict
        ``n_models_overridden`` (own override), ``n_models_via_root`` (override on their lineage
        root), and their download shares.
    relation_counts, parent_source_counts : dict
        Models per relation and per parent source.
    merge_parent : str or None
        The merge rule the tags were made with (from ``tags.attrs``), if known.
    decision_share : dict
        ``{rule: {decision: share of total downloads}}`` for the rules ``uploader`` (the
        uploading account) and ``lineage`` (the account of the lineage root), decisions
        ``country`` (registered organisation with a country), ``alternative`` (the same, with a
        recorded alternative reading: a contested origin), ``non_country_kind`` (registered
        individual, community, redistributor or test account) and ``unknown`` (not registered,
        or no account). Each rule's shares sum to 1 (0 for no downloads). See
        :func:`decision_coverage`.
    share_models_with_parent : float
        Share of the models in the tag table that name a parent (``n_parents > 0``).
    share_downloads_with_parent : float
        The same weighted by downloads.
    lineage_absent : bool
        True when no model names a parent (``share_models_with_parent == 0``): the lineage rule
        then equals the uploader rule, which the study must not present as a second answer.
    lineage_warning : str
        A plain-words warning when ``lineage_absent``; empty otherwise.
    contested : str or None
        The reading of contested origins the tags were made with (from ``tags.attrs``), if known.
    """

    n_models: int
    n_models_with_downloads: int
    total_downloads: float
    n_download_ids_not_tagged: int
    region_share: dict
    tagged_share: dict
    top_untagged_accounts: list
    top_untagged_uploaders: list
    lineage: dict
    author_namespace: dict
    overrides: dict
    relation_counts: dict
    parent_source_counts: dict
    merge_parent: str | None = None
    decision_share: dict = field(default_factory=dict)
    share_models_with_parent: float = 0.0
    share_downloads_with_parent: float = 0.0
    lineage_absent: bool = False
    lineage_warning: str = ""
    contested: str | None = None

    @property
    def share_by_rule(self) -> dict:
        """``region_share`` (rule -> label -> share), e.g. for ``pandas.DataFrame(report.share_by_rule).T``."""
        return self.region_share

    def to_dict(self) -> dict:
        """The report as JSON-ready plain types."""
        return asdict(self)

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write the report as JSON (sorted keys, atomic replace) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path


def _downloads_series(downloads) -> pd.Series:
    if isinstance(downloads, pd.Series):
        s = downloads
    elif isinstance(downloads, pd.DataFrame):
        if "id" in downloads.columns and "downloads" in downloads.columns:
            s = downloads.set_index("id")["downloads"]
        elif "downloads" in downloads.columns:
            s = downloads["downloads"]
        else:
            raise KeyError(
                f"tagging_coverage: downloads has columns {list(downloads.columns)}; expected 'id' and 'downloads' "
                "(or a Series of downloads indexed by model id)."
            )
    else:
        raise TypeError("tagging_coverage: downloads must be a DataFrame (id, downloads) or a Series indexed by id.")
    if s.index.has_duplicates:
        dup = s.index[s.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"tagging_coverage: downloads repeats model id(s) {dup}; pass one row per id (one snapshot).")
    s = pd.to_numeric(s, errors="coerce").astype(float)
    if (s < 0).any():
        raise ValueError("tagging_coverage: downloads has negative values; pass raw download counts.")
    return s.fillna(0.0)


def _shares(weights: pd.Series, labels: pd.Series, order: tuple[str, ...], total: float) -> dict:
    sums = weights.groupby(labels.to_numpy()).sum()
    return {lab: (float(sums.get(lab, 0.0)) / total if total > 0 else 0.0) for lab in order}


def _top(frame: pd.DataFrame, label_col: str, account_col: str, kind_col: str, total: float, top_n: int) -> list:
    untagged = frame[frame[label_col].isin(UNTAGGED) & (frame["w"] > 0)]
    if untagged.empty:
        return []
    acc = untagged[account_col].astype(object).fillna("<no account>")
    grouped = untagged.groupby(acc.to_numpy()).agg(
        downloads=("w", "sum"),
        n_models=("w", "size"),
        label=(label_col, lambda s: "/".join(sorted(set(s)))),
        kind=(kind_col, lambda s: "/".join(sorted(set(s.dropna().astype(str))))),
        uploader_kind=("uploader_kind", lambda s: "/".join(sorted(set(s.dropna().astype(str))))),
    )
    grouped = grouped.sort_values(["downloads"], ascending=False, kind="mergesort").head(top_n)
    return [
        {
            "account": str(name),
            "downloads": float(row.downloads),
            "share": float(row.downloads / total) if total > 0 else 0.0,
            "n_models": int(row.n_models),
            "label": row.label,
            "registered": bool(row.kind not in ("", "unregistered")),
            "kind": row.kind or ("no account" if name == "<no account>" else "unregistered"),
            "uploader_kind": row.uploader_kind,
        }
        for name, row in grouped.iterrows()
    ]


def decision_coverage(tags: pd.DataFrame, downloads) -> dict:
    """Share of one downloads vector decided by each kind of registry decision.

    Parameters
    ----------
    tags : pandas.DataFrame
        Output of :func:`analysis.origin.tagging.tag_models` (columns ``id``,
        ``uploader_decision`` and ``root_decision``).
    downloads : pandas.DataFrame or pandas.Series
        One snapshot: columns ``id, downloads``, or a Series indexed by id. Models absent from it
        count 0; ids absent from ``tags`` are left out (as in :func:`tagging_coverage`).

    Returns
    -------
    dict
        ``{"uploader": {...}, "lineage": {...}}``, each ``{decision: share}`` over
        :data:`~analysis.origin.registry.DECISIONS` (``country``, ``alternative``,
        ``non_country_kind``, ``unknown``), summing to 1 (all 0 when there are no downloads).
        Under ``uploader`` the account is the uploader; under ``lineage`` it is the account of the
        lineage root. ``country`` + ``alternative`` is the share the registry gives a country;
        ``non_country_kind`` is the share it leaves unaffiliated on purpose, with a reason;
        ``unknown`` is the share it says nothing about.

    Raises
    ------
    KeyError
        ``tags`` lacks a decision column (tags made before decisions were recorded).
    """
    missing = [c for c in ("id", *DECISION_COLUMNS.values()) if c not in tags.columns]
    if missing:
        raise KeyError(f"decision_coverage: tags lacks column(s) {missing}; pass the output of tag_models.")
    dl = _downloads_series(downloads)
    w = tags["id"].map(dl).astype(float).fillna(0.0)
    total = float(w.sum())
    return {rule: _shares(w, tags[col].astype(object).fillna("unknown"), DECISIONS, total)
            for rule, col in DECISION_COLUMNS.items()}


def tagging_coverage(tags: pd.DataFrame, downloads, *, top_n: int = 50) -> CoverageReport:
    """Download-weighted coverage of the origin tags.

    Parameters
    ----------
    tags : pandas.DataFrame
        Output of :func:`analysis.origin.tagging.tag_models`.
    downloads : pandas.DataFrame or pandas.Series
        Columns ``id, downloads`` (e.g. the latest snapshot), or a Series indexed by id. Models
        absent from it count with 0 downloads.
    top_n : int, default 50
        How many untagged accounts to list.

    Returns
    -------
    CoverageReport

    Warns
    -----
    UserWarning
        When no model names a parent (``CoverageReport.lineage_absent``), with the same text as
        ``CoverageReport.lineage_warning``.
    """
    needed = {"id", "author", "author_mismatch", "root_author", "uploader_region", "lineage_region",
              "first_party", "uploader_kind", "root_kind", "cycle", "self_reference", "dangling",
              "root_dangling", "override_source", "relation", "parent_source", "n_parents",
              "uploader_decision", "root_decision"}
    missing = sorted(needed - set(tags.columns))
    if missing:
        raise KeyError(f"tagging_coverage: tags lacks column(s) {missing}; pass the output of tag_models.")
    dl = _downloads_series(downloads)
    w = tags["id"].map(dl).astype(float).fillna(0.0)
    frame = tags.assign(w=w.to_numpy())
    total = float(w.sum())
    not_tagged = int((~dl.index.isin(tags["id"])).sum())

    region_share = {
        "uploader": _shares(frame["w"], frame["uploader_region"], REGIONS, total),
        "lineage": _shares(frame["w"], frame["lineage_region"], REGIONS, total),
    }
    fp_label = frame["uploader_region"].where(frame["first_party"], "EXCLUDED")
    region_share["first_party"] = _shares(frame["w"], fp_label, REGISTRY_REGIONS + ("EXCLUDED",), total)
    tagged_share = {rule: float(sum(v for k, v in shares.items() if k in REGISTRY_REGIONS))
                    for rule, shares in region_share.items()}

    def share_of(mask: pd.Series) -> float:
        return float(frame.loc[mask.to_numpy(dtype=bool), "w"].sum()) / total if total > 0 else 0.0

    # ``cycle`` is also set on self references; n_cycle_models counts cycles of >= 2 models only,
    # with the same meaning as LineageResult.n_cycle_models.
    on_cycle = frame["cycle"].astype(bool) & ~frame["self_reference"].astype(bool)
    lineage = {
        "n_cycle_models": int(on_cycle.sum()),
        "n_self_references": int(frame["self_reference"].sum()),
        "n_dangling": int(frame["dangling"].sum()),
        "n_root_dangling": int(frame["root_dangling"].sum()),
        "share_downloads_root_dangling": share_of(frame["root_dangling"]),
    }
    lineage.update({k: int(v) for k, v in tags.attrs.get("lineage", {}).items()
                    if k in ("n_cycles", "n_case_matched")})
    mismatch = frame["author_mismatch"].astype(bool)
    author_namespace = {
        "n_author_mismatch": int(mismatch.sum()),
        "share_downloads_author_mismatch": share_of(mismatch),
    }
    src = frame["override_source"]
    overrides = {
        "n_models_overridden": int((src == "model").sum()),
        "n_models_via_root": int((src == "lineage_root").sum()),
        "share_downloads_overridden": share_of(src == "model"),
        "share_downloads_via_root": share_of(src == "lineage_root"),
    }
    has_parent = pd.to_numeric(frame["n_parents"], errors="coerce").fillna(0).to_numpy() > 0
    n_with_parent = int(has_parent.sum())
    warning = lineage_absent_warning(len(frame), n_with_parent)
    if warning:
        warnings.warn(warning, UserWarning, stacklevel=2)
    relation_counts = {str(k): int(v) for k, v in frame["relation"].value_counts().sort_index().items()}
    parent_source_counts = {str(k): int(v) for k, v in
                            frame["parent_source"].astype(object).fillna("none").value_counts().sort_index().items()}
    return CoverageReport(
        n_models=int(len(tags)),
        n_models_with_downloads=int((w > 0).sum()),
        total_downloads=total,
        n_download_ids_not_tagged=not_tagged,
        region_share=region_share,
        tagged_share=tagged_share,
        top_untagged_accounts=_top(frame, "lineage_region", "root_author", "root_kind", total, top_n),
        top_untagged_uploaders=_top(frame, "uploader_region", "author", "uploader_kind", total, top_n),
        lineage=lineage,
        author_namespace=author_namespace,
        overrides=overrides,
        relation_counts=relation_counts,
        parent_source_counts=parent_source_counts,
        merge_parent=tags.attrs.get("merge_parent"),
        decision_share=decision_coverage(tags, dl),
        share_models_with_parent=n_with_parent / len(frame) if len(frame) else 0.0,
        share_downloads_with_parent=share_of(pd.Series(has_parent)),
        lineage_absent=n_with_parent == 0,
        lineage_warning=warning,
        contested=tags.attrs.get("contested"),
    )


__all__ = ["CoverageReport", "DECISION_COLUMNS", "decision_coverage", "lineage_absent_warning",
           "tagging_coverage", "UNTAGGED"]


def decision_coverage_by_snapshot(tags: pd.DataFrame, snapshots) -> pd.DataFrame:
    """:func:`decision_coverage` of every snapshot: how much of each date's downloads each kind of decision holds.

    Parameters
    ----------
    tags : pandas.DataFrame
        Output of :func:`analysis.origin.tagging.tag_models`.
    snapshots : iterable of (date, path)
        Raw snapshot files; only their ``id`` and ``downloads`` columns are read, and the study's rule for
        implausible rows applies (:func:`analysis.quality.clean_snapshot`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`analysis.contracts.DECISION_COVERAGE_COLUMNS`: one row per date x rule x decision, with the
        share of that date's 30-day downloads and the downloads themselves.
    """
    import pyarrow.parquet as pq

    from analysis.contracts import DECISION_COVERAGE_COLUMNS
    from analysis.quality import clean_snapshot

    rows = []
    for date, path in snapshots:
        snap = clean_snapshot(pq.read_table(path, columns=["id", "downloads"])).table.to_pandas()
        total = float(pd.to_numeric(snap["downloads"], errors="coerce").fillna(0).sum())
        for rule, shares in decision_coverage(tags, snap).items():
            for decision, share in shares.items():
                rows.append({"date": pd.Timestamp(date), "rule": rule, "decision": decision, "share": share,
                             "downloads": share * total})
    return pd.DataFrame(rows, columns=list(DECISION_COVERAGE_COLUMNS))


def registry_candidates(report: CoverageReport) -> pd.DataFrame:
    """The accounts to research and add to the registry next, ranked by the downloads they hold without a country.

    Both lists of the report, under the lineage rule (the account of the lineage root) and under the uploader
    rule, with the registry's kind: unregistered accounts are the candidates; registered individuals, communities,
    redistributors and test accounts are listed for completeness (they are without a country on purpose).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`analysis.contracts.CANDIDATE_COLUMNS`.
    """
    from analysis.contracts import CANDIDATE_COLUMNS

    rows = [{"rule": rule, "rank": i, **{k: r.get(k) for k in ("account", "downloads", "share", "n_models", "kind",
                                                                 "registered")}}
            for rule, lst in (("lineage", report.top_untagged_accounts), ("uploader", report.top_untagged_uploaders))
            for i, r in enumerate(lst, start=1)]
    return pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
