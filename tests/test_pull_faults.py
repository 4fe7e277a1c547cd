"""Faults: retries (429 with Retry-After, 5xx, dropped connections), broken files, schema drift, kill -9, --verify."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from analysis.config import load_config
from analysis.hub import RetryPolicy
from devtools.fakehub import Fault, FakeHub
from analysis.hub.pull import pull_all
from analysis.paths import REPO_ROOT, Paths
from analysis.raw import RawStore
from analysis.schema import RAW_SCHEMA

REPO = "hfmlsoc/hub_weekly_snapshots"
CFG = {"study.start": "2025-01-01", "study.end": "2025-02-12", "live.enabled": "false"}


class SleepRecorder:
    """Stands in for time.sleep: records the delays the retry policy asks for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)



def _file_rule(date: str, **kw) -> Fault:
    return Fault(path=rf"/resolve/.*models/{date}/models\.parquet", method="GET", **kw)


def _pull(hub, root, policy, **cfg):
    return pull_all(load_config(overrides={**CFG, **cfg}), Paths(root, simulated=True), endpoint=hub.endpoint,
                    retry=policy, progress=False, log=lambda line: None)


def _store(root) -> RawStore:
    return RawStore(root / "data" / "demo" / "raw")


def _drift_notes(store: RawStore, date: str) -> list[str]:
    """The schema drift a pull recorded for a snapshot: its weekly file's and, for a thin pull, its metadata parts'."""
    e = store.entry("archive", date)
    notes = list(e["schema_drift"])
    for part in store.metadata_entries(date, int(e.get("version", 1))):
        notes += part["schema_drift"]
    return notes


def test_429_waits_for_retry_after(hub_root, tmp_path):
    sleep = SleepRecorder()
    with FakeHub(hub_root) as hub:
        hub.faults = [_file_rule("2025-01-08", status=429, retry_after=7, times=2)]
        report = _pull(hub, tmp_path, RetryPolicy(base_delay=0.5, sleep=sleep))
        assert hub.stats.statuses[429] == 2
    assert sleep.delays == [7.0, 7.0] and report.retries == 2
    assert report.ok and len(report.pulled) == 6 and _store(tmp_path).verify() == []


def test_500_backs_off_exponentially_with_a_cap(hub_root, tmp_path):
    sleep = SleepRecorder()
    with FakeHub(hub_root) as hub:
        hub.faults = [_file_rule("2025-01-15", status=500, times=4)]
        report = _pull(hub, tmp_path, RetryPolicy(base_delay=0.5, max_delay=1.5, sleep=sleep))
    assert sleep.delays == [0.5, 1.0, 1.5, 1.5]
    assert report.ok and "archive/2025-01-15" in report.pulled


def test_dropped_connection_is_retried_and_the_file_is_complete(hub_root, tmp_path):
    sleep = SleepRecorder()
    with FakeHub(hub_root) as hub:
        hub.faults = [_file_rule("2025-01-22", drop_after=1000, times=2)]
        report = _pull(hub, tmp_path, RetryPolicy(base_delay=0.5, sleep=sleep))
        assert hub.stats.faults_triggered == 2
    assert sleep.delays == [0.5, 1.0] and report.ok
    src = pq.read_table(hub_root / "datasets" / REPO / "models" / "2025-01-22" / "models.parquet")
    raw = _store(tmp_path).read("archive", "2025-01-22")
    assert raw["id"].equals(src["id"]) and raw["downloads"].equals(src["downloads"])


