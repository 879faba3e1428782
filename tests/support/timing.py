"""The short time limits the HTTP client tests give every endpoint (loopback simulators)."""

from __future__ import annotations

from igngen.azure import http


def short_timing(budget: float) -> http.Timing:
    """A total budget of ``budget`` seconds with half-second connects and requests and a
    quick backoff: simulated faults cost tenths of a second, not the real defaults."""
    return http.Timing(
        total_timeout=budget,
        connect_timeout=0.5,
        request_timeout=0.5,
        backoff_initial=0.05,
        backoff_max=0.2,
    )
