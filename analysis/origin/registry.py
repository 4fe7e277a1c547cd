"""The registry of Hub accounts and the single-model overrides, validated on load.

The registry (``data/reference/organizations.csv``) has one row per Hub account that matters,
with the organisation behind it, its country (ISO 3166-1 alpha-2), region, kind and the evidence
for the country. ``data/reference/README.md`` states the columns and the curation rules.

Uploader rule (``Registry.region_of_uploader``)
------------------------------------------------
* registered account of an organisation kind (company, academic, non-profit, government)
  -> the registry's region (CN, US, EU or OTHER);
* registered organisation without a region -> ``UNKNOWN`` (the CSV validation allows this only
  when the row's notes say ``re-verify``: an organisation whose country could not be found yet);
* registered account of kind individual, community, redistributor or test -> ``UNAFFILIATED``
  (whatever its country column says);
* unregistered account -> ``UNAFFILIATED``; a missing account (null) -> ``UNKNOWN``.

Contested origins
-----------------
A row whose country can be read two defensible ways records the second reading in
``alt_country``, ``alt_region``, ``alt_evidence`` and ``alt_basis`` (all four blank or all four
filled; ``alt_region`` follows ``alt_country`` by the same rule as ``region`` and differs from
``region``; only organisation kinds may carry one). ``region_of_uploader(...,
contested="alternative")`` uses ``alt_region`` where a row has one; ``contested="primary"`` (the
default) ignores it. ``Registry.contested()`` lists those rows.

Origins are never guessed from names, and the Hub's ``region:us`` tag (a storage region) is
never used.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from analysis.schema import REGIONS

#: Regions a registry row may carry (the other labels are derived, never recorded).
REGISTRY_REGIONS: tuple[str, ...] = ("CN", "US", "EU", "OTHER")

#: Kinds of organisation: their region is the uploader region.
ORGANISATION_KINDS: tuple[str, ...] = ("company", "academic", "non-profit", "government")

#: Kinds of account whose uploads are ``UNAFFILIATED`` under the uploader rule: a person, a
#: community group, a redistributor (re-uploads, conversions, quantizations) and ``test``
#: (test, continuous-integration or benchmark fixtures, whose downloads are machine traffic).
UNAFFILIATED_KINDS: tuple[str, ...] = ("individual", "community", "redistributor", "test")

#: The reasoned non-country kinds (the same kinds as :data:`UNAFFILIATED_KINDS`).
NON_COUNTRY_KINDS: tuple[str, ...] = UNAFFILIATED_KINDS

#: Every kind the registry accepts.
KINDS: tuple[str, ...] = ORGANISATION_KINDS + UNAFFILIATED_KINDS

#: Columns of ``organizations.csv``, in order.
REGISTRY_COLUMNS: tuple[str, ...] = (
    "account",
    "organisation",
    "country",
    "region",
    "kind",
    "parent_organisation",
    "evidence",
    "notes",
    "alt_country",
    "alt_region",
    "alt_evidence",
    "alt_basis",
)

#: The columns of a contested origin's alternative reading (all blank or all filled).
ALT_COLUMNS: tuple[str, ...] = ("alt_country", "alt_region", "alt_evidence", "alt_basis")

#: Readings of a contested origin: the registry's ``region`` or its ``alt_region``.
CONTESTED_READINGS: tuple[str, ...] = ("primary", "alternative")

#: Columns of :meth:`Registry.contested`, in order.
CONTESTED_COLUMNS: tuple[str, ...] = (
    "account",
    "organisation",
    "country",
    "region",
    "alt_country",
    "alt_region",
    "evidence",
    "alt_evidence",
    "notes",
    "alt_basis",
)

#: Columns of ``model_overrides.csv``, in order.
OVERRIDE_COLUMNS: tuple[str, ...] = ("model_id", "rule", "region", "reason", "evidence")

#: Rules an override can target.
OVERRIDE_RULES: tuple[str, ...] = ("uploader", "lineage", "all")

# ISO 3166-1 alpha-2 codes (officially assigned).
ISO_ALPHA2: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """.split()
)

