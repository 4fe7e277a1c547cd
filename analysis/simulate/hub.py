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

Adoption factors (notebook 06) are injected apart, by :func:`inject_factors` with its own random stream: every family
(a base model and its derivatives) draws a licence, declared languages and a parameter count from distributions that
differ by the origin of its base, independently of downloads; ``truth.json`` records them under ``factors`` (with
the CN minus US differences a download-weighted estimate should recover) and ``truth_models.parquet`` holds each
model's true licence class, languages and size bin. Malformed licences, language names and zero or negative
parameter totals are planted and counted, for the notebook to report.

The simulation is deterministic: the same parameters give the same files, byte for byte.

A simulated Hub says so in its data, so that a pull knows it from what it reads, whoever serves it: the archive
repository holds :data:`SIMULATED_MARKER` at its root (``{"simulated": true, ...}`` with the parameters), and
every simulated model carries the tag :data:`SIMULATED_TAG` (in the archive and in the live listing). A real Hub
has neither (a real model may carry the tag, but never every model of a listing).
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

#: Version of what :func:`simulate_hub` generates for given parameters. Raise it whenever a change to this module
#: changes the simulated Hub (accounts, tags, shapes, ...): a demo Hub made by another version is rebuilt.
HUB_GENERATOR_VERSION = 2

ARCHIVE_REPO = "hfmlsoc/hub_weekly_snapshots"

#: File at the root of a simulated Hub's archive repository that says the Hub is simulated.
SIMULATED_MARKER = "SIMULATED_HUB.json"

#: Tag every model of a simulated Hub carries (so its live listing, which has no repository, is marked too).
SIMULATED_TAG = "hub-origin-study:simulated"

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
    # a contested origin (data/reference/README.md): EU in the registry's primary reading, US in its alternative
    "sentence-transformers": ("EU", "academic", 2.0),
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


# --------------------------------------------------------------------------------------------------------------
# adoption factors: licence, language and size by origin (notebook 06)
# --------------------------------------------------------------------------------------------------------------
# Kept apart from the download simulation: its own random stream (seeded from the simulation's seed), so the
# downloads, lineage and shares of a Hub are the same with or without it, and attributes are drawn without looking
# at downloads (so a download-weighted share has the injected probability as its expectation).

