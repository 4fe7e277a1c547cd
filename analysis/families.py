"""Model families (Qwen, Llama, DeepSeek, Gemma, Mistral, ...) and their downloads over time.

A family is a line of models by one developer. The curated map ``data/reference/model_families.csv`` says which
models belong to it: a model of one of the family's ``accounts`` (case-insensitive) whose repository name matches
its ``name_pattern`` (a regular expression searched case-insensitively; blank: every model of those accounts).
Rows are tried in file order and the first that matches wins.

**The family of a model is that of its lineage root** (``lineage_root`` of ``models.parquet``; a model without a
declared parent is its own root), so a fine-tune or a quantization of Qwen uploaded by anyone counts for Qwen, as
the lineage rule counts it for China. :func:`family_downloads` sums, for each snapshot, the 30-day downloads of the
models of each family (with the study's rule for implausible rows, :mod:`analysis.quality`); notebook 03 writes
the result as ``family_downloads.parquet`` and Figure 8 draws it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .contracts import FAMILY_DOWNLOAD_COLUMNS
from .quality import clean_snapshot

#: Columns of the family map.
FAMILY_MAP_COLUMNS: tuple[str, ...] = ("family", "accounts", "name_pattern", "developer", "country", "origin",
                                       "evidence", "notes")
#: Origins a family may have (a family is made by an organisation: never unaffiliated or unknown).
FAMILY_ORIGINS: tuple[str, ...] = ("CN", "US", "EU", "OTHER")


class FamilyMapError(ValueError):
    """The family map breaks a rule; the message names the file, the row and what to fix."""


@dataclass(frozen=True)
class Family:
    """One row of the family map."""

    family: str
    accounts: tuple[str, ...]
    name_pattern: str
    developer: str
    country: str
    origin: str
    evidence: str

    def matches(self, account: str, name: str) -> bool:
        """Whether a model ``account/name`` belongs to the family."""
        if account.lower() not in {a.lower() for a in self.accounts}:
            return False
        return not self.name_pattern or re.search(self.name_pattern, name, re.I) is not None


def load_families(path: str | Path) -> list[Family]:
    """Read and check the family map.

    Raises
    ------
    FamilyMapError
        A missing column, an empty family, account or evidence, a pattern that is not a valid regular expression,
        an origin outside :data:`FAMILY_ORIGINS`, or a family named twice (row numbers count from 1 after the
        header, so row 1 is line 2 of the file).
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise FamilyMapError(f"{path}: cannot be read as CSV ({e})") from None
    missing = [c for c in FAMILY_MAP_COLUMNS if c not in df.columns]
    if missing:
        raise FamilyMapError(f"{path}: lacks column(s) {', '.join(missing)}; expected {', '.join(FAMILY_MAP_COLUMNS)}")
    out, seen = [], {}
    for i, r in enumerate(df.itertuples(index=False), start=1):
        where = f"{path}, row {i} ({r.family or 'no family'})"
        for col in ("family", "accounts", "developer", "country", "origin", "evidence"):
            if not str(getattr(r, col)).strip():
                raise FamilyMapError(f"{where}: column {col!r} is empty; every family needs it")
        if r.family in seen:
            raise FamilyMapError(f"{where}: family {r.family!r} is also row {seen[r.family]}; name each family once")
        seen[r.family] = i
        if r.origin not in FAMILY_ORIGINS:
            raise FamilyMapError(f"{where}: origin {r.origin!r} is not one of {', '.join(FAMILY_ORIGINS)}")
        try:
            re.compile(r.name_pattern)
        except re.error as e:
            raise FamilyMapError(f"{where}: name_pattern {r.name_pattern!r} is not a regular expression ({e})") \
                from None
        accounts = tuple(a.strip() for a in r.accounts.split(";") if a.strip())
        if any("/" in a or " " in a for a in accounts):
            raise FamilyMapError(f"{where}: accounts {r.accounts!r} must be Hub account names separated by ';'")
        out.append(Family(r.family, accounts, r.name_pattern, r.developer, r.country, r.origin, r.evidence))
    return out


def family_of(ids: Sequence[str] | pd.Series, families: list[Family]) -> pd.Series:
    """The family of each model id (``""`` for none), by the first row of the map that matches it."""
    ids = pd.Series(list(ids), dtype="string").fillna("")
    parts = ids.str.split("/", n=1, expand=True).reindex(columns=[0, 1])
    has_ns = ids.str.contains("/", regex=False)
    account = parts[0].where(has_ns, "").str.lower().fillna("")
    name = parts[1].where(has_ns, ids).fillna("")
    out = pd.Series("", index=ids.index, dtype="object")
    for fam in families:
        todo = (out == "") & account.isin([a.lower() for a in fam.accounts])
        if not todo.any():
            continue
        if fam.name_pattern:
            todo &= name.str.contains(fam.name_pattern, case=False, regex=True, na=False)
        out[todo] = fam.family
    return out


def model_families(models: pd.DataFrame, families: list[Family]) -> pd.Series:
    """The family of each tagged model, from its lineage root (its own id when it has no root)."""
    root = models["lineage_root"].where(models["lineage_root"].notna() & (models["lineage_root"] != ""),
                                        models["id"])
    return pd.Series(family_of(root, families).to_numpy(), index=models.index, name="family")


def family_downloads(snapshots: Sequence[tuple[dt.date, Path]], models: pd.DataFrame,
                     families: list[Family]) -> pd.DataFrame:
    """30-day downloads and the number of models with downloads, per snapshot and family.

    Parameters
    ----------
    snapshots : sequence of (date, path)
        Raw archive snapshots.
    models : pandas.DataFrame
        Tagged models (``id``, ``lineage_root``).
    families : list of Family

    Returns
    -------
    pandas.DataFrame
        :data:`analysis.contracts.FAMILY_DOWNLOAD_COLUMNS`: one row per snapshot date and family of the map (zero
        when none of its models had downloads that day), in date then map order.
    """
    fam = model_families(models, families)
    names = [f.family for f in families]
    code_of = {n: i for i, n in enumerate(names)}
    mapped = fam != ""
    ids = pa.array(models.loc[mapped, "id"].astype(str).to_numpy(), pa.string())
    codes = np.array([code_of[f] for f in fam[mapped]], dtype=np.int64)
    rows = []
    for date, path in sorted(snapshots, key=lambda s: s[0]):
        table = clean_snapshot(pq.read_table(path, columns=["id", "downloads"])).table
        dl = pc.fill_null(table["downloads"], 0)
        table = table.filter(pc.greater(dl, 0))
        ix = pc.index_in(table["id"], value_set=ids).to_numpy(zero_copy_only=False)
        hit = ~pd.isna(ix)
        c = codes[ix[hit].astype(np.int64)] if hit.any() else np.array([], dtype=np.int64)
        d = table["downloads"].to_numpy(zero_copy_only=False).astype(float)[hit]
        sums = np.bincount(c, weights=d, minlength=len(names))
        counts = np.bincount(c, minlength=len(names))
        for f, s, n in zip(families, sums, counts):
            rows.append({"date": pd.Timestamp(date), "family": f.family, "developer": f.developer,
                         "origin": f.origin, "downloads": float(s), "n_models": int(n)})
    out = pd.DataFrame(rows, columns=list(FAMILY_DOWNLOAD_COLUMNS))
    out["date"] = pd.to_datetime(out["date"])
    out["n_models"] = out["n_models"].astype(np.int64)
    return out
