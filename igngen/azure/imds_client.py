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
- every wait and every socket timeout is clipped to what is left of the total
  budget, and a body that trickles in is abandoned at the deadline, so the call
  always returns within the budget (plus one connect/read granularity).
IMDS is optional for igngen: callers continue OVF-only when this gives up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from igngen import log
from igngen.azure.http import BodyTooLarge, BodyTooSlow, read_body, wait_before_retry
from igngen.errors import ImdsDataError, ImdsUnavailableError

DEFAULT_IMDS_URL = "http://169.254.169.254"
DEFAULT_API_VERSION = "2021-08-01"
USER_DATA_API_VERSION = "2021-01-01"  # what Ignition's Azure provider asks for
DEFAULT_TOTAL_TIMEOUT = 300.0  # azure-init's and cloud-init's budget
DEFAULT_CONNECT_TIMEOUT = 5.0  # link-local: a healthy IMDS answers in milliseconds
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_BACKOFF_INITIAL = 1.0
DEFAULT_BACKOFF_MAX = 5.0
MAX_BODY = 1024 * 1024
RETRIED_STATUSES = frozenset({404, 410, 429, 500, 502, 503, 504})


class _ImdsFields(NamedTuple):
    url: str
    api_version: str
    total_timeout: float
    connect_timeout: float
    read_timeout: float
    backoff_initial: float
    backoff_max: float
    max_body: int


class ImdsSettings(_ImdsFields):
    """Endpoint and time limits; keyword-only so no timeout is ever passed by position.

    A NamedTuple, not a dataclass: ``dataclasses`` imports ``inspect`` on the boot path
    (docs/ARCHITECTURE.md, records on the boot path).
    """

    __slots__ = ()

    def __new__(
        cls,
        *,
        url: str = DEFAULT_IMDS_URL,
        api_version: str = DEFAULT_API_VERSION,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        backoff_initial: float = DEFAULT_BACKOFF_INITIAL,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        max_body: int = MAX_BODY,
    ) -> ImdsSettings:
        return super().__new__(
            cls,
            url,
            api_version,
            total_timeout,
            connect_timeout,
            read_timeout,
            backoff_initial,
            backoff_max,
            max_body,
        )

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


class _Retry(Exception):
    """A failure worth another attempt; the text says why (no secrets in IMDS answers)."""


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
    body = _get(settings, settings.user_data_url, _check_base64, clock=clock, sleep=sleep)
    return _decode_base64(body)


def _check_json(body: bytes) -> None:
    import json

    try:
        json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Retry(f"answer is not complete JSON ({len(body)} bytes)") from None


def _decode_base64(body: bytes) -> bytes:
    import base64
    import binascii

    try:
        return base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _Retry(f"answer is not base64 ({len(body)} bytes)") from None


def _check_base64(body: bytes) -> None:
    _decode_base64(body)


def _get(
    settings: ImdsSettings,
    url: str,
    check: Callable[[bytes], None],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> bytes:
    from igngen.azure.http import load_requests

    load_requests()
    import requests

    deadline = clock() + settings.total_timeout
    session = requests.Session()
    session.trust_env = False  # never a proxy, never netrc
    backoff = settings.backoff_initial
    attempt = 0
    last = "no attempt made"
    reasons_seen: dict[str, None] = {}  # kinds in the order first seen
    log.info("imds", "requesting", url=url, budget=f"{settings.total_timeout:g}s")
    while True:
        attempt += 1
        remaining = deadline - clock()
        if remaining <= 0:
            break
        try:
            body = _attempt(session, url, settings, deadline, clock)
            check(body)
            return body
        except _Retry as exc:
            last = str(exc)
        except requests.exceptions.ConnectionError as exc:
            last = (
                "connection failed" if "timed out" not in str(exc).lower() else "connect timed out"
            )
        except requests.exceptions.Timeout:
            last = "timed out"
        except requests.exceptions.RequestException as exc:
            last = f"request failed ({type(exc).__name__})"
        kind = last.split(" (")[0]
        # Each kind of failure is logged once, then only in the final summary.
        (log.info if kind in reasons_seen else log.warning)(
            "imds",
            f"attempt {attempt} failed: {last}",
            url=url,
            remaining=f"{max(0.0, deadline - clock()):.1f}s",
        )
        reasons_seen.setdefault(kind)
        if not wait_before_retry(backoff, settings.backoff_max, deadline, clock, sleep):
            break
        backoff *= 2
    # The last attempt is often cut short by the deadline itself; earlier kinds say more.
    earlier = [k for k in reasons_seen if k != last.split(" (")[0]]
    also = f" (earlier: {', '.join(earlier)})" if earlier else ""
    raise ImdsUnavailableError(
        f"no usable answer within {settings.total_timeout:g}s after {attempt} attempt(s); "
        f"last: {last}{also}",
        url,
    )


def _attempt(
    session: object, url: str, settings: ImdsSettings, deadline: float, clock: Callable[[], float]
) -> bytes:
    import requests

    assert isinstance(session, requests.Session)
    remaining = max(0.05, deadline - clock())
    timeout = (min(settings.connect_timeout, remaining), min(settings.read_timeout, remaining))
    headers = {"Metadata": "true", "User-Agent": "igngen", "Accept-Encoding": "identity"}
    with session.get(
        url, headers=headers, timeout=timeout, stream=True, allow_redirects=False
    ) as resp:
        status = resp.status_code
        if status in RETRIED_STATUSES:
            raise _Retry(f"HTTP {status}")
        if status != 200:
            raise ImdsUnavailableError(
                f"IMDS refused the request with HTTP {status}; not retried", url
            )
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > settings.max_body:
            raise ImdsDataError(
                f"answer of {declared} bytes is over the {settings.max_body}-byte limit", url
            )
        try:
            return read_body(resp, settings.max_body, deadline, clock)
        except BodyTooLarge:
            raise ImdsDataError(f"answer is over the {settings.max_body}-byte limit", url) from None
        except BodyTooSlow:
            raise _Retry("answer still arriving at the deadline") from None
