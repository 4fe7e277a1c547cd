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
# # 05 · When did Chinese models overtake US models? The crossover date
#
# Reads `panel.parquet` (notebook 03), `data/reference/published_estimates.csv` and `data/reference/calibration.json`.
#
# **What is estimated.** The date at which the noise-free CN and US shares of the headline measure cross, i.e. where the underlying log(share CN / share US) is zero. The Hub's `downloads` is a trailing 30-day count, so it lags the downloads of the day by about 15 days; the headline also gives that shifted date. If the path crosses more than once, every crossing is reported and the headline date is the last upward crossing after which CN stays ahead to the last snapshot (an earlier overtaking that was undone is not the overtaking).
#
# **How.** The headline does not assume a straight line: a local-linear fit (`analysis/stats/local.py`) tests, at every date, whether the underlying log ratio can be zero there, with noise that is persistent and seen through the 30-day window; the dates not rejected form the confidence set, reported whole (several intervals, or open at the window's ends, if that is what the data say). The straight-line methods (Fieller set of the fitted line's zero, delta method, block bootstrap) are shown beside it, labelled as assuming one straight line. The coverage of each method in a simulation study with jumps, S-curves and saturation is quoted from `data/reference/calibration.json` (`python -m devtools.validate --preset calibration`), never typed.
#
# Then the same for every measure, attribution rule and scope, later window starts and other bandwidths (the spread of the date across defensible definitions goes into the headline), and a comparison with published estimates.
#
# Writes `crossover.json`, `crossover_sensitivity.parquet` and `published_comparison.csv` to the run's results
# (`data/processed/results/`; `data/demo/processed/results/` on demo runs), each with its provenance.

# %% tags=["parameters"]
# Parameters: the runner fills these from config/study.yaml (names are <section>_<key>).
panel_measure: str = "downloads_30d"   # headline measure: downloads_30d | downloads_alltime_increment
origin_rule: str = "lineage"           # headline attribution rule: uploader | lineage | first_party
origin_contested: str = "primary"      # headline reading of contested origins: primary | alternative
panel_scope: str = "all"               # headline scope: all | llm | first_party_llm | no_redistributors
study_frequency: str = "weekly"        # period grid: daily | weekly | monthly
trends_hac_lags: int = -1              # Newey-West lags of the classic sets; -1 or None: default rule, floor of 4 (n/100)^(2/9)
trends_inference: str = "fixed_b"      # HAC inference of the crossover intervals: fixed_b (Kiefer-Vogelsang) | nw
trends_bandwidth: float = 0.5         # fixed-b Bartlett bandwidth as a fraction b of the sample
trends_fixed_b_null: str = "lrv"       # fixed-b null: lrv (AR(1) matched to the residuals) | ar1 | iid
crossover_k: int = 3                   # first passage: CN ahead for k consecutive periods
crossover_alpha: float = 0.05          # 1 - confidence level of every interval
crossover_bootstrap_reps: int = 2000   # residual block bootstrap replicates
crossover_block_length: int = 0        # bootstrap block length in periods; 0 or None: ceil(n^(1/3)) (studentized), 2x Politis-White (percentile)
crossover_bootstrap_method: str = "studentized"  # studentized (bootstrap-t Fieller) | percentile
crossover_seed: int = 0                # seed of the straight-line bootstrap
crossover_local_bandwidth: float = 0.0 # headline local-linear kernel half-width in periods; 0 or None: the calibrated rule
crossover_local_reps: int = 2000       # simulated null draws per noise coefficient of the headline set
crossover_start_offsets: list = [0, 3, 6, 12]  # sensitivity: window starts in months after the first snapshot
simulated: bool = False                # True on demo runs (simulated Hub): outputs are marked SIMULATED DATA

# %%
import pandas as pd
from IPython.display import Markdown, display

from analysis.display import show_table
from analysis.origin.registry import load_registry
from analysis.panel import primary_series
from analysis.schema import MEASURES, RULES, SCOPES, rule_key
from analysis.stage import open_stage
from analysis.stats.published import compare_published
from analysis.simulate.hub import load_truth, truth_check, truth_reading
from analysis.stats.cumulative import cumulative_from_panel
from analysis.stats.readings import conclusion
from analysis.stats.report import estimate_crossover
from analysis.stats.sensitivity import sensitivity_grid

stage = open_stage("05", globals())
paths = stage.paths
if simulated:
    display(Markdown("**SIMULATED DATA** - demo run on a simulated Hub; nothing below is a finding about the real Hub."))
panel = stage.read_table("panel")
rule = rule_key(origin_rule, origin_contested)  # the panel's name of the rule under the chosen reading
series = primary_series(panel, panel_measure, rule, panel_scope, frequency=study_frequency)
definition = {"measure": panel_measure, "rule": rule, "scope": panel_scope, "frequency": study_frequency}

# %% [markdown]
# ## The crossover on the headline series

# %%
report = estimate_crossover(series, k=crossover_k, alpha=crossover_alpha, bootstrap_reps=crossover_bootstrap_reps,
                            block_length=crossover_block_length or None, seed=crossover_seed,
                            hac_lags=trends_hac_lags, inference=trends_inference, bandwidth=trends_bandwidth,
                            null=trends_fixed_b_null, bootstrap_method=crossover_bootstrap_method,
                            smoother_reps=crossover_local_reps, local_bandwidth=crossover_local_bandwidth or None,
                            simulated=simulated, definition=definition)
