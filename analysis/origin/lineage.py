"""Resolve every model's root base model on the whole lineage graph at once.

Each model has at most one parent here (the caller has already chosen one parent per merge;
see ``analysis.origin.tagging``), so the graph is a functional graph: a forest of trees plus,
in dirty data, cycles. Resolution uses pointer jumping ("path doubling") in numpy: every round
replaces each model's pointer by its pointer's pointer, so a chain of depth ``d`` is resolved in
``ceil(log2(d))`` rounds of whole-array operations, with no per-model Python loop.

Rules
-----
* Parent ids are matched to model ids exactly first; a parent id with no exact match is then
  matched case-insensitively (Unicode lower case, ``pyarrow.compute.utf8_lower``), because the
  Hub resolves repo ids case-insensitively (``qwen/qwen2.5-7b`` names ``Qwen/Qwen2.5-7B``). When
  several model ids differ only by case, the (bytewise) smallest of them is chosen, whatever the
  input order. Such matches are flagged ``case_matched``.
* A model without a parent is a root (depth 0).
* Self reference (parent == the model itself, also when it matches only case-insensitively):
  detected, the edge is dropped, the model is its own root, flagged ``self_reference`` and
  ``cycle``.
* Dangling parent (an id that is not among the known models): the model whose parent dangles is
  the root of its chain ("the root is the last model that resolves"), flagged ``dangling``;
  every model whose chain ends there is flagged ``root_dangling`` and gets ``dangling_parent``
  (the unresolved id), so a caller can still read the namespace of the missing parent.
* Cycle (A -> B -> ... -> A): detected; the lexicographically smallest id on the cycle becomes
  the root (its parent edge is dropped), which is deterministic whatever the input order. All
  models on a cycle are flagged ``cycle``; models whose chain runs into a cycle resolve to that
  root like any other descendant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Sentinel parent index: no parent.
NO_PARENT = -1
#: Sentinel parent index: parent id not among the known models.
DANGLING = -2


@dataclass(frozen=True)
class LineageResult:
    """Roots, depths and flags of a resolved lineage graph (arrays aligned with the input ids).

    Attributes
    ----------
    ids : pyarrow.Array
        The model ids, as given.
    parent_index : numpy.ndarray
        int64 position of each model's parent after cycle breaking; ``-1`` none, ``-2`` dangling.
    root_index : numpy.ndarray
        int64 position of each model's lineage root (a model is its own root when it has none).
    depth : numpy.ndarray
        int32 number of parent links from the model to its root (0 for a root).
    cycle : numpy.ndarray
        bool, the model is on a cycle (including a self reference).
    self_reference : numpy.ndarray
        bool, the model names itself as its parent.
    dangling : numpy.ndarray
        bool, the model's own parent id is not among the known models.
    root_dangling : numpy.ndarray
        bool, the model's chain ends at a model whose parent dangles.
    dangling_parent : pyarrow.Array
        The unresolved parent id of the model's root (null unless ``root_dangling``).
    case_matched : numpy.ndarray
        bool, the model's parent id matched a model id only case-insensitively.
    n_models, n_with_parent, n_self_references, n_cycles, n_cycle_models, n_dangling, max_depth, rounds : int
        Counts: models; models with a parent id; self references; cycles of length >= 2;
        models on those cycles (self references are **not** included: they are counted in
        ``n_self_references``, although the ``cycle`` flag is also set on them); models whose
        parent dangles; the deepest chain; pointer-jumping rounds used.
    n_case_matched : int
        Models whose parent id matched only case-insensitively.
    """

    ids: pa.Array
    parent_index: np.ndarray
    root_index: np.ndarray
    depth: np.ndarray
    cycle: np.ndarray
    self_reference: np.ndarray
    dangling: np.ndarray
    root_dangling: np.ndarray
    dangling_parent: pa.Array
    n_models: int
    n_with_parent: int
    n_self_references: int
    n_cycles: int
    n_cycle_models: int
    n_dangling: int
    max_depth: int
    rounds: int = field(default=0)
    case_matched: np.ndarray | None = field(default=None)
    n_case_matched: int = field(default=0)

    @property
    def root_ids(self) -> pa.Array:
        """Id of each model's lineage root."""
        return self.ids.take(pa.array(self.root_index))

    def counts(self) -> dict[str, int]:
        """The summary counts as a plain dict (for JSON reports)."""
        return {
            "n_models": self.n_models,
            "n_with_parent": self.n_with_parent,
            "n_self_references": self.n_self_references,
            "n_cycles": self.n_cycles,
            "n_cycle_models": self.n_cycle_models,
            "n_dangling": self.n_dangling,
            "n_root_dangling": int(self.root_dangling.sum()),
            "n_case_matched": self.n_case_matched,
            "max_depth": self.max_depth,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per model: id, lineage_root, lineage_depth and the flags."""
        case = self.case_matched if self.case_matched is not None else np.zeros(self.n_models, dtype=bool)
        return pd.DataFrame(
            {
                "id": self.ids.to_pandas(),
                "lineage_root": self.root_ids.to_pandas(),
                "lineage_depth": self.depth.astype(np.int64),
                "cycle": self.cycle,
                "self_reference": self.self_reference,
                "dangling": self.dangling,
                "root_dangling": self.root_dangling,
                "dangling_parent": self.dangling_parent.to_pandas(),
                "case_matched": case,
            }
        )


def _as_string_array(values, name: str) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.astype(object).where(values.notna(), None).tolist()
    if not isinstance(values, pa.Array):
        values = pa.array(values, type=pa.string())
    if pa.types.is_large_string(values.type) or pa.types.is_string_view(values.type):
        values = values.cast(pa.string())
    if not pa.types.is_string(values.type):
        raise TypeError(f"{name} must hold strings (model ids); got Arrow type {values.type}.")
    return values


class IdIndex:
    """Match id strings to the positions of model ids: exactly first, then case-insensitively.

    Parameters
    ----------
    ids : pyarrow.Array
        Unique model ids (string type, no nulls).

    Notes
    -----
    The lower-cased ids are computed once, and only when some value has no exact match. Among
    model ids that differ only by case, a case-insensitive match gives the bytewise smallest id,
    so the answer does not depend on the input order. Everything is done with Arrow's hash and
    sort kernels on whole arrays.
    """

    def __init__(self, ids: pa.Array):
        self.ids = ids
        self._lower: pa.Array | None = None
        self._distinct: bool | None = None

    @property
    def distinct(self) -> bool:
        """Whether the ids are distinct (found by the first :meth:`match` at no extra cost, else hashed here)."""
        if self._distinct is None:
            self._distinct = len(pc.unique(self.ids)) == len(self.ids)
        return self._distinct

    def _exact(self, values: pa.Array) -> np.ndarray:
        """Position of the first model id equal to each value (-1 for none and for nulls).

        The ids and the values are hashed together by one dictionary encoding (ids first): an id's dictionary
        entry is its first occurrence, so the same pass tells whether the ids are distinct.
        """
        m = len(self.ids)
        enc = pc.dictionary_encode(pa.concat_arrays([self.ids, values.cast(self.ids.type)]))
        ix = np.asarray(enc.indices.fill_null(-1), dtype=np.int64)
        first = np.full(len(enc.dictionary), -1, dtype=np.int64)   # dictionary entry -> first position in ids
        own = ix[:m]
        if self._distinct is None:
            self._distinct = bool(np.array_equal(own, np.arange(m)))
        if self._distinct:
            first[:m] = np.arange(m)
        else:
            first[own[::-1]] = np.arange(m - 1, -1, -1)
        vals = ix[m:]
        return np.where(vals >= 0, first[vals], -1)

    def _lower_ids(self) -> pa.Array:
        if self._lower is None:
            self._lower = pc.utf8_lower(self.ids)
        return self._lower

    def match(self, values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Positions in ``ids`` of each value.

        Parameters
        ----------
        values : pyarrow.Array
            Strings to look up (nulls allowed).

        Returns
        -------
        positions : numpy.ndarray
            int64 position of the matching model id, ``-1`` where none matches (and for nulls).
        case_matched : numpy.ndarray
            bool, the value matched only case-insensitively.
        """
        n = len(values)
        case = np.zeros(n, dtype=bool)
        if n == 0 or len(self.ids) == 0:
            return np.full(n, -1, dtype=np.int64), case
        pos = self._exact(values)
        miss = np.flatnonzero((pos < 0) & np.asarray(values.is_valid(), dtype=bool))
        if miss.size == 0:
            return pos, case
        want = pc.utf8_lower(values.take(pa.array(miss)))
        lower = self._lower_ids()
        cand = np.flatnonzero(np.asarray(pc.is_in(lower, value_set=want).fill_null(False), dtype=bool))
        if cand.size == 0:
            return pos, case
        cand_lower = lower.take(pa.array(cand))
        order = np.asarray(pc.sort_indices(
            pa.table({"lower": cand_lower, "id": self.ids.take(pa.array(cand))}),
            sort_keys=[("lower", "ascending"), ("id", "ascending")]), dtype=np.int64)
        sorted_lower = cand_lower.take(pa.array(order))
        first = np.ones(order.size, dtype=bool)  # the smallest id of each lower-case group
        if order.size > 1:
            first[1:] = ~np.asarray(pc.equal(sorted_lower.slice(1), sorted_lower.slice(0, order.size - 1)), dtype=bool)
        keep = order[first]
        hit = np.asarray(pc.index_in(want, value_set=cand_lower.take(pa.array(keep))).fill_null(-1), dtype=np.int64)
        ok = hit >= 0
        pos[miss[ok]] = cand[keep[hit[ok]]]
        case[miss[ok]] = True
        return pos, case


def _jump(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Pointer jumping on a parent array (``-1`` = root).

    Returns ``(nxt, dist, unresolved, rounds)``: for resolved models ``nxt`` is the root and
    ``dist`` the depth; ``unresolved`` marks models whose chain runs into a cycle.
    """
    n = parent.shape[0]
    idx = np.arange(n, dtype=np.int64)
    is_root = parent < 0
    nxt = np.where(is_root, idx, parent)
    dist = (~is_root).astype(np.int32)
    active = np.flatnonzero(~is_root[nxt])  # models whose pointer is not yet a root
    rounds = 0
    previous = -1
    while active.size and active.size != previous:
        previous = active.size
        a_nxt = nxt[active]
        dist[active] += dist[a_nxt]
        nxt[active] = nxt[a_nxt]
        rounds += 1
        active = active[~is_root[nxt[active]]]
        # Each round at least halves the unresolved distance of every tree model; if a round
        # resolves none of the remaining models they all lead into cycles (see module notes).
    return nxt, dist, active, rounds


def _cycle_members(parent: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Positions of the models that lie on a cycle, given the models that lead into cycles.

    From every cycle-bound model, walk ``2**k - 1 >= len(bound)`` steps (by doubling): each walk
    then stands on its cycle, because no tail into a cycle is longer than ``len(bound)``. Every
    member of a cycle is reached, since the parent map is a bijection on a cycle.
    """
    pos = bound.copy()
    hop = parent.copy()  # hop = parent applied 2**k times, kept up to date on ``bound`` only
    steps = 1
    while steps <= bound.size:
        pos = hop[pos]
        hop[bound] = hop[hop[bound]]
        steps *= 2
    return np.unique(pos)


def _cycle_representatives(parent: np.ndarray, members: np.ndarray, ids: pa.Array) -> np.ndarray:
    """For each cycle, the member with the lexicographically smallest id."""
    member_ids = ids.take(pa.array(members))
    order = np.asarray(pc.sort_indices(member_ids))  # lexicographic by UTF-8 bytes
    rank = np.empty(members.size, dtype=np.int64)
    rank[order] = np.arange(members.size)
    local = np.searchsorted(members, parent[members])  # parent's position within ``members``
    best = rank.copy()
    hop = local.copy()
    while True:
        new_best = np.minimum(best, best[hop])
        hop = hop[hop]
        if np.array_equal(new_best, best):
            break
        best = new_best
    reps = members[order[np.unique(best)]]
    return reps


def resolve_lineage(ids, parents, parent_positions: np.ndarray | None = None,
                    index: IdIndex | None = None) -> LineageResult:
    """Resolve each model's lineage root, depth and flags on the whole graph at once.

    Parameters
    ----------
    ids : sequence of str, pandas.Series or pyarrow.Array
        Unique model ids (no nulls).
    parents : sequence of str or None, pandas.Series or pyarrow.Array
        The parent id of each model (aligned with ``ids``), null for a model without a parent.
        With several parents (a merge) pass the one your merge rule chose.
    parent_positions : numpy.ndarray, optional
        The position in ``ids`` of each parent as :meth:`IdIndex.match` finds it (``-1`` for none), when the
        caller has already matched the parents (:func:`analysis.origin.tag_models` has): saves a second look-up.
    index : IdIndex, optional
        The :class:`IdIndex` of ``ids`` the caller matched with: whether the ids are distinct is then known
        without hashing them again (an index of other ids is ignored).

    Returns
    -------
    LineageResult
        Arrays aligned with ``ids`` and summary counts.

    Raises
    ------
    ValueError
        If the lengths differ, an id is null, or ids repeat (the message names some).

    Notes
    -----
    Parent ids are matched to model ids exactly, then case-insensitively where no exact match
    exists (:class:`IdIndex`), with Arrow's hash kernels. Time and memory are linear in the number of models times ``log2`` of the deepest chain.
    """
    ids = _as_string_array(ids, "ids")
    parents = _as_string_array(parents, "parents")
    n = len(ids)
    if len(parents) != n:
        raise ValueError(f"resolve_lineage: ids has {n} entries but parents has {len(parents)}; pass one parent per id.")
    if ids.null_count:
        raise ValueError(f"resolve_lineage: ids contains {ids.null_count} null(s); every model needs an id.")
    if index is None or len(index.ids) != n or not index.ids.equals(ids):
        index = IdIndex(ids)
    pidx = case_matched = None
    if parent_positions is None:
        pidx, case_matched = index.match(parents)   # also finds whether the ids are distinct
    if not index.distinct:
        vc = pc.value_counts(ids)
        dup = pc.filter(vc.field("values"), pc.greater(vc.field("counts"), 1))
        raise ValueError(
            f"resolve_lineage: {len(dup)} id(s) repeat, e.g. {dup[:5].to_pylist()}; deduplicate by id "
            "(keep the latest snapshot's metadata) first."
        )
    has_parent = np.asarray(parents.is_valid())
    if parent_positions is not None:
        pidx = np.asarray(parent_positions, dtype=np.int64)
        if pidx.shape != (n,) or (pidx >= n).any() or (~has_parent & (pidx >= 0)).any():
            raise ValueError("resolve_lineage: parent_positions must give one position (or -1) per model, "
                             "-1 where the parent is null")
        case_matched = np.zeros(n, dtype=bool)
        hit = np.flatnonzero(pidx >= 0)
        if hit.size:   # a match whose id differs from the parent string matched only case-insensitively
            case_matched[hit] = ~np.asarray(pc.equal(ids.take(pa.array(pidx[hit])), parents.take(pa.array(hit)))
                                            .to_numpy(zero_copy_only=False), dtype=bool)
    parent = np.full(n, NO_PARENT, dtype=np.int64)
    parent[has_parent] = DANGLING
    hit = pidx >= 0
    parent[hit] = pidx[hit]
    own = np.arange(n, dtype=np.int64)
    self_ref = parent == own
    parent[self_ref] = NO_PARENT
    dangling = parent == DANGLING

    structural = np.where(parent >= 0, parent, NO_PARENT)
    nxt, dist, bound, rounds = _jump(structural)
    n_cycles = 0
    on_cycle = np.zeros(n, dtype=bool)
    if bound.size:
        members = _cycle_members(structural, np.sort(bound))
        on_cycle[members] = True
        reps = _cycle_representatives(structural, members, ids)
        n_cycles = int(reps.size)
        structural[reps] = NO_PARENT
        parent[reps] = NO_PARENT
        # Re-resolve the cycle-bound models only; their chains stay inside ``bound``.
        sub = np.sort(bound)
        local_parent = np.full(sub.size, NO_PARENT, dtype=np.int64)
        has = structural[sub] >= 0
        local_parent[has] = np.searchsorted(sub, structural[sub][has])
        l_nxt, l_dist, l_bound, l_rounds = _jump(local_parent)
        if l_bound.size:  # pragma: no cover - would mean a bug in cycle breaking
            raise RuntimeError("resolve_lineage: cycles remain after breaking them; please report this input.")
        nxt[sub] = sub[l_nxt]
        dist[sub] = l_dist
        rounds += l_rounds

    root_dangling = dangling[nxt]
    dangling_parent = pc.if_else(pa.array(root_dangling), parents.take(pa.array(nxt)), pa.scalar(None, pa.string()))
    cycle = on_cycle | self_ref
    return LineageResult(
        ids=ids,
        parent_index=parent,
        root_index=nxt,
        depth=dist,
        cycle=cycle,
        self_reference=self_ref,
        dangling=dangling,
        root_dangling=root_dangling,
        dangling_parent=dangling_parent,
        n_models=n,
        n_with_parent=int(has_parent.sum()),
        n_self_references=int(self_ref.sum()),
        n_cycles=n_cycles,
        n_cycle_models=int(on_cycle.sum()),
        n_dangling=int(dangling.sum()),
        max_depth=int(dist.max()) if n else 0,
        rounds=rounds,
        case_matched=case_matched,
        n_case_matched=int(case_matched.sum()),
    )
