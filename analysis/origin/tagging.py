"""Tag every model with its lineage and its origin under each attribution rule.

Uploader
--------
The uploading account of a model (``author`` in the output) is its id's namespace, the part
before the first ``/`` (``data/reference/README.md``: account = the part of the model id before
"/"). The raw ``author`` field is used only for an id without a namespace (legacy ids such as
``gpt2``); where the id has a namespace and the ``author`` field names another account, the
namespace wins and the model is flagged ``author_mismatch`` (counted in the coverage report).

Parent extraction (``pyarrow.compute`` on whole columns, except step 3)
-----------------------------------------------------------------------
1. ``baseModels.models[*].id`` (the Hub's declared lineage) with ``baseModels.relation``;
2. if that gives no parent: the tags ``base_model:<id>`` and ``base_model:<relation>:<id>``,
   in tag order;
3. if neither gives one, and only for inputs that carry a ``cardData`` column: the model card's
   top-level ``base_model`` (``cardData`` JSON string; a string or a list of strings) with the
   top-level ``base_model_relation`` if present. These fallback rows are parsed with
   :func:`json.loads`, one by one; a ``base_model`` nested elsewhere in the card
   (``model-index``, ``widget``, ...) and a null top-level value give no parent.

The card fallback does not run in the study's pipeline: the raw snapshot schema
(``analysis.schema.RAW_SCHEMA``) has no ``cardData`` column, because reading the cards from the
archive would cost many bytes, and the Hub computes a model's tags, the ``base_model:*`` tags
included, from the card's metadata (https://huggingface.co/docs/hub/model-cards, "How are model
tags determined?"), so step 2 already carries what a card's ``base_model`` declares. It applies
only to inputs that carry ``cardData`` (the simulated Hub's live listing, tests).

The source used is reported in ``parent_source`` (``baseModels``, ``tags``, ``cardData`` or null).
A model with no parent from any source is a ``base`` model. A model with a parent and no stated
relation is a ``merge`` if it lists several parents, else a ``finetune``; a relation the study
does not know is read as ``finetune``. ``n_parents`` counts the distinct ids listed.

Listed parent ids are looked up among the model ids exactly, then case-insensitively (the Hub
resolves ids case-insensitively; :class:`analysis.origin.lineage.IdIndex`).

Merges (several parents): ``merge_parent`` chooses the parent that decides the lineage. The model
itself and ids that match no model (dangling) are dropped from the list first, so that
``[self, Qwen/X]`` and ``[deleted/x, Qwen/X]`` follow ``Qwen/X``; a model whose listed parents
are all itself or dangling chooses among all of them, as before (and is then flagged
``self_reference`` or ``dangling`` by the lineage resolution).

``"first"`` (default)
    The first listed parent (the order of ``baseModels.models``, of the tags, or of the card list).
``"last"``
    The last listed parent (a sensitivity check: a merge's listed order is not a statement of
    weight, so the study can show how much the choice matters).
``"none"``
    Merges (``n_parents > 1``) are not followed: a model with several parents is its own lineage
    root, and its lineage region is its uploader region.

Origin
------
``uploader_region``
    The uploader rule (``Registry.region_of_uploader`` of ``author``, the id's namespace).
``lineage_region``
    The uploader region of ``root_author``: the account of the model's lineage root (a base model
    is its own root). When the chain ends at a dangling parent id (not among the known models) and
    that id's namespace (before ``/``) is a registered account, ``root_author`` is that namespace:
    the missing repo's owner is the best evidence of where the lineage starts (the ids of gated,
    deleted or renamed repos keep their owner). Otherwise ``root_author`` is the account of the
    last model that resolves.
``first_party``
    True when the uploader is a registered organisation (company, academic, non-profit,
    government) with a known region. Under the ``first_party`` scope a model's origin is its
    ``uploader_region`` and other models are excluded.
``is_redistributor``
    The uploader's registry kind is ``redistributor``.
``uploader_decision``, ``root_decision``
    What the registry decided for ``author`` and ``root_author``
    (:meth:`~analysis.origin.registry.Registry.decision_of`): ``country``, ``alternative`` (a
    country with a recorded alternative reading), ``non_country_kind`` (individual, community,
    redistributor, test) or ``unknown`` (unregistered or no account). The coverage report weighs
    them by downloads.

Contested origins
-----------------
``contested="primary"`` (default) uses each account's registry ``region``;
``contested="alternative"`` uses its ``alt_region`` where the registry records one. The choice
reaches both rules: the uploader region of a contested account's models, and the lineage region
of every model whose lineage root that account uploaded (so derivatives of an alternative-read
root follow it). The reading used is in ``DataFrame.attrs["contested"]``. Whatever the choice, the columns
``uploader_region_alt`` and ``lineage_region_alt`` give both regions under the alternative reading (equal to the
others where no account on the way is contested), so that the panel can carry both readings.

Overrides (``data/reference/model_overrides.csv``) are applied last; see :func:`tag_models`.
"""

