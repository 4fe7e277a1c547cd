"""A Hub-scale simulated raw store: millions of models over years of weekly snapshots, fast.

:func:`generate_store` writes one parquet file per weekly snapshot,
``<out>/m<models>-s<seed>/archive/<YYYY-MM-DD>.parquet``, in the normalised raw schema the pull writes
(:data:`analysis.schema.RAW_SCHEMA`). It serves the scale benchmark (``python -m devtools.bench``) and the tests
of the catalog and the panel, where the demo Hub (:mod:`analysis.simulate.hub`) is too small.

Vectorised (no per-model Python loop), deterministic given ``models`` and ``seed``. The Hub grows over
:data:`HORIZON_WEEKS` weeks to about ``models`` models in the last week, with some models deleted along the way (they
stay in older snapshots only). Ids look like the Hub's (``bartowski/Qwen2.5-7B-Instruct-k3f9a-GGUF``; the short
base-36 token keeps them unique). Authors mix the real accounts of :data:`analysis.simulate.hub.ACCOUNTS`
(organisations, redistributors) with many synthetic individuals (Zipf-distributed activity). Lineage: about 45% base
models, the others fine-tunes, quantizations, adapters and merges of earlier models (chains of realistic depth, a few
dangling parents, self references and 2-cycles), declared in ``baseModels`` and in ``base_model:`` tags (some only in
tags). Downloads are heavy-tailed (Pareto) with a long tail of models nobody downloads; ``downloadsAllTime`` is a
monotone cumulative count (with the occasional decrease seen on the Hub) present from 2025-02-26 on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..catalog import ordered_map
from ..schema import ALLTIME_FROM, BASE_MODELS_TYPE, RAW_SCHEMA
from .hub import ACCOUNTS, lineage_roots

#: Bump when the generator changes: stores written by another version are rebuilt.
GENERATOR_VERSION = 1

#: Date of the first simulated snapshot (the first snapshot of the real archive).
START = dt.date(2024, 7, 24)

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


class StoreError(RuntimeError):
    """A simulated store that cannot be built or read; the message says which folder and what to do."""


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
    # parameter counts (params_total), from their own stream so the other columns stay as they were: 90% of
    # models have one, log-uniform between 10M and 400B
    prng = np.random.default_rng([spec.seed, 16])
    params = np.floor(np.exp(prng.uniform(np.log(1e7), np.log(4e11), n))).astype(np.int64)
    static = pa.table({
        "id": ids, "author": author,
        "createdAt": pa.array(created_ms, pa.timestamp("ms", tz="UTC")),
        "pipeline_tag": pipe_s, "library_name": lib_s, "tags": tags, "baseModels": base_models,
        "params_total": pa.array(params, pa.int64(), mask=prng.random(n) >= 0.9),
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
        "tags": cols["tags"], "baseModels": cols["baseModels"], "params_total": cols["params_total"],
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
        log(f"store: simulated {hub.static.num_rows:,} models in {time.perf_counter() - t0:.1f} s; "
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
                log(f"store: wrote {i + 1}/{len(todo)} snapshots ({time.perf_counter() - t0:.0f} s)")
    missing = [d for d in want if not (folder / "archive" / f"{d.isoformat()}.parquet").is_file()]
    if missing:
        raise StoreError(f"{folder}: snapshots {missing[:3]} were not written; delete the folder and rerun")
    return folder

def store_registry():
    """A registry of the real accounts the simulated store uses (their region as in :mod:`analysis.simulate`)."""
    from ..origin.registry import registry_from_records

    country = {"CN": "CN", "US": "US", "EU": "FR", "OTHER": "AE"}
    records = []
    for account, (region, kind, _) in ACCOUNTS.items():
        org = kind in ("company", "academic", "non-profit", "government")
        records.append({"account": account, "organisation": account, "kind": kind,
                        "country": country[region] if org else "", "region": region if org else "",
                        "evidence": "simulated account (analysis.simulate.hub.ACCOUNTS)"})
    return registry_from_records(records, source="analysis.simulate.store registry")
