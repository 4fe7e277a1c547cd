"""Known-answer tests of lineage resolution (analysis.origin.lineage) and of the benchmark graph."""

import numpy as np
import pyarrow as pa
import pytest

from devtools.origin_bench import run, synthetic_graph
from analysis.origin.lineage import resolve_lineage


def frame(ids, parents):
    return resolve_lineage(ids, parents).to_frame().set_index("id")


def test_chain_resolves_to_root_with_depths():
    ids = ["q/base", "b/gguf", "u/ft", "u/ft2"]
    parents = [None, "q/base", "b/gguf", "u/ft"]
    f = frame(ids, parents)
    assert f["lineage_root"].tolist() == ["q/base"] * 4
    assert f["lineage_depth"].tolist() == [0, 1, 2, 3]
    assert not f["cycle"].any() and not f["dangling"].any()


def test_input_order_does_not_matter():
    ids = ["u/ft2", "u/ft", "b/gguf", "q/base"]
    parents = ["u/ft", "b/gguf", "q/base", None]
    f = frame(ids, parents)
    assert f.loc["u/ft2", "lineage_root"] == "q/base"
    assert f.loc["u/ft2", "lineage_depth"] == 3


def test_long_chain_needs_log_rounds():
    n = 1000
    ids = [f"m/{i:04d}" for i in range(n)]
    parents = [None] + ids[:-1]
    res = resolve_lineage(ids, parents)
    assert res.depth.tolist() == list(range(n))
    assert set(res.root_ids.to_pylist()) == {"m/0000"}
    assert res.rounds <= 12  # ceil(log2(1000)) = 10 plus the convergence check


def test_self_reference_is_its_own_root_and_flagged():
    res = resolve_lineage(["u/self", "u/child"], ["u/self", "u/self"])
    f = res.to_frame().set_index("id")
    assert f.loc["u/self", "lineage_root"] == "u/self"
    assert f.loc["u/self", "lineage_depth"] == 0
    assert f.loc["u/self", "self_reference"] and f.loc["u/self", "cycle"]
    assert f.loc["u/child", "lineage_root"] == "u/self"
    assert f.loc["u/child", "lineage_depth"] == 1
    assert res.n_self_references == 1 and res.n_cycles == 0


def test_cycle_is_broken_at_smallest_id_whatever_the_order():
    ids = ["u/c", "u/a", "u/b", "u/tail", "u/leaf"]
    parents = ["u/a", "u/b", "u/c", "u/c", "u/tail"]  # child -> parent: c -> a -> b -> c; tail -> c; leaf -> tail
    for perm in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        res = resolve_lineage([ids[i] for i in perm], [parents[i] for i in perm])
        f = res.to_frame().set_index("id")
        assert f.loc["u/a", "lineage_root"] == "u/a" and f.loc["u/a", "lineage_depth"] == 0
        assert f.loc["u/c", "lineage_depth"] == 1 and f.loc["u/b", "lineage_depth"] == 2
        assert f.loc["u/leaf", "lineage_root"] == "u/a" and f.loc["u/leaf", "lineage_depth"] == 3
        assert f["cycle"].to_dict() == {"u/a": True, "u/b": True, "u/c": True, "u/tail": False, "u/leaf": False}
        assert res.n_cycles == 1 and res.n_cycle_models == 3


def test_two_separate_cycles_are_counted():
    ids = ["x/1", "x/2", "y/1", "y/2", "y/3"]
    parents = ["x/2", "x/1", "y/2", "y/3", "y/1"]
    res = resolve_lineage(ids, parents)
    assert res.n_cycles == 2 and res.n_cycle_models == 5
    assert res.root_ids.to_pylist() == ["x/1", "x/1", "y/1", "y/1", "y/1"]


def test_dangling_parent_root_is_last_model_that_resolves():
    res = resolve_lineage(["u/d", "u/child"], ["gone/model", "u/d"])
    f = res.to_frame().set_index("id")
    assert f.loc["u/d", "lineage_root"] == "u/d" and f.loc["u/d", "lineage_depth"] == 0
    assert f.loc["u/d", "dangling"] and not f.loc["u/child", "dangling"]
    assert f.loc["u/child", "root_dangling"] and f.loc["u/child", "lineage_root"] == "u/d"
    assert f.loc["u/child", "dangling_parent"] == "gone/model"
    assert res.n_dangling == 1


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="repeat"):
        resolve_lineage(["a/1", "a/1"], [None, None])
    with pytest.raises(ValueError, match="2 entries"):
        resolve_lineage(["a/1", "a/2"], [None])
    with pytest.raises(ValueError, match="null"):
        resolve_lineage(pa.array(["a/1", None]), [None, None])


def test_empty_input():
    res = resolve_lineage([], [])
    assert res.n_models == 0 and res.max_depth == 0


def test_synthetic_graph_counts_are_recovered():
    ids, parents, truth = synthetic_graph(20_000, seed=3, n_self=7, n_cycles=11)
    res = resolve_lineage(ids, parents)
    assert res.n_self_references == 7
    assert res.n_cycles == 11
    assert res.n_cycle_models == truth["n_cycle_models"]
    assert res.n_dangling == truth["n_dangling"]
    assert np.all(res.depth[res.root_index == np.arange(res.n_models)] == 0)


