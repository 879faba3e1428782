"""The HTTP library, loaded only by the commands that talk to Azure endpoints (edge)."""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable


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
