"""Simulated or real is known from the data, not from the host: through the real client over HTTP on loopback."""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest

from analysis.config import load_config
from analysis.hub import RetryPolicy, RunKindError
from analysis.hub.pull import pull_all
from analysis.paths import Paths
from analysis.raw import RawStore
from analysis.simulate.hub import SIMULATED_MARKER, SIMULATED_TAG
from devtools.fakehub import FakeHub

REPO = "hfmlsoc/hub_weekly_snapshots"
FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
TODAY = dt.date(2026, 3, 1)
CFG = {"study.start": "2025-01-01", "study.end": "2025-01-15", "live.enabled": "true", "live.min_downloads": "5"}


def _pull(endpoint, root, simulated):
    return pull_all(load_config(overrides=CFG), Paths(root, simulated=simulated), endpoint=endpoint, retry=FAST,
                    progress=False, today=TODAY, log=lambda line: None)


def _ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_a_real_kind_pull_through_a_local_stand_in_is_recorded_as_real(real_hub_root, tmp_path):
    with FakeHub(real_hub_root) as hub:
        endpoint = hub.endpoint
        assert endpoint.startswith("http://127.0.0.1:")
        report = _pull(endpoint, tmp_path, simulated=False)
    assert report.ok and not report.simulated
    assert report.pulled == ("archive/2025-01-01", "archive/2025-01-08", "archive/2025-01-15", "live/2026-03-01")
    assert report.evidence.startswith(f"no {SIMULATED_MARKER} in {REPO}@")
    store = RawStore(tmp_path / "data" / "raw")
    entries = store.manifest_entries()
    # three snapshots, the metadata the thin pull fetched (the newest snapshot's), and the live listing
    assert [e["kind"] for e in entries].count("metadata") == 1
    assert len(entries) == 5 and not (tmp_path / "data" / "demo").exists()
    for e in entries:
        assert e["simulated"] is False and e["endpoint"] == endpoint
    archive = [e for e in entries if e["kind"] == "archive"]
    assert all(e["simulated_evidence"] == report.evidence for e in archive)
    live = next(e for e in entries if e["kind"] == "live")
    assert live["simulated_evidence"].startswith("models without the tag") and live["listing"]["simulated"] is False
    assert store.verify() == [] and not store.is_simulated()


@pytest.mark.parametrize("host, shown", [("127.0.0.1", "127.0.0.1"), ("127.0.0.1", "localhost"),
                                         ("127.0.0.1", "127.1"), ("::1", "[::1]")])
def test_the_simulated_hub_is_recorded_as_simulated_whichever_host_serves_it(hub_root, tmp_path, host, shown):
    if host == "::1" and not _ipv6():
        pytest.skip("no IPv6 loopback on this machine")
    with FakeHub(hub_root, host=host) as hub:
        endpoint = f"http://{shown}:{hub.endpoint.rsplit(':', 1)[1]}"
        report = _pull(endpoint, tmp_path, simulated=True)
    assert report.ok and report.simulated and report.endpoint == endpoint
    assert report.evidence.startswith(f"{SIMULATED_MARKER} in {REPO}@")
    store = RawStore(tmp_path / "data" / "demo" / "raw")
    entries = store.manifest_entries()
    assert [e["kind"] for e in entries].count("metadata") == 1  # the thin pull's metadata of the newest snapshot
    assert len(entries) == 5 and not (tmp_path / "data" / "raw").exists()
    for e in entries:
        assert e["simulated"] is True and e["endpoint"] == endpoint
    archive = next(e for e in entries if e["kind"] == "archive")
    assert archive["simulated_hub"]["parameters"]["seed"] == json.loads(
        (hub_root / "datasets" / REPO / SIMULATED_MARKER).read_text())["parameters"]["seed"]
    live = next(e for e in entries if e["kind"] == "live")
    assert live["simulated_evidence"] == f"every model carries the tag {SIMULATED_TAG!r}"
    assert store.is_simulated()


