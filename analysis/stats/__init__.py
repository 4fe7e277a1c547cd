"""Statistics of the study: trend tests, break tests and the crossover date with honest intervals.

Modules
-------
``trend``
    Mann-Kendall family, Sen's slope, OLS trend with Newey-West errors, fractional logit.
``breaks``
    Pettitt, Chow, sup-F, OLS-CUSUM, Bai-Perron dating with Bai (1997) intervals.
``crossover``
    Fieller and delta intervals for the zero crossing, residual block bootstrap, first passage.
``fixedb``
    Fixed-b critical values (Kiefer-Vogelsang cubic; nulls simulated on the study's design).
``report``
    What the notebooks call: trend report, crossover report, sensitivity grid, published comparison.
``results``
    Frozen result dataclasses to JSON.
``validate``
    Simulation study of coverage and error (``python -m analysis.stats.validate``; not part of the tests).

Every public function returns a frozen dataclass; missing periods are NaN and never silently re-indexed.
"""

from .breaks import bai_perron, chow, cusum_ols, pettitt, sup_f
from .crossover import (crossing_block_bootstrap, crossing_delta, crossing_fieller, first_passage,
                        optimal_block_length, trend_crossing)
from .fixedb import kv_bartlett_critical_value, trend_null
from .trend import fractional_logit_trend, mann_kendall, ols_trend, sens_slope

__all__ = [
    "mann_kendall", "sens_slope", "ols_trend", "fractional_logit_trend",
    "pettitt", "chow", "sup_f", "cusum_ols", "bai_perron",
    "crossing_fieller", "crossing_delta", "crossing_block_bootstrap", "optimal_block_length", "first_passage",
    "trend_crossing", "kv_bartlett_critical_value", "trend_null",
]
