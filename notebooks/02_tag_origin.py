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
# Writes to the run's processed data (`data/processed/`; `data/demo/processed/` on demo runs), each file with its
# provenance (`analysis/contracts.py`): `models.parquet` (one row per model), `tagging_coverage.json`,
# `decision_coverage.parquet` (per snapshot: the share of downloads decided by a country, a contested country, a
# reasoned non-country kind, or nothing) and `registry_candidates.csv` (the accounts to research next).

# %% tags=["parameters"]
# Parameters: the runner fills these from config/study.yaml (names are <section>_<key>).
study_start: str = "2024-07-24"      # first snapshot date of the study window (YYYY-MM-DD)
study_end: "Optional[str]" = None   # last snapshot date (YYYY-MM-DD); None means the latest pulled
study_frequency: str = "weekly"      # daily | weekly | monthly
origin_merge_parent: str = "first"   # which parent of a merge decides its lineage
archive_metadata_every: int = 13     # thin-read rule: metadata from one anchor snapshot in N weeks (0/1: every week)
simulated: bool = False              # True on demo runs (simulated Hub): outputs are marked SIMULATED DATA

# %%
import pandas as pd
import warnings

from IPython.display import Markdown, display

from analysis.catalog import attach_descriptors, build_catalog
from analysis.display import captured_warnings, facts, notes, show_table
from analysis.origin.coverage import decision_coverage_by_snapshot, registry_candidates, tagging_coverage
from analysis.origin.registry import load_overrides, load_registry
from analysis.origin.tagging import tag_models
from analysis.quality import clean_snapshot
from analysis.raw import RawStore
from analysis.stage import open_stage

stage = open_stage("02", globals())
paths = stage.paths
if simulated:
    display(Markdown("**SIMULATED DATA** - demo run on a simulated Hub; nothing below is a finding about the real Hub."))
snapshots = stage.snapshots()
dates = [d for d, _ in snapshots]
catalog = build_catalog(snapshots, row_codes_dir=stage.path("row_codes"), metadata_every=archive_metadata_every)
stage.seal_dir("row_codes")
print(f"{len(snapshots)} snapshots from {dates[0]} to {dates[-1]}; {catalog.num_rows:,} distinct models")
print(RawStore(paths.raw_dir).quality_summary(dates))

# %%
registry = load_registry(paths.organizations_file)
overrides = load_overrides(paths.overrides_file)
with captured_warnings() as caught:
    tags = tag_models(catalog, registry, overrides, merge_parent=origin_merge_parent)
display(notes(caught, "Notes from tagging"))
models = attach_descriptors(tags, catalog)
out = stage.write_table("models", models)
print(f"wrote {out.relative_to(paths.root)}: {len(models):,} models")

# %% [markdown]
# ## Coverage: how much of the downloads has an origin
#
# Share of the latest snapshot's 30-day downloads per origin under each rule (`first_party`: models not published by
# a registered organisation are `EXCLUDED`), and the share that reaches a country (CN, US, EU or OTHER). The rest is
# `UNAFFILIATED` (individuals, community groups and redistributors, and their derivatives when lineage gives no
# organisation) or `UNKNOWN` (no account); nothing is guessed.
#

# %%
latest = clean_snapshot(RawStore(paths.raw_dir).read("archive", dates[-1], columns=["id", "downloads"])).table
with warnings.catch_warnings():  # the absence of lineage is shown below as a banner, not as a Python warning
    warnings.simplefilter("ignore", UserWarning)
    coverage = tagging_coverage(tags, latest.to_pandas().set_index("id")["downloads"])
out = stage.write_json("tagging_coverage", coverage.to_dict())
print(f"wrote {out.relative_to(paths.root)}")
if coverage.lineage_absent:
    display(Markdown(f"## ⚠ {coverage.lineage_warning}"))
display(show_table(pd.DataFrame(coverage.share_by_rule).T.rename_axis("rule"), default="share",
              caption="Share of the latest snapshot's 30-day downloads by origin"))
display(show_table(pd.Series(coverage.tagged_share, name="share of downloads with a country").rename_axis("rule"),
              default="share"))


# %% [markdown]
# ## What to add to the registry next
#
# The accounts holding the most downloads without a country, under the lineage rule (grouped by the owner of the
# lineage root) and under the uploader rule (grouped by the uploading account). The `registered` column tells the two
# kinds apart: registered individuals, community groups and redistributors (`registered` True, `kind` says which) are
# `UNAFFILIATED` by design; only the unregistered accounts (`kind` `unregistered`) are candidates to research and add.
#

# %%
candidates = registry_candidates(coverage)
out = stage.write_table("registry_candidates", candidates)
print(f"wrote {out.relative_to(paths.root)}: {len(candidates)} accounts; the ten largest under the lineage rule:")
display(show_table(candidates[candidates["rule"] == "lineage"].drop(columns="rule"), max_rows=10,
              note="The whole list is in registry_candidates.csv."))

# %% [markdown]
# ## Coverage by kind of decision, snapshot by snapshot
#
# For every snapshot of the window, the share of its 30-day downloads whose account (the uploader, or the owner of
# the lineage root) the registry gives a country (`country`), a country with a recorded alternative reading
# (`alternative`: a contested origin, see `data/reference/README.md`), a reasoned non-country kind (`non_country_kind`:
# individual, community, redistributor, test account), or nothing (`unknown`).

# %%
by_snapshot = decision_coverage_by_snapshot(tags, snapshots)
out = stage.write_table("decision_coverage", by_snapshot)
print(f"wrote {out.relative_to(paths.root)}: {by_snapshot['date'].nunique()} snapshots")
display(show_table(by_snapshot.pivot_table(index="date", columns=["rule", "decision"], values="share").tail(5),
              default="share", caption="The last five snapshots (every snapshot is in decision_coverage.parquet)"))

# %% [markdown]
# ## Contested origins
#
# Accounts whose country can be read two defensible ways. `models.parquet` carries both readings (`*_region` and
# `*_region_alt`), the panel every rule under both (`lineage` and `lineage_alt`, ...); `origin.contested` chooses
# the headline's reading, and notebook 05 reports the crossover under both.

# %%
contested = registry.contested()
display(show_table(contested[["account", "organisation", "country", "alt_country", "evidence", "alt_evidence"]],
                   max_rows=None))


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
display(facts(coverage.lineage, caption="Lineage"))
display(facts(coverage.overrides, caption="Overrides"))
display(facts(coverage.relation_counts, caption="Models by relation to their parent", value="Models"))