def test_simulated_data_never_enters_the_real_store_nor_real_data_the_demo_store(hub_root, real_hub_root, tmp_path):
    with FakeHub(hub_root) as sim, FakeHub(real_hub_root) as real:
        sim_ep, real_ep = sim.endpoint, real.endpoint
        with pytest.raises(RunKindError) as into_real:
            _pull(sim.endpoint, tmp_path, simulated=False)
        with pytest.raises(RunKindError) as into_demo:
            _pull(real.endpoint, tmp_path, simulated=True)
        assert sim.stats.total_requests(r"\.parquet$") == 0 and real.stats.total_requests(r"\.parquet$") == 0
        assert sim.stats.total_requests("^/api/models") == 0
    text = str(into_real.value)
    assert f"The Hub at {sim_ep} is a SIMULATED Hub" in text and SIMULATED_MARKER in text
    assert "never stored in the real raw store" in text and "--demo" in text and "Nothing was pulled" in text
    text = str(into_demo.value)
    assert f"The Hub at {real_ep} serves real data" in text and f"has no {SIMULATED_MARKER}" in text
    assert "never stored in the demo's raw store" in text and "Nothing was pulled" in text
    assert not (tmp_path / "data" / "raw" / "manifest.jsonl").exists()
    assert not (tmp_path / "data" / "demo" / "raw" / "manifest.jsonl").exists()


class _UntagOnPage:
    """A models_edit hook: on the given page (1-based), one model loses the simulated-Hub tag."""

    def __init__(self, page: int) -> None:
        self.page, self.calls = page, 0

    def __call__(self, items: list) -> list:
        self.calls += 1
        if self.calls == self.page and items:
            items[3] = {**items[3], "tags": [t for t in items[3].get("tags") or [] if t != SIMULATED_TAG]}
        return items


def test_a_live_listing_that_contradicts_the_archive_or_itself_is_not_stored(hub_root, real_hub_root, tmp_path):
    # a simulated archive behind a real listing
    mixed = tmp_path / "mixed"
    (mixed / "live").mkdir(parents=True)
    (mixed / "datasets").symlink_to(hub_root / "datasets", target_is_directory=True)
    (mixed / "live" / "models.parquet").symlink_to(real_hub_root / "live" / "models.parquet")
    with FakeHub(mixed) as hub:
        report = _pull(hub.endpoint, tmp_path / "a", simulated=True)
    assert [(f.kind, f.date) for f in report.failed] == [("live", "2026-03-01")]
    assert "is real (its first page has models without the simulated-Hub tag" in report.failed[0].reason
    assert "this pull stores SIMULATED data; nothing of it was stored" in report.failed[0].reason
    store = RawStore(tmp_path / "a" / "data" / "demo" / "raw")
    assert len(report.pulled) == 3 and not store.has("live", TODAY) and store.resume_dirs() == []
    # a simulated listing whose second page holds a model without the tag: the saved first page is dropped too
    with FakeHub(hub_root, models_page_size=20, models_edit=_UntagOnPage(2)) as hub:
        report = _pull(hub.endpoint, tmp_path / "b", simulated=True)
        assert hub.stats.total_requests("^/api/models$") == 2
    assert [(f.kind, f.date) for f in report.failed] == [("live", "2026-03-01")]
    assert "mixes kinds: its first page is a simulated Hub's, but model" in report.failed[0].reason
    store = RawStore(tmp_path / "b" / "data" / "demo" / "raw")
    assert not store.has("live", TODAY) and store.resume_dirs() == [] and store.verify() == []


def test_a_file_named_like_the_marker_that_is_no_marker_stops_the_pull(hub_root, tmp_path):
    bad = tmp_path / "bad"
    (bad / "datasets" / REPO).mkdir(parents=True)
    (bad / "datasets" / REPO / "models").symlink_to(hub_root / "datasets" / REPO / "models", target_is_directory=True)
    (bad / "datasets" / REPO / SIMULATED_MARKER).write_text('{"simulated": "maybe"}')
    with FakeHub(bad) as hub:
        with pytest.raises(Exception, match=r"holds SIMULATED_HUB\.json but it is not a simulated-Hub marker"):
            _pull(hub.endpoint, tmp_path, simulated=True)