#: Licence classes of the simulation (the study's classes, see :mod:`analysis.factors`) and the tags drawn in each,
#: with their probabilities. ``None``: no licence tag at all; ``"Apache 2.0 "``: a malformed value (counted by
#: notebook 06 as unparseable and classed other or unknown).
SIM_LICENCE_TAGS: dict[str, tuple[tuple[str | None, float], ...]] = {
    "permissive": (("apache-2.0", 0.6), ("mit", 0.3), ("bsd-3-clause", 0.05), ("cc-by-4.0", 0.05)),
    "restricted": (("llama3.1", 0.35), ("llama3.2", 0.2), ("gemma", 0.25), ("openrail", 0.1),
                   ("creativeml-openrail-m", 0.1)),
    "non_commercial": (("cc-by-nc-4.0", 0.6), ("cc-by-nc-sa-4.0", 0.25), ("fair-noncommercial-research-license", 0.15)),
    "other_unknown": (("other", 0.4), ("unknown", 0.15), (None, 0.35), ("Apache 2.0 ", 0.1)),
}
#: Probability of each licence class for a family (a base model and its derivatives) by the base's origin.
SIM_LICENCE: dict[str, dict[str, float]] = {
    "CN": {"permissive": 0.70, "restricted": 0.10, "non_commercial": 0.05, "other_unknown": 0.15},
    "US": {"permissive": 0.35, "restricted": 0.45, "non_commercial": 0.05, "other_unknown": 0.15},
    "EU": {"permissive": 0.60, "restricted": 0.20, "non_commercial": 0.10, "other_unknown": 0.10},
    "OTHER": {"permissive": 0.40, "restricted": 0.30, "non_commercial": 0.15, "other_unknown": 0.15},
    "UNAFFILIATED": {"permissive": 0.50, "restricted": 0.10, "non_commercial": 0.10, "other_unknown": 0.30},
}
#: Probability that a family declares Chinese (``zh``), English (``en``), and at least one other language.
SIM_LANGUAGE: dict[str, dict[str, float]] = {
    "CN": {"zh": 0.80, "en": 0.85, "other": 0.25},
    "US": {"zh": 0.05, "en": 0.90, "other": 0.30},
    "EU": {"zh": 0.03, "en": 0.80, "other": 0.60},
    "OTHER": {"zh": 0.05, "en": 0.70, "other": 0.60},
    "UNAFFILIATED": {"zh": 0.15, "en": 0.60, "other": 0.20},
}
#: Codes of the "other" languages drawn (one to three of them).
SIM_OTHER_LANGUAGES = ("fr", "de", "es", "ja", "ko", "ru", "ar", "vi", "multilingual")
#: Size bins (parameters, lower bound inclusive) and their probability for a family by the base's origin.
SIM_SIZE_EDGES: tuple[float, ...] = (5e7, 1e9, 1e10, 1e11, 1e12)
SIM_SIZE_BINS: tuple[str, ...] = ("under_1b", "1b_10b", "10b_100b", "over_100b")
SIM_SIZE: dict[str, dict[str, float]] = {
    "CN": {"under_1b": 0.30, "1b_10b": 0.50, "10b_100b": 0.15, "over_100b": 0.05},
    "US": {"under_1b": 0.45, "1b_10b": 0.35, "10b_100b": 0.17, "over_100b": 0.03},
    "EU": {"under_1b": 0.30, "1b_10b": 0.50, "10b_100b": 0.18, "over_100b": 0.02},
    "OTHER": {"under_1b": 0.40, "1b_10b": 0.45, "10b_100b": 0.15, "over_100b": 0.0},
    "UNAFFILIATED": {"under_1b": 0.60, "1b_10b": 0.35, "10b_100b": 0.05, "over_100b": 0.0},
}
#: Probability that a derivative keeps its base's licence (languages); otherwise it draws its own from the same
#: distribution, so every model's class has the injected distribution of its family's origin.
SIM_KEEP_LICENCE = 0.85
SIM_KEEP_LANGUAGE = 0.90
#: Share of models without a parameter count (neither safetensors nor GGUF), drawn independently of everything.
SIM_NO_PARAMS = 0.08
#: Share of models whose declared total is zero or negative (notebook 06 counts these as unparseable sizes).
SIM_BAD_PARAMS = 0.004
#: Share of models with a language written as a name (``chinese``, ``english``) besides their codes (unparseable).
SIM_LANGUAGE_NAMES = 0.02
#: Safetensors struct of the simulated archive (a repo's parameter count by dtype and in total).
SAFETENSORS_TYPE = pa.struct([pa.field("parameters", pa.struct([pa.field("BF16", pa.int64()),
                                                                 pa.field("F32", pa.int64())])),
                              pa.field("total", pa.int64())])
#: GGUF struct of the simulated archive (the real one has more fields; notebook 06 reads ``total``).
GGUF_TYPE = pa.struct([pa.field("total", pa.int64()), pa.field("architecture", pa.string()),
                       pa.field("context_length", pa.int64())])


@dataclass(frozen=True)
class InjectedFactors:
    """Licence, language and size of every simulated model (see :func:`inject_factors`).

    Attributes
    ----------
    tags : list of list of str
        Licence and language tags of each model, as they go into its ``tags``.
    card_licence : list of str or None
        The ``license`` of each model card.
    safetensors, gguf : list of dict or None
        The two structs of the archive that carry parameter counts.
    size_label : numpy.ndarray
        ``"7.2B"``-style label of each family's size (used in the base model's name).
    licence_class, size_bin : numpy.ndarray
        The true class and size bin of each model (size: its family's; ``"unknown"`` without a usable count).
    licence_tag : numpy.ndarray
        The licence value written in its tags (None: no licence tag).
    params_written : list of int or None
        The total written in its safetensors or GGUF struct (None: neither).
    declares_zh, declares_en, declares_other : numpy.ndarray of bool
        The languages each model declares by code.
    unparseable : dict
        Models given a malformed licence, a language name, or a zero or negative parameter total.
    """

    tags: list
    card_licence: list
    safetensors: list
    gguf: list
    size_label: np.ndarray
    licence_class: np.ndarray
    size_bin: np.ndarray
    declares_zh: np.ndarray
    declares_en: np.ndarray
    declares_other: np.ndarray
    language_name: np.ndarray
    licence_tag: np.ndarray
    params_written: list
    unparseable: dict


def _draw(rng: np.random.Generator, probs: dict[str, float], region: np.ndarray, table: dict) -> np.ndarray:
    """One category per element, from the distribution ``table[region]`` of its region."""
    out = np.empty(len(region), dtype=object)
    for r in np.unique(region):
        m = region == r
        p = np.array([table[r][k] for k in probs], dtype=float)
        out[m] = np.array(list(probs), dtype=object)[rng.choice(len(p), size=int(m.sum()), p=p / p.sum())]
    return out


