"""Talking to the Hugging Face Hub: archive snapshots and the live listing.

Modules
-------
``archive``
    List the weekly snapshot dates of the archive dataset and read one snapshot column-projected
    (range requests through ``HfFileSystem`` + pyarrow), normalised to the raw schema.
``live``
    Today's state of the Hub through the ``/api/models`` listing, page by page, resumable.
``pull``
    Orchestration of a pull (``pull_all``), the Hub reachability check, the ``pull`` command.

The local stand-in that serves a simulated Hub over the same HTTP API is a development tool:
:mod:`devtools.fakehub`.

This module holds what they share: the errors, the retry policy, the limits every request runs under
(:class:`PullLimits`, :func:`hub_client`) and the redaction of credentials (:func:`redact`). Every function that
talks to the Hub takes an optional ``endpoint``; the default is huggingface_hub's configured endpoint
(``HF_ENDPOINT``, read by huggingface_hub when it is imported).

Retries come in two layers (see :class:`RetryPolicy`): every request the project sends itself is retried by
the project's :class:`RetryPolicy` (the live listing's pages included); the paginated archive tree is sent by
huggingface_hub's ``http_backoff``, which retries each page on its own first (:data:`HF_CLIENT_RETRIES`). Both layers run under the limits of
:func:`hub_client`: connect and read timeouts on every request, a ``Retry-After`` cap (a longer wait is refused
at once, and named) and the pull's total deadline.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

T = TypeVar("T")

#: HTTP statuses worth retrying (the same set huggingface_hub retries).
RETRY_STATUSES: tuple[int, ...] = (408, 429, 500, 502, 503, 504)

#: Retries huggingface_hub's ``http_backoff`` makes of each page of the archive's tree listing before it raises: it
#: waits 1, 2, 4, 8, 8 s, or the server's ``Retry-After`` + 1 s, with ``time.sleep``. Inside a pull, a
#: ``Retry-After`` above the cap (or past the deadline) is refused before huggingface_hub waits (see
#: :func:`hub_client`), so its waits are at most 8 s. (The live listing's pages are retried by the project alone.)
HF_CLIENT_RETRIES = 5

#: Longest wait huggingface_hub's own backoff makes between two tries of a tree page (seconds), not counting a
#: ``Retry-After`` that still fits before the deadline; it bounds how far a pull can overrun its deadline (see
#: :class:`PullLimits`).
HF_CLIENT_MAX_WAIT = 8.0


class PullError(RuntimeError):
    """A pull that cannot proceed; the message names the snapshot, file or endpoint and what to do."""


class HubUnreachableError(PullError):
    """The Hub (or its stand-in) cannot be used at the configured endpoint; nothing was pulled."""


class HubRateLimitedError(HubUnreachableError):
    """The Hub kept answering HTTP 429 (rate limited) to the reachability check, after every retry."""


class HubServerError(HubUnreachableError):
    """The Hub kept answering with a server error (HTTP 5xx) to the reachability check, after every retry."""


class SnapshotSchemaError(PullError):
    """A snapshot lacks a required column or has a column of an unusable type; the snapshot is skipped."""


class SnapshotUnreadableError(PullError):
    """A snapshot file is not readable Parquet; the snapshot is skipped."""


class IncompleteReadError(PullError):
    """The server sent fewer (or more) bytes than requested."""


class RetriesExhaustedError(PullError):
    """A request kept failing after every retry."""


class RetryAfterRefusedError(PullError):
    """The Hub asked to wait (``Retry-After``) longer than the pull agrees to; the request fails at once.

    Attributes
    ----------
    response : httpx2.Response
        The answer that asked for the wait (its status and headers).
    wait : float
        Seconds asked for.
    reason : str
        Why the wait is refused (above ``max_retry_after``, or past the pull's deadline).
    """

    def __init__(self, message: str, response: Any, wait: float, reason: str) -> None:
        super().__init__(message)
        self.response, self.wait, self.reason = response, wait, reason


class PullDeadlineError(PullError):
    """The pull's total deadline passed; it stops at once (what was committed is kept)."""


class RunKindError(PullError):
    """The data an endpoint serves is not of the kind the raw store holds (simulated vs real); nothing is stored."""


# --- credentials -----------------------------------------------------------------------------------
_URL_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#'\"<>]*@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:token|access_token|auth|authorization|api[_-]?key|key|password|passwd|secret|sig|signature|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token|policy|key-pair-id)=)[^&\s#'\"<>]+")
_AUTH_HEADER = re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)?\s*)"
                          r"[^\s'\",}]+")
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")
MASK = "***"