from __future__ import annotations

import json
import warnings
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.origin.lineage import IdIndex, LineageResult, resolve_lineage
from analysis.contracts import TAG_COLUMNS
from analysis.origin.registry import ORGANISATION_KINDS, REGISTRY_REGIONS, Registry, check_contested
from analysis.schema import BASE_MODELS_TYPE

#: Supported values of ``merge_parent``.
MERGE_PARENT_RULES: tuple[str, ...] = ("first", "last", "none")

#: Relations a model can have.
RELATIONS: tuple[str, ...] = ("base", "finetune", "quantized", "adapter", "merge")


_INPUT_TYPES = {
    "id": pa.string(),
    "author": pa.string(),
    "tags": pa.list_(pa.string()),
    "baseModels": BASE_MODELS_TYPE,
    "cardData": pa.string(),
}
_REQUIRED = ("id", "author", "tags", "baseModels")
_TAG_RE = r"^base_model:(?:(?P<rel>finetune|quantized|adapter|merge):)?(?P<pid>[^:]+)$"


def _to_table(models) -> pa.Table:
    """Normalise the input (pandas or Arrow) to an Arrow table with the expected types."""
    if isinstance(models, pd.DataFrame):
        missing = [c for c in _REQUIRED if c not in models.columns]
        if missing:
            raise KeyError(
                f"tag_models: the models table lacks column(s) {missing}; expected the raw snapshot "
                f"columns {list(_REQUIRED)} (+ optional cardData)."
            )
        cols = [c for c in _INPUT_TYPES if c in models.columns]
        schema = pa.schema([pa.field(c, _INPUT_TYPES[c]) for c in cols])
        frame = models[cols].copy()
        for c in ("id", "author", "cardData"):
            if c in frame.columns:
                frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
        try:
            return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise TypeError(
                f"tag_models: could not convert the models DataFrame to the raw schema ({exc}); "
                "tags must be lists of strings and baseModels dicts {'relation': str, 'models': [{'id': str}]}."
            ) from exc
    if isinstance(models, pa.RecordBatch):
        models = pa.Table.from_batches([models])
    if not isinstance(models, pa.Table):
        raise TypeError(f"tag_models: models must be a pandas DataFrame or a pyarrow Table, not {type(models).__name__}.")
    missing = [c for c in _REQUIRED if c not in models.column_names]
    if missing:
        raise KeyError(
            f"tag_models: the models table lacks column(s) {missing}; expected the raw snapshot "
            f"columns {list(_REQUIRED)} (+ optional cardData)."
        )
    arrays, names = [], []
    for c, typ in _INPUT_TYPES.items():
        if c not in models.column_names:
            continue
        col = models[c]
        if col.type != typ:
            try:
                col = col.cast(typ)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise TypeError(f"tag_models: column {c!r} has type {col.type}; expected {typ} ({exc}).") from exc
        arrays.append(col)
        names.append(c)
    return pa.Table.from_arrays(arrays, names=names)


