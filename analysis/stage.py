"""A stage at run time: check its inputs before computing, write its outputs with their provenance.

Every notebook starts with::

    stage = open_stage("03", globals())

which finds the run's tree (:class:`analysis.paths.Paths`, the demo's own tree on demo runs), gathers the run's
parameters (the runner's ``run_config.json`` of that tree, overlaid with the parameters the notebook declares), and
checks every declared input of the stage (:func:`analysis.contracts.file_problems`). A missing input, one written by
the other run kind, one shaped by other settings, or one built from inputs that changed since stops the notebook
with :class:`StaleInputError`, which names the stage to rerun. Outputs are written through the stage
(:meth:`Stage.write_table`, :meth:`Stage.write_json`, ...), which checks them against their declaration and attaches
the provenance record.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from . import contracts as C
from .paths import Paths


class StaleInputError(RuntimeError):
    """An input a stage cannot use; the message names each file, why, and the stage to rerun."""

    def __init__(self, problems: list[C.Problem], stage: str):
        self.problems = problems
        self.rerun = min(p.rerun for p in problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"stage {stage} ({C.STAGES[stage]}) cannot use its inputs:\n{lines}\n"
            f"Rerun from stage {self.rerun}: python -m analysis {'demo' if _demo_hint(problems) else 'run'} "
            f"--from {self.rerun}")


def _demo_hint(problems: list[C.Problem]) -> bool:
    return any("/demo/" in p.path.as_posix() for p in problems)


class OutputError(ValueError):
    """An output that does not match its declaration in :mod:`analysis.contracts`."""


# --------------------------------------------------------------------------------------------------------------
# the run's parameters
# --------------------------------------------------------------------------------------------------------------
def run_parameters(paths: Paths, declared: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The flattened parameters of the run: ``run_config.json`` of the tree (or ``config/study.yaml``), overlaid
    with the notebook's own parameters (``declared``: only names of configuration parameters are taken)."""
    from .config import load_config

    if paths.run_config_file.is_file():
        params = json.loads(paths.run_config_file.read_text(encoding="utf-8"))["parameters"]
    else:
        params = load_config().notebook_parameters()
    for k, v in (declared or {}).items():
        if k in params:
            params[k] = list(v) if isinstance(v, tuple) else v
    return params