def endpoint_secrets(endpoint: str | None) -> list[str]:
    """The user name and password written into an endpoint URL (``http://user:pass@host``), raw and decoded."""
    if not endpoint:
        return []
    parts = urlsplit(endpoint)
    out = []
    for v in (parts.username, parts.password):
        if v:
            out += [v, unquote(v)]
    return out


def known_secrets(endpoint: str | None = None) -> list[str]:
    """Every credential this process could print: the endpoint's user info, ``HF_TOKEN`` and the saved login."""
    out = endpoint_secrets(endpoint)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if os.environ.get(name):
            out.append(os.environ[name])
    try:
        from huggingface_hub import get_token

        token = get_token()
        if token:
            out.append(token)
    except Exception:  # no saved login, or an unreadable one: nothing to hide
        pass
    return sorted({s for s in out if len(s) >= 4}, key=len, reverse=True)


def redact(text: Any, secrets: Iterable[str] = ()) -> str:
    """``text`` with every credential replaced by ``***``.

    Removes the user info of URLs (``scheme://user:password@host``), secret query parameters (``token=``,
    ``api_key=``, signed-URL signatures, ...), ``Authorization`` header values, Hub tokens (``hf_...``) and every
    string of ``secrets`` (e.g. :func:`known_secrets`), wherever they appear.
    """
    s = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            s = s.replace(secret, MASK)
    s = _URL_USERINFO.sub(rf"\1{MASK}@", s)
    s = _QUERY_SECRET.sub(rf"\1{MASK}", s)
    s = _AUTH_HEADER.sub(rf"\1{MASK}", s)
    return _HF_TOKEN.sub(f"hf_{MASK}", s)