def test_a_file_that_stays_broken_is_reported_and_the_others_complete(hub_root, tmp_path):
    sleep = SleepRecorder()
    with FakeHub(hub_root) as hub:
        hub.faults = [_file_rule("2025-01-15", status=503, times=None),
                      _file_rule("2025-01-29", status=429, retry_after=3600, times=None)]
        report = _pull(hub, tmp_path, RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=1.0,
                                                   max_retry_after=60, sleep=sleep))
    assert not report.ok
    failed = {f.date: f.reason for f in report.failed}
    assert set(failed) == {"2025-01-15", "2025-01-29"}
    assert "still failing after 4 attempt(s): HTTP 503" in failed["2025-01-15"]
    assert "models/2025-01-15/models.parquet" in failed["2025-01-15"]
    assert "after 1 attempt(s): HTTP 429" in failed["2025-01-29"]  # an hour-long Retry-After is not waited for
    assert sleep.delays == [0.5, 1.0, 1.0]
    assert len(report.pulled) == 4 and "FAILED archive/2025-01-15" in report.summary()
    store = _store(tmp_path)
    assert not store.has("archive", "2025-01-15") and not store.has("archive", "2025-01-29")
    assert store.partial_files() == [] and store.verify() == []


@pytest.fixture(scope="module")
def drift_root(hub_root, tmp_path_factory):
    """A copy of the Hub whose snapshots drift: missing columns, other types, garbage, nulls."""
    root = tmp_path_factory.mktemp("drift_hub")
    shutil.copytree(hub_root / "datasets", root / "datasets")
    models = root / "datasets" / REPO / "models"

    def rewrite(date, fn):
        f = models / date / "models.parquet"
        pq.write_table(fn(pq.read_table(f)), f)

    rewrite("2025-01-15", lambda t: t.drop_columns(["downloads"]))
    (models / "2025-01-22" / "models.parquet").write_bytes(b"this is not parquet" * 100)

    def drift(t: pa.Table) -> pa.Table:
        bm = t["baseModels"].combine_chunks()
        swapped = pa.StructArray.from_arrays([bm.field("models"), bm.field("relation")], ["models", "relation"],
                                             mask=bm.is_null())
        created = pc.strftime(t["createdAt"], format="%Y-%m-%dT%H:%M:%SZ") \
            if pa.types.is_timestamp(t["createdAt"].type) else t["createdAt"]
        return pa.table({
            "id": t["id"].cast(pa.large_string()), "author": t["author"].combine_chunks().dictionary_encode(),
            "createdAt": created, "downloads": t["downloads"].cast(pa.int32()),
            "tags": t["tags"].cast(pa.large_list(pa.large_string())), "baseModels": swapped,
            "pipeline_tag": t["pipeline_tag"], "cardData": t["cardData"],
        })

    rewrite("2025-01-29", drift)

    def null_id(t: pa.Table) -> pa.Table:
        ids = t["id"].to_pylist()
        ids[3] = None
        return t.set_column(0, "id", pa.array(ids, pa.string()))

    rewrite("2025-02-12", null_id)
    return root


@pytest.mark.parametrize("every", ["13", "0"], ids=["thin", "full"])
def test_schema_drift_cases(hub_root, drift_root, tmp_path, every):
    # 2025-01-29 (drifted) is the newest snapshot pulled: a thin pull fetches the metadata of all its rows too
    with FakeHub(drift_root) as hub:
        report = _pull(hub, tmp_path, RetryPolicy(base_delay=0.001), **{"archive.metadata_every": every})
    failed = {f.date: f.reason for f in report.failed}
    assert set(failed) == {"2025-01-15", "2025-01-22", "2025-02-12"}
    assert "archive 2025-01-15" in failed["2025-01-15"] and "required column 'downloads' is absent" in failed["2025-01-15"]
    assert "archive 2025-01-22" in failed["2025-01-22"] and "not a readable Parquet file" in failed["2025-01-22"]
    assert "required column 'id' has 1 null" in failed["2025-02-12"]
    store = _store(tmp_path)
    for d in failed:
        assert not store.has("archive", d)  # skipped, never half-written
    assert store.partial_files() == [] and store.verify() == []
    # drifted types are normalised; absent optional columns become null
    src = pq.read_table(hub_root / "datasets" / REPO / "models" / "2025-01-29" / "models.parquet")
    raw = store.read("archive", "2025-01-29")
    # an undrifted week, for createdAt
    reference = _created_reference(pq.read_table(hub_root / "datasets" / REPO / "models" / "2025-01-08" /
                                                 "models.parquet"))
    reference_ids = pq.read_table(hub_root / "datasets" / REPO / "models" / "2025-01-08" / "models.parquet")["id"]
    for col in ("id", "author", "downloads", "tags", "baseModels", "pipeline_tag"):
        assert raw[col].to_pylist() == src[col].to_pylist(), col
    assert raw["likes"].null_count == raw.num_rows and raw["library_name"].null_count == raw.num_rows
    created = dict(zip(reference_ids.to_pylist(), reference.to_pylist()))
    assert raw["createdAt"].null_count < raw.num_rows
    assert all(created[i] == c for i, c in zip(raw["id"].to_pylist(), raw["createdAt"].to_pylist()) if i in created)
    drift = _drift_notes(store, "2025-01-29")
    for note in ("downloads: int32 cast to int64", "createdAt: string parsed", "likes: absent, written as null",
                 "baseModels:", "tags: large_list"):
        assert any(n.startswith(note) for n in drift), (note, drift)


