"""Pulls that cannot be fooled: upstream rewrites, stalls and long waits, leaked credentials, fragile listings, a
full disk, lookalike paths, re-pulled and in-flight files, damaged bytes. Every test drives the real
huggingface_hub client over HTTP on loopback against the local stand-in (devtools.fakehub)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from analysis.config import load_config
from analysis.hub import HF_CLIENT_MAX_WAIT, PullDeadlineError, PullError, RetryPolicy
from analysis.hub import live as live_module
from analysis.hub.pull import pull_all, verify_remote
from analysis.paths import REPO_ROOT, Paths
from analysis.raw import RawStore
from devtools.fakehub import Fault, FakeHub

REPO = "hfmlsoc/hub_weekly_snapshots"
FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
TODAY = dt.date(2026, 3, 1)
WINDOW = {"study.start": "2025-01-01", "study.end": "2025-01-22", "live.enabled": "false"}
PULL_CLI = ("import argparse, sys; from analysis.hub.pull import add_arguments, run; "
            "p = argparse.ArgumentParser(); add_arguments(p); sys.exit(run(p.parse_args(sys.argv[1:])))")


class SleepRecorder:
    """Stands in for time.sleep in the project's RetryPolicy: records the delays asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _cfg(**overrides):
    return load_config(overrides={**WINDOW, **overrides})


def _pull(endpoint, root, cfg=None, retry=FAST, log=None, **kw):
    return pull_all(cfg or _cfg(), Paths(root, simulated=True), endpoint=endpoint, retry=retry, progress=False,
                    today=kw.pop("today", TODAY), log=log if log is not None else (lambda line: None), **kw)


def _store(root) -> RawStore:
    return RawStore(root / "data" / "demo" / "raw")


def _env(root=None, endpoint=None, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "STUDY_ROOT"}
    env.update(CI="true", PYTHONPATH=str(REPO_ROOT), **extra)
    if root is not None:
        env["STUDY_ROOT"] = str(root)
    if endpoint:
        env["HF_ENDPOINT"] = endpoint
    return env


def _config_file(folder) -> str:
    f = folder / "study.yaml"
    f.write_text("study:\n  start: 2025-01-01\n  end: 2025-01-22\nlive:\n  enabled: false\n")
    return str(f)


def _copy_hub(hub_root, dest):
    shutil.copytree(hub_root / "datasets", dest / "datasets")
    shutil.copytree(hub_root / "live", dest / "live")
    return dest


# --- 2. upstream changes ------------------------------------------------------------------------------------
def test_a_file_changed_on_the_hub_is_stored_as_a_new_version_beside_the_old_one(hub_root, tmp_path):
    root = _copy_hub(hub_root, tmp_path / "hub")
    f = root / "datasets" / REPO / "models" / "2025-01-08" / "models.parquet"
    with FakeHub(root) as hub:
        first = _pull(hub.endpoint, tmp_path)
        store = _store(tmp_path)
        v1 = store.path("archive", "2025-01-08")
        v1_bytes = v1.read_bytes()
        # the Hub rewrites the file at the same path
        t = pq.read_table(f)
        pq.write_table(t.set_column(t.schema.get_field_index("downloads"), "downloads",
                                    pc.multiply(t["downloads"], 3)), f)
        changes, compared = verify_remote(_cfg(), Paths(tmp_path, simulated=True), endpoint=hub.endpoint, retry=FAST)
        assert compared == 4 and len(changes) == 1 and changes[0].startswith("archive/2025-01-08: the Hub's file "
                                                                             "changed since archive/2025-01-08.parquet")
        assert store.verify() == []  # locally nothing is wrong: the change is on the Hub
        cli = subprocess.run([sys.executable, "-c", PULL_CLI, "--verify", "--remote", "--demo", "--config",
                              _config_file(tmp_path)], capture_output=True, text=True,
                             env=_env(tmp_path, hub.endpoint), cwd=REPO_ROOT, timeout=120)
        second = _pull(hub.endpoint, tmp_path)
        hub.stats.reset()
        third = _pull(hub.endpoint, tmp_path)
        assert hub.stats.total_bytes(r"\.parquet$") == 0
        # the Hub removes a snapshot: said, the raw file kept
        shutil.rmtree(root / "datasets" / REPO / "models" / "2025-01-15")
        fourth = _pull(hub.endpoint, tmp_path)
    assert cli.returncode == 1 and "verify: remote: archive/2025-01-08: the Hub's file changed" in cli.stdout
    assert "4 archive snapshot(s) compared with the Hub, 1 changed" in cli.stdout
    assert first.ok and second.ok and third.ok
    assert second.pulled == ("archive/2025-01-08 v2",) and len(second.changed_upstream) == 1
    assert "archive/2025-01-08: the Hub's file changed (etag" in second.changed_upstream[0]
    assert "pulling it as version 2 beside archive/2025-01-08.parquet" in second.changed_upstream[0]
    assert v1.read_bytes() == v1_bytes  # never overwritten
    assert store.versions("archive", "2025-01-08") == [1, 2]
    used = store.path("archive", "2025-01-08")
    assert used.name == "2025-01-08.v2.parquet"  # the study uses the newest version
    assert store.read("archive", "2025-01-08")["downloads"].equals(pq.read_table(f)["downloads"])
    e = store.entry("archive", "2025-01-08")
    assert e["version"] == 2 and e["previous"]["file"] == "archive/2025-01-08.parquet"
    assert e["previous"]["sha256"] == store.entries("archive", "2025-01-08")[0]["sha256"]
    assert third.pulled == () and third.changed_upstream == () and len(third.already_present) == 4
    assert any(c.startswith("archive/2025-01-15: no longer on the Hub") for c in fourth.changed_upstream)
    assert store.has("archive", "2025-01-15") and store.verify() == []


