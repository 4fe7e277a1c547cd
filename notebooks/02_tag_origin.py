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
# # 02 · Tag each model's origin
#
# Reads the raw archive snapshots of the study window (`data/raw/archive/`), builds the catalog of every model seen
# (one row per model, newest metadata), traces each model's lineage to its root base model, and tags its origin under
# each attribution rule with the registry of organisations (`data/reference/organizations.csv`) and the per-model
# overrides (`data/reference/model_overrides.csv`). A model's uploading account is its id's namespace (the part
# before `/`); the snapshot's `author` field is used only for ids without one.
#
# Writes `data/processed/models.parquet` (one row per model) and `data/processed/tagging_coverage.json`.

# %% tags=["parameters"]
# Parameters: the runner fills these from config/study.yaml (names are <section>_<key>).
study_start: str = "2024-07-24"      # first snapshot date of the study window (YYYY-MM-DD)
study_end: "Optional[str]" = None   # last snapshot date (YYYY-MM-DD); None means the latest pulled
study_frequency: str = "weekly"      # weekly | monthly
origin_merge_parent: str = "first"   # which parent of a merge decides its lineage
simulated: bool = False              # True on demo runs (simulated Hub): outputs are marked SIMULATED DATA

# %%
import datetime as dt

import pandas as pd
from IPython.display import Markdown, display

from analysis.catalog import build_catalog
from analysis.origin.coverage import tagging_coverage
from analysis.origin.registry import load_overrides, load_registry
from analysis.origin.tagging import tag_models
from analysis.panel import select_snapshots
from analysis.paths import Paths
from analysis.quality import clean_snapshot, quality_summary
from analysis.raw import RawStore

paths = Paths.default(simulated=simulated)
if simulated:
    display(Markdown("**SIMULATED DATA** - demo run on a simulated Hub; nothing below is a finding about the real Hub."))
store = RawStore(paths.raw_dir)
dates = select_snapshots(store.snapshot_dates("archive"), start=dt.date.fromisoformat(study_start),
                         end=dt.date.fromisoformat(study_end) if study_end else None, frequency=study_frequency)
snapshots = [(d, store.path("archive", d)) for d in dates]
catalog = build_catalog(snapshots, row_codes_dir=paths.row_codes_dir)
print(f"{len(snapshots)} snapshots from {dates[0]} to {dates[-1]}; {catalog.num_rows:,} distinct models")
print(quality_summary(paths.raw_dir, dates))

# %%
registry = load_registry(paths.organizations_file)
overrides = load_overrides(paths.overrides_file)
tags = tag_models(catalog, registry, overrides, merge_parent=origin_merge_parent)
extra = catalog.select(["id", "createdAt", "pipeline_tag", "library_name", "last_seen"]).to_pandas()
models = tags.merge(extra, on="id", how="left", validate="one_to_one")
paths.processed_dir.mkdir(parents=True, exist_ok=True)
models.to_parquet(paths.models_file, index=False)
print(f"wrote {paths.models_file.relative_to(paths.root)}: {len(models):,} models")

# %% [markdown]
# ## Coverage: how much of the downloads has an origin
#
# Share of the latest snapshot's 30-day downloads per origin under each rule (`first_party`: models not published by
# a registered organisation are `EXCLUDED`), and the share that reaches a country (CN, US, EU or OTHER). The rest is
# `UNAFFILIATED` (individuals, community groups and redistributors, and their derivatives when lineage gives no
# organisation) or `UNKNOWN` (no account); nothing is guessed.
#

# %%
latest = clean_snapshot(store.read("archive", dates[-1], columns=["id", "downloads"])).table.to_pandas()
coverage = tagging_coverage(tags, latest.set_index("id")["downloads"])
coverage.to_json(paths.coverage_file)
print(f"wrote {paths.coverage_file.relative_to(paths.root)}")
display(pd.DataFrame(coverage.share_by_rule).T.round(4))
display(pd.Series(coverage.tagged_share, name="share of downloads with a country").round(4).to_frame())


# %% [markdown]
# ## What to add to the registry next
#
# The accounts holding the most downloads without a country, under the lineage rule (grouped by the owner of the
# lineage root) and under the uploader rule (grouped by the uploading account). The `registered` column tells the two
# kinds apart: registered individuals, community groups and redistributors (`registered` True, `kind` says which) are
# `UNAFFILIATED` by design; only the unregistered accounts (`kind` `unregistered`) are candidates to research and add.
#

# %%
display(pd.DataFrame(coverage.top_untagged_accounts).head(50))
display(pd.DataFrame(coverage.top_untagged_uploaders).head(20))


# %% [markdown]
# ## Dirty lineage and overrides
#
# Parent ids are matched to model ids exactly, then case-insensitively (the Hub resolves ids case-insensitively;
# `n_case_matched`). A merge's parent is chosen after dropping the model itself and ids that match no model. Cycles
# and self references are broken deterministically (at the smallest id); `n_cycle_models` counts models on cycles of
# two or more, self references are counted apart. A dangling parent (an id that is not on the Hub) ends the chain at
# the last model that resolves. The raw snapshots carry no model cards, so every parent comes from `baseModels` or the
# `base_model:` tags. Overrides from `data/reference/model_overrides.csv` are applied last. The report written above
# (`tagging_coverage.json`, `author_namespace`) also counts the models whose `author` field named another account.
#

# %%
display(pd.Series(coverage.lineage, name="count or share").to_frame())
display(pd.Series(coverage.overrides, name="overrides").to_frame())
display(pd.Series(coverage.relation_counts, name="models").to_frame())

