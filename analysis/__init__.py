"""Did open models made by Chinese organisations overtake US ones in Hugging Face Hub downloads?

The importable library behind the study's notebooks. Stages, one module (or package) each:

``paths``, ``config``
    Where files live; the validated study parameters from ``config/study.yaml``.
``schema``
    The raw snapshot schema and the origin labels every stage shares.
``simulate``
    Simulated Hubs with a known truth: the demo Hub and a Hub-scale raw store (demo, tests, benchmarks).
``hub``
    Talking to the Hub: archive snapshots, the live listing, and a local stand-in server.
``raw``
    The immutable raw store: atomic writes, manifest, verification.
``origin``
    Registry of organisations, lineage to base models, tagging.
``panel``
    Tagged snapshots to tidy time series of download shares by origin.
``stats``
    Trend tests, break tests, crossover estimators.
``figures``
    One figure style, each figure declared once (table, caption, plot), generated numbers.
``display``
    Tables and notes formatted for the rendered notebooks.
``pipeline``, ``cli``
    Run the notebooks in order with papermill; the command line.
"""

import warnings as _warnings

__version__ = "0.1.0"

# tqdm warns, printing the environment's path, when a notebook kernel imports huggingface_hub without ipywidgets;
# the study draws no progress bars in notebooks, so that warning says nothing to a reader of the reports.
_warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)
