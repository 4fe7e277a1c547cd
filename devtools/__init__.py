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
"""
