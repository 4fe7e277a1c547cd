"""Archive pulls over HTTP with the real huggingface_hub client against the local stand-in."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
import subprocess
import sys

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi

from analysis.config import load_config
from analysis.hub import (HubRateLimitedError, HubServerError, HubUnreachableError, PullError, RetriesExhaustedError,
                          RetryPolicy)
from analysis.hub.archive import list_snapshots, open_projected, select_dates
from devtools.fakehub import Fault, FakeHub
from analysis.hub.pull import check_hub_reachable, pull_all
from analysis.paths import REPO_ROOT, Paths
from analysis.raw import RawStore
from analysis.simulate import SimulationParams, load_truth, simulate_hub

REPO = "hfmlsoc/hub_weekly_snapshots"
FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
MANIFEST_FIELDS = {"kind", "date", "file", "rows", "sha256", "source", "repo_id", "revision", "commit", "path",
                   "remote_size", "etag", "bytes_read", "accessed_at", "huggingface_hub", "pyarrow", "simulated",
                   "endpoint", "schema_drift", "columns_read"}



def _cfg(**overrides):
    base = {"study.start": "2025-01-01", "live.enabled": "false"}
    base.update(overrides)
    return load_config(overrides=base)


def _pull(hub, root, cfg=None, **kw):
    return pull_all(cfg or _cfg(), Paths(root, simulated=True), endpoint=hub.endpoint, retry=FAST, progress=False,
                    log=lambda line: None, **kw)


def _source(hub_root, date):
    return hub_root / "datasets" / REPO / "models" / date / "models.parquet"


def test_multi_week_pull_matches_the_source(hub_root, tmp_path):
    """The full pull (archive.metadata_every = 0): every column of every week, as served, normalised."""
    truth = load_truth(hub_root)
    with FakeHub(hub_root) as hub:
        report = _pull(hub, tmp_path, _cfg(**{"archive.metadata_every": "0"}))
        sha = HfApi(endpoint=hub.endpoint).dataset_info(REPO).sha
    assert report.ok and report.simulated
    assert report.pulled == tuple(f"archive/{d}" for d in truth["snapshot_dates"])
    assert len(report.pulled) == 11 and report.missing_in_window == ("2025-02-05",)
    assert report.commit == sha
    store = RawStore(tmp_path / "data" / "demo" / "raw")
    assert [d.isoformat() for d in store.snapshot_dates()] == truth["snapshot_dates"]
    created = {}
    for d in truth["snapshot_dates"]:
        src = pq.read_table(_source(hub_root, d))
        raw = store.read("archive", d)
        assert raw["id"].equals(src["id"]) and raw["downloads"].equals(src["downloads"])
        assert raw["tags"].to_pylist() == src["tags"].to_pylist()
        assert raw["baseModels"].to_pylist() == src["baseModels"].to_pylist()
        if d < "2025-02-26":
            assert "downloadsAllTime" not in src.column_names and raw["downloadsAllTime"].null_count == raw.num_rows
        else:
            assert raw["downloadsAllTime"].equals(src["downloadsAllTime"])
        # createdAt is a string in some weeks of the archive: normalised, the same instant every week
        for i, c in zip(raw["id"].to_pylist(), raw["createdAt"].to_pylist()):
            assert created.setdefault(i, c) == c
        e = store.entry("archive", d)
        assert MANIFEST_FIELDS <= set(e), MANIFEST_FIELDS - set(e)
        assert e["commit"] == sha and e["path"] == f"models/{d}/models.parquet"
        assert e["remote_size"] == _source(hub_root, d).stat().st_size
        assert e["etag"] == hashlib.sha256(_source(hub_root, d).read_bytes()).hexdigest()
        assert e["rows"] == src.num_rows and e["simulated"] is True
        # the raw schema's columns, and the total leaves params_total is made of
        assert e["columns_read"] == [c for c in raw.column_names if c in src.column_names] + ["safetensors.total",
                                                                                              "gguf.total"]
        st = [(x or {}).get("total") for x in src["safetensors"].to_pylist()]
        gg = [(x or {}).get("total") for x in src["gguf"].to_pylist()]
        assert raw["params_total"].to_pylist() == [a if a is not None else b for a, b in zip(st, gg)]
    string_weeks = [d for d in truth["snapshot_dates"]
                    if pq.read_schema(_source(hub_root, d)).field("createdAt").type == "string"]
    assert string_weeks and any("createdAt: string parsed" in n for d in string_weeks
                                for n in store.entry("archive", d)["schema_drift"])
    assert store.verify() == [] and store.is_simulated()


def test_rerun_reads_nothing_and_keeps_files(hub_root, tmp_path):
    with FakeHub(hub_root) as hub:
        first = _pull(hub, tmp_path, _cfg(**{"study.end": "2025-01-22"}))
        raw = tmp_path / "data" / "demo" / "raw"
        before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (raw / "archive").glob("*.parquet")}
        lines = (raw / "manifest.jsonl").read_text()
        hub.stats.reset()
        second = _pull(hub, tmp_path, _cfg(**{"study.end": "2025-01-22"}))
        assert hub.stats.total_bytes(r"/resolve/.*\.parquet$") == 0  # no byte of any snapshot read again
        assert hub.stats.total_requests(r"/resolve/.*\.parquet$") == 4  # one HEAD each: compared with the Hub
    assert len(first.pulled) == 4 and second.pulled == () and second.already_present == first.pulled
    assert second.changed_upstream == () and second.ok
    assert second.bytes_read == 0
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (raw / "archive").glob("*.parquet")} == before
    assert (raw / "manifest.jsonl").read_text() == lines


def test_interrupted_commit_is_recorded_and_a_file_without_provenance_is_never_used(hub_root, tmp_path):
    raw = tmp_path / "data" / "demo" / "raw"
    with FakeHub(hub_root) as hub:
        _pull(hub, tmp_path, _cfg(**{"study.end": "2025-01-15"}))
        store = RawStore(raw)
        # a pull killed after linking 2025-01-15 but before appending its entry: the entry is still pending
        entry = store.entry("archive", "2025-01-15")
        lines = (raw / "manifest.jsonl").read_text().splitlines(keepends=True)
        # (only the snapshot's own entry: its metadata part is written after it, by the thin pull's second step)
        (raw / "manifest.jsonl").write_text("".join(l for l in lines if '"2025-01-15"' not in l or
                                                    '"kind": "metadata"' in l))
        store.pending_path(store.path("archive", "2025-01-15")).write_text(json.dumps(entry))
        # and a file that appeared without any entry (copied in by hand)
        orphan = store.path("archive", "2025-01-22")
        orphan.write_bytes(store.path("archive", "2025-01-08").read_bytes())
        hub.stats.reset()
        report = _pull(hub, tmp_path, _cfg(**{"study.end": "2025-01-22"}))
        assert hub.stats.total_bytes(r"/resolve/.*\.parquet$") == 0  # nothing downloaded again, nothing replaced
    assert report.recovered == ("archive/2025-01-15.parquet",)
    assert "archive/2025-01-15" in report.already_present
    assert [(f.date, "without a manifest entry" in f.reason) for f in report.failed] == [("2025-01-22", True)]
    assert not report.ok
    assert store.entry("archive", "2025-01-15")["sha256"] == entry["sha256"]
    assert orphan.read_bytes() == store.path("archive", "2025-01-08").read_bytes()  # kept as it was


def test_window_and_monthly_selection(hub_root, tmp_path):
    with FakeHub(hub_root) as hub:
        listing = list_snapshots(REPO, endpoint=hub.endpoint, retry=FAST)
        report = _pull(hub, tmp_path, _cfg(**{"study.frequency": "monthly"}), since=dt.date(2025, 1, 8))
        with pytest.raises(PullError, match="is empty"):
            _pull(hub, tmp_path, since=dt.date(2025, 3, 1), until=dt.date(2025, 2, 1))
    assert select_dates(listing.dates, dt.date(2025, 1, 8), dt.date(2025, 1, 22)) == \
        [dt.date(2025, 1, 8), dt.date(2025, 1, 15), dt.date(2025, 1, 22)]
    # first available snapshot of each month: 2025-02-05 is missing on the Hub, so February starts on the 12th
    assert report.pulled == ("archive/2025-01-08", "archive/2025-02-12", "archive/2025-03-05")


def test_bytes_read_is_a_small_fraction_of_the_archive(tmp_path_factory, tmp_path):
    """Column projection: the heavy columns (cardData, siblings, config) are never transferred."""
    root = tmp_path_factory.mktemp("bytes_hub")
    simulate_hub(root, SimulationParams(models=5000, weeks=10, start=dt.date(2025, 1, 1),
                                        crossover=dt.date(2025, 2, 12), missing_week=5))
    total = sum(p.stat().st_size for p in (root / "datasets").rglob("*.parquet"))
    with FakeHub(root) as hub:
        report = _pull(hub, tmp_path)
        served = hub.stats.total_bytes(r"/resolve/.*\.parquet$")
    assert report.ok and len(report.pulled) == 9
    assert served == report.bytes_read  # client and server agree on what crossed the wire
    fraction = served / total
    print(f"bytes read {served:,} of {total:,} archive bytes = {fraction:.1%}")
    assert fraction <= 0.25


def test_token_is_never_written(hub_root, tmp_path, monkeypatch):
    secret = "hf_" + "NotARealTokenButSecret0123456789"  # built at run time: no token-like literal in the repo
    monkeypatch.setenv("HF_TOKEN", secret)
    with FakeHub(hub_root) as hub:
        report = _pull(hub, tmp_path, _cfg(**{"study.end": "2025-01-15", "live.enabled": "true"}))
        assert hub.stats.authorized > 0  # the client did use the token
    assert report.ok and len(report.pulled) == 4  # three weeks and today's live listing
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.jsonl" for p in files)
    for p in files:
        assert secret.encode() not in p.read_bytes(), p
    assert secret not in report.summary() and secret not in repr(report)


def _closed_port_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class SleepRecorder:
    """Stands in for time.sleep: records the delays the retry policy asks for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def test_unreachable_hub_names_make_demo_and_writes_nothing(tmp_path):
    endpoint = _closed_port_endpoint()
    sleep = SleepRecorder()
    with pytest.raises(HubUnreachableError, match=r"could not be reached at http://127\.0\.0\.1:\d+.*make demo"):
        check_hub_reachable(endpoint, timeout=1.0, retry=RetryPolicy(sleep=sleep))
    assert sleep.delays == []  # nobody is listening: stop at once, no waiting
    with pytest.raises(HubUnreachableError):
        pull_all(_cfg(), Paths(tmp_path, simulated=True), endpoint=endpoint, retry=FAST, progress=False)
    assert not (tmp_path / "data" / "demo" / "raw" / "manifest.jsonl").exists()


