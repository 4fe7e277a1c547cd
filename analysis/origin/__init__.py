"""Origin tagging: who made a model, under each attribution rule.

Modules
-------
``registry``
    The curated registry of Hub accounts (``data/reference/organizations.csv``) and the
    single-model overrides file (``data/reference/model_overrides.csv``), both validated on load.
``lineage``
    Resolution of every model's root base model on the whole lineage graph at once
    (pointer jumping in numpy), with cycles and dangling parents detected and counted.
``tagging``
    ``tag_models``: parent extraction (``baseModels``, then ``base_model:`` tags, then, for inputs
    that carry ``cardData``, the card's top-level ``base_model``), lineage, and the origin of each
    model under the ``uploader`` rule (the uploader is the id's namespace) and the ``lineage`` rule
    and the ``first_party`` scope.
``coverage``
    How much of the downloads the registry attributes, and what to add to it next.

Attribution rules (see ``data/reference/README.md`` for the full statement)
--------------------------------------------------------------------------
uploader
    A model's origin is the region of the account that uploaded it. Organisations (company,
    academic, non-profit, government) get their region; individuals, communities,
    redistributors, test (CI or benchmark fixture) accounts and unregistered accounts are
    ``UNAFFILIATED``.
lineage
    A derivative (fine-tune, quantization, adapter, merge) takes the uploader region of its
    root base model; a base model takes its own uploader region.
first_party
    Only repos published by the originating organisation itself (a registered organisation
    with a known region); their origin is the uploader region, every other model is excluded.

Contested origins
-----------------
Where an account's country can be read two defensible ways, the registry records the second
reading (``alt_country``, ``alt_region``, ``alt_evidence``, ``alt_basis``).
``Registry.region_of_uploader(..., contested=...)`` and ``tag_models(..., contested=...)`` take
``"primary"`` (default) or ``"alternative"``; ``Registry.contested()`` lists those accounts.
"""

from analysis.origin.registry import (
    CONTESTED_READINGS,
    Registry,
    RegistryError,
    load_overrides,
    load_registry,
)
from analysis.origin.lineage import LineageResult, resolve_lineage
from analysis.origin.tagging import MERGE_PARENT_RULES, TAG_COLUMNS, tag_models
from analysis.origin.coverage import CoverageReport, decision_coverage, tagging_coverage

__all__ = [
    "CONTESTED_READINGS",
    "Registry",
    "RegistryError",
    "load_registry",
    "load_overrides",
    "LineageResult",
    "resolve_lineage",
    "MERGE_PARENT_RULES",
    "TAG_COLUMNS",
    "tag_models",
    "CoverageReport",
    "tagging_coverage",
    "decision_coverage",
]
