"""Invariants of the raw store: nothing overwritten, writes atomic, manifest complete and verifiable."""

from __future__ import annotations

import datetime as dt
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.raw import RawStore, RawStoreError, sha256_file
from analysis.schema import RAW_SCHEMA


def _table(n: int = 5, offset: int = 0) -> pa.Table:
    ts = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    return pa.table({
        "id": [f"org/model-{i}" for i in range(offset, offset + n)],
        "author": ["org"] * n,
        "createdAt": [ts] * n,
        "downloads": list(range(offset, offset + n)),
        "downloadsAllTime": [None] * n,
        "likes": [0] * n,
        "pipeline_tag": ["text-generation"] * n,
        "library_name": ["transformers"] * n,
        "tags": [["a", "b"]] * n,
        "baseModels": [{"relation": "finetune", "models": [{"id": "Qwen/Base"}]}] + [None] * (n - 1),
        "params_total": [7_000_000_000] + [None] * (n - 1),
    }, schema=RAW_SCHEMA)


META = {"source": "test", "simulated": True, "endpoint": "http://127.0.0.1:1"}


def test_write_read_roundtrip_and_manifest(tmp_path):
    store = RawStore(tmp_path)
    entry = store.write("archive", "2025-01-01", _table(), META)
    p = store.path("archive", dt.date(2025, 1, 1))
    assert p == tmp_path / "archive" / "2025-01-01.parquet" and p.is_file()
    assert entry["sha256"] == sha256_file(p)
    assert entry["rows"] == 5 and entry["file"] == "archive/2025-01-01.parquet"
    assert entry["kind"] == "archive" and entry["date"] == "2025-01-01" and entry["simulated"] is True
    assert store.read("archive", "2025-01-01").equals(_table())
    assert store.read("archive", "2025-01-01", columns=["id", "downloads"]).column_names == ["id", "downloads"]
    batches = list(store.iter_batches("archive", "2025-01-01", ["id"], batch_size=2))
    assert [b.num_rows for b in batches] == [2, 2, 1]
    assert store.manifest_entries() == [entry]
    assert store.snapshot_dates("archive") == [dt.date(2025, 1, 1)]
    assert store.snapshot_dates("live") == []
    assert store.verify() == []
    assert store.is_simulated() is True


def test_never_overwrites(tmp_path):
    store = RawStore(tmp_path)
    store.write("archive", "2025-01-01", _table(), META)
    before = store.path("archive", "2025-01-01").read_bytes()
    with pytest.raises(RawStoreError, match="already exists"):
        store.write("archive", "2025-01-01", _table(7, offset=100), META)
    assert store.path("archive", "2025-01-01").read_bytes() == before
    assert len(store.manifest_entries()) == 1
    assert store.partial_files() == []


def test_existing_file_appearing_during_write_is_not_replaced(tmp_path):
    """The final rename is a hard link, which fails rather than replacing a file created meanwhile."""
    store = RawStore(tmp_path)
    with pytest.raises(RawStoreError, match="already exists"):
        with store.open_writer("archive", "2025-01-08", META) as w:
            w.write(_table())
            store.path("archive", "2025-01-08").write_bytes(b"someone else's file")
    assert store.path("archive", "2025-01-08").read_bytes() == b"someone else's file"
    assert store.partial_files() == [] and store.manifest_entries() == []


def test_failed_write_leaves_nothing(tmp_path):
    store = RawStore(tmp_path)
    with pytest.raises(ValueError, match="network gone"):
        with store.open_writer("archive", "2025-01-01", META) as w:
            w.write(_table())
            assert len(store.partial_files()) == 1  # the data goes to a temporary file first
            raise ValueError("network gone")
    assert not store.path("archive", "2025-01-01").exists()
    assert store.partial_files() == [] and store.manifest_entries() == []


def test_schema_is_enforced(tmp_path):
    store = RawStore(tmp_path)
    bad = _table().set_column(3, "downloads", pa.array([1, 2, 3, 4, 5], pa.int32()))
    with pytest.raises(RawStoreError, match="'downloads' has type int32"):
        store.write("archive", "2025-01-01", bad, META)
    nulls = _table().set_column(0, pa.field("id", pa.string()), pa.array(["a", None, "c", "d", "e"]))
    with pytest.raises(RawStoreError, match="'id'"):
        store.write("archive", "2025-01-01", nulls, META)
    assert not store.path("archive", "2025-01-01").exists() and store.partial_files() == []
    with pytest.raises(RawStoreError, match="kind 'weekly'"):
        store.path("weekly", "2025-01-01")
    with pytest.raises(RawStoreError, match="expected a date"):
        store.path("archive", "January")


def test_read_rejects_foreign_schema_and_missing_file(tmp_path):
    store = RawStore(tmp_path)
    (tmp_path / "archive").mkdir()
    pq.write_table(pa.table({"id": ["x"], "downloads": pa.array([1], pa.int32())}), store.path("archive", "2025-01-01"))
    with pytest.raises(RawStoreError, match="downloads.*int32"):
        store.read("archive", "2025-01-01", columns=["id", "downloads"])
    with pytest.raises(RawStoreError, match="no raw archive snapshot for 2025-02-01.*present: 2025-01-01"):
        store.read("archive", "2025-02-01")