banner = "**SIMULATED DATA.** " if simulated else ""
display(Markdown(banner + "**Headline (before the sensitivity grid).** " + report.readings["headline"]))

# %% [markdown]
# ## The fitted path and the confidence set
#
# The local-linear fit of log(share CN / share US) with the band of values not rejected at each date; the shaded dates are the confidence set (where zero is inside the band).

# %%
path = pd.DataFrame({"t": report.local.times, "fitted": report.local.fitted, "se": report.local.se,
                     "critical": report.local.critical})
path["date"] = pd.Timestamp(report.first_date) + pd.to_timedelta(path["t"] * report.period_days, unit="D")
ax = series.plot(x="date", y="log_ratio", style=".", color="grey", legend=False,
                 title="log(share CN / share US), local-linear fit and 95% set" + (" - SIMULATED DATA" if simulated else ""))
ax.plot(path["date"], path["fitted"], color="black", lw=1)
ax.fill_between(path["date"], path["fitted"] - path["critical"] * path["se"], path["fitted"] + path["critical"] * path["se"],
                color="black", alpha=0.15, lw=0)
for lo_t, hi_t in report.local.pieces:
    ax.axvspan(pd.Timestamp(report.first_date) + pd.Timedelta(days=lo_t * report.period_days),
               pd.Timestamp(report.first_date) + pd.Timedelta(days=hi_t * report.period_days), color="tab:red", alpha=0.2)
_ = ax.axhline(0, color="grey", lw=0.8)

# %% [markdown]
# ## The methods side by side
#
# A set that is made of several intervals, reaches the first or last snapshot, or is two rays is reported as such, never narrowed. Each reading says what the method assumes and quotes its coverage in the calibration study.

# %%
display(report.table()[["method", "estimate_date", "lower_date", "upper_date", "kind"]])
display(Markdown("\n\n".join(f"- **{m}**: {report.readings[m]}" for m in ("local_linear", "fieller", "fieller_nw", "delta", "bootstrap", "first_passage"))))

# %% [markdown]
# ## Sensitivity: what moves the answer
#
# For every measure × attribution rule × scope: the headline method with the window starting later (by each offset in `crossover_start_offsets`, in months) and with half and double the bandwidth, and the straight-line methods (fixed-b bandwidths 0.5, 0.3 and 1.0 for the Fieller and delta sets; HAC lags 1 to 4 for the classic and prewhitened Newey-West sets), plus the empirical first passage for k = 1, 3, 6. The bootstrap is computed for the headline only. A definition or window the panel cannot supply appears as `no_data`. The spread of the headline date over these rows is added to the headline.

# %%
bandwidths = tuple(dict.fromkeys((trends_bandwidth, 0.3, 1.0)))
grid = sensitivity_grid(panel, measures=MEASURES, rules=RULES, scopes=SCOPES, ks=(1, 3, 6), hac_lags=(1, 2, 3, 4),
                        alpha=crossover_alpha, frequency=study_frequency, inference=trends_inference,
                        bandwidths=bandwidths, null=trends_fixed_b_null, start_offsets=tuple(crossover_start_offsets),
                        local_bandwidth=crossover_local_bandwidth or None)
out = stage.write_table("sensitivity", grid)
print(f"wrote {out.relative_to(paths.root)}: {len(grid)} rows")
contested = load_registry(paths.organizations_file).contested()["account"]
cumulative = cumulative_from_panel(panel, rule, panel_scope, alpha=crossover_alpha, seed=crossover_seed)
report = report.with_spread(grid).with_definitions(grid, contested_accounts=contested).with_cumulative(cumulative)
out = stage.write_json("crossover", report.as_dict())
print(f"wrote {out.relative_to(paths.root)}")
display(Markdown(banner + "**Headline.** " + report.readings["headline"] + "\n\n**Which models.** "
                 + report.readings["scopes"] + "\n\n**Contested origins.** " + report.readings["contested"]
                 + "\n\n**Cumulative downloads.** " + report.readings["cumulative"]))
local = grid[grid["method"] == "local_linear"]
display(local[["measure", "rule", "scope", "start_offset_months", "bandwidth_periods", "estimate_date", "lower_date",
               "upper_date", "kind", "n_pieces"]])

# %% [markdown]
# ## Beside published estimates
#
# Each published claim against our estimate on the closest matching definition (the headline method on the full window). Published figures marked S were seen only in secondary reports.

# %%
comparison = compare_published(report, paths.published_estimates_file, sensitivity=grid)
out = stage.write_table("published_comparison", comparison)
print(f"wrote {out.relative_to(paths.root)}")
display(show_table(comparison[["source", "verified", "their_period_start", "their_period_end", "our_estimate_date",
                          "our_lower_date", "our_upper_date", "our_kind", "matched", "agreement"]], max_rows=None))

# %% [markdown]
# ## In plain words

# %%
summary = report.as_dict()
if simulated and (paths.sim_hub_dir / "truth.json").is_file():  # the demo knows the true date: show whether we found it
    display(Markdown("**" + truth_reading(truth_check(summary, load_truth(paths.sim_hub_dir))) + "**"))
display(Markdown(conclusion(summary, simulated=simulated)))
