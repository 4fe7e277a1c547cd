"""A local stand-in for the Hugging Face Hub, speaking the HTTP API that ``huggingface_hub`` uses.

:class:`FakeHub` serves a folder laid out like a simulated Hub (see :mod:`analysis.simulate`):

``<root>/datasets/<owner>/<name>/...``
    dataset repositories, with a deterministic fake commit sha per repository;
``<root>/live/models.parquet``
    the Hub's current state, served as the models listing ``GET /api/models``.

Endpoints (as called by huggingface_hub 2.4: ``HfApi.dataset_info``/``repo_info``, ``list_repo_tree``,
``list_repo_files``, ``get_paths_info``, ``HfFileSystem`` ls/info/open, ``hf_hub_download``,
``HfApi.list_models``)::

    GET  /api/datasets/{owner}/{name}[/revision/{rev}]        repository info (sha, siblings)
    GET  /api/datasets/{owner}/{name}/tree/{rev}[/{path}]      tree listing, paginated with a Link header
    POST /api/datasets/{owner}/{name}/paths-info/{rev}         information on given paths
    HEAD /datasets/{owner}/{name}/resolve/{rev}/{path}         size, ETag, X-Repo-Commit
    GET  /datasets/{owner}/{name}/resolve/{rev}/{path}         file bytes; ``Range: bytes=a-b`` gives 206
    GET  /api/models?sort=&direction=&limit=&expand=&author=&search=&cursor=
                                                               models listing, paginated with a Link header

Every response body is counted in :attr:`FakeHub.stats` (requests and bytes per path), which is how the
project measures the bytes a column-projected pull reads. Faults are injected per test through
:attr:`FakeHub.faults` (see :class:`Fault`): HTTP 429 with ``Retry-After``, 5xx, a connection dropped after N
bytes, a slowed (trickling) body, a server that stalls before answering, a body cut short but sent as if complete
(truncated JSON), a byte flipped in transit. Download counts that change while a client pages through the models
listing: :meth:`FakeHub.replace_live`; a listing that ignores ``sort``: ``models_sorted=False``; records or tree
entries rewritten on the way out (malformed records, a date listed twice): ``models_edit`` and ``tree_edit``. As
on the Hub, a response to HEAD never carries a body (errors included). The stand-in can listen on any loopback
address (``host``: ``127.0.0.1``, ``::1``, ...).

Command line: ``python -m devtools.fakehub --root DIR [--port P] [--host H]`` prints the endpoint and serves until
interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import signal
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: Fixed timestamp reported as the last modification of every repository (keeps responses deterministic).
_REPO_DATE = "2026-01-01T00:00:00.000Z"
_CHUNK = 64 * 1024


@dataclass
class Fault:
    """One injected fault rule.

    Parameters
    ----------
    path : str
        Regular expression searched in the request target (path and query string).
    status : int, optional
        Answer with this HTTP status (e.g. 429, 500, 503) instead of serving the request.
    retry_after : float, optional
        Value of the ``Retry-After`` header sent with ``status``.
    drop_after : int, optional
        Serve the response headers (with the full ``Content-Length``) and only this many body bytes,
        then close the connection.
    delay : float
        Seconds to sleep before every chunk of the body (a slow download; a trickle with a small ``chunk``).
    chunk : int
        Bytes per chunk of a delayed body (default 64 KiB).
    stall : float
        Seconds to wait before sending anything at all (a server that accepted the connection and stalls); the
        request is then served normally (if the client still listens).
    truncate : int, optional
        Send only the first ``truncate`` bytes of the body, with a ``Content-Length`` that says they are the whole
        body (a well-formed answer whose content is cut, e.g. JSON that stops mid-record).
    flip : int, optional
        Flip the bits of one byte (a byte damaged in transit): for file downloads, the byte at this offset of the
        file, and the rule then matches only requests whose range holds that byte; for other answers, the byte at
        this offset of the body.
    times : int or None
        How many matching requests the rule applies to; None = every matching request.
    skip : int
        Matching requests let through untouched before the rule starts to apply (e.g. a file's footer is read,
        then its data stalls).
    method : str, optional
        Only requests with this method (``GET``, ``HEAD``, ``POST``).
    """

    path: str
    status: int | None = None
    retry_after: float | None = None
    drop_after: int | None = None
    delay: float = 0.0
    chunk: int = 64 * 1024
    stall: float = 0.0
    truncate: int | None = None
    flip: int | None = None
    times: int | None = 1
    skip: int = 0
    method: str | None = None
    triggered: int = field(default=0, compare=False)
    skipped: int = field(default=0, compare=False)

    @classmethod
    def coerce(cls, rule: "Fault | Mapping[str, Any]") -> "Fault":
        """Build a rule from a :class:`Fault` or a mapping with the same keys."""
        if isinstance(rule, Fault):
            return rule
        if not isinstance(rule, Mapping) or "path" not in rule:
            raise ValueError(f"fault rule {rule!r}: expected a Fault or a mapping with at least a 'path' regex")
        unknown = set(rule) - {"path", "status", "retry_after", "drop_after", "delay", "chunk", "stall", "truncate",
                               "flip", "times", "skip", "method"}
        if unknown:
            raise ValueError(f"fault rule {rule!r}: unknown keys {sorted(unknown)}")
        return cls(**rule)

    def matches(self, method: str, target: str, byte_range: tuple[int, int | None] | None = None) -> bool:
        if self.times is not None and self.triggered >= self.times:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.flip is not None and "/resolve/" in target:  # only a transfer that holds the byte to damage
            start, end = byte_range if byte_range is not None else (0, None)
            if self.flip < start or (end is not None and self.flip > end):
                return False
        if re.search(self.path, target) is None:
            return False
        if self.skipped < self.skip:
            self.skipped += 1
            return False
        return True


class HubStats:
    """Thread-safe counts of requests and body bytes served, per URL path (query string excluded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.bytes_served: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.faults_triggered = 0
        self.authorized = 0  # requests that carried an Authorization header (its value is never kept)

    def record(self, path: str, status: int, nbytes: int) -> None:
        with self._lock:
            self.requests[path] += 1
            self.bytes_served[path] += nbytes
            self.statuses[status] += 1

    def add_bytes(self, path: str, nbytes: int) -> None:
        with self._lock:
            self.bytes_served[path] += nbytes

    def total_bytes(self, pattern: str | None = None) -> int:
        """Body bytes served for paths matching the regex ``pattern`` (all paths when None)."""
        with self._lock:
            return sum(n for p, n in self.bytes_served.items() if pattern is None or re.search(pattern, p))

    def total_requests(self, pattern: str | None = None) -> int:
        """Requests received for paths matching the regex ``pattern`` (all paths when None)."""
        with self._lock:
            return sum(n for p, n in self.requests.items() if pattern is None or re.search(pattern, p))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.bytes_served.clear()
            self.statuses.clear()
            self.faults_triggered = 0
            self.authorized = 0


class _HubData:
    """Read-only view of the served folder, with cached hashes and the live table."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._etags: dict[tuple[str, int, int], str] = {}
        self._live: pa.Table | None = None
        self._next_live: list[Any] | None = None  # [pages still to serve from the current table, next table]

    def repo_dir(self, repo_id: str) -> Path | None:
        d = self.root / "datasets" / repo_id
        return d if d.is_dir() and ".." not in repo_id.split("/") else None

    def repo_files(self, repo_dir: Path) -> list[str]:
        out = []
        for dirpath, dirnames, filenames in os.walk(repo_dir):
            dirnames.sort()
            for f in sorted(filenames):
                out.append(Path(dirpath, f).relative_to(repo_dir).as_posix())
        return out

    def commit_sha(self, repo_dir: Path) -> str:
        """Deterministic fake commit sha: SHA-1 of the sorted (path, size) pairs of the repository."""
        h = hashlib.sha1()
        for rel in self.repo_files(repo_dir):
            h.update(f"{rel}\0{(repo_dir / rel).stat().st_size}\n".encode())
        return h.hexdigest()

    def etag(self, path: Path) -> str:
        """SHA-256 of the file's content (the Hub's ETag of LFS files), cached by path, size and mtime."""
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        with self._lock:
            if key in self._etags:
                return self._etags[key]
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        with self._lock:
            self._etags[key] = h.hexdigest()
        return self._etags[key]

    def schedule_live(self, table: pa.Table, after_pages: int) -> None:
        with self._lock:
            self._next_live = [after_pages, table]

    def live_table(self) -> pa.Table:
        """The table behind one page of the models listing (a scheduled replacement takes effect here)."""
        with self._lock:
            if self._next_live is not None:
                if self._next_live[0] <= 0:
                    self._live, self._next_live = self._next_live[1], None
                else:
                    self._next_live[0] -= 1
            if self._live is None:
                f = self.root / "live" / "models.parquet"
                if not f.is_file():
                    raise FileNotFoundError(f"{f}: no live listing to serve")
                self._live = pq.read_table(f)
            return self._live


def _blob_oid(rel: str, size: int) -> str:
    return hashlib.sha1(f"blob {rel} {size}".encode()).hexdigest()


def _json_value(v: Any, key: str) -> Any:
    """Turn a value read from parquet into what the Hub's JSON API returns."""
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)
        return v.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if key in ("cardData", "config") and isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid delayed-ACK stalls
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default stderr log
        pass

    # --- plumbing --------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None,
              *, content_length: int | None = None, fault: Fault | None = None, head: bool = False) -> None:
        """Send a response; apply a drop/delay fault to the body; count the bytes served.

        A response to HEAD never has a body, whatever ``body`` holds (errors included): like the Hub, its
        ``Content-Length`` is what a GET would send. A body after HEAD headers would be read by a keep-alive
        client as the start of the next response. Bytes are counted before they are written, so a client that
        has read a response always finds it in :attr:`FakeHub.stats` (no race with the handler thread).
        """
        head = head or self.command == "HEAD"
        path = urlsplit(self.path).path
        stats = self.server.hub.stats
        if fault is not None and not head and body:
            if fault.flip is not None and "/resolve/" not in path and 0 <= fault.flip < len(body):
                damaged = bytearray(body)
                damaged[fault.flip] ^= 0xFF
                body = bytes(damaged)
            if fault.truncate is not None:
                body = body[:fault.truncate]
                content_length = None
        self.send_response(status)
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        limit = 0 if head else len(body)
        if fault is not None and fault.drop_after is not None:
            limit = min(limit, fault.drop_after)
        if fault is None or not fault.delay:
            stats.record(path, status, limit)
        else:
            stats.record(path, status, 0)
        sent = 0
        try:
            self.end_headers()
            step = fault.chunk if fault is not None and fault.delay else _CHUNK
            while sent < limit:
                if fault is not None and fault.delay:
                    if self.server.hub._stopping.wait(fault.delay):
                        break
                n = min(step, limit - sent)
                if fault is not None and fault.delay:
                    stats.add_bytes(path, n)
                self.wfile.write(body[sent:sent + n])
                sent += n
            self.wfile.flush()
            if limit < len(body) and not head:  # a dropped body (fault): the client sees a short read
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None,
              fault: Fault | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers, fault=fault)

    def _error(self, status: int, message: str, code: str | None = None,
               extra: Mapping[str, str] | None = None) -> None:
        headers = {"X-Error-Message": message, **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        self._json(status, {"error": message}, headers)

    def _fault(self, method: str) -> Fault | None:
        """The first fault rule matching this request (its use is counted), or None."""
        hub = self.server.hub
        byte_range = None
        m = re.fullmatch(r"\s*bytes=(\d+)-(\d*)\s*", self.headers.get("Range") or "")
        if m:
            byte_range = (int(m.group(1)), int(m.group(2)) if m.group(2) else None)
        with hub._fault_lock:
            for rule in hub._faults:
                if rule.matches(method, self.path, byte_range):
                    rule.triggered += 1
                    hub.stats.faults_triggered += 1
                    return rule
        return None

    def _dispatch(self, method: str) -> None:
        if self.headers.get("Authorization"):
            with self.server.hub.stats._lock:
                self.server.hub.stats.authorized += 1
        fault = self._fault(method)
        if fault is not None and fault.stall:
            if self.server.hub._stopping.wait(fault.stall):
                self.close_connection = True
                return
        if fault is not None and fault.status is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(int(fault.retry_after)) if float(fault.retry_after).is_integer() \
                    else str(fault.retry_after)
            self._error(fault.status, f"injected fault: HTTP {fault.status}", extra=headers)
            return
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            self._body = self.rfile.read(length) if length else b""
        try:
            self._route(method, fault)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # the stand-in answers 500 like a Hub that failed, and keeps serving
            self._error(500, f"stand-in error: {type(e).__name__}: {e}")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    # --- routes ----------------------------------------------------------------------------------
    def _route(self, method: str, fault: Fault | None) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        segs = [unquote(s) for s in parts.path.split("/") if s]
        if segs[:2] == ["api", "models"] and len(segs) == 2 and method == "GET":
            return self._list_models(query, fault)
        if len(segs) >= 4 and segs[0] == "api" and segs[1] == "datasets":
            repo_id = f"{segs[2]}/{segs[3]}"
            rest = segs[4:]
            if not rest and method == "GET":
                return self._repo_info(repo_id, None, fault)
            if rest and rest[0] == "revision" and len(rest) >= 2 and method == "GET":
                return self._repo_info(repo_id, "/".join(rest[1:]), fault)
            if rest and rest[0] == "tree" and len(rest) >= 2 and method == "GET":
                return self._tree(repo_id, rest[1], "/".join(rest[2:]), query, fault)
            if rest and rest[0] == "paths-info" and len(rest) >= 2 and method == "POST":
                return self._paths_info(repo_id, "/".join(rest[1:]), fault)
        if len(segs) >= 6 and segs[0] == "datasets" and segs[3] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(f"{segs[1]}/{segs[2]}", segs[4], "/".join(segs[5:]), method, fault)
        self._error(404, f"stand-in: no route for {method} {parts.path}")

    def _repo_and_sha(self, repo_id: str, revision: str | None) -> tuple[Path, str] | None:
        data = self.server.hub.data
        d = data.repo_dir(repo_id)
        if d is None:
            self._error(404, f"Repository Not Found for url: {self.path}.", "RepoNotFound")
            return None
        sha = data.commit_sha(d)
        if revision is not None and revision not in ("main", sha):
            self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            return None
        return d, sha

    def _repo_info(self, repo_id: str, revision: str | None, fault: Fault | None) -> None:
        found = self._repo_and_sha(repo_id, revision)
        if found is None:
            return
        d, sha = found
        files = self.server.hub.data.repo_files(d)
        self._json(200, {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id, "author": repo_id.split("/")[0],
            "sha": sha, "lastModified": _REPO_DATE, "createdAt": _REPO_DATE, "private": False, "gated": False,
            "disabled": False, "downloads": 0, "likes": 0, "tags": [], "cardData": None,
            "siblings": [{"rfilename": f} for f in files],
        }, {"X-Repo-Commit": sha}, fault)

    def _entry(self, d: Path, rel: str) -> dict[str, Any]:
        p = d / rel
        if p.is_dir():
            return {"type": "directory", "oid": _blob_oid(rel + "/", 0), "path": rel}
        size = p.stat().st_size
        return {"type": "file", "oid": _blob_oid(rel, size), "size": size, "path": rel}

    def _tree(self, repo_id: str, revision: str, path: str, query: dict, fault: Fault | None) -> None:
        found = self._repo_and_sha(repo_id, revision)
        if found is None:
            return
        d, sha = found
        base = d / path if path else d
        if not base.is_dir():
            if base.is_file():
                entries = [self._entry(d, path)]
            else:
                return self._error(404, f"Entry Not Found for url: {self.path}.", "EntryNotFound")
        else:
            recursive = query.get("recursive", ["false"])[0].lower() in ("true", "1")
            rels: list[str] = []
            if recursive:
                for dirpath, dirnames, filenames in os.walk(base):
                    dirnames.sort()
                    for name in dirnames + sorted(filenames):
                        rels.append(Path(dirpath, name).relative_to(d).as_posix())
            else:
                children = sorted(base.iterdir(), key=lambda c: (not c.is_dir(), c.name))
                rels = [c.relative_to(d).as_posix() for c in children]
            entries = [self._entry(d, r) for r in rels]
        if self.server.hub.tree_edit is not None:
            entries = self.server.hub.tree_edit(entries)
        self._paged(entries, query, self.server.hub.tree_page_size, {"X-Repo-Commit": sha}, fault)

    def _paths_info(self, repo_id: str, revision: str, fault: Fault | None) -> None:
        found = self._repo_and_sha(repo_id, revision)
        if found is None:
            return
        d, sha = found
        body = getattr(self, "_body", b"").decode()
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            paths = json.loads(body or "{}").get("paths", [])
        else:
            paths = parse_qs(body).get("paths", [])
        out = [self._entry(d, p) for p in paths if (d / p).exists() and ".." not in p.split("/")]
        self._json(200, out, {"X-Repo-Commit": sha}, fault)

    def _resolve(self, repo_id: str, revision: str, path: str, method: str, fault: Fault | None) -> None:
        found = self._repo_and_sha(repo_id, unquote(revision))
        if found is None:
            return
        d, sha = found
        f = d / path
        if ".." in path.split("/") or not f.is_file():
            return self._error(404, f"Entry Not Found for url: {self.path}.", "EntryNotFound")
        size = f.stat().st_size
        etag = self.server.hub.data.etag(f)
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes", "ETag": f'"{etag}"',
                   "X-Repo-Commit": sha, "Content-Disposition": f'inline; filename="{f.name}"'}
        rng = self.headers.get("Range")
        start, end, status = 0, size - 1, 200
        if rng:
            m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", rng)
            if not m or (m.group(1) == "" and m.group(2) == ""):
                return self._send(416, b"", {**headers, "Content-Range": f"bytes */{size}"})
            if m.group(1) == "":
                start, end = max(0, size - int(m.group(2))), size - 1
            else:
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            if start >= size or start > end:
                return self._send(416, b"", {**headers, "Content-Range": f"bytes */{size}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1
        if method == "HEAD":
            return self._send(status, b"", headers, content_length=length, head=True)
        with open(f, "rb") as fh:
            fh.seek(start)
            body = fh.read(length)
        if fault is not None and fault.flip is not None and start <= fault.flip <= end:
            damaged = bytearray(body)
            damaged[fault.flip - start] ^= 0xFF
            body = bytes(damaged)
        self._send(status, body, headers, fault=fault)

    def _list_models(self, query: dict, fault: Fault | None) -> None:
        table = self.server.hub.data.live_table()
        n = table.num_rows
        idx = pa.array(range(n), pa.int64())
        mask = None
        if "author" in query:
            mask = pc.equal(table["author"], query["author"][0])
        if "search" in query and query["search"][0]:
            m = pc.match_substring(table["id"], query["search"][0], ignore_case=True)
            mask = m if mask is None else pc.and_(mask, m)
        if "pipeline_tag" in query:
            m = pc.equal(table["pipeline_tag"], query["pipeline_tag"][0])
            mask = m if mask is None else pc.and_(mask, m)
        for tag in query.get("filter", []):
            m = _tags_contain(table, tag)
            mask = m if mask is None else pc.and_(mask, m)
        if mask is not None:
            idx = pc.filter(idx, pc.fill_null(mask, False))
        sort = query.get("sort", [None])[0]
        if sort and self.server.hub.models_sorted:
            if sort not in table.column_names:
                return self._error(400, f"stand-in: cannot sort by {sort!r}")
            order = "ascending" if query.get("direction", ["-1"])[0] == "1" else "descending"
            keys = pc.take(table[sort], idx)
            idx = pc.take(idx, pc.array_sort_indices(keys, order=order, null_placement="at_end"))
        expand = query.get("expand", []) + query.get("expand[]", [])
        fields = [c for c in expand if c in table.column_names and c != "id"]
        missing = [c for c in expand if c not in table.column_names]
        self._page_models(table, idx, fields, missing, query, fault)

    def _page_models(self, table: pa.Table, idx: pa.Array, fields: list[str], missing: list[str],
                     query: dict, fault: Fault | None) -> None:
        page_size = self.server.hub.models_page_size
        if "limit" in query:
            page_size = max(1, min(page_size, int(query["limit"][0])))
        offset = int(query.get("cursor", ["0"])[0] or 0)
        sel = idx.slice(offset, page_size)
        rows = table.select(["id"] + fields).take(sel).to_pylist()
        out = []
        for r in rows:
            item = {"_id": hashlib.sha1(r["id"].encode()).hexdigest()[:24], "id": r["id"]}
            for k in fields:
                item[k] = _json_value(r[k], k)
            for k in missing:
                item[k] = None
            out.append(item)
        headers = {}
        if offset + page_size < len(idx):
            headers["Link"] = f'<{self._next_url(query, offset + page_size)}>; rel="next"'
        if self.server.hub.models_edit is not None:
            out = self.server.hub.models_edit(out)
        self._json(200, out, headers, fault)

    def _paged(self, entries: list, query: dict, page_size: int, headers: dict, fault: Fault | None) -> None:
        offset = int(query.get("cursor", ["0"])[0] or 0)
        page = entries[offset:offset + page_size]
        headers = dict(headers)
        if offset + page_size < len(entries):
            headers["Link"] = f'<{self._next_url(query, offset + page_size)}>; rel="next"'
        self._json(200, page, headers, fault)

    def _next_url(self, query: dict, cursor: int) -> str:
        q = [(k, v) for k, vs in query.items() if k != "cursor" for v in vs] + [("cursor", str(cursor))]
        return f"{self.server.hub.endpoint}{urlsplit(self.path).path}?{urlencode(q)}"


def _tags_contain(table: pa.Table, tag: str) -> pa.Array:
    """Boolean mask: rows whose ``tags`` list contains ``tag``."""
    return pa.array([tag in (t or []) for t in table["tags"].to_pylist()], pa.bool_())


class _Server(ThreadingHTTPServer):
    """Threaded server that can close its keep-alive connections when it stops.

    Without that, a client's pooled connection would keep talking to a stopped stand-in whose handler
    thread is still alive, even after a new stand-in took over the same port.
    """

    daemon_threads = True
    hub: "FakeHub"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._active: set[socket.socket] = set()
        self._active_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._active_lock:
            self._active.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._active_lock:
            self._active.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._active_lock:
            active, self._active = list(self._active), set()
        for sock in active:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Server6(_Server):
    address_family = socket.AF_INET6


class FakeHub:
    """A local Hugging Face Hub stand-in serving ``root`` over HTTP on a loopback address (127.0.0.1 by default).

    Use it as a context manager; the server runs in a background thread.

    Parameters
    ----------
    root : str or Path
        Folder holding ``datasets/<owner>/<name>/...`` and ``live/models.parquet``.
    port : int
        TCP port; 0 picks a free one.
    faults : iterable of Fault or mapping, optional
        Initial fault rules (see :class:`Fault`); replace them any time through :attr:`faults`.
    tree_page_size, models_page_size : int
        Entries per page of tree listings and of the models listing (the Hub uses 1000).
    models_sorted : bool
        Sort the models listing as ``sort`` asks; False serves it in file order whatever ``sort`` says
        (a listing that is not sorted, for tests of the live pull's sortedness check).
    host : str
        Loopback address to listen on: ``127.0.0.1`` (default), ``::1``, or any other local address.
    tree_edit, models_edit : callable, optional
        Rewrite the entries of a tree listing page (a list of dicts) or the records of a models listing page
        before they are sent (a date listed twice, malformed records, ...).

    Examples
    --------
    >>> with FakeHub("data/demo/hub") as hub:                          # doctest: +SKIP
    ...     HfApi(endpoint=hub.endpoint).dataset_info("hfmlsoc/hub_weekly_snapshots").sha
    """

    def __init__(self, root: str | Path, *, port: int = 0, faults: Iterable[Fault | Mapping] | None = None,
                 tree_page_size: int = 1000, models_page_size: int = 1000, models_sorted: bool = True,
                 host: str = "127.0.0.1", tree_edit: Callable[[list], list] | None = None,
                 models_edit: Callable[[list], list] | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: no such folder to serve; create a simulated Hub with "
                                    "`python -m analysis simulate --out DIR`")
        self.port = port
        self.tree_page_size = tree_page_size
        self.models_page_size = models_page_size
        self.models_sorted = models_sorted
        self.host = host
        self.tree_edit = tree_edit
        self.models_edit = models_edit
        self._stopping = threading.Event()
        self.stats = HubStats()
        self.data = _HubData(self.root)
        self._fault_lock = threading.Lock()
        self._faults: list[Fault] = []
        self.faults = list(faults or [])
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def faults(self) -> list[Fault]:
        """The active fault rules, in match order."""
        return self._faults

    @faults.setter
    def faults(self, rules: Iterable[Fault | Mapping]) -> None:
        coerced = [Fault.coerce(r) for r in rules]
        with self._fault_lock:
            self._faults = coerced

    def replace_live(self, table: pa.Table, *, after_pages: int = 0) -> None:
        """Serve ``table`` as the live listing once ``after_pages`` more pages of ``/api/models`` have been served.

        This is how download counts change on the Hub while a client pages through a long listing: the pages
        already served came from the old counts, the next ones come from the new, re-sorted counts (the cursor
        is an offset, so a model can also be listed twice or skipped, as on the Hub).

        Parameters
        ----------
        table : pyarrow.Table
            The new listing, with the columns of ``live/models.parquet``.
        after_pages : int
            Pages still served from the current listing before the switch (0: from the next request on).
        """
        if after_pages < 0:
            raise ValueError(f"after_pages={after_pages} must be at least 0")
        self.data.schedule_live(table, after_pages)

    @property
    def endpoint(self) -> str:
        """Base URL to give huggingface_hub (``HfApi(endpoint=...)`` or ``HF_ENDPOINT``)."""
        if self._server is None:
            raise RuntimeError("FakeHub is not running; use it as a context manager or call start()")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_address[1]}"

    def start(self) -> "FakeHub":
        """Start serving in a background thread (idempotent)."""
        if self._server is None:
            self._stopping.clear()
            server_cls = _Server6 if ":" in self.host else _Server
            self._server = server_cls((self.host, self.port), _Handler)
            self._server.hub = self
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="fakehub", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._stopping.set()  # wakes stalled and trickling answers
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
            self._thread = None

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- command line ------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m devtools.fakehub``."""
    parser.add_argument("--root", required=True, type=Path,
                        help="folder to serve (a simulated Hub: datasets/<owner>/<name>/..., live/models.parquet)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; ::1 for IPv6)")


def run(args: argparse.Namespace) -> int:
    """Serve ``args.root`` until interrupted; print the endpoint on the first line of stdout."""
    try:
        hub = FakeHub(args.root, port=args.port, host=getattr(args, "host", "127.0.0.1")).start()
    except (FileNotFoundError, OSError) as e:
        print(f"fakehub: {e}", flush=True)
        return 2
    print(hub.endpoint, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m devtools.fakehub --root DIR [--port P]``."""
    parser = argparse.ArgumentParser(prog="python -m devtools.fakehub", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