# --- 3. timeouts, deadline, Retry-After cap ---------------------------------------------------------------------
STALLS = {
    "reachability check": Fault(path=r"^/api/datasets/hfmlsoc/hub_weekly_snapshots$", stall=60, times=None),
    "archive tree": Fault(path=r"/tree/", stall=60, times=None),
    "range read": Fault(path=r"/resolve/.*2025-01-15/models\.parquet", method="GET", stall=60, times=None),
    "trickling body": Fault(path=r"/resolve/.*2025-01-15/models\.parquet", method="GET", delay=0.2, chunk=16,
                            times=None),
    "live listing": Fault(path=r"^/api/models", stall=60, times=None),
}


@pytest.mark.parametrize("where", list(STALLS))
def test_a_stalled_server_ends_the_pull_with_a_named_failure_in_bounded_time(hub_root, tmp_path, where):
    """Deadline 3 s, read timeout 1 s: whatever stalls, the pull ends by deadline + huggingface_hub's longest wait."""
    deadline = 3.0
    cfg = _cfg(**{"live.enabled": "true", "pull.deadline": str(deadline), "pull.read_timeout": "1"})
    with FakeHub(hub_root) as hub:
        hub.faults = [STALLS[where]]
        t0 = time.monotonic()
        try:
            report = pull_all(cfg, Paths(tmp_path, simulated=True), endpoint=hub.endpoint, progress=False,
                              today=TODAY, log=lambda line: None)
            error = None
        except PullDeadlineError as e:
            report, error = None, e
        elapsed = time.monotonic() - t0
    assert elapsed <= deadline + HF_CLIENT_MAX_WAIT + 1.0, elapsed
    if report is None:  # stalled before anything could be pulled: the error names what stalled
        assert where in ("reachability check", "archive tree")
        assert "deadline" in str(error) and ("hub_weekly_snapshots" in str(error))
    else:
        assert not report.ok and "deadline of 3 s (pull.deadline) passed" in report.stopped
        failed = {f"{f.kind}/{f.date}": f.reason for f in report.failed}
        stalled = "live/2026-03-01" if where == "live listing" else "archive/2025-01-15"
        assert "deadline" in failed[stalled]
        if stalled.startswith("archive"):
            assert report.pulled == ("archive/2025-01-01", "archive/2025-01-08")
            assert failed["archive/2025-01-22"].startswith("not tried: the pull stopped (its deadline")
    store = _store(tmp_path)
    assert store.partial_files() == [] and store.verify() == []