def _size_label(params: float) -> str:
    return f"{params / 1e6:.0f}M" if params < 1e9 else f"{params / 1e9:.3g}B"


def inject_factors(uploader: np.ndarray, root: np.ndarray, relation: np.ndarray, seed: int) -> InjectedFactors:
    """Draw every model's licence, languages and parameter count, with known differences by origin.

    A family (a base model and every model derived from it) draws its licence class, languages and size from the
    distributions of its base's origin (:data:`SIM_LICENCE`, :data:`SIM_LANGUAGE`, :data:`SIM_SIZE`).
    Derivatives keep the family's licence and languages with probability :data:`SIM_KEEP_LICENCE` and
    :data:`SIM_KEEP_LANGUAGE`, and otherwise draw their own from the same distributions; fine-tunes, merges and
    quantizations have the family's parameter count (quantizations in a GGUF struct), adapters only their own
    small adapter weights. Some models have no count, a zero or negative one, a malformed licence or a language
    written as a name (counted in ``unparseable``). Nothing here depends on downloads.

    Parameters
    ----------
    uploader : numpy.ndarray
        Account of each model.
    root : numpy.ndarray
        Index of each model's lineage root (itself for a base).
    relation : numpy.ndarray
        ``""`` for a base, else ``finetune``, ``quantized``, ``adapter`` or ``merge``.
    seed : int
        The simulation's seed (the draws use their own stream, ``[seed, 16]``).

    Returns
    -------
    InjectedFactors
    """
    rng = np.random.default_rng([seed, 16])
    n = len(uploader)
    acct_region = {a: v[0] for a, v in ACCOUNTS.items()}
    region = np.array([acct_region.get(u, "UNAFFILIATED") for u in uploader[root]], dtype=object)
    is_base = root == np.arange(n)

    # licence: family class, kept by derivatives or drawn afresh
    fam = _draw(rng, SIM_LICENCE["CN"], region, SIM_LICENCE)
    own = _draw(rng, SIM_LICENCE["CN"], region, SIM_LICENCE)
    keep = is_base | (rng.random(n) < SIM_KEEP_LICENCE)
    lic_class = np.where(keep, fam[root], own)
    tag_u = rng.random(n)
    lic_tag = np.empty(n, dtype=object)
    for c, choices in SIM_LICENCE_TAGS.items():
        m = lic_class == c
        cum = np.cumsum([p for _, p in choices])
        k = np.minimum(np.searchsorted(cum / cum[-1], tag_u[m], side="right"), len(choices) - 1)
        lic_tag[m] = np.array([t for t, _ in choices], dtype=object)[k]
    # licence tags of a family are the base's where the class was kept (same tag, not only the same class)
    kept_tag = keep & (lic_class == lic_class[root])
    lic_tag = np.where(kept_tag, lic_tag[root], lic_tag)

    # languages: family flags, kept by derivatives or drawn afresh
    def flags() -> dict[str, np.ndarray]:
        u = rng.random((n, 3))
        p = {k: np.array([SIM_LANGUAGE[r][k] for r in region]) for k in ("zh", "en", "other")}
        return {k: u[:, i] < p[k] for i, k in enumerate(("zh", "en", "other"))}

    fam_l, own_l = flags(), flags()
    keep_l = is_base | (rng.random(n) < SIM_KEEP_LANGUAGE)
    lang = {k: np.where(keep_l, fam_l[k][root], own_l[k]) for k in fam_l}
    n_other = rng.integers(1, 4, n)
    other_pick = rng.permuted(np.tile(np.arange(len(SIM_OTHER_LANGUAGES)), (n, 1)), axis=1)
    names_u = rng.random(n) < SIM_LANGUAGE_NAMES

    # size: family bin and count; adapters hold only their adapter weights
    fam_bin = _draw(rng, SIM_SIZE["CN"], region, SIM_SIZE)
    k = np.array([SIM_SIZE_BINS.index(b) for b in fam_bin])
    lo, hi = np.log(np.array(SIM_SIZE_EDGES[:-1])[k]), np.log(np.array(SIM_SIZE_EDGES[1:])[k])
    fam_params = np.floor(np.exp(lo + (hi - lo) * rng.random(n)))
    params = fam_params[root]
    adapter = relation == "adapter"
    params = np.where(adapter, np.floor(params * rng.uniform(0.002, 0.02, n)), params)
    no_params = rng.random(n) < SIM_NO_PARAMS
    bad_params = ~no_params & (rng.random(n) < SIM_BAD_PARAMS)
    # the true size bin: the family's, unknown where notebook 06's rule has no usable count (no count or a bad one
    # on the model, or, for adapters and quantizations, on the model and its root alike)
    usable = ~no_params & ~bad_params
    via_root = adapter | (relation == "quantized")
    size_known = np.where(via_root, usable[root] | (usable & ~adapter), usable)
    size_bin = np.where(size_known, fam_bin[root], "unknown")

    tags, card, st, gg, written = [], [], [], [], []
    for i in range(n):
        t = [] if lic_tag[i] is None else [f"license:{lic_tag[i]}"]
        codes = (["en"] if lang["en"][i] else []) + (["zh"] if lang["zh"][i] else [])
        if lang["other"][i]:
            codes += [SIM_OTHER_LANGUAGES[j] for j in other_pick[i, :n_other[i]]]
        if names_u[i]:
            codes.append("chinese" if lang["zh"][i] else "english")
        tags.append(codes + t)
        card.append(lic_tag[i])
        if no_params[i]:
            st.append(None)
            gg.append(None)
            written.append(None)
            continue
        total = int(params[i]) if not bad_params[i] else -int(params[i]) if i % 2 else 0
        written.append(total)
        if relation[i] == "quantized":
            st.append(None)
            gg.append({"total": total, "architecture": "llama", "context_length": 32768})
        else:
            st.append({"parameters": {"BF16": total, "F32": None}, "total": total})
            gg.append(None)
    unparseable = {"licence_tags": int(sum(1 for t in lic_tag if t == "Apache 2.0 ")),
                   "language_names": int(names_u.sum()), "params_not_positive": int(bad_params.sum())}
    return InjectedFactors(tags=tags, card_licence=card, safetensors=st, gguf=gg,
                           size_label=np.array([_size_label(x) for x in fam_params], dtype=object),
                           licence_class=lic_class.astype(str), size_bin=size_bin.astype(str),
                           declares_zh=lang["zh"], declares_en=lang["en"], declares_other=lang["other"],
                           language_name=names_u, licence_tag=lic_tag, params_written=written,
                           unparseable=unparseable)