def write_run_config(paths: Paths, params: Mapping[str, Any], *, source: str, digest: str) -> Path:
    """Record the run's parameters in its tree (the runner does this before the first notebook)."""
    doc = {"source": source, "digest": digest, "parameters": dict(params)}
    _write_text(paths.run_config_file, json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n")
    return paths.run_config_file


# --------------------------------------------------------------------------------------------------------------
# hashes of the pseudo-inputs
# --------------------------------------------------------------------------------------------------------------
def window_snapshots(paths: Paths, params: Mapping[str, Any]) -> list[dt.date]:
    """Archive snapshot dates of the raw store inside the run's window, thinned to its frequency."""
    from .raw import RawStore
    from .timegrid import select_snapshots

    store = RawStore(paths.raw_dir)
    end = params.get("study_end")
    return select_snapshots(store.snapshot_dates("archive"), start=dt.date.fromisoformat(str(params["study_start"])),
                            end=dt.date.fromisoformat(str(end)) if end else None,
                            frequency=str(params["study_frequency"]))


def raw_entries(paths: Paths, dates: list[dt.date]) -> list[dict]:
    """The manifest entries of the archive snapshots ``dates``."""
    from .raw import RawStore

    store = RawStore(paths.raw_dir)
    out = []
    for d in dates:
        e = store.entry("archive", d)
        out.append(e or {"kind": "archive", "date": d.isoformat()})
    return out


def pull_notes(paths: Paths, dates: list[dt.date], window: list[dt.date] | None = None) -> dict[str, list[str]]:
    """The pull's schema-drift notes: of the snapshots ``dates`` and of the metadata parts of ``window``'s snapshots.

    A thin pull reads the metadata columns (``params_total`` among them) into metadata parts, whose entries carry
    the notes of what they read; a model's metadata may come from any snapshot of the window.
    """
    out: dict[str, list[str]] = {}
    for e in raw_entries(paths, dates):
        out.setdefault(e["date"], []).extend(e.get("schema_drift") or [])
    for part in metadata_entries(paths, window or dates):
        notes = [n for n in part.get("schema_drift") or [] if n not in out.get(part["date"], [])]
        out.setdefault(part["date"], []).extend(notes)
    return out


def metadata_entries(paths: Paths, dates: list[dt.date]) -> list[dict]:
    """The manifest entries of the metadata parts of the archive snapshots ``dates`` (thin pulls; none otherwise).

    They join the raw digest: a part fetched later (a resumed pull, a finer rule) makes what was built before stale.
    """
    from .raw import RawStore

    store = RawStore(paths.raw_dir)
    out = []
    for d in dates:
        e = store.entry("archive", d)
        if e is not None:
            out += store.metadata_entries(d, int(e.get("version", 1)))
    return out


def raw_digest(entries: list[dict]) -> str | None:
    """Digest of the raw snapshots a file was built from: their dates and SHA-256 (None for none)."""
    if not entries:
        return None
    return C.digest([[e.get("date"), e.get("sha256")] for e in entries])


def raw_source(entries: list[dict]) -> dict:
    """Where the raw snapshots came from, from their manifest entries."""
    def distinct(key):
        return sorted({str(e[key]) for e in entries if e.get(key) not in (None, "")})

    dates = sorted(e["date"] for e in entries if e.get("date"))
    return {"endpoints": distinct("endpoint"), "repos": distinct("repo_id") or distinct("source"),
            "commits": distinct("commit"), "first_snapshot": dates[0] if dates else None,
            "last_snapshot": dates[-1] if dates else None, "n_snapshots": len(dates)}


def raw_run_kinds(entries: list[dict]) -> set[str]:
    """Run kinds the manifest entries record (``simulated`` true/false, as the pull saw the data)."""
    return {"simulated" if e.get("simulated") else "real" for e in entries if "sha256" in e}


# --------------------------------------------------------------------------------------------------------------
# the stage
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Stage:
    """One stage of one run: where its files are, the run's parameters, and how to write outputs.

    Build it with :func:`open_stage`.
    """

    number: str
    paths: Paths
    params: dict
    simulated: bool
    _hashes: dict = field(default_factory=dict)
    _git: tuple | None = None

    @property
    def run_kind(self) -> str:
        return "simulated" if self.simulated else "real"

    @property
    def state(self) -> C.RunState:
        return C.RunState(self.run_kind, self.params)

    # ---- inputs ------------------------------------------------------------------------------------------------
    def snapshots(self) -> list[tuple[dt.date, Path]]:
        """The window's archive snapshots (date, path), after checking the raw store holds this run kind's data.

        Raises
        ------
        StaleInputError
            No snapshot in the window (run stage 01), or a snapshot the pull recorded as the other run kind.
        """
        from .raw import RawStore

        dates = window_snapshots(self.paths, self.params)
        if not dates:
            raise StaleInputError([C.Problem(C.RAW, self.paths.archive_dir, "no archive snapshot in the window "
                                             f"{self.params['study_start']} to {self.params.get('study_end') or 'latest'}",
                                             "01")], self.number)
        kinds = raw_run_kinds(raw_entries(self.paths, dates))
        if kinds - {self.run_kind}:
            raise StaleInputError([C.Problem(C.RAW, self.paths.raw_dir, f"holds snapshots the pull recorded as "
                                             f"{', '.join(sorted(kinds))} data, and this is a {self.run_kind} run",
                                             "01")], self.number)
        store = RawStore(self.paths.raw_dir)
        return [(d, store.path("archive", d)) for d in dates]

    def current_hash(self, key: str) -> str | None:
        """The current hash of an input: a declared file, the raw snapshots of the window, a reference file."""
        if key not in self._hashes:
            if key == C.RAW:
                dates = window_snapshots(self.paths, self.params)
                self._hashes[key] = raw_digest(raw_entries(self.paths, dates) + metadata_entries(self.paths, dates))
            elif key in C.REFERENCE_FILES:
                self._hashes[key] = C.file_hash(self.paths.reference_dir / C.REFERENCE_FILES[key])
            else:
                self._hashes[key] = C.file_hash(self.paths.locate(key))
        return self._hashes[key]

    def problems(self) -> list[C.Problem]:
        """Every reason the stage's declared inputs cannot be used by this run."""
        out: list[C.Problem] = []
        for key in C.inputs_of(self.number):
            f = C.FILES[key]
            out += C.file_problems(f, self.paths.locate(f), self.state, self.current_hash)
        return out

    def check_inputs(self) -> None:
        """Raise :class:`StaleInputError` when an input cannot be used (see :meth:`problems`)."""
        problems = self.problems()
        if problems:
            raise StaleInputError(problems, self.number)

    def read_table(self, key: str) -> pd.DataFrame:
        """A declared table of an earlier stage, checked against its declaration."""
        f = C.spec(key)
        path = self.paths.locate(f)
        df = pd.read_parquet(path) if f.format == "parquet" else pd.read_csv(path)
        missing = [c for c in f.columns if c not in df.columns]
        if missing:
            raise StaleInputError([C.Problem(key, path, f"lacks the declared columns {missing}", f.stage)],
                                  self.number)
        return df

    def read_json(self, key: str) -> dict:
        """A declared JSON file of an earlier stage."""
        return json.loads(self.paths.locate(key).read_text(encoding="utf-8"))

    # ---- provenance ----------------------------------------------------------------------------------------------
    def _git_state(self) -> tuple:
        if self._git is None:
            from .figures.provenance import git_state

            self._git = git_state(self.paths.root)
        return self._git

    def source(self, f: C.FileSpec) -> dict:
        """Where the data behind ``f`` came from: the raw manifest, or the source its inputs record."""
        if C.RAW in f.inputs:
            return raw_source(raw_entries(self.paths, window_snapshots(self.paths, self.params)))
        for k in f.inputs:
            if k in C.FILES:
                prov = C.read_provenance(self.paths.locate(k), C.FILES[k].format) or {}
                if prov.get("source"):
                    return prov["source"]
        return {}

    def provenance(self, key: str) -> dict:
        """The provenance record of the declared output ``key`` of this run."""
        from . import __version__

        f = C.spec(key)
        if f.stage != self.number:
            raise OutputError(f"{f.name} is written by stage {f.stage}, not by stage {self.number}")
        config = C.config_values(f.config, self.params)
        commit, dirty = self._git_state()
        return {"file": f.name, "stage": self.number, "run_kind": self.run_kind, "source": self.source(f),
                "config": config, "config_digest": C.digest(config),
                "inputs": {k: self.current_hash(k) for k in f.inputs},
                "package_version": __version__, "git_commit": commit + ("+uncommitted changes" if dirty else "")}

    # ---- outputs ---------------------------------------------------------------------------------------------------
    def path(self, key: str) -> Path:
        """Where the output ``key`` goes (its folder is created)."""
        p = self.paths.locate(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_table(self, key: str, table: pd.DataFrame) -> Path:
        """Write a declared table (parquet or csv) with its provenance; columns must be the declared ones."""
        f = C.spec(key)
        cols = list(table.columns)
        if set(cols) != set(f.columns):
            raise OutputError(f"{f.name}: columns {cols} differ from the declared {list(f.columns)} "
                              "(analysis/contracts.py)")
        table = table[list(f.columns)]
        prov = self.provenance(key)
        path = self.path(key)
        tmp = path.with_name(path.name + ".tmp")
        if f.format == "parquet":
            write_parquet(table, tmp, {C.PARQUET_PROVENANCE_KEY: json.dumps(prov, sort_keys=True)})
            os.replace(tmp, path)
        elif f.format == "csv":
            table.to_csv(tmp, index=False)
            os.replace(tmp, path)
            _write_text(C.sidecar(path), json.dumps(prov, indent=1, sort_keys=True) + "\n")
        else:
            raise OutputError(f"{f.name} is declared as {f.format}, not a table")
        self._hashes.pop(key, None)
        return path

    def write_json(self, key: str, doc: Mapping[str, Any]) -> Path:
        """Write a declared JSON document with its provenance under ``provenance``; its keys are checked."""
        from .stats.results import to_jsonable

        f = C.spec(key)
        missing = [k for k in f.keys if k not in doc]
        if missing:
            raise OutputError(f"{f.name}: lacks the declared keys {missing} (analysis/contracts.py)")
        out = {**to_jsonable(dict(doc)), "provenance": self.provenance(key)}
        path = self.path(key)
        _write_text(path, json.dumps(out, indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False) + "\n")
        self._hashes.pop(key, None)
        return path

    def seal_dir(self, key: str) -> Path:
        """Record the provenance of a declared folder (after the stage has filled it)."""
        C.spec(key)                                  # an undeclared key: a clear error
        path = self.path(key)
        path.mkdir(parents=True, exist_ok=True)
        _write_text(path / "_provenance.json", json.dumps(self.provenance(key), indent=1, sort_keys=True) + "\n")
        self._hashes.pop(key, None)
        return path


def open_stage(number: str, notebook_globals: Mapping[str, Any] | None = None, *, check: bool = True,
               paths: Paths | None = None) -> Stage:
    """Open a stage of the chain: locate the run's tree, gather its parameters, check its inputs.

    Parameters
    ----------
    number : str
        The stage, ``"01"`` to ``"07"``.
    notebook_globals : mapping, optional
        The notebook's ``globals()``: its declared parameters (``simulated`` and ``<section>_<key>`` names) are
        read from it; everything else is ignored.
    check : bool
        Check the stage's inputs (default). Raises :class:`StaleInputError` naming the stage to rerun.
    paths : Paths, optional
        Default: ``Paths.default(simulated=...)``.

    Returns
    -------
    Stage
    """
    if number not in C.STAGES:
        raise ValueError(f"stage {number!r}: expected one of {', '.join(C.STAGES)}")
    g = dict(notebook_globals or {})
    simulated = bool(g.get("simulated", False))
    paths = paths or Paths.default(simulated=simulated)
    params = run_parameters(paths, g)
    stage = Stage(number, paths, params, simulated)
    if check:
        stage.check_inputs()
    return stage


def stale_stages(paths: Paths, params: Mapping[str, Any], simulated: bool) -> dict[str, list[C.Problem]]:
    """For every stage after 01, the problems of its own outputs for this run (empty list: up to date)."""
    out = {}
    stage = Stage("02", paths, dict(params), simulated)
    for number in list(C.STAGES)[1:]:
        problems = []
        for f in C.outputs_of(number):
            problems += C.file_problems(f, paths.locate(f), stage.state, stage.current_hash)
        out[number] = problems
    return out


def write_parquet(table: pd.DataFrame, path: Path, metadata: Mapping[str | bytes, str] | None = None) -> None:
    """Write a data frame to parquet the way every stage output is written (not atomically: see
    :meth:`Stage.write_table`).

    Parameters
    ----------
    table : pandas.DataFrame
        Written without its index.
    path : Path
        The file.
    metadata : mapping of str (or bytes) to str, optional
        Added to the schema's key-value metadata (e.g. the provenance).

    Notes
    -----
    No column statistics are written: the study's readers read whole columns, and computing them is about a
    quarter of the time it takes to write the tagged models (measured on 400,000 models).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.Table.from_pandas(table, preserve_index=False)
    if metadata:
        meta = dict(t.schema.metadata or {})
        meta.update({k.encode() if isinstance(k, str) else k: v.encode() for k, v in metadata.items()})
        t = t.replace_schema_metadata(meta)
    pq.write_table(t, path, write_statistics=False)


def _write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
