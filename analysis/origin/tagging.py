"""Tag every model with its lineage and its origin under each attribution rule.

Parent extraction (all with ``pyarrow.compute``, whole columns at once)
------------------------------------------------------------------------
1. ``baseModels.models[*].id`` (the Hub's declared lineage) with ``baseModels.relation``;
2. if that gives no parent: the tags ``base_model:<id>`` and ``base_model:<relation>:<id>``,
   in tag order;
3. if neither gives one: the model card's ``base_model`` (``cardData`` JSON string; a string or a
   list of strings) with ``base_model_relation`` if present.

The source used is reported in ``parent_source`` (``baseModels``, ``tags``, ``cardData`` or null).
A model with no parent from any source is a ``base`` model. A model with a parent and no stated
relation is a ``merge`` if it lists several parents, else a ``finetune``; a relation the study
does not know is read as ``finetune``.

Merges (several parents): ``merge_parent`` chooses the parent that decides the lineage:

``"first"`` (default)
    The first listed parent (the order of ``baseModels.models``, of the tags, or of the card list).
``"last"``
    The last listed parent (a sensitivity check: a merge's listed order is not a statement of
    weight, so the study can show how much the choice matters).
``"none"``
    Merges are not followed: a model with several parents is its own lineage root, and its
    lineage region is its uploader region.

Origin
------
``uploader_region``
    The uploader rule (``Registry.region_of_uploader`` of ``author``).
``lineage_region``
    The uploader region of ``root_author``: the author of the model's lineage root (a base model is
    its own root). When the chain ends at a dangling parent id (not among the known models) and
    that id's namespace (before ``/``) is a registered account, ``root_author`` is that namespace:
    the missing repo's owner is the best evidence of where the lineage starts (the ids of gated,
    deleted or renamed repos keep their owner). Otherwise ``root_author`` is the author of the last
    model that resolves.
``first_party``
    True when the uploader is a registered organisation (company, academic, non-profit,
    government) with a known region. Under the ``first_party`` scope a model's origin is its
    ``uploader_region`` and other models are excluded.
``is_redistributor``
    The uploader's registry kind is ``redistributor``.

Overrides (``data/reference/model_overrides.csv``) are applied last; see :func:`tag_models`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.origin.lineage import LineageResult, resolve_lineage
from analysis.origin.registry import ORGANISATION_KINDS, REGISTRY_REGIONS, Registry
from analysis.schema import BASE_MODELS_TYPE

#: Supported values of ``merge_parent``.
MERGE_PARENT_RULES: tuple[str, ...] = ("first", "last", "none")

#: Relations a model can have.
RELATIONS: tuple[str, ...] = ("base", "finetune", "quantized", "adapter", "merge")

#: Columns of the table ``tag_models`` returns, in order.
TAG_COLUMNS: tuple[str, ...] = (
    "id",
    "author",
    "relation",
    "parent",
    "n_parents",
    "parent_source",
    "lineage_root",
    "lineage_depth",
    "root_author",
    "uploader_kind",
    "uploader_region",
    "lineage_region",
    "first_party",
    "is_redistributor",
    "cycle",
    "self_reference",
    "dangling",
    "root_dangling",
    "override_reason",
    "override_source",
)

_INPUT_TYPES = {
    "id": pa.string(),
    "author": pa.string(),
    "tags": pa.list_(pa.string()),
    "baseModels": BASE_MODELS_TYPE,
    "cardData": pa.string(),
}
_REQUIRED = ("id", "author", "tags", "baseModels")
_TAG_RE = r"^base_model:(?:(?P<rel>finetune|quantized|adapter|merge):)?(?P<pid>[^:]+)$"
_CARD_BASE_RE = r'"base_model"\s*:\s*(?P<v>"[^"]*"|\[[^\]]*\])'
_CARD_REL_RE = r'"base_model_relation"\s*:\s*"(?P<r>[A-Za-z_]+)"'


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


def _pick_from_lists(parent_rows: np.ndarray, values: pa.Array, n: int, which: str):
    """First/last non-empty value per row, and the number of distinct values per row.

    ``parent_rows`` gives the row of each value (ascending), as from ``list_parent_indices``.
    """
    values = values.cast(pa.string())
    ok = np.asarray(pc.and_(pc.is_valid(values), pc.greater(pc.utf8_length(values), 0)).fill_null(False))
    rows = parent_rows[ok]
    vals = values.filter(pa.array(ok))
    chosen = pa.nulls(n, pa.string())
    count = np.zeros(n, dtype=np.int64)
    if rows.size == 0:
        return chosen, count
    # ``rows`` is ascending: each row's values form one run
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    uniq = rows[starts]
    if starts.size == rows.size:  # one value per row (the common case)
        count[uniq] = 1
    else:  # distinct (row, value) pairs
        codes = np.asarray(pc.dictionary_encode(vals).indices, dtype=np.int64)
        width = int(codes.max()) + 1
        pairs = np.unique(rows * width + codes)
        count = np.bincount(pairs // width, minlength=n).astype(np.int64)
    pos = np.r_[starts[1:] - 1, rows.size - 1] if which == "last" else starts
    picked = vals.take(pa.array(pos))
    idx = np.full(n, -1, dtype=np.int64)
    idx[uniq] = np.arange(uniq.size)
    take = pa.array(np.where(idx >= 0, idx, 0))
    chosen = pc.if_else(pa.array(idx >= 0), picked.take(take) if len(picked) else chosen, chosen)
    return chosen, count


def _from_base_models(table: pa.Table, which: str):
    n = table.num_rows
    bm = table["baseModels"].combine_chunks() if table.num_rows else pa.array([], BASE_MODELS_TYPE)
    relation = pc.struct_field(bm, "relation")
    models = pc.struct_field(bm, "models")
    # a null struct may still carry child lists in memory: null them so flatten and parent indices agree
    models = pc.if_else(bm.is_valid(), models, pa.scalar(None, models.type))
    flat = pc.list_flatten(models)
    rows = np.asarray(pc.list_parent_indices(models), dtype=np.int64)
    ids = pc.struct_field(flat, "id") if len(flat) else pa.array([], pa.string())
    parent, count = _pick_from_lists(rows, ids, n, which)
    return parent, count, relation


def _from_tags(table: pa.Table, which: str):
    n = table.num_rows
    tags = table["tags"].combine_chunks() if n else pa.array([], pa.list_(pa.string()))
    flat = pc.list_flatten(tags)
    rows = np.asarray(pc.list_parent_indices(tags), dtype=np.int64)
    is_base = np.asarray(pc.starts_with(flat, "base_model:").fill_null(False))
    relation = pa.nulls(n, pa.string())
    if not is_base.any():
        return pa.nulls(n, pa.string()), np.zeros(n, dtype=np.int64), relation
    sel = flat.filter(pa.array(is_base))
    rows = rows[is_base]
    parsed = pc.extract_regex(sel, _TAG_RE)
    matched = np.asarray(parsed.is_valid())
    rel = pc.struct_field(parsed, "rel").filter(pa.array(matched))
    pid = pc.struct_field(parsed, "pid").filter(pa.array(matched))
    rows = rows[matched]
    parent, count = _pick_from_lists(rows, pid, n, which)
    relation, _ = _pick_from_lists(rows, rel, n, "first")
    return parent, count, relation


def _from_card(table: pa.Table, need: np.ndarray, which: str):
    n = table.num_rows
    empty = (pa.nulls(n, pa.string()), np.zeros(n, dtype=np.int64), pa.nulls(n, pa.string()))
    if "cardData" not in table.column_names or not need.any():
        return empty
    card = table["cardData"].combine_chunks()
    has = np.asarray(pc.match_substring(card, '"base_model"').fill_null(False)) & need
    if not has.any():
        return empty
    rows_sel = np.flatnonzero(has)
    sub = card.take(pa.array(rows_sel))
    value = pc.extract_regex(sub, _CARD_BASE_RE)
    ok = np.asarray(value.is_valid())
    v = pc.struct_field(value, "v").filter(pa.array(ok))
    rows_sel = rows_sel[ok]
    sub = sub.filter(pa.array(ok))
    body = pc.utf8_trim(v, "[]")
    items = pc.split_pattern_regex(body, r"\s*,\s*")
    flat = pc.utf8_trim(pc.list_flatten(items), "\" \t\r\n")
    local_rows = np.asarray(pc.list_parent_indices(items), dtype=np.int64)
    parent_local, count_local = _pick_from_lists(local_rows, flat, len(rows_sel), which)
    rel = pc.extract_regex(sub, _CARD_REL_RE)
    rel_v = pc.if_else(rel.is_valid(), pc.struct_field(rel, "r"), pa.scalar(None, pa.string()))
    idx = np.full(n, -1, dtype=np.int64)
    idx[rows_sel] = np.arange(rows_sel.size)
    mask = pa.array(idx >= 0)
    take = pa.array(np.where(idx >= 0, idx, 0))
    if len(rows_sel):
        parent = pc.if_else(mask, parent_local.take(take), pa.scalar(None, pa.string()))
        relation = pc.if_else(mask, rel_v.take(take), pa.scalar(None, pa.string()))
    else:
        parent, relation = empty[0], empty[2]
    count = np.zeros(n, dtype=np.int64)
    count[rows_sel] = count_local
    return parent, count, relation


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
        Columns ``id, author, relation, parent, n_parents, parent_source``.
    """
    if merge_parent not in MERGE_PARENT_RULES:
        raise ValueError(f"merge_parent={merge_parent!r} is not supported; choose one of {list(MERGE_PARENT_RULES)}.")
    table = _to_table(models)
    return _extract(table, merge_parent).to_pandas()


