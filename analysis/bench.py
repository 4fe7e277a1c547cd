"""Hub-scale benchmark of the raw-to-panel chain: ``python -m analysis bench``.

Usage::

    python -m analysis bench [--models 2500000] [--weeks 104] [--out data/bench] [--seed 0] [--workers 2]
                             [--no-row-codes]

What it does
------------
1. Builds (or reuses) a simulated raw store at that scale under ``--out`` (default ``data/bench/``, which git
   ignores): one parquet file per weekly snapshot, ``<out>/m<models>-s<seed>/archive/<YYYY-MM-DD>.parquet``, in the
   normalised raw schema the pull writes (:data:`analysis.schema.RAW_SCHEMA`). The store is generated in a child
   process, so the memory it needs does not count in the measured peak. A store with at least ``--weeks`` snapshots
   for the same models and seed is reused (its first ``--weeks`` snapshots are used); missing weeks are added.
2. Times, in this process, each stage of the chain from the raw files to the panel, with the calls notebooks 02
   and 03 make:

   ``raw_read``
       The yardstick: a plain ``pyarrow.parquet.read_table`` of every file with the columns the chain reads
       (:data:`PROJECTED_COLUMNS`), one file at a time, done once before and once after the pass; the faster of
       the two counts (so the pass is not the only side to meet a warm page cache). Not part of the pass.
   ``catalog``
       :func:`analysis.catalog.build_catalog`: the union of all models, newest metadata first (notebook 02).
   ``lineage``
       Parent extraction (:func:`analysis.origin.tagging.extract_parents`) and
       :func:`analysis.origin.resolve_lineage` on the union, timed on their own. ``tag_models`` resolves lineage
       again inside ``tagging``, so this stage is reported for information and is not added to the pass.
   ``tagging``
       :func:`analysis.origin.tag_models` on the catalog plus the join of the catalog columns, and writing
       ``models.parquet`` (notebook 02).
   ``aggregation``
       :func:`analysis.panel.build_panel`: the streaming pass over the snapshots that sums downloads into the panel,
       the top-N rankings and the top organisations, and writing the three tables (notebook 03). By default the
       catalog pass writes its row codes (each raw row's catalog row, found anyway when it compares consecutive
       snapshots) to a temporary folder of the store, and this pass uses them instead of reading and hashing every
       snapshot's ids again;
       ``--no-row-codes`` times the pass that matches ids (what notebook 03 does until notebook 02 writes the codes).

3. Prints one JSON object: wall seconds, peak resident memory (after each stage, and overall), rows per second of
   each stage, and ``ratio_to_read`` = (catalog + tagging + aggregation seconds) / raw_read seconds. Because wall
   times depend on what else the machine runs, each stage also reports its CPU seconds (all threads of this
   process), with ``ratio_to_read_cpu`` computed on them, and the report gives the 1-minute load average before
   and after.

The simulated store
-------------------
Vectorised (no per-model Python loop), deterministic given ``models`` and ``seed``. The Hub grows over
:data:`HORIZON_WEEKS` weeks to about ``models`` models in the last week, with some models deleted along the way (they
stay in older snapshots only). Ids look like the Hub's (``bartowski/Qwen2.5-7B-Instruct-k3f9a-GGUF``; the short
base-36 token keeps them unique). Authors mix the real accounts of :data:`analysis.simulate.ACCOUNTS` (organisations,
redistributors) with many synthetic individuals (Zipf-distributed activity). Lineage: about 45% base models, the
others fine-tunes, quantizations, adapters and merges of earlier models (chains of realistic depth, a few dangling
parents, self references and 2-cycles), declared in ``baseModels`` and in ``base_model:`` tags (some only in tags).
Downloads are heavy-tailed (Pareto) with a long tail of models nobody downloads; ``downloadsAllTime`` is a
monotone cumulative count (with the occasional decrease seen on the Hub) present from 2025-02-26 on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .catalog import ordered_map
from .schema import BASE_MODELS_TYPE, RAW_SCHEMA
from .simulate import lineage_roots

#: Bump when the generator changes: stores written by another version are rebuilt.
GENERATOR_VERSION = 1

#: Date of the first simulated snapshot (the first snapshot of the real archive).
START = dt.date(2024, 7, 24)

#: First date with ``downloadsAllTime`` in the real archive.
ALLTIME_FROM = dt.date(2025, 2, 26)

#: Weeks over which the simulated Hub grows to ``models`` models.
HORIZON_WEEKS = 104

#: Columns of the raw files the chain reads (catalog + panel); the yardstick read uses exactly these.
PROJECTED_COLUMNS = ["id", "author", "createdAt", "pipeline_tag", "library_name", "tags", "baseModels",
                     "downloads", "downloadsAllTime"]

#: Rows per parquet row group in the generated files.
ROW_GROUP_SIZE = 262_144

_FAMILIES = ["Llama-3.1", "Llama-3.2", "Meta-Llama-3", "Qwen2.5", "Qwen3", "Qwen2-VL", "Mistral", "Mixtral",
             "gemma-2", "gemma-3", "Phi-3.5-mini", "Phi-4", "DeepSeek-R1-Distill-Qwen", "DeepSeek-V3",
             "bert-base-uncased", "roberta-large", "stable-diffusion-xl", "FLUX.1-dev", "whisper-large-v3",
             "all-MiniLM-L6", "bge-m3", "SmolLM2", "Yi-1.5", "internlm2_5", "glm-4", "granite-3.1", "OLMo-2",
             "Falcon3", "EXAONE-3.5", "MiniCPM-V"]
_SIZES = ["0.5B", "1.5B", "3B", "7B", "8B", "14B", "32B", "70B", "135M", "360M", "1B", "72B"]
_VARIANTS = ["Instruct", "Chat", "Coder", "Base", "it", "Math", "Vision", "v0.1", "v2", "Preview", "Reasoning", ""]
_SUFFIXES = {
    "base": [""],
    "finetune": ["sft", "dpo", "orpo", "finetuned", "lora-merged", "uncensored", "roleplay", "ft"],
    "quantized": ["GGUF", "i1-GGUF", "AWQ", "GPTQ-Int4", "bnb-4bit", "mlx-4bit", "Q4_K_M-GGUF", "exl2", "FP8"],
    "adapter": ["lora", "LoRA", "adapter", "peft", "qlora"],
    "merge": ["merge", "slerp", "TIES", "dare-ties", "passthrough"],
}
_RELATIONS = ["base", "finetune", "quantized", "adapter", "merge"]
_PIPELINES = ["text-generation", "image-text-to-text", "feature-extraction", "sentence-similarity",
              "text-to-image", "fill-mask", "automatic-speech-recognition", "text-classification", None]
_PIPELINE_P = [0.38, 0.06, 0.08, 0.07, 0.1, 0.05, 0.05, 0.08, 0.13]
_LIBRARIES = ["transformers", "sentence-transformers", "diffusers", "peft", "timm", "pytorch", None]
_LIBRARY_P = [0.55, 0.08, 0.1, 0.12, 0.03, 0.02, 0.1]
_LICENSES = ["license:apache-2.0", "license:mit", "license:llama3.1", "license:other", "license:cc-by-nc-4.0",
             "license:gemma", "license:openrail"]
_EXTRA_TAGS = ["conversational", "en", "zh", "text-generation-inference", "endpoints_compatible", "safetensors"]
_SYLLABLES = ["ka", "li", "zhang", "wei", "mo", "ra", "dan", "tech", "ai", "lab", "neo", "xu", "chen", "john", "sam",
              "yu", "ming", "hugo", "ana", "dev", "ml", "bit", "nova", "deep", "byte", "tom", "lee", "park", "kim",
              "ivan", "ola", "max"]
_B36 = list("0123456789abcdefghijklmnopqrstuvwxyz")


class BenchError(RuntimeError):
    """A benchmark store that cannot be built or read; the message says which folder and what to do."""


# ------------------------------------------------------------------------------------------------------------
# The simulated store
# ------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoreSpec:
    """What a simulated raw store holds.

    Parameters
    ----------
    models : int
        About the number of models in the last week of :data:`HORIZON_WEEKS` (earlier weeks have fewer).
    seed : int
        Seed of the generator.
    horizon : int
        Weeks over which the Hub grows; snapshots beyond it keep growing at the same pace.
    """

    models: int
    seed: int = 0
    horizon: int = HORIZON_WEEKS

    def folder(self, out: Path) -> Path:
        """Folder of this store under ``out``."""
        return Path(out) / f"m{self.models}-s{self.seed}"

    @staticmethod
    def date(week: int) -> dt.date:
        """Date of weekly snapshot ``week`` (0 = :data:`START`)."""
        return START + dt.timedelta(weeks=week)


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _pick(values: list, idx: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(idx))


def _base36(k: np.ndarray, width: int) -> pa.Array:
    digits = []
    for _ in range(width):
        digits.append(_pick(_B36, k % 36))
        k = k // 36
    return _join(*digits[::-1])


@dataclass(frozen=True)
class _Hub:
    """Static per-model arrays of a simulated store (everything except the weekly download columns)."""

    static: pa.Table          # id, author, createdAt, pipeline_tag, library_name, tags, baseModels (union order)
    created: np.ndarray       # week of creation (negative: before the first snapshot)
    deleted: np.ndarray       # week from which the model is gone (large: never)
    pop: np.ndarray           # popularity (30-day downloads scale; 0 for the long tail)
    base_alltime: np.ndarray  # all-time downloads before the first snapshot
    depth: np.ndarray         # lineage depth (declared primary parent chain)


def _simulate_static(spec: StoreSpec) -> _Hub:
    from .simulate import ACCOUNTS

    rng = np.random.default_rng([spec.seed, 17])
    n = max(int(round(spec.models / 0.975)), 50)
    n_before = int(0.72 * n)
    created = np.concatenate([np.sort(rng.uniform(-150.0, -0.01, n_before)),
                              np.sort(rng.uniform(0.0, spec.horizon, n - n_before))])
    deleted = np.full(n, 10**6, dtype=np.float64)
    gone = rng.random(n) < 0.04
    deleted[gone] = np.maximum(created[gone], 0.0) + rng.exponential(60.0, gone.sum()) + 1.0

    # --- accounts ----------------------------------------------------------------------------------------
    orgs = [a for a, (_, k, _) in ACCOUNTS.items() if k in ("company", "academic", "non-profit", "government")]
    org_w = np.array([ACCOUNTS[a][2] for a in orgs])
    org_w = org_w / org_w.sum()
    redis = [a for a, (_, k, _) in ACCOUNTS.items() if k in ("redistributor", "community")]
    n_ind = max(n // 6, 20)
    k = np.arange(n_ind)
    syl = len(_SYLLABLES)
    individuals = _join(_pick(_SYLLABLES, k % syl), _pick(_SYLLABLES, (k // syl) % syl),
                        pa.array(np.char.mod("%d", k // (syl * syl)).astype(object), pa.string()))
    ind_w = 1.0 / (k + 1.0) ** 1.05
    ind_w /= ind_w.sum()

    # --- lineage -----------------------------------------------------------------------------------------
    is_base = rng.random(n) < 0.45
    is_base[:20] = True
    org_base = is_base & (rng.random(n) < 0.03)
    org_base[:len(orgs)] = True
    rel = np.where(is_base, 0, rng.choice([1, 2, 3, 4], size=n, p=[0.5, 0.3, 0.15, 0.05]))
    parent = np.full(n, -1, dtype=np.int64)
    der = np.flatnonzero(~is_base)
    org_pos = np.flatnonzero(org_base)
    n_org_before = np.searchsorted(org_pos, der)
    u = rng.random(der.size)
    to_org = org_pos[np.minimum((n_org_before * u ** 2).astype(np.int64), np.maximum(n_org_before - 1, 0))]
    to_any = np.minimum((der * rng.random(der.size)).astype(np.int64), der - 1)
    parent[der] = np.where((rng.random(der.size) < 0.6) & (n_org_before > 0), to_org, to_any)
    root, depth = lineage_roots(parent)
    second = np.full(n, -1, dtype=np.int64)
    merges = der[rel[der] == 4]
    second[merges] = (merges * rng.random(merges.size)).astype(np.int64)

    # --- uploaders ---------------------------------------------------------------------------------------
    author_kind = np.zeros(n, dtype=np.int8)  # 0 individual, 1 organisation, 2 redistributor
    author_kind[org_base] = 1
    r = rng.random(n)
    author_kind[~is_base & (rel == 2) & (r < 0.6)] = 2
    author_kind[~is_base & (r > 0.97)] = 1
    org_of = rng.choice(len(orgs), size=n, p=org_w)
    org_of[:len(orgs)] = np.arange(len(orgs))
    ind_of = rng.choice(n_ind, size=n, p=ind_w)
    red_of = rng.integers(0, len(redis), n)
    authors = pa.concat_arrays([pa.array(orgs, pa.string()), pa.array(redis, pa.string()), individuals])
    author_ix = np.where(author_kind == 1, org_of,
                         np.where(author_kind == 2, len(orgs) + red_of, len(orgs) + len(redis) + ind_of))
    author = authors.take(pa.array(author_ix))

    # --- names: family and size of the lineage root, variant, unique token, relation suffix -----------------
    fam = rng.integers(0, len(_FAMILIES), n)[root]
    size = rng.integers(0, len(_SIZES), n)[root]
    variant = rng.integers(0, len(_VARIANTS), n)
    suffix_ix = np.zeros(n, dtype=np.int64)
    suffix_vals: list[str] = []
    for code, name in enumerate(_RELATIONS):
        m = rel == code
        suffix_ix[m] = len(suffix_vals) + rng.integers(0, len(_SUFFIXES[name]), m.sum())
        suffix_vals += _SUFFIXES[name]
    width = 5 if n < 36 ** 5 else 6
    token = _base36((np.arange(n, dtype=np.int64) * 48271 + 12345) % 36 ** width, width)  # a bijection
    name = _join(_pick(_FAMILIES, fam), _pick(_SIZES, size), _pick(_VARIANTS, variant), token,
                 _pick(suffix_vals, suffix_ix), sep="-")
    name = pc.replace_substring_regex(name, "-+", "-")
    name = pc.utf8_rtrim(name, "-")
    ids = _join(author, name, sep="/")

    # --- declared parents (with dangling ids, self references and 2-cycles planted in the zero tail) --------
    pop = (rng.pareto(1.1, n) + 1.0) * np.where(org_base, 400.0, 3.0)
    pop[(rng.random(n) < 0.62) & ~org_base] = 0.0
    pid = ids.take(pa.array(np.maximum(parent, 0)))
    pid2 = ids.take(pa.array(np.maximum(second, 0)))
    quiet = np.flatnonzero(~is_base & (pop == 0) & (author_kind == 0))
    quiet = rng.permutation(quiet)
    n_dang = max(1, der.size // 100)
    n_self = min(50, max(1, n // 20000))
    n_cyc = min(200, max(2, n // 10000)) // 2 * 2
    dang, selfr, cyc = quiet[:n_dang], quiet[n_dang:n_dang + n_self], quiet[n_dang + n_self:n_dang + n_self + n_cyc]
    over = np.full(n, -1, dtype=np.int64)  # index into replacement ids
    repl = [_join(_pick(["deleted-user"], np.zeros(dang.size, np.int64)), _base36(np.arange(dang.size), 5),
                  pa.array(["/removed-model"] * dang.size, pa.string())),
            ids.take(pa.array(selfr)), ids.take(pa.array(cyc[1::2])), ids.take(pa.array(cyc[0::2]))]
    targets = np.concatenate([dang, selfr, cyc[0::2], cyc[1::2]])
    over[targets] = np.arange(targets.size)
    repl_ids = pa.concat_arrays(repl)
    pid = pc.if_else(pa.array(over >= 0), repl_ids.take(pa.array(np.maximum(over, 0))), pid)
    has2 = second >= 0
    has2[targets] = False

    # --- columns ---------------------------------------------------------------------------------------
    relation_s = _pick(_RELATIONS, rel)
    tags_only = ~is_base & (rng.random(n) < 0.05)
    bm_valid = ~is_base & ~tags_only
    n_par = np.where(is_base, 0, 1 + has2)
    n_listed = n_par * bm_valid  # null baseModels have an empty list slot (canonical Arrow, as read from parquet)
    offsets = np.concatenate([[0], np.cumsum(n_listed)]).astype(np.int32)
    first, second_ = n_listed > 0, has2 & bm_valid
    order = np.argsort(np.concatenate([np.flatnonzero(first), np.flatnonzero(second_)]), kind="stable")
    flat_ids = pa.concat_arrays([pid.filter(pa.array(first)), pid2.filter(pa.array(second_))]).take(pa.array(order))
    models_list = pa.ListArray.from_arrays(pa.array(offsets), pa.StructArray.from_arrays([flat_ids], ["id"]))
    base_models = pa.StructArray.from_arrays([relation_s, models_list], fields=list(BASE_MODELS_TYPE),
                                             mask=pa.array(~bm_valid))

    pipe = rng.choice(len(_PIPELINES), n, p=_PIPELINE_P)
    lib = rng.choice(len(_LIBRARIES), n, p=_LIBRARY_P)
    lib_s = pc.if_else(pa.array(rel == 2), pa.scalar("gguf"), _pick(_LIBRARIES, lib))
    pipe_s = _pick(_PIPELINES, pipe)
    slots = [  # (values, present) in tag order
        (lib_s, np.asarray(lib_s.is_valid())),
        (pipe_s, np.asarray(pipe_s.is_valid())),
        (_join(pa.array(["base_model:"] * n, pa.string()), pid), n_par > 0),
        (_join(pa.array(["base_model:"] * n, pa.string()), pid2), has2),
        (_join(pa.array(["base_model:"] * n, pa.string()), relation_s, pa.array([":"] * n, pa.string()), pid),
         n_par > 0),
        (_pick(_EXTRA_TAGS, rng.integers(0, len(_EXTRA_TAGS), n)), rng.random(n) < 0.6),
        (_pick(_LICENSES, rng.integers(0, len(_LICENSES), n)), rng.random(n) < 0.8),
        (pa.array(["region:us"] * n, pa.string()), np.ones(n, dtype=bool)),
    ]
    present = np.column_stack([p for _, p in slots])
    flat_index = (np.arange(len(slots))[None, :] * n + np.arange(n)[:, None])[present]
    tag_values = pa.concat_arrays([v for v, _ in slots]).take(pa.array(flat_index))
    tag_offsets = np.concatenate([[0], np.cumsum(present.sum(axis=1))]).astype(np.int32)
    tags = pa.ListArray.from_arrays(pa.array(tag_offsets), tag_values)

    created_ms = ((dt.datetime.combine(START, dt.time(12), tzinfo=dt.timezone.utc).timestamp()
                   + created * 7 * 86400) * 1000).astype(np.int64)
    static = pa.table({
        "id": ids, "author": author,
        "createdAt": pa.array(created_ms, pa.timestamp("ms", tz="UTC")),
        "pipeline_tag": pipe_s, "library_name": lib_s, "tags": tags, "baseModels": base_models,
    })
    base_alltime = np.floor(pop * rng.uniform(0, 400, n) * (created < 0))
    return _Hub(static=static, created=created, deleted=deleted, pop=pop, base_alltime=base_alltime, depth=depth)


def _week_table(hub: _Hub, spec: StoreSpec, week: int) -> pa.Table:
    """The raw snapshot of one week, in :data:`analysis.schema.RAW_SCHEMA`."""
    alive = np.flatnonzero((hub.created <= week) & (hub.deleted > week))
    rng = np.random.default_rng([spec.seed, 29, week])
    pop = hub.pop[alive]
    dl = np.floor(pop * rng.lognormal(0.0, 0.35, alive.size)).astype(np.int64)
    date = spec.date(week)
    cols = hub.static.take(pa.array(alive))
    if date >= ALLTIME_FROM:
        age = week - np.maximum(hub.created[alive], 0.0)
        alltime = (hub.base_alltime[alive] + np.floor(pop * 7.0 / 30.0 * age * 1.02)).astype(np.int64)
        if week % 23 == 11:  # the Hub's all-time counter has been seen to decrease
            dec = rng.random(alive.size) < 0.01
            alltime = alltime - dec * np.minimum(alltime, 50)
        alltime_arr = pa.array(alltime, pa.int64())
    else:
        alltime_arr = pa.nulls(alive.size, pa.int64())
    arrays = {
        "id": cols["id"], "author": cols["author"], "createdAt": cols["createdAt"],
        "downloads": pa.array(dl, pa.int64()), "downloadsAllTime": alltime_arr,
        "likes": pa.array(dl // 5000, pa.int64()),
        "pipeline_tag": cols["pipeline_tag"], "library_name": cols["library_name"],
        "tags": cols["tags"], "baseModels": cols["baseModels"],
    }
    return pa.Table.from_arrays([arrays[f.name] for f in RAW_SCHEMA], schema=RAW_SCHEMA)


def _store_meta(folder: Path) -> dict | None:
    f = folder / "store.json"
    if not f.is_file():
        return None
    try:
        return json.loads(f.read_text())
    except json.JSONDecodeError:
        return None


def store_dates(spec: StoreSpec, out: Path) -> list[dt.date]:
    """Snapshot dates already written in the store of ``spec`` under ``out`` (empty if none or stale)."""
    folder = spec.folder(out)
    meta = _store_meta(folder)
    if meta is None or meta.get("generator_version") != GENERATOR_VERSION or \
            meta.get("spec") != json.loads(json.dumps(asdict(spec))):
        return []
    dates = [dt.date.fromisoformat(d) for d in meta.get("dates", [])]
    return [d for d in dates if (folder / "archive" / f"{d.isoformat()}.parquet").is_file()]


def generate_store(spec: StoreSpec, out: Path, weeks: int, *, log=print) -> Path:
    """Write the weekly snapshots ``0 .. weeks-1`` of ``spec`` that are not yet in the store.

    Parameters
    ----------
    spec : StoreSpec
        The store.
    out : Path
        Parent folder (the store goes to ``spec.folder(out)``).
    weeks : int
        Number of weekly snapshots wanted.
    log : callable
        Progress messages.

    Returns
    -------
    Path
        The store folder. Files are written atomically (temporary name, then rename); ``store.json`` lists the
        complete ones, so an interrupted build is resumed, never reused half-written.
    """
    folder = spec.folder(out)
    have = set(store_dates(spec, out))
    want = [spec.date(w) for w in range(weeks)]
    todo = [w for w in range(weeks) if spec.date(w) not in have]
    if not have and folder.exists():
        for f in (folder / "archive").glob("*.parquet"):
            f.unlink()
    (folder / "archive").mkdir(parents=True, exist_ok=True)
    if todo:
        t0 = time.perf_counter()
        hub = _simulate_static(spec)
        log(f"bench: simulated {hub.static.num_rows:,} models in {time.perf_counter() - t0:.1f} s; "
            f"writing {len(todo)} weekly snapshots to {folder}")
        done = sorted(have)

        def write(w: int) -> dt.date:
            f = folder / "archive" / f"{spec.date(w).isoformat()}.parquet"
            tmp = f.with_suffix(".parquet.tmp")
            pq.write_table(_week_table(hub, spec, w), tmp, row_group_size=ROW_GROUP_SIZE, compression="snappy")
            os.replace(tmp, f)
            return spec.date(w)

        for i, date in enumerate(ordered_map(write, todo, workers=2)):
            done.append(date)
            meta = {"generator_version": GENERATOR_VERSION, "spec": asdict(spec),
                    "dates": sorted({d.isoformat() for d in done}),
                    "union_models": hub.static.num_rows,
                    "lineage_depth_counts": {str(k): int(v) for k, v in
                                             zip(*np.unique(np.minimum(hub.depth, 20), return_counts=True))}}
            (folder / "store.json").write_text(json.dumps(meta, indent=1) + "\n")
            if (i + 1) % 10 == 0 or i + 1 == len(todo):
                log(f"bench: wrote {i + 1}/{len(todo)} snapshots ({time.perf_counter() - t0:.0f} s)")
    missing = [d for d in want if not (folder / "archive" / f"{d.isoformat()}.parquet").is_file()]
    if missing:
        raise BenchError(f"{folder}: snapshots {missing[:3]} were not written; delete the folder and rerun")
    return folder


# ------------------------------------------------------------------------------------------------------------
# Measurement
# ------------------------------------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB, macOS bytes)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024.0 / (1024.0 if sys.platform == "darwin" else 1.0), 1)


def bench_registry():
    """A registry of the real accounts the simulated store uses (their region as in :mod:`analysis.simulate`)."""
    from .origin.registry import registry_from_records
    from .simulate import ACCOUNTS

    country = {"CN": "CN", "US": "US", "EU": "FR", "OTHER": "AE"}
    records = []
    for account, (region, kind, _) in ACCOUNTS.items():
        org = kind in ("company", "academic", "non-profit", "government")
        records.append({"account": account, "organisation": account, "kind": kind,
                        "country": country[region] if org else "", "region": region if org else "",
                        "evidence": "simulated benchmark account (analysis.simulate.ACCOUNTS)"})
    return registry_from_records(records, source="analysis.bench registry")


@dataclass(frozen=True)
class StageTiming:
    """Wall time, CPU time (all threads) and rows of one stage, and the peak resident memory after it."""

    seconds: float
    cpu_seconds: float
    rows: int
    peak_rss_mb: float

    def as_dict(self) -> dict:
        return {"seconds": round(self.seconds, 3), "cpu_seconds": round(self.cpu_seconds, 3), "rows": self.rows,
                "rows_per_second": round(self.rows / self.seconds) if self.seconds > 0 else None,
                "peak_rss_mb_after": self.peak_rss_mb}


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _timed(fn, name: str = ""):
    """Run ``fn``; return its result, wall seconds and CPU seconds (this process, all threads)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    el, cpu = time.perf_counter() - t0, time.process_time() - c0
    if name:
        _log(f"{name}: {el:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak_rss_mb():.0f} MB, "
             f"load average {os.getloadavg()[0]:.1f}")
    return out, el, cpu


