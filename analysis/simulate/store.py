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

Metadata edits: :data:`EDIT_SHARE` of the models (10%) edit their metadata once, at a week drawn uniformly over
their life: half declare a new parent (an earlier organisation's base model; a base model becomes a fine-tune), the
other half change their pipeline tag. From that week on their rows show the edited metadata. How often models on
the real Hub edit their declared lineage is not published; 10% is an assumption chosen to make the thin-read
rule's loss (:mod:`analysis.catalog`) measurable, not a measurement.

:func:`write_archive` writes the same weeks as the archive's own files (heavy columns included, with the sizes of
:data:`HEAVY_COLUMNS`) for the bytes study (``python -m devtools.bytes_read``).
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
GENERATOR_VERSION = 4

#: Share of models that edit their metadata once in their life (half their declared lineage, half their pipeline
#: tag); see the module docstring.
EDIT_SHARE = 0.10

#: Date of the first simulated snapshot (the first snapshot of the real archive).
START = dt.date(2024, 7, 24)

#: Weeks over which the simulated Hub grows to ``models`` models.
HORIZON_WEEKS = 104

#: Every column of the raw files the chain reads (catalog + panel). Under the thin-read rule the pass reads the
#: metadata ones only from some snapshots (:mod:`analysis.catalog`); ``python -m devtools.bench`` reads accordingly.
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
    edit_week: np.ndarray     # week from which a model shows its edited metadata (inf: never edited)

    @property
    def n(self) -> int:
        """Models in the union."""
        return self.created.size

    def rows(self, alive: np.ndarray, week: int) -> pa.Table:
        """The static columns of the models ``alive`` as of ``week`` (edited metadata from its edit week on)."""
        return self.static.take(pa.array(alive + self.n * (self.edit_week[alive] <= week)))


def _metadata(n: int, rel: np.ndarray, pid: pa.Array, pid2: pa.Array, has2: np.ndarray, is_base: np.ndarray,
              tags_only: np.ndarray, pipe: np.ndarray, lib: np.ndarray, extra_tag: np.ndarray, has_extra: np.ndarray,
              licence: np.ndarray, has_licence: np.ndarray) -> dict[str, pa.Array]:
    """The metadata columns (pipeline_tag, library_name, tags, baseModels) from per-model draws."""
    relation_s = _pick(_RELATIONS, rel)
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
    lib_s = pc.if_else(pa.array(rel == 2), pa.scalar("gguf"), _pick(_LIBRARIES, lib))
    pipe_s = _pick(_PIPELINES, pipe)
    prefix = pa.array(["base_model:"] * n, pa.string())
    slots = [  # (values, present) in tag order
        (lib_s, np.asarray(lib_s.is_valid())),
        (pipe_s, np.asarray(pipe_s.is_valid())),
        (_join(prefix, pid), n_par > 0),
        (_join(prefix, pid2), has2 & (n_par > 0)),
        (_join(prefix, relation_s, pa.array([":"] * n, pa.string()), pid), n_par > 0),
        (_pick(_EXTRA_TAGS, extra_tag), has_extra),
        (_pick(_LICENSES, licence), has_licence),
        (pa.array(["region:us"] * n, pa.string()), np.ones(n, dtype=bool)),
    ]
    present = np.column_stack([p for _, p in slots])
    flat_index = (np.arange(len(slots))[None, :] * n + np.arange(n)[:, None])[present]
    tag_values = pa.concat_arrays([v for v, _ in slots]).take(pa.array(flat_index))
    tag_offsets = np.concatenate([[0], np.cumsum(present.sum(axis=1))]).astype(np.int32)
    tags = pa.ListArray.from_arrays(pa.array(tag_offsets), tag_values)
    return {"pipeline_tag": pipe_s, "library_name": lib_s, "tags": tags, "baseModels": base_models}


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
    tags_only = ~is_base & (rng.random(n) < 0.05)
    pipe = rng.choice(len(_PIPELINES), n, p=_PIPELINE_P)
    lib = rng.choice(len(_LIBRARIES), n, p=_LIBRARY_P)
    extra_tag = rng.integers(0, len(_EXTRA_TAGS), n)
    has_extra = rng.random(n) < 0.6
    licence = rng.integers(0, len(_LICENSES), n)
    has_licence = rng.random(n) < 0.8
    before = _metadata(n, rel, pid, pid2, has2, is_base, tags_only, pipe, lib, extra_tag, has_extra, licence,
                       has_licence)

    # --- metadata edits: some models change their declared lineage or their pipeline tag once ---------------
    edited = rng.random(n) < EDIT_SHARE
    last_week = np.minimum(deleted, spec.horizon + 52.0)
    first_week = np.maximum(created, 0.0)
    edit_week = np.ceil(first_week + rng.random(n) * np.maximum(last_week - first_week, 0.0))
    edit_week = np.where(edited & (edit_week < last_week), edit_week, np.inf)
    edited = np.isfinite(edit_week)
    lineage_edit = edited & (rng.random(n) < 0.5)
    n_org_before_all = np.searchsorted(org_pos, np.arange(n))
    can = lineage_edit & (n_org_before_all > 0)
    new_parent = org_pos[np.minimum((n_org_before_all * rng.random(n)).astype(np.int64),
                                    np.maximum(n_org_before_all - 1, 0))]
    pid_after = pc.if_else(pa.array(can), ids.take(pa.array(new_parent)), pid)
    rel_after = np.where(can, np.where(is_base, 1, rel), rel)     # a base model that declares a parent: finetune
    base_after = is_base & ~can
    has2_after = has2 & ~can
    pipe_after = np.where(edited & ~lineage_edit, (pipe + 1 + rng.integers(0, len(_PIPELINES) - 1, n))
                          % len(_PIPELINES), pipe)
    after = _metadata(n, rel_after, pid_after, pid2, has2_after, base_after, tags_only & ~can, pipe_after, lib,
                      extra_tag, has_extra, licence, has_licence)

    created_ms = ((dt.datetime.combine(START, dt.time(12), tzinfo=dt.timezone.utc).timestamp()
                   + created * 7 * 86400) * 1000).astype(np.int64)
    # parameter counts (params_total), from their own stream so the other columns stay as they were: 90% of
    # models have one, log-uniform between 10M and 400B
    prng = np.random.default_rng([spec.seed, 16])
    params = np.floor(np.exp(prng.uniform(np.log(1e7), np.log(4e11), n))).astype(np.int64)
    params_total = pa.array(params, pa.int64(), mask=prng.random(n) >= 0.9)
    created_at = pa.array(created_ms, pa.timestamp("ms", tz="UTC"))
    static = pa.concat_tables([pa.table({"id": ids, "author": author, "createdAt": created_at, **meta,
                                         "params_total": params_total})
                               for meta in (before, after)]).combine_chunks()
    base_alltime = np.floor(pop * rng.uniform(0, 400, n) * (created < 0))
    return _Hub(static=static, created=created, deleted=deleted, pop=pop, base_alltime=base_alltime, depth=depth,
                edit_week=edit_week)


