"""Talking to the Hugging Face Hub: archive snapshots and the live listing.

Modules
-------
``archive``
    List the weekly snapshot dates of the archive dataset and read one snapshot column-projected
    (range requests through ``HfFileSystem`` + pyarrow), normalised to the raw schema.
``live``
    Today's state of the Hub through ``HfApi.list_models(expand=[...])``.
``pull``
    Orchestration of a pull (``pull_all``), the Hub reachability check, the ``pull`` command.

The local stand-in that serves a simulated Hub over the same HTTP API is a development tool:
:mod:`devtools.fakehub`.

This module holds what they share: the errors and the retry policy. Every function that talks to the Hub
takes an optional ``endpoint``; the default is huggingface_hub's configured endpoint
(``HF_ENDPOINT``, read by huggingface_hub when it is imported).

Retries come in two layers (see :class:`RetryPolicy`): every request the project sends itself is retried by
the project's :class:`RetryPolicy`; the paginated listings (the archive's tree, ``/api/models``) are sent by
huggingface_hub's ``http_backoff``, which retries each page on its own first (:data:`HF_CLIENT_RETRIES`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")

#: HTTP statuses worth retrying (the same set huggingface_hub retries).
RETRY_STATUSES: tuple[int, ...] = (408, 429, 500, 502, 503, 504)

#: Retries huggingface_hub's ``http_backoff`` makes of each page of a paginated listing (tree, ``/api/models``)
#: before it raises: it waits 1, 2, 4, 8, 8 s, or the server's ``Retry-After`` + 1 s (uncapped), with
#: ``time.sleep``. The project cannot configure this layer.
HF_CLIENT_RETRIES = 5


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


def default_endpoint(endpoint: str | None = None) -> str:
    """``endpoint`` without a trailing slash, or huggingface_hub's configured endpoint when None."""
    if endpoint is None:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    return endpoint.rstrip("/")


def public_endpoint(endpoint: str) -> str:
    """The endpoint with any user:password part removed (safe to record in a manifest)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")).rstrip("/")


def _status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to the exponential delay


def is_retryable(error: BaseException) -> bool:
    """True for HTTP 408/429/5xx answers, dropped or failed connections, timeouts and short reads."""
    import httpx2

    if isinstance(error, IncompleteReadError):
        return True
    if isinstance(error, httpx2.TransportError):
        return True
    status = _status_of(error)
    return status in RETRY_STATUSES


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff that honours ``Retry-After``.

    Attempt ``k`` (1-based) that fails with a retryable error waits ``min(max_delay, base_delay * 2**(k-1))``
    seconds, or the server's ``Retry-After`` when it sends one (a ``Retry-After`` above ``max_retry_after``
    is not waited for: the request fails). Non-retryable errors are raised at once.

    The policy governs the requests the project sends or wraps one by one: repository info, the reachability
    check, each file's HEAD, the per-file revision check of ``HfFileSystem`` and every range read. The paginated
    listings (the archive's tree and the live ``/api/models`` pages) are a second layer: huggingface_hub retries
    each page itself (:data:`HF_CLIENT_RETRIES` times, its own delays, ``Retry-After`` + 1 s without a cap,
    ``time.sleep``), so ``max_retry_after`` and ``sleep`` do not apply to those waits; only when huggingface_hub
    gives up does this policy retry the whole listing (each attempt then starts from the first page).

    Parameters
    ----------
    max_attempts : int
        Attempts in total (the first one included).
    base_delay, max_delay : float
        First delay and cap of the exponential backoff, in seconds.
    max_retry_after : float
        Longest ``Retry-After`` the policy agrees to wait, in seconds.
    sleep : callable
        Function that waits a number of seconds (tests inject a recorder).
    """

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 900.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to wait after failed ``attempt`` (1-based); None means do not retry."""
        if attempt >= self.max_attempts or not is_retryable(error):
            return None
        ra = _retry_after(error)
        if ra is not None:
            return ra if ra <= self.max_retry_after else None
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))

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
            A retryable error persisted through ``max_attempts`` attempts (or asked for too long a wait).
        Exception
            A non-retryable error, unchanged.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Exception as e:  # classified below; non-retryable errors propagate unchanged
                wait = self.delay(attempt, e)
                if wait is None:
                    if is_retryable(e):
                        raise RetriesExhaustedError(
                            f"{what}: still failing after {attempt} attempt(s): {_describe(e)}") from e
                    raise
                if on_retry is not None:
                    on_retry(attempt, wait, e)
                self.sleep(wait)


def _describe(error: BaseException) -> str:
    status = _status_of(error)
    if status is not None:
        return f"HTTP {status}"
    return f"{type(error).__name__}: {error}".split("\n")[0]
