"""Fetch the IMDS instance document within a total time budget (edge: HTTP).

One request gets everything provisioning needs: ``/metadata/instance`` with
``extended=true`` carries the OS profile, keys, vm id and base64 ``userData``.
Policy (azure-protocol sheet §3 and the anchors' experience):
- ``Metadata: true``, no proxy ever (IMDS is link-local), pinned api-version;
- retried with exponential backoff and jitter: connection errors, timeouts,
  404, 410 (IMDS restarting, back within ~70 s), 429, 5xx, and bodies that
  are cut short or not JSON;
- given up at once: other 4xx (a wrong request does not heal by retrying) and
  bodies over the size cap;
- each attempt is one ``igngen.azure.http.request`` whose single deadline
  (the earlier of the request timeout and the end of the total budget) covers
  connect, status line, headers, 1xx answers and body, so the call returns
  within the budget whatever the server sends, or does not send.
IMDS is optional for igngen: callers continue OVF-only when this gives up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from igngen import log
from igngen.azure import http
from igngen.errors import ImdsDataError, ImdsUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

DEFAULT_IMDS_URL = "http://169.254.169.254"
DEFAULT_API_VERSION = "2021-08-01"
USER_DATA_API_VERSION = "2021-01-01"  # what Ignition's Azure provider asks for
DEFAULT_TIMING = http.Timing(
    total_timeout=300.0,  # azure-init's and cloud-init's budget
    connect_timeout=5.0,  # link-local: a healthy IMDS answers in milliseconds
    request_timeout=30.0,  # one whole request; a stuck attempt leaves room for others
    backoff_initial=1.0,
    backoff_max=5.0,
)
MAX_BODY = 1024 * 1024
RETRIED_STATUSES = frozenset({404, 408, 410, 429, 500, 502, 503, 504})


class _ImdsFields(NamedTuple):
    url: str
    api_version: str
    timing: http.Timing
    max_body: int


class ImdsSettings(_ImdsFields):
    """Endpoint, time limits and answer cap; keyword-only, so that nothing is ever passed
    in the wrong place.

    A NamedTuple, not a dataclass: ``dataclasses`` imports ``inspect`` on the boot path
    (docs/ARCHITECTURE.md, records on the boot path).
    """

    __slots__ = ()

    def __new__(
        cls,
        *,
        url: str = DEFAULT_IMDS_URL,
        api_version: str = DEFAULT_API_VERSION,
        timing: http.Timing = DEFAULT_TIMING,
        max_body: int = MAX_BODY,
    ) -> ImdsSettings:
        return super().__new__(cls, url, api_version, timing, max_body)

    @property
    def instance_url(self) -> str:
        return (
            f"{self.url.rstrip('/')}/metadata/instance?api-version={self.api_version}&extended=true"
        )

    @property
    def user_data_url(self) -> str:
        return (
            f"{self.url.rstrip('/')}/metadata/instance/compute/userData"
            f"?api-version={USER_DATA_API_VERSION}&format=text"
        )


def fetch_instance(
    settings: ImdsSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """Return the instance document bytes (valid JSON) or raise ImdsUnavailableError/ImdsDataError."""
    return _get(settings, settings.instance_url, _check_json, clock=clock, sleep=sleep)


def fetch_user_data(
    settings: ImdsSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """Return the decoded userData (b"" when unset), for IMDS documents that lack it."""
    return _get(settings, settings.user_data_url, _decode_base64, clock=clock, sleep=sleep)


def _check_json(body: bytes) -> bytes:
    # The same bounded loader the parser uses: a cut body is retried here, and a
    # document the parser would refuse (too deep, huge numbers) is not taken as complete.
    from igngen import safejson

    try:
        safejson.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise http.Retry(http.RetryKind.BODY, f"not complete JSON, {len(body)} bytes") from None
    return body


def _decode_base64(body: bytes) -> bytes:
    import base64
    import binascii

    try:
        return base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise http.Retry(http.RetryKind.BODY, f"not base64, {len(body)} bytes") from None


HEADERS = {"Metadata": "true", "User-Agent": "igngen"}


def metadata_get(
    url: str, limits: ImdsSettings, deadline: float, clock: Callable[[], float]
) -> http.Response:
    """One GET to an IMDS endpoint with its ``Metadata`` header, ending by the earlier of
    the caller's ``deadline`` and this request's own bound. Raises what ``http.request``
    raises; callers name the failure for their endpoint."""
    return http.request(
        "GET",
        url,
        headers=HEADERS,
        deadline=min(deadline, clock() + limits.timing.request_timeout),
        max_body=limits.max_body,
        connect_timeout=limits.timing.connect_timeout,
        clock=clock,
    )


def _get(
    settings: ImdsSettings,
    url: str,
    check: Callable[[bytes], bytes],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> bytes:
    total = settings.timing.total_timeout
    if not _finite_budget(total):
        raise ImdsUnavailableError(f"unusable IMDS budget {total!r}", url)
    seen: set[http.RetryKind] = set()

    def attempt(deadline: float) -> bytes:
        try:
            resp = metadata_get(url, settings, deadline, clock)
        except http.TooLarge as exc:
            raise ImdsDataError(str(exc), url) from None
        except http.Fatal as exc:
            raise ImdsUnavailableError(str(exc), url) from None
        if resp.status in RETRIED_STATUSES:
            raise http.Retry(http.RetryKind.STATUS, f"HTTP {resp.status}")
        if resp.status != 200:
            raise ImdsUnavailableError(
                f"IMDS refused the request with HTTP {resp.status}; not retried", url
            )
        return check(resp.body)

    def on_retry(n: int, exc: http.Retry, left: float) -> None:
        # Each kind of failure is logged once, then only in the final summary.
        (log.info if exc.kind in seen else log.warning)(
            "imds", f"attempt {n} failed: {exc}", url=url, remaining=f"{left:.1f}s"
        )
        seen.add(exc.kind)

    log.info("imds", "requesting", url=url, budget=f"{total:g}s")
    policy = settings.timing.retry_policy()
    try:
        return http.with_retries(attempt, policy, on_retry=on_retry, clock=clock, sleep=sleep)
    except http.BudgetSpent as exc:
        raise ImdsUnavailableError(f"no usable answer within {total:g}s after {exc}", url) from None


def _finite_budget(value: float) -> bool:
    return isinstance(value, int | float) and 0 <= value < float("inf")
