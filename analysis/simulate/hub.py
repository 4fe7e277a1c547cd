"""A simulated Hugging Face Hub with a known truth, for the demo, the tests and the benchmarks.

:func:`simulate_hub` writes weekly snapshots in the layout and schema of the real archive
(``datasets/<repo_id>/models/<YYYY-MM-DD>/models.parquet``), the Hub's current state for the live listing
(``live/models.parquet``), and the truth: ``truth.json`` (every account's true origin, the true crossover
date, the parameters) and ``truth_models.parquet`` (every model's true origin under each rule).

How the truth is built
----------------------
Every model has a lineage: base models are published by organisations (real Hub account names with their
true origin) or by synthetic individuals; derivatives (fine-tunes, quantizations, adapters, merges) point to
earlier models through ``baseModels`` and ``base_model:`` tags, and are published mostly by redistributors
and individuals. The 30-day downloads of the models whose lineage root is in region R add up, at week t,
exactly to ``total(t) * share_R(t)``. The log-ratio of the CN and US shares comes from the study's one simulator
of truths, :mod:`analysis.simulate.shapes`: by default a release jump (the ratio jumps by 0.35 at the release of
DeepSeek-R1, 2025-01-20, on top of a rising line), plus AR(1) noise, both seen through the trailing 30-day window
(a 4-week mean: neighbouring weekly snapshots share three of their four weeks). The crossover date given is the
crossing of the noise-free 30-day measure (the estimand of the study); ``truth.json`` records it, every crossing,
and the crossing of the underlying weekly path (1.5 weeks earlier for a straight path), under the lineage rule. Dirty data as on the real Hub (dangling parents, self references,
cycles, a missing weekly snapshot, ``downloadsAllTime`` absent before 2025-02-26, ``createdAt`` typed as a string
in some weeks, the 2022-03-02 placeholder date) is present but carries no downloads, so it does not move the truth.

The simulation is deterministic: the same parameters give the same files, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..schema import ALLTIME_FROM, BASE_MODELS_TYPE, CREATED_AT_PLACEHOLDER
from .shapes import SHAPES, TruthShape, measure_crossings, observe, place_crossing, underlying_crossings

ARCHIVE_REPO = "hfmlsoc/hub_weekly_snapshots"

# Real Hub accounts used by the simulation, with the origin the study's registry must give them.
# (region, kind, relative popularity of its base models)
ACCOUNTS: dict[str, tuple[str, str, float]] = {
    "Qwen": ("CN", "company", 10.0), "deepseek-ai": ("CN", "company", 5.0), "THUDM": ("CN", "academic", 1.5),
    "zai-org": ("CN", "company", 1.5), "BAAI": ("CN", "non-profit", 3.0), "internlm": ("CN", "company", 1.0),
    "01-ai": ("CN", "company", 0.6), "baichuan-inc": ("CN", "company", 0.5), "moonshotai": ("CN", "company", 1.0),
    "MiniMaxAI": ("CN", "company", 0.6), "tencent": ("CN", "company", 1.2), "OpenGVLab": ("CN", "academic", 1.0),
    "Alibaba-NLP": ("CN", "company", 1.5), "Wan-AI": ("CN", "company", 1.0), "thenlper": ("CN", "company", 1.0),
    "stepfun-ai": ("CN", "company", 0.5),
    "meta-llama": ("US", "company", 10.0), "google": ("US", "company", 6.0), "microsoft": ("US", "company", 4.0),
    "openai": ("US", "company", 3.0), "openai-community": ("US", "company", 2.0), "google-bert": ("US", "company", 4.0),
    "FacebookAI": ("US", "company", 2.0), "nvidia": ("US", "company", 2.0), "ibm-granite": ("US", "company", 0.8),
    "allenai": ("US", "non-profit", 0.8),
    "mistralai": ("EU", "company", 4.0), "stabilityai": ("EU", "company", 2.0),
    "black-forest-labs": ("EU", "company", 1.5),
    "CohereForAI": ("OTHER", "company", 0.8), "tiiuae": ("OTHER", "government", 0.8),
    "LGAI-EXAONE": ("OTHER", "company", 0.5),
    "bartowski": ("UNAFFILIATED", "redistributor", 0.0), "TheBloke": ("UNAFFILIATED", "redistributor", 0.0),
    "mradermacher": ("UNAFFILIATED", "redistributor", 0.0),
    "lmstudio-community": ("UNAFFILIATED", "community", 0.0), "mlx-community": ("UNAFFILIATED", "community", 0.0),
    "QuantFactory": ("UNAFFILIATED", "redistributor", 0.0),
}
ORG_KINDS = ("company", "academic", "non-profit", "government")
REDISTRIBUTORS = [a for a, (_, k, _) in ACCOUNTS.items() if k in ("redistributor", "community")]
SIM_REGIONS = ("CN", "US", "EU", "OTHER", "UNAFFILIATED")
PIPELINES = np.array(["text-generation", "image-text-to-text", "feature-extraction", "sentence-similarity",
                      "text-to-image", "fill-mask", "automatic-speech-recognition", "text-classification"])
LIBRARIES = np.array(["transformers", "gguf", "sentence-transformers", "diffusers", "peft", "mlx", "timm"])
WORDS = np.array("model card license apache mit base fine tune dataset training evaluation benchmark accuracy "
                 "language english chinese instruct chat reasoning quantized gguf lora merge adapter weights "
                 "parameters context length tokens vision text generation inference safetensors".split())


@dataclass(frozen=True)
class SimulationParams:
    """Parameters of a simulated Hub (all recorded in ``truth.json``).

    Parameters
    ----------
    models : int
        Number of model repositories (over the whole period; fewer exist in early weeks).
    weeks : int
        Number of weekly snapshots (one of them missing when ``missing_week`` is set).
    start : datetime.date
        Date of the first snapshot (archive dates fall on the same weekday each week).
    crossover : datetime.date
        Date at which the trend of log(share_CN / share_US) crosses zero (lineage rule, 30-day downloads).
    seed : int
        Seed of the random generator.
    slope_per_year : float
        Slope of the log-ratio path per 52 weeks.
    noise_sd, noise_ar : float
        Innovation standard deviation and AR(1) coefficient of the weekly log-ratio noise.
    shape : str
        Shape of the noise-free log ratio (:data:`analysis.simulate.shapes.SHAPES`); "release_jump" by default.
    jump : float
        Size of the release jump on the log-ratio scale.
    release : datetime.date
        Date of the release jump (DeepSeek-R1's public release by default).
    window_weeks : int
        Weeks averaged by the 30-day measure (the overlap of weekly snapshots of a trailing 30-day count).
    missing_week : int or None
        Index of a weekly snapshot left out of the archive (a gap, as in real archives); None for none;
        -1 (the default) for the week at 46% of the window.
    repo_id : str
        Dataset repository id of the simulated archive.
    """

    models: int = 20000
    weeks: int = 80
    start: dt.date = dt.date(2024, 7, 24)
    crossover: dt.date = dt.date(2025, 7, 16)
    seed: int = 20240724
    slope_per_year: float = 1.6
    noise_sd: float = 0.04
    noise_ar: float = 0.5
    missing_week: int | None = -1
    repo_id: str = ARCHIVE_REPO
    shape: str = "release_jump"
    jump: float = 0.35
    release: dt.date = dt.date(2025, 1, 20)
    window_weeks: int = 4

    def __post_init__(self) -> None:
        if self.missing_week == -1:
            object.__setattr__(self, "missing_week", max(1, round(0.46 * self.weeks)))
        if self.models < 100:
            raise ValueError(f"models={self.models}: a simulated Hub needs at least 100 models")
        if self.weeks < 10:
            raise ValueError(f"weeks={self.weeks}: a simulated Hub needs at least 10 weekly snapshots")
        if self.missing_week is not None and not 0 < self.missing_week < self.weeks - 1:
            raise ValueError(f"missing_week={self.missing_week}: must be an inner week (1..{self.weeks - 2})")
        if self.shape not in SHAPES:
            raise ValueError(f"shape={self.shape!r}: expected one of {SHAPES}")
        if self.window_weeks < 1:
            raise ValueError(f"window_weeks={self.window_weeks}: must be at least 1")

    def truth_shape(self) -> TruthShape:
        """The noise-free log-ratio path, placed so that the 30-day measure crosses on ``crossover``."""
        t_cross = (self.crossover - self.start).days / 7.0
        jump_at = (self.release - self.start).days / 7.0 / (self.weeks - 1)
        return place_crossing(self.shape, self.weeks, t_cross, window=self.window_weeks,
                              slope=self.slope_per_year / 52.0, jump=self.jump, jump_at=jump_at)


@dataclass(frozen=True)
class SimulatedHub:
    """What :func:`simulate_hub` wrote.

    Attributes
    ----------
    root : Path
        Folder served by the local Hub stand-in.
    snapshot_dates : list of datetime.date
        Dates of the weekly files actually written (the missing week excluded).
    crossover : datetime.date
        The true crossover date.
    """

    root: Path
    snapshot_dates: list
    crossover: dt.date
    params: SimulationParams = field(repr=False)

    def archive_file(self, date: dt.date) -> Path:
        return self.root / "datasets" / self.params.repo_id / "models" / date.isoformat() / "models.parquet"


def lineage_roots(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root and depth of each node of a forest given by parent indices (-1 = root), by pointer jumping."""
    n = len(parent)
    idx = np.arange(n)
    ptr = np.where(parent < 0, idx, parent)
    depth = (parent >= 0).astype(np.int64)
    for _ in range(64):
        nxt = ptr[ptr]
        if np.array_equal(nxt, ptr):
            break
        depth = depth + depth[ptr] * (ptr != nxt)
        ptr = nxt
    return ptr, depth


def _target_shares(p: SimulationParams, rng: np.random.Generator) -> tuple[np.ndarray, TruthShape]:
    """Weekly shares of the five simulated regions (rows = weeks) and the truth behind the CN/US log ratio."""
    t = np.arange(p.weeks, dtype=float)
    truth = p.truth_shape()
    log_ratio = observe(rng, truth, phi=p.noise_ar, sigma=p.noise_sd, window=p.window_weeks)
    cn_us = 0.62 - 0.04 * t / p.weeks                 # CN + US together, slowly losing to the rest
    s_cn = cn_us / (1.0 + np.exp(-log_ratio))
    s_us = cn_us - s_cn
    s_eu = 0.12 - 0.03 * t / p.weeks
    s_other = 0.05 + 0.01 * t / p.weeks
    s_un = 1.0 - s_cn - s_us - s_eu - s_other
    return np.column_stack([s_cn, s_us, s_eu, s_other, s_un]), truth


def _text(rng: np.random.Generator, n: int, mean_words: int) -> list[str]:
    lens = rng.poisson(mean_words, n) + 3
    words = WORDS[rng.integers(0, len(WORDS), lens.sum())]
    out, pos = [], 0
    for k in lens:
        out.append(" ".join(words[pos:pos + k]))
        pos += k
    return out


def simulate_hub(out: str | Path, params: SimulationParams | None = None, *, progress: bool = False) -> SimulatedHub:
    """Write a simulated Hub into ``out`` (which must not already hold one).

    Parameters
    ----------
    out : str or Path
        Destination folder; created. An existing ``truth.json`` there is an error (never overwritten).
    params : SimulationParams, optional
        Defaults to ``SimulationParams()``.
    progress : bool
        Print one line per 10 snapshots.

    Returns
    -------
    SimulatedHub
    """
    p = params or SimulationParams()
    out = Path(out)
    if (out / "truth.json").exists():
        raise FileExistsError(f"{out}: a simulated Hub is already there (truth.json); remove the folder to rebuild it")
    rng = np.random.default_rng(p.seed)
    n = p.models
    dates = [p.start + dt.timedelta(weeks=i) for i in range(p.weeks)]

    # --- accounts and model kinds -------------------------------------------------------------
    orgs = [a for a, (_, k, w) in ACCOUNTS.items() if k in ORG_KINDS]
    org_w = np.array([ACCOUNTS[a][2] for a in orgs])
    n_ind = max(50, n // 40)
    individuals = np.array([f"user{i:05d}" for i in range(n_ind)])

    kind_draw = rng.random(n)
    is_org_base = kind_draw < 0.06
    is_ind_base = (kind_draw >= 0.06) & (kind_draw < 0.08)
    is_base = is_org_base | is_ind_base
    is_base[:10] = True  # the first models are bases so every derivative has an earlier model
    is_org_base[:10] = True
    is_ind_base[:10] = False
    # creation time in weeks relative to start (negative = before the window); sorted = creation order
    created_w = np.sort(rng.uniform(-120, p.weeks, n))
    created_w[:10] = np.sort(rng.uniform(-120, -100, 10))

    uploader = np.empty(n, dtype=object)
    org_idx = rng.choice(len(orgs), size=n, p=org_w / org_w.sum())
    uploader[is_org_base] = np.array(orgs, dtype=object)[org_idx[is_org_base]]
    # make sure every organisation publishes at least one base model
    first_bases = np.flatnonzero(is_org_base)[: len(orgs)]
    uploader[first_bases] = np.array(orgs, dtype=object)[: len(first_bases)]
    uploader[is_ind_base] = individuals[rng.integers(0, n_ind, is_ind_base.sum())]

    # --- lineage: parents among earlier models ----------------------------------------------------
    parent = np.full(n, -1, dtype=np.int64)
    relation = np.full(n, "", dtype=object)
    der = np.flatnonzero(~is_base)
    base_pos = np.flatnonzero(is_base)
    nb_before = np.searchsorted(base_pos, der)  # bases created before each derivative
    pick_base = rng.random(len(der)) < 0.65
    u = rng.random(len(der))
    to_base = base_pos[np.minimum((nb_before * u ** 1.5).astype(np.int64), np.maximum(nb_before - 1, 0))]
    to_any = np.minimum((der * u).astype(np.int64), der - 1)
    parent[der] = np.where(pick_base & (nb_before > 0), to_base, to_any)
    rel = rng.choice(["finetune", "quantized", "adapter", "merge"], size=len(der), p=[0.48, 0.32, 0.14, 0.06])
    relation[der] = rel
    second_parent = np.full(n, -1, dtype=np.int64)
    merges = der[rel == "merge"]
    second_parent[merges] = (merges * rng.random(len(merges))).astype(np.int64)

    root, depth = lineage_roots(parent)
    # uploaders of derivatives
    r = rng.random(len(der))
    der_uploader = individuals[rng.integers(0, n_ind, len(der))].astype(object)
    quant = rel == "quantized"
    redist = np.array(REDISTRIBUTORS, dtype=object)[rng.integers(0, len(REDISTRIBUTORS), len(der))]
    der_uploader = np.where(quant & (r < 0.7), redist, der_uploader)
    root_up = uploader[root[der]]
    root_is_org = np.isin(root_up, orgs)
    first_party_quant = quant & (r >= 0.7) & (r < 0.8) & root_is_org
    der_uploader = np.where(first_party_quant, root_up, der_uploader)
    org_ft = (rel == "finetune") & (r < 0.06)
    der_uploader = np.where(org_ft, np.array(orgs, dtype=object)[org_idx[der]], der_uploader)
    uploader[der] = der_uploader

    # --- names -----------------------------------------------------------------------------------
    sizes = np.array(["0.5B", "1.5B", "3B", "7B", "8B", "14B", "32B", "70B"])
    suffix = {"finetune": "ft", "quantized": "GGUF", "adapter": "lora", "merge": "merge", "": ""}
    names = np.empty(n, dtype=object)
    size_of = sizes[rng.integers(0, len(sizes), n)]
    for i in range(n):
        if parent[i] < 0:
            names[i] = f"{uploader[i]}/{uploader[i].split('-')[0].capitalize()}-{size_of[i]}-m{i:06d}"
        else:
            stem = names[root[i]].split("/", 1)[1].rsplit("-m", 1)[0]
            names[i] = f"{uploader[i]}/{stem}-{suffix[relation[i]]}-m{i:06d}"
    ids = names

    # --- popularity and dirty data ---------------------------------------------------------------
    pop = (rng.pareto(1.1, n) + 1.0) * np.where(is_org_base, 20.0, 1.0)
    pop[rng.random(n) < 0.55] = 0.0               # the long tail of models nobody downloads
    pop[first_bases] = np.maximum(pop[first_bases], 1.0)
    dirty = np.zeros(n, dtype=bool)
    has_child = np.zeros(n, dtype=bool)
    has_child[parent[parent >= 0]] = True
    has_child[second_parent[second_parent >= 0]] = True
    # dirty lineage only on leaves nobody downloads, so it moves neither the shares nor other models' lineage
    cand = der[(pop[der] == 0) & np.isin(uploader[der], individuals) & ~has_child[der]]
    cand = rng.permutation(cand)
    n_dirty = max(3, n // 500)
    dangling_ix, self_ix, cyc_ix = cand[:n_dirty], cand[n_dirty:n_dirty + 2], cand[n_dirty + 2:n_dirty + 2 + 2 * (n_dirty // 2)]
    dirty[np.concatenate([dangling_ix, self_ix, cyc_ix])] = True
    declared_parents: list = [None] * n
    for i in der:
        parents = [ids[parent[i]]]
        if second_parent[i] >= 0 and second_parent[i] != parent[i]:
            parents.append(ids[second_parent[i]])
        declared_parents[i] = parents
    for j, i in enumerate(dangling_ix):
        declared_parents[i] = [f"deleted-user{j:04d}/removed-model"]
    for i in self_ix:
        declared_parents[i] = [ids[i]]
    for a, b in zip(cyc_ix[0::2], cyc_ix[1::2]):
        declared_parents[a], declared_parents[b] = [ids[b]], [ids[a]]
        relation[a] = relation[b] = "finetune"

    # true origin of each model under each rule
    acct_region = {a: v[0] for a, v in ACCOUNTS.items()}
    up_region = np.array([acct_region.get(u, "UNAFFILIATED") for u in uploader], dtype=object)
    lin_region = up_region[root].copy()
    lin_region[dirty] = "UNAFFILIATED"  # dirty models are individuals' and resolve to an individual root
    first_party = np.array([ACCOUNTS.get(u, ("", "", 0))[1] in ORG_KINDS for u in uploader])
    true_root = ids[root].copy()
    true_root[dangling_ix] = ids[dangling_ix]
    true_depth = depth.copy()
    true_depth[dangling_ix] = 0

    # --- per-model static columns (heavy columns as on the real archive) ---------------------------
    pipe = PIPELINES[rng.choice(len(PIPELINES), n, p=[0.42, 0.08, 0.12, 0.1, 0.1, 0.08, 0.05, 0.05])]
    lib = np.where(relation == "quantized", "gguf", LIBRARIES[rng.integers(0, 3, n)])
    base_in_tags_only = (~is_base) & (rng.random(n) < 0.05)
    tags_list, bm_list, card_list = [], [], []
    card_text = _text(rng, n, 90)
    for i in range(n):
        tg = [str(lib[i]), str(pipe[i]), "license:apache-2.0", "region:us"]
        bm = None
        dp = declared_parents[i]
        if dp:
            rel_i = relation[i]
            tg += [f"base_model:{x}" for x in dp] + [f"base_model:{rel_i}:{x}" for x in dp]
            if not base_in_tags_only[i]:
                bm = {"relation": rel_i, "models": [{"id": x} for x in dp]}
        tags_list.append(tg)
        bm_list.append(bm)
        card = {"license": "apache-2.0", "pipeline_tag": str(pipe[i]), "description": card_text[i]}
        if dp:
            card["base_model"] = dp[0] if len(dp) == 1 else dp
        card_list.append(json.dumps(card, sort_keys=True))
    sib_counts = rng.integers(3, 14, n)
    siblings = [[{"rfilename": f"model-{k:05d}-of-{c:05d}.safetensors"} for k in range(c)] for c in sib_counts]
    configs = [json.dumps({"architectures": [f"Arch{i % 17}ForCausalLM"], "hidden_size": int(512 * (1 + i % 8)),
                           "num_hidden_layers": int(8 + i % 40), "vocab_size": int(32000 + i % 997)})
               for i in range(n)]
    static = pa.table({
        "id": pa.array(ids.tolist(), pa.string()),
        "author": pa.array(uploader.tolist(), pa.string()),
        "pipeline_tag": pa.array(pipe.tolist(), pa.string()),
        "library_name": pa.array(lib.tolist(), pa.string()),
        "tags": pa.array(tags_list, pa.list_(pa.string())),
        "baseModels": pa.array(bm_list, BASE_MODELS_TYPE),
        "cardData": pa.array(card_list, pa.string()),
        "siblings": pa.array(siblings, pa.list_(pa.struct([pa.field("rfilename", pa.string())]))),
        "config": pa.array(configs, pa.string()),
    })
    created_dt = np.array([p.start + dt.timedelta(weeks=float(w)) for w in created_w])
    placeholder = dt.datetime.fromisoformat(CREATED_AT_PLACEHOLDER.replace("Z", "+00:00"))
    created_ts = [placeholder if c < placeholder.date() else
                  dt.datetime.combine(c, dt.time(12, 0), tzinfo=dt.timezone.utc) for c in created_dt]
    created_arr = pa.array(created_ts, pa.timestamp("ms", tz="UTC"))
    created_str = pa.array([c.strftime("%Y-%m-%dT%H:%M:%S.000Z") for c in created_ts], pa.string())

    # --- downloads week by week ------------------------------------------------------------------
    shares, truth_shape = _target_shares(p, rng)
    t_cross = (p.crossover - p.start).days / 7.0
    region_ix = {r: k for k, r in enumerate(SIM_REGIONS)}
    lin_k = np.array([region_ix[r] for r in lin_region])
    total = 4.0e8 * np.exp(np.log(2.5) * np.arange(p.weeks) / 52.0)
    cum = np.floor(pop * rng.uniform(0, 5e3, n) * (created_w < 0))  # downloads before the window
    root_path = Path(out)
    arch_dir = root_path / "datasets" / p.repo_id / "models"
    written: list[dt.date] = []
    last_table = None
    for w, date in enumerate(dates):
        alive = created_w <= w
        weight = pop * alive * rng.lognormal(0.0, 0.3, n)
        dl = np.zeros(n)
        for k in range(len(SIM_REGIONS)):
            m = lin_k == k
            s = weight[m].sum()
            if s > 0:
                dl[m] = total[w] * shares[w, k] * weight[m] / s
        dl = np.floor(dl).astype(np.int64)
        inc = np.floor(dl * 7 / 30 * rng.uniform(0.9, 1.1, n))
        cum = cum + inc
        cum_obs = cum.astype(np.int64)
        if w % 23 == 11:  # downloadsAllTime has been seen to decrease between days
            cum_obs = cum_obs - (rng.random(n) < 0.01) * np.minimum(cum_obs, 50)
        sel = np.flatnonzero(alive)
        cols = {
            "id": static["id"].take(sel), "author": static["author"].take(sel),
            "createdAt": (created_str if w % 10 == 3 else created_arr).take(sel),
            "lastModified": created_arr.take(sel),
            "downloads": pa.array(dl[sel], pa.int64()),
        }
        if date >= ALLTIME_FROM:
            cols["downloadsAllTime"] = pa.array(cum_obs[sel], pa.int64())
        cols["likes"] = pa.array((dl[sel] // 5000).astype(np.int64), pa.int64())
        cols["trendingScore"] = pa.array((dl[sel] // 100000).astype(np.int64), pa.int64())
        for c in ("pipeline_tag", "library_name", "tags", "baseModels", "cardData", "siblings", "config"):
            cols[c] = static[c].take(sel)
        table = pa.table(cols)
        last_table = table
        if p.missing_week is not None and w == p.missing_week:
            continue
        f = arch_dir / date.isoformat() / "models.parquet"
        f.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, f, row_group_size=max(10000, n // 4), compression="snappy")
        written.append(date)
        if progress and (w % 10 == 0 or w == p.weeks - 1):
            print(f"simulate: week {w + 1}/{p.weeks} ({date})", flush=True)

    live_dir = root_path / "live"
    live_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(last_table, live_dir / "models.parquet", compression="snappy")

    truth_models = pa.table({
        "id": pa.array(ids.tolist(), pa.string()),
        "author": pa.array(uploader.tolist(), pa.string()),
        "lineage_root": pa.array(true_root.tolist(), pa.string()),
        "lineage_depth": pa.array(true_depth, pa.int64()),
        "uploader_region": pa.array(up_region.tolist(), pa.string()),
        "lineage_region": pa.array(lin_region.tolist(), pa.string()),
        "first_party": pa.array(first_party),
        "dirty": pa.array(dirty),
    })
    pq.write_table(truth_models, root_path / "truth_models.parquet")
    crossover_date = p.start + dt.timedelta(days=7.0 * t_cross)
    span_hi = max(p.weeks - 1.0, t_cross) + 5
    meas = measure_crossings(truth_shape, p.window_weeks, lo=0.0, hi=span_hi)
    under = underlying_crossings(truth_shape, lo=0.0, hi=span_hi)

    def week_date(w: float) -> str:
        return (p.start + dt.timedelta(days=round(7.0 * w))).isoformat()

    truth = {
        "description": "Truth of a SIMULATED Hugging Face Hub (not real data).",
        "parameters": {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(p).items()},
        "crossover_date": crossover_date.isoformat(),
        "crossover_week": t_cross,
        "crossover_definition": {"measure": "downloads_30d", "rule": "lineage", "scope": "all",
                                 "estimand": "last upward crossing of the noise-free 30-day measure after which CN "
                                             "stays ahead"},
        "truth_shape": truth_shape.describe(),
        "measure_crossing_dates": [week_date(w) for w in meas.times],
        "measure_crossing_directions": list(meas.directions),
        "underlying_crossover_date": week_date(under.headline) if under.headline is not None else None,
        "release_date": p.release.isoformat() if p.shape == "release_jump" else None,
        "noise_free_log_ratio": {d.isoformat(): round(float(v), 6) for d, v in
                                 zip(dates, truth_shape.measure(np.arange(p.weeks, dtype=float), p.window_weeks))},
        "snapshot_dates": [d.isoformat() for d in written],
        "missing_snapshot_dates": [dates[p.missing_week].isoformat()] if p.missing_week is not None else [],
        "accounts": {a: {"region": v[0], "kind": v[1]} for a, v in ACCOUNTS.items()},
        "individual_accounts": "user00000 ... (unregistered, UNAFFILIATED)",
        "target_shares": {d.isoformat(): dict(zip(SIM_REGIONS, np.round(shares[w], 6).tolist()))
                          for w, d in enumerate(dates)},
        "dirty_counts": {"dangling": int(len(dangling_ix)), "self_reference": int(len(self_ix)),
                         "cycle_members": int(len(cyc_ix))},
    }
    (root_path / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    return SimulatedHub(root=root_path, snapshot_dates=written, crossover=crossover_date, params=p)


def load_truth(root: str | Path) -> dict:
    """Read ``truth.json`` of a simulated Hub."""
    f = Path(root) / "truth.json"
    if not f.is_file():
        raise FileNotFoundError(f"{f}: no simulated Hub here; create one with `python -m analysis simulate --out {root}`")
    return json.loads(f.read_text())