def test_a_stalled_request_is_cut_by_the_read_timeout_and_retried(hub_root, tmp_path):
    sleep = SleepRecorder()
    with FakeHub(hub_root) as hub:
        hub.faults = [Fault(path=r"/resolve/.*2025-01-08/models\.parquet", method="GET", stall=30, times=1)]
        t0 = time.monotonic()
        report = _pull(hub.endpoint, tmp_path, _cfg(**{"pull.read_timeout": "0.5"}),
                       retry=RetryPolicy(base_delay=0.25, sleep=sleep))
        elapsed = time.monotonic() - t0
    assert report.ok and report.retries == 1 and sleep.delays == [0.25] and elapsed < 10


@pytest.mark.parametrize("where", ["archive tree", "live listing", "range read"])
def test_a_retry_after_above_the_cap_is_refused_at_once_and_named(hub_root, tmp_path, where):
    rule = {"archive tree": Fault(path=r"/tree/", status=429, retry_after=3600, times=None),
            "live listing": Fault(path=r"^/api/models", status=429, retry_after=3600, times=None),
            "range read": Fault(path=r"/resolve/.*2025-01-15/models\.parquet", method="GET", status=503,
                                retry_after=3600, times=None)}[where]
    sleep = SleepRecorder()
    with FakeHub(hub_root) as hub:
        hub.faults = [rule]
        t0 = time.monotonic()
        try:
            report = _pull(hub.endpoint, tmp_path, _cfg(**{"live.enabled": "true", "pull.max_retry_after": "60"}),
                           retry=RetryPolicy(base_delay=0.01, max_retry_after=60, sleep=sleep))
            text = "\n".join(str(f) for f in report.failed)
        except PullError as e:
            text = str(e)
        elapsed = time.monotonic() - t0
        asked = hub.stats.statuses[rule.status]
    assert asked == 1 and sleep.delays == [] and elapsed < 5  # never waited, neither by the project nor the client
    assert "asking to wait 3600 s (Retry-After), longer than the 60 s cap (pull.max_retry_after): not waited" in text


# --- 4. credentials ----------------------------------------------------------------------------------------------
def _secrets():
    # built at run time: no credential-like literal in the repository
    return "u5er" + "Passw0rdXyz", "hf_" + "Secr3tT0kenThatMustNeverBePrinted01"


def _leaky_faults():
    """A retry (503), a failure (404, whose message holds the URL), a refused wait (429), a client-side retry (502)."""
    return [Fault(path=r"2025-01-08/models\.parquet", method="GET", status=503, times=1),
            Fault(path=r"2025-01-15/models\.parquet", method="GET", status=404, times=None),
            Fault(path=r"/tree/", status=502, times=1),
            Fault(path=r"^/api/models\?.*cursor=50", status=429, retry_after=3600, times=None)]


def test_credentials_are_never_printed_logged_raised_or_recorded(hub_root, tmp_path, monkeypatch, capfd):
    password, token = _secrets()
    monkeypatch.setenv("HF_TOKEN", token)
    lines: list[str] = []
    with FakeHub(hub_root, models_page_size=50) as hub:
        endpoint = hub.endpoint.replace("http://", f"http://reader:{password}@")
        hub.faults = _leaky_faults()
        report = _pull(endpoint, tmp_path, _cfg(**{"live.enabled": "true"}),
                       retry=RetryPolicy(base_delay=0.001, max_attempts=3), log=lines.append)
        assert hub.stats.authorized > 0  # the client did send credentials
        with pytest.raises(PullError) as bad:
            _pull(endpoint, tmp_path / "b", _cfg(**{"archive.revision": "nope"}), log=lines.append)
        cli = subprocess.run([sys.executable, "-c", PULL_CLI, "--demo", "--live", "--config", _config_file(tmp_path)],
                             capture_output=True, text=True, env=_env(tmp_path / "c", endpoint, HF_TOKEN=token),
                             cwd=REPO_ROOT, timeout=120)
    captured = capfd.readouterr()
    assert len(report.failed) == 2 and report.retries >= 1 and len(lines) >= 3
    assert any("***@127.0.0.1" in line for line in lines)  # the URL is shown, its credentials are not
    texts = {"log lines": "\n".join(lines), "summary": report.summary(), "report": repr(report),
             "error": str(bad.value), "client log (stderr)": captured.err + captured.out,
             "command line": cli.stdout + cli.stderr}
    assert cli.returncode == 1 and "FAILED archive/2025-01-15" in cli.stdout
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.jsonl" for p in files)
    for p in files:
        texts[str(p)] = p.read_bytes().decode("utf-8", "replace")
    for where, text in texts.items():
        for secret in (password, token):
            assert secret not in text, where