def _every(name: str, k: int = 10):
    t0 = time.perf_counter()

    def progress(i: int, n: int, date) -> None:
        if i % k == 0 or i == n:
            _log(f"  {name}: {i}/{n} snapshots ({time.perf_counter() - t0:.0f} s)")
    return progress


def measure(snapshots: list[tuple[dt.date, Path]], *, workers: int = 2, row_codes_dir: Path | None = None,
            outputs_dir: Path | None = None) -> dict:
    """Time every stage of the raw-to-panel chain on ``snapshots`` (see the module docstring).

    Parameters
    ----------
    snapshots : list of (date, path)
        Raw snapshot files.
    workers : int
        Threads for the catalog and panel passes.
    row_codes_dir : Path, optional
        Folder for the catalog's row codes, which the panel pass then uses instead of matching ids (as the
        notebooks do when wired so); None matches every snapshot by id.
    outputs_dir : Path, optional
        Folder the timed stages write their outputs to, as notebooks 02 and 03 do (``models.parquet``;
        ``panel.parquet``, ``rankings.parquet``, ``top_orgs.parquet``); default a temporary folder, removed after.

    Returns
    -------
    dict
        The report: ``stages`` (seconds, rows, rows per second, peak RSS after), ``pass_seconds``,
        ``ratio_to_read``, ``peak_rss_mb``, ``wall_seconds`` and checks of the outputs.
    """
    from .catalog import build_catalog
    from .panel import build_panel

    t_start = time.perf_counter()
    stages: dict[str, dict] = {}
    notes: dict[str, str] = {}

    def read_all():
        rows = 0
        for _, path in snapshots:
            names = pq.read_schema(path).names
            rows += pq.read_table(path, columns=[c for c in PROJECTED_COLUMNS if c in names]).num_rows
        return rows

    own_outputs = outputs_dir is None
    outputs_dir = Path(tempfile.mkdtemp(prefix="bench-outputs-")) if own_outputs else Path(outputs_dir)
    outputs_dir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    # the yardstick is read before and again after the pass, and the faster read counts, so that neither side
    # of ratio_to_read is the only one to pay for a cold page cache
    raw_rows, t_read_before, c_read_before = _timed(read_all, "raw read (before the pass)")

    catalog, t_cat, c_cat = _timed(lambda: build_catalog(snapshots, workers=workers, progress=_every("catalog"),
                                                         row_codes_dir=row_codes_dir), "catalog")
    stages["catalog"] = StageTiming(t_cat, c_cat, raw_rows, peak_rss_mb()).as_dict()
    n_models = catalog.num_rows

    try:
        from .origin import resolve_lineage, tag_models
        from .origin.tagging import extract_parents
    except ImportError as e:  # the tagging package is built by another part of the project
        tag_models = None
        notes["lineage"] = notes["tagging"] = f"unavailable: {e}"
    models = None
    t_tag = None
    if tag_models is not None:
        registry = bench_registry()

        def lineage():
            parents = extract_parents(catalog.select(["id", "author", "tags", "baseModels"]))
            return resolve_lineage(pa.array(parents["id"], pa.string()), pa.array(parents["parent"], pa.string()))

        lin, t_lin, c_lin = _timed(lineage, "lineage")
        stages["lineage"] = StageTiming(t_lin, c_lin, n_models, peak_rss_mb()).as_dict()
        notes["lineage"] = ("parent extraction + resolve_lineage on the union, timed alone; tag_models does it "
                            "again inside 'tagging', so it is not added to pass_seconds")
        del lin

        def tagging():
            tags = tag_models(catalog, registry, None, merge_parent="first")
            extra = catalog.select(["id", "createdAt", "pipeline_tag", "library_name", "last_seen"]).to_pandas()
            out = tags.merge(extra, on="id", how="left", validate="one_to_one")
            out.to_parquet(outputs_dir / "models.parquet", index=False)
            return out

        models, t_tag, c_tag = _timed(tagging, "tagging")
        stages["tagging"] = StageTiming(t_tag, c_tag, n_models, peak_rss_mb()).as_dict()
        notes["tagging"] = ("tag_models (includes its own lineage resolution) + join of the catalog columns + "
                            "writing models.parquet")
    del catalog
    report: dict = {}
    if models is not None:
        def aggregation():
            built = build_panel(snapshots, models, workers=workers, progress=_every("aggregation"),
                                row_codes_dir=row_codes_dir)
            for name, table in (("panel", built.panel), ("rankings", built.rankings), ("top_orgs", built.top_orgs)):
                table.to_parquet(outputs_dir / f"{name}.parquet", index=False)
            return built

        built, t_agg, c_agg = _timed(aggregation, "aggregation")
        stages["aggregation"] = StageTiming(t_agg, c_agg, built.rows_read, peak_rss_mb()).as_dict()
        notes["aggregation"] = ("build_panel: panel + rankings + top organisations in one streaming pass, and "
                                "writing them")
        pass_seconds = t_cat + t_tag + t_agg
        pass_cpu = c_cat + c_tag + c_agg
        shares = built.panel.groupby(["date", "measure", "rule", "scope"])["share"].sum(min_count=1).dropna()
        report["checks"] = {
            "panel_rows": len(built.panel), "rankings_rows": len(built.rankings), "top_orgs_rows": len(built.top_orgs),
            "rows_used_by_panel": built.rows_used, "untagged_rows": built.untagged_rows,
            "snapshots_matched_by_row_codes": built.snapshots_matched_by_codes,
            "row_codes_bytes": sum(f.stat().st_size for f in Path(row_codes_dir).iterdir()) if row_codes_dir else 0,
            "shares_sum_to_one": bool(np.allclose(shares.to_numpy(), 1.0)),
            "all_rows_tagged": built.untagged_rows == 0,
        }
    else:
        notes["aggregation"] = "unavailable: needs the tagged models"
        pass_seconds = pass_cpu = None
    del models
    _, t_read_after, c_read_after = _timed(read_all, "raw read (after the pass)")
    t_read, c_read = min(t_read_before, t_read_after), min(c_read_before, c_read_after)
    stages = {"raw_read": StageTiming(t_read, c_read, raw_rows, peak_rss_mb()).as_dict(), **stages}
    notes["raw_read"] = (f"the faster of two plain reads, before ({t_read_before:.1f} s) and after "
                         f"({t_read_after:.1f} s) the pass")
    if own_outputs:
        shutil.rmtree(outputs_dir, ignore_errors=True)
    report.update({
        "snapshots": len(snapshots), "raw_rows": raw_rows, "models_in_union": n_models,
        "stages": stages,
        "pass_seconds": round(pass_seconds, 3) if pass_seconds is not None else None,
        "ratio_to_read": round(pass_seconds / t_read, 3) if pass_seconds is not None and t_read > 0 else None,
        "pass_cpu_seconds": round(pass_cpu, 2) if pass_cpu is not None else None,
        "ratio_to_read_cpu": round(pass_cpu / c_read, 3) if pass_cpu is not None and c_read > 0 else None,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mb": peak_rss_mb(),
        "wall_seconds": round(time.perf_counter() - t_start, 2),
        "notes": notes,
    })
    return report


