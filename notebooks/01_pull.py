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
# etag, bytes read, rows, SHA-256, implausible rows, library versions, simulated or real and the endpoint). Files
# already present are never downloaded again or overwritten; each is compared with the Hub's current file, and a file
# changed on the Hub is stored as a new version beside the old one (the study uses the newest, shown below).
# Whether the Hub is simulated is read from the data (a simulated Hub's archive holds `SIMULATED_HUB.json`, and its
# models carry a tag), never from the endpoint's host; simulated data never goes into `data/raw`, nor real data into
# `data/demo/raw`. The endpoint is huggingface_hub's (`HF_ENDPOINT`); the token, if any, comes from `HF_TOKEN` or the
# login saved by `hf auth login` (huggingface_hub's command line), never from a file of this project or a parameter of
# this notebook, and is never written or shown anywhere (credentials are redacted from every line). Every request has
# connect and read timeouts and the pull a deadline (`pull_*`). A snapshot that fails is reported by name and this
# notebook then stops the run.

# %% tags=["parameters"]
# Parameters: the runner fills these from config/study.yaml (names are <section>_<key>).
# ("Optional[...]" is quoted: papermill cannot parse "X | None" annotations and would drop those parameters.)
study_start: str = "2024-07-24"                       # first snapshot date of the study window (YYYY-MM-DD)
study_end: "Optional[str]" = None                      # last snapshot date; None means the latest on the Hub
study_frequency: str = "weekly"                       # weekly | monthly (first snapshot of each month)
archive_repo_id: str = "hfmlsoc/hub_weekly_snapshots" # Hub dataset holding the weekly snapshots
archive_revision: str = "main"                        # branch, tag or commit; the manifest records the commit
archive_metadata_every: int = 13                      # thin reads: model metadata from one snapshot in N weeks; 0: full
live_enabled: bool = True                             # also pull today's live listing
live_min_downloads: int = 1                           # live: keep models with at least this many 30-day downloads
live_top_n: "Optional[int]" = None                    # live: only the N most downloaded models; None: no cap
pull_connect_timeout: float = 10.0                    # seconds to open a connection to the Hub
pull_read_timeout: float = 60.0                       # seconds to wait for the next bytes of an answer
pull_deadline: "Optional[float]" = 28800.0             # seconds the whole pull may take; None: no deadline
pull_max_retry_after: float = 300.0                   # longest Retry-After waited for; a longer one fails, named
simulated: bool = False                               # True on demo runs (simulated Hub through the local stand-in)

# %%
import pandas as pd
from IPython.display import Markdown, display

from analysis.config import load_config
from analysis.display import show_table
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
    "archive.metadata_every": archive_metadata_every,
    "live.enabled": live_enabled, "live.min_downloads": live_min_downloads, "live.top_n": live_top_n,
    "pull.connect_timeout": pull_connect_timeout, "pull.read_timeout": pull_read_timeout,
    "pull.deadline": pull_deadline, "pull.max_retry_after": pull_max_retry_after,
})

# %%
report = pull_all(cfg, paths, progress=False)
print(report.summary())
display(Markdown(f"**What the pull saw:** {'SIMULATED DATA' if report.simulated else 'real data'} at "
                 f"`{report.endpoint}` ({report.evidence}); archive commit `{(report.commit or '')[:10]}`."))

# %% [markdown]
# ## The raw store
#
# Every file of the raw store with its manifest entry (the newest first). `bytes_read / remote_size` is the share of
# each archive file actually transferred (column projection). A thin pull (`archive.metadata_every` >= 1) writes each
# week's downloads (`archive`) and, apart, the metadata of the rows the thin-read rule reads (`metadata`, with the row
# groups read); the full pull (0) writes every column of every week.

# %%
store = RawStore(paths.raw_dir)
entries = pd.DataFrame(store.manifest_entries())
if entries.empty:
    print("the raw store is empty")
else:
    cols = ["kind", "date", "version", "rows", "remote_size", "bytes_read", "commit", "accessed_at", "simulated",
            "endpoint", "sha256"]
    shown = entries.reindex(columns=cols).sort_values(["kind", "date"], ascending=[True, False])
    shown["commit"] = shown["commit"].str[:10]
    shown["sha256"] = shown["sha256"].str[:12]
    display(show_table(shown, max_rows=20, formats={"version": "count", "date": "text"}))
    print(f"{len(entries)} raw files in the store; this run pulled {len(report.pulled)}, "
          f"found {len(report.already_present)} already present")

# %% [markdown]
# ## What the pull found
#
# Snapshots whose file changed on the Hub after it was pulled (the new version is stored beside the old one and the
# study uses the newest), raw files pulled again after they went missing, and the implausible rows of every snapshot
# (duplicate ids, negative counts, counts above the ceiling, empty snapshots): the files keep what the Hub served, and
# the rule of `analysis.quality` (first row of an id kept, implausible counts treated as unknown) applies when notebooks
# 02 and 03 read them.

# %%
findings = pd.DataFrame(
    [{"finding": "changed on the Hub", "detail": x} for x in report.changed_upstream]
    + [{"finding": "pulled again", "detail": x} for x in report.restored]
    + [{"finding": "implausible rows", "detail": x} for x in report.flagged]
    + [{"finding": "archive listing", "detail": x} for x in report.listing_notes]
    + ([{"finding": "STOPPED", "detail": report.stopped}] if report.stopped else []))
display(show_table(findings) if not findings.empty else
        Markdown("Nothing changed on the Hub, nothing missing, no implausible rows in what this run pulled."))
versions = pd.DataFrame([{"snapshot": f"{k}/{d}", "versions": len(store.versions(k, d)),
                          "used": store.path(k, d).name} for k in ("archive", "live") for d in store.snapshot_dates(k)
                         if len(store.versions(k, d)) > 1])
if not versions.empty:
    display(Markdown("Snapshots with more than one version (the study uses the newest):"), show_table(versions))
quality = RawStore(paths.raw_dir).quality_table("archive")
print(f"implausible rows in the raw archive snapshots: {int(quality['duplicate_rows'].sum()):,} duplicate rows, "
      f"{int(quality['quarantined'].sum()):,} quarantined counts, {int(quality['empty'].sum())} empty snapshot(s)")
problems = quality[quality["named"] != ""]
if not problems.empty:
    display(show_table(problems[["date", "file", "rows", "duplicate_rows", "negative", "above_ceiling", "named"]]))

# %%
outcome = pd.DataFrame(
    [{"snapshot": s, "status": "pulled"} for s in report.pulled]
    + [{"snapshot": s, "status": "already present"} for s in report.already_present]
    + [{"snapshot": f"{f.kind}/{f.date}", "status": "FAILED: " + f.reason} for f in report.failed]
)
display(show_table(outcome, max_rows=None) if len(outcome) <= 20 else
        show_table(outcome.tail(20), note=f"The last 20 of {len(outcome):,} snapshots."))
if not report.ok:
    raise RuntimeError(f"{len(report.failed)} snapshot(s) could not be pulled (the others were): "
                       + "; ".join(str(f) for f in report.failed))
