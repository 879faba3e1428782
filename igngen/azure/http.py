"""The HTTP library, loaded only by the commands that talk to Azure endpoints (edge)."""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable
from typing import Any


def load_requests() -> None:
    """Import ``requests`` (about 100 ms) quietly; callers then ``import requests`` as usual.

    Distributions pair it with other urllib3/charset_normalizer releases than
    requests was tested with (Debian 12: urllib3 1.26); the version warning it
    then prints would land in the boot journal as noise on every provisioning.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"urllib3 \(.*\) or chardet")
        import requests  # noqa: F401


def wait_before_retry(
    backoff: float,
    cap: float,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> bool:
    """Sleep a jittered ``min(backoff, cap)``; return False (no sleep) if that would pass the deadline.

    Shared by the IMDS and Wireserver clients: jitter (50-100 %) keeps many VMs
    restarting together from retrying in lockstep.
    """
    pause = min(backoff, cap) * (0.5 + random.random() / 2)
    if clock() + pause >= deadline:
        return False
    sleep(pause)
    return True


class BodyTooLarge(Exception):
    """The answer's body grew past the caller's limit."""


class BodyTooSlow(Exception):
    """The answer's body was still arriving at the caller's deadline."""


def read_body(resp: Any, limit: int, deadline: float, clock: Callable[[], float]) -> bytes:
    """Read a streamed ``requests`` response, stopping at ``limit`` bytes or the deadline.

    ``read1`` returns what has arrived instead of waiting for a full chunk, so a body
    that trickles in is noticed at the deadline (urllib3 2.x has ``read1``; with 1.26,
    as Debian 12 ships it, the http.client response underneath does).
    """
    raw: Any = resp.raw
    read1 = getattr(raw, "read1", None) or raw._fp.read1
    body = bytearray()
    while chunk := read1(65536):
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
        if clock() > deadline:
            raise BodyTooSlow
    return bytes(body)
