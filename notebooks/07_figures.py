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
# # 07 · Figures, quotable numbers and their provenance
#
# Reads the panel, the tagged models and the rankings (notebooks 02 and 03), the results of notebooks 04 and 05
# (`trends.json`, `crossover.json`, `crossover_sensitivity.parquet`, `published_comparison.csv`), of notebook 06
# (`factors.parquet`, `factors.json`) and the published estimates (`data/reference/published_estimates.csv`), after
# checking that each belongs to this run (run kind, settings, inputs unchanged since).
#
# Writes to the run's figures folder (`figures/`; `data/demo/figures/` on demo runs) every figure of the study (each
# declared once in `analysis/figures/`) as `<name>.{pdf,svg,png}` with `<name>.csv` (exactly the data
# plotted, on the full period grid: a period without a snapshot is an empty row and a gap in the line; the last column,
# `data_kind`, says `SIMULATED DATA` on demo runs), `figures/figures.json` (title, caption, hashes, data range, raw
# manifest hash, config digest, package version, git commit, suggested citation for each figure) and
# `figures/values.json` / `figures/values.tex` (every number a reader might quote, one LaTeX macro each; on demo runs
# every macro ends with `[SIMULATED DATA]`). A rerun on the same inputs writes byte-identical files.

# %% tags=["parameters"]
# Parameters: the runner fills these from config/study.yaml (names are <section>_<key>).
figures_formats: list = ["pdf", "svg", "png"]  # file formats written for every figure
figures_dpi: int = 300                         # resolution of PNG files
panel_measure: str = "downloads_30d"           # headline measure: downloads_30d | downloads_alltime_increment
origin_rule: str = "lineage"                   # headline attribution rule: uploader | lineage | first_party
origin_contested: str = "primary"              # headline reading of contested origins: primary | alternative
panel_scope: str = "all"                       # headline scope: all | llm | no_redistributors
study_frequency: str = "weekly"                # daily | weekly | monthly
run_config_digest: str = ""                    # digest of the run's configuration (set by the runner)
simulated: bool = False                        # True on demo runs: every figure and caption says SIMULATED DATA

# %%
from IPython.display import Image, Markdown, display

from analysis.display import show_table
from analysis.figures import Definition, make_all_figures
from analysis.schema import rule_key
from analysis.stage import open_stage

stage = open_stage("07", globals())
paths = stage.paths
if simulated:
    display(Markdown("**SIMULATED DATA** - demo run on a simulated Hub; nothing below is a finding about the real Hub."))
definition = Definition(panel_measure, rule_key(origin_rule, origin_contested), panel_scope, study_frequency)
run, figs = make_all_figures(paths, definition, formats=figures_formats, dpi=figures_dpi, simulated=simulated,
                             config_digest=run_config_digest, provenance=stage.provenance)
print(f"wrote {len(run.records)} figures to {paths.figures_dir.relative_to(paths.root)}/ "
      f"({', '.join(figures_formats)} + csv), figures.json, values.json, values.tex")

# %% [markdown]
# ## The figures
#
# Each figure is shown from its PNG file (or drawn again when PNG is not among the formats), with its caption.

# %%
for rec in run.records:
    display(Markdown(f"### Figure {rec.number}: {rec.title}"))
    if "png" in rec.files:
        display(Image(filename=str(paths.root / rec.files["png"]["path"]), width=int(110 * rec.width_in)))
    else:
        display(figs[rec.name])
    display(Markdown(f"*{rec.caption}*  \nFiles: " + ", ".join(f"`{f['path']}`" for f in rec.files.values())))

# %% [markdown]
# ## Numbers to quote
#
# From `figures/values.json`; in LaTeX, `\input{figures/values.tex}` and use the macro. Demo runs mark every macro
# `[SIMULATED DATA]`; `values.json` says so in its `simulated` flag and `note`.

# %%
display(show_table(run.values[["text", "macro", "description"]], max_rows=None,
              labels={"text": "Value", "macro": "LaTeX macro", "description": "What it is"}))
