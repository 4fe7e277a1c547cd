"""Words for the study's codes: what figures, captions, values.tex and notebook tables show instead of snake_case.

One place for every name a reader sees: origins (``EU`` is shown as "Europe", since the region holds the United
Kingdom, Switzerland and Norway as well as EU members), measures, rules, scopes, crossover methods and Mann-Kendall
variants. :func:`words` turns any other snake_case name into words, so a new code never prints raw.
"""

from __future__ import annotations

import re

#: Origins (:data:`analysis.schema.REGIONS`) in words.
REGION_LABELS: dict[str, str] = {
    "CN": "China",
    "US": "United States",
    "EU": "Europe",
    "OTHER": "Other countries",
    "UNAFFILIATED": "Unaffiliated",
    "UNKNOWN": "Unknown",
    "EXCLUDED": "Excluded (not first party)",
}

#: Download measures.
MEASURE_LABELS: dict[str, str] = {
    "downloads_30d": "30-day downloads",
    "downloads_alltime_increment": "weekly growth of all-time downloads",
}
#: Short forms of the measures, for crowded axes.
MEASURE_SHORT: dict[str, str] = {"downloads_30d": "30-day", "downloads_alltime_increment": "all-time growth"}

#: Attribution rules.
RULE_LABELS: dict[str, str] = {"uploader": "uploader", "lineage": "lineage", "first_party": "first party",
                               "uploader_alt": "uploader (contested origins read the other way)",
                               "lineage_alt": "lineage (contested origins read the other way)",
                               "first_party_alt": "first party (contested origins read the other way)"}

#: Scopes.
SCOPE_LABELS: dict[str, str] = {"all": "all models", "llm": "generative models (LLMs and VLMs)",
                                "first_party_llm": "first-party generative models of organisations",
                                "no_redistributors": "without redistributors"}

#: Crossover methods (``crossover.json`` ``methods`` keys).
METHOD_LABELS: dict[str, str] = {
    "fieller": "Fieller",
    "fieller_nw": "Fieller (classic Newey-West)",
    "fieller_prewhitened": "Fieller (prewhitened)",
    "delta": "delta method",
    "bootstrap": "block bootstrap",
    "first_passage": "first passage",
    "first_passage_level": "first passage of the smoothed level",
}

#: Crossover methods as a reader of figures 6 and 7 needs them named: what the method assumes, in words (the
#: setting each used is said beside it, see :func:`analysis.figures.sensitivity.method_setting_text`).
METHOD_WORDS: dict[str, str] = {
    "local_linear": "Local-linear fit (no straight line assumed)",
    "fieller": "Straight line, Fieller set",
    "fieller_nw": "Straight line, Fieller set",
    "fieller_prewhitened": "Straight line, Fieller set",
    "delta": "Straight line, delta method",
    "bootstrap": "Straight line, block bootstrap",
    "first_passage": "First passage of the observed shares",
    "first_passage_level": "First passage of the smoothed level",
}

#: Attribution rules in plain words (figure 6's one-at-a-time changes): whose downloads a model's count is.
RULE_WORDS: dict[str, str] = {
    "uploader": "uploader (the account that published the model)",
    "lineage": "lineage (the maker of the model's base model)",
    "first_party": "first party (organisations' own uploads only)",
}

#: Scopes in plain words (figure 6's one-at-a-time changes).
SCOPE_WORDS: dict[str, str] = {
    "all": "all models",
    "llm": "generative models (LLMs and VLMs)",
    "first_party_llm": "organisations' own generative models",
    "no_redistributors": "without redistributors' and quantizers' copies",
}

#: Words for one period of each frequency (plural).
PERIOD_WORDS: dict[str, str] = {"daily": "days", "weekly": "weeks", "monthly": "months"}

#: Mann-Kendall variants.
MK_LABELS: dict[str, str] = {"original": "original", "hamed_rao": "Hamed-Rao", "yue_wang": "Yue-Wang"}

#: Break tests (``trends.json`` ``breaks`` keys).
BREAK_LABELS: dict[str, str] = {"pettitt": "Pettitt", "chow": "Chow", "sup_f": "sup-F", "cusum": "OLS-CUSUM",
                                "bai_perron": "Bai-Perron"}

#: Kinds of confidence set.
KIND_LABELS: dict[str, str] = {"bounded": "bounded", "unbounded": "unbounded", "two_rays": "two rays",
                               "empty": "empty", "no_trend": "no trend", "point": "no interval"}

#: Column names of the study's tables, where plain words need more than the name.
COLUMN_LABELS: dict[str, str] = {
    "n_models": "Models", "n": "Count", "p_value": "p-value", "hac_lag": "HAC lag", "hac_lags": "HAC lags",
    "k": "k", "id": "Model", "top_n": "Top N", "sha256": "SHA-256", "estimate_date": "Estimate",
    "lower_date": "Lower end", "upper_date": "Upper end", "n_observed": "Periods observed",
    "n_periods": "Periods", "log_ratio": "log ratio CN/US", "share_CN": "CN share", "share_US": "US share",
    "diff": "CN minus US", "t": "Period", "bandwidth_b": "Bandwidth b", "url": "URL", "llm": "LLM",
    "downloads": "Downloads", "remote_size": "Remote size (bytes)", "bytes_read": "Bytes read",
}

_ACRONYMS = {"cn": "CN", "us": "US", "eu": "EU", "ols": "OLS", "hac": "HAC", "llm": "LLM", "id": "id",
             "url": "URL", "csv": "CSV", "json": "JSON"}


def words(name: object) -> str:
    """A code in words: ``"estimate_date"`` -> ``"Estimate date"``; known names from the tables above."""
    text = str(name)
    for table in (COLUMN_LABELS, METHOD_LABELS, MEASURE_LABELS, SCOPE_LABELS, MK_LABELS):
        if text in table:
            out = table[text]
            return out[:1].upper() + out[1:]
    parts = [p for p in re.split(r"[_\s]+", text) if p]
    if not parts:
        return text
    if len(parts) > 1 and parts[0] == "n":  # n_models -> Number of models
        parts = ["number", "of"] + parts[1:]
    elif len(parts) > 1 and parts[0] == "share" and parts[1] != "of":  # share_downloads_x -> Share of downloads x
        parts = ["share", "of"] + parts[1:]
    out = " ".join(_ACRONYMS.get(p.lower(), p) for p in parts)
    return out[:1].upper() + out[1:]


def readable(text: object) -> str:
    """A text with the study's code names inside it put in words (``"Mann-Kendall (hamed_rao)"`` ->
    ``"Mann-Kendall (Hamed-Rao)"``, ``"Break: sup_f"`` -> ``"Break: sup-F"``)."""
    known = {**MK_LABELS, **BREAK_LABELS, **METHOD_LABELS}

    def swap(m: re.Match) -> str:
        return known.get(m.group(0), m.group(0))

    return re.sub(r"\b[a-z]+(?:_[a-z]+)+\b|\b(?:pettitt|chow|cusum)\b", swap, str(text))


def label(table: dict[str, str], code: object) -> str:
    """``table[code]`` or the code in words."""
    return table.get(str(code), words(code) if isinstance(code, str) else str(code))


def method_label(method: str) -> str:
    """A crossover method in words (``"fieller_nw"`` -> ``"Fieller (classic Newey-West)"``)."""
    return METHOD_LABELS.get(method, words(method).lower() if method else method)


def region_label(region: str) -> str:
    """An origin in words (``"EU"`` -> ``"Europe"``)."""
    return REGION_LABELS.get(region, str(region))
