"""Statistics of the study: trend tests, break tests and the crossover date with honest intervals.

Modules
-------
``trend``
    Mann-Kendall family, Sen's slope, OLS trend with Newey-West errors, fractional logit.
``breaks``
    Pettitt, Chow, sup-F, OLS-CUSUM, Bai-Perron dating with Bai (1997) intervals.
``local``
    The headline crossover: a local-linear test of "the log ratio is zero here", inverted into a confidence set
    that assumes no straight line (several intervals or open ends when the data say so).
``noise``
    The noise model of the simulated nulls: AR(1) seen through the measure's trailing window, fitted to the robust
    second-difference variogram.
``breaknull``
    Break-test p-values from the noise model, calibrated by a double bootstrap (honest size under persistent,
    overlapping noise).
``crossover``
    Straight-line methods: Fieller and delta intervals for the zero crossing of a fitted line, residual block
    bootstrap; the empirical first passage.
``fixedb``
    Fixed-b critical values (Kiefer-Vogelsang cubic; nulls simulated on the study's design).
``series``
    The primary series every statistic takes; times in periods to calendar dates.
``report``
    What notebooks 04 and 05 call: the trend report and the crossover report.
``readings``
    Every plain-language reading; coverage figures are quoted from ``data/reference/calibration.json``.
``sensitivity``
    The crossover under every definition (notebook 05's robustness grid).
``published``
    Our crossover beside published estimates.
``results``
    Frozen result dataclasses to JSON.

The simulation studies of the intervals' coverage are a development tool: :mod:`devtools.validate`.

Every public function returns a frozen dataclass; missing periods are NaN and never silently re-indexed.
"""

from .breaks import bai_perron, chow, cusum_ols, pettitt, sup_f
from .crossover import (crossing_block_bootstrap, crossing_delta, crossing_fieller, first_passage,
                        first_passage_interval, optimal_block_length, trend_crossing)
from .local import local_crossing
from .noise import fit_noise
from .fixedb import kv_bartlett_critical_value, trend_null
from .trend import fractional_logit_trend, mann_kendall, ols_trend, sens_slope

__all__ = [
    "mann_kendall", "sens_slope", "ols_trend", "fractional_logit_trend",
    "pettitt", "chow", "sup_f", "cusum_ols", "bai_perron",
    "crossing_fieller", "crossing_delta", "crossing_block_bootstrap", "optimal_block_length", "first_passage",
    "first_passage_interval", "trend_crossing", "kv_bartlett_critical_value", "trend_null", "local_crossing",
    "fit_noise",
]
