"""Simulated Hubs with a known truth: the one simulator of the study (demo, tests, benchmarks, validation).

``hub``
    :func:`simulate_hub`: a small Hub (tens of thousands of models) with a known crossover, in the layout of the real
    archive and with a live listing, served by the local stand-in for the offline demo and the tests.
``store``
    :func:`generate_store`: a raw store at Hub scale (millions of models over two years of weekly snapshots) for the
    scale benchmark and the tests of the catalog and the panel.
"""

from .hub import ACCOUNTS, SimulatedHub, SimulationParams, lineage_roots, load_truth, simulate_hub
from .store import StoreSpec, generate_store, store_dates, store_registry

__all__ = ["ACCOUNTS", "SimulatedHub", "SimulationParams", "lineage_roots", "load_truth", "simulate_hub",
           "StoreSpec", "generate_store", "store_dates", "store_registry"]