def factor_truth(injected: InjectedFactors) -> dict:
    """What ``truth.json`` records about the injected factors: the distributions by origin (the values a
    download-weighted share estimates, since attributes are drawn independently of downloads), CN minus US for each
    level, the rules and the unparseable counts."""
    lang = {r: {"zh": v["zh"], "other": v["other"], "en": v["en"],
                "none": (1 - v["zh"]) * (1 - v["en"]) * (1 - v["other"])} for r, v in SIM_LANGUAGE.items()}
    diff = {}
    for name, table in (("licence", SIM_LICENCE), ("language", lang), ("size", SIM_SIZE)):
        for level in table["CN"]:
            diff[f"{name}:{level}"] = round(table["CN"][level] - table["US"][level], 12)
    return {
        "description": ("Licence class, declared languages and size bin of each family (a base model and its "
                        "derivatives) are drawn from these distributions by the origin of the family's base, "
                        "independently of downloads; so each is the expected download-weighted share under the "
                        "lineage rule. Size bins are shares of the downloads whose size is known."),
        "unit": "family",
        "licence": SIM_LICENCE, "licence_tags": {c: [t for t, _ in v] for c, v in SIM_LICENCE_TAGS.items()},
        "language": lang, "size": SIM_SIZE,
        "size_edges": list(SIM_SIZE_EDGES), "size_bins": list(SIM_SIZE_BINS),
        "difference_cn_minus_us": diff,
        "keep_licence": SIM_KEEP_LICENCE, "keep_language": SIM_KEEP_LANGUAGE,
        "no_params_share": SIM_NO_PARAMS,
        "unparseable_models": injected.unparseable,
    }


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

    # --- adoption factors (licence, languages, parameter counts), from their own random stream -----------
    factors = inject_factors(uploader, root, relation, p.seed)

    # --- names -----------------------------------------------------------------------------------
    sizes = np.array(["0.5B", "1.5B", "3B", "7B", "8B", "14B", "32B", "70B"])
    suffix = {"finetune": "ft", "quantized": "GGUF", "adapter": "lora", "merge": "merge", "": ""}
    names = np.empty(n, dtype=object)
    size_of = sizes[rng.integers(0, len(sizes), n)]  # drawn to keep the stream; the names show the true sizes
    size_of = factors.size_label
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
        tg = [str(lib[i]), str(pipe[i])] + factors.tags[i] + ["region:us", SIMULATED_TAG]
        bm = None
        dp = declared_parents[i]
        if dp:
            rel_i = relation[i]
            tg += [f"base_model:{x}" for x in dp] + [f"base_model:{rel_i}:{x}" for x in dp]
            if not base_in_tags_only[i]:
                bm = {"relation": rel_i, "models": [{"id": x} for x in dp]}
        tags_list.append(tg)
        bm_list.append(bm)
        card = {"pipeline_tag": str(pipe[i]), "description": card_text[i]}
        if factors.card_licence[i] is not None:
            card["license"] = factors.card_licence[i]
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
        "safetensors": pa.array(factors.safetensors, SAFETENSORS_TYPE),
        "gguf": pa.array(factors.gguf, GGUF_TYPE),
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
        for c in ("pipeline_tag", "library_name", "tags", "baseModels", "cardData", "siblings", "config",
                  "safetensors", "gguf"):
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
        "licence_class": pa.array(factors.licence_class.tolist(), pa.string()),
        "declares_zh": pa.array(factors.declares_zh),
        "declares_en": pa.array(factors.declares_en),
        "declares_other": pa.array(factors.declares_other),
        "size_bin": pa.array(factors.size_bin.tolist(), pa.string()),
        "licence_tag": pa.array(factors.licence_tag.tolist(), pa.string()),
        "language_name": pa.array(factors.language_name),
        "params_written": pa.array(factors.params_written, pa.int64()),
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
        "generator_version": HUB_GENERATOR_VERSION,
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
        "factors": factor_truth(factors),
        "dirty_counts": {"dangling": int(len(dangling_ix)), "self_reference": int(len(self_ix)),
                         "cycle_members": int(len(cyc_ix))},
    }
    (root_path / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    marker = {"simulated": True, "generator": "analysis.simulate.simulate_hub",
              "description": "SIMULATED Hugging Face Hub with a known truth (not real data); every model carries "
                             f"the tag {SIMULATED_TAG!r}",
              "tag": SIMULATED_TAG, "parameters": truth["parameters"]}
    (root_path / "datasets" / p.repo_id / SIMULATED_MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True)
                                                                      + "\n")
    return SimulatedHub(root=root_path, snapshot_dates=written, crossover=crossover_date, params=p)