def test_credentials_never_reach_the_notebook_output(hub_root, project_copy):
    from analysis.pipeline import run_chain

    password, token = _secrets()
    cfg = load_config(overrides={**WINDOW, "live.enabled": "true"})
    paths = Paths(project_copy, simulated=True)
    with FakeHub(hub_root, models_page_size=50) as hub:
        endpoint = hub.endpoint.replace("http://", f"http://reader:{password}@")
        hub.faults = _leaky_faults()
        result = run_chain(cfg, paths, only=["01"], simulated=True, log=lambda line: None,
                           env={"HF_ENDPOINT": endpoint, "HF_TOKEN": token, "CI": "true"})
    assert not result.ok  # two snapshots failed: the notebook stops the run, with their reasons
    outputs = [p for p in paths.reports_dir.iterdir() if p.is_file()] + \
        [p for p in paths.processed_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in outputs)
    text = "\n".join(p.read_text(errors="replace") for p in outputs)
    assert "archive/2025-01-15" in text and "***@" in text
    assert password not in text and token not in text


# --- 5. live listing ---------------------------------------------------------------------------------------------
class _Malform:
    """models_edit hook: on the first page, five records that are not usable models are slipped in."""

    BAD = [{"id": None, "downloads": 10**9}, {"id": "bad/downloads", "downloads": "many"},
           {"id": "bad/date", "downloads": 10**9, "createdAt": "yesterday-ish"},
           {"id": "bad/tags", "downloads": 10**9, "tags": "gguf"}, 42]

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, items: list) -> list:
        self.calls += 1
        return self.BAD + items if self.calls == 1 else items


def _expected_live(hub_root, min_downloads=5):
    src = pq.read_table(hub_root / "live" / "models.parquet")
    return int(pc.sum(pc.greater_equal(src["downloads"], min_downloads)).as_py())


def test_malformed_records_are_skipped_counted_and_named(hub_root, tmp_path):
    with FakeHub(hub_root, models_page_size=20, models_edit=_Malform()) as hub:
        report = _pull(hub.endpoint, tmp_path, _cfg(**{"live.enabled": "true", "live.min_downloads": "5",
                                                       "study.end": "2025-01-01"}))
    assert report.ok and "live/2026-03-01" in report.pulled
    e = _store(tmp_path).entry("live", TODAY)
    assert e["listing"]["malformed"] == 5 and e["rows"] == _expected_live(hub_root)
    named = "\n".join(e["listing"]["malformed_examples"])
    for what in ("record without a usable id", "bad/downloads: downloads='many'", "bad/date: ",
                 "bad/tags: tags='gguf'", "record '42': not a JSON object"):
        assert what in named, what
    assert any("5 malformed record(s) skipped" in f for f in report.flagged)


def test_a_truncated_page_is_asked_again(hub_root, tmp_path):
    with FakeHub(hub_root, models_page_size=20) as hub:
        hub.faults = [Fault(path=r"^/api/models\?.*cursor=20", truncate=300, times=1)]
        report = _pull(hub.endpoint, tmp_path, _cfg(**{"live.enabled": "true", "live.min_downloads": "5",
                                                       "study.end": "2025-01-01"}))
        assert hub.stats.faults_triggered == 1
    e = _store(tmp_path).entry("live", TODAY)
    assert report.ok and report.retries == 1 and e["listing"]["page_retries"] == 1
    assert e["rows"] == _expected_live(hub_root) and e["listing"]["malformed"] == 0