def test_bench_smoke():
    out = run(5_000, seed=1)
    assert out["models"] == 5_000 and out["counts_match_planted"]
    counts, planted = out["counts"], out["planted"]
    for key in ("n_self_references", "n_cycles", "n_cycle_models", "n_dangling"):
        assert counts[key] == planted[key], key
    # dangling parents planted inside the long chains can only shorten them
    assert 9 <= counts["max_depth"] <= planted["max_depth"]
    assert counts["n_case_matched"] == 0  # the synthetic ids never differ only by case
    # pointer jumping: O(log2 depth) rounds for the trees plus as many again for the cycle pass (not O(depth))
    log_depth = int(np.ceil(np.log2(counts["max_depth"] + 1)))
    assert 1 <= out["rounds"] <= 2 * log_depth + 2 < counts["max_depth"]
    assert out["peak_rss_mb"] >= out["peak_rss_mb_before_resolution"] > 0


def test_case_differing_chain_resolves_case_insensitively():
    ids = ["Qwen/Qwen2.5-7B", "u/ft", "b/gguf"]
    parents = [None, "qwen/qwen2.5-7b", "U/FT"]  # each parent differs from its model id only by case
    res = resolve_lineage(ids, parents)
    f = res.to_frame().set_index("id")
    assert f["lineage_root"].tolist() == ["Qwen/Qwen2.5-7B"] * 3
    assert f["lineage_depth"].tolist() == [0, 1, 2]
    assert f["case_matched"].tolist() == [False, True, True]
    assert not f["dangling"].any() and res.n_dangling == 0 and res.n_case_matched == 2
    assert res.counts()["n_case_matched"] == 2


def test_exact_match_wins_over_case_insensitive_match():
    res = resolve_lineage(["a/X", "a/x", "u/c"], [None, None, "a/x"])
    f = res.to_frame().set_index("id")
    assert f.loc["u/c", "lineage_root"] == "a/x" and not f.loc["u/c", "case_matched"]


def test_ids_differing_only_by_case_resolve_to_the_smallest_whatever_the_order():
    ids = ["b/x", "B/x", "u/c"]
    parents = [None, None, "b/X"]  # no exact match; "B/x" < "b/x" bytewise
    for perm in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        f = frame([ids[i] for i in perm], [parents[i] for i in perm])
        assert f.loc["u/c", "lineage_root"] == "B/x" and f.loc["u/c", "case_matched"]


def test_case_insensitive_self_reference_and_true_dangling():
    res = resolve_lineage(["u/S", "u/d"], ["u/s", "gone/Model"])
    f = res.to_frame().set_index("id")
    assert f.loc["u/S", "self_reference"] and f.loc["u/S", "lineage_root"] == "u/S"
    assert f.loc["u/d", "dangling"] and f.loc["u/d", "dangling_parent"] == "gone/Model"
    assert res.n_self_references == 1 and res.n_dangling == 1


def test_long_tail_into_a_cycle():
    tail = [f"t/{i:03d}" for i in range(100)]
    ids = ["c/x", "c/y"] + tail
    parents = ["c/y", "c/x"] + ["c/x"] + tail[:-1]  # t/000 -> c/x, t/001 -> t/000, ...
    res = resolve_lineage(ids, parents)
    assert res.n_cycles == 1 and res.n_cycle_models == 2
    f = res.to_frame().set_index("id")
    assert f.loc["t/099", "lineage_root"] == "c/x" and f.loc["t/099", "lineage_depth"] == 100
    assert f.loc["c/y", "lineage_depth"] == 1 and not f.loc["t/050", "cycle"]


def test_the_id_index_finds_repeats_while_matching_and_matches_like_index_in():
    import pyarrow.compute as pc

    from analysis.origin.lineage import IdIndex

    rng = np.random.default_rng(3)
    ids = pa.array([f"o/m{i}" for i in rng.permutation(500)])
    values = pa.array([f"o/m{i}" if i % 7 else None for i in rng.integers(0, 600, 2000)])
    index = IdIndex(ids)
    pos, case = index.match(values)
    want = np.asarray(pc.index_in(values, value_set=ids).fill_null(-1), dtype=np.int64)
    assert np.array_equal(pos, want) and not case.any() and index.distinct
    twice = pa.concat_arrays([ids, ids.slice(10, 5)])            # five ids listed twice: their first position
    index = IdIndex(twice)
    pos, _ = index.match(values)
    assert np.array_equal(pos, want) and not index.distinct
    assert not IdIndex(twice).distinct and IdIndex(ids).distinct  # without a match, hashed on demand
    # repeats are refused also when the caller hands its own parent positions and index
    parents = pa.nulls(len(twice), pa.string())
    with pytest.raises(ValueError, match="5 id\\(s\\) repeat"):
        resolve_lineage(twice, parents, parent_positions=np.full(len(twice), -1), index=index)
    # an index of other ids is not trusted
    res = resolve_lineage(ids, pa.nulls(len(ids), pa.string()), parent_positions=np.full(len(ids), -1),
                          index=IdIndex(pa.array(["x/y"])))
    assert res.n_models == 500