def _pick_from_lists(parent_rows: np.ndarray, values: pa.Array, n: int, which: str,
                     positions: np.ndarray | None = None, with_positions: bool = False):
    """First/last non-empty value per row, and the number of distinct values per row.

    ``parent_rows`` gives the row of each value (ascending), as from ``list_parent_indices``.
    ``positions``, when given, is the position among the model ids that each value matches
    (:meth:`analysis.origin.lineage.IdIndex.match`, ``-1`` for none): a row that lists at least one
    value matching another model chooses among those values only, so a self reference or a
    dangling id never wins over a listed parent that resolves; a row whose values are all self
    references or dangling chooses among all of them. The count is over all listed values.
    With ``with_positions``, also returns the position of each row's chosen value (``-1``: none,
    or no ``positions`` given).
    """
    values = values.cast(pa.string())
    ok = np.asarray(pc.and_(pc.is_valid(values), pc.greater(pc.utf8_length(values), 0)).fill_null(False))
    rows = parent_rows[ok]
    vals = values.filter(pa.array(ok))
    chosen = pa.nulls(n, pa.string())
    count = np.zeros(n, dtype=np.int64)
    if rows.size == 0:
        return (chosen, count, np.full(n, -1, dtype=np.int64)) if with_positions else (chosen, count)
    # ``rows`` is ascending: each row's values form one run
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    uniq = rows[starts]
    count[uniq] = 1
    if starts.size != rows.size:  # rows listing several values: count their distinct values
        run = np.diff(np.r_[starts, rows.size])
        multi = np.repeat(run > 1, run)
        m_rows = rows[multi]
        codes = np.asarray(pc.dictionary_encode(vals.filter(pa.array(multi))).indices, dtype=np.int64)
        width = int(codes.max()) + 1
        pairs = np.unique(m_rows * width + codes)
        count[np.unique(m_rows)] = 0
        count += np.bincount(pairs // width, minlength=n).astype(np.int64)
    pos = None
    if positions is not None:
        pos = np.asarray(positions, dtype=np.int64)[ok]
        good = (pos >= 0) & (pos != rows)
        row_has_good = np.zeros(n, dtype=bool)
        row_has_good[rows[good]] = True
        keep = good | ~row_has_good[rows]
        if not keep.all():
            rows = rows[keep]
            vals = vals.filter(pa.array(keep))
            pos = pos[keep]
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            uniq = rows[starts]
    pick = np.r_[starts[1:] - 1, rows.size - 1] if which == "last" else starts
    picked = vals.take(pa.array(pick))
    idx = np.full(n, -1, dtype=np.int64)
    idx[uniq] = np.arange(uniq.size)
    take = pa.array(np.where(idx >= 0, idx, 0))
    chosen = pc.if_else(pa.array(idx >= 0), picked.take(take) if len(picked) else chosen, chosen)
    if with_positions:
        chosen_pos = np.full(n, -1, dtype=np.int64)
        if pos is not None:
            chosen_pos[uniq] = pos[pick]
        return chosen, count, chosen_pos
    return chosen, count


def _base_model_lists(table: pa.Table):
    """Rows and ids of every ``baseModels.models[*].id``, and each row's ``baseModels.relation``."""
    bm = table["baseModels"].combine_chunks() if table.num_rows else pa.array([], BASE_MODELS_TYPE)
    relation = pc.struct_field(bm, "relation")
    models = pc.struct_field(bm, "models")
    flat = pc.list_flatten(models)           # skips the values of null lists (and of null structs)
    rows = np.asarray(pc.list_parent_indices(models), dtype=np.int64)
    if models.null_count and rows.size:
        # parent indices also count the values a null list (or a null struct) still carries in memory: drop them,
        # so that flatten and parent indices agree
        rows = rows[np.asarray(models.is_valid(), dtype=bool)[rows]]
    if rows.size != len(flat):  # pragma: no cover - would mean Arrow changed what flatten skips
        raise RuntimeError("tag_models: baseModels lists and their rows disagree; please report this input")
    ids = pc.struct_field(flat, "id") if len(flat) else pa.array([], pa.string())
    return rows, ids.cast(pa.string()), relation


def _tag_lists(table: pa.Table, rows_wanted: np.ndarray):
    """Rows, parent ids and stated relations of the ``base_model:`` tags of the wanted rows."""
    n = table.num_rows
    tags = table["tags"].combine_chunks() if n else pa.array([], pa.list_(pa.string()))
    flat = pc.list_flatten(tags)
    rows = np.asarray(pc.list_parent_indices(tags), dtype=np.int64)
    is_base = np.asarray(pc.starts_with(flat, "base_model:").fill_null(False))
    if rows.size:
        is_base &= rows_wanted[rows]
    if not is_base.any():
        empty = pa.array([], pa.string())
        return np.zeros(0, dtype=np.int64), empty, empty
    sel = flat.filter(pa.array(is_base))
    rows = rows[is_base]
    parsed = pc.extract_regex(sel, _TAG_RE)
    matched = np.asarray(parsed.is_valid())
    rel = pc.struct_field(parsed, "rel").filter(pa.array(matched))
    pid = pc.struct_field(parsed, "pid").filter(pa.array(matched))
    return rows[matched], pid, rel


def _card_lists(table: pa.Table, need: np.ndarray):
    """Rows and ids of the top-level ``base_model`` of the model cards of the rows in ``need``.

    Only rows that need the fallback and whose ``cardData`` mentions ``"base_model"`` are parsed,
    with :func:`json.loads` (a per-row step, but on the fallback rows only: none in the study's
    pipeline, whose raw schema has no ``cardData``). Only the top-level keys count: a
    ``base_model`` nested in ``model-index``, ``widget`` or elsewhere is ignored, and so is a
    top-level ``base_model`` that is null, empty or not a string or list of strings. A card that
    is not a JSON object gives no parent.

    Returns
    -------
    rows, ids : numpy.ndarray, pyarrow.Array
        The row of each listed base model id, in card order.
    relations : pyarrow.Array
        One per row of the table: the card's top-level ``base_model_relation`` string, or null.
    """
    n = table.num_rows
    relations = [None] * n
    empty = (np.zeros(0, dtype=np.int64), pa.array([], pa.string()), pa.nulls(n, pa.string()))
    if "cardData" not in table.column_names or not need.any():
        return empty
    card = table["cardData"].combine_chunks()
    has = np.asarray(pc.match_substring(card, '"base_model"').fill_null(False)) & need
    if not has.any():
        return empty
    rows_sel = np.flatnonzero(has)
    out_rows: list[int] = []
    out_ids: list[str] = []
    for row, text in zip(rows_sel.tolist(), card.take(pa.array(rows_sel)).to_pylist()):
        try:
            meta = json.loads(text)
        except (TypeError, ValueError):
            continue
        if not isinstance(meta, dict):
            continue
        value = meta.get("base_model")
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for item in items:
            if isinstance(item, str) and item.strip():
                out_rows.append(row)
                out_ids.append(item.strip())
        rel = meta.get("base_model_relation")
        if isinstance(rel, str) and items:
            relations[row] = rel.strip()
    return (np.asarray(out_rows, dtype=np.int64), pa.array(out_ids, pa.string()),
            pa.array(relations, pa.string()))


def extract_parents(models, merge_parent: str = "first") -> pd.DataFrame:
    """The chosen parent, relation and parent count of every model (no lineage resolution).

    Parameters
    ----------
    models : pandas.DataFrame or pyarrow.Table
        Raw columns ``id, author, tags, baseModels`` and optionally ``cardData``.
    merge_parent : {"first", "last", "none"}
        Which parent of a merge decides (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, author, author_mismatch, relation, parent, n_parents, parent_source``
        (``author`` is the uploading account: the id's namespace, see the module docstring).
    """
    if merge_parent not in MERGE_PARENT_RULES:
        raise ValueError(f"merge_parent={merge_parent!r} is not supported; choose one of {list(MERGE_PARENT_RULES)}.")
    table = _to_table(models)
    return _extract(table, merge_parent).to_pandas()


def _beside(fn, *args) -> Future:
    """Start ``fn(*args)`` in a thread of its own and return its future. Arrow's kernels let go of the GIL, so the
    calling thread's Arrow work goes on at the same time, on another core."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)       # the thread ends with its task


def _uploader(ids: pa.Array, author_field: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The uploading account of each model and whether the ``author`` field disagrees with it.

    The account is the id's namespace (before the first ``/``); the ``author`` field is used only
    for an id without a namespace. ``author_mismatch`` is true where the id has a namespace and
    the ``author`` field is set to a different account (compared case-insensitively, as the Hub
    compares account names).
    """
    null = pa.scalar(None, pa.string())
    prefix = pc.list_element(pc.split_pattern(ids, "/", max_splits=1), 0)
    has_ns = pc.and_(pc.match_substring(ids, "/"), pc.greater(pc.utf8_length(prefix), 0))
    namespace = pc.if_else(has_ns, prefix, null)
    author_ok = pc.and_(author_field.is_valid(), pc.greater(pc.utf8_length(author_field), 0)).fill_null(False)
    uploader = pc.if_else(has_ns, namespace, pc.if_else(author_ok, author_field, null))
    differs = pc.not_equal(pc.utf8_lower(author_field), pc.utf8_lower(namespace)).fill_null(False)
    mismatch = pc.and_(pc.and_(has_ns, author_ok), differs).fill_null(False)
    return uploader, mismatch


def _extract(table: pa.Table, merge_parent: str, with_positions: bool = False):
    """Each model's uploader, chosen parent, relation and parent count (with ``with_positions``, also the position
    of each chosen parent among the model ids, ``-1`` for none or a dangling one, and the ids' :class:`IdIndex`)."""
    n = table.num_rows
    which = "last" if merge_parent == "last" else "first"
    ids = table["id"].combine_chunks() if n else pa.array([], pa.string())
    if ids.null_count:
        bad = np.flatnonzero(~np.asarray(ids.is_valid()))[:5] + 1
        raise ValueError(f"tag_models: {ids.null_count} model(s) without an id (rows {bad.tolist()}...); every row needs an id.")
    author_field = table["author"].combine_chunks() if n else pa.array([], pa.string())
    uploader = _beside(_uploader, ids, author_field)      # beside the parents' extraction
    index = IdIndex(ids)

    # Candidates of baseModels, then of the tags of the rows baseModels leaves without a parent:
    # one look-up in the model ids for both (self references and dangling ids lose to real parents).
    bm_rows, bm_vals, r_bm = _base_model_lists(table)
    bm_ok = np.asarray(pc.greater(pc.utf8_length(bm_vals), 0).fill_null(False), dtype=bool)
    has_bm = np.zeros(n, dtype=bool)
    has_bm[bm_rows[bm_ok]] = True
    tag_rows, tag_vals, tag_rel = _tag_lists(table, ~has_bm)
    pos, _ = index.match(pa.concat_arrays([bm_vals, tag_vals.cast(pa.string())]))
    p_bm, c_bm, i_bm = _pick_from_lists(bm_rows, bm_vals, n, which, pos[:len(bm_vals)], with_positions=True)
    p_tag, c_tag, i_tag = _pick_from_lists(tag_rows, tag_vals, n, which, pos[len(bm_vals):], with_positions=True)
    r_tag, _ = _pick_from_lists(tag_rows, tag_rel, n, "first")
    has_tag = np.asarray(p_tag.is_valid()) & ~has_bm
    card_rows, card_vals, r_card = _card_lists(table, ~has_bm & ~has_tag)
    card_pos = index.match(card_vals)[0] if len(card_vals) else None
    p_card, c_card, i_card = _pick_from_lists(card_rows, card_vals, n, which, card_pos, with_positions=True)
    has_card = np.asarray(p_card.is_valid()) & ~has_bm & ~has_tag

    parent = pc.if_else(pa.array(has_bm), p_bm, pc.if_else(pa.array(has_tag), p_tag, p_card))
    parent_pos = np.where(has_bm, i_bm, np.where(has_tag, i_tag, np.where(has_card, i_card, -1)))
    n_parents = np.where(has_bm, c_bm, np.where(has_tag, c_tag, np.where(has_card, c_card, 0)))
    source_code = np.where(has_bm, 0, np.where(has_tag, 1, np.where(has_card, 2, -1)))
    source = pa.array(["baseModels", "tags", "cardData"]).take(pa.array(source_code, mask=source_code < 0))
    stated = pc.if_else(pa.array(has_bm), r_bm, pc.if_else(pa.array(has_tag), r_tag, r_card))
    stated = pc.utf8_lower(stated)
    known = pc.is_in(stated, value_set=pa.array(list(RELATIONS[1:]))).fill_null(False)
    has_parent = has_bm | has_tag | has_card
    fallback_code = np.where(has_parent, (n_parents > 1).astype(np.int8), 2)
    fallback = pa.array(["finetune", "merge", "base"]).take(pa.array(fallback_code))
    relation = pc.if_else(pc.and_(known, pa.array(has_parent)), stated, fallback)
    if merge_parent == "none":
        parent = pc.if_else(pa.array(n_parents > 1), pa.scalar(None, pa.string()), parent)
        parent_pos = np.where(n_parents > 1, -1, parent_pos)
    author, author_mismatch = uploader.result()
    out = pa.table(
        {
            "id": ids,
            "author": author,
            "author_mismatch": author_mismatch,
            "relation": relation.cast(pa.string()),
            "parent": parent,
            "n_parents": pa.array(n_parents, pa.int64()),
            "parent_source": source,
        }
    )
    return (out, parent_pos, index) if with_positions else out


def _apply_overrides(out: pd.DataFrame, overrides: pd.DataFrame | None) -> pd.DataFrame:
    if overrides is None or len(overrides) == 0:
        empty = pa.nulls(len(out), pa.string()).to_pandas()
        out["override_reason"] = empty
        out["override_source"] = empty.copy()
        return out
    unknown = set(overrides["model_id"]) - set(out["id"])
    if unknown:
        warnings.warn(
            f"{len(unknown)} override(s) name models not in the table (e.g. {sorted(unknown)[:3]}); they were not applied.",
            stacklevel=3,
        )
    up = overrides[overrides["rule"].isin(["uploader", "all"])].set_index("model_id")
    lin = overrides[overrides["rule"].isin(["lineage", "all"])].set_index("model_id")
    reason = pd.Series([None] * len(out), index=out.index, dtype=object)
    source = pd.Series([None] * len(out), index=out.index, dtype=object)

    def mark(mask: pd.Series, values: pd.Series, src: str) -> None:
        new = mask & reason.isna()
        reason[new] = values[new]
        source[new] = src

    # Own overrides first (most specific), then those reaching a model through its lineage root.
    own_lin = out["id"].isin(lin.index)
    own_up = out["id"].isin(up.index)
    root_lin = out["lineage_root"].isin(lin.index) & ~own_lin
    root_up = out["lineage_root"].isin(up.index) & ~own_lin & ~root_lin
    for suffix in ("", "_alt"):  # an override decides the model's origin under both readings of contested origins
        out.loc[own_up, "uploader_region" + suffix] = out.loc[own_up, "id"].map(up["region"])
        out.loc[root_up, "lineage_region" + suffix] = out.loc[root_up, "lineage_root"].map(up["region"])
        out.loc[root_lin, "lineage_region" + suffix] = out.loc[root_lin, "lineage_root"].map(lin["region"])
        out.loc[own_lin, "lineage_region" + suffix] = out.loc[own_lin, "id"].map(lin["region"])
    mark(own_lin, out["id"].map(lin["reason"]), "model")
    mark(own_up, out["id"].map(up["reason"]), "model")
    mark(root_lin, out["lineage_root"].map(lin["reason"]), "lineage_root")
    mark(root_up, out["lineage_root"].map(up["reason"]), "lineage_root")
    out["override_reason"] = reason.astype("str").where(reason.notna(), None)
    out["override_source"] = source.astype("str").where(source.notna(), None)
    return out


def tag_models(models, registry: Registry, overrides: pd.DataFrame | None = None, *,
               merge_parent: str = "first", contested: str = "primary") -> pd.DataFrame:
    """Tag each model with its lineage and its origin under each rule.

    Parameters
    ----------
    models : pandas.DataFrame or pyarrow.Table
        One row per model id with the raw columns ``id, author, tags, baseModels`` and optionally
        ``cardData`` (the union of all snapshots, deduplicated by id, latest metadata kept).
    registry : Registry
        From :func:`analysis.origin.registry.load_registry`.
    overrides : pandas.DataFrame, optional
        From :func:`analysis.origin.registry.load_overrides`. Applied last: a ``uploader`` override
        sets the model's ``uploader_region`` (and so the ``lineage_region`` of the models whose
        lineage root it is); a ``lineage`` override makes the model a lineage root (its parent link
        is not followed) and sets its ``lineage_region``, which its derivatives then inherit; ``all``
        does both. A model's own override wins over one
        reaching it through its root. ``override_reason`` and ``override_source`` (``model`` or
        ``lineage_root``) record each application. ``first_party`` is never overridden.
    merge_parent : {"first", "last", "none"}
        Which parent of a merge decides its lineage (module docstring).
    contested : {"primary", "alternative"}, default "primary"
        Which reading of a contested origin the registry gives (module docstring): it sets the
        ``uploader_region`` of the contested accounts' models and the ``lineage_region`` of the
        models whose lineage root they uploaded. Overrides still win.

    Returns
    -------
    pandas.DataFrame
        One row per model, columns :data:`TAG_COLUMNS`: ``id, author, author_mismatch, relation,
        parent, n_parents, parent_source, lineage_root, lineage_depth, root_author, uploader_kind,
        root_kind, uploader_decision, root_decision, uploader_region, lineage_region, first_party,
        is_redistributor, cycle,
        self_reference, dangling, root_dangling, override_reason, override_source``. ``author`` is
        the uploading account (the id's namespace; module docstring) and ``author_mismatch`` marks
        the models whose raw ``author`` field named another account. ``uploader_kind`` and
        ``root_kind`` are the registry kinds of ``author`` and ``root_author`` (``unregistered``
        for an account not in the registry, null for no account). ``lineage_depth`` counts parent
        links to ``lineage_root`` (0 for a base model and for a model whose own parent dangles).
        The :class:`~analysis.origin.lineage.LineageResult` counts are in ``DataFrame.attrs["lineage"]``.

    Raises
    ------
    KeyError
        A required column is missing.
    ValueError
        An id is null or repeated, or ``merge_parent`` or ``contested`` is not supported.
    """
    if merge_parent not in MERGE_PARENT_RULES:
        raise ValueError(f"merge_parent={merge_parent!r} is not supported; choose one of {list(MERGE_PARENT_RULES)}.")
    check_contested(contested)
    table = _to_table(models)
    ext, parent_pos, index = _extract(table, merge_parent, with_positions=True)
    parents = ext["parent"]
    if overrides is not None and len(overrides):
        # a model with a lineage override is a lineage root: its derivatives inherit the overridden origin
        cut = overrides.loc[overrides["rule"].isin(["lineage", "all"]), "model_id"].astype(str).tolist()
        if cut:
            is_cut = pc.is_in(ext["id"], value_set=pa.array(cut, pa.string()))
            parents = pc.if_else(is_cut, pa.scalar(None, pa.string()), parents)
            parent_pos = np.where(np.asarray(is_cut.to_numpy(zero_copy_only=False), dtype=bool), -1, parent_pos)
    lin: LineageResult = resolve_lineage(index.ids, parents, parent_positions=parent_pos, index=index)
    root_ids = _beside(lambda: lin.root_ids)                 # beside the registry look-ups
    author = ext["author"].combine_chunks() if ext.num_rows else pa.array([], pa.string())
    root_author = author.take(pa.array(lin.root_index))
    registered = pa.array(list(registry.table.index), pa.string())    # lower-cased accounts the registry holds
    dang_ns = pc.list_element(pc.split_pattern(pc.fill_null(lin.dangling_parent, ""), "/", max_splits=1), 0)
    dang_ok = pc.and_(pc.and_(lin.dangling_parent.is_valid(), pc.match_substring(lin.dangling_parent, "/")),
                      pc.is_in(pc.utf8_lower(dang_ns), value_set=registered))
    root_author = pc.if_else(dang_ok.fill_null(False), dang_ns, root_author)

    # Registry look-ups on the distinct accounts only, mapped back with Arrow's hash kernels. The registry answers
    # the same for every account it does not hold, so it is asked about its own accounts and one other.
    accounts = pc.unique(pc.drop_null(pa.concat_arrays([author, root_author.cast(pa.string())])))
    held = np.asarray(pc.is_in(pc.utf8_lower(accounts), value_set=registered).fill_null(False), dtype=bool)
    ask = np.concatenate([np.flatnonzero(held), np.flatnonzero(~held)[:1]])
    answer = np.full(len(accounts), ask.size - 1, dtype=np.int64)     # the one other account's answer
    answer[ask[:int(held.sum())]] = np.arange(int(held.sum()))
    asked = accounts.take(pa.array(ask)).to_pylist()

    def answers(values: pd.Series) -> pa.Array:
        return pa.array(values.astype(object).tolist(), pa.string()).take(pa.array(answer))

    info = registry.lookup(asked)
    kind_u = answers(info["kind"].astype(object).where(info["registered"], "unregistered"))
    region_u = answers(registry.region_of_uploader(asked, contested=contested))
    region_alt = answers(registry.region_of_uploader(asked, contested="alternative"))
    decision_u = answers(registry.decision_of(asked))

    def per(at: pa.Array, values: pa.Array, missing: str | None) -> pa.Array:
        found = values.take(at)
        return pc.fill_null(found, missing) if missing is not None else found

    def columns_of(accounts_: pa.Array) -> tuple[pa.Array, ...]:
        """Kind, decision, region and alternative region of each account (each distinct account looked up once)."""
        at = pc.index_in(accounts_, value_set=accounts)
        return (per(at, kind_u, None), per(at, decision_u, "unknown"), per(at, region_u, "UNKNOWN"),
                per(at, region_alt, "UNKNOWN"))

    of_roots = _beside(columns_of, root_author)               # the root authors' beside the uploaders'
    uploader_kind, uploader_decision, uploader_region, uploader_region_alt = columns_of(author)
    root_kind, root_decision, lineage_region, lineage_region_alt = of_roots.result()
    org = pc.is_in(uploader_kind, value_set=pa.array(list(ORGANISATION_KINDS)))
    first_party = pc.and_(org, pc.is_in(uploader_region, value_set=pa.array(list(REGISTRY_REGIONS))))
    extra = pa.table({
        "lineage_root": root_ids.result(),
        "lineage_depth": pa.array(lin.depth.astype(np.int64)),
        "root_author": root_author,
        "uploader_kind": uploader_kind,
        "root_kind": root_kind,
        "uploader_decision": uploader_decision,
        "root_decision": root_decision,
        "uploader_region": uploader_region,
        "lineage_region": lineage_region,
        "uploader_region_alt": uploader_region_alt,
        "lineage_region_alt": lineage_region_alt,
        "first_party": first_party.fill_null(False),
        "is_redistributor": pc.equal(uploader_kind, "redistributor").fill_null(False),
    })
    out = pa.Table.from_arrays(ext.columns + extra.columns, names=ext.column_names + extra.column_names).to_pandas()
    out["cycle"] = lin.cycle
    out["self_reference"] = lin.self_reference
    out["dangling"] = lin.dangling
    out["root_dangling"] = lin.root_dangling
    out = _apply_overrides(out, overrides)
    out = out[list(TAG_COLUMNS)]
    out.attrs["lineage"] = lin.counts()
    out.attrs["merge_parent"] = merge_parent
    out.attrs["contested"] = contested
    return out
