# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Why are models of each origin downloaded? Licence, language, size and derivative ecosystem
#
# Reads the raw archive snapshots of the study window (thinned to `factors_frequency`: by default the first snapshot of each month), the tagged models (`models.parquet`, notebook 02) and the headline crossover (`crossover.json`, notebook 05). Snapshots pulled thin (`archive.metadata_every` >= 1) hold each week's downloads and the metadata of the rows the thin-read rule reads only: their rows take their model's tags and parameter count under that rule (as the catalog of notebook 02 does), so a licence, language or size that changed during the window is read at its newest value.
#
# Measures, by origin (headline attribution rule and scope), the download-weighted share of each licence class, of models declaring Chinese or another language than English, and of each size bin, and the derivative ecosystem built on each origin's base models (new derivatives per month, accounts building them, derivatives per base model, downloads of derivatives). For each measure it gives the CN minus US difference before and after the crossover with a bootstrap interval, and whether that difference changed across the crossover. The rules (licence classes, language codes, size bins) are in `analysis/factors.py` and in the `classes` of the output.
#
# Writes `factors.parquet` (the series) and `factors.json` (split, rules, differences, changes, unparseable fields, readings) to the run's results (`data/processed/results/`; `data/demo/processed/results/` on demo runs), each with its provenance.
#
# These are associations: a factor that differs by origin is not shown to cause downloads (see the reading at the end).

# %% tags=["parameters"]
# Parameters: the runner fills these from config/study.yaml (names are <section>_<key>).
study_start: str = "2024-07-24"          # first snapshot date of the study window (YYYY-MM-DD)
study_end: "Optional[str]" = None       # last snapshot date (YYYY-MM-DD); None means the latest pulled
study_frequency: str = "weekly"          # daily | weekly | monthly
origin_rule: str = "lineage"             # attribution rule of the shares: uploader | lineage | first_party
panel_scope: str = "all"                 # scope of the shares: all | llm | no_redistributors
crossover_alpha: float = 0.05            # 1 - confidence level of every interval
factors_frequency: str = "monthly"       # snapshots read: monthly (first of each month) | weekly
factors_size_bins: list = [1, 10, 100]   # size bin edges in billions of parameters
factors_resample: str = "family"         # bootstrap unit of the shares: family (base + derivatives) | model
factors_bootstrap_reps: int = 999        # bootstrap replicates
factors_seed: int = 0                    # seed of the bootstrap
factors_split_date: "Optional[str]" = None  # before/after split (YYYY-MM-DD); None: the bounded headline crossover
archive_metadata_every: int = 13         # thin-read rule the pull followed (thin snapshots: metadata per model)
simulated: bool = False                  # True on demo runs (simulated Hub): outputs are marked SIMULATED DATA

# %%
import datetime as dt

import pandas as pd
from IPython.display import Markdown, display

from analysis.factors import choose_split, compute_factors, thin_metadata
from analysis.stage import open_stage, pull_notes
from analysis.timegrid import select_snapshots

stage = open_stage("06", globals())
paths = stage.paths
if simulated:
    display(Markdown("**SIMULATED DATA** - demo run on a simulated Hub; nothing below is a finding about the real Hub."))
window = stage.snapshots()
keep = set(select_snapshots([d for d, _ in window], frequency=factors_frequency))
snapshots = [(d, p) for d, p in window if d in keep]
models = stage.read_table("models")
crossover = stage.read_json("crossover")
override = dt.date.fromisoformat(factors_split_date) if factors_split_date else None
split = choose_split(crossover, [d for d, _ in snapshots], override)
drift = pull_notes(paths, [d for d, _ in snapshots], [d for d, _ in window])
result = compute_factors(snapshots, models, rule=origin_rule, scope=panel_scope, split=split,
                         size_edges_b=factors_size_bins, reps=factors_bootstrap_reps, seed=factors_seed,
                         resample=factors_resample, alpha=crossover_alpha, frequency=factors_frequency,
                         pull_notes=drift, metadata=thin_metadata(window, archive_metadata_every))
print(f"wrote {stage.write_table('factors', result.table).relative_to(paths.root)}")
print(f"wrote {stage.write_json('factors_summary', result.as_dict()).relative_to(paths.root)}")
print(f"{len(snapshots)} snapshots ({snapshots[0][0]} to {snapshots[-1][0]}, {factors_frequency}); "
      f"{len(result.table):,} rows; rule {origin_rule}, scope {panel_scope}")

# %% [markdown]
# ## Where the window is split
#
# Before and after the crossover: the headline crossover date of notebook 05 when its confidence set is bounded. Otherwise the note says which date is used and why.

# %%
display(Markdown(("**SIMULATED DATA.** " if simulated else "") + result.split.note))
display(pd.DataFrame(result.definition["periods"]).T)

# %% [markdown]
# ## Fields that could not be read
#
# Counted over the snapshots read, on the models with downloads: `rows` are model-snapshots, `models` distinct models, `download_share` their share of all downloads. Unknown licence values and conflicting licence tags are classed "other, custom or no licence"; language names (not codes) are not used; zero or negative parameter totals count as unknown size. `size_unknown_after_rule` is every download without a usable size after adapters and quantizations took their base's count. `size_pull_notes` are the pull's notes on totals it could not store as whole numbers.

# %%
unparseable = {k: v for k, v in result.unparseable.items() if k != "size_pull_notes"}
display(pd.DataFrame(unparseable).T[["rows", "models", "download_share"]].astype({"rows": int, "models": int}))
for key in ("licence_unknown_value", "language_name_not_code"):
    if unparseable.get(key, {}).get("values"):
        print(f"{key}: most frequent values {unparseable[key]['values']}")
print("pull notes on parameter counts:", result.unparseable["size_pull_notes"] or "none")

# %% [markdown]
# ## CN minus US, before and after the crossover
#
# Shares are fractions of an origin's downloads (size bins: of its downloads with a known size); ecosystem measures are counts (per month where it says so; derivative downloads are mean 30-day downloads per snapshot). Intervals are percentile bootstrap intervals at the study's confidence level, resampling families (a base model with its derivatives) within each origin, or accounts for builder accounts.
#
# `neff_cn` and `neff_us` are the effective numbers of units behind each value (downloads squared over the sum of squares): downloads are so concentrated that a few families carry most of the information. Below 10 the interval rests on a few models' attributes and is unreliable. On simulated Hubs with heavy-tailed downloads (`python -m devtools.factor_coverage --seeds 60 --models 20000 --weeks 12 --reps 499`, seeds 1-60) the 95% intervals of the shares contained the injected CN minus US difference in 0.909 of 1,440 cases (0.825 to 0.975 by measure; Monte Carlo s.e. about 0.03 per measure): somewhat narrower than nominal, more so when one family dominates an origin.

# %%
diffs = result.difference_table()
with pd.option_context("display.max_rows", 200, "display.float_format", "{:.4g}".format):
    display(diffs[["factor", "level", "period", "cn", "us", "difference", "lower", "upper", "unit", "n_cn", "n_us",
                   "neff_cn", "neff_us"]])

# %% [markdown]
# ## Did the difference change across the crossover?
#
# After minus before, with a paired bootstrap interval (the same resampled units in both periods). `changed` is true when the interval excludes zero; with this many measures, about one in twenty does so by chance.

# %%
with pd.option_context("display.max_rows", 200, "display.float_format", "{:.4g}".format):
    display(result.change_table())

# %% [markdown]
# ## Reading

# %%
display(Markdown("\n\n".join(f"**{k}.** {v}" for k, v in result.as_dict()["readings"].items())))
