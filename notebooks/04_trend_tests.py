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
# # 04 · Trend and break tests on the headline series
#
# Reads `panel.parquet` (notebook 03) and takes the headline series (measure, attribution rule and scope from the parameters) on its full period grid, missing snapshots included as empty periods.
# Tests whether log(share CN / share US) has a trend (Mann-Kendall family, Sen's slope, OLS with Newey-West errors and fixed-b inference, fractional logit) and whether it broke (Pettitt, Chow, sup-F, OLS-CUSUM, Bai-Perron), always in a model with a trend term.
#
# The break tests' p-values are simulated on this series' own periods with its fitted noise (an AR(1) seen through the measure's 30-day window, `analysis/stats/noise.py`) and calibrated by a double bootstrap, the largest over the noise persistences the data do not rule out (`analysis/stats/breaknull.py`): with independent-noise p-values, persistent noise alone made these tests reject most of the time. What they can tell: whether the series departs from one straight line by more than noise this persistent would; not whether a departure is a jump or a bend, and not, when they do not reject, that the path is straight. Bai-Perron break dates are shown only when sup-F rejects. Their measured sizes are quoted from `data/reference/calibration.json` in each reading.
#
# Writes `trends.json` to the run's results (`data/processed/results/`; `data/demo/processed/results/` on demo runs)
# with its provenance.

# %% tags=["parameters"]
# Parameters: the runner fills these from config/study.yaml (names are <section>_<key>).
panel_measure: str = "downloads_30d"   # headline measure: downloads_30d | downloads_alltime_increment
origin_rule: str = "lineage"           # headline attribution rule: uploader | lineage | first_party
origin_contested: str = "primary"      # headline reading of contested origins: primary | alternative
panel_scope: str = "all"               # headline scope: all | llm | no_redistributors
study_frequency: str = "weekly"        # period grid: daily | weekly | monthly
trends_mk_method: str = "hamed_rao"    # primary Mann-Kendall variant: original | hamed_rao | yue_wang
trends_mk_lag: int = 3                 # lags in the Hamed-Rao correction
trends_hac_lags: int = -1              # Newey-West lags of the classic fit; -1 or None: default rule, floor of 4 (n/100)^(2/9)
trends_inference: str = "fixed_b"      # HAC inference of the OLS trend: fixed_b (Kiefer-Vogelsang) | nw
trends_bandwidth: float = 0.5         # fixed-b Bartlett bandwidth as a fraction b of the sample
trends_fixed_b_null: str = "lrv"       # fixed-b null: lrv (AR(1) matched to the residuals) | ar1 | iid
trends_break_reps: int = 999           # simulated null draws of each break-test p-value
simulated: bool = False                # True on demo runs (simulated Hub): outputs are marked SIMULATED DATA

# %%
from IPython.display import Markdown, display

from analysis.display import show_table
from analysis.panel import primary_series
from analysis.schema import rule_key
from analysis.stage import open_stage
from analysis.stats.report import run_trend_tests

stage = open_stage("04", globals())
paths = stage.paths
if simulated:
    display(Markdown("**SIMULATED DATA** - demo run on a simulated Hub; nothing below is a finding about the real Hub."))
panel = stage.read_table("panel")
rule = rule_key(origin_rule, origin_contested)  # the panel's name of the rule under the chosen reading
series = primary_series(panel, panel_measure, rule, panel_scope, frequency=study_frequency)
definition = {"measure": panel_measure, "rule": rule, "scope": panel_scope, "frequency": study_frequency}
print(f"{len(series)} periods from {series['date'].min():%Y-%m-%d} to {series['date'].max():%Y-%m-%d}; "
      f"{int(series['log_ratio'].isna().sum())} without both CN and US shares (kept as missing, never dropped)")

# %% [markdown]
# ## Run the tests

# %%
report = run_trend_tests(series, mk_method=trends_mk_method, mk_lag=trends_mk_lag, hac_lags=trends_hac_lags,
                         inference=trends_inference, bandwidth=trends_bandwidth, null=trends_fixed_b_null,
                         break_reps=trends_break_reps, simulated=simulated, definition=definition)
out = stage.write_json("trends", report.as_dict())
print(f"wrote {out.relative_to(paths.root)}")

# %% [markdown]
# ## Results
#
# One row per test: the trend slope (per period) or test statistic, and its p-value.

# %%
display(show_table(report.table()[["test", "statistic", "p_value"]], formats={"statistic": "number"}, max_rows=None))

# %% [markdown]
# ## What each test assumes, what it found, how sure

# %%
banner = "**SIMULATED DATA.** " if simulated else ""
display(Markdown(banner + "\n\n" + "\n\n".join(f"- {line}" for line in report.table()["reading"])))

# %% [markdown]
# ## The series and its fitted straight line
#
# The straight line is the average direction over the window, not the path; notebook 05 dates the crossing without assuming it.

# %%
ax = series.plot(x="date", y="log_ratio", style=".", legend=False,
                 title="log(share CN / share US) and linear trend" + (" - SIMULATED DATA" if simulated else ""))
a, b = report.ols.params
ax.plot(series["date"], a + b * series["t"], color="black", lw=1)
_ = ax.axhline(0, color="grey", lw=0.8)