# ------------------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis bench``."""
    parser.add_argument("--models", type=int, default=2_500_000,
                        help="models in the last week of the simulated Hub (default 2,500,000)")
    parser.add_argument("--weeks", type=int, default=104, help="weekly snapshots to process (default 104)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for simulated stores, reused between runs (default data/bench/, git-ignored)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated store (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="threads of the catalog and panel passes (default 2)")
    parser.add_argument("--no-row-codes", dest="row_codes", action="store_false",
                        help="match every snapshot by id in the panel pass instead of using the catalog's row codes")




def _generate_in_child(spec: StoreSpec, out: Path, weeks: int) -> None:
    """Build the store in a child process, so its memory does not count in this process's peak RSS."""
    from .paths import REPO_ROOT

    code = ("import sys; from pathlib import Path; from analysis.bench import StoreSpec, generate_store; "
            "generate_store(StoreSpec(int(sys.argv[1]), int(sys.argv[2])), Path(sys.argv[3]), int(sys.argv[4]), "
            "log=lambda m: print(m, file=sys.stderr, flush=True))")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-c", code, str(spec.models), str(spec.seed), str(out), str(weeks)],
                          env=env, stdout=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"building the simulated store in {spec.folder(out)} failed (exit {done.returncode}); "
                         "see the messages above")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m analysis bench``: build or reuse the store, measure, print one JSON line."""
    from .paths import Paths

    if args.models < 100 or args.weeks < 2:
        print("error: --models must be at least 100 and --weeks at least 2", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else Paths.default().root / "data" / "bench"
    spec = StoreSpec(models=args.models, seed=args.seed)
    t0 = time.perf_counter()
    have = store_dates(spec, out)
    if len(have) < args.weeks or any(spec.date(w) not in set(have) for w in range(args.weeks)):
        print(f"bench: building the simulated store {spec.folder(out)} ({args.weeks} weeks)", file=sys.stderr)
        _generate_in_child(spec, out, args.weeks)
    build_seconds = time.perf_counter() - t0
    folder = spec.folder(out)
    snaps = [(spec.date(w), folder / "archive" / f"{spec.date(w).isoformat()}.parquet") for w in range(args.weeks)]
    report = {"models": args.models, "weeks": args.weeks, "seed": args.seed, "workers": args.workers,
              "row_codes": bool(args.row_codes),
              "store": str(folder), "store_bytes": sum(p.stat().st_size for _, p in snaps),
              "store_build_seconds": round(build_seconds, 1)}
    codes = folder / f"row-codes-{args.weeks}w" if args.row_codes else None
    try:
        report.update(measure(snaps, workers=args.workers, row_codes_dir=codes))
    finally:
        if codes is not None and codes.exists():
            shutil.rmtree(codes)
    report["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "pyarrow": pa.__version__,
                         "numpy": np.__version__}
    print(json.dumps(report))
    return 0