def _xor(path, start: int, n: int) -> None:
    data = bytearray(path.read_bytes())
    for k in range(start, start + n):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def corrupt_root(hub_root, tmp_path_factory):
    """A copy of the Hub with damaged bytes: a corrupt page in one row group, a corrupt footer."""
    root = tmp_path_factory.mktemp("corrupt_hub")
    shutil.copytree(hub_root / "datasets", root / "datasets")
    models = root / "datasets" / REPO / "models"
    f = models / "2025-01-08" / "models.parquet"
    pq.write_table(pq.read_table(f), f, row_group_size=100)  # three row groups
    chunk = pq.read_metadata(f).row_group(1).column(pq.read_schema(f).get_field_index("downloads"))
    assert chunk.path_in_schema == "downloads"
    _xor(f, chunk.dictionary_page_offset or chunk.data_page_offset, 12)  # the first page header of that chunk
    g = models / "2025-01-15" / "models.parquet"
    footer_len = int.from_bytes(g.read_bytes()[-8:-4], "little")
    _xor(g, g.stat().st_size - 8 - footer_len, 16)  # the start of the footer's thrift metadata
    return root


def test_corrupt_files_name_the_snapshot_row_group_and_column(corrupt_root, tmp_path):
    with FakeHub(corrupt_root) as hub:
        hub.faults = [_file_rule("2025-02-12", status=403, times=None)]  # a transport error is not corruption
        report = _pull(hub, tmp_path, RetryPolicy(base_delay=0.001))
    failed = {f.date: f.reason for f in report.failed}
    assert set(failed) == {"2025-01-08", "2025-01-15", "2025-02-12"}
    assert failed["2025-01-08"].startswith("archive 2025-01-08 (hfmlsoc/hub_weekly_snapshots/models/2025-01-08/")
    assert "row group 1 of 3, column 'downloads', is corrupt (Couldn't deserialize thrift" in failed["2025-01-08"]
    assert "snapshot skipped, nothing was written for it" in failed["2025-01-08"]
    assert failed["2025-01-15"].startswith("archive 2025-01-15 (")
    assert "not a readable Parquet file, footer unreadable" in failed["2025-01-15"]
    assert "snapshot skipped, nothing was written for it" in failed["2025-01-15"]
    assert "403" in failed["2025-02-12"] and "corrupt" not in failed["2025-02-12"] \
        and "not a readable" not in failed["2025-02-12"]
    assert report.pulled == ("archive/2025-01-01", "archive/2025-01-22", "archive/2025-01-29")
    store = _store(tmp_path)
    assert not any(store.has("archive", d) for d in failed)
    assert store.partial_files() == [] and store.verify() == []


def _created_reference(table: pa.Table) -> pa.ChunkedArray:
    from analysis.hub.archive import normalise_table

    return normalise_table(table, "reference")["createdAt"]