def _week_table(hub: _Hub, spec: StoreSpec, week: int) -> pa.Table:
    """The raw snapshot of one week, in :data:`analysis.schema.RAW_SCHEMA`."""
    alive = np.flatnonzero((hub.created <= week) & (hub.deleted > week))
    rng = np.random.default_rng([spec.seed, 29, week])
    pop = hub.pop[alive]
    dl = np.floor(pop * rng.lognormal(0.0, 0.35, alive.size)).astype(np.int64)
    date = spec.date(week)
    cols = hub.rows(alive, week)
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
        log(f"store: simulated {hub.n:,} models in {time.perf_counter() - t0:.1f} s; "
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
                    "union_models": hub.n,
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
    """A registry of the real accounts the simulated store uses (their region as in :mod:`analysis.simulate`).

    One account, ``stabilityai``, is contested (an alternative reading, US), so that the rules under the alternative
    reading differ from the primary ones in the store's panel; this is a simulated registry, not a claim.
    """
    from ..origin.registry import registry_from_records

    country = {"CN": "CN", "US": "US", "EU": "FR", "OTHER": "AE"}
    records = []
    for account, (region, kind, _) in ACCOUNTS.items():
        org = kind in ("company", "academic", "non-profit", "government")
        rec = {"account": account, "organisation": account, "kind": kind,
               "country": country[region] if org else "", "region": region if org else "",
               "evidence": "simulated account (analysis.simulate.hub.ACCOUNTS)", "notes": "simulated"}
        if account == "stabilityai":
            rec.update(alt_country="US", alt_region="US", alt_evidence="simulated alternative reading",
                       alt_basis="simulated: a contested account for the tests of both readings")
        records.append(rec)
    return registry_from_records(records, source="analysis.simulate.store registry")


# ------------------------------------------------------------------------------------------------------------
# The archive's own files, heavy columns included (for the bytes study)
# ------------------------------------------------------------------------------------------------------------

#: Columns of an archive file (``models/<date>/models.parquet``) besides the raw schema's, and the compressed
#: bytes per row each is generated to take on average (snappy). These are assumptions, chosen so that a file of
#: about 2.5 million rows weighs about what the archive's 2026-09-30 file does (1,572,863,800 bytes, about 630
#: bytes a row) with its ``cardData`` (the model card's metadata as a JSON string), ``siblings`` (the list of the
#: repository's files), ``config`` (the model's configuration), ``gguf`` (present on GGUF repositories, with a
#: chat template) and ``safetensors`` (parameter counts, present on about 23% of models) taking most of it; the
#: archive's per-column sizes are not published.
HEAVY_COLUMNS: dict[str, int] = {"lastModified": 5, "trendingScore": 3, "cardData": 250, "siblings": 150,
                                 "config": 70, "safetensors": 10, "gguf": 60}

_WORDS = np.array(("model trained fine tuned dataset language english chinese license apache mit base evaluation "
                   "accuracy results benchmark instruct chat reasoning math code vision text generation tokenizer "
                   "parameters quantized weights precision training learning rate epochs batch size optimizer adam "
                   "hardware gpu hours carbon emitted intended uses limitations bias risks citation authors "
                   "contact card metadata widget example prompt output inference endpoint pipeline library "
                   "transformers safetensors gguf merge slerp lora adapter peft sft dpo orpo").split())
_FILES = np.array(["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json", "README.md", ".gitattributes", "model.safetensors",
                   "model.safetensors.index.json", "pytorch_model.bin", "vocab.txt", "merges.txt",
                   "adapter_config.json", "adapter_model.safetensors", "training_args.bin", "chat_template.jinja"])


def _tokens(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    """``n`` random strings of ``width`` characters from [0-9a-z], built straight from one byte buffer."""
    alphabet = np.frombuffer("".join(_B36).encode(), dtype=np.uint8)
    data = alphabet[rng.integers(0, 36, n * width)]
    offsets = (np.arange(n + 1, dtype=np.int64) * width).astype(np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data.tobytes()))


def _soup(rng: np.random.Generator, n: int, mean_words: float, unique: float = 0.35) -> pa.Array:
    """Strings of words (lengths ~ Poisson(mean)); a share ``unique`` of the words are random 8-character tokens."""
    lens = rng.poisson(mean_words, n)
    total = int(lens.sum())
    words = _pick(list(_WORDS), rng.integers(0, _WORDS.size, total))
    tokens = _tokens(rng, total, 8)
    flat = pc.if_else(pa.array(rng.random(total) < unique), tokens, words)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), flat), " ")