def test_a_failed_listing_resumes_from_its_last_complete_page_the_same_day(hub_root, tmp_path):
    cfg = _cfg(**{"live.enabled": "true", "live.min_downloads": "5", "study.end": "2025-01-01"})
    with FakeHub(hub_root, models_page_size=20) as hub:
        hub.faults = [Fault(path=r"^/api/models\?.*cursor=40", truncate=200, times=None)]
        first = _pull(hub.endpoint, tmp_path, cfg, retry=RetryPolicy(base_delay=0.001, max_attempts=2))
        store = _store(tmp_path)
        assert [d for d, _ in store.resume_dirs()] == [TODAY]
        assert store.verify() == [] and any("2 page(s) of the live listing" in n for n in store.notes())
        hub.faults = []
        hub.stats.reset()
        second = _pull(hub.endpoint, tmp_path, cfg)
        asked = [p for p in hub.stats.requests if p.startswith("/api/models")]
        first_pages = hub.stats.total_requests("^/api/models$")
    assert [(f.kind, f.date) for f in first.failed] == [("live", "2026-03-01")]
    assert "2 complete page(s) saved: the next pull today resumes after them" in first.failed[0].reason
    assert second.ok and "live/2026-03-01" in second.pulled and asked == ["/api/models"]
    pages_total = -(-pq.read_metadata(hub_root / "live" / "models.parquet").num_rows // 20)
    assert first_pages == pages_total - 2  # pages 1 and 2 are not asked again
    e = store.entry("live", TODAY)
    assert e["listing"]["resumed_at_page"] == 2 and e["rows"] == _expected_live(hub_root) and e["complete"] is True
    raw = store.read("live", TODAY)
    assert len(set(raw["id"].to_pylist())) == raw.num_rows
    assert raw["downloads"].to_pylist() == sorted(raw["downloads"].to_pylist(), reverse=True)
    assert store.resume_dirs() == [] and store.verify() == []


def test_on_a_later_day_an_interrupted_listing_is_recorded_as_incomplete(hub_root, tmp_path):
    cfg = _cfg(**{"live.enabled": "true", "live.min_downloads": "5", "study.end": "2025-01-01"})
    with FakeHub(hub_root, models_page_size=20) as hub:
        hub.faults = [Fault(path=r"^/api/models\?.*cursor=40", truncate=200, times=None)]
        _pull(hub.endpoint, tmp_path, cfg, retry=RetryPolicy(base_delay=0.001, max_attempts=2))
        hub.faults = []
        later = _pull(hub.endpoint, tmp_path, cfg, today=TODAY + dt.timedelta(days=1))
    store = _store(tmp_path)
    assert later.ok and later.recovered == ("live/2026-03-01 (incomplete: 40 models in 2 page(s))",)
    old = store.entry("live", TODAY)
    assert old["complete"] is False and old["rows"] == 40 and "incomplete" in old["note"]
    assert store.entry("live", TODAY + dt.timedelta(days=1))["complete"] is True
    assert store.resume_dirs() == [] and store.verify() == []


# --- 6. a full disk ---------------------------------------------------------------------------------------------
def test_a_full_disk_stops_the_pull_at_once_with_nothing_half_written(hub_root, tmp_path):
    """The kernel's /dev/full answers "No space left on device" to the write of 2025-01-15's manifest entry."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    archive = tmp_path / "data" / "demo" / "raw" / "archive"
    archive.mkdir(parents=True)
    full = archive / f".2025-01-15.parquet.pending.json.{os.getpid()}.tmp"
    full.symlink_to("/dev/full")
    with FakeHub(hub_root) as hub:
        report = _pull(hub.endpoint, tmp_path, _cfg(**{"live.enabled": "true"}))
        asked_after = hub.stats.total_requests(r"(2025-01-22|/api/models)")
    assert not report.ok and "is full (no space left on device)" in report.stopped
    failed = {f"{f.kind}/{f.date}": f.reason for f in report.failed}
    assert "no space left on device while writing it" in failed["archive/2025-01-15"]
    assert failed["archive/2025-01-22"].startswith("not tried: the pull stopped")
    assert failed["live/2026-03-01"].startswith("not tried")
    assert asked_after == 0  # nothing more was downloaded
    store = _store(tmp_path)
    assert report.pulled == ("archive/2025-01-01", "archive/2025-01-08") and not store.has("archive", "2025-01-15")
    assert store.partial_files() == [] and store.pending_files() == [] and store.verify() == []
    with FakeHub(hub_root) as hub:  # space again: the next pull completes
        again = _pull(hub.endpoint, tmp_path)
    assert again.ok and again.pulled == ("archive/2025-01-15", "archive/2025-01-22")


FULL_DISK = """
import json, subprocess, sys
from pathlib import Path
from analysis.config import load_config
from analysis.hub import RetryPolicy
from analysis.hub.pull import pull_all
from analysis.paths import Paths
from analysis.raw import RawStore
endpoint, root, raw, size = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", raw], check=True)
cfg = load_config(overrides={"study.start": "2025-01-01", "study.end": "2025-02-12", "live.enabled": "false"})
out = {}
r = pull_all(cfg, Paths(root, simulated=True), endpoint=endpoint, retry=RetryPolicy(base_delay=0.001),
             progress=False, log=lambda line: None)
store = RawStore(raw)
out["first"] = {"pulled": r.pulled, "failed": [str(f) for f in r.failed], "stopped": r.stopped,
                "partials": [p.name for p in store.partial_files()], "verify": store.verify()}
subprocess.run(["mount", "-o", "remount,size=64m", raw], check=True)
r = pull_all(cfg, Paths(root, simulated=True), endpoint=endpoint, retry=RetryPolicy(base_delay=0.001),
             progress=False, log=lambda line: None)
out["second"] = {"pulled": r.pulled, "recovered": r.recovered, "ok": r.ok, "verify": store.verify()}
print(json.dumps(out))
"""


def test_a_really_full_disk_mid_file_stops_the_pull(hub_root, tmp_path):
    """A tmpfs of a few hundred KiB as the raw store (in a user and mount namespace): the data write itself fails."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode:
        pytest.skip("no user and mount namespaces here to mount a small tmpfs")
    raw = tmp_path / "data" / "demo" / "raw"
    raw.mkdir(parents=True)
    with FakeHub(hub_root) as hub:
        _pull(hub.endpoint, tmp_path / "measure", _cfg(**{"study.end": "2025-02-12"}))
        sizes = [p.stat().st_size for p in sorted((tmp_path / "measure").rglob("archive/*.parquet"))]
        size = f"{sum(-(-n // 4096) for n in sizes) // 2 * 4 + 8}k"  # room for about half of the raw files
        r = subprocess.run(["unshare", "-rm", sys.executable, "-c", FULL_DISK, hub.endpoint, str(tmp_path), str(raw),
                            size], capture_output=True, text=True, env=_env(), cwd=REPO_ROOT, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    first = out["first"]
    assert "is full (no space left on device)" in first["stopped"] and 1 <= len(first["pulled"]) < 6
    assert any("not tried: the pull stopped" in f for f in first["failed"])
    assert first["partials"] == []  # no half-written data file; at most a commit left to finish, said so:
    recoverable = ("interrupted commit (the next pull records it)", "no manifest entry", "torn last line")
    assert all(any(r in p for r in recoverable) for p in first["verify"]), first["verify"]
    assert out["second"]["ok"] and out["second"]["verify"] == []
    second = out["second"]  # the file committed when the disk filled is recorded, the rest pulled: all six
    assert len(first["pulled"]) + len(second["recovered"]) + len(second["pulled"]) == 6


# --- 7. paths matched whole, duplicate dates, re-pulled and in-flight files --------------------------------------
def _tree_edit(entries: list) -> list:
    out = []
    for e in entries:
        out.append(e)
        if e["path"] == "models/2025-01-08/models.parquet":  # a lookalike with a trailing newline, listed first
            out.insert(len(out) - 1, {**e, "path": e["path"] + "\n", "size": 11})
        if e["path"] == "models/2025-01-15/models.parquet":  # the same file listed twice
            out.append(dict(e))
        if e["path"] == "models/2025-01-22/models.parquet":  # two different files for one date
            out.append({**e, "size": e["size"] + 1})
    return out


def test_snapshot_paths_are_matched_whole_and_duplicate_dates_reported(hub_root, tmp_path):
    with FakeHub(hub_root, tree_edit=_tree_edit) as hub:
        report = _pull(hub.endpoint, tmp_path)
    assert report.pulled == ("archive/2025-01-01", "archive/2025-01-08", "archive/2025-01-15")
    notes = "\n".join(report.listing_notes)
    assert "ignored 'models/2025-01-08/models.parquet\\n': not a snapshot path (matched whole)" in notes
    assert "2025-01-15: 2 entries" in notes and "the same file listed twice, read once" in notes
    assert "2025-01-22: 2 entries" in notes and "entries differ: the date is skipped" in notes
    assert [(f.date, "listed more than once with different files" in f.reason) for f in report.failed] == \
        [("2025-01-22", True)]
    assert report.missing_in_window == ()
    src = pq.read_table(hub_root / "datasets" / REPO / "models" / "2025-01-08" / "models.parquet")
    assert _store(tmp_path).read("archive", "2025-01-08")["id"].equals(src["id"])


def test_a_deleted_raw_file_is_pulled_again_and_verify_accepts_it(hub_root, tmp_path):
    with FakeHub(hub_root) as hub:
        _pull(hub.endpoint, tmp_path)
        store = _store(tmp_path)
        lost = store.path("archive", "2025-01-08")
        sha = store.entry("archive", "2025-01-08")["sha256"]
        lost.unlink()
        assert any("listed in the manifest but missing" in p for p in store.verify())
        report = _pull(hub.endpoint, tmp_path)
    assert report.ok and report.pulled == ("archive/2025-01-08",)
    assert report.restored == ("archive/2025-01-08.parquet: identical to the file lost",)
    entries = store.entries("archive", "2025-01-08")
    assert len(entries) == 2 and entries[1]["restores"]["sha256"] == sha == entries[1]["sha256"]
    assert store.verify() == []
    # an entry repeated by hand (no restores) is still a problem
    with open(store.manifest_path, "a") as f:
        f.write(json.dumps(entries[0]) + "\n")
    assert any("3 manifest entries" in p for p in store.verify())


SLOW_PULL = """
import sys
from pathlib import Path
from analysis.config import load_config
from analysis.hub.pull import pull_all
from analysis.paths import Paths
cfg = load_config(overrides={"study.start": "2025-01-01", "study.end": "2025-02-12", "live.enabled": "false"})
pull_all(cfg, Paths(Path(sys.argv[2]), simulated=True), endpoint=sys.argv[1], progress=False)
"""


def test_verify_during_a_pull_does_not_flag_its_in_flight_files(hub_root, tmp_path):
    archive = tmp_path / "data" / "demo" / "raw" / "archive"
    verify = [sys.executable, "-c", PULL_CLI, "--verify", "--demo"]
    with FakeHub(hub_root) as hub:
        # 2025-01-15's footer is read, then its data stalls: the pull is writing it while verify runs
        hub.faults = [Fault(path=r"/resolve/.*2025-01-15/models\.parquet", method="GET", skip=1, stall=60, times=None)]
        proc = subprocess.Popen([sys.executable, "-c", SLOW_PULL, hub.endpoint, str(tmp_path)], env=_env(),
                                cwd=REPO_ROOT)
        try:
            deadline = time.monotonic() + 60
            while not list(archive.glob(".2025-01-15.parquet.*.partial")):
                assert proc.poll() is None and time.monotonic() < deadline, "the pull never reached 2025-01-15"
                time.sleep(0.01)
            during = subprocess.run(verify, capture_output=True, text=True, env=_env(tmp_path), cwd=REPO_ROOT,
                                    timeout=60)
            assert proc.poll() is None, "the pull ended before it could be killed mid-file"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    after = subprocess.run(verify, capture_output=True, text=True, env=_env(tmp_path), cwd=REPO_ROOT, timeout=60)
    assert during.returncode == 0, during.stdout + during.stderr
    assert "a pull is running now" in during.stdout and "0 problem(s)" in during.stdout
    assert "2025-01-15.parquet" in during.stdout and "being written by the pull running now" in during.stdout
    assert after.returncode == 1 and "partial file of an interrupted write" in after.stdout  # a leftover now


# --- 9. damaged bytes and page checksums --------------------------------------------------------------------
@pytest.fixture(scope="module")
def crc_root(hub_root, tmp_path_factory):
    """The tiny Hub with 2025-01-08 written with Parquet page checksums, in three row groups."""
    root = tmp_path_factory.mktemp("crc_hub")
    shutil.copytree(hub_root / "datasets", root / "datasets")
    f = root / "datasets" / REPO / "models" / "2025-01-08" / "models.parquet"
    pq.write_table(pq.read_table(f), f, row_group_size=100, write_page_checksum=True, compression="snappy")
    return root


def _inside_a_page(f) -> int:
    """An offset inside the data of the 'downloads' column chunk of row group 1 (past its page header)."""
    chunk = pq.read_metadata(f).row_group(1).column(pq.read_schema(f).get_field_index("downloads"))
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    return start + chunk.total_compressed_size - 3


def test_a_byte_damaged_in_transit_is_caught_by_the_page_checksum_and_read_again(crc_root, tmp_path):
    f = crc_root / "datasets" / REPO / "models" / "2025-01-08" / "models.parquet"
    with FakeHub(crc_root) as hub:
        hub.faults = [Fault(path=r"/resolve/.*2025-01-08/models\.parquet", method="GET", flip=_inside_a_page(f),
                            times=1)]
        report = _pull(hub.endpoint, tmp_path)
        assert hub.stats.faults_triggered == 1
    assert report.ok
    store = _store(tmp_path)
    raw, src = store.read("archive", "2025-01-08"), pq.read_table(f)
    assert raw["id"].to_pylist() == src["id"].to_pylist()
    assert raw["downloads"].to_pylist() == src["downloads"].to_pylist()
    reread = store.entry("archive", "2025-01-08")["reread_row_groups"]
    assert len(reread) == 1 and reread[0].startswith("row group 1: ") and "CRC" in reread[0]


def test_a_byte_damaged_on_every_read_makes_the_snapshot_fail_with_nothing_written(crc_root, tmp_path):
    f = crc_root / "datasets" / REPO / "models" / "2025-01-08" / "models.parquet"
    with FakeHub(crc_root) as hub:
        hub.faults = [Fault(path=r"/resolve/.*2025-01-08/models\.parquet", method="GET", flip=_inside_a_page(f),
                            times=None)]
        report = _pull(hub.endpoint, tmp_path)
    failed = {f.date: f.reason for f in report.failed}
    assert set(failed) == {"2025-01-08"}
    assert "row group 1 of 3, column 'downloads', is corrupt" in failed["2025-01-08"]
    assert "CRC checksum verification failed" in failed["2025-01-08"] and "it failed twice" in failed["2025-01-08"]
    store = _store(tmp_path)
    assert not store.has("archive", "2025-01-08") and store.partial_files() == [] and store.verify() == []


def test_live_patience_is_respected_after_a_resume(hub_root, tmp_path, monkeypatch):
    """A resumed listing keeps counting its run of models below min_downloads where the first attempt left it."""
    monkeypatch.setattr(live_module, "LIVE_PATIENCE", 30)
    src = pq.read_table(hub_root / "live" / "models.parquet")
    order = src.take(pc.array_sort_indices(src["downloads"], order="descending"))
    threshold = order["downloads"][25].as_py() + 1  # 25 models at or above (ties aside), then a run below
    cfg = _cfg(**{"live.enabled": "true", "live.min_downloads": str(threshold), "study.end": "2025-01-01"})
    with FakeHub(hub_root, models_page_size=20) as hub:
        hub.faults = [Fault(path=r"^/api/models\?.*cursor=40", truncate=200, times=None)]
        _pull(hub.endpoint, tmp_path, cfg, retry=RetryPolicy(base_delay=0.001, max_attempts=2))
        hub.faults = []
        hub.stats.reset()
        report = _pull(hub.endpoint, tmp_path, cfg)
        pages = hub.stats.total_requests("^/api/models$")
    e = _store(tmp_path).entry("live", TODAY)
    kept = int(pc.sum(pc.greater_equal(src["downloads"], threshold)).as_py())
    assert 10 < kept < 40 - 10  # pages 1-2 end inside the run below the threshold
    # the run below the threshold began on page 2; page 3 completes its 30 models: one page asked, not three
    assert report.ok and e["rows"] == kept and e["listing"]["stopped"] == "patience" and pages == 1
    assert e["listing"]["listed"] == kept + 30


def test_redaction_covers_urls_queries_headers_and_tokens():
    from analysis.hub import public_endpoint, redact, redact_obj

    password, token = _secrets()
    text = (f"GET https://reader:{password}@mirror.example:8443/api/models?limit=5&token=abc123&sig=xyz "
            f"failed; headers={{'authorization': 'Bearer {token}'}}; Authorization: Basic dXNlcjpwYXNz; {token}")
    out = redact(text, [password])
    for secret in (password, token, "abc123", "xyz", "dXNlcjpwYXNz"):
        assert secret not in out, secret
    assert "https://***@mirror.example:8443/api/models?limit=5&token=***&sig=***" in out
    assert redact_obj({"a": [f"x {password}"], f"k{password}": 1}, [password]) == {"a": ["x ***"], "k***": 1}
    assert public_endpoint(f"http://u:{password}@[::1]:8080/") == "http://[::1]:8080"
    assert public_endpoint("https://huggingface.co") == "https://huggingface.co"