@pytest.fixture(scope="module")
def created_drift_root(hub_root, tmp_path_factory):
    """createdAt written as offset-less strings with microseconds, and as timestamp[us] off whole milliseconds."""
    root = tmp_path_factory.mktemp("created_hub")
    shutil.copytree(hub_root / "datasets", root / "datasets")
    models = root / "datasets" / REPO / "models"
    f = models / "2025-01-15" / "models.parquet"
    t = pq.read_table(f)
    us = pc.add(pc.cast(_created_reference(t), pa.timestamp("us", "UTC")), pa.scalar(456, pa.duration("us")))
    strings = pc.strftime(us, format="%Y-%m-%dT%H:%M:%S")  # %S of a us timestamp prints 6 decimals; no offset
    pq.write_table(t.set_column(t.schema.get_field_index("createdAt"), "createdAt", strings), f, row_group_size=100)
    g = models / "2025-01-22" / "models.parquet"
    t = pq.read_table(g)
    aware = pc.add(pc.cast(_created_reference(t), pa.timestamp("us", "UTC")), pa.scalar(789, pa.duration("us")))
    naive = pa.chunked_array([c.cast(pa.int64()).cast(pa.timestamp("us")) for c in aware.chunks])  # no time zone
    pq.write_table(t.set_column(t.schema.get_field_index("createdAt"), "createdAt", naive), g, row_group_size=100)
    return root


def test_created_at_drift_is_normalised_and_recorded(hub_root, created_drift_root, tmp_path):
    # the full pull: every week's createdAt is read (a thin pull reads it where the rule plans: see
    # test_pull_thin.py), so the notes of both drifted weeks show
    with FakeHub(created_drift_root) as hub:
        report = _pull(hub, tmp_path, RetryPolicy(base_delay=0.001),
                       **{"study.end": "2025-01-22", "archive.metadata_every": "0"})
    assert report.ok and report.pulled[-2:] == ("archive/2025-01-15", "archive/2025-01-22")
    store = _store(tmp_path)
    for d in ("2025-01-15", "2025-01-22"):
        src = pq.read_table(hub_root / "datasets" / REPO / "models" / d / "models.parquet")
        raw = store.read("archive", d)
        # the same instants as the undrifted source, to the millisecond (456 and 789 us truncated away)
        assert raw["createdAt"].to_pylist() == _created_reference(src).to_pylist(), d
    n = store.entry("archive", "2025-01-15")["rows"]
    with_value = pc.sum(pc.is_valid(store.read("archive", "2025-01-15")["createdAt"])).as_py()
    assert n > 200 and with_value > 200  # three row groups: the counts below are summed over them
    drift = store.entry("archive", "2025-01-15")["schema_drift"]
    assert [x for x in drift if x.startswith("createdAt")] == [
        "createdAt: string parsed as timestamp[ms, tz=UTC]",
        f"createdAt: {with_value} value(s) finer than milliseconds truncated to ms",
        f"createdAt: {with_value} value(s) without a UTC offset read as UTC"]
    drift = store.entry("archive", "2025-01-22")["schema_drift"]
    with_value = pc.sum(pc.is_valid(store.read("archive", "2025-01-22")["createdAt"])).as_py()
    assert [x for x in drift if x.startswith("createdAt")] == [
        "createdAt: timestamp[us] cast to timestamp[ms, tz=UTC]",
        "createdAt: timestamp[us] without a time zone read as UTC",
        f"createdAt: {with_value} value(s) finer than milliseconds truncated to ms"]