#: Countries the study counts as Europe (region ``EU``): the EU-27, the UK, Switzerland, Norway,
#: Iceland, Liechtenstein and the other European states. Russia and Turkey are transcontinental
#: and counted as ``OTHER``.
EUROPE: frozenset[str] = frozenset(
    """
    AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE
    GB CH NO IS LI AD MC SM VA AL BA ME MK RS MD UA BY GI IM JE GG FO AX
    """.split()
)

#: Countries counted as ``CN``: mainland China and its special administrative regions.
#: Taiwan (TW) is counted as ``OTHER``.
CHINA: frozenset[str] = frozenset({"CN", "HK", "MO"})

_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

#: The notes marker of a fact still to be checked (curation rule 5). An organisation whose
#: country could not be found keeps a row with a blank country only if its notes carry it.
REVERIFY_MARK = "re-verify"


class RegistryError(ValueError):
    """A registry or overrides file that does not pass validation.

    The message names the file, the 1-based data row numbers (row 1 is the first row after the
    header, i.e. line 2 of the file) and what is wrong.
    """


def expected_region(country: str) -> str:
    """Region (``CN``, ``US``, ``EU``, ``OTHER``) implied by an ISO 3166-1 alpha-2 code.

    Parameters
    ----------
    country : str
        Upper-case ISO 3166-1 alpha-2 code.

    Returns
    -------
    str
        ``CN`` for CN/HK/MO, ``US`` for US, ``EU`` for the countries in :data:`EUROPE`,
        ``OTHER`` otherwise.
    """
    if country in CHINA:
        return "CN"
    if country == "US":
        return "US"
    if country in EUROPE:
        return "EU"
    return "OTHER"


#: A model id as the Hub writes it: ``owner/name``.
_MODEL_ID_RE = re.compile(r"[A-Za-z0-9][\w.\-]*/[\w.\-]+")