def test_pull_command_on_an_unreachable_hub_exits_2_with_the_message(tmp_path):
    code = ("import argparse, sys; from analysis.hub.pull import add_arguments, run; "
            "p = argparse.ArgumentParser(); add_arguments(p); sys.exit(run(p.parse_args(sys.argv[1:])))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(CI="true", PYTHONPATH=str(REPO_ROOT), STUDY_ROOT=str(tmp_path), HF_ENDPOINT=_closed_port_endpoint())
    cfg = tmp_path / "study.yaml"
    cfg.write_text("study:\n  start: 2025-01-01\nlive:\n  enabled: false\n")
    r = subprocess.run([sys.executable, "-c", code, "--demo", "--config", str(cfg)], capture_output=True, text=True,
                       env=env, cwd=REPO_ROOT, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "could not be reached" in r.stderr and "make demo" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "data" / "demo" / "raw" / "manifest.jsonl").exists()


CHECK = r"^/api/datasets/hfmlsoc/hub_weekly_snapshots$"  # the reachability check, and only it


def test_reachability_check_retries_a_rate_limit_and_a_server_error(hub_root, tmp_path):
    sleep = SleepRecorder()
    with FakeHub(hub_root) as hub:
        hub.faults = [Fault(path=CHECK, status=429, retry_after=3, times=1), Fault(path=CHECK, status=503, times=1)]
        report = pull_all(_cfg(**{"study.end": "2025-01-08"}), Paths(tmp_path, simulated=True), endpoint=hub.endpoint,
                          retry=RetryPolicy(base_delay=0.5, sleep=sleep), progress=False, log=lambda line: None)
        assert hub.stats.statuses[429] == 1 and hub.stats.statuses[503] == 1
        assert hub.stats.total_requests(CHECK) == 3
    assert sleep.delays == [3.0, 1.0]  # Retry-After, then the second step of the backoff
    assert report.ok and report.retries == 2 and report.pulled == ("archive/2025-01-01", "archive/2025-01-08")


def test_reachability_check_names_a_lasting_rate_limit_or_server_error(hub_root):
    sleep = SleepRecorder()
    policy = RetryPolicy(max_attempts=3, base_delay=0.5, max_retry_after=60, sleep=sleep)
    with FakeHub(hub_root) as hub:
        endpoint = hub.endpoint
        hub.faults = [Fault(path=CHECK, status=429, retry_after=7, times=None)]
        with pytest.raises(HubRateLimitedError) as limited:
            check_hub_reachable(hub.endpoint, retry=policy)
        assert hub.stats.total_requests(CHECK) == 3
        hub.faults = [Fault(path=CHECK, status=429, retry_after=3600, times=None)]  # longer than the policy waits
        with pytest.raises(HubRateLimitedError, match=r"Retry-After: 3600 s; 1 attempt\(s\)"):
            check_hub_reachable(hub.endpoint, retry=policy)
        hub.faults = [Fault(path=CHECK, status=502, times=None)]
        with pytest.raises(HubServerError) as server:
            check_hub_reachable(hub.endpoint, retry=policy)
    assert sleep.delays == [7.0, 7.0, 0.5, 1.0]
    text = str(limited.value)
    assert f"at {endpoint} is rate-limiting" in text and "HTTP 429, Retry-After: 7 s; 3 attempt(s)" in text
    assert "wait 7 s and run the pull again" in text and "network" not in text
    text = str(server.value)
    assert "HTTP 502 (a server error on the Hub's side, not a network problem) to 3 attempt(s)" in text
    assert "Check the network" not in text and "could not be reached" not in text
    # both stop a run the way an unreachable Hub does (analysis.cli catches HubUnreachableError)
    assert isinstance(limited.value, HubUnreachableError) and isinstance(server.value, HubUnreachableError)


def test_revision_check_on_opening_a_file_is_retried(hub_root, tmp_path):
    """HfFileSystem sends GET /api/datasets/{repo}/revision/{sha} when a file is opened: retried like the rest."""
    per_file = r"^/api/datasets/hfmlsoc/hub_weekly_snapshots/revision/[0-9a-f]{40}(\?|$)"
    sleep = SleepRecorder()
    with FakeHub(hub_root) as hub:
        listing = list_snapshots(REPO, endpoint=hub.endpoint, retry=FAST)
        hub.faults = [Fault(path=per_file, status=500, times=2)]
        report = pull_all(_cfg(**{"study.end": "2025-01-08"}), Paths(tmp_path, simulated=True), endpoint=hub.endpoint,
                          retry=RetryPolicy(base_delay=0.5, sleep=sleep), progress=False, log=lambda line: None)
        assert hub.stats.faults_triggered == 2
        hub.faults = [Fault(path=per_file, status=503, times=None)]
        f = listing.files[0]
        with pytest.raises(RetriesExhaustedError, match=r"revision check on opening the file: still failing after "
                                                        r"3 attempt\(s\): HTTP 503"):
            open_projected(REPO, listing.commit, f.path_in_repo, f.size, endpoint=hub.endpoint,
                           retry=RetryPolicy(max_attempts=3, base_delay=0.001))
        hub.faults = []
        hub.stats.reset()
        fobj = open_projected(REPO, listing.commit, f.path_in_repo, f.size, endpoint=hub.endpoint, retry=FAST)
        assert sum(hub.stats.requests.values()) == 1  # the revision check only: no hidden tree listing
        fobj.seek(0)
        assert fobj.read(4) == b"PAR1"
    assert sleep.delays == [0.5, 1.0] and report.retries == 2
    assert report.ok and report.pulled == ("archive/2025-01-01", "archive/2025-01-08")


def test_missing_archive_repo_and_a_bad_revision_are_one_line_errors(hub_root, tmp_path):
    with FakeHub(hub_root) as hub:
        with pytest.raises(PullError, match="nobody/nothing"):
            check_hub_reachable(hub.endpoint, repo_id="nobody/nothing")
        with pytest.raises(PullError, match=r"archive revision 'no-such-branch' does not exist in dataset "
                                            r"hfmlsoc/hub_weekly_snapshots at http://127\.0\.0\.1:\d+: check "
                                            r"archive\.revision") as e:
            _pull(hub, tmp_path, _cfg(**{"archive.revision": "no-such-branch"}))
    assert "\n" not in str(e.value) and e.value.__cause__ is None
    assert not (tmp_path / "data" / "demo" / "raw" / "manifest.jsonl").exists()


def test_pull_command_exits_2_with_one_line_on_a_bad_revision(hub_root, tmp_path):
    code = ("import argparse, sys; from analysis.hub.pull import add_arguments, run; "
            "p = argparse.ArgumentParser(); add_arguments(p); sys.exit(run(p.parse_args(sys.argv[1:])))")
    cfg = tmp_path / "study.yaml"
    cfg.write_text("study:\n  start: 2025-01-01\narchive:\n  revision: v9.9\nlive:\n  enabled: false\n")
    with FakeHub(hub_root) as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env.update(CI="true", PYTHONPATH=str(REPO_ROOT), STUDY_ROOT=str(tmp_path), HF_ENDPOINT=hub.endpoint)
        r = subprocess.run([sys.executable, "-c", code, "--demo", "--config", str(cfg)], capture_output=True,
                           text=True, env=env, cwd=REPO_ROOT, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "archive revision 'v9.9' does not exist" in r.stderr


def test_manifest_lines_are_json_objects(hub_root, tmp_path):
    with FakeHub(hub_root) as hub:
        _pull(hub, tmp_path, _cfg(**{"study.end": "2025-01-08"}))
    lines = (tmp_path / "data" / "demo" / "raw" / "manifest.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [(e["kind"], e["date"]) for e in entries] == [("archive", "2025-01-01"), ("archive", "2025-01-08"),
                                                         ("metadata", "2025-01-08")]
    raw = pq.read_table(tmp_path / "data" / "demo" / "raw" / entries[0]["file"])
    assert pc.sum(raw["downloads"]).as_py() > 0