def _parameter_counts(rng: np.random.Generator, rows: pa.Table) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """``safetensors`` (parameter counts on about 23% of models), each row's total, and which rows are GGUF
    repositories (whose ``gguf`` column carries the same total)."""
    n = rows.num_rows
    has_st = rng.random(n) < 0.23
    total = np.where(has_st, np.floor(10 ** rng.uniform(6, 11, n)), 0).astype(np.int64)
    safetensors = pa.StructArray.from_arrays([pa.array(total), pa.array(total)], ["total", "BF16"],
                                             mask=pa.array(~has_st))
    is_gguf = np.asarray(pc.equal(pc.fill_null(rows["library_name"], ""), "gguf").to_numpy(zero_copy_only=False),
                         dtype=bool)
    return safetensors, total, is_gguf


def heavy_columns(rows: pa.Table, week: int, seed: int) -> dict[str, pa.Array]:
    """The archive's other columns for the rows of one weekly table (see :data:`HEAVY_COLUMNS`).

    Random content (word soup with random tokens, file lists, parameter counts, chat templates) whose compressed
    size per row is about that of :data:`HEAVY_COLUMNS`; the study never reads it.
    """
    n = rows.num_rows
    rng = np.random.default_rng([seed, 41, week])

    def const(text: str) -> pa.Array:
        return pa.array([text] * n, pa.string())

    card = _join(const('{"license": "apache-2.0", "language": ["en"], "tags": ["'), _soup(rng, n, 58.0),
                 const('"], "pipeline_tag": "'), pc.fill_null(rows["pipeline_tag"], ""), const('"}'))
    n_files = np.minimum(rng.geometric(0.10, n) + 2, 400)
    m = int(n_files.sum())
    names = _join(_tokens(rng, m, 6), _pick(list(_FILES), rng.integers(0, _FILES.size, m)),
                  sep="-")
    sib = pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(n_files)]).astype(np.int32)),
                                   pa.StructArray.from_arrays([names], ["rfilename"]))
    config = _join(const('{"architectures": ["'), _soup(rng, n, 13.0), const('"], "model_type": "llama"}'))
    safetensors, total, is_gguf = _parameter_counts(rng, rows)
    at = np.flatnonzero(is_gguf)
    slot = np.full(n, at.size, dtype=np.int64)   # rows that are not GGUF point at a trailing empty template
    slot[at] = np.arange(at.size)
    template = pa.concat_arrays([_soup(rng, at.size, 110.0, unique=0.08), pa.array([""], pa.string())])
    gguf = pa.StructArray.from_arrays([pa.array(total), const("llama"), template.take(pa.array(slot))],
                                      ["total", "architecture", "chat_template"], mask=pa.array(~is_gguf))
    last_modified = pc.add(rows["createdAt"].combine_chunks() if isinstance(rows["createdAt"], pa.ChunkedArray)
                           else rows["createdAt"],
                           pa.array((rng.integers(0, 86400 * 30, n) * 1000).astype(np.int64), pa.duration("ms")))
    trending = pa.array(np.round(rng.pareto(1.5, n) * (rng.random(n) < 0.1), 1))
    return {"lastModified": last_modified, "trendingScore": trending, "cardData": card, "siblings": sib,
            "config": config, "safetensors": safetensors, "gguf": gguf}


