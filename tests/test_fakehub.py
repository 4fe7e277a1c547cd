"""The local Hub stand-in answers the real huggingface_hub client over HTTP."""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import subprocess
import sys

import httpx2
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi, HfFileSystem, get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from urllib.parse import urlsplit

from devtools.fakehub import Fault, FakeHub
from analysis.paths import REPO_ROOT

REPO = "hfmlsoc/hub_weekly_snapshots"
FILE = "models/2025-01-08/models.parquet"



@pytest.fixture
def hub(hub_root):
    with FakeHub(hub_root, tree_page_size=4, models_page_size=50) as h:
        yield h


def _local(hub_root, rel=FILE):
    return hub_root / "datasets" / REPO / rel


def test_repo_info_and_revisions(hub):
    api = HfApi(endpoint=hub.endpoint)
    sha = api.dataset_info(REPO).sha
    assert len(sha) == 40 and sha == api.repo_info(REPO, repo_type="dataset", revision="main").sha
    assert api.dataset_info(REPO, revision=sha).sha == sha  # a commit sha resolves to itself
    with FakeHub(hub.root) as other:  # deterministic across servers
        assert HfApi(endpoint=other.endpoint).dataset_info(REPO).sha == sha
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(REPO, revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("nobody/nothing")


def test_tree_listing_is_paginated(hub, hub_root):
    api = HfApi(endpoint=hub.endpoint)
    entries = list(api.list_repo_tree(REPO, "models", repo_type="dataset"))
    expected = sorted(p.name for p in (hub_root / "datasets" / REPO / "models").iterdir())
    assert [e.path for e in entries] == [f"models/{d}" for d in expected]
    assert len(expected) == 11  # 12 weeks, one missing on purpose
    assert hub.stats.total_requests(r"/tree/main/models$") == 3  # 11 entries at 4 per page
    files = api.list_repo_files(REPO, repo_type="dataset")
    assert FILE in files and "truth.json" not in files
    rec = [e for e in api.list_repo_tree(REPO, "models", recursive=True, repo_type="dataset")
           if e.path.endswith(".parquet")]
    assert len(rec) == 11 and all(e.size == _local(hub_root, e.path).stat().st_size for e in rec)
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(REPO, "nothing-here", repo_type="dataset"))
    info = api.get_paths_info(REPO, [FILE, "models", "missing"], repo_type="dataset")
    assert [i.path for i in info] == [FILE, "models"]


def test_hffilesystem_ls_info_and_range_reads(hub, hub_root):
    fs = HfFileSystem(endpoint=hub.endpoint, skip_instance_cache=True)
    path = f"datasets/{REPO}/{FILE}"
    assert f"datasets/{REPO}/models/2025-01-01" in fs.ls(f"datasets/{REPO}/models", detail=False)
    local = _local(hub_root).read_bytes()
    assert fs.info(path)["size"] == len(local)
    hub.stats.reset()
    with fs.open(path, "rb", block_size=1024, cache_type="none") as f:
        f.seek(100)
        assert f.read(50) == local[100:150]
        f.seek(-8, 2)
        assert f.read() == local[-8:]
    assert hub.stats.total_bytes("/resolve/") == 58  # exactly the ranges asked for
    with fs.open(path, "rb") as f:
        table = pq.read_table(f, columns=["id", "downloads"])
    assert table.equals(pq.read_table(_local(hub_root), columns=["id", "downloads"]))


