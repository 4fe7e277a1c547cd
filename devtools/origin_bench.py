"""Benchmark lineage resolution on a synthetic Hub-sized graph.

Usage::

    python -m devtools.origin_bench [--models 3000000] [--seed 0] [--tagging]

Prints one JSON object: the number of models, the seconds taken by
:func:`analysis.origin.lineage.resolve_lineage` (ids and parent ids as Arrow strings in, roots,
depths and flags out), the seconds taken to build the graph, and the process's peak resident
memory (MB, from ``getrusage``; it includes building the synthetic graph). On Linux the peak
mark is reset after the graph is built, so ``peak_rss_mb_during_resolution`` is the process's
peak while resolving (input arrays included) and ``rss_mb_at_resolution_start`` its size before.

The synthetic graph mimics the Hub's shape: most models are base models or at depth 1-3, with
a geometric tail to depth ~8 and a few deeper chains; a share of models are merges (their first
parent is used); a few self references, 2- and 3-cycles, and parents that are not models
(dangling ids).

With ``--tagging`` it times the whole :func:`~analysis.origin.tagging.tag_models` step instead, on a
synthetic raw table (``baseModels``, ``base_model:`` tags for 5% of derivatives) and the committed
registry.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analysis.origin.lineage import resolve_lineage

#: Share of models at each depth 0..8 (then a few deeper chains are added).
DEPTH_SHARES = np.array([0.50, 0.28, 0.12, 0.05, 0.025, 0.012, 0.007, 0.004, 0.002])


def synthetic_graph(n: int, seed: int = 0, *, dangling_share: float = 0.01,
                    n_self: int = 100, n_cycles: int = 200) -> tuple[pa.Array, pa.Array, dict]:
    """Ids and (first) parent ids of a synthetic lineage graph.

    Parameters
    ----------
    n : int
        Number of models.
    seed : int
        Seed of the random generator (the graph is deterministic given ``n`` and ``seed``).
    dangling_share : float
        Share of derivatives whose parent id is not a model.
    n_self, n_cycles : int
        Self references and cycles (alternately of length 2 and 3) to plant.

    Returns
    -------
    ids, parents : pyarrow.Array
        Model ids (``user<k>/model-<i>``) and parent ids (null for base models).
    truth : dict
        The planted counts and the deepest chain, for checks.
    """
    rng = np.random.default_rng(seed)
    shares = DEPTH_SHARES / DEPTH_SHARES.sum()
    depth = rng.choice(shares.size, size=n, p=shares).astype(np.int64)
    depth.sort(kind="stable")
    # a few long chains: the last 20 models get depths 9..28
    tail = min(20, n // 10)
    if tail:
        depth[-tail:] = np.arange(9, 9 + tail)
    order = rng.permutation(n)  # positions of the models in the output (ids are shuffled)
    parent_pos = np.full(n, -1, dtype=np.int64)
    starts = np.searchsorted(depth, np.arange(depth.max() + 2))
    for d in range(1, int(depth.max()) + 1):
        lo, hi = starts[d], starts[d + 1]
        plo, phi = starts[d - 1], starts[d]
        if hi > lo and phi > plo:
            parent_pos[lo:hi] = rng.integers(plo, phi, size=hi - lo)
    # long chains: make each tail model the child of the previous one
    if tail:
        parent_pos[n - tail + 1:] = np.arange(n - tail, n - 1)
    owners = rng.integers(0, max(1, n // 20), size=n)
    names = pc.binary_join_element_wise(
        pc.cast(pa.array(owners), pa.string()), pc.cast(pa.array(np.arange(n)), pa.string()), "/model-")
    names = pc.binary_join_element_wise(pa.scalar("user"), names, "")
    ids_sorted_by_depth = names
    parent_ids = ids_sorted_by_depth.take(pa.array(np.where(parent_pos >= 0, parent_pos, 0)))
    parent_ids = pc.if_else(pa.array(parent_pos >= 0), parent_ids, pa.scalar(None, pa.string()))
    derived = np.flatnonzero(parent_pos >= 0)
    n_dangling = int(round(dangling_share * derived.size))
    dang = rng.choice(derived, size=n_dangling, replace=False) if n_dangling else np.array([], dtype=np.int64)
    mask = np.zeros(n, dtype=bool)
    mask[dang] = True
    gone = pc.binary_join_element_wise(pa.scalar("gone/"), ids_sorted_by_depth, "")
    parent_ids = pc.if_else(pa.array(mask), gone, parent_ids)
    # self references and cycles planted among base models (their descendants then resolve to them)
    base = rng.permutation(np.flatnonzero(depth == 0))
    self_pos = base[:n_self]
    cyc_pos = base[n_self:n_self + 5 * n_cycles]
    pid = parent_ids.to_numpy(zero_copy_only=False).astype(object)
    ids_np = ids_sorted_by_depth.to_numpy(zero_copy_only=False).astype(object)
    pid[self_pos] = ids_np[self_pos]
    k, planted, in_cycles = 0, 0, 0
    while planted < n_cycles and k + 3 <= cyc_pos.size:
        length = 2 + planted % 2
        members = cyc_pos[k:k + length]
        pid[members] = ids_np[np.roll(members, -1)]
        k += length
        planted += 1
        in_cycles += length
    ids_out = pa.array(ids_np[order], pa.string())
    parents_out = pa.array(pid[order], pa.string())
    truth = {"n_self_references": int(self_pos.size), "n_cycles": planted, "n_cycle_models": in_cycles,
             "n_dangling": n_dangling, "max_depth": int(depth.max())}
    return ids_out, parents_out, truth


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KiB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0


def _proc_status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB, or None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process (Linux >= 4.0); True if done."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def run(n: int, seed: int = 0) -> dict:
    """Build a graph of ``n`` models, resolve it, and return the measurements."""
    t0 = time.perf_counter()
    ids, parents, truth = synthetic_graph(n, seed)
    t1 = time.perf_counter()
    gc.collect()
    rss_before = peak_rss_mb()
    reset = _reset_peak_rss()
    current_before = _proc_status_mb("VmRSS")
    result = resolve_lineage(ids, parents)
    t2 = time.perf_counter()
    resolution_peak = _proc_status_mb("VmHWM") if reset else None
    counts = result.counts()
    checks = {k: counts[k] == truth[k] for k in ("n_self_references", "n_cycles", "n_cycle_models", "n_dangling")}
    return {
        "models": n,
        "seconds": round(t2 - t1, 3),
        "build_seconds": round(t1 - t0, 3),
        "peak_rss_mb": round(max(rss_before, peak_rss_mb()), 1),
        "peak_rss_mb_before_resolution": round(rss_before, 1),
        "rss_mb_at_resolution_start": round(current_before, 1) if current_before is not None else None,
        "peak_rss_mb_during_resolution": round(resolution_peak, 1) if resolution_peak is not None else None,
        "rounds": result.rounds,
        "counts": counts,
        "planted": truth,
        "counts_match_planted": all(checks.values()),
    }


def synthetic_models_table(ids: pa.Array, parents: pa.Array, seed: int = 0) -> pa.Table:
    """Raw-schema table (id, author, tags, baseModels) for a synthetic graph.

    About 5% of the derivatives declare their parent only in ``base_model:`` tags (no
    ``baseModels``), as on the Hub; the ``author`` field is the id namespace, but for about 1% of
    the models it names a registered organisation instead, so that the author/namespace
    disagreement check is exercised (the uploader is always the id namespace).
    """
    from analysis.schema import BASE_MODELS_TYPE

    rng = np.random.default_rng(seed + 1)
    n = len(ids)
    has = np.asarray(parents.is_valid())
    tags_only = has & (rng.random(n) < 0.05)
    in_bm = has & ~tags_only
    author = pc.list_element(pc.split_pattern(ids, "/", max_splits=1), 0)
    orgs = pa.array(["Qwen", "meta-llama", "google", "mistralai", "deepseek-ai", "bartowski"])
    pick = rng.random(n) < 0.01
    author = pc.if_else(pa.array(pick), orgs.take(pa.array(rng.integers(0, len(orgs), n))), author)
    # baseModels: one-parent lists where declared in baseModels, null elsewhere
    child = pa.StructArray.from_arrays([parents.filter(pa.array(in_bm))], names=["id"])
    offsets = np.zeros(n + 1, dtype=np.int32)
    offsets[1:] = np.cumsum(in_bm)
    models = pa.ListArray.from_arrays(pa.array(offsets), child, mask=pa.array(~in_bm))
    relation = pc.if_else(pa.array(in_bm), pa.scalar("finetune"), pa.scalar(None, pa.string()))
    base_models = pa.StructArray.from_arrays([relation, models], fields=list(BASE_MODELS_TYPE),
                                             mask=pa.array(~in_bm))
    tag = pc.binary_join_element_wise(pa.scalar("base_model:finetune:"), pc.fill_null(parents, ""), "")
    tag_off = np.zeros(n + 1, dtype=np.int32)
    tag_off[1:] = np.cumsum(has.astype(np.int32) + 1)
    flat = np.empty(int(tag_off[-1]), dtype=object)
    flat[tag_off[:-1]] = "text-generation"
    flat[tag_off[1:][has] - 1] = np.asarray(tag.filter(pa.array(has)).to_numpy(zero_copy_only=False), dtype=object)
    tags = pa.ListArray.from_arrays(pa.array(tag_off), pa.array(flat, pa.string()))
    return pa.table({"id": ids, "author": author, "tags": tags, "baseModels": base_models})


def run_tagging(n: int, seed: int = 0) -> dict:
    """Time :func:`analysis.origin.tagging.tag_models` on a synthetic raw table of ``n`` models."""
    from analysis.origin.registry import load_registry
    from analysis.origin.tagging import tag_models
    from analysis.paths import Paths

    ids, parents, _ = synthetic_graph(n, seed)
    table = synthetic_models_table(ids, parents, seed)
    del ids, parents
    registry = load_registry(Paths.default().organizations_file)
    gc.collect()
    reset = _reset_peak_rss()
    start_rss = _proc_status_mb("VmRSS")
    t0 = time.perf_counter()
    tags = tag_models(table, registry)
    seconds = time.perf_counter() - t0
    peak = _proc_status_mb("VmHWM") if reset else None
    return {
        "models": n,
        "tag_models_seconds": round(seconds, 3),
        "rss_mb_at_tagging_start": round(start_rss, 1) if start_rss is not None else None,
        "peak_rss_mb_during_tagging": round(peak, 1) if peak is not None else None,
        "parent_sources": {str(k): int(v) for k, v in tags["parent_source"].value_counts().items()},
        "lineage": tags.attrs["lineage"],
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3_000_000, help="number of models (default 3,000,000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--tagging", action="store_true",
                        help="time the whole tag_models step (parent extraction, lineage, registry) instead")
    args = parser.parse_args(argv)
    if args.models < 10:
        parser.error("--models must be at least 10")
    out = run_tagging(args.models, args.seed) if args.tagging else run(args.models, args.seed)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