def redact_obj(obj: Any, secrets: Iterable[str] = ()) -> Any:
    """:func:`redact` applied to every string inside nested dicts, lists and tuples (keys included)."""
    secrets = list(secrets)
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, dict):
        return {redact_obj(k, secrets): redact_obj(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(v, secrets) for v in obj)
    return obj


def default_endpoint(endpoint: str | None = None) -> str:
    """``endpoint`` without a trailing slash, or huggingface_hub's configured endpoint when None."""
    if endpoint is None:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    return endpoint.rstrip("/")


def public_endpoint(endpoint: str) -> str:
    """The endpoint without user:password, query or fragment (safe to print and to record in a manifest)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return redact(urlunsplit((parts.scheme, host, parts.path, "", "")).rstrip("/"))


# --- retries -----------------------------------------------------------------------------------------
def _status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(error: BaseException) -> float | None:
    if isinstance(error, RetryAfterRefusedError):
        return error.wait
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    return retry_after_of(headers) if headers is not None else None


def retry_after_of(headers: Any) -> float | None:
    """Seconds a response asks to wait: ``Retry-After`` in seconds (an HTTP date is ignored), else None."""
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        wait = float(value)
    except ValueError:
        return None  # an HTTP date: fall back to the exponential delay
    return max(0.0, wait) if math.isfinite(wait) else None


def is_retryable(error: BaseException) -> bool:
    """True for HTTP 408/429/5xx answers, dropped or failed connections, timeouts and short reads.

    A refused ``Retry-After`` counts as retryable (the server did ask for a retry) but :meth:`RetryPolicy.delay`
    never waits for it; a passed deadline is not retryable.
    """
    import httpx2

    if isinstance(error, PullDeadlineError):
        return False
    if isinstance(error, (IncompleteReadError, RetryAfterRefusedError)):
        return True
    if isinstance(error, httpx2.TransportError):
        return True
    status = _status_of(error)
    return status in RETRY_STATUSES


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff that honours ``Retry-After`` up to a cap and never waits past a deadline.

    Attempt ``k`` (1-based) that fails with a retryable error waits ``min(max_delay, base_delay * 2**(k-1))``
    seconds, or the server's ``Retry-After`` when it sends one. A ``Retry-After`` above ``max_retry_after`` is not
    waited for: the request fails at once and the message names the wait asked for and the cap. No wait runs past
    ``deadline_at``: the request fails with :class:`PullDeadlineError` instead. Non-retryable errors are raised at
    once.

    The policy governs the requests the project sends or wraps one by one: repository info, the reachability
    check, each file's HEAD, the per-file revision check of ``HfFileSystem``, every range read and every page of
    the live listing. The archive's paginated tree is a second layer: huggingface_hub retries each page itself
    (:data:`HF_CLIENT_RETRIES` times, its own delays, ``Retry-After`` + 1 s, ``time.sleep``); inside
    :func:`hub_client` a ``Retry-After`` above ``max_retry_after`` is refused before huggingface_hub waits. Only
    when huggingface_hub gives up does this policy retry the whole tree listing.

    Parameters
    ----------
    max_attempts : int
        Attempts in total (the first one included).
    base_delay, max_delay : float
        First delay and cap of the exponential backoff, in seconds.
    max_retry_after : float
        Longest ``Retry-After`` the policy agrees to wait, in seconds (config ``pull.max_retry_after``).
    deadline_at : float or None
        ``time.monotonic()`` value after which nothing more is tried (the pull's total deadline); None = none.
    sleep : callable
        Function that waits a number of seconds (tests inject a recorder).
    """

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 300.0
    deadline_at: float | None = None
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to wait after failed ``attempt`` (1-based); None means do not retry."""
        if attempt >= self.max_attempts or not is_retryable(error) or isinstance(error, RetryAfterRefusedError):
            return None
        ra = _retry_after(error)
        if ra is not None:
            return ra if ra <= self.max_retry_after else None
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def call(self, fn: Callable[[], T], what: str,
             on_retry: Callable[[int, float, BaseException], None] | None = None) -> T:
        """Call ``fn`` until it succeeds or the policy gives up.

        Parameters
        ----------
        fn : callable
            The request (no arguments).
        what : str
            What is being fetched (file, URL), for the error message.
        on_retry : callable, optional
            Called as ``on_retry(attempt, delay, error)`` before each wait.

        Raises
        ------
        RetriesExhaustedError
            A retryable error persisted through ``max_attempts`` attempts (or asked for too long a wait; the
            message then names the wait and the cap).
        PullDeadlineError
            The deadline passed, or the next wait would pass it.
        Exception
            A non-retryable error, unchanged.
        """
        attempt = 0
        while True:
            attempt += 1
            left = self.remaining()
            if left is not None and left <= 0:
                raise PullDeadlineError(f"{what}: not tried, the pull's deadline has passed")
            try:
                return fn()
            except Exception as e:  # classified below; non-retryable errors propagate unchanged
                wait = self.delay(attempt, e)
                if wait is None:
                    if is_retryable(e):
                        raise RetriesExhaustedError(
                            f"{what}: still failing after {attempt} attempt(s): {self.describe(e)}") from e
                    raise
                left = self.remaining()
                if left is not None and wait >= left:
                    raise PullDeadlineError(
                        f"{what}: failed ({self.describe(e)}) and the next try, in {wait:g} s, would pass the pull's "
                        f"deadline ({max(left, 0):.0f} s left)") from e
                if on_retry is not None:
                    on_retry(attempt, wait, e)
                self.sleep(wait)

    def describe(self, error: BaseException) -> str:
        """One line for a failed request: the HTTP status, a refused wait, or the error's first line."""
        status = _status_of(error)
        if isinstance(error, RetryAfterRefusedError):
            return f"HTTP {status} asking to wait {error.wait:g} s (Retry-After), {error.reason}: not waited"
        if status is not None:
            ra = _retry_after(error)
            if ra is not None and ra > self.max_retry_after:
                return (f"HTTP {status} asking to wait {ra:g} s (Retry-After), longer than the "
                        f"{self.max_retry_after:g} s cap (pull.max_retry_after): not waited")
            return f"HTTP {status}"
        return _describe(error)


def _describe(error: BaseException) -> str:
    status = _status_of(error)
    if status is not None:
        return f"HTTP {status}"
    return f"{type(error).__name__}: {error}".split("\n")[0]


# --- limits of every request: timeouts, Retry-After cap, deadline ---------------------------------------------
@dataclass(frozen=True)
class PullLimits:
    """Limits every request of a pull runs under (config section ``pull``).

    Parameters
    ----------
    connect_timeout : float
        Seconds to open a connection.
    read_timeout : float
        Seconds to wait for the next bytes of an answer (a server that stalls fails after this, and is retried).
    deadline : float or None
        Seconds the whole pull may take. Past it no request starts, a request in flight is cut (its timeouts are
        shortened to the time left) and the pull stops, naming what it did not do; what was committed is kept.
        A pull therefore ends at most ``deadline`` + :data:`HF_CLIENT_MAX_WAIT` seconds after it started
        (huggingface_hub's own wait between two tries of a tree page cannot be cut short). None = no deadline.
    max_retry_after : float
        Longest ``Retry-After`` waited for; a longer one fails the request at once, naming the wait.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    deadline: float | None = 8 * 3600.0
    max_retry_after: float = 300.0


class _Guard:
    """The limits of one pull, with its deadline as a ``time.monotonic()`` value."""

    def __init__(self, limits: PullLimits, secrets: list[str]) -> None:
        self.limits = limits
        self.secrets = secrets
        self.deadline_at = None if limits.deadline is None else time.monotonic() + limits.deadline

    def remaining(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def deadline_error(self, what: str) -> PullDeadlineError:
        return PullDeadlineError(f"the pull's deadline ({self.limits.deadline:g} s, pull.deadline) passed during "
                                 f"{redact(what, self.secrets)}")


def _url_of(request: Any) -> str:
    """``METHOD url`` of a request, without credentials (for messages)."""
    return f"{request.method} {redact(str(request.url))}"


def _guarded_transport_class() -> type:
    import httpx2

    class GuardedStream(httpx2.SyncByteStream):
        """A response body that stops with :class:`PullDeadlineError` once the deadline passes (between chunks)."""

        def __init__(self, inner: Any, guard: _Guard, what: str) -> None:
            self.inner, self.guard, self.what = inner, guard, what

        def __iter__(self) -> Iterator[bytes]:
            try:
                for chunk in self.inner:
                    if self.guard.expired():
                        raise self.guard.deadline_error(self.what)
                    yield chunk
            except httpx2.TimeoutException:
                if self.guard.expired():
                    raise self.guard.deadline_error(self.what) from None
                raise

        def close(self) -> None:
            if hasattr(self.inner, "close"):
                self.inner.close()

    class GuardedTransport(httpx2.BaseTransport):
        """Applies the pull's timeouts and deadline to one request sent through ``inner``."""

        def __init__(self, inner: Any, guard: _Guard) -> None:
            self.inner, self.guard = inner, guard

        def handle_request(self, request: Any) -> Any:
            what = _url_of(request)
            left = self.guard.remaining()
            if left is not None and left <= 0:
                raise self.guard.deadline_error(what)
            lim = self.guard.limits
            given = dict(request.extensions.get("timeout") or {})
            caps = {"connect": lim.connect_timeout, "read": lim.read_timeout, "write": lim.read_timeout,
                    "pool": lim.connect_timeout}
            timeout = {}
            for key, cap in caps.items():
                v = given.get(key)
                v = cap if v is None else min(v, cap)
                timeout[key] = v if left is None else max(min(v, left), 0.001)
            request.extensions = {**request.extensions, "timeout": timeout}
            try:
                response = self.inner.handle_request(request)
            except httpx2.TimeoutException:
                if self.guard.expired():
                    raise self.guard.deadline_error(what) from None
                raise
            response.stream = GuardedStream(response.stream, self.guard, what)
            return response

        def close(self) -> None:
            pass  # the client's own transports are closed with the client

    return GuardedTransport


def _refuse_long_waits(guard: _Guard) -> Callable[[Any], None]:
    """A response hook: an answer asking to wait longer than the cap (or past the deadline) fails at once."""

    def hook(response: Any) -> None:
        if response.status_code not in RETRY_STATUSES:
            return
        wait = None
        if response.status_code == 429:
            try:  # huggingface_hub prefers the RateLimit header's reset when no request is left
                from huggingface_hub.utils._http import parse_ratelimit_headers

                info = parse_ratelimit_headers(response.headers)
                if info is not None and info.remaining == 0:
                    wait = float(info.reset_in_seconds)
            except Exception:  # an older huggingface_hub without the helper: Retry-After only
                wait = None
        if wait is None:
            wait = retry_after_of(response.headers)
        if wait is None:
            return
        cap = guard.limits.max_retry_after
        left = guard.remaining()
        what = _url_of(response.request)
        if wait > cap:
            reason = f"longer than the {cap:g} s cap (pull.max_retry_after)"
        elif left is not None and wait >= left:
            reason = f"past the pull's deadline ({max(left, 0):.0f} s left)"
        else:
            return
        response.close()
        raise RetryAfterRefusedError(f"{what}: HTTP {response.status_code} asking to wait {wait:g} s (Retry-After), "
                                     f"{reason}: not waited", response, wait, reason)

    return hook


def _client_factory(guard: _Guard) -> Callable[[], Any]:
    import httpx2
    from huggingface_hub.utils._http import hf_request_event_hook

    transport_cls = _guarded_transport_class()

    class GuardedClient(httpx2.Client):
        """huggingface_hub's client (same hooks, redirects) whose every request runs under the pull's limits."""

        def _transport_for_url(self, url: Any) -> Any:
            return transport_cls(super()._transport_for_url(url), guard)

    def factory() -> httpx2.Client:
        lim = guard.limits
        return GuardedClient(event_hooks={"request": [hf_request_event_hook], "response": [_refuse_long_waits(guard)]},
                             follow_redirects=True,
                             timeout=httpx2.Timeout(lim.read_timeout, connect=lim.connect_timeout))

    return factory


_CLIENT_LOCK = threading.Lock()


@contextlib.contextmanager
def hub_client(limits: PullLimits | None = None, *, secrets: Iterable[str] = ()) -> Iterator[_Guard]:
    """Run huggingface_hub (and the project's own requests) under ``limits`` while the block runs.

    Inside the block, huggingface_hub's shared HTTP client is one whose every request has connect and read
    timeouts, is cut when the deadline passes, and fails at once on a ``Retry-After`` above the cap. Log records
    of huggingface_hub, httpx and fsspec are redacted (:func:`redact`) with ``secrets``. The previous client
    factory and log record factory are restored on exit.

    Yields
    ------
    _Guard
        The deadline (``remaining()``, ``deadline_at``) of this pull.
    """
    from huggingface_hub.utils import _http as hf_http
    from huggingface_hub.utils import set_client_factory

    guard = _Guard(limits or PullLimits(), list(secrets))
    with _CLIENT_LOCK:
        previous = getattr(hf_http, "_GLOBAL_CLIENT_FACTORY", hf_http.default_client_factory)
        old_record_factory = logging.getLogRecordFactory()

        def record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = old_record_factory(*args, **kwargs)
            if record.name.split(".")[0] in ("huggingface_hub", "httpx2", "httpx", "httpcore2", "httpcore", "fsspec"):
                try:
                    record.msg, record.args = redact(record.getMessage(), guard.secrets), ()
                except Exception:  # a record that cannot be formatted is left to logging's own error report
                    pass
            return record

        logging.setLogRecordFactory(record_factory)
        set_client_factory(_client_factory(guard))
    try:
        yield guard
    finally:
        with _CLIENT_LOCK:
            set_client_factory(previous)
            logging.setLogRecordFactory(old_record_factory)