def light_columns(rows: pa.Table, week: int, seed: int) -> dict[str, pa.Array]:
    """The columns :func:`heavy_columns` adds, with the same names and types but next to no content: null
    ``cardData``, ``siblings`` and ``config``, no chat templates, and parameter totals (``safetensors`` on about 23% of
    models, ``gguf`` on GGUF repositories) drawn from their own random stream, so they differ from the heavy
    columns' totals. For timing what the pull writes, which reads only the ``total`` leaves of these columns, at
    sizes where heavy files would not fit on the disk."""
    n = rows.num_rows
    rng = np.random.default_rng([seed, 47, week])
    safetensors, total, is_gguf = _parameter_counts(rng, rows)
    gguf = pa.StructArray.from_arrays([pa.array(total), pa.array(["llama"] * n, pa.string()),
                                       pa.nulls(n, pa.string())],
                                      ["total", "architecture", "chat_template"], mask=pa.array(~is_gguf))
    created = rows["createdAt"]
    created = created.combine_chunks() if isinstance(created, pa.ChunkedArray) else created
    return {"lastModified": created, "trendingScore": pa.array(np.zeros(n)), "cardData": pa.nulls(n, pa.string()),
            "siblings": pa.nulls(n, pa.list_(pa.struct([("rfilename", pa.string())]))),
            "config": pa.nulls(n, pa.string()), "safetensors": safetensors, "gguf": gguf}


def write_archive(spec: StoreSpec, root: Path, weeks: int, repo_id: str, *, order: str = "creation",
                  row_group_size: int = ROW_GROUP_SIZE, heavy: bool = True, log=print) -> list[Path]:
    """Write the store's weeks as the archive's files, with the archive's other columns, for the local Hub stand-in.

    Files go to ``<root>/datasets/<repo_id>/models/<YYYY-MM-DD>/models.parquet`` (the archive's layout), with the
    raw schema's columns and :func:`heavy_columns`. ``order`` is ``"creation"`` (models listed in creation order,
    as in the raw store) or ``"shuffled"`` (a new random order every week: the worst case for reading some rows
    of a file, since they are then spread over every row group). ``heavy=False`` writes :func:`light_columns`
    instead of :func:`heavy_columns` (same schema, next to no bytes).

    Returns
    -------
    list of Path
        The files, oldest first.
    """
    if order not in ("creation", "shuffled"):
        raise StoreError(f"order={order!r}: choose creation or shuffled")
    hub = _simulate_static(spec)
    folder = Path(root) / "datasets" / repo_id / "models"
    files = []
    for w in range(weeks):
        table = _week_table(hub, spec, w)
        if order == "shuffled":
            table = table.take(pa.array(np.random.default_rng([spec.seed, 53, w]).permutation(table.num_rows)))
        for name, col in (heavy_columns if heavy else light_columns)(table, w, spec.seed).items():
            table = table.append_column(name, col)
        f = folder / spec.date(w).isoformat() / "models.parquet"
        f.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, f, row_group_size=row_group_size, compression="snappy")
        files.append(f)
    log(f"archive: wrote {weeks} files ({sum(f.stat().st_size for f in files):,} bytes) under {folder}")
    return files
