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
# # 01 · Pull the Hub's download history
#
# Pulls, through `huggingface_hub` over HTTP, every weekly snapshot of the archive dataset
# (`archive_repo_id`, default `hfmlsoc/hub_weekly_snapshots`) that falls in the study window and is not yet in the raw
# store, reading only the columns of the raw schema with range requests; and, if enabled, today's live listing of the
# Hub (`HfApi.list_models`).
#
# Writes one immutable file per snapshot, `data/raw/archive/<date>.parquet` and `data/raw/live/<date>.parquet`
# (`data/demo/raw/...` on demo runs), and appends one entry per file to `data/raw/manifest.jsonl` (source, commit,
# etag, bytes read, rows, SHA-256, library versions). Files already present are never downloaded again or overwritten.
# The endpoint is huggingface_hub's (`HF_ENDPOINT`); the token, if any, comes from `HF_TOKEN` or the login saved by
# `hf auth login` (huggingface_hub's command line), never from a file of this project or a parameter of this notebook,
# and is never written anywhere. A snapshot that fails is reported by name and this notebook then stops the run.

# %% tags=["parameters"]
# Parameters: the runner fills these from config/study.yaml (names are <section>_<key>).
# ("Optional[...]" is quoted: papermill cannot parse "X | None" annotations and would drop those parameters.)
study_start: str = "2024-07-24"                       # first snapshot date of the study window (YYYY-MM-DD)
study_end: "Optional[str]" = None                      # last snapshot date; None means the latest on the Hub
study_frequency: str = "weekly"                       # weekly | monthly (first snapshot of each month)
archive_repo_id: str = "hfmlsoc/hub_weekly_snapshots" # Hub dataset holding the weekly snapshots
archive_revision: str = "main"                        # branch, tag or commit; the manifest records the commit
live_enabled: bool = True                             # also pull today's live listing
live_min_downloads: int = 1                           # live: keep models with at least this many 30-day downloads
live_top_n: "Optional[int]" = None                    # live: only the N most downloaded models; None: no cap
simulated: bool = False                               # True on demo runs (simulated Hub through the local stand-in)

# %%
import pandas as pd
from IPython.display import Markdown, display

from analysis.config import load_config
from analysis.hub.pull import pull_all
from analysis.paths import Paths
from analysis.raw import RawStore

paths = Paths.default(simulated=simulated)
if simulated:
    display(Markdown("**SIMULATED DATA** - demo run: this pull reads a simulated Hub served by the local stand-in; "
                     "nothing below is real Hub data."))
cfg = load_config(overrides={
    "study.start": study_start, "study.end": study_end, "study.frequency": study_frequency,
    "archive.repo_id": archive_repo_id, "archive.revision": archive_revision,
    "live.enabled": live_enabled, "live.min_downloads": live_min_downloads, "live.top_n": live_top_n,
})

# %%
report = pull_all(cfg, paths, progress=False)
print(report.summary())

# %% [markdown]
# ## The raw store
#
# Every file of the raw store with its manifest entry (the newest first). `bytes_read / remote_size` is the share of
# each archive file actually transferred (column projection).

# %%
store = RawStore(paths.raw_dir)
entries = pd.DataFrame(store.manifest_entries())
if entries.empty:
    print("the raw store is empty")
else:
    cols = ["kind", "date", "rows", "remote_size", "bytes_read", "commit", "accessed_at", "simulated", "sha256"]
    shown = entries.reindex(columns=cols).sort_values(["kind", "date"], ascending=[True, False])
    shown["commit"] = shown["commit"].str[:10]
    shown["sha256"] = shown["sha256"].str[:12]
    display(shown.head(20))
    print(f"{len(entries)} raw files in the store; this run pulled {len(report.pulled)}, "
          f"found {len(report.already_present)} already present")

# %%
outcome = pd.DataFrame(
    [{"snapshot": s, "status": "pulled"} for s in report.pulled]
    + [{"snapshot": s, "status": "already present"} for s in report.already_present]
    + [{"snapshot": f"{f.kind}/{f.date}", "status": "FAILED: " + f.reason} for f in report.failed]
)
display(outcome.tail(20))
if not report.ok:
    raise RuntimeError(f"{len(report.failed)} snapshot(s) could not be pulled (the others were): "
                       + "; ".join(str(f) for f in report.failed))
