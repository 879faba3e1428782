"""Poll IMDS ``/metadata/reprovisiondata`` until the pool VM is assigned (edge: HTTP).

While the VM waits in the pool, IMDS answers 404; once a customer's VM is
mapped onto it, the answer is the real ``ovf-env.xml``. cloud-init's
``fetch_reprovision_data`` retries 404, 410, 429 and 500 for ever and redoes
DHCP after a connection error (the VNet switch). igngen polls within a total
budget instead (``pps.timeout``), through the same bounded primitive as every
other request (``igngen.azure.http``: one deadline per request from connect to
last byte), and leaves DHCP to the initramfs' network service (systemd-networkd
restarts DHCP when the link comes back). What counts:

- 200 with a body: the document (at most ``MAX_OVF_BYTES``; more is a failure);
- 200 empty, 404, 408, 410, 429, 5xx, any transport failure: poll again after a
  jittered backoff (IMDS's: 1 s doubling to 5 s; assignment is the moment a customer
  is waiting, so the poll stays quick);
- any other status: IMDS refuses the request itself; polling for hours would not
  heal it, so it fails at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from igngen import log
from igngen.azure import http
from igngen.azure.imds_client import RETRIED_STATUSES, ImdsSettings, metadata_get
from igngen.azure.pps import reprovision_url
from igngen.errors import PpsError
from igngen.limits import MAX_OVF_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple


class Polled(NamedTuple):
    document: bytes
    attempts: int


def poll(
    imds: ImdsSettings,
    *,
    heartbeat: Callable[[], object] = lambda: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Polled:
    """The re-provisioning ``ovf-env.xml`` bytes, or :class:`PpsError` (timeout, refusal).

    ``imds`` is the IMDS endpoint and limits every IMDS request uses (its
    ``timing.total_timeout`` is the poll's budget, ``pps.timeout``); the answer is capped
    at ``MAX_OVF_BYTES`` as the media's ``ovf-env.xml`` is. ``heartbeat`` runs
    before every attempt (it tells systemd the wait is alive).
    """
    url = reprovision_url(imds.url)
    settings = imds._replace(max_body=min(imds.max_body, MAX_OVF_BYTES))
    statuses: dict[int, int] = {}
    attempts = 0
    next_log = 1

    def attempt(deadline: float) -> Polled:
        nonlocal attempts
        attempts += 1
        heartbeat()
        try:
            resp = metadata_get(url, settings, deadline, clock)
        except http.TooLarge as exc:
            raise PpsError("pps-reprovision-data-invalid", str(exc), url) from None
        except http.Fatal as exc:
            raise PpsError("pps-imds-refused", str(exc), url) from None
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
        if resp.status in RETRIED_STATUSES:
            raise http.Retry(http.RetryKind.STATUS, f"HTTP {resp.status}")
        if resp.status != 200:
            raise PpsError(
                "pps-imds-refused", f"HTTP {resp.status} to the re-provisioning poll", url
            )
        if not resp.body.strip():
            raise http.Retry(http.RetryKind.BODY, "empty answer")
        return Polled(resp.body, attempts)

    def on_retry(n: int, exc: http.Retry, left: float) -> None:
        nonlocal next_log
        # A pool VM can poll for hours: log attempts 1, 2, 4, 8, … (cloud-init's backoff).
        if n >= next_log:
            next_log *= 2
            log.info("pps", f"poll {n}: {exc}", url=url, remaining=f"{left:.0f}s")

    log.info(
        "pps",
        "waiting for re-provisioning data",
        url=url,
        budget=f"{settings.timing.total_timeout:g}s",
    )
    policy = settings.timing.retry_policy()
    try:
        result = http.with_retries(attempt, policy, on_retry=on_retry, clock=clock, sleep=sleep)
    except http.BudgetSpent as exc:
        seen = ", ".join(f"HTTP {code} x{count}" for code, count in sorted(statuses.items()))
        if not statuses:
            raise PpsError(
                "pps-imds-unreachable",
                f"IMDS never answered within {settings.timing.total_timeout:g} s: {exc}",
                url,
            ) from None
        raise PpsError(
            "pps-timeout",
            f"no re-provisioning data within {settings.timing.total_timeout:g} s"
            f" ({exc.attempts} polls: {seen})",
            url,
        ) from None
    log.info("pps", "re-provisioning data received", bytes=len(result.document), polls=attempts)
    return result