def test_resolve_headers_range_and_head(hub, hub_root):
    local = _local(hub_root).read_bytes()
    sha = HfApi(endpoint=hub.endpoint).dataset_info(REPO).sha
    url = hf_hub_url(REPO, FILE, repo_type="dataset", endpoint=hub.endpoint)
    meta = get_hf_file_metadata(url)
    assert meta.size == len(local) and meta.commit_hash == sha
    assert meta.etag == hashlib.sha256(local).hexdigest()
    r = httpx2.get(url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == local[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(local)}" and r.headers["Content-Length"] == "10"
    assert httpx2.get(url, headers={"Range": "bytes=-4"}).content == local[-4:]
    assert httpx2.get(url, headers={"Range": f"bytes={len(local)}-"}).status_code == 416
    assert httpx2.head(url).headers["Accept-Ranges"] == "bytes"


def test_hf_hub_download(hub, hub_root, tmp_path):
    f = hf_hub_download(REPO, FILE, repo_type="dataset", endpoint=hub.endpoint, cache_dir=tmp_path)
    assert open(f, "rb").read() == _local(hub_root).read_bytes()


def test_list_models_pages_sort_and_expand(hub, hub_root):
    live = pq.read_table(hub_root / "live" / "models.parquet")
    api = HfApi(endpoint=hub.endpoint)
    models = list(api.list_models(sort="downloads", expand=["author", "downloads", "createdAt", "baseModels"]))
    assert len(models) == live.num_rows
    assert hub.stats.total_requests("^/api/models$") == -(-live.num_rows // 50) >= 3
    downloads = [m.downloads for m in models]
    assert downloads == sorted(live["downloads"].to_pylist(), reverse=True)
    assert all(m.author and m.created_at is not None for m in models)
    assert models[0].likes is None  # not asked for, not sent
    derived = [m for m in models if m.base_models]
    assert derived and all(set(m.base_models) == {"relation", "models"} for m in derived)
    assert len(list(api.list_models(sort="downloads", limit=7))) == 7
    qwen = list(api.list_models(author="Qwen"))
    assert qwen and all(m.id.startswith("Qwen/") for m in qwen)


def test_faults_status_retry_after_and_drop(hub, hub_root):
    url = hf_hub_url(REPO, FILE, repo_type="dataset", endpoint=hub.endpoint)
    hub.faults = [{"path": r"2025-01-08", "status": 429, "retry_after": 7, "times": 1},
                  Fault(path=r"2025-01-08", status=503, times=1)]
    r1 = httpx2.get(url)
    assert r1.status_code == 429 and r1.headers["Retry-After"] == "7"
    assert httpx2.get(url).status_code == 503
    assert httpx2.get(url).status_code == 200  # both rules used up
    hub.faults = [Fault(path=r"2025-01-08", drop_after=100, times=1)]
    with pytest.raises(httpx2.RemoteProtocolError):
        httpx2.get(url)
    assert hub.stats.faults_triggered == 3
    assert len(httpx2.get(url).content) == _local(hub_root).stat().st_size
    with pytest.raises(ValueError, match="unknown keys"):
        hub.faults = [{"path": "x", "stauts": 500}]


def test_head_responses_never_have_a_body(hub, hub_root):
    """Error or not, a HEAD answer is headers only: the next request on the same connection must parse."""
    size = _local(hub_root).stat().st_size
    url = urlsplit(hf_hub_url(REPO, FILE, repo_type="dataset", endpoint=hub.endpoint))
    hub.faults = [Fault(path=r"2025-01-08", status=500, method="HEAD", times=1)]
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        answers = []
        for path in (url.path, url.path, f"/datasets/{REPO}/resolve/main/no-such-file"):  # injected 500, 200, 404
            conn.request("HEAD", path)
            r = conn.getresponse()
            answers.append((r.status, r.read(), r.getheader("Content-Length")))
        conn.request("GET", url.path, headers={"Range": "bytes=0-3"})  # same keep-alive connection
        r = conn.getresponse()
        assert (r.status, r.read()) == (206, b"PAR1")
    finally:
        conn.close()
    assert [(status, body) for status, body, _ in answers] == [(500, b""), (200, b""), (404, b"")]
    assert answers[1][2] == str(size)  # a HEAD says what a GET would send
    assert hub.stats.total_bytes("/resolve/") == 4  # only the GET's body crossed the wire
    # the real client, on its pooled connection: after a failed HEAD the next requests are answered
    hub.faults = [Fault(path=r"2025-01-08", status=500, method="HEAD", times=1)]
    meta_url = hf_hub_url(REPO, FILE, repo_type="dataset", endpoint=hub.endpoint)
    with pytest.raises(HfHubHTTPError, match="500"):
        get_hf_file_metadata(meta_url)
    assert get_hf_file_metadata(meta_url).size == size
    assert HfApi(endpoint=hub.endpoint).dataset_info(REPO).sha


def test_live_listing_can_change_between_pages_or_ignore_sort(hub, hub_root):
    live = pq.read_table(hub_root / "live" / "models.parquet")
    api = HfApi(endpoint=hub.endpoint)
    doubled = live.set_column(live.schema.get_field_index("downloads"), "downloads",
                              pc.multiply(live["downloads"], 2))
    hub.replace_live(doubled, after_pages=1)
    models = list(api.list_models(sort="downloads", expand=["downloads"]))
    ranked = sorted(live["downloads"].to_pylist(), reverse=True)
    assert [m.downloads for m in models] == ranked[:50] + [2 * d for d in ranked[50:]]  # page 1 old, then new
    assert [m.downloads for m in api.list_models(sort="downloads", expand=["downloads"], limit=3)] == \
        [2 * d for d in ranked[:3]]  # the new counts stay
    with FakeHub(hub_root, models_page_size=50, models_sorted=False) as unsorted:
        listed = list(HfApi(endpoint=unsorted.endpoint).list_models(sort="downloads", expand=["downloads"]))
    assert [m.id for m in listed] == live["id"].to_pylist()  # file order, whatever sort asks
    with pytest.raises(ValueError, match="after_pages"):
        hub.replace_live(live, after_pages=-1)


def test_command_line_serves_until_terminated(hub_root):
    proc = subprocess.Popen([sys.executable, "-m", "devtools.fakehub", "--root", str(hub_root)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        endpoint = proc.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:")
        assert HfApi(endpoint=endpoint).dataset_info(REPO).sha
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_faults_stall_trickle_truncate_flip_and_skip(hub, hub_root):
    import time

    url = hf_hub_url(REPO, FILE, repo_type="dataset", endpoint=hub.endpoint)
    data = _local(hub_root).read_bytes()
    hub.faults = [Fault(path=r"2025-01-08", stall=30, times=1)]
    t0 = time.monotonic()
    with pytest.raises(httpx2.ReadTimeout):  # nothing at all comes back: only a read timeout ends the wait
        httpx2.get(url, timeout=httpx2.Timeout(0.5))
    assert time.monotonic() - t0 < 5
    hub.faults = [Fault(path=r"2025-01-08", delay=0.05, chunk=4, times=1)]
    t0 = time.monotonic()
    r = httpx2.get(url, headers={"Range": "bytes=0-19"}, timeout=httpx2.Timeout(1.0))
    assert r.content == data[:20] and time.monotonic() - t0 >= 0.2  # 5 chunks of 4 bytes, never idle for 1 s
    hub.faults = [Fault(path=r"^/api/models", truncate=50, times=1)]
    r = httpx2.get(f"{hub.endpoint}/api/models?sort=downloads")
    assert r.status_code == 200 and len(r.content) == 50 == int(r.headers["Content-Length"])
    with pytest.raises(ValueError):  # well-formed HTTP, cut JSON
        r.json()
    # a byte flipped in transit, only in a transfer that holds it; the first matching request let through
    hub.faults = [Fault(path=r"2025-01-08", flip=1000, skip=1, times=1)]
    clean = httpx2.get(url, headers={"Range": "bytes=990-1009"}).content  # skipped
    other = httpx2.get(url, headers={"Range": "bytes=0-99"}).content  # does not hold byte 1000: untouched
    damaged = httpx2.get(url, headers={"Range": "bytes=990-1009"}).content
    assert clean == data[990:1010] and other == data[:100]
    assert damaged[10] == data[1000] ^ 0xFF and damaged[:10] + damaged[11:] == data[990:1000] + data[1001:1010]
    assert httpx2.get(url, headers={"Range": "bytes=990-1009"}).content == data[990:1010]  # used up


def test_rewritten_listings_and_any_loopback_host(hub_root):
    def tree_edit(entries):
        return entries + [{"type": "file", "path": "models/extra\n", "size": 1, "oid": "0" * 40}]

    def models_edit(items):
        return [{"id": None}] + items

    with FakeHub(hub_root, tree_edit=tree_edit, models_edit=models_edit) as hub:
        tree = httpx2.get(f"{hub.endpoint}/api/datasets/{REPO}/tree/main/models").json()
        assert tree[-1]["path"] == "models/extra\n"
        assert httpx2.get(f"{hub.endpoint}/api/models").json()[0] == {"id": None}
    try:
        six = FakeHub(hub_root, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert six.endpoint.startswith("http://[::1]:")
        assert HfApi(endpoint=six.endpoint).dataset_info(REPO).sha
    finally:
        six.stop()