def load_truth(root: str | Path) -> dict:
    """Read ``truth.json`` of a simulated Hub."""
    f = Path(root) / "truth.json"
    if not f.is_file():
        raise FileNotFoundError(f"{f}: no simulated Hub here; create one with `python -m analysis simulate --out {root}`")
    return json.loads(f.read_text())


def truth_check(crossover: dict, truth: dict) -> dict:
    """The estimated crossover (``crossover.json`` content) against a simulated Hub's truth (``truth.json``).

    Returns
    -------
    dict
        ``true_crossover_date``, the estimate and its set, ``error_weeks`` (estimate minus truth) and
        ``truth_inside_interval`` (an open end counts as reaching as far as needed).
    """
    h = crossover.get("headline", {})
    true = dt.date.fromisoformat(truth["crossover_date"])
    out = {"simulated": True, "true_crossover_date": true.isoformat(),
           "true_definition": truth.get("crossover_definition"), "estimated_definition": crossover.get("definition"),
           "estimate_date": h.get("estimate_date"), "lower_date": h.get("lower_date"),
           "upper_date": h.get("upper_date"), "interval_kind": h.get("kind")}
    if h.get("estimate_date"):
        out["error_weeks"] = round((dt.date.fromisoformat(h["estimate_date"]) - true).days / 7.0, 2)
    lo, up = h.get("lower_date"), h.get("upper_date")
    out["truth_inside_interval"] = bool(h.get("kind") not in ("no_crossing", "empty") and
                                        (lo is None or dt.date.fromisoformat(lo) <= true) and
                                        (up is None or true <= dt.date.fromisoformat(up)))
    return out


def truth_reading(check: dict) -> str:
    """The truth check in one sentence."""
    inside = "inside" if check["truth_inside_interval"] else "OUTSIDE"
    err = check.get("error_weeks")
    err_text = f"{abs(err):.1f} weeks {'late' if err > 0 else 'early'}" if err is not None else "no estimate"
    return (f"Truth check (simulated Hub): the true crossover is {check['true_crossover_date']}; the estimate "
            f"{check.get('estimate_date') or 'none'} is {err_text}, and the truth is {inside} the confidence set "
            f"({check.get('lower_date') or 'open'} to {check.get('upper_date') or 'open'}).")