def test_created_at_cases_normalise_to_utc_milliseconds():
    from analysis.hub.archive import normalise_table

    utc = dt.timezone.utc
    base = dt.datetime(2022, 3, 2, 23, 29, 4, tzinfo=utc)
    strings = ["2022-03-02T23:29:04", "2022-03-02T23:29:04.123456Z", "2022-03-02T23:29:04+02:00",
               "2022-03-02 23:29:04.9", "2022-03-02T23:29:04.987654321", "2022-03-02", None]
    drift: list[str] = []
    out = normalise_table(pa.table({"id": [f"a/{i}" for i in range(7)], "downloads": range(7),
                                    "createdAt": strings}), "archive 2030-01-01", drift)
    assert out["createdAt"].to_pylist() == [
        base, base.replace(microsecond=123000), base - dt.timedelta(hours=2), base.replace(microsecond=900000),
        base.replace(microsecond=987000), dt.datetime(2022, 3, 2, tzinfo=utc), None]
    assert [x for x in drift if x.startswith("createdAt")] == [
        "createdAt: string parsed as timestamp[ms, tz=UTC]",
        "createdAt: 2 value(s) finer than milliseconds truncated to ms",
        "createdAt: 4 value(s) without a UTC offset read as UTC"]
    # timestamps: any unit and zone; below whole milliseconds truncated (towards the past, also before 1970)
    ns = [1646263744123456789, 1646263744123000000, -1, None]
    for unit, div in (("ns", 1), ("us", 1000)):
        for tz in (None, "UTC", "+02:00"):
            drift = []
            col = pa.array([None if v is None else v // div for v in ns], pa.timestamp(unit, tz))
            got = normalise_table(pa.table({"id": list("abcd"), "downloads": range(4), "createdAt": col}),
                                  "archive 2030-01-01", drift)["createdAt"]
            assert got.type == RAW_SCHEMA.field("createdAt").type
            assert got.cast(pa.int64()).to_pylist() == [1646263744123, 1646263744123, -1, None], (unit, tz)
            assert "createdAt: 2 value(s) finer than milliseconds truncated to ms" in drift, (unit, tz, drift)
            assert ("createdAt: timestamp[%s] without a time zone read as UTC" % unit in drift) == (tz is None)
    drift = []
    whole = pa.array([1646263744123000], pa.timestamp("us", "UTC"))
    normalise_table(pa.table({"id": ["a"], "downloads": [1], "createdAt": whole}), "archive 2030-01-01", drift)
    assert not any("truncated" in x for x in drift)  # nothing to truncate, nothing recorded


def _env(root=None, endpoint=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "STUDY_ROOT"}
    env.update(CI="true", PYTHONPATH=str(REPO_ROOT))
    if root is not None:
        env["STUDY_ROOT"] = str(root)
    if endpoint:
        env["HF_ENDPOINT"] = endpoint
    return env


#: ``python -m analysis pull`` dispatches to these entry points; calling them directly keeps this test about the pull.
PULL_CLI = ("import argparse, sys; from analysis.hub.pull import add_arguments, run; "
            "p = argparse.ArgumentParser(); add_arguments(p); sys.exit(run(p.parse_args(sys.argv[1:])))")


def test_cli_exit_status_and_verify_catch_problems(drift_root, tmp_path):
    cfg = tmp_path / "study.yaml"
    cfg.write_text("study:\n  start: 2025-01-01\n  end: 2025-02-12\nlive:\n  enabled: false\n")
    with FakeHub(drift_root) as hub:
        r = subprocess.run([sys.executable, "-c", PULL_CLI, "--demo", "--config", str(cfg)],
                           capture_output=True, text=True, env=_env(tmp_path, hub.endpoint), cwd=REPO_ROOT,
                           timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED archive/2025-01-15" in r.stdout and "'downloads'" in r.stdout
    assert "pulled 3, already present 0, failed 3" in r.stdout
    verify = [sys.executable, "-c", PULL_CLI, "--verify", "--demo"]
    ok = subprocess.run(verify, capture_output=True, text=True, env=_env(tmp_path), cwd=REPO_ROOT, timeout=60)
    # three snapshots and the metadata of the newest (2025-01-29), fetched whole by the thin pull
    assert ok.returncode == 0 and "4 raw files, 4 manifest entries, 0 problem(s)" in ok.stdout, ok.stdout + ok.stderr
    victim = tmp_path / "data" / "demo" / "raw" / "archive" / "2025-01-08.parquet"
    table = pq.read_table(victim)
    victim.unlink()
    at = table.schema.get_field_index("downloads")
    pq.write_table(table.set_column(at, "downloads", pc.multiply(table["downloads"], 2)), victim)
    bad = subprocess.run(verify, capture_output=True, text=True, env=_env(tmp_path), cwd=REPO_ROOT, timeout=60)
    assert bad.returncode == 1
    assert "archive/2025-01-08.parquet: SHA-256" in bad.stdout and "1 problem(s)" in bad.stdout


KILLED_PULL = """
import sys
from pathlib import Path
from analysis.config import load_config
from analysis.hub.pull import pull_all
from analysis.paths import Paths
cfg = load_config(overrides={"study.start": "2025-01-01", "study.end": "2025-02-12", "live.enabled": "false"})
pull_all(cfg, Paths(Path(sys.argv[2]), simulated=True), endpoint=sys.argv[1], progress=False)
"""


def test_pull_killed_mid_file_leaves_no_partial_file_and_resumes(hub_root, tmp_path):
    archive = tmp_path / "data" / "demo" / "raw" / "archive"
    with FakeHub(hub_root) as hub:
        hub.faults = [_file_rule("2025-01-15", delay=1.0, times=None)]  # a slow download to kill into
        proc = subprocess.Popen([sys.executable, "-c", KILLED_PULL, hub.endpoint, str(tmp_path)],
                                env=_env(), cwd=REPO_ROOT)
        deadline = time.monotonic() + 60
        try:
            while not list(archive.glob(".2025-01-15.parquet.*.partial")):
                assert proc.poll() is None and time.monotonic() < deadline, "the pull never reached 2025-01-15"
                time.sleep(0.01)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        store = _store(tmp_path)
        assert not store.has("archive", "2025-01-15")  # no partial file under a final name
        assert [d.isoformat() for d in store.snapshot_dates()] == ["2025-01-01", "2025-01-08"]
        partials = store.partial_files()
        assert len(partials) == 1
        lines = store.manifest_path.read_text().splitlines()
        assert [json.loads(x)["date"] for x in lines] == ["2025-01-01", "2025-01-08"]
        hub.faults = []
        hub.stats.reset()
        report = _pull(hub, tmp_path, RetryPolicy(base_delay=0.001))
        assert hub.stats.total_bytes("models/2025-01-0[18]") == 0  # complete dates are not read again
    assert report.ok and report.pulled[0] == "archive/2025-01-15" and len(report.pulled) == 4
    assert report.already_present == ("archive/2025-01-01", "archive/2025-01-08")
    assert report.cleaned_partials == (partials[0].name,)
    assert store.verify() == [] and store.partial_files() == []


def test_normalise_table_edge_cases():
    from analysis.hub import SnapshotSchemaError
    from analysis.hub.archive import normalise_table

    t = pa.table({"downloads": pa.array([5, 6], pa.int16()), "id": ["a/x", "b/y"],
                  "tags": ['["gguf", "base_model:a/x"]', None], "createdAt": ["2025-01-01T00:00:00Z", None]})
    drift: list[str] = []
    out = normalise_table(t, "archive 2030-01-01", drift)
    assert out.column_names == list(RAW_SCHEMA.names)  # column order of the raw schema, whatever the source
    assert out["tags"].to_pylist() == [["gguf", "base_model:a/x"], None]
    assert out["downloads"].to_pylist() == [5, 6]
    assert out["createdAt"].to_pylist()[0] == dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    assert "tags: string (JSON lists) parsed as list<item: string>" in drift
    with pytest.raises(SnapshotSchemaError, match=r"archive 2030-01-01: column 'createdAt' has type int64"):
        normalise_table(t.set_column(3, "createdAt", pa.array([1, 2])), "archive 2030-01-01")
    with pytest.raises(SnapshotSchemaError, match=r"column 'downloads' has type double, which cannot be converted"):
        normalise_table(t.set_column(0, "downloads", pa.array([1.5, 2.0])), "archive 2030-01-01")
    with pytest.raises(SnapshotSchemaError, match=r"required column 'id' is absent"):
        normalise_table(t.drop_columns(["id"]), "archive 2030-01-01")