def _extract(table: pa.Table, merge_parent: str) -> pa.Table:
    n = table.num_rows
    which = "last" if merge_parent == "last" else "first"
    ids = table["id"].combine_chunks() if n else pa.array([], pa.string())
    if ids.null_count:
        bad = np.flatnonzero(~np.asarray(ids.is_valid()))[:5] + 1
        raise ValueError(f"tag_models: {ids.null_count} model(s) without an id (rows {bad.tolist()}...); every row needs an id.")
    author = table["author"].combine_chunks() if n else pa.array([], pa.string())
    has_slash = pc.match_substring(ids, "/")
    prefix = pc.list_element(pc.split_pattern(ids, "/", max_splits=1), 0)
    namespace = pc.if_else(has_slash, prefix, pa.scalar(None, pa.string()))
    author = pc.if_else(pc.and_(author.is_valid(), pc.greater(pc.utf8_length(author), 0)).fill_null(False),
                        author, namespace)

    p_bm, c_bm, r_bm = _from_base_models(table, which)
    p_tag, c_tag, r_tag = _from_tags(table, which)
    has_bm = np.asarray(p_bm.is_valid())
    has_tag = np.asarray(p_tag.is_valid()) & ~has_bm
    p_card, c_card, r_card = _from_card(table, ~has_bm & ~has_tag, which)
    has_card = np.asarray(p_card.is_valid()) & ~has_bm & ~has_tag

    parent = pc.if_else(pa.array(has_bm), p_bm, pc.if_else(pa.array(has_tag), p_tag, p_card))
    n_parents = np.where(has_bm, c_bm, np.where(has_tag, c_tag, np.where(has_card, c_card, 0)))
    source = np.full(n, None, dtype=object)
    source[has_bm] = "baseModels"
    source[has_tag] = "tags"
    source[has_card] = "cardData"
    stated = pc.if_else(pa.array(has_bm), r_bm, pc.if_else(pa.array(has_tag), r_tag, r_card))
    stated = pc.utf8_lower(stated)
    known = np.asarray(pc.is_in(stated, value_set=pa.array(list(RELATIONS[1:]))).fill_null(False))
    stated_np = np.asarray(stated.to_numpy(zero_copy_only=False), dtype=object)
    has_parent = has_bm | has_tag | has_card
    relation = np.where(known, stated_np, np.where(n_parents > 1, "merge", "finetune"))
    relation = np.where(has_parent, relation, "base").astype(object)
    if merge_parent == "none":
        parent = pc.if_else(pa.array(n_parents > 1), pa.scalar(None, pa.string()), parent)
    return pa.table(
        {
            "id": ids,
            "author": author,
            "relation": pa.array(relation, pa.string()),
            "parent": parent,
            "n_parents": pa.array(n_parents, pa.int64()),
            "parent_source": pa.array(source, pa.string()),
        }
    )


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
    out.loc[own_up, "uploader_region"] = out.loc[own_up, "id"].map(up["region"])
    out.loc[root_up, "lineage_region"] = out.loc[root_up, "lineage_root"].map(up["region"])
    out.loc[root_lin, "lineage_region"] = out.loc[root_lin, "lineage_root"].map(lin["region"])
    out.loc[own_lin, "lineage_region"] = out.loc[own_lin, "id"].map(lin["region"])
    mark(own_lin, out["id"].map(lin["reason"]), "model")
    mark(own_up, out["id"].map(up["reason"]), "model")
    mark(root_lin, out["lineage_root"].map(lin["reason"]), "lineage_root")
    mark(root_up, out["lineage_root"].map(up["reason"]), "lineage_root")
    out["override_reason"] = reason.astype("str").where(reason.notna(), None)
    out["override_source"] = source.astype("str").where(source.notna(), None)
    return out


