"""Tools for developing the study, kept apart from the science in :mod:`analysis`.

Nothing in the study's chain of notebooks imports these modules, except that the offline demo serves its simulated
Hub with the local stand-in (:mod:`devtools.fakehub`). Each runs as ``python -m devtools.<name>``:

``fakehub``
    A local stand-in for the Hugging Face Hub: serves a folder over the Hub's HTTP API, with injectable faults
    (the demo, the pull tests).
``bench``
    Raw-to-panel time and memory at Hub scale (``make bench``).
``origin_bench``
    Lineage resolution and tagging for millions of models.
``bytes_read``
    The share of the archive's bytes a column-projected pull transfers.
``validate``
    Simulation studies of the crossover intervals' coverage.
``check_reports``
    Loads the rendered reports in headless Chromium and checks that every figure shows (``make check-reports``).
``cumulative_coverage``, ``factor_coverage``
    Coverage of the cumulative-downloads crossing and of the factor intervals on worlds unlike their models.
"""

import json
from pathlib import Path


def write_json(path: Path, doc: dict) -> None:
    """Write a tool's JSON output whole or not at all (a temporary file, then renamed); NaN is refused."""
    from analysis.stats.results import to_jsonable

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(doc), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)
