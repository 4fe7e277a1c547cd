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
# # 03 · Build the panel: download shares by origin over time
#
# Reads the raw archive snapshots of the study window and the tagged models (`models.parquet` of notebook 02), and
# sums downloads per snapshot date, measure, attribution rule, scope and origin, streaming one snapshot at a time.
#
# Writes to the run's processed data (`data/processed/`; `data/demo/processed/` on demo runs), each file with its
# provenance: `panel.parquet` (tidy: date x measure x rule x scope x region, with downloads, share and the number of
# models with downloads), and, from the same pass, `rankings.parquet` (share of the top 10, 50 and 100 models' 30-day
# downloads held by each region) and `top_orgs.parquet` (the 15 most downloaded organisations per date under the
# uploader and lineage rules) for the figures, and `family_downloads.parquet` (30-day downloads per model family of
# `data/reference/model_families.csv`, a model counting for the family of its lineage root).

# %% tags=["parameters"]
# Parameters: the runner fills these from config/study.yaml (names are <section>_<key>).
study_start: str = "2024-07-24"      # first snapshot date of the study window (YYYY-MM-DD)
study_end: "Optional[str]" = None   # last snapshot date (YYYY-MM-DD); None means the latest pulled
study_frequency: str = "weekly"      # daily | weekly | monthly
origin_rule: str = "lineage"         # headline attribution rule (for the summary shown here)
origin_contested: str = "primary"    # headline reading of contested origins: primary | alternative
panel_measure: str = "downloads_30d" # headline measure
panel_scope: str = "all"             # headline scope
simulated: bool = False              # True on demo runs (simulated Hub): outputs are marked SIMULATED DATA

# %%
from IPython.display import Markdown, display

from analysis.display import show_table
from analysis.families import family_downloads, load_families
from analysis.panel import build_panel, primary_series
from analysis.schema import rule_key
from analysis.stage import open_stage
from analysis.raw import RawStore

stage = open_stage("03", globals())
paths = stage.paths
if simulated:
    display(Markdown("**SIMULATED DATA** - demo run on a simulated Hub; nothing below is a finding about the real Hub."))
snapshots = stage.snapshots()
models = stage.read_table("models")
# row codes: written by notebook 02's catalog pass when present; snapshots without valid codes are matched by id
built = build_panel(snapshots, models, row_codes_dir=paths.row_codes_dir)
for key, table in (("panel", built.panel), ("rankings", built.rankings), ("top_orgs", built.top_orgs)):
    out = stage.write_table(key, table)
    print(f"wrote {out.relative_to(paths.root)}: {len(table):,} rows")
print(f"{len(snapshots)} snapshots, {built.rows_read:,} raw rows ({built.rows_used:,} kept after dropping rows without "
      f"downloads where no result depends on them); {built.untagged_rows:,} rows with downloads but no tag "
      f"(UNKNOWN in the 30-day measure, left out of the all-time increments; none are expected); {built.negative_increments:,} decreasing all-time counters (counted as zero); "
      f"{built.snapshots_matched_by_codes} snapshots matched through the catalog's row codes, the others by id")
print(RawStore(paths.raw_dir).quality_summary([d for d, _ in snapshots]))

# %% [markdown]
# ## Shares at the latest snapshot, by rule (headline measure and scope)

# %%
last = built.panel[(built.panel["date"] == built.panel["date"].max()) & (built.panel["measure"] == panel_measure)
                   & (built.panel["scope"] == panel_scope)]
display(show_table(last.pivot_table(index="region", columns="rule", values="share"), default="share"))

# %% [markdown]
# ## For the figures: top-N shares and the most downloaded organisations (latest snapshot)

# %%
latest = built.rankings["date"].max()
display(show_table(built.rankings[built.rankings["date"] == latest]
              .pivot_table(index="region", columns=["rule", "top_n"], values="share"), default="share",
              caption="Share of the top-N models' 30-day downloads (rule · top N)"))
display(show_table(built.top_orgs[(built.top_orgs["date"] == latest) & (built.top_orgs["rule"] == origin_rule)]
              [["rank", "organisation", "region", "downloads"]], max_rows=None))

# %% [markdown]
# ## The headline series: log(share CN / share US)
#
# Missing snapshots appear as empty rows, never dropped.

# %%
series = primary_series(built.panel, panel_measure, rule_key(origin_rule, origin_contested), panel_scope,
                        frequency=study_frequency)
ax = series.plot(x="date", y="log_ratio", legend=False, title="log(share CN / share US)" + (" - SIMULATED DATA" if simulated else ""))
ax.axhline(0, color="grey", lw=0.8)
display(show_table(series.tail(5), formats={"log_ratio": "number", "diff": "share", "t": "count"}))

# %% [markdown]
# ## Downloads per model family
#
# The families of `data/reference/model_families.csv` (Qwen, Llama, DeepSeek, Gemma, Mistral, ...): a model belongs to
# the family of its lineage root, so fine-tunes and quantizations count for the family they derive from. Figure 8
# draws them over time.

# %%
families = load_families(paths.reference_dir / "model_families.csv")
by_family = family_downloads(snapshots, models, families)
out = stage.write_table("family_downloads", by_family)
print(f"wrote {out.relative_to(paths.root)}: {len(families)} families x {by_family['date'].nunique()} snapshots")
latest_families = by_family[by_family["date"] == by_family["date"].max()].sort_values("downloads", ascending=False)
display(show_table(latest_families[["family", "developer", "origin", "downloads", "n_models"]], max_rows=None,
                   caption="30-day downloads per family at the latest snapshot"))