def test_verify_names_every_problem(tmp_path):
    store = RawStore(tmp_path)
    for i, d in enumerate(["2025-01-01", "2025-01-08", "2025-01-15"]):
        store.write("archive", d, _table(offset=i * 10), META)
    store.write("live", "2025-01-20", _table(), META)
    assert store.verify() == []
    # tamper: same size, one byte changed
    p1 = store.path("archive", "2025-01-01")
    data = bytearray(p1.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(p1, 0o644)
    p1.write_bytes(bytes(data))
    # delete one file, add one without an entry, leave a partial and a torn manifest line
    store.path("archive", "2025-01-08").unlink()
    pq.write_table(_table(), store.path("archive", "2025-01-22"))
    (tmp_path / "archive" / ".2025-01-29.parquet.99999.partial").write_bytes(b"PAR1")
    with open(store.manifest_path, "ab") as f:
        f.write(b'{"kind": "archive", "date": "2025-01-')
    problems = store.verify()
    text = "\n".join(problems)
    assert len(problems) == 5, text
    assert "2025-01-01.parquet: SHA-256" in text
    assert "2025-01-08.parquet: listed in the manifest but missing" in text
    assert "2025-01-22.parquet: no manifest entry" in text
    assert "partial file" in text
    assert "torn last line" in text
    assert "2025-01-15" not in text and "live" not in text
    # the torn line is isolated: the next entry is still readable
    store.write("live", "2025-01-27", _table(), META)
    assert store.entry("live", "2025-01-27")["rows"] == 5


def test_duplicate_entry_is_reported(tmp_path):
    store = RawStore(tmp_path)
    entry = store.write("archive", "2025-01-01", _table(), META)
    with open(store.manifest_path, "a") as f:
        f.write(json.dumps(entry) + "\n")
    assert any("2 manifest entries" in p for p in store.verify())


def test_is_simulated_requires_every_entry(tmp_path):
    store = RawStore(tmp_path)
    assert store.is_simulated() is False  # empty store
    store.write("archive", "2025-01-01", _table(), META)
    store.write("archive", "2025-01-08", _table(), {**META, "simulated": False})
    assert store.is_simulated() is False


def test_lock_is_exclusive_and_cleanup_removes_partials(tmp_path):
    store = RawStore(tmp_path)
    (tmp_path / "live").mkdir(parents=True)
    partial = tmp_path / "live" / ".2025-01-01.parquet.123.partial"
    partial.write_bytes(b"half a file")
    with store.lock():
        with pytest.raises(RawStoreError, match="another pull"):
            with RawStore(tmp_path).lock():
                pass
        assert store.cleanup_partials() == [partial]
    assert not partial.exists()
    with store.lock():  # released
        pass


def test_manifest_failure_keeps_the_file_and_the_next_pull_records_it(tmp_path, monkeypatch):
    """A full disk (or a kill) between linking the file and appending its entry loses neither."""
    store = RawStore(tmp_path)
    store.write("archive", "2025-01-01", _table(), META)

    def full_disk(entry):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(store, "_append_manifest", full_disk)
        with pytest.raises(RawStoreError, match="pending entry .*are kept"):
            store.write("archive", "2025-01-08", _table(offset=5), META)
    final = store.path("archive", "2025-01-08")
    assert final.is_file() and [p.name for p in store.pending_files()] == [".2025-01-08.parquet.pending.json"]
    problems = store.verify()
    assert any("no manifest entry" in p for p in problems) and any("interrupted commit" in p for p in problems)
    assert store.recover_pending() == (["archive/2025-01-08.parquet"], [])
    assert store.verify() == [] and store.pending_files() == []
    e = store.entry("archive", "2025-01-08")
    assert e["sha256"] == sha256_file(final) and e["rows"] == 5 and e["source"] == "test"
    assert store.recover_pending() == ([], [])  # nothing left to do; never recorded twice
    assert len(store.manifest_entries()) == 2


def test_pending_entry_without_its_file_is_dropped_and_a_tampered_one_is_kept(tmp_path):
    store = RawStore(tmp_path)
    store.write("archive", "2025-01-01", _table(), META)
    # killed after writing the pending entry but before the data took its final name: that write never happened
    ghost = store.pending_path(store.path("archive", "2025-01-08"))
    ghost.write_text(json.dumps({"file": "archive/2025-01-08.parquet", "sha256": "0" * 64}))
    # a pending entry whose file has other bytes than it records: left for a person to inspect
    odd = store.pending_path(store.path("archive", "2025-01-01"))
    store.path("archive", "2025-01-15").parent.mkdir(exist_ok=True)
    pq.write_table(_table(offset=9), store.path("archive", "2025-01-15"))
    other = store.pending_path(store.path("archive", "2025-01-15"))
    other.write_text(json.dumps({"file": "archive/2025-01-15.parquet", "sha256": "f" * 64}))
    odd.write_text(json.dumps({"file": "archive/2025-01-01.parquet", "sha256": "e" * 64}))
    recorded, problems = store.recover_pending()
    assert recorded == [] and len(problems) == 1 and "2025-01-15.parquet" in problems[0]
    assert not ghost.exists()
    assert not odd.exists()  # its file already has a manifest entry: the pending copy is redundant
    assert other.exists() and store.entry("archive", "2025-01-15") is None


def test_versions_live_beside_each_other_and_the_newest_is_used(tmp_path):
    store = RawStore(tmp_path)
    first = store.write("archive", "2025-01-01", _table(), META)
    second = store.write("archive", "2025-01-01", _table(7, offset=100), {**META, "previous": {"sha256": first["sha256"]}},
                         version=2)
    assert first["file"] == "archive/2025-01-01.parquet" and second["file"] == "archive/2025-01-01.v2.parquet"
    assert store.versions("archive", "2025-01-01") == [1, 2] and store.snapshot_dates() == [dt.date(2025, 1, 1)]
    assert store.path("archive", "2025-01-01").name == "2025-01-01.v2.parquet"
    assert store.read("archive", "2025-01-01").num_rows == 7 and store.entry("archive", "2025-01-01")["version"] == 2
    assert [e["version"] for e in store.entries("archive", "2025-01-01")] == [1, 2]
    with pytest.raises(RawStoreError, match="already exists"):
        store.write("archive", "2025-01-01", _table(), META, version=2)
    assert store.verify() == []
    # lookalike names are not raw files (matched whole)
    (tmp_path / "archive" / "2025-01-08.parquet.bak").write_bytes(b"x")
    (tmp_path / "archive" / "2025-01-08.v0.parquet").write_bytes(b"x")
    assert store.snapshot_dates() == [dt.date(2025, 1, 1)] and store.verify() == []


def test_every_entry_records_the_implausible_rows(tmp_path):
    t = _table(4)
    t = t.set_column(3, "downloads", pa.array([5, -1, 2**62, 7], pa.int64()))
    t = pa.concat_tables([t, t.slice(0, 1)])
    entry = RawStore(tmp_path).write("archive", "2025-01-01", t, META)
    q = entry["quality"]
    assert q["rows"] == 5 and q["duplicate_rows"] == 1 and q["duplicate_ids"] == ["org/model-0"]
    assert q["negative"] == {"downloads": 1} and q["above_ceiling"] == {"downloads": 1}
    assert RawStore(tmp_path).read("archive", "2025-01-01").equals(t.cast(RAW_SCHEMA))  # kept as served


def test_a_re_pulled_file_needs_an_entry_that_says_what_it_restores(tmp_path):
    store = RawStore(tmp_path)
    e = store.write("archive", "2025-01-01", _table(), META)
    store.path("archive", "2025-01-01").unlink()
    assert any("listed in the manifest but missing" in p for p in store.verify())
    store.write("archive", "2025-01-01", _table(), {**META, "restores": {"sha256": e["sha256"]}})
    assert store.verify() == [] and len(store.entries("archive", "2025-01-01")) == 2


def test_verify_leaves_the_files_of_a_running_pull_alone(tmp_path):
    store = RawStore(tmp_path)
    store.write("archive", "2025-01-01", _table(), META)
    partial = tmp_path / "archive" / ".2025-01-08.parquet.4242.partial"
    with store.lock():  # a pull is running (the lock is held by another open file of the store)
        partial.write_bytes(b"PAR1")
        assert store.verify() == []
        notes = "\n".join(store.notes())
        assert "a pull is running now" in notes and ".2025-01-08.parquet.4242.partial: being written" in notes
    assert any("partial file of an interrupted write" in p for p in store.verify())  # a leftover once it ended


def test_a_torn_manifest_fragment_is_dropped_and_its_pending_entry_recorded(tmp_path):
    store = RawStore(tmp_path)
    store.write("archive", "2025-01-01", _table(), META)
    entry = store.write("archive", "2025-01-08", _table(offset=5), META)
    lines = store.manifest_path.read_bytes().splitlines(keepends=True)
    store.manifest_path.write_bytes(lines[0] + lines[1][:40])  # the second append was cut by a full disk
    store.pending_path(store.path("archive", "2025-01-08")).write_text(json.dumps(entry))
    assert any("torn last line" in p for p in store.verify())
    assert store.recover_pending() == (["archive/2025-01-08.parquet"], [])
    assert store.verify() == [] and len(store.manifest_entries()) == 2


def test_a_full_disk_during_a_write_leaves_nothing_half_written(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    store = RawStore(tmp_path)
    (tmp_path / "archive").mkdir(parents=True)
    (tmp_path / "archive" / f".2025-01-01.parquet.{os.getpid()}.partial").symlink_to("/dev/full")
    from analysis.raw import RawStoreFullError

    with pytest.raises(RawStoreFullError, match="no space left on device while writing it.*nothing is half-written"):
        store.write("archive", "2025-01-01", _table(5000), META)
    assert not store.has("archive", "2025-01-01") and store.partial_files() == [] and store.manifest_entries() == []