def _read_csv(path: Path, columns: tuple[str, ...], what: str,
              optional_group: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a reference CSV as strings; ``optional_group`` columns may be absent all together."""
    if not path.exists():
        raise RegistryError(f"{what} file {path} does not exist; expected a CSV with columns {list(columns)}.")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise RegistryError(f"{what} file {path}: line {line}: byte 0x{raw[e.start]:02x} is not UTF-8 (the file "
                            "seems saved in another encoding, e.g. Latin-1); save it as UTF-8") from None
    if not text.strip():
        raise RegistryError(f"{what} file {path} is empty; expected a header line {','.join(columns)} and rows.")
    try:
        frame = pd.read_csv(io.StringIO(text.removeprefix("\ufeff")), dtype=str, keep_default_na=False,
                            na_filter=False, comment=None)
    except pd.errors.ParserError as e:
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        m = re.search(r"in line (\d+)|at row (\d+)", msg)  # pandas counts lines from 1, rows from 0
        at = f"line {m.group(1) or int(m.group(2)) + 1}: " if m else ""
        raise RegistryError(f"{what} file {path}: {at}not readable as CSV ({msg}); every row needs exactly the "
                            f"{len(columns)} fields of the header {','.join(columns)} (quote a field that holds a "
                            "comma)") from None
    if optional_group and not any(c in frame.columns for c in optional_group):
        # a file written before these columns existed: no row has a value in them
        for col in optional_group:
            frame[col] = ""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RegistryError(
            f"{what} file {path}: missing column(s) {missing}; the header must be {','.join(columns)}."
        )
    frame = frame[list(columns)].copy()
    for col in columns:
        frame[col] = frame[col].fillna("").astype(str).str.strip()
    return frame


def _rows(mask: Iterable[bool]) -> list[int]:
    """1-based data-row numbers where ``mask`` is true."""
    return [int(i) + 1 for i in np.flatnonzero(np.asarray(list(mask), dtype=bool))]


def _fmt_rows(rows: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" (and {len(rows) - limit} more)" if len(rows) > limit else ""
    return shown + more


@dataclass(frozen=True)
class Registry:
    """A validated registry of Hub accounts.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per account, indexed by the lower-cased account name (``key``), with the
        columns of :data:`REGISTRY_COLUMNS`. Blank cells are empty strings.
    source : str
        Where the registry came from (a file path or a description), for messages.
    """

    table: pd.DataFrame
    source: str = "<in memory>"

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, account: object) -> bool:
        return isinstance(account, str) and account.lower() in self.table.index

    def _column(self, name: str) -> pd.Series:
        """A table column, or blanks when the table predates it (a registry built in code)."""
        if name in self.table.columns:
            return self.table[name].fillna("").astype(str)
        return pd.Series("", index=self.table.index, dtype=object)

    def lookup(self, accounts: Iterable[str | None] | pd.Series) -> pd.DataFrame:
        """Registry rows for many accounts at once (case-insensitive).

        Parameters
        ----------
        accounts : iterable of str or None
            Hub account names (the part of a model id before ``/``). Nulls are allowed.

        Returns
        -------
        pandas.DataFrame
            One row per input, in input order (default RangeIndex), with the columns
            ``account`` (as given), ``registered`` (bool) and the registry columns
            ``organisation, country, region, kind, parent_organisation, alt_country,
            alt_region`` (null where the account is not registered; ``alt_*`` blank where the
            row has no alternative reading).
        """
        acc = pd.Series(pd.array(list(accounts) if not isinstance(accounts, pd.Series) else accounts,
                                 dtype="str"))
        keys = acc.str.lower()
        cols = ["organisation", "country", "region", "kind", "parent_organisation"]
        table = self.table[cols].assign(alt_country=self._column("alt_country"),
                                        alt_region=self._column("alt_region"))
        found = table.reindex(keys.to_numpy()).reset_index(drop=True)
        out = pd.DataFrame({"account": acc.reset_index(drop=True)})
        out["registered"] = keys.isin(self.table.index).fillna(False).astype(bool).to_numpy()
        for col in cols + ["alt_country", "alt_region"]:
            out[col] = found[col].to_numpy()
        return out

    def region_of_uploader(self, accounts: Iterable[str | None] | pd.Series, *,
                           contested: str = "primary") -> pd.Series:
        """Uploader-rule region of each account (see the module docstring for the rule).

        Parameters
        ----------
        accounts : iterable of str or None
            Hub account names.
        contested : {"primary", "alternative"}, default "primary"
            Which reading of a contested origin to use: the registry's ``region``, or its
            ``alt_region`` where the row has one (rows without one keep ``region``).

        Returns
        -------
        pandas.Series
            Values in ``REGIONS``, one per input, in input order.

        Raises
        ------
        ValueError
            ``contested`` is not one of :data:`CONTESTED_READINGS`.
        """
        check_contested(contested)
        found = self.lookup(accounts)
        region = found["region"]
        if contested == "alternative":
            alt = found["alt_region"].astype(object)
            has_alt = alt.notna() & (alt != "")
            region = region.astype(object).where(~has_alt, alt)
        return _uploader_region(found["account"], found["registered"], found["kind"], region)

    def kind_of(self, accounts: Iterable[str | None] | pd.Series) -> pd.Series:
        """Registry kind of each account, or ``"unregistered"`` (``None`` for a null account)."""
        found = self.lookup(accounts)
        kind = found["kind"].astype(object).where(found["registered"], "unregistered")
        return kind.where(found["account"].notna(), None)

    def decision_of(self, accounts: Iterable[str | None] | pd.Series) -> pd.Series:
        """What the registry decided for each account (see :data:`DECISIONS`).

        ``country`` (an organisation kind with a country and no alternative reading),
        ``alternative`` (an organisation kind with a country and an alternative reading),
        ``non_country_kind`` (a registered individual, community, redistributor or test
        account) or ``unknown`` (not registered, no account, or an organisation without a region).
        """
        found = self.lookup(accounts)
        kind = found["kind"].astype(object).to_numpy()
        region = found["region"].astype(object).to_numpy()
        alt = found["alt_region"].astype(object).fillna("").to_numpy()
        reg = found["registered"].to_numpy(dtype=bool)
        org = reg & np.isin(kind, ORGANISATION_KINDS) & np.isin(region, REGISTRY_REGIONS)
        out = np.full(len(found), "unknown", dtype=object)
        out[org] = "country"
        out[org & (alt != "")] = "alternative"
        out[reg & np.isin(kind, NON_COUNTRY_KINDS)] = "non_country_kind"
        out[found["account"].isna().to_numpy()] = "unknown"
        return pd.Series(out, name="decision", dtype="str")

    def contested(self) -> pd.DataFrame:
        """The accounts whose origin has an alternative reading, in file order.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`CONTESTED_COLUMNS` (``account, organisation, country, region,
            alt_country, alt_region, evidence, alt_evidence, notes, alt_basis``), one row per
            contested account, default RangeIndex; empty (with those columns) when none is.
        """
        table = self.table.assign(**{c: self._column(c) for c in ALT_COLUMNS})
        rows = table[table["alt_country"] != ""]
        return rows[list(CONTESTED_COLUMNS)].reset_index(drop=True)


#: Decision types of :meth:`Registry.decision_of`, in report order.
DECISIONS: tuple[str, ...] = ("country", "alternative", "non_country_kind", "unknown")


def check_contested(contested: str) -> str:
    """Return ``contested`` if it is a supported reading, else raise a ValueError naming them."""
    if contested not in CONTESTED_READINGS:
        raise ValueError(f"contested={contested!r} is not supported; choose one of {list(CONTESTED_READINGS)} "
                         "(primary: the registry's region; alternative: alt_region where a row has one).")
    return contested


def _uploader_region(account: pd.Series, registered: pd.Series, kind: pd.Series,
                     region: pd.Series) -> pd.Series:
    kind_a = kind.astype(object).to_numpy()
    region_a = region.astype(object).to_numpy()
    reg = registered.to_numpy(dtype=bool)
    is_org = reg & np.isin(kind_a, ORGANISATION_KINDS)
    known = np.isin(region_a, REGISTRY_REGIONS)
    out = np.full(len(account), "UNAFFILIATED", dtype=object)
    out[is_org & known] = region_a[is_org & known]
    out[is_org & ~known] = "UNKNOWN"
    out[account.isna().to_numpy()] = "UNKNOWN"
    return pd.Series(out, index=account.index, name="region", dtype="str")


def validate_registry_frame(frame: pd.DataFrame, source: str = "<in memory>") -> pd.DataFrame:
    """Validate registry rows and return them indexed by lower-cased account.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with the columns of :data:`REGISTRY_COLUMNS` (strings; blanks as ``""``).
    source : str
        Name of the file, used in error messages.

    Returns
    -------
    pandas.DataFrame
        The rows, indexed by ``key`` (lower-cased account).

    Raises
    ------
    RegistryError
        Listing every problem found, with 1-based data-row numbers.
    """
    problems: list[str] = []
    account = frame["account"]
    country = frame["country"]
    region = frame["region"]
    kind = frame["kind"]

    def add(mask: pd.Series, text: str) -> None:
        rows = _rows(mask)
        if rows:
            problems.append(f"row(s) {_fmt_rows(rows)}: {text}")

    add(account == "", "empty account; every row needs the Hub account name")
    add(account.str.contains(r"[/\s]", regex=True), "account contains '/' or whitespace; give the bare account name")
    add(frame["organisation"] == "", "empty organisation; name the organisation or person behind the account")
    add(~kind.isin(KINDS), f"unknown kind; expected one of {list(KINDS)}")
    add((region != "") & ~region.isin(REGISTRY_REGIONS),
        f"unknown region; expected one of {list(REGISTRY_REGIONS)} (or blank where country is blank)")
    bad_code = (country != "") & ~(country.str.match(_COUNTRY_RE) & country.isin(ISO_ALPHA2))
    add(bad_code, "bad country code; expected an upper-case ISO 3166-1 alpha-2 code such as CN, US, FR")
    org = kind.isin(ORGANISATION_KINDS)
    pending = frame["notes"].str.contains(REVERIFY_MARK, case=False, regex=False)
    add((country == "") & org & ~pending,
        "blank country for an organisation; blank is allowed only for kind "
        + "/".join(NON_COUNTRY_KINDS) + f", or for an organisation whose notes say '{REVERIFY_MARK}' "
        "(country not found yet; its uploads are UNKNOWN)")
    add((country == "") & (region != ""), "region given without a country; give the country or blank the region")
    add((country != "") & (region == "") & org, "organisation with a country but no region")
    good_code = (country != "") & ~bad_code & (region != "") & region.isin(REGISTRY_REGIONS)
    implied = country.map(lambda c: expected_region(c) if c else "")
    add(good_code & (implied != region),
        "region does not match the country (CN/HK/MO -> CN, US -> US, European countries -> EU, else OTHER)")
    add(frame["evidence"] == "", "missing evidence; give a URL or citation for the country")
    _validate_alternative(frame, add)
    keys = account.str.lower()
    dup = keys.duplicated(keep=False) & (account != "")
    if dup.any():
        groups = []
        for key, idx in keys[dup].groupby(keys[dup]).groups.items():
            groups.append(f"'{key}' at rows {_fmt_rows([int(i) + 1 for i in idx])}")
        problems.append("duplicate account(s) (case-insensitive): " + "; ".join(groups))
    if problems:
        raise RegistryError(
            f"registry {source} failed validation ({len(problems)} problem(s); row 1 is line 2 of the file):\n  - "
            + "\n  - ".join(problems)
            + "\nFix these rows (see data/reference/README.md for the rules) and run again."
        )
    out = frame.copy()
    out.index = pd.Index(keys.to_numpy(dtype=object), name="key")
    return out


def _validate_alternative(frame: pd.DataFrame, add) -> None:
    """Rules of the contested-origin columns (module docstring); ``add(mask, text)`` records a problem."""
    alt = {c: (frame[c] if c in frame.columns else pd.Series("", index=frame.index)).fillna("").astype(str)
           for c in ALT_COLUMNS}
    filled = pd.DataFrame({c: v != "" for c, v in alt.items()})
    some = filled.any(axis=1)
    for col in ALT_COLUMNS:
        add(some & ~filled[col], f"alternative reading partly filled: {col} is blank; give all of "
            + ", ".join(ALT_COLUMNS) + " or leave all four blank")
    alt_country, alt_region = alt["alt_country"], alt["alt_region"]
    bad_code = (alt_country != "") & ~(alt_country.str.match(_COUNTRY_RE) & alt_country.isin(ISO_ALPHA2))
    add(bad_code, "bad alt_country code; expected an upper-case ISO 3166-1 alpha-2 code such as CN, US, FR")
    add((alt_region != "") & ~alt_region.isin(REGISTRY_REGIONS),
        f"unknown alt_region; expected one of {list(REGISTRY_REGIONS)}")
    good = (alt_country != "") & ~bad_code & alt_region.isin(REGISTRY_REGIONS)
    implied = alt_country.map(lambda c: expected_region(c) if c else "")
    add(good & (implied != alt_region),
        "alt_region does not match alt_country (CN/HK/MO -> CN, US -> US, European countries -> EU, else OTHER)")
    add(good & (alt_region == frame["region"]),
        "alt_region equals region; an alternative reading must put the account in another region")
    add(some & ~frame["kind"].isin(ORGANISATION_KINDS),
        "alternative reading on a kind whose uploads are UNAFFILIATED; only "
        + "/".join(ORGANISATION_KINDS) + " rows may be contested")
    add(some & (frame["country"] == ""), "alternative reading without a primary country; give the country first")


def load_registry(path: str | Path) -> Registry:
    """Load and validate ``organizations.csv``.

    Parameters
    ----------
    path : str or pathlib.Path
        The registry CSV (``Paths.default().reference_dir / "organizations.csv"``).

    Returns
    -------
    Registry
        The validated registry, indexed by lower-cased account.

    Raises
    ------
    RegistryError
        If the file is missing, lacks a column, or a row has an unknown region or kind, a
        duplicate account (case-insensitive), missing evidence, a bad country code or a region
        that does not match its country, or an alternative reading that is partly filled, has a
        bad code, a region that does not match its country or equals ``region``, or sits on a
        non-organisation kind. The message names the file and the row numbers.

    Notes
    -----
    The four ``alt_*`` columns may be absent all together (a file written before contested
    origins were recorded: no row has an alternative reading); a file with some of them but not
    all is rejected as missing a column.
    """
    path = Path(path)
    frame = _read_csv(path, REGISTRY_COLUMNS, "registry", optional_group=ALT_COLUMNS)
    if frame.empty:
        raise RegistryError(f"registry {path} has no accounts (only a header); the study needs the registry of "
                            "organisations (restore data/reference/organizations.csv)")
    return Registry(table=validate_registry_frame(frame, str(path)), source=str(path))


def registry_from_records(records: Iterable[dict], source: str = "<in memory>") -> Registry:
    """Build a validated registry from dicts (tests, small studies).

    Missing keys become blank cells; validation is the same as :func:`load_registry`.
    """
    frame = pd.DataFrame(list(records))
    for col in REGISTRY_COLUMNS:
        if col not in frame.columns:
            frame[col] = ""
    frame = frame[list(REGISTRY_COLUMNS)].fillna("").astype(str)
    return Registry(table=validate_registry_frame(frame, source), source=source)


def load_overrides(path: str | Path | None) -> pd.DataFrame:
    """Load and validate ``model_overrides.csv``.

    Each row overrides the origin of one model under one rule: ``uploader`` (the uploader
    region), ``lineage`` (the lineage region; it also reaches the derivatives whose lineage root
    is this model) or ``all`` (both). Overrides are applied last by
    :func:`analysis.origin.tagging.tag_models`, and each application is reported.

    Parameters
    ----------
    path : str, pathlib.Path or None
        The overrides CSV. ``None`` gives an empty table.

    Returns
    -------
    pandas.DataFrame
        Columns ``model_id, rule, region, reason, evidence``.

    Raises
    ------
    RegistryError
        Unknown rule or region, empty model id, reason or evidence, or the same model overridden
        twice for the same rule (``all`` counts as both rules). The message names the file and rows.
    """
    if path is None:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in OVERRIDE_COLUMNS})
    path = Path(path)
    frame = _read_csv(path, OVERRIDE_COLUMNS, "overrides")
    return validate_overrides_frame(frame, str(path))


def validate_overrides_frame(frame: pd.DataFrame, source: str = "<in memory>") -> pd.DataFrame:
    """Validate override rows (see :func:`load_overrides`) and return them unchanged."""
    problems: list[str] = []

    def add(mask: pd.Series, text: str) -> None:
        rows = _rows(mask)
        if rows:
            problems.append(f"row(s) {_fmt_rows(rows)}: {text}")

    add(frame["model_id"] == "", "empty model_id; give the full model id 'owner/name'")
    add((frame["model_id"] != "") & ~frame["model_id"].map(lambda x: bool(_MODEL_ID_RE.fullmatch(x))),
        "malformed model_id; expected the Hub's form 'owner/name' (letters, digits, '-', '_', '.')")
    add(~frame["rule"].isin(OVERRIDE_RULES), f"unknown rule; expected one of {list(OVERRIDE_RULES)}")
    add(~frame["region"].isin(REGIONS), f"unknown region; expected one of {list(REGIONS)}")
    add(frame["reason"] == "", "missing reason; say why this model's origin differs from the rule's answer")
    add(frame["evidence"] == "", "missing evidence; give a URL or citation")
    expanded = []
    for i, (mid, rule) in enumerate(zip(frame["model_id"], frame["rule"])):
        for r in (("uploader", "lineage") if rule == "all" else (rule,)):
            expanded.append((mid, r, i + 1))
    seen: dict[tuple[str, str], int] = {}
    for mid, r, row in expanded:
        if (mid, r) in seen and seen[(mid, r)] != row:
            problems.append(f"rows {seen[(mid, r)]} and {row}: model '{mid}' overridden twice for rule '{r}'")
        seen.setdefault((mid, r), row)
    if problems:
        raise RegistryError(
            f"overrides {source} failed validation (row 1 is line 2 of the file):\n  - " + "\n  - ".join(problems)
        )
    return frame.reset_index(drop=True)