def tag_models(models, registry: Registry, overrides: pd.DataFrame | None = None, *,
               merge_parent: str = "first") -> pd.DataFrame:
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
        lineage root it is); a ``lineage`` override sets the model's ``lineage_region`` and that of
        the models whose lineage root it is; ``all`` does both. A model's own override wins over one
        reaching it through its root. ``override_reason`` and ``override_source`` (``model`` or
        ``lineage_root``) record each application. ``first_party`` is never overridden.
    merge_parent : {"first", "last", "none"}
        Which parent of a merge decides its lineage (module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per model, columns :data:`TAG_COLUMNS`: ``id, author, relation, parent, n_parents,
        parent_source, lineage_root, lineage_depth, root_author, uploader_kind, uploader_region,
        lineage_region, first_party, is_redistributor, cycle, self_reference, dangling,
        root_dangling, override_reason, override_source``. ``lineage_depth`` counts parent links to
        ``lineage_root`` (0 for a base model and for a model whose own parent dangles).
        The :class:`~analysis.origin.lineage.LineageResult` counts are in ``DataFrame.attrs["lineage"]``.

    Raises
    ------
    KeyError
        A required column is missing.
    ValueError
        An id is null or repeated, or ``merge_parent`` is not supported.
    """
    if merge_parent not in MERGE_PARENT_RULES:
        raise ValueError(f"merge_parent={merge_parent!r} is not supported; choose one of {list(MERGE_PARENT_RULES)}.")
    table = _to_table(models)
    ext = _extract(table, merge_parent)
    lin: LineageResult = resolve_lineage(ext["id"], ext["parent"])
    author = ext["author"].combine_chunks() if ext.num_rows else pa.array([], pa.string())
    root_author = author.take(pa.array(lin.root_index))
    dang_ns = pc.list_element(pc.split_pattern(pc.fill_null(lin.dangling_parent, ""), "/", max_splits=1), 0)
    dang_ok = pc.and_(pc.and_(lin.dangling_parent.is_valid(), pc.match_substring(lin.dangling_parent, "/")),
                      pc.is_in(pc.utf8_lower(dang_ns), value_set=pa.array(list(registry.table.index), pa.string())))
    root_author = pc.if_else(dang_ok.fill_null(False), dang_ns, root_author)

    # Registry look-ups on the distinct accounts only, mapped back with Arrow's hash kernels.
    accounts = pc.unique(pc.drop_null(pa.concat_arrays([author, root_author.cast(pa.string())])))
    info = registry.lookup(accounts.to_pylist())
    kind_u = pa.array(info["kind"].astype(object).where(info["registered"], "unregistered").tolist(), pa.string())
    region_u = pa.array(registry.region_of_uploader(accounts.to_pylist()).astype(object).tolist(), pa.string())

    def per(col: pa.Array, values: pa.Array, missing: str | None) -> pa.Array:
        found = values.take(pc.index_in(col, value_set=accounts))
        return pc.fill_null(found, missing) if missing is not None else found

    uploader_kind = per(author, kind_u, None)
    uploader_region = per(author, region_u, "UNKNOWN")
    lineage_region = per(root_author, region_u, "UNKNOWN")
    org = pc.is_in(uploader_kind, value_set=pa.array(list(ORGANISATION_KINDS)))
    first_party = pc.and_(org, pc.is_in(uploader_region, value_set=pa.array(list(REGISTRY_REGIONS))))
    extra = pa.table({
        "lineage_root": lin.root_ids,
        "lineage_depth": pa.array(lin.depth.astype(np.int64)),
        "root_author": root_author,
        "uploader_kind": uploader_kind,
        "uploader_region": uploader_region,
        "lineage_region": lineage_region,
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
    return out
